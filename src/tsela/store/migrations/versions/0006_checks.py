"""Border checks; request hash on crossings for idempotent recording

Revision ID: 0006_checks
Revises: 0005_auth
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0006_checks"
down_revision: str | None = "0005_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = tsela.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "border_check",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("port_id", sa.Uuid(), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column(
            "direction",
            sa.Enum(
                "entry",
                "exit",
                name="direction",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("checked_at", UTC_TIME, nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "CLEAR",
                "REFER",
                "DENY",
                name="decision",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("mrz_valid", sa.Boolean(), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("crossing_id", sa.Uuid(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("overridden_by", sa.Uuid(), nullable=True),
        sa.Column("overridden_at", UTC_TIME, nullable=True),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", UTC_TIME, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["port_id"], ["port_of_entry.id"], name=op.f("fk_border_check_port_id_port_of_entry")
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["app_user.id"], name=op.f("fk_border_check_officer_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_border_check_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["travel_document.id"],
            name=op.f("fk_border_check_document_id_travel_document"),
        ),
        sa.ForeignKeyConstraint(
            ["overridden_by"], ["app_user.id"], name=op.f("fk_border_check_overridden_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["app_user.id"], name=op.f("fk_border_check_reviewed_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_border_check")),
    )
    op.create_index("ix_border_check_port_time", "border_check", ["port_id", "checked_at"])
    op.create_index("ix_border_check_person", "border_check", ["person_id"])
    with op.batch_alter_table("crossing") as batch:
        batch.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crossing") as batch:
        batch.drop_column("request_hash")
    op.drop_index("ix_border_check_person", table_name="border_check")
    op.drop_index("ix_border_check_port_time", table_name="border_check")
    op.drop_table("border_check")
