"""The fast lane for frequent crossers (issue 20, item 2), as SENTRI and NEXUS run theirs:
apply in the worker portal, vetting by officers, a signed card, one scan at a dedicated lane.

``apply``: a worker applies for themselves, with the passport the card will be bound to.
``dossier``: what the vetting officer reads: the applicant screened against the watchlists
(the app's ``BorderScreening``, as every border check is), the entry bans
(``services.refusals.ban_reasons``), the document's state, the crossing history, the valid
permits, and the interview. ``interview`` records the interview (border officers and
supervisors); ``decide`` approves (a supervisor; refused while anything blocks it, see
``domain.fast_lane.Vetting``) and signs the card with the node's permit key
(``services.keys``, as permits are signed), or refuses with a reason. ``suspend`` and
``reinstate`` are a supervisor's, with a written reason.

``scan`` is the lane: the card verified (``domain.credentials.Verifier.open_signed``), the
membership read, then the ordinary border check of the bound passport
(``services.checks.run_check``, which weighs entry bans, watchlists, the document, the stay
and the history) with the lane's own reasons added; CLEAR records the crossing at once
(``services.checks.record_crossing``), anything else is REFER to secondary inspection, where
the officer opens the stored check in the console. A watchlist hit, a document alert or an
entry ban suspends the membership (audited). A share of clear scans (``rate``) is sent to
secondary at random; the draw is the caller's (``draw``), so tests and the demo can seed it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tsela.domain import credentials as cred
from tsela.domain import decisions as dec
from tsela.domain import fast_lane as dom
from tsela.domain.fast_lane import Status
from tsela.domain.reasons import Reason, reason
from tsela.domain.values import Decision, Direction
from tsela.ids import new_id
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.clock import border_day
from tsela.kernel.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from tsela.services import audit, waits
from tsela.services import checks as check_service
from tsela.services import refusals as refusal_service
from tsela.services.keys import KeyStore, KeyStoreError
from tsela.store import partner_alerts
from tsela.store.fast_lane import FastLaneMembership
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument

__all__ = [
    "Dossier",
    "LaneAnswer",
    "MemberRow",
    "apply",
    "card_keys",
    "decide",
    "dossier",
    "interview",
    "mine",
    "queue",
    "reinstate",
    "scan",
    "suspend",
]

LANE = "lane"  # who suspends a membership from the lane


# --------------------------------------------------------------------------- helpers


def _may(actor: Actor, permission: Permission, what: str) -> None:
    if not actor.may(permission):
        raise Forbidden("fastlane.role", "your role may not %(what)s", what=what)


def _text(value: str, limit: int = dom.MAX_TEXT) -> str:
    """Written text as kept: spaces folded, cut at ``limit``; text no column can hold (a NUL
    character, a lone surrogate) is refused."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("fastlane.not_text", "the text holds a character that is not text") from None
    if "\x00" in value:
        raise Invalid("fastlane.not_text", "the text holds a character that is not text")
    return " ".join(value.split())[:limit]


def _load(session: Session, membership_id: uuid.UUID | str) -> FastLaneMembership:
    try:
        wanted = membership_id if isinstance(membership_id, uuid.UUID) else uuid.UUID(membership_id)
    except ValueError:
        wanted = None
    found = session.get(FastLaneMembership, wanted) if wanted else None
    if found is None:
        raise NotFound(
            "fastlane.not_found", "no fast-lane membership %(id)s", id=str(membership_id)
        )
    return found


def _unused_number(session: Session) -> str:
    for _ in range(5):
        number = dom.new_number()
        taken = session.scalar(
            select(FastLaneMembership.id).where(FastLaneMembership.number == number)
        )
        if taken is None:
            return number
    raise Unavailable("fastlane.no_number", "no free membership number was found: try again")


def _audit(
    session: Session,
    actor: str,
    action: str,
    node: str,
    m: FastLaneMembership,
    now: datetime,
    source: str = "",
    **detail: Any,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        node=node,
        entity="fast_lane",
        entity_id=m.id,
        source=source,
        detail={"number": m.number, **detail},
        at=now,
    )


# --------------------------------------------------------------------------- applying


