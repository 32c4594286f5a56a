"""Engines, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from tsela.config import parse_database_url

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (and Mako, which it loads) is imported where migrations run, not by every process
# that opens a database: a server's start-up, before its first check, never needs it.

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str | URL, *, schema: str | None = None, **kwargs: Any) -> Engine:
    """An engine configured for Tsela.

    ``schema`` (PostgreSQL only) puts every table in that schema via ``search_path``;
    tests use it to give each run its own isolated namespace in a shared database.
    """
    parsed = parse_database_url(str(url)) if isinstance(url, str) else url
    connect_args: dict[str, Any] = kwargs.pop("connect_args", {})
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args.setdefault("timeout", 30)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, connect_args=connect_args, **kwargs)


def session_engine(session: Session) -> Engine:
    """The engine a session works on (per-engine caches are keyed by it)."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def column_values(record: Any) -> dict[str, Any]:
    """The column values of a new ORM object, for a plain (Core) INSERT of it."""
    return {c.key: getattr(record, c.key) for c in record.__table__.columns}


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back (and keep nothing) on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to ``revision`` (idempotent).

    ``heads``: features add their tables on branches from the core revision; all apply.
    """
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")
