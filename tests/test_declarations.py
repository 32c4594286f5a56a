"""Pre-arrival declarations (issue 20, item 3), on SQLite and PostgreSQL: a traveller declares
on a phone without signing in and gets a QR code valid 72 hours; the officer scans it with the
passport and the check shows the answers. A code used twice, after 72 hours, altered, forged
or shown with another passport is refused with the precise reason, and the check runs on.

Lesotho's node, its clock standing at 12 May 2026, 10:00 at the border; the traveller is the
factories' Lineo Mokoena (passport LSO RA1234567, born 14 March 1991).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from factories import BIRTH, NUMBER, passport
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain import credentials as cred
from tsela.domain import declarations as dom
from tsela.kernel.clock import FixedClock
from tsela.services.declarations import POLICY
from tsela.services.keys import KeyStore
from tsela.services.permit_qr import decode_image
from tsela.store.db import session_factory
from tsela.store.declarations import Declaration
from tsela.store.models import AuditEvent

NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)  # 10:00 at the border

DECLARE: dict[str, Any] = {
    "document_number": "ra 123 4567",  # as people type it
    "issuing_state": "lso",
    "birth_date": BIRTH.isoformat(),
    "port": "MSU",
    "direction": "entry",
    "purpose": "family",
    "address": "Plot 12, Ha Thetsane, Maseru",
    "stay_days": 5,
    "children": [{"name": "Palesa Mokoena", "birth_date": "2019-08-02"}],
}


@pytest.fixture
def app_client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=tmp_path,
    )
    with TestClient(create_app(settings, engine, FixedClock(NOW))) as client:
        yield client


@pytest.fixture
def officer(auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers("border_officer", port="MSU")


def declare(client: TestClient, **changes: Any):  # type: ignore[no-untyped-def]
    return client.post("/v1/declarations", json={**DECLARE, **changes})


def check(client: TestClient, headers: dict[str, str], declaration: str | None, **body: Any):  # type: ignore[no-untyped-def]
    body = {"port": "MSU", "direction": "entry", "mrz": passport(), **body}
    if declaration is not None:
        body["declaration"] = declaration
    answer = client.post("/v1/checks", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def declaration_reasons(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["code"], r["variant"]) for r in result["reasons"] if r["code"].startswith("decl")]


def stored(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(Declaration)) or 0


def test_declare_then_the_check_shows_the_answers(
    app_client: TestClient, officer: dict[str, str], engine: Engine
) -> None:
    made = declare(app_client)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["valid_until"] == (NOW + timedelta(hours=72)).isoformat()
    assert len(body["reference"]) == 9 and body["reference"][4] == "-"
    # The PNG is a QR code holding the signed text, which names nothing personal.
    assert decode_image(base64.b64decode(body["qr_png"])) == [body["qr_text"]]
    payload = body["qr_text"].split(".")[1]
    said = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert NUMBER not in said and "Thetsane" not in said and "Palesa" not in said

    result = check(app_client, officer, body["qr_text"])
    assert result["decision"] == "CLEAR"
    assert declaration_reasons(result) == [("declaration.accepted", "")]
    assert result["declaration"] == {
        "reference": body["reference"],
        "made_at": NOW.isoformat(),
        "valid_until": body["valid_until"],
        "port": "MSU",
        "direction": "entry",
        "purpose": "family",
        "purpose_words": "Visiting family or friends",
        "address": "Plot 12, Ha Thetsane, Maseru",
        "stay_days": 5,
        "children": [{"name": "Palesa Mokoena", "birth_date": "2019-08-02"}],
    }
    with session_factory(engine)() as s:
        kept = s.scalars(select(Declaration)).one()
        assert (kept.issuing_state, kept.document_number, kept.node) == ("LSO", NUMBER, "LS")
        assert kept.used_at == NOW and kept.used_port == "MSU"
        assert kept.id.version == 7
        logged = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("declaration.%"))
            .order_by(AuditEvent.id)  # UUIDv7: the order they were written (the clock stands still)
        ).all()
    assert [(e.action, e.detail["outcome"]) for e in logged] == [
        ("declaration.make", "made"),
        ("declaration.use", "accepted"),
    ]
    assert all(NUMBER not in str(e.detail) for e in logged)


def test_the_written_reference_serves_as_the_code(
    app_client: TestClient, officer: dict[str, str]
) -> None:
    reference = declare(app_client).json()["reference"]
    result = check(app_client, officer, f" {reference.lower()} ")
    assert declaration_reasons(result) == [("declaration.accepted", "")]
    assert result["declaration"]["stay_days"] == 5


def test_a_declaration_used_twice_is_refused_and_the_check_runs_on(
    app_client: TestClient, officer: dict[str, str]
) -> None:
    token = declare(app_client).json()["qr_text"]
    check(app_client, officer, token)
    again = check(app_client, officer, token)
    assert again["decision"] == "CLEAR"  # the check itself is unchanged
    assert again["declaration"] is None
    ((refused,),) = [[r for r in again["reasons"] if r["code"] == "declaration.refused"]]
    assert refused["variant"] == "used" and refused["severity"] == "info"
    assert "used already at MSU on 2026-05-12 10:00" in refused["message"]


def test_a_declaration_after_72_hours_is_refused(
    app_client: TestClient, officer: dict[str, str]
) -> None:
    token = declare(app_client).json()["qr_text"]
    app_client.app.state.clock.set(NOW + timedelta(hours=72, minutes=1))  # type: ignore[attr-defined]
    late = check(app_client, officer, token)
    assert declaration_reasons(late) == [("declaration.refused", "expired")]
    assert "expired on 2026-05-15 10:00" in late["reasons"][-1]["message"] or any(
        "expired on 2026-05-15 10:00" in r["message"] for r in late["reasons"]
    )
    assert late["declaration"] is None


def test_a_declaration_just_inside_72_hours_is_accepted(
    app_client: TestClient, officer: dict[str, str]
) -> None:
    token = declare(app_client).json()["qr_text"]
    app_client.app.state.clock.set(NOW + timedelta(hours=72))  # type: ignore[attr-defined]
    assert declaration_reasons(check(app_client, officer, token)) == [("declaration.accepted", "")]


def _altered(token: str) -> str:
    head, body, sig = token.split(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    longer = raw.replace(b'"exp":', b'"exp":9', 1)  # a validity stretched by hand
    return f"{head}.{cred.b64e(longer)}.{sig}"


def test_an_altered_or_forged_code_is_refused(
    app_client: TestClient, officer: dict[str, str], tmp_path: Path
) -> None:
    token = declare(app_client).json()["qr_text"]
    altered = check(app_client, officer, _altered(token))
    assert declaration_reasons(altered) == [("declaration.refused", "forged")]
    # Signed by a key the node never had (a forger's own), with the right shape and claims.
    claims = dom.claims(node="LS", declaration_id="0" * 32, reference="ABCDEFGH", made=NOW)
    forger = KeyStore(tmp_path / "forger", "LS").signer(NOW)
    forged = check(app_client, officer, forger.sign(claims, typ=dom.TYP))
    assert declaration_reasons(forged) == [("declaration.refused", "forged")]
    # Not a code at all, and a reference nobody was given.
    garbled = check(app_client, officer, "hello world")
    assert declaration_reasons(garbled) == [("declaration.refused", "unreadable")]
    unknown = check(app_client, officer, "ZZZZ-ZZZZ")
    assert declaration_reasons(unknown) == [("declaration.refused", "unknown")]
    # None of these used the genuine declaration: it still serves.
    assert declaration_reasons(check(app_client, officer, token)) == [("declaration.accepted", "")]


def test_another_passport_is_refused_and_the_declaration_keeps(
    app_client: TestClient, officer: dict[str, str]
) -> None:
    token = declare(app_client).json()["qr_text"]
    other = check(app_client, officer, token, mrz=passport("RB7654321", surname="NTHATI"))
    assert declaration_reasons(other) == [("declaration.refused", "other_passport")]
    assert other["declaration"] is None
    # A declaration typed with another birth date than the passport's.
    wrong_birth = declare(app_client, birth_date="1991-03-15").json()["qr_text"]
    refused = check(app_client, officer, wrong_birth)
    assert declaration_reasons(refused) == [("declaration.refused", "other_birth_date")]
    # The rightful holder's passport still uses the first.
    assert declaration_reasons(check(app_client, officer, token)) == [("declaration.accepted", "")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"issuing_state": "XXQ"}, "issuing_state"),
        ({"port": "NOPE"}, "port"),
        ({"direction": "sideways"}, "direction"),
        ({"purpose": "smuggling"}, "purpose"),
        ({"address": "x"}, "address"),
        ({"stay_days": 0}, "stay_days"),
        ({"stay_days": 400}, "stay_days"),
        ({"birth_date": "2027-01-01"}, "birth_date"),
        ({"document_number": " - "}, "document_number"),
        ({"children": [{"name": "Grown Up", "birth_date": "2000-01-01"}]}, "children.1.birth_date"),
        ({"children": [{"name": " ", "birth_date": "2020-01-01"}]}, "children.1.name"),
    ],
)
def test_bad_answers_are_named_and_nothing_is_kept(
    app_client: TestClient, engine: Engine, changes: dict[str, Any], field: str
) -> None:
    answer = declare(app_client, **changes)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("the declaration cannot be kept: ") and f"{field}: " in detail
    assert stored(engine) == 0


def test_unreadable_fields_are_named_by_the_schema(app_client: TestClient, engine: Engine) -> None:
    answer = declare(app_client, birth_date="14/03/1991", extra=1)
    assert answer.status_code == 422
    fields = {tuple(e["loc"]) for e in answer.json()["detail"]}
    assert fields == {("body", "birth_date"), ("body", "extra")}
    assert stored(engine) == 0


def test_a_burst_from_one_address_is_slowed_and_audited(
    app_client: TestClient, engine: Engine
) -> None:
    for i in range(POLICY.free):
        assert declare(app_client, stay_days=i + 1).status_code == 201, i
    refused = declare(app_client)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(int(POLICY.first_wait.total_seconds()))
    assert "too many declarations" in refused.json()["detail"]
    assert stored(engine) == POLICY.free
    with session_factory(engine)() as s:
        outcomes = [e.detail["outcome"] for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "declaration.make")
        )]  # fmt: skip
    assert outcomes.count("made") == POLICY.free and outcomes.count("throttled") == 1
    # The wait over, one more goes through.
    app_client.app.state.clock.set(NOW + POLICY.first_wait)  # type: ignore[attr-defined]
    assert declare(app_client).status_code == 201


def test_the_purposes_are_public_in_both_languages(app_client: TestClient) -> None:
    answer = app_client.get("/v1/declarations/purposes")
    assert answer.status_code == 200
    family = next(p for p in answer.json() if p["code"] == "family")
    assert family == {
        "code": "family",
        "en": "Visiting family or friends",
        "st": "Ho etela ba lelapa kapa metsoalle",
    }


# --- the pages -------------------------------------------------------------------------------


def _declare_page(client: TestClient, lang: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    from web_support import csrf_of

    page = client.get(f"/declare?lang={lang}")
    assert page.status_code == 200
    return client.post("/declare", data={"csrf_token": csrf_of(page.text), **data})


FORM = {
    "document_number": NUMBER,
    "issuing_state": "LSO",
    "birth_date": BIRTH.isoformat(),
    "port": "MSU",
    "direction": "entry",
    "purpose": "holiday",
    "address": "Maluti Mountain Lodge, Malealea",
    "stay_days": "3",
    "child_name_1": "Palesa Mokoena",
    "child_birth_1": "2019-08-02",
}


def test_the_page_in_english_and_sesotho_gives_the_qr_code(
    app_client: TestClient, officer: dict[str, str], engine: Engine
) -> None:
    said = {
        "en": ("Your declaration is ready", "Write down this reference"),
        "st": ("Phatlalatso ea hao e se e loketse", "Ngola nomoro ena"),
    }
    for lang, words in said.items():
        page = _declare_page(app_client, lang, FORM)
        assert page.status_code == 200, page.text
        text = html.unescape(page.text)
        assert all(w in text for w in words), lang
        assert "<svg" in page.text and 'id="declaration-reference"' in page.text
        assert NUMBER not in str(page.url)
    assert stored(engine) == 2
    # The reference on the page serves at the desk.
    page = _declare_page(app_client, "en", FORM)
    reference = page.text.split('id="declaration-reference">', 1)[1].split("<", 1)[0]
    result = check(app_client, officer, reference)
    assert result["declaration"]["purpose"] == "holiday"
    assert result["declaration"]["children"] == [
        {"name": "Palesa Mokoena", "birth_date": "2019-08-02"}
    ]


def test_the_page_names_each_bad_answer_and_keeps_what_was_typed(
    app_client: TestClient, engine: Engine
) -> None:
    page = _declare_page(
        app_client, "st", {**FORM, "stay_days": "many", "port": "", "child_birth_1": "2000-01-01"}
    )
    assert page.status_code == 400
    text = html.unescape(page.text)
    assert 'id="stay_days-error"' in page.text and 'id="port-error"' in page.text
    assert 'id="child_birth_1-error"' in page.text
    assert f'value="{NUMBER}"' in page.text and "Malealea" in text
    assert stored(engine) == 0


def test_the_console_shows_the_declaration_in_both_languages(
    app_client: TestClient,
    make_user,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from web_support import csrf_of, use_fast_password_hashing

    use_fast_password_hashing(monkeypatch)
    make_user("border_officer", username="thabo", port="MSU", password="correct horse 1")
    page = app_client.get("/login")
    signed = app_client.post(
        "/login",
        data={"username": "thabo", "password": "correct horse 1", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    said = {
        "en": ("Pre-arrival declaration", "Visiting family or friends", "5 days"),
        "st": ("Phatlalatso ea pele ho ho fihla", "Ho etela ba lelapa kapa metsoalle",
               "matsatsi a 5"),
    }  # fmt: skip
    for lang, words in said.items():
        token = declare(app_client).json()["qr_text"]
        console = app_client.get(f"/console?lang={lang}")
        assert 'id="declaration"' in console.text
        result = app_client.post(
            "/console/check",
            data={"csrf_token": csrf_of(console.text), "mrz": passport(), "direction": "entry",
                  "declaration": token},
        )  # fmt: skip
        assert result.status_code == 200, result.text
        text = html.unescape(result.text)
        assert all(w in text for w in words), (lang, [w for w in words if w not in text])
        assert "Palesa Mokoena (2019-08-02)" in text and "Plot 12, Ha Thetsane" in text
        # Shown again, the code is refused, in the reader's language, and the check still runs.
        again = app_client.post(
            "/console/check",
            data={"csrf_token": csrf_of(console.text), "mrz": passport(), "direction": "entry",
                  "declaration": token},
        )  # fmt: skip
        assert again.status_code == 200
        assert (
            'data-code="declaration.refused"' in again.text
            and 'id="declared-purpose"' not in again.text
        )
        assert 'id="decision"' in again.text
    assert "e se e sebelisitsoe" in html.unescape(again.text)
