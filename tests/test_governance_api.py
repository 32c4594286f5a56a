"""Who may do what over HTTP: secretariat edits, members update their own, the public sees
what is marked public. On both back ends."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select

from _governance import NOW, SECRETARIAT, import_rows, load_bodies, plan_csv, plan_row
from tsela.domain.governance import Status
from tsela.services import governance as g
from tsela.store.db import session_factory, transaction
from tsela.store.models import AuditEvent, Role


@pytest.fixture
def plan(engine: Engine) -> Engine:
    load_bodies(engine)
    report = import_rows(
        engine,
        [
            plan_row("HOME-1", owner="LS-HOME", due="2026-03-31", public="yes"),
            plan_row("LAB-1", owner="LS-LABOUR", due="2099-03-31"),
            plan_row("SECR-1", owner="NCC-SECR", due="2099-03-31"),
        ],
    )
    assert report.errors == []
    with transaction(session_factory(engine)) as s:
        g.report_progress(
            s,
            SECRETARIAT,
            "LS",
            g.ProgressUpdate("HOME-1", Status.AT_RISK, "internal: the minister is unhappy"),
            NOW,
        )
    return engine


def bind(engine: Engine, username: str, body: str) -> None:
    with transaction(session_factory(engine)) as s:
        g.bind_member(s, SECRETARIAT, "LS", username, body)


def test_a_member_updates_their_own_bodys_activities_only(client, auth_headers, plan) -> None:  # type: ignore[no-untyped-def]
    labour = auth_headers(Role.ANALYST, username="palesa")
    bind(plan, "palesa", "LS-LABOUR")
    listed = client.get("/v1/governance/activities", headers=labour)
    assert listed.status_code == 200
    assert {a["code"] for a in listed.json()} == {"HOME-1", "LAB-1", "SECR-1"}
    ok = client.post(
        "/v1/governance/activities/LAB-1/progress",
        json={"status": "on_track", "note": "Consultations held", "evidence": [
            {"location": "https://example.org/report", "description": "report"}]},
        headers=labour,
    )  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "on_track"
    assert ok.json()["evidence"] == [
        {"kind": "link", "location": "https://example.org/report", "description": "report"}
    ]
    other = client.post(
        "/v1/governance/activities/HOME-1/progress",
        json={"status": "done", "note": "finished"},
        headers=labour,
    )
    assert other.status_code == 403
    assert "belongs to LS-HOME" in other.json()["detail"]
    # Re-planning is for the secretariat, whatever body one speaks for.
    assert (
        client.patch(
            "/v1/governance/activities/LAB-1", json={"title": "x"}, headers=labour
        ).status_code
        == 403
    )
    with session_factory(plan)() as s:
        assert g.activity_by_code(s, "HOME-1").status is Status.AT_RISK
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "governance.activity.progress")
        ).all()[-1]
    assert event.actor == "palesa" and event.detail["code"] == "LAB-1"


def test_a_committee_member_speaks_for_the_bodies_under_it(client, auth_headers, plan) -> None:  # type: ignore[no-untyped-def]
    ncc = auth_headers(Role.SUPERVISOR, username="mpho")
    bind(plan, "mpho", "NCC")
    resp = client.post(
        "/v1/governance/activities/SECR-1/progress", json={"note": "agenda drafted"}, headers=ncc
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["notes"][-1]["text"] == "agenda drafted"


def test_staff_outside_any_body_and_the_public(client, auth_headers, plan) -> None:  # type: ignore[no-untyped-def]
    unbound = auth_headers(Role.ANALYST)
    denied = client.get("/v1/governance/activities", headers=unbound)
    assert denied.status_code == 403
    assert "not a member of any governance body" in denied.json()["detail"]
    assert (
        client.get("/v1/governance/activities", headers=auth_headers(Role.WORKER)).status_code
        == 403
    )
    assert client.get("/v1/governance/activities").status_code == 401
    public = client.get("/v1/governance/public")
    assert public.status_code == 200
    body = public.json()
    assert [a["code"] for a in body["activities"]] == ["HOME-1"]
    assert "internal" not in public.text and "notes" not in body["activities"][0]
    assert body["instruments"] == [] and body["objectives"] == []


def test_the_secretariat_edits_publishes_and_imports(client, auth_headers, plan) -> None:  # type: ignore[no-untyped-def]
    sec = auth_headers(Role.SECRETARIAT)
    made = client.post(
        "/v1/governance/activities",
        json=plan_row("NEW-1", owner="ZA-DHA", start="2026-12-01", due="2027-01-31"),
        headers=sec,
    )
    assert made.status_code == 201, made.text
    assert made.json()["owner"] == "ZA-DHA"
    bad = client.post(
        "/v1/governance/activities", json=plan_row("NEW-2", owner="ZA-NOBODY"), headers=sec
    )
    assert bad.status_code == 422 and "owner 'ZA-NOBODY' does not exist" in bad.json()["detail"]
    cycle = client.patch(
        "/v1/governance/activities/HOME-1", json={"depends_on": ["HOME-1"]}, headers=sec
    )
    assert cycle.status_code == 422 and "cannot depend on itself" in cycle.json()["detail"]
    moved = client.patch(
        "/v1/governance/activities/HOME-1",
        json={"due_date": "2026-12-31", "note": "new budget year"},
        headers=sec,
    )
    assert moved.status_code == 200 and moved.json()["due_date"] == "2026-12-31"
    assert (
        client.patch("/v1/governance/activities/NOPE", json={"title": "x"}, headers=sec).status_code
        == 404
    )
    pub = client.post(
        "/v1/governance/publish", json={"kind": "instrument", "code": "NCC-SP"}, headers=sec
    )
    assert pub.status_code == 200
    assert [i["code"] for i in client.get("/v1/governance/public").json()["instruments"]] == [
        "NCC-SP"
    ]
    upload = plan_csv([plan_row("UP-1"), plan_row("UP-2", start="2026-02-01", due="2026-01-01")])
    imported = client.post(
        "/v1/governance/import",
        files={"file": ("plan.csv", upload.encode(), "text/csv")},
        headers=sec,
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == ["UP-1"]
    assert imported.json()["errors"][0]["line"] == 3


def test_session_notes_over_http_are_all_or_nothing(client, auth_headers, plan) -> None:  # type: ignore[no-untyped-def]
    sec = auth_headers(Role.SECRETARIAT)
    client.post(
        "/v1/governance/meetings",
        json={"body": "NCC", "held_on": "2026-11-20", "place": "Maseru"},
        headers=sec,
    ).raise_for_status()
    payload = {
        "body": "NCC",
        "meeting_date": "2026-11-20",
        "notes": [
            {"activity": "LAB-1", "status": "done", "note": "closed"},
            {"activity": "SECR-1", "status": "dropped"},
        ],
    }
    refused = client.post("/v1/governance/session-notes", json=payload, headers=sec)
    assert refused.status_code == 422
    assert refused.json()["detail"]["errors"] == [
        {
            "line": 2,
            "message": "activity SECR-1: moving from not started to dropped needs a note "
            "saying why",
        }
    ]
    with session_factory(plan)() as s:
        assert g.activity_by_code(s, "LAB-1").status is Status.NOT_STARTED
    payload["notes"][1]["note"] = "merged into LAB-1"  # type: ignore[index]
    done = client.post("/v1/governance/session-notes", json=payload, headers=sec)
    assert done.status_code == 200 and done.json()["updated"] == ["LAB-1", "SECR-1"]
    with session_factory(plan)() as s:
        lab = g.activity_by_code(s, "LAB-1")
        assert (lab.status, lab.closed_on) == (Status.DONE, date(2026, 11, 20))


def test_review_and_report_over_http(client, auth_headers, plan) -> None:  # type: ignore[no-untyped-def]
    reader = auth_headers(Role.ANALYST, username="lineo")
    bind(plan, "lineo", "LS-BOS")
    review = client.get("/v1/governance/review", params={"body": "NCC"}, headers=reader)
    assert review.status_code == 200, review.text
    data = review.json()
    assert [i["code"] for i in data["late"]] == ["HOME-1"]  # due 31 March 2026, at risk
    assert data["late"][0]["owner"] == "LS-HOME" and data["late"][0]["days_late"] > 0
    assert data["counts"]["late"] == 1
    html = client.get("/v1/governance/report", params={"body": "NCC"}, headers=reader)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<svg" in html.text and "HOME-1" in html.text
    pdf = client.get(
        "/v1/governance/report", params={"body": "NCC", "format": "pdf"}, headers=reader
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert (
        client.get("/v1/governance/review", params={"body": "XYZ"}, headers=reader).status_code
        == 404
    )
