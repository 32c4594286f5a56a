"""Mutual trust between the nodes (issue 16, item 5), with batches carried from one database to
the other (the two-real-node tests are in test_exchange_trust_nodes.py): a passport reported
stolen in Lesotho is refused at Ficksburg, and stops being refused once Lesotho no longer
lists it; a permit Lesotho issued is verified in South Africa with the keys and revocation
list Lesotho publishes, shown revoked once revoked, and refused once its key is withdrawn.

The node under test (``engine``, each back end in turn) is South Africa; Lesotho is a SQLite
database of its own.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from _exchange import T0, carry, trust
from test_checks import check, passport
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain.credentials import VerifyStatus
from tsela.ids import new_id
from tsela.kernel.actor import Actor
from tsela.services import exchange as svc
from tsela.services import permit_trust, port_sync
from tsela.services import permits as permits_svc
from tsela.services.keys import KeyStore, KeyStoreError
from tsela.services.node_identity import NodeIdentity
from tsela.services.screening import import_watchlist
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.models import Role
from tsela.store.partner_alerts import PartnerDocumentAlert
from tsela.store.watchlists import WatchlistKind

TODAY = date(2026, 12, 2)
LS_OFFICER = Actor("officer.mokhele", Role.PERMIT_OFFICER, "LS")
STOLEN_LIST = "LMPS lost and stolen passports"


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


def _pull(lesotho: Engine, engine: Engine, ids, var: Path) -> None:  # type: ignore[no-untyped-def]
    """What South Africa's puller does: apply Lesotho's feed, then write Lesotho's permit
    keys and revocation list where the verifiers look."""
    ls, za = ids
    while (applied := carry(lesotho, ls, engine, za, now=T0)) is not None and applied.records:
        pass
    svc.publish_partner_credentials(engine, var, "LS")


def _stolen(lesotho: Engine, *rows: tuple[str, str]) -> None:
    data = "issuing_state,number,status,reported_on\n" + "".join(
        f"LSO,{number},{status},2026-11-30\n" for number, status in rows
    )
    import_watchlist(
        lesotho,
        list_name=STOLEN_LIST,
        data=data,
        fmt="csv",
        actor="lmps",
        node="LS",
        kind=WatchlistKind.DOCUMENT,
        confirm=True,
    )


def test_a_passport_reported_stolen_in_maseru_is_refused_at_ficksburg(  # type: ignore[no-untyped-def]
    lesotho, engine, ids, south_africa, auth_headers, tmp_path
) -> None:
    officer = auth_headers("border_officer", port="FKB")
    _stolen(lesotho, ("RA5550001", "stolen"), ("RA5550002", "lost"))
    before = check(south_africa, officer, port="FKB", mrz=passport(number="RA5550001")).json()
    assert before["decision"] != "DENY"  # South Africa has not heard of it yet

    _pull(lesotho, engine, ids, tmp_path / "za")
    got = check(south_africa, officer, port="FKB", mrz=passport(number="RA5550001")).json()
    assert got["decision"] == "DENY"  # as this node's own stolen-document alerts are
    reason = next(r for r in got["reasons"] if r["code"].startswith("document."))
    assert reason["code"] == "document.stolen.reported_by_ls"
    assert reason["severity"] == "deny"
    assert "reported stolen in Lesotho" in reason["message"]
    assert STOLEN_LIST in reason["message"] and "2026-11-30" in reason["message"]
    lost = check(
        south_africa, officer, port="FKB", mrz=passport(number="RA5550002", surname="NTHATI")
    ).json()
    assert "document.lost.reported_by_ls" in [r["code"] for r in lost["reasons"]]

    # Lesotho lists it no more (found again): once the new version has arrived, it passes.
    _stolen(lesotho, ("RA5550002", "lost"), ("RA5550003", "revoked"))
    _pull(lesotho, engine, ids, tmp_path / "za")
    again = check(south_africa, officer, port="FKB", mrz=passport(number="RA5550001")).json()
    assert not [r for r in again["reasons"] if "reported_by" in r["code"]]
    with session_factory(engine)() as s:
        held = sorted(s.scalars(select(PartnerDocumentAlert.number)))
    assert held == ["RA5550002", "RA5550003"]


def test_a_version_split_over_two_batches_never_leaves_a_gap(lesotho, engine, ids) -> None:  # type: ignore[no-untyped-def]
    ls, za = ids
    trust(engine, "ZA", ls, T0)
    _stolen(lesotho, ("RA5550001", "stolen"))
    carry(lesotho, ls, engine, za, now=T0)
    _stolen(lesotho, ("RA5550001", "stolen"), ("RA5550009", "stolen"))
    carry(lesotho, ls, engine, za, now=T0, limit=1)  # half of the new version
    with session_factory(engine)() as s:
        versions = sorted(s.scalars(select(PartnerDocumentAlert.list_version)))
    assert versions == [1, 2]  # the old one is kept until the new one is whole
    carry(lesotho, ls, engine, za, now=T0)
    with session_factory(engine)() as s:
        rows = sorted(s.execute(select(PartnerDocumentAlert.number, PartnerDocumentAlert.node)))
    assert rows == [("RA5550001", "LS"), ("RA5550009", "LS")]


def _issue(lesotho: Engine, keys: KeyStore) -> tuple[str, str]:
    from test_permits_service import lineo

    with transaction(session_factory(lesotho)) as s:
        permit = permits_svc.apply(
            s,
            LS_OFFICER,
            type_code="STUDY",
            today=TODAY,
            applicant=lineo(),
            evidence=[
                permits_svc.EvidenceItem("passport", "RA1234567"),
                permits_svc.EvidenceItem("institution_registration", "UFS 2026/0042"),
                permits_svc.EvidenceItem("proof_of_funds", "bank letter"),
            ],
        )
        number = permit.number
        permits_svc.submit(s, LS_OFFICER, number, TODAY)
        permits_svc.decide(s, LS_OFFICER, number, "approved")
        issued = permits_svc.issue(s, LS_OFFICER, number, keys.signer(T0), TODAY, T0)
        assert issued.token is not None
        return number, issued.token


def _publish(lesotho: Engine, var: Path) -> None:
    """What Lesotho's server does every round: its permit keys and revocation list, signed,
    into the feed when they change."""
    with transaction(session_factory(lesotho)) as s:
        svc.publish_credentials(s, var, "LS", T0)


def test_a_permit_issued_in_lesotho_is_verified_in_south_africa(  # type: ignore[no-untyped-def]
    lesotho, engine, ids, south_africa, tmp_path
) -> None:
    ls_var, za_var = tmp_path / "ls", tmp_path / "za"
    keys = KeyStore(ls_var, "LS")
    number, token = _issue(lesotho, keys)
    unknown = south_africa.post("/v1/permits/verify", json={"token": token}).json()
    assert unknown["status"] == "unknown_key"  # nothing of Lesotho's is known yet

    _publish(lesotho, ls_var)
    _pull(lesotho, engine, ids, za_var)
    assert (za_var / "keys" / "LS" / "keyset.json").exists()
    assert (za_var / "keys" / "LS" / "revocations.jws").exists()
    got = south_africa.post("/v1/permits/verify", json={"token": token}).json()
    assert got["status"] == "valid" and got["permit"]["number"] == number
    assert got["issued_by"] == {
        "node": "LS",
        "country": "LSO",
        "name": {"en": "Lesotho", "st": "Lesotho"},
        "words": {"en": "Issued by Lesotho", "st": "E fanoe ke Lesotho"},
    }
    assert any("through the exchange" in r for r in got["reasons"])
    assert not any(r.startswith("revocation not checked") for r in got["reasons"])
    # offline, as the officer's CLI does it: files only, no database
    offline = permit_trust.verify_offline(permit_trust.load_trust(za_var), token, TODAY, "ZA")
    assert offline.status is VerifyStatus.VALID and offline.issued_by == "LS"
    # the port's bundle: both nodes' keys, Lesotho's list; checked as the port checks it
    with session_factory(engine)() as s:
        snap = port_sync.snapshot(s, node="ZA", port="FKB", var_dir=za_var)
    bundle = permit_trust.check_bundle(snap["permits"])
    assert {rl.node for rl in bundle.revocations} >= {"LS"}
    assert permit_trust.verify_offline(bundle, token, TODAY, "ZA").valid

    # Revoked in Maseru: the status change arrives with the very next batch ...
    with transaction(session_factory(lesotho)) as s:
        permits_svc.revoke(s, LS_OFFICER, number, "obtained with a forged letter")
    _pull(lesotho, engine, ids, za_var)
    now = south_africa.post("/v1/permits/verify", json={"token": token}).json()
    assert now["status"] == "revoked"
    assert any("received from node LS" in r for r in now["reasons"])
    assert now["issued_by"]["node"] == "LS"
    # ... and the signed list, which offline verifiers use, with the next round
    _publish(lesotho, ls_var)
    _pull(lesotho, engine, ids, za_var)
    offline = permit_trust.verify_offline(permit_trust.load_trust(za_var), token, TODAY, "ZA")
    assert offline.status is VerifyStatus.REVOKED


def test_a_permit_signed_by_a_withdrawn_key_is_refused(  # type: ignore[no-untyped-def]
    lesotho, engine, ids, south_africa, tmp_path
) -> None:
    ls_var, za_var = tmp_path / "ls", tmp_path / "za"
    keys = KeyStore(ls_var, "LS")
    _, token = _issue(lesotho, keys)
    _publish(lesotho, ls_var)
    _pull(lesotho, engine, ids, za_var)
    assert south_africa.post("/v1/permits/verify", json={"token": token}).json()["valid"]

    old = keys.active()
    assert old is not None
    gone, new = keys.withdraw(old.kid, T0 + timedelta(hours=1))  # the key leaked
    assert gone.status == "withdrawn" and new is not None and new.kid != old.kid
    _publish(lesotho, ls_var)
    _pull(lesotho, engine, ids, za_var)
    got = south_africa.post("/v1/permits/verify", json={"token": token}).json()
    assert got["status"] == "key_withdrawn" and not got["valid"]
    assert got["permit"] is None  # nothing it signed is shown as if true
    assert got["issued_by"]["node"] == "LS"
    assert f"node LS withdrew on {T0.date().isoformat()}" in got["reasons"][0]
    offline = permit_trust.verify_offline(permit_trust.load_trust(za_var), token, TODAY, "ZA")
    assert offline.status is VerifyStatus.KEY_WITHDRAWN


def test_a_partner_list_that_does_not_verify_is_not_used(tmp_path: Path) -> None:
    """A revocation list on disk that Lesotho's keys do not verify is named, not trusted."""
    keys = KeyStore(tmp_path / "ls", "LS")
    keys.ensure(T0)
    other = KeyStore(tmp_path / "elsewhere", "LS")  # a key Lesotho never published
    from tsela.domain.credentials import RevocationList, sign_revocation_list

    folder = tmp_path / "za" / "keys" / "LS"
    folder.mkdir(parents=True)
    (folder / "keyset.json").write_text((keys.keyset_path).read_text())
    forged = sign_revocation_list(RevocationList("LS", T0, frozenset()), other.signer(T0))
    (folder / "revocations.jws").write_text(forged)
    loaded = permit_trust.load_trust(tmp_path / "za")
    assert loaded.revocations == []
    assert "refused" in loaded.problems[0] and "revocations.jws" in loaded.problems[0]


