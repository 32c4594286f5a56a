"""The officer console shows the other country's record of the crossing, in English and
Sesotho (TestClient, on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from _matching import partner
from factories import passport
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.kernel.clock import FixedClock
from tsela.store.models import Role
from web_support import csrf_of, use_fast_password_hashing

PASSWORD = "correct horse 1"


NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)  # 10:00 at the border


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture
def officer(engine: Engine, tmp_path: Path, make_user) -> TestClient:  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="ZA",
        var_dir=tmp_path,
    )
    make_user(Role.BORDER_OFFICER, username="sipho", port="MSU", password=PASSWORD)
    client = TestClient(create_app(settings, engine, FixedClock(NOW)))
    page = client.get("/login")
    signed = client.post(
        "/login",
        data={"username": "sipho", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return client


def _scan(client: TestClient, lang: str) -> str:
    page = client.get(f"/console?lang={lang}")
    body = {
        "csrf_token": csrf_of(page.text),
        "mrz": passport(),
        "direction": "entry",
    }
    result = client.post("/console/check", data=body)
    assert result.status_code == 200, result.text
    return result.text


def test_the_console_shows_the_other_countrys_record(officer: TestClient, engine: Engine) -> None:
    # The console checks at the server's time (NOW); the record is from 11 minutes before it.
    left = NOW - timedelta(minutes=11)
    local = (left + timedelta(hours=2)).strftime("%H:%M")
    partner(
        engine,
        "LS",
        [{"direction": "exit", "crossed_at": left.isoformat(), "surname": "MOKOENE"}],
    )
    english = _scan(officer, "en")
    assert "The other country's record" in english
    assert f"Left Lesotho at Maseru Bridge {local}, " in english
    assert "Their record differs from ours: surname" in english
    sesotho = _scan(officer, "st")
    assert f"O tsoile Lesotho hekeng ea Maseru Bridge ka {local}, metsotso e " in sesotho
    assert "Rekoto ea bona e fapane le ea rona: surname" in sesotho


def test_without_a_partner_record_the_console_shows_none(officer: TestClient) -> None:
    assert 'id="partner-crossing"' not in _scan(officer, "en")
