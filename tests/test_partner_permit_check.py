"""A permit the partner node issued, shown at this node's border check (issue 16, item 5).

South Africa's register does not hold Lesotho's permits, and the status changes Lesotho
sends through the exchange carry no holder's document: the check cannot find them by the
traveller. The holder shows the permit's QR code; the officer scans it into the check
(``permit`` on ``POST /v1/checks``, a field of the console), which verifies it with the keys
and revocation list Lesotho publishes, ties it to the traveller by the holder data signed
in it, and counts it in the stay as South Africa's own permits count. A revoked, tampered or
someone else's permit is a reason, and the stay is assessed as if none had been shown.

The node under test (``engine``, each back end in turn) is South Africa; Lesotho is a SQLite
database of its own, its batches carried in process (as in test_exchange_trust.py).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from _exchange import T0, carry, trust
from factories import BIRTH, NUMBER, add_traveller, passport
from test_checks import check
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain.values import Decision, Direction
from tsela.kernel.actor import Actor
from tsela.services import employers as emp
from tsela.services import exchange as svc
from tsela.services import permits as permits_svc
from tsela.services.keys import KeyStore
from tsela.services.node_identity import NodeIdentity
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.models import Crossing, PortOfEntry, Role

ISSUED_ON = date(2026, 10, 1)  # the work permit's first day: before the stay began
LS_OFFICER = Actor("officer.mokhele", Role.PERMIT_OFFICER, "LS")


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    """The clock of both nodes: 2 December 2026, 10:00 in Maseru (and moving on)."""
    with time_machine.travel(T0, tick=True):
        yield


@pytest.fixture
def lesotho(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'ls.db'}")
    migrate(eng)
    seed_ports(eng, "LS")
    yield eng
    eng.dispose()


@pytest.fixture
def ids(tmp_path: Path) -> tuple[NodeIdentity, NodeIdentity]:
    ls = NodeIdentity(tmp_path / "ls", "LS")
    za = NodeIdentity(tmp_path / "za", "ZA")
    ls.init(T0, endpoint="https://127.0.0.1:9441")
    za.init(T0, endpoint="https://127.0.0.1:9442")
    return ls, za


@pytest.fixture
def south_africa(engine: Engine, tmp_path: Path, ids) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """South Africa's API on the node under test, trusting Lesotho."""
    trust(engine, "ZA", ids[0], T0)
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="ZA",
        var_dir=tmp_path / "za",
    )
    with TestClient(create_app(settings, engine)) as client:
        yield client


