"""API tokens and browser sessions

Revision ID: 0005_auth
Revises: 0001_core
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0005_auth"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _base() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "api_token",
        *_base(),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("expires_at", tsela.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", tsela.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_api_token_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_table(
        "web_session",
        *_base(),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("expires_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", tsela.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_web_session_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_session_token_hash")),
    )
    op.create_index("ix_web_session_user", "web_session", ["user_id"])
    # Login rate limiting counts recent failures by (action, username).
    op.create_index("ix_audit_event_action_entity", "audit_event", ["action", "entity_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_action_entity", table_name="audit_event")
    op.drop_index("ix_web_session_user", table_name="web_session")
    op.drop_table("web_session")
    op.drop_table("api_token")
