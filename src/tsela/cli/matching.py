"""``tsela exchange unmatched``: exit/entry matching per port and day, from the command line.

Mounted in the ``tsela exchange`` group when that group exists; until then it is
``tsela matching unmatched``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import typer

from tsela.cli.common import console, settings, user_errors

app = typer.Typer(
    help="Exit/entry matching with the partner node's crossings.", no_args_is_help=True
)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--day {text!r} is not a date (YYYY-MM-DD)") from None


def _as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--as-of {text!r} is not a time (e.g. 2026-12-20T18:00+02:00)") from None
    if at.tzinfo is None:
        raise ValueError(f"--as-of {text!r} needs a time zone (e.g. +02:00)")
    return at


def _who(item: dict[str, Any]) -> str:
    name = " ".join(p for p in (item.get("given_names"), item.get("surname")) if p)
    doc = f"{item.get('document_country') or '?'} {item.get('document_number') or '?'}"
    return f"{doc} {name}".strip()


@app.command("unmatched")
@user_errors
def unmatched(
    day: str = typer.Option(..., "--day", help="Border day (UTC+2), YYYY-MM-DD."),
    port: str | None = typer.Option(None, "--port", help="Port code, e.g. MSU (default: all)."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Judge the windows as at this time (default: now)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Crossings of a day that did not simply match the other side's: exits with no entry
    after the window and the reverse, mismatches, posts with no counterpart, pending."""
    from tsela.reference import port as port_info
    from tsela.services.matching import matching_report
    from tsela.store.db import make_engine, session_factory

    the_day = _day(day)
    code = port_info(port).code if port else None
    now = _as_of(as_of)
    engine = make_engine(settings().url)
    try:
        with session_factory(engine)() as session:
            report = matching_report(session, day=the_day, port=code, now=now)
    finally:
        engine.dispose()
    if as_json:
        out = {
            "day": report.day.isoformat(),
            "port": report.port,
            "as_of": report.as_of.isoformat(),
            "window_minutes": report.window_minutes,
            "lines": [{**vars(line), "day": line.day.isoformat()} for line in report.lines],
            "items": report.items,
            "more_items": report.more_items,
        }
        typer.echo(json.dumps(out, indent=2))
        return
    console.print(
        f"{report.day.isoformat()} {report.port or 'all ports'} "
        f"(window {report.window_minutes} min, as of {report.as_of.isoformat(timespec='minutes')})"
    )
    if not report.lines:
        console.print("no crossings recorded on either side")
        return
    console.print("port  matched  mismatches  exits_alone  entries_alone  pending  no_counterpart")
    for line in report.lines:
        console.print(
            f"{line.port:<5} {line.matched:>7}  {line.mismatches:>10}  {line.unmatched_exits:>11}"
            f"  {line.unmatched_entries:>13}  {line.pending:>7}  {line.no_counterpart_port:>14}"
        )
    for item in report.items:
        differs = f" differs: {', '.join(item['differs'])}" if item["differs"] else ""
        console.print(
            f"{item['outcome']:<20} {item['crossed_at']} {item['port']} {item['direction']} "
            f"{item['country']} ({item['node']}) {_who(item)}{differs}"
        )
    if report.more_items:
        console.print(f"... and {report.more_items} more (use --port or --json)")


def register(root: typer.Typer) -> None:
    """Into ``tsela exchange`` when that group exists, else as ``tsela matching``."""
    try:
        from tsela.cli import exchange as exchange_cli
    except ImportError:
        root.add_typer(app, name="matching")
        return
    exchange_cli.app.command("unmatched")(unmatched)