def test_the_pages_say_it_in_english_and_sesotho(  # type: ignore[no-untyped-def]
    lesotho, engine, ids, south_africa, make_user, tmp_path, monkeypatch
) -> None:
    from test_web_flows import browser, post_form
    from web_support import csrf_of, use_fast_password_hashing

    use_fast_password_hashing(monkeypatch)
    za_var = tmp_path / "za"
    _stolen(lesotho, ("RA5550001", "stolen"))
    _, token = _issue(lesotho, KeyStore(tmp_path / "ls", "LS"))
    _publish(lesotho, tmp_path / "ls")
    _pull(lesotho, engine, ids, za_var)

    make_user(Role.BORDER_OFFICER, username="thabo", port="FKB")
    officer = browser(south_africa.app, "thabo")
    said = {
        "en": 'This document is reported stolen in Lesotho on 2026-11-30 (list "LMPS lost and '
        'stolen passports"): hold it and refer the traveller.',
        "st": "Tokomane ena e tlalehiloe e utsoitsoe naheng ea Lesotho ka 2026-11-30 (lenane "
        '"LMPS lost and stolen passports"): e tšoare \'me u romele moeti tlhahlobong ea bobeli.',
    }
    for lang, words in said.items():
        page = post_form(
            officer,
            f"/console?lang={lang}",
            "/console/check",
            {"mrz": passport(number="RA5550001"), "direction": "entry"},
        )
        assert 'data-code="document.stolen.reported_by_ls"' in page.text, lang
        assert words in html.unescape(page.text), lang

    anyone = TestClient(south_africa.app)
    for lang, issued in {"en": "Issued by Lesotho", "st": "E fanoe ke Lesotho"}.items():
        form = anyone.get(f"/verify?lang={lang}")
        page = anyone.post("/verify", data={"csrf_token": csrf_of(form.text), "token": token})
        assert page.status_code == 200
        assert f'id="issued-by">{issued}' in page.text, lang
    # a South African employer checks a Lesotho worker's permit (audited there)
    from web_support import add_employer

    make_user(Role.EMPLOYER, username="orchard", employer_id=add_employer(engine))
    boss = browser(south_africa.app, "orchard")
    checked = post_form(boss, "/employer/verify", "/employer/verify", {"token": token})
    assert checked.status_code == 200
    assert 'id="issued-by">Issued by Lesotho' in checked.text
    assert "VALID" in checked.text


