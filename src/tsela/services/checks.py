"""Border control: check a traveller, then record the crossing.

``run_check`` does in one transaction what an officer needs before letting someone through:
read the document, find or register the traveller, look at the document's status, permits,
days of stay, watchlists and crossing history, and recommend CLEAR / REFER / DENY with every
reason. ``record_crossing`` then records the crossing against that check, idempotently.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, bindparam, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tsela.domain import children
from tsela.domain import decisions as dec
from tsela.domain import icao_codes as icao
from tsela.domain import mrz as mrzlib
from tsela.domain import stay as staylib
from tsela.domain.screening.scoring import EARLIEST_BIRTH_YEAR
from tsela.domain.values import Decision, Direction, DocumentStatus, Role, Sex
from tsela.ids import new_id
from tsela.kernel import clock
from tsela.kernel.actor import Actor
from tsela.kernel.errors import AuditNote, Conflict, Forbidden, Invalid, NotFound
from tsela.reference import country_name, port_display_name
from tsela.reference import port as port_info
from tsela.services import audit, declarations, exchange_outbox
from tsela.services import children as child_service
from tsela.services import matching as exchange_matching
from tsela.services import refusals as refusal_service
from tsela.services import risk as risk_service
from tsela.services.identity import border as identity_border
from tsela.services.permits import presented as presented_permits
from tsela.store import partner_alerts
from tsela.store.checks import BorderCheck
from tsela.store.db import column_values, session_engine
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument, User

NODE_COUNTRY = {"LS": "LSO", "ZA": "ZAF"}
# How far the time a check gives (``at``, the moment of the crossing) may lie from the
# server's clock; beyond that it is a mistake (a port clock set wrong, a typo) or a back-dated
# record, and the check is refused with nothing recorded. A crossing dated ahead would also
# hide the traveller's next crossing from the history rules ("entered while still inside").
CLOCK_SKEW = timedelta(minutes=5)  # ahead: a port's clock may run a few minutes fast
ONLINE_CHECK_AGE = timedelta(minutes=15)  # behind, online: the traveller is at the desk now
OFFLINE_RETENTION = timedelta(days=30)  # behind, a crossing recorded offline and uploaded later
HISTORY_LIMIT = 1000  # crossings looked at for stay rules (covers any 180-day window)
RECENT = 5
MIN_OVERRIDE_REASON = 10
# Days of stay are border calendar days (tsela.kernel.clock).


@dataclass(frozen=True)
class TravellerDetails:
    """Typed in by hand when there is no MRZ and the document is not yet known."""

    surname: str
    given_names: str
    nationality: str
    birth_date: date | None
    sex: str = "X"
    expiry_date: date | None = None
    document_type: str = "P"


@dataclass(frozen=True)
class CheckRequest:
    port: str
    direction: Direction
    at: datetime
    mrz: str | None = None
    document_number: str | None = None
    issuing_state: str | None = None
    traveller: TravellerDetails | None = None
    child: child_service.ChildTravel | None = None  # a child: how they travel, what was seen

    def fingerprint(self) -> str:
        body = {
            "port": self.port.upper(),
            "direction": self.direction.value,
            "at": self.at.isoformat(),
            "mrz": " ".join((self.mrz or "").split()).upper(),
            "document_number": (self.document_number or "").upper(),
            "issuing_state": (self.issuing_state or "").upper(),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class ScreenInput:
    surname: str
    given_names: str
    birth_date: date | None
    nationality: str
    issuing_state: str
    document_number: str


class Screening(Protocol):
    """What a check asks of the watchlists, in the check's own session (and transaction).

    ``tsela.services.screening_link.BorderScreening`` is the one the server, the web console
    and the port client build (the port client's session is its local copy's)."""

    def person(
        self, session: Session, who: ScreenInput, day: date
    ) -> Sequence[dec.WatchlistFinding]:
        """The traveller's hits on the person lists (strong and weak) on the border day ``day``."""
        ...

    def document(self, session: Session, issuing_state: str, number: str) -> tuple[str, str] | None:
        """(status, where it was reported) of an alert on the document (lost, stolen...), if any."""
        ...


