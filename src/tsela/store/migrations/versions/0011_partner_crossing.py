"""Crossings received from the partner node, for exit/entry matching

Revision ID: 0011_partner_crossing
Revises: 0001_core
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0011_partner_crossing"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = tsela.store.types.UTCDateTime(timezone=True)


def _choice(name: str, *values: str, nullable: bool) -> sa.Column[str]:
    return sa.Column(
        name,
        sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "partner_crossing",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("port_code", sa.String(length=8), nullable=False),
        _choice("direction", "entry", "exit", nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("crossed_at", UTC_TIME, nullable=False),
        sa.Column("document_number", sa.String(length=20), nullable=False),
        sa.Column("document_country", sa.String(length=3), nullable=False),
        sa.Column("nationality", sa.String(length=3), nullable=True),
        sa.Column("surname", sa.String(length=120), nullable=True),
        sa.Column("given_names", sa.String(length=160), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        _choice("sex", "M", "F", "X", nullable=True),
        _choice("decision", "CLEAR", "REFER", "DENY", nullable=True),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_crossing")),
    )
    op.create_index(
        "ix_partner_crossing_document_time",
        "partner_crossing",
        ["document_number", "crossed_at"],
    )
    op.create_index(
        "ix_partner_crossing_port_time", "partner_crossing", ["port_code", "crossed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_partner_crossing_port_time", table_name="partner_crossing")
    op.drop_index("ix_partner_crossing_document_time", table_name="partner_crossing")
    op.drop_table("partner_crossing")
