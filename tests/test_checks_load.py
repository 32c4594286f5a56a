"""The border-check load benchmark's building blocks (bench/checks_load.py), and what it found:
a check must hold ONE database connection, or a burst of checks deadlocks the pool.

The benchmark itself (minutes, a real server) is not a test; these check that what it loads
and sends is what the application reads, on both back ends.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from factories import passport
from tsela.api.app import create_app
from tsela.config import Settings, load_settings
from tsela.services import screening
from tsela.store.checks import BorderCheck
from tsela.store.db import make_engine, session_factory
from tsela.store.models import Person, PortOfEntry
from tsela.store.watchlists import WatchlistKind
from tsela.synth.generator import SynthConfig, make_population

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("checks_load", BENCH / "checks_load.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["checks_load"] = module  # dataclasses look their module up while defined
    spec.loader.exec_module(module)
    return module


cl = _bench()


def _same_database(engine: Engine, **kwargs: object) -> Engine:
    """A second engine on the fixture's database (and PostgreSQL schema)."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("SHOW search_path")).scalar_one()
        return make_engine(url, schema=schema, **kwargs)
    return make_engine(url, **kwargs)


def _settings(engine: Engine, tmp_path: Path, node: str = "ZA") -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node=node,
        var_dir=tmp_path,
    )


# ------------------------------------------------------------------ one connection per check


