"""The partner's document alerts and permit statuses, applied from the exchange feed

Revision ID: 0013_trust_partner_records
Revises: 0012_exchange
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0013_trust_partner_records"
down_revision: str | None = "0012_exchange"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = tsela.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "partner_document_alert",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("issuing_state", sa.String(length=3), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "lost",
                "stolen",
                "revoked",
                name="alert_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reported_on", sa.Date(), nullable=True),
        sa.Column("list_name", sa.String(length=80), nullable=True),
        sa.Column("list_version", sa.Integer(), nullable=True),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_document_alert")),
    )
    op.create_index(
        "ix_partner_document_alert_number",
        "partner_document_alert",
        ["issuing_state", "number"],
    )
    op.create_index(
        "ix_partner_document_alert_list",
        "partner_document_alert",
        ["node", "list_name", "list_version"],
    )
    op.create_table(
        "partner_permit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("permit_type", sa.String(length=40), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("changed_at", UTC_TIME, nullable=False),
        sa.Column("change_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_permit")),
    )


def downgrade() -> None:
    op.drop_table("partner_permit")
    op.drop_index("ix_partner_document_alert_list", table_name="partner_document_alert")
    op.drop_index("ix_partner_document_alert_number", table_name="partner_document_alert")
    op.drop_table("partner_document_alert")
