"""Loading plans from spreadsheets: good rows kept, bad rows named by line, on both back ends."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select

from _governance import NOW, SECRETARIAT, import_rows, load_bodies, plan_csv, plan_row
from tsela.domain.governance import GovernanceError, Status
from tsela.services import governance as g
from tsela.services import governance_import as gi
from tsela.store.db import session_factory, transaction
from tsela.store.governance import (
    Activity,
    ActivityDependency,
    IndicatorTarget,
    Instrument,
    Meeting,
    Objective,
)
from tsela.store.models import AuditEvent


@pytest.fixture
def bodies(engine: Engine) -> Engine:
    load_bodies(engine)
    return engine


def _codes(engine: Engine) -> list[str]:
    with session_factory(engine)() as s:
        return sorted(s.scalars(select(Activity.code)))


def test_the_example_plan_loads_whole_and_is_marked_example(bodies: Engine) -> None:
    text = gi.example_plan_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and all("EXAMPLE" in r["remarks"] for r in rows)
    assert all(r["instrument_title"].startswith("EXAMPLE") for r in rows)
    kinds = {r["instrument_kind"] for r in rows}
    assert {"terms_of_reference", "strategic_plan", "activity_plan", "advocacy_strategy"} <= kinds
    with transaction(session_factory(bodies)) as s:
        report = gi.import_plan(
            s, SECRETARIAT, "LS", gi.read_csv_text(text, gi.PLAN_COLUMNS, "x"), NOW, "example"
        )
    assert report.errors == []
    assert sorted(report.created) == sorted(r["activity_code"] for r in rows)
    assert _codes(bodies) == sorted(r["activity_code"] for r in rows)
    with session_factory(bodies)() as s:
        titles = set(s.scalars(select(Instrument.title)))
        bnc = s.scalars(select(Meeting).join(Meeting.body).where(Meeting.place == "Maseru")).all()
    assert titles == {r["instrument_title"] for r in rows}
    assert date(2025, 4, 23) in {m.held_on for m in bnc}  # the session the BNC items came from
    # Importing it again adds nothing and says why, line by line.
    with transaction(session_factory(bodies)) as s:
        again = gi.import_plan(
            s, SECRETARIAT, "LS", gi.read_csv_text(text, gi.PLAN_COLUMNS, "x"), NOW, "example"
        )
    assert again.created == []
    assert [e.line for e in again.errors] == list(range(2, len(rows) + 2))
    assert all("already exists" in e.message for e in again.errors)


def test_bad_rows_are_reported_by_line_and_good_rows_kept(bodies: Engine) -> None:
    rows = [
        plan_row("A1"),  # line 2: good
        plan_row("A2", start="2026-05-01", due="2026-04-30"),  # 3
        plan_row("A3", owner="LS-NOWHERE"),  # 4
        plan_row("A4", status="done"),  # 5: no note
        plan_row("A6", depends_on="A7"),  # 6: cycle with line 7
        plan_row("A7", depends_on="A6"),  # 7
        plan_row("A8", depends_on="A3"),  # 8: depends on a refused row
        plan_row("A10", due="31/06/2026"),  # 9
        plan_row("A1", activity_title="again"),  # 10: duplicate code
        plan_row("A9", depends_on="A1", status="at risk", note="funds late"),  # 11: good
        plan_row("A11", instrument_title="Another title"),  # 12: instrument differs
        plan_row("A12", indicator="crossings.daily_mood", baseline="1", target="2"),  # 13
        plan_row("A13", depends_on="A404"),  # 14
    ]
    report = import_rows(bodies, rows)
    assert sorted(report.created) == ["A1", "A9"]
    errors = {e.line: e.message for e in report.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14]
    assert "due date 2026-04-30 is before the start date 2026-05-01" in errors[3]
    assert "owner 'LS-NOWHERE' does not exist" in errors[4]
    assert "status done needs a note" in errors[5]
    assert "circular dependency between activities" in errors[6]
    assert "A6" in errors[7] and "A7" in errors[7]
    assert "depends on A3 (line 4), which is refused" in errors[8]
    assert "due '31/06/2026' is not a date" in errors[9]
    assert "activity A1 is already on line 2" in errors[10]
    assert "differs from line 2" in errors[12]
    assert "unknown indicator 'crossings.daily_mood'" in errors[13]
    assert "depends on unknown activity A404" in errors[14]
    assert _codes(bodies) == ["A1", "A9"]
    with session_factory(bodies)() as s:
        a9 = g.activity_by_code(s, "A9")
        deps = s.scalars(
            select(ActivityDependency.depends_on_id).where(ActivityDependency.activity_id == a9.id)
        ).all()
        assert deps == [g.activity_by_code(s, "A1").id]
        assert a9.status is Status.AT_RISK
        assert [n.text for n in a9.notes] == ["funds late"]
        audit = s.scalars(select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)).all()
    (summary,) = [e for e in audit if e.action == "governance.plan.import"]
    assert sorted(summary.detail["activities"]) == ["A1", "A9"]
    assert summary.detail["instruments"] == ["NCC-SP"]
    assert summary.detail["objectives"] == ["NCC-SP/S1"]
    assert summary.detail["refused_lines"] == sorted(errors)
    assert summary.actor == "cli:test"


def test_a_row_that_fails_several_checks_lists_every_reason(bodies: Engine) -> None:
    report = import_rows(
        bodies, [plan_row("B1", owner="", start="soon", status="dropped", public="maybe")]
    )
    (error,) = report.errors
    for reason in ("owner is empty", "start 'soon' is not a date", "needs a note", "public"):
        assert reason in error.message


def test_an_xlsx_plan_with_real_date_and_number_cells(bodies: Engine, tmp_path: Path) -> None:
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    columns = list(gi.PLAN_COLUMNS)
    sheet.append(columns)

    def add(**kw: object) -> None:
        row: dict[str, object] = dict(plan_row("X"))
        row.update(kw)
        sheet.append([row.get(c) for c in columns])

    add(activity_code="X1", start=datetime(2026, 1, 5), due=datetime(2026, 3, 31),
        indicator="crossings.monthly_count", indicator_params="port=msu", baseline=1200,
        target=1500.0, unit="crossings")  # fmt: skip
    sheet.append([None] * len(columns))  # a blank row in between is skipped
    add(activity_code="X2", start=datetime(2026, 4, 1), due=datetime(2026, 3, 1))
    add(activity_code="X3", start=datetime(2026, 4, 1), due=datetime(2026, 9, 1), owner="ZA-BMA")
    path = tmp_path / "plan.xlsx"
    wb.save(path)
    with transaction(session_factory(bodies)) as s:
        report = gi.import_plan(
            s, SECRETARIAT, "LS", gi.read_table(path, gi.PLAN_COLUMNS), NOW, path.name
        )
    assert sorted(report.created) == ["X1", "X3"]
    assert [(e.line, "before the start date" in e.message) for e in report.errors] == [(4, True)]
    with session_factory(bodies)() as s:
        x1 = g.activity_by_code(s, "X1")
        assert (x1.start_date, x1.due_date) == (date(2026, 1, 5), date(2026, 3, 31))
        target = s.scalars(select(IndicatorTarget)).one()
    assert (target.indicator_id, target.params, target.baseline, target.target) == (
        "crossings.monthly_count",
        "port=msu",
        1200.0,
        1500.0,
    )


def test_the_template_round_trips_through_xlsx(bodies: Engine, tmp_path: Path) -> None:
    path = tmp_path / "example.xlsx"
    gi.write_template(path, example=True)
    rows = gi.read_table(path, gi.PLAN_COLUMNS)
    from_csv = gi.read_csv_text(gi.example_plan_text(), gi.PLAN_COLUMNS, "x")
    assert [r for _, r in rows] == [r for _, r in from_csv]
    empty = tmp_path / "empty.csv"
    gi.write_template(empty)
    assert empty.read_text().strip() == ",".join(gi.PLAN_COLUMNS)


def test_a_header_without_required_columns_is_refused_whole(bodies: Engine) -> None:
    text = plan_csv([plan_row("C1")], columns=[c for c in plan_row("C1") if c != "due"])
    with pytest.raises(GovernanceError, match=r"plan.csv: missing column\(s\) due"):
        gi.read_csv_text(text, gi.PLAN_COLUMNS, "plan.csv")
    typo = text.replace("owner", "ownr", 1)
    with pytest.raises(GovernanceError, match=r"unknown column\(s\) ownr"):
        gi.read_csv_text(typo, gi.PLAN_COLUMNS, "plan.csv")


def test_line_numbers_count_physical_lines_and_semicolons_work(bodies: Engine) -> None:
    rows = [
        plan_row("D1", activity_title="Two-line\ntitle"),  # lines 2-3
        plan_row("D2", due="2025-01-01"),  # line 4: before its start
    ]
    text = plan_csv(rows)
    report = import_rows(bodies, rows)
    assert [e.line for e in report.errors] == [4]
    semi = gi.read_csv_text(text.replace(",", ";"), gi.PLAN_COLUMNS, "plan.csv")
    assert [line for line, _ in semi] == [2, 4]


def test_unreadable_files_get_one_clear_line(tmp_path: Path) -> None:
    latin = tmp_path / "plan.csv"
    latin.write_bytes(plan_csv([plan_row("É1")]).encode("latin-1"))
    with pytest.raises(GovernanceError, match="not UTF-8 text"):
        gi.read_table(latin, gi.PLAN_COLUMNS)
    fake = tmp_path / "plan.xlsx"
    fake.write_text("not a workbook")
    with pytest.raises(GovernanceError, match="not a readable XLSX workbook"):
        gi.read_table(fake, gi.PLAN_COLUMNS)
    with pytest.raises(GovernanceError, match=r"expected a \.csv or \.xlsx"):
        (tmp_path / "plan.doc").write_text("x")
        gi.read_table(tmp_path / "plan.doc", gi.PLAN_COLUMNS)


def test_closed_dates_are_kept_and_checked(bodies: Engine) -> None:
    report = import_rows(
        bodies,
        [
            plan_row("E1", status="done", note="signed", closed_on="2026-05-02"),
            plan_row("E2", status="done", note="signed", closed_on="2027-01-01"),
            plan_row("E3", status="on track", closed_on="2026-05-02"),
        ],
    )
    assert report.created == ["E1"]
    assert {e.line: e.message for e in report.errors} == {
        3: "closed_on 2027-01-01 is in the future",
        4: "closed_on is given but the status is on track",
    }
    with session_factory(bodies)() as s:
        assert g.activity_by_code(s, "E1").closed_on == date(2026, 5, 2)


def test_rows_join_existing_instruments_and_objectives(bodies: Engine) -> None:
    assert import_rows(bodies, [plan_row("F1")]).created == ["F1"]
    second = import_rows(
        bodies,
        [
            plan_row("F2"),
            plan_row("F3", objective_title="A different title for S1"),
            plan_row("F4", instrument_kind="resolution"),
        ],
    )
    assert second.created == ["F2"]
    errors = {e.line: e.message for e in second.errors}
    assert "objective S1 of NCC-SP already exists as 'Shared evidence'" in errors[3]
    assert "instrument NCC-SP already exists as strategic_plan" in errors[4]
    with session_factory(bodies)() as s:
        assert s.scalars(select(Objective.code)).all() == ["S1"]
        assert len(s.scalars(select(Objective)).one().activities) == 2
