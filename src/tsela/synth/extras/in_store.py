"""Existing stores and demo accounts: the population found in a store, whether it has its
extras, the records the demo links to, and travellers to try at the border.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tsela.services import screening
from tsela.store.db import session_factory
from tsela.store.models import Crossing, DocumentStatus, Employer, Permit, Person, TravelDocument
from tsela.store.permits import Employment
from tsela.store.watchlists import DocumentAlert, Watchlist, WatchlistEntry
from tsela.synth.extras.common import DOCUMENT_LIST, PROTECT_LIST, WANTED_LIST, S
from tsela.synth.extras.employers import synthetic_employers
from tsela.synth.generator import Population
from tsela.synth.names import mrz_name, name_list


def population_in_store(
    engine: Engine, seed: int, sizes: Iterable[int]
) -> tuple[Population, np.ndarray] | None:
    """The synthetic population already in the store, re-made from its seed.

    Profiles are not stored; the generator makes the same people from the same seed and
    size, and their document numbers find them in the store. Names, birth dates and
    document expiry come from the store. None when no size given matches (e.g. the store
    was not filled by ``tsela synth`` with this seed).
    """
    from tsela.synth.generator import SynthConfig, make_population

    with session_factory(engine)() as s:
        rows = s.execute(
            select(
                TravelDocument.issuing_state,
                TravelDocument.number,
                TravelDocument.expiry_date,
                Person.id,
                Person.primary_name,
                Person.given_names,
                Person.birth_date,
            )
            .join(Person, Person.id == TravelDocument.person_id)
            .where(TravelDocument.status == DocumentStatus.VALID)
        ).all()
    by_doc = {(r[0], r[1]): r for r in rows}
    for n in dict.fromkeys(sizes):
        if n < 1:
            continue
        pop = make_population(SynthConfig(persons=n, seed=seed))
        found = [
            by_doc.get((str(a), str(b)))
            for a, b in zip(pop.nationality, pop.doc_number, strict=True)
        ]
        if sum(r is not None for r in found) < 0.95 * n:
            continue
        ids = np.asarray([r[3].hex if r else "" for r in found], dtype=object)
        for i, r in enumerate(found):
            if r is None:
                continue
            pop.primary_name[i], pop.given_names[i] = r[4], r[5]
            if r[6] is not None:
                pop.birth_date[i] = np.datetime64(r[6], "D")
            if r[2] is not None:
                pop.doc_expiry[i] = np.datetime64(r[2], "D")
        return pop, ids
    return None


def has_extras(engine: Engine) -> bool:
    """Whether the fictional employers, some permits and the three watchlists are stored."""
    first = synthetic_employers()[0].registration_number
    with session_factory(engine)() as s:
        employer = s.scalar(select(Employer.id).where(Employer.registration_number == first))
        permits = s.scalar(select(func.count()).select_from(Permit)) or 0
        lists = set(s.scalars(select(Watchlist.name)))
    return bool(employer and permits and {WANTED_LIST, PROTECT_LIST, DOCUMENT_LIST} <= lists)


@dataclass(frozen=True)
class DemoLinks:
    """Who the worker, applicant and employer demo accounts are."""

    employer: Employer | None
    worker: Person | None
    applicant: Person | None


def demo_links(session: Session, today: date) -> DemoLinks:
    """Pick the people behind the worker/employer demo accounts from the store.

    - employer: the mine with most valid permits (else the farm with most);
    - worker: a Mosotho holder of a valid permit naming that employer, still employed
      there (an LEP and a Sesotho surname if any);
    - applicant: a Mosotho with no permit and no application yet, a valid passport, no
      lost document and no watchlist hit, with a Sesotho surname if any, among those who
      cross most.
    """
    valid = (
        Permit.status == S.ISSUED.value,
        Permit.valid_from <= today,
        Permit.valid_to >= today,
    )
    employer = session.execute(
        select(Employer)
        .join(Permit, Permit.employer_id == Employer.id)
        .where(Employer.sector.in_(["mining", "agriculture"]), *valid)
        .group_by(Employer.id)
        .order_by((Employer.sector == "mining").desc(), func.count(Permit.id).desc(), Employer.name)
        .limit(1)
    ).scalar_one_or_none()
    worker = None
    ended = select(Employment.permit_id).where(Employment.end_date.is_not(None))
    # Most Basotho carry a Sesotho surname: the demo's people should too.
    sesotho = Person.primary_name.in_(
        sorted({mrz_name(n) for n in name_list("sesotho", "surnames")})
    )
    if employer is not None:
        worker = session.execute(
            select(Person)
            .join(Permit, Permit.person_id == Person.id)
            .join(TravelDocument, TravelDocument.id == Permit.document_id)
            .where(
                Permit.employer_id == employer.id,
                Person.nationality == "LSO",
                Permit.id.not_in(ended),
                *valid,
            )
            .order_by((Permit.permit_type == "LEP").desc(), sesotho.desc(), TravelDocument.number)
            .limit(1)
        ).scalar_one_or_none()
    with_permit = select(Permit.person_id)
    lost = select(TravelDocument.person_id).where(TravelDocument.status != DocumentStatus.VALID)
    candidates = session.execute(
        select(Person, TravelDocument)
        .join(TravelDocument, TravelDocument.person_id == Person.id)
        .join(Crossing, Crossing.person_id == Person.id)
        .where(
            Person.nationality == "LSO",
            Person.id.not_in(with_permit),
            Person.id.not_in(lost),
            TravelDocument.status == DocumentStatus.VALID,
            TravelDocument.expiry_date >= today + timedelta(days=365),
        )
        .group_by(Person.id, TravelDocument.id)
        .order_by(sesotho.desc(), func.count(Crossing.id).desc(), TravelDocument.number)
        .limit(25)
    ).all()
    applicant = None
    for person, doc in candidates:
        alerts = screening.check_document(session, doc.issuing_state, doc.number)
        hits = screening.screen(
            session,
            f"{person.given_names} {person.primary_name}",
            birth_date=person.birth_date,
            nationality=person.nationality,
            today=today,
        )
        if not alerts and not hits:
            applicant = person
            break
    return DemoLinks(employer=employer, worker=worker, applicant=applicant)


@dataclass(frozen=True)
class BorderSample:
    """A document to type in at the officer console, and what the check will show."""

    issuing_state: str
    number: str
    what: str


def border_samples(session: Session, today: date, per_kind: int = 2) -> list[BorderSample]:
    """Travellers worth checking in a demo: listed on a watchlist, travelling on a passport
    reported stolen, holding a valid work permit, or holding a revoked one."""
    out: list[BorderSample] = []
    for list_name in (WANTED_LIST, PROTECT_LIST):
        entries = session.execute(
            select(WatchlistEntry.birth_date)
            .join(Watchlist, Watchlist.id == WatchlistEntry.watchlist_id)
            .where(Watchlist.name == list_name, WatchlistEntry.birth_date.is_not(None))
        ).scalars()
        found = 0
        for born in entries:
            rows = session.execute(
                select(Person, TravelDocument)
                .join(TravelDocument, TravelDocument.person_id == Person.id)
                .where(
                    Person.birth_date == born,
                    TravelDocument.status == DocumentStatus.VALID,
                )
            ).all()
            for person, doc in rows:
                hits = screening.screen(
                    session,
                    f"{person.given_names} {person.primary_name}",
                    birth_date=person.birth_date,
                    nationality=person.nationality,
                    today=today,
                )
                if any(h.list_name == list_name for h in hits):
                    out.append(BorderSample(doc.issuing_state, doc.number, f"on {list_name!r}"))
                    found += 1
                    break
            if found >= per_kind:
                break
    stolen = session.execute(
        select(TravelDocument.issuing_state, TravelDocument.number)
        .join(
            DocumentAlert,
            (DocumentAlert.issuing_state == TravelDocument.issuing_state)
            & (DocumentAlert.number == TravelDocument.number),
        )
        .where(TravelDocument.status == DocumentStatus.VALID)
        .order_by(TravelDocument.number)
        .limit(per_kind)
    ).all()
    out += [BorderSample(a, b, "passport reported stolen (document list)") for a, b in stolen]
    permits = (
        ("holds a valid Lesotho Exemption Permit", Permit.status == S.ISSUED.value),
        ("permit revoked", Permit.status == S.REVOKED.value),
    )
    for what, status in permits:
        documents = session.execute(
            select(TravelDocument.issuing_state, TravelDocument.number)
            .join(Permit, Permit.document_id == TravelDocument.id)
            .where(
                status,
                Permit.permit_type == "LEP",
                Permit.valid_from <= today,
                Permit.valid_to >= today,
                TravelDocument.status == DocumentStatus.VALID,
            )
            .order_by(TravelDocument.number)
            .limit(1)
        ).all()
        out += [BorderSample(a, b, what) for a, b in documents]
    return out