def apply(
    session: Session,
    actor: Actor,
    *,
    document_id: uuid.UUID | str,
    category: str,
    port_code: str,
    statement: str,
    now: datetime,
) -> FastLaneMembership:
    """A worker applies for themselves. One application or membership at a time (a refused
    one, or one whose card has expired, may be followed by a new application)."""
    _may(actor, Permission.FASTLANE_APPLY, "apply for the fast lane")
    if actor.person_id is None:
        raise Conflict("fastlane.unlinked", "your account is not linked to a traveller record")
    try:
        chosen = dom.Category(category)
    except ValueError:
        raise Invalid("fastlane.category", "choose why you cross often") from None
    try:
        doc = session.get(TravelDocument, uuid.UUID(str(document_id)))
    except ValueError:
        doc = None
    if doc is None or doc.person_id != actor.person_id:
        raise Invalid("fastlane.document", "choose one of your own passports")
    if doc.expiry_date is not None and doc.expiry_date <= border_day(now):
        raise Invalid("fastlane.document_expired", "this passport has expired: choose another")
    port = session.scalar(
        select(PortOfEntry.code).where(
            PortOfEntry.code == port_code.strip().upper(), PortOfEntry.active.is_(True)
        )
    )
    if port is None:
        raise Invalid("fastlane.port", "choose the port where you usually cross")
    said = _text(statement)
    if len(said) < dom.MIN_REASON:
        raise Invalid(
            "fastlane.statement_short",
            "say why you cross often (at least %(min)s characters)",
            min=dom.MIN_REASON,
        )
    m_ = FastLaneMembership
    held = session.scalar(  # a membership whose card has expired is over: apply again
        select(m_.number).where(
            m_.person_id == actor.person_id,
            m_.status.in_(dom.OPEN),
            or_(m_.valid_to.is_(None), m_.valid_to >= border_day(now)),
        )
    )
    if held is not None:
        raise Conflict(
            "fastlane.already_open",
            "you already have an application or membership (%(number)s)",
            number=dom.shown_number(held),
        )
    m = FastLaneMembership(
        id=new_id(),
        node=actor.node,
        created_at=now,
        updated_at=now,
        number=_unused_number(session),
        person_id=actor.person_id,
        document_id=doc.id,
        category=chosen,
        port_code=port,
        statement=said,
        status=Status.APPLIED,
        applied_by=actor.username,
    )
    session.add(m)
    session.flush()
    _audit(
        session,
        actor.username,
        "fastlane.apply",
        actor.node,
        m,
        now,
        actor.source,
        category=chosen.value,
        port=port,
    )
    return m


def mine(session: Session, actor: Actor) -> list[FastLaneMembership]:
    """The worker's applications and memberships, newest first."""
    _may(actor, Permission.FASTLANE_APPLY, "read fast-lane applications")
    if actor.person_id is None:
        return []
    return list(
        session.scalars(
            select(FastLaneMembership)
            .where(FastLaneMembership.person_id == actor.person_id)
            .order_by(FastLaneMembership.created_at.desc(), FastLaneMembership.id.desc())
        )
    )


def documents_of(session: Session, person_id: uuid.UUID) -> list[TravelDocument]:
    """A person's travel documents, the latest expiry first."""
    return list(
        session.scalars(
            select(TravelDocument)
            .where(TravelDocument.person_id == person_id)
            .order_by(TravelDocument.expiry_date.desc(), TravelDocument.number)
        )
    )


# --------------------------------------------------------------------------- vetting


@dataclass(frozen=True)
class MemberRow:
    id: uuid.UUID
    number: str
    name: str
    category: str
    port: str
    status: str
    applied_at: datetime
    interviewed: bool
    valid_to: date | None


def queue(
    session: Session, actor: Actor, status: Status | None = Status.APPLIED, limit: int = 200
) -> list[MemberRow]:
    """Applications waiting (oldest first), or the memberships of one status (``None``:
    every one, newest first). Names only: no document numbers."""
    _may(actor, Permission.FASTLANE_VET, "read the fast-lane applications")
    m, p = FastLaneMembership, Person
    q = select(m, p.given_names, p.primary_name).join(p, p.id == m.person_id)
    if status is not None:
        q = q.where(m.status == status)
    oldest_first = status is Status.APPLIED
    q = q.order_by(m.created_at if oldest_first else m.created_at.desc(), m.id).limit(limit)
    return [
        MemberRow(
            row.id,
            dom.shown_number(row.number),
            f"{given} {surname}".strip(),
            row.category.value,
            row.port_code,
            row.status.value,
            row.created_at,
            row.interview_at is not None,
            row.valid_to,
        )
        for row, given, surname in session.execute(q)
    ]


