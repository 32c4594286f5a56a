"""Refusals of entry and entry bans (issue 18): this node's and the partner's

Revision ID: 0015_refusals_bans
Revises: 0014_queue_events
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0015_refusals_bans"
down_revision: str | None = "0014_queue_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entry_ban",
        sa.Column("issuing_country", sa.String(length=3), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("ground", sa.String(length=2), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.Column("refusal_id", sa.Uuid(), nullable=True),
        sa.Column("issued_by", sa.String(length=60), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("surname", sa.String(length=120), nullable=False),
        sa.Column("given_names", sa.String(length=160), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        sa.Column("document_country", sa.String(length=3), nullable=True),
        sa.Column("document_number", sa.String(length=20), nullable=True),
        sa.Column("updated_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_entry_ban_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_ban")),
    )
    with op.batch_alter_table("entry_ban", schema=None) as batch_op:
        batch_op.create_index(
            "ix_entry_ban_document", ["document_country", "document_number"], unique=False
        )
        batch_op.create_index("ix_entry_ban_name_birth", ["surname", "birth_date"], unique=False)
        batch_op.create_index("ix_entry_ban_person", ["person_id"], unique=False)

    op.create_table(
        "entry_ban_change",
        sa.Column("ban_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("old_end", sa.Date(), nullable=False),
        sa.Column("new_end", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("appeal_reference", sa.String(length=80), nullable=True),
        sa.Column("approved_by", sa.String(length=60), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ban_id"], ["entry_ban.id"], name=op.f("fk_entry_ban_change_ban_id_entry_ban")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_ban_change")),
    )
    with op.batch_alter_table("entry_ban_change", schema=None) as batch_op:
        batch_op.create_index("ix_entry_ban_change_ban", ["ban_id"], unique=False)

    op.create_table(
        "refusal",
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("port_code", sa.String(length=8), nullable=False),
        sa.Column("refused_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=True),
        sa.Column("officer_name", sa.String(length=160), nullable=False),
        sa.Column("check_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("surname", sa.String(length=120), nullable=False),
        sa.Column("given_names", sa.String(length=160), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        sa.Column("document_country", sa.String(length=3), nullable=True),
        sa.Column("document_number", sa.String(length=20), nullable=True),
        sa.Column("grounds", sa.JSON(), nullable=False),
        sa.Column("grounds_version", sa.String(length=16), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["app_user.id"], name=op.f("fk_refusal_officer_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_refusal_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refusal")),
    )
    with op.batch_alter_table("refusal", schema=None) as batch_op:
        batch_op.create_index("ix_refusal_check", ["check_id"], unique=False)
        batch_op.create_index(
            "ix_refusal_document", ["document_country", "document_number"], unique=False
        )
        batch_op.create_index("ix_refusal_time", ["refused_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refusal", schema=None) as batch_op:
        batch_op.drop_index("ix_refusal_time")
        batch_op.drop_index("ix_refusal_document")
        batch_op.drop_index("ix_refusal_check")

    op.drop_table("refusal")
    with op.batch_alter_table("entry_ban_change", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_ban_change_ban")

    op.drop_table("entry_ban_change")
    with op.batch_alter_table("entry_ban", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_ban_person")
        batch_op.drop_index("ix_entry_ban_name_birth")
        batch_op.drop_index("ix_entry_ban_document")

    op.drop_table("entry_ban")
