"""How long do importing a plan, the review and the road-map report take?

Compares, in the same run:
- import: Tsela's ``import_plan`` (every row checked, then the good rows written in one
  transaction) against the obvious alternative, one import call and one transaction per
  row (what a loop over the spreadsheet would do); both on the same synthetic plan;
- review before a session: ``governance.review`` over the whole plan;
- the report: HTML (with the Altair/vl-convert SVG charts) and PDF (WeasyPrint).

    .venv/bin/python bench/governance_bench.py                    # 1,000-row plan, SQLite
    .venv/bin/python bench/governance_bench.py --size 5000 --pg postgresql+psycopg://postgres@127.0.0.1/test

The report is timed on one instrument of 60 activities (a realistic session report).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from tsela.services import governance as g
from tsela.services import governance_import as gi
from tsela.services import governance_report as gr
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate, session_factory, transaction

NOW = datetime(2026, 11, 25, 8, tzinfo=UTC)
ACTOR = g.operator("bench")
OWNERS = ["LS-HOME", "LS-LABOUR", "LS-BOS", "ZA-DHA", "ZA-BMA", "ZA-SAPS", "NCC-SECR"]


def plan_rows(n: int, prefix: str, per_instrument: int = 200, body: str = "NCC") -> gi.Rows:
    """n activities: 5 objectives per instrument, each activity depending on the one before
    it in its objective, dates spread over three years."""
    rows: gi.Rows = []
    for i in range(n):
        inst, k = divmod(i, per_instrument)
        obj = k % 5
        start = date(2025, 1, 1) + timedelta(days=(i * 7) % 900)
        row = {
            "instrument_code": f"{prefix}-I{inst}",
            "instrument_kind": "activity_plan",
            "instrument_title": f"Plan {inst}",
            "body": body,
            "adopted_on": "2025-03-13",
            "objective_code": f"O{obj}",
            "objective_title": f"Objective {obj}",
            "activity_code": f"{prefix}-A{i}",
            "activity_title": f"Activity number {i} of the plan",
            "owner": OWNERS[i % len(OWNERS)],
            "start": start.isoformat(),
            "due": (start + timedelta(days=60 + i % 300)).isoformat(),
            "depends_on": f"{prefix}-A{i - 5}" if k >= 5 else "",
        }
        rows.append((i + 2, row))
    return rows


def timed(label: str, func, *args):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    result = func(*args)
    elapsed = time.perf_counter() - t0
    return label, elapsed, result


def bench(engine: Engine, backend: str, size: int) -> list[tuple[str, str, int, float]]:
    migrate(engine)
    seed_ports(engine, "LS")
    factory = session_factory(engine)
    with transaction(factory) as s:
        g.load_bodies(s, ACTOR, "LS")
    out = []

    def batched() -> gi.ImportReport:
        with transaction(factory) as s:
            return gi.import_plan(s, ACTOR, "LS", plan_rows(size, "B"), NOW, "bench")

    _, t, report = timed("batched", batched)
    assert len(report.created) == size, report.errors[:3]
    out.append((backend, "import, checked then one transaction", size, t))

    per_row_n = min(size, 300)  # the slow path on a sample; rows/s is what compares

    def per_row() -> int:
        done = 0
        for row in plan_rows(per_row_n, "R"):
            with transaction(factory) as s:
                done += len(gi.import_plan(s, ACTOR, "LS", [row], NOW, "bench").created)
        return done

    _, t, done = timed("per row", per_row)
    assert done == per_row_n
    out.append((backend, "import, one transaction per row", per_row_n, t))

    with factory() as s:
        _, t, br = timed("review", g.review, s, ACTOR, "NCC", NOW)
    out.append((backend, "review (all activities)", len(br.activities), t))

    # A session-sized report: one instrument of 60 activities, adopted by its own body.
    with transaction(factory) as s:
        g.add_body(s, ACTOR, "LS", g.BodyInput("BENCH", "Bench committee", "committee"))
        rows = plan_rows(60, "S", per_instrument=60, body="BENCH")
        assert not gi.import_plan(s, ACTOR, "LS", rows, NOW, "bench").errors
    with factory() as s:
        _, t_build, rep = timed("build", gr.build_report, s, ACTOR, "BENCH", NOW)
        _, t_html, _ = timed("html", gr.report_html, rep)
        _, t_pdf, pdf = timed("pdf", gr.report_pdf, rep)
    out.append((backend, "report data + SVG chart (60 activities)", 60, t_build))
    out.append((backend, "report HTML from data", 60, t_html))
    out.append((backend, f"report PDF from data ({len(pdf) // 1024} KiB)", 60, t_pdf))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="activities in the plan")
    parser.add_argument("--pg", help="also run on this PostgreSQL URL (in a scratch schema)")
    args = parser.parse_args()
    print(f"{date.today()} {platform.machine()} {platform.python_version()}, plan of {args.size}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        results += bench(engine, "SQLite", args.size)
        engine.dispose()
    if args.pg:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            engine = make_engine(args.pg, schema=schema)
            results += bench(engine, "PostgreSQL", args.size)
            engine.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    print("| back end | what | rows | time | rows/s |\n|---|---|---:|---:|---:|")
    for backend, what, n, t in results:
        print(f"| {backend} | {what} | {n:,} | {t:.2f} s | {n / t:,.0f} |")


if __name__ == "__main__":
    main()
