"""Border checks keep the days of stay as the check counted them

Revision ID: 0019_check_stay
Revises: 0018_sdg_assessment
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_check_stay"
down_revision: str | None = "0018_sdg_assessment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("border_check") as batch:
        batch.add_column(sa.Column("stay", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("border_check") as batch:
        batch.drop_column("stay")
