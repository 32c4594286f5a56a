"""Watchlist imports that cannot quietly lose a list, break on a hostile line, or stall the
server (issue 14): refused partial files, deep FtM nesting, short write transactions."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from _server import free_port
from factories import passport
from tsela.cli.main import app
from tsela.services import screening
from tsela.services.screening import (
    ImportNeedsConfirmation,
    import_watchlist,
    list_watchlists,
    screen,
    versions,
)
from tsela.store.db import make_engine, migrate, session_factory
from tsela.store.models import AuditEvent
from tsela.store.watchlists import Watchlist, WatchlistCategory, WatchlistEntry

TODAY = date(2026, 11, 25)
# 64 wanted persons, each with a distinct name and birth date.
GIVEN = ["Lineo", "Thabo", "Palesa", "Tumelo", "Mpho", "Neo", "Karabo", "Lerato"]
FAMILY = ["Mokoena", "Moshoeshoe", "Mofokeng", "Letsie", "Mohapi", "Sekhonyana", "Ramoholi", "Nko"]
WANTED = [f"{g} {f}" for f in FAMILY for g in GIVEN]


def wanted_csv(names: list[str], bad_rows: int = 0) -> str:
    lines = ["name,birth_date,nationality"]
    lines += [f"{n},19{60 + i % 40}-0{1 + i % 9}-1{i % 9},LSO" for i, n in enumerate(names)]
    lines += [f"Bad Row {i},1985-13-40,LSO" for i in range(bad_rows)]  # month 13
    return "\n".join(lines) + "\n"


def load(engine: Engine, data: str, **kw: Any) -> screening.ImportReport:
    args: dict[str, Any] = dict(
        list_name="wanted-persons",
        fmt="csv",
        actor="supervisor1",
        node="LS",
        category=WatchlistCategory.WANTED,
        today=TODAY,
    )
    return import_watchlist(engine, data=data, **(args | kw))


def entries(engine: Engine) -> list[str]:
    with session_factory(engine)() as s:
        return sorted(e.names[0] for e in s.scalars(select(WatchlistEntry)))


def audit_actions(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    with session_factory(engine)() as s:
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("watchlist.import%"))
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return [(e.action, e.detail) for e in events]


# -- a partial file is refused, names what it would drop, and changes nothing ---------------


def test_a_partial_file_does_not_empty_the_list(engine: Engine) -> None:
    load(engine, wanted_csv(WANTED))
    dropped = WANTED[2:]
    with pytest.raises(ImportNeedsConfirmation) as refused:
        load(engine, wanted_csv(WANTED[:2], bad_rows=10))
    exc = refused.value
    assert exc.reasons == ["bad_rows", "list_shrinks"]
    assert (exc.current, exc.loaded, exc.bad_rows) == (64, 2, 10)
    assert exc.dropped_count == 62
    assert exc.dropped == dropped[: screening.DROPPED_SHOWN]
    assert [e.line for e in exc.errors] == list(range(4, 14))
    assert "month 13" in exc.errors[0].message
    assert "64 to 2 entries" in str(exc) and "10 of 12 rows are bad" in str(exc)
    # Nothing changed: same version, all 64, and a dropped wanted person still screens.
    assert [(w.version, w.entries) for w in list_watchlists(engine)] == [(1, 64)]
    assert entries(engine) == sorted(WANTED)
    hits = screen(engine, dropped[-1], today=TODAY)
    assert [h.names[0] for h in hits] == [dropped[-1]]
    # The refusal is audited, with what it would have cost.
    action, detail = audit_actions(engine)[-1]
    assert action == "watchlist.import.refused"
    assert (detail["reasons"], detail["dropped"], detail["bad_rows"]) == (
        ["bad_rows", "list_shrinks"],
        62,
        10,
    )

    report = load(engine, wanted_csv(WANTED[:2], bad_rows=10), confirm=True)
    assert (report.version, report.loaded, report.replaced) == (2, 2, 64)
    assert entries(engine) == sorted(WANTED[:2])
    action, detail = audit_actions(engine)[-1]
    assert (action, detail["confirmed"], detail["dropped"]) == (
        "watchlist.import",
        ["bad_rows", "list_shrinks"],
        62,
    )


def test_the_thresholds(engine: Engine) -> None:
    load(engine, wanted_csv(WANTED))
    # Shrinking by 12 of 64 (under 20%), with 3 bad rows in 55 (under 5%): loads.
    assert load(engine, wanted_csv(WANTED[:52], bad_rows=2)).version == 2
    # 52 -> 40 is a loss of 23%: refused, though every row is good.
    with pytest.raises(ImportNeedsConfirmation) as refused:
        load(engine, wanted_csv(WANTED[:40]))
    assert refused.value.reasons == ["list_shrinks"]
    assert refused.value.dropped == WANTED[40:52]
    # A new list with 1 bad row in 10: refused for its bad rows alone.
    with pytest.raises(ImportNeedsConfirmation) as refused:
        load(engine, wanted_csv(WANTED[:9], bad_rows=1), list_name="new-list")
    assert (refused.value.reasons, refused.value.dropped_count) == (["bad_rows"], 0)
    assert [w.name for w in list_watchlists(engine)] == ["wanted-persons"]


def test_document_list_refusal_names_the_documents(engine: Engine) -> None:
    from tsela.store.watchlists import WatchlistKind

    rows = [f"LSO,RA{i:06d},stolen" for i in range(10)]
    head = "issuing_state,number,status\n"
    load(engine, head + "\n".join(rows) + "\n", list_name="sltd", kind=WatchlistKind.DOCUMENT)
    with pytest.raises(ImportNeedsConfirmation) as refused:
        load(engine, head + rows[0] + "\n", list_name="sltd", kind=WatchlistKind.DOCUMENT)
    assert refused.value.dropped[:2] == ["LSO RA000001", "LSO RA000002"]
    assert screening.check_document(engine, "LSO", "RA000009")[0].status == "stolen"


def test_api_refuses_with_409_and_what_would_be_dropped(
    client: Any, auth_headers: Callable[..., dict[str, str]], engine: Engine
) -> None:
    load(engine, wanted_csv(WANTED))
    headers = auth_headers("supervisor")
    files = {"file": ("w.csv", wanted_csv(WANTED[:2], bad_rows=10).encode(), "text/csv")}
    r = client.post("/v1/watchlists/wanted-persons/import", files=files, headers=headers)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail["code"] == "confirmation_required"
    assert detail["reasons"] == ["bad_rows", "list_shrinks"]
    assert (detail["current_entries"], detail["loaded"], detail["dropped_count"]) == (64, 2, 62)
    assert detail["dropped"][:2] == ["Palesa Mokoena", "Tumelo Mokoena"]
    assert detail["error_count"] == 10
    assert detail["errors"][0] == {
        "line": 4,
        "message": "birth date 1985-13-40: month 13 is not 1-12",
    }
    body = client.get("/v1/watchlists", headers=headers).json()
    assert [(w["version"], w["entries"]) for w in body] == [(1, 64)]

    r = client.post(
        "/v1/watchlists/wanted-persons/import",
        files=files,
        data={"confirm": "true"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["loaded"]) == (2, 2)


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate(engine)
    monkeypatch.setenv("TSELA_DATABASE_URL", url)
    yield engine
    engine.dispose()


def test_cli_refuses_unless_confirmed(
    cli_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(cli_db, wanted_csv(WANTED))
    f = tmp_path / "partial.csv"
    f.write_text(wanted_csv(WANTED[:2], bad_rows=10), encoding="utf-8")
    args = ["watchlist", "import", str(f), "--list", "wanted-persons", "--category", "wanted"]

    result = CliRunner().invoke(app, args)
    err = result.stderr.replace("\n", " ")
    assert result.exit_code == 3, err
    assert "would drop 62: Palesa Mokoena, Tumelo Mokoena" in err
    assert "and 42 more" in err
    assert f"{f}:4: birth date 1985-13-40" in err
    assert "--confirm-shrink" in err
    assert len(entries(cli_db)) == 64

    # At a terminal the importer is asked; "no" changes nothing, "yes" replaces the list.
    monkeypatch.setattr("tsela.cli.screen._can_ask", lambda file: True)
    result = CliRunner().invoke(app, args, input="n\n")
    assert (result.exit_code, len(entries(cli_db))) == (3, 64)
    result = CliRunner().invoke(app, args, input="y\n")
    assert result.exit_code == 0, result.stderr
    assert "version 2: 2 person entries loaded, 64 replaced" in result.stdout
    assert entries(cli_db) == sorted(WANTED[:2])

    f.write_text(wanted_csv(WANTED[:1]), encoding="utf-8")
    monkeypatch.setattr("tsela.cli.screen._can_ask", lambda file: False)
    result = CliRunner().invoke(app, [*args, "--confirm-shrink"])
    assert result.exit_code == 0, result.stderr
    assert entries(cli_db) == [WANTED[0]]


# -- FollowTheMoney lines that are not entities ------------------------------------------


def test_ftm_line_nested_50000_deep_is_a_row_error(
    client: Any, auth_headers: Callable[..., dict[str, str]]
) -> None:
    deep = '{"schema": "Person", "properties": {"name": ' + "[" * 50_000 + "]" * 50_000 + "}}"
    people = [
        json.dumps({"id": f"p{i}", "schema": "Person", "properties": {"name": [n]}})
        for i, n in enumerate(WANTED[:30])
    ]
    nested_value = json.dumps(
        {"id": "x", "schema": "Person", "properties": {"name": [[[["Lineo Mokoena"]]]]}}
    )
    text = "\n".join([*people, deep, nested_value]) + "\n"
    files = {"file": ("e.ftm.json", text.encode(), "application/json")}
    r = client.post(
        "/v1/watchlists/os/import",
        files=files,
        data={"format": "ftm", "confirm": "true"},
        headers=auth_headers("admin"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["loaded"] == 30
    assert body["errors"] == [
        {"line": 31, "message": "JSON nested too deeply for an FtM entity"},
        {"line": 32, "message": "property 'name' holds a list, not text"},
    ]


# -- the new version is written in short transactions and published at once ---------------


def test_readers_see_the_old_version_until_the_new_one_is_published(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, wanted_csv(WANTED[:32]))
    seen: list[tuple[list[tuple[int, int]], list[str], list[str], int]] = []

    def look(_engine: Engine) -> None:  # between two write transactions of the import
        seen.append(
            (
                [(w.version, w.entries) for w in list_watchlists(engine)],
                [h.names[0] for h in screen(engine, WANTED[0], today=TODAY)],
                [h.names[0] for h in screen(engine, WANTED[40], today=TODAY)],
                len(screening.current_index(engine)),
            )
        )

    monkeypatch.setattr(versions, "CHUNK_ROWS", 10)
    monkeypatch.setattr(versions, "pause", look)
    report = load(engine, wanted_csv(WANTED[32:]), confirm=True)
    assert report.version == 2
    writes = [s for s in seen if s[0] == [(1, 32)]]
    assert len(writes) >= 3  # the 32 new rows went in several transactions
    assert all(s == ([(1, 32)], [WANTED[0]], [], 32) for s in writes)
    assert [(w.version, w.entries) for w in list_watchlists(engine)] == [(2, 32)]
    assert [h.names[0] for h in screen(engine, WANTED[40], today=TODAY)] == [WANTED[40]]
    assert screen(engine, WANTED[0], today=TODAY) == []
    with session_factory(engine)() as s:  # the replaced version is gone, rows and all
        assert s.scalar(select(func.count()).select_from(Watchlist)) == 1
        assert s.scalar(select(func.count()).select_from(WatchlistEntry)) == 32


def test_a_failure_half_way_keeps_the_old_version_and_leaves_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, wanted_csv(WANTED[:32]))
    writes = iter(range(100))
    real = versions.insert_rows

    def failing(*args: Any) -> None:
        if next(writes) == 2:
            raise OSError("disk full")
        real(*args)

    monkeypatch.setattr(versions, "CHUNK_ROWS", 10)
    monkeypatch.setattr(versions, "insert_rows", failing)
    with pytest.raises(OSError, match="disk full"):
        load(engine, wanted_csv(WANTED[32:]), confirm=True)
    assert [(w.version, w.entries) for w in list_watchlists(engine)] == [(1, 32)]
    assert entries(engine) == sorted(WANTED[:32])
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Watchlist)) == 1


# -- a large import on SQLite does not stall a real server ---------------------------------


def test_a_large_import_on_sqlite_leaves_the_server_answering(tmp_path: Path) -> None:
    from tsela.services.accounts import create_user, issue_api_token
    from tsela.services.setup import seed_ports
    from tsela.store.db import transaction
    from tsela.store.models import Role

    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = make_engine(url)
    migrate(engine)
    seed_ports(engine, "LS")
    tokens = {}
    with transaction(session_factory(engine)) as s:
        for role in (Role.SUPERVISOR, Role.BORDER_OFFICER):
            user = create_user(
                s,
                node="LS",
                username=role.value,
                password="correct horse 1",
                role=role,
                port_code="MSU" if role is Role.BORDER_OFFICER else None,
            )
            tokens[role] = {"Authorization": f"Bearer {issue_api_token(s, user)}"}
    load(engine, wanted_csv(WANTED[:8]), today=None)
    big = "name,birth_date\n" + "".join(
        f"Person{i} Ramokhele{i % 997},19{50 + i % 50}-0{1 + i % 9}-1{i % 9}\n"
        for i in range(120_000)
    )

    mrz = passport(expiry=date(2036, 5, 1))
    port = free_port()
    env = {**os.environ, "TSELA_DATABASE_URL": url, "TSELA_VAR_DIR": str(tmp_path)}
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsela.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            time.sleep(0.1)
        answer: dict[str, httpx.Response] = {}

        def import_big() -> None:
            answer["import"] = httpx.post(
                f"{base}/v1/watchlists/big/import",
                files={"file": ("big.csv", big.encode(), "text/csv")},
                headers=tokens[Role.SUPERVISOR],
                timeout=600,
            )

        importer = threading.Thread(target=import_big)
        importer.start()
        # Wait until the import is writing: its rows become visible to a counting reader.
        with session_factory(engine)() as s:
            while importer.is_alive():
                if (s.scalar(select(func.count()).select_from(WatchlistEntry)) or 0) > 8:
                    break
                s.rollback()
                time.sleep(0.05)
        assert importer.is_alive(), "the import's rows appeared only once it had finished"
        health = httpx.get(f"{base}/health", timeout=60)
        screened = httpx.post(
            f"{base}/v1/screen",
            json={"names": [WANTED[3]]},
            headers=tokens[Role.BORDER_OFFICER],
            timeout=60,
        )
        checked = httpx.post(
            f"{base}/v1/checks",
            json={"port": "MSU", "direction": "entry", "mrz": mrz},
            headers=tokens[Role.BORDER_OFFICER],
            timeout=60,
        )
        still_importing = importer.is_alive()
        importer.join(600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        engine.dispose()
    assert health.status_code == 200
    assert screened.status_code == 200, screened.text
    assert [h["names"][0] for h in screened.json()["hits"]] == [WANTED[3]]  # the old version
    assert checked.status_code == 201, checked.text
    assert still_importing, "a border check had to wait for the whole import"
    assert answer["import"].status_code == 200, answer["import"].text
    assert answer["import"].json()["loaded"] == 120_000


def test_a_list_published_by_another_import_meanwhile_is_replaced_whole(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_pause = versions.pause
    done: list[bool] = []

    def other_import_meanwhile(e: Engine) -> None:
        if not done:
            done.append(True)
            load(e, wanted_csv(WANTED[:3]), list_name="new-list")
        real_pause(e)

    monkeypatch.setattr(versions, "pause", other_import_meanwhile)
    report = load(engine, wanted_csv(WANTED[3:6]), list_name="new-list")
    assert (report.version, report.replaced) == (2, 3)
    assert [(w.name, w.version, w.entries) for w in list_watchlists(engine)] == [("new-list", 2, 3)]
    assert entries(engine) == sorted(WANTED[3:6])
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Watchlist)) == 1
