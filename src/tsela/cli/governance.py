"""``tsela governance``: plans, the review before a session, session notes, the road-map.

The command line runs on the server and acts as the secretariat; every change it makes
is audited under ``cli:<operating-system user>``.
"""

from __future__ import annotations

import getpass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tsela.cli.common import clock, console, err_console, fail, settings, user_errors
from tsela.kernel.clock import day_start

app = typer.Typer(
    help="Governance tracker: BNC and NCC plans, reviews, session notes, road-map reports.",
    no_args_is_help=True,
)

AS_OF_HELP = (
    "Pretend it is this moment (YYYY-MM-DD, taken as noon in Maseru, or an ISO time with "
    "its offset); to rehearse a review. Default: now."
)


def _actor() -> Any:
    from tsela.services.governance import operator

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = ""
    return operator(f"cli:{user}" if user else "cli", settings().node)


def _session(write: bool) -> Any:
    from tsela.store.db import make_engine, session_factory, transaction

    factory = session_factory(make_engine(settings().url))
    return transaction(factory) if write else factory()


def _now(as_of: str | None) -> datetime:
    if not as_of:
        return clock().now()
    try:
        if len(as_of) == 10:  # noon at the border that day
            return day_start(date.fromisoformat(as_of)) + timedelta(hours=12)
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD) or an ISO time")
    if moment.tzinfo is None:
        fail(f"--as-of {as_of!r} has no offset: add one, e.g. {as_of}+02:00")
    return moment


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")


STYLE = {
    "late": "bold red",
    "at_risk": "dark_orange",
    "done": "green",
    "dropped": "dim",
    "on_track": "blue",
    "not_started": "",
}


@app.command("bodies")
@user_errors
def bodies_cmd(
    load: bool = typer.Option(False, "--load", help="Add the bodies shipped with Tsela."),
    file: Path = typer.Option(
        None, "--file", help="Add bodies from a CSV (code,name,kind,country,timezone,parent)."
    ),
) -> None:
    """List the bodies (commissions, committees, ministries, agencies); optionally add some."""
    import csv

    from tsela.services import governance as g

    cfg = settings()
    if load or file:
        rows = None
        if file:
            try:
                text = file.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                fail(f"{file}: cannot read it as UTF-8 text ({exc})")
            rows = [g.BodyInput(**r) for r in csv.DictReader(text.splitlines())]
        with _session(write=True) as s:
            added = g.load_bodies(s, _actor(), cfg.node, rows)
        console.print(f"{added} bodies added")
    with _session(write=False) as s:
        found = g.bodies(s)
        table = Table("code", "name", "kind", "country", "time zone", "under")
        for b in found:
            table.add_row(
                b.code,
                b.name,
                b.kind.value,
                b.country,
                b.timezone,
                b.parent.code if b.parent else "",
            )
    console.print(table)


@app.command("meeting")
@user_errors
def meeting_cmd(
    body: str = typer.Option(..., help="Body code, e.g. BNC."),
    on: str = typer.Option(..., "--date", help="Date of the session (YYYY-MM-DD)."),
    place: str = typer.Option("", help="Where it is held."),
    title: str = typer.Option("", help="E.g. 'Third session'."),
) -> None:
    """Record a session of a body."""
    from tsela.services import governance as g

    held = _date(on, "--date")
    assert held is not None
    with _session(write=True) as s:
        m = g.add_meeting(s, _actor(), settings().node, body, held, place, title)
        console.print(f"session of {body.upper()} on {m.held_on.isoformat()} recorded")


@app.command("member")
@user_errors
def member_cmd(
    username: str = typer.Argument(..., help="The user's login name."),
    body: str = typer.Argument(None, help="Body code; leave out with --none to unbind."),
    none: bool = typer.Option(False, "--none", help="The user no longer speaks for any body."),
) -> None:
    """Say which body a user speaks for (they may then update that body's activities)."""
    from tsela.services import governance as g

    if bool(body) == none:
        fail("give a body code, or --none")
    with _session(write=True) as s:
        g.bind_member(s, _actor(), settings().node, username, None if none else body)
    console.print(f"{username.lower()} now speaks for {body.upper() if body else 'no body'}")


@app.command("import")
@user_errors
def import_cmd(
    file: Path = typer.Argument(None, help="A plan as .csv or .xlsx (see docs/governance.md)."),
    example: bool = typer.Option(
        False, "--example", help="Import the example plan shipped with Tsela (marked EXAMPLE)."
    ),
) -> None:
    """Load a plan; good rows are saved, bad rows are listed by line (exit status 1)."""
    from tsela.services import governance_import as gi

    if bool(file) == example:
        fail("give a FILE to import, or --example")
    if example:
        name = "example_plan.csv"
        with _session(write=True) as s:
            report = gi.import_example(s, _actor(), settings().node, clock().now())
    else:
        rows = gi.read_table(file, gi.PLAN_COLUMNS)
        name = file.name
        with _session(write=True) as s:
            report = gi.import_plan(s, _actor(), settings().node, rows, clock().now(), name)
    console.print(
        f"{name}: {report.rows} rows read, {len(report.created)} activities imported"
        + (f" (new instruments: {', '.join(report.instruments)})" if report.instruments else "")
    )
    if report.errors:
        err_console.print(f"[bold red]{len(report.errors)} row(s) refused:[/]")
        for e in report.errors:
            err_console.print(f"  {e}", markup=False)
        raise typer.Exit(1)


@app.command("template")
@user_errors
def template_cmd(
    out: Path = typer.Option(..., "--out", help="Where to write it: .csv or .xlsx."),
    example: bool = typer.Option(False, "--example", help="Fill it with the example plan."),
) -> None:
    """Write an empty plan spreadsheet with the right columns (or the example plan)."""
    from tsela.services import governance_import as gi

    gi.write_template(out, example=example)
    console.print(f"wrote {out}")


