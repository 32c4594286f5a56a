"""Observatory commands: ``tsela export parquet``, ``tsela indicators``, ``tsela report
monthly`` and ``tsela release``.

They read the Parquet analytics copy (``<TSELA_VAR_DIR>/parquet`` unless ``--parquet`` says
otherwise), written by ``tsela export parquet`` from the database or by ``tsela synth``.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tsela.cli.common import console, fail, settings, user_errors

if TYPE_CHECKING:
    from tsela.observatory.engine import Observatory

export_app = typer.Typer(help="Export data for analysis.", no_args_is_help=True)
indicators_app = typer.Typer(
    help="The observatory's indicators (definitions and values).", no_args_is_help=True
)
report_app = typer.Typer(help="Reports for the NCC.", no_args_is_help=True)
observatory_app = typer.Typer(help="The migration observatory.", no_args_is_help=True)
tables_app = typer.Typer(
    help="Standard tables (UN, ILO, SDG) for a month, with disclosure control.",
    no_args_is_help=True,
)
observatory_app.add_typer(tables_app, name="tables")

PARQUET_HELP = "Parquet analytics copy to read (default: <TSELA_VAR_DIR>/parquet)."


def _parquet_dir(given: Path | None) -> Path:
    return given if given is not None else settings().var_dir / "parquet"


def _open(given: Path | None) -> Observatory:
    from tsela.observatory.engine import Observatory

    return Observatory(_parquet_dir(given))


@export_app.command("parquet")
@user_errors
def export_parquet(
    out: Path = typer.Option(None, help="Folder to write (default: <TSELA_VAR_DIR>/parquet)."),
    chunk: int = typer.Option(100_000, min=1, help="Rows read from the database at a time."),
) -> None:
    """Write crossings, travellers (pseudonymised), permits and border checks to Parquet.

    No names, document or permit numbers leave the database; travellers are known by a key
    derived with this node's secret (<TSELA_VAR_DIR>/keys/pseudonym.key). The folder is
    replaced whole at the end, so a failed export leaves the previous copy intact.
    """
    from tsela.observatory.export import export_parquet as run_export
    from tsela.observatory.parquet import pseudonym_secret
    from tsela.store.db import make_engine

    cfg = settings()
    target = out if out is not None else cfg.var_dir / "parquet"
    engine = make_engine(cfg.url)
    summary = run_export(engine, target, pseudonym_secret(cfg.var_dir), chunk=chunk)
    console.print(
        f"{summary.crossings:,} crossings, {summary.travellers:,} travellers, "
        f"{summary.permits:,} permits and {summary.checks:,} border checks written to {target}"
    )


@indicators_app.command("list")
@user_errors
def indicators_list(
    as_json: bool = typer.Option(False, "--json", help="Print the definitions as JSON."),
) -> None:
    """Every indicator: id, title and unit (``show ID`` gives its formula and values)."""
    from tsela.observatory.indicators import INDICATORS

    if as_json:
        print(json.dumps([i.describe() for i in INDICATORS], indent=2))
        return
    table = Table("id", "title", "unit", box=None)
    for ind in INDICATORS:
        table.add_row(ind.id, ind.title, ind.unit)
    console.print(table)


def _params(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--set takes NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


@indicators_app.command("show")
@user_errors
def indicators_show(
    indicator_id: str = typer.Argument(..., metavar="ID", help="Indicator id, e.g. flows.net."),
    start: str = typer.Option(None, "--from", help="First day, month or year (default: all)."),
    end: str = typer.Option(None, "--to", help="Last day, month or year (default: all)."),
    port: list[str] = typer.Option([], help="Only this port (repeat for several)."),
    set_: list[str] = typer.Option([], "--set", help="Indicator parameter NAME=VALUE."),
    output: str = typer.Option("table", "--format", help="table, csv or json."),
    parquet: Path = typer.Option(None, help=PARQUET_HELP),
) -> None:
    """An indicator's definition and its values for a period and ports."""
    from tsela.observatory.engine import Period
    from tsela.observatory.indicators import get, run

    if output not in ("table", "csv", "json"):
        fail(f"--format must be table, csv or json, got {output!r}")
    ind = get(indicator_id)
    with _open(parquet) as obs:
        period = Period.between(start, end, obs.default_period())
        result = run(obs, ind.id, period, port, _params(set_))
    if output == "json":
        print(json.dumps(result.as_dict(), indent=2, default=str))
        return
    if output == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.table.column_names)
        for row in result.rows():
            writer.writerow(row.values())
        return
    console.print(f"[bold]{ind.title}[/] ({ind.id})")
    console.print(ind.description)
    console.print(f"[dim]Formula: {ind.formula}[/]")
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    ports = ", ".join(result.ports) or "all ports"
    console.print(
        f"[dim]Period {period.start}..{period.end}; {ports}"
        + (f"; {params}" if params else "")
        + "[/]"
    )
    table = Table(*result.table.column_names, box=None)
    for row in result.rows():
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")


