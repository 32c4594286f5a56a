"""Sign-in throttling: one row per account, per address and per (account, address)

Revision ID: 0009_auth_hardening
Revises: 0007_audit_sequencer
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0009_auth_hardening"
down_revision: str | None = "0007_audit_sequencer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = tsela.store.types.UTCDateTime(timezone=True)
    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_allowed_at", when, nullable=True),
        sa.Column("last_failure_at", when, nullable=True),
        sa.Column("last_success_at", when, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("key", name=op.f("uq_login_throttle_key")),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
