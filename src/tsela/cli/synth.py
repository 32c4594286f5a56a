"""``tsela synth`` (synthetic population) and ``tsela demo`` (a populated instance)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tsela.cli.common import clock, console, fail, settings, user_errors


def _progress_factory(stack: ExitStack) -> Callable[[str, int], Callable[[int], None]]:
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
    from tsela.observatory.parquet import pseudonym_secret
    from tsela.services.keys import KeyStore
    from tsela.services.setup import initialise
    from tsela.store.db import make_engine
    from tsela.synth.generator import SynthConfig
    from tsela.synth.run import synthesise

    if persons < 1:
        fail(f"--persons must be at least 1, got {persons}")
    if no_store and no_parquet:
        fail("--no-store and --no-parquet together leave nothing to write")
    first = _parse_day(start, "--start")
    last = _parse_day(end, "--end") if end else clock().today() - timedelta(days=1)
    cfg_settings = settings()
    cfg = SynthConfig(persons=persons, start=first, end=last, seed=seed)
    engine = None
    if not no_store:
        engine = make_engine(cfg_settings.url)
        initialise(cfg_settings, engine)
    out = None if no_parquet else (parquet or cfg_settings.var_dir / "parquet")
    with ExitStack() as stack:
        summary = synthesise(
            cfg,
            node=cfg_settings.node,
            engine=engine,
            parquet_dir=out,
            secret=pseudonym_secret(cfg_settings.var_dir) if out else b"",
            replace=replace,
            progress=_progress_factory(stack),
            extras_keys=(
                KeyStore(cfg_settings.var_dir, cfg_settings.node) if extras and engine else None
            ),
        )
    console.print(
        f"{summary.persons:,} persons and {max(summary.crossings, summary.parquet_rows):,} "
        f"crossings from {first} to {last}"
        + (f"; database {cfg_settings.url.render_as_string(hide_password=True)}" if engine else "")
        + (f"; Parquet in {out}" if out else "")
    )
    if summary.extras is not None:
        console.print(f"Added {summary.extras.describe()}")


def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port to listen on."),
    persons: int = typer.Option(2000, help="Travellers to generate on first run."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Prepare the data, do not serve."),
) -> None:
    """Set up a demo instance (schema, reference data, synthetic data with employers,
    permits and watchlists, demo users) and serve it.

    Safe to run again: an already populated database is served as it is (a population
    made by an older Tsela gets its employers, permits and watchlists added).
    """
    from tsela.services.keys import KeyStore
    from tsela.services.setup import initialise
    from tsela.store.db import make_engine, session_factory
    from tsela.synth.demo import DEMO_PASSWORD, ensure_demo_accounts, ensure_example_plan
    from tsela.synth.extras import add_extras, border_samples, has_extras, population_in_store
    from tsela.synth.run import existing_persons

    cfg = settings()
    engine = make_engine(cfg.url)
    initialise(cfg, engine)
    have = existing_persons(engine)
    if have == 0:
        console.print("Generating the demo population (first run only)...")
        synth(
            persons=persons,
            start="2025-01-01",
            end=None,
            seed=DEMO_SEED,
            parquet=None,
            no_store=False,
            no_parquet=False,
            replace=False,
            extras=True,
        )
    elif not has_extras(engine):
        found = population_in_store(engine, DEMO_SEED, [have, persons])
        if found is None:
            console.print(
                "This database holds a population not made by `tsela synth --seed "
                f"{DEMO_SEED}`: no employers, permits or watchlists added."
            )
        else:
            with ExitStack() as stack:
                added = add_extras(
                    engine,
                    *found,
                    node=cfg.node,
                    keys=KeyStore(cfg.var_dir, cfg.node),
                    today=clock().today(),
                    seed=DEMO_SEED,
                    progress=_progress_factory(stack),
                )
            console.print(f"Added {added.describe()}")
    logins = ensure_demo_accounts(engine, cfg.node, clock().today())
    planned = ensure_example_plan(engine, cfg.node, clock().now())
    if planned:
        console.print(f"Loaded the example governance plan ({planned} activities, marked EXAMPLE)")
    with session_factory(engine)() as s:
        samples = border_samples(s, clock().today())
    url = f"http://{host}:{port}"
    console.print(f"\n[bold]Tsela demo[/] at [link={url}]{url}[/]  (API docs: {url}/docs)")
    console.print(f"Demo logins (password for all: [bold]{DEMO_PASSWORD}[/]):")
    for login in logins:
        where = f" at {login.port}" if login.port else ""
        console.print(f"  {login.username:<12} {login.role}{where}  - {login.description}")
    if samples:
        console.print("Documents to check at the officer console (synthetic travellers):")
        for sample in samples:
            console.print(f"  {sample.issuing_state} {sample.number:<12} {sample.what}")
    if no_serve:
        return
    import uvicorn

    from tsela.api.app import create_app

    uvicorn.run(
        create_app(cfg, engine), host=host, port=port, log_level="info", proxy_headers=False
    )


def register(app: typer.Typer) -> None:
    app.command()(user_errors(synth))
    app.command()(user_errors(demo))
