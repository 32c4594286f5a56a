"""Trafficking and smuggling cases (issue 18, item 4): open one from a border check, work it
(indicators, notes, referral, assignment, hand-over, closure), read it, export summaries.

Case data is special personal information (a possible victim of trafficking, a suspected
offence): only the roles holding ``CASE_READ``/``CASE_WORK`` (the case officers) read or
work a case, the desk only opens one; every read (a case, a list of cases, an export) and
every change is written to the audit log in the transaction that does it, and a refusal
is audited too (the kernel error carries its note; the edges write it after rolling back).
The rules are ``tsela.domain.cases``; the indicators ``reference/case_indicators.toml``.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsela.domain import cases as rules
from tsela.domain.cases import CaseEventKind, CaseInputError, CaseKind, CaseStatus
from tsela.domain.values import Role
from tsela.ids import new_id
from tsela.kernel import clock
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.errors import AuditNote, Conflict, Forbidden, Invalid, NotFound
from tsela.pseudonyms import case_person_key
from tsela.services import audit, checks
from tsela.store.cases import Case, CaseEvent
from tsela.store.checks import BorderCheck
from tsela.store.models import Person, PortOfEntry, TravelDocument, User

__all__ = [
    "EXPORT_FORMAT",
    "MAX_PAGE",
    "CaseView",
    "Opening",
    "add_note",
    "assign",
    "case_officers",
    "close",
    "export_csv",
    "export_json",
    "for_opening",
    "get_case",
    "hand_over",
    "list_cases",
    "open_case",
    "refer",
    "set_indicators",
    "view",
]

MAX_PAGE = 200
MAX_EXPORT = 50_000  # cases in one export (a period of a busy node's years fits)
AUDIT_IDS = 1_000  # an export's audit entry names at most this many cases, else counts them
EXPORT_FORMAT = "tsela.case-summaries"
EXPORT_VERSION = 1


def _note(action: str, entity_id: object = "", **detail: Any) -> AuditNote:
    return AuditNote(action, "case", str(entity_id or ""), {k: str(v) for k, v in detail.items()})


def _invalid(exc: CaseInputError, action: str, case_id: object = "") -> Invalid | Conflict:
    kind = Conflict if exc.code == "case.closed" else Invalid
    return kind(exc.code, exc.template, audit=_note(action, case_id), **exc.values)


def _may(actor: Actor, permission: Permission, action: str, case_id: object = "") -> None:
    """The service's own look at the table (the edges asked it already)."""
    if not actor.may(permission):
        raise Forbidden(
            "case.forbidden",
            "your role (%(role)s) may not see or work cases",
            audit=_note(action, case_id, permission=permission.value),
            role=actor.role.value,
        )


def _audit(session: Session, actor: Actor, action: str, case_id: object, **detail: Any) -> None:
    audit.record(
        session,
        actor=actor.username,
        action=action,
        node=actor.node,
        entity="case",
        entity_id=case_id,
        detail=detail,
        source=actor.source,
    )


