"""The fast lane's answer to one scan of a member's card (``POST /v1/lane/scans``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tsela.api.schemas.checks import ReasonOut
from tsela.api.schemas.common import Id, Out

__all__ = ["LaneScanOut"]


class LaneScanOut(Out):
    """CLEAR (the crossing is recorded) or REFER (send the traveller to secondary
    inspection, where the check is opened by its id). The lane never refuses anyone."""

    answer: Literal["CLEAR", "REFER"]
    reasons: list[ReasonOut] = Field(description="Every reason, most severe first")
    check_id: Id | None = Field(
        description="The border check the scan ran; none when the card named no one (not "
        "genuine, unreadable, unknown)"
    )
    crossing_id: Id | None = Field(description="The crossing recorded (CLEAR only)")
    number: str | None = Field(
        description="The membership, as printed on the card", examples=["FL-K7QM-X3TP"]
    )
    holder: str | None = Field(description="The member's name, to compare with the face")
    selected_at_random: bool = Field(
        description="Picked at random for secondary inspection (TSELA_FAST_LANE_REFER_PERCENT)"
    )
    suspended: bool = Field(
        description="This scan suspended the membership: a watchlist hit, a document alert "
        "or an entry ban"
    )
    replayed: bool = Field(
        description="A retry under the same Idempotency-Key: the crossing recorded before"
    )