@dataclass
class Dossier:
    membership: FastLaneMembership
    person: Person
    document: TravelDocument
    findings: list[Reason]  # watchlist hits and document alerts
    bans: list[Reason]
    document_expired: bool
    history: dom.History
    recent: list[dom.Crossed]
    permits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def vetting(self) -> dom.Vetting:
        m = self.membership
        return dom.Vetting(
            hits=tuple(r.message for r in self.findings),
            bans=tuple(r.message for r in self.bans),
            document_expired=self.document_expired,
            interview=m.interview_outcome,
        )

    def snapshot(self, at: datetime) -> dict[str, Any]:
        """What the decision was made on, kept with it."""
        return {
            "at": at.isoformat(),
            "findings": [r.as_dict() for r in self.findings],
            "bans": [r.as_dict() for r in self.bans],
            "document_expired": self.document_expired,
            "history": self.history.as_dict(),
            "permits": [p.get("number") for p in self.permits],
        }


def _dossier(
    session: Session, m: FastLaneMembership, screening: check_service.Screening, now: datetime
) -> Dossier:
    from tsela.services import permits as permit_service

    person = session.get(Person, m.person_id)
    doc = session.get(TravelDocument, m.document_id)
    assert person is not None and doc is not None  # foreign keys
    day = border_day(now)
    country = check_service.NODE_COUNTRY[m.node]
    alert = screening.document(session, doc.issuing_state, doc.number)
    status = doc.status.value
    source = None
    if alert is not None and status == "valid":
        status, source = alert
    document = dec.document_reasons(
        mrz_errors=(),
        expiry=doc.expiry_date,
        status=status,
        today=day,
        direction="entry",
        alert_source=source,
        partner_alerts=partner_alerts.for_document(session, doc.issuing_state, doc.number),
    )
    hits = dec.watchlist_reasons(
        screening.person(
            session,
            check_service.ScreenInput(
                surname=person.primary_name,
                given_names=person.given_names,
                birth_date=person.birth_date,
                nationality=person.nationality,
                issuing_state=doc.issuing_state,
                document_number=doc.number,
            ),
            day,
        )
    )
    bans = refusal_service.ban_reasons(
        session,
        person_id=person.id,
        surname=person.primary_name,
        birth_date=person.birth_date,
        nationality=person.nationality,
        issuing_state=doc.issuing_state,
        number=doc.number,
        country=country,
        direction="entry",
        day=day,
    )
    c, port = Crossing.__table__.c, PortOfEntry.__table__.c
    rows = session.execute(
        select(c.direction, c.crossed_at, port.code)
        .join_from(Crossing.__table__, PortOfEntry.__table__, port.id == c.port_id)
        .where(c.person_id == person.id, c.crossed_at >= now - timedelta(days=dom.HISTORY_DAYS))
        .order_by(c.crossed_at.desc(), c.id.desc())
    ).all()
    crossed = [dom.Crossed(d.value, at, code) for d, at, code in rows]
    valid, _problems = permit_service.permits_at_border(session, person.id, day)
    return Dossier(
        membership=m,
        person=person,
        document=doc,
        findings=[*(r for r in document if dom.suspends([r.code])), *hits],
        bans=bans,
        document_expired=any(r.code == "document.expired" for r in document),
        history=dom.history(crossed, now - timedelta(days=dom.HISTORY_DAYS)),
        recent=crossed[:10],
        permits=[p.as_dict() for p in valid],
    )


def dossier(
    session: Session,
    actor: Actor,
    membership_id: uuid.UUID | str,
    *,
    screening: check_service.Screening,
    now: datetime,
) -> Dossier:
    """What the vetting officer reads (audited: personal data and the screening's answer)."""
    _may(actor, Permission.FASTLANE_VET, "vet fast-lane applications")
    m = _load(session, membership_id)
    found = _dossier(session, m, screening, now)
    _audit(
        session,
        actor.username,
        "fastlane.vet.read",
        actor.node,
        m,
        now,
        actor.source,
        findings=len(found.findings),
        bans=len(found.bans),
    )
    return found


