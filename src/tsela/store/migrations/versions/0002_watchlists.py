"""watchlists: lists, person entries, document alerts

Revision ID: 0002_watchlists
Revises: 0001_core
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0002_watchlists"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


CATEGORIES = (
    "wanted",
    "trafficking",
    "deportation",
    "banned_entry",
    "sanctions",
    "missing_person",
    "other",
)


def _record() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "watchlist",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", _enum("watchlist_kind", "person", "document"), nullable=False),
        sa.Column("category", _enum("watchlist_category", *CATEGORIES), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=60), nullable=False),
        sa.Column("imported_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        *_record(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist")),
        sa.UniqueConstraint("name", name=op.f("uq_watchlist_name")),
    )
    op.create_table(
        "watchlist_entry",
        sa.Column("watchlist_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        sa.Column("birth_month", sa.SmallInteger(), nullable=True),
        sa.Column("nationalities", sa.JSON(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("category", _enum("watchlist_category", *CATEGORIES), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        *_record(),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["watchlist.id"],
            name=op.f("fk_watchlist_entry_watchlist_id_watchlist"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_entry")),
    )
    with op.batch_alter_table("watchlist_entry", schema=None) as batch_op:
        batch_op.create_index("ix_watchlist_entry_list", ["watchlist_id"], unique=False)

    op.create_table(
        "document_alert",
        sa.Column("watchlist_id", sa.Uuid(), nullable=False),
        sa.Column("issuing_state", sa.String(length=3), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("status", _enum("alert_status", "lost", "stolen", "revoked"), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        *_record(),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["watchlist.id"],
            name=op.f("fk_document_alert_watchlist_id_watchlist"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_alert")),
    )
    with op.batch_alter_table("document_alert", schema=None) as batch_op:
        batch_op.create_index("ix_document_alert_number", ["issuing_state", "number"], unique=False)
        batch_op.create_index("ix_document_alert_list", ["watchlist_id"], unique=False)


def downgrade() -> None:
    op.drop_table("document_alert")
    op.drop_table("watchlist_entry")
    op.drop_table("watchlist")
