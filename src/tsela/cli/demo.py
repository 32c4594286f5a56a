"""``tsela demo``: both nodes — Lesotho and South Africa — set up, exchanging, served.

Set-up (idempotent: a second run keeps what is there) is done in this process, one node
after the other (``prepare_node``; trust and walkthrough data: ``synth.demo_nodes``); then
each node is served by a ``tsela serve`` process of its own, in its own process group, with
its own environment. Ctrl-C (or SIGTERM) stops both: each gets one SIGTERM (uvicorn's
graceful shutdown), and SIGKILL only if it has not gone after ``STOP_TIMEOUT``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tsela.cli.common import clock, console, fail, settings
from tsela.cli.synth import DEMO_SEED, populate, progress_factory
from tsela.config import Settings

if TYPE_CHECKING:
    from tsela.synth.demo_nodes import DemoNode, Walkthrough

READY_TIMEOUT = 180.0  # seconds for a node to answer after start (a loaded machine is slow)
STOP_TIMEOUT = 30.0
NOBODY = "  (nobody in this population fits: try a larger --persons with a new TSELA_VAR_DIR)"


@dataclass(frozen=True)
class NodeReady:
    """What ``prepare_node`` leaves behind for the printout."""

    logins: list[Any]  # synth.demo.DemoLogin
    samples: list[Any]  # synth.extras.BorderSample


def prepare_node(
    cfg: Settings, *, persons: int, extras: bool = True, linked: bool = True
) -> NodeReady:
    """Schema, reference data, the synthetic population (first run only) with — ``extras`` —
    employers, permits and watchlists, the demo accounts and the example governance plan."""
    from tsela.services.keys import KeyStore
    from tsela.services.setup import initialise
    from tsela.store.db import make_engine, session_factory
    from tsela.synth.demo import (
        ensure_demo_accounts,
        ensure_example_plan,
        ensure_fast_lane_member,
    )
    from tsela.synth.extras import add_extras, border_samples, has_extras, population_in_store
    from tsela.synth.run import existing_persons

    engine = make_engine(cfg.url)
    try:
        initialise(cfg, engine)
        have = existing_persons(engine)
        if have == 0:
            console.print(f"Generating the {cfg.node} node's population (first run only)...")
            populate(
                cfg,
                engine,
                persons=persons,
                start=date(2025, 1, 1),
                end=None,
                seed=DEMO_SEED,
                extras=extras,
            )
        elif extras and not has_extras(engine):
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
                        progress=progress_factory(stack),
                    )
                console.print(f"Added {added.describe()}")
        logins = ensure_demo_accounts(engine, cfg.node, clock().today(), linked=linked)
        planned = ensure_example_plan(engine, cfg.node, clock().now())
        member = ensure_fast_lane_member(engine, cfg.node, cfg.var_dir, clock().now())
        if member:
            console.print(
                f"Fast lane ({cfg.node}): the demo worker is member {member}; the card is on "
                "/me/fast-lane (login worker), scan it at /lane (login officer)"
            )
        if planned:
            console.print(
                f"Loaded the example governance plan ({planned} activities, marked EXAMPLE)"
            )
        with session_factory(engine)() as s:
            samples = border_samples(s, clock().today()) if extras else []
    finally:
        engine.dispose()
    return NodeReady(logins, samples)


def _print_logins(logins: list[Any], indent: str = "  ") -> None:
    for login in logins:
        where = f" at {login.port}" if login.port else ""
        console.print(f"{indent}{login.username:<12} {login.role}{where}  - {login.description}")


def _single(host: str, port: int, persons: int, no_serve: bool) -> None:
    """One node, from the TSELA_* settings (as before the exchange existed)."""
    from tsela.synth.demo import DEMO_PASSWORD

    cfg = settings()
    ready = prepare_node(cfg, persons=persons)
    url = f"http://{host}:{port}"
    console.print(f"\n[bold]Tsela demo[/] at [link={url}]{url}[/]  (API docs: {url}/docs)")
    console.print(f"Demo logins (password for all: [bold]{DEMO_PASSWORD}[/]):")
    _print_logins(ready.logins)
    if ready.samples:
        console.print("Documents to check at the officer console (synthetic travellers):")
        for sample in ready.samples:
            console.print(f"  {sample.issuing_state} {sample.number:<12} {sample.what}")
    if no_serve:
        return
    import uvicorn

    from tsela.api.app import create_app
    from tsela.store.db import make_engine

    uvicorn.run(
        create_app(cfg, make_engine(cfg.url)),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
    )


# --------------------------------------------------------------------------- both nodes


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def set_up(
    nodes: tuple[DemoNode, DemoNode], persons: int
) -> tuple[dict[str, NodeReady], Walkthrough]:
    """Both nodes ready to serve: data, accounts, identities, mutual trust, walkthrough."""
    from tsela.store.db import make_engine
    from tsela.synth import demo_nodes as dn

    ls, za = nodes
    base = dict(os.environ)
    for node in nodes:
        node.var_dir.mkdir(parents=True, exist_ok=True)
    # Lesotho issues the permits and keeps the watchlists; South Africa's node starts with
    # the same travellers and their crossings, and learns the rest from Lesotho's feed.
    ready = {
        "LS": prepare_node(ls.settings(base), persons=persons, extras=True),
        "ZA": prepare_node(za.settings(base), persons=persons, extras=False, linked=False),
    }
    now = clock().now()
    for node in nodes:
        made = dn.ensure_identity(node, now)
        console.print(
            f"{node.name} ({node.node}): node key and TLS certificate "
            f"{'made' if made else 'kept'}; feed at {node.endpoint}"
        )
    engines = {n.node: make_engine(n.database_url) for n in nodes}
    try:
        for me, other in ((ls, za), (za, ls)):
            done = dn.ensure_trust(me, engines[me.node], other, now)
            console.print(
                f"{me.name} trusts {other.name}: {done.changed} (anchor {done.anchor_file}, "
                f"fingerprint {done.fingerprint})"
            )
        walk = dn.seed(ls.var_dir.parent, engines["LS"], engines["ZA"], clock())
        with console.status("Identity resolution on Lesotho (the supervisor's review queue)…"):
            resolved = dn.resolve_identities(engines["LS"], ls.var_dir)
        console.print(
            f"{ls.name}: identity resolution "
            + {
                "resolved": f"run in {resolved.seconds:.0f} s",
                "kept": "kept (a model is there)",
            }.get(resolved.done, resolved.done)
            + (f" ({resolved.detail})" if resolved.detail else "")
            + f"; the review queue at {ls.url}/identity/review as supervisor"
        )
        from tsela.synth import queue_demo

        with console.status("Queue history for the wait-time pages…"):
            for node in nodes:
                queue_demo.write(engines[node.node], node.node, clock().now())
    finally:
        for engine in engines.values():
            engine.dispose()
    return ready, walk


def walkthrough_text(
    nodes: tuple[DemoNode, DemoNode], ready: dict[str, NodeReady], walk: Walkthrough
) -> list[str]:
    """What to look at, in the three steps of issue 16 (lines of rich markup)."""
    from tsela.synth.demo import DEMO_PASSWORD

    ls, za = nodes
    out = [
        "",
        "[bold]Tsela demo: two nodes exchanging over mutual TLS on this machine[/]",
        f"  {ls.name:<13} ({ls.node})  {ls.url}  feed {ls.endpoint}  database "
        f"{ls.var_dir / 'tsela.db'}",
        f"  {za.name:<13} ({za.node})  {za.url}  feed {za.endpoint}  database "
        f"{za.var_dir / 'tsela.db'}",
        f"  (two host names, so that a browser keeps a sign-in on each; password for every "
        f"login: [bold]{DEMO_PASSWORD}[/])",
        "",
        f"Logins on {ls.name}:",
    ]
    for login in ready["LS"].logins:
        where = f" at {login.port}" if login.port else ""
        out.append(f"  {login.username:<12} {login.role}{where}  - {login.description}")
    names = ", ".join(login.username for login in ready["ZA"].logins)
    out.append(f"Logins on {za.name}: {names} (the same roles and posts)")
    if ready["LS"].samples:
        out.append(f"Documents to check at the {ls.name} console (synthetic travellers):")
        out += [
            f"  {sample.issuing_state} {sample.number:<12} {sample.what}"
            for sample in ready["LS"].samples
        ]
    out.append("")
    out.append("[bold](a) An exit from Lesotho matched with the entry into South Africa[/]")
    if walk.live is not None:
        t = walk.live
        out += [
            f"  1. {ls.url}/console as officer (Maseru Bridge): Exit, document number "
            f"{t.number}, issuing state {t.issuing_state} ({t.name}); Check, then Record "
            "crossing.",
            f"  2. {za.url}/console as officer (Maseru Bridge, South African side): Entry, the "
            "same document. “The other country's record”: Left Lesotho at Maseru Bridge, "
            "minutes ago. Record crossing.",
        ]
        if walk.declaration:
            out.append(
                f"     With it, type the traveller's pre-arrival declaration {walk.declaration} "
                "(made at set-up, as a traveller would at "
                f"{za.url}/declare) in the declaration field: the declared purpose, address "
                "and stay show on the result."
            )
    else:
        out.append(NOBODY)
    out.append(
        f"  3. {za.url}/exchange (or {ls.url}/exchange) as supervisor: crossings matched, and "
        "those with no counterpart"
        + (
            " (recorded at set-up: " + "; ".join(walk.seeded) + ")."
            if walk.seeded
            else " (including those recorded at the first set-up)."
        )
    )
    out.append("[bold](b) A passport reported stolen in Maseru refused at Ficksburg[/]")
    if walk.stolen is not None:
        out += [
            f"  {za.url}/console as ficksburg (Ficksburg Bridge): Entry, document number "
            f"{walk.stolen.number}, issuing state {walk.stolen.issuing_state}: refused, reported "
            "stolen to the Lesotho police (the Lesotho node's list, received through the "
            "exchange).",
            f"  In Lesotho the same passport is refused by the list itself: {ls.url}/console "
            "as officer.",
        ]
    else:
        out.append(NOBODY)
    out.append("[bold](c) A Lesotho-issued permit verified by a South African officer[/]")
    if walk.permit_file is not None:
        out += [
            f"  {za.url}/verify: paste the text of {walk.permit_file} ({walk.permit}, signed "
            "by the Lesotho node, whose keys reached South Africa through the exchange).",
            f"  The holder sees the same permit and its QR code at {ls.url}/me as worker.",
        ]
    else:
        out.append(NOBODY)
    out += [
        "",
        f"Wait times (public, live while the demo runs): {ls.url}/waits and {za.url}/waits; "
        f"a traveller's own days left: {za.url}/stay-check",
        "The exchange from the command line: "
        f"TSELA_VAR_DIR={za.var_dir} TSELA_NODE=ZA tsela exchange status",
        f"Server logs: {ls.var_dir / 'server.log'}, {za.var_dir / 'server.log'}",
    ]
    return out


class _Stop(Exception):
    pass


class _LiveQueues:
    """The demo's ports keep queuing while it serves: every half minute the simulated day's
    new tickets and turns are written, so /waits shows live figures. A failure is printed
    once and the demo goes on (the wait pages are not what the demo is for)."""

    EVERY = 30.0

    def __init__(self, nodes: tuple[DemoNode, DemoNode]) -> None:
        self.nodes = nodes
        self.next = time.monotonic() + self.EVERY
        self.failed = False

    def tick(self) -> None:
        if self.failed or time.monotonic() < self.next:
            return
        self.next = time.monotonic() + self.EVERY
        from tsela.store.db import make_engine
        from tsela.synth import queue_demo

        for node in self.nodes:
            engine = make_engine(node.database_url)
            try:
                queue_demo.write(engine, node.node, clock().now())
            except Exception as exc:  # reported once; the servers go on
                console.print(f"[yellow]live queue for {node.name} stopped: {exc}[/]")
                self.failed = True
            finally:
                engine.dispose()


def _serve_both(nodes: tuple[DemoNode, DemoNode]) -> int:
    """Start a ``tsela serve`` per node, wait until both answer, then until Ctrl-C (or
    SIGTERM) or until one of them stops by itself; stop both. Exit status."""
    import httpx

    procs: list[tuple[DemoNode, subprocess.Popen[bytes], Path]] = []
    stopping = {"signal": 0}

    def on_signal(signum: int, _frame: Any) -> None:
        stopping["signal"] = signum
        raise _Stop

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        for node in nodes:
            log = node.var_dir / "server.log"
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "tsela.cli.main", "serve", "--host", node.host,
                     "--port", str(node.port), "--exchange-port", str(node.exchange_port)],
                    env=node.env(os.environ),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C reaches this process only; it stops them
                )  # fmt: skip
            procs.append((node, proc, log))
        for node, proc, log in procs:
            deadline = time.monotonic() + READY_TIMEOUT
            reach = "127.0.0.1" if node.host in ("0.0.0.0", "localhost") else node.host
            url = f"http://{reach}:{node.port}/health"
            while True:
                if proc.poll() is not None:
                    tail = log.read_text(errors="replace")[-3000:]
                    console.print(f"[red]{node.name} did not start:[/]\n{tail}", markup=True)
                    return 1
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url, timeout=5).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    console.print(
                        f"[red]{node.name} did not answer within {READY_TIMEOUT:.0f} s[/]"
                    )
                    return 1
                time.sleep(0.2)
            console.print(f"{node.name} ({node.node}) serving at {node.url}")
        console.print("[bold]Both nodes are running. Ctrl-C stops both.[/]")
        queues = _LiveQueues(nodes)
        while True:
            queues.tick()
            for node, proc, log in procs:
                if proc.poll() is not None:
                    console.print(
                        f"[red]{node.name} stopped by itself (exit {proc.returncode}); see {log}[/]"
                    )
                    return 1
            time.sleep(0.5)
    except _Stop:
        status = 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut this short
        for _node, proc, _log in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for node, proc, _log in procs:
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                console.print(f"{node.name} did not stop within {STOP_TIMEOUT:.0f} s: killed")
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if procs:
            console.print("Both nodes stopped.")
    return status


def demo(
    host: str = typer.Option("127.0.0.1", help="Interface both nodes listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Lesotho's web pages and API."),
    za_port: int = typer.Option(8001, min=1, max=65535, help="South Africa's web pages and API."),
    exchange_port: int = typer.Option(
        8443, min=1, max=65535, help="Lesotho's exchange feed (mutual TLS)."
    ),
    za_exchange_port: int = typer.Option(
        8444, min=1, max=65535, help="South Africa's exchange feed (mutual TLS)."
    ),
    persons: int = typer.Option(2000, help="Travellers to generate on first run."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Prepare the data, do not serve."),
    single: bool = typer.Option(
        False,
        "--single",
        help="Only one node, from TSELA_NODE, TSELA_VAR_DIR and TSELA_DATABASE_URL (no exchange).",
    ),
) -> None:
    """Set up both nodes — Lesotho on --port, South Africa on --za-port, each its own SQLite
    database under <TSELA_VAR_DIR>/ls and /za, with node keys, TLS certificates and each
    other's trust anchors — and serve them, exchanging over mutual TLS on loopback.

    Prints how to see an exit from Lesotho matched with the entry into South Africa, a
    passport reported stolen in Maseru refused at Ficksburg, and a Lesotho permit verified
    by a South African officer. Safe to run again: what is set up is kept.
    """
    if persons < 1:
        fail(f"--persons must be at least 1, got {persons}")
    if single:
        _single(host, port, persons, no_serve)
        return
    from tsela.synth import demo_nodes as dn

    root = settings().var_dir
    nodes = dn.layout(
        root,
        host=host,
        ls_port=port,
        za_port=za_port,
        ls_exchange_port=exchange_port,
        za_exchange_port=za_exchange_port,
    )
    if not no_serve:
        web = "127.0.0.1" if host == "localhost" else host
        busy = [
            p
            for p, where in (
                (port, web),
                (za_port, web),
                (exchange_port, "127.0.0.1"),
                (za_exchange_port, "127.0.0.1"),
            )
            if not _port_free(where, p)
        ]
        if busy:
            fail(
                f"port(s) {', '.join(map(str, busy))} on {host} are in use (another Tsela demo?):"
                " stop it, or choose others with --port, --za-port, --exchange-port, "
                "--za-exchange-port"
            )
    ready, walk = set_up(nodes, persons)
    for line in walkthrough_text(nodes, ready, walk):
        console.print(line)
    if no_serve:
        return
    raise typer.Exit(_serve_both(nodes))
