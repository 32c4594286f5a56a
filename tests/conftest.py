"""Test fixtures: every storage test runs on SQLite and on a real PostgreSQL.

PostgreSQL: 127.0.0.1:5432, user postgres, database ``test`` (override with
TSELA_TEST_PG_URL). Each test process gets its own schema, dropped at the end, so parallel
runs never see each other's rows. Under CI (CI=true) a missing PostgreSQL fails the run
instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from tsela.config import Settings
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate
from tsela.store.models import Base

PG_URL = os.environ.get("TSELA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ["sqlite", "postgresql"]


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        probe = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        probe.dispose()
        return None
    except OperationalError as exc:
        return f"PostgreSQL not reachable at {PG_URL}: {exc.orig}"


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    reason = _pg_available()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, schema=schema)
    migrate(engine)
    seed_ports(engine, "LS")
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("db") / "tsela.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    seed_ports(engine, "LS")
    yield engine
    engine.dispose()


def _clean(engine: Engine) -> None:
    """Remove every row a test wrote, keeping the reference ports."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "port_of_entry":
                conn.execute(table.delete())
    # The lists were emptied behind the screening service's back: bring this process's
    # index up to date now, or the next test is screened against the old lists while the
    # background refresh runs (a served-while-rebuilding index is the service's design).
    from tsela.services import screening

    screening.lists_changed(engine)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated database with the ports loaded, on each back end in turn; emptied after."""
    eng: Engine = request.getfixturevalue(f"{request.param.replace('postgresql', 'pg')}_engine")
    yield eng
    _clean(eng)


@pytest.fixture
def settings(engine: Engine) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=Path("var"),
    )


@pytest.fixture
def client(settings: Settings, engine: Engine):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from tsela.api.app import create_app

    with TestClient(create_app(settings, engine)) as c:
        yield c


@pytest.fixture
def make_user(engine: Engine):  # type: ignore[no-untyped-def]
    """Create a user with a role (border officers are posted at MSU unless told otherwise)."""
    from tsela.services.accounts import create_user
    from tsela.store.db import session_factory, transaction
    from tsela.store.models import Role

    counter = iter(range(1_000_000))

    def make(role: str | Role, *, port: str | None = None, password: str = "correct horse 1", **kw):  # type: ignore[no-untyped-def]
        role = Role(role)
        if role is Role.BORDER_OFFICER and port is None:
            port = "MSU"
        with transaction(session_factory(engine)) as s:
            user = create_user(
                s,
                node="LS",
                username=kw.pop("username", f"{role.value}{next(counter)}"),
                password=password,
                role=role,
                port_code=port,
                **kw,
            )
        return user

    return make


@pytest.fixture
def auth_headers(engine: Engine, make_user):  # type: ignore[no-untyped-def]
    """``auth_headers(role, port=None)`` -> headers with a fresh Bearer token for a new user."""
    from tsela.services.accounts import issue_api_token
    from tsela.store.db import session_factory, transaction

    def headers(role: str, port: str | None = None, **kw) -> dict[str, str]:  # type: ignore[no-untyped-def]
        user = make_user(role, port=port, **kw)
        with transaction(session_factory(engine)) as s:
            token = issue_api_token(s, s.merge(user), label="test")
        return {"Authorization": f"Bearer {token}"}

    return headers


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The recovery times the fault tests measured (stated, never asserted)."""
    said = [
        value
        for report in terminalreporter.stats.get("passed", [])
        for key, value in getattr(report, "user_properties", ())
        if key == "recovery"
    ]
    if said:
        terminalreporter.write_sep("-", "recovery after faults (tests/test_faults.py)")
        for line in said:
            terminalreporter.write_line(str(line))
