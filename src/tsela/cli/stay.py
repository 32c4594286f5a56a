"""``tsela stay``: apply a stay rule to a traveller's stays (pure arithmetic, no database)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from tsela.cli.common import clock, user_errors
from tsela.domain.stay import (
    PermitCover,
    Stay,
    StayAssessment,
    StayInputError,
    StayRule,
    evaluate,
    get_rule,
    load_rules,
    parse_rule,
    with_rules,
)


def parse_as_of(text: str | None) -> date:
    if text is None:
        return clock().today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise StayInputError(f"--as-of {text!r} is not a date (YYYY-MM-DD)") from None


def _read_rule_file(path: Path) -> StayRule:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StayInputError(f"--rules-file {path}: cannot read it ({exc.strerror})") from None
    return parse_rule(text, str(path))


def render(assessment: StayAssessment) -> str:
    """The answer for people: the five figures, then the reasons one per line."""
    latest = assessment.latest_exit.isoformat() if assessment.latest_exit else "none"
    lines = [
        f"rule            {assessment.rule_id} ({assessment.version_label})",
        f"as_of           {assessment.as_of.isoformat()}",
        f"days_used       {assessment.days_used}",
        f"days_remaining  {assessment.days_remaining}",
        f"latest_exit     {latest}",
        f"overstay_days   {assessment.overstay_days}",
        "",
        "explanation:",
        *(f"  - {line}" for line in assessment.explanation),
    ]
    return "\n".join(lines)


@user_errors
def stay(
    rule: str = typer.Option(
        ..., "--rule", help="Rule id, e.g. LSO-ZAF-VISITOR or SCHENGEN-90-180."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="The day asked about (YYYY-MM-DD); default today at the border (UTC+2).",
    ),
    stays: list[str] = typer.Option(
        [],
        "--stay",
        help="A stay as ENTRY:EXIT, or ENTRY: while still in the country. Repeat for each.",
    ),
    permits: list[str] = typer.Option(
        [],
        "--permit",
        help="A permit as TYPE:FROM:TO (e.g. LEP:2025-01-01:2027-05-28). Repeatable.",
    ),
    rules_files: list[Path] = typer.Option(
        [],
        "--rules-file",
        help="An extra stay rule file (TOML); a rule with a shipped id replaces it.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
) -> None:
    """How many days a traveller has used and has left, the latest lawful exit and any
    overstay, under a stay rule. Days of entry and exit both count; exit 2 on bad input."""
    day = parse_as_of(as_of)
    rules = with_rules([_read_rule_file(p) for p in rules_files]) if rules_files else load_rules()
    chosen = get_rule(rule, rules)
    given = [Stay.parse(text, number=i) for i, text in enumerate(stays, start=1)]
    covers = [PermitCover.parse(text, number=i) for i, text in enumerate(permits, start=1)]
    assessment = evaluate(chosen, given, day, covers)
    if as_json:
        typer.echo(json.dumps(assessment.as_dict(), indent=2))
    else:
        typer.echo(render(assessment))


def register(app: typer.Typer) -> None:
    app.command("stay")(stay)
