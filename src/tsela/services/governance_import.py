"""Load a plan from a spreadsheet (CSV or XLSX), keeping the good rows and naming the bad.

One row is one activity, with the instrument, objective and (optional) output it belongs
to; the column layout is documented in ``docs/governance.md`` and in ``PLAN_COLUMNS``.
Every row is checked first; then the good rows are written in the caller's transaction,
so a file's good rows land together or not at all. Bad rows come back with their line
number (the spreadsheet row number for XLSX) and every reason.

Importing adds: an activity code that already exists is refused. Changes to an existing
plan go through ``tsela governance update`` (progress) or the API (re-planning).
"""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain.governance import (
    CLOSED,
    NOTE_REQUIRED_TO,
    GovernanceError,
    InstrumentKind,
    Status,
    find_cycle,
    local_today,
    parse_choice,
    parse_status,
)
from tsela.ids import new_id
from tsela.kernel.actor import Actor
from tsela.services import indicators
from tsela.services.governance import (
    LineError,
    dependency_graph,
    load_bodies,
    record_change,
    require_secretariat,
)
from tsela.store.governance import (
    Activity,
    ActivityDependency,
    Body,
    IndicatorTarget,
    Instrument,
    Meeting,
    Objective,
    Output,
    ProgressNote,
)

# column -> required?
PLAN_COLUMNS: dict[str, bool] = {
    "instrument_code": True,
    "instrument_kind": True,
    "instrument_title": True,
    "body": True,
    "adopted_on": False,
    "meeting_place": False,
    "source": False,
    "instrument_text": False,
    "objective_code": True,
    "objective_title": True,
    "output_code": False,
    "output_title": False,
    "activity_code": True,
    "activity_title": True,
    "owner": True,
    "start": True,
    "due": True,
    "status": False,
    "note": False,
    "closed_on": False,
    "depends_on": False,
    "public": False,
    "indicator": False,
    "indicator_params": False,
    "baseline": False,
    "target": False,
    "target_on": False,
    "unit": False,
    "remarks": False,  # free text for people; ignored
}

NOTE_FILE_COLUMNS: dict[str, bool] = {
    "activity": True,
    "status": False,
    "note": False,
    "evidence": False,
    "evidence_description": False,
}

Rows = list[tuple[int, dict[str, str]]]


# --- Reading CSV and XLSX ---------------------------------------------------------------


def _header(raw: Iterable[Any]) -> list[str]:
    return ["_".join(str(h or "").strip().lower().split()) for h in raw]


