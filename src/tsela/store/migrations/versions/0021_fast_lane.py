"""The fast lane for frequent crossers (issue 20, item 2)

Revision ID: 0021_fast_lane
Revises: 0020_identity
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0021_fast_lane"
down_revision: str | None = "0020_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = tsela.store.types.UTCDateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "fast_lane_membership",
        sa.Column("number", sa.String(length=8), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column(
            "category",
            _enum("fast_lane_category", "commuter", "border_resident", "permit_holder"),
            nullable=False,
        ),
        sa.Column("port_code", sa.String(length=8), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column(
            "status",
            _enum("fast_lane_status", "applied", "active", "refused", "suspended"),
            nullable=False,
        ),
        sa.Column("applied_by", sa.String(length=60), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("interview_at", UTC_TIME, nullable=True),
        sa.Column("interview_by", sa.String(length=60), nullable=True),
        sa.Column(
            "interview_outcome",
            _enum("fast_lane_interview", "satisfactory", "concerns"),
            nullable=True,
        ),
        sa.Column("interview_note", sa.Text(), nullable=True),
        sa.Column("vetting", sa.JSON(), nullable=True),
        sa.Column("decided_at", UTC_TIME, nullable=True),
        sa.Column("decided_by", sa.String(length=60), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("kid", sa.String(length=64), nullable=True),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("suspended_at", UTC_TIME, nullable=True),
        sa.Column("suspended_by", sa.String(length=60), nullable=True),
        sa.Column("suspension_reason", sa.Text(), nullable=True),
        sa.Column("suspension_check_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_fast_lane_membership_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["travel_document.id"],
            name=op.f("fk_fast_lane_membership_document_id_travel_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fast_lane_membership")),
        sa.UniqueConstraint("number", name=op.f("uq_fast_lane_membership_number")),
    )
    with op.batch_alter_table("fast_lane_membership", schema=None) as batch_op:
        batch_op.create_index("ix_fast_lane_membership_person", ["person_id"], unique=False)
        batch_op.create_index(
            "ix_fast_lane_membership_status", ["status", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("fast_lane_membership", schema=None) as batch_op:
        batch_op.drop_index("ix_fast_lane_membership_status")
        batch_op.drop_index("ix_fast_lane_membership_person")
    op.drop_table("fast_lane_membership")
