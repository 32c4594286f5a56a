"""What the risk rules look at: the facts of one check, gathered by the service
(``tsela.services.risk.gather``) in a few small queries, or built by hand in tests and the
benchmark. Plain values only: no rows, no sessions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from tsela.domain.decisions import PastCrossing


@dataclass(frozen=True)
class DocumentUse:
    """The same document at a desk: a check of this node, or a crossing the partner node
    recorded (received through the exchange)."""

    port: str  # the post's code
    at: datetime
    node: str  # the node that checked or recorded it
    record: str  # the check's or the partner record's id


@dataclass(frozen=True)
class PartnerRefusal:
    """A refusal of entry made by the partner node (received through the exchange)."""

    refusal_id: str
    node: str
    country: str  # refused entry into
    port: str
    refused_at: datetime
    grounds: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckFacts:
    """One border check as the rules see it."""

    node: str  # this node
    country: str  # the country entered or left here
    port: str  # this port's code
    direction: str  # "entry" / "exit"
    at: datetime  # the moment of the crossing (aware)
    nationality: str
    birth_date: date | None = None
    child_case: str | None = None  # how a child travels, as the officer recorded it
    history: Sequence[PastCrossing] = ()  # this country's crossings, oldest first
    document_uses: Sequence[DocumentUse] = field(default_factory=tuple)
    partner_refusals: Sequence[PartnerRefusal] = field(default_factory=tuple)
