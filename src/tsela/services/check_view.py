"""A border check shown again from what was stored (the console's result page, GET after the
POST that ran it, and the secondary-inspection sheet).

Nothing is decided again: the decision and the reasons are the check's own, as stored. What
the check showed beside them (the traveller, the days of stay, the permits, the recent
crossings, the other country's record, a child's companions, the declaration accepted) is read
again as it stood at the moment of the check (the traveller's other records, "also known as",
as the identities stand now): crossings after it (its own, once recorded) are
left out. The MRZ's hints are not kept (the MRZ is not stored), so a result shown again has
none; its check-digit errors are among the stored reasons.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tsela.domain import children as child_rules
from tsela.domain import decisions as dec
from tsela.domain import declarations as declaration_rules
from tsela.domain import stay as staylib
from tsela.domain.reasons import Reason, Severity
from tsela.kernel import clock
from tsela.kernel.actor import Actor
from tsela.kernel.errors import NotFound
from tsela.reference import port_display_name
from tsela.services import audit, checks
from tsela.services import children as child_service
from tsela.services import declarations as declaration_service
from tsela.services import matching as exchange_matching
from tsela.services import risk as risk_service
from tsela.services.identity import border as identity_border
from tsela.store.checks import BorderCheck, CheckCompanion
from tsela.store.declarations import Declaration
from tsela.store.models import Crossing, Person, TravelDocument, User


@dataclass(frozen=True)
class ShownCheck:
    """The check's result as the console shows it, and what the page adds about it."""

    result: checks.CheckResult
    port_code: str
    officer: str | None  # the username of the officer who ran it
    recorded: bool  # a crossing was recorded from it


def stored_reason(kept: dict[str, Any]) -> Reason:
    """A reason as a check stored it (``Reason.as_dict``); older ones have words only."""
    try:
        severity = Severity[str(kept.get("severity", "info")).upper()]
    except KeyError:
        severity = Severity.INFO
    return Reason(
        code=str(kept.get("code", "")),
        severity=severity,
        message=str(kept.get("message", "")),
        variant=str(kept.get("variant", "")),
        params={k: str(v) for k, v in (kept.get("params") or {}).items()},
    )


def _hits(reasons: list[Reason]) -> list[dec.WatchlistFinding]:
    """The watchlist matches, from the reasons that name them."""
    out = []
    for r in reasons:
        if not r.code.startswith("watchlist."):
            continue
        p = r.params
        try:
            score = float(p.get("score", "0").rstrip("%")) / 100
        except ValueError:
            score = 0.0
        out.append(
            dec.WatchlistFinding(
                list_name=p.get("list", ""),
                category=p.get("category", ""),
                score=score,
                strong=r.code != "watchlist.possible",
                entry_name=p.get("entry", ""),
                why=p.get("why", ""),
            )
        )
    return out


def _crossings_before(
    session: Session, check: BorderCheck, person_id: uuid.UUID
) -> tuple[list[dec.PastCrossing], list[dict[str, Any]]]:
    """As ``checks._crossings``, of the crossings the check saw: none after it, nor its own."""
    c = Crossing.__table__.c
    country = check.country
    rows = session.execute(
        select(c.direction, c.country, c.crossed_at, c.port_id)
        .where(
            c.person_id == person_id,
            c.crossed_at <= check.checked_at,
            or_(c.check_id.is_(None), c.check_id != check.id),
        )
        .order_by(c.crossed_at.desc())
        .limit(2 * checks.HISTORY_LIMIT)
    ).all()
    history: list[dec.PastCrossing] = []
    recent: list[dict[str, Any]] = []
    for i, (d, where, t, port_id) in enumerate(rows):
        ref = checks._port_by_id(session, port_id)
        if where == country and len(history) < checks.HISTORY_LIMIT:
            history.append(dec.PastCrossing(d.value, t, ref.code if ref else "?"))
        if i < checks.RECENT:
            recent.append(
                {
                    "direction": d.value,
                    "country": where,
                    "crossed_at": t.isoformat(),
                    "port": ref.code if ref else "?",
                    "port_name": port_display_name(ref.name_za, ref.name_ls) if ref else "?",
                }
            )
    history.reverse()
    return history, recent


