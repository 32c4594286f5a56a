"""People's part in identity resolution: the review queue, link / reject / defer, a manual
link, unlinking a record, and reading an identity. Every decision is audited; a rejected
pair is never proposed again and never joined by the model.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tsela.domain.identity import pair_key, settings
from tsela.kernel import clock
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.errors import AuditNote, Conflict, Forbidden, Invalid, NotFound
from tsela.services import audit
from tsela.services.identity.resolve import recluster
from tsela.store.checks import BorderCheck
from tsela.store.identity import IdentityPair, IdentityRecord

DECISIONS = {"link": "linked", "reject": "rejected", "defer": "deferred"}
QUEUE_STATUSES = ("pending", "deferred", "auto", "linked", "rejected")


@dataclass(frozen=True)
class RecordView:
    record_key: str
    source: str
    record_node: str
    identity_id: uuid.UUID
    person_id: uuid.UUID | None
    surname: str
    given_names: str
    birth_date: str | None
    sex: str | None
    nationality: str | None
    document_number: str | None
    document_country: str | None

    @classmethod
    def of(cls, r: IdentityRecord) -> RecordView:
        return cls(
            r.record_key, r.source, r.record_node, r.identity_id, r.person_id, r.surname,
            r.given_names, r.birth_date, r.sex, r.nationality, r.document_number,
            r.document_country,
        )  # fmt: skip


@dataclass(frozen=True)
class PairView:
    id: uuid.UUID
    left: RecordView
    right: RecordView
    probability: float
    weight: float
    contributions: list[dict[str, Any]]
    status: str
    model_version: str
    note: str
    decided_at: str | None


@dataclass(frozen=True)
class IdentityView:
    identity_id: uuid.UUID
    members: list[RecordView]
    pairs: list[PairView]


@dataclass(frozen=True)
class QueuePage:
    items: list[PairView]
    total: int
    page: int
    per_page: int


def _need(actor: Actor, permission: Permission, action: str, what: str) -> None:
    if not actor.may(permission):
        raise Forbidden(
            "identity.forbidden",
            "Your role (%(role)s) may not %(what)s.",
            role=str(actor.role),
            what=what,
            audit=AuditNote(f"identity.{action}_refused", "identity", ""),
        )


def _records(session: Session, keys: set[str]) -> dict[str, IdentityRecord]:
    if not keys:
        return {}
    rows = session.scalars(select(IdentityRecord).where(IdentityRecord.record_key.in_(keys)))
    return {r.record_key: r for r in rows}


def _views(session: Session, pairs: list[IdentityPair]) -> list[PairView]:
    recs = _records(session, {k for p in pairs for k in (p.left_key, p.right_key)})
    out = []
    for p in pairs:
        if p.left_key not in recs or p.right_key not in recs:
            continue
        out.append(
            PairView(
                p.id,
                RecordView.of(recs[p.left_key]),
                RecordView.of(recs[p.right_key]),
                p.probability,
                p.weight,
                list(p.contributions),
                p.status,
                p.model_version,
                p.note,
                p.decided_at.isoformat() if p.decided_at else None,
            )
        )
    return out


def queue(
    session: Session, actor: Actor, *, status: str = "pending", page: int = 1, per_page: int = 20
) -> QueuePage:
    """Pairs by status, the most likely first."""
    _need(actor, Permission.IDENTITY_READ, "read", "read identities")
    if status not in QUEUE_STATUSES:
        raise Invalid(
            "identity.unknown_status",
            "Unknown status %(status)s: use one of %(allowed)s.",
            status=status,
            allowed=", ".join(QUEUE_STATUSES),
        )
    page, per_page = max(1, page), min(max(1, per_page), 100)
    where = IdentityPair.status == status
    total = session.scalar(select(func.count()).select_from(IdentityPair).where(where)) or 0
    rows = session.scalars(
        select(IdentityPair)
        .where(where)
        .order_by(IdentityPair.probability.desc(), IdentityPair.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return QueuePage(_views(session, list(rows)), total, page, per_page)


def pair(session: Session, actor: Actor, pair_id: uuid.UUID) -> PairView:
    _need(actor, Permission.IDENTITY_READ, "read", "read identities")
    row = session.get(IdentityPair, pair_id)
    views = _views(session, [row]) if row is not None else []
    if not views:
        raise NotFound("identity.no_pair", "No candidate pair %(id)s.", id=str(pair_id))
    return views[0]


def _audit(
    session: Session, actor: Actor, action: str, entity_id: str, detail: dict[str, Any]
) -> None:
    audit.record(
        session,
        actor=actor.username,
        action=action,
        node=actor.node,
        entity="identity",
        entity_id=entity_id,
        detail=detail,
        source=actor.source,
    )


def decide(
    session: Session, actor: Actor, pair_id: uuid.UUID, decision: str, note: str = ""
) -> PairView:
    """Link, reject or defer a pair; the identities follow at once."""
    _need(actor, Permission.IDENTITY_DECIDE, "decide", "decide on identities")
    if decision not in DECISIONS:
        raise Invalid(
            "identity.unknown_decision",
            "Unknown decision %(decision)s: use link, reject or defer.",
            decision=decision,
        )
    row = session.get(IdentityPair, pair_id, with_for_update=True)
    if row is None:
        raise NotFound("identity.no_pair", "No candidate pair %(id)s.", id=str(pair_id))
    status = DECISIONS[decision]
    if row.status == status:
        raise Conflict(
            "identity.already_decided", "This pair is already %(status)s.", status=status
        )
    before = row.status
    row.status, row.decided_by, row.decided_at = status, actor.user_id, clock.now()
    row.note = note.strip()[:2000]
    session.flush()
    changed = recluster(session, actor, keys=[row.left_key, row.right_key])
    _audit(
        session,
        actor,
        f"identity.pair_{status}",
        str(row.id),
        {
            "left": row.left_key,
            "right": row.right_key,
            "before": before,
            "probability": round(row.probability, 6),
            "note": row.note,
            "changed": len(changed),
        },
    )
    return pair(session, actor, pair_id)


def _identity_of(session: Session, key: str) -> IdentityRecord:
    rec = session.scalars(select(IdentityRecord).where(IdentityRecord.record_key == key)).first()
    if rec is None:
        raise NotFound("identity.no_record", "No person record %(key)s.", key=key)
    return rec


def link(session: Session, actor: Actor, left: str, right: str, note: str = "") -> IdentityView:
    """Link two records a reviewer knows are one person (the model did not propose them)."""
    _need(actor, Permission.IDENTITY_DECIDE, "decide", "decide on identities")
    if left == right:
        raise Invalid(
            "identity.link_self", "A record cannot be linked to itself (%(key)s).", key=left
        )
    a, b = _identity_of(session, left), _identity_of(session, right)
    if a.identity_id == b.identity_id:
        raise Conflict(
            "identity.already_one",
            "%(left)s and %(right)s are already one identity; linking them again would make "
            "a cycle.",
            left=left,
            right=right,
        )
    lk, rk = pair_key(left, right)
    row = session.scalars(
        select(IdentityPair).where(IdentityPair.left_key == lk, IdentityPair.right_key == rk)
    ).first()
    now = clock.now()
    if row is None:
        row = IdentityPair(
            node=actor.node, left_key=lk, right_key=rk, probability=0.0, weight=0.0,
            contributions=[], status="linked", model_version="manual",
        )  # fmt: skip
        session.add(row)
    row.status, row.decided_by, row.decided_at, row.note = (
        "linked",
        actor.user_id,
        now,
        note.strip()[:2000],
    )
    session.flush()
    recluster(session, actor, keys=[lk, rk])
    _audit(
        session,
        actor,
        "identity.pair_linked",
        str(row.id),
        {"left": lk, "right": rk, "manual": True, "note": row.note},
    )
    return show(session, actor, left)


def _check_running(session: Session, person_ids: list[uuid.UUID]) -> BorderCheck | None:
    if not person_ids:
        return None
    minutes = int(settings()["review"]["open_check_minutes"])
    since = clock.now() - timedelta(minutes=minutes)
    return session.scalars(
        select(BorderCheck)
        .where(
            BorderCheck.person_id.in_(person_ids),
            BorderCheck.crossing_id.is_(None),
            BorderCheck.checked_at >= since,
        )
        .limit(1)
    ).first()


def unlink(session: Session, actor: Actor, key: str, note: str = "") -> IdentityView:
    """Take one record out of its identity: every pair between it and the others is
    rejected (so no later run joins them again), and the rest stay together if their own
    links hold them."""
    _need(actor, Permission.IDENTITY_DECIDE, "decide", "decide on identities")
    rec = _identity_of(session, key)
    members = session.scalars(
        select(IdentityRecord)
        .where(IdentityRecord.identity_id == rec.identity_id)
        .with_for_update()
    ).all()
    others = [m for m in members if m.record_key != key]
    if not others:
        raise Conflict("identity.alone", "%(key)s is the only record of its identity.", key=key)
    running = _check_running(session, [m.person_id for m in members if m.person_id])
    if running is not None:
        raise Conflict(
            "identity.check_running",
            "A border check of this person (made %(at)s) is still open; unlink after it is "
            "recorded.",
            at=running.checked_at.isoformat(timespec="minutes"),
        )
    now = clock.now()
    existing = {
        (p.left_key, p.right_key): p
        for p in session.scalars(
            select(IdentityPair).where(
                or_(IdentityPair.left_key == key, IdentityPair.right_key == key)
            )
        )
    }
    for other in others:
        k = pair_key(key, other.record_key)
        row = existing.get(k)
        if row is None:
            row = IdentityPair(
                node=actor.node, left_key=k[0], right_key=k[1], probability=0.0, weight=0.0,
                contributions=[], status="rejected", model_version="manual",
            )  # fmt: skip
            session.add(row)
        row.status, row.decided_by, row.decided_at, row.note = (
            "rejected",
            actor.user_id,
            now,
            note.strip()[:2000],
        )
    session.flush()
    changed = recluster(session, actor, keys=[m.record_key for m in members])
    _audit(
        session,
        actor,
        "identity.unlinked",
        str(rec.identity_id),
        {
            "record": key,
            "from": [o.record_key for o in others],
            "note": note,
            "changed": len(changed),
        },
    )
    return show(session, actor, key)


def show(session: Session, actor: Actor, key_or_identity: str) -> IdentityView:
    """An identity with its records and the pairs between them (by record key or id)."""
    _need(actor, Permission.IDENTITY_READ, "read", "read identities")
    ident: uuid.UUID | None = None
    try:
        ident = uuid.UUID(key_or_identity)
    except ValueError:
        ident = _identity_of(session, key_or_identity).identity_id
    members = session.scalars(
        select(IdentityRecord)
        .where(IdentityRecord.identity_id == ident)
        .order_by(IdentityRecord.record_key)
    ).all()
    if not members:
        raise NotFound("identity.no_identity", "No identity %(id)s.", id=key_or_identity)
    keys = [m.record_key for m in members]
    pairs = session.scalars(
        select(IdentityPair)
        .where(IdentityPair.left_key.in_(keys) | IdentityPair.right_key.in_(keys))
        .order_by(IdentityPair.probability.desc(), IdentityPair.id)
    ).all()
    return IdentityView(ident, [RecordView.of(m) for m in members], _views(session, list(pairs)))