def _event(
    session: Session,
    actor: Actor,
    case: Case,
    kind: CaseEventKind,
    now: datetime,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> CaseEvent:
    """Record ``kind`` on the case (its status follows) and write the audit entry."""
    detail = detail or {}
    event = CaseEvent(
        id=new_id(),
        node=actor.node,
        case_id=case.id,
        at=now,
        actor=actor.username,
        kind=kind,
        note=note,
        detail=detail,
    )
    session.add(event)
    case.status = rules.status_after(case.status, kind)
    case.updated_at = now
    _audit(session, actor, f"case.{kind.value}", case.id, **detail)
    return event


# --------------------------------------------------------------------------- opening


@dataclass(frozen=True)
class Opening:
    """What the desk sees when it opens a case from a check."""

    check_id: uuid.UUID
    traveller: str  # given names and surname
    document: str  # issuing state and number
    decision: str
    protect: bool  # the check found a person to protect (watchlist.protect)
    case_id: uuid.UUID | None  # a case opened from this check already


def for_opening(session: Session, actor: Actor, check_id: uuid.UUID) -> Opening:
    """The check a case would be opened from, as the desk may see it (a border officer: the
    checks of their port)."""
    action = "case.open_refused"
    _may(actor, Permission.CASE_OPEN, action)
    check = session.get(BorderCheck, check_id)
    if check is None:
        raise NotFound(
            "case.no_check", "no check %(check)s", audit=_note(action, check=check_id),
            check=str(check_id),
        )  # fmt: skip
    port = session.get(PortOfEntry, check.port_id)
    assert port is not None
    checks.ensure_posted(session, actor, port, "open cases")
    person = session.get(Person, check.person_id) if check.person_id else None
    document = session.get(TravelDocument, check.document_id) if check.document_id else None
    return Opening(
        check_id=check.id,
        traveller=f"{person.given_names} {person.primary_name}".strip() if person else "",
        document=f"{document.issuing_state} {document.number}" if document else "",
        decision=check.decision.value,
        protect=any(r.get("code") == "watchlist.protect" for r in check.reasons),
        case_id=session.scalar(select(Case.id).where(Case.check_id == check_id)),
    )


def open_case(
    session: Session,
    actor: Actor,
    *,
    check_id: uuid.UUID,
    kind: str,
    indicators: Sequence[str] = (),
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """Open a case from the check ``check_id``: its kind, the indicators seen, what the
    officer saw (a note). A border officer opens cases from the checks of their port; one
    case per check."""
    now = now or clock.now()
    action = "case.open_refused"
    _may(actor, Permission.CASE_OPEN, action)
    try:
        chosen_kind = rules.kind_of(kind)
        chosen = rules.indicators_of(indicators)
        said = rules.note_of(note, required=False)
    except CaseInputError as exc:
        raise _invalid(exc, action) from None
    check = session.get(BorderCheck, check_id)
    if check is None:
        raise NotFound(
            "case.no_check", "no check %(check)s", audit=_note(action, check=check_id),
            check=str(check_id),
        )  # fmt: skip
    port = session.get(PortOfEntry, check.port_id)
    assert port is not None
    checks.ensure_posted(session, actor, port, "open cases")
    taken = session.scalar(select(Case.id).where(Case.check_id == check_id))
    if taken is not None:
        raise Conflict(
            "case.exists",
            "a case was opened from this check already",
            audit=_note(action, taken, check=check_id),
        )
    case = Case(
        id=new_id(),
        node=actor.node,
        kind=chosen_kind,
        status=CaseStatus.OPEN,
        check_id=check.id,
        person_id=check.person_id,
        port_code=port.code,
        opened_at=now,
        opened_by=actor.username,
        assigned_to=None,
        indicators=chosen,
        indicators_version=rules.catalogue().version,
        referrals=[],
        updated_at=now,
    )
    session.add(case)
    session.flush()
    _event(
        session, actor, case, CaseEventKind.OPENED, now, said,
        {"kind": chosen_kind.value, "indicators": chosen, "check": str(check.id),
         "port": port.code},
    )  # fmt: skip
    return case


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class CaseView:
    """A case as its readers see it: the case, the traveller, the check, the events."""

    case: Case
    traveller: dict[str, Any] | None
    check: dict[str, Any]
    events: list[CaseEvent]

    def as_dict(self) -> dict[str, Any]:
        c = self.case
        return {
            **_summary(c),
            "check_id": str(c.check_id),
            "indicators_version": c.indicators_version,
            "traveller": self.traveller,
            "check": self.check,
            "events": [
                {
                    "id": str(e.id),
                    "at": e.at,
                    "actor": e.actor,
                    "kind": e.kind.value,
                    "note": e.note,
                    "detail": e.detail,
                }
                for e in self.events
            ],
        }


def _summary(c: Case) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "node": c.node,
        "kind": c.kind.value,
        "status": c.status.value,
        "port_code": c.port_code,
        "opened_at": c.opened_at,
        "opened_by": c.opened_by,
        "assigned_to": c.assigned_to,
        "indicators": list(c.indicators),
        "referrals": list(c.referrals),
        "outcome": c.outcome,
        "closed_at": c.closed_at,
        "updated_at": c.updated_at,
    }


def _case(session: Session, case_id: uuid.UUID, action: str) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(
            "case.not_found", "no case %(case)s", audit=_note(action, case_id), case=str(case_id)
        )
    return case


def view(session: Session, case: Case) -> CaseView:
    """The case with its traveller, check and events, unaudited: for the answer to a change
    (the change's own audit entry covers it); a read is ``get_case``."""
    person = session.get(Person, case.person_id) if case.person_id else None
    check = session.get(BorderCheck, case.check_id)
    assert check is not None
    document = session.get(TravelDocument, check.document_id) if check.document_id else None
    traveller = (
        {
            "person_id": str(person.id),
            "surname": person.primary_name,
            "given_names": person.given_names,
            "sex": person.sex.value,
            "birth_date": person.birth_date,
            "nationality": person.nationality,
            "document_country": document.issuing_state if document else None,
            "document_number": document.number if document else None,
        }
        if person is not None
        else None
    )
    events = list(
        session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        )
    )
    shown = {
        "id": str(check.id),
        "checked_at": check.checked_at,
        "direction": check.direction.value,
        "decision": check.decision.value,
        "reasons": [str(r.get("code", "")) for r in check.reasons],
    }
    return CaseView(case, traveller, shown, events)