def _child(session: Session, check: BorderCheck) -> child_service.ChildInput:
    if not check.child_case:
        return child_service.ChildInput(None)
    rows = session.execute(
        select(
            CheckCompanion.adult_check_id,
            CheckCompanion.adult_person_id,
            CheckCompanion.document_number,
            Person.given_names,
            Person.primary_name,
        )
        .join(Person, Person.id == CheckCompanion.adult_person_id)
        .where(CheckCompanion.check_id == check.id)
        .order_by(CheckCompanion.created_at)
    ).all()
    companions = tuple(
        child_service.Companion(a, p, n, f"{g} {s}".strip()) for a, p, n, g, s in rows
    )
    travel = child_rules.travel(check.child_case, check.child_documents or (), len(companions))
    return child_service.ChildInput(travel, companions)


def _declaration(
    session: Session, reasons: list[Reason], document: checks.DocumentRef, port: str
) -> dict[str, Any] | None:
    """The declaration the check accepted (used once, at this port), if it accepted one."""
    if not any(r.code == "declaration.accepted" for r in reasons):
        return None
    found = session.scalars(
        select(Declaration)
        .where(
            Declaration.issuing_state == declaration_rules.normalised_state(document.issuing_state),
            Declaration.document_number == declaration_rules.normalised_number(document.number),
            Declaration.used_port == port,
        )
        .order_by(Declaration.used_at.desc())
        .limit(1)
    ).first()
    return declaration_service._shown(found) if found is not None else None


def shown(
    session: Session,
    *,
    node: str,
    viewer: Actor,
    check_id: uuid.UUID,
    source: str = "",
) -> ShownCheck:
    """The check ``check_id`` as its result was shown. A border officer sees the checks of
    their port only; anyone but the officer who ran it is audited as reading it."""
    check = session.get(BorderCheck, check_id)
    if check is None or check.person_id is None or check.document_id is None:
        raise NotFound("check.not_found", "no check %(check)s", check=str(check_id))
    port = checks._port_by_id(session, check.port_id)
    assert port is not None
    checks.ensure_posted(session, viewer, port, "see checks")
    person_row = session.get(Person, check.person_id)
    document_row = session.get(TravelDocument, check.document_id)
    if person_row is None or document_row is None:
        raise NotFound("check.not_found", "no check %(check)s", check=str(check_id))
    person = checks._read_model(checks.TravellerRef, person_row)
    document = checks._read_model(checks.DocumentRef, document_row)
    if check.officer_id != viewer.user_id:
        audit.record(
            session,
            actor=viewer.username,
            action="check.view",
            node=node,
            entity="person",
            entity_id=person.id,
            source=source,
            detail={"check": str(check.id), "port": port.code},
        )
    day = clock.border_day(check.checked_at)
    reasons = [stored_reason(r) for r in check.reasons]
    valid_permits, _findings = checks._permits(session, person.id, day)
    history, recent = _crossings_before(session, check, person.id)
    other_side = exchange_matching.at_check(
        session,
        person=person,
        issuing_state=document.issuing_state,
        number=document.number,
        at=check.checked_at,
        direction=check.direction.value,
        history=history,
    )
    stay, _stay_reasons = staylib.assess_crossing(
        nationality=person.nationality,
        country=check.country,
        direction=check.direction,
        day=day,
        history=other_side.history,
        permits=valid_permits,
    )
    officer = session.scalar(select(User.username).where(User.id == check.officer_id))
    record = identity_border.traveller_record(
        node=node, person_id=person.id, surname=person.primary_name,
        given_names=person.given_names, birth_date=person.birth_date, sex=person.sex.value,
        nationality=person.nationality, number=document.number,
        issuing_state=document.issuing_state,
    )  # fmt: skip
    result = checks.CheckResult(
        check=check,
        person=person,
        document=document,
        reasons=reasons,
        # As the check counted it (a permit shown at the desk included); checks kept before
        # the stay was stored are counted again.
        stay=check.stay if check.stay is not None else (stay.as_dict() if stay else None),
        permits=[p.as_dict() for p in valid_permits],
        hits=_hits(reasons),
        recent=recent,
        partner_crossing=other_side.shown,
        child=child_service.summary(person.birth_date, day, _child(session, check)),
        declaration=_declaration(session, reasons, document, port.code),
        also_known_as=identity_border.shown(session, record),
        risk_hits=risk_service.hits_of(session, check.id),  # with the officer's outcome
    )
    return ShownCheck(result, port.code, officer, check.crossing_id is not None)
