"""Refusals and entry bans cross to the partner node through the exchange (issue 18): on
SQLite and PostgreSQL, projected through the agreement (no officer, no remarks), and a ban
honoured at the partner's check; lifted at home, it is lifted there too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, select

from _exchange import T0, carry, trust
from tsela.domain.values import Role
from tsela.kernel.errors import Conflict
from tsela.services import refusals as svc
from tsela.services.node_identity import NodeIdentity
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.exchange import OutboxEntry
from tsela.store.refusals import EntryBan, Refusal

DAY = T0.date()


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Engine]:
    """Lesotho's own database (SQLite), beside the South African ``engine`` under test."""
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


def _officer(engine: Engine):  # type: ignore[no-untyped-def]
    from tsela.store.models import PortOfEntry, User

    with transaction(session_factory(engine)) as s:
        port = s.scalar(select(PortOfEntry).where(PortOfEntry.code == "MSU"))
        assert port is not None
        user = User(
            node="ZA",
            username="naledi",
            full_name="Naledi Dube",
            password_hash="x",
            role=Role.BORDER_OFFICER,
            port_id=port.id,
        )
        s.add(user)
        s.flush()
        s.expunge(user)
    return user


def _reasons(engine: Engine, direction: str = "entry", day: date = DAY) -> list:  # type: ignore[type-arg]
    import uuid

    with session_factory(engine)() as s:
        return svc.ban_reasons(
            s,
            person_id=uuid.uuid4(),  # the partner's person ids are not this node's
            surname="MOKOENA",
            birth_date=date(1990, 3, 14),
            nationality="LSO",
            issuing_state="LSO",
            number="RA7000001",
            country="LSO",
            direction=direction,
            day=day,
        )


def test_a_refusal_and_its_ban_reach_the_partner_and_the_ban_is_honoured_there(  # type: ignore[no-untyped-def]
    engine, other, ids
) -> None:
    ls, za = ids
    trust(other, "LS", za, T0)
    officer = _officer(engine)
    supervisor = SimpleNamespace(username="thabo", role=Role.SUPERVISOR)
    traveller = svc.Traveller("Mokoena", "Lineo", "LSO", date(1990, 3, 14), "LSO", "RA7000001")
    with transaction(session_factory(engine)) as s:
        refusal = svc.refuse(
            s,
            node="ZA",
            officer=officer,
            grounds=["F"],
            remarks="Overstayed twice.",
            port="MSU",
            traveller=traveller,
            now=T0,
        )
        ban = svc.create_ban(
            s,
            node="ZA",
            user=supervisor,
            refusal_id=refusal.id,  # type: ignore[arg-type]
            starts_on=DAY,
            ends_on=DAY + timedelta(days=365),
            now=T0,
        )
        refusal_id, ban_id = refusal.id, ban.id
    with session_factory(engine)() as s:
        sent = {e.kind: e.payload for e in s.scalars(select(OutboxEntry))}
    assert "remarks" not in sent["refusal"] and "officer_id" not in sent["refusal"]
    assert "issued_by" not in sent["entry_ban"]

    applied = carry(engine, za, other, ls, now=T0)
    assert applied is not None and applied.records == 2
    with session_factory(other)() as s:
        kept = s.get(Refusal, refusal_id)
        assert kept is not None and kept.node == "ZA" and kept.grounds == ["F"]
        assert kept.remarks == "" and kept.officer_id is None
        theirs = s.get(EntryBan, ban_id)
        assert theirs is not None and theirs.issuing_country == "ZAF"
    # At Lesotho's border: leaving Lesotho towards South Africa, the officer is told the
    # traveller will be refused there (REFER); entering Lesotho too: Lesotho's law decides.
    [out] = _reasons(other, "exit")
    assert (out.code, out.severity.name) == ("entry_ban.partner", "REFER")
    assert out.params["until"] == (DAY + timedelta(days=365)).isoformat()
    assert out.params["node"] == "ZA"
    assert [r.code for r in _reasons(other, "entry")] == ["entry_ban.partner"]

    # Lifted at home: the ban's new state crosses and the partner stops showing it.
    with transaction(session_factory(engine)) as s:
        svc.change_ban(
            s,
            node="ZA",
            supervisor=supervisor,
            ban_id=ban_id,
            action="lift",  # type: ignore[arg-type]
            reason="Appeal upheld by the Director-General.",
            now=T0 + timedelta(hours=1),
        )
    carry(engine, za, other, ls, now=T0 + timedelta(hours=1))
    assert _reasons(other, "exit") == []
    # The same batch twice changes nothing; a partner's ban is not changed here.
    with transaction(session_factory(other)) as s, pytest.raises(Conflict):
        svc.change_ban(
            s,
            node="LS",
            supervisor=supervisor,
            ban_id=ban_id,
            action="lift",  # type: ignore[arg-type]
            reason="Not ours to change, really.",
        )


def test_a_ban_naming_another_country_than_its_node_is_refused_whole(engine, other, ids) -> None:  # type: ignore[no-untyped-def]
    with session_factory(other)() as s:
        payload = {
            "id": "0190f0f0-0000-7000-8000-000000000001",
            "node": "ZA",
            "issuing_country": "LSO",  # South Africa cannot ban entry into Lesotho
            "legal_basis": "x",
            "starts_on": "2026-01-01",
            "ends_on": "2027-01-01",
            "surname": "X",
            "nationality": "LSO",
            "updated_at": T0.isoformat(),
        }
        with pytest.raises(ValueError, match="issuing_country"):
            svc.apply_partner_bans(s, "ZA", [payload])
        with pytest.raises(ValueError, match="ends_on: before starts_on"):
            svc.apply_partner_bans(
                s, "ZA", [{**payload, "issuing_country": "ZAF", "ends_on": "2025-01-01"}]
            )