def _check_header(header: list[str], columns: Mapping[str, bool], name: str) -> None:
    if not any(header):
        raise GovernanceError(f"{name}: the first row must name the columns")
    unknown = [h for h in header if h and h not in columns]
    missing = [c for c, required in columns.items() if required and c not in header]
    dup = sorted({h for h in header if h and header.count(h) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}")
    if dup:
        problems.append(f"repeated column(s) {', '.join(dup)}")
    if problems:
        raise GovernanceError(f"{name}: {'; '.join(problems)} (columns are: {', '.join(columns)})")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(path: Path, columns: Mapping[str, bool]) -> Rows:
    """Rows of a CSV or XLSX file as (line, {column: text}), blank rows skipped."""
    name = path.name
    suffix = path.suffix.lower()
    if not path.is_file():
        raise GovernanceError(f"{path}: no such file")
    if suffix == ".xlsx":
        return _read_xlsx(path, columns)
    if suffix not in (".csv", ".txt"):
        raise GovernanceError(f"{name}: expected a .csv or .xlsx file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GovernanceError(
            f"{name}: not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8'"
        ) from None
    return read_csv_text(text, columns, name)


def read_csv_text(text: str, columns: Mapping[str, bool], name: str) -> Rows:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # Excel in some locales
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = _header(next(reader))
    except StopIteration:
        raise GovernanceError(f"{name}: the file is empty") from None
    _check_header(header, columns, name)
    rows: Rows = []
    line = reader.line_num + 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            rows.extend(_row(start, header, cells))
    except csv.Error as exc:
        raise GovernanceError(f"{name}: line {line}: {exc}") from None
    return rows


def _row(line: int, header: list[str], cells: list[Any]) -> Rows:
    values = [_cell(c) for c in cells]
    if not any(values):
        return []
    if len(values) > len(header) and any(values[len(header) :]):
        # Reported as a row of its own kind; the caller rejects it.
        return [(line, {"__error__": f"{len(values)} cells but only {len(header)} columns"})]
    return [(line, {h: v for h, v in zip(header, values, strict=False) if h})]


def _read_xlsx(path: Path, columns: Mapping[str, bool]) -> Rows:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise GovernanceError(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    try:
        sheet = wb.worksheets[0]
        it = sheet.iter_rows(values_only=True)
        try:
            header = _header(next(it))
        except StopIteration:
            raise GovernanceError(f"{path.name}: the first sheet is empty") from None
        while header and not header[-1]:
            header.pop()
        _check_header(header, columns, path.name)
        rows: Rows = []
        for n, cells in enumerate(it, start=2):
            rows.extend(_row(n, header, list(cells)))
        return rows
    finally:
        wb.close()


# --- Checking rows ---------------------------------------------------------------------------


@dataclass
class PlanRow:
    line: int
    raw: dict[str, str]
    problems: list[str] = field(default_factory=list)
    kind: InstrumentKind | None = None
    adopted_on: date | None = None
    start: date | None = None
    due: date | None = None
    status: Status = Status.NOT_STARTED
    closed_on: date | None = None
    depends_on: list[str] = field(default_factory=list)
    public: bool = False
    params: dict[str, str] = field(default_factory=dict)
    baseline: float | None = None
    target: float | None = None
    target_on: date | None = None

    def get(self, column: str) -> str:
        return self.raw.get(column, "").strip()

    @property
    def code(self) -> str:
        return self.get("activity_code")

    @property
    def instrument(self) -> str:
        return self.get("instrument_code")

    @property
    def objective_key(self) -> tuple[str, str]:
        return (self.instrument, self.get("objective_code"))

    @property
    def ok(self) -> bool:
        return not self.problems


def _date(row: PlanRow, column: str) -> date | None:
    text = row.get(column)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        row.problems.append(f"{column} {text!r} is not a date (write YYYY-MM-DD)")
        return None


def _number(row: PlanRow, column: str) -> float | None:
    text = row.get(column).replace(" ", "")
    if not text:
        return None
    try:
        return float(text.rstrip("%"))
    except ValueError:
        row.problems.append(f"{column} {text!r} is not a number")
        return None


YES = {"yes", "y", "true", "1", "public"}
NO = {"", "no", "n", "false", "0", "private"}


def parse_row(line: int, raw: dict[str, str]) -> PlanRow:
    """Everything that can be checked about one row on its own."""
    row = PlanRow(line, raw)
    if "__error__" in raw:
        row.problems.append(raw["__error__"])
        return row
    for column, required in PLAN_COLUMNS.items():
        if required and not row.get(column):
            row.problems.append(f"{column} is empty")
    if row.get("output_code") and not row.get("output_title"):
        row.problems.append("output_title is empty (output_code is given)")
    for column, limit in (("instrument_code", 40), ("objective_code", 40), ("activity_code", 40)):
        if len(row.get(column)) > limit:
            row.problems.append(f"{column} is longer than {limit} characters")
    if row.get("instrument_kind"):
        try:
            row.kind = parse_choice(InstrumentKind, row.get("instrument_kind"), "instrument_kind")
        except GovernanceError as exc:
            row.problems.append(str(exc))
    row.adopted_on = _date(row, "adopted_on")
    row.start, row.due = _date(row, "start"), _date(row, "due")
    if row.start and row.due and row.due < row.start:
        row.problems.append(
            f"due date {row.due.isoformat()} is before the start date {row.start.isoformat()}"
        )
    if row.get("status"):
        try:
            row.status = parse_status(row.get("status"))
        except GovernanceError as exc:
            row.problems.append(str(exc))
    if row.status in NOTE_REQUIRED_TO and not row.get("note"):
        row.problems.append(f"status {row.status.label} needs a note saying why")
    row.closed_on = _date(row, "closed_on")
    if row.closed_on and row.status not in CLOSED:
        row.problems.append(f"closed_on is given but the status is {row.status.label}")
    row.depends_on = list(dict.fromkeys(c.strip() for c in row.get("depends_on").split(";")))
    row.depends_on = [c for c in row.depends_on if c]
    if row.code and row.code in row.depends_on:
        row.problems.append("an activity cannot depend on itself")
    public = row.get("public").lower()
    if public in YES | NO:
        row.public = public in YES
    else:
        row.problems.append(f"public {row.get('public')!r} must be yes or no")
    _parse_indicator(row)
    return row


def _parse_indicator(row: PlanRow) -> None:
    given = [
        c for c in ("indicator_params", "baseline", "target", "target_on", "unit") if row.get(c)
    ]
    if not row.get("indicator"):
        if given:
            row.problems.append(f"{', '.join(given)} given without an indicator")
        return
    try:
        row.params = indicators.parse_params(row.get("indicator_params"))
        indicators.validate(row.get("indicator"), row.params)
    except indicators.IndicatorError as exc:
        row.problems.append(str(exc))
    row.baseline, row.target = _number(row, "baseline"), _number(row, "target")
    for column in ("baseline", "target"):
        if not row.get(column):
            row.problems.append(f"{column} is empty (an indicator needs a baseline and a target)")
    row.target_on = _date(row, "target_on")


@dataclass
class ImportReport:
    rows: int
    created: list[str] = field(default_factory=list)  # activity codes
    instruments: list[str] = field(default_factory=list)  # instruments created
    errors: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _first_definitions(rows: list[PlanRow]) -> None:
    """The first row that names an instrument, objective, output or indicator defines it;
    a later row that says otherwise is refused (a typo would otherwise split a plan)."""
    seen: dict[tuple[str, ...], tuple[int, tuple[str, ...]]] = {}

    def agree(key: tuple[str, ...], value: tuple[str, ...], row: PlanRow, what: str) -> None:
        if key not in seen:
            seen[key] = (row.line, value)
            return
        line, first = seen[key]
        if first != value:
            row.problems.append(f"{what} differs from line {line} ({' / '.join(first)})")

    by_code: dict[str, int] = {}
    for row in rows:
        if row.code:
            if row.code in by_code:
                row.problems.append(f"activity {row.code} is already on line {by_code[row.code]}")
            else:
                by_code[row.code] = row.line
        if row.instrument:
            agree(
                ("i", row.instrument),
                (
                    row.get("instrument_kind").lower(),
                    row.get("instrument_title"),
                    row.get("body").upper(),
                    row.get("adopted_on"),
                ),
                row,
                f"instrument {row.instrument} (kind / title / body / adopted_on)",
            )
            for column in ("source", "instrument_text", "meeting_place"):
                if row.get(column):
                    agree(
                        ("i", row.instrument, column),
                        (row.get(column),),
                        row,
                        f"{column} of {row.instrument}",
                    )
        if row.get("objective_code"):
            agree(
                ("o", *row.objective_key),
                (row.get("objective_title"),),
                row,
                f"objective {row.get('objective_code')} title",
            )
        if row.get("output_code"):
            agree(
                ("u", *row.objective_key, row.get("output_code")),
                (row.get("output_title"),),
                row,
                f"output {row.get('output_code')} title",
            )
        if row.get("indicator"):
            agree(
                (
                    "x",
                    *row.objective_key,
                    row.get("indicator"),
                    indicators.format_params(row.params),
                ),
                (row.get("baseline"), row.get("target"), row.get("target_on"), row.get("unit")),
                row,
                f"indicator {row.get('indicator')} (baseline / target / target_on / unit)",
            )


def _against_store(session: Session, rows: list[PlanRow]) -> dict[str, Body]:
    """Check bodies, owners and codes against what is already stored."""
    body_by_code = {b.code: b for b in session.scalars(select(Body))}
    known = ", ".join(sorted(body_by_code)) or "none yet; run `tsela governance bodies --load`"
    codes = [r.code for r in rows if r.code]
    existing: set[str] = set()
    for i in range(0, len(codes), 500):
        existing.update(
            session.scalars(select(Activity.code).where(Activity.code.in_(codes[i : i + 500])))
        )
    instruments = {
        i.code: i
        for i in session.scalars(
            select(Instrument).where(Instrument.code.in_({r.instrument for r in rows}))
        )
    }
    objectives = {
        (o.instrument.code, o.code): o
        for o in session.scalars(
            select(Objective).join(Instrument).where(Instrument.code.in_(set(instruments)))
        )
    }
    for row in rows:
        for column in ("body", "owner"):
            code = row.get(column).upper()
            if code and code not in body_by_code:
                row.problems.append(
                    f"{column} {row.get(column)!r} does not exist (known bodies: {known})"
                )
        if row.code in existing:
            row.problems.append(f"activity {row.code} already exists (imported before?)")
        inst = instruments.get(row.instrument)
        if inst is not None:
            stored = (inst.kind.value, inst.title, inst.body.code)
            given = (
                row.kind.value if row.kind else "",
                row.get("instrument_title"),
                row.get("body").upper(),
            )
            if stored != given:
                row.problems.append(
                    f"instrument {inst.code} already exists as {inst.kind.value} "
                    f"{inst.title!r} of {inst.body.code}"
                )
        obj = objectives.get(row.objective_key)
        if obj is not None and obj.title != row.get("objective_title"):
            row.problems.append(
                f"objective {obj.code} of {row.instrument} already exists as {obj.title!r}"
            )
        if obj is not None and row.get("indicator"):
            for t in obj.indicators:
                same = t.indicator_id == row.get(
                    "indicator"
                ) and t.params == indicators.format_params(row.params)
                if same and (t.baseline, t.target) != (row.baseline, row.target):
                    row.problems.append(
                        f"indicator {t.indicator_id} of objective {obj.code} is already set "
                        f"(baseline {t.baseline:g}, target {t.target:g})"
                    )
    return body_by_code


def _dependencies(session: Session, rows: list[PlanRow]) -> None:
    """Refuse rows whose prerequisites are unknown or refused, and rows on a cycle."""
    stored = set(session.scalars(select(Activity.code)))
    while True:
        good = {r.code: r for r in rows if r.ok}
        bad_lines = {r.code: r.line for r in rows if not r.ok and r.code}
        changed = False
        for row in good.values():
            for dep in row.depends_on:
                if dep in good or dep in stored:
                    continue
                if dep in bad_lines:
                    row.problems.append(
                        f"depends on {dep} (line {bad_lines[dep]}), which is refused"
                    )
                else:
                    row.problems.append(f"depends on unknown activity {dep}")
                changed = True
                break
        if changed:
            continue
        # New activities can only close a cycle among themselves: nothing stored depends on them.
        graph: dict[str, list[str]] = {
            code: [d for d in r.depends_on if d in good] for code, r in good.items()
        }
        cycle = find_cycle(graph)
        if cycle is None:
            return
        chain = " -> ".join(cycle)
        for code in set(cycle):
            good[code].problems.append(f"circular dependency between activities: {chain}")


def check_plan(session: Session, raw_rows: Rows, now: datetime) -> list[PlanRow]:
    rows = [parse_row(line, raw) for line, raw in raw_rows]
    for row in rows:
        # The owner's today is not known yet; no time zone is ahead of UTC+14.
        if row.closed_on and row.closed_on > (now + timedelta(hours=14)).date():
            row.problems.append(f"closed_on {row.closed_on.isoformat()} is in the future")
    _first_definitions(rows)
    _against_store(session, rows)
    _dependencies(session, rows)
    return rows


def import_plan(
    session: Session, actor: Actor, node: str, raw_rows: Rows, now: datetime, source_name: str = ""
) -> ImportReport:
    """Check every row, then write the good ones (in the caller's transaction).

    The import is one change by one person: one audit event lists what it created
    (activities, instruments, objectives, sessions) and the lines it refused.
    """
    require_secretariat(actor, "import plans")
    if not raw_rows:
        raise GovernanceError(f"{source_name or 'the plan'}: no rows to import")
    rows = check_plan(session, raw_rows, now)
    report = ImportReport(rows=len(rows))
    report.errors = [LineError(r.line, "; ".join(r.problems)) for r in rows if not r.ok]
    good = [r for r in rows if r.ok]
    created: dict[str, list[str]] = {}
    if good:
        created = _Writer(session, actor, node, now).write(good)
        report.created = created["activities"]
        report.instruments = created["instruments"]
    record_change(
        session,
        actor,
        node,
        "plan.import",
        "gov_activity",
        "",
        {
            "file": source_name,
            "rows": report.rows,
            **created,
            "refused_lines": [e.line for e in report.errors],
        },
    )
    return report


class _Writer:
    """Writes checked rows: objects get their ids up front, so one flush stores them all."""

    def __init__(self, session: Session, actor: Actor, node: str, now: datetime) -> None:
        self.session, self.actor, self.node, self.now = session, actor, node, now
        self.created: dict[str, list[str]] = {
            k: [] for k in ("activities", "instruments", "objectives", "meetings")
        }

    def write(self, rows: list[PlanRow]) -> dict[str, list[str]]:
        s = self.session
        self.bodies = {b.code: b for b in s.scalars(select(Body))}
        codes = {r.instrument for r in rows}
        self.instruments = {
            i.code: i for i in s.scalars(select(Instrument).where(Instrument.code.in_(codes)))
        }
        self.objectives = {
            (o.instrument.code, o.code): o
            for o in s.scalars(select(Objective).join(Instrument).where(Instrument.code.in_(codes)))
        }
        self.outputs = {
            (o.objective.instrument.code, o.objective.code, o.code): o
            for o in s.scalars(
                select(Output).join(Objective).join(Instrument).where(Instrument.code.in_(codes))
            )
        }
        self.targets = {
            (t.objective_id, t.indicator_id, t.params)
            for obj in self.objectives.values()
            for t in obj.indicators
        }
        self.meetings: dict[tuple[str, date], Meeting] = {}
        activity_ids: dict[str, uuid.UUID] = {}
        for row in rows:
            activity_ids[row.code] = self._activity(row).id
        s.flush()
        stored = {code: id_ for code, id_ in s.execute(select(Activity.code, Activity.id))}
        for row in rows:
            for dep in row.depends_on:
                s.add(
                    ActivityDependency(
                        activity_id=activity_ids[row.code], depends_on_id=stored[dep]
                    )
                )
        s.flush()
        # The checks make a cycle impossible; this guards the invariant if they ever regress.
        assert find_cycle(dependency_graph(s)) is None
        return self.created

    def _activity(self, row: PlanRow) -> Activity:
        inst = self.instruments.get(row.instrument) or self._instrument(row)
        obj = self.objectives.get(row.objective_key)
        if obj is None:
            obj = Objective(
                id=new_id(),
                node=self.node,
                instrument=inst,
                code=row.get("objective_code"),
                title=row.get("objective_title"),
            )
            self.session.add(obj)
            self.objectives[row.objective_key] = obj
            self.created["objectives"].append(f"{inst.code}/{obj.code}")
        output = None
        if row.get("output_code"):
            key = (*row.objective_key, row.get("output_code"))
            output = self.outputs.get(key)
            if output is None:
                output = Output(
                    node=self.node,
                    objective=obj,
                    code=row.get("output_code"),
                    title=row.get("output_title"),
                )
                self.outputs[key] = output
        if row.get("indicator"):
            self._indicator(obj, row)
        owner = self.bodies[row.get("owner").upper()]
        assert row.start is not None and row.due is not None  # checked in parse_row
        activity = Activity(
            id=new_id(),
            node=self.node,
            code=row.code,
            title=row.get("activity_title"),
            objective=obj,
            output=output,
            owner=owner,
            start_date=row.start,
            due_date=row.due,
            status=row.status,
            closed_on=(row.closed_on or local_today(self.now, owner.timezone))
            if row.status in CLOSED
            else None,
            public=row.public,
            updated_at=self.now,
        )
        self.session.add(activity)
        if row.get("note"):
            self.session.add(
                ProgressNote(
                    node=self.node,
                    activity=activity,
                    written_at=self.now,
                    author=self.actor.username,
                    text=row.get("note"),
                    status_to=row.status if row.status is not Status.NOT_STARTED else None,
                )
            )
        self.created["activities"].append(row.code)
        return activity

    def _instrument(self, row: PlanRow) -> Instrument:
        body = self.bodies[row.get("body").upper()]
        meeting = None
        if row.adopted_on is not None:
            meeting = self._meeting(body, row.adopted_on, row.get("meeting_place"))
        assert row.kind is not None
        inst = Instrument(
            id=new_id(),
            node=self.node,
            code=row.instrument,
            kind=row.kind,
            title=row.get("instrument_title"),
            body=body,
            meeting=meeting,
            adopted_on=row.adopted_on,
            text=row.get("instrument_text"),
            source=row.get("source"),
        )
        self.session.add(inst)
        self.instruments[inst.code] = inst
        self.created["instruments"].append(inst.code)
        return inst

    def _meeting(self, body: Body, held_on: date, place: str) -> Meeting:
        key = (body.code, held_on)
        if key not in self.meetings:
            found = self.session.scalar(
                select(Meeting).where(Meeting.body_id == body.id, Meeting.held_on == held_on)
            )
            if found is None:
                found = Meeting(
                    id=new_id(), node=self.node, body=body, held_on=held_on, place=place
                )
                self.session.add(found)
                self.created["meetings"].append(f"{body.code} {held_on.isoformat()}")
            self.meetings[key] = found
        return self.meetings[key]

    def _indicator(self, obj: Objective, row: PlanRow) -> None:
        params = indicators.format_params(row.params)
        key = (obj.id, row.get("indicator"), params)
        if key in self.targets:  # same values (checked), already there
            return
        assert row.baseline is not None and row.target is not None
        self.session.add(
            IndicatorTarget(
                node=self.node,
                objective=obj,
                indicator_id=row.get("indicator"),
                params=params,
                baseline=row.baseline,
                target=row.target,
                target_on=row.target_on,
                unit=row.get("unit"),
            )
        )
        self.targets.add(key)


# --- Templates -------------------------------------------------------------------------------

COLUMN_HELP: dict[str, str] = {
    "instrument_code": "Short code of the agreement, resolution or plan, e.g. NCC-SP-2025",
    "instrument_kind": "agreement, resolution, terms_of_reference, strategic_plan, "
    "activity_plan, advocacy_strategy or road_map",
    "instrument_title": "Its title",
    "body": "Code of the body that adopted it (tsela governance bodies)",
    "adopted_on": "Date adopted, YYYY-MM-DD; records that session of the body",
    "meeting_place": "Where that session was held",
    "source": "Where its text comes from (document reference or link)",
    "instrument_text": "Its text, or the part that matters",
    "objective_code": "Code of the objective within the instrument, e.g. S1",
    "objective_title": "The objective",
    "output_code": "Code of the output within the objective (optional)",
    "output_title": "The output (needed with output_code)",
    "activity_code": "Code of the activity, unique across all plans, e.g. NCC-SP-S1.1.1",
    "activity_title": "What is to be done",
    "owner": "Code of the body responsible",
    "start": "Start date, YYYY-MM-DD",
    "due": "Due date, YYYY-MM-DD (a local date of the owner; not before start)",
    "status": "not started (default), on track, at risk, late, done or dropped",
    "note": "Progress note; needed with at risk, late, done or dropped",
    "closed_on": "Date it was done or dropped, YYYY-MM-DD (default: the day of the import)",
    "depends_on": "Activity codes that must finish first, separated by ;",
    "public": "yes to show it in the public view (default no)",
    "indicator": "Observatory indicator the objective is judged by (optional)",
    "indicator_params": "Its parameters, e.g. port=MSU",
    "baseline": "Indicator value at the start",
    "target": "Indicator value aimed for",
    "target_on": "Date the target is for, YYYY-MM-DD",
    "unit": "Unit of baseline and target, e.g. %",
    "remarks": "Anything for people; ignored by the import",
}


def example_plan_text() -> str:
    from importlib import resources

    return (
        resources.files("tsela.reference")
        .joinpath("governance/example_plan.csv")
        .read_text(encoding="utf-8")
    )


def import_example(session: Session, actor: Actor, node: str, now: datetime) -> ImportReport:
    """The example plan shipped with Tsela, with the bodies it names (the shipped bodies are
    added first when missing: without them every row would be refused for an unknown owner).
    A second run imports nothing new: the rows whose codes exist are refused by line."""
    load_bodies(session, actor, node)
    rows = read_csv_text(example_plan_text(), PLAN_COLUMNS, "example_plan.csv")
    return import_plan(session, actor, node, rows, now, "example_plan.csv")


def write_template(out: Path, example: bool = False) -> None:
    """An empty plan with the columns (or the example plan), as CSV or XLSX."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise GovernanceError(f"{out}: a template is written as .csv or .xlsx")
    rows: list[list[str]] = [list(PLAN_COLUMNS)]
    if example:
        rows = list(csv.reader(io.StringIO(example_plan_text())))
    tmp = out.with_name(out.name + ".part")
    if suffix == ".csv":
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
    else:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook()
        sheet = wb.active
        assert sheet is not None
        sheet.title = "plan"
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        guide = wb.create_sheet("columns")
        guide.append(["column", "required", "meaning"])
        for column, required in PLAN_COLUMNS.items():
            guide.append([column, "yes" if required else "", COLUMN_HELP[column]])
        wb.save(tmp)
    tmp.replace(out)
