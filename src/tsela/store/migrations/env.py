"""Alembic environment: run migrations on the connection Tsela hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

import tsela.store.models  # noqa: F401  (registers every table on Base.metadata)
from tsela.store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        # Invoked by the alembic command line: use sqlalchemy.url from its config.
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _configure_and_run(conn)
        return
    _configure_and_run(connection)


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER support
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
