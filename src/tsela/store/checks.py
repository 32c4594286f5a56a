"""Border checks: what was asked, what Tsela found, what was decided and who overrode it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tsela.domain.values import Decision, Direction
from tsela.store.models import Base, Record, str_enum


class BorderCheck(Record, Base):
    __tablename__ = "border_check"

    port_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("port_of_entry.id"), nullable=False)
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"))
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("travel_document.id"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "direction"), nullable=False)
    country: Mapped[str] = mapped_column(String(3), nullable=False)
    checked_at: Mapped[datetime] = mapped_column(nullable=False)
    decision: Mapped[Decision] = mapped_column(str_enum(Decision, "decision"), nullable=False)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(nullable=False, default=list)
    mrz_valid: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    crossing_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    override_reason: Mapped[str | None] = mapped_column(Text)
    overridden_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    overridden_at: Mapped[datetime | None] = mapped_column()
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    review_note: Mapped[str | None] = mapped_column(Text)
    # The days of stay as the check counted them, with whatever the traveller showed at the
    # desk (a partner's permit is known only then): the check's page shows this, not a sum
    # made again later. None on checks made before it was kept, and for travellers with no
    # stay rule.
    stay: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A child traveller (tsela.domain.children): how the child travels, the documents seen.
    child_case: Mapped[str | None] = mapped_column(String(16))
    child_documents: Mapped[list[str] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_border_check_port_time", "port_id", "checked_at"),
        Index("ix_border_check_person", "person_id"),
    )


class CheckCompanion(Record, Base):
    """An adult accompanying a child across: the child's check and the adult's check at the
    same desk (so the child's crossing leads to the adults' crossings)."""

    __tablename__ = "check_companion"

    check_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("border_check.id"), nullable=False)
    adult_check_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("border_check.id"), nullable=False)
    adult_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), nullable=False)
    document_number: Mapped[str] = mapped_column(String(20), nullable=False)

    __table_args__ = (
        Index("ix_check_companion_check", "check_id"),
        Index("ix_check_companion_adult", "adult_person_id"),
    )
