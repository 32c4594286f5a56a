"""The administrator's pages (TestClient, on SQLite and PostgreSQL): who may open them, forms
without their CSRF token refused, and what each change leaves in the accounts and the log.
The daily walk through them in Chromium is tests/browser/test_admin_browser.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tsela.api.app import create_app
from tsela.config import Settings
from tsela.kernel.clock import FixedClock
from tsela.services import accounts, audit
from tsela.store.auth import ApiToken
from tsela.store.db import session_factory, transaction
from tsela.store.models import AuditEvent, Role, User
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


def signed_in(app, username: str, password: str = PASSWORD) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    page = client.get("/login")
    done = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return client


def user_row(engine: Engine, username: str) -> User:
    with session_factory(engine)() as s:
        found = s.scalar(select(User).where(User.username == username))
        assert found is not None
        s.expunge(found)
        return found


def post(client: TestClient, page_url: str, action: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    page = client.get(page_url)
    return client.post(action, data={"csrf_token": csrf_of(page.text), **data})


def test_only_the_administrator_opens_the_admin_pages(app, engine, make_user) -> None:  # type: ignore[no-untyped-def]
    target = make_user(Role.ANALYST, username="target")
    make_user(Role.SUPERVISOR, username="sup")
    make_user(Role.ADMIN, username="root")
    supervisor = signed_in(app, "sup")
    pages = [
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{target.id}",
        f"/admin/users/{target.id}/disable",
        "/admin/watchlists",
        "/admin/audit",
    ]
    for path in pages:
        refused = supervisor.get(path)
        assert refused.status_code == 403, path
        assert "Your role may not open this page." in refused.text
    # Not even with a good form token of the supervisor's own session.
    token = csrf_of(supervisor.get("/review").text)
    for action in (f"/admin/users/{target.id}/disable", "/admin/audit/verify"):
        assert supervisor.post(action, data={"csrf_token": token}).status_code == 403
    assert user_row(engine, "target").active
    # The navigation offers the pages to the administrator alone.
    assert 'href="/admin/users"' not in supervisor.get("/review").text
    admin = signed_in(app, "root")
    home = admin.get("/")
    for link in ("/admin/users", "/admin/watchlists", "/admin/audit"):
        assert f'href="{link}"' in home.text
        assert admin.get(link).status_code == 200


def test_a_form_without_its_csrf_token_changes_nothing(app, engine, make_user) -> None:  # type: ignore[no-untyped-def]
    target = make_user(Role.ANALYST, username="target")
    make_user(Role.ADMIN, username="root")
    admin = signed_in(app, "root")
    attempts = {
        f"/admin/users/{target.id}/disable": {},
        f"/admin/users/{target.id}/role": {"role": "supervisor"},
        f"/admin/users/{target.id}/password": {
            "password": "a new secret 42",
            "password_again": "a new secret 42",
        },
        "/admin/users/new": {
            "username": "intruder",
            "role": "admin",
            "password": "a new secret 42",
            "password_again": "a new secret 42",
        },
    }
    for action, data in attempts.items():
        for token in (None, "x" * 43):
            sent = data | ({"csrf_token": token} if token else {})
            refused = admin.post(action, data=sent)
            assert refused.status_code == 403, action
            assert "did not come from Tsela" in refused.text
    row = user_row(engine, "target")
    assert row.active and row.role is Role.ANALYST
    with session_factory(engine)() as s:
        assert s.scalar(select(User).where(User.username == "intruder")) is None
    signed_in(app, "target")  # the old password still works


def test_the_administrator_manages_an_account(app, engine, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.ADMIN, username="root")
    admin = signed_in(app, "root")
    # A border officer needs a port; the refusal is in words, the form keeps what was typed.
    refused = post(
        admin,
        "/admin/users/new",
        "/admin/users/new",
        {
            "username": "Lineo",
            "full_name": "Lineo Mokoena",
            "role": "border_officer",
            "password": "first secret 1",
            "password_again": "first secret 1",
        },
    )
    assert refused.status_code == 400
    assert "A border officer must be posted at a port: choose one." in refused.text
    assert 'value="Lineo Mokoena"' in refused.text
    created = post(
        admin,
        "/admin/users/new",
        "/admin/users/new",
        {
            "username": "Lineo",
            "full_name": "Lineo Mokoena",
            "role": "border_officer",
            "port": "MSU",
            "password": "first secret 1",
            "password_again": "first secret 1",
        },
    )
    assert created.status_code == 200
    assert "The user has been created." in created.text
    assert "first secret 1" not in created.text  # never shown back
    lineo = user_row(engine, "lineo")
    assert lineo.role is Role.BORDER_OFFICER
    page_url = f"/admin/users/{lineo.id}"

    found = admin.get("/admin/users?q=mokoe")
    assert f'href="{page_url}"' in found.text
    assert "Users found: 1" in found.text
    assert "Users found: 0" in admin.get("/admin/users?q=nobody").text

    moved = post(admin, page_url, f"{page_url}/role", {"role": "supervisor", "port": ""})
    assert "Role and port saved." in moved.text
    assert user_row(engine, "lineo").role is Role.SUPERVISOR

    # A token to revoke: listed by label, revoked after a confirmation page.
    with transaction(session_factory(engine)) as s:
        accounts.issue_api_token(s, s.merge(lineo), label="laptop")
    with session_factory(engine)() as s:
        token_id = s.scalar(select(ApiToken.id).where(ApiToken.label == "laptop"))
    assert "laptop" in admin.get(page_url).text
    confirm = admin.get(f"{page_url}/tokens/{token_id}/revoke")
    assert "Revoke this API token of lineo?" in confirm.text
    done = admin.post(
        f"{page_url}/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert "The token has been revoked." in done.text
    with session_factory(engine)() as s:
        assert s.scalar(select(ApiToken.revoked_at).where(ApiToken.id == token_id)) is not None

    confirm = admin.get(f"{page_url}/disable")
    assert "Disable lineo?" in confirm.text
    admin.post(f"{page_url}/disable", data={"csrf_token": csrf_of(confirm.text)})
    assert not user_row(engine, "lineo").active
    gone = TestClient(app)
    login = gone.get("/login")
    denied = gone.post(
        "/login",
        data={"username": "lineo", "password": "first secret 1", "csrf_token": csrf_of(login.text)},
    )
    assert denied.status_code == 401

    enabled = post(admin, page_url, f"{page_url}/enable", {})
    assert "The user has been enabled" in enabled.text
    differ = post(
        admin,
        page_url,
        f"{page_url}/password",
        {"password": "second secret 2", "password_again": "second secret 3"},
    )
    assert differ.status_code == 400
    assert "The two passwords differ" in differ.text
    reset = post(
        admin,
        page_url,
        f"{page_url}/password",
        {"password": "second secret 2", "password_again": "second secret 2"},
    )
    assert "The password has been changed" in reset.text
    signed_in(app, "lineo", "second secret 2")

    # The administrator cannot lock themselves out.
    me = user_row(engine, "root")
    own = post(admin, f"/admin/users/{me.id}", f"/admin/users/{me.id}/disable", {})
    assert own.status_code == 409
    assert "You cannot disable your own account." in own.text

    with session_factory(engine)() as s:
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.actor == "root")))
    assert {
        "user.create",
        "user.role",
        "user.token_revoke",
        "user.disable",
        "user.enable",
        "user.password_reset",
    } <= actions


def test_the_pages_speak_sesotho(app, make_user) -> None:  # type: ignore[no-untyped-def]
    target = make_user(Role.ANALYST, username="target")
    make_user(Role.ADMIN, username="root")
    admin = signed_in(app, "root")
    for path in (
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{target.id}",
        f"/admin/users/{target.id}/disable",
        "/admin/watchlists",
        "/admin/audit",
    ):
        english = admin.get(path + "?lang=en").text
        sesotho = admin.get(path + "?lang=st").text
        heading = re.search(r"<h1>(.*?)</h1>", sesotho, re.S)
        assert heading, path
        if path != f"/admin/users/{target.id}":  # that page's heading is the username
            assert heading.group(1) not in english, path


BAD_LIST = (
    "name,birth_date,nationality\n"
    "MOKOENA Thabo,1980-02-03,LSO\n"
    "NKOSI Sipho,not a date,ZAF\n"
    "LETSIE Mpho,1975-11-30,LSO\n"
)


def test_a_watchlist_import_lists_its_bad_rows(app, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.ADMIN, username="root")
    admin = signed_in(app, "root")
    page = admin.get("/admin/watchlists")
    fields = {
        "csrf_token": csrf_of(page.text),
        "list_name": "interpol-red",
        "kind": "person",
        "fmt": "csv",
        "category": "wanted",
    }
    refused = admin.post(
        "/admin/watchlists", data=fields, files={"file": ("red.csv", BAD_LIST, "text/csv")}
    )
    assert refused.status_code == 409  # one row in three is bad: more than 5%
    assert "Nothing was imported: the list is unchanged." in refused.text
    assert re.search(r"<td>3</td><td[^>]*>[^<]*birth", refused.text), refused.text
    confirmed = admin.post(
        "/admin/watchlists",
        data=fields | {"confirm": "1"},
        files={"file": ("red.csv", BAD_LIST, "text/csv")},
    )
    assert confirmed.status_code == 200
    assert "List interpol-red imported as version 1: 2 entries loaded" in confirmed.text
    assert re.search(r"<td>3</td><td[^>]*>[^<]*birth", confirmed.text)


def test_the_audit_log_filters_and_verifies(app, engine, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.ADMIN, username="root")
    make_user(Role.ANALYST, username="ana")
    admin = signed_in(app, "root")
    signed_in(app, "ana")
    mine = admin.get("/admin/audit?actor=ana")
    assert "login.ok" in mine.text
    assert ">root<" not in mine.text
    bad_day = admin.get("/admin/audit?from=12/05/2026")
    assert bad_day.status_code == 400
    assert "A day must be a date like 2026-11-25." in bad_day.text
    # Border days: 22:30 UTC on 10 May is 00:30 on the 11th at the border.
    with transaction(session_factory(engine)) as s:
        for at, what in ((datetime(2026, 5, 9, 21, 0, tzinfo=UTC), "permit.read"),
                         (datetime(2026, 5, 10, 22, 30, tzinfo=UTC), "person.read")):  # fmt: skip
            audit.record(s, actor="ana", action=what, node="LS", at=at)
    days = admin.get("/admin/audit?actor=ANA&from=2026-05-11&to=2026-05-11")
    assert "Entries found: 1" in days.text
    assert "<code>person.read</code>" in days.text
    assert "<code>permit.read</code>" not in days.text
    checked = post(admin, "/admin/audit", "/admin/audit/verify", {})
    assert checked.status_code == 200
    assert "The audit log is intact." in checked.text
    # An edited entry breaks the chain, and the page says where.
    with transaction(session_factory(engine)) as s:
        entry = s.scalar(
            select(AuditEvent).where(AuditEvent.actor == "ana").order_by(AuditEvent.seq)
        )
        entry.actor = "someone-else"
    broken = post(admin, "/admin/audit", "/admin/audit/verify", {})
    assert broken.status_code == 409
    assert "The audit log is broken" in broken.text
    assert f"entry {entry.seq}: content does not match its hash (edited)" in broken.text


def test_every_control_is_labelled_and_every_form_carries_its_token(app, make_user) -> None:  # type: ignore[no-untyped-def]
    from test_web_pages import _Controls, _forms

    target = make_user(Role.ANALYST, username="target")
    make_user(Role.ADMIN, username="root")
    admin = signed_in(app, "root")
    with transaction(session_factory(app.state.engine)) as s:
        accounts.issue_api_token(s, s.merge(target), label="scripts")
    checked = 0
    for path in (
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{target.id}",
        f"/admin/users/{target.id}/disable",
        f"/admin/users/{target.id}/revoke",
        "/admin/watchlists",
        "/admin/audit",
    ):
        for lang in ("en", "st"):
            html = admin.get(f"{path}?lang={lang}").text
            parser = _Controls()
            parser.feed(html)
            assert parser.h1 == 1, path
            assert len(parser.ids) == len(set(parser.ids)), f"{path}: duplicate ids"
            for control in parser.controls:
                assert control.get("id") in parser.label_for, f"{path}: unlabelled {control}"
                checked += 1
            for form in _forms(html):
                if form["method"] == "post":
                    assert form["fields"].get("csrf_token"), path  # type: ignore[union-attr]
    assert checked > 30


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_user_list_is_paged_and_keeps_its_search(app, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.ADMIN, username="root")
    for n in range(30):
        make_user(Role.ANALYST, username=f"clerk{n:02d}")
    admin = signed_in(app, "root")
    first = admin.get("/admin/users?q=clerk")
    assert "Users found: 30" in first.text
    assert "Page 1 of 2" in first.text
    assert ">clerk24<" in first.text and ">clerk25<" not in first.text
    second = admin.get("/admin/users?q=clerk&page=2")
    assert ">clerk25<" in second.text and ">clerk29<" in second.text
    assert ">clerk00<" not in second.text
    assert 'href="/admin/users?q=clerk&amp;page=1" rel="prev"' in second.text
    # Past the end: the last page; and a role narrows the search.
    assert ">clerk29<" in admin.get("/admin/users?q=clerk&page=99").text
    assert "Users found: 0" in admin.get("/admin/users?q=clerk&role=supervisor").text