def interview(
    session: Session,
    actor: Actor,
    membership_id: uuid.UUID | str,
    *,
    outcome: str,
    note: str,
    now: datetime,
) -> FastLaneMembership:
    """Record the interview of an applicant (again, if it is held again)."""
    _may(actor, Permission.FASTLANE_VET, "record a fast-lane interview")
    m = _load(session, membership_id)
    if m.status is not Status.APPLIED:
        raise Conflict(
            "fastlane.not_applied",
            "only an application waiting for a decision "
            "can be interviewed (this one is %(status)s)",
            status=m.status.value,
        )
    try:
        said = dom.Interview(outcome)
    except ValueError:
        raise Invalid("fastlane.interview_outcome", "say how the interview went") from None
    text = _text(note)
    if len(text) < dom.MIN_NOTE:
        raise Invalid(
            "fastlane.note_short",
            "write what the interview found (at least %(min)s characters)",
            min=dom.MIN_NOTE,
        )
    m.interview_at, m.interview_by = now, actor.username
    m.interview_outcome, m.interview_note, m.updated_at = said, text, now
    _audit(
        session,
        actor.username,
        "fastlane.interview",
        actor.node,
        m,
        now,
        actor.source,
        outcome=said.value,
    )
    return m


def _reason(text: str) -> str:
    said = _text(text)
    if len(said) < dom.MIN_REASON:
        raise Invalid(
            "fastlane.reason_short",
            "give the reason (at least %(min)s characters)",
            min=dom.MIN_REASON,
        )
    return said


BLOCKING = {
    "fastlane.no_interview": "the applicant has not been interviewed",
    "fastlane.interview_concerns": "the interview found concerns",
    "fastlane.watchlist_hit": "the screening found a watchlist hit or a document alert",
    "fastlane.entry_ban": "an entry ban is in force",
    "fastlane.document_expired": "the passport has expired",
}


def decide(
    session: Session,
    actor: Actor,
    membership_id: uuid.UUID | str,
    *,
    approve: bool,
    reason_text: str,
    screening: check_service.Screening,
    var_dir: Path,
    now: datetime,
) -> FastLaneMembership:
    """Approve (the card is signed and issued) or refuse an application, with a reason (a
    refusal's is required; the applicant reads it). Approval is refused, naming why, while
    the interview is missing or found concerns, or the screening finds a hit, a ban or an
    expired passport: the vetting is run again at the moment of the decision."""
    _may(actor, Permission.FASTLANE_DECIDE, "decide fast-lane applications")
    m = _load(session, membership_id)
    if m.status is not Status.APPLIED:
        raise Conflict(
            "fastlane.not_applied",
            "only an application waiting for a decision can be decided (this one is %(status)s)",
            status=m.status.value,
        )
    found = _dossier(session, m, screening, now)
    said = _text(reason_text) if approve else _reason(reason_text)
    if approve:
        blocking = found.vetting.blocking()
        if blocking:
            raise Conflict(
                blocking[0],
                "the application cannot be approved: %(why)s",
                why="; ".join(BLOCKING[b] for b in blocking),
            )
        try:
            signer = KeyStore(var_dir, m.node).signer(now)
        except KeyStoreError as exc:
            raise Unavailable(
                "fastlane.keys", "the node cannot sign now: %(why)s", why=str(exc)
            ) from None
        today = border_day(now)
        person, doc = found.person, found.document
        card = dom.Card(
            membership_id=str(m.id),
            number=m.number,
            issuer=m.node,
            holder=f"{person.given_names} {person.primary_name}".strip(),
            issuing_state=doc.issuing_state,
            document=doc.number,
            valid_from=today,
            valid_to=dom.card_valid_to(today, doc.expiry_date),
        )
        m.token, m.kid = signer.sign(card.claims(now), typ=dom.TYP), signer.kid
        m.valid_from, m.valid_to, m.status = card.valid_from, card.valid_to, Status.ACTIVE
    else:
        m.status = Status.REFUSED
    m.vetting = found.snapshot(now)
    m.decided_at, m.decided_by, m.decision_reason, m.updated_at = now, actor.username, said, now
    _audit(
        session,
        actor.username,
        "fastlane.approve" if approve else "fastlane.refuse",
        actor.node,
        m,
        now,
        actor.source,
        reason=said,
    )
    return m


