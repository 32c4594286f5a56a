"""Entry bans in the browser (issue 18, item 2), on SQLite and PostgreSQL, at the South
African node: a supervisor imposes a ban from a refusal, finds it in the list (search,
paging), and lifts it with a reason and a confirmation; bad input re-shows the form with
why and changes nothing; an officer reads the bans but may not change them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from factories import passport
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.kernel.clock import FixedClock
from tsela.store.db import session_factory
from tsela.store.models import AuditEvent
from tsela.store.refusals import EntryBan, EntryBanChange
from web_support import csrf_of, use_fast_password_hashing

NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


def _app(engine: Engine, tmp_path: Path) -> TestClient:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="ZA",
        var_dir=tmp_path,
    )
    return TestClient(create_app(settings, engine, FixedClock(NOW)))


def _sign_in(client: TestClient, user: object) -> None:
    page = client.get("/login")
    client.post(
        "/login",
        data={"username": user.username, "password": "correct horse 1",  # type: ignore[attr-defined]
              "csrf_token": csrf_of(page.text)},
    )  # fmt: skip


def _count(engine: Engine, model: type) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def refused(engine: Engine, tmp_path: Path, auth_headers) -> str:  # type: ignore[no-untyped-def]
    """A traveller refused entry at Maseru Bridge (South African side): the refusal's id."""
    officer = auth_headers("border_officer", port="MSU")
    with _app(engine, tmp_path) as api:
        check = api.post(
            "/v1/checks",
            json={"port": "MSU", "direction": "entry", "mrz": passport(number="RA1000001")},
            headers=officer,
        )
        assert check.status_code == 201, check.text
        r = api.post(
            "/v1/refusals",
            json={"check_id": check.json()["check_id"], "grounds": ["D"]},
            headers=officer,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def test_a_supervisor_imposes_finds_and_lifts_a_ban(
    engine: Engine, tmp_path: Path, refused: str, make_user
) -> None:  # type: ignore[no-untyped-def]
    with _app(engine, tmp_path) as web:
        _sign_in(web, make_user("supervisor"))
        notice = web.get(f"/refusals/{refused}/notice?lang=en")
        assert f'href="/refusals/{refused}/ban"' in notice.text  # offered to a supervisor
        form = web.get(f"/refusals/{refused}/ban")
        assert form.status_code == 200 and "Impose an entry ban" in form.text
        token = csrf_of(form.text)

        # An end before the start: the form again, with why and what was typed; no ban.
        bad = web.post(
            f"/refusals/{refused}/ban",
            data={"starts_on": "2026-05-12", "ends_on": "2026-05-01", "ground": "D",
                  "csrf_token": token},
        )  # fmt: skip
        assert bad.status_code == 422 and "before it starts" in bad.text
        assert 'value="2026-05-01"' in bad.text
        assert _count(engine, EntryBan) == 0

        made = web.post(
            f"/refusals/{refused}/ban",
            data={"starts_on": "2026-05-12", "ends_on": "2027-05-11", "ground": "D",
                  "csrf_token": token},
            follow_redirects=False,
        )  # fmt: skip
        assert made.status_code == 303
        ban_url = made.headers["location"].split("?")[0]
        page = web.get(made.headers["location"])
        assert "The entry ban is recorded" in page.text and "In force" in page.text

        # The list finds it by surname and by document number; a stranger's name finds none.
        listed = web.get("/bans")
        assert 'href="/bans"' in listed.text  # in the navigation
        assert ban_url in listed.text and "1 entry bans" in listed.text
        assert ban_url in web.get("/bans?q=moko").text
        assert ban_url in web.get("/bans?q=RA 1000001").text
        assert "No entry ban matches" in web.get("/bans?q=Zulu").text
        web.cookies.set("tsela_lang", "st")
        assert "Lithibelo tsa ho kena" in web.get("/bans").text
        web.cookies.set("tsela_lang", "en")

        # Lifting: not without the confirmation, not without a reason; then done, audited.
        token = csrf_of(page.text)
        change = {"action": "lift", "reason": "Appeal upheld by the Director-General.",
                  "csrf_token": token}  # fmt: skip
        unconfirmed = web.post(f"{ban_url}/change", data=change)
        assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
        short = web.post(f"{ban_url}/change", data={**change, "reason": "ok", "confirm": "yes"})
        assert short.status_code == 422 and "Appeal upheld" not in short.text
        assert _count(engine, EntryBanChange) == 0
        lifted = web.post(
            f"{ban_url}/change", data={**change, "confirm": "yes"}, follow_redirects=False
        )
        assert lifted.status_code == 303
        after = web.get(lifted.headers["location"])
        assert "The entry ban is lifted." in after.text and "Lifted" in after.text
        assert "Appeal upheld by the Director-General." in after.text  # the history
        assert 'id="ban-change"' not in after.text  # nothing more to change
    with session_factory(engine)() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action.like("entry_ban.%"))).all()


def test_an_officer_reads_bans_but_may_not_change_them(
    engine: Engine, tmp_path: Path, refused: str, make_user, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    supervisor = auth_headers("supervisor")
    with _app(engine, tmp_path) as api:
        r = api.post(
            "/v1/entry-bans",
            json={"refusal_id": refused, "starts_on": "2026-05-12", "ends_on": "2027-05-11"},
            headers=supervisor,
        )
        assert r.status_code == 201, r.text
        ban_id = r.json()["id"]
    with _app(engine, tmp_path) as web:
        _sign_in(web, make_user("border_officer", port="MSU"))
        page = web.get(f"/bans/{ban_id}")
        assert page.status_code == 200 and "In force" in page.text
        assert 'id="ban-change"' not in page.text
        assert f'href="/refusals/{refused}/ban"' not in web.get(f"/refusals/{refused}/notice").text
        refused_change = web.post(
            f"/bans/{ban_id}/change",
            data={"action": "lift", "reason": "no reason at all here", "confirm": "yes",
                  "csrf_token": csrf_of(page.text)},
        )  # fmt: skip
        assert refused_change.status_code == 403
    assert _count(engine, EntryBanChange) == 0