@app.command("list")
@user_errors
def list_cmd(
    body: str = typer.Option(None, help="Only the plans of this body (and bodies under it)."),
    owner: str = typer.Option(None, help="Only activities owned by this body."),
    status: str = typer.Option(None, help="Only this status, as the calendar has it."),
    as_of: str = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    """List activities with owner, dates and status (late ones as the calendar says)."""
    from tsela.domain.governance import effective_status, parse_status
    from tsela.services import governance as g

    now = _now(as_of)
    wanted = parse_status(status) if status else None
    with _session(write=False) as s:
        acts = g.activities_of(
            s,
            g.body_by_code(s, body) if body else None,
            g.body_by_code(s, owner) if owner else None,
        )
        table = Table("code", "activity", "owner", "start", "due", "status")
        shown = 0
        for a in acts:
            eff = effective_status(a, now, a.owner.timezone)
            if wanted and eff is not wanted:
                continue
            shown += 1
            table.add_row(
                a.code,
                a.title,
                a.owner.code,
                a.start_date.isoformat(),
                a.due_date.isoformat(),
                f"[{STYLE[eff.value]}]{eff.label}[/]" if STYLE[eff.value] else eff.label,
            )
    console.print(table)
    console.print(f"{shown} activities")


@app.command("review")
@user_errors
def review_cmd(
    body: str = typer.Option(..., help="The body whose session is coming, e.g. BNC or NCC."),
    since: str = typer.Option(
        None, help="Date of the last session (default: the last one recorded)."
    ),
    as_of: str = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    """Every commitment since the last session: late, at risk, done, ... with owners."""
    from tsela.services import governance as g

    now = _now(as_of)
    with _session(write=False) as s:
        br = g.review(s, _actor(), body, now, _date(since, "--since"))
    rv = br.review
    where = f"since the session of {rv.since.isoformat()}" if rv.since else "(no earlier session)"
    console.print(f"[bold]{br.body.name}[/]: commitments {where}")
    counts = rv.counts()
    console.print(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))
    for st, items in rv.groups():
        if not items:
            continue
        table = Table(
            "code",
            "activity",
            "owner",
            "due",
            "days late"
            if st.value == "late"
            else "closed"
            if st.value in ("done", "dropped")
            else "new",
            "latest note",
            title=f"{st.label.upper()} ({len(items)})",
            title_style=STYLE[st.value] or "bold",
            title_justify="left",
        )
        for i in items:
            e = i.entry
            extra = (
                str(i.days_late)
                if st.value == "late"
                else (e.closed_on.isoformat() if e.closed_on else "")
                if st.value in ("done", "dropped")
                else ("new" if i.new else "")
            )
            table.add_row(e.code, e.title, e.owner, e.due_date.isoformat(), extra, e.last_note)
        console.print(table)


@app.command("update")
@user_errors
def update_cmd(
    notes: Path = typer.Argument(
        ..., help="CSV/XLSX of session notes: activity,status,note,evidence,evidence_description"
    ),
    body: str = typer.Option(None, help="Body whose session the notes come from."),
    meeting_date: str = typer.Option(
        None, "--meeting-date", help="Date of that session (recorded with `meeting`)."
    ),
) -> None:
    """Apply notes taken at a session: every line, or (if any line is wrong) none."""
    from tsela.services import governance as g
    from tsela.services import governance_import as gi

    if bool(body) != bool(meeting_date):
        fail("give both --body and --meeting-date, or neither")
    rows = gi.read_table(notes, gi.NOTE_FILE_COLUMNS)
    held = _date(meeting_date, "--meeting-date")
    with _session(write=True) as s:
        meeting = g.meeting_on(s, body, held) if body and held else None
        done = g.apply_session_notes(s, _actor(), settings().node, rows, clock().now(), meeting)
    console.print(f"{len(done)} activities updated from {notes.name}")


@app.command("roadmap")
@user_errors
def roadmap_cmd(
    body: str = typer.Option(..., help="The body whose session the report is for."),
    out: Path = typer.Option(..., "--out", help="report.html or report.pdf"),
    since: str = typer.Option(None, help="Date of the last session (default: the last one)."),
    as_of: str = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    """Write the road-map report (timeline chart; agreed, done, late, new) as HTML or PDF."""
    from tsela.services import governance_report as gr

    suffix = out.suffix.lower()
    if suffix not in (".html", ".pdf"):
        fail(f"--out {out}: the report is written as .html or .pdf")
    with _session(write=False) as s:
        report = gr.build_report(s, _actor(), body, _now(as_of), _date(since, "--since"))
        content: str | bytes = gr.report_pdf(report) if suffix == ".pdf" else gr.report_html(report)
    tmp = out.with_name(out.name + ".part")  # never leave a half-written report behind
    if isinstance(content, bytes):
        tmp.write_bytes(content)
    else:
        tmp.write_text(content, encoding="utf-8")
    tmp.replace(out)
    console.print(f"wrote {out}")


@app.command("publish")
@user_errors
def publish_cmd(
    kind: str = typer.Argument(..., help="instrument, objective or activity"),
    code: str = typer.Argument(..., help="Its code (an objective: INSTRUMENT/OBJECTIVE)."),
    private: bool = typer.Option(False, "--private", help="Take it out of the public view."),
) -> None:
    """Show (or stop showing) an item in the public view."""
    from tsela.services import governance as g

    with _session(write=True) as s:
        g.set_public(s, _actor(), settings().node, kind, code, not private)
    console.print(f"{kind} {code} is now {'private' if private else 'public'}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="governance")
