"""The permit desk in the browser (issue 21): issued permits stay on the desk (search with
paging, the 30/60/90-day lists), suspend, reinstate, revoke (confirmed first), reject
(confirmed first), renew, extend and end an employment; refusals in words, in English and
Sesotho; empty evidence refused. The employer's side: expiring permits with a CSV, ending
an employment, the status column on a phone (TestClient, on SQLite and PostgreSQL).

The app's clock stands at ``NOW``: "today" is the server's today, never the day the tests run.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from tsela.api.app import create_app
from tsela.config import Settings
from tsela.kernel.actor import Actor
from tsela.kernel.clock import FixedClock, border_day
from tsela.services import permits as svc
from tsela.services.keys import KeyStore
from tsela.store.db import session_factory, transaction
from tsela.store.models import AuditEvent, Permit, Role
from tsela.store.permits import Employment
from web_support import add_employer, csrf_of, use_fast_password_hashing

PASSWORD = "correct horse 1"
NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)
TODAY = border_day(NOW)
OFFICE = Actor("setup", Role.PERMIT_OFFICER, "LS")


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture
def app(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False), node="LS", var_dir=tmp_path
    )
    return create_app(settings, engine, FixedClock(NOW))


def browser(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    page = client.get("/login")
    signed = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    return client


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={"csrf_token": csrf_of(page.text), **data})


def seasonal(
    engine: Engine,
    tmp_path: Path,
    employer_id: uuid.UUID,
    surname: str,
    number: str,
    *,
    issue: bool = True,
    ends_in: int | None = None,
    at: datetime = NOW,
) -> uuid.UUID:
    """A seasonal work permit for ``employer_id`` (submitted, or issued; ``ends_in``: its last
    day moved to that many days from today, as if issued long ago)."""
    with transaction(session_factory(engine)) as s:
        permit = svc.apply(
            s,
            OFFICE,
            type_code="SEASONAL",
            today=TODAY,
            applicant=svc.Applicant(
                surname=surname,
                given_names="LINEO",
                birth_date=date(1995, 3, 4),
                nationality="LSO",
                document_number=number,
                document_expiry=date(2031, 1, 1),
            ),
            employer=employer_id,
            country="ZAF",
            evidence=[
                svc.EvidenceItem("passport", number),
                svc.EvidenceItem("employment_contract", "C-1"),
            ],
            now=at,
        )
        svc.submit(s, OFFICE, permit.id, TODAY, at)
        if issue:
            svc.decide(s, OFFICE, permit.id, "approved", None, at)
            svc.issue(s, OFFICE, permit.id, KeyStore(tmp_path, "LS").signer(NOW), TODAY, at)
        pid = permit.id
    if ends_in is not None:
        with transaction(session_factory(engine)) as s:
            s.execute(
                update(Permit)
                .where(Permit.id == pid)
                .values(
                    valid_to=TODAY + timedelta(days=ends_in), valid_from=TODAY - timedelta(days=200)
                )
            )
    return pid


@pytest.fixture
def desk(app, make_user) -> TestClient:  # type: ignore[no-untyped-def]
    make_user(Role.PERMIT_OFFICER, username="desk")
    return browser(app, "desk")


@pytest.fixture
def employer_id(engine: Engine) -> uuid.UUID:
    return add_employer(engine)


def status_of(engine: Engine, pid: uuid.UUID) -> str:
    with session_factory(engine)() as s:
        return s.scalar(select(Permit.status).where(Permit.id == pid)) or ""


# --- 1. an issued permit's page: suspend, reinstate, revoke, renew, extend, end employment ----


def test_an_issued_permit_is_suspended_reinstated_and_revoked_after_a_confirmation(
    desk, engine, tmp_path, employer_id
) -> None:  # type: ignore[no-untyped-def]
    pid = seasonal(engine, tmp_path, employer_id, "MOKOENA", "RA1000001")
    page = desk.get(f"/desk/permits/{pid}")
    assert "Suspend" in page.text and "Revoke" in page.text

    suspended = post_form(desk, f"/desk/permits/{pid}", f"/desk/permits/{pid}/decide",
                          {"target": "suspended", "reason": "Absent from work."})  # fmt: skip
    assert "The decision is recorded." in suspended.text
    assert status_of(engine, pid) == "suspended"
    assert '<button type="submit" name="target" value="issued">Reinstate</button>' in suspended.text
    reinstated = post_form(desk, f"/desk/permits/{pid}", f"/desk/permits/{pid}/decide",
                           {"target": "issued", "reason": "Back at work."})  # fmt: skip
    assert "The decision is recorded." in reinstated.text
    assert status_of(engine, pid) == "issued"

    # Revoking asks first, and nothing changes until the officer says yes.
    asked = post_form(desk, f"/desk/permits/{pid}", f"/desk/permits/{pid}/decide",
                      {"target": "revoked", "reason": "False contract."})  # fmt: skip
    assert asked.status_code == 200
    assert "Revoke permit" in asked.text and "This is final: it cannot be undone." in asked.text
    assert 'name="confirmed" value="yes"' in asked.text and "False contract." in asked.text
    assert status_of(engine, pid) == "issued"
    done = desk.post(
        f"/desk/permits/{pid}/decide",
        data={"csrf_token": csrf_of(asked.text), "target": "revoked",
              "reason": "False contract.", "confirmed": "yes"},
    )  # fmt: skip
    assert "The decision is recorded." in done.text
    assert status_of(engine, pid) == "revoked"
    # Final: the page says so in words, never in internal states.
    again = post_form(desk, f"/desk/permits/{pid}", f"/desk/permits/{pid}/decide",
                      {"target": "suspended", "reason": "x"})  # fmt: skip
    assert again.status_code == 400
    assert "The decision on this permit is final" in again.text
    assert "-&gt;" not in again.text and "&#39;revoked&#39;" not in again.text


def test_rejecting_needs_a_reason_then_a_confirmation_in_sesotho_too(
    desk, engine, tmp_path, employer_id
) -> None:  # type: ignore[no-untyped-def]
    pid = seasonal(engine, tmp_path, employer_id, "MOKOENA", "RA1000002", issue=False)
    no_reason = post_form(desk, f"/desk/permits/{pid}?lang=st", f"/desk/permits/{pid}/decide",
                          {"target": "rejected", "reason": " "})  # fmt: skip
    assert no_reason.status_code == 400
    assert "Fana ka lebaka" in no_reason.text  # "Give a reason", in Sesotho
    assert "-&gt;" not in no_reason.text  # words, not internal states
    asked = post_form(desk, f"/desk/permits/{pid}", f"/desk/permits/{pid}/decide",
                      {"target": "rejected", "reason": "Contract not signed."})  # fmt: skip
    assert "Hana kopo" in asked.text  # "Reject application ...?", in Sesotho (the cookie)
    assert status_of(engine, pid) == "submitted"
    back = desk.get(f"/desk/permits/{pid}")
    assert back.status_code == 200
    post = desk.post(
        f"/desk/permits/{pid}/decide",
        data={"csrf_token": csrf_of(asked.text), "target": "rejected",
              "reason": "Contract not signed.", "confirmed": "yes"},
    )  # fmt: skip
    assert post.status_code == 200
    assert status_of(engine, pid) == "rejected"


def test_empty_evidence_is_refused_with_a_clear_message(
    desk, engine, tmp_path, employer_id
) -> None:  # type: ignore[no-untyped-def]
    pid = seasonal(engine, tmp_path, employer_id, "MOKOENA", "RA1000003", issue=False)
    empty = post_form(desk, f"/desk/permits/{pid}", f"/desk/permits/{pid}/evidence",
                      {"kind": "passport", "reference": "   "})  # fmt: skip
    assert empty.status_code == 400
    assert "Say what evidence was received: its document number or file name." in empty.text
    with session_factory(engine)() as s:
        assert s.scalar(select(Permit.status).where(Permit.id == pid)) == "submitted"


def test_renew_extend_and_end_employment_from_the_permit_page(
    desk, engine, tmp_path, employer_id
) -> None:  # type: ignore[no-untyped-def]
    early = seasonal(engine, tmp_path, employer_id, "MOKOENA", "RA1000004", ends_in=100)
    # Renewal opens 60 days before the end: refused in words, with the day it opens.
    refused = post_form(desk, f"/desk/permits/{early}", f"/desk/permits/{early}/renew", {})
    assert refused.status_code == 400
    opens = (TODAY + timedelta(days=40)).isoformat()
    assert f"Renewal opens 60 days before the permit ends: on {opens}" in refused.text

    due = seasonal(engine, tmp_path, employer_id, "NTSANE", "RA1000005", ends_in=20)
    renewed = post_form(desk, f"/desk/permits/{due}", f"/desk/permits/{due}/renew", {})
    assert "The renewal application is open" in renewed.text
    assert f"/desk/permits/{due}" not in str(renewed.url)  # the new application's page
    assert "RA1000005" in renewed.text  # the evidence carried over

    extended = post_form(desk, f"/desk/permits/{due}", f"/desk/permits/{due}/extend", {})
    assert "The permit is extended to the end of its programme" in extended.text
    with session_factory(engine)() as s:
        permit = s.get(Permit, due)
        assert permit is not None and permit.valid_to == TODAY - timedelta(days=200) + timedelta(
            days=269
        )
    twice = post_form(desk, f"/desk/permits/{due}", f"/desk/permits/{due}/extend", {})
    assert twice.status_code == 400
    assert "already runs to the end of its programme" in twice.text

    bad_day = post_form(desk, f"/desk/permits/{due}", f"/desk/permits/{due}/end-employment",
                        {"end_date": "31/05/2026", "reason": "Season over"})  # fmt: skip
    assert bad_day.status_code == 400 and "Give the date as year-month-day" in bad_day.text
    ended = post_form(desk, f"/desk/permits/{due}", f"/desk/permits/{due}/end-employment",
                      {"end_date": TODAY.isoformat(), "reason": "Season over"})  # fmt: skip
    assert "The end of the employment is recorded." in ended.text
    with session_factory(engine)() as s:
        job = s.scalars(select(Employment).where(Employment.permit_id == due)).one()
        assert job.end_date == TODAY and job.end_reason == "Season over"
    assert "End the employment" not in ended.text  # nothing left to end


# --- 2. search with paging, the queue oldest first, the 30/60/90-day lists -----------------


def test_search_by_number_name_and_status_with_paging(desk, engine, tmp_path, employer_id) -> None:  # type: ignore[no-untyped-def]
    issued = seasonal(engine, tmp_path, employer_id, "LETSIE", "RA2000001")
    for i in range(27):
        seasonal(engine, tmp_path, employer_id, f"MOHAPI{i:02d}", f"RB{i:07d}", issue=False)
    with session_factory(engine)() as s:
        number = s.scalar(select(Permit.number).where(Permit.id == issued))
    assert number

    def search(**fields: str):  # type: ignore[no-untyped-def]
        return post_form(desk, "/desk", "/desk/search", fields)

    by_name = search(q="letsie")
    assert "1 found." in by_name.text and f'href="/desk/permits/{issued}"' in by_name.text
    by_part = search(q=number[-9:].lower())
    assert f'href="/desk/permits/{issued}"' in by_part.text
    assert "1 found." in search(q="lineo  letsie").text  # given names first, spaces as typed

    first = search(q="mohapi", status="submitted")
    assert "27 found." in first.text and "Page 1 of 2" in first.text
    assert first.text.count('href="/desk/permits/') == 25
    assert 'name="page" value="2"' in first.text  # the next page is asked for by POST
    second = search(q="mohapi", status="submitted", page="2")
    assert second.text.count('href="/desk/permits/') == 2
    # A status alone is a code: it may go in a link, pages too.
    submitted = desk.get("/desk/search", params={"status": "submitted", "page": 2})
    assert "27 found." in submitted.text and submitted.text.count('href="/desk/permits/') == 2
    assert "1 found." in desk.get("/desk/search", params={"status": "issued"}).text
    odd = search(q="100%_", status="bogus", page="x")
    assert odd.status_code == 200 and "0 found." in odd.text
    with session_factory(engine)() as s:
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "permit.search"))


def test_the_queue_shows_the_longest_waiting_first_with_its_age(
    desk, engine, tmp_path, employer_id
) -> None:  # type: ignore[no-untyped-def]
    seasonal(engine, tmp_path, employer_id, "RECENT", "RA3000001", issue=False,
             at=NOW - timedelta(days=2))  # fmt: skip
    seasonal(engine, tmp_path, employer_id, "OLDEST", "RA3000002", issue=False,
             at=NOW - timedelta(days=9))  # fmt: skip
    queue = desk.get("/desk").text
    assert queue.index("OLDEST") < queue.index("RECENT")
    assert '<td class="age">9</td>' in queue and '<td class="age">2</td>' in queue
    assert "Days waiting" in queue


def test_expiring_lists_of_30_60_and_90_days(desk, engine, tmp_path, employer_id) -> None:  # type: ignore[no-untyped-def]
    seasonal(engine, tmp_path, employer_id, "SOON", "RA4000001", ends_in=10)
    seasonal(engine, tmp_path, employer_id, "LATER", "RA4000002", ends_in=50)
    seasonal(engine, tmp_path, employer_id, "LATEST", "RA4000003", ends_in=80)
    thirty = desk.get("/desk/expiring?within=30").text
    assert "SOON" in thirty and "LATER" not in thirty
    sixty = desk.get("/desk/expiring?within=60").text
    assert "SOON" in sixty and "LATER" in sixty and "LATEST" not in sixty
    ninety = desk.get("/desk/expiring?within=90&lang=st").text
    assert "LATEST" in ninety and 'lang="st"' in ninety
    assert 'href="/desk/expiring?within=90"' in desk.get("/desk").text


# --- 3. the employer: expiring permits with a CSV, ending an employment, a phone ------------


@pytest.fixture
def boss(app, make_user, employer_id) -> TestClient:  # type: ignore[no-untyped-def]
    make_user(Role.EMPLOYER, username="orchard", employer_id=employer_id)
    return browser(app, "orchard")


def test_employer_sees_expiring_permits_and_downloads_them(
    boss, engine, tmp_path, employer_id
) -> None:  # type: ignore[no-untyped-def]
    seasonal(engine, tmp_path, employer_id, "SOON", "RA5000001", ends_in=10)
    seasonal(engine, tmp_path, employer_id, "LATER", "RA5000002", ends_in=75)
    other = add_employer(engine, name="Other Farm", reg="2020/654321/07")
    seasonal(engine, tmp_path, other, "ELSEWHERE", "RA5000003", ends_in=5)

    assert 'href="/employer/expiring"' in boss.get("/employer").text
    ninety = boss.get("/employer/expiring").text  # 90 days unless asked
    assert "SOON" in ninety and "LATER" in ninety and "ELSEWHERE" not in ninety
    thirty = boss.get("/employer/expiring?within=30").text
    assert "SOON" in thirty and "LATER" not in thirty
    sheet = boss.get("/employer/expiring.csv?within=90")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    assert "attachment" in sheet.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert [(r["holder"], r["days_left"], r["band"]) for r in rows] == [
        ("SOON, LINEO", "10", "30"),
        ("LATER, LINEO", "75", "90"),
    ]


def test_employer_ends_an_employment_and_cannot_touch_another_employers_permit(
    boss, engine, tmp_path, employer_id
) -> None:  # type: ignore[no-untyped-def]
    pid = seasonal(engine, tmp_path, employer_id, "MOKOENA", "RA6000001")
    home = boss.get("/employer").text
    assert f'href="/employer/permits/{pid}"' in home
    end = f"/employer/permits/{pid}/end-employment"
    no_reason = post_form(boss, f"/employer/permits/{pid}", end,
                          {"end_date": TODAY.isoformat(), "reason": ""})  # fmt: skip
    assert no_reason.status_code == 400
    assert "Give the reason the employment ended." in no_reason.text
    ended = post_form(boss, f"/employer/permits/{pid}", end,
                      {"end_date": TODAY.isoformat(), "reason": "Season over"})  # fmt: skip
    assert "The end of the employment is recorded." in ended.text
    with session_factory(engine)() as s:
        job = s.scalars(select(Employment).where(Employment.permit_id == pid)).one()
        assert (job.end_date, job.reported_by) == (TODAY, "orchard")

    other = add_employer(engine, name="Other Farm", reg="2020/654321/07")
    theirs = seasonal(engine, tmp_path, other, "ELSEWHERE", "RA6000002")
    assert boss.get(f"/employer/permits/{theirs}").status_code == 404
    page = boss.get(f"/employer/permits/{pid}")
    refused = boss.post(
        f"/employer/permits/{theirs}/end-employment",
        data={"csrf_token": csrf_of(page.text), "end_date": TODAY.isoformat(), "reason": "x"},
    )
    assert refused.status_code == 404 and "ELSEWHERE" not in refused.text
    with session_factory(engine)() as s:
        job = s.scalars(select(Employment).where(Employment.permit_id == theirs)).one()
        assert job.end_date is None


def test_the_status_column_comes_first_after_the_name_on_a_phone(
    boss, engine, tmp_path, employer_id
) -> None:  # type: ignore[no-untyped-def]
    seasonal(engine, tmp_path, employer_id, "MOKOENA", "RA7000001")
    html = boss.get("/employer").text
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert head.index(">Holder<") < head.index(">Status<") < head.index(">Permit number<")
    assert 'class="wide-only"' in head  # the permit type gives way on a narrow screen
    css = boss.get("/static/tsela.css").text
    assert ".wide-only { display: none; }" in css
