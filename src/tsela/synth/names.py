"""Names for the synthetic population, from the shipped lists in ``tsela/reference/names``."""

from __future__ import annotations

import re
from functools import cache

from tsela.domain.screening.orthography import rules
from tsela.reference import reference_file

GROUPS = ("sesotho", "nguni", "afrikaans", "english")


@cache
def name_list(group: str, kind: str) -> tuple[str, ...]:
    """``kind`` is ``given_female``, ``given_male`` or ``surnames``."""
    text = reference_file(f"names/{group}_{kind}.txt")
    return tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


# Lesotho and South Africa write Sesotho differently (Lesotho's older orthography vs the South
# African one): the same person is "Tšepo Moshoeshoe" in Maseru and "Tshepo Moshweshwe" in
# Bloemfontein. Synthetic South African Basotho get the South African spelling so that
# screening and identity matching meet both forms. The rewrites are the `respell` pairs of
# the orthography table screening folds with, so the data exercise what screening folds.
@cache
def _respeller() -> tuple[re.Pattern[str], dict[str, tuple[str, str]]]:
    """One alternation over every rule's pairs, in table order: each letter rewritten once."""
    parts: list[str] = []
    by_group: dict[str, tuple[str, str]] = {}
    for i, rule in enumerate(rules()):
        for j, (pattern, replacement) in enumerate(rule.respell):
            group = f"r{i}_{j}"
            parts.append(f"(?P<{group}>{pattern.pattern})")
            by_group[group] = (rule.name, replacement)
    return re.compile("|".join(parts), re.IGNORECASE), by_group


def _same_case(written: str, replacement: str) -> str:
    letters = [c for c in written if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    if letters and letters[0].isupper():
        return replacement.capitalize()
    return replacement


def respell_south_african(name: str) -> tuple[str, tuple[str, ...]]:
    """``name`` respelt the South African way, and the names of the rules that rewrote it.

    Word by word, so that the table's ``^`` means the start of a name, as in folding."""
    pattern, by_group = _respeller()
    fired: list[str] = []

    def sub(m: re.Match[str]) -> str:
        rule, replacement = by_group[str(m.lastgroup)]
        if rule not in fired:
            fired.append(rule)
        return _same_case(m.group(0), replacement)

    words = [pattern.sub(sub, word) for word in name.split(" ")]
    return " ".join(words), tuple(fired)


def south_african_spelling(name: str) -> str:
    """A Sesotho name in the Lesotho orthography, respelt the South African way."""
    return respell_south_african(name)[0]


def mrz_name(name: str) -> str:
    """Upper case ASCII as written in a machine readable zone (ICAO 9303 transliteration)."""
    return name.upper().replace("Š", "S").replace("'", "").replace("-", " ").replace("  ", " ")
