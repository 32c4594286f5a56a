"""``tsela synth``: a synthetic population (``tsela demo``, in cli/demo.py, uses it)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tsela.cli.common import clock, console, fail, settings, user_errors
from tsela.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine


def progress_factory(stack: ExitStack) -> Callable[[str, int], Callable[[int], None]]:
    progress = stack.enter_context(
        Progress(
            TextColumn("{task.description:>8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
    )

    def factory(label: str, total: int) -> Callable[[int], None]:
        task = progress.add_task(label, total=total)
        return lambda n: progress.advance(task, n)

    return factory


DEMO_SEED = 2026


def _parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2025-01-31, got {value!r}")


def synth(
    persons: int = typer.Option(2000, help="How many travellers to create."),
    start: str = typer.Option("2025-01-01", help="First day of crossings (YYYY-MM-DD)."),
    end: str = typer.Option(None, help="Last day of crossings (default: yesterday)."),
    seed: int = typer.Option(2026, help="Random seed: the same seed gives the same data."),
    parquet: Path = typer.Option(
        None, help="Also write the analytics copy (Parquet) here (default: <var>/parquet)."
    ),
    no_store: bool = typer.Option(False, "--no-store", help="Only write Parquet."),
    no_parquet: bool = typer.Option(False, "--no-parquet", help="Only write the database."),
    replace: bool = typer.Option(
        False,
        help="Delete ALL travellers, documents and crossings (and their permits and border "
        "checks) before loading.",
    ),
    extras: bool = typer.Option(
        True,
        "--extras/--no-extras",
        help="Also add employers, permits, pending applications and watchlists "
        "(store only; skipped with --no-store).",
    ),
) -> None:
    """Generate a deterministic, realistic synthetic population and its crossings.

    Commuters, migrant workers, students, traders and visitors with Easter and December
    peaks, a few overstays and lost documents. Demo size is the default; benchmark size
    is e.g. --persons 120000 (about ten million crossings).

    With --extras (the default): forty fictional employers, permits with their history
    (LSP then LEP, seasonal, study, business, frequent-crosser; a few expired, revoked or
    about to expire), about twenty applications waiting at the permit desk, and three
    watchlists that name some of the travellers.
    """
    if persons < 1:
        fail(f"--persons must be at least 1, got {persons}")
    if no_store and no_parquet:
        fail("--no-store and --no-parquet together leave nothing to write")
    first = _parse_day(start, "--start")
    last = _parse_day(end, "--end") if end else None
    cfg = settings()
    engine = None
    if not no_store:
        from tsela.services.setup import initialise
        from tsela.store.db import make_engine

        engine = make_engine(cfg.url)
        initialise(cfg, engine)
    populate(
        cfg,
        engine,
        persons=persons,
        start=first,
        end=last,
        seed=seed,
        extras=extras,
        parquet=None if no_parquet else (parquet or cfg.var_dir / "parquet"),
        replace=replace,
    )


def populate(
    cfg: Settings,
    engine: Engine | None,
    *,
    persons: int,
    start: date,
    end: date | None,
    seed: int,
    extras: bool,
    parquet: Path | bool | None = True,
    replace: bool = False,
) -> None:
    """Synthesise into ``engine`` (None: Parquet only) and Parquet (``parquet``: a
    directory, True for ``<var>/parquet``, None for none), with progress bars, and say what
    was made."""
    from tsela.observatory.parquet import pseudonym_secret
    from tsela.services.keys import KeyStore
    from tsela.synth.generator import SynthConfig
    from tsela.synth.run import synthesise

    last = end or clock().today() - timedelta(days=1)
    out = cfg.var_dir / "parquet" if parquet is True else (parquet or None)
    with ExitStack() as stack:
        summary = synthesise(
            SynthConfig(persons=persons, start=start, end=last, seed=seed),
            node=cfg.node,
            engine=engine,
            parquet_dir=out,
            secret=pseudonym_secret(cfg.var_dir) if out else b"",
            replace=replace,
            progress=progress_factory(stack),
            extras_keys=KeyStore(cfg.var_dir, cfg.node) if extras and engine else None,
        )
    console.print(
        f"{summary.persons:,} persons and {max(summary.crossings, summary.parquet_rows):,} "
        f"crossings from {start} to {last}"
        + (f"; database {cfg.url.render_as_string(hide_password=True)}" if engine else "")
        + (f"; Parquet in {out}" if out else "")
    )
    if summary.extras is not None:
        console.print(f"Added {summary.extras.describe()}")


def register(app: typer.Typer) -> None:
    from tsela.cli.demo import demo

    app.command()(user_errors(synth))
    app.command()(user_errors(demo))
