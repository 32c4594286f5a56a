"""Helpers for the exchange tests: crossings written as the border check writes them, and a
batch taken from one node's database to another's without a network."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from tsela.api.schemas import FeedBatchOut
from tsela.config import Settings
from tsela.domain.values import Decision, Direction, Sex
from tsela.services import exchange as svc
from tsela.services import exchange_outbox
from tsela.services.node_identity import NodeIdentity
from tsela.store.db import session_factory, transaction
from tsela.store.exchange import Partner
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def record_crossings(engine: Engine, node: str, n: int, *, start: int = 0) -> list[str]:
    """``n`` crossings at Maseru Bridge by ``n`` travellers, each offered to the partner the
    way ``services.checks.record_crossing`` offers it; their ids, in order."""
    ids = []
    with transaction(session_factory(engine)) as s:
        port = s.scalar(select(PortOfEntry).where(PortOfEntry.code == "MSU"))
        assert port is not None
        for i in range(start, start + n):
            person = Person(
                node=node,
                primary_name=f"MOKOENA{i}",
                given_names="LINEO",
                sex=Sex.FEMALE,
                birth_date=date(1990, 1, 1) + timedelta(days=i % 9000),
                nationality="LSO",
            )
            s.add(person)
            s.flush()
            doc = TravelDocument(
                node=node,
                person_id=person.id,
                document_type="P",
                issuing_state="LSO",
                number=f"{node}{i:08d}",
            )
            s.add(doc)
            s.flush()
            crossing = Crossing(
                node=node,
                person_id=person.id,
                document_id=doc.id,
                port_id=port.id,
                direction=Direction.EXIT,
                country="LSO" if node == "LS" else "ZAF",
                crossed_at=T0 + timedelta(seconds=i),
                decision=Decision.CLEAR,
            )
            s.add(crossing)
            s.flush()
            exchange_outbox.crossing(s, crossing)
            ids.append(str(crossing.id))
    return ids


def settings_for(engine: Engine, node: str, var_dir: Any, **kw: Any) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node=node,
        var_dir=var_dir,
        **kw,
    )


def trust(engine: Engine, me: str, other: NodeIdentity, now: datetime) -> None:
    with transaction(session_factory(engine)) as s:
        svc.add_partner(s, node=me, anchor=svc.parse_anchor(other.anchor(now)), actor="t", now=now)


def carry(
    serving: Engine,
    server: NodeIdentity,
    receiving: Engine,
    receiver: NodeIdentity,
    *,
    limit: int = 1000,
    now: datetime,
    tamper: Any = None,
) -> svc.Applied | None:
    """Serve one batch from ``serving`` and verify and apply it on ``receiving`` (raises
    BatchRefused). ``tamper(body) -> body`` alters the bytes in between."""
    from tsela.exchange.batch import verify_batch

    svc.sequence_pending(serving)
    with session_factory(receiving)() as s:
        partner = s.scalar(select(Partner).where(Partner.partner == server.node))
        assert partner is not None
        s.expunge(partner)
    with transaction(session_factory(serving)) as s:
        batch = svc.serve_batch(
            s, identity=server, partner=receiver.node, after=partner.last_seq, limit=limit, now=now
        )
    FeedBatchOut.model_validate_json(batch.body)  # the batch is as /v1/exchange/feed declares
    body = tamper(batch.body) if tamper else batch.body
    verified = verify_batch(
        body,
        batch.signature,
        anchor=svc.parse_anchor(partner.anchor),
        receiver=receiver.node,
        after_seq=partner.last_seq,
        prev_hash=partner.last_hash,
        now=now,
        max_skew=timedelta(minutes=5),
        max_records=limit,
    )
    with transaction(session_factory(receiving)) as s:
        return svc.apply_batch(
            s,
            me=receiver.node,
            partner=partner,
            verified=verified,
            raw=body,
            signature=batch.signature,
            now=now,
        )


def arrived(engine: Engine, partner: str, kind: str = "crossing") -> list[str]:
    """The ids of the ``kind`` records applied from ``partner``, in the order applied: read
    from the message log (each applied batch is kept there, in the same transaction), which
    must hold one unbroken run of sequence numbers."""
    import json

    from tsela.store.exchange import MessageLogEntry

    with session_factory(engine)() as s:
        batches = list(
            s.execute(
                select(MessageLogEntry.first_seq, MessageLogEntry.last_seq, MessageLogEntry.body)
                .where(MessageLogEntry.node == partner)
                .order_by(MessageLogEntry.first_seq)
            )
        )
    ids: list[str] = []
    expected = batches[0][0] if batches else 1
    for first, last, body in batches:
        assert first == expected, f"batch {first}..{last} after {expected - 1}: a gap or overlap"
        expected = last + 1
        ids.extend(r["payload"]["id"] for r in json.loads(body)["records"] if r["kind"] == kind)
    return ids


def partner_crossings(engine: Engine, partner: str) -> list[dict[str, Any]]:
    """Every crossing stored from ``partner`` (the matching feature's table), by id."""
    from tsela.store.partner_crossings import PartnerCrossing

    with session_factory(engine)() as s:
        rows = s.execute(
            select(PartnerCrossing.__table__).where(PartnerCrossing.node == partner)
        ).mappings()
        return [dict(r) for r in rows]
