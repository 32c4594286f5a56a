"""Refusals of entry and entry bans: record them, read them, lift or shorten a ban, weigh the
bans at the border check, and exchange both with the partner node.

Every change is audited and offered to the partner (the agreement lists the fields) in the
transaction that makes it. Bad input raises a kernel error (``Invalid``, ``NotFound``,
``Forbidden``, ``Conflict``) before anything is written, carrying the audit note the caller
writes after rolling back (the API's one translation and the web's ``attempt`` do).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from tsela.domain import icao_codes as icao
from tsela.domain import refusals as rules
from tsela.domain.reasons import Reason
from tsela.domain.values import Direction, Role
from tsela.exchange import kinds
from tsela.ids import new_id
from tsela.kernel import clock
from tsela.kernel.access import Permission, allows
from tsela.kernel.errors import AuditNote, Conflict, Forbidden, Invalid, NotFound
from tsela.reference import country_name
from tsela.services import audit, exchange_outbox
from tsela.store.checks import BorderCheck
from tsela.store.models import Person, PortOfEntry, TravelDocument, User
from tsela.store.refusals import EntryBan, EntryBanChange, Refusal, as_dict

MAX_PAGE = 200
BAN_ACTIONS = ("lift", "shorten")


def _note(action: str, entity_id: object = "") -> AuditNote:
    """The audit entry a refused request leaves: ``refusal.*`` actions on a refusal, the
    others on an entry ban."""
    entity = "refusal" if action.startswith("refusal") else "entry_ban"
    return AuditNote(action, entity, str(entity_id or ""))


def _input(exc: rules.RefusalInputError, action: str) -> Invalid:
    return Invalid("refusal.invalid", "%(why)s", audit=_note(action), why=exc.message)


def _text(label: str, value: str | None, action: str, limit: int = 2000) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        raise Invalid(
            "refusal.not_text",
            "%(label)s contains a NUL character, which is not text",
            audit=_note(action),
            label=label,
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(
            "refusal.not_text",
            "%(label)s contains a lone surrogate, which is not text",
            audit=_note(action),
            label=label,
        ) from None
    if len(text) > limit:
        raise Invalid(
            "refusal.too_long",
            "%(label)s is longer than %(limit)s characters",
            audit=_note(action),
            label=label,
            limit=limit,
        )
    return text


@dataclass(frozen=True)
class Traveller:
    """The traveller as a refusal or a ban names them (typed in, or from a check)."""

    surname: str
    given_names: str
    nationality: str
    birth_date: date | None = None
    document_country: str | None = None
    document_number: str | None = None
    person_id: uuid.UUID | None = None


def _clean_traveller(t: Traveller, action: str) -> Traveller:
    surname = _text("surname", t.surname, action, 120).upper()
    if not surname:
        raise Invalid(
            "refusal.no_surname", "the traveller's surname is required", audit=_note(action)
        )
    nationality = icao.canonical(t.nationality.strip().upper())
    if not icao.is_known(nationality):
        raise Invalid(
            "refusal.unknown_nationality",
            "nationality %(nationality)r is not an ICAO or ISO 3166-1 code",
            audit=_note(action),
            nationality=t.nationality,
        )
    state = icao.canonical(t.document_country.strip().upper()) if t.document_country else None
    if state and not icao.is_known(state):
        raise Invalid(
            "refusal.unknown_document_country",
            "document country %(country)r is not an ICAO or ISO code",
            audit=_note(action),
            country=t.document_country,
        )
    number = (t.document_number or "").strip().upper().replace(" ", "") or None
    if number and len(number) > 20:
        raise Invalid(
            "refusal.document_number_long",
            "the document number has more than 20 characters",
            audit=_note(action),
        )
    return Traveller(
        surname=surname,
        given_names=_text("given names", t.given_names, action, 160).upper(),
        nationality=nationality,
        birth_date=t.birth_date,
        document_country=state,
        document_number=number,
        person_id=t.person_id,
    )


def _from_check(session: Session, check: BorderCheck) -> Traveller:
    person = session.get(Person, check.person_id) if check.person_id else None
    if person is None:
        raise Invalid(
            "refusal.check_without_traveller",
            "this check found no traveller; refuse by typing their details",
            audit=_note("refusal.rejected", check.id),
        )
    doc = session.get(TravelDocument, check.document_id) if check.document_id else None
    return Traveller(
        surname=person.primary_name,
        given_names=person.given_names,
        nationality=person.nationality,
        birth_date=person.birth_date,
        document_country=doc.issuing_state if doc else None,
        document_number=doc.number if doc else None,
        person_id=person.id,
    )


# --------------------------------------------------------------------------- refusals


def refuse(
    session: Session,
    *,
    node: str,
    officer: User,
    grounds: Sequence[str],
    remarks: str = "",
    check_id: uuid.UUID | None = None,
    port: str | None = None,
    traveller: Traveller | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
    source: str = "",
) -> Refusal:
    """Record a refusal of entry, made from a check (``check_id``) or typed in (``port``,
    ``traveller``, ``at``); audited and offered to the partner."""
    now = now or clock.now()
    country = rules.NODE_COUNTRY[node]
    action = "refusal.rejected"
    try:
        chosen = rules.grounds_of(grounds)
    except rules.RefusalInputError as exc:
        raise _input(exc, action) from None
    remarks = _text("remarks", remarks, action)
    if check_id is not None:
        check = session.get(BorderCheck, check_id)
        if check is None:
            raise NotFound(
                "refusal.no_check", "no check %(check)s", audit=_note(action), check=check_id
            )
        if check.direction is not Direction.ENTRY:
            raise Invalid(
                "refusal.exit_check",
                "this check is of an exit: a refusal of entry is made from an entry check",
                audit=_note(action, check_id),
            )
        if check.crossing_id is not None:
            raise Conflict(
                "refusal.check_admitted",
                "check %(check)s is recorded as crossing %(crossing)s: the traveller was admitted",
                audit=_note(action, check_id),
                check=check_id,
                crossing=check.crossing_id,
            )
        taken = session.scalar(select(Refusal.id).where(Refusal.check_id == check_id))
        if taken is not None:
            raise Conflict(
                "refusal.check_refused",
                "check %(check)s is already refused (%(refusal)s)",
                audit=_note(action, check_id),
                check=check_id,
                refusal=taken,
            )
        port_row = session.get(PortOfEntry, check.port_id)
        who = _from_check(session, check)
        when = check.checked_at
    else:
        if traveller is None or not port:
            raise Invalid(
                "refusal.no_traveller",
                "give the check the refusal is made from, or the port and the traveller",
                audit=_note(action),
            )
        port_row = session.scalar(
            select(PortOfEntry).where(PortOfEntry.code == port.strip().upper())
        )
        if port_row is None:
            raise Invalid(
                "refusal.unknown_port",
                "port %(port)s is not known here",
                audit=_note(action),
                port=port.strip().upper(),
            )
        who = _clean_traveller(traveller, action)
        when = at or now
    assert port_row is not None
    if officer.role is Role.BORDER_OFFICER and officer.port_id != port_row.id:
        raise Forbidden(
            "refusal.not_posted_here",
            "you are not posted at %(port)s; you may not refuse entry there",
            audit=_note(action),
            port=port_row.code,
        )
    try:
        rules.refuse_citizen_check(who.nationality, country, "refused entry into")
    except rules.RefusalInputError as exc:
        raise _input(exc, action) from None
    refusal = Refusal(
        id=new_id(),
        node=node,
        created_at=now,
        country=country,
        port_code=port_row.code,
        refused_at=when,
        officer_id=officer.id,
        officer_name=officer.full_name or officer.username,
        check_id=check_id,
        person_id=who.person_id,
        surname=who.surname,
        given_names=who.given_names,
        birth_date=who.birth_date,
        nationality=who.nationality,
        document_country=who.document_country,
        document_number=who.document_number,
        grounds=[g.code for g in chosen],
        grounds_version=rules.catalogue().version,
        remarks=remarks,
    )
    session.add(refusal)
    session.flush()
    audit.record(
        session,
        actor=officer.username,
        action="refusal.create",
        node=node,
        entity="refusal",
        entity_id=refusal.id,
        source=source,
        detail={"port": port_row.code, "grounds": refusal.grounds, "check": str(check_id or "")},
    )
    exchange_outbox.append(session, node, kinds.REFUSAL, refusal.id, as_dict(refusal))
    return refusal


def get_refusal(session: Session, refusal_id: uuid.UUID) -> Refusal:
    found = session.get(Refusal, refusal_id)
    if found is None:
        raise NotFound(
            "refusal.no_refusal",
            "no refusal %(refusal)s",
            audit=_note("refusal.read_refused", refusal_id),
            refusal=refusal_id,
        )
    return found


def refusal_out(refusal: Refusal) -> dict[str, Any]:
    out = as_dict(refusal)
    known = rules.catalogue().grounds
    out["grounds"] = [
        {"code": c, "words": known[c].words["en"], "basis": known[c].basis[refusal.country]}
        if c in known
        else {"code": c, "words": "", "basis": ""}
        for c in refusal.grounds
    ]
    return out


def list_refusals(
    session: Session, *, offset: int = 0, limit: int = 50, node: str | None = None
) -> tuple[list[Refusal], int]:
    """Newest first; the page and how many there are in all."""
    where = [Refusal.node == node] if node else []
    total = session.scalar(select(func.count()).select_from(Refusal).where(*where)) or 0
    rows = session.scalars(
        select(Refusal)
        .where(*where)
        .order_by(Refusal.refused_at.desc(), Refusal.id.desc())
        .offset(max(offset, 0))
        .limit(min(max(limit, 1), MAX_PAGE))
    )
    return list(rows), total


def notice(session: Session, refusal: Refusal, lang: str) -> dict[str, Any]:
    """What the refusal notice says, in ``lang`` (``Invalid`` for another language)."""
    try:
        words = dict(rules.notice_words(lang))
    except rules.RefusalInputError as exc:
        raise _input(exc, "refusal.notice_refused") from None
    from tsela.domain.reasons import _term

    land = _term("country", refusal.country, lang)
    port = session.scalar(select(PortOfEntry).where(PortOfEntry.code == refusal.port_code))
    port_name = (port.name_ls if refusal.country == "LSO" else port.name_za) if port else ""
    day = clock.border_day(refusal.refused_at).isoformat()
    known = rules.catalogue().grounds
    bans = session.scalars(
        select(EntryBan).where(EntryBan.refusal_id == refusal.id, EntryBan.lifted_on.is_(None))
    ).all()
    return {
        "lang": lang,
        "w": words,
        "intro": words["intro"].format(
            country=land, port=f"{port_name} ({refusal.port_code})".strip(), day=day
        ),
        "appeal": words.get(f"appeal_{refusal.country}", ""),
        "refusal": refusal,
        "day": day,
        "grounds": [
            {"code": c, "words": known[c].words[lang], "basis": known[c].basis[refusal.country]}
            for c in refusal.grounds
            if c in known
        ],
        "bans": [
            words["ban"].format(country=land, until=b.ends_on.isoformat(), ban=str(b.id))
            for b in bans
        ],
        "country_name": country_name(refusal.nationality) or refusal.nationality,
    }


def notice_html(session: Session, refusal: Refusal, lang: str) -> str:
    from tsela import reporting

    return reporting.render("refusal_notice.html", **notice(session, refusal, lang))


def notice_pdf(session: Session, refusal: Refusal, lang: str) -> bytes:
    from tsela import reporting

    return reporting.html_to_pdf(notice_html(session, refusal, lang))


# --------------------------------------------------------------------------- bans


def _ban_payload(ban: EntryBan) -> dict[str, Any]:
    return as_dict(ban)


def create_ban(
    session: Session,
    *,
    node: str,
    user: User,
    starts_on: date,
    ends_on: date,
    refusal_id: uuid.UUID | None = None,
    traveller: Traveller | None = None,
    ground: str | None = None,
    legal_basis: str | None = None,
    now: datetime | None = None,
    source: str = "",
) -> EntryBan:
    """An entry ban into this node's country, from a refusal or for a traveller named by an
    authorised user; the legal basis is the ground's provision unless written out."""
    now = now or clock.now()
    country = rules.NODE_COUNTRY[node]
    action = "entry_ban.rejected"
    try:
        rules.check_ban_period(starts_on, ends_on)
        chosen = rules.grounds_of([ground]) if ground else []
    except rules.RefusalInputError as exc:
        raise _input(exc, action) from None
    basis = _text("legal basis", legal_basis, action)
    if refusal_id is not None:
        refusal = session.get(Refusal, refusal_id)
        if refusal is None:
            raise NotFound(
                "refusal.no_refusal",
                "no refusal %(refusal)s",
                audit=_note(action),
                refusal=refusal_id,
            )
        if refusal.node != node:
            raise Conflict(
                "entry_ban.partner_refusal",
                "refusal %(refusal)s was made by the %(node)s node: it bans there",
                audit=_note(action),
                refusal=refusal_id,
                node=refusal.node,
            )
        if chosen and chosen[0].code not in refusal.grounds:
            raise Invalid(
                "entry_ban.ground_not_of_refusal",
                "ground %(ground)s is not a ground of refusal %(refusal)s (%(grounds)s)",
                audit=_note(action),
                ground=chosen[0].code,
                refusal=refusal_id,
                grounds=", ".join(refusal.grounds),
            )
        if not chosen and not basis:
            chosen = [rules.catalogue().grounds[c] for c in refusal.grounds][:1]
        who = Traveller(
            refusal.surname,
            refusal.given_names,
            refusal.nationality,
            refusal.birth_date,
            refusal.document_country,
            refusal.document_number,
            refusal.person_id,
        )
    elif traveller is not None:
        who = _clean_traveller(traveller, action)
        if who.person_id is None and who.document_country and who.document_number:
            who = Traveller(
                **{
                    **who.__dict__,
                    "person_id": session.scalar(
                        select(TravelDocument.person_id).where(
                            TravelDocument.issuing_state == who.document_country,
                            TravelDocument.number == who.document_number,
                        )
                    ),
                }
            )
    else:
        raise Invalid(
            "entry_ban.no_traveller",
            "give the refusal the ban follows, or the traveller",
            audit=_note(action),
        )
    if chosen and not chosen[0].bannable:
        raise Invalid(
            "entry_ban.ground_not_bannable",
            "ground %(ground)s (%(words)s) does not lead to a ban",
            audit=_note(action),
            ground=chosen[0].code,
            words=chosen[0].words["en"],
        )
    if not basis:
        if not chosen:
            raise Invalid(
                "entry_ban.no_basis",
                "give the ban's legal basis or a ground code",
                audit=_note(action),
            )
        basis = chosen[0].basis[country]
    try:
        rules.refuse_citizen_check(who.nationality, country, "banned from")
    except rules.RefusalInputError as exc:
        raise _input(exc, action) from None
    ban = EntryBan(
        id=new_id(),
        node=node,
        created_at=now,
        issuing_country=country,
        legal_basis=basis,
        ground=chosen[0].code if chosen else None,
        starts_on=starts_on,
        ends_on=ends_on,
        refusal_id=refusal_id,
        issued_by=user.username,
        person_id=who.person_id,
        surname=who.surname,
        given_names=who.given_names,
        birth_date=who.birth_date,
        nationality=who.nationality,
        document_country=who.document_country,
        document_number=who.document_number,
        updated_at=now,
    )
    session.add(ban)
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="entry_ban.create",
        node=node,
        entity="entry_ban",
        entity_id=ban.id,
        source=source,
        detail={
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "refusal": str(refusal_id or ""),
            "ground": ban.ground,
        },
    )
    exchange_outbox.append(session, node, kinds.ENTRY_BAN, ban.id, _ban_payload(ban))
    return ban


