"""The ``tsela`` command line."""

from __future__ import annotations

import gc
import os
import sys

if sys.argv[1:2] == ["serve"]:
    # A server starting creates hundreds of thousands of objects (modules, classes, routes,
    # models) and keeps nearly all of them: the cyclic collector walking them again and again
    # meanwhile is a sixth of the start-up's work. The app turns it back on once it is ready
    # (api/app.py: _lifespan).
    gc.disable()

import typer

from tsela import __version__
from tsela.cli.common import console, settings, user_errors
from tsela.config import Settings

app = typer.Typer(
    name="tsela",
    help="Tsela: migration management between Lesotho and South Africa.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"tsela {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Configuration comes from the environment: TSELA_DATABASE_URL (default
    sqlite:///var/tsela.db), TSELA_NODE (LS or ZA, default LS), TSELA_VAR_DIR (default ./var).
    """


@app.command()
@user_errors
def init() -> None:
    """Create or upgrade the database schema and load the reference data (idempotent)."""
    from tsela.cli.exchange import ensure_identity
    from tsela.services.setup import initialise

    cfg = settings()
    summary = initialise(cfg)
    ensure_identity(cfg)  # the node key and TLS certificate for the exchange
    console.print(
        f"database ready at {cfg.url.render_as_string(hide_password=True)} "
        f"(node {cfg.node}); {summary.ports} ports of entry"
    )


@app.command()
@user_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port to listen on."),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="Worker processes (about one per core; each loads its own screening index).",
    ),
    max_in_flight: int | None = typer.Option(
        None,
        min=0,
        help="Requests each worker works on at once; more get 503 at once (load shedding). "
        "Default: TSELA_MAX_IN_FLIGHT or 64; 0: no limit.",
    ),
    exchange_port: int | None = typer.Option(
        None,
        min=0,
        max=65535,
        help="Also serve the exchange feed to partner nodes, over mutual TLS, on this port "
        "(default: TSELA_EXCHANGE_PORT; 0: not at all).",
    ),
) -> None:
    """Serve the HTTP API (and the web pages) with uvicorn."""
    from tsela.api import serve as server

    if max_in_flight is not None:
        os.environ["TSELA_MAX_IN_FLIGHT"] = str(max_in_flight)
    cfg = settings()  # fail early on a bad setting, before any worker starts
    _require_signing_keys(cfg)
    console.print(
        f"Tsela serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs; "
        f"{workers} worker(s), at most {cfg.max_in_flight or 'unlimited'} requests in flight each)"
    )
    feed_port = cfg.exchange_port if exchange_port is None else exchange_port
    if feed_port:
        console.print(
            f"exchange feed (mutual TLS) on https://{cfg.exchange_host}:{feed_port}/v1/exchange/feed"
        )
    server.run(host, port, workers=workers, exchange_port=feed_port)


def _require_signing_keys(cfg: Settings) -> None:
    """One line and no server when issued permits' keys are missing (e.g. restored without
    var/keys): a fresh key would leave every one of them unverifiable."""
    from tsela.services.keys import KeyStore, require_signing_keys
    from tsela.store.db import make_engine

    engine = make_engine(cfg.url)
    try:
        require_signing_keys(engine, KeyStore(cfg.var_dir, cfg.node))
    finally:
        engine.dispose()


def register_subcommands() -> None:
    """Sub-command groups live in their own modules; each adds itself here."""
    # Each module in this list exposes ``register(app)``.
    from tsela.cli import admin as admin_cli
    from tsela.cli import exchange as exchange_cli
    from tsela.cli import governance as governance_cli
    from tsela.cli import identity as identity_cli
    from tsela.cli import mrz as mrz_cli
    from tsela.cli import observatory as observatory_cli
    from tsela.cli import ops as ops_cli
    from tsela.cli import permits as permits_cli
    from tsela.cli import port as port_cli
    from tsela.cli import screen as screen_cli
    from tsela.cli import stay as stay_cli
    from tsela.cli import synth as synth_cli

    for module in (
        synth_cli,
        admin_cli,
        mrz_cli,
        governance_cli,
        permits_cli,
        screen_cli,
        port_cli,
        observatory_cli,
        exchange_cli,
        identity_cli,
    ):
        module.register(app)
    stay_cli.register(app)
    from tsela.cli import matching as matching_cli

    matching_cli.register(app)  # after ``exchange``, whose group it joins
    ops_cli.register(app)


register_subcommands()


def main() -> None:
    from tsela.extras import missing_extra

    try:
        app()
    except ImportError as exc:  # a command without @user_errors that needs a missing extra
        line = missing_extra(exc)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
