"""The synthetic data around the population (employers, permits, pending applications,
watchlists) and the demo accounts, on SQLite and PostgreSQL.

One small instance per back end is made once for the module, in a database of its own (a
file, or a PostgreSQL schema), and read by every test; tests that change data make their
own with the ``engine`` fixture.
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain import permits as dom
from tsela.domain.credentials import Verifier, VerifyStatus
from tsela.kernel.actor import Actor
from tsela.kernel.clock import FixedClock
from tsela.observatory.parquet import traveller_key
from tsela.services import accounts
from tsela.services import permits as svc
from tsela.services.keys import KeyStore
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate, session_factory
from tsela.store.models import Employer, Permit, Person, Role, TravelDocument, User
from tsela.store.permits import Employment, PermitEvent, PermitEvidence
from tsela.store.watchlists import Watchlist
from tsela.synth import extras
from tsela.synth.demo import DEMO_PASSWORD, DEMO_USERS, ensure_demo_accounts
from tsela.synth.generator import Profile, SynthConfig, make_population
from tsela.synth.run import SynthSummary, synthesise

CFG = SynthConfig(persons=300, start=date(2026, 1, 1), end=date(2026, 6, 30), seed=11)
TODAY = CFG.end + timedelta(days=1)  # the extras are "as of" the day after the last crossing
AT = datetime(2026, 7, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
OFFICER = Actor("reader", Role.PERMIT_OFFICER, "LS")
PG_URL = os.environ.get("TSELA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CIPC = re.compile(r"(19|20)\d\d/\d{6}/0[67]")
SECRET = b"k" * 32


@dataclass
class World:
    engine: Engine
    keys: KeyStore
    summary: SynthSummary
    settings: Settings
    parquet: Path


@pytest.fixture(scope="module")
def _fast_hashing() -> Iterator[None]:
    """Cheap argon2: these tests are about who the accounts are, not guessing cost."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


