"""Pre-arrival declarations (issue 20, item 3)

Revision ID: 0017_declarations
Revises: 0016_children
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0017_declarations"
down_revision: str | None = "0016_children"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = tsela.store.types.UTCDateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "declaration",
        sa.Column("reference", sa.String(length=8), nullable=False),
        sa.Column("issuing_state", sa.String(length=3), nullable=False),
        sa.Column("document_number", sa.String(length=20), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("port_code", sa.String(length=8), nullable=False),
        sa.Column("direction", _enum("direction", "entry", "exit"), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("stay_days", sa.Integer(), nullable=False),
        sa.Column("children", sa.JSON(), nullable=False),
        sa.Column("valid_until", UTC_TIME, nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("used_at", UTC_TIME, nullable=True),
        sa.Column("used_port", sa.String(length=8), nullable=True),
        sa.Column("used_by", sa.String(length=60), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declaration")),
        sa.UniqueConstraint("reference", name=op.f("uq_declaration_reference")),
    )
    with op.batch_alter_table("declaration", schema=None) as batch_op:
        batch_op.create_index(
            "ix_declaration_document", ["issuing_state", "document_number"], unique=False
        )
        batch_op.create_index("ix_declaration_valid_until", ["valid_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("declaration", schema=None) as batch_op:
        batch_op.drop_index("ix_declaration_valid_until")
        batch_op.drop_index("ix_declaration_document")
    op.drop_table("declaration")
