"""Border control: the answer to ``POST /v1/checks`` (the contract with scanners and the
port client), recorded crossings, and the supervisor's review."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tsela.api.schemas.common import Day, Id, Moment, Out
from tsela.api.schemas.declarations import DeclaredAnswersOut
from tsela.api.schemas.permits import PermitViewOut
from tsela.api.schemas.risk import RiskHitOut
from tsela.domain.values import Decision, Direction, DocumentStatus

__all__ = [
    "CheckOut",
    "CheckedDocumentOut",
    "CheckedTravellerOut",
    "ChildOut",
    "CompanionOut",
    "CrossingRecordedOut",
    "OverrideOut",
    "PartnerCrossingOut",
    "ReasonOut",
    "RecentCrossingOut",
    "ReviewedOut",
    "StaySummaryOut",
    "WatchlistHitOut",
]

Severity = Literal["info", "refer", "deny"]


class ReasonOut(Out):
    """One reason for the decision, from the catalogue (``reference/reasons.toml``)."""

    code: str = Field(description="Stable code, e.g. document.expired", examples=["stay.allowed"])
    severity: Severity = Field(description="info: shown only; refer or deny: the decision")
    message: str = Field(description="In English words")
    variant: str = Field(description="The code's case, e.g. exit, revoked; empty if none")
    params: dict[str, str] = Field(
        description="The facts in the words, to say them in another language"
    )


class CheckedTravellerOut(Out):
    person_id: Id
    surname: str
    given_names: str
    nationality: str
    nationality_name: str | None
    birth_date: Day | None
    sex: Literal["M", "F", "X"]


class CheckedDocumentOut(Out):
    document_id: Id
    type: str
    issuing_state: str
    number: str
    expiry_date: Day | None
    status: DocumentStatus


class StaySummaryOut(Out):
    """Days of stay under the rule that applies (none for citizens or where no rule does)."""

    rule: str
    rule_version: str
    days_used: int
    days_remaining: int
    latest_exit: Day | None
    overstay_days: int
    explanation: str
    stay_days: int | None = None  # on exit: the days of the stay it closes


class WatchlistHitOut(Out):
    list: str
    category: str
    score: float
    name: str
    why: str


class RecentCrossingOut(Out):
    direction: Direction
    country: str
    crossed_at: Moment
    port: str
    port_name: str


class PartnerCrossingOut(Out):
    """The other country's record of this crossing (docs/matching.md)."""

    id: Id
    node: str
    direction: Direction
    country: str
    country_name: str
    port: str
    port_name: str
    crossed_at: Moment
    local_time: str = Field(description="HH:MM at the border")
    minutes_before: int
    summary: str
    differs: list[str] = Field(description="Fields their record has otherwise than ours")


class CompanionOut(Out):
    """An adult accompanying the child, found by the check of their document at this desk."""

    check_id: Id
    person_id: Id
    document_number: str
    name: str


class ChildOut(Out):
    """A traveller under 18 on the border day (reference/children.toml: Immigration
    Regulation 6(12)): how the child travels, the documents required and seen, the adults."""

    age: int = Field(description="Completed years on the border day")
    case: Literal["both_parents", "one_parent", "other_adult", "alone"] | None = Field(
        description="How the child travels, as recorded; null if not recorded"
    )
    documents_required: list[list[str]] = Field(
        description="Each entry: any one of these document codes (for the recorded case)"
    )
    documents_seen: list[str]
    documents_missing: list[list[str]]
    accompanied_by: list[CompanionOut]


class AlsoKnownAsOut(Out):
    """Another record of the traveller found by identity resolution (docs/identity.md)."""

    record_key: str
    source: Literal["person", "partner"]
    node: str
    person_id: Id | None
    surname: str
    given_names: str
    birth_date: str | None
    nationality: str | None
    document_number: str | None
    document_country: str | None
    identity_id: Id
    probability: float = Field(description="The model's match probability against this record")
    linked: bool = Field(
        description="True: the same resolved identity; false: only a candidate (not acted on)"
    )


class CheckOut(Out):
    """A border check: CLEAR, REFER or DENY with every reason, most severe first."""

    check_id: Id
    decision: Decision
    reasons: list[ReasonOut]
    direction: Direction
    country: str
    checked_at: Moment
    traveller: CheckedTravellerOut
    document: CheckedDocumentOut
    stay: StaySummaryOut | None
    days_remaining: int | None
    permits: list[PermitViewOut] = Field(description="Permits valid on the day of the check")
    watchlist_hits: list[WatchlistHitOut]
    recent_crossings: list[RecentCrossingOut]
    warnings: list[str]
    partner_crossing: PartnerCrossingOut | None
    child: ChildOut | None = Field(None, description="Set when the traveller is under 18")
    declaration: DeclaredAnswersOut | None = Field(
        None, description="The pre-arrival declaration presented, when the check accepted it"
    )
    also_known_as: list[AlsoKnownAsOut] = Field(
        default_factory=list,
        description="The traveller's other records: linked ones first, then candidates",
    )
    risk_hits: list[RiskHitOut] = Field(
        default_factory=list,
        description="The risk rules that hit (reference/risk_rules.toml): confirm or dismiss "
        "each with POST /v1/risk-hits/{id}/outcome",
    )


class CrossingRecordedOut(Out):
    crossing_id: Id
    check_id: Id
    direction: Direction
    country: str
    crossed_at: Moment
    decision: Decision
    overridden: bool
    replayed: bool = Field(description="True when a retry returned the crossing recorded")


class OverrideOut(Out):
    check_id: Id
    port: str
    checked_at: Moment
    direction: Direction
    decision: Decision
    traveller: str
    reasons: list[str] = Field(description="The reasons' English words")
    overridden: bool
    override_reason: str | None
    overridden_by: str | None
    watchlist: bool
    reviewed: bool


class ReviewedOut(Out):
    check_id: Id
    reviewed_at: Moment
