"""A permit shown at the border check: its QR token, verified and tied to the traveller.

The permits a check finds by itself are this node's own, held against the traveller's
person record (``border``). A permit the partner node issued is not in this node's register:
its status changes arrive through the exchange, but without the holder's document, so the
check cannot find it by the traveller. The holder shows it instead (the QR code of the
signed credential); the officer scans it into the check, and this module:

- verifies it as every verifier on this node does (``services.permit_trust.verify``): with
  the key set the issuing node publishes through the exchange, its signed revocation list
  and the status changes it reported (this node's own permits against the register);
- ties it to the traveller by the holder data the credential carries, signed: the travel
  document number the holder applied with and the birth date (or, for a holder who has a
  new passport since, the name, birth date and nationality all alike);
- gives the check the permit as one of the traveller's valid permits, so the stay
  assessment treats it exactly as it treats this node's own (``domain.stay``), with a reason
  naming the country that issued it.

A permit that is forged, expired, revoked, suspended, someone else's, for another country,
or signed by a key unknown here or withdrawn, is a reason of its own (``permit.presented``,
one case each) and the check runs on as if none had been shown. Nothing here raises for the
permit's sake.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from tsela.domain import credentials as cred
from tsela.domain import permits as dom
from tsela.domain.reasons import Reason, reason
from tsela.domain.refusals import NODE_COUNTRY
from tsela.services.keys import KeyStoreError
from tsela.services.permits.common import PermitView, S

MAX_TOKEN = 4000  # a permit's credential is about 1,000 characters; more is not one


@dataclass(frozen=True)
class Presented:
    """The permit token the officer scanned, and where this node keeps the key sets and
    revocation lists it verifies permits with."""

    token: str
    var_dir: Path


def presented(text: str | None, var_dir: Path) -> Presented | None:
    """The permit presented at a check, or None when none was."""
    if text is None or not text.strip():
        return None
    return Presented(text.strip()[: MAX_TOKEN + 1], Path(var_dir))


class Traveller(Protocol):
    """The traveller at the desk, as the check read them (``services.checks.TravellerRef``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def primary_name(self) -> str: ...
    @property
    def given_names(self) -> str: ...
    @property
    def birth_date(self) -> date | None: ...
    @property
    def nationality(self) -> str: ...


@dataclass(frozen=True)
class Holder:
    """The traveller and the document they show, as the permit is matched against them."""

    person_id: uuid.UUID
    surname: str
    given_names: str
    birth_date: date | None
    nationality: str
    document_number: str


@dataclass(frozen=True)
class AtCheck:
    """What a check takes from the permit presented: the reason (accepted, or refused and
    why) and, when accepted, the permit as one the traveller holds."""

    reasons: list[Reason] = field(default_factory=list)
    permits: list[PermitView] = field(default_factory=list)


# Verification outcomes that refuse the permit, as the case of ``permit.presented``.
_REFUSED = {
    cred.VerifyStatus.UNREADABLE: "unreadable",
    cred.VerifyStatus.FORGED: "forged",
    cred.VerifyStatus.UNKNOWN_KEY: "unknown_key",
    cred.VerifyStatus.KEY_WITHDRAWN: "key_withdrawn",
    cred.VerifyStatus.REVOKED: "revoked",
    cred.VerifyStatus.SUSPENDED: "suspended",
    cred.VerifyStatus.EXPIRED: "expired",
    cred.VerifyStatus.NOT_YET_VALID: "not_yet_valid",
}


def _plain(text: str) -> str:
    return " ".join(text.replace(",", " ").replace("<", " ").split()).upper()


def _document(text: str) -> str:
    return "".join(text.split()).upper()


def belongs_to(claims: cred.PermitClaims, who: Holder) -> bool:
    """Whether the permit's signed holder data are the traveller's: the document number
    the holder applied with and no other birth date; or, for a holder who has a new
    passport since, the name, birth date and nationality all alike."""
    if claims.birth_date and who.birth_date and claims.birth_date != who.birth_date:
        return False
    if claims.nationality.upper() != who.nationality.upper():
        return False
    if claims.document and _document(claims.document) == _document(who.document_number):
        return True
    name = _plain(f"{who.surname} {who.given_names}")
    return (
        _plain(claims.holder) == name
        and claims.birth_date is not None
        and claims.birth_date == who.birth_date
    )


def _view(claims: cred.PermitClaims, who: Holder, day: date) -> PermitView:
    try:
        ptype: dom.PermitType | None = dom.permit_type(claims.permit_type)
    except dom.UnknownPermitType:
        ptype = None  # a type this node does not know lifts nothing
    try:
        permit_id = uuid.UUID(claims.permit_id)
    except ValueError:
        permit_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{claims.issuer}/{claims.number}")
    return PermitView(
        id=permit_id,
        number=claims.number,
        person_id=who.person_id,
        holder=claims.holder,
        permit_type=claims.permit_type,
        type_name=claims.type_name,
        status=S.ISSUED,
        effective_status=S.ISSUED,
        country=claims.country,
        rights=claims.rights,
        overrides_stay_limit=ptype.overrides_stay_limit if ptype else False,
        fast_lane="fast_lane" in claims.rights,
        valid_from=claims.valid_from,
        valid_to=claims.valid_to,
        days_left=(claims.valid_to - day).days,
        employer_id=None,
        employer=claims.employer,
    )


def _refused(case: str, result: cred.Verification, claims: cred.PermitClaims | None) -> Reason:
    """The reason a permit that does not verify is set aside, with the facts its case says."""
    issuer = NODE_COUNTRY.get(result.issued_by or "")
    if claims is None or case in ("unreadable", "forged", "unknown_key", "key_withdrawn"):
        return reason("permit.presented", case, issuer=issuer, why=result.message or case)
    label = f"{claims.type_name} {claims.number}"
    if case in ("revoked", "suspended"):
        return reason("permit.presented", case, permit=label, issuer=issuer)
    day = claims.valid_from if case == "not_yet_valid" else claims.valid_to
    return reason("permit.presented", case, permit=label, issuer=issuer, day=day)


def at_check(
    session: Session,
    given: Presented | None,
    *,
    node: str,
    person: Traveller,
    number: str,
    day: date,
    held: Sequence[PermitView] = (),
) -> AtCheck:
    """A border check's use of the permit presented (nothing when none was): verified,
    tied to the traveller, and given to the stay assessment; or refused with the precise
    reason (``permit.presented``). ``person`` and ``number``: the traveller and the number
    of the document scanned; ``held``: the valid permits the check found itself (a permit of
    this node shown at the desk is not counted twice)."""
    if given is None:
        return AtCheck()
    who = Holder(
        person.id,
        person.primary_name,
        person.given_names,
        person.birth_date,
        person.nationality,
        number,
    )
    if len(given.token) > MAX_TOKEN:
        why = f"more than {MAX_TOKEN} characters"
        return AtCheck([reason("permit.presented", "unreadable", why=why)])
    from tsela.services import permit_trust

    try:
        result = permit_trust.verify(session, given.var_dir, node, given.token, day)
    except KeyStoreError as exc:
        return AtCheck([reason("permit.presented", "unknown_key", issuer=None, why=str(exc))])
    claims = result.claims
    case = _REFUSED.get(result.status, "forged")
    if result.status is not cred.VerifyStatus.VALID or claims is None:
        return AtCheck([_refused(case, result, claims)])
    label = f"{claims.type_name} {claims.number}"
    issuer = NODE_COUNTRY.get(claims.issuer, claims.issuer)
    if not belongs_to(claims, who):
        return AtCheck(
            [
                reason(
                    "permit.presented",
                    "other_holder",
                    permit=label,
                    issuer=issuer,
                    holder=claims.holder,
                    born=claims.birth_date,
                    document=claims.document or None,
                )
            ]
        )
    here = NODE_COUNTRY[node]
    if claims.country != here:
        return AtCheck(
            [
                reason(
                    "permit.presented",
                    "other_country",
                    permit=label,
                    issuer=issuer,
                    valid_in=claims.country,
                )
            ]
        )
    listed = None
    if claims.issuer != node:
        rl = permit_trust.load_trust(given.var_dir).list_of(claims.issuer)
        listed = rl.issued_at.date().isoformat() if rl is not None else None
    accepted = reason("permit.presented", "accepted", permit=label, issuer=issuer, listed=listed)
    view = _view(claims, who, day)
    if any(p.id == view.id for p in held):
        return AtCheck([accepted])  # this node's own, found by the check already
    return AtCheck([accepted], [view])