@dataclass
class CheckResult:
    check: BorderCheck
    person: TravellerRef
    document: DocumentRef
    reasons: list[dec.Reason]
    stay: dict[str, Any] | None
    permits: list[dict[str, Any]]
    hits: list[dec.WatchlistFinding]
    recent: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    partner_crossing: dict[str, Any] | None = None  # the other country's record of it
    child: dict[str, Any] | None = None  # a child traveller: age, case, documents, adults
    declaration: dict[str, Any] | None = None  # the pre-arrival declaration's answers
    # The traveller's other records (identity resolution): linked ones and candidates.
    also_known_as: list[dict[str, Any]] = field(default_factory=list)

    risk_hits: list[dict[str, Any]] = field(default_factory=list)  # the risk rules' hits

    def as_dict(self) -> dict[str, Any]:
        p, d = self.person, self.document
        return {
            "check_id": str(self.check.id),
            "decision": self.check.decision.value,
            "reasons": [r.as_dict() for r in self.reasons],
            "direction": self.check.direction.value,
            "country": self.check.country,
            "checked_at": self.check.checked_at.isoformat(),
            "traveller": {
                "person_id": str(p.id),
                "surname": p.primary_name,
                "given_names": p.given_names,
                "nationality": p.nationality,
                "nationality_name": country_name(p.nationality),
                "birth_date": p.birth_date.isoformat() if p.birth_date else None,
                "sex": p.sex.value,
            },
            "document": {
                "document_id": str(d.id),
                "type": d.document_type,
                "issuing_state": d.issuing_state,
                "number": d.number,
                "expiry_date": d.expiry_date.isoformat() if d.expiry_date else None,
                "status": d.status.value,
            },
            "stay": self.stay,
            "days_remaining": self.stay.get("days_remaining") if self.stay else None,
            "permits": self.permits,
            "watchlist_hits": [
                {
                    "list": h.list_name,
                    "category": h.category,
                    "score": round(h.score, 3),
                    "name": h.entry_name,
                    "why": h.why,
                }
                for h in self.hits
            ],
            "recent_crossings": self.recent,
            "warnings": self.warnings,
            "partner_crossing": self.partner_crossing,
            "child": self.child,
            "declaration": self.declaration,
            "also_known_as": self.also_known_as,
            "risk_hits": self.risk_hits,
        }


# --------------------------------------------------------------------------- helpers


_Ref = TypeVar("_Ref", "TravellerRef", "DocumentRef")


@dataclass(frozen=True)
class TravellerRef:
    """The traveller as a check reads and answers them (a plain row: loading ORM entities
    cost more than the query)."""

    id: uuid.UUID
    primary_name: str
    given_names: str
    nationality: str
    birth_date: date | None
    sex: Sex


@dataclass(frozen=True)
class DocumentRef:
    """The travel document as a check reads and answers it."""

    id: uuid.UUID
    document_type: str
    issuing_state: str
    number: str
    expiry_date: date | None
    status: DocumentStatus


def _read_model(cls: type[_Ref], record: Any) -> _Ref:
    """``cls`` (a read model above) from the same-named attributes of an ORM record."""
    return cls(*(getattr(record, f.name) for f in fields(cls)))


@dataclass(frozen=True)
class PortRef:
    """A port of entry as the check needs it (cached per database: ports are reference data)."""

    id: uuid.UUID
    code: str
    name_za: str
    name_ls: str


@dataclass
class _PortTable:
    by_code: dict[str, PortRef]
    by_id: dict[uuid.UUID, PortRef]


_PORTS: weakref.WeakKeyDictionary[Engine, _PortTable] = weakref.WeakKeyDictionary()


def _port_table(session: Session, *, reload: bool = False) -> _PortTable:
    engine = session_engine(session)
    table = None if reload else _PORTS.get(engine)
    if table is None:
        refs = [
            PortRef(i, c, za, ls)
            for i, c, za, ls in session.execute(
                select(PortOfEntry.id, PortOfEntry.code, PortOfEntry.name_za, PortOfEntry.name_ls)
            )
        ]
        table = _PortTable({r.code: r for r in refs}, {r.id: r for r in refs})
        _PORTS[engine] = table
    return table


def find_port(session: Session, code: str) -> PortRef:
    """The port with this code; UnknownPortError (which names the known ports) if none."""
    info = port_info(code)
    found = _port_table(session).by_code.get(info.code)
    if found is None:  # loaded since the table was cached?
        found = _port_table(session, reload=True).by_code.get(info.code)
    if found is None:
        raise Invalid(
            "check.port_not_loaded",
            "port %(port)s is not loaded in this database; run `tsela init`",
            port=info.code,
        )
    return found


def _port_by_id(session: Session, port_id: uuid.UUID) -> PortRef | None:
    found = _port_table(session).by_id.get(port_id)
    return found if found is not None else _port_table(session, reload=True).by_id.get(port_id)