def get_ban(session: Session, ban_id: uuid.UUID) -> EntryBan:
    found = session.get(EntryBan, ban_id)
    if found is None:
        raise NotFound(
            "entry_ban.no_ban",
            "no entry ban %(ban)s",
            audit=_note("entry_ban.read_refused", ban_id),
            ban=ban_id,
        )
    return found


def ban_out(session: Session, ban: EntryBan) -> dict[str, Any]:
    out = as_dict(ban)
    changes = session.scalars(
        select(EntryBanChange)
        .where(EntryBanChange.ban_id == ban.id)
        .order_by(EntryBanChange.created_at)
    )
    out["changes"] = [as_dict(c) for c in changes]
    return out


def list_bans(
    session: Session, *, offset: int = 0, limit: int = 50, query: str = ""
) -> tuple[list[EntryBan], int]:
    """Bans newest first; ``query`` finds a surname (its beginning, any case) or a document
    number (exact, separators ignored)."""
    where = []
    q = query.strip()
    if q:
        number = "".join(c for c in q.upper() if c.isalnum())
        where.append(
            or_(
                func.lower(EntryBan.surname).startswith(q.lower(), autoescape=True),
                EntryBan.document_number == number,
            )
        )
    total = session.scalar(select(func.count()).select_from(EntryBan).where(*where)) or 0
    rows = session.scalars(
        select(EntryBan)
        .where(*where)
        .order_by(EntryBan.created_at.desc(), EntryBan.id.desc())
        .offset(max(offset, 0))
        .limit(min(max(limit, 1), MAX_PAGE))
    )
    return list(rows), total


