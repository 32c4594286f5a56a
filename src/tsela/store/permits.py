"""Tables of the permit workflow: history of each permit, its evidence, and employments.

The ``permit`` and ``employer`` tables themselves are core tables (``store/models.py``);
migration ``0003_permits`` adds the permit's credential columns and these tables.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsela.kernel import clock
from tsela.store.models import Base, Record


class PermitEvent(Record, Base):
    """One step in a permit's life: who moved it from which state to which, and why."""

    __tablename__ = "permit_event"

    permit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("permit.id"), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24), nullable=False)
    actor: Mapped[str] = mapped_column(String(60), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)

    __table_args__ = (Index("ix_permit_event_permit", "permit_id", "at"),)


class PermitEvidence(Record, Base):
    """A piece of evidence given with an application (what it is, and a reference to it)."""

    __tablename__ = "permit_evidence"

    permit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("permit.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    reference: Mapped[str] = mapped_column(String(160), nullable=False, default="")
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    received_by: Mapped[str] = mapped_column(String(60), nullable=False, default="")

    __table_args__ = (Index("ix_permit_evidence_permit", "permit_id"),)


class Employment(Record, Base):
    """A worker employed by a registered employer, under a permit; ended when reported."""

    __tablename__ = "employment"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), nullable=False)
    employer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("employer.id"), nullable=False)
    permit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("permit.id"))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reported_by: Mapped[str] = mapped_column(String(60), nullable=False, default="")

    __table_args__ = (
        Index("ix_employment_employer", "employer_id", "end_date"),
        Index("ix_employment_person", "person_id"),
    )
