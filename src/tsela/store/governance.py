"""Tables of the governance tracker: bodies, their sessions, what they adopt, and the
objectives -> outputs -> activities that make plans trackable.

Activities are the unit of tracking (status, dates, notes, evidence, dependencies).
Objectives carry indicator targets; their progress is measured, and the status of an
objective or output is rolled up from its activities rather than claimed.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tsela.domain.governance import BodyKind, InstrumentKind, Status
from tsela.kernel import clock
from tsela.store.models import Base, Record, str_enum

EVIDENCE_KINDS = ("link", "attachment")


class Body(Record, Base):
    """A commission, committee, ministry or agency: adopts instruments, owns activities."""

    __tablename__ = "gov_body"

    code: Mapped[str] = mapped_column(String(24), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[BodyKind] = mapped_column(str_enum(BodyKind, "gov_body_kind"), nullable=False)
    country: Mapped[str] = mapped_column(String(3), nullable=False, default="")  # LSO, ZAF or ""
    timezone: Mapped[str] = mapped_column(String(40), nullable=False, default="Africa/Maseru")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gov_body.id"))

    parent: Mapped[Body | None] = relationship(remote_side="Body.id")


class BodyMember(Base):
    """A user who speaks for a body (a ministry's focal person, a committee member).

    Kept beside ``app_user`` rather than in it, so the tracker needs no change there.
    """

    __tablename__ = "gov_body_member"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    body_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gov_body.id"), nullable=False)
    node: Mapped[str] = mapped_column(String(2), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)

    body: Mapped[Body] = relationship()


class Meeting(Record, Base):
    """A session of a body (e.g. the second BNC session, Maseru, 22-23 April 2025)."""

    __tablename__ = "gov_meeting"

    body_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gov_body.id"), nullable=False)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    place: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    title: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    body: Mapped[Body] = relationship()

    __table_args__ = (UniqueConstraint("body_id", "held_on", name="uq_gov_meeting_body_day"),)


class Instrument(Record, Base):
    """What a body adopted: an agreement, resolution, plan or strategy, with its text."""

    __tablename__ = "gov_instrument"

    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    kind: Mapped[InstrumentKind] = mapped_column(
        SAEnum(
            InstrumentKind,
            name="gov_instrument_kind",
            native_enum=False,
            create_constraint=True,
            length=24,  # longer than str_enum's 16: "terms_of_reference"
            values_callable=lambda e: [m.value for m in e],
            validate_strings=True,
        ),
        nullable=False,
    )
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gov_body.id"), nullable=False)
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gov_meeting.id"))
    adopted_on: Mapped[date | None] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source: Mapped[str] = mapped_column(Text, nullable=False, default="")
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    body: Mapped[Body] = relationship()
    meeting: Mapped[Meeting | None] = relationship()
    objectives: Mapped[list[Objective]] = relationship(
        back_populates="instrument", order_by="Objective.code"
    )


class Objective(Record, Base):
    __tablename__ = "gov_objective"

    instrument_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("gov_instrument.id"), nullable=False
    )
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gov_body.id"))
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    instrument: Mapped[Instrument] = relationship(back_populates="objectives")
    owner: Mapped[Body | None] = relationship()
    outputs: Mapped[list[Output]] = relationship(back_populates="objective", order_by="Output.code")
    activities: Mapped[list[Activity]] = relationship(
        back_populates="objective", order_by="Activity.code"
    )
    indicators: Mapped[list[IndicatorTarget]] = relationship(
        back_populates="objective", order_by="IndicatorTarget.indicator_id"
    )

    __table_args__ = (UniqueConstraint("instrument_id", "code", name="uq_gov_objective_code"),)


class Output(Record, Base):
    __tablename__ = "gov_output"

    objective_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gov_objective.id"), nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)

    objective: Mapped[Objective] = relationship(back_populates="outputs")

    __table_args__ = (UniqueConstraint("objective_id", "code", name="uq_gov_output_code"),)


class Activity(Record, Base):
    """A dated commitment with an owner; what the review and the road-map track."""

    __tablename__ = "gov_activity"

    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    objective_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gov_objective.id"), nullable=False)
    output_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gov_output.id"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gov_body.id"), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[Status] = mapped_column(
        str_enum(Status, "gov_status"), nullable=False, default=Status.NOT_STARTED
    )
    closed_on: Mapped[date | None] = mapped_column(Date)  # date it became done or dropped
    last_reviewed_meeting_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gov_meeting.id"))
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)

    objective: Mapped[Objective] = relationship(back_populates="activities")
    output: Mapped[Output | None] = relationship()
    owner: Mapped[Body] = relationship()
    last_reviewed_meeting: Mapped[Meeting | None] = relationship()
    notes: Mapped[list[ProgressNote]] = relationship(
        back_populates="activity", order_by="ProgressNote.written_at"
    )
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="activity", order_by="Evidence.created_at"
    )

    __table_args__ = (
        CheckConstraint("due_date >= start_date", name="due_after_start"),
        Index("ix_gov_activity_objective", "objective_id"),
        Index("ix_gov_activity_owner", "owner_id"),
    )


class ActivityDependency(Base):
    """``activity`` cannot finish before ``depends_on`` (kept acyclic by the services)."""

    __tablename__ = "gov_activity_dependency"

    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gov_activity.id"), primary_key=True)
    depends_on_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("gov_activity.id"), primary_key=True
    )

    __table_args__ = (CheckConstraint("activity_id <> depends_on_id", name="not_self"),)


class ProgressNote(Record, Base):
    """What was reported about an activity, and the status change it made, if any."""

    __tablename__ = "gov_progress_note"

    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gov_activity.id"), nullable=False)
    written_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)
    author: Mapped[str] = mapped_column(String(60), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status_from: Mapped[Status | None] = mapped_column(str_enum(Status, "gov_note_from"))
    status_to: Mapped[Status | None] = mapped_column(str_enum(Status, "gov_note_to"))
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gov_meeting.id"))

    activity: Mapped[Activity] = relationship(back_populates="notes")

    __table_args__ = (Index("ix_gov_progress_note_activity", "activity_id"),)


class Evidence(Record, Base):
    """A link to, or a stored file of, what shows the work was done."""

    __tablename__ = "gov_evidence"

    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gov_activity.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    location: Mapped[str] = mapped_column(Text, nullable=False)  # URL or attachment path
    description: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    added_by: Mapped[str] = mapped_column(String(60), nullable=False)

    activity: Mapped[Activity] = relationship(back_populates="evidence")

    __table_args__ = (
        CheckConstraint("kind IN ('link', 'attachment')", name="kind"),
        Index("ix_gov_evidence_activity", "activity_id"),
    )


class IndicatorTarget(Record, Base):
    """An observatory indicator an objective is judged by, from a baseline to a target."""

    __tablename__ = "gov_indicator_target"

    objective_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gov_objective.id"), nullable=False)
    indicator_id: Mapped[str] = mapped_column(String(80), nullable=False)
    params: Mapped[str] = mapped_column(String(200), nullable=False, default="")  # "port=MSU"
    label: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    baseline: Mapped[float] = mapped_column(Float, nullable=False)
    baseline_on: Mapped[date | None] = mapped_column(Date)
    target: Mapped[float] = mapped_column(Float, nullable=False)
    target_on: Mapped[date | None] = mapped_column(Date)
    unit: Mapped[str] = mapped_column(String(24), nullable=False, default="")

    objective: Mapped[Objective] = relationship(back_populates="indicators")

    __table_args__ = (
        UniqueConstraint("objective_id", "indicator_id", "params", name="uq_gov_indicator_target"),
    )