# --------------------------------------------------------------------------- the pure parts


def test_a_partner_report_is_a_deny_naming_the_reporting_country() -> None:
    from tsela.domain import decisions as dec

    reasons = dec.document_reasons(
        mrz_errors=[],
        expiry=None,
        status="valid",
        today=TODAY,
        direction="exit",
        partner_alerts=[dec.PartnerAlert("ZA", "revoked", date(2026, 11, 1), "DHA revoked")],
    )
    assert [(r.code, r.severity) for r in reasons] == [
        ("document.revoked.reported_by_za", dec.Severity.DENY)
    ]
    assert (
        reasons[0].message == "This document is reported revoked in South Africa on 2026-11-01 "
        '(list "DHA revoked"): hold it and refer the traveller.'
    )
    assert dec.decide(reasons).value == "DENY"
    # ... as this node's own report of the same document is
    own = dec.document_reasons(
        mrz_errors=[], expiry=None, status="stolen", today=TODAY, direction="exit"
    )
    assert own[0].severity is reasons[0].severity
    assert len(set(dec.PARTNER_ALERT_CODES)) == 6
    assert "document.stolen.reported_by_ls" in dec.PARTNER_ALERT_CODES


def test_a_withdrawn_key_stays_withdrawn_and_signs_nothing_trusted(tmp_path: Path) -> None:
    from tsela.domain.credentials import (
        CredentialError,
        KeySet,
        RevocationList,
        Verifier,
        sign_revocation_list,
    )

    keys = KeyStore(tmp_path, "LS")
    signer = keys.signer(T0)
    before = keys.jwks()  # a verifier's old copy, from before the withdrawal
    listed = sign_revocation_list(RevocationList("LS", T0, frozenset()), signer)
    keys.withdraw(signer.kid, T0 + timedelta(days=1))
    with pytest.raises(KeyStoreError):
        keys.withdraw(signer.kid, T0 + timedelta(days=1))  # once is enough
    merged = KeySet.from_jwks(keys.jwks(), before)  # the old copy does not bring it back
    assert merged.get(signer.kid).status == "withdrawn"  # type: ignore[union-attr]
    with pytest.raises(CredentialError, match="withdrawn"):
        Verifier(merged).parse_revocations(listed)
    assert keys.active() is not None and keys.active().kid != signer.kid  # type: ignore[union-attr]
    assert not (tmp_path / "keys" / "LS" / f"{signer.kid}.pem").exists()


