"""Queue events at ports (arrivals and turns at a desk), for wait times

Revision ID: 0014_queue_events
Revises: 0013_trust_partner_records
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0014_queue_events"
down_revision: str | None = "0013_trust_partner_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = tsela.store.types.UTCDateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "queue_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("port_id", sa.Uuid(), nullable=False),
        sa.Column("direction", _enum("direction", "entry", "exit"), nullable=False),
        sa.Column("lane", sa.String(length=16), nullable=False),
        sa.Column("kind", _enum("queue_event_kind", "arrival", "turn"), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("ticket", sa.String(length=16), nullable=True),
        sa.Column("officer_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["port_of_entry.id"],
            name=op.f("fk_queue_event_port_id_port_of_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["app_user.id"], name=op.f("fk_queue_event_officer_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_event")),
    )
    op.create_index(
        "ix_queue_event_port_time", "queue_event", ["port_id", "direction", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_queue_event_port_time", table_name="queue_event")
    op.drop_table("queue_event")
