"""The permits API on SQLite and PostgreSQL: roles per route, the full life, public verify.

The server's clock stands at ``NOW``: applications, validity and verification are dated
around it (a passport expiring in 2035), whatever day the tests run."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain.credentials import KeySet, Verifier, VerifyStatus
from tsela.kernel.clock import FixedClock, border_day
from tsela.services.permit_qr import decode_image
from tsela.store.db import session_factory, transaction
from tsela.store.models import Employer

NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """A client whose node keeps its keys in a temporary directory."""
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=tmp_path / "var",
    )
    with TestClient(create_app(settings, engine, FixedClock(NOW))) as c:
        yield c


def application(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "permit_type": "SEASONAL",
        "applicant": {
            "surname": "Mokoena",
            "given_names": "Lineo",
            "birth_date": "1990-03-14",
            "nationality": "LSO",
            "document_number": "RA1234567",
            "document_expiry": "2035-01-31",
            "sex": "F",
        },
        "employer": "2019/123456/07",
        "evidence": [{"kind": "passport"}, {"kind": "employment_contract", "reference": "c-17"}],
    }
    body.update(kw)
    return body


def _employer(api: TestClient, officer: dict[str, str], reg: str = "2019/123456/07") -> str:
    r = api.post(
        "/v1/employers",
        json={"registration_number": reg, "name": f"Farm {reg}", "sector": "agriculture"},
        headers=officer,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _issue(api: TestClient, officer: dict[str, str], **kw: Any) -> dict[str, Any]:
    r = api.post("/v1/permits", json=application(**kw), headers=officer)
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    assert api.post(f"/v1/permits/{number}/submit", headers=officer).status_code == 200
    r = api.post(f"/v1/permits/{number}/decision", json={"decision": "approve"}, headers=officer)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = api.post(f"/v1/permits/{number}/issue", headers=officer)
    assert r.status_code == 200, r.text
    issued: dict[str, Any] = r.json()
    return issued


def test_full_life_over_the_api(api: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    officer = auth_headers("permit_officer")
    _employer(api, officer)
    issued = _issue(api, officer)
    number, token = issued["number"], issued["token"]
    assert issued["status"] == "issued" and issued["employer"] == "Farm 2019/123456/07"

    # Anyone can verify (no credentials): a police officer at a roadblock.
    r = api.post("/v1/permits/verify", json={"token": token})
    assert r.status_code == 200
    answer = r.json()
    assert answer["status"] == "valid" and answer["valid"] is True
    assert answer["permit"]["holder"] == "MOKOENA, LINEO"
    assert answer["permit"]["rights"] == ["work"]
    assert answer["permit"]["valid_to"] == issued["valid_to"]

    png = api.get(f"/v1/permits/{number}/qr.png", headers=officer)
    assert png.headers["content-type"] == "image/png"
    assert decode_image(png.content) == [token]

    r = api.post(f"/v1/permits/{number}/decision", json={"decision": "revoke"}, headers=officer)
    assert r.status_code == 422 and "reason is required to revoke" in r.json()["detail"]
    r = api.post(
        f"/v1/permits/{number}/decision",
        json={"decision": "revoke", "reason": "worker absconded"},
        headers=officer,
    )
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    answer = api.post("/v1/permits/verify", json={"token": token}).json()
    assert answer["status"] == "revoked" and "worker absconded" in answer["reasons"][0]

    # An offline verifier downloads the key set and the signed list, then needs no network.
    jwks = api.get("/v1/permits/keys").json()
    signed = api.get("/v1/permits/revocations")
    assert signed.headers["content-type"].startswith("application/jwt")
    offline = Verifier(KeySet.from_jwks(jwks))
    offline.load_revocations(signed.text)
    assert offline.verify(token, border_day(NOW)).status is VerifyStatus.REVOKED

    history = api.get(f"/v1/permits/{number}", headers=officer).json()["history"]
    assert [h["to"] for h in history] == ["draft", "submitted", "approved", "issued", "revoked"]
    assert history[-1]["reason"] == "worker absconded"


def test_an_unknown_status_filter_is_bad_input(api: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    officer = auth_headers("permit_officer")
    answer = api.get("/v1/permits?status=bogus", headers=officer)
    assert answer.status_code == 422
    assert "unknown permit status 'bogus'" in answer.json()["detail"]
    assert api.get("/v1/permits?status=issued", headers=officer).status_code == 200


def test_forged_token_never_verifies(api: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    officer = auth_headers("permit_officer")
    _employer(api, officer)
    token = _issue(api, officer)["token"]
    head, body, sig = token.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    answer = api.post("/v1/permits/verify", json={"token": f"{head}.{body}.{flipped}"}).json()
    assert answer["status"] == "forged" and answer["permit"] is None
    answer = api.post("/v1/permits/verify", json={"token": "nonsense"}).json()
    assert answer["status"] == "unreadable" and "expected 3 parts" in answer["reasons"][0]
    # A character lost from the claims (typed by hand, a bad scan): unreadable, same schema.
    typo = api.post("/v1/permits/verify", json={"token": f"{head}.{body[:30]}{body[31:]}.{sig}"})
    assert typo.status_code == 200
    assert typo.json()["status"] == "unreadable" and typo.json()["valid"] is False
    assert typo.json()["permit"] is None and "cannot be read" in typo.json()["reasons"][0]


def test_roles_per_route(api: TestClient, auth_headers, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    officer = auth_headers("permit_officer")
    assert api.post("/v1/permits", json=application()).status_code == 401
    border = auth_headers("border_officer")
    assert api.post("/v1/permits", json=application(), headers=border).status_code == 403
    farm_id = _employer(api, officer)
    _employer(api, officer, "2001/000001/07")
    issued = _issue(api, officer)
    number = issued["number"]
    with transaction(session_factory(engine)) as s:
        farms = {e.registration_number: e.id for e in s.query(Employer)}
    farm = auth_headers("employer", employer_id=farms["2019/123456/07"])
    other = auth_headers("employer", employer_id=farms["2001/000001/07"])
    worker = auth_headers("worker")

    r = api.post(f"/v1/permits/{number}/decision", json={"decision": "suspend"}, headers=worker)
    assert r.status_code == 403
    mine = api.get(f"/v1/employers/{farm_id}/permits", headers=farm).json()
    assert [p["number"] for p in mine] == [number]
    assert api.get(f"/v1/employers/{farm_id}/permits", headers=other).status_code == 403
    assert api.get(f"/v1/permits/{number}", headers=other).status_code == 403
    assert api.get("/v1/permits", headers=other).json() == []
    r = api.post(
        f"/v1/permits/{number}/end-employment",
        json={"end_date": issued["valid_from"], "reason": "season over"},
        headers=farm,
    )
    assert r.status_code == 200, r.text
    r = api.post(
        f"/v1/permits/{number}/decision",
        json={"decision": "approve"},
        headers=officer,
    )
    assert r.status_code == 409 and "cannot go from 'issued' to 'approved'" in r.json()["detail"]
    assert api.get("/v1/permits/LS-X-NONE", headers=officer).status_code == 404


def test_bad_applications_are_refused_precisely(api: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    officer = auth_headers("permit_officer")
    r = api.post("/v1/permits", json=application(), headers=officer)
    assert r.status_code == 404 and "no registered employer 2019/123456/07" in r.json()["detail"]
    _employer(api, officer)
    expired = application()
    expired["applicant"]["document_expiry"] = "2020-01-01"
    r = api.post("/v1/permits", json=expired, headers=officer)
    assert r.status_code == 422 and "expired on 2020-01-01" in r.json()["detail"]
    r = api.post("/v1/permits", json=application(permit_type="NOPE"), headers=officer)
    assert r.status_code == 422 and "unknown permit type 'NOPE'" in r.json()["detail"]
    r = api.post("/v1/permits", json=application(evidence=[{"kind": "selfie"}]), headers=officer)
    assert r.status_code == 422 and "evidence 'selfie' is not asked for" in r.json()["detail"]
    assert api.get("/v1/permits", headers=officer).json() == []  # nothing half-written


def test_expiring_csv_and_types(api: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    officer = auth_headers("permit_officer")
    _employer(api, officer)
    number = _issue(api, officer)["number"]
    r = api.get("/v1/permits", params={"format": "csv", "type": "SEASONAL"}, headers=officer)
    assert r.headers["content-type"].startswith("text/csv")
    (row,) = csv.DictReader(io.StringIO(r.text))
    assert row["number"] == number and row["status"] == "issued"
    # A fresh seasonal permit lasts 270 days: not in the 90-day reminders yet.
    r = api.get("/v1/permits", params={"expiring_within": 90}, headers=officer)
    assert r.json() == []
    summary = api.get("/v1/permits/expiring-summary", params={"by": "type"}, headers=officer)
    assert summary.json() == {}
    types = {t["code"]: t for t in api.get("/v1/permit-types").json()}
    assert types["LEP"]["fee_zar"] == 1090 and types["LEP"]["valid_until"] == "2027-05-28"


def test_offline_verifier_fetches_keys_and_list_then_works_alone(  # type: ignore[no-untyped-def]
    api: TestClient, auth_headers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx
    from typer.testing import CliRunner

    from tsela.cli.main import app as cli

    officer = auth_headers("permit_officer")
    _employer(api, officer)
    issued = _issue(api, officer)
    api.post(
        f"/v1/permits/{issued['number']}/decision",
        json={"decision": "suspend", "reason": "under investigation"},
        headers=officer,
    )
    # The police laptop talks to the node once (here: the test client stands in for it).
    monkeypatch.setattr(httpx, "get", lambda url, timeout: api.get(url))
    laptop = {
        "TSELA_VAR_DIR": str(tmp_path / "laptop"),
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'laptop' / 'none.db'}",
    }
    runner = CliRunner()
    got = runner.invoke(cli, ["permit", "fetch", "--server", "http://testserver"], env=laptop)
    assert got.exit_code == 0, got.output
    assert "node LS: 1 key(s), 0 revoked and 1 suspended" in got.output
    monkeypatch.setattr(httpx, "get", None)  # offline from here on
    got = runner.invoke(cli, ["permit", "verify", issued["token"], "--json"], env=laptop)
    assert got.exit_code == 1
    assert json.loads(got.output)["status"] == "suspended"
