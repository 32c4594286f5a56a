"""The border officer's console as a browser uses it (issue 21): the result of a check is its
own page (Post/Redirect/Get), a refused scan keeps what was typed, and a traveller with no
readable MRZ is registered from the particulars typed by hand. SQLite and PostgreSQL.

The app's clock stands at ``NOW``: no test depends on the day it runs."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from factories import add_traveller, passport_lines
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.kernel.clock import FixedClock
from tsela.store.checks import BorderCheck
from tsela.store.db import session_factory
from tsela.store.models import AuditEvent, Crossing, Person, Role, TravelDocument
from web_support import csrf_of, use_fast_password_hashing

PASSWORD = "correct horse 1"
NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture
def app(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=tmp_path,
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


@pytest.fixture
def officer(app, make_user) -> TestClient:  # type: ignore[no-untyped-def]
    make_user(Role.BORDER_OFFICER, username="lerato", port="MSU")
    return browser(app, "lerato")


def post_check(client: TestClient, data: dict[str, str], lang: str = "en"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(f"/console?lang={lang}").text)
    return client.post("/console/check", data={"csrf_token": token, **data}, follow_redirects=False)


def checks_kept(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(BorderCheck)) or 0


def test_the_result_is_its_own_page_and_reloading_it_checks_nothing_again(
    officer: TestClient, engine: Engine
) -> None:
    sent = post_check(officer, {"mrz": "\n".join(passport_lines(surname="MOKOENA", given="LINEO"))})
    assert sent.status_code == 303
    where = sent.headers["location"]
    assert re.fullmatch(r"/console/checks/[0-9a-f-]{36}", where)
    assert "MOKOENA" not in where  # no names in the address
    first = officer.get(where)
    again = officer.get(where)  # Back, or reload: a GET, nothing sent again
    assert first.status_code == again.status_code == 200
    assert 'id="decision-word">CLEAR<' in again.text
    assert "LINEO MOKOENA" in again.text and "No crossing recorded before." in again.text
    assert checks_kept(engine) == 1
    # The record button on that page records the crossing.
    key = re.search(r'name="idempotency_key" value="([^"]+)"', again.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf_of(again.text), "check_id": where.rsplit("/", 1)[1],
            "idempotency_key": key}  # fmt: skip
    done = officer.post("/console/record", data=form, follow_redirects=False)
    assert done.headers["location"] == "/console?recorded=crossing&direction=entry"
    # Shown afterwards, the check says so and offers no second recording; its own crossing
    # is not among the crossings "before" it.
    after = officer.get(where)
    assert 'id="already-recorded"' in after.text and 'id="record-form"' not in after.text
    assert "No crossing recorded before." in after.text
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Crossing)) == 1


def test_an_override_and_a_refusal_work_from_the_result_page(
    officer: TestClient, engine: Engine
) -> None:
    expired = passport_lines(
        "RF5556667", surname="MOHAPI", given="NTSWAKI", expiry=date(2024, 1, 31),
        nationality="ZAF", issuing_state="ZAF",
    )  # fmt: skip
    where = post_check(officer, {"mrz": "\n".join(expired)}, lang="st").headers["location"]
    page = officer.get(where)  # the language chosen is kept by its cookie
    assert 'id="decision-word">HANA<' in page.text
    assert '<span lang="st">Tokomane e felile ka 2024-01-31.</span>' in page.text
    assert f'href="{where}/refuse"' in page.text
    assert officer.get(f"{where}/refuse").status_code == 200
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf_of(page.text), "check_id": where.rsplit("/", 1)[1],
            "idempotency_key": key, "override_reason": "Citizen, ID card 0101 seen"}  # fmt: skip
    done = officer.post("/console/record", data=form, follow_redirects=False)
    assert done.headers["location"].startswith("/console?recorded=override")


def test_a_check_is_seen_at_its_own_port_and_reading_it_is_audited(
    app, officer: TestClient, engine: Engine, make_user
) -> None:  # type: ignore[no-untyped-def]
    where = post_check(officer, {"mrz": "\n".join(passport_lines())}).headers["location"]
    make_user(Role.BORDER_OFFICER, username="thato", port="FKB")
    elsewhere = browser(app, "thato").get(where)
    assert elsewhere.status_code == 403
    assert 'id="decision"' not in elsewhere.text
    make_user(Role.SUPERVISOR, username="mookameli")
    assert 'id="decision-word">CLEAR<' in browser(app, "mookameli").get(where).text
    assert officer.get("/console/checks/0190f5a0-0000-7000-8000-000000000000").status_code == 404
    with session_factory(engine)() as s:
        views = list(s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "check.view")))
    assert views == ["mookameli"]  # the officer's own views are the check's entry


def test_an_unreadable_scan_keeps_the_text_in_the_box(officer: TestClient, engine: Engine) -> None:
    garbage = post_check(officer, {"mrz": "P<LSOTHIS<IS<NOT<AN<MRZ"})
    assert garbage.status_code == 422
    assert "unreadable MRZ" in garbage.text
    assert ">P&lt;LSOTHIS&lt;IS&lt;NOT&lt;AN&lt;MRZ</textarea>" in garbage.text
    assert checks_kept(engine) == 0


def test_a_traveller_without_a_readable_mrz_is_registered_by_hand(
    officer: TestClient, engine: Engine
) -> None:
    typed = {"document_number": "RA4440001", "issuing_state": "LSO"}
    unknown = post_check(officer, typed)
    assert unknown.status_code == 422
    assert "is not known here" in unknown.text
    assert 'id="surname"' in unknown.text and 'id="birth_date"' in unknown.text
    assert 'value="RA4440001"' in unknown.text  # what was typed is kept
    # A date that is no date: refused before anything is looked up, all typed kept.
    particulars = {**typed, "surname": "Ramaisa", "given_names": "Mpho Lerato",
                   "nationality": "LSO", "birth_date": "1990-13-40", "sex": "F"}  # fmt: skip
    wrong = post_check(officer, particulars)
    assert wrong.status_code == 400
    assert "The date of birth is not a date" in wrong.text
    assert 'value="Ramaisa"' in wrong.text and 'value="Mpho Lerato"' in wrong.text
    assert 'value="1990-13-40"' in wrong.text and '<option value="F" selected>' in wrong.text
    # In Sesotho, the same refusal in Sesotho.
    st = post_check(officer, particulars, lang="st")
    assert "Letsatsi la tsoalo ha se letsatsi" in st.text
    sent = post_check(officer, {**particulars, "birth_date": "1990-03-14"})
    assert sent.status_code == 303
    page = officer.get(sent.headers["location"])
    assert "MPHO LERATO RAMAISA" in page.text and "1990-03-14" in page.text
    with session_factory(engine)() as s:
        person = s.scalar(
            select(Person).join(TravelDocument).where(TravelDocument.number == "RA4440001")
        )
        assert person is not None
        assert (person.primary_name, person.given_names, person.nationality) == (
            "RAMAISA", "MPHO LERATO", "LSO",
        )  # fmt: skip
        assert (person.birth_date, person.sex.value) == (date(1990, 3, 14), "F")
    # Known now: the number alone finds them.
    assert post_check(officer, typed).status_code == 303


def test_a_partly_typed_traveller_is_refused_with_what_to_add(officer: TestClient) -> None:
    half = post_check(
        officer, {"document_number": "RA4440002", "issuing_state": "LSO", "given_names": "Mpho"}
    )
    assert half.status_code == 400
    assert "type at least the surname and the nationality" in half.text
    assert 'value="Mpho"' in half.text


# --- finding a traveller by name and date of birth -----------------------------------------


def search(client: TestClient, data: dict[str, str], lang: str = "en"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(f"/console/search?lang={lang}").text)
    return client.post("/console/search", data={"csrf_token": token, **data})


def test_an_officer_finds_a_traveller_in_either_sesotho_spelling(
    officer: TestClient, engine: Engine
) -> None:
    born = date(1991, 6, 2)
    add_traveller(engine, "RA6000001", surname="MOSHOESHOE", given="TŠEPO LINEO", birth=born)
    add_traveller(engine, "RA6000002", surname="MOSHOESHOE", given="PALESA", birth=born)
    add_traveller(engine, "RA6000003", surname="MOSHOESHOE", given="TSEPO", birth=date(1992, 6, 2))
    add_traveller(engine, "RA6000004", surname="MOKOENA", given="TSHEPO", birth=born)
    form = officer.get("/console/search")
    assert form.status_code == 200 and 'method="post" action="/console/search"' in form.text
    found = search(officer, {"surname": "Moshweshwe", "given_names": "Tshepo",
                             "birth_date": "1991-06-02"})  # fmt: skip
    assert found.status_code == 200
    assert "Travellers found: 1" in found.text
    assert "TŠEPO LINEO MOSHOESHOE" in found.text and "RA6000001" in found.text
    assert "PALESA" not in found.text and "RA6000003" not in found.text
    by_initial = search(officer, {"surname": "moshoeshoe", "given_names": "P",
                                  "birth_date": "1991-06-02"})  # fmt: skip
    assert "Travellers found: 1" in by_initial.text and "PALESA MOSHOESHOE" in by_initial.text
    none = search(officer, {"surname": "Moshoeshoe", "birth_date": "1991-06-03"}, lang="st")
    assert 'id="found-none"' in none.text and "Baeti ba fumanoeng: 0" in none.text
    # Checked from the result: the typed-number path, nothing retyped.
    token = csrf_of(found.text)
    sent = officer.post(
        "/console/check",
        data={"csrf_token": token, "document_number": "RA6000001", "issuing_state": "LSO",
              "direction": "exit"},
        follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303
    assert "TŠEPO LINEO MOSHOESHOE" in officer.get(sent.headers["location"]).text
    # Audited as a read of personal data: who searched and whom it showed, not the names.
    with session_factory(engine)() as s:
        kept = list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "person.search")
                .order_by(AuditEvent.id)  # UUIDv7: the order they were written
            )
        )
    assert [e.actor for e in kept] == ["lerato"] * 3
    assert kept[0].detail["found"] == 1 and len(kept[0].detail["shown"]) == 1
    assert "MOSHOESHOE" not in str([e.detail for e in kept]).upper()


def test_a_search_is_paged_and_asks_for_what_it_needs(officer: TestClient, engine: Engine) -> None:
    born = date(1985, 1, 20)
    for i in range(23):
        add_traveller(engine, f"RA70000{i:02d}", surname="LETSIE", given=f"NEO{chr(65 + i)}",
                      birth=born)  # fmt: skip
    first = search(officer, {"surname": "Letsie", "birth_date": "1985-01-20"})
    assert "Travellers found: 23" in first.text and "Page 1 of 2" in first.text
    assert first.text.count("data-person=") == 20
    assert 'id="page-next"' in first.text and 'id="page-prev"' not in first.text
    second = search(officer, {"surname": "Letsie", "birth_date": "1985-01-20", "page": "2"})
    assert second.text.count("data-person=") == 3 and "NEOW LETSIE" in second.text
    missing = search(officer, {"surname": "Letsie", "birth_date": ""})
    assert missing.status_code == 400 and "Type the surname and the date of birth." in missing.text
    assert 'value="Letsie"' in missing.text
    wrong = search(officer, {"surname": "Letsie", "birth_date": "1985-02-30"}, lang="st")
    assert wrong.status_code == 400 and "Letsatsi la tsoalo ha se letsatsi" in wrong.text


# --- the secondary-inspection sheet ---------------------------------------------------------


def test_a_referred_traveller_gets_a_printable_inspection_sheet(
    app, officer: TestClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    expired = passport_lines(
        "RF5556668", surname="MOHAPI", given="NTSWAKI", expiry=date(2024, 1, 31),
        nationality="ZAF", issuing_state="ZAF",
    )  # fmt: skip
    where = post_check(officer, {"mrz": "\n".join(expired)}).headers["location"]
    page = officer.get(where)
    assert f'href="{where}/sheet"' in page.text
    sheet = officer.get(f"{where}/sheet")
    assert sheet.status_code == 200
    text = sheet.text
    assert 'id="sheet-decision">DENY<' in text
    assert "The document expired on 2024-01-31." in text
    assert 'id="sheet-name">NTSWAKI MOHAPI<' in text and "ZAF RF5556668" in text
    assert 'id="sheet-officer">lerato<' in text and 'id="sheet-port">MSU · Entry<' in text
    assert 'id="sheet-when">2026-05-12 10:00<' in text  # border time
    assert "To be filled in by the inspecting officer" in text and "Signature" in text
    assert "@media print" in officer.get("/static/tsela.css").text
    st = officer.get(f"{where}/sheet?lang=st").text
    assert "Tlhahlobo ea bobeli" in st and "Tokomane e felile ka 2024-01-31." in st
    # Another port's officer may not print it; a CLEAR check offers no sheet.
    make_user(Role.BORDER_OFFICER, username="thato", port="FKB")
    assert browser(app, "thato").get(f"{where}/sheet").status_code == 403
    clear = post_check(officer, {"mrz": "\n".join(passport_lines("RA1212121"))}).headers["location"]
    assert "/sheet" not in officer.get(clear).text


# --- the supervisor's review: filters, pages, signing off several ----------------------------


def expired_passport(number: str, nationality: str) -> str:
    """An expired passport: a South African is denied, a returning Mosotho referred."""
    return "\n".join(
        passport_lines(number, surname="SELLO", given=f"N{number[-2:]}", expiry=date(2024, 1, 31),
                       nationality=nationality, issuing_state=nationality)
    )  # fmt: skip


@pytest.fixture
def to_review(app, officer: TestClient, make_user) -> TestClient:  # type: ignore[no-untyped-def]
    """Six decisions to review: lerato at MSU denied three and referred two, thato at FKB
    denied one; a supervisor's browser."""
    for i in range(3):
        post_check(officer, {"mrz": expired_passport(f"RZ00000{i}1", "ZAF")})
    for i in range(2):
        post_check(officer, {"mrz": expired_passport(f"RL00000{i}2", "LSO")})
    make_user(Role.BORDER_OFFICER, username="thato", port="FKB")
    post_check(browser(app, "thato"), {"mrz": expired_passport("RZ0000093", "ZAF")})
    make_user(Role.SUPERVISOR, username="mookameli")
    return browser(app, "mookameli")


