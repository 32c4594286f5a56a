"""The node exchange: outbox, partners, message log, received records

Revision ID: 0012_exchange
Revises: 0007_audit_sequencer
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0012_exchange"
down_revision: str | None = "0007_audit_sequencer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = tsela.store.types.UTCDateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNSEQUENCED = sa.text("seq IS NULL")


def _record(name: str, *columns: sa.Column[Any] | sa.UniqueConstraint, **kw: object) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    _record(
        "exchange_outbox",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("seq", SEQ, nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("terms", sa.String(length=16), nullable=True),
        sa.UniqueConstraint("seq", name=op.f("uq_exchange_outbox_seq")),
    )
    op.create_index(
        "ix_exchange_outbox_unsequenced",
        "exchange_outbox",
        ["created_at", "id"],
        postgresql_where=UNSEQUENCED,
        sqlite_where=UNSEQUENCED,
    )
    _record(
        "exchange_partner",
        sa.Column("partner", sa.String(length=2), nullable=False),
        sa.Column("anchor", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("added_by", sa.String(length=60), nullable=False),
        sa.Column("last_seq", SEQ, nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("head_seq", SEQ, nullable=True),
        sa.Column("applied", SEQ, nullable=False),
        sa.Column("last_batch_id", sa.String(length=40), nullable=True),
        sa.Column("last_batch_at", UTC_TIME, nullable=True),
        sa.Column("last_record_at", UTC_TIME, nullable=True),
        sa.Column("last_attempt_at", UTC_TIME, nullable=True),
        sa.Column("last_success_at", UTC_TIME, nullable=True),
        sa.Column("last_error_code", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UTC_TIME, nullable=True),
        sa.Column("refusals", sa.Integer(), nullable=False),
        sa.UniqueConstraint("partner", name=op.f("uq_exchange_partner_partner")),
    )
    _record(
        "exchange_message",
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("first_seq", SEQ, nullable=False),
        sa.Column("last_seq", SEQ, nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
    )
    op.create_index("ix_exchange_message_received", "exchange_message", ["received_at"])
    _record(
        "exchange_received",
        sa.Column("seq", SEQ, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.UniqueConstraint("node", "seq", name="uq_exchange_received_node_seq"),
    )
    op.create_index("ix_exchange_received_kind", "exchange_received", ["kind", "record_id"])


def downgrade() -> None:
    op.drop_index("ix_exchange_received_kind", table_name="exchange_received")
    op.drop_table("exchange_received")
    op.drop_index("ix_exchange_message_received", table_name="exchange_message")
    op.drop_table("exchange_message")
    op.drop_table("exchange_partner")
    op.drop_index("ix_exchange_outbox_unsequenced", table_name="exchange_outbox")
    op.drop_table("exchange_outbox")
