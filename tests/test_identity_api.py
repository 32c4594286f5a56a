"""Identity review over HTTP and in the pages (issue 17), on SQLite and PostgreSQL: the queue,
a pair with its per-field contributions, link / reject / defer, a manual link, unlinking a
record behind a confirmation, and roles refused with an audit entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tsela.domain.values import Role
from tsela.kernel.actor import Actor
from tsela.services import identity
from tsela.store.db import session_factory, transaction
from tsela.store.models import AuditEvent
from tsela.synth.identities import population, write
from web_support import csrf_of, use_fast_password_hashing

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
ADMIN = Actor("admin1", Role.ADMIN, "LS")
SUPERVISOR = Actor("super1", Role.SUPERVISOR, "LS")

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture
def resolved(engine: Engine) -> Engine:
    """A small population with injected duplicates, resolved (model trained)."""
    with time_machine.travel(NOW, tick=False):
        with transaction(session_factory(engine)) as s:
            write(s, list(population(600, dup_share=0.15, seed=5)), NOW)
        with transaction(session_factory(engine)) as s:
            identity.resolve(s, ADMIN, train=True)
    return engine


def _actions(engine: Engine, action: str) -> list[AuditEvent]:
    with session_factory(engine)() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def test_review_over_the_api_with_roles_refused_and_audited(
    client: TestClient, resolved: Engine, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    supervisor, admin = auth_headers("supervisor"), auth_headers("admin")
    officer = auth_headers("border_officer")
    queue = client.get("/v1/identity/pairs", headers=supervisor).json()
    assert queue["status"] == "pending" and queue["total"] > 0
    probabilities = [p["probability"] for p in queue["items"]]
    assert probabilities == sorted(probabilities, reverse=True)
    first = queue["items"][0]
    one = client.get(f"/v1/identity/pairs/{first['id']}", headers=admin).json()
    assert {c["field"] for c in one["contributions"]} == {
        "surname", "given_name", "birth_date", "sex", "nationality", "document"
    }  # fmt: skip

    # Roles: an officer may not read, an admin may read but not decide; both audited.
    assert client.get("/v1/identity/pairs", headers=officer).status_code == 403
    url = f"/v1/identity/pairs/{first['id']}/decision"
    refused = client.post(url, json={"decision": "link"}, headers=admin)
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert _actions(resolved, "identity.read_refused")
    assert _actions(resolved, "identity.decide_refused")
    assert client.post(url, json={"decision": "merge"}, headers=supervisor).status_code == 422

    # Reject: the pair leaves the queue, the decision is audited with its note.
    done = client.post(url, json={"decision": "reject", "note": "two sisters"}, headers=supervisor)
    assert done.status_code == 200 and done.json()["status"] == "rejected"
    again = client.post(url, json={"decision": "reject"}, headers=supervisor)
    assert again.status_code == 409
    left = client.get("/v1/identity/pairs", headers=supervisor).json()
    assert first["id"] not in {p["id"] for p in left["items"]}
    assert left["total"] == queue["total"] - 1
    assert _actions(resolved, "identity.pair_rejected")[-1].detail["note"] == "two sisters"

    # Link the two records by hand, then unlink one (its key has a colon, in the path).
    lk, rk = first["left"]["record_key"], first["right"]["record_key"]
    linked = client.post(
        "/v1/identity/links", json={"left": lk, "right": rk, "note": "seen"}, headers=supervisor
    )
    assert linked.status_code == 200
    members = {m["record_key"] for m in linked.json()["members"]}
    assert {lk, rk} <= members
    shown = client.get(f"/v1/identity/{linked.json()['identity_id']}", headers=admin).json()
    assert {m["record_key"] for m in shown["members"]} == members
    assert client.get(f"/v1/identity/{lk}", headers=admin).json() == shown
    loop = client.post("/v1/identity/links", json={"left": lk, "right": rk}, headers=supervisor)
    assert loop.status_code == 409
    out = client.post(f"/v1/identity/records/{rk}/unlink", json={"note": "no"}, headers=supervisor)
    assert out.status_code == 200
    assert [m["record_key"] for m in out.json()["members"]] == [rk]
    assert _actions(resolved, "identity.unlinked")
    missing = client.get("/v1/identity/person:nobody", headers=supervisor)
    assert missing.status_code == 404


def _sign_in(client: TestClient, user: object) -> None:
    page = client.get("/login")
    client.post(
        "/login",
        data={"username": user.username, "password": "correct horse 1",  # type: ignore[attr-defined]
              "csrf_token": csrf_of(page.text)},
    )  # fmt: skip


def test_the_review_pages_say_each_field_in_words_and_decide(
    client: TestClient, resolved: Engine, make_user
) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, make_user("supervisor"))
    queue = client.get("/identity/review")
    assert queue.status_code == 200 and "Identities to review" in queue.text
    assert 'href="/identity/review"' in queue.text  # in the navigation
    with session_factory(resolved)() as s:
        first = identity.queue(s, SUPERVISOR).items[0]
    page = client.get(f"/identity/pairs/{first.id}")
    assert "What counts for and against" in page.text
    assert "Birth date: " in page.text and "counts " in page.text
    client.cookies.set("tsela_lang", "st")
    assert "Letsatsi la tsoalo" in client.get(f"/identity/pairs/{first.id}").text
    client.cookies.set("tsela_lang", "en")
    done = client.post(
        f"/identity/pairs/{first.id}",
        data={"decision": "defer", "note": "ask", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/identity/review?done=defer"
    deferred = client.get("/identity/review?status=deferred")
    assert str(first.id) in deferred.text

    # Unlink a record the model linked: asked first, then done, audited.
    with session_factory(resolved)() as s:
        sure = identity.queue(s, SUPERVISOR, status="auto").items[0]
    ident = client.get(f"/identity/of/{sure.left.identity_id}")
    assert ident.status_code == 200 and sure.right.record_key in ident.text
    form = {"key": sure.right.record_key, "identity_id": str(sure.left.identity_id),
            "note": "brothers", "csrf_token": csrf_of(ident.text)}  # fmt: skip
    asked = client.post("/identity/unlink", data=form)
    assert "Take this record out of the identity?" in asked.text
    assert not _actions(resolved, "identity.unlinked")
    gone = client.post("/identity/unlink", data={**form, "confirmed": "1"}, follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == f"/identity/of/{sure.left.identity_id}?done=unlinked"
    assert _actions(resolved, "identity.unlinked")[-1].detail["record"] == sure.right.record_key
