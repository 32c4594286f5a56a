"""Risk rules at the border check (issue 18, item 5): the facts they need, gathered in a few
small queries; the hits recorded with the check; a supervisor switching a rule on, off or to
"inform only"; the officer confirming or dismissing a hit; each rule's hits and confirmations
for the observatory. The rules themselves are ``tsela.domain.risk``'s.

At a check (``at_check``): one query (``gather``) reads the rules' modes at this node, this
document's other checks within the window (by the person's index) and the partner's refusals
of the traveller within theirs; a hit adds one insert. The visa-run and the child-at-night
rules use what the check already read (its crossing history, the child's travel), and the
partner's crossings of the document come with ``matching.at_check``'s one query.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session

from tsela.domain import decisions as dec
from tsela.domain import risk as rules
from tsela.domain.reasons import Reason
from tsela.domain.risk import Mode
from tsela.ids import new_id
from tsela.kernel import clock
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.errors import AuditNote, Conflict, Forbidden, Invalid, NotFound
from tsela.services import audit
from tsela.store.checks import BorderCheck
from tsela.store.models import PortOfEntry
from tsela.store.refusals import Refusal
from tsela.store.risk import RiskHit, RiskRuleSetting

OUTCOMES = ("confirmed", "dismissed")
MIN_REASON = 10  # characters of a supervisor's reason for switching a rule
MAX_TEXT = 2000

# --------------------------------------------------------------------------- the check

_S = RiskRuleSetting.__table__.c
_K = BorderCheck.__table__.c
_P = PortOfEntry.__table__.c
_R = Refusal.__table__.c
# Everything the rules read, in one round trip (built once: building and keying a statement
# on every check cost more than running it). Rows of three kinds, in common columns:
#   refusal  the partner's refusals of the traveller in the window: id, node, port, time,
#            grounds (by document, or by surname, birth date and nationality, as bans are;
#            a birth date of NULL matches nothing)
#   use      this node's checks of the document at another port in the window: id, node,
#            port, time
#   mode     the supervisors' settings: id, mode (in the node column), rule (in the port
#            column), time of the change
_BY_DOCUMENT = and_(
    _R.document_country == bindparam("state"), _R.document_number == bindparam("number")
)
_BY_NAME = and_(
    _R.surname == bindparam("surname"),
    _R.birth_date == bindparam("birth"),
    _R.nationality == bindparam("nationality"),
)
_FACTS = union_all(
    select(
        literal_column("'refusal'").label("kind"), _R.id, _R.node, _R.port_code, _R.refused_at,
        _R.grounds,
    )
    .where(
        _R.node != bindparam("node"),
        _R.refused_at >= bindparam("refused_since"),
        _R.refused_at <= bindparam("at"),
        or_(_BY_DOCUMENT, _BY_NAME),
    ),
    select(literal_column("'use'"), _K.id, _K.node, _P.code, _K.checked_at, null())
    .join_from(BorderCheck.__table__, PortOfEntry.__table__, _P.id == _K.port_id)
    .where(
        _K.person_id == bindparam("person_id"),
        _K.document_id == bindparam("document_id"),
        _K.checked_at >= bindparam("used_since"),
        _K.checked_at <= bindparam("used_until"),
        _K.port_id != bindparam("port_id"),
    ),
    select(literal_column("'mode'"), _S.id, _S.mode, _S.rule, _S.updated_at, null()),
)  # fmt: skip
_NEW_HIT = insert(RiskHit.__table__)


@dataclass(frozen=True)
class Subject:
    """The traveller and document of a check, as the rules' queries need them."""

    person_id: uuid.UUID
    document_id: uuid.UUID
    surname: str
    birth_date: date | None
    nationality: str
    issuing_state: str
    number: str


@dataclass
class AtCheck:
    """What the risk rules add to a check: the reasons, and the hits to record with it."""

    reasons: list[Reason] = field(default_factory=list)
    hits: list[rules.Hit] = field(default_factory=list)


@dataclass(frozen=True)
class Gathered:
    modes: dict[str, Mode]
    uses: list[rules.DocumentUse]
    refusals: list[rules.PartnerRefusal]


