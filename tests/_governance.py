"""Helpers shared by the governance tests (not collected: the name starts with _)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import Engine

from tsela.services import governance as g
from tsela.services import governance_import as gi
from tsela.store.db import session_factory, transaction

SECRETARIAT = g.operator("cli:test", "LS")
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def load_bodies(engine: Engine) -> None:
    with transaction(session_factory(engine)) as s:
        g.load_bodies(s, SECRETARIAT, "LS")


def plan_row(code: str, **kw: str) -> dict[str, str]:
    """One plan row with sensible defaults; keywords override columns."""
    row = {
        "instrument_code": "NCC-SP",
        "instrument_kind": "strategic_plan",
        "instrument_title": "NCC strategic plan",
        "body": "NCC",
        "objective_code": "S1",
        "objective_title": "Shared evidence",
        "activity_code": code,
        "activity_title": f"Activity {code}",
        "owner": "LS-HOME",
        "start": "2026-01-01",
        "due": "2026-06-30",
    }
    row.update(kw)
    return row


def plan_csv(rows: list[dict[str, str]], columns: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=columns or list(gi.PLAN_COLUMNS), lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def import_rows(engine: Engine, rows: list[dict[str, str]], now: datetime = NOW) -> gi.ImportReport:
    raw = gi.read_csv_text(plan_csv(rows), gi.PLAN_COLUMNS, "plan.csv")
    with transaction(session_factory(engine)) as s:
        return gi.import_plan(s, SECRETARIAT, "LS", raw, now, "plan.csv")
