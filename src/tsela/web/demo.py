"""Demo accounts for the worker and employer portals (``tsela demo`` calls this).

The staff demo users need nothing but a role; a worker account must be linked to a traveller
and an employer account to a registered employer, so they are made here, idempotently.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.kernel.actor import Actor
from tsela.services import accounts, employers
from tsela.store.models import Employer, Person, Role, TravelDocument, User

DEMO_EMPLOYER_REG = "2019/123456/07"


def ensure_portal_users(session: Session, *, node: str, password: str, today: date) -> list[str]:
    """Create ``worker`` (a synthetic Mosotho with a passport valid for a year or more) and
    ``employer`` (Maluti Orchards, a demo farm) if missing; returns what was created."""
    made: list[str] = []
    have = set(
        session.scalars(select(User.username).where(User.username.in_(("worker", "employer"))))
    )
    if "worker" not in have:
        row = session.execute(
            select(Person.id, Person.given_names, Person.primary_name)
            .join(TravelDocument, TravelDocument.person_id == Person.id)
            .where(
                Person.nationality == "LSO",
                TravelDocument.status == "valid",
                TravelDocument.expiry_date > today + timedelta(days=365),
            )
            .order_by(TravelDocument.number)
            .limit(1)
        ).first()
        if row is not None:
            accounts.create_user(
                session,
                node=node,
                username="worker",
                password=password,
                role=Role.WORKER,
                full_name=f"{row.given_names} {row.primary_name}".title(),
                person_id=row.id,
                actor="demo",
            )
            made.append("worker")
    if "employer" not in have:
        employer = session.scalars(
            select(Employer).where(Employer.registration_number == DEMO_EMPLOYER_REG)
        ).first()
        if employer is None:
            employer = employers.register_employer(
                session,
                Actor("demo", Role.ADMIN, node),
                registration_number=DEMO_EMPLOYER_REG,
                name="Maluti Orchards (Pty) Ltd",
                sector="agriculture",
                country="ZAF",
            )
        accounts.create_user(
            session,
            node=node,
            username="employer",
            password=password,
            role=Role.EMPLOYER,
            full_name="Maluti Orchards",
            employer_id=employer.id,
            actor="demo",
        )
        made.append("employer")
    return made