def change_ban(
    session: Session,
    *,
    node: str,
    supervisor: User,
    ban_id: uuid.UUID,
    action: str,
    reason: str,
    new_end: date | None = None,
    appeal_reference: str | None = None,
    now: datetime | None = None,
    source: str = "",
) -> EntryBanChange:
    """Lift a ban or shorten it, approved by ``supervisor`` with a reason (kept)."""
    now = now or clock.now()
    refused = "entry_ban.change_rejected"
    ban = session.get(EntryBan, ban_id)
    if ban is None:
        raise NotFound(
            "entry_ban.no_ban", "no entry ban %(ban)s", audit=_note(refused, ban_id), ban=ban_id
        )
    if not allows(supervisor.role, Permission.ENTRY_BAN_DECIDE):
        raise Forbidden(
            "entry_ban.supervisor_only",
            "a supervisor approves lifting or shortening a ban",
            audit=_note(refused, ban_id),
        )
    if ban.node != node:
        raise Conflict(
            "entry_ban.partner_ban",
            "ban %(ban)s was issued by the %(node)s node: only it may change it",
            audit=_note(refused, ban_id),
            ban=ban_id,
            node=ban.node,
        )
    if action not in BAN_ACTIONS:
        raise Invalid(
            "entry_ban.unknown_action",
            "action %(action)r: choose lift or shorten",
            audit=_note(refused, ban_id),
            action=action,
        )
    why = _text("reason", reason, refused)
    if len(why) < rules.MIN_REASON:
        raise Invalid(
            "entry_ban.reason_short",
            "write the reason (at least %(min)s characters)",
            audit=_note(refused, ban_id),
            min=rules.MIN_REASON,
        )
    ref = _text("appeal reference", appeal_reference, refused, 80) or None
    if ban.lifted_on is not None:
        raise Conflict(
            "entry_ban.lifted",
            "ban %(ban)s was lifted on %(day)s",
            audit=_note(refused, ban_id),
            ban=ban_id,
            day=ban.lifted_on,
        )
    today = clock.border_day(now)
    old_end = ban.ends_on
    if action == "shorten":
        if new_end is None:
            raise Invalid(
                "entry_ban.no_new_end", "give the new end date", audit=_note(refused, ban_id)
            )
        if new_end >= ban.ends_on:
            raise Invalid(
                "entry_ban.not_shorter",
                "the new end %(new_end)s does not shorten the ban (it ends %(end)s); "
                "lengthening needs a new ban",
                audit=_note(refused, ban_id),
                new_end=new_end.isoformat(),
                end=ban.ends_on.isoformat(),
            )
        if new_end < ban.starts_on:
            raise Invalid(
                "entry_ban.end_before_start",
                "the new end %(new_end)s is before the ban starts (%(start)s); lift it instead",
                audit=_note(refused, ban_id),
                new_end=new_end.isoformat(),
                start=ban.starts_on.isoformat(),
            )
        ban.ends_on = new_end
    else:
        new_end = None
        ban.lifted_on = today
    ban.updated_at = now
    change = EntryBanChange(
        id=new_id(),
        node=node,
        created_at=now,
        ban_id=ban.id,
        action=action,
        old_end=old_end,
        new_end=new_end,
        reason=why,
        appeal_reference=ref,
        approved_by=supervisor.username,
    )
    session.add(change)
    session.flush()
    audit.record(
        session,
        actor=supervisor.username,
        action=f"entry_ban.{action}",
        node=node,
        entity="entry_ban",
        entity_id=ban.id,
        source=source,
        detail={
            "old_end": old_end.isoformat(),
            "new_end": new_end.isoformat() if new_end else None,
            "reason": why,
            "appeal_reference": ref,
        },
    )
    exchange_outbox.append(session, node, kinds.ENTRY_BAN, ban.id, _ban_payload(ban))
    return change