def _own_database(kind: str, tmp: Path) -> tuple[Engine, object]:
    """A migrated database used by this module only (so other tests never see its rows)."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp / 'extras.db'}")
        migrate(engine)
        seed_ports(engine, "LS")
        return engine, None
    try:
        admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        schema = f"x_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL not reachable at {PG_URL}: {exc.orig}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc.orig}")
    engine = make_engine(PG_URL, schema=schema)
    migrate(engine)
    seed_ports(engine, "LS")
    return engine, (admin, schema)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, _fast_hashing: None
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp(f"extras-{request.param}")
    engine, pg = _own_database(request.param, tmp)
    try:
        keys = KeyStore(tmp / "var", "LS")
        summary = synthesise(
            CFG,
            node="LS",
            engine=engine,
            extras_keys=keys,
            parquet_dir=tmp / "parquet",
            secret=SECRET,
        )
        settings = Settings(
            database_url=engine.url.render_as_string(hide_password=False),
            node="LS",
            var_dir=tmp / "var",
        )
        yield World(engine, keys, summary, settings, tmp / "parquet")
    finally:
        engine.dispose()
        if pg is not None:
            admin, schema = pg  # type: ignore[misc]
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _permits(world: World, *where: object) -> list[Permit]:
    with session_factory(world.engine)() as s:
        return list(s.scalars(select(Permit).where(*where)))  # type: ignore[arg-type]


def _person(world: World, person_id: uuid.UUID) -> tuple[Person, TravelDocument]:
    with session_factory(world.engine)() as s:
        person = s.get(Person, person_id)
        doc = s.scalars(
            select(TravelDocument).where(
                TravelDocument.person_id == person_id, TravelDocument.status == "valid"
            )
        ).first()
        assert person is not None and doc is not None
        return person, doc


# --- employers ------------------------------------------------------------------------------


def test_forty_fictional_employers_in_the_sectors_basotho_work_in(world: World) -> None:
    with session_factory(world.engine)() as s:
        employers = list(s.scalars(select(Employer)))
    assert len(employers) == 40
    sectors = Counter(e.sector for e in employers)
    assert sectors["mining"] >= 5 and sectors["agriculture"] >= 5
    assert {"construction", "domestic work", "retail", "security", "hospitality"} <= set(sectors)
    for e in employers:
        assert CIPC.fullmatch(e.registration_number), e.registration_number
        assert e.address and e.country == "ZAF"
        assert ".example" in e.contact  # clearly not a real address
    assert any("Welkom" in e.address for e in employers if e.sector == "mining")
    assert any("Ficksburg" in e.address for e in employers if e.sector == "agriculture")


# --- permits --------------------------------------------------------------------------------


def test_issued_permits_are_valid_at_the_border_and_verify_offline(world: World) -> None:
    valid = _permits(
        world, Permit.status == "issued", Permit.valid_from <= TODAY, Permit.valid_to >= TODAY
    )
    assert len(valid) >= 30
    assert {"LEP", "SEASONAL", "STUDY"} <= {p.permit_type for p in valid}
    verifier = Verifier(world.keys.keyset())
    with session_factory(world.engine)() as s:
        for permit in valid:
            found = svc.valid_permits_for(s, permit.person_id, TODAY)
            assert permit.number in {v.number for v in found}
            assert permit.token is not None
            result = verifier.verify(permit.token, TODAY)
            assert result.status is VerifyStatus.VALID, (permit.number, result.reasons)
            person = s.get(Person, permit.person_id)
            assert result.claims is not None and result.claims.holder.startswith(
                person.primary_name  # type: ignore[union-attr]
            )


def test_work_permits_follow_their_types_rules(world: World) -> None:
    """LEP only after an LSP (applied for in 2016, expired end 2019), applied within the
    LEP window; seasonal permits name a farm; every permit names its holder's document."""
    lep = dom.permit_type("LEP")
    with session_factory(world.engine)() as s:
        farms = set(s.scalars(select(Employer.id).where(Employer.sector == "agriculture")))
        leps = list(s.scalars(select(Permit).where(Permit.permit_type == "LEP")))
        assert leps
        for permit in leps:
            lsp = s.scalars(
                select(Permit).where(
                    Permit.person_id == permit.person_id, Permit.permit_type == "LSP"
                )
            ).one()
            assert lsp.status == "expired" and lsp.valid_to == date(2019, 12, 31)
            events = list(
                s.scalars(
                    select(PermitEvent)
                    .where(PermitEvent.permit_id == permit.id)
                    .order_by(PermitEvent.id)
                )
            )
            assert events[0].action == "apply"
            assert lep.applications_open and lep.applications_close
            assert lep.applications_open <= events[0].at.date() <= lep.applications_close
            assert [e.at for e in events] == sorted(e.at for e in events)
            assert permit.valid_to == lep.valid_until
        seasonal = list(s.scalars(select(Permit).where(Permit.permit_type == "SEASONAL")))
        assert seasonal and all(p.employer_id in farms for p in seasonal)
        assert all(p.document_id for p in s.scalars(select(Permit)))
        # Employers see their workers: every LEP naming an employer opened an employment.
        named = [p for p in leps if p.employer_id]
        jobs = set(s.scalars(select(Employment.permit_id)))
        assert named and all(p.id in jobs for p in named)


def test_seasonal_and_study_permits_were_renewed_since_the_first_crossings(world: World) -> None:
    """Holders come back every season or year: a permit that started after the first
    crossings renewed one that ended the week before, so their stays were covered."""
    renewed = 0
    with session_factory(world.engine)() as s:
        for permit in s.scalars(
            select(Permit).where(
                Permit.permit_type.in_(["SEASONAL", "STUDY"]),
                Permit.valid_from > CFG.start + timedelta(days=7),
            )
        ):
            assert permit.renewal_of_id, permit.number
            old = s.get(Permit, permit.renewal_of_id)
            assert old is not None and old.status == "expired"
            assert (old.person_id, old.permit_type) == (permit.person_id, permit.permit_type)
            assert old.employer_id == permit.employer_id  # back to the same farm
            assert old.valid_to and permit.valid_from
            assert 0 < (permit.valid_from - old.valid_to).days <= 7
            renewed += 1
    assert renewed >= 10


