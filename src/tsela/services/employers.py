"""The registry of employers, and what an employer account sees of its workers' permits."""

from __future__ import annotations

import re
import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.reference import is_country
from tsela.services import audit
from tsela.services.permits import Forbidden, NotFound, PermitError, PermitView
from tsela.services.permits import list_permits as _list_permits
from tsela.store.models import Employer, Role

# Letters, digits and the separators registries use (CIPC: 2019/123456/07).
_REG_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/\-. ]{1,38}[A-Za-z0-9]")


class EmployerError(PermitError):
    pass


def register_employer(
    session: Session,
    actor: Actor,
    *,
    registration_number: str,
    name: str,
    sector: str,
    address: str = "",
    contact: str = "",
    country: str = "ZAF",
) -> Employer:
    """Add an employer to the registry (permit officers and administrators)."""
    if not actor.may(Permission.PERMIT_DECIDE):
        raise Forbidden(f"a {actor.role.value} may not register employers")
    reg = " ".join(registration_number.split()).upper()
    if not _REG_NUMBER.fullmatch(reg):
        raise EmployerError(
            f"registration number {registration_number!r}: 3 to 40 letters, digits or / - . "
            "(e.g. 2019/123456/07)"
        )
    if not name.strip():
        raise EmployerError("employer name is empty")
    if len(name.strip()) > 160:
        raise EmployerError("employer name is longer than 160 characters")
    if not sector.strip():
        raise EmployerError("employer sector is empty (e.g. agriculture, mining, retail)")
    where = country.strip().upper()
    if not is_country(where):
        raise EmployerError(f"country {country!r} is not an ISO 3166 alpha-3 code (e.g. ZAF)")
    known = session.scalars(select(Employer).where(Employer.registration_number == reg)).first()
    if known is not None:
        raise EmployerError(f"an employer with registration number {reg} is already registered")
    employer = Employer(
        node=actor.node,
        registration_number=reg,
        name=name.strip(),
        sector=sector.strip().lower()[:60],
        address=address.strip(),
        contact=contact.strip()[:160],
        country=where,
    )
    session.add(employer)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="employer.register",
        node=actor.node,
        entity="employer",
        entity_id=employer.id,
        detail={"registration_number": reg, "name": employer.name},
    )
    return employer


def get_employer(session: Session, ref: uuid.UUID | str) -> Employer:
    """An employer by id or registration number."""
    if isinstance(ref, uuid.UUID):
        found = session.get(Employer, ref)
    else:
        text = " ".join(str(ref).split())
        try:
            found = session.get(Employer, uuid.UUID(text))
        except ValueError:
            found = session.scalars(
                select(Employer).where(Employer.registration_number == text.upper())
            ).first()
    if found is None:
        raise NotFound(f"no registered employer {ref!s}")
    return found


def list_employers(session: Session, sector: str | None = None) -> list[Employer]:
    q = select(Employer).order_by(Employer.name)
    if sector:
        q = q.where(Employer.sector == sector.strip().lower())
    return list(session.scalars(q))


def workers_permits(
    session: Session, actor: Actor, employer_ref: uuid.UUID | str, today: date
) -> list[PermitView]:
    """The permits naming an employer: the employer's own account, or an officer."""
    employer = get_employer(session, employer_ref)
    if actor.role is Role.EMPLOYER and actor.employer_id != employer.id:
        raise Forbidden(f"{actor.username} may see only their own employer's workers")
    return _list_permits(session, actor, today, employer_id=employer.id)
