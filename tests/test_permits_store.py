"""Migration 0003_permits creates exactly what the permit models describe (both back ends)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from tsela.store.models import Base

PERMIT_TABLES = {"permit", "permit_event", "permit_evidence", "employment"}


def _table_of(diff: object) -> str | None:
    first = diff[0] if isinstance(diff, list) else diff
    for part in first[1:]:  # type: ignore[index]
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if getattr(part, "name", None) in PERMIT_TABLES:
            return str(part.name)
        if isinstance(part, str) and part in PERMIT_TABLES:
            return part
    return None


def test_migration_matches_the_permit_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, Base.metadata)
    ours = [d for d in diffs if _table_of(d) in PERMIT_TABLES]
    assert ours == []
