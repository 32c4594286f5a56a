"""Pre-arrival declarations (issue 20, item 3), as CBP Mobile Passport Control offers: the
traveller declares on a phone, without signing in, and shows a QR code at the desk; the
officer scans it with the passport and the check shows the answers.

``declare`` keeps a declaration whose answers keep the rules (``domain.declarations``) and
signs its QR code with the node's permit key (``services.keys``): the code names the
declaration and its 72 hours of validity, nothing personal. Attempts are counted per address
as the self check counts its own (``stay_self_check.count_attempt``); refused answers keep
nothing, not even an attempt.

``at_check`` is what a border check does with a code (or the reference the traveller wrote
down): verify the signature and the validity, that the declaration was made for the passport
scanned, and mark it used. A declaration serves one crossing; a refused one is a reason on the
check (shown, the decision unchanged) and the check runs on as without it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tsela.domain import credentials as cred
from tsela.domain import declarations as dom
from tsela.domain import throttle
from tsela.domain.reasons import Reason, reason
from tsela.domain.values import Direction
from tsela.ids import new_id
from tsela.kernel.clock import border_day, border_time
from tsela.kernel.errors import Invalid, Unavailable
from tsela.services import audit
from tsela.services.keys import KeyStore, KeyStoreError
from tsela.services.stay_self_check import count_attempt
from tsela.store.declarations import Declaration
from tsela.store.models import PortOfEntry

__all__ = [
    "POLICY",
    "AtCheck",
    "DeclarationInvalid",
    "DeclarationThrottled",
    "Declared",
    "Presented",
    "at_check",
    "declare",
    "presented",
    "problems",
]

# Twenty declarations a day from one address are free (a family, a taxi's passengers at one
# phone); then one every 30 s, 60 s, ... up to one an hour.
POLICY = throttle.Policy(
    "declare", free=20, first_wait=timedelta(seconds=30), max_wait=timedelta(hours=1)
)
MADE = "declaration.make"
USED = "declaration.use"


class DeclarationInvalid(Invalid):
    """Answers the rules refuse; ``problems`` names each (field, code, values)."""

    def __init__(self, problems: list[dom.Problem]) -> None:
        super().__init__(
            "declaration.invalid",
            "the declaration cannot be kept: %(problems)s",
            problems="; ".join(p.words() for p in problems),
        )
        self.problems = problems


class DeclarationThrottled(Exception):
    """Too many declarations from one address: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many declarations from this address: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Declared:
    declaration: Declaration
    token: str  # the QR code's text

    @property
    def reference(self) -> str:
        return dom.shown_reference(self.declaration.reference)


def _ports(session: Session) -> set[str]:
    return set(session.scalars(select(PortOfEntry.code).where(PortOfEntry.active.is_(True))))


def _unused_reference(session: Session) -> str:
    for _ in range(5):
        ref = dom.new_reference()
        if session.scalar(select(Declaration.id).where(Declaration.reference == ref)) is None:
            return ref
    raise Unavailable("declaration.no_reference", "no free reference was found: try again")


def problems(session: Session, given: dom.DeclarationInput, now: datetime) -> list[dom.Problem]:
    """Every answer of ``given`` the rules refuse (the ports in service read from the store)."""
    return dom.problems(given, border_day(now), _ports(session))


def declare(
    session: Session,
    *,
    node: str,
    source: str,
    var_dir: Path,
    given: dom.DeclarationInput,
    now: datetime,
) -> Declared:
    """Keep a declaration and sign its QR code. Raises ``DeclarationInvalid`` (nothing kept),
    ``DeclarationThrottled`` (the caller commits: the refusal is audited) or ``Unavailable``
    (the node's keys cannot be read)."""
    found = problems(session, given, now)
    if found:
        raise DeclarationInvalid(found)
    attempt = count_attempt(session, node, source, now, POLICY)
    if not attempt.allowed:
        audit.record(session, actor="public", action=MADE, node=node, source=source,
                     detail={"outcome": "throttled"}, at=now)  # fmt: skip
        raise DeclarationThrottled(attempt.retry_after)
    try:
        signer = KeyStore(var_dir, node).signer(now)
    except KeyStoreError as exc:
        raise Unavailable(
            "declaration.keys", "the node cannot sign now: %(why)s", why=str(exc)
        ) from None
    children = [{"name": " ".join(c.name.split()), "birth_date": c.birth_date.isoformat()}
                for c in given.children]  # fmt: skip
    declaration = Declaration(
        id=new_id(),
        node=node,
        created_at=now,
        reference=_unused_reference(session),
        issuing_state=dom.normalised_state(given.issuing_state),
        document_number=dom.normalised_number(given.document_number),
        birth_date=given.birth_date,
        port_code=given.port.strip().upper(),
        direction=Direction(given.direction),
        purpose=given.purpose,
        address=" ".join(given.address.split()),
        stay_days=given.stay_days,
        children=children,
        valid_until=now + dom.VALID_FOR,
        kid=signer.kid,
    )
    session.add(declaration)
    session.flush()
    token = signer.sign(
        dom.claims(
            node=declaration.node,
            declaration_id=str(declaration.id),
            reference=declaration.reference,
            made=now,
        ),
        typ=dom.TYP,
    )
    audit.record(
        session, actor="public", action=MADE, node=declaration.node, entity="declaration",
        entity_id=declaration.id, source=source,
        detail={"outcome": "made", "port": declaration.port_code,
                "direction": declaration.direction.value},
        at=now,
    )  # fmt: skip
    return Declared(declaration, token)