# --------------------------------------------------------------------------- the check

_B = EntryBan.__table__.c


def ban_reasons(
    session: Session,
    *,
    person_id: uuid.UUID,
    surname: str,
    birth_date: date | None,
    nationality: str,
    issuing_state: str,
    number: str,
    country: str,
    direction: str,
    day: date,
) -> list[Reason]:
    """The border check's reasons for the bans on this traveller (this node's and the
    partner's), found by document, by person, or by name, birth date and nationality."""
    match = [
        and_(_B.document_country == issuing_state, _B.document_number == number),
        _B.person_id == person_id,
    ]
    if birth_date is not None:
        match.append(
            and_(_B.surname == surname, _B.birth_date == birth_date, _B.nationality == nationality)
        )
    rows = session.execute(
        select(
            _B.id,
            _B.node,
            _B.issuing_country,
            _B.legal_basis,
            _B.starts_on,
            _B.ends_on,
            _B.lifted_on,
        ).where(or_(*match), _B.lifted_on.is_(None), _B.ends_on >= day)
    ).all()
    facts = [
        rules.BanFact(str(i), n, c, basis, start, end, lifted is not None)
        for i, n, c, basis, start, end, lifted in rows
    ]
    return rules.ban_reasons(facts, country=country, direction=direction, day=day)


