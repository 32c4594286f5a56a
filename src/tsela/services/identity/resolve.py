"""Batch resolution: read the person records, score their pairs with Splink, link the sure
ones (audited), queue the doubtful ones, and give every record its identity.

Nothing is merged silently: each automatic link is an audit entry naming the pair, its
probability and the model version, and a reviewer can undo it (``review.unlink``).
People's decisions are kept across runs: a rejected pair stays rejected, a linked one linked.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from tsela.domain.identity import (
    FEATURES,
    Link,
    PersonRecord,
    assign_ids,
    blocking_keys,
    cluster,
    features,
    thresholds,
)
from tsela.ids import new_id
from tsela.kernel import clock
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.errors import Forbidden, Invalid
from tsela.services import audit
from tsela.services.identity import engine as splink_engine
from tsela.services.identity.records import gather
from tsela.store.identity import IdentityKey, IdentityModel, IdentityPair, IdentityRecord

DECIDED = ("linked", "rejected", "deferred")


@dataclass
class ResolveReport:
    records: int = 0
    pairs: int = 0
    auto_linked: int = 0  # new automatic links this run
    queued: int = 0  # pairs waiting for review after this run
    identities: int = 0
    multi: int = 0  # identities with more than one record
    model_version: str = ""
    trained: bool = False
    engine: str = "duckdb"
    changed: list[str] = field(default_factory=list)  # record keys whose identity changed


def read_model_file(path: Path) -> dict[str, Any]:
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(
            "identity.model_unreadable",
            "The model file %(path)s cannot be read: %(error)s",
            path=str(path),
            error=str(exc),
        ) from None
    splink_engine.check_model(model)
    return dict(model)


def active_model(session: Session) -> IdentityModel | None:
    return session.scalars(
        select(IdentityModel)
        .where(IdentityModel.active.is_(True))
        .order_by(IdentityModel.id.desc())
        .limit(1)
    ).first()


def _store_model(
    session: Session, actor: Actor, version: str, engine: str, n: int, model: dict[str, Any]
) -> None:
    known = session.scalars(select(IdentityModel).where(IdentityModel.version == version)).first()
    session.execute(update(IdentityModel).values(active=False))
    if known is not None:
        known.active = True
        return
    session.add(
        IdentityModel(
            node=actor.node,
            version=version,
            format=int(model.get("tsela_identity_format", 0)),
            engine=engine,
            records=n,
            model=model,
            active=True,
        )
    )
    audit.record(
        session,
        actor=actor.username,
        action="identity.model_trained",
        node=actor.node,
        entity="identity_model",
        entity_id=version,
        detail={"engine": engine, "records": n},
        source=actor.source,
    )


def sync_records(
    session: Session, records: Sequence[PersonRecord], rows: Sequence[dict[str, Any]]
) -> dict[str, uuid.UUID]:
    """Write each record's features (new records get an identity of their own) and its
    candidate keys; the previous identity of every known record is returned."""
    existing = {
        key: ident
        for key, ident in session.execute(
            select(IdentityRecord.record_key, IdentityRecord.identity_id)
        )
    }
    now = clock.now()
    new_rows: list[dict[str, Any]] = []
    for rec, row in zip(records, rows, strict=True):
        values = {
            "source": rec.source,
            "record_node": rec.node,
            "person_id": rec.person_id,
            "surname": rec.surname[:120],
            "given_names": rec.given_names[:160],
            "document_number": rec.document_number,
            "document_country": rec.document_country,
            **{c: row[c] for c in FEATURES if c not in ("record_key", "source", "node")},
            "updated_at": now,
        }
        if rec.key in existing:
            session.execute(
                update(IdentityRecord).where(IdentityRecord.record_key == rec.key).values(**values)
            )
        else:
            new_rows.append(
                {
                    "id": new_id(),
                    "node": rec.node,
                    "created_at": now,
                    "record_key": rec.key,
                    "identity_id": new_id(),
                    **values,
                }
            )
    if new_rows:
        session.execute(insert(IdentityRecord), new_rows)
    session.execute(delete(IdentityKey))
    keys = [{"key": k, "record_key": row["record_key"]} for row in rows for k in blocking_keys(row)]
    if keys:
        session.execute(insert(IdentityKey), keys)
    return existing


def _pairs_by_key(session: Session) -> dict[tuple[str, str], IdentityPair]:
    return {(p.left_key, p.right_key): p for p in session.scalars(select(IdentityPair))}


def recluster(session: Session, actor: Actor, *, keys: Iterable[str] | None = None) -> list[str]:
    """Give every record (or those of ``keys``' identities) the identity its links say.

    Returns the record keys whose identity changed.
    """
    rec_q = select(IdentityRecord.record_key, IdentityRecord.identity_id)
    if keys is not None:
        idents = select(IdentityRecord.identity_id).where(IdentityRecord.record_key.in_(list(keys)))
        rec_q = rec_q.where(IdentityRecord.identity_id.in_(idents))
    previous: dict[str, uuid.UUID] = {k: v for k, v in session.execute(rec_q)}
    scope = set(previous)
    links: list[Link] = []
    rejected: list[tuple[str, str]] = []
    for p in session.scalars(
        select(IdentityPair).where(IdentityPair.status.in_(("auto", "linked", "rejected")))
    ):
        if p.left_key not in scope or p.right_key not in scope:
            continue
        if p.status == "rejected":
            rejected.append((p.left_key, p.right_key))
        else:
            links.append(Link(p.left_key, p.right_key, p.probability, manual=p.status == "linked"))
    assigned = assign_ids(cluster(scope, links, rejected), previous, new_id)
    changed = [k for k, ident in assigned.items() if previous.get(k) != ident]
    now = clock.now()
    for key in changed:
        session.execute(
            update(IdentityRecord)
            .where(IdentityRecord.record_key == key)
            .values(identity_id=assigned[key], updated_at=now)
        )
    return changed


def resolve(
    session: Session,
    actor: Actor,
    *,
    engine: str = "duckdb",
    train: bool = False,
    model_file: Path | None = None,
    spark: Any = None,
    progress: Callable[[str], None] | None = None,
) -> ResolveReport:
    """Resolve every person record this node knows (its own and the partner's)."""
    if not actor.may(Permission.IDENTITY_RESOLVE):
        raise Forbidden(
            "identity.resolve_forbidden", "Only an administrator runs identity resolution."
        )
    say = progress or (lambda _msg: None)
    splink_engine.check_engine(engine)
    model: dict[str, Any] | None = None
    if model_file is not None:
        model = read_model_file(model_file)
    elif not train:
        stored = active_model(session)
        model = dict(stored.model) if stored is not None else None
    say("reading person records")
    records = gather(session, actor.node)
    rows = [features(r) for r in records]
    report = ResolveReport(records=len(records), engine=engine, trained=model is None)
    if len(records) < 2:
        raise Invalid(
            "identity.too_few_records",
            "Identity resolution needs at least two person records; this node has %(n)s.",
            n=len(records),
        )
    say(f"scoring pairs of {len(records):,} records ({engine})")
    result = splink_engine.resolve(rows, model=model, engine=engine, spark=spark)
    report.model_version = result.version
    report.pairs = len(result.pairs)
    _store_model(session, actor, result.version, engine, len(records), result.model)
    say("writing records and candidate keys")
    sync_records(session, records, rows)
    _review, auto = thresholds()
    known = _pairs_by_key(session)
    seen: set[tuple[str, str]] = set()
    now = clock.now()
    for pair in result.pairs:
        k = (pair.left, pair.right)
        seen.add(k)
        contribs = [c.__dict__ for c in pair.contributions]
        status = "auto" if pair.probability >= auto else "pending"
        row = known.get(k)
        if row is None:
            pair_id = new_id()
            session.add(
                IdentityPair(
                    id=pair_id,
                    node=actor.node,
                    left_key=pair.left,
                    right_key=pair.right,
                    probability=pair.probability,
                    weight=pair.weight,
                    contributions=contribs,
                    status=status,
                    model_version=result.version,
                )
            )
            if status == "auto":
                report.auto_linked += 1
                audit.record(
                    session,
                    actor=actor.username,
                    action="identity.auto_linked",
                    node=actor.node,
                    entity="identity_pair",
                    entity_id=pair_id,
                    detail={
                        "left": pair.left,
                        "right": pair.right,
                        "probability": round(pair.probability, 6),
                        "model": result.version,
                    },
                    source=actor.source,
                    at=now,
                )
            continue
        row.probability, row.weight, row.contributions = pair.probability, pair.weight, contribs
        row.model_version = result.version
        if row.status in DECIDED:
            continue  # a person decided: the model does not change it
        if row.status != status:
            if status == "auto":
                report.auto_linked += 1
            audit.record(
                session,
                actor=actor.username,
                action="identity.auto_linked"
                if status == "auto"
                else "identity.auto_link_withdrawn",
                node=actor.node,
                entity="identity_pair",
                entity_id=row.id,
                detail={
                    "left": row.left_key,
                    "right": row.right_key,
                    "probability": round(pair.probability, 6),
                    "model": result.version,
                },
                source=actor.source,
                at=now,
            )
            row.status = status
    # Pairs the model no longer proposes: an undecided one leaves the queue; an automatic
    # link is withdrawn (audited); people's decisions stay.
    for k, row in known.items():
        if k in seen or row.status in DECIDED:
            continue
        if row.status == "auto":
            audit.record(
                session,
                actor=actor.username,
                action="identity.auto_link_withdrawn",
                node=actor.node,
                entity="identity_pair",
                entity_id=row.id,
                detail={"left": row.left_key, "right": row.right_key, "model": result.version},
                source=actor.source,
                at=now,
            )
        session.delete(row)
    session.flush()
    say("linking identities")
    report.changed = recluster(session, actor)
    report.queued = len(
        session.scalars(
            select(IdentityPair.id).where(IdentityPair.status.in_(("pending", "deferred")))
        ).all()
    )
    counts: dict[uuid.UUID, int] = {}
    for (ident,) in session.execute(select(IdentityRecord.identity_id)):
        counts[ident] = counts.get(ident, 0) + 1
    report.identities = len(counts)
    report.multi = sum(1 for n in counts.values() if n > 1)
    audit.record(
        session,
        actor=actor.username,
        action="identity.resolved",
        node=actor.node,
        entity="identity_model",
        entity_id=result.version,
        detail={
            "records": report.records,
            "pairs": report.pairs,
            "auto_linked": report.auto_linked,
            "queued": report.queued,
            "engine": engine,
        },
        source=actor.source,
    )
    return report