@report_app.command("monthly")
@user_errors
def report_monthly(
    month: str = typer.Option(..., help="The month, YYYY-MM."),
    output: str = typer.Option("html", "--format", help="html, csv or pdf."),
    out: Path = typer.Option(
        None, help="File to write (default: observatory-YYYY-MM.<format>; '-' for stdout)."
    ),
    port: list[str] = typer.Option([], help="Only this port (repeat for several)."),
    parquet: Path = typer.Option(None, help=PARQUET_HELP),
) -> None:
    """The NCC's monthly report: headline figures, change from the previous month and the
    same month a year before, highlights and charts."""
    from tsela.observatory import report as rep
    from tsela.observatory.engine import Period

    if output not in rep.FORMATS:
        fail(f"--format must be one of {', '.join(rep.FORMATS)}, got {output!r}")
    Period.month(month)  # a malformed month fails before any work
    target = out if out is not None else Path(f"observatory-{month}.{output}")
    if str(target) == "-" and output == "pdf":
        fail("a PDF cannot go to the terminal: give --out FILE")
    with _open(parquet) as obs:
        report = rep.build_monthly(obs, month, port, with_charts=output != "csv")
    data: bytes
    if output == "html":
        data = rep.to_html(report).encode()
    elif output == "csv":
        data = rep.to_csv(report).encode()
    else:
        data = rep.to_pdf(report)
    if str(target) == "-":
        sys.stdout.buffer.write(data)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    console.print(f"Monthly report for {month} written to {target}")


def release(
    period: str = typer.Option(..., help="Period, e.g. 2025-01..2025-12, 2025 or 2025-03."),
    out: Path = typer.Option(..., help="New folder for the release (must not exist yet)."),
    threshold: int = typer.Option(
        10, help="Suppress cells with fewer people than this (at least 3)."
    ),
    parquet: Path = typer.Option(None, help=PARQUET_HELP),
) -> None:
    """Publish open-data tables (CSV + datapackage.json, and SDMX 2.1 under sdmx/) with
    disclosure control.

    Cells counting fewer than THRESHOLD people are suppressed ('x' in the CSV; no value and
    CONF_STATUS C or D in SDMX), with secondary suppression so that no hidden cell can be
    worked out from the totals; an audit checks every hidden cell, and the SDMX is read back
    against its own structure, before anything is written.
    """
    from tsela.observatory.engine import Period
    from tsela.observatory.release import release as run_release
    from tsela.observatory.sdc import check_threshold

    check_threshold(threshold)
    chosen = Period.parse(period)
    with _open(parquet) as obs:
        summary = run_release(obs, chosen, out, threshold)
    console.print(
        f"{len(summary.tables)} tables for {chosen.label()} written to {summary.out_dir}: "
        f"{summary.cells:,} cells, {summary.suppressed:,} suppressed "
        f"({summary.primary:,} small, {summary.suppressed - summary.primary:,} to protect them); "
        "CSV and datapackage.json, SDMX 2.1 in sdmx/"
    )


@tables_app.command("list")
@user_errors
def tables_list(
    as_json: bool = typer.Option(False, "--json", help="Print the definitions as JSON."),
) -> None:
    """Every standard table with the standard it follows."""
    from tsela.observatory.standard_tables import definitions

    if as_json:
        print(json.dumps(definitions(), indent=2))
        return
    table = Table("id", "title", "standard", box=None)
    for d in definitions():
        table.add_row(d["id"], d["title"], "; ".join(s["name"] for s in d["standards"]))
    console.print(table)


@tables_app.command("show")
@user_errors
def tables_show(
    month: str = typer.Option(..., help="The month, YYYY-MM."),
    country: str = typer.Option("ZAF", help="The country whose border is counted: ZAF or LSO."),
    threshold: int = typer.Option(
        10, help="Suppress cells with fewer people than this (at least 3)."
    ),
    table_id: str = typer.Option(None, "--table", help="Only this table (see `list`)."),
    output: str = typer.Option("table", "--format", help="table, csv or json."),
    parquet: Path = typer.Option(None, help=PARQUET_HELP),
    from_store: bool = typer.Option(
        False, "--from-store", help="Read the database directly (DuckDB attaches it) instead."
    ),
) -> None:
    """The standard tables of a month, each naming its standard; suppressed cells are 'x'."""
    from tsela.observatory import standard_tables as st

    if output not in ("table", "csv", "json"):
        fail(f"--format must be table, csv or json, got {output!r}")
    if from_store:
        from tsela.observatory.parquet import pseudonym_secret
        from tsela.observatory.store_source import StoreObservatory
        from tsela.store.db import make_engine

        cfg = settings()
        engine = make_engine(cfg.url)
        try:
            obs: Observatory = StoreObservatory.of_engine(engine, pseudonym_secret(cfg.var_dir))
        finally:
            engine.dispose()
    else:
        obs = _open(parquet)
    with obs:
        result = st.compute(obs, month, country, threshold)
    tables = [result.get(table_id)] if table_id else result.tables
    if output == "json":
        data = result.as_dict()
        data["tables"] = [t.as_dict() for t in tables]
        print(json.dumps(data, indent=2))
        return
    if output == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["table", "row", "column", "value"])
        for t in tables:
            for i, r in enumerate([*t.rows, "Total"]):
                for j, c in enumerate([*t.cols, "Total"]):
                    if t.cells:
                        v = t.cells[i][j]
                        writer.writerow([t.id, r, c, "x" if v is None else v])
        return
    console.print(
        f"[bold]Standard tables, {result.month}, {result.country}[/] "
        f"(from {result.source}; threshold {result.threshold})"
    )
    for t in tables:
        d = t.definition
        console.print(f"\n[bold]{d.title}[/] ({d.id})")
        console.print("[dim]Standard: " + "; ".join(s.name for s in d.standards) + "[/]")
        if not t.cells:
            console.print(f"[yellow]{t.status}:[/] {t.note}")
            continue
        grid = Table(t.row_dim, *t.cols, "Total", box=None)
        for i, r in enumerate([*t.rows, "Total"]):
            grid.add_row(r, *("x" if v is None else str(v) for v in t.cells[i]))
        console.print(grid)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.add_typer(indicators_app, name="indicators")
    app.add_typer(report_app, name="report")
    app.command("release")(user_errors(release))
    app.add_typer(observatory_app, name="observatory")
