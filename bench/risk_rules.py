"""What the risk rules (issue 18, item 5) add to a border check: the whole check
(``services.checks.run_check``) timed with every rule on, with every rule switched off by a
supervisor, and without the risk step at all, in the same run, on the same travellers.

    .venv/bin/python bench/risk_rules.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/risk_rules.py --backend sqlite --checks 3000

The Lesotho node checks travellers at Maseru Bridge (10:30 or 20:30 at the border) from a
scratch database: ``--travellers`` travellers with a year of crossings each (a stay of 2-40
days, then 1-10 days out), a quarter of them also checked at Ficksburg Bridge half an hour
before, a quarter refused by the South African node in the last week, a tenth of them
children travelling alone. Many checks hit a rule, so the rules do their whole work (facts
gathered, reasons made, hits written). Each check runs in its own transaction and is rolled
back, so every round sees the same data. The three ways alternate in rounds of 50 checks, so
drift of the machine (other jobs, caches) falls on all three alike. PostgreSQL: a scratch
schema in the test database (``TSELA_TEST_PG_URL``), dropped at the end.

Prints p50 / p95 / p99 of a check in each way, and the difference the rules make.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import Engine, create_engine, select, text

from tsela.domain.risk import RULE_IDS
from tsela.domain.values import Decision, Direction, Role, Sex
from tsela.ids import new_id
from tsela.kernel.actor import Actor
from tsela.services import checks, refusals
from tsela.services import risk as risk_service
from tsela.services.children import ChildTravel
from tsela.services.setup import seed_ports
from tsela.store.checks import BorderCheck
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument
from tsela.store.risk import RiskRuleSetting

PG_URL = os.environ.get("TSELA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DAY = datetime(2026, 5, 12, 8, 30, tzinfo=UTC)  # 10:30 at the border
NIGHT = datetime(2026, 5, 12, 18, 30, tzinfo=UTC)  # 20:30
WAYS = ("rules on", "rules off", "no risk step")


def populate(engine: Engine, travellers: int, seed: int) -> list[tuple[str, bool, datetime]]:
    """The travellers; for each, (document number, a child alone?, the check's time)."""
    rng = random.Random(seed)
    out = []
    with transaction(session_factory(engine)) as s:
        ports = dict(s.execute(select(PortOfEntry.code, PortOfEntry.id)).all())
        msu, fkb = ports["MSU"], ports["FKB"]
        people, docs, crossings, refusal_rows, earlier = [], [], [], [], []
        for i in range(travellers):
            child = i % 10 == 0
            number = f"RB{i:07d}"
            person = Person(
                id=new_id(), node="LS", primary_name=f"MOKOENA{i}", given_names="LINEO",
                sex=Sex.FEMALE, nationality="ZAF",
                birth_date=date(2014, 3, 1) if child else date(1985 + i % 20, 3, 14),
            )  # fmt: skip
            doc = TravelDocument(
                id=new_id(), node="LS", person_id=person.id, document_type="P",
                issuing_state="ZAF", number=number, expiry_date=date(2031, 1, 1),
            )  # fmt: skip
            people.append(person)
            docs.append(doc)
            at = NIGHT if child else DAY
            moment = at - timedelta(days=365)
            while moment < at - timedelta(days=12):  # a year of stays, out for 1-10 days
                crossings.append((person.id, doc.id, Direction.ENTRY, moment))
                moment += timedelta(days=rng.randint(2, 40), hours=rng.randint(0, 6))
                if moment >= at - timedelta(days=1):
                    break
                crossings.append((person.id, doc.id, Direction.EXIT, moment))
                moment += timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 6))
            if crossings[-1][2] is Direction.ENTRY:  # left before this entry
                crossings.append((person.id, doc.id, Direction.EXIT, at - timedelta(hours=30)))
            if i % 4 == 1:  # checked at Ficksburg Bridge half an hour before
                earlier.append((person.id, doc.id, at - timedelta(minutes=30)))
            if i % 4 == 2:  # refused by the South African node three days before
                refusal_rows.append(
                    {
                        "id": str(new_id()), "node": "ZA", "surname": person.primary_name,
                        "given_names": "LINEO", "birth_date": person.birth_date.isoformat(),
                        "nationality": "ZAF", "document_country": "ZAF",
                        "document_number": number, "country": "ZAF", "port_code": "FKB",
                        "refused_at": (at - timedelta(days=3)).isoformat(), "grounds": ["C"],
                    }
                )  # fmt: skip
            out.append((number, child, at))
        s.add_all(people)
        s.flush()
        s.add_all(docs)
        s.flush()
        s.add_all(
            Crossing(node="LS", person_id=p, document_id=d, port_id=msu, direction=w,
                     country="LSO", crossed_at=t)
            for p, d, w, t in crossings
        )  # fmt: skip
        s.add_all(
            BorderCheck(node="LS", port_id=fkb, person_id=p, document_id=d,
                        direction=Direction.ENTRY, country="LSO", checked_at=t,
                        decision=Decision.CLEAR, reasons=[])
            for p, d, t in earlier
        )  # fmt: skip
        refusals.apply_partner_refusals(s, "ZA", refusal_rows)
        print(f"  {travellers} travellers, {len(crossings)} crossings, {len(earlier)} checks "
              f"at another port, {len(refusal_rows)} refusals by the partner")  # fmt: skip
    return out