def ensure_posted(
    session: Session, officer: Actor, port: PortRef | PortOfEntry, action: str
) -> None:
    """A border officer works only at the port they are posted to."""
    if officer.role is Role.BORDER_OFFICER and officer.port_id != port.id:
        posted = _port_by_id(session, officer.port_id) if officer.port_id else None
        where = posted.code if posted else "no port"
        raise Forbidden(
            "check.not_posted_here",
            "you are posted at %(posted)s; you may not %(action)s at %(port)s",
            audit=AuditNote(
                "access.refused", "port", port.code, {"posted": where, "wanted": action}
            ),
            posted=where,
            action=action,
            port=port.code,
        )


# The check's statements are built once: building and keying a statement on every check
# cost more than running it.
_D, _P = TravelDocument.__table__.c, Person.__table__.c
_DOCUMENT_COLUMNS = len(fields(DocumentRef))
_DOCUMENT = (
    select(*(_D[f.name] for f in fields(DocumentRef)), *(_P[f.name] for f in fields(TravellerRef)))
    .join_from(TravelDocument.__table__, Person.__table__, _P.id == _D.person_id)
    .where(_D.issuing_state == bindparam("state"), _D.number == bindparam("number"))
)
_C = Crossing.__table__.c  # Core columns: an ORM-enabled select costs more to run
_CROSSINGS = (
    select(_C.direction, _C.country, _C.crossed_at, _C.port_id)
    .where(_C.person_id.in_(bindparam("people", expanding=True)))
    .order_by(_C.crossed_at.desc())
    .limit(2 * HISTORY_LIMIT)
)
_NEW_CHECK = insert(BorderCheck.__table__)
_NEW_PERSON = insert(Person.__table__)
# A document already registered (by a concurrent check) is left alone: see _register.
_NEW_DOCUMENT = {
    name: dialect.insert(TravelDocument.__table__)
    .on_conflict_do_nothing(index_elements=["issuing_state", "number"])
    .returning(_D.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
MAX_DOCUMENT_NUMBER: int = TravelDocument.__table__.c.number.type.length  # type: ignore[attr-defined]  # a String column: its length is the limit


def _find_document(
    session: Session, issuing_state: str, number: str
) -> tuple[DocumentRef, TravellerRef] | None:
    row = session.execute(_DOCUMENT, {"state": issuing_state, "number": number}).first()
    if row is None:
        return None
    return DocumentRef(*row[:_DOCUMENT_COLUMNS]), TravellerRef(*row[_DOCUMENT_COLUMNS:])


def _register(
    session: Session,
    node: str,
    details: TravellerDetails,
    issuing_state: str,
    number: str,
    now: datetime,
) -> tuple[tuple[DocumentRef, TravellerRef], bool]:
    """Register a new traveller and their document; (document, traveller), and whether this
    call registered them.

    Two desks (two server processes) checking the same new traveller at once both find no
    document and both register: the document's unique key (issuing state, number) lets one
    in. The other's insert does nothing (ON CONFLICT DO NOTHING: PostgreSQL waits for the
    first to commit, SQLite serialises writers), it removes the traveller it inserted in its
    own still uncommitted transaction, and answers with the registration that won.
    """
    sex = details.sex if details.sex in ("M", "F", "X") else "X"
    person = Person(
        id=new_id(),
        node=node,
        created_at=now,
        primary_name=details.surname.strip().upper(),
        given_names=details.given_names.strip().upper(),
        sex=Sex(sex),
        birth_date=details.birth_date,
        nationality=icao.canonical(details.nationality.strip().upper()),
    )
    document = TravelDocument(
        id=new_id(),
        node=node,
        created_at=now,
        person_id=person.id,
        document_type=details.document_type[:2] or "P",
        issuing_state=issuing_state,
        number=number,
        expiry_date=details.expiry_date,
        status=DocumentStatus.VALID,
    )
    session.execute(_NEW_PERSON, column_values(person))
    dialect = session_engine(session).dialect.name
    if session.execute(_NEW_DOCUMENT[dialect], column_values(document)).first() is not None:
        return (_read_model(DocumentRef, document), _read_model(TravellerRef, person)), True
    session.execute(delete(Person).where(Person.id == person.id))
    found = _find_document(session, issuing_state, number)
    if found is None:  # registered and removed again in between: vanishingly rare
        raise Conflict(
            "check.document_changed",
            "document %(number)s of %(state)s changed meanwhile; check again",
            number=number,
            state=issuing_state,
        )
    return found, False


def _crossings(
    session: Session, people: Sequence[uuid.UUID], country: str
) -> tuple[list[dec.PastCrossing], list[dict[str, Any]]]:
    """The crossing history into and out of ``country`` (oldest first, for the stay rules
    and the irregularity indicators) and the most recent crossings anywhere, from one query,
    of the persons ``people``: the traveller's own person and the persons of this node that
    identity resolution linked to it (``identity_border.linked_people``), one traveller.

    The query reads the last ``2 * HISTORY_LIMIT`` records of both countries: a traveller
    between Lesotho and South Africa has about as many records of one as of the other.
    """
    rows = session.execute(_CROSSINGS, {"people": list(people)}).all()
    history: list[dec.PastCrossing] = []
    for d, c, t, port_id in rows:
        if c == country and len(history) < HISTORY_LIMIT:
            ref = _port_by_id(session, port_id)
            history.append(dec.PastCrossing(d.value, t, ref.code if ref else "?"))
    history.reverse()
    recent = []
    for d, c, t, port_id in rows[:RECENT]:
        ref = _port_by_id(session, port_id)
        recent.append(
            {
                "direction": d.value,
                "country": c,
                "crossed_at": t.isoformat(),
                "port": ref.code if ref else "?",
                "port_name": port_display_name(ref.name_za, ref.name_ls) if ref else "?",
            }
        )
    return history, recent


def _permits(
    session: Session, person_id: uuid.UUID, day: date
) -> tuple[list[Any], list[dec.Reason]]:
    from tsela.services import permits as permit_service

    return permit_service.permits_at_border(session, person_id, day)


def _other_screen(session: Session, screening: Screening | None) -> identity_border.Screen | None:
    """The watchlists asked about another record of the traveller, as about the traveller."""
    if screening is None:
        return None
    known = screening

    def screen(other: Any, day: date) -> Sequence[dec.WatchlistFinding]:
        who = ScreenInput(
            surname=other.surname,
            given_names=other.given_names,
            birth_date=date.fromisoformat(other.birth_date) if other.birth_date else None,
            nationality=other.nationality or "",
            issuing_state=other.document_country or "",
            document_number=other.document_number or "",
        )
        return known.person(session, who, day)

    return screen


# --------------------------------------------------------------------------- the check


def _plain_text(label: str, value: str | None) -> None:
    """Refuse text no database column can hold: a NUL character (PostgreSQL refuses it) or a
    lone UTF-16 surrogate (a JSON escape such as \\ud800, which UTF-8 cannot encode). The
    message does not repeat the value: it could not be written in the answer either."""
    if not value:
        return
    if "\x00" in value:
        raise Invalid(
            "check.nul_character",
            "%(field)s contains a NUL character (\\u0000), which is not text",
            field=label,
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid(
                "check.lone_surrogate",
                "%(field)s contains a lone surrogate (\\ud800-\\udfff), which is not text",
                field=label,
            ) from None


def _check_text(request: CheckRequest) -> None:
    _plain_text("port", request.port)
    _plain_text("mrz", request.mrz)
    _plain_text("document_number", request.document_number)
    _plain_text("issuing_state", request.issuing_state)
    if request.traveller is not None:
        for name in ("surname", "given_names", "nationality", "sex", "document_type"):
            _plain_text(f"traveller.{name}", getattr(request.traveller, name))


def _minutes(span: timedelta) -> str:
    if span >= timedelta(days=1):
        return f"{span.days} days"
    return f"{int(span.total_seconds() // 60)} minutes"


def _check_time(at: datetime, now: datetime, *, offline: bool, port: str) -> None:
    """The crossing time lies within the stated bounds of the server's clock (see
    CLOCK_SKEW, ONLINE_CHECK_AGE, OFFLINE_RETENTION)."""
    if at.tzinfo is None:
        raise Invalid(
            "check.time_without_zone",
            "the crossing time must include a time zone (e.g. 2026-11-25T08:30+02:00)",
        )
    server = now.isoformat(timespec="seconds")
    refused = AuditNote("check.rejected", "port", port, {"at": at.isoformat()})
    if at > now + CLOCK_SKEW:
        raise Invalid(
            "check.time_in_future",
            "the crossing time %(at)s is in the future: more than %(skew)s after the server's "
            "time %(server)s; check the port's clock",
            audit=refused,
            at=at.isoformat(),
            skew=_minutes(CLOCK_SKEW),
            server=server,
        )
    age = OFFLINE_RETENTION if offline else ONLINE_CHECK_AGE
    if at < now - age:
        why = (
            "crossings recorded offline are taken for %(age)s"
            if offline
            else "an online check is of a traveller at the desk now (a crossing recorded "
            "offline is uploaded to /v1/port/crossings)"
        )
        raise Invalid(
            "check.time_too_old_offline" if offline else "check.time_too_old_online",
            "the crossing time %(at)s is more than %(age)s before the server's time %(server)s: "
            + why,
            audit=refused,
            at=at.isoformat(),
            age=_minutes(age),
            server=server,
        )


def _check_details(details: TravellerDetails, day: date) -> None:
    """What the officer typed about a new traveller, before it is stored and screened."""
    if not icao.is_known(details.nationality.strip().upper()):
        raise Invalid(
            "check.unknown_nationality",
            "nationality %(nationality)r is not an ICAO or ISO 3166-1 code",
            nationality=details.nationality.strip(),
        )
    born = details.birth_date
    if born is not None and born > day:
        raise Invalid(
            "check.born_after_check",
            "birth date %(born)s is after the day of the check (%(day)s)",
            born=born.isoformat(),
            day=day.isoformat(),
        )
    if born is not None and born.year < EARLIEST_BIRTH_YEAR:
        raise Invalid(
            "check.born_too_early",
            "birth date %(born)s is before %(earliest)s: check the year",
            born=born.isoformat(),
            earliest=EARLIEST_BIRTH_YEAR,
        )


def run_check(
    session: Session,
    *,
    node: str,
    officer: Actor,
    request: CheckRequest,
    now: datetime | None = None,
    screening: Screening | None = None,
    offline: bool = False,
    source: str = "",
    declaration: declarations.Presented | None = None,
    permit: presented_permits.Presented | None = None,
    lane: Sequence[dec.Reason] = (),
) -> CheckResult:
    """Check the traveller of ``request`` (nothing is committed: the caller does). The stay
    is the domain's (``stay.assess_crossing``); ``screening`` (the app's, see
    ``screening_link.BorderScreening``) asks the watchlists in this session; without it no
    list is consulted. ``permit``: the permit token the officer scanned, if any
    (``services.permits.presented``). ``lane``: what the fast lane adds (the member's card,
    a referral at random: ``services.fast_lane``), weighed with the check's own reasons."""
    now = now or clock.now()
    country = NODE_COUNTRY[node]
    _check_text(request)
    port = find_port(session, request.port)
    ensure_posted(session, officer, port, "check travellers")
    _check_time(request.at, now, offline=offline, port=port.code)
    day = clock.border_day(request.at)
    reasons: list[dec.Reason] = []
    warnings: list[str] = []
    mrz_errors: list[str] = []

    if request.mrz:
        try:
            parsed = mrzlib.parse(request.mrz, today=day)
        except mrzlib.MrzUnusable as exc:
            raise Invalid("check.unreadable_mrz", "unreadable MRZ: %(why)s", why=str(exc)) from None
        mrz_errors = list(parsed.errors)
        warnings.extend(parsed.hints)
        warnings.extend(parsed.warnings)
        # Stored under ISO's code where ICAO's differs (Germany's D<< is DEU), so a typed
        # DEU and a scanned D<< find the same document.
        issuing_state = icao.canonical(parsed.issuing_state)
        number = parsed.document_number
        if not number or not issuing_state:
            raise Invalid(
                "check.mrz_without_document",
                "the MRZ gives no usable document number or issuing state: %(errors)s",
                errors="; ".join(parsed.errors),
            )
        details = TravellerDetails(
            surname=parsed.surname,
            given_names=parsed.given_names,
            nationality=icao.canonical(parsed.nationality) or issuing_state,
            birth_date=parsed.birth_date,
            sex=parsed.sex,
            expiry_date=parsed.expiry_date,
            document_type=parsed.document_type,
        )
    else:
        if not request.document_number or not request.issuing_state:
            raise Invalid(
                "check.no_document",
                "give the MRZ, or the document number and issuing state typed by hand",
            )
        issuing_state = icao.canonical(request.issuing_state.strip().upper())
        number = request.document_number.strip().upper().replace(" ", "")
        if not icao.is_known(issuing_state):
            raise Invalid(
                "check.unknown_issuing_state",
                "issuing state %(state)r is not an ICAO or ISO 3166-1 code",
                state=issuing_state,
            )
        details = request.traveller  # type: ignore[assignment]  # None: a known document
    if len(number) > MAX_DOCUMENT_NUMBER:
        raise Invalid(
            "check.document_number_long",
            "document number %(number)s has %(length)s characters; at most %(max)s are kept",
            number=number,
            length=len(number),
            max=MAX_DOCUMENT_NUMBER,
        )

    found = _find_document(session, issuing_state, number)
    if found is None:
        if details is None:
            raise Invalid(
                "check.unknown_document",
                "document %(number)s of %(state)s is not known here: give the traveller's "
                "surname, given names, nationality, birth date and sex to register them",
                number=number,
                state=issuing_state,
            )
        if not request.mrz:
            _check_details(details, day)
        found, registered = _register(session, node, details, issuing_state, number, now)
        if registered:
            audit.record(
                session,
                actor=officer.username,
                action="person.register",
                node=node,
                entity="person",
                entity_id=found[1].id,
                source=source,
                detail={"via": "check", "port": port.code},
            )
    document, person = found
    if request.mrz and details is not None and person.primary_name != details.surname.upper():
        warnings.append(
            f"The name on the document ({details.surname}) differs from our record "
            f"({person.primary_name})."
        )

    alert = screening.document(session, issuing_state, number) if screening else None
    status = document.status.value
    alert_source = None
    if alert is not None and status == "valid":
        status, alert_source = alert
    expiry = document.expiry_date or (details.expiry_date if details else None)
    reasons += dec.document_reasons(
        mrz_errors=mrz_errors,
        expiry=expiry,
        status=status,
        today=day,
        direction=request.direction.value,
        alert_source=alert_source,
        partner_alerts=partner_alerts.for_document(session, issuing_state, number),
        citizen_of=country if person.nationality == country else None,
    )
    reasons += refusal_service.ban_reasons(  # entry bans, this node's and the partner's
        session,
        person_id=person.id,
        surname=person.primary_name,
        birth_date=person.birth_date,
        nationality=person.nationality,
        issuing_state=issuing_state,
        number=number,
        country=country,
        direction=request.direction.value,
        day=day,
    )

    valid_permits, permit_findings = _permits(session, person.id, day)
    reasons += permit_findings
    shown = presented_permits.at_check(  # a permit shown at the desk (the partner's too)
        session, permit, node=node, person=person, number=number, day=day, held=valid_permits
    )
    reasons, valid_permits = reasons + shown.reasons, [*valid_permits, *shown.permits]

    # The whole identity: the crossings of this node's persons linked to the traveller's
    # (an old passport's, a new one's) count for the stay and the history (none: no model).
    people = [person.id, *identity_border.linked_people(session, person.id)]
    history, recent = _crossings(session, people, country)
    other_side = exchange_matching.at_check(
        session,
        person=person,
        issuing_state=issuing_state,
        number=number,
        at=request.at,
        direction=request.direction.value,
        history=history,
    )
    history = other_side.history
    reasons += other_side.reasons
    stay, stay_reasons = staylib.assess_crossing(
        nationality=person.nationality,
        country=country,
        direction=request.direction,
        day=day,
        history=history,
        permits=valid_permits,
    )
    reasons += stay_reasons

    hits: list[dec.WatchlistFinding] = []
    if screening is not None:
        hits = list(
            screening.person(
                session,
                ScreenInput(
                    surname=person.primary_name,
                    given_names=person.given_names,
                    birth_date=person.birth_date,
                    nationality=person.nationality,
                    issuing_state=issuing_state,
                    document_number=number,
                ),
                day,
            )
        )
    reasons += dec.watchlist_reasons(hits)
    reasons += dec.history_reasons(request.direction.value, country, history)
    known_as = identity_border.at_check(  # the traveller's other records, if a model is trained
        session,
        record=identity_border.traveller_record(
            node=node, person_id=person.id, surname=person.primary_name,
            given_names=person.given_names, birth_date=person.birth_date, sex=person.sex.value,
            nationality=person.nationality, number=number, issuing_state=issuing_state,
        ),
        country=country,
        direction=request.direction.value,
        day=day,
        screen=_other_screen(session, screening),
        history=lambda pid: _crossings(session, [pid], country)[0],
    )  # fmt: skip
    reasons += known_as.reasons
    child = child_service.prepare(  # a child: the adults named, checked at this desk
        session,
        request.child,
        port_id=port.id,
        direction=request.direction,
        at=request.at,
        day=day,
        child_person_id=person.id,
    )
    reasons += children.reasons(person.birth_date, day, child.travel)
    declared = declarations.at_check(  # the pre-arrival declaration shown, if any
        session, declaration, node=node, officer=officer.username, port=port.code,
        issuing_state=issuing_state, number=number, birth_date=person.birth_date, now=now,
        source=source,
    )  # fmt: skip
    reasons += declared.reasons
    reasons += lane

    risk = risk_service.at_check(  # risk rules as data: their facts, their hits
        session,
        node=node,
        country=country,
        port_id=port.id,
        port_code=port.code,
        direction=request.direction.value,
        at=request.at,
        who=risk_service.Subject(
            person.id,
            document.id,
            person.primary_name,
            person.birth_date,
            person.nationality,
            issuing_state,
            number,
        ),
        history=history,
        partner_crossings=other_side.found,
        child_case=child.travel.case if child.travel else None,
    )
    reasons += risk.reasons

    reasons = dec.ordered(reasons)
    decision = dec.decide(reasons)
    check = BorderCheck(
        id=new_id(),
        node=node,
        created_at=now,
        port_id=port.id,
        officer_id=officer.user_id,
        person_id=person.id,
        document_id=document.id,
        direction=request.direction,
        country=country,
        checked_at=request.at,
        decision=decision,
        reasons=[r.as_dict() for r in reasons],
        mrz_valid=not mrz_errors,
        offline=offline,
        stay=stay.as_dict() if stay else None,
        **child_service.columns(child),
    )
    # A plain INSERT: the check is written once and never read back in this transaction,
    # and the ORM's unit of work costs several times the statement itself.
    session.execute(_NEW_CHECK, column_values(check))
    child_service.link(session, node=node, check_id=check.id, child=child, now=now)
    hit_ids = risk_service.record_hits(
        session, node=node, check_id=check.id, port_code=port.code, checked_at=request.at,
        hits=risk.hits, now=now,
    )  # fmt: skip
    # The audit entry, unsealed (the sequencer chains it): no lock, nothing to wait for.
    audit.record(
        session,
        actor=officer.username,
        action="check",
        node=node,
        entity="person",
        entity_id=person.id,
        source=source,
        detail={
            "check": str(check.id),
            "port": port.code,
            "decision": decision.value,
            "offline": offline,
        },
    )
    return CheckResult(
        check=check,
        person=person,
        document=document,
        reasons=reasons,
        stay=stay.as_dict() if stay else None,
        permits=[p.as_dict() for p in valid_permits],
        hits=hits,
        recent=recent,
        warnings=warnings,
        partner_crossing=other_side.shown,
        child=child_service.summary(person.birth_date, day, child),
        declaration=declared.shown,
        also_known_as=known_as.shown,
        risk_hits=risk_service.fresh_hits(check.id, hit_ids, risk.hits),
    )


# --------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class Recorded:
    crossing: Crossing
    check: BorderCheck
    created: bool  # False when an identical retry returned the earlier crossing


def request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def replayed_crossing(session: Session, idempotency_key: str, payload_hash: str) -> Crossing | None:
    """The crossing already recorded under this key, if any; a different request under the
    same key is refused (and the refusal audited by the caller)."""
    existing = session.scalar(select(Crossing).where(Crossing.idempotency_key == idempotency_key))
    if existing is not None and existing.request_hash != payload_hash:
        raise Invalid(
            "crossing.key_reused",
            "Idempotency-Key %(key)r was already used for a different request; "
            "use a new key for a new crossing",
            audit=AuditNote(
                "crossing.replay_refused",
                "crossing",
                str(existing.id),
                {"idempotency_key": idempotency_key},
            ),
            key=idempotency_key,
        )
    return existing


def record_crossing(
    session: Session,
    *,
    node: str,
    officer: Actor,
    check_id: uuid.UUID,
    idempotency_key: str,
    payload_hash: str,
    override_reason: str | None = None,
    now: datetime | None = None,
    source: str = "",
) -> Recorded:
    now = now or clock.now()
    if not idempotency_key or len(idempotency_key) > 80:
        raise Invalid(
            "crossing.key_required", "an Idempotency-Key header of 1 to 80 characters is required"
        )
    _plain_text("override_reason", override_reason)
    existing = replayed_crossing(session, idempotency_key, payload_hash)
    if existing is not None:
        check = session.get(BorderCheck, existing.check_id) if existing.check_id else None
        assert check is not None
        return Recorded(existing, check, created=False)
    check = session.get(BorderCheck, check_id)
    if check is None:
        raise NotFound("check.not_found", "no check %(check)s", check=str(check_id))
    port = _port_by_id(session, check.port_id)
    assert port is not None
    ensure_posted(session, officer, port, "record crossings")
    # One check, one crossing. This read is a fast answer only: two requests at once both
    # find nothing here, and the unique index on crossing.check_id lets one of them in (the
    # route asks the other again, which then answers here).
    if check.crossing_id is not None:
        raise Conflict(
            "crossing.already_recorded",
            "check %(check)s is already recorded as crossing %(crossing)s; "
            "a new crossing needs a new check",
            check=str(check_id),
            crossing=str(check.crossing_id),
        )
    if check.person_id is None:
        raise Invalid("crossing.no_traveller", "this check found no traveller; nothing to record")
    reason = (override_reason or "").strip()
    if check.decision is not Decision.CLEAR:
        if len(reason) < MIN_OVERRIDE_REASON:
            raise Invalid(
                "crossing.override_reason_short",
                "the check says %(decision)s: to record the crossing anyway, write why "
                "(an override reason of at least %(min)s characters)",
                decision=check.decision.value,
                min=MIN_OVERRIDE_REASON,
            )
        check.override_reason = reason
        check.overridden_by = officer.user_id
        check.overridden_at = now
    crossing = Crossing(
        node=node,
        person_id=check.person_id,
        document_id=check.document_id,
        port_id=check.port_id,
        direction=check.direction,
        country=check.country,
        crossed_at=check.checked_at,
        officer_id=officer.user_id,
        idempotency_key=idempotency_key,
        decision=check.decision,
        check_id=check.id,
        request_hash=payload_hash,
    )
    session.add(crossing)
    session.flush()
    check.crossing_id = crossing.id
    exchange_outbox.crossing(session, crossing)  # offered to the partner node (issue 16)
    audit.record(
        session,
        actor=officer.username,
        action="crossing.override" if check.override_reason else "crossing.record",
        node=node,
        entity="crossing",
        entity_id=crossing.id,
        source=source,
        detail={
            "check": str(check.id),
            "decision": check.decision.value,
            "override_reason": check.override_reason,
        },
    )
    return Recorded(crossing, check, created=True)


# --------------------------------------------------------------------------- supervisors


def overrides(
    session: Session, *, port_code: str | None, day: date | None, pending_only: bool = True
) -> list[dict[str, Any]]:
    """Overridden REFER/DENY decisions and watchlist hits to review, per port and day."""
    q = (
        select(BorderCheck, PortOfEntry.code, Person, User.username)
        .join(PortOfEntry, PortOfEntry.id == BorderCheck.port_id)
        .join(Person, Person.id == BorderCheck.person_id)
        .outerjoin(User, User.id == BorderCheck.overridden_by)
        .where(BorderCheck.decision != Decision.CLEAR)
        .order_by(BorderCheck.checked_at.desc())
        .limit(500)
    )
    if port_code:
        q = q.where(PortOfEntry.code == port_info(port_code).code)
    if day:
        q = q.where(
            BorderCheck.checked_at >= clock.day_start(day),
            BorderCheck.checked_at < clock.day_end(day),
        )
    if pending_only:
        q = q.where(BorderCheck.reviewed_at.is_(None))
    out = []
    for check, code, person, by in session.execute(q).all():
        out.append(
            {
                "check_id": str(check.id),
                "port": code,
                "checked_at": check.checked_at.isoformat(),
                "direction": check.direction.value,
                "decision": check.decision.value,
                "traveller": f"{person.given_names} {person.primary_name}".strip(),
                "reasons": list(check.reasons),  # as stored: code, severity, words, facts
                "overridden": check.override_reason is not None,
                "override_reason": check.override_reason,
                "overridden_by": by,
                "watchlist": any(r["code"].startswith("watchlist.") for r in check.reasons),
                "reviewed": check.reviewed_at is not None,
            }
        )
    return out


def review(
    session: Session,
    *,
    node: str,
    supervisor: Actor,
    check_id: uuid.UUID,
    note: str,
    now: datetime | None = None,
) -> BorderCheck:
    check = session.get(BorderCheck, check_id)
    if check is None:
        raise NotFound("check.not_found", "no check %(check)s", check=str(check_id))
    _plain_text("note", note)
    if not note.strip():
        raise Invalid("review.note_required", "a review needs a note")
    if check.reviewed_at is not None:
        raise Conflict(
            "review.already_reviewed", "check %(check)s was already reviewed", check=str(check_id)
        )
    check.reviewed_by = supervisor.user_id
    check.reviewed_at = now or clock.now()
    check.review_note = note.strip()
    audit.record(
        session,
        actor=supervisor.username,
        action="check.review",
        node=node,
        entity="check",
        entity_id=check.id,
        detail={"note": note.strip()},
    )
    return check
