"""The node exchange: its status, exit/entry matching, and the signed feed batch a partner
pulls over mutual TLS (``tsela.api.exchange``; docs/exchange.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, RootModel

from tsela.api.schemas.common import Out

__all__ = [
    "CrossingOut",
    "ExchangeStatusOut",
    "FeedBatchOut",
    "FeedRecordOut",
    "FeedStatusOut",
    "FeedValue",
    "ItemOut",
    "MatchingOut",
    "PartnerStatusOut",
    "PortDayOut",
    "UnmatchedOut",
]


class PartnerStatusOut(Out):
    partner: str
    endpoint: str
    fingerprint: str
    last_seq: int
    head_seq: int | None
    behind: int | None
    applied: int
    last_batch_id: str | None = Field(
        description="The last batch received (an empty one too: the partner had nothing new)"
    )
    last_batch_at: str | None
    last_success_at: str | None
    lag_s: float | None
    lag_alert: bool
    last_error_code: str | None
    last_error: str | None
    last_error_at: str | None
    refusals: int


class FeedStatusOut(Out):
    head_seq: int
    unsequenced: int


class PortDayOut(Out):
    port: str
    day: date
    matched: int
    mismatches: int
    unmatched_exits: int
    unmatched_entries: int
    pending: int
    no_counterpart_port: int


class UnmatchedOut(Out):
    """The matching counts of the last border days: totals, and each port and day with
    anything but matched pairs (newest day first)."""

    first_day: date
    last_day: date
    window_minutes: int
    totals: dict[str, int] = Field(
        description="matched, mismatches, unmatched_exits, unmatched_entries, pending, "
        "no_counterpart_port"
    )
    lines: list[PortDayOut]


class ExchangeStatusOut(Out):
    node: str
    as_of: str
    lag_alert_s: int = Field(description="The lag past which lag_alert is raised (seconds)")
    partners: list[PartnerStatusOut]
    feed: FeedStatusOut
    unmatched: UnmatchedOut


class CrossingOut(Out):
    id: str
    node: str
    port: str
    port_name: str
    direction: str
    country: str
    crossed_at: str
    document_number: str | None
    document_country: str | None
    surname: str | None
    given_names: str | None
    birth_date: str | None


class ItemOut(CrossingOut):
    outcome: str
    differs: list[str]
    counterpart: CrossingOut | None


class MatchingOut(Out):
    day: date
    port: str | None
    as_of: datetime
    window_minutes: int
    lines: list[PortDayOut]
    items: list[ItemOut]
    more_items: int


class FeedValue(
    RootModel[str | int | float | bool | None | list["FeedValue"] | dict[str, "FeedValue"]]
):
    """A value of a record's payload, as canonical JSON carries it (times and days as ISO
    text; a key set is an object)."""


class FeedRecordOut(Out):
    """One record of the feed, chained to the one before it."""

    seq: int
    kind: str = Field(examples=["crossing", "document_alert", "permit_status", "permit_key"])
    id: str
    node: str
    created_at: str
    payload: dict[str, FeedValue] = Field(
        description="Only the fields the agreement lets cross (reference/exchange_agreement.toml)"
    )
    hash: str
    digest: str | None = Field(
        None, description="Only for a record projected again under newer terms"
    )


class FeedBatchOut(Out):
    """A signed feed batch (canonical JSON; the signature is in ``Tsela-Signature``)."""

    type: Literal["tsela-feed-batch"]
    v: int
    id: str
    from_: str = Field(alias="from")
    to: str
    first_seq: int
    last_seq: int
    head_seq: int
    prev_hash: str
    records: list[FeedRecordOut]
    served_at: str
    kid: str
