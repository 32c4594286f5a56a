"""Children crossing the border (issue 18, item 3) through POST /v1/checks, on SQLite and
PostgreSQL, as the South African node at Maseru Bridge: the age on the border day, the
documents Immigration Regulation 6(12) asks for by the way the child travels, a child alone
or without the other parent's consent referred, and the child's check linked to the checks
of the adults accompanying them (and so to their crossings)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from factories import passport
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain import children
from tsela.domain.reasons import words
from tsela.kernel.clock import FixedClock
from tsela.store.checks import BorderCheck, CheckCompanion
from tsela.store.db import session_factory
from tsela.store.models import Crossing

# 01:30 at the border on 12 May 2026, still 11 May in UTC: the age counts on the border day.
NOW = datetime(2026, 5, 11, 23, 30, tzinfo=UTC)
BORDER_DAY = date(2026, 5, 12)
CHILD = date(2016, 2, 3)  # 10 years old
MOTHER, FATHER = "RA7000001", "RA7000002"
PASSWORD = "correct horse 1"


@pytest.fixture
def za(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="ZA",
        var_dir=tmp_path,
    )
    with TestClient(create_app(settings, engine, FixedClock(NOW))) as client:
        yield client


@pytest.fixture
def officer(auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers("border_officer", port="MSU")


def check(client, headers, status=201, **body):  # type: ignore[no-untyped-def]
    body.setdefault("port", "MSU")
    body.setdefault("direction", "entry")
    r = client.post("/v1/checks", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


def parents(za, officer) -> None:  # type: ignore[no-untyped-def]
    check(
        za, officer, mrz=passport(MOTHER, surname="MOKOENA", given="LINEO", birth=date(1988, 1, 9))
    )
    check(
        za,
        officer,
        mrz=passport(FATHER, surname="MOKOENA", given="TEBOHO", sex="M", birth=date(1985, 7, 1)),
    )


def child_mrz(number: str = "RA7100001", birth: date = CHILD) -> str:
    return passport(number, surname="MOKOENA", given="NALEDI", birth=birth)


def codes(answer: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {r["code"]: r["severity"] for r in answer["reasons"]}


def test_a_child_with_both_parents_and_the_birth_certificate_seen_is_clear(
    za, officer, engine
) -> None:  # type: ignore[no-untyped-def]
    parents(za, officer)
    c = check(
        za,
        officer,
        mrz=child_mrz(),
        child={
            "case": "both_parents",
            "documents_seen": ["birth_certificate"],
            "adults": [MOTHER, f" {FATHER.lower()} "],
        },
    )
    assert c["decision"] == "CLEAR", c["reasons"]
    assert codes(c)["child.documents"] == "info"
    [info] = [r for r in c["reasons"] if r["code"] == "child.documents"]
    assert info["message"] == (
        "A child (10 years old) travelling with both parents; documents seen: unabridged "
        "birth certificate."
    )
    assert "le batsoali ka bobeli" in words(info, "st")
    assert c["child"]["age"] == 10 and c["child"]["documents_missing"] == []
    assert {a["document_number"] for a in c["child"]["accompanied_by"]} == {MOTHER, FATHER}
    # The crossing recorded from the child's check leads to both parents' checks.
    r = za.post(
        "/v1/crossings",
        json={"check_id": c["check_id"]},
        headers={**officer, "Idempotency-Key": "child-1"},
    )
    assert r.status_code == 201, r.text
    with session_factory(engine)() as s:
        crossing = s.scalars(
            select(Crossing).where(Crossing.check_id == uuid.UUID(c["check_id"]))
        ).one()
        adults = s.scalars(
            select(CheckCompanion.document_number).where(
                CheckCompanion.check_id == crossing.check_id
            )
        ).all()
        assert sorted(adults) == [MOTHER, FATHER]
        kept = s.get(BorderCheck, crossing.check_id)
        assert kept is not None
        assert (kept.child_case, kept.child_documents) == ("both_parents", ["birth_certificate"])


def test_a_child_with_one_parent_and_no_consent_affidavit_is_referred(za, officer) -> None:  # type: ignore[no-untyped-def]
    parents(za, officer)
    c = check(
        za,
        officer,
        mrz=child_mrz(),
        child={"case": "one_parent", "documents_seen": ["birth_certificate"], "adults": [MOTHER]},
    )
    assert c["decision"] == "REFER"
    [missing] = [r for r in c["reasons"] if r["code"] == "child.documents_missing"]
    assert missing["severity"] == "refer"
    assert "not seen: parental consent affidavit or court order" in missing["message"]
    assert "afidavite ea tumello ea motsoali" in words(missing, "st")
    assert c["child"]["documents_missing"] == [
        ["consent_affidavit", "court_order", "death_certificate"]
    ]
    # With the affidavit seen, the same child crosses.
    ok = check(
        za,
        officer,
        mrz=child_mrz(),
        child={
            "case": "one_parent",
            "documents_seen": ["birth_certificate", "consent_affidavit"],
            "adults": [MOTHER],
        },
    )
    assert ok["decision"] == "CLEAR", ok["reasons"]


def test_a_child_alone_is_referred_even_with_every_document(za, officer) -> None:  # type: ignore[no-untyped-def]
    every = list(children.rules().documents)
    c = check(za, officer, mrz=child_mrz(), child={"case": "alone", "documents_seen": every})
    assert c["decision"] == "REFER"
    assert codes(c)["child.alone"] == "refer"
    [alone] = [r for r in c["reasons"] if r["code"] == "child.alone"]
    assert alone["message"].startswith("A child (10 years old) travelling alone: ")
    assert "not seen" not in alone["message"]


def test_a_child_with_nothing_recorded_is_referred_and_an_adult_named_must_be_checked_here(
    za, officer, engine
) -> None:  # type: ignore[no-untyped-def]
    c = check(za, officer, mrz=child_mrz())
    assert c["decision"] == "REFER"
    assert codes(c) == {"child.unrecorded": "refer", **codes(c)}
    assert c["child"] == {
        "age": 10,
        "case": None,
        "documents_required": [],
        "documents_seen": [],
        "documents_missing": [],
        "accompanied_by": [],
    }
    # An adult not checked at this desk, an unknown document: 422, nothing recorded.
    before = _checks(engine)
    bad = check(
        za,
        officer,
        status=422,
        mrz=child_mrz(),
        child={"case": "one_parent", "adults": ["ZZ999"]},
    )
    assert "no check of document ZZ999 at this port" in bad["detail"]
    bad = check(
        za,
        officer,
        status=422,
        mrz=child_mrz(),
        child={"case": "both_parents", "documents_seen": ["school_report"]},
    )
    assert "unknown document school_report" in bad["detail"]
    assert _checks(engine) == before


def _checks(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(BorderCheck)) or 0


def test_the_age_counts_on_the_border_day(za, officer) -> None:  # type: ignore[no-untyped-def]
    # 18 on the border day (12 May at the border, still 11 May in UTC): an adult.
    adult = check(za, officer, mrz=child_mrz("RA7200001", birth=date(2008, 5, 12)))
    assert adult["child"] is None
    assert not [r for r in adult["reasons"] if r["code"].startswith("child.")]
    # 18 tomorrow: still a child today.
    minor = check(za, officer, mrz=child_mrz("RA7200002", birth=date(2008, 5, 13)))
    assert minor["child"]["age"] == 17
    assert codes(minor)["child.unrecorded"] == "refer"
    [unrecorded] = [r for r in minor["reasons"] if r["code"] == "child.unrecorded"]
    assert unrecorded["params"]["day"] == BORDER_DAY.isoformat()


def test_age_on_counts_completed_years() -> None:
    assert children.age_on(date(2016, 2, 29), date(2026, 2, 28)) == 9
    assert children.age_on(date(2016, 2, 29), date(2026, 3, 1)) == 10
    assert children.is_child(date(2008, 5, 13), BORDER_DAY)
    assert not children.is_child(date(2008, 5, 12), BORDER_DAY)
    assert not children.is_child(None, BORDER_DAY)


# --- the console -----------------------------------------------------------------------------


@pytest.fixture
def console(za, make_user, monkeypatch):  # type: ignore[no-untyped-def]
    from web_support import csrf_of, use_fast_password_hashing

    use_fast_password_hashing(monkeypatch)
    make_user("border_officer", username="thabo", port="MSU")
    page = za.get("/login")
    signed = za.post(
        "/login",
        data={"username": "thabo", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text

    def post(data: dict[str, object], lang: str = "en"):  # type: ignore[no-untyped-def]
        token = csrf_of(za.get(f"/console?lang={lang}").text)
        return za.post("/console/check", data={"csrf_token": token, **data})

    return post


def test_the_console_lists_the_documents_and_records_what_was_seen(console, engine) -> None:  # type: ignore[no-untyped-def]
    mother = passport(MOTHER, surname="MOKOENA", given="LINEO", birth=date(1988, 1, 9))
    assert "CLEAR" in console({"mrz": mother, "direction": "entry"}).text
    first = console({"mrz": child_mrz(), "direction": "entry"})
    assert first.status_code == 200
    page = first.text
    assert 'id="child-travel"' in page and "A child travelling (10 years old)" in page
    assert 'data-code="child.unrecorded"' in page
    assert "parental consent affidavit" in page  # the documents required are listed
    # The officer ticks the birth certificate, names the mother: one parent, no consent.
    again = console(
        {
            "document_number": "RA7100001",
            "issuing_state": "LSO",
            "direction": "entry",
            "child_case": "one_parent",
            "documents_seen": ["birth_certificate"],
            "adults": MOTHER,
        }
    )
    assert 'data-code="child.documents_missing"' in again.text
    assert "Accompanied by:" in again.text and "LINEO MOKOENA" in again.text
    with session_factory(engine)() as s:
        kept = s.scalars(select(BorderCheck.child_case).where(BorderCheck.child_case.is_not(None)))
        assert kept.all() == ["one_parent"]
        assert s.scalar(select(CheckCompanion.document_number)) == MOTHER
    # In Sesotho, the same page says the case and the documents in Sesotho.
    st = console({"mrz": child_mrz(), "direction": "entry"}, lang="st").text
    assert "Ngoana o tsamaea le mang?" in st and "le motsoali a le mong" in st
    assert "afidavite ea tumello ea motsoali" in st
