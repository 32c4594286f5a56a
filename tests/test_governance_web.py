"""The governance pages: a member reviews and updates their body's activities in a browser
session (CSRF-checked forms), others are refused, the public page shows only public items."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from _governance import SECRETARIAT, import_rows, load_bodies, plan_row
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain.governance import Status
from tsela.services import governance as g
from tsela.store.db import session_factory, transaction
from tsela.store.models import Role
from web_support import csrf_of, use_fast_password_hashing

PASSWORD = "correct horse 1"


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture
def app(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    load_bodies(engine)
    report = import_rows(
        engine,
        [
            plan_row("HOME-1", owner="LS-HOME", due="2026-03-31", public="yes"),
            plan_row("LAB-1", owner="LS-LABOUR", due="2099-03-31"),
        ],
    )
    assert report.errors == []
    settings = Settings(engine.url.render_as_string(hide_password=False), "LS", tmp_path)
    return create_app(settings, engine)


@pytest.fixture
def member(app, make_user, engine: Engine) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    make_user(Role.ANALYST, username="palesa", password=PASSWORD)
    with transaction(session_factory(engine)) as s:
        g.bind_member(s, SECRETARIAT, "LS", "palesa", "LS-LABOUR")
    with TestClient(app) as client:
        page = client.get("/login")
        client.post(
            "/login",
            data={"username": "palesa", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        yield client


def test_the_review_page_shows_late_items_owners_and_the_chart(member: TestClient) -> None:
    page = member.get("/governance?body=NCC")
    assert page.status_code == 200
    html = page.text
    late = html.split("<caption>Late (1)</caption>", 1)[1].split("</table>", 1)[0]
    assert "HOME-1" in late and "LS-HOME" in late and "days late" in late
    # The badge says it once ("216 days late"), not "late 216 days late".
    assert ">late<" not in late
    assert 'href="/v1/governance/report?body=NCC&amp;format=pdf"' in html
    encoded = html.split('src="data:image/svg+xml;base64,', 1)[1].split('"', 1)[0]
    svg = base64.b64decode(encoded).decode()
    assert svg.startswith("<svg") and "#c62828" in svg
    # Only the member's own activity is offered for updating.
    assert html.count("yours to update") == 1
    sesotho = member.get("/governance?body=NCC&lang=st")
    assert "Tlhahlobo pele ho seboka" in sesotho.text and "E liehile (1)" in sesotho.text


def test_a_member_reports_progress_through_the_form(member: TestClient, engine: Engine) -> None:
    page = member.get("/governance/activity/LAB-1")
    assert page.status_code == 200 and "Report progress" in page.text
    token = csrf_of(page.text)
    refused = member.post(
        "/governance/activity/LAB-1", data={"status": "done", "note": "", "csrf_token": token}
    )
    assert refused.status_code == 400
    assert "moving from not started to done needs a note" in refused.text
    ok = member.post(
        "/governance/activity/LAB-1",
        data={
            "status": "on_track",
            "note": "Consultations held in Leribe",
            "evidence": "https://example.org/minutes",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/governance/activity/LAB-1?done=1"
    after = member.get(ok.headers["location"])
    assert "Progress recorded." in after.text and "Consultations held in Leribe" in after.text
    with session_factory(engine)() as s:
        lab = g.activity_by_code(s, "LAB-1")
        assert lab.status is Status.ON_TRACK and [e.kind for e in lab.evidence] == ["link"]
    # Another body's activity: no form, and a forged post is refused.
    other = member.get("/governance/activity/HOME-1")
    assert other.status_code == 200 and "Report progress" not in other.text
    forged = member.post(
        "/governance/activity/HOME-1",
        data={"status": "done", "note": "x", "csrf_token": token},
    )
    assert forged.status_code == 403 and "belongs to LS-HOME" in forged.text
    missing_token = member.post("/governance/activity/LAB-1", data={"note": "no token"})
    assert missing_token.status_code == 403
    with session_factory(engine)() as s:
        assert g.activity_by_code(s, "HOME-1").status is Status.NOT_STARTED


def test_staff_outside_a_body_are_refused_and_the_public_page_is_open(  # type: ignore[no-untyped-def]
    app, make_user
) -> None:
    make_user(Role.ANALYST, username="thabo", password=PASSWORD)
    with TestClient(app) as client:
        public = client.get("/governance/public")
        assert public.status_code == 200
        assert "Activity HOME-1" in public.text and "Activity LAB-1" not in public.text
        stranger = client.get("/governance", follow_redirects=False)
        assert stranger.status_code == 303 and stranger.headers["location"].startswith("/login")
        page = client.get("/login")
        client.post(
            "/login",
            data={"username": "thabo", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        refused = client.get("/governance")
        assert refused.status_code == 403
        assert "You do not speak for any governance body." in refused.text
        # ...so no page offers them a link there; their other pages still are.
        observatory = client.get("/observatory")
        assert 'href="/observatory"' in observatory.text
        assert 'href="/governance"' not in observatory.text


def test_a_member_is_offered_the_governance_link(member: TestClient) -> None:
    home = member.get("/observatory")
    assert 'href="/governance"' in home.text
