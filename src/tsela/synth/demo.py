"""The demo instance's accounts: staff logins, and logins linked to synthetic people.

The worker, applicant and employer accounts belong to people and an employer of the
synthetic data; who they are is found in the store (``extras.demo_links``) the first time,
so the accounts follow whatever population the store holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from tsela.kernel.actor import Actor
from tsela.services import audit
from tsela.services.accounts import create_user
from tsela.store.db import session_factory, transaction
from tsela.store.models import Employer, Person, Role, User
from tsela.synth.extras import demo_links

log = logging.getLogger(__name__)

DEMO_PASSWORD = "tsela-demo-2026"
DEMO_USERS = [
    ("officer", "border_officer", "MSU", "Border officer at Maseru Bridge"),
    ("ficksburg", "border_officer", "FKB", "Border officer at Ficksburg Bridge"),
    ("supervisor", "supervisor", None, "Port supervisor"),
    ("permits", "permit_officer", None, "Permit officer"),
    ("analyst", "analyst", None, "Observatory analyst"),
    ("secretariat", "secretariat", None, "NCC secretariat"),
    ("cases", "case_officer", None, "Case officer (trafficking and smuggling cases)"),
    ("admin", "admin", None, "Administrator"),
]
# (username, role, what the account is for)
LINKED_USERS = [
    ("worker", Role.WORKER, "Mosotho worker with a permit (worker portal)"),
    ("applicant", Role.WORKER, "Mosotho with no permit yet, to apply (worker portal)"),
    ("employer", Role.EMPLOYER, "employer of permit holders (employer portal)"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    port: str | None
    description: str  # who it is, in words


def _person_name(person: Person) -> str:
    given = " ".join(p.capitalize() for p in person.given_names.split())
    return f"{given} {person.primary_name.capitalize()}".strip()


def ensure_demo_accounts(
    engine: Engine, node: str, today: date, *, linked: bool = True
) -> list[DemoLogin]:
    """Create the demo accounts that are missing (and link a worker or employer account
    whose person or employer was deleted, e.g. by ``tsela synth --replace``); one
    transaction. Returns every demo login, with who it is. ``linked=False``: the staff
    accounts only (a node with no permits or employers of its own)."""
    out: list[DemoLogin] = []
    with transaction(session_factory(engine)) as s:
        users = {u.username: u for u in s.scalars(select(User))}
        for username, role, port_code, full_name in DEMO_USERS:
            if username not in users:
                create_user(
                    s,
                    node=node,
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role,
                    port_code=port_code,
                    full_name=full_name,
                    actor="demo",
                )
            out.append(DemoLogin(username, role, port_code, full_name))
        unlinked = [
            name
            for name, _, _ in (LINKED_USERS if linked else [])
            if name not in users or not (users[name].person_id or users[name].employer_id)
        ]
        links = demo_links(s, today) if unlinked else None
        for username, role, purpose in LINKED_USERS if linked else []:
            user = users.get(username)
            if username in unlinked:
                assert links is not None
                person = links.applicant if username == "applicant" else links.worker
                employer = links.employer if role is Role.EMPLOYER else None
                if (person if role is Role.WORKER else employer) is None:
                    continue  # nobody fits in this population (too small)
                person_id = person.id if role is Role.WORKER and person else None
                employer_id = employer.id if employer else None
                if employer is not None:
                    full_name = f"HR office, {employer.name}"
                else:
                    assert person is not None  # a worker's person, checked above
                    full_name = _person_name(person)
                if user is None:
                    user = create_user(
                        s,
                        node=node,
                        username=username,
                        password=DEMO_PASSWORD,
                        role=role,
                        full_name=full_name,
                        person_id=person_id,
                        employer_id=employer_id,
                        actor="demo",
                    )
                else:
                    user.person_id, user.employer_id, user.full_name = (
                        person_id,
                        employer_id,
                        full_name,
                    )
                    audit.record(
                        s,
                        actor="demo",
                        action="user.link",
                        node=node,
                        entity="user",
                        entity_id=user.id,
                        detail={"person_id": str(person_id), "employer_id": str(employer_id)},
                    )
            if user is None:
                continue
            who = user.full_name
            if user.employer_id and (found := s.get(Employer, user.employer_id)):
                who = f"{found.name} ({found.sector})"
            out.append(DemoLogin(username, role.value, None, f"{who}: {purpose}"))
    return out


def ensure_example_plan(engine: Engine, node: str, now: datetime) -> int:
    """Load the example governance plan (and the bodies it names) into a demo that has no
    plan yet, so the secretariat's tracker is not empty; returns the activities added."""
    from tsela.services import governance_import as gi
    from tsela.services.governance import operator
    from tsela.store.governance import Instrument

    with transaction(session_factory(engine)) as s:
        if s.scalar(select(Instrument.id).limit(1)) is not None:
            return 0
        report = gi.import_example(s, operator("demo", node), node, now)
    return len(report.created)


def ensure_fast_lane_member(engine: Engine, node: str, var_dir: Path, now: datetime) -> str:
    """The demo worker as a fast-lane member (issue 20, item 2), vetted through the services
    as a real application is: applied, screened, interviewed by ``officer``, approved by
    ``supervisor``. Returns the card number ("" when the worker has no passport or the
    vetting finds something: the demo then shows the application flow only)."""
    from tsela.domain import fast_lane as lane
    from tsela.kernel.errors import TselaError
    from tsela.services import fast_lane
    from tsela.services.screening_link import BorderScreening
    from tsela.store.fast_lane import FastLaneMembership

    with transaction(session_factory(engine)) as s:
        worker = s.scalar(select(User).where(User.username == "worker"))
        if worker is None or worker.person_id is None:
            return ""
        held = s.scalar(
            select(FastLaneMembership.number).where(
                FastLaneMembership.person_id == worker.person_id
            )
        )
        if held is not None:
            return lane.shown_number(held)
        documents = fast_lane.documents_of(s, worker.person_id)
        staff = {
            u.username: u
            for u in s.scalars(select(User).where(User.username.in_(("officer", "supervisor"))))
        }
        if not documents or len(staff) < 2:
            return ""
        me = Actor.of(worker, node, "demo set-up")
        try:
            m = fast_lane.apply(
                s,
                me,
                document_id=documents[0].id,
                category="commuter",
                port_code="MSU",
                now=now,
                statement="Demo: crosses at Maseru Bridge to work every weekday.",
            )
            fast_lane.interview(
                s,
                Actor.of(staff["officer"], node),
                m.id,
                outcome="satisfactory",
                note="Demo: employment letter and address seen.",
                now=now,
            )
            fast_lane.decide(
                s,
                Actor.of(staff["supervisor"], node),
                m.id,
                approve=True,
                reason_text="Demo member",
                screening=BorderScreening(),
                var_dir=var_dir,
                now=now,
            )
        except TselaError as exc:
            s.rollback()
            log.warning("no fast-lane member in the demo: %s", exc.message)
            return ""
        return lane.shown_number(m.number)