# --------------------------------------------------------------------------- the partner's


def _uuid(value: Any, field: str) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValueError(f"{field}: not a UUID: {value!r}") from None


def _date(value: Any, field: str, required: bool = False) -> date | None:
    if value in (None, ""):
        if required:
            raise ValueError(f"{field}: missing")
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{field}: not an ISO date: {value!r}") from None


def _moment(value: Any, field: str) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{field}: not an ISO time: {value!r}") from None


def _str(payload: Mapping[str, Any], field: str, limit: int, required: bool = True) -> str:
    value = payload.get(field)
    if value in (None, ""):
        if required:
            raise ValueError(f"{field}: missing")
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{field}: expected text of at most {limit} characters")
    return value


def _identity(partner: str, p: Mapping[str, Any]) -> dict[str, Any]:
    if p.get("node") != partner:
        raise ValueError(f"node: a record made by {p.get('node')!r} arrived from {partner}")
    return {
        "id": _uuid(p.get("id"), "id"),
        "node": partner,
        "surname": _str(p, "surname", 120),
        "given_names": _str(p, "given_names", 160, required=False),
        "birth_date": _date(p.get("birth_date"), "birth_date"),
        "nationality": _str(p, "nationality", 3),
        "document_country": _str(p, "document_country", 3, required=False) or None,
        "document_number": _str(p, "document_number", 20, required=False) or None,
    }