def listed(page: str) -> list[str]:
    return re.findall(r'data-check="([0-9a-f-]+)"', page)


def test_review_is_filtered_by_decision_officer_and_port_and_paged(
    to_review: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = to_review.get("/review?day=all")
    assert len(listed(everything.text)) == 6
    assert 'id="decision-word"' not in everything.text
    referred = to_review.get("/review?day=all&decision=REFER")
    assert len(listed(referred.text)) == 2 and "DENY ·" not in referred.text
    assert len(listed(to_review.get("/review?day=all&officer=thato").text)) == 1
    assert len(listed(to_review.get("/review?day=all&port=FKB&decision=DENY").text)) == 1
    assert len(listed(to_review.get("/review?day=2026-05-11").text)) == 0  # not that day
    assert len(listed(to_review.get("/review").text)) == 6  # today, the server's day
    from tsela.services import check_review

    monkeypatch.setattr(check_review, "PAGE_SIZE", 4)
    first = to_review.get("/review?day=all&officer=lerato")
    assert len(listed(first.text)) == 4 and "5 decisions; page 1 of 2" in first.text
    assert 'href="/review?day=all&amp;officer=lerato&amp;page=2"' in first.text
    second = to_review.get("/review?day=all&officer=lerato&page=2")
    assert len(listed(second.text)) == 1
    assert set(listed(second.text)).isdisjoint(listed(first.text))
    st = to_review.get("/review?day=all&lang=st")
    assert "Liofisiri tsohle" in st.text and "Saena liqeto tse tšoailoeng" in st.text


def test_signing_off_several_asks_first_then_signs_each(
    to_review: TestClient, engine: Engine
) -> None:
    page = to_review.get("/review?day=all&decision=REFER")
    picked = listed(page.text)
    form = {"csrf_token": csrf_of(page.text), "check_ids": picked, "note": "Citizens, ID seen.",
            "day": "all", "decision": "REFER"}  # fmt: skip
    asked = to_review.post("/review/bulk", data=form)  # type: ignore[arg-type]
    assert asked.status_code == 200
    assert "Sign off 2 decisions?" in asked.text and 'id="confirm-sign-off"' in asked.text
    assert all(f'data-check="{c}"' in asked.text for c in picked)
    with session_factory(engine)() as s:  # nothing signed off before the confirmation
        assert s.scalar(select(func.count()).where(BorderCheck.reviewed_at.is_not(None))) == 0
    done = to_review.post("/review/bulk", data={**form, "confirmed": "1"}, follow_redirects=False)  # type: ignore[arg-type]
    assert done.status_code == 303
    assert done.headers["location"] == "/review?day=all&decision=REFER&done=2"
    assert "Signed off: 2 decisions." in to_review.get(done.headers["location"]).text
    with session_factory(engine)() as s:
        notes = s.scalars(
            select(BorderCheck.review_note).where(BorderCheck.reviewed_at.is_not(None))
        )
        assert list(notes) == ["Citizens, ID seen."] * 2
        reviews = s.scalar(select(func.count()).where(AuditEvent.action == "check.review"))
        assert reviews == 2
    # One ticked needs no confirmation; one already signed off refuses them all.
    rest = to_review.get("/review?day=all")
    token, left = csrf_of(rest.text), listed(rest.text)
    assert len(left) == 4
    one = to_review.post(
        "/review/bulk",
        data={"csrf_token": token, "check_ids": [left[0]], "note": "Seen.", "day": "all"},
        follow_redirects=False,
    )  # fmt: skip
    assert one.status_code == 303 and one.headers["location"].endswith("done=1")
    both = to_review.post(
        "/review/bulk",
        data={"csrf_token": token, "check_ids": [left[0], left[1]], "note": "Seen.",
              "day": "all", "confirmed": "1"},
    )  # fmt: skip
    assert both.status_code == 409 and "already reviewed" in both.text
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).where(BorderCheck.reviewed_at.is_not(None))) == 3
    none = to_review.post("/review/bulk", data={"csrf_token": token, "note": "x", "day": "all"})
    assert none.status_code == 400 and "Tick the decisions to sign off." in none.text


