"""The traveller's identity at the border check (issue 17 item 3), through the API of a South
African node on SQLite and PostgreSQL: the other records shown as "also known as", a REFER
when a linked record holds another state's passport, a ban, a watchlist hit or an overstay,
and a check unchanged while no model is trained.

The identity tables are filled as batch resolution leaves them (``sync_records``: features
and blocking keys; linked records share an ``identity_id``) with a small hand-set model, so
no test here runs Splink."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from factories import add_traveller, passport, passport_lines
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain.identity import COMPARISONS, features
from tsela.kernel.clock import FixedClock
from tsela.services.identity.records import gather, person_key
from tsela.services.identity.resolve import sync_records
from tsela.services.screening import import_watchlist
from tsela.store.db import session_factory, transaction
from tsela.store.identity import IdentityModel, IdentityRecord
from tsela.store.models import Role
from tsela.store.refusals import EntryBan
from web_support import csrf_of, use_fast_password_hashing

NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)  # 10:00 at the border
BIRTH = date(1988, 9, 21)


@pytest.fixture
def za(engine: Engine, tmp_path: Path) -> TestClient:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False), node="ZA", var_dir=tmp_path
    )
    with TestClient(create_app(settings, engine, FixedClock(NOW))) as client:
        yield client


@pytest.fixture
def officer(auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers("border_officer", port="MSU")


def check(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, Any]:
    body.setdefault("port", "MSU")
    body.setdefault("direction", "entry")
    body.setdefault("at", NOW.isoformat())
    r = client.post("/v1/checks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def splink_model() -> dict[str, Any]:
    """A model as Splink saves it: agreeing on a field is strong evidence, differing weak."""
    comparisons = []
    for comp in COMPARISONS:
        n = len(comp.levels) - 1
        levels: list[dict[str, Any]] = [{"is_null_level": True}]
        for i in range(n):
            m = 0.9 if i == 0 else 0.1 / (n - 1)
            u = 0.01 if i == 0 else 0.99 / (n - 1)
            levels.append({"m_probability": m, "u_probability": u})
        comparisons.append({"output_column_name": comp.field, "comparison_levels": levels})
    return {"probability_two_random_records_match": 1e-4, "comparisons": comparisons}


def index(
    engine: Engine, *, linked: Sequence[Sequence[uuid.UUID]] = (), model: bool = True
) -> None:
    """The identity tables as batch resolution leaves them: every person's record with its
    features and candidate keys, ``linked`` people sharing an identity, the model active."""
    with transaction(session_factory(engine)) as s:
        records = gather(s, "ZA")
        sync_records(s, records, [features(r) for r in records])
        for group in linked:
            ident = uuid.uuid4()
            s.execute(
                update(IdentityRecord)
                .where(IdentityRecord.record_key.in_([person_key(p) for p in group]))
                .values(identity_id=ident)
            )
        if model:
            s.add(
                IdentityModel(
                    node="ZA", version="test-border-1", format=1, engine="duckdb",
                    records=len(records), model=splink_model(), active=True,
                )
            )  # fmt: skip


def codes(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["code"], r["variant"]) for r in body["reasons"] if r["code"].startswith("identity.")]


def test_a_new_passport_after_a_loss_shows_the_old_one(za, officer, engine) -> None:  # type: ignore[no-untyped-def]
    old, _doc = add_traveller(engine, "RA1111111", surname="MOHAPI", given="PALESA", birth=BIRTH)
    add_traveller(engine, "RA7000001", surname="NTHATI", given="LERATO", birth=date(1975, 1, 2))
    index(engine)
    # The traveller comes with a new passport: registered at the check as a new person.
    body = check(
        za, officer, mrz=passport("RA2222222", surname="MOHAPI", given="PALESA", birth=BIRTH)
    )
    [aka] = body["also_known_as"]
    assert (aka["document_country"], aka["document_number"]) == ("LSO", "RA1111111")
    assert aka["person_id"] == str(old.id)
    assert aka["linked"] is False and aka["probability"] > 0.99
    # Only a candidate: shown, never a reason.
    assert body["decision"] == "CLEAR" and codes(body) == []


def test_two_valid_passports_of_different_states_refer(za, officer, engine) -> None:  # type: ignore[no-untyped-def]
    ls, _ = add_traveller(
        engine, "RA3333333", surname="MOLAPO", given="THABO", birth=BIRTH, sex="M"
    )
    za_rec, _ = add_traveller(
        engine, "M00123456", surname="MOLAPO", given="THABO", birth=BIRTH, sex="M",
        nationality="ZAF",
    )  # fmt: skip
    index(engine, linked=[[ls.id, za_rec.id]])
    body = check(
        za, officer,
        mrz=passport("RA3333333", surname="MOLAPO", given="THABO", birth=BIRTH, sex="M"),
    )  # fmt: skip
    assert body["decision"] == "REFER"
    assert codes(body) == [("identity.two_passports", "")]
    [reason] = [r for r in body["reasons"] if r["code"] == "identity.two_passports"]
    assert reason["params"]["other_document"] == "ZAF M00123456"
    assert [(a["document_number"], a["linked"]) for a in body["also_known_as"]] == [
        ("M00123456", True)
    ]


def test_a_ban_on_another_record_of_the_person_refers(za, officer, engine) -> None:  # type: ignore[no-untyped-def]
    # Banned under her maiden name; she comes back under her married name on a new passport.
    maiden, _ = add_traveller(engine, "RA4444444", surname="SEEISO", given="MPHO", birth=BIRTH)
    married, _ = add_traveller(engine, "RA5555555", surname="LETSIE", given="MPHO", birth=BIRTH)
    with transaction(session_factory(engine)) as s:
        s.add(
            EntryBan(
                node="ZA", issuing_country="ZAF", legal_basis="Immigration Act s30",
                starts_on=date(2025, 1, 1), ends_on=date(2030, 1, 1), person_id=maiden.id,
                surname="SEEISO", given_names="MPHO", birth_date=BIRTH, nationality="LSO",
                document_country="LSO", document_number="RA4444444", updated_at=NOW,
            )
        )  # fmt: skip
    index(engine, linked=[[maiden.id, married.id]])
    body = check(
        za, officer, mrz=passport("RA5555555", surname="LETSIE", given="MPHO", birth=BIRTH)
    )
    assert body["decision"] == "REFER"
    assert codes(body) == [("identity.other_record", "ban")]
    assert "LSO RA4444444" in next(
        r["message"] for r in body["reasons"] if r["code"] == "identity.other_record"
    )
    # The traveller's own record has no ban: only the linked record gives one.
    assert not any(r["code"].startswith("entry_ban") for r in body["reasons"])


def test_a_watchlist_hit_or_an_overstay_on_another_record_refers(za, officer, engine) -> None:  # type: ignore[no-untyped-def]
    listed, _ = add_traveller(engine, "RA6666666", surname="RAMAKATANE", given="TEBOHO",
                              birth=BIRTH, sex="M")  # fmt: skip
    # Two more records a supervisor linked to it, under other names (the traveller's own name
    # is not on the list).
    stayed, _ = add_traveller(engine, "RA6666000", surname="SEKHONYANA", given="LEHLOHONOLO",
                              birth=date(1980, 1, 1), sex="M")  # fmt: skip
    fresh, _ = add_traveller(engine, "RA6000001", surname="MOTLOMELO", given="PULENG",
                             birth=date(1979, 12, 9), sex="M")  # fmt: skip
    import_watchlist(
        engine, list_name="SAPS wanted", data="name,birth_date,nationality\n"
        "Teboho Ramakatane,1988-09-21,LSO\n", fmt="csv", actor="test", node="ZA",
        category="wanted",  # type: ignore[arg-type]
    )  # fmt: skip
    # The second record entered 60 days ago and never left: overstayed its 30 days.
    za.app.state.clock.set(NOW - timedelta(days=60))  # type: ignore[attr-defined]
    entered = check(
        za, officer, at=(NOW - timedelta(days=60)).isoformat(), mrz=passport(
            "RA6666000", surname="SEKHONYANA", given="LEHLOHONOLO", birth=date(1980, 1, 1),
            sex="M"),
    )  # fmt: skip
    r = za.post(
        "/v1/crossings", json={"check_id": entered["check_id"]},
        headers={**officer, "Idempotency-Key": "in-1"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    za.app.state.clock.set(NOW)  # type: ignore[attr-defined]
    index(engine, linked=[[listed.id, stayed.id, fresh.id]])
    body = check(
        za, officer, mrz=passport(
            "RA6000001", surname="MOTLOMELO", given="PULENG", birth=date(1979, 12, 9), sex="M"),
    )  # fmt: skip
    assert body["decision"] == "REFER"
    assert sorted(codes(body)) == [
        ("identity.other_record", "overstay"),
        ("identity.other_record", "watchlist"),
    ]
    assert body["watchlist_hits"] == []  # the traveller's own record is not on the list


def test_without_a_model_the_check_is_unchanged(za, officer, engine) -> None:  # type: ignore[no-untyped-def]
    ls, _ = add_traveller(
        engine, "RA8888888", surname="MOLAPO", given="THABO", birth=BIRTH, sex="M"
    )
    za_rec, _ = add_traveller(
        engine, "M00888888", surname="MOLAPO", given="THABO", birth=BIRTH, sex="M",
        nationality="ZAF",
    )  # fmt: skip
    index(engine, linked=[[ls.id, za_rec.id]], model=False)
    body = check(
        za, officer,
        mrz=passport("RA8888888", surname="MOLAPO", given="THABO", birth=BIRTH, sex="M"),
    )  # fmt: skip
    assert body["decision"] == "CLEAR"
    assert body["also_known_as"] == [] and codes(body) == []


def test_the_console_result_page_shows_the_other_documents(  # type: ignore[no-untyped-def]
    engine, make_user, tmp_path, monkeypatch
) -> None:
    use_fast_password_hashing(monkeypatch)
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False), node="LS",
        var_dir=tmp_path,
    )  # fmt: skip
    make_user(Role.BORDER_OFFICER, username="lerato", port="MSU")
    add_traveller(engine, "RA1212121", surname="MOHAPI", given="PALESA", birth=BIRTH)
    index(engine)
    with TestClient(create_app(settings, engine, FixedClock(NOW))) as client:
        page = client.get("/login")
        client.post(
            "/login",
            data={"username": "lerato", "password": "correct horse 1",
                  "csrf_token": csrf_of(page.text)},
        )  # fmt: skip
        token = csrf_of(client.get("/console?lang=st").text)
        mrz = "\n".join(passport_lines("RA3434343", surname="MOHAPI", given="PALESA", birth=BIRTH))
        sent = client.post(
            "/console/check", data={"csrf_token": token, "mrz": mrz}, follow_redirects=False
        )
        assert sent.status_code == 303, sent.text
        html = client.get(sent.headers["location"] + "?lang=st").text
        sheet = client.get(sent.headers["location"] + "/sheet").text
    # The printable secondary-inspection sheet says it too.
    assert 'id="sheet-also-known-as"' in sheet
    aka = sheet.split('id="sheet-also-known-as"')[1].split("</section>")[0]
    assert 'data-linked="false"' in aka and "LSO RA1212121" in aka
    assert "mohlomong ke eena" in aka  # "possible match" (the page kept the language)
    assert 'id="also-known-as"' in html
    assert "O boetse o tsejoa e le" in html  # "Also known as" in Sesotho
    assert "LSO RA1212121" in html and "mohlomong ke eena" in html  # a candidate only


def _enter(za: TestClient, officer: dict[str, str], at: datetime, mrz: str, key: str) -> None:
    za.app.state.clock.set(at)  # type: ignore[attr-defined]
    entered = check(za, officer, at=at.isoformat(), mrz=mrz)
    r = za.post(
        "/v1/crossings", json={"check_id": entered["check_id"]},
        headers={**officer, "Idempotency-Key": key},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    za.app.state.clock.set(NOW)  # type: ignore[attr-defined]


@pytest.mark.parametrize("linked", [True, False], ids=["linked", "candidate"])
def test_the_stay_counts_from_the_entry_on_the_old_passport(  # type: ignore[no-untyped-def]
    za, officer, engine, linked
) -> None:
    # She entered on her old passport 40 days ago, then was issued a new one inside the
    # country (a new person record); she leaves on the new one.
    old, _ = add_traveller(engine, "RA7100001", surname="MOSOTHO", given="NTSWAKI", birth=BIRTH)
    new, _ = add_traveller(engine, "RA7100002", surname="MOSOTHO", given="NTSWAKI", birth=BIRTH)
    entry = NOW - timedelta(days=40)
    _enter(za, officer, entry, passport("RA7100001", surname="MOSOTHO", given="NTSWAKI",
                                         birth=BIRTH), "old-in")  # fmt: skip
    index(engine, linked=[[old.id, new.id]] if linked else [])
    body = check(
        za, officer, direction="exit",
        mrz=passport("RA7100002", surname="MOSOTHO", given="NTSWAKI", birth=BIRTH),
    )  # fmt: skip
    stay = body["stay"]
    if linked:
        # One traveller: the stay runs from the entry on the old passport to today.
        assert stay["overstay_days"] == 11
        assert "from 2026-04-02 to 2026-05-12 overstayed by 11 days" in stay["explanation"]
        assert body["decision"] != "CLEAR"
        assert [c["direction"] for c in body["recent_crossings"]] == ["entry"]
        assert body["recent_crossings"][0]["crossed_at"].startswith("2026-04-02")
    else:
        # Only a candidate: shown to the officer, her stay is the new record's alone.
        assert stay["overstay_days"] == 0 and "2026-04-02" not in stay["explanation"]
        assert body["recent_crossings"] == []
        assert [a["linked"] for a in body["also_known_as"]] == [False]


def test_without_a_model_linked_records_do_not_share_a_stay(za, officer, engine) -> None:  # type: ignore[no-untyped-def]
    old, _ = add_traveller(engine, "RA7200001", surname="MOSOTHO", given="NTSWAKI", birth=BIRTH)
    new, _ = add_traveller(engine, "RA7200002", surname="MOSOTHO", given="NTSWAKI", birth=BIRTH)
    _enter(za, officer, NOW - timedelta(days=40), passport(
        "RA7200001", surname="MOSOTHO", given="NTSWAKI", birth=BIRTH), "old-in-2")  # fmt: skip
    index(engine, linked=[[old.id, new.id]], model=False)
    body = check(
        za, officer, direction="exit",
        mrz=passport("RA7200002", surname="MOSOTHO", given="NTSWAKI", birth=BIRTH),
    )  # fmt: skip
    assert body["stay"]["overstay_days"] == 0 and body["recent_crossings"] == []


def test_a_linked_record_is_shown_whatever_the_candidate_cap(engine) -> None:  # type: ignore[no-untyped-def]
    from tsela.services.identity.border import traveller_record
    from tsela.services.identity.realtime import also_known_as

    old, _ = add_traveller(engine, "RA7300001", surname="MOKOENA", given="LINEO", birth=BIRTH)
    new, _ = add_traveller(engine, "RA7300002", surname="MOKOENA", given="LINEO", birth=BIRTH)
    twin, _ = add_traveller(engine, "RA7300003", surname="MOKOENA", given="LINEO", birth=BIRTH)
    index(engine, linked=[[old.id, new.id]])
    record = traveller_record(
        node="ZA", person_id=new.id, surname="MOKOENA", given_names="LINEO", birth_date=BIRTH,
        sex="F", nationality="LSO", number="RA7300002", issuing_state="LSO",
    )  # fmt: skip
    with session_factory(engine)() as s:
        wide = [(a.person_id, a.linked) for a in also_known_as(s, record)]
        none = [(a.person_id, a.linked) for a in also_known_as(s, record, cap=0)]
    assert wide == [(old.id, True), (twin.id, False)]
    assert none == [(old.id, True)]  # no candidate scored: the linked record still shown
