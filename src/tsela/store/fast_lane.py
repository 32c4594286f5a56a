"""The fast lane for frequent crossers (issue 20, item 2): an application, its vetting and
decision, the signed card of an approved member, and a suspension."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tsela.domain.fast_lane import Category, Interview, Status
from tsela.kernel import clock
from tsela.store.models import Base, Record, str_enum


class FastLaneMembership(Record, Base):
    __tablename__ = "fast_lane_membership"

    number: Mapped[str] = mapped_column(String(8), nullable=False, unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), nullable=False)
    # The passport the card is bound to: the lane checks the traveller by it.
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("travel_document.id"), nullable=False)
    category: Mapped[Category] = mapped_column(
        str_enum(Category, "fast_lane_category"), nullable=False
    )
    port_code: Mapped[str] = mapped_column(String(8), nullable=False)  # where they usually cross
    statement: Mapped[str] = mapped_column(Text, nullable=False)  # why they cross often
    status: Mapped[Status] = mapped_column(str_enum(Status, "fast_lane_status"), nullable=False)
    applied_by: Mapped[str] = mapped_column(String(60), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)
    interview_at: Mapped[datetime | None] = mapped_column()
    interview_by: Mapped[str | None] = mapped_column(String(60))
    interview_outcome: Mapped[Interview | None] = mapped_column(
        str_enum(Interview, "fast_lane_interview")
    )
    interview_note: Mapped[str | None] = mapped_column(Text)
    # What the vetting found when the decision was made (hits, bans, history, document).
    vetting: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    kid: Mapped[str | None] = mapped_column(String(64))  # the key that signed the card
    token: Mapped[str | None] = mapped_column(Text)  # the card: the latest one only is current
    suspended_at: Mapped[datetime | None] = mapped_column()
    suspended_by: Mapped[str | None] = mapped_column(String(60))
    suspension_reason: Mapped[str | None] = mapped_column(Text)
    # The lane check whose hit or ban suspended it (None: an officer's decision).
    suspension_check_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        Index("ix_fast_lane_membership_person", "person_id"),
        Index("ix_fast_lane_membership_status", "status", "created_at"),
    )
