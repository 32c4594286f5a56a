"""Watchlists: screening a person, importing a list, the lists loaded, document alerts."""

from __future__ import annotations

from pydantic import Field

from tsela.api.schemas.common import Day, Out

__all__ = [
    "DocumentAlertOut",
    "DocumentCheckOut",
    "HitFeaturesOut",
    "HitOut",
    "ImportOut",
    "NamePairOut",
    "ProblemOut",
    "ScreenOut",
    "WatchlistOut",
]


class NamePairOut(Out):
    """A word of the name asked about and the word of the entry it was matched with."""

    query: str
    entry: str
    similarity: float
    how: str = Field(examples=["exact", "orthography", "initial", "joined"])


class HitFeaturesOut(Out):
    name: float = Field(description="Similarity of the best pair of names, 0 to 1")
    name_pairs: list[NamePairOut]
    birth_date: str = Field(examples=["exact", "year_agrees", "unknown"])
    nationality: str = Field(examples=["match", "conflict", "unknown"])
    document: bool = Field(description="The document number is on the entry")


class HitOut(Out):
    entry_id: str
    list_name: str
    list_version: int
    category: str
    reason: str
    names: list[str]
    birth_date: str | None
    nationalities: list[str]
    score: float = Field(description="0 to 1; hits are reported at or above the threshold")
    matched_name: str
    features: HitFeaturesOut
    explanation: list[str]


class ScreenOut(Out):
    threshold: float
    hits: list[HitOut]


class ProblemOut(Out):
    line: int
    message: str


class ImportOut(Out):
    list_name: str
    kind: str
    version: int
    loaded: int
    replaced: int
    ignored: int
    error_count: int
    errors: list[ProblemOut]
    warnings: list[ProblemOut]


class WatchlistOut(Out):
    name: str
    kind: str
    category: str
    source: str
    version: int
    entries: int
    imported_by: str
    imported_at: str


class DocumentAlertOut(Out):
    list_name: str
    issuing_state: str
    number: str
    status: str = Field(examples=["lost", "stolen", "revoked"])
    reported_on: Day | None
    source: str


class DocumentCheckOut(Out):
    issuing_state: str
    number: str
    alerts: list[DocumentAlertOut]
