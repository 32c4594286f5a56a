"""Audit entries are written unsealed and chained by a sequencer: seq may be NULL until then

Revision ID: 0007_audit_sequencer
Revises: 0006_checks
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_audit_sequencer"
down_revision: str | None = "0006_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNSEALED = sa.text("seq IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:  # SQLite rebuilds the table
        batch.alter_column("seq", existing_type=SEQ, nullable=True)
    # The sequencer reads the entries not yet chained, in the order they were written.
    op.create_index(
        "ix_audit_event_unsealed",
        "audit_event",
        ["at", "id"],
        postgresql_where=UNSEALED,
        sqlite_where=UNSEALED,
    )


def downgrade() -> None:
    op.drop_index("ix_audit_event_unsealed", table_name="audit_event")
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("seq", existing_type=SEQ, nullable=False)
