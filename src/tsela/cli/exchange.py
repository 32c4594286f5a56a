"""``tsela exchange``: node identity, trust anchors, keys, pulling, status and evidence."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tsela.cli.common import clock, console, fail, settings, user_errors

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tsela.config import Settings
    from tsela.services.node_identity import NodeIdentity

app = typer.Typer(
    help="Exchange records with the partner node (mutual TLS, signed batches).",
    no_args_is_help=True,
)
anchor_app = typer.Typer(help="This node's trust anchor.", no_args_is_help=True)
trust_app = typer.Typer(help="The partner nodes this node trusts.", no_args_is_help=True)
keys_app = typer.Typer(help="This node's node signing keys.", no_args_is_help=True)
app.add_typer(anchor_app, name="anchor")
app.add_typer(trust_app, name="trust")
app.add_typer(keys_app, name="keys")


def _identity() -> tuple[Settings, NodeIdentity]:
    from tsela.services.node_identity import NodeIdentity

    cfg = settings()
    return cfg, NodeIdentity(cfg.var_dir, cfg.node)


def _engine(cfg: Settings) -> Engine:
    from tsela.store.db import make_engine

    return make_engine(cfg.url)


def _now() -> datetime:
    from tsela.kernel import clock

    return clock.now()


def default_endpoint(cfg: Settings) -> str:
    return f"https://{cfg.exchange_host}:{cfg.exchange_port or 8443}"


def ensure_identity(
    cfg: Settings, endpoint: str | None = None, hosts: list[str] | None = None
) -> bool:
    from tsela.services.node_identity import NodeIdentity

    identity = NodeIdentity(cfg.var_dir, cfg.node)
    wanted = endpoint or (identity.endpoint if identity.exists() else default_endpoint(cfg))
    names = tuple(hosts) if hosts else ("localhost", "127.0.0.1")
    return identity.init(_now(), endpoint=wanted, hosts=names)


@app.command("init")
@user_errors
def init(
    endpoint: str = typer.Option(
        None,
        help="Where partners reach this node's feed (default https://HOST:PORT from "
        "TSELA_EXCHANGE_HOST and TSELA_EXCHANGE_PORT, or port 8443).",
    ),
    host: list[str] = typer.Option(
        None, "--host", help="A DNS name or IP address the TLS certificate names (repeatable)."
    ),
) -> None:
    """Make this node's node signing key and TLS certificate (idempotent)."""
    cfg, identity = _identity()
    made = ensure_identity(cfg, endpoint, host)
    console.print(
        f"node {cfg.node} exchange identity {'made' if made else 'kept'} under {identity.dir}; "
        f"endpoint {identity.endpoint}"
    )


@anchor_app.command("export")
@user_errors
def anchor_export(
    out: Path = typer.Option(None, "--out", help="Write the anchor here (default: print it)."),
    days: int = typer.Option(365, min=1, max=3650, help="How long the anchor is valid."),
) -> None:
    """This node's signed trust anchor, for the partner's operator; read its fingerprint to
    them by another channel."""
    from tsela.services import exchange as svc

    _cfg, identity = _identity()
    if out is None:
        doc = identity.anchor(_now(), days=days)
        console.print(json.dumps(doc, indent=2) + "\n", markup=False)
        return
    anchor = svc.write_anchor_file(identity, out, _now(), days)
    console.print(f"anchor of node {identity.node} written to {out}")
    console.print(f"fingerprint: {anchor.fingerprint}")


@trust_app.command("add")
@user_errors
def trust_add(
    file: Path = typer.Argument(..., help="The partner's anchor file."),
    yes: bool = typer.Option(False, "--yes", help="The fingerprint was confirmed already."),
) -> None:
    """Trust a partner node: check its anchor, show its fingerprint, confirm, store."""
    from tsela.services import exchange as svc
    from tsela.store.db import session_factory, transaction

    cfg, _ = _identity()
    try:
        anchor = svc.read_anchor_file(file)
    except svc.TrustError as exc:
        fail(str(exc))
    console.print(
        f"node {anchor.node} ({anchor.country}) at {anchor.endpoint}, "
        f"{len(anchor.keys)} node key(s), valid to {anchor.valid_to:%Y-%m-%d}"
    )
    console.print(f"fingerprint: {anchor.fingerprint}")
    if not yes and not typer.confirm(
        "Does the partner's operator read you the same fingerprint?", default=False
    ):
        fail("not trusted: the fingerprint was not confirmed", code=1)
    try:
        with transaction(session_factory(_engine(cfg))) as s:
            _partner, created = svc.add_partner(
                s, node=cfg.node, anchor=anchor, actor="cli", now=_now()
            )
    except svc.TrustError as exc:
        fail(str(exc))
    console.print(f"node {anchor.node} {'trusted' if created else 'anchor updated'}")


