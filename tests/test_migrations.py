"""One migration chain for both back ends: it builds exactly the tables the models describe,
and it can be rolled back to nothing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from tsela.store.db import downgrade, make_engine, migrate
from tsela.store.models import Base

PG_URL = os.environ.get("TSELA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    request.getfixturevalue("pg_engine")  # skips (or fails under CI) without PostgreSQL
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, schema=schema)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_migrations_build_what_the_models_describe(fresh: Engine) -> None:
    migrate(fresh)
    with fresh.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(ctx, Base.metadata)
    assert differences == []
    assert set(Base.metadata.tables) <= set(inspect(fresh).get_table_names())


def test_migrate_is_idempotent_and_downgrade_removes_everything(fresh: Engine) -> None:
    migrate(fresh)
    migrate(fresh)  # a second run changes nothing and does not fail
    downgrade(fresh, "base")
    left = set(inspect(fresh).get_table_names()) - {"alembic_version"}
    assert left == set()
