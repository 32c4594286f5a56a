"""Person records and the comparison features Tsela derives from them (pure, no I/O).

A *person record* is what one source says about one person: this node's ``Person`` with its
latest travel document, or the traveller of a partner node's crossings (one per document).
Identity resolution compares records by their *features*: names folded so that both Sesotho
orthographies, MRZ transliteration (Š -> S) and dropped apostrophes give the same key
(``fold_token``, shared with watchlist screening), the birth date as ISO text (so a swapped
day and month or a one-digit typo can be seen), and the document number with the characters
OCR confuses read as one (``O``/``0``, ``I``/``1``...).
"""

from __future__ import annotations

import re
import tomllib
import uuid
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from tsela.domain.screening import fold_token
from tsela.reference import reference_file

# The columns a feature row has, in order (the Splink input table and the store's columns).
FEATURES = (
    "record_key",
    "source",
    "node",
    "surname_fold",
    "given_fold",
    "given_initial",
    "birth_date",
    "birth_year",
    "sex",
    "nationality",
    "doc_fold",
)

_TOKEN = re.compile(r"[\s\-]+")


@dataclass(frozen=True)
class PersonRecord:
    """What one source says about one person."""

    key: str  # "person:<uuid>" or "partner:<node>:<issuing state>:<number>"
    source: str  # "person" | "partner"
    node: str  # the node (country code) that made the record
    surname: str
    given_names: str = ""
    birth_date: date | None = None
    sex: str | None = None  # "M", "F", or None when unknown/unspecified
    nationality: str | None = None  # ISO 3166-1 alpha-3
    document_number: str | None = None
    document_country: str | None = None
    person_id: uuid.UUID | None = None  # this node's person, for "person" records

    @property
    def display_name(self) -> str:
        return f"{self.surname.upper()}, {self.given_names}".strip(", ")


def fold_name(text: str) -> str:
    """Every token of a name folded to its orthography-independent key, joined by spaces."""
    return " ".join(t for t in (fold_token(p) for p in _TOKEN.split(text.strip())) if t)


@cache
def settings() -> dict[str, Any]:
    """reference/identity.toml: thresholds, blocking, training and document confusions."""
    return tomllib.loads(reference_file("identity.toml"))


@cache
def _confusions() -> dict[int, str]:
    table = settings()["document_confusions"]
    return {ord(k): v for k, v in table.items()}


def fold_document(number: str | None) -> str | None:
    """A document number with separators dropped and OCR look-alikes read as digits.

    The two-letter series prefix of Lesotho and South African passports is kept as letters
    only where it is clearly letters; the fold is applied to the whole number because an
    OCR error can fall anywhere, and both sides of a comparison are folded the same way.
    """
    if not number:
        return None
    plain = "".join(c for c in number.upper() if c.isalnum())
    return plain.translate(_confusions()) or None


def features(record: PersonRecord) -> dict[str, Any]:
    """The feature row of one record (missing values are None, never "")."""
    surname = fold_name(record.surname) or None
    given_tokens = fold_name(record.given_names).split()
    given = given_tokens[0] if given_tokens else None
    born = record.birth_date
    return {
        "record_key": record.key,
        "source": record.source,
        "node": record.node,
        "surname_fold": surname,
        "given_fold": given,
        "given_initial": given[0] if given else None,
        "birth_date": born.isoformat() if born else None,
        "birth_year": born.year if born else None,
        "sex": record.sex if record.sex in ("M", "F") else None,
        "nationality": record.nationality or None,
        "doc_fold": fold_document(record.document_number),
    }


def blocking_keys(row: dict[str, Any]) -> list[str]:
    """The candidate keys of a feature row, one per blocking rule whose columns it all has.

    Two rows share a key exactly when they agree on every column of one rule: the border's
    candidate search (an index of these keys) finds the pairs batch resolution compares.
    """
    out: list[str] = []
    for i, cols in enumerate(settings()["blocking"]["rules"]):
        values = [row.get(c) for c in cols]
        if all(v is not None and v != "" for v in values):
            out.append(f"{i}|" + "|".join(str(v) for v in values))
    return out
