"""Name normalisation for screening: case, accents, punctuation, titles, particles, initials.

A name becomes a tuple of ``NameToken``: each token has its plain ASCII form (what was
written, without accents), its orthography-folded form (``orthography.fold_token``: the same
for the Lesotho and South African spellings of a Sesotho name) and, for compound surnames
("van der Merwe"), the core without particles. Order is kept but matching ignores it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from tsela.domain.screening.orthography import fold_token, plain_token

# Longer names are refused outright: no real name is this long, and a huge string must
# cost nothing to reject (the check happens before any other work).
MAX_NAME_LENGTH = 200
MAX_TOKENS = 12


class ScreeningInputError(ValueError):
    """A query or list entry that cannot be screened; the message says what and where."""


# Titles and honorifics in English, Afrikaans and Sesotho (plain forms). "Ntate" (father,
# Mr), "'M'e"/"Mme" (mother, Mrs), "Morena" (chief), "Mofumahali" (Mrs, Queen),
# "Mohlomphehi" (the honourable), "Ngaka" (doctor), "Moruti" (pastor).
HONORIFICS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "professor",
        "rev",
        "revd",
        "reverend",
        "hon",
        "honourable",
        "sir",
        "dame",
        "adv",
        "advocate",
        "capt",
        "captain",
        "gen",
        "general",
        "col",
        "colonel",
        "maj",
        "major",
        "lt",
        "lieutenant",
        "sgt",
        "sergeant",
        "cpl",
        "pastor",
        "bishop",
        "chief",
        "judge",
        "mnr",
        "mev",
        "mej",
        "dominee",
        "ds",
        "ntate",
        "me",
        "mme",
        "morena",
        "mofumahali",
        "mohlomphehi",
        "ngaka",
        "moruti",
        "jr",
        "jnr",
        "sr",
        "snr",
        "senior",
        "ii",
        "iii",
    ]
)
# Not titles here: "Justice" and "Junior", which are given names in southern Africa.

# Surname particles join the next token: "van der Merwe" -> "vandermerwe" (core "merwe").
PARTICLES = frozenset(
    [
        "van",
        "der",
        "den",
        "de",
        "du",
        "le",
        "la",
        "von",
        "da",
        "dos",
        "das",
        "del",
        "della",
        "ter",
        "ten",
        "te",
        "vd",
    ]
)

# Separators between tokens; apostrophes stay inside tokens ('Mathabo, Ts'olo).
_SPLIT = re.compile(r"[\s\-‐‑–—,.;:/\\()\[\]{}\"_+&|!?*#@0-9]+")


@dataclass(frozen=True, slots=True)
class NameToken:
    raw: str  # as written (after splitting), for explanations
    plain: str  # lower-case ASCII letters
    folded: str  # orthography-independent key
    core: str  # folded form without surname particles ("merwe" for "van der Merwe")
    translit: str  # what survives a round trip through another script (``translit_key``)

    @property
    def initial(self) -> bool:
        return len(self.plain) == 1


@dataclass(frozen=True, slots=True)
class NormalisedName:
    original: str
    tokens: tuple[NameToken, ...]

    @property
    def key(self) -> str:
        return " ".join(t.folded for t in self.tokens)

    @property
    def display(self) -> str:
        return " ".join(t.raw for t in self.tokens)


_PROTECT = str.maketrans({"C": "ch", "S": "sh"})


def translit_key(plain: str) -> str:
    """A coarse key of a plain token that survives transliteration to Cyrillic and back.

    Round trips lose or add "h" (th -> т -> t; h -> х -> kh), turn j into dzh, w into v,
    c and q into k, y into i. The key drops what they change: "madzhoro" and "majoro" -> "majoro",
    "sipkho" and "sipho" -> "sipo". It is coarse on purpose and used with a discount.
    """
    s = plain.replace("dzh", "j").replace("zh", "j").replace("ch", "C").replace("sh", "S")
    s = s.replace("kh", "").replace("h", "").translate(_PROTECT).replace("ch", "C")
    s = s.replace("c", "k").replace("q", "k").replace("w", "v").replace("x", "ks")
    s = s.replace("y", "i")
    out: list[str] = []
    for ch in s:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out).replace("C", "ch").replace("S", "sh")


@lru_cache(maxsize=1 << 19)
def _forms(raw: str) -> tuple[str, str, str]:
    plain = plain_token(raw)
    return plain, fold_token(raw), translit_key(plain)


def check_name_length(name: str, where: str = "name") -> None:
    if len(name) > MAX_NAME_LENGTH:
        raise ScreeningInputError(
            f"{where} is {len(name):,} characters long; the limit is {MAX_NAME_LENGTH}"
        )


def _strip_titles(
    tokens: list[tuple[str, str, str, str]], name: str, where: str
) -> list[tuple[str, str, str, str]]:
    kept = [t for t in tokens if t[1] not in HONORIFICS]
    if not kept:
        raise ScreeningInputError(f"{where} {name[:40]!r} has only titles, no name")
    return kept


def _join_particles(tokens: list[tuple[str, str, str, str]]) -> list[NameToken]:
    out: list[NameToken] = []
    pending: list[tuple[str, str, str, str]] = []
    for raw, plain, folded, translit in tokens:
        if plain in PARTICLES:
            pending.append((raw, plain, folded, translit))
            continue
        if pending:
            out.append(
                NameToken(
                    raw=" ".join([p[0] for p in pending] + [raw]),
                    plain="".join(p[1] for p in pending) + plain,
                    folded="".join(p[2] for p in pending) + folded,
                    core=folded,
                    translit="".join(p[3] for p in pending) + translit,
                )
            )
            pending = []
        else:
            out.append(NameToken(raw, plain, folded, folded, translit))
    # A trailing particle ("Jan van") is kept as a token of its own.
    out.extend(NameToken(r, p, f, f, t) for r, p, f, t in pending)
    return out


def normalise_name(name: str, where: str = "name") -> NormalisedName:
    """Tokens of a personal name; raises ScreeningInputError when nothing usable is left."""
    if not isinstance(name, str):
        raise ScreeningInputError(f"{where} must be text, got {type(name).__name__}")
    check_name_length(name, where)
    text = unicodedata.normalize("NFC", name)
    triples: list[tuple[str, str, str, str]] = []
    for raw in _SPLIT.split(text):
        if not raw:
            continue
        plain, folded, translit = _forms(raw)
        if plain and folded:
            triples.append((raw, plain, folded, translit or plain))
    if not triples:
        raise ScreeningInputError(f"{where} {name[:40]!r} has no letters")
    tokens = _join_particles(_strip_titles(triples, name, where))
    if len(tokens) > MAX_TOKENS:
        raise ScreeningInputError(
            f"{where} has {len(tokens)} words; a personal name has at most {MAX_TOKENS}"
        )
    return NormalisedName(original=name, tokens=tuple(tokens))