# --------------------------------------------------------------------------- at the desk


@dataclass(frozen=True)
class Presented:
    """What the officer scanned or typed (the QR code's text or the written reference) and
    the node's public keys to verify it with."""

    text: str
    keys: cred.KeySet


def presented(text: str | None, var_dir: Path, node: str) -> Presented | None:
    """The declaration presented at a check, or None when none was."""
    if text is None or not text.strip():
        return None
    try:
        keys = KeyStore(var_dir, node).keyset()
    except KeyStoreError:
        keys = cred.KeySet()  # every code then reads as signed by an unknown key
    return Presented(text.strip()[: dom.MAX_TOKEN + 1], keys)


@dataclass(frozen=True)
class AtCheck:
    """What a check shows of a declaration: the reason (accepted, or refused and why) and the
    declared answers when accepted."""

    reasons: list[Reason]
    shown: dict[str, Any] | None = None


def _when(moment: datetime) -> str:
    return border_time(moment).strftime("%Y-%m-%d %H:%M")


def _find(session: Session, given: Presented) -> Declaration | Reason:
    text = given.text
    if len(text) > dom.MAX_TOKEN:
        return reason("declaration.refused", "unreadable", why="too long for a declaration code")
    if dom.looks_like_token(text):
        status, claims = cred.Verifier(given.keys).open_signed(text, dom.TYP, "declaration code")
        if status is cred.VerifyStatus.UNREADABLE:
            return reason("declaration.refused", "unreadable", why=claims["why"])
        if status is not cred.VerifyStatus.VALID:
            return reason("declaration.refused", "forged", why=claims["why"])
        try:
            wanted = uuid.UUID(str(claims.get("jti")))
        except ValueError:
            return reason("declaration.refused", "forged", why="it names no declaration")
        found = session.get(Declaration, wanted)
        if found is None or found.reference != claims.get("sub"):
            return reason("declaration.refused", "unknown", reference=str(claims.get("sub")))
        return found
    ref = dom.typed_reference(text)
    if ref is None:
        return reason(
            "declaration.refused", "unreadable",
            why="neither a declaration's QR code nor its reference",
        )  # fmt: skip
    found = session.scalar(select(Declaration).where(Declaration.reference == ref))
    if found is None:
        return reason("declaration.refused", "unknown", reference=dom.shown_reference(ref))
    return found


def _shown(d: Declaration) -> dict[str, Any]:
    purpose = dom.purposes().get(d.purpose)
    return {
        "reference": dom.shown_reference(d.reference),
        "made_at": d.created_at.isoformat(),
        "valid_until": d.valid_until.isoformat(),
        "port": d.port_code,
        "direction": d.direction.value,
        "purpose": d.purpose,
        "purpose_words": purpose.words["en"] if purpose else d.purpose,
        "address": d.address,
        "stay_days": d.stay_days,
        "children": [{"name": c["name"], "birth_date": c["birth_date"]} for c in d.children],
    }


def at_check(
    session: Session,
    given: Presented | None,
    *,
    node: str,
    officer: str,
    port: str,
    issuing_state: str,
    number: str,
    birth_date: Any,
    now: datetime,
    source: str = "",
) -> AtCheck:
    """A border check's use of the declaration presented (nothing when none was): accepted
    and marked used, or refused with the precise reason. Never raises for the declaration's
    sake: the check runs on either way."""
    if given is None:
        return AtCheck([])
    found = _find(session, given)
    if isinstance(found, Reason):
        return _outcome(session, None, found, node, officer, source, now)
    d = found
    shown = dom.shown_reference(d.reference)
    passport = (dom.normalised_state(issuing_state), dom.normalised_number(number))
    if passport != (d.issuing_state, d.document_number):
        why = reason("declaration.refused", "other_passport", reference=shown)
    elif birth_date is not None and birth_date != d.birth_date:
        why = reason("declaration.refused", "other_birth_date", reference=shown)
    elif d.used_at is not None:
        why = reason("declaration.refused", "used", reference=shown,
                     port=d.used_port or "", used=_when(d.used_at))  # fmt: skip
    elif now > d.valid_until:
        why = reason("declaration.refused", "expired", reference=shown, until=_when(d.valid_until))
    else:
        table = Declaration.__table__
        marked = session.execute(
            update(table)
            .where(table.c.id == d.id, table.c.used_at.is_(None))
            .values(used_at=now, used_port=port, used_by=officer[:60])
        ).rowcount  # type: ignore[attr-defined]  # an UPDATE answers a CursorResult
        if marked == 1:
            ok = reason("declaration.accepted", reference=shown)
            return _outcome(session, d, ok, node, officer, source, now, _shown(d))
        session.refresh(d)  # another desk used it a moment ago
        why = reason("declaration.refused", "used", reference=shown,
                     port=d.used_port or "", used=_when(d.used_at or now))  # fmt: skip
    return _outcome(session, d, why, node, officer, source, now)


def _outcome(
    session: Session,
    d: Declaration | None,
    said: Reason,
    node: str,
    officer: str,
    source: str,
    now: datetime,
    shown: dict[str, Any] | None = None,
) -> AtCheck:
    audit.record(
        session, actor=officer, action=USED, node=node, entity="declaration",
        entity_id=d.id if d is not None else "", source=source,
        detail={"outcome": said.variant or "accepted"}, at=now,
    )  # fmt: skip
    return AtCheck([said], shown)