def apply_partner_refusals(
    session: Session, partner: str, payloads: Sequence[Mapping[str, Any]]
) -> int:
    """Keep the partner's refusals (shown in lists, for the officer); how many were new."""
    new = 0
    for i, p in enumerate(payloads):
        try:
            row = _identity(partner, p)
            grounds = p.get("grounds")
            if not isinstance(grounds, list) or not all(isinstance(g, str) for g in grounds):
                raise ValueError("grounds: expected a list of codes")
            row |= {
                "country": _str(p, "country", 3),
                "port_code": _str(p, "port_code", 8),
                "refused_at": _moment(p.get("refused_at"), "refused_at"),
                "grounds": grounds,
                "grounds_version": _str(p, "grounds_version", 16, required=False),
            }
        except ValueError as exc:
            raise ValueError(f"refusal {i}: {exc}") from None
        if session.get(Refusal, row["id"]) is None:
            session.add(Refusal(created_at=clock.now(), **row))
            new += 1
    session.flush()
    return new


def apply_partner_bans(
    session: Session, partner: str, payloads: Sequence[Mapping[str, Any]]
) -> int:
    """Keep the partner's entry bans, and their later changes (lifted, shortened): a record
    with a later ``updated_at`` replaces the one kept. How many bans were new."""
    expected = rules.NODE_COUNTRY.get(partner)
    new = 0
    for i, p in enumerate(payloads):
        try:
            row = _identity(partner, p)
            issuing = _str(p, "issuing_country", 3)
            if issuing != expected:
                raise ValueError(f"issuing_country: {issuing!r} from the {partner} node")
            start = _date(p.get("starts_on"), "starts_on", required=True)
            end = _date(p.get("ends_on"), "ends_on", required=True)
            assert start is not None and end is not None
            if end < start:
                raise ValueError("ends_on: before starts_on")
            row |= {
                "issuing_country": issuing,
                "legal_basis": _str(p, "legal_basis", 2000),
                "ground": _str(p, "ground", 2, required=False) or None,
                "starts_on": start,
                "ends_on": end,
                "lifted_on": _date(p.get("lifted_on"), "lifted_on"),
                "refusal_id": _uuid(p.get("refusal_id"), "refusal_id"),
                "updated_at": _moment(p.get("updated_at"), "updated_at"),
            }
        except ValueError as exc:
            raise ValueError(f"entry ban {i}: {exc}") from None
        kept = session.get(EntryBan, row["id"])
        if kept is None:
            session.add(EntryBan(created_at=clock.now(), **row))
            session.flush()
            new += 1
        elif row["updated_at"] > kept.updated_at:
            for key in ("ends_on", "lifted_on", "updated_at", "legal_basis"):
                setattr(kept, key, row[key])
    session.flush()
    return new