def test_the_words_of_a_partner_report_in_both_languages() -> None:
    from datetime import date

    from tsela.domain.decisions import PartnerAlert, partner_document_reason
    from tsela.domain.reasons import Severity, words

    alert = PartnerAlert(node="ZA", status="lost", reported_on=date(2026, 5, 1))
    got = partner_document_reason(alert)
    assert got.code == "document.lost.reported_by_za"
    assert got.severity is Severity.DENY
    assert words(got, "st") == (
        "Tokomane ena e tlalehiloe e lahlehile naheng ea Afrika Boroa ka 2026-05-01: e tšoare "
        "'me u romele moeti tlhahlobong ea bobeli."
    )
    assert words(got, "en") == (
        "This document is reported lost in South Africa on 2026-05-01: hold it and refer the "
        "traveller."
    )


def test_a_malformed_partner_alert_refuses_the_whole_batch(lesotho, engine, ids) -> None:  # type: ignore[no-untyped-def]
    from tsela.exchange.batch import BatchRefused
    from tsela.services import exchange_outbox
    from tsela.store.exchange import Partner

    ls, za = ids
    trust(engine, "ZA", ls, T0)
    good = {"id": str(new_id()), "node": "LS", "issuing_state": "LSO", "number": "RA1"}
    with transaction(session_factory(lesotho)) as s:
        exchange_outbox.append(s, "LS", "document_alert", "a", {**good, "status": "stolen"})
        bad = {**good, "id": str(new_id()), "status": "misplaced"}
        exchange_outbox.append(s, "LS", "document_alert", "b", bad)
    with pytest.raises(BatchRefused) as refused:
        carry(lesotho, ls, engine, za, now=T0)
    assert refused.value.code == "bad_record" and "'misplaced' is not one of" in str(refused.value)
    with session_factory(engine)() as s:
        assert list(s.scalars(select(PartnerDocumentAlert))) == []  # nothing applied
        assert s.scalar(select(Partner.last_seq)) == 0


