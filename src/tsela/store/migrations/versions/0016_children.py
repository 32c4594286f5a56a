"""Children crossing the border (issue 18, item 3): how a child travels and the documents
seen, on the check; the accompanying adults' checks

Revision ID: 0016_children
Revises: 0015_refusals_bans
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0016_children"
down_revision: str | None = "0015_refusals_bans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("border_check", schema=None) as batch_op:
        batch_op.add_column(sa.Column("child_case", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("child_documents", sa.JSON(), nullable=True))
    op.create_table(
        "check_companion",
        sa.Column("check_id", sa.Uuid(), nullable=False),
        sa.Column("adult_check_id", sa.Uuid(), nullable=False),
        sa.Column("adult_person_id", sa.Uuid(), nullable=False),
        sa.Column("document_number", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["adult_check_id"],
            ["border_check.id"],
            name=op.f("fk_check_companion_adult_check_id_border_check"),
        ),
        sa.ForeignKeyConstraint(
            ["adult_person_id"],
            ["person.id"],
            name=op.f("fk_check_companion_adult_person_id_person"),
        ),
        sa.ForeignKeyConstraint(
            ["check_id"], ["border_check.id"], name=op.f("fk_check_companion_check_id_border_check")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_companion")),
    )
    with op.batch_alter_table("check_companion", schema=None) as batch_op:
        batch_op.create_index("ix_check_companion_adult", ["adult_person_id"], unique=False)
        batch_op.create_index("ix_check_companion_check", ["check_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("check_companion", schema=None) as batch_op:
        batch_op.drop_index("ix_check_companion_check")
        batch_op.drop_index("ix_check_companion_adult")
    op.drop_table("check_companion")
    with op.batch_alter_table("border_check", schema=None) as batch_op:
        batch_op.drop_column("child_documents")
        batch_op.drop_column("child_case")
