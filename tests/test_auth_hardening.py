"""Issue 14: errors reveal nobody's data; sign-in throttling that no stranger can turn into a
lock-out and no burst can outrun; trusted proxies only; revoking tokens, deactivating users,
changing passwords; request-size limits before authentication; 503 when the database is
down; every request answered under overload. Storage tests run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tsela.api.app import create_app
from tsela.config import Settings
from tsela.store.db import session_factory, transaction
from tsela.store.models import Employer


def _settings(engine: Engine, var_dir: Path, **kw: Any) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=var_dir,
        **kw,
    )


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(engine, tmp_path / "var"), engine)) as c:
        yield c


# --- 1. enumeration ------------------------------------------------------------------------


def _application(surname: str, number: str = "RA1234567") -> dict[str, Any]:
    return {
        "permit_type": "SEASONAL",
        "applicant": {
            "surname": surname,
            "given_names": "Lineo",
            "birth_date": "1990-03-14",
            "nationality": "LSO",
            "document_number": number,
            "document_expiry": "2035-01-31",
            "sex": "F",
        },
        "employer": "2019/123456/07",
        "evidence": [{"kind": "passport"}, {"kind": "employment_contract", "reference": "c-17"}],
    }


def test_a_wrong_surname_does_not_reveal_whose_passport_it_is(
    api: TestClient, auth_headers, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    officer = auth_headers("permit_officer")
    r = api.post(
        "/v1/employers",
        json={"registration_number": "2019/123456/07", "name": "Farm", "sector": "agriculture"},
        headers=officer,
    )
    assert r.status_code == 201, r.text
    # The officer registers Mokoena's passport (e.g. a person on the persons-to-protect list).
    r = api.post("/v1/permits", json=_application("Mokoena"), headers=officer)
    assert r.status_code == 201, r.text
    with transaction(session_factory(engine)) as s:
        farm_id = s.query(Employer).one().id
    callers = {
        "employer": auth_headers("employer", employer_id=farm_id),
        "worker": auth_headers("worker"),
    }
    for role, headers in callers.items():
        for surname in ("Nobody", "Mokoena"):
            r = api.post("/v1/permits", json=_application(surname), headers=headers)
            if role == "employer" and surname == "Mokoena":
                # The employer knows both: the application goes on (a second one is refused
                # as a duplicate, without naming the other application).
                assert r.status_code == 422 and "MOKOENA" not in r.text, r.text
                continue
            assert 400 <= r.status_code < 500, (role, surname, r.text)
            body = r.text.upper()
            assert "MOKOENA" not in body or surname == "Mokoena", (role, r.text)
            assert "LINEO" not in body, (role, r.text)
            if role == "worker" or surname == "Nobody":
                # The worker learns nothing even with the right surname: it is not theirs.
                assert "do not match our records" in r.json()["detail"], (role, surname, r.text)
