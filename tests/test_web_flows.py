"""The pages doing their work: permit desk, worker and employer portals, public verify,
officer console and supervisor review (TestClient, on SQLite and PostgreSQL).

The app's clock stands at ``NOW`` (``create_app(clock=FixedClock(NOW))``): "today" in a test
is the server's today, and no test depends on the day it runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from factories import add_traveller, passport_lines
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain.values import Direction
from tsela.kernel.clock import FixedClock, border_day, day_start
from tsela.services import permit_qr
from tsela.store.checks import BorderCheck
from tsela.store.db import session_factory
from tsela.store.models import (
    AuditEvent,
    Crossing,
    Permit,
    PortOfEntry,
    Role,
    TravelDocument,
)
from web_support import add_employer, csrf_of, use_fast_password_hashing

PASSWORD = "correct horse 1"
NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)  # 10:00 at the border
TODAY = border_day(NOW)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture
def app(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=tmp_path,  # the node's signing keys go here
    )
    return create_app(settings, engine, FixedClock(NOW))


def browser(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    """A signed-in browser of its own (cookies are per client)."""
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
    return client.post(action, data={"csrf_token": csrf_of(page.text), **data})


@pytest.fixture
def worker_and_officer(app, engine, make_user) -> Iterator[tuple[TestClient, TestClient]]:  # type: ignore[no-untyped-def]
    person = add_traveller(engine, surname="MOLAPO", given="PALESA", number="RC1112223")[0].id
    make_user(Role.WORKER, username="palesa", person_id=person)
    make_user(Role.PERMIT_OFFICER, username="desk")
    yield browser(app, "palesa"), browser(app, "desk")


def apply_study(worker: TestClient, complete: bool = True):  # type: ignore[no-untyped-def]
    data = {"type_code": "STUDY", "country": "ZAF", "ev_passport": "RC1112223"}
    if complete:
        data |= {"ev_institution_registration": "NUL-2026-7", "ev_proof_of_funds": "bursary"}
    return post_form(worker, "/me/apply?type=STUDY", "/me/apply", data)


def permit_id_of(response) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r"/me/permits/([0-9a-f-]{36})", str(response.url))
    assert found, response.url
    return found.group(1)


# --- permit desk and worker portal -----------------------------------------------------------


def test_worker_applies_officer_approves_and_issues_worker_sees_the_qr(
    worker_and_officer, engine
) -> None:  # type: ignore[no-untyped-def]
    worker, officer = worker_and_officer
    applied = apply_study(worker)
    assert "Your application has been sent." in applied.text
    permit_id = permit_id_of(applied)

    queue = officer.get("/desk")
    assert f'href="/desk/permits/{permit_id}"' in queue.text
    assert "MOLAPO, PALESA" in queue.text
    page = officer.get(f"/desk/permits/{permit_id}")
    assert "NUL-2026-7" in page.text  # the evidence reference the worker typed

    # Rejecting needs a reason: refused, and nothing changes.
    no_reason = post_form(
        officer, f"/desk/permits/{permit_id}", f"/desk/permits/{permit_id}/decide",
        {"target": "rejected", "reason": ""},
    )  # fmt: skip
    assert no_reason.status_code == 400
    assert "Give a reason: the applicant or holder will see it." in no_reason.text
    assert "&#39;submitted&#39; -&gt; &#39;rejected&#39;" not in no_reason.text  # words, not states
    with session_factory(engine)() as s:
        assert s.scalar(select(Permit.status)) == "submitted"

    approved = post_form(
        officer, f"/desk/permits/{permit_id}", f"/desk/permits/{permit_id}/decide",
        {"target": "approved", "reason": ""},
    )  # fmt: skip
    assert "The decision is recorded." in approved.text
    issued = post_form(
        officer, f"/desk/permits/{permit_id}", f"/desk/permits/{permit_id}/issue", {}
    )
    assert "The permit is issued and signed." in issued.text

    mine = worker.get(f"/me/permits/{permit_id}")
    assert "<svg" in mine.text  # the QR code, inline
    with session_factory(engine)() as s:
        token = s.scalar(select(Permit.token))
    assert token and token in mine.text  # the same credential, as text under the QR
    assert mine.text.count(">Status<") == 1  # said once, among the facts
    home = worker.get("/me")
    assert "days left on this permit" in home.text


def test_a_request_for_evidence_reaches_the_worker_who_answers_it(worker_and_officer) -> None:  # type: ignore[no-untyped-def]
    worker, officer = worker_and_officer
    permit_id = permit_id_of(apply_study(worker))
    post_form(
        officer, f"/desk/permits/{permit_id}", f"/desk/permits/{permit_id}/decide",
        {"target": "evidence_requested", "reason": "The bursary letter is not signed."},
    )  # fmt: skip
    page = worker.get(f"/me/permits/{permit_id}?lang=st")
    assert "Ho kopiloe bopaki" in page.text  # "Evidence requested", in Sesotho
    assert "The bursary letter is not signed." in page.text
    answered = post_form(
        worker, f"/me/permits/{permit_id}", f"/me/permits/{permit_id}/evidence",
        {"ev_proof_of_funds": "signed bursary letter"},
    )  # fmt: skip
    assert "Bopaki ba hao bo rometsoe ofising ea litumello." in answered.text
    assert "signed bursary letter" in officer.get(f"/desk/permits/{permit_id}").text


def test_an_incomplete_application_is_kept_as_a_draft(worker_and_officer) -> None:  # type: ignore[no-untyped-def]
    worker, officer = worker_and_officer
    draft = apply_study(worker, complete=False)
    assert "some evidence is still missing" in draft.text
    assert "/desk/permits/" not in officer.get("/desk").text  # nothing for the desk yet


def test_missing_evidence_is_said_in_the_readers_words_not_codes(worker_and_officer) -> None:  # type: ignore[no-untyped-def]
    worker, _officer = worker_and_officer
    draft = apply_study(worker, complete=False)
    where = f"/me/permits/{permit_id_of(draft)}"
    page = worker.get(f"{where}?lang=st").text
    notice = re.search(r"Ho sa ntse ho haella:([^<]*)<", page)
    assert notice, "the draft says what is missing"
    assert notice.group(1).strip() == "Ngoliso sekolong kapa univesithing, Bopaki ba chelete"
    # Sending it again with nothing added: the refusal is in Sesotho, with the evidence's words.
    sent = post_form(worker, f"{where}?lang=st", f"{where}/evidence", {})
    assert sent.status_code == 400
    assert "Kopo e ke ke ea romeloa: ho sa ntse ho haella" in sent.text
    assert "missing evidence" not in sent.text and "'institution_registration'" not in sent.text
    english = post_form(worker, f"{where}?lang=en", f"{where}/evidence", {}).text
    assert "The application cannot be sent: still missing" in english
    assert "Proof of funds" in english


def test_a_worker_cannot_open_another_workers_permit(
    app, worker_and_officer, engine, make_user
) -> None:  # type: ignore[no-untyped-def]
    worker, _officer = worker_and_officer
    permit_id = permit_id_of(apply_study(worker))
    other = add_traveller(engine, surname="SEEISO", given="TEBOHO", number="RD9998887")[0].id
    make_user(Role.WORKER, username="teboho", person_id=other)
    nosy = browser(app, "teboho")
    refused = nosy.get(f"/me/permits/{permit_id}")
    assert refused.status_code == 404
    assert "MOLAPO" not in refused.text


# --- verifying permits -----------------------------------------------------------------------


def issued_token(worker: TestClient, officer: TestClient, engine: Engine) -> tuple[str, str]:
    permit_id = permit_id_of(apply_study(worker))
    for action, data in (("decide", {"target": "approved", "reason": ""}), ("issue", {})):
        post_form(
            officer, f"/desk/permits/{permit_id}", f"/desk/permits/{permit_id}/{action}", data
        )
    with session_factory(engine)() as s:
        token = s.scalar(select(Permit.token))
    assert token
    return permit_id, token


def test_public_verify_says_valid_forged_revoked(app, worker_and_officer, engine) -> None:  # type: ignore[no-untyped-def]
    worker, officer = worker_and_officer
    permit_id, token = issued_token(worker, officer, engine)
    public = TestClient(app)
    valid = post_form(public, "/verify", "/verify", {"token": token})
    assert valid.status_code == 200
    assert "This permit is genuine and valid today." in valid.text
    assert "MOLAPO, PALESA" in valid.text
    # Change one character of the signed payload: the signature no longer matches.
    head, body, sig = token.split(".")
    flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    forged = post_form(public, "/verify", "/verify", {"token": f"{head}.{flipped}.{sig}"})
    assert "FORGED" in forged.text
    assert "This is not a genuine Tsela permit." in forged.text
    # A token cut short by a bad scan could not be read: that is not called a forgery.
    cut = post_form(public, "/verify", "/verify", {"token": token[:-12]})
    assert "COULD NOT BE READ" in cut.text and "FORGED" not in cut.text
    assert "It does not mean the permit is forged." in cut.text
    typo = post_form(
        public, "/verify", "/verify", {"token": f"{head}.{body[:30]}{body[31:]}.{sig}"}
    )
    assert "COULD NOT BE READ" in typo.text and "FORGED" not in typo.text
    post_form(
        officer, f"/desk/permits/{permit_id}", f"/desk/permits/{permit_id}/decide",
        {"target": "revoked", "reason": "Obtained with a false bursary letter.",
         "confirmed": "yes"},
    )  # fmt: skip
    revoked = post_form(public, "/verify", "/verify?lang=st", {"token": token})
    assert "E HLAKOTSOE" in revoked.text  # REVOKED, in Sesotho
    assert "Obtained with a false bursary letter." in revoked.text
    empty = post_form(public, "/verify", "/verify", {"token": "  "})
    assert empty.status_code == 400
    assert "Beha khoutu ea tumello" in empty.text  # the language chosen stays (cookie)


def test_a_mine_registers_a_worker_for_an_employment_permit(app, engine, make_user) -> None:  # type: ignore[no-untyped-def]
    """Not only farms employ: a mine is offered a permit for work in any sector."""
    employer_id = add_employer(engine, name="Letseng Diamonds", reg="2001/000111/07")
    make_user(Role.EMPLOYER, username="letseng", employer_id=employer_id)
    boss = browser(app, "letseng")
    offered = boss.get("/employer/workers/new?lang=st").text
    assert '<label for="type-WORK">Tumello ea mosebetsi</label>' in offered  # in Sesotho
    registered = post_form(
        boss,
        "/employer/workers/new?type=WORK&lang=en",
        "/employer/workers/new",
        {
            "type_code": "WORK", "surname": "Letsoela", "given_names": "Teboho",
            "birth_date": "1990-02-11", "sex": "M", "nationality": "LSO",
            "document_number": "RE7776665", "document_expiry": "2032-01-31", "country": "ZAF",
            "ev_passport": "RE7776665", "ev_employment_contract": "LD-2026-7",
        },
    )  # fmt: skip
    assert "The worker is registered and the application is sent." in registered.text
    assert "Employment permit" in registered.text


def test_employer_registers_a_worker_and_verifies_a_qr_image(
    app, worker_and_officer, engine, make_user
) -> None:  # type: ignore[no-untyped-def]
    worker, officer = worker_and_officer
    _permit_id, token = issued_token(worker, officer, engine)
    employer_id = add_employer(engine)
    make_user(Role.EMPLOYER, username="orchard", employer_id=employer_id)
    boss = browser(app, "orchard")
    registered = post_form(
        boss,
        "/employer/workers/new?type=SEASONAL",
        "/employer/workers/new",
        {
            "type_code": "SEASONAL",
            "surname": "Ramokhele",
            "given_names": "Nthabiseng",
            "birth_date": "1996-08-02",
            "sex": "F",
            "nationality": "LSO",
            "document_number": "RE4445556",
            "document_expiry": "2032-01-31",
            "country": "ZAF",
            "ev_passport": "RE4445556",
            "ev_employment_contract": "MO-2026-118",
        },
    )
    assert "The worker is registered and the application is sent." in registered.text
    assert "RAMOKHELE, NTHABISENG" in registered.text
    bad_date = post_form(
        boss,
        "/employer/workers/new?type=SEASONAL",
        "/employer/workers/new",
        {"type_code": "SEASONAL", "surname": "X", "nationality": "LSO", "birth_date": "31/12/90"},
    )
    assert bad_date.status_code == 400
    assert "date of birth: '31/12/90' is not a date like 1990-04-30" in bad_date.text

    page = boss.get("/employer/verify")
    png = permit_qr.render_png(token)
    checked = boss.post(
        "/employer/verify",
        data={"csrf_token": csrf_of(page.text), "token": ""},
        files={"image": ("permit.png", png, "image/png")},
    )
    assert checked.status_code == 200
    assert "This permit is genuine and valid today." in checked.text
    not_image = boss.post(
        "/employer/verify",
        data={"csrf_token": csrf_of(page.text)},
        files={"image": ("notes.txt", b"hello", "text/plain")},
    )
    assert not_image.status_code == 400
    assert "No QR code could be read from the image." in not_image.text
    with session_factory(engine)() as s:
        verified = list(
            s.scalars(select(AuditEvent.detail).where(AuditEvent.action == "permit.verify"))
        )
    assert verified == [{"status": "valid"}]


# --- officer console and supervisor review ---------------------------------------------------


@pytest.fixture
def officer(app, make_user) -> TestClient:  # type: ignore[no-untyped-def]
    make_user(Role.BORDER_OFFICER, username="lerato", port="MSU")
    return browser(app, "lerato")


def scan(officer: TestClient, mrz: list[str], direction: str = "entry"):  # type: ignore[no-untyped-def]
    return post_form(
        officer, "/console", "/console/check", {"mrz": "\n".join(mrz), "direction": direction}
    )


def test_officer_scans_sees_clear_and_records_the_crossing(officer, engine) -> None:  # type: ignore[no-untyped-def]
    result = scan(officer, passport_lines(surname="MOKOENA", given="LINEO"))
    assert result.status_code == 200
    assert 'id="decision-word">CLEAR<' in result.text
    assert "LINEO MOKOENA" in result.text
    assert "No crossing recorded before." in result.text
    check_id = re.search(r'name="check_id" value="([^"]+)"', result.text).group(1)  # type: ignore[union-attr]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', result.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf_of(result.text), "check_id": check_id, "idempotency_key": key}
    done = officer.post("/console/record", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/console?recorded=crossing&direction=entry"
    again = officer.post("/console/record", data=form, follow_redirects=False)  # double click
    assert again.status_code == 303
    with session_factory(engine)() as s:
        assert len(list(s.scalars(select(Crossing)))) == 1
    # The next scan shows the crossing just recorded.
    second = scan(officer, passport_lines(surname="MOKOENA", given="LINEO"), direction="exit")
    assert "Maseru Bridge" in second.text


def test_deny_needs_an_override_reason_and_goes_to_the_supervisor(
    app, officer, engine, make_user
) -> None:  # type: ignore[no-untyped-def]
    # A South African on an expired passport (a citizen coming home would be referred).
    expired = passport_lines(
        surname="THABANE",
        given="KATLEHO",
        number="RF2223334",
        expiry=date(2024, 1, 31),
        nationality="ZAF",
        issuing_state="ZAF",
    )
    result = scan(officer, expired)
    assert 'id="decision-word">DENY<' in result.text
    assert "expired" in result.text.lower()
    check_id = re.search(r'name="check_id" value="([^"]+)"', result.text).group(1)  # type: ignore[union-attr]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', result.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf_of(result.text), "check_id": check_id, "idempotency_key": key}
    short = officer.post("/console/record", data={**form, "override_reason": "ok"})
    assert short.status_code == 422
    assert "override reason of at least 10 characters" in short.text
    with session_factory(engine)() as s:
        assert s.scalar(select(Crossing.id)) is None
    reason = "Returning citizen, identity confirmed by ID card 0101"
    done = officer.post(
        "/console/record", data={**form, "override_reason": reason}, follow_redirects=False
    )
    assert done.headers["location"].startswith("/console?recorded=override")

    make_user(Role.SUPERVISOR, username="mookameli")
    boss = browser(app, "mookameli")
    listed = boss.get("/review?port=MSU&day=all")
    assert "KATLEHO THABANE" in listed.text
    assert reason in listed.text
    signed = post_form(
        boss, "/review?port=MSU&day=all", f"/review/{check_id}",
        {"note": "Checked the ID card copy.", "port": "MSU", "day": "all"},
    )  # fmt: skip
    assert "Signed off." in signed.text
    assert "Nothing to review for this port and day." in signed.text
    with session_factory(engine)() as s:
        assert s.scalar(select(BorderCheck.review_note)) == "Checked the ID card copy."


def test_console_explains_an_unreadable_scan(officer) -> None:  # type: ignore[no-untyped-def]
    garbage = scan(officer, ["THIS IS NOT AN MRZ"])
    assert garbage.status_code == 422
    assert "unreadable MRZ" in garbage.text
    nothing = post_form(officer, "/console", "/console/check", {"mrz": "", "direction": "entry"})
    assert nothing.status_code == 400
    assert "Scan the document, or type its number and issuing state." in nothing.text


def test_worker_sees_days_of_stay_left_in_south_africa(app, engine, make_user) -> None:  # type: ignore[no-untyped-def]
    """Entered South Africa 10 days ago at noon and still there: day 11 of a 30-day visit."""
    person = add_traveller(engine, surname="NKHETHOA", given="LIMPHO", number="RH1231231")[0].id
    entered = day_start(TODAY - timedelta(days=10)) + timedelta(hours=12)
    with session_factory(engine)() as s:
        port = s.scalar(select(PortOfEntry.id).where(PortOfEntry.code == "MSU"))
        s.add(
            Crossing(node="ZA", person_id=person, port_id=port, direction="entry",
                     country="ZAF", crossed_at=entered)
        )  # fmt: skip
        s.commit()
    make_user(Role.WORKER, username="limpho", person_id=person)
    page = browser(app, "limpho").get("/me")
    assert re.search(r'id="stay-days">19<', page.text), "30 days per visit, 11 used"
    leave_by = (TODAY + timedelta(days=19)).isoformat()
    assert f"<strong>{leave_by}</strong>" in page.text
    assert "Days of stay in South Africa" in page.text


def test_demo_portal_users_are_linked_and_made_once(app, engine) -> None:  # type: ignore[no-untyped-def]
    from tsela.store.db import transaction
    from tsela.store.models import User
    from tsela.web.demo import ensure_portal_users

    person = add_traveller(engine, surname="MOHAPI", given="NEO", number="RK1010101")[0].id
    with transaction(session_factory(engine)) as s:
        made = ensure_portal_users(s, node="LS", password=PASSWORD, today=TODAY)
    with transaction(session_factory(engine)) as s:
        again = ensure_portal_users(s, node="LS", password=PASSWORD, today=TODAY)
    assert made == ["worker", "employer"]
    assert again == []
    with session_factory(engine)() as s:
        worker = s.scalar(select(User).where(User.username == "worker"))
        assert worker is not None and worker.person_id == person
    assert "Applications and permits" in browser(app, "worker").get("/me").text
    assert "Maluti Orchards" in browser(app, "employer").get("/employer").text


def test_leaving_after_an_overstay_shows_the_overstay_not_days_remaining(
    engine: Engine, tmp_path: Path, make_user
) -> None:  # type: ignore[no-untyped-def]
    # South Africa's node: a Mosotho visitor entered 134 days ago (30-day rule) and now leaves.
    settings = Settings(engine.url.render_as_string(hide_password=False), "ZA", tmp_path)
    za = create_app(settings, engine, FixedClock(NOW))
    person = add_traveller(engine, surname="NTHATI", given="MPHO", number="RB4445556", node="ZA")[
        0
    ].id
    with session_factory(engine)() as s:
        document = s.scalar(select(TravelDocument.id).where(TravelDocument.person_id == person))
        port = s.scalar(select(PortOfEntry.id).where(PortOfEntry.code == "MSU"))
        s.add(
            Crossing(
                node="ZA",
                person_id=person,
                document_id=document,
                port_id=port,
                direction=Direction.ENTRY,
                country="ZAF",
                crossed_at=NOW - timedelta(days=134),
            )
        )
        s.commit()
    make_user(Role.BORDER_OFFICER, username="sipho", port="MSU")
    officer = browser(za, "sipho")
    mrz = passport_lines(surname="NTHATI", given="MPHO", number="RB4445556")
    leaving = scan(officer, mrz, direction="exit")
    assert leaving.status_code == 200
    assert 'id="overstay-days"' in leaving.text
    assert "days overstayed on this stay" in leaving.text
    assert 'id="days-remaining"' not in leaving.text  # not "30 days remaining" beside it
    # The printed inspection sheet says the same: the overstay, not days of a next visit.
    check_id = re.search(r'name="check_id" value="([^"]+)"', leaving.text).group(1)  # type: ignore[union-attr]
    sheet = officer.get(f"/console/checks/{check_id}/sheet")
    assert sheet.status_code == 200
    assert "105 days overstayed on this stay" in sheet.text  # 135 days of a 30-day visit
    assert 'id="sheet-stay-days">135<' in sheet.text
    assert "days remaining" not in sheet.text
    assert 'id="stay-days-ended">135<' in leaving.text  # not "Days used: 0"


def test_a_post_has_both_countries_names_in_every_language(app, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.BORDER_OFFICER, username="thato", port="FKB")
    officer = browser(app, "thato")
    mrz = passport_lines(surname="LEBONA", given="TUMELO", number="RB7778889")
    first = scan(officer, mrz)
    check_id = re.search(r'name="check_id" value="([^"]+)"', first.text).group(1)  # type: ignore[union-attr]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', first.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf_of(first.text), "check_id": check_id, "idempotency_key": key}
    assert officer.post("/console/record", data=form, follow_redirects=False).status_code == 303
    for lang in ("en", "st"):
        page = post_form(
            officer, f"/console?lang={lang}", "/console/check",
            {"mrz": "\n".join(mrz), "direction": "exit"},
        )  # fmt: skip
        assert "Ficksburg Bridge / Maputsoe Bridge (FKB)" in page.text, lang


def test_the_reasons_are_shown_in_the_readers_language(app, officer, engine, make_user) -> None:  # type: ignore[no-untyped-def]
    expired = passport_lines(
        "RF5556667",
        surname="MOHAPI",
        given="NTSWAKI",
        expiry=date(2024, 1, 31),
        nationality="ZAF",
        issuing_state="ZAF",
    )
    page = post_form(
        officer,
        "/console?lang=st",
        "/console/check",
        {"mrz": "\n".join(expired), "direction": "entry"},
    )
    assert 'id="decision-word">HANA<' in page.text
    assert '<span lang="st">Tokomane e felile ka 2024-01-31.</span>' in page.text
    assert "The document expired" not in page.text
    english = post_form(
        officer,
        "/console?lang=en",
        "/console/check",
        {"mrz": "\n".join(expired), "direction": "entry"},
    )
    assert '<span lang="en">The document expired on 2024-01-31.</span>' in english.text

    # The supervisor reads the kept reasons in Sesotho too; one kept as words only (before
    # reasons carried their facts) is shown as it was written, marked as English.
    with session_factory(engine)() as s:
        kept = s.scalars(select(BorderCheck).order_by(BorderCheck.checked_at)).first()
        assert kept is not None
        kept.reasons = [{"code": "document.expired", "severity": "deny", "message": "Old words."}]
        s.commit()
    make_user(Role.SUPERVISOR, username="mookameli")
    boss = browser(app, "mookameli")
    listed = boss.get("/review?port=MSU&day=all&lang=st")
    assert '<li lang="st">Tokomane e felile ka 2024-01-31.</li>' in listed.text
    assert '<li lang="en">Old words.</li>' in listed.text


def test_refuse_entry_from_the_console_and_print_the_notice(app, make_user) -> None:  # type: ignore[no-untyped-def]
    """Issue 18: an entry check offers "Refuse entry"; the officer ticks the grounds, and the
    notice for the traveller follows, in Sesotho as chosen, with a PDF to print."""
    make_user("border_officer", username="palesa", port="MSU", password=PASSWORD)
    officer = browser(app, "palesa")
    mrz = passport_lines("RA8100001", nationality="ZAF", issuing_state="ZAF", surname="NKOSI")
    citizen_elsewhere = post_form(
        officer, "/console", "/console/check", {"mrz": "\n".join(mrz), "direction": "entry"}
    )
    check_id = re.search(r"/console/checks/([0-9a-f-]+)/refuse", citizen_elsewhere.text)
    assert check_id is not None  # the button is there on an entry check
    form_url = f"/console/checks/{check_id.group(1)}/refuse"
    form = officer.get(form_url)
    assert form.status_code == 200 and 'id="ground-C"' in form.text
    # no ground ticked: the form comes back with the reason, nothing recorded
    empty = post_form(officer, form_url, form_url, {"remarks": "x"})
    assert empty.status_code == 422 and "name at least one ground" in empty.text
    page = officer.get(form_url)
    done = officer.post(
        form_url,
        data={"csrf_token": csrf_of(page.text), "grounds": ["C", "E"], "remarks": "No visa."},
        follow_redirects=False,
    )
    assert done.status_code == 303
    notice_url = done.headers["location"]
    st = officer.get(notice_url.replace("lang=en", "lang=st"))
    assert st.status_code == 200 and "Ho haneloa ho kena" in st.text
    assert "Mokhoa oa ho ipiletsa" in st.text  # how to appeal
    pdf = officer.get(notice_url + "&format=pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert officer.get(notice_url.replace("lang=en", "lang=fr")).status_code == 400