def test_a_partner_permit_never_moves_back_to_an_older_status(engine) -> None:  # type: ignore[no-untyped-def]
    from tsela.store.partner_permits import apply_partner_permits, status_of

    permit = str(new_id())

    def change(status: str, minutes: int) -> dict[str, object]:
        return {
            "id": str(new_id()),
            "node": "LS",
            "permit_id": permit,
            "number": "LS-STUDY-000042",
            "permit_type": "STUDY",
            "country": "ZAF",
            "from_status": None,
            "status": status,
            "valid_from": "2026-12-02",
            "valid_to": "2027-12-01",
            "changed_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        }

    issued, revoked = change("issued", 0), change("revoked", 30)
    with transaction(session_factory(engine)) as s:
        assert apply_partner_permits(s, "LS", [revoked, issued]) == 1  # the newest wins
    with transaction(session_factory(engine)) as s:
        assert apply_partner_permits(s, "LS", [issued]) == 0  # an older one, again: ignored
        assert apply_partner_permits(s, "ZA", [{**change("issued", 60), "node": "ZA"}]) == 0
    with session_factory(engine)() as s:
        held = status_of(s, "LS", permit)
        assert held is not None and held.status == "revoked"
        assert status_of(s, "ZA", permit) is None  # another node cannot speak for it
    with (
        pytest.raises(ValueError, match="arrived from LS"),
        transaction(session_factory(engine)) as s,
    ):
        apply_partner_permits(s, "LS", [{**revoked, "node": "ZA"}])
