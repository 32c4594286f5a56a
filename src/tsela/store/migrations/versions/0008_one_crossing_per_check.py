"""One check, at most one crossing: a unique index on crossing.check_id

Revision ID: 0008_one_crossing_per_check
Revises: 0007_audit_sequencer

Before this index, concurrent requests recording one check under different Idempotency-Keys
could each record a crossing. A database that already holds such duplicates keeps every
crossing row, but only the one the check names (``border_check.crossing_id``; else the
earliest) stays linked to the check; the others lose their ``check_id`` and are named in the
migration's log, for a supervisor to look at.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_one_crossing_per_check"
down_revision: str | None = "0007_audit_sequencer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINKED = sa.text("check_id IS NOT NULL")
log = logging.getLogger("alembic.runtime.migration")


def _unlink_duplicates() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT c.check_id, c.id, b.crossing_id FROM crossing c "
            "LEFT JOIN border_check b ON b.id = c.check_id "
            "WHERE c.check_id IN (SELECT check_id FROM crossing WHERE check_id IS NOT NULL "
            "GROUP BY check_id HAVING count(*) > 1) "
            "ORDER BY c.check_id, c.created_at, c.id"
        )
    ).all()
    by_check: dict[object, list[tuple[object, object]]] = {}
    for check_id, crossing_id, named in rows:
        by_check.setdefault(check_id, []).append((crossing_id, named))
    unlink = []
    for check_id, crossings in by_check.items():
        ids = [c for c, _ in crossings]
        named = crossings[0][1]
        keep = named if named in ids else ids[0]
        extra = [c for c in ids if c != keep]
        log.warning(
            "check %s had %d crossings: kept %s, unlinked %s",
            check_id,
            len(ids),
            keep,
            ", ".join(str(c) for c in extra),
        )
        unlink.extend(extra)
    # The ids go back as the driver gave them (hex text on SQLite, uuid on PostgreSQL).
    for crossing_id in unlink:
        bind.execute(
            sa.text("UPDATE crossing SET check_id = NULL WHERE id = :id"), {"id": crossing_id}
        )


def upgrade() -> None:
    _unlink_duplicates()
    op.create_index(
        "uq_crossing_check_id",
        "crossing",
        ["check_id"],
        unique=True,
        postgresql_where=LINKED,
        sqlite_where=LINKED,
    )


def downgrade() -> None:
    op.drop_index("uq_crossing_check_id", table_name="crossing")