@trust_app.command("list")
@user_errors
def trust_list() -> None:
    """The trusted partners and their anchors' fingerprints."""
    from tsela.services import exchange as svc
    from tsela.store.db import session_factory

    cfg, _ = _identity()
    with session_factory(_engine(cfg))() as s:
        found = svc.partners(s)
    if not found:
        console.print("no partner trusted yet (tsela exchange trust add FILE)")
    for p in found:
        console.print(
            f"{p.partner}  {p.anchor.get('endpoint')}  fingerprint {p.fingerprint}  "
            f"keys {', '.join(k['kid'] for k in p.anchor.get('keys', []))}"
        )


@keys_app.command("list")
@user_errors
def keys_list() -> None:
    """This node's node keys and their validity."""
    _cfg, identity = _identity()
    now = _now()
    for key in identity.node_keys():
        state = key.problem_at(now) or "may sign"
        until = f" until {key.valid_to:%Y-%m-%d %H:%M}" if key.valid_to else ""
        console.print(f"{key.kid}  from {key.valid_from:%Y-%m-%d %H:%M}{until}  {state}")


def _announce(cfg: Settings, identity: NodeIdentity) -> None:
    from tsela.services import exchange as svc
    from tsela.store.db import session_factory, transaction

    with transaction(session_factory(_engine(cfg))) as s:
        svc.announce_anchor(s, identity, _now())


@keys_app.command("rotate")
@user_errors
def keys_rotate(
    overlap_days: int = typer.Option(
        7, min=0, max=365, help="How long the current key stays valid beside the new one."
    ),
) -> None:
    """Make a new node key; the current one stays valid for the overlap. The updated anchor
    goes to the partners through the feed (signed by the key they trust)."""
    cfg, identity = _identity()
    ending, new = identity.rotate(_now(), overlap=timedelta(days=overlap_days))
    _announce(cfg, identity)
    for key in ending:
        console.print(f"{key.kid} valid until {key.valid_to:%Y-%m-%d %H:%M}")
    console.print(f"new node key {new.kid}; updated anchor queued for the partners")