# --- a port's day, for its supervisor --------------------------------------------------------


def record(client: TestClient, where: str, reason: str = "") -> None:
    page = client.get(where)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf_of(page.text), "check_id": where.rsplit("/", 1)[1],
            "idempotency_key": key, "override_reason": reason}  # fmt: skip
    assert client.post("/console/record", data=form, follow_redirects=False).status_code == 303


def test_a_supervisor_follows_a_ports_day(
    app, officer: TestClient, engine: Engine, make_user
) -> None:  # type: ignore[no-untyped-def]
    for number in ("RA3000001", "RA3000002"):
        record(
            officer,
            post_check(officer, {"mrz": "\n".join(passport_lines(number))}).headers["location"],
        )
    denied = post_check(officer, {"mrz": expired_passport("RZ3000003", "ZAF")}).headers["location"]
    record(officer, denied, "Identity confirmed by the ID card")
    leaving = post_check(
        officer, {"mrz": "\n".join(passport_lines("RA3000004")), "direction": "exit"}
    )
    record(officer, leaving.headers["location"], "Left after a day visit, never recorded in")
    make_user(Role.BORDER_OFFICER, username="thato", port="FKB")
    elsewhere = browser(app, "thato")
    post_check(elsewhere, {"mrz": "\n".join(passport_lines("RA3000005"))})
    with session_factory(engine)() as s:  # the denied check also matched a watchlist
        kept = s.get(BorderCheck, __import__("uuid").UUID(denied.rsplit("/", 1)[1]))
        assert kept is not None
        kept.reasons = [*kept.reasons, {"code": "watchlist.possible", "severity": "refer",
                                        "message": "Possible match.", "params": {}}]  # fmt: skip
        s.commit()
    make_user(Role.SUPERVISOR, username="mookameli")
    boss = browser(app, "mookameli")
    assert 'href="/ports/MSU"' in boss.get("/ports").text
    day = boss.get("/ports/MSU")
    assert day.status_code == 200 and 'http-equiv="refresh"' in day.text
    text = day.text
    assert 'id="total-entry">3<' in text and 'id="total-exit">1<' in text
    assert 'id="checks-CLEAR">2<' in text and 'id="checks-DENY">1<' in text
    assert 'id="checks-REFER">1<' in text  # leaving, never recorded entering
    assert 'id="hour-10"' in text  # 08:00 UTC is 10:00 at the border
    assert re.search(r'id="officer-lerato">.*?<td>4</td>.*?class="overrides">2<', text, re.S)
    assert "officer-thato" not in text  # another port's officer
    assert "Watchlist matches (1)" in text and f'href="{denied}"' in text
    assert "SELLO" not in text  # counts, not travellers
    before = boss.get("/ports/MSU?day=2026-05-11")
    assert 'id="total-entry">0<' in before.text and 'http-equiv="refresh"' not in before.text
    assert 'id="day-after"' in before.text and 'id="hours-none"' in before.text
    assert "Liheke kajeno" in boss.get("/ports?lang=st").text
    assert boss.get("/ports/XXX").status_code == 404
    assert officer.get("/ports/MSU").status_code == 403