def suspend(
    session: Session,
    actor: Actor,
    membership_id: uuid.UUID | str,
    *,
    reason_text: str,
    now: datetime,
) -> FastLaneMembership:
    """A supervisor suspends an active membership (the card stops opening the lane)."""
    _may(actor, Permission.FASTLANE_DECIDE, "suspend fast-lane memberships")
    m = _load(session, membership_id)
    if m.status is not Status.ACTIVE:
        raise Conflict(
            "fastlane.not_active",
            "only an active membership can be suspended (this one is %(status)s)",
            status=m.status.value,
        )
    said = _reason(reason_text)
    m.status, m.suspended_at, m.suspended_by = Status.SUSPENDED, now, actor.username
    m.suspension_reason, m.suspension_check_id, m.updated_at = said, None, now
    _audit(
        session, actor.username, "fastlane.suspend", actor.node, m, now, actor.source, reason=said
    )
    return m


def reinstate(
    session: Session,
    actor: Actor,
    membership_id: uuid.UUID | str,
    *,
    reason_text: str,
    now: datetime,
) -> FastLaneMembership:
    """A supervisor reinstates a suspended membership after looking into it (a hit found
    to be someone else, a ban lifted), with a reason; its card opens the lane again."""
    _may(actor, Permission.FASTLANE_DECIDE, "reinstate fast-lane memberships")
    m = _load(session, membership_id)
    if m.status is not Status.SUSPENDED:
        raise Conflict(
            "fastlane.not_suspended",
            "only a suspended membership can be reinstated (this one is %(status)s)",
            status=m.status.value,
        )
    said = _reason(reason_text)
    m.status, m.updated_at = Status.ACTIVE, now
    _audit(
        session,
        actor.username,
        "fastlane.reinstate",
        actor.node,
        m,
        now,
        actor.source,
        reason=said,
        suspended_for=m.suspension_reason,
    )
    return m


# --------------------------------------------------------------------------- the lane


def card_keys(var_dir: Path, node: str) -> cred.KeySet:
    """The node's public keys (cards are this node's own); none when they cannot be read,
    so that every card then reads as signed by an unknown key."""
    try:
        return KeyStore(var_dir, node).keyset()
    except KeyStoreError:
        return cred.KeySet()


@dataclass(frozen=True)
class LaneAnswer:
    answer: dom.Answer
    reasons: list[Reason]
    check_id: uuid.UUID | None = None
    crossing_id: uuid.UUID | None = None
    number: str | None = None  # the membership shown (FL-XXXX-XXXX)
    holder: str | None = None
    selected: bool = False  # picked at random for secondary inspection
    suspended: bool = False  # this scan suspended the membership
    replayed: bool = False  # an earlier scan under the same Idempotency-Key

    def as_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer.value,
            "reasons": [r.as_dict() for r in self.reasons],
            "check_id": str(self.check_id) if self.check_id else None,
            "crossing_id": str(self.crossing_id) if self.crossing_id else None,
            "number": self.number,
            "holder": self.holder,
            "selected_at_random": self.selected,
            "suspended": self.suspended,
            "replayed": self.replayed,
        }


def _card(
    session: Session, text: str, keys: cred.KeySet
) -> tuple[dom.Card, FastLaneMembership] | Reason:
    if len(text) > dom.MAX_TOKEN:
        return reason("fastlane.card", "unreadable", why="too long for a fast-lane card")
    status, claims = cred.Verifier(keys).open_signed(text, dom.TYP, "fast-lane card")
    if status is cred.VerifyStatus.UNREADABLE:
        return reason("fastlane.card", "unreadable", why=claims["why"])
    if status is not cred.VerifyStatus.VALID:
        return reason("fastlane.card", "forged", why=claims["why"])
    card = dom.Card.from_claims(claims)
    if card is None:
        return reason("fastlane.card", "forged", why="it does not say what a card says")
    try:
        wanted = uuid.UUID(card.membership_id)
    except ValueError:
        return reason("fastlane.card", "forged", why="it names no membership")
    m = session.get(FastLaneMembership, wanted)
    if m is None or m.number != card.number:
        return reason("fastlane.card", "unknown", number=dom.shown_number(card.number))
    return card, m