def test_some_expired_some_revoked_with_reasons_and_reminders_to_send(world: World) -> None:
    with session_factory(world.engine)() as s:
        expired = list(
            s.scalars(select(Permit).where(Permit.status == "expired", Permit.permit_type != "LSP"))
        )
        assert expired and all(p.valid_to and p.valid_to < TODAY for p in expired)
        revoked = list(s.scalars(select(Permit).where(Permit.status == "revoked")))
        assert revoked
        for permit in revoked:
            reason = s.scalars(
                select(PermitEvent.reason).where(
                    PermitEvent.permit_id == permit.id, PermitEvent.to_status == "revoked"
                )
            ).one()
            assert len(reason) > 20
            # The border officer is told, with the reason.
            notes = svc.permit_findings(s, permit.person_id, TODAY)
            assert any("was revoked" in n and reason in n for n in notes)
        soon = svc.list_permits(s, OFFICER, TODAY, expiring_within=90)
        assert soon and all(v.days_left is not None and 0 <= v.days_left <= 90 for v in soon)
        assert len(svc.list_permits(s, OFFICER, TODAY, expiring_within=30)) < len(soon)
        ended = list(s.scalars(select(Employment).where(Employment.end_date.is_not(None))))
        assert ended and all(e.end_reason for e in ended)
        s.rollback()


def test_about_twenty_applications_wait_at_the_permit_desk(world: World) -> None:
    with session_factory(world.engine)() as s:
        submitted = svc.list_permits(s, OFFICER, TODAY, status="submitted")
        asked = svc.list_permits(s, OFFICER, TODAY, status="evidence_requested")
        assert 12 <= len(submitted) + len(asked) <= 20
        assert len(asked) == 1
        reason = s.scalars(
            select(PermitEvent.reason).where(
                PermitEvent.permit_id == asked[0].id,
                PermitEvent.to_status == "evidence_requested",
            )
        ).one()
        assert "please send" in reason
        for view in submitted + asked:
            kinds = list(
                s.scalars(select(PermitEvidence.kind).where(PermitEvidence.permit_id == view.id))
            )
            assert dom.permit_type(view.permit_type).evidence.missing(kinds) == []
            assert view.valid_from is None  # not issued
        assert len({v.permit_type for v in submitted + asked}) >= 3
        s.rollback()


def test_the_analytics_copy_has_the_permits_under_the_travellers_keys(world: World) -> None:
    table = pq.read_table(world.parquet / "permits.parquet")
    stored = _permits(world, Permit.id.is_not(None))
    assert table.num_rows == len(stored)
    assert not {"number", "token", "holder"} & set(table.column_names)  # nothing identifying
    crossings = ds.dataset(world.parquet / "crossings", partitioning="hive").to_table()
    travellers = set(crossings["traveller_key"].to_pylist())
    keys = table["traveller_key"].to_pylist()
    lep = [p for p in stored if p.permit_type == "LEP" and p.status == "issued"]
    assert lep and traveller_key(SECRET, lep[0].person_id.hex) in keys
    assert set(keys) <= travellers | {""}


# --- watchlists at the border ---------------------------------------------------------------


@pytest.fixture(scope="module")
def border(world: World) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with session_factory(world.engine).begin() as s:
        user = accounts.create_user(
            s,
            node="LS",
            username="extras-officer",
            password="correct horse 1",
            role=Role.BORDER_OFFICER,
            port_code="MSU",
        )
        token = accounts.issue_api_token(s, user, label="test")
    # Checks are dated by the server's clock: stand it at AT.
    with TestClient(create_app(world.settings, world.engine, FixedClock(AT))) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def _check(border: tuple[TestClient, dict[str, str]], state: str, number: str) -> dict:  # type: ignore[type-arg]
    client, headers = border
    got = client.post(
        "/v1/checks",
        json={
            "port": "MSU",
            "direction": "entry",
            "at": AT.isoformat(),
            "document_number": number,
            "issuing_state": state,
        },
        headers=headers,
    )
    assert got.status_code == 201, got.text
    return got.json()  # type: ignore[no-any-return]


def test_the_three_watchlists_are_loaded(world: World) -> None:
    with session_factory(world.engine)() as s:
        lists = {w.name: w for w in s.scalars(select(Watchlist))}
    assert set(lists) == {extras.WANTED_LIST, extras.PROTECT_LIST, extras.DOCUMENT_LIST}
    assert lists[extras.WANTED_LIST].entry_count >= 50
    assert lists[extras.PROTECT_LIST].entry_count >= 20
    # Every document the population reported lost or stolen is on the document list.
    with session_factory(world.engine)() as s:
        lost = s.scalar(
            select(func.count())
            .select_from(TravelDocument)
            .where(TravelDocument.status.in_(["lost", "stolen"]))
        )
    assert lost and lists[extras.DOCUMENT_LIST].entry_count > lost
    assert "not a real list" in lists[extras.WANTED_LIST].source


