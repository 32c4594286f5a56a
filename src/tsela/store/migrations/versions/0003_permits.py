"""permits: credential columns on permit; permit events, evidence, employments

Revision ID: 0003_permits
Revises: 0001_core
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0003_permits"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _base() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("permit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("renewal_of_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("issued_at", tsela.store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("kid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("token", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            "fk_permit_document_id_travel_document", "travel_document", ["document_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_permit_renewal_of_id_permit", "permit", ["renewal_of_id"], ["id"]
        )
        batch_op.create_index("ix_permit_status_valid_to", ["status", "valid_to"], unique=False)
        batch_op.create_index("ix_permit_employer", ["employer_id"], unique=False)

    op.create_table(
        "permit_event",
        sa.Column("permit_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        *_base(),
        sa.ForeignKeyConstraint(
            ["permit_id"], ["permit.id"], name=op.f("fk_permit_event_permit_id_permit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit_event")),
    )
    op.create_index("ix_permit_event_permit", "permit_event", ["permit_id", "at"])

    op.create_table(
        "permit_evidence",
        sa.Column("permit_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=160), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("received_by", sa.String(length=60), nullable=False),
        *_base(),
        sa.ForeignKeyConstraint(
            ["permit_id"], ["permit.id"], name=op.f("fk_permit_evidence_permit_id_permit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit_evidence")),
    )
    op.create_index("ix_permit_evidence_permit", "permit_evidence", ["permit_id"])

    op.create_table(
        "employment",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("employer_id", sa.Uuid(), nullable=False),
        sa.Column("permit_id", sa.Uuid(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.String(length=60), nullable=False),
        *_base(),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_employment_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employer.id"], name=op.f("fk_employment_employer_id_employer")
        ),
        sa.ForeignKeyConstraint(
            ["permit_id"], ["permit.id"], name=op.f("fk_employment_permit_id_permit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employment")),
    )
    op.create_index("ix_employment_employer", "employment", ["employer_id", "end_date"])
    op.create_index("ix_employment_person", "employment", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_employment_person", table_name="employment")
    op.drop_index("ix_employment_employer", table_name="employment")
    op.drop_table("employment")
    op.drop_index("ix_permit_evidence_permit", table_name="permit_evidence")
    op.drop_table("permit_evidence")
    op.drop_index("ix_permit_event_permit", table_name="permit_event")
    op.drop_table("permit_event")
    with op.batch_alter_table("permit", schema=None) as batch_op:
        batch_op.drop_index("ix_permit_employer")
        batch_op.drop_index("ix_permit_status_valid_to")
        batch_op.drop_constraint("fk_permit_renewal_of_id_permit", type_="foreignkey")
        batch_op.drop_constraint("fk_permit_document_id_travel_document", type_="foreignkey")
        batch_op.drop_column("token")
        batch_op.drop_column("kid")
        batch_op.drop_column("issued_at")
        batch_op.drop_column("renewal_of_id")
        batch_op.drop_column("document_id")
