"""Refusals of entry and entry bans (issue 18, items 1 and 2) through the API, on SQLite and
PostgreSQL, as the South African node: refuse from a check, the notice in English and
Sesotho (page and PDF), a ban that makes the check DENY until its end, lifted or shortened by
a supervisor with a reason; bad input refused with nothing recorded and the refusal audited.
And the decisions fixed by item 6."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from factories import passport
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.kernel.clock import FixedClock
from tsela.services.screening import import_watchlist
from tsela.store.db import session_factory
from tsela.store.models import AuditEvent
from tsela.store.refusals import EntryBan, EntryBanChange, Refusal

NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)  # 10:00 at the border
TODAY = date(2026, 5, 12)


def _client(engine: Engine, tmp_path: Path, node: str):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node=node,
        var_dir=tmp_path,
    )
    return TestClient(create_app(settings, engine, FixedClock(NOW)))


@pytest.fixture
def za(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    with _client(engine, tmp_path, "ZA") as client:
        yield client


@pytest.fixture
def officer(auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers("border_officer", port="MSU", full_name="Officer Naledi Dube")


@pytest.fixture
def supervisor(auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers("supervisor")


def check(client, headers, **body):  # type: ignore[no-untyped-def]
    body.setdefault("port", "MSU")
    body.setdefault("direction", "entry")
    r = client.post("/v1/checks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def count(engine: Engine, model: type, *where: object) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audited(engine: Engine, action: str) -> list[dict]:  # type: ignore[type-arg]
    with session_factory(engine)() as s:
        return [e.detail for e in s.scalars(select(AuditEvent).where(AuditEvent.action == action))]


def test_refuse_from_a_check_and_give_the_notice_in_both_languages(za, officer, engine) -> None:  # type: ignore[no-untyped-def]
    c = check(za, officer, mrz=passport(number="RA1000001"))
    r = za.post(
        "/v1/refusals",
        json={"check_id": c["check_id"], "grounds": ["e", "C"], "remarks": "No return ticket."},
        headers=officer,
    )
    assert r.status_code == 201, r.text
    refusal = r.json()
    assert refusal["node"] == "ZA" and refusal["country"] == "ZAF"
    assert refusal["port_code"] == "MSU"
    assert refusal["check_id"] == c["check_id"]
    assert refusal["surname"] == "MOKOENA" and refusal["document_number"] == "RA1000001"
    assert [g["code"] for g in refusal["grounds"]] == ["C", "E"]  # catalogue order
    assert "Immigration Act 13 of 2002" in refusal["grounds"][0]["basis"]
    assert refusal["officer_name"] == "Officer Naledi Dube"
    assert za.get(f"/v1/refusals/{refusal['id']}", headers=officer).json() == refusal

    en = za.get(f"/v1/refusals/{refusal['id']}/notice?lang=en", headers=officer)
    assert en.status_code == 200 and en.headers["content-type"].startswith("text/html")
    assert "Refusal of entry" in en.text
    assert "You have no valid visa or residence permit." in en.text
    assert "Director-General of the Department of Home Affairs" in en.text  # how to appeal
    st = za.get(f"/v1/refusals/{refusal['id']}/notice?lang=st", headers=officer)
    assert "Ho haneloa ho kena" in st.text
    assert "Ha u na visa kapa tumello ea ho lula e sebetsang." in st.text
    assert "Mokhoa oa ho ipiletsa" in st.text
    pdf = za.get(f"/v1/refusals/{refusal['id']}/notice?lang=st&format=pdf", headers=officer)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # A notice in a language Tsela does not have: 422 naming the ones it has, audited.
    fr = za.get(f"/v1/refusals/{refusal['id']}/notice?lang=fr", headers=officer)
    assert fr.status_code == 422 and "en, st" in fr.json()["detail"]
    assert any("fr" in d["refusal"] for d in audited(engine, "refusal.notice_refused"))

    # The check refused cannot be refused again, nor recorded as a crossing... (409)
    again = za.post(
        "/v1/refusals", json={"check_id": c["check_id"], "grounds": ["C"]}, headers=officer
    )
    assert again.status_code == 409
    assert count(engine, Refusal) == 1


def test_refusals_list_a_page_at_a_time(za, officer) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        c = check(za, officer, mrz=passport(number=f"RA200000{i}"))
        assert (
            za.post(
                "/v1/refusals", json={"check_id": c["check_id"], "grounds": ["A"]}, headers=officer
            ).status_code
            == 201
        )
    page = za.get("/v1/refusals?offset=1&limit=2", headers=officer).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["offset"] == 1


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"grounds": ["Z"]}, 422, "unknown ground code Z"),
        ({"grounds": []}, 422, ""),  # the request model: at least one ground
        ({"grounds": ["A"], "port": "MSU"}, 422, "the port and the traveller"),
        (
            {
                "grounds": ["A"],
                "port": "MSU",
                "traveller": {"surname": "NKOSI", "nationality": "ZAF"},
            },
            422,
            "a citizen cannot be refused entry into their own country",
        ),
    ],
)
def test_bad_refusals_are_refused_with_nothing_recorded(
    za, officer, engine, body, status, words
) -> None:  # type: ignore[no-untyped-def]
    r = za.post("/v1/refusals", json=body, headers=officer)
    assert r.status_code == status, r.text
    assert words in str(r.json()["detail"])
    assert count(engine, Refusal) == 0


def test_a_citizen_is_not_refused_entry_and_the_refusal_is_audited(za, officer, engine) -> None:  # type: ignore[no-untyped-def]
    c = check(za, officer, mrz=passport(number="A01000001", nationality="ZAF", surname="NKOSI"))
    r = za.post("/v1/refusals", json={"check_id": c["check_id"], "grounds": ["A"]}, headers=officer)
    assert r.status_code == 422
    assert "citizen of ZAF" in r.json()["detail"]
    assert count(engine, Refusal) == 0
    [entry] = audited(engine, "refusal.rejected")
    assert "citizen" in entry["refusal"]


def test_a_ban_denies_entry_until_its_end_and_a_supervisor_lifts_it(
    za, officer, supervisor, engine
) -> None:  # type: ignore[no-untyped-def]
    c = check(za, officer, mrz=passport(number="RA3000001"))
    refusal = za.post(
        "/v1/refusals", json={"check_id": c["check_id"], "grounds": ["F"]}, headers=officer
    ).json()
    # officers do not ban; supervisors do
    body = {"refusal_id": refusal["id"], "starts_on": "2026-05-12", "ends_on": "2027-05-11"}
    assert za.post("/v1/entry-bans", json=body, headers=officer).status_code == 403
    r = za.post("/v1/entry-bans", json=body, headers=supervisor)
    assert r.status_code == 201, r.text
    ban = r.json()
    assert ban["issuing_country"] == "ZAF" and ban["ground"] == "F"
    assert "s. 30(1)(h)" in ban["legal_basis"]
    assert ban["document_number"] == "RA3000001"

    again = check(za, officer, mrz=passport(number="RA3000001"))
    assert again["decision"] == "DENY"
    [reason] = [x for x in again["reasons"] if x["code"] == "entry_ban.active"]
    assert reason["params"]["until"] == "2027-05-11" and reason["params"]["ban"] == ban["id"]
    assert "until 2027-05-11" in reason["message"]
    # the notice now names the ban
    notice = za.get(f"/v1/refusals/{refusal['id']}/notice", headers=officer).text
    assert "You may not enter South Africa until 2027-05-11" in notice
    # leaving is not barred
    out = check(za, officer, mrz=passport(number="RA3000001"), direction="exit")
    assert not [x for x in out["reasons"] if x["code"].startswith("entry_ban")]

    # shorten: earlier end, a reason; the change is kept with the supervisor's name
    url = f"/v1/entry-bans/{ban['id']}/changes"
    short = za.post(
        url,
        json={"action": "shorten", "new_end": "2026-12-31", "reason": "Appeal upheld in part."},
        headers=supervisor,
    )
    assert short.status_code == 201, short.text
    assert short.json()["old_end"] == "2027-05-11" and short.json()["approved_by"]
    too_short_reason = za.post(url, json={"action": "lift", "reason": "ok"}, headers=supervisor)
    assert too_short_reason.status_code == 422
    lift = za.post(
        url,
        json={"action": "lift", "reason": "Appeal upheld by the DG.", "appeal_reference": "A-17"},
        headers=supervisor,
    )
    assert lift.status_code == 201
    got = za.get(f"/v1/entry-bans/{ban['id']}", headers=officer).json()
    assert got["lifted_on"] == "2026-05-12" and got["ends_on"] == "2026-12-31"
    assert [ch["action"] for ch in got["changes"]] == ["shorten", "lift"]
    after = check(za, officer, mrz=passport(number="RA3000001"))
    assert not [x for x in after["reasons"] if x["code"].startswith("entry_ban")]
    assert count(engine, EntryBanChange) == 2


def test_a_ban_typed_in_reaches_the_traveller_by_name_and_birth_date(
    za, officer, supervisor
) -> None:  # type: ignore[no-untyped-def]
    body = {
        "starts_on": "2026-05-01",
        "ends_on": "2031-04-30",
        "ground": "B",
        "traveller": {
            "surname": "Mokoena",
            "given_names": "Lineo",
            "nationality": "LSO",
            "birth_date": "1990-03-14",
        },
    }
    assert za.post("/v1/entry-bans", json=body, headers=supervisor).status_code == 201
    c = check(za, officer, mrz=passport(number="RA4000001", birth=date(1990, 3, 14)))
    assert c["decision"] == "DENY"
    assert [x["code"] for x in c["reasons"] if x["severity"] == "deny"] == ["entry_ban.active"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            {"starts_on": "2026-05-12", "ends_on": "2026-05-11"},
            "ends (2026-05-11) before it starts",
        ),
        ({"ground": "Q"}, "unknown ground code Q"),
        ({"ground": "C"}, "does not lead to a ban"),
        ({"traveller": {"surname": "NKOSI", "nationality": "ZAF"}}, "cannot be banned from"),
        ({"legal_basis": None, "ground": None}, "legal basis or a ground code"),
    ],
)
def test_bad_bans_are_refused_with_nothing_recorded(za, supervisor, engine, change, words) -> None:  # type: ignore[no-untyped-def]
    body = {
        "starts_on": "2026-05-12",
        "ends_on": "2027-05-11",
        "ground": "H",
        "traveller": {"surname": "MOKOENA", "nationality": "LSO", "birth_date": "1990-03-14"},
        **change,
    }
    r = za.post("/v1/entry-bans", json=body, headers=supervisor)
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]
    assert count(engine, EntryBan) == 0
    assert len(audited(engine, "entry_ban.rejected")) == 1


# --------------------------------------------------------------------------- item 6


def test_a_citizen_coming_home_on_an_expired_passport_is_referred_not_denied(za, officer) -> None:  # type: ignore[no-untyped-def]
    c = check(
        za,
        officer,
        mrz=passport(
            number="A02000001", nationality="ZAF", surname="NKOSI", expiry=date(2025, 1, 31)
        ),
    )
    assert c["decision"] == "REFER"
    [r] = [x for x in c["reasons"] if x["code"] == "document.expired"]
    assert (r["variant"], r["severity"]) == ("citizen", "refer")
    assert "verify the citizenship" in r["message"]
    # a foreigner on an expired passport is still denied
    other = check(za, officer, mrz=passport(number="RA5000001", expiry=date(2025, 1, 31)))
    assert other["decision"] == "DENY"


def test_a_wanted_person_is_referred_to_the_police_not_refused(za, officer, engine) -> None:  # type: ignore[no-untyped-def]
    import_watchlist(
        engine,
        list_name="SAPS wanted",
        data="name,birth_date,nationality\nLineo Mokoena,1990-03-14,LSO\n",
        fmt="csv",
        actor="test",
        node="ZA",
        category="wanted",  # type: ignore[arg-type]
    )
    c = check(za, officer, mrz=passport(number="RA6000001", birth=date(1990, 3, 14)))
    assert c["decision"] == "REFER"
    [r] = [x for x in c["reasons"] if x["code"] == "watchlist.match"]
    assert r["variant"] == "wanted"
    assert "refer to the police; detain as the law provides" in r["message"]


def test_south_africans_visiting_lesotho_have_a_stay_rule(engine, tmp_path, auth_headers) -> None:  # type: ignore[no-untyped-def]
    with _client(engine, tmp_path, "LS") as ls:
        officer = auth_headers("border_officer", port="MSU")
        c = check(ls, officer, mrz=passport(number="A03000001", nationality="ZAF", surname="NKOSI"))
    codes = [r["code"] for r in c["reasons"]]
    assert "stay.no_rule" not in codes
    assert c["stay"]["rule"] == "ZAF-LSO-VISITOR"
    assert c["decision"] == "CLEAR"