@pytest.fixture
def officer(auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers("border_officer", port="FKB")


def _exchange(lesotho: Engine, engine: Engine, ids, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One round: Lesotho publishes its permit keys and signed revocation list into its
    feed, South Africa pulls the feed and writes them where its verifiers look."""
    ls, za = ids
    with transaction(session_factory(lesotho)) as s:
        svc.publish_credentials(s, tmp_path / "ls", "LS", T0)
    while (applied := carry(lesotho, ls, engine, za, now=T0)) is not None and applied.records:
        pass
    svc.publish_partner_credentials(engine, tmp_path / "za", "LS")


def _work_permit(
    lesotho: Engine,
    tmp_path: Path,
    *,
    surname: str = "Mokoena",
    given: str = "Lineo",
    number: str = NUMBER,
    birth: date = BIRTH,
    employer: str = "2019/123456/07",
) -> tuple[str, str]:
    """A seasonal farm-work permit for South Africa, issued by the Lesotho node (from
    1 October 2026): its number and its signed credential (what the QR code holds)."""
    with transaction(session_factory(lesotho)) as s:
        farm = emp.register_employer(
            s,
            LS_OFFICER,
            registration_number=employer,
            name="Ficksburg Cherry Farms",
            sector="Agriculture",
        )
        permit = permits_svc.apply(
            s,
            LS_OFFICER,
            type_code="SEASONAL",
            today=ISSUED_ON,
            applicant=permits_svc.Applicant(
                surname=surname,
                given_names=given,
                birth_date=birth,
                nationality="LSO",
                document_number=number,
                document_expiry=date(2031, 5, 1),
                sex="F",
            ),
            employer=farm.id,
            evidence=[
                permits_svc.EvidenceItem("passport", number),
                permits_svc.EvidenceItem("employment_contract", "season 2026/27"),
            ],
        )
        assert permit.country == "ZAF"
        permits_svc.submit(s, LS_OFFICER, permit.number, ISSUED_ON)
        permits_svc.decide(s, LS_OFFICER, permit.number, "approved")
        keys = KeyStore(tmp_path / "ls", "LS")
        issued = permits_svc.issue(s, LS_OFFICER, permit.number, keys.signer(T0), ISSUED_ON, T0)
        assert issued.token is not None
        return permit.number, issued.token


def _in_for_forty_days(engine: Engine) -> None:
    """Lineo Mokoena entered South Africa at Ficksburg 40 days ago (30 allowed a visitor)."""
    person, doc = add_traveller(engine, node="ZA")
    with transaction(session_factory(engine)) as s:
        port = s.scalar(select(PortOfEntry).where(PortOfEntry.code == "FKB"))
        assert port is not None
        s.add(
            Crossing(
                node="ZA",
                person_id=person.id,
                document_id=doc.id,
                port_id=port.id,
                direction=Direction.ENTRY,
                country="ZAF",
                crossed_at=T0 - timedelta(days=40),
                decision=Decision.CLEAR,
            )
        )


def _leaving(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    got = check(client, headers, port="FKB", mrz=passport(), direction="exit", **body)
    assert got.status_code == 201, got.text
    return got.json()  # type: ignore[no-any-return]


def _codes(answer: dict[str, Any]) -> list[str]:
    return [r["code"] for r in answer["reasons"]]


def _presented(answer: dict[str, Any]) -> dict[str, Any]:
    (found,) = [r for r in answer["reasons"] if r["code"] == "permit.presented"]
    return found  # type: ignore[no-any-return]


def test_a_lesotho_work_permit_lifts_the_limit_at_a_south_african_check(  # type: ignore[no-untyped-def]
    lesotho, engine, ids, south_africa, officer, tmp_path
) -> None:
    number, token = _work_permit(lesotho, tmp_path)
    _exchange(lesotho, engine, ids, tmp_path)
    _in_for_forty_days(engine)

    without = _leaving(south_africa, officer)
    assert without["decision"] == "REFER"
    assert without["stay"]["overstay_days"] == 11  # 41 days counted, 30 allowed
    assert "stay.overstay" in _codes(without)

    shown = _leaving(south_africa, officer, permit=token)
    assert shown["decision"] == "CLEAR", shown["reasons"]
    assert shown["stay"]["overstay_days"] == 0
    assert "stay.overstay" not in _codes(shown)
    accepted = _presented(shown)
    assert (accepted["variant"], accepted["severity"]) == ("accepted", "info")
    assert accepted["message"].startswith(
        f"Seasonal farm-work permit {number}, issued by Lesotho, shown at the desk: verified "
        "with the permit keys Lesotho publishes and its revocation list of 2026-12-02"
    )
    lifted = next(r for r in shown["reasons"] if r["code"] == "permit.valid")
    assert number in lifted["message"] and "stay limit does not apply" in lifted["message"]
    (held,) = shown["permits"]
    assert (held["number"], held["country"], held["permit_type"]) == (number, "ZAF", "SEASONAL")
    assert held["person_id"] == shown["traveller"]["person_id"]
    assert held["employer"] == "Ficksburg Cherry Farms"
    # kept with the check as the officer saw it, and said in Sesotho too
    from tsela.domain.reasons import words

    assert "e fanoeng ke Lesotho" in words(accepted, "st")


def test_a_revoked_permit_is_a_reason_and_the_limit_applies(  # type: ignore[no-untyped-def]
    lesotho, engine, ids, south_africa, officer, tmp_path
) -> None:
    number, token = _work_permit(lesotho, tmp_path)
    _exchange(lesotho, engine, ids, tmp_path)
    _in_for_forty_days(engine)
    with transaction(session_factory(lesotho)) as s:
        permits_svc.revoke(s, LS_OFFICER, number, "the employment contract was forged")
    # the status change arrives with the next batch, before the new signed list is out
    ls, za = ids
    carry(lesotho, ls, engine, za, now=T0)
    got = _leaving(south_africa, officer, permit=token)
    refused = _presented(got)
    assert (refused["variant"], refused["severity"]) == ("revoked", "refer")
    assert refused["message"] == (
        f"Seasonal farm-work permit {number}, issued by Lesotho, was revoked: the stay is "
        "assessed without it."
    )
    assert got["decision"] == "REFER"
    assert "stay.overstay" in _codes(got) and got["stay"]["overstay_days"] == 11
    assert got["permits"] == []
    # and with Lesotho's next signed revocation list (what offline verifiers go by)
    _exchange(lesotho, engine, ids, tmp_path)
    again = _leaving(south_africa, officer, permit=token)
    assert _presented(again)["variant"] == "revoked"
    assert "stay.overstay" in _codes(again)


def test_another_persons_permit_is_a_reason(  # type: ignore[no-untyped-def]
    lesotho, engine, ids, south_africa, officer, tmp_path
) -> None:
    number, token = _work_permit(
        lesotho, tmp_path, surname="Nthati", given="Palesa", number="RA7000002",
        birth=date(1985, 7, 9),
    )  # fmt: skip
    _exchange(lesotho, engine, ids, tmp_path)
    _in_for_forty_days(engine)
    got = _leaving(south_africa, officer, permit=token)
    refused = _presented(got)
    assert (refused["variant"], refused["severity"]) == ("other_holder", "refer")
    assert refused["message"] == (
        f"Seasonal farm-work permit {number}, issued by Lesotho, was issued to NTHATI, PALESA "
        "born 1985-07-09 (document RA7000002), not to this traveller: the stay is assessed "
        "without it."
    )
    assert "stay.overstay" in _codes(got) and got["permits"] == []


def _tampered(token: str, **changes: Any) -> str:
    """The token with claims changed and its signature kept (what a forger can do)."""
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return f"{head}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


def test_a_tampered_permit_is_a_reason(  # type: ignore[no-untyped-def]
    lesotho, engine, ids, south_africa, officer, tmp_path
) -> None:
    # Someone else's permit, edited to name Lineo Mokoena's passport and birth date.
    _, token = _work_permit(
        lesotho, tmp_path, surname="Nthati", given="Palesa", number="RA7000002",
        birth=date(1985, 7, 9),
    )  # fmt: skip
    _exchange(lesotho, engine, ids, tmp_path)
    _in_for_forty_days(engine)
    forged = _tampered(
        token, holder="MOKOENA, LINEO", document=NUMBER, birth_date=BIRTH.isoformat()
    )
    got = _leaving(south_africa, officer, permit=forged)
    refused = _presented(got)
    assert (refused["variant"], refused["severity"]) == ("forged", "refer")
    assert refused["message"].startswith("The permit code shown is not genuine (")
    assert "stay.overstay" in _codes(got) and got["permits"] == []
    garbage = _leaving(south_africa, officer, permit="not a permit at all")
    assert _presented(garbage)["variant"] == "unreadable"
    assert "stay.overstay" in _codes(garbage)


def test_the_console_takes_the_permit_and_says_it_in_sesotho(  # type: ignore[no-untyped-def]
    lesotho, engine, ids, south_africa, make_user, tmp_path, monkeypatch
) -> None:
    from test_web_flows import browser, post_form
    from web_support import use_fast_password_hashing

    use_fast_password_hashing(monkeypatch)
    number, token = _work_permit(lesotho, tmp_path)
    _exchange(lesotho, engine, ids, tmp_path)
    _in_for_forty_days(engine)
    make_user(Role.BORDER_OFFICER, username="thabo", port="FKB")
    officer = browser(south_africa.app, "thabo")
    page = post_form(
        officer,
        "/console?lang=st",
        "/console/check",
        {"mrz": passport(), "direction": "exit", "permit": token},
    )
    assert page.status_code == 200
    assert 'data-code="permit.presented"' in page.text
    said = html.unescape(page.text)
    assert f"Seasonal farm-work permit {number}, e fanoeng ke Lesotho" in said
    assert 'data-code="stay.overstay"' not in page.text
    # The check's page (reached by redirect) counts the stay as the check did, with the
    # permit shown at the desk: no overstay beside the reason that lifts the limit.
    assert 'id="overstay-days"' not in page.text
    again = officer.get(str(page.url))  # a reload shows the same
    assert 'data-code="permit.presented"' in again.text and 'id="overstay-days"' not in again.text


# --------------------------------------------------------------------------- the pure part


def test_a_permit_is_tied_by_document_or_by_name_birth_date_and_nationality() -> None:
    import uuid

    from tsela.domain.credentials import PermitClaims
    from tsela.services.permits.presented import Holder, belongs_to

    claims = PermitClaims(
        permit_id=str(uuid.uuid4()),
        number="LS-SEASONAL-1",
        issuer="LS",
        issued_at=0,
        permit_type="SEASONAL",
        type_name="Seasonal farm-work permit",
        holder="MOKOENA, LINEO",
        birth_date=BIRTH,
        nationality="LSO",
        document=NUMBER,
        rights=("work",),
        country="ZAF",
        valid_from=ISSUED_ON,
        valid_to=date(2027, 6, 27),
    )
    lineo = Holder(uuid.uuid4(), "MOKOENA", "LINEO", BIRTH, "LSO", NUMBER)
    assert belongs_to(claims, lineo)
    # a new passport since the permit: the same name, birth date and nationality
    assert belongs_to(claims, Holder(lineo.person_id, "MOKOENA", "LINEO", BIRTH, "LSO", "RB1"))
    # the same passport number, another birth date or nationality: not hers
    assert not belongs_to(claims, Holder(lineo.person_id, "MOKOENA", "LINEO",
                                         date(1990, 1, 1), "LSO", NUMBER))  # fmt: skip
    assert not belongs_to(claims, Holder(lineo.person_id, "MOKOENA", "LINEO", BIRTH, "ZAF",
                                         NUMBER))  # fmt: skip
    # a new passport and another name (or no birth date to go by): not tied
    assert not belongs_to(claims, Holder(lineo.person_id, "MOKOENA", "PALESA", BIRTH, "LSO",
                                         "RB1"))  # fmt: skip
    assert not belongs_to(claims, Holder(lineo.person_id, "MOKOENA", "LINEO", None, "LSO", "RB1"))
