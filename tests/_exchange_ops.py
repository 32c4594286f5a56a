"""The exchange as an operator sees it, put in a store for the status, page and CLI tests.

Lesotho (the node under test) trusts South Africa; South Africa's crossings are recorded with
their outbox rows and arrive in real signed batches (``_exchange.carry``), one record per
batch, two hours before ``now`` (so the lag is two hours); a pull a year later is refused
because the partner's anchor has expired (the real refusal path, audited). Around ``now``:

- A: exit from Lesotho at Maseru Bridge 3 h ago, entry into South Africa 10 min later: matched;
- B: exit from Lesotho 3 h ago, no entry: an exit with no entry after the window;
- C: entry into South Africa at Ficksburg 4 h ago, no exit: an entry with no exit;
- D: exit from Lesotho 10 min ago: still within the window;
- ``filler`` more South African entries 20 days before (outside a week's counts; batches).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from _exchange import carry, settings_for, trust
from tsela.domain.values import Decision, Direction, Sex
from tsela.services import exchange as svc
from tsela.services import exchange_outbox
from tsela.services.node_identity import NodeIdentity
from tsela.store.db import session_factory, transaction
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument


def cross(engine: Engine, node: str, number: str, port: str, direction: str, at: datetime) -> None:
    """One traveller's crossing recorded by ``node``, offered to the partner as the border
    check offers it."""
    with transaction(session_factory(engine)) as s:
        person = Person(
            node=node,
            primary_name="MOKOENA",
            given_names="LINEO",
            sex=Sex.FEMALE,
            birth_date=date(1990, 5, 17),
            nationality="LSO",
        )
        s.add(person)
        s.flush()
        doc = TravelDocument(
            node=node, person_id=person.id, document_type="P", issuing_state="LSO", number=number
        )
        s.add(doc)
        s.flush()
        port_id = s.scalar(select(PortOfEntry.id).where(PortOfEntry.code == port))
        crossing = Crossing(
            node=node,
            person_id=person.id,
            document_id=doc.id,
            port_id=port_id,
            direction=Direction(direction),
            country="LSO" if node == "LS" else "ZAF",
            crossed_at=at,
            decision=Decision.CLEAR,
        )
        s.add(crossing)
        s.flush()
        exchange_outbox.crossing(s, crossing)


@dataclass(frozen=True)
class Nodes:
    ls: NodeIdentity
    za: NodeIdentity
    batches: int


def operations_data(ls: Engine, za: Engine, var: Path, now: datetime, *, filler: int = 0) -> Nodes:
    ls_id, za_id = NodeIdentity(var / "ls", "LS"), NodeIdentity(var / "za", "ZA")
    made = now - timedelta(days=1)  # keys and anchors valid from the day before
    ls_id.init(made, endpoint="https://127.0.0.1:9441")
    za_id.init(made, endpoint="https://127.0.0.1:9442")
    trust(ls, "LS", za_id, made)
    trust(za, "ZA", ls_id, made)
    h = timedelta(hours=1)
    for i in range(filler):
        cross(za, "ZA", f"RF{i:07d}", "FKB", "entry", now - timedelta(days=20, minutes=i))
    cross(ls, "LS", "RA0000001", "MSU", "exit", now - 3 * h)
    cross(za, "ZA", "RA0000001", "MSU", "entry", now - 3 * h + timedelta(minutes=10))
    cross(ls, "LS", "RA0000002", "MSU", "exit", now - 3 * h)
    cross(za, "ZA", "RA0000003", "FKB", "entry", now - 4 * h)
    cross(ls, "LS", "RA0000004", "MSU", "exit", now - timedelta(minutes=10))
    batches = 0
    while True:
        applied = carry(za, za_id, ls, ls_id, limit=1, now=now - 2 * h)
        if applied is None or applied.records == 0:
            break
        batches += 1
    # A year later the partner's anchor has expired: the pull is refused before anything is
    # fetched, recorded in the partner's status and the audit log.
    result = svc.pull(
        ls, settings_for(ls, "LS", var / "ls"), ls_id, "ZA", now=lambda: now + 400 * 24 * h
    )
    assert result.error_code == "anchor_expired", result
    return Nodes(ls_id, za_id, batches)