def test_listed_travellers_give_a_hit_at_the_border_and_others_none(
    world: World, border: tuple[TestClient, dict[str, str]]
) -> None:
    listed = world.summary.extras.listed  # type: ignore[union-attr]
    assert {name for name, _, _ in listed} == {
        extras.WANTED_LIST,
        extras.PROTECT_LIST,
        extras.DOCUMENT_LIST,
    }
    other_spelling = 0
    for name, state, number in listed:
        out = _check(border, state, number)
        if name == extras.DOCUMENT_LIST:
            assert any(r["code"] == "document.stolen" for r in out["reasons"]), out["reasons"]
            continue
        hits = [h for h in out["watchlist_hits"] if h["list"] == name]
        assert hits, (name, number, out["traveller"])
        assert out["decision"] in ("REFER", "DENY")
        passport = f"{out['traveller']['given_names']} {out['traveller']['surname']}"
        other_spelling += hits[0]["name"].upper() != passport
    assert other_spelling >= 2  # found although the list spells the name the other way
    # A permit holder on no list: no hit, no alert.
    holder = _permits(world, Permit.permit_type == "LEP", Permit.status == "issued")[0]
    _, doc = _person(world, holder.person_id)
    assert doc.number not in {n for _, _, n in listed}
    out = _check(border, doc.issuing_state, doc.number)
    assert out["watchlist_hits"] == []
    assert not any(r["code"].startswith("document.") for r in out["reasons"])
    assert [p["number"] for p in out["permits"]] == [holder.number]


# --- demo accounts --------------------------------------------------------------------------


def test_demo_accounts_are_linked_and_log_in(world: World) -> None:
    logins = ensure_demo_accounts(world.engine, "LS", TODAY)
    names = [login.username for login in logins]
    assert names[: len(DEMO_USERS)] == [u[0] for u in DEMO_USERS]
    assert {"worker", "applicant", "employer"} <= set(names)
    again = ensure_demo_accounts(world.engine, "LS", TODAY)
    assert again == logins  # a second run changes nothing
    with session_factory(world.engine)() as s:
        users = {u.username: u for u in s.scalars(select(User))}
        worker, applicant, boss = users["worker"], users["applicant"], users["employer"]
        assert worker.role is Role.WORKER and worker.person_id
        held = svc.valid_permits_for(s, worker.person_id, TODAY)
        assert held and s.get(Person, worker.person_id).nationality == "LSO"  # type: ignore[union-attr]
        assert applicant.role is Role.WORKER and applicant.person_id
        assert not list(s.scalars(select(Permit).where(Permit.person_id == applicant.person_id)))
        employer = s.get(Employer, boss.employer_id)
        assert boss.role is Role.EMPLOYER and employer is not None
        assert employer.sector in ("mining", "agriculture")
        assert any(p.employer_id == employer.id for p in held)  # the worker works there
    with TestClient(create_app(world.settings, world.engine)) as client:
        for username, role in (
            ("worker", "worker"),
            ("applicant", "worker"),
            ("employer", "employer"),
        ):
            got = client.post(
                "/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
            )
            assert got.status_code == 200, got.text
            assert got.json()["role"] == role
        # The employer portal lists the worker's permit; the worker portal shows it.
        sign_in = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', sign_in.text)
        assert csrf
        page = client.post(
            "/login",
            data={"username": "employer", "password": DEMO_PASSWORD, "csrf_token": csrf.group(1)},
        )
        assert page.status_code == 200
        assert any(p.number in page.text for p in held)


# --- again, elsewhere -----------------------------------------------------------------------


def test_running_again_adds_nothing(world: World) -> None:
    found = extras.population_in_store(world.engine, CFG.seed, [CFG.persons])
    assert found is not None
    with session_factory(world.engine)() as s:
        before = s.scalar(select(func.count()).select_from(Permit))
    again = extras.add_extras(
        world.engine, *found, node="LS", keys=world.keys, today=TODAY, seed=CFG.seed
    )
    assert again.employers == 0 and not again.permits and not again.watchlists
    assert len(again.skipped) == 4
    with session_factory(world.engine)() as s:
        assert s.scalar(select(func.count()).select_from(Permit)) == before
        assert s.scalar(select(func.count()).select_from(Employer)) == 40


