"""Trafficking and smuggling cases (issue 18, item 4): the case and its events.

A case is opened from a border check (one case per check) and names the traveller by their
record (``person_id``); its events (opened, indicators, note, referred, assigned,
handed_over, closed) keep who did what and when, with their notes. Case data is special
personal information: the services audit every read (``tsela.services.cases``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tsela.domain.cases import CaseEventKind, CaseKind, CaseStatus
from tsela.store.models import Base, Record, str_enum


class Case(Record, Base):
    """A case opened from a check: its kind, status, indicators ticked, referrals, who has it."""

    __tablename__ = "case_file"

    kind: Mapped[CaseKind] = mapped_column(str_enum(CaseKind, "case_kind"), nullable=False)
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, "case_status"), nullable=False)
    check_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("border_check.id"), nullable=False, unique=True
    )
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"))
    port_code: Mapped[str] = mapped_column(String(8), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(nullable=False)
    opened_by: Mapped[str] = mapped_column(String(60), nullable=False)
    assigned_to: Mapped[str | None] = mapped_column(String(60))
    indicators: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    indicators_version: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    referrals: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    outcome: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (
        Index("ix_case_file_status_opened", "status", "opened_at"),
        Index("ix_case_file_kind", "kind"),
        Index("ix_case_file_person", "person_id"),
    )


class CaseEvent(Record, Base):
    """One thing done to a case, by whom, when; ``detail`` holds what it changed."""

    __tablename__ = "case_event"

    case_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(nullable=False)
    actor: Mapped[str] = mapped_column(String(60), nullable=False)
    kind: Mapped[CaseEventKind] = mapped_column(
        str_enum(CaseEventKind, "case_event_kind"), nullable=False
    )
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    __table_args__ = (Index("ix_case_event_case", "case_id", "at"),)
