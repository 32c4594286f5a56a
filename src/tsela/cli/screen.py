"""``tsela screen`` and ``tsela watchlist``: screen a person, import and list watchlists."""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from tsela.cli.common import clock, console, err_console, fail, settings, user_errors

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tsela.services.screening import ImportReport

watchlist_app = typer.Typer(help="Watchlists: import (CSV or FollowTheMoney) and list.")

# An import file larger than this is refused before reading (OpenSanctions' whole
# default collection of people is well under it).
MAX_IMPORT_BYTES = 2 * 1024**3


def _engine() -> Engine:
    from tsela.store.db import is_initialised, make_engine

    cfg = settings()
    engine = make_engine(cfg.url)
    if not is_initialised(engine):
        where = cfg.url.render_as_string(hide_password=True)
        fail(f"no Tsela database at {where}: run `tsela init` first")
    return engine


@user_errors
def screen_command(
    name: list[str] = typer.Argument(
        ..., help="The name to screen (quotes optional: the words are joined).", show_default=False
    ),
    alias: list[str] = typer.Option(None, help="Another name of the same person (repeatable)."),
    dob: str = typer.Option(None, "--dob", help="Birth date: YYYY-MM-DD, YYYY-MM or YYYY."),
    nationality: str = typer.Option(None, help="ISO 3166 alpha-3 code, e.g. LSO, ZAF."),
    document: list[str] = typer.Option(None, help="A travel document number (repeatable)."),
    threshold: float = typer.Option(
        None,
        min=0.0,
        max=1.0,
        help="Report hits at or above this score (default: the operating threshold).",
    ),
    limit: int = typer.Option(20, min=1, max=200, help="At most this many hits."),
    as_json: bool = typer.Option(False, "--json", help="Print the hits as a JSON array."),
) -> None:
    """Screen a person against every person watchlist.

    Exit status: 0 no hit, 1 one or more hits, 2 bad input.
    """
    from tsela.domain.screening import THRESHOLD
    from tsela.services.screening import keep_index_on_disk, screen
    from tsela.store.db import session_factory, transaction

    engine = _engine()
    keep_index_on_disk(engine, settings().var_dir)
    with transaction(session_factory(engine)) as session:  # the screening and its audit entry
        hits = screen(
            session,
            [" ".join(name), *(alias or [])],
            birth_date=dob,
            nationality=nationality,
            documents=document or (),
            today=clock().today(),
            threshold=THRESHOLD if threshold is None else threshold,
            limit=limit,
            actor=f"cli:{getpass.getuser()}",
            node=settings().node,
        )
    if as_json:
        sys.stdout.write(json.dumps([asdict(h) for h in hits], ensure_ascii=False) + "\n")
    elif not hits:
        console.print("no hit")
    else:
        table = Table(show_lines=True)
        for col in ("score", "list", "category", "names", "born", "why"):
            table.add_column(col)
        for h in hits:
            table.add_row(
                f"{h.score:.2f}",
                escape(f"{h.list_name} v{h.list_version}"),
                h.category,
                escape("; ".join(h.names)),
                h.birth_date or "",
                escape("\n".join(h.explanation)),
            )
        console.print(table)
    if hits:
        raise typer.Exit(1)


def _can_ask(file: Path) -> bool:
    """Ask the importer only at a terminal, and never when the file came on standard input."""
    return str(file) != "-" and sys.stdin.isatty()


