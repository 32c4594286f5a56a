"""Screening through the command line and the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tsela.cli.main import app
from tsela.services.screening import import_watchlist
from tsela.store.db import make_engine, migrate
from tsela.store.watchlists import WatchlistCategory

LIST = (
    "name,aliases,birth_date,nationality\n"
    "Lineo Mokoena,,1985-03-14,LSO\n"
    "Tšepo Moshoeshoe,,1990,LSO\n"
)


# -- command line (its own SQLite file: the CLI reads TSELA_DATABASE_URL) -------------------


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate(engine)
    monkeypatch.setenv("TSELA_DATABASE_URL", url)
    yield engine
    engine.dispose()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_import_list_and_screen(cli_db: Engine, tmp_path: Path) -> None:
    f = tmp_path / "wanted.csv"
    f.write_text(LIST.replace("name,", "Full Name,", 1) + "Bad,,1985-99-01,\n", encoding="utf-8")
    code, out, err = run(
        "watchlist",
        "import",
        str(f),
        "--list",
        "wanted",
        "--category",
        "wanted",
        "--map",
        "Full Name=name",
        "--confirm-shrink",  # one bad row in three
    )
    assert code == 0, err
    assert "list wanted version 1: 2 person entries loaded" in out
    assert f"{f}:4: birth date 1985-99-01: month 99 is not 1-12" in err.replace("\n", "")

    code, out, _ = run("watchlist", "list", "--json")
    (summary,) = json.loads(out)
    assert (summary["name"], summary["version"], summary["entries"]) == ("wanted", 1, 2)

    code, out, _ = run("screen", "Tshepo", "Moshweshwe", "--dob", "1990-06-01", "--json")
    assert code == 1  # hits found
    (hit,) = json.loads(out)
    assert hit["names"] == ["Tšepo Moshoeshoe"]
    assert hit["features"]["birth_date"] == "year_agrees"

    code, out, _ = run("screen", "Grace Smith")
    assert (code, out.strip()) == (0, "no hit")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["screen", "x" * 300], "limit is 200"),
        (["screen", "Thabo Mokoena", "--dob", "1985-02-30"], "day is out of range"),
        (["screen", "Thabo Mokoena", "--nationality", "Lesotho"], "nationality 'Lesotho'"),
        (["watchlist", "import", "/nonexistent.csv", "--list", "x"], "no such file"),
        (["watchlist", "import", "-", "--list", "x", "--format", "xml"], "unknown format 'xml'"),
        (["watchlist", "import", "-", "--list", "x", "--map", "oops"], "is not COLUMN=FIELD"),
        (["watchlist", "import", "-", "--list", "x", "--category", "bad"], "--category 'bad'"),
    ],
)
def test_cli_bad_input_is_one_clear_line(cli_db: Engine, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args, input="name\nLineo Mokoena\n")
    assert result.exit_code == 2
    assert message in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr


def test_cli_malformed_file_changes_nothing(cli_db: Engine, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("name\nLineo Mokoena\n", encoding="utf-8")
    assert run("watchlist", "import", str(good), "--list", "w")[0] == 0
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\x00\xff" * 100)
    code, _, err = run("watchlist", "import", str(bad), "--list", "w", "--format", "ftm")
    assert code == 2
    assert "not UTF-8" in err
    code, out, _ = run("watchlist", "list", "--json")
    assert json.loads(out)[0]["version"] == 1


# -- HTTP API ------------------------------------------------------------------------------


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    import_watchlist(
        engine,
        list_name="wanted",
        data=LIST,
        fmt="csv",
        actor="setup",
        node="LS",
        category=WatchlistCategory.WANTED,
    )
    return engine


def test_api_screen_returns_hits_with_reasons(
    client, auth_headers: Callable, loaded: Engine
) -> None:  # type: ignore[no-untyped-def,type-arg]
    r = client.post(
        "/v1/screen",
        json={"names": ["Dineo Mokoena"], "birth_date": "1985-03-14", "nationality": "LSO"},
        headers=auth_headers("border_officer"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    (hit,) = body["hits"]
    assert hit["names"] == ["Lineo Mokoena"]
    assert hit["category"] == "wanted"
    assert hit["score"] == 1.0
    assert hit["features"]["nationality"] == "match"
    assert any("Sesotho orthography" in line for line in hit["explanation"])


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"names": ["x" * 201]}, 422, "limit is 200"),
        ({"names": []}, 422, "at least 1 item"),
        ({"names": ["   "]}, 422, "has no letters"),
        ({"names": ["Thabo Mokoena"], "birth_date": "1985-13-01"}, 422, "month 13"),
        ({"names": ["Thabo Mokoena"], "birth_date": "0001-01-01"}, 422, "outside 1880"),
        ({"names": ["Thabo Mokoena"], "nationality": "XYZ"}, 422, "nationality 'XYZ'"),
    ],
)
def test_api_bad_input_is_a_clear_422(
    client, auth_headers: Callable, body: dict, status: int, message: str
) -> None:  # type: ignore[no-untyped-def,type-arg]
    r = client.post("/v1/screen", json=body, headers=auth_headers("border_officer"))
    assert r.status_code == status
    assert message in json.dumps(r.json())


def test_api_a_50_megabyte_name_is_refused_and_service_goes_on(
    client, auth_headers: Callable, loaded: Engine
) -> None:  # type: ignore[no-untyped-def,type-arg]
    headers = auth_headers("border_officer")
    huge = json.dumps({"names": ["A" * (50 * 1024 * 1024)]})
    r = client.post(
        "/v1/screen", content=huge, headers=headers | {"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert "request body over" in r.json()["detail"]
    r = client.post("/v1/screen", json={"names": ["Lineo Mokoena"]}, headers=headers)
    assert r.status_code == 200
    assert len(r.json()["hits"]) == 1


def test_api_malformed_json_is_a_422(client, auth_headers: Callable) -> None:  # type: ignore[no-untyped-def,type-arg]
    r = client.post(
        "/v1/screen",
        content=b"{names: [",
        headers=auth_headers("supervisor") | {"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_api_roles(client, auth_headers: Callable) -> None:  # type: ignore[no-untyped-def,type-arg]
    body = {"names": ["Lineo Mokoena"]}
    assert client.post("/v1/screen", json=body).status_code == 401
    assert client.post("/v1/screen", json={}).status_code == 401  # who before what
    assert client.post("/v1/screen", json=body, headers=auth_headers("analyst")).status_code == 403
    files = {"file": ("w.csv", b"name\nLineo Mokoena\n", "text/csv")}
    r = client.post("/v1/watchlists/w/import", files=files, headers=auth_headers("border_officer"))
    assert r.status_code == 403


def test_api_import_replaces_a_list_and_reports_bad_lines(client, auth_headers: Callable) -> None:  # type: ignore[no-untyped-def,type-arg]
    headers = auth_headers("supervisor")
    files = {
        "file": (
            "w.csv",
            b"Nom,birth_date\nLineo Mokoena,1985-03-14\nX,1985-02-30\n",
            "text/csv",
        )
    }
    r = client.post(
        "/v1/watchlists/wanted/import",
        files=files,
        data={"category": "wanted", "mapping": ["Nom=name"], "confirm": "true"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["version"], body["loaded"], body["error_count"]) == (1, 1, 1)
    assert body["errors"] == [
        {"line": 3, "message": "birth date 1985-02-30: day is out of range for month"}
    ]

    files = {"file": ("w.csv", b"Nom\n", "text/csv")}
    r = client.post(
        "/v1/watchlists/wanted/import", files=files, data={"mapping": ["Nom=name"]}, headers=headers
    )
    assert r.status_code == 422
    assert "no valid rows" in r.json()["detail"]["message"]

    r = client.get("/v1/watchlists", headers=headers)
    assert [(w["name"], w["version"], w["entries"]) for w in r.json()] == [("wanted", 1, 1)]


def test_api_document_alert(client, auth_headers: Callable) -> None:  # type: ignore[no-untyped-def,type-arg]
    headers = auth_headers("admin")
    files = {"file": ("d.csv", b"issuing_state,number,status\nLSO,RA1234567,stolen\n", "text/csv")}
    r = client.post(
        "/v1/watchlists/sltd/import", files=files, data={"kind": "document"}, headers=headers
    )
    assert r.status_code == 200, r.text
    r = client.get("/v1/watchlists/documents/LSO/ra1234567", headers=auth_headers("border_officer"))
    assert [a["status"] for a in r.json()["alerts"]] == ["stolen"]
    r = client.get("/v1/watchlists/documents/LSO/RA7654321", headers=headers)
    assert r.json()["alerts"] == []


def test_cli_without_a_database_says_to_run_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TSELA_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    code, _, err = run("screen", "Thabo", "Mokoena")
    assert code == 2
    assert "run `tsela init` first" in err
