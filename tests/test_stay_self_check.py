"""A traveller's own days-left check (issue 20, item 4): public, the same answer to any
mismatch, rate-limited per address, audited without the passport number; the page in
English and Sesotho.

South Africa's node, its clock at 20 December 2026, 10:00; a Mosotho who entered South Africa
at Maseru Bridge on 30 November (21 days used of the 30-day visitor exemption, counting both
ends, so 9 left and out by 29 December).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from _matching import crossing
from factories import BIRTH, EXPIRY, NUMBER, add_traveller
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.kernel.clock import FixedClock
from tsela.services.stay_self_check import POLICY
from tsela.store.db import session_factory
from tsela.store.models import AuditEvent

NOW = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)
ASK = {
    "document_number": NUMBER,
    "birth_date": BIRTH.isoformat(),
    "expiry_date": EXPIRY.isoformat(),
}


@pytest.fixture
def south_africa(engine: Engine) -> Iterator[TestClient]:
    person, doc = add_traveller(engine, node="ZA")
    crossing(engine, "ZA", person, doc, "entry", datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="ZA",
        var_dir=Path("var"),
    )
    with TestClient(create_app(settings, engine, clock=FixedClock(NOW))) as client:
        yield client


def test_the_traveller_sees_days_used_and_the_last_day_to_leave(south_africa: TestClient) -> None:
    answer = south_africa.post("/v1/stay/self-check", json=ASK)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "found": True,
        "country": "ZAF",
        "rule": "LSO-ZAF-VISITOR",
        "inside": True,
        "days_used": 21,
        "days_remaining": 9,
        "latest_exit": "2026-12-29",
        "permit_lifts_limit": False,
    }
    # Typed as people type it: lower case, spaces.
    loose = south_africa.post("/v1/stay/self-check", json={**ASK, "document_number": "ra 1234 567"})
    assert loose.json()["days_remaining"] == 9


@pytest.mark.parametrize(
    "wrong",
    [
        {"birth_date": "1991-03-15"},
        {"expiry_date": "2031-05-02"},
        {"document_number": "RA1234568"},
        {"document_number": "X" * 30},
    ],
)
def test_any_mismatch_gives_one_answer_that_tells_nothing(
    south_africa: TestClient, wrong: dict[str, str]
) -> None:
    answer = south_africa.post("/v1/stay/self-check", json={**ASK, **wrong})
    assert answer.status_code == 200
    assert (
        answer.content
        == south_africa.post(
            "/v1/stay/self-check", json={**ASK, "document_number": "NOSUCH999"}
        ).content
    )
    assert answer.json() == {
        "found": False, "country": None, "rule": None, "inside": None, "days_used": None,
        "days_remaining": None, "latest_exit": None, "permit_lifts_limit": None,
    }  # fmt: skip


def test_a_burst_from_one_address_is_slowed_and_audited(
    south_africa: TestClient, engine: Engine
) -> None:
    for i in range(POLICY.free):
        attempt = south_africa.post(
            "/v1/stay/self-check", json={**ASK, "document_number": f"GUESS{i:04d}"}
        )
        assert attempt.status_code == 200, (i, attempt.text)
    refused = south_africa.post("/v1/stay/self-check", json=ASK)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(int(POLICY.first_wait.total_seconds()))
    assert "too many checks" in refused.json()["detail"]
    with session_factory(engine)() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "stay.self_check")).all()
    # Every attempt is audited (the rows come in no particular order: the clock stands still).
    outcomes = sorted(e.detail["outcome"] for e in events)
    assert outcomes == ["no_match"] * POLICY.free + ["throttled"]
    # The passport numbers typed are not in the audit log.
    logged = " ".join(f"{e.entity_id} {e.detail}" for e in events)
    assert "GUESS" not in logged and NUMBER not in logged


def test_bad_input_is_named(south_africa: TestClient) -> None:
    answer = south_africa.post(
        "/v1/stay/self-check", json={**ASK, "birth_date": "14/03/1991", "extra": 1}
    )
    assert answer.status_code == 422
    fields = {tuple(e["loc"]) for e in answer.json()["detail"]}
    assert fields == {("body", "birth_date"), ("body", "extra")}


def _form(client: TestClient, lang: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    from web_support import csrf_of

    page = client.get(f"/stay-check?lang={lang}")
    assert page.status_code == 200
    return client.post("/stay-check", data={"csrf_token": csrf_of(page.text), **data})


def test_the_page_in_english_and_sesotho(south_africa: TestClient) -> None:
    said = {
        "en": ("Days of stay in South Africa", "days of stay remaining", "We found no passport"),
        "st": ("Matsatsi a ho lula", "Nka lula nako e kae hape?", "Ha rea fumana phasepoto"),
    }
    for lang, (heading, words, none) in said.items():
        page = _form(south_africa, lang, ASK)
        assert page.status_code == 200
        text = html.unescape(page.text)
        assert 'id="stay-days">9<' in text and heading in text and words in text, lang
        assert NUMBER not in str(page.url)  # the details stay out of the address
        missing = _form(south_africa, lang, {**ASK, "birth_date": "1991-03-15"})
        assert none in html.unescape(missing.text), lang
        assert 'id="stay-days"' not in missing.text


def test_the_page_keeps_what_was_typed_and_names_what_is_missing(
    south_africa: TestClient,
) -> None:
    page = _form(south_africa, "en", {**ASK, "birth_date": ""})
    assert page.status_code == 400
    assert "Enter your date of birth." in page.text
    assert f'value="{NUMBER}"' in page.text and f'value="{EXPIRY.isoformat()}"' in page.text
