"""The forty fictional employers where Basotho work (``reference/synthetic_employers.csv``),
registered through the employer service.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.kernel.actor import Actor
from tsela.reference import reference_file
from tsela.services import employers as employer_service
from tsela.store.models import Employer


@dataclass(frozen=True)
class SyntheticEmployer:
    registration_number: str
    name: str
    sector: str
    address: str
    contact: str


def synthetic_employers() -> list[SyntheticEmployer]:
    """The fictional employers shipped in ``reference/synthetic_employers.csv``."""
    lines = [
        line for line in reference_file("synthetic_employers.csv").splitlines() if line.strip()
    ]
    rows = csv.DictReader(line for line in lines if not line.startswith("#"))
    return [SyntheticEmployer(**row) for row in rows]


def ensure_employers(session: Session, actor: Actor) -> tuple[dict[str, Employer], int]:
    """Register the fictional employers not yet registered; all of them by number."""
    known = {e.registration_number: e for e in session.scalars(select(Employer))}
    added = 0
    out: dict[str, Employer] = {}
    for row in synthetic_employers():
        employer = known.get(row.registration_number)
        if employer is None:
            employer = employer_service.register_employer(
                session,
                actor,
                registration_number=row.registration_number,
                name=row.name,
                sector=row.sector,
                address=row.address,
                contact=row.contact,
            )
            added += 1
        out[row.registration_number] = employer
    return out, added
