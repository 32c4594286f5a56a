"""The fast lane for frequent crossers (issue 20, item 2), on SQLite and PostgreSQL: a worker
applies, an officer vets (screening, history, interview), a supervisor approves and the card
is signed with the node's permit key; at the lane one scan answers CLEAR (the crossing
recorded) or REFER to secondary. Referrals at random come from an injected draw; a hit or a
ban suspends the membership; forged, unreadable, unknown, replaced and expired cards are
referred with the precise reason.

Lesotho's node, its clock standing at 12 May 2026, 10:00 at the border. The member is Thabo
Nkosi, a South African (passport ZAF A01000001) who works in Maseru and crosses at Maseru
Bridge (MSU): he meets the Lesotho visitor rule, so his check is the full one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from factories import add_traveller
from tsela.api.app import create_app
from tsela.config import Settings, load_settings
from tsela.domain import credentials as cred
from tsela.domain import fast_lane as dom
from tsela.domain.values import Decision, Role
from tsela.kernel.actor import Actor
from tsela.kernel.clock import FixedClock
from tsela.kernel.errors import Conflict, Forbidden, Invalid
from tsela.services import fast_lane as svc
from tsela.services.keys import KeyStore
from tsela.services.screening import import_watchlist
from tsela.services.screening_link import BorderScreening
from tsela.store.checks import BorderCheck
from tsela.store.db import session_factory, transaction
from tsela.store.fast_lane import FastLaneMembership
from tsela.store.models import AuditEvent, Crossing
from tsela.store.waits import QueueEvent

NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)  # 10:00 at the border
NUMBER, BIRTH = "A01000001", date(1984, 9, 3)
STATEMENT = "I live in Ladybrand and work at a garage in Maseru; I cross twice a day."

# --------------------------------------------------------------------------- the domain


def test_card_numbers_validity_and_what_a_card_may_not_do() -> None:
    number = dom.new_number()
    assert len(number) == 8 and dom.shown_number(number) == f"FL-{number[:4]}-{number[4:]}"
    # A card serves a year, never beyond the passport it is bound to.
    assert dom.card_valid_to(date(2026, 5, 12), date(2031, 1, 1)) == date(2027, 5, 12)
    assert dom.card_valid_to(date(2026, 5, 12), date(2026, 9, 30)) == date(2026, 9, 30)
    card = dom.Card(
        "m", "ABCD2345", "LS", "THABO NKOSI", "ZAF", NUMBER, date(2026, 5, 12), date(2027, 5, 12)
    )
    assert dom.Card.from_claims(card.claims(NOW)) == card
    assert dom.Card.from_claims({"jti": "m"}) is None

    def problem(status: dom.Status, current: bool = True, today: date = date(2026, 6, 1)) -> Any:
        return dom.card_problem(card, status=status, current=current, today=today)

    assert problem(dom.Status.ACTIVE) is None
    assert problem(dom.Status.SUSPENDED) == "suspended"
    assert problem(dom.Status.REFUSED) == "not_member"
    assert problem(dom.Status.ACTIVE, current=False) == "replaced"
    assert problem(dom.Status.ACTIVE, today=date(2027, 5, 13)) == "expired"
    assert problem(dom.Status.ACTIVE, today=date(2026, 5, 11)) == "not_yet_valid"


def test_the_lane_refers_anything_but_clear_and_hits_and_bans_suspend() -> None:
    assert dom.answer(Decision.CLEAR) is dom.Answer.CLEAR
    assert dom.answer(Decision.REFER) is dom.Answer.REFER
    assert dom.answer(Decision.DENY) is dom.Answer.REFER  # the lane refuses no one
    assert dom.selected(0.049, 0.05) and not dom.selected(0.05, 0.05)
    assert not dom.selected(0.0, 0.0)  # a rate of 0: never
    codes = [
        "stay.allowed",
        "watchlist.possible",
        "entry_ban.partner",
        "document.stolen",
        "document.expired",
        "watchlist.possible",
        "history.still_inside",
    ]
    assert dom.suspends(codes) == ["watchlist.possible", "entry_ban.partner", "document.stolen"]


def test_vetting_summary_and_what_blocks_an_approval() -> None:
    since = NOW - timedelta(days=365)
    crossed = [
        dom.Crossed("entry", NOW - timedelta(days=400), "MSU"),  # before the year: not counted
        dom.Crossed("entry", NOW - timedelta(days=30), "MSU"),
        dom.Crossed("exit", NOW - timedelta(days=29), "MSU"),
        dom.Crossed("entry", NOW - timedelta(days=2), "FIC"),
    ]
    h = dom.history(crossed, since)
    assert (h.total, h.entries, h.exits, h.ports) == (3, 2, 1, {"MSU": 2, "FIC": 1})
    assert h.last == crossed[-1]
    vetting = dom.Vetting(hits=(), bans=(), document_expired=False, interview=None)
    assert vetting.blocking() == ["fastlane.no_interview"]
    worse = dom.Vetting(("a hit",), ("a ban",), True, dom.Interview.CONCERNS)
    assert worse.blocking() == [
        "fastlane.interview_concerns",
        "fastlane.watchlist_hit",
        "fastlane.entry_ban",
        "fastlane.document_expired",
    ]
    ok = dom.Vetting((), (), False, dom.Interview.SATISFACTORY)
    assert ok.blocking() == []


def test_the_refer_rate_and_seed_come_from_the_environment() -> None:
    settings = load_settings({"TSELA_FAST_LANE_REFER_PERCENT": "2.5", "TSELA_FAST_LANE_SEED": "7"})
    assert (settings.fast_lane_refer_rate, settings.fast_lane_seed) == (0.025, 7)
    default = load_settings({})
    assert (default.fast_lane_refer_rate, default.fast_lane_seed) == (0.05, None)
    with pytest.raises(ValueError, match="percentage from 0 to 100"):
        load_settings({"TSELA_FAST_LANE_REFER_PERCENT": "150"})


# --------------------------------------------------------------------------- the store


@pytest.fixture
def app_client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=tmp_path,
        fast_lane_refer_rate=0.05,
    )
    with TestClient(create_app(settings, engine, FixedClock(NOW))) as client:
        client.app.state.lane_draw = lambda: 0.99  # type: ignore[attr-defined]  # never picked
        yield client


@pytest.fixture
def member(engine: Engine, make_user):  # type: ignore[no-untyped-def]
    person, doc = add_traveller(
        engine, NUMBER, surname="NKOSI", given="THABO", nationality="ZAF", birth=BIRTH, sex="M"
    )
    user = make_user(Role.WORKER, username="thabo", person_id=person.id)
    return Actor.of(user, "LS"), doc


@pytest.fixture
def officer(auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers("border_officer", port="MSU")


OFFICER = Actor("vetting", Role.BORDER_OFFICER, "LS")
SUPERVISOR = Actor("chief", Role.SUPERVISOR, "LS")
SCREENING = BorderScreening()


def applied(engine: Engine, member) -> uuid.UUID:  # type: ignore[no-untyped-def]
    actor, doc = member
    with transaction(session_factory(engine)) as s:
        m = svc.apply(
            s,
            actor,
            document_id=doc.id,
            category="commuter",
            port_code="msu",
            statement=STATEMENT,
            now=NOW,
        )
        return m.id


def approved(engine: Engine, tmp_path: Path, member) -> FastLaneMembership:  # type: ignore[no-untyped-def]
    mid = applied(engine, member)
    with transaction(session_factory(engine)) as s:
        svc.interview(
            s, OFFICER, mid, outcome="satisfactory", note="Payslips and lease seen.", now=NOW
        )
        m = svc.decide(
            s,
            SUPERVISOR,
            mid,
            approve=True,
            reason_text="",
            screening=SCREENING,
            var_dir=tmp_path,
            now=NOW,
        )
        s.expunge(m)
    return m


def scan(
    client: TestClient, headers: dict[str, str], card: str, direction: str = "entry", **extra: Any
) -> dict[str, Any]:
    answer = client.post(
        "/v1/lane/scans",
        json={"port": "MSU", "direction": direction, "card": card},
        headers={**headers, **extra},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def codes(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["code"], r["variant"]) for r in answer["reasons"]]


def actions(engine: Engine) -> list[str]:
    with session_factory(engine)() as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("fastlane.%"))
                .order_by(AuditEvent.id)  # UUIDv7: the order they were written
            )
        )


def crossings(engine: Engine) -> list[tuple[str, str]]:
    with session_factory(engine)() as s:
        rows = s.execute(select(Crossing.direction, Crossing.decision).order_by(Crossing.id)).all()
    return [(d.value, c.value) for d, c in rows]


def test_apply_vet_approve_then_one_scan_clears_and_records_the_crossing(
    app_client: TestClient, officer: dict[str, str], engine: Engine, tmp_path: Path, member
) -> None:  # type: ignore[no-untyped-def]
    mid = applied(engine, member)
    with transaction(session_factory(engine)) as s:
        found = svc.dossier(s, OFFICER, mid, screening=SCREENING, now=NOW)
        assert (found.findings, found.bans, found.document_expired) == ([], [], False)
        assert found.history.total == 0
        # Not before the interview.
        with pytest.raises(Conflict, match="has not been interviewed") as refused:
            svc.decide(
                s,
                SUPERVISOR,
                mid,
                approve=True,
                reason_text="",
                screening=SCREENING,
                var_dir=tmp_path,
                now=NOW,
            )
        assert refused.value.code == "fastlane.no_interview"
        # An officer interviews; only a supervisor decides.
        svc.interview(
            s, OFFICER, mid, outcome="satisfactory", note="Payslips and lease seen.", now=NOW
        )
        with pytest.raises(Forbidden):
            svc.decide(
                s,
                OFFICER,
                mid,
                approve=True,
                reason_text="",
                screening=SCREENING,
                var_dir=tmp_path,
                now=NOW,
            )
        m = svc.decide(
            s,
            SUPERVISOR,
            mid,
            approve=True,
            reason_text="Commuter, clean record",
            screening=SCREENING,
            var_dir=tmp_path,
            now=NOW,
        )
        assert m.status is dom.Status.ACTIVE
        assert (m.valid_from, m.valid_to) == (date(2026, 5, 12), date(2027, 5, 12))
        token = m.token
        assert token is not None
        number = dom.shown_number(m.number)
    # The card is signed with the node's key, as permits are, and says whose passport it is.
    status, claims = cred.Verifier(KeyStore(tmp_path, "LS").keyset()).open_signed(
        token, dom.TYP, "card"
    )
    assert status is cred.VerifyStatus.VALID
    assert (claims["holder"], claims["document"], claims["issuing_state"]) == (
        "THABO NKOSI",
        NUMBER,
        "ZAF",
    )

    entry = scan(app_client, officer, token)
    assert entry["answer"] == "CLEAR" and entry["crossing_id"] is not None
    assert (entry["number"], entry["holder"]) == (number, "THABO NKOSI")
    assert ("fastlane.member", "") in codes(entry) and ("stay.allowed", "") in codes(entry)
    assert not entry["selected_at_random"] and not entry["suspended"]
    back = scan(app_client, officer, token, direction="exit")
    assert back["answer"] == "CLEAR"
    assert crossings(engine) == [("entry", "CLEAR"), ("exit", "CLEAR")]
    with session_factory(engine)() as s:
        kept = s.get(BorderCheck, uuid.UUID(entry["check_id"]))
        assert kept is not None and kept.crossing_id == uuid.UUID(entry["crossing_id"])
        assert any(r["code"] == "fastlane.member" for r in kept.reasons)
        # Each scan is a turn at the fast lane: the wait times count that queue apart.
        turns = s.execute(select(QueueEvent.lane, QueueEvent.kind).order_by(QueueEvent.id)).all()
        assert [(lane, kind.value) for lane, kind in turns] == [("fast", "turn")] * 2
    assert actions(engine) == [
        "fastlane.apply",
        "fastlane.vet.read",
        "fastlane.interview",
        "fastlane.approve",
        "fastlane.scan",
        "fastlane.scan",
    ]


def test_a_retry_under_the_same_key_answers_the_crossing_recorded(
    app_client: TestClient, officer: dict[str, str], engine: Engine, tmp_path: Path, member
) -> None:  # type: ignore[no-untyped-def]
    token = approved(engine, tmp_path, member).token
    assert token
    first = scan(app_client, officer, token, **{"Idempotency-Key": "gate-3-0815"})
    again = scan(app_client, officer, token, **{"Idempotency-Key": "gate-3-0815"})
    assert (again["answer"], again["replayed"]) == ("CLEAR", True)
    assert again["crossing_id"] == first["crossing_id"]
    assert crossings(engine) == [("entry", "CLEAR")]


def test_referrals_at_random_follow_the_injected_draw(
    app_client: TestClient, officer: dict[str, str], engine: Engine, tmp_path: Path, member
) -> None:  # type: ignore[no-untyped-def]
    token = approved(engine, tmp_path, member).token
    assert token
    draws = iter([0.01, 0.5])  # below the 5 % rate, then above it
    app_client.app.state.lane_draw = lambda: next(draws)  # type: ignore[attr-defined]
    picked = scan(app_client, officer, token)
    assert (picked["answer"], picked["selected_at_random"]) == ("REFER", True)
    [said] = [r for r in picked["reasons"] if r["code"] == "fastlane.random"]
    assert "5%" in said["message"] and said["severity"] == "refer"
    assert picked["crossing_id"] is None and not picked["suspended"]
    # The officer at secondary opens the check and records the crossing with a reason.
    assert crossings(engine) == []
    # The membership stays active: the next scan clears.
    with session_factory(engine)() as s:
        assert s.scalars(select(FastLaneMembership.status)).one() is dom.Status.ACTIVE
    assert scan(app_client, officer, token)["answer"] == "CLEAR"


def test_an_entry_ban_refers_and_suspends_until_a_supervisor_reinstates(
    app_client: TestClient,
    officer: dict[str, str],
    engine: Engine,
    tmp_path: Path,
    member,
    auth_headers,
) -> None:  # type: ignore[no-untyped-def]
    m = approved(engine, tmp_path, member)
    assert m.token
    ban = {
        "starts_on": "2026-05-01",
        "ends_on": "2027-04-30",
        "ground": "B",
        "traveller": {
            "surname": "NKOSI",
            "given_names": "THABO",
            "nationality": "ZAF",
            "birth_date": BIRTH.isoformat(),
        },
    }
    made = app_client.post("/v1/entry-bans", json=ban, headers=auth_headers("supervisor"))
    assert made.status_code == 201, made.text
    hit = scan(app_client, officer, m.token)
    assert (hit["answer"], hit["suspended"]) == ("REFER", True)
    assert ("entry_ban.active", "") in codes(hit)
    with session_factory(engine)() as s:
        kept = s.get(FastLaneMembership, m.id)
        assert kept is not None and kept.status is dom.Status.SUSPENDED
        assert kept.suspended_by == "lane" and kept.suspension_check_id == uuid.UUID(
            hit["check_id"]
        )
        assert "Banned from entering Lesotho" in (kept.suspension_reason or "")
    assert actions(engine)[-2:] == ["fastlane.suspend", "fastlane.scan"]
    # Suspended, the card is referred with that reason.
    again = scan(app_client, officer, m.token, direction="exit")
    assert ("fastlane.card", "suspended") in codes(again) and not again["suspended"]
    with transaction(session_factory(engine)) as s:
        with pytest.raises(Invalid, match="at least 10 characters"):
            svc.reinstate(s, SUPERVISOR, m.id, reason_text="ok", now=NOW)
        svc.reinstate(
            s, SUPERVISOR, m.id, reason_text="Ban lifted on appeal (case 44/2026)", now=NOW
        )
    assert actions(engine)[-1] == "fastlane.reinstate"


def test_a_watchlist_hit_refers_and_suspends(
    app_client: TestClient, officer: dict[str, str], engine: Engine, tmp_path: Path, member
) -> None:  # type: ignore[no-untyped-def]
    m = approved(engine, tmp_path, member)
    assert m.token
    import_watchlist(
        engine,
        list_name="SAPS wanted",
        data=f"name,birth_date,nationality\nThabo Nkosi,{BIRTH.isoformat()},ZAF\n",
        fmt="csv",
        actor="test",
        node="LS",
        category="wanted",  # type: ignore[arg-type]
    )
    hit = scan(app_client, officer, m.token)
    assert (hit["answer"], hit["suspended"]) == ("REFER", True)
    assert any(code.startswith("watchlist.") for code, _ in codes(hit))
    assert crossings(engine) == []


def test_bad_cards_are_referred_with_the_precise_reason(
    app_client: TestClient, officer: dict[str, str], engine: Engine, tmp_path: Path, member
) -> None:  # type: ignore[no-untyped-def]
    m = approved(engine, tmp_path, member)
    token = m.token
    assert token
    head, body, sig = token.split(".")
    # Claims altered (another passport) under the real signature: forged.
    other = cred.b64e(cred.b64d(body, "b").replace(NUMBER.encode(), b"A09999999"))
    forged = scan(app_client, officer, f"{head}.{other}.{sig}")
    assert codes(forged) == [("fastlane.card", "forged")] and forged["check_id"] is None
    # Not a card at all.
    assert codes(scan(app_client, officer, "hello"))[0] == ("fastlane.card", "unreadable")
    # A permit's token is not a card (another typ), and an unknown key signs nothing here.
    stranger = cred.Signer("ZZ-1", "LS", cred.Ed25519PrivateKey.generate())
    unknown_key = stranger.sign(
        dom.Card(
            str(m.id), m.number, "LS", "X", "ZAF", NUMBER, date(2026, 5, 1), date(2027, 5, 1)
        ).claims(NOW),
        typ=dom.TYP,
    )
    assert codes(scan(app_client, officer, unknown_key)) == [("fastlane.card", "forged")]
    # A genuine card of a membership this node does not know.
    signer = KeyStore(tmp_path, "LS").signer(NOW)
    ghost = signer.sign(
        dom.Card(
            str(uuid.uuid4()),
            "ZZZZ2222",
            "LS",
            "X",
            "ZAF",
            NUMBER,
            date(2026, 5, 1),
            date(2027, 5, 1),
        ).claims(NOW),
        typ=dom.TYP,
    )
    assert codes(scan(app_client, officer, ghost)) == [("fastlane.card", "unknown")]
    # An older card of the same membership (a newer one was issued): replaced.
    older = signer.sign(
        dom.Card(
            str(m.id),
            m.number,
            "LS",
            "THABO NKOSI",
            "ZAF",
            NUMBER,
            date(2026, 5, 1),
            date(2027, 5, 1),
        ).claims(NOW - timedelta(days=9)),
        typ=dom.TYP,
    )
    replaced = scan(app_client, officer, older)
    assert ("fastlane.card", "replaced") in codes(replaced) and replaced["answer"] == "REFER"
    with session_factory(engine)() as s:
        # Only the replaced card (a known member) ran a check; nothing was recorded.
        assert s.scalar(select(func.count()).select_from(BorderCheck)) == 1
        outcomes = [
            e.detail.get("card")
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "fastlane.scan")
                .order_by(AuditEvent.id)
            )
        ]
    assert outcomes == ["forged", "unreadable", "forged", "unknown", "replaced"]
    assert crossings(engine) == []


def test_an_expired_card_sends_the_member_to_a_desk(
    engine: Engine, tmp_path: Path, member, officer: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    m = approved(engine, tmp_path, member)
    assert m.token and m.valid_to
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False), node="LS", var_dir=tmp_path
    )
    later = FixedClock(datetime(2027, 5, 13, 8, 0, tzinfo=UTC))
    with TestClient(create_app(settings, engine, later)) as client:
        answer = scan(client, officer, m.token)
    assert answer["answer"] == "REFER"
    [said] = [r for r in answer["reasons"] if r["code"] == "fastlane.card"]
    assert said["variant"] == "expired" and "expired on 2027-05-12" in said["message"]
    # The card has expired: the member applies again (the renewal is vetted again).
    actor, doc = member
    with transaction(session_factory(engine)) as s:
        again = svc.apply(
            s,
            actor,
            document_id=doc.id,
            category="commuter",
            port_code="MSU",
            statement=STATEMENT,
            now=later.now(),
        )
        assert again.status is dom.Status.APPLIED and again.number != m.number


def test_applications_are_refused_precisely(
    engine: Engine, tmp_path: Path, member, make_user
) -> None:  # type: ignore[no-untyped-def]
    actor, doc = member
    with transaction(session_factory(engine)) as s:
        with pytest.raises(Invalid, match="why you cross often"):
            svc.apply(
                s,
                actor,
                document_id=doc.id,
                category="commuter",
                port_code="MSU",
                statement="often",
                now=NOW,
            )
        with pytest.raises(Invalid, match="choose the port"):
            svc.apply(
                s,
                actor,
                document_id=doc.id,
                category="commuter",
                port_code="XXX",
                statement=STATEMENT,
                now=NOW,
            )
    _other, theirs = add_traveller(engine, "A01000002", surname="DLAMINI", nationality="ZAF")
    with (
        transaction(session_factory(engine)) as s,
        pytest.raises(Invalid, match="one of your own passports"),
    ):
        svc.apply(
            s,
            actor,
            document_id=theirs.id,
            category="commuter",
            port_code="MSU",
            statement=STATEMENT,
            now=NOW,
        )
    mid = applied(engine, member)
    with transaction(session_factory(engine)) as s:
        with pytest.raises(Conflict, match="already have an application"):
            svc.apply(
                s,
                actor,
                document_id=doc.id,
                category="commuter",
                port_code="MSU",
                statement=STATEMENT,
                now=NOW,
            )
        with pytest.raises(Invalid, match="at least 10 characters"):
            svc.decide(
                s,
                SUPERVISOR,
                mid,
                approve=False,
                reason_text="no",
                screening=SCREENING,
                var_dir=tmp_path,
                now=NOW,
            )
        svc.decide(
            s,
            SUPERVISOR,
            mid,
            approve=False,
            reason_text="Did not come to the interview",
            screening=SCREENING,
            var_dir=tmp_path,
            now=NOW,
        )
    with transaction(session_factory(engine)) as s:
        [refused] = svc.mine(s, actor)
        assert refused.status is dom.Status.REFUSED and refused.token is None
        # Refused, one may apply again.
        svc.apply(
            s,
            actor,
            document_id=doc.id,
            category="border_resident",
            port_code="MSU",
            statement=STATEMENT,
            now=NOW,
        )


def test_the_lane_answers_officers_at_their_own_port_only(
    app_client: TestClient, engine: Engine, tmp_path: Path, member, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    token = approved(engine, tmp_path, member).token
    body = {"port": "MSU", "direction": "entry", "card": token}
    assert app_client.post("/v1/lane/scans", json=body).status_code == 401
    worker = auth_headers("worker")
    assert app_client.post("/v1/lane/scans", json=body, headers=worker).status_code == 403
    elsewhere = auth_headers("border_officer", port="FKB")
    refused = app_client.post("/v1/lane/scans", json=body, headers=elsewhere)
    assert refused.status_code == 403 and "posted at FKB" in refused.json()["detail"]
    supervisor = auth_headers("supervisor")
    assert app_client.post("/v1/lane/scans", json=body, headers=supervisor).json()["answer"] == (
        "CLEAR"
    )
    assert crossings(engine) == [("entry", "CLEAR")]