@watchlist_app.command("import")
@user_errors
def import_command(
    file: Path = typer.Argument(..., help="The file to load ('-' for standard input)."),
    list_name: str = typer.Option(..., "--list", help="The list to replace (created if new)."),
    fmt: str = typer.Option("csv", "--format", help="csv, or ftm (FollowTheMoney JSON lines)."),
    kind: str = typer.Option("person", help="person entries, or document alerts (CSV only)."),
    category: str = typer.Option(
        "other",
        help=(
            "wanted, trafficking, deportation, banned_entry, sanctions, missing_person, "
            "protect (persons to protect: referred, never refused), other."
        ),
    ),
    source: str = typer.Option("", help="Where the list comes from (publisher, date)."),
    mapping: list[str] = typer.Option(
        None, "--map", help="CSV column to field, e.g. --map 'Full Name=name' (repeatable)."
    ),
    by: str = typer.Option(None, help="Who is importing (default: cli:<login>)."),
    confirm: bool = typer.Option(
        False,
        "--confirm-shrink",
        "--confirm",
        help="Replace the list even when over 5% of the rows are bad or it would lose over "
        "20% of its entries (otherwise refused, or asked at a terminal).",
    ),
) -> None:
    """Replace a watchlist with the rows of a file, atomically.

    CSV person fields: name, aliases (;-separated), birth_date, nationality, category, reason,
    valid_from, valid_to, documents, id. Document fields: issuing_state, number, status
    (lost, stolen, revoked), reported_on. Bad rows are listed with their line; good rows load.

    An import with over 5% bad rows, or losing over 20% of the list, is refused (exit status
    3, nothing changed) unless confirmed: with --confirm-shrink, or at the prompt when run at
    a terminal.
    """
    from tsela.services.screening import (
        ImportFileError,
        ImportNeedsConfirmation,
        import_watchlist,
    )
    from tsela.store.watchlists import WatchlistCategory, WatchlistKind

    try:
        kind_value = WatchlistKind(kind)
    except ValueError:
        fail(f"--kind {kind!r}: use person or document")
    try:
        category_value = WatchlistCategory(category)
    except ValueError:
        fail(f"--category {category!r}: use one of {', '.join(c.value for c in WatchlistCategory)}")
    if str(file) == "-":
        data = sys.stdin.buffer.read(MAX_IMPORT_BYTES + 1)
    else:
        if not file.is_file():
            fail(f"{file}: no such file")
        if file.stat().st_size > MAX_IMPORT_BYTES:
            fail(f"{file}: larger than {MAX_IMPORT_BYTES // 1024**2} MB")
        data = file.read_bytes()
    if len(data) > MAX_IMPORT_BYTES:
        fail(f"input larger than {MAX_IMPORT_BYTES // 1024**2} MB")
    cfg = settings()
    engine = _engine()

    def load(confirmed: bool) -> ImportReport:
        return import_watchlist(
            engine,
            list_name=list_name,
            data=data,
            fmt=fmt,
            kind=kind_value,
            category=category_value,
            source=source,
            mapping=mapping or (),
            actor=by or f"cli:{getpass.getuser()}",
            node=cfg.node,
            confirm=confirmed,
            today=clock().today(),
        )

    try:
        try:
            report = load(confirm)
        except ImportNeedsConfirmation as exc:
            for problem in exc.errors[:20]:
                err_console.print(
                    f"  [red]bad row[/] {escape(str(file))}:{problem.line}: "
                    + escape(problem.message)
                )
            if exc.bad_rows > 20:
                err_console.print(f"  ... {exc.bad_rows} bad rows in all")
            if exc.dropped:
                more = exc.dropped_count - len(exc.dropped)
                err_console.print(
                    f"  would drop {exc.dropped_count}: {escape(', '.join(exc.dropped))}"
                    + (f" and {more} more" if more > 0 else "")
                )
            err_console.print(escape(str(exc)))
            if not (_can_ask(file) and typer.confirm("Replace the list anyway?", default=False)):
                fail(f"{file}: import refused; rerun with --confirm-shrink to replace it", 3)
            report = load(True)
    except ImportFileError as exc:
        for problem in exc.errors[:20]:
            err_console.print(f"  {escape(str(problem))}")
        fail(f"{file}: {exc}")
    console.print(
        f"list {escape(report.list_name)} version {report.version}: {report.loaded} "
        f"{report.kind} entries loaded, {report.replaced} replaced"
        + (f", {report.ignored} non-person entities ignored" if report.ignored else "")
    )
    for w in report.warnings[:50]:
        err_console.print(f"[yellow]warning[/] {escape(str(file))}:{w.line}: {escape(w.message)}")
    for e in report.errors[:200]:
        err_console.print(f"[red]skipped[/] {escape(str(file))}:{e.line}: {escape(e.message)}")
    if report.error_count:
        err_console.print(f"{report.error_count} bad rows skipped")


@watchlist_app.command("list")
@user_errors
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """The watchlists loaded, with version, size and who imported them."""
    from tsela.services.screening import list_watchlists

    lists = list_watchlists(_engine())
    if as_json:
        rows = [asdict(w) | {"imported_at": w.imported_at.isoformat()} for w in lists]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    if not lists:
        console.print("no watchlists loaded (tsela watchlist import FILE --list NAME)")
        return
    table = Table()
    for col in ("name", "kind", "category", "version", "entries", "imported by", "imported at"):
        table.add_column(col)
    for w in lists:
        table.add_row(
            escape(w.name),
            w.kind,
            w.category,
            str(w.version),
            str(w.entries),
            escape(w.imported_by),
            w.imported_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("screen")(screen_command)
    app.add_typer(watchlist_app, name="watchlist")
