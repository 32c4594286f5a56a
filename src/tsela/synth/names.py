"""Names for the synthetic population, from the shipped lists in ``tsela/reference/names``."""

from __future__ import annotations

import re
from functools import cache

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
# screening and identity matching meet both forms. Ordered: longer patterns first.
_LS_TO_ZA = [
    (re.compile(r"ch", re.I), "tjh"),
    (re.compile(r"š", re.I), "sh"),
    (re.compile(r"oe", re.I), "we"),
    (re.compile(r"oa", re.I), "wa"),
    (re.compile(r"l(?=[iu])"), "d"),
    (re.compile(r"L(?=[iu])"), "D"),
]


def south_african_spelling(name: str) -> str:
    """A Sesotho name in the Lesotho orthography, respelt the South African way."""
    out = name
    for pattern, repl in _LS_TO_ZA:
        out = pattern.sub(lambda m, r=repl: r.capitalize() if m.group(0)[0].isupper() else r, out)
    return out


def mrz_name(name: str) -> str:
    """Upper case ASCII as written in a machine readable zone (ICAO 9303 transliteration)."""
    return name.upper().replace("Š", "S").replace("'", "").replace("-", " ").replace("  ", " ")
