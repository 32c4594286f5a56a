"""The SDG 10.7.2 self-assessment (issue 22, item 5)

Revision ID: 0018_sdg_assessment
Revises: 0017_declarations
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0018_sdg_assessment"
down_revision: str | None = "0017_declarations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = tsela.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sdg_assessment",
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sdg_assessment")),
        sa.UniqueConstraint("country", "year", name="uq_sdg_assessment_country_year"),
    )


def downgrade() -> None:
    op.drop_table("sdg_assessment")