def set_all(engine: Engine, mode: str) -> None:
    with transaction(session_factory(engine)) as s:
        s.execute(RiskRuleSetting.__table__.delete())
        if mode != "default":
            for rule in RULE_IDS:
                s.add(
                    RiskRuleSetting(
                        node="LS", rule=rule, mode=mode, changed_by="b", reason="b", updated_at=DAY
                    )
                )


def run(engine: Engine, people: list[tuple[str, bool, datetime]], checks_n: int) -> None:
    officer = Actor("bench", Role.SUPERVISOR, "LS")
    factory = session_factory(engine)
    real_at_check = risk_service.at_check
    real_record, real_fresh = risk_service.record_hits, risk_service.fresh_hits
    step = [0.0, 0.0]  # the risk step's own time in the check under way: wall, CPU

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def inner(*args: Any, **kwargs: Any) -> Any:
            start, start_cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                step[0] += time.perf_counter() - start
                step[1] += time.thread_time() - start_cpu

        return inner

    risk_service.record_hits = timed(real_record)  # type: ignore[assignment]
    risk_service.fresh_hits = timed(real_fresh)  # type: ignore[assignment]
    own: dict[str, list[float]] = {w: [] for w in WAYS}
    own_cpu: dict[str, list[float]] = {w: [] for w in WAYS}
    samples: dict[str, list[float]] = {w: [] for w in WAYS}
    cpu: dict[str, list[float]] = {w: [] for w in WAYS}
    hits: dict[str, int] = {w: 0 for w in WAYS}
    order = list(range(len(people)))

    def one(i: int) -> tuple[float, float, int]:
        number, child, at = people[i]
        alone = ChildTravel("alone", ("birth_certificate",)) if child else None
        request = checks.CheckRequest(
            port="MSU", direction=Direction.ENTRY, at=at, document_number=number,
            issuing_state="ZAF", child=alone,
        )  # fmt: skip
        step[:] = [0.0, 0.0]
        with factory() as s:
            start, start_cpu = time.perf_counter(), time.thread_time()
            result = checks.run_check(s, node="LS", officer=officer, request=request, now=at)
            elapsed, used = time.perf_counter() - start, time.thread_time() - start_cpu
            s.rollback()
        return elapsed, used, len(result.risk_hits)

    def way(name: str) -> Callable[[], None]:
        def enter() -> None:
            if name == "no risk step":
                risk_service.at_check = lambda *a, **k: risk_service.AtCheck()  # type: ignore[assignment]
            else:
                risk_service.at_check = timed(real_at_check)  # type: ignore[assignment]
                set_all(engine, "off" if name == "rules off" else "default")

        return enter

    rng = random.Random(7)
    for i in range(200):  # warm up every way (statement caches, the port table)
        way(WAYS[i % 3])()
        one(i % len(people))
    done = 0
    while done < checks_n:
        for name in WAYS:
            way(name)()
            rng.shuffle(order)
            for i in order[:50]:
                elapsed, used, n = one(i)
                samples[name].append(elapsed * 1000)
                cpu[name].append(used * 1000)
                own[name].append(step[0] * 1000)
                own_cpu[name].append(step[1] * 1000)
                hits[name] += n
        done += 50
    risk_service.at_check = real_at_check  # type: ignore[assignment]
    risk_service.record_hits = real_record  # type: ignore[assignment]
    risk_service.fresh_hits = real_fresh  # type: ignore[assignment]

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=1000)[int(q * 10) - 1]

    print(f"  load average during the run: {os.getloadavg()[0]:.1f} (2 cores: above ~2, other "
          f"jobs share the processors and every round trip waits its turn)")  # fmt: skip
    print(f"  {'way':<14} {'checks':>6} {'hits':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
          f"   {'CPU p50':>7} {'CPU p99':>7}")  # fmt: skip
    figures, cpus = {}, {}
    for name in WAYS:
        v = samples[name]
        figures[name] = (pct(v, 50), pct(v, 95), pct(v, 99))
        cpus[name] = (pct(cpu[name], 50), pct(cpu[name], 99))
        p50, p95, p99 = figures[name]
        c50, c99 = cpus[name]
        print(f"  {name:<14} {len(v):>6} {hits[name]:>6} {p50:>7.2f} {p95:>7.2f} {p99:>7.2f}"
              f"   {c50:>7.2f} {c99:>7.2f}")  # fmt: skip
    on, none, off = figures["rules on"], figures["no risk step"], figures["rules off"]
    print(f"  the rules add (wall): p50 {on[0] - none[0]:+.2f} ms, p99 {on[2] - none[2]:+.2f} ms "
          f"(switched off: p50 {off[0] - none[0]:+.2f}, p99 {off[2] - none[2]:+.2f}); "
          f"target: < 2 ms at p99")  # fmt: skip
    for name in ("rules on", "rules off"):
        v, c = own[name], own_cpu[name]
        wall = f"wall p50 {pct(v, 50):.2f} / p95 {pct(v, 95):.2f} / p99 {pct(v, 99):.2f} ms"
        used = f"CPU p50 {pct(c, 50):.2f} / p99 {pct(c, 99):.2f} ms"
        print(f"  the risk step alone, {name}: {wall}; {used}")
    con, cnone = cpus["rules on"], cpus["no risk step"]
    print(f"  the rules add (this process's CPU): p50 {con[0] - cnone[0]:+.2f} ms, "
          f"p99 {con[1] - cnone[1]:+.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--travellers", type=int, default=400)
    parser.add_argument("--checks", type=int, default=2000, help="per way")
    args = parser.parse_args()
    print(f"risk rules at the check: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {date.today()}")  # fmt: skip
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        print(f"\n{backend}:")
        if backend == "sqlite":
            with TemporaryDirectory() as tmp:
                engine = make_engine(f"sqlite:///{Path(tmp) / 'risk.db'}")
                migrate(engine)
                seed_ports(engine, "LS")
                run(engine, populate(engine, args.travellers, 1), args.checks)
                engine.dispose()
            continue
        schema = f"bench_risk_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL)
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as exc:  # no PostgreSQL here: say so, go on
            print(f"  skipped: {exc}", file=sys.stderr)
            continue
        try:
            engine = make_engine(PG_URL, schema=schema)
            migrate(engine)
            seed_ports(engine, "LS")
            people = populate(engine, args.travellers, 1)
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            run(engine, people, args.checks)
            engine.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