def get_case(session: Session, actor: Actor, case_id: uuid.UUID) -> CaseView:
    """The case, its traveller, check and events; the read is audited."""
    action = "case.read_refused"
    _may(actor, Permission.CASE_READ, action, case_id)
    case = _case(session, case_id, action)
    shown = view(session, case)
    _audit(session, actor, "case.read", case.id, person=str(case.person_id or ""))
    return shown


def list_cases(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    kind: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Cases, open ones first then newest first, a page at a time, filtered by status and
    kind; each summary names the traveller. The read is audited with the cases shown."""
    action = "case.list_refused"
    _may(actor, Permission.CASE_READ, action)
    query = select(Case)
    try:
        if status:
            query = query.where(Case.status == CaseStatus(status))
        if kind:
            query = query.where(Case.kind == CaseKind(kind))
    except ValueError:
        raise Invalid(
            "case.bad_filter",
            "unknown status or kind: %(value)s",
            audit=_note(action),
            value=f"{status or ''} {kind or ''}".strip(),
        ) from None
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    closed_last = (Case.status == CaseStatus.CLOSED).asc()  # False (not closed) first
    rows = list(
        session.scalars(
            query.order_by(closed_last, Case.opened_at.desc(), Case.id.desc())
            .offset(offset)
            .limit(min(max(limit, 1), MAX_PAGE))
        )
    )
    people = {
        p.id: p
        for p in session.scalars(
            select(Person).where(Person.id.in_([c.person_id for c in rows if c.person_id]))
        )
    }
    items = []
    for c in rows:
        person = people.get(c.person_id) if c.person_id else None
        name = f"{person.given_names} {person.primary_name}".strip() if person else ""
        items.append({**_summary(c), "traveller_name": name})
    _audit(
        session, actor, "case.list", "",
        status=status or "", kind=kind or "", offset=offset, cases=[i["id"] for i in items],
    )  # fmt: skip
    return items, total


def case_officers(session: Session) -> list[tuple[str, str]]:
    """The active case officers (username, full name), to assign a case or hand it over."""
    rows = session.execute(
        select(User.username, User.full_name)
        .where(User.role == Role.CASE_OFFICER, User.active.is_(True))
        .order_by(User.username)
    )
    return [(u, n) for u, n in rows]


# --------------------------------------------------------------------------- working


def _work(session: Session, actor: Actor, case_id: uuid.UUID, action: str) -> Case:
    """The case to change, locked for the change (two officers at once: one after the
    other), if the actor may work it and it is not closed."""
    _may(actor, Permission.CASE_WORK, f"{action}_refused", case_id)
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise NotFound(
            "case.not_found",
            "no case %(case)s",
            audit=_note(f"{action}_refused", case_id),
            case=str(case_id),
        )
    try:
        rules.may_change(case.status)
    except CaseInputError as exc:
        raise _invalid(exc, f"{action}_refused", case_id) from None
    return case


def _checked(work: Any, action: str, case_id: object) -> Any:
    try:
        return work()
    except CaseInputError as exc:
        raise _invalid(exc, f"{action}_refused", case_id) from None


def set_indicators(
    session: Session,
    actor: Actor,
    case_id: uuid.UUID,
    indicators: Sequence[str],
    now: datetime | None = None,
) -> Case:
    """The indicators now ticked (the whole checklist); an event names what changed."""
    now = now or clock.now()
    case = _work(session, actor, case_id, "case.indicators")
    chosen = _checked(lambda: rules.indicators_of(indicators), "case.indicators", case_id)
    change = rules.indicator_change(case.indicators, chosen)
    if change["ticked"] or change["unticked"]:
        case.indicators = chosen
        case.indicators_version = rules.catalogue().version
        _event(session, actor, case, CaseEventKind.INDICATORS, now, "", dict(change))
    return case


def add_note(
    session: Session, actor: Actor, case_id: uuid.UUID, note: str, now: datetime | None = None
) -> Case:
    now = now or clock.now()
    case = _work(session, actor, case_id, "case.note")
    said = _checked(lambda: rules.note_of(note, required=True), "case.note", case_id)
    _event(session, actor, case, CaseEventKind.NOTE, now, said)
    return case


def refer(
    session: Session,
    actor: Actor,
    case_id: uuid.UUID,
    agency: str,
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """Refer the case to the police or to social development (the agency of this node's
    country is named in the event); the case stays to be worked until closed."""
    now = now or clock.now()
    case = _work(session, actor, case_id, "case.referred")
    code = _checked(lambda: rules.agency_of(agency), "case.referred", case_id)
    said = _checked(lambda: rules.note_of(note, required=False), "case.referred", case_id)
    country = {"LS": "LSO", "ZA": "ZAF"}.get(case.node, "LSO")
    case.referrals = [*case.referrals, code]
    _event(
        session, actor, case, CaseEventKind.REFERRED, now, said,
        {"agency": code, "to": rules.catalogue().referrals[code].extra[country]},
    )  # fmt: skip
    return case


def _officer(session: Session, username: str, action: str, case_id: object) -> str:
    name = (username or "").strip()
    found = session.scalar(
        select(User.username).where(
            User.username == name, User.role == Role.CASE_OFFICER, User.active.is_(True)
        )
    )
    if found is None:
        raise Invalid(
            "case.no_officer",
            "%(user)s is not an active case officer",
            audit=_note(f"{action}_refused", case_id),
            user=name,
        )
    return found


def assign(
    session: Session,
    actor: Actor,
    case_id: uuid.UUID,
    to: str,
    now: datetime | None = None,
) -> Case:
    """Give an unassigned case to a case officer (oneself: take it). A case someone holds
    changes hands by ``hand_over``."""
    now = now or clock.now()
    case = _work(session, actor, case_id, "case.assigned")
    officer = _officer(session, to, "case.assigned", case_id)
    if case.assigned_to is not None:
        raise Conflict(
            "case.already_assigned",
            "%(holder)s has this case: hand it over instead",
            audit=_note("case.assigned_refused", case_id),
            holder=case.assigned_to,
        )
    case.assigned_to = officer
    _event(session, actor, case, CaseEventKind.ASSIGNED, now, "", {"to": officer})
    return case


def hand_over(
    session: Session,
    actor: Actor,
    case_id: uuid.UUID,
    to: str,
    note: str,
    now: datetime | None = None,
) -> Case:
    """Pass a case from the officer holding it to another, with a hand-over note (what was
    done, what is left)."""
    now = now or clock.now()
    case = _work(session, actor, case_id, "case.handed_over")
    officer = _officer(session, to, "case.handed_over", case_id)
    said = _checked(
        lambda: rules.note_of(note, required=True, label="hand-over note"),
        "case.handed_over",
        case_id,
    )
    if case.assigned_to is None:
        raise Conflict(
            "case.unassigned",
            "nobody has this case yet: assign it",
            audit=_note("case.handed_over_refused", case_id),
        )
    if case.assigned_to == officer:
        raise Conflict(
            "case.same_officer",
            "%(user)s has this case already",
            audit=_note("case.handed_over_refused", case_id),
            user=officer,
        )
    before = case.assigned_to
    case.assigned_to = officer
    _event(
        session,
        actor,
        case,
        CaseEventKind.HANDED_OVER,
        now,
        said,
        {"from": before, "to": officer},
    )
    return case


def close(
    session: Session,
    actor: Actor,
    case_id: uuid.UUID,
    outcome: str,
    note: str,
    now: datetime | None = None,
) -> Case:
    """Close the case with its outcome and a closing note; a closed case takes no more
    events. A case nobody holds is assigned before it is closed."""
    now = now or clock.now()
    case = _work(session, actor, case_id, "case.closed")
    code = _checked(lambda: rules.outcome_of(outcome), "case.closed", case_id)
    said = _checked(
        lambda: rules.note_of(note, required=True, label="closing note"), "case.closed", case_id
    )
    if case.assigned_to is None:
        raise Conflict(
            "case.unassigned_close",
            "nobody has this case: assign it before closing it",
            audit=_note("case.closed_refused", case_id),
        )
    case.outcome = code
    case.closed_at = now
    _event(session, actor, case, CaseEventKind.CLOSED, now, said, {"outcome": code})
    return case


# --------------------------------------------------------------------------- export


def _export_rows(
    session: Session, actor: Actor, secret: bytes, since: date | None, until: date | None
) -> list[dict[str, Any]]:
    _may(actor, Permission.CASE_READ, "case.export_refused")
    if since and until and until < since:
        raise Invalid(
            "case.bad_period",
            "the period ends (%(until)s) before it starts (%(since)s)",
            audit=_note("case.export_refused"),
            since=since.isoformat(),
            until=until.isoformat(),
        )
    query = (
        select(Case, Person, BorderCheck.direction)
        .join(BorderCheck, BorderCheck.id == Case.check_id)
        .outerjoin(Person, Person.id == Case.person_id)
    )
    if since:
        query = query.where(Case.opened_at >= clock.day_start(since))
    if until:
        query = query.where(Case.opened_at <= clock.day_end(until))
    found = session.execute(query.order_by(Case.opened_at, Case.id).limit(MAX_EXPORT + 1)).all()
    if len(found) > MAX_EXPORT:
        raise Invalid(
            "case.export_large",
            "more than %(max)s cases: export a shorter period",
            audit=_note("case.export_refused"),
            max=MAX_EXPORT,
        )
    rows = []
    for case, person, direction in found:
        facts = rules.CaseFacts(
            case_id=str(case.id),
            node=case.node,
            kind=case.kind.value,
            status=case.status.value,
            opened_on=clock.border_day(case.opened_at),
            closed_on=clock.border_day(case.closed_at) if case.closed_at else None,
            port=case.port_code,
            direction=direction.value,
            person_key=case_person_key(secret, person.id.hex) if person else None,
            sex=person.sex.value if person else None,
            birth_date=person.birth_date if person else None,
            nationality=person.nationality if person else None,
            indicators=case.indicators,
            referrals=case.referrals,
            outcome=case.outcome,
            indicators_version=case.indicators_version,
        )
        rows.append(rules.summary_row(facts))
    ids = [r["case_id"] for r in rows]
    _audit(
        session, actor, "case.export", "",
        since=since.isoformat() if since else "", until=until.isoformat() if until else "",
        n=len(ids), cases=ids if len(ids) <= AUDIT_IDS else [],
    )  # fmt: skip
    return rows


def export_json(
    session: Session,
    actor: Actor,
    *,
    secret: bytes,
    since: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The case summaries opened in the period (border days, both included), pseudonymised,
    as the JSON document of docs/security.md ("Cases"); the export is audited."""
    rows = _export_rows(session, actor, secret, since, until)
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "node": actor.node,
        "generated_at": (now or clock.now()).isoformat(),
        "period": {
            "from": since.isoformat() if since else None,
            "to": until.isoformat() if until else None,
        },
        "indicators_version": rules.catalogue().version,
        "fields": list(rules.SUMMARY_FIELDS),
        "cases": rows,
    }


def export_csv(
    session: Session,
    actor: Actor,
    *,
    secret: bytes,
    since: date | None = None,
    until: date | None = None,
) -> str:
    """The same summaries as CSV: a header of ``SUMMARY_FIELDS``, a case a line."""
    rows = _export_rows(session, actor, secret, since, until)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(rules.SUMMARY_FIELDS)
    for row in rows:
        writer.writerow(rules.csv_cells(row))
    return out.getvalue()
