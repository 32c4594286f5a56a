"""Refusals (tsela.kernel.errors) said once at each edge: the API answers each kind with its
status and ``{"detail": <the English words>}``, writing the audit entry a refusal asks for and
nothing of the refused work; the web pages show the words in the reader's language, keep what
was typed, and keep nothing either (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import Depends, Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tsela.api.app import create_app
from tsela.api.deps import get_session
from tsela.config import Settings
from tsela.kernel.clock import FixedClock
from tsela.kernel.errors import (
    AuditNote,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TselaError,
    Unavailable,
    kind_of,
)
from tsela.services import audit
from tsela.store.db import session_factory
from tsela.store.models import AuditEvent, Role, User
from tsela.web.errors import Refused, attempt
from web_support import csrf_of, use_fast_password_hashing

NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse 1"

KINDS: list[tuple[type[TselaError], int]] = [
    (Invalid, 422),
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (Unavailable, 503),
]


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


def entries(engine: Engine, action: str) -> list[AuditEvent]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_error_has_a_code_values_and_english_words() -> None:
    exc = Conflict("check.reviewed", "check %(check)s was already reviewed", check="c-1")
    assert (exc.code, exc.values, exc.message, str(exc)) == (
        "check.reviewed",
        {"check": "c-1"},
        "check c-1 was already reviewed",
        "check c-1 was already reviewed",
    )
    assert kind_of(exc) is Conflict
    assert exc.audit is None


@pytest.mark.parametrize(("kind", "status"), KINDS, ids=[k.__name__ for k, _ in KINDS])
def test_the_api_answers_each_kind_with_its_status(app, kind, status) -> None:  # type: ignore[no-untyped-def]
    def refuse() -> None:
        raise kind("test.refused", "port %(port)s says no", port="MSU")

    app.add_api_route("/v1/test/refuse", refuse, methods=["POST"])
    answer = TestClient(app).post("/v1/test/refuse")
    assert answer.status_code == status
    assert answer.json() == {"detail": "port MSU says no"}


def test_permit_errors_answer_as_their_kind(app) -> None:  # type: ignore[no-untyped-def]
    """Service errors that are kernel kinds by inheritance answer as the kind they derive
    from first (a permit's NotFound is a PermitError, itself invalid, and answers 404)."""
    from tsela.domain import permits as dom
    from tsela.services import permits as svc

    cases = [
        (svc.NotFound("no permit LS-X"), 404),
        (svc.Forbidden("not your permit"), 403),
        (svc.PermitError("surname missing"), 422),
        (dom.IllegalTransition("issued -> draft"), 409),
        (dom.RoleNotAllowed("workers may not approve"), 403),
        (dom.ReasonRequired("a rejection needs a reason"), 422),
    ]
    for n, (exc, status) in enumerate(cases):
        app.add_api_route(f"/v1/test/permit/{n}", _raising(exc), methods=["GET"])
        answer = TestClient(app).get(f"/v1/test/permit/{n}")
        assert (answer.status_code, answer.json()) == (status, {"detail": str(exc)}), exc


def _raising(exc: Exception):  # type: ignore[no-untyped-def]
    def refuse() -> None:
        raise exc

    return refuse


def test_an_api_refusal_keeps_nothing_and_writes_its_audit_entry(app, engine) -> None:  # type: ignore[no-untyped-def]
    def refuse(session: Session = Depends(get_session)) -> None:
        audit.record(session, actor="t", action="test.half_done", node="LS")
        session.flush()
        raise Invalid(
            "test.too_late",
            "the crossing time %(at)s is too late",
            audit=AuditNote("test.refused", "port", "MSU", {"at": "08:00"}),
            at="08:00",
        )

    app.add_api_route("/v1/test/audited", refuse, methods=["POST"])
    answer = TestClient(app).post("/v1/test/audited")
    assert (answer.status_code, answer.json()) == (
        422,
        {"detail": "the crossing time 08:00 is too late"},
    )
    assert entries(engine, "test.half_done") == []
    [written] = entries(engine, "test.refused")
    assert (written.entity, written.entity_id, written.node) == ("port", "MSU", "LS")
    assert written.detail == {"at": "08:00", "refusal": "the crossing time 08:00 is too late"}


def _request(lang: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/",
            "headers": [(b"cookie", f"tsela_lang={lang}".encode())],
            "query_string": b"",
            "client": ("192.0.2.7", 1234),
        }
    )


def test_attempt_commits_the_work_or_keeps_nothing_of_it(engine) -> None:  # type: ignore[no-untyped-def]
    def work(session: Session, refuse: bool) -> str:
        audit.record(session, actor="t", action="test.work", node="LS")
        if refuse:
            raise Conflict(
                "test.taken",
                "seat %(seat)s is taken",
                audit=AuditNote("test.taken", "seat", "12A"),
                seat="12A",
            )
        return "done"

    with session_factory(engine)() as s:
        assert attempt(_request("en"), s, lambda: work(s, False)) == "done"
    assert len(entries(engine, "test.work")) == 1

    with session_factory(engine)() as s:
        refused = attempt(_request("st"), s, lambda: work(s, True), actor="clerk", node="LS")
    assert isinstance(refused, Refused)
    assert (refused.status, refused.message, refused.lang) == (409, "seat 12A is taken", "en")
    assert len(entries(engine, "test.work")) == 1  # the refused work is not kept
    [written] = entries(engine, "test.taken")
    assert (written.actor, written.source, written.detail) == (
        "clerk",
        "192.0.2.7",
        {"refusal": "seat 12A is taken"},
    )


def test_attempt_lets_a_bug_through(engine) -> None:  # type: ignore[no-untyped-def]
    def broken() -> None:
        raise KeyError("not a refusal")

    with session_factory(engine)() as s, pytest.raises(KeyError):
        attempt(_request("en"), s, broken)


def _signed_in_admin(app, make_user) -> TestClient:  # type: ignore[no-untyped-def]
    make_user(Role.ADMIN, username="root")
    client = TestClient(app)
    page = client.get("/login")
    done = client.post(
        "/login",
        data={"username": "root", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return client


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "There is already a user thabo."),
        ("st", "Ho se ho ntse ho e-na le mosebelisi thabo."),
    ],
)
def test_a_refused_form_keeps_what_was_typed_and_says_why_in_the_readers_language(  # type: ignore[no-untyped-def]
    app, engine, make_user, lang, words
) -> None:
    make_user(Role.ANALYST, username="thabo")
    client = _signed_in_admin(app, make_user)
    client.cookies.set("tsela_lang", lang)
    form = client.get("/admin/users/new")
    answer = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf_of(form.text),
            "username": "thabo",
            "full_name": "Thabo Mokoena the second",
            "role": "analyst",
            "password": "another horse 2",
            "password_again": "another horse 2",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 400
    assert words in answer.text
    assert 'value="Thabo Mokoena the second"' in answer.text
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 2  # thabo and root
        assert s.scalar(select(User.full_name).where(User.username == "thabo")) != (
            "Thabo Mokoena the second"
        )