def gather(
    session: Session,
    who: Subject,
    *,
    node: str,
    port_id: uuid.UUID,
    at: datetime,
    uses_within: timedelta,
    refused_within: timedelta,
) -> Gathered:
    """The modes and the facts the rules read from the store, in one query (``_FACTS``)."""
    rows = session.execute(
        _FACTS,
        {
            "node": node,
            "refused_since": at - refused_within,
            "at": at,
            "state": who.issuing_state,
            "number": who.number,
            "surname": who.surname,
            "birth": who.birth_date,
            "nationality": who.nationality,
            "person_id": who.person_id,
            "document_id": who.document_id,
            "used_since": at - uses_within,
            "used_until": at + uses_within,
            "port_id": port_id,
        },
    ).all()
    found = Gathered({}, [], [])
    for kind, row_id, row_node, where, moment, grounds in rows:
        if kind == "mode":
            found.modes[where] = Mode(row_node)
        elif kind == "use":
            found.uses.append(rules.DocumentUse(where, moment, row_node, str(row_id)))
        else:
            found.refusals.append(
                rules.PartnerRefusal(str(row_id), row_node, "", where, moment, tuple(grounds or ()))
            )
    return found


def at_check(
    session: Session,
    *,
    node: str,
    country: str,
    port_id: uuid.UUID,
    port_code: str,
    direction: str,
    at: datetime,
    who: Subject,
    history: Sequence[dec.PastCrossing],
    partner_crossings: Sequence[Any] = (),
    child_case: str | None = None,
    catalogue: rules.RiskRules | None = None,
) -> AtCheck:
    """The rules applied to this check: the modes and the facts in one query, then
    ``domain.risk.evaluate`` (a rule switched off is not evaluated). ``partner_crossings``: the
    partner's records of the traveller's documents (``matching.AtCheck.found``)."""
    known = catalogue or rules.rules()
    two_ports = known.parameters("document_two_ports")
    refused = known.parameters("refused_at_partner")
    assert isinstance(two_ports, rules.DocumentTwoPorts)
    assert isinstance(refused, rules.RefusedAtPartner)
    window = timedelta(minutes=two_ports.window_minutes)
    found = gather(
        session, who, node=node, port_id=port_id, at=at, uses_within=window,
        refused_within=timedelta(days=refused.window_days),
    )  # fmt: skip
    if not rules.active(found.modes, known):
        return AtCheck()
    uses = found.uses + [
        rules.DocumentUse(r.port_code, r.crossed_at, r.node, str(r.id))
        for r in partner_crossings
        if r.document_number == who.number
        and r.document_country == who.issuing_state
        and abs(r.crossed_at - at) <= window
    ]
    partner_country = {"LSO": "ZAF", "ZAF": "LSO"}.get(country, "")
    facts = rules.CheckFacts(
        node=node,
        country=country,
        port=port_code,
        direction=direction,
        at=at,
        nationality=who.nationality,
        birth_date=who.birth_date,
        child_case=child_case,
        history=history,
        document_uses=uses,
        partner_refusals=[replace(r, country=partner_country) for r in found.refusals],
    )
    hits = rules.evaluate(facts, found.modes, known)
    return AtCheck([h.reason for h in hits], hits)


def record_hits(
    session: Session,
    *,
    node: str,
    check_id: uuid.UUID,
    port_code: str,
    checked_at: datetime,
    hits: Sequence[rules.Hit],
    now: datetime,
) -> list[uuid.UUID]:
    """Keep the check's hits (in its transaction); their ids."""
    if not hits:
        return []
    ids = [new_id() for _ in hits]
    session.execute(
        _NEW_HIT,
        [
            _row(i, h)
            | {
                "node": node,
                "created_at": now,
                "port_code": port_code,
                "check_id": check_id,
                "checked_at": checked_at,
            }
            for i, h in zip(ids, hits, strict=True)
        ],
    )
    return ids


def _row(hit_id: uuid.UUID, hit: rules.Hit) -> dict[str, Any]:
    return {
        "id": hit_id,
        "rule": hit.rule,
        "mode": hit.mode,
        "reason_code": hit.reason.code,
        "variant": hit.reason.variant,
        "facts": dict(hit.reason.params),
        "outcome": None,
        "outcome_by": None,
        "outcome_at": None,
        "outcome_note": None,
    }


def fresh_hits(
    check_id: uuid.UUID, ids: Sequence[uuid.UUID], hits: Sequence[rules.Hit]
) -> list[dict[str, Any]]:
    """The hits a check just recorded, as ``hit_out`` says them (no outcome yet; the English
    words are the reason's own)."""
    return [
        {
            "id": str(i),
            "check_id": str(check_id),
            "rule": h.rule,
            "mode": h.mode.value,
            "code": h.reason.code,
            "variant": h.reason.variant,
            "params": dict(h.reason.params),
            "message": h.reason.message,
            "outcome": None,
            "outcome_by": None,
            "outcome_at": None,
            "outcome_note": None,
        }
        for i, h in zip(ids, hits, strict=True)
    ]