@keys_app.command("withdraw")
@user_errors
def keys_withdraw(
    kid: str = typer.Argument(..., help="The key to withdraw (tsela exchange keys list)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Withdraw a node key at once (e.g. compromised): partners refuse what it signs from the
    moment they receive the updated anchor."""
    cfg, identity = _identity()
    if not yes and not typer.confirm(f"Withdraw node key {kid} for good?", default=False):
        fail("nothing withdrawn", code=1)
    identity.withdraw(kid, _now())
    _announce(cfg, identity)
    console.print(f"node key {kid} withdrawn; updated anchor queued for the partners")


@app.command("pull")
@user_errors
def pull(
    partner: str = typer.Option(None, help="Only this partner (default: every partner)."),
) -> None:
    """Pull and apply the partners' feeds now, until caught up."""
    from tsela.services import exchange as svc
    from tsela.store.db import session_factory

    cfg, identity = _identity()
    engine = _engine(cfg)
    with session_factory(engine)() as s:
        names = [p.partner for p in svc.partners(s)]
    if partner:
        names = [n for n in names if n == partner.upper()]
        if not names:
            fail(f"node {partner} is not a trusted partner")
    failed = False
    for name in names:
        result = svc.pull(engine, cfg, identity, name)
        if result.ok:
            console.print(
                f"{name}: {result.records:,} records in {result.batches} batch(es); "
                f"{result.behind or 0:,} behind"
            )
        else:
            failed = True
            console.print(
                f"[red]{name}: refused or failed ({result.error_code}): {result.error}[/]"
            )
    if failed:
        raise typer.Exit(1)


@app.command("sequence")
@user_errors
def sequence() -> None:
    """Chain the outbox records written since the server last did (it does so continuously)."""
    from tsela.services import exchange as svc

    cfg, _ = _identity()
    console.print(f"{svc.sequence_pending(_engine(cfg)):,} records sequenced")


@app.command("status")
@user_errors
def status(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    days: int = typer.Option(
        7, help="Border days the unmatched counts cover, today included (1 to 31)."
    ),
) -> None:
    """Partners, last batch, lag (with an alert past TSELA_EXCHANGE_LAG_ALERT_S), errors, and
    the exits with no entry after the window and the reverse."""
    from tsela.services import exchange_ops as ops
    from tsela.store.db import session_factory

    cfg, _ = _identity()
    try:
        ops.check_days(days)
    except ops.OpsInputError as exc:
        fail(f"--days: {exc}")
    now = clock().now()  # the border days counted follow the command's clock (TSELA_CLOCK)
    with session_factory(_engine(cfg))() as s:
        found = ops.overview(
            s, node=cfg.node, now=now, lag_alert_s=cfg.exchange_lag_alert_s, days=days
        )
    if as_json:
        console.print(json.dumps(found, indent=2), markup=False)
        return
    feed = found["feed"]
    console.print(
        f"node {cfg.node}: feed at record {feed['head_seq']:,} "
        f"({feed['unsequenced']} not yet sequenced)"
    )
    if not found["partners"]:
        console.print("no partner trusted yet (tsela exchange trust add FILE)")
    for p in found["partners"]:
        behind = "unknown" if p["behind"] is None else f"{p['behind']:,}"
        lag = "unknown" if p["lag_s"] is None else f"{max(0.0, p['lag_s']):.0f} s"
        console.print(
            f"{p['partner']}: applied up to {p['last_seq']:,} ({behind} behind), lag {lag}, "
            f"last batch {p['last_batch_at'] or 'never'}, {p['refusals']} refused"
        )
        if p["lag_alert"]:
            why = (
                "nothing received yet"
                if p["lag_s"] is None
                else f"lag {p['lag_s']:.0f} s is past {found['lag_alert_s']} s"
            )
            console.print(f"  [red]LAG ALERT: {why}[/]")
        if p["last_error_code"]:
            console.print(
                f"  [red]last error ({p['last_error_code']}) at {p['last_error_at']}: "
                f"{p['last_error']}[/]",
                markup=True,
            )
    _print_unmatched(found["unmatched"])


def _print_unmatched(found: dict[str, Any]) -> None:
    t = found["totals"]
    console.print(
        f"matching {found['first_day']} to {found['last_day']} (window {found['window_minutes']}"
        f" min): {t['unmatched_exits']:,} exits with no entry, {t['unmatched_entries']:,} "
        f"entries with no exit, {t['mismatches']:,} mismatches; {t['pending']:,} within the "
        f"window, {t['matched']:,} matched, {t['no_counterpart_port']:,} at a post with no "
        "counterpart"
    )
    for line in found["lines"][:20]:
        parts = [
            f"{line[key]:,} {words}"
            for key, words in (
                ("unmatched_exits", "exits with no entry"),
                ("unmatched_entries", "entries with no exit"),
                ("mismatches", "mismatches"),
                ("pending", "within the window"),
                ("no_counterpart_port", "with no counterpart post"),
            )
            if line[key]
        ]
        console.print(f"  {line['day']} {line['port']}: {', '.join(parts)}")
    if len(found["lines"]) > 20:
        console.print(f"  ... and {len(found['lines']) - 20} more (--json lists all)")


@app.command("evidence")
@user_errors
def evidence(
    batch_id: str = typer.Argument(..., help="The batch id (from the audit log or status)."),
    out: Path = typer.Option(..., "--out", help="Write the evidence file here."),
) -> None:
    """Export a received batch with its signature and the anchor that verifies it."""
    from tsela.services import exchange as svc
    from tsela.store.db import session_factory

    cfg, _ = _identity()
    with session_factory(_engine(cfg))() as s:
        try:
            doc = svc.evidence(s, batch_id)
        except svc.TrustError as exc:
            fail(str(exc))
    out.write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
    console.print(f"batch {batch_id} from node {doc['from']} written to {out}")


@app.command("checkpoints")
@user_errors
def checkpoints(
    node: str = typer.Option(..., "--node", help="The partner node whose checkpoints to export."),
    out: Path = typer.Option(None, "--out", help="Write them here (default: print them)."),
    limit: int = typer.Option(None, min=1, help="Only the newest N."),
) -> None:
    """Export the partner's audit-log checkpoints this node keeps, as they arrived (JSON
    lines): for the partner's `tsela audit verify --against-partner FILE`."""
    from tsela.services.audit_checkpoints import held_for
    from tsela.store.db import session_factory

    cfg = settings()
    with session_factory(_engine(cfg))() as s:
        held = held_for(s, node.upper(), limit)
    text = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in held)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, "utf-8")
    newest = f"; the newest names entry {held[-1]['seq']} ({held[-1]['at']})" if held else ""
    console.print(f"{len(held)} checkpoint(s) of node {node.upper()} written to {out}{newest}")


@app.command("verify-evidence")
@user_errors
def verify_evidence(file: Path = typer.Argument(..., help="An evidence file.")) -> None:
    """Check exported evidence offline (signature and chain); exit 1 if it does not verify."""
    from tsela.services import exchange as svc

    try:
        doc = json.loads(file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"cannot read {file}: {exc}")
    report = svc.verify_evidence(doc)
    console.print(report.message if report.ok else f"[red]{report.message}[/]")
    if not report.ok:
        raise typer.Exit(1)


@app.command("serve")
@user_errors
def serve(
    port: int = typer.Option(None, help="TLS port (default TSELA_EXCHANGE_PORT or 8443)."),
) -> None:
    """Serve only the exchange feed (mutual TLS) and run the sequencer and puller."""
    import asyncio

    import uvicorn

    from tsela.api.exchange import exchange_config, run_tasks

    cfg, identity = _identity()
    if not identity.exists():
        fail("no exchange identity: run `tsela exchange init` first")
    engine = _engine(cfg)
    server = uvicorn.Server(exchange_config(cfg, engine, port or cfg.exchange_port or 8443, "info"))

    async def both() -> None:
        tasks = asyncio.create_task(run_tasks(cfg, engine))
        try:
            await server.serve()
        finally:
            tasks.cancel()

    asyncio.run(both())


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="exchange")
