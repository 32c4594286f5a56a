"""``tsela mrz parse``: read and check the machine readable zone of a travel document."""

from __future__ import annotations

import json
import sys
from datetime import date

import typer
from rich.markup import escape
from rich.table import Table

from tsela.cli.common import clock, console, fail

mrz_app = typer.Typer(
    help="Machine readable zones of passports, ID cards and visas (ICAO Doc 9303).",
    no_args_is_help=True,
)


def _today(value: str | None) -> date:
    if value is None:
        return clock().today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--today {value!r} is not a date: use YYYY-MM-DD")


@mrz_app.command("parse")
def parse_command(
    lines: list[str] | None = typer.Argument(
        None,
        help="The MRZ lines (quote each: they contain '<'), or the lines joined. "
        "Without lines, or with '-', the MRZ is read from standard input.",
        show_default=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    today: str | None = typer.Option(
        None, help="Read the two-digit years as on this day (YYYY-MM-DD); default today."
    ),
) -> None:
    """Check an MRZ and show its fields.

    Exit status: 0 valid; 1 readable but wrong (each error says where); 2 not an MRZ at all.
    """
    from tsela.domain.mrz import MrzUnusable, parse

    day = _today(today)
    given = list(lines or [])
    if not given or given == ["-"]:
        given = [sys.stdin.read()]
    try:
        result = parse(given, day)
    except MrzUnusable as exc:
        fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
    else:
        _show(result.as_dict())
    raise typer.Exit(0 if result.valid else 1)


def _show(found: dict[str, object]) -> None:
    verdict = "[bold green]valid[/]" if found["valid"] else "[bold red]INVALID[/]"
    console.print(f"{found['format']} MRZ: {verdict}")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    labels = {
        "document_type": "document type",
        "issuing_state": "issuing state",
        "surname": "surname",
        "given_names": "given names",
        "document_number": "document number",
        "nationality": "nationality",
        "birth_date": "birth date",
        "expiry_date": "expiry date",
        "sex": "sex",
        "optional_data": "optional data",
        "optional_data_2": "optional data 2",
    }
    for key, label in labels.items():
        value = found[key]
        if key in ("issuing_state", "nationality") and found[f"{key}_name"]:
            value = f"{value} ({found[f'{key}_name']})"
        if key == "optional_data_2" and not value:
            continue
        table.add_row(label, escape("" if value is None else str(value)))
    console.print(table)
    for heading, key, style in (
        ("error", "errors", "red"),
        ("hint", "hints", "yellow"),
        ("note", "warnings", "cyan"),
    ):
        items = found[key]
        assert isinstance(items, list)
        for item in items:
            console.print(f"[{style}]{heading}:[/] {escape(str(item))}")


def register(app: typer.Typer) -> None:
    app.add_typer(mrz_app, name="mrz")
