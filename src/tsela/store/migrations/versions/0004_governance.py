"""governance tracker: bodies, meetings, instruments, objectives, outputs, activities

Revision ID: 0004_governance
Revises: 0001_core
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0004_governance"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("not_started", "on_track", "at_risk", "late", "done", "dropped")
BODY_KINDS = ("commission", "committee", "ministry", "agency", "secretariat", "other")
INSTRUMENT_KINDS = (
    "agreement",
    "resolution",
    "terms_of_reference",
    "strategic_plan",
    "activity_plan",
    "advocacy_strategy",
    "road_map",
)


def _enum(values: Sequence[str], name: str, length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def _record() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
    ]


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "gov_body",
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", _enum(BODY_KINDS, "gov_body_kind"), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        *_record(),
        _fk("gov_body", "parent_id", "gov_body"),
        _pk("gov_body"),
        sa.UniqueConstraint("code", name=op.f("uq_gov_body_code")),
    )
    op.create_table(
        "gov_body_member",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("body_id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        _fk("gov_body_member", "user_id", "app_user"),
        _fk("gov_body_member", "body_id", "gov_body"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_gov_body_member")),
    )
    op.create_table(
        "gov_meeting",
        sa.Column("body_id", sa.Uuid(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        *_record(),
        _fk("gov_meeting", "body_id", "gov_body"),
        _pk("gov_meeting"),
        sa.UniqueConstraint("body_id", "held_on", name="uq_gov_meeting_body_day"),
    )
    op.create_table(
        "gov_instrument",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", _enum(INSTRUMENT_KINDS, "gov_instrument_kind", 24), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body_id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=True),
        sa.Column("adopted_on", sa.Date(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        *_record(),
        _fk("gov_instrument", "body_id", "gov_body"),
        _fk("gov_instrument", "meeting_id", "gov_meeting"),
        _pk("gov_instrument"),
        sa.UniqueConstraint("code", name=op.f("uq_gov_instrument_code")),
    )
    op.create_table(
        "gov_objective",
        sa.Column("instrument_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        *_record(),
        _fk("gov_objective", "instrument_id", "gov_instrument"),
        _fk("gov_objective", "owner_id", "gov_body"),
        _pk("gov_objective"),
        sa.UniqueConstraint("instrument_id", "code", name="uq_gov_objective_code"),
    )
    op.create_table(
        "gov_output",
        sa.Column("objective_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        *_record(),
        _fk("gov_output", "objective_id", "gov_objective"),
        _pk("gov_output"),
        sa.UniqueConstraint("objective_id", "code", name="uq_gov_output_code"),
    )
    op.create_table(
        "gov_activity",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("objective_id", sa.Uuid(), nullable=False),
        sa.Column("output_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", _enum(STATUSES, "gov_status"), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("last_reviewed_meeting_id", sa.Uuid(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("updated_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        *_record(),
        sa.CheckConstraint("due_date >= start_date", name=op.f("ck_gov_activity_due_after_start")),
        _fk("gov_activity", "objective_id", "gov_objective"),
        _fk("gov_activity", "output_id", "gov_output"),
        _fk("gov_activity", "owner_id", "gov_body"),
        _fk("gov_activity", "last_reviewed_meeting_id", "gov_meeting"),
        _pk("gov_activity"),
        sa.UniqueConstraint("code", name=op.f("uq_gov_activity_code")),
    )
    with op.batch_alter_table("gov_activity", schema=None) as batch_op:
        batch_op.create_index("ix_gov_activity_objective", ["objective_id"], unique=False)
        batch_op.create_index("ix_gov_activity_owner", ["owner_id"], unique=False)

    op.create_table(
        "gov_activity_dependency",
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("depends_on_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "activity_id <> depends_on_id", name=op.f("ck_gov_activity_dependency_not_self")
        ),
        _fk("gov_activity_dependency", "activity_id", "gov_activity"),
        _fk("gov_activity_dependency", "depends_on_id", "gov_activity"),
        sa.PrimaryKeyConstraint(
            "activity_id", "depends_on_id", name=op.f("pk_gov_activity_dependency")
        ),
    )
    op.create_table(
        "gov_progress_note",
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("written_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=60), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status_from", _enum(STATUSES, "gov_note_from"), nullable=True),
        sa.Column("status_to", _enum(STATUSES, "gov_note_to"), nullable=True),
        sa.Column("meeting_id", sa.Uuid(), nullable=True),
        *_record(),
        _fk("gov_progress_note", "activity_id", "gov_activity"),
        _fk("gov_progress_note", "meeting_id", "gov_meeting"),
        _pk("gov_progress_note"),
    )
    with op.batch_alter_table("gov_progress_note", schema=None) as batch_op:
        batch_op.create_index("ix_gov_progress_note_activity", ["activity_id"], unique=False)

    op.create_table(
        "gov_evidence",
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("added_by", sa.String(length=60), nullable=False),
        *_record(),
        sa.CheckConstraint("kind IN ('link', 'attachment')", name=op.f("ck_gov_evidence_kind")),
        _fk("gov_evidence", "activity_id", "gov_activity"),
        _pk("gov_evidence"),
    )
    with op.batch_alter_table("gov_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_gov_evidence_activity", ["activity_id"], unique=False)

    op.create_table(
        "gov_indicator_target",
        sa.Column("objective_id", sa.Uuid(), nullable=False),
        sa.Column("indicator_id", sa.String(length=80), nullable=False),
        sa.Column("params", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("baseline_on", sa.Date(), nullable=True),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("target_on", sa.Date(), nullable=True),
        sa.Column("unit", sa.String(length=24), nullable=False),
        *_record(),
        _fk("gov_indicator_target", "objective_id", "gov_objective"),
        _pk("gov_indicator_target"),
        sa.UniqueConstraint(
            "objective_id", "indicator_id", "params", name="uq_gov_indicator_target"
        ),
    )


def downgrade() -> None:
    for index, table in (
        ("ix_gov_evidence_activity", "gov_evidence"),
        ("ix_gov_progress_note_activity", "gov_progress_note"),
        ("ix_gov_activity_owner", "gov_activity"),
        ("ix_gov_activity_objective", "gov_activity"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
    for table in (
        "gov_indicator_target",
        "gov_evidence",
        "gov_progress_note",
        "gov_activity_dependency",
        "gov_activity",
        "gov_output",
        "gov_objective",
        "gov_instrument",
        "gov_meeting",
        "gov_body_member",
        "gov_body",
    ):
        op.drop_table(table)