def hit_out(hit: RiskHit | Mapping[str, Any]) -> dict[str, Any]:
    """A hit as the API answers it and the pages show it (the words in English; the pages
    say them in the reader's language from code, variant and facts)."""
    from tsela.domain.reasons import words

    get = hit.get if isinstance(hit, Mapping) else lambda k: getattr(hit, k)
    kept = {"code": get("reason_code"), "variant": get("variant"), "params": get("facts")}
    outcome_at = get("outcome_at")
    mode = get("mode")
    return {
        "id": str(get("id")),
        "check_id": str(get("check_id")),
        "rule": get("rule"),
        "mode": mode.value if isinstance(mode, Mode) else str(mode),
        "code": kept["code"],
        "variant": kept["variant"],
        "params": dict(kept["params"] or {}),
        "message": words(kept, "en"),
        "outcome": get("outcome"),
        "outcome_by": get("outcome_by"),
        "outcome_at": outcome_at.isoformat() if outcome_at else None,
        "outcome_note": get("outcome_note"),
    }


def hits_of(session: Session, check_id: uuid.UUID) -> list[dict[str, Any]]:
    """The hits a check made, in the rules' order."""
    order = {r: i for i, r in enumerate(rules.RULE_IDS)}
    found = session.scalars(select(RiskHit).where(RiskHit.check_id == check_id)).all()
    return [hit_out(h) for h in sorted(found, key=lambda h: (order.get(h.rule, 99), h.id))]


# --------------------------------------------------------------------------- the officer


def _note(action: str, entity: str, entity_id: object, **detail: object) -> AuditNote:
    return AuditNote(action, entity, str(entity_id), {k: str(v) for k, v in detail.items()})


