"""Sesotho orthography: Lesotho and South African spellings folded to one key.

The correspondences (li/di, oe/we, tš/tsh, ch/tjh, kh/kg, ...) live in
``tsela/reference/sesotho_orthography.toml`` with their sources; this module only compiles
and applies them. ``fold_token`` is what the matcher compares: ``fold_token("Lineo") ==
fold_token("Dineo")``.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache

from anyascii import anyascii

from tsela.reference import reference_file

# Every apostrophe-like mark people type for the Lesotho apostrophe ('M'e, ts'): one form.
_APOSTROPHES = str.maketrans({c: "'" for c in "’‘ʼ`´ʹ′"})
_NOT_LETTER = re.compile(r"[^a-z]+")


@dataclass(frozen=True)
class OrthographyRule:
    name: str
    stage: str  # "unicode": sees the token before accents are stripped; "ascii": after
    pattern: re.Pattern[str]
    replace: str
    lesotho: tuple[str, ...]
    south_africa: tuple[str, ...]
    why: str
    confidence: str
    # Lesotho -> South African rewrites of a whole name, for synthetic data (not for matching).
    respell: tuple[tuple[re.Pattern[str], str], ...] = ()


@cache
def rules() -> tuple[OrthographyRule, ...]:
    """The correspondence table, in the order it is applied."""
    data = tomllib.loads(reference_file("sesotho_orthography.toml"))
    out = []
    for raw in data["rule"]:
        lesotho = tuple(raw["lesotho"])
        south_africa = tuple(raw["south_africa"])
        if len(lesotho) != len(south_africa):
            raise ValueError(f"orthography rule {raw['name']!r}: example lists differ in length")
        out.append(
            OrthographyRule(
                name=raw["name"],
                stage=raw.get("stage", "ascii"),
                pattern=re.compile(raw["pattern"]),
                replace=raw["replace"],
                lesotho=lesotho,
                south_africa=south_africa,
                why=raw["why"],
                confidence=raw["confidence"],
                respell=tuple(
                    (re.compile(pattern, re.IGNORECASE), replacement)
                    for pattern, replacement in raw.get("respell", [])
                ),
            )
        )
    return tuple(out)


def strip_accents(text: str) -> str:
    """Latin letters without diacritics; other scripts transliterated to ASCII (anyascii)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare if bare.isascii() else anyascii(bare)


def _prepare(token: str) -> str:
    if token.isascii():
        return token.lower().translate(_APOSTROPHES)
    return unicodedata.normalize("NFC", token).casefold().translate(_APOSTROPHES)


def plain_token(token: str) -> str:
    """Lower-case ASCII letters only: ``"Tšepo" -> "tsepo"``, ``"'M'e" -> "me"``."""
    return _NOT_LETTER.sub("", strip_accents(_prepare(token)).lower())


def fold_token(token: str) -> str:
    """The orthography-independent key of one name token (letters a-z only)."""
    text = _prepare(token)
    table = rules()
    if not text.isascii():
        for rule in table:
            if rule.stage == "unicode":
                text = rule.pattern.sub(rule.replace, text)
    text = strip_accents(text).lower().translate(_APOSTROPHES)
    for rule in table:
        if rule.stage != "unicode":
            text = rule.pattern.sub(rule.replace, text)
    return _NOT_LETTER.sub("", text)


def rules_explaining(a: str, b: str) -> list[str]:
    """Names of the rules that rewrote ``a`` or ``b`` on the way to their folded keys."""
    fired: list[str] = []
    for token in (a, b):
        text = _prepare(token)
        for stage in ("unicode", "ascii"):
            if stage == "ascii":
                text = strip_accents(text).lower().translate(_APOSTROPHES)
            for rule in rules():
                if rule.stage != stage:
                    continue
                rewritten = rule.pattern.sub(rule.replace, text)
                if rewritten != text and rule.name not in fired:
                    fired.append(rule.name)
                text = rewritten
    return fired
