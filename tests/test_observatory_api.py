"""The observatory over HTTP: indicator API roles and answers, the dashboard page, reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from _observatory import trip, write_copy
from tsela.config import Settings
from web_support import csrf_of

# The observatory reads Parquet, not the database: one back end (for sign-in) is enough,
# except where marked.
SQLITE_ONLY = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    rows = []
    for i in range(12):
        rows += trip(f"p{i}", f"2025-03-{i + 1:02d} 08:00", f"2025-03-{i + 1:02d} 17:00")
    rows += trip("q", "2025-04-02 08:00", "2025-04-03 17:00", port="FKB")
    write_copy(tmp_path / "parquet", rows)
    return tmp_path


@pytest.fixture
def obs_client(engine: Engine, var_dir: Path) -> Iterator[TestClient]:
    from tsela.api.app import create_app

    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False), node="LS", var_dir=var_dir
    )
    with TestClient(create_app(settings, engine)) as c:
        yield c


def test_indicator_list_and_values_for_analysts(obs_client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    headers = auth_headers("analyst")
    listed = obs_client.get("/v1/indicators", headers=headers)
    assert listed.status_code == 200
    ids = {i["id"] for i in listed.json()}
    assert {"crossings.monthly", "stays.overstays", "busy.hours"} <= ids
    got = obs_client.get(
        "/v1/indicators/crossings.monthly",
        params={"from": "2025-03", "to": "2025-03", "port": "MSU"},
        headers=headers,
    )
    assert got.status_code == 200
    body = got.json()
    assert body["ports"] == ["MSU"]
    assert sum(r["crossings"] for r in body["rows"]) == 48  # 12 day trips, 4 records each
    overstay = obs_client.get(
        "/v1/indicators/stays.overstays",
        params={"from": "2025-03", "to": "2025-03", "limit_days": "1"},
        headers=headers,
    )
    assert overstay.status_code == 200
    assert overstay.json()["params"] == {"country": "ZAF", "limit_days": 1}


@SQLITE_ONLY
@pytest.mark.parametrize("role", ["supervisor", "admin", "secretariat"])
def test_other_reading_roles(obs_client: TestClient, auth_headers, role: str) -> None:  # type: ignore[no-untyped-def]
    assert obs_client.get("/v1/indicators", headers=auth_headers(role)).status_code == 200


@SQLITE_ONLY
def test_strangers_and_other_roles_are_refused(obs_client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    assert obs_client.get("/v1/indicators").status_code == 401
    assert obs_client.get("/v1/indicators/flows.net").status_code == 401
    officer = auth_headers("border_officer")
    assert obs_client.get("/v1/indicators/flows.net", headers=officer).status_code == 403


@SQLITE_ONLY
def test_bad_input_answers(obs_client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    headers = auth_headers("analyst")
    unknown = obs_client.get("/v1/indicators/flows.gross", headers=headers)
    assert unknown.status_code == 404 and "known indicators are" in unknown.json()["detail"]
    port = obs_client.get("/v1/indicators/flows.net", params={"port": "XYZ"}, headers=headers)
    assert port.status_code == 422
    assert "unknown port 'XYZ'" in port.json()["detail"] and "MSU" in port.json()["detail"]
    empty = obs_client.get(
        "/v1/indicators/flows.net", params={"from": "2024-01", "to": "2024-01"}, headers=headers
    )
    assert empty.status_code == 404
    assert "2025-03..2025-04" in empty.json()["detail"]
    param = obs_client.get("/v1/indicators/busy.days", params={"top": "lots"}, headers=headers)
    assert param.status_code == 422 and "top must be a whole number" in param.json()["detail"]


@SQLITE_ONLY
def test_no_analytics_copy_is_unavailable(client: TestClient, auth_headers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client.app.state.settings = Settings(  # type: ignore[attr-defined]
        database_url="sqlite://", node="LS", var_dir=tmp_path / "empty"
    )
    got = client.get("/v1/indicators/flows.net", headers=auth_headers("analyst"))
    assert got.status_code == 503 and "tsela export parquet" in got.json()["detail"]


def _login(client: TestClient, make_user, role: str) -> None:  # type: ignore[no-untyped-def]
    user = make_user(role, password="correct horse 1")
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={
            "username": user.username,
            "password": "correct horse 1",
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text


@SQLITE_ONLY
def test_dashboard_shows_charts_for_a_period_and_port(obs_client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    _login(obs_client, make_user, "analyst")
    page = obs_client.get("/observatory", params={"from": "2025-03", "to": "2025-04"})
    assert page.status_code == 200
    html = page.text
    assert "Migration observatory" in html
    assert html.count("data:image/svg+xml;base64,") >= 4
    assert "Entries per day" in html  # a short period gets the daily chart
    assert "52" in html  # 13 trips, 4 records each
    one_port = obs_client.get("/observatory", params={"port": "FKB"})
    assert one_port.status_code == 200
    assert 'value="FKB" selected' in one_port.text


@SQLITE_ONLY
def test_dashboard_bad_input_is_explained(obs_client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    _login(obs_client, make_user, "analyst")
    bad_port = obs_client.get("/observatory", params={"port": "XYZ"})
    assert bad_port.status_code == 422
    assert "unknown port" in bad_port.text and "MSU" in bad_port.text
    empty = obs_client.get("/observatory", params={"from": "2024-01", "to": "2024-02"})
    assert empty.status_code == 200
    assert "no crossings in 2024-01-01..2024-02-29" in empty.text
    assert "data:image/svg+xml" not in empty.text


@SQLITE_ONLY
def test_dashboard_sends_strangers_to_sign_in(obs_client: TestClient) -> None:
    page = obs_client.get("/observatory", follow_redirects=False)
    assert page.status_code == 303 and "/login" in page.headers["location"]


@SQLITE_ONLY
def test_report_download(obs_client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    _login(obs_client, make_user, "secretariat")
    csv_file = obs_client.get("/observatory/report", params={"month": "2025-03", "format": "csv"})
    assert csv_file.status_code == 200
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert "crossings,Crossings recorded,,crossings.monthly,2025-03,48," in csv_file.text
    missing = obs_client.get("/observatory/report", params={"month": "2024-03", "format": "csv"})
    assert missing.status_code == 404 and "no crossings in 2024-03" in missing.text


@SQLITE_ONLY
def test_dashboard_defaults_to_complete_months(obs_client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from tsela.kernel.clock import FixedClock

    _login(obs_client, make_user, "analyst")
    app = obs_client.app
    # On 10 April 2025 April is in progress: the default period ends with March.
    app.state.clock = FixedClock(datetime(2025, 4, 10, 9, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    page = obs_client.get("/observatory")
    assert 'id="f-to" name="to" value="2025-03"' in page.text
    # Once April is over, it is shown.
    app.state.clock.set(datetime(2025, 5, 2, 9, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    page = obs_client.get("/observatory")
    assert 'id="f-to" name="to" value="2025-04"' in page.text


@SQLITE_ONLY
def test_standard_tables_over_http(obs_client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    headers = auth_headers("analyst")
    listed = obs_client.get("/v1/standard-tables", headers=headers)
    assert listed.status_code == 200
    first = listed.json()[0]
    assert first["id"] == "flows.port" and first["standards"][0]["code"] == "UN1998"
    march = obs_client.get("/v1/standard-tables/2025-03", params={"threshold": 3}, headers=headers)
    assert march.status_code == 200
    body = march.json()
    port = next(t for t in body["tables"] if t["id"] == "flows.port")
    assert port["columns"] == ["arrival", "departure"]
    assert port["cells"][-1] == [12, 12, 24]  # 12 day trips: into and out of South Africa
    sdg = next(t for t in body["tables"] if t["id"] == "sdg.10_7_1")
    assert sdg["status"] == "not_available" and sdg["cells"] == []
    assert "suppressed" in body["disclosure_control"]
    none = obs_client.get("/v1/standard-tables/2024-03", headers=headers)
    assert none.status_code == 404
    assert "no crossings in 2024-03" in none.json()["detail"]
    assert "2025-03..2025-04" in none.json()["detail"]
    bad = obs_client.get("/v1/standard-tables/2025-03", params={"country": "FRA"}, headers=headers)
    assert bad.status_code == 422 and "ZAF, LSO" in bad.json()["detail"]
    assert (
        obs_client.get(
            "/v1/standard-tables/2025-03", params={"threshold": 2}, headers=headers
        ).status_code
        == 422
    )
    assert obs_client.get("/v1/standard-tables/2025-03").status_code == 401


@SQLITE_ONLY
def test_standard_tables_page(obs_client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    _login(obs_client, make_user, "analyst")
    page = obs_client.get("/observatory/tables", params={"month": "2025-03"})
    assert page.status_code == 200
    html = page.text
    assert "Arrivals and departures by port" in html
    assert "UN Recommendations on Statistics of International Migration" in html
    assert "data:image/svg+xml;base64," in html  # the flows by port as a chart
    assert "not available yet: needs registered employment contracts" in html
    empty = obs_client.get("/observatory/tables", params={"month": "2024-03"})
    assert empty.status_code == 200
    assert "No standard tables for this month" in empty.text
    assert "no crossings in 2024-03" in empty.text
    bad = obs_client.get("/observatory/tables", params={"month": "March"})
    assert bad.status_code == 422 and "YYYY-MM" in bad.text
    sesotho = obs_client.get("/observatory/tables", params={"month": "2025-03", "lang": "st"})
    assert "Litafole tse tloaelehileng" in sesotho.text