def test_the_store_gives_back_the_same_people(world: World) -> None:
    """Profiles are not stored: re-made from the seed, they must agree with the permits."""
    assert extras.population_in_store(world.engine, CFG.seed + 1, [CFG.persons]) is None
    assert extras.population_in_store(world.engine, CFG.seed, [CFG.persons + 7]) is None
    found = extras.population_in_store(world.engine, CFG.seed, [5, CFG.persons])
    assert found is not None
    pop, ids = found
    profile = {uuid.UUID(i): int(p) for i, p in zip(ids, pop.profile, strict=True) if i}
    assert len(profile) == CFG.persons
    expected = {"STUDY": Profile.STUDENT, "SEASONAL": Profile.MIGRANT_WORKER}
    for permit in _permits(world, Permit.permit_type.in_(["STUDY", "SEASONAL", "LEP"])):
        if permit.status in ("submitted", "evidence_requested"):
            continue  # new applicants can be anyone
        assert profile[permit.person_id] == expected.get(permit.permit_type, Profile.MIGRANT_WORKER)


def test_the_plan_is_deterministic() -> None:
    pop = make_population(CFG)
    present = pop.nationality == pop.nationality
    emps = extras.synthetic_employers()
    a = extras.plan_permits(pop, present, TODAY, 11, emps)
    b = extras.plan_permits(pop, present, TODAY, 11, emps)
    c = extras.plan_permits(pop, present, TODAY, 12, emps)

    def key(plan: extras.PermitPlan) -> list[tuple[int, str, date, str | None]]:
        return [(g.person, g.type_code, g.issued, g.employer) for g in plan.grants]

    assert key(a) == key(b) and key(a) != key(c)
    assert [(p.person, p.type_code) for p in a.pending] == [
        (p.person, p.type_code) for p in b.pending
    ]
    small = extras.plan_permits(pop, present, TODAY, 11, emps, max_holders=10)
    assert len(small.grants) <= 10


def test_replace_clears_permits_and_checks_and_unlinks_accounts(
    engine: Engine, tmp_path: Path, _fast_hashing: None
) -> None:
    small = SynthConfig(persons=120, start=date(2026, 3, 1), end=date(2026, 6, 30), seed=5)
    keys = KeyStore(tmp_path, "LS")
    synthesise(small, node="LS", engine=engine, extras_keys=keys)
    ensure_demo_accounts(engine, "LS", small.end)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Permit))
    synthesise(small, node="LS", engine=engine, replace=True, extras_keys=keys)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 120
        worker = s.scalars(select(User).where(User.username == "worker")).one()
        assert worker.person_id is None  # its person is gone; the account stays
        # New permits for the new people (the old ones went with their holders).
        holders = set(s.scalars(select(Permit.person_id)))
        assert holders and holders <= set(s.scalars(select(Person.id)))
    logins = {login.username for login in ensure_demo_accounts(engine, "LS", small.end)}
    assert "worker" in logins
    with session_factory(engine)() as s:
        assert s.scalars(select(User.person_id).where(User.username == "worker")).one()


def test_the_documents_the_demo_suggests_show_what_it_says(
    world: World, border: tuple[TestClient, dict[str, str]]
) -> None:
    with session_factory(world.engine)() as s:
        samples = extras.border_samples(s, TODAY)
    kinds = Counter(x.what.split(" ")[0] for x in samples)
    assert kinds["on"] >= 2 and kinds["passport"] >= 1 and kinds["holds"] == 1
    for x in samples:
        out = _check(border, x.issuing_state, x.number)
        codes = {r["code"] for r in out["reasons"]}
        if x.what.startswith("on "):
            assert x.what[4:-1] in {h["list"] for h in out["watchlist_hits"]}
        elif x.what.startswith("passport reported stolen"):
            assert "document.stolen" in codes and out["decision"] != "CLEAR"
        elif x.what.startswith("holds"):
            assert [p["permit_type"] for p in out["permits"]] == ["LEP"]
        else:
            assert x.what == "permit revoked"
            assert any("was revoked" in r["message"] for r in out["reasons"])