def test_a_check_needs_only_one_database_connection(
    engine: Engine, auth_headers, tmp_path: Path
) -> None:
    """With a pool of one connection, a check with watchlist screening and a document list
    still answers: nothing in the check path waits for a second connection (under load,
    threads each holding one connection and waiting for another exhausted the pool)."""
    screening.import_watchlist(
        engine,
        list_name="wanted",
        data="name,birth_date\nThabo Mokoena,1980-02-03\n",
        fmt="csv",
        actor="test",
        node="LS",
    )
    screening.import_watchlist(
        engine,
        list_name="lost",
        data="issuing_state,number,status\nLSO,RA0000001,lost\n",
        fmt="csv",
        actor="test",
        node="LS",
        kind=WatchlistKind.DOCUMENT,
    )
    headers = auth_headers("border_officer", port="MSU")
    tight = _same_database(engine, pool_size=1, max_overflow=0, pool_timeout=3)
    try:
        with TestClient(create_app(_settings(engine, tmp_path), tight)) as client:
            mrz = passport(
                "RA7654321", given="THABO", birth=date(1980, 2, 3), expiry=date(2031, 1, 1), sex="M"
            )
            r = client.post(
                "/v1/checks",
                json={"port": "MSU", "direction": "entry", "mrz": mrz},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            assert r.json()["watchlist_hits"][0]["list"] == "wanted"
            assert r.json()["decision"] != "CLEAR"
    finally:
        tight.dispose()


# ------------------------------------------------------------------ schema through the URL


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_server_reaches_a_schema_through_the_database_url(engine: Engine) -> None:
    """The benchmark hands the server its scratch schema as libpq's ``options`` in
    TSELA_DATABASE_URL; the app's engine then sees that schema's tables."""
    with engine.connect() as conn:
        schema = conn.execute(text("SHOW search_path")).scalar_one()
    base = engine.url.render_as_string(hide_password=False)
    url = cl.server_url("postgresql", base, schema)
    assert quote("-csearch_path=") in url
    settings = load_settings({"TSELA_DATABASE_URL": url})
    other = make_engine(settings.url)
    try:
        with session_factory(other)() as s:
            assert s.scalar(select(func.count()).select_from(PortOfEntry)) > 10
        with other.connect() as conn:
            assert conn.execute(text("SHOW search_path")).scalar_one() == schema
    finally:
        other.dispose()


# ------------------------------------------------------------------ what the benchmark loads


def test_bulk_loaded_watchlist_screens_like_an_imported_one(engine: Engine) -> None:
    loaded = cl.load_watchlists(engine, 300)
    assert loaded == 300
    lists = {w.name: w for w in screening.list_watchlists(engine)}
    assert lists[cl.PERSON_LIST].entries == 300
    assert lists[cl.PERSON_LIST].kind == "person"
    assert lists[cl.DOCUMENT_LIST].kind == "document"
    # A look-alike (misspelt surname, same birth date) of an entry is found by screening.
    who = cl.lookalikes(300, 1, seed=3)[0]
    hits = screening.screen(
        engine,
        f"{who.given} {who.surname}",
        birth_date=who.birth,
        today=date(2026, 11, 25),
    )
    assert hits, who
    assert hits[0].list_name == cl.PERSON_LIST
    assert hits[0].birth_date == who.birth.isoformat()
    # The document list answers like an imported one.
    alerts = screening.check_document(engine, "LSO", "LX0000001")
    assert [a.status for a in alerts] == ["stolen"]


def test_checks_of_existing_travellers_find_them(engine: Engine, tmp_path: Path) -> None:
    """The MRZs the benchmark sends for existing travellers lead to those travellers (no new
    person registered), and new travellers are registered."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    cfg = SynthConfig(persons=40, start=yesterday - timedelta(days=60), end=yesterday, seed=4)
    from tsela.store.bulk import bulk_writer
    from tsela.synth.generator import make_trips
    from tsela.synth.load import load_crossings, load_population, port_ids

    pop = make_population(cfg)
    with bulk_writer(engine) as writer:
        stored = load_population(writer, pop, "ZA")
        load_crossings(writer, port_ids(engine), pop, make_trips(pop, cfg), cfg, stored)
    tokens = cl.ensure_officers(engine)
    assert set(tokens) == set(cl.PORT_CODES)
    calls = cl.existing_calls(engine, pop, 10, seed=1)
    assert len(calls) == 10
    with TestClient(create_app(_settings(engine, tmp_path), engine)) as client:
        for call in calls:
            r = client.post(
                "/v1/checks",
                json=call.body,
                headers={"Authorization": f"Bearer {tokens[call.port]}"},
            )
            assert r.status_code == 201, r.text
            surname = r.json()["traveller"]["surname"]
            assert surname in set(pop.primary_name), surname
        with session_factory(engine)() as s:
            assert s.scalar(select(func.count()).select_from(Person)) == 40
        new = cl.new_traveller_call(random.Random(1), datetime.now(UTC).date())
        r = client.post(
            "/v1/checks", json=new.body, headers={"Authorization": f"Bearer {tokens[new.port]}"}
        )
        assert r.status_code == 201, r.text
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 41
        assert s.scalar(select(func.count()).select_from(BorderCheck)) == 11


# ------------------------------------------------------------------ the figures


def _phase(latencies_ms: list[float], statuses: list[str] | None = None) -> object:
    statuses = statuses or ["201"] * len(latencies_ms)
    samples = [
        cl.Sample("existing", i * 0.01, ms / 1000, st, "CLEAR" if st == "201" else "boom")
        for i, (ms, st) in enumerate(zip(latencies_ms, statuses, strict=True))
    ]
    return cl.summarise("t", 100.0, 1.0, samples, 0.0)


def test_percentiles_are_nearest_rank() -> None:
    phase = _phase([float(v) for v in range(1, 101)])  # 1..100 ms
    assert phase.p50 == pytest.approx(0.050)
    assert phase.p95 == pytest.approx(0.095)
    assert phase.p99 == pytest.approx(0.099)
    assert phase.worst == pytest.approx(0.100)
    assert phase.ok == 100 and not phase.errors


def test_errors_are_counted_and_fail_the_phase() -> None:
    phase = _phase([5.0] * 10, ["201"] * 8 + ["500", "ReadTimeout"])
    assert phase.ok == 8
    assert sum(phase.errors.values()) == 2
    assert not phase.passed


def test_rate_where_p99_crosses_the_target() -> None:
    def at(rate: float, p99_ms: float):  # type: ignore[no-untyped-def]
        phase = _phase([1.0] * 99 + [p99_ms])
        phase.offered = rate
        phase.p99 = p99_ms / 1000
        return phase

    sweep = [at(300, 80), at(100, 20), at(200, 35)]
    assert cl.crossing_rate(sweep) == "between 200/s (p99 35 ms) and 300/s (p99 80 ms)"
    assert cl.crossing_rate([at(100, 20)]).startswith("not reached up to 100/s")
    assert cl.crossing_rate([at(50, 60)]).startswith("already at 50/s")


def test_misspelling_changes_one_thing() -> None:
    rng = random.Random(0)
    for word in ("Mokoena", "Tšabalira", "Ntho"):
        slip = cl.misspell(word, rng)
        assert slip != word.upper()
        assert abs(len(slip) - len(word)) <= 1


def _burst(app: FastAPI, headers: dict[str, str], series: str) -> list[int]:
    """12 checks at once (fresh documents ``<series>0000000``...) against ``app`` served by
    only 3 worker threads; the HTTP statuses, in order."""
    from concurrent.futures import ThreadPoolExecutor

    import anyio.to_thread

    calls = [
        passport(
            f"{series}{i:07d}",
            given="THABO",
            birth=date(1980, 2, 3),
            expiry=date(2031, 1, 1),
            sex="M",
        )
        for i in range(12)
    ]
    with TestClient(app) as client:

        def few_threads() -> None:
            anyio.to_thread.current_default_thread_limiter().total_tokens = 3

        client.portal.call(few_threads)  # type: ignore[union-attr]

        def post(mrz: str) -> int:
            r = client.post(
                "/v1/checks",
                json={"port": "MSU", "direction": "entry", "mrz": mrz},
                headers=headers,
            )
            return r.status_code

        with ThreadPoolExecutor(12) as pool:
            return list(pool.map(post, calls))


def test_a_burst_of_checks_does_not_deadlock_the_pool(
    engine: Engine, auth_headers, tmp_path: Path
) -> None:
    """More requests at once than worker threads and connections: every check answers.

    A request that kept a connection while it waited for a worker thread could wait forever
    once every thread waited for a connection (what the load benchmark ran into at 25
    checks/s): sign-in looks tokens up with its own short session, and the route takes the
    request's connection only when it runs.
    """
    headers = auth_headers("border_officer", port="MSU")
    # A deadlock would wait out the pool timeout; 30 s leaves room for a busy machine.
    tight = _same_database(engine, pool_size=2, max_overflow=0, pool_timeout=30)
    try:
        statuses = _burst(create_app(_settings(engine, tmp_path), tight), headers, "RA")
        assert statuses == [201] * 12
    finally:
        tight.dispose()


def test_a_burst_past_the_admission_bound_waits_its_turn(
    engine: Engine, auth_headers, tmp_path: Path
) -> None:
    """With at most 2 requests in progress, a burst of 12 gets every answer: the others wait
    their turn in the admission queue, holding no thread and no connection."""
    headers = auth_headers("border_officer", port="MSU")
    tight = _same_database(engine, pool_size=2, max_overflow=0, pool_timeout=30)
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="ZA",
        var_dir=tmp_path,
        max_in_flight=2,
        queue_timeout_ms=60_000,
    )
    try:
        statuses = _burst(create_app(settings, tight), headers, "RB")
        assert statuses == [201] * 12
    finally:
        tight.dispose()


def test_the_screening_index_is_built_before_the_first_request(
    engine: Engine, tmp_path: Path
) -> None:
    """At a million entries the index takes a minute or more to build: at start-up, not on
    the first traveller's check."""
    screening.import_watchlist(
        engine,
        list_name="wanted",
        data="name,birth_date\nThabo Mokoena,1980-02-03\n",
        fmt="csv",
        actor="test",
        node="LS",
    )
    screening.forget_index(engine)
    with TestClient(create_app(_settings(engine, tmp_path), engine)):
        cached = screening.cached_index(engine)
        assert cached is not None and len(cached) == 1
