"""A traveller looked up by name at the desk (the officer's search): the names compared as
the watchlists compare them (``normalise``: case, accents, titles, particles; Sesotho's
Lesotho and South African spellings folded to one key), without scoring: a name is found or
it is not.

The surname typed must be the traveller's surname (every word of it); each given name typed
must be one of theirs, an initial standing for any name it begins.
"""

from __future__ import annotations

from tsela.domain.screening.normalise import NameToken, NormalisedName, normalise_name


def _found(typed: NameToken, theirs: tuple[NameToken, ...]) -> bool:
    if typed.initial:
        return any(t.plain.startswith(typed.plain) for t in theirs)
    return any(typed.folded in (t.folded, t.core) for t in theirs)


def name_matches(
    surname: NormalisedName,
    given: NormalisedName | None,
    their_surname: str,
    their_given: str,
) -> bool:
    """Whether a traveller named ``their_given`` ``their_surname`` is the one asked for."""
    try:
        family = normalise_name(their_surname).tokens
    except ValueError:
        return False
    if not all(_found(t, family) for t in surname.tokens):
        return False
    if given is None:
        return True
    try:
        names = normalise_name(their_given).tokens
    except ValueError:
        return False
    return all(_found(t, names) for t in given.tokens)
