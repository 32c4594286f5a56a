"""Trafficking and smuggling cases (issue 18, item 4) on SQLite and PostgreSQL, as the Lesotho
node: a person to protect is referred, never denied; an officer opens a case from a check; case
officers alone read and work it (indicators, notes, referral, take, hand over, close), every
read audited and a border officer's attempt refused and audited; bad input refused with
nothing recorded; the pseudonymised export in JSON and CSV; the pages in English and Sesotho."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from factories import passport
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain import cases as rules
from tsela.kernel.clock import FixedClock
from tsela.pseudonyms import case_person_key, pseudonym_secret, traveller_key
from tsela.services.screening import import_watchlist
from tsela.store.cases import Case, CaseEvent
from tsela.store.db import session_factory
from tsela.store.models import AuditEvent, Person

NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)  # 10:00 at the border


@pytest.fixture
def ls(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=tmp_path,
    )
    with TestClient(create_app(settings, engine, FixedClock(NOW))) as client:
        yield client


@pytest.fixture
def officer(auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers("border_officer", port="MSU", username="lerato")


@pytest.fixture
def case_officer(auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers("case_officer", username="mamello", full_name="Mamello Phiri")


def check(client, headers, **body):  # type: ignore[no-untyped-def]
    body.setdefault("port", "MSU")
    body.setdefault("direction", "entry")
    r = client.post("/v1/checks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def open_case(client, headers, check_id, **body):  # type: ignore[no-untyped-def]
    return client.post("/v1/cases", json={"check_id": check_id, **body}, headers=headers)


def count(engine: Engine, model: type) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def audited(engine: Engine, action: str) -> list[AuditEvent]:
    with session_factory(engine)() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


# --------------------------------------------------------------------------- protection


@pytest.mark.parametrize("category", ["protect", "trafficking"])
def test_a_person_to_protect_is_referred_to_a_protection_officer_never_denied(
    ls, officer, engine, category
) -> None:  # type: ignore[no-untyped-def]
    import_watchlist(
        engine,
        list_name="Persons to protect",
        data="name,birth_date,nationality\nLineo Mokoena,1991-03-14,LSO\n",
        fmt="csv",
        actor="test",
        node="LS",
        category=category,  # type: ignore[arg-type]
    )
    c = check(ls, officer, mrz=passport(number="RA7000001"))
    assert c["decision"] == "REFER"  # an exact match, yet never DENY
    [r] = [x for x in c["reasons"] if x["code"].startswith("watchlist.")]
    assert r["code"] == "watchlist.protect" and r["severity"] == "refer"
    assert "protection officer" in r["message"]
    # The console says it too, with the way to open a case.
    page = ls.get(f"/console/checks/{c['check_id']}", headers=officer).text
    assert 'id="protect-hint"' in page and f"/console/checks/{c['check_id']}/case" in page


# --------------------------------------------------------------------------- a case's life


def test_a_case_is_opened_from_a_check_and_worked_to_its_closure(  # type: ignore[no-untyped-def]
    ls, officer, case_officer, auth_headers, engine
) -> None:
    other = auth_headers("case_officer", username="thato")
    c = check(ls, officer, mrz=passport(number="RA7100001"))
    opened = open_case(
        ls, officer, c["check_id"], kind="trafficking",
        indicators=["speaks_for", "documents_held_by_other"], note="A man holds her passport.",
    )  # fmt: skip
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    assert opened.json()["status"] == "open"

    # The desk opened it but may not read it: 403, and the attempt is in the audit log.
    refused = ls.get(f"/v1/cases/{case_id}", headers=officer)
    assert refused.status_code == 403
    [denied] = audited(engine, "access.refused")
    assert denied.actor == "lerato" and denied.entity_id == "case_read"
    assert denied.detail == {
        "method": "GET",
        "path": f"/v1/cases/{case_id}",
        "role": "border_officer",
    }
    assert ls.get("/v1/cases", headers=auth_headers("supervisor")).status_code == 403

    # The case officer finds it among the open ones and reads it (each read audited).
    page = ls.get("/v1/cases?status=open&kind=trafficking", headers=case_officer).json()
    assert page["total"] == 1 and page["items"][0]["traveller_name"] == "LINEO MOKOENA"
    assert ls.get("/v1/cases?kind=smuggling", headers=case_officer).json()["total"] == 0
    case = ls.get(f"/v1/cases/{case_id}", headers=case_officer).json()
    assert case["traveller"]["document_number"] == "RA7100001"
    assert case["check"]["id"] == c["check_id"]
    # The checklist keeps the catalogue's order, whatever order the boxes came in.
    assert case["indicators"] == ["documents_held_by_other", "speaks_for"]
    assert case["indicators_version"] == rules.catalogue().version
    assert [e["kind"] for e in case["events"]] == ["opened"]
    assert case["events"][0]["note"] == "A man holds her passport."
    reads = audited(engine, "case.read")
    assert [(e.actor, e.entity_id) for e in reads] == [("mamello", case_id)]
    listed = audited(engine, "case.list")
    assert listed[0].detail["cases"] == [case_id] and listed[1].detail["cases"] == []

    def post(path: str, body: dict, who: dict = case_officer):  # type: ignore[type-arg]
        r = ls.post(f"/v1/cases/{case_id}/{path}", json=body, headers=who)
        assert r.status_code == 200, r.text
        return r.json()

    got = ls.put(
        f"/v1/cases/{case_id}/indicators",
        json={"indicators": ["speaks_for", "fear", "debt"]},
        headers=case_officer,
    ).json()
    assert got["indicators"] == ["speaks_for", "fear", "debt"]
    changed = got["events"][-1]["detail"]
    assert changed["ticked"] == ["fear", "debt"]
    assert changed["unticked"] == ["documents_held_by_other"]
    post("notes", {"note": "Interviewed with an interpreter."})
    referred = post("referrals", {"agency": "police", "note": "SAPS/LMPS liaison called."})
    assert referred["status"] == "referred" and referred["referrals"] == ["police"]
    assert referred["events"][-1]["detail"]["to"] == "Lesotho Mounted Police Service (LMPS)"
    post("referrals", {"agency": "social_development"})
    assert post("assign", {"to": "mamello"})["assigned_to"] == "mamello"
    again = ls.post(f"/v1/cases/{case_id}/assign", json={"to": "thato"}, headers=case_officer)
    assert again.status_code == 409  # someone has it: hand it over instead
    handed = post("hand-over", {"to": "thato", "note": "Shelter found; court date pending."})
    assert handed["assigned_to"] == "thato"
    assert handed["events"][-1]["detail"]["from"] == "mamello"
    assert handed["events"][-1]["detail"]["to"] == "thato"
    closed = post("close", {"outcome": "victim_protected", "note": "In a shelter."}, other)
    assert closed["status"] == "closed" and closed["outcome"] == "victim_protected"
    assert closed["closed_at"] == NOW.isoformat()
    assert [e["kind"] for e in closed["events"]] == [
        "opened", "indicators", "note", "referred", "referred", "assigned", "handed_over",
        "closed",
    ]  # fmt: skip
    assert [e["actor"] for e in closed["events"]][-1] == "thato"

    # A closed case takes nothing more: 409, recorded nowhere but in the audit log.
    events = count(engine, CaseEvent)
    late = ls.post(f"/v1/cases/{case_id}/notes", json={"note": "Too late"}, headers=case_officer)
    assert late.status_code == 409
    assert count(engine, CaseEvent) == events
    assert [e.detail["refusal"] for e in audited(engine, "case.note_refused")] == [
        "the case is closed: nothing more can be done to it"
    ]
    # Each change is an audit entry of its own.
    for action in ("case.opened", "case.indicators", "case.note", "case.assigned",
                   "case.handed_over", "case.closed"):  # fmt: skip
        assert [e.entity_id for e in audited(engine, action)] == [case_id], action
    assert len(audited(engine, "case.referred")) == 2


def test_bad_input_is_refused_with_nothing_recorded_and_audited(  # type: ignore[no-untyped-def]
    ls, officer, case_officer, auth_headers, engine
) -> None:
    c = check(ls, officer, mrz=passport(number="RA7200001"))
    unknown_kind = open_case(ls, officer, c["check_id"], kind="piracy")
    assert unknown_kind.status_code == 422 and "trafficking" in unknown_kind.json()["detail"]
    unknown_sign = open_case(ls, officer, c["check_id"], kind="smuggling", indicators=["aura"])
    assert unknown_sign.status_code == 422 and "'aura'" in unknown_sign.json()["detail"]
    no_check = open_case(ls, officer, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", kind="smuggling")
    assert no_check.status_code == 404
    # An officer of another port may not open a case from this port's check.
    elsewhere = open_case(ls, auth_headers("border_officer", port="FKB"), c["check_id"],
                          kind="smuggling")  # fmt: skip
    assert elsewhere.status_code == 403
    assert count(engine, Case) == 0 and count(engine, CaseEvent) == 0
    assert len(audited(engine, "case.open_refused")) == 3
    [port] = audited(engine, "access.refused")  # not posted there
    assert port.entity == "port" and port.detail["wanted"] == "open cases"

    case_id = open_case(ls, officer, c["check_id"], kind="smuggling").json()["id"]
    twice = open_case(ls, officer, c["check_id"], kind="document_fraud")
    assert twice.status_code == 409 and count(engine, Case) == 1

    refusals = {
        "hand-over": ({"to": "mamello", "note": "x"}, 422),  # a note of one letter
        "assign": ({"to": "lerato"}, 422),  # a border officer is no case officer
        "referrals": ({"agency": "army"}, 422),
        "close": (
            {"outcome": "victim_protected", "note": "Done and dusted."},
            409,
        ),  # nobody has it
    }
    for path, (body, code) in refusals.items():
        r = ls.post(f"/v1/cases/{case_id}/{path}", json=body, headers=case_officer)
        assert r.status_code == code, (path, r.text)
    assert count(engine, CaseEvent) == 1  # opened, nothing more
    for action in ("case.handed_over_refused", "case.assigned_refused",
                   "case.referred_refused", "case.closed_refused"):  # fmt: skip
        assert [e.entity_id for e in audited(engine, action)] == [case_id], action
    missing = ls.get("/v1/cases/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", headers=case_officer)
    assert missing.status_code == 404


# --------------------------------------------------------------------------- export


def test_the_export_names_no_one_in_json_and_csv(  # type: ignore[no-untyped-def]
    ls, officer, case_officer, engine, tmp_path
) -> None:
    adult = check(ls, officer, mrz=passport(number="RA7300001", surname="NTSANE", given="PULE",
                                            sex="M"))  # fmt: skip
    child = check(ls, officer, mrz=passport(number="RA7300002", surname="MOTAUNG",
                                            given="PALESA", birth=date(2014, 6, 1)))  # fmt: skip
    first = open_case(
        ls,
        officer,
        adult["check_id"],
        kind="illegal_mining",
        indicators=["mining_tools"],
        note="Says the mine pays R500 a day.",
    ).json()
    second = open_case(ls, officer, child["check_id"], kind="trafficking",
                       indicators=["child_unaccompanied"]).json()  # fmt: skip
    ls.post(f"/v1/cases/{second['id']}/referrals", json={"agency": "social_development"},
            headers=case_officer)  # fmt: skip

    r = ls.get("/v1/cases/export?from=2026-05-12&to=2026-05-12", headers=case_officer)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["format"] == "tsela.case-summaries" and doc["version"] == 1
    assert doc["node"] == "LS" and doc["period"] == {"from": "2026-05-12", "to": "2026-05-12"}
    assert doc["fields"] == list(rules.SUMMARY_FIELDS)
    secret = pseudonym_secret(tmp_path)
    with session_factory(engine)() as s:
        people = {p.primary_name: p.id for p in s.scalars(select(Person))}
    rows = {row["case_id"]: row for row in doc["cases"]}
    assert rows[first["id"]] == {
        "case_id": first["id"],
        "node": "LS",
        "kind": "illegal_mining",
        "status": "open",
        "opened_on": "2026-05-12",
        "closed_on": None,
        "port": "MSU",
        "direction": "entry",
        "person_key": case_person_key(secret, people["NTSANE"].hex),
        "sex": "M",
        "age_group": "adult",
        "nationality": "LSO",
        "indicators": ["mining_tools"],
        "referrals": [],
        "outcome": None,
        "indicators_version": rules.catalogue().version,
    }
    assert rows[second["id"]]["age_group"] == "child"
    assert rows[second["id"]]["referrals"] == ["social_development"]
    # The key is keyed, and not the observatory's key of the same traveller.
    assert rows[first["id"]]["person_key"] != traveller_key(secret, people["NTSANE"].hex)
    text = r.text
    for secret_word in ("NTSANE", "PULE", "MOTAUNG", "RA7300001", "RA7300002", "R500",
                        "lerato", str(people["NTSANE"])):  # fmt: skip
        assert secret_word not in text, secret_word

    as_csv = ls.get("/v1/cases/export?format=csv", headers=case_officer)
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == list(rules.SUMMARY_FIELDS)
    by_id = {line[0]: dict(zip(table[0], line, strict=True)) for line in table[1:]}
    assert by_id[second["id"]]["referrals"] == "social_development"
    assert (
        by_id[first["id"]]["closed_on"] == "" and by_id[first["id"]]["indicators"] == "mining_tools"
    )
    assert "NTSANE" not in as_csv.text and "RA7300001" not in as_csv.text

    # Nothing opened in the period: an empty list; a period ending before it starts: 422.
    empty = ls.get("/v1/cases/export?from=2026-06-01", headers=case_officer).json()
    assert empty["cases"] == []
    assert ls.get("/v1/cases/export?from=2026-06-01&to=2026-05-01",
                  headers=case_officer).status_code == 422  # fmt: skip
    exports = audited(engine, "case.export")
    assert [e.detail["n"] for e in exports] == [2, 2, 0]
    assert sorted(exports[0].detail["cases"]) == sorted([first["id"], second["id"]])
    assert ls.get("/v1/cases/export", headers=officer).status_code == 403
    assert len(audited(engine, "access.refused")) == 1


# --------------------------------------------------------------------------- the pages


def test_the_pages_open_a_case_and_work_it_in_sesotho(  # type: ignore[no-untyped-def]
    ls, officer, case_officer, engine
) -> None:
    c = check(ls, officer, mrz=passport(number="RA7400001"))
    form = ls.get(f"/console/checks/{c['check_id']}/case?lang=st", headers=officer)
    assert form.status_code == 200
    assert "Khoebo ea batho" in form.text  # the kinds and indicators in Sesotho
    assert "Motho e mong o buela moeti" in form.text
    done = ls.post(
        f"/console/checks/{c['check_id']}/case",
        data={"kind": "smuggling", "indicators": ["paid_crossing"], "note": "Paid a driver."},
        headers=officer,
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/checks/{c['check_id']}?case=opened"
    assert 'id="case-opened"' in ls.get(done.headers["location"], headers=officer).text
    with session_factory(engine)() as s:
        case_id = s.scalar(select(Case.id))
    # The desk's officer gets the 403 page, and the attempt is audited.
    assert ls.get(f"/cases/{case_id}", headers=officer).status_code == 403
    assert ls.get("/cases", headers=officer).status_code == 403
    assert [e.detail["path"] for e in audited(engine, "access.refused")] == [
        f"/cases/{case_id}",
        "/cases",
    ]

    listing = ls.get("/cases?status=open&lang=st", headers=case_officer)
    assert listing.status_code == 200 and "LINEO MOKOENA" in listing.text
    assert "Ho tšelisa bajaki ka sekhukhu" in listing.text
    page = ls.get(f"/cases/{case_id}", headers=case_officer)
    assert 'id="ind-paid_crossing" name="indicators" value="paid_crossing" checked' in page.text
    taken = ls.post(f"/cases/{case_id}/assign", data={"to": "mamello"}, headers=case_officer,
                    follow_redirects=False)  # fmt: skip
    assert taken.status_code == 303
    refused = ls.post(f"/cases/{case_id}/close?lang=st", data={"outcome": "other", "note": ""},
                      headers=case_officer)  # fmt: skip
    assert refused.status_code == 422 and "Ngola" in refused.text  # the refusal in Sesotho
    ls.post(f"/cases/{case_id}/close", data={"outcome": "not_confirmed", "note": "Relatives."},
            headers=case_officer)  # fmt: skip
    closed = ls.get(f"/cases/{case_id}?lang=st", headers=case_officer).text
    assert 'id="case-closed"' in closed and 'id="close-form"' not in closed
    assert "Matšoao ha a netefatsoa" in closed
    reads = audited(engine, "case.read")
    assert len(reads) == 4  # the page, the refused close shown again, and the two after
    assert json.dumps(reads[0].detail)  # each names the traveller's record
