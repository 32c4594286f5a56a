"""Offline ports: the snapshot a port checks against, and what it uploads."""

from __future__ import annotations

from pydantic import Field

from tsela.api.schemas.common import Id, Moment, Out
from tsela.api.schemas.permits import JwksOut
from tsela.domain.values import Decision

__all__ = ["DiscardOut", "OfflineCrossingOut", "SnapshotListOut", "SnapshotOut"]


class SnapshotListOut(Out):
    name: str
    kind: str = Field(examples=["person", "document"])
    category: str
    source: str
    version: int
    data: str = Field(description="The list in Tsela's import format (CSV)")


class PartnerAlertOut(Out):
    """A document the partner node reported lost, stolen or revoked."""

    id: Id
    node: str
    issuing_state: str
    number: str
    status: str = Field(examples=["lost", "stolen", "revoked"])
    reported_on: str | None = Field(description="ISO date")
    list_name: str | None
    list_version: int | None


class PermitBundleOut(Out):
    """Every node's permit key set (JWKS) and signed revocation list (a JWS), by node."""

    keysets: dict[str, JwksOut]
    revocations: dict[str, str]


class SnapshotDocumentOut(Out):
    id: Id
    node: str
    document_type: str
    issuing_state: str
    number: str
    expiry_date: str | None = Field(description="ISO date")
    status: str


class SnapshotCrossingOut(Out):
    id: Id
    node: str
    document_id: Id | None
    port: str
    direction: str = Field(examples=["entry", "exit"])
    country: str
    crossed_at: Moment


class SnapshotTravellerOut(Out):
    """A traveller who crossed at the port lately, with what an offline check needs."""

    id: Id
    node: str
    primary_name: str
    given_names: str
    sex: str
    birth_date: str | None = Field(description="ISO date")
    nationality: str
    documents: list[SnapshotDocumentOut]
    crossings: list[SnapshotCrossingOut] = Field(description="Oldest first")


class SnapshotOut(Out):
    node: str
    port: str
    generated_at: Moment
    lists: list[SnapshotListOut]
    partner_alerts: list[PartnerAlertOut] = Field(
        default_factory=list,
        description="The partner node's document alerts (lost, stolen, revoked): refused "
        "offline as online (docs/exchange.md)",
    )
    permits: PermitBundleOut | None = Field(
        None,
        description="Every node's permit key set and signed revocation list, for verifying "
        "permits offline (docs/permits.md)",
    )
    travellers: list[SnapshotTravellerOut] = Field(
        default_factory=list,
        description="The port's travellers of the last 180 days (at most 5,000, the most "
        "recent), their documents and last 40 crossings within a year: the stay of an "
        "offline exit, and a typed document number found offline (docs/operations.md)",
    )


class OfflineCrossingOut(Out):
    """An offline crossing recorded; a retry (``replayed``) answers with the crossing and
    the server's decision only."""

    crossing_id: Id
    check_id: Id | None = None
    decision: Decision = Field(description="The server's decision, as of the crossing's time")
    local_decision: Decision | None = None
    crossed_at: Moment | None = None
    replayed: bool


class DiscardOut(Out):
    recorded: bool
    replayed: bool