def _text(value: str, label: str, action: str, entity: str, entity_id: object) -> str:
    text = (value or "").strip()
    if "\x00" in text or len(text) > MAX_TEXT:
        raise Invalid(
            "risk.bad_text",
            "%(label)s must be text of at most %(max)s characters",
            audit=_note(action, entity, entity_id),
            label=label,
            max=MAX_TEXT,
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(
            "risk.bad_text",
            "%(label)s must be text of at most %(max)s characters",
            audit=_note(action, entity, entity_id),
            label=label,
            max=MAX_TEXT,
        ) from None
    return text


def decide_hit(
    session: Session,
    *,
    node: str,
    actor: Actor,
    hit_id: uuid.UUID,
    outcome: str,
    note: str = "",
    check_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> RiskHit:
    """The officer confirms the hit (the concern was real) or dismisses it (it was not);
    once. A border officer decides the hits of their own port's checks only."""
    from tsela.services.checks import _port_by_id, ensure_posted

    now = now or clock.now()
    refused = "risk_hit.rejected"
    hit = session.get(RiskHit, hit_id)
    if hit is None or (check_id is not None and hit.check_id != check_id):
        raise NotFound(
            "risk.no_hit",
            "no risk rule hit %(hit)s",
            audit=_note(refused, "risk_hit", hit_id),
            hit=str(hit_id),
        )
    if outcome not in OUTCOMES:
        raise Invalid(
            "risk.bad_outcome",
            "the outcome is confirmed or dismissed, not %(outcome)r",
            audit=_note(refused, "risk_hit", hit_id, outcome=outcome[:20]),
            outcome=outcome[:20],
        )
    check = session.get(BorderCheck, hit.check_id)
    assert check is not None
    port = _port_by_id(session, check.port_id)
    assert port is not None
    ensure_posted(session, actor, port, "decide risk rule hits")
    said = _text(note, "note", refused, "risk_hit", hit_id)
    if hit.outcome is not None:
        raise Conflict(
            "risk.hit_decided",
            "this hit was already %(outcome)s by %(by)s",
            audit=_note(refused, "risk_hit", hit_id, outcome=outcome),
            outcome=hit.outcome,
            by=hit.outcome_by or "?",
        )
    hit.outcome = outcome
    hit.outcome_by = actor.username
    hit.outcome_at = now
    hit.outcome_note = said or None
    audit.record(
        session,
        actor=actor.username,
        action="risk_hit.confirm" if outcome == "confirmed" else "risk_hit.dismiss",
        node=node,
        entity="risk_hit",
        entity_id=hit.id,
        source=actor.source,
        detail={"check": str(hit.check_id), "rule": hit.rule, "note": said},
    )
    session.flush()
    return hit


# --------------------------------------------------------------------------- supervisors


@dataclass(frozen=True)
class RuleState:
    rule: rules.RiskRule
    mode: Mode
    changed_by: str | None
    changed_at: datetime | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return self.rule.as_dict() | {
            "mode": self.mode.value,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "change_reason": self.reason,
        }


def list_rules(session: Session) -> list[RuleState]:
    """Every rule with its mode at this node and its last change."""
    known = rules.rules()
    rows = {r.rule: r for r in session.scalars(select(RiskRuleSetting))}
    out = []
    for rule_id, rule in known.rules.items():
        row = rows.get(rule_id)
        if row is None:
            out.append(RuleState(rule, rule.default_mode, None, None, None))
        else:
            out.append(RuleState(rule, Mode(row.mode), row.changed_by, row.updated_at, row.reason))
    return out


def set_mode(
    session: Session,
    *,
    node: str,
    actor: Actor,
    rule_id: str,
    mode: str,
    reason: str,
    now: datetime | None = None,
) -> RuleState:
    """A supervisor switches a rule on, off or to "inform only", saying why; audited (the
    old mode and the new). The next check at this node runs with it."""
    now = now or clock.now()
    refused = "risk_rule.rejected"
    if not actor.may(Permission.RISK_RULES_MANAGE):
        raise Forbidden(
            "risk.not_allowed",
            "only a supervisor switches risk rules",
            audit=_note(refused, "risk_rule", rule_id[:40]),
        )
    known = rules.rules()
    if rule_id not in known.rules:
        raise NotFound(
            "risk.unknown_rule",
            "no risk rule %(rule)r: the rules are %(known)s",
            audit=_note(refused, "risk_rule", rule_id[:40]),
            rule=rule_id[:40],
            known=", ".join(known.rules),
        )
    try:
        new = Mode(mode)
    except ValueError:
        raise Invalid(
            "risk.bad_mode",
            "a rule is on, inform or off, not %(mode)r",
            audit=_note(refused, "risk_rule", rule_id, mode=mode[:20]),
            mode=mode[:20],
        ) from None
    why = _text(reason, "reason", refused, "risk_rule", rule_id)
    if len(why) < MIN_REASON:
        raise Invalid(
            "risk.reason_short",
            "say why the rule changes (at least %(min)s characters)",
            audit=_note(refused, "risk_rule", rule_id, mode=new.value),
            min=MIN_REASON,
        )
    row = session.scalar(select(RiskRuleSetting).where(RiskRuleSetting.rule == rule_id))
    old = Mode(row.mode) if row is not None else known.rules[rule_id].default_mode
    if row is None:
        row = RiskRuleSetting(
            id=new_id(), node=node, created_at=now, rule=rule_id, mode=new,
            changed_by=actor.username, reason=why, updated_at=now,
        )  # fmt: skip
        session.add(row)
    else:
        row.mode, row.changed_by, row.reason, row.updated_at = new, actor.username, why, now
    audit.record(
        session,
        actor=actor.username,
        action="risk_rule.set",
        node=node,
        entity="risk_rule",
        entity_id=rule_id,
        source=actor.source,
        detail={"rule": rule_id, "from": old.value, "to": new.value, "reason": why},
    )
    session.flush()
    return RuleState(known.rules[rule_id], new, actor.username, now, why)


# --------------------------------------------------------------------------- observatory


@dataclass(frozen=True)
class RuleTally:
    rule: str
    words: Mapping[str, str]
    mode: Mode  # the rule's mode now
    hits: int
    informed: int  # of them, hits while the rule was "inform only"
    confirmed: int
    dismissed: int

    @property
    def open(self) -> int:
        return self.hits - self.confirmed - self.dismissed

    @property
    def confirmed_share(self) -> float | None:
        """Confirmed of the hits decided (None: none decided yet)."""
        decided = self.confirmed + self.dismissed
        return self.confirmed / decided if decided else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "en": self.words["en"],
            "st": self.words["st"],
            "mode": self.mode.value,
            "hits": self.hits,
            "inform_only": self.informed,
            "confirmed": self.confirmed,
            "dismissed": self.dismissed,
            "open": self.open,
        }


def tally(session: Session, start: date, end: date) -> list[RuleTally]:
    """Each rule's hits at checks on the border days ``start`` to ``end`` (both included):
    how many, how many while "inform only", confirmed, dismissed. Every rule has a row."""
    h = RiskHit.__table__.c
    rows = session.execute(
        select(
            h.rule,
            func.count(),
            func.count().filter(h.mode == Mode.INFORM.value),
            func.count().filter(h.outcome == "confirmed"),
            func.count().filter(h.outcome == "dismissed"),
        )
        .where(h.checked_at >= clock.day_start(start), h.checked_at < clock.day_end(end))
        .group_by(h.rule)
    ).all()
    counts = {r: (int(n), int(i), int(c), int(d)) for r, n, i, c, d in rows}
    return [
        RuleTally(s.rule.id, s.rule.words, s.mode, *counts.get(s.rule.id, (0, 0, 0, 0)))
        for s in list_rules(session)
    ]
