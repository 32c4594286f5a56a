"""Who may open what: every route of the app (API and pages), asked by a stranger and by a
user of each role, answers as recorded in ``tests/data/access_matrix.json``.

The matrix was written from the code as it was before the roles moved into one table
(``tsela.kernel.access``), so this test proves the move changed no one's access. Each answer
is one of: ``open`` (the route let the caller in: any answer but those below), ``401`` (the
API asks for credentials), ``login`` (a page sends the stranger to sign in, 303 to /login)
and ``403`` (refused). A role the table admits may still get ``403`` where the route itself
refuses (a governance page for someone of no governance body, the metrics of a caller not
on the loopback): the matrix records what each caller gets, not why.

To record a new matrix after a deliberate change of access:
``TSELA_WRITE_ACCESS_MATRIX=1 pytest tests/test_access.py -k sqlite``, and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tsela.api.app import api_routes, create_app
from tsela.api.auth import PUBLIC_ROUTES, declared_permission, declared_roles
from tsela.config import Settings
from tsela.kernel.access import Permission, allows, roles_for
from tsela.services.accounts import issue_api_token
from tsela.store.db import session_factory, transaction
from tsela.store.models import Role
from tsela.web.nav import NAV

MATRIX = Path(__file__).parent / "data" / "access_matrix.json"
WRITE = os.environ.get("TSELA_WRITE_ACCESS_MATRIX") == "1"
ANONYMOUS = "anonymous"
# A fixed id in every path parameter: the answers do not depend on a random draw.
SOME_ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def _answer(response: object) -> str:
    status = response.status_code  # type: ignore[attr-defined]
    if status == 401:
        return "401"
    if status == 403:
        return "403"
    location = response.headers.get("location", "")  # type: ignore[attr-defined]
    if status in (302, 303, 307) and location.startswith("/login"):
        return "login"
    return "open"


def _walk(client: TestClient, engine: Engine, make_user) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    users = {role: make_user(role) for role in Role}
    sessions = session_factory(engine)

    def fresh_token(role: Role) -> dict[str, str]:
        # A new token for each call: a sign-out route revokes the one it was called with.
        with transaction(sessions) as s:
            token = issue_api_token(s, s.merge(users[role]), label="access")
        return {"Authorization": f"Bearer {token}"}

    found: dict[str, dict[str, object]] = {}
    for route in api_routes(client.app):  # type: ignore[arg-type]
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            key = f"{method} {route.path_format}"  # "{year:int}" is written "{year}"
            assert key not in found, f"{key} is served twice"
            # A number where the path takes only digits, the fixed id elsewhere.
            url = re.sub(r"\{[^}:]+:int\}", "2026", route.path)
            url = re.sub(r"\{[^}]+\}", SOME_ID, url)
            declared = declared_roles(route)
            # The roles the route's gate admits (the table's answer), besides what each
            # caller got: they differ where the route refuses some of them itself.
            row: dict[str, object] = {
                "gate": "public" if declared is None else sorted(r.value for r in declared)
            }
            callers: list[tuple[str, dict[str, str]]] = [(ANONYMOUS, {})]
            callers += [(role.value, fresh_token(role)) for role in Role]
            for name, headers in callers:
                response = client.request(
                    method, url, json={}, headers=headers, follow_redirects=False
                )
                row[name] = _answer(response)
            found[key] = row
    return dict(sorted(found.items()))


@pytest.fixture
def lenient_client(settings: Settings, engine: Engine):  # type: ignore[no-untyped-def]
    """The app, answering 500 instead of raising: a role let into a route with made-up ids
    and an empty body may meet an error, and that is "open" here, not a failed test."""
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as c:
        yield c


def test_every_route_answers_each_role_and_strangers_as_recorded(
    lenient_client: TestClient, engine: Engine, make_user
) -> None:  # type: ignore[no-untyped-def]
    found = _walk(lenient_client, engine, make_user)
    if WRITE:
        MATRIX.parent.mkdir(exist_ok=True)
        rows = (f" {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in found.items())
        MATRIX.write_text("{\n" + ",\n".join(rows) + "\n}\n")  # a route a line
        pytest.skip(f"wrote {len(found)} routes to {MATRIX}")
    expected = json.loads(MATRIX.read_text())
    # Every route was asked, and no more nor fewer than recorded: 138 (method, path) pairs
    # when recorded (API operations, pages, the public ones), each by a stranger and the 8
    # roles (9 since the case officer). A route added or removed on purpose: record the
    # matrix again.
    assert len(found) == len(expected) == 226
    assert sorted(found) == sorted(expected)
    changed = {
        key: {
            who: (expected[key][who], got) for who, got in row.items() if expected[key][who] != got
        }
        for key, row in found.items()
        if row != expected[key]
    }
    assert not changed, changed
    # The public routes stay open to strangers (or refuse them themselves, as /metrics does
    # off the loopback), never asking them to sign in.
    for method, path in PUBLIC_ROUTES:
        row = found.get(f"{method} {path}")
        if row is not None:
            assert row[ANONYMOUS] not in ("401", "login"), (method, path)


def test_the_table_gives_each_permission_to_someone_and_admins_manage_users() -> None:
    for permission in Permission:
        assert roles_for(permission), permission
    assert allows(Role.ADMIN, Permission.USERS_MANAGE)
    assert not allows(Role.SUPERVISOR, Permission.USERS_MANAGE)
    assert roles_for(Permission.PERMIT_DECIDE) == {Role.PERMIT_OFFICER, Role.ADMIN}
    assert not allows(Role.WORKER, Permission.CHECK_RECORD)
    # Every role may sign in and see who it is.
    assert roles_for(Permission.SIGNED_IN) == set(Role)


def test_each_link_of_the_navigation_leads_to_a_page_of_the_same_permission(
    lenient_client: TestClient,
) -> None:
    """Nobody is offered a link the page behind it refuses by role."""
    pages = {
        route.path: declared_permission(route)
        for route in api_routes(lenient_client.app)  # type: ignore[arg-type]
        if "GET" in route.methods
    }
    assert len(NAV) == 22  # Home and the 21 links of the roles' pages
    for item in NAV:
        assert pages[item.path] is item.permission, item.path