def scan(
    session: Session,
    *,
    node: str,
    officer: Actor,
    card_text: str,
    port: str,
    direction: Direction,
    now: datetime,
    screening: check_service.Screening | None,
    keys: cred.KeySet,
    draw: Callable[[], float],
    rate: float,
    idempotency_key: str | None = None,
    source: str = "",
) -> LaneAnswer:
    """One scan at the lane: CLEAR (the crossing recorded) or REFER (the stored check waits
    for the officer at secondary). Nothing is committed: the caller does. A retry under the
    same ``idempotency_key`` answers the crossing it recorded; a refused card keeps no check
    (there is no one to check) but is audited."""
    post = check_service.find_port(session, port)
    check_service.ensure_posted(session, officer, post, "scan fast-lane cards")
    text = card_text.strip()
    key = (idempotency_key or "").strip() or None
    payload = check_service.request_hash(
        {"lane": text, "port": post.code, "direction": direction.value}
    )
    if key is not None:
        earlier = check_service.replayed_crossing(session, key, payload)
        if earlier is not None and earlier.check_id is not None:
            return LaneAnswer(dom.Answer.CLEAR, [], earlier.check_id, earlier.id, replayed=True)
    # Each scan is a turn at the port's fast lane: the wait times count its queue apart.
    waits.record(
        session,
        node=node,
        port_code=post.code,
        direction=direction,
        kind=waits.QueueEventKind.TURN,
        now=now,
        lane=waits.FAST,
        desk=LANE,
        officer_id=officer.user_id,
    )
    found = _card(session, text, keys)
    if isinstance(found, Reason):
        audit.record(
            session,
            actor=officer.username,
            action="fastlane.scan",
            node=node,
            entity="fast_lane",
            source=source,
            detail={"port": post.code, "answer": "REFER", "card": found.variant},
            at=now,
        )
        return LaneAnswer(dom.Answer.REFER, [found])
    card, m = found
    shown = dom.shown_number(m.number)
    problem = dom.card_problem(
        card, status=m.status, current=text == m.token, today=border_day(now)
    )
    lane = [reason("fastlane.member", number=shown, until=card.valid_to.isoformat())]
    if problem is not None:
        lane.append(
            reason(
                "fastlane.card",
                problem,
                number=shown,
                until=card.valid_to.isoformat(),
                since=card.valid_from.isoformat(),
            )
        )
    picked = problem is None and dom.selected(draw(), rate)
    if picked:
        lane.append(reason("fastlane.random", rate=f"{rate:.0%}"))
    doc = session.get(TravelDocument, m.document_id)
    assert doc is not None  # a foreign key
    result = check_service.run_check(
        session,
        node=node,
        officer=officer,
        request=check_service.CheckRequest(
            port=post.code,
            direction=direction,
            at=now,
            document_number=doc.number,
            issuing_state=doc.issuing_state,
        ),
        now=now,
        screening=screening,
        source=source,
        lane=lane,
    )
    check = result.check
    said = dom.answer(check.decision)
    triggers = dom.suspends(r.code for r in result.reasons)
    suspended = bool(triggers) and m.status is Status.ACTIVE
    if suspended:
        m.status, m.suspended_at, m.suspended_by = Status.SUSPENDED, now, LANE
        m.suspension_reason = "; ".join(r.message for r in result.reasons if r.code in triggers)[
            : dom.MAX_TEXT
        ]
        m.suspension_check_id, m.updated_at = check.id, now
        _audit(
            session,
            officer.username,
            "fastlane.suspend",
            node,
            m,
            now,
            source,
            check=str(check.id),
            reasons=triggers,
        )
    crossing_id = None
    if said is dom.Answer.CLEAR and check.decision is Decision.CLEAR:
        done = check_service.record_crossing(
            session,
            node=node,
            officer=officer,
            check_id=check.id,
            idempotency_key=key or f"lane:{check.id}",
            payload_hash=payload,
            now=now,
            source=source,
        )
        crossing_id = done.crossing.id
    _audit(
        session,
        officer.username,
        "fastlane.scan",
        node,
        m,
        now,
        source,
        port=post.code,
        answer=said.value,
        check=str(check.id),
        selected=picked,
        card=problem or "valid",
    )
    return LaneAnswer(
        said,
        result.reasons,
        check.id,
        crossing_id,
        shown,
        f"{result.person.given_names} {result.person.primary_name}".strip(),
        picked,
        suspended,
    )
