"""``tsela port``: the port client that keeps working when the central server is unreachable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tsela.cli.common import clock, console, err_console, fail

if TYPE_CHECKING:
    from tsela.port.client import PortClient

port_app = typer.Typer(
    help="Port client: check travellers online, or offline against a local copy, and upload "
    "queued crossings when the link returns.",
    no_args_is_help=True,
)

SERVER = typer.Option("http://127.0.0.1:8000", envvar="TSELA_SERVER", help="Central server URL.")
TOKEN = typer.Option(..., envvar="TSELA_PORT_TOKEN", help="The officer's API token.")
PORT = typer.Option(..., envvar="TSELA_PORT", help="This port's code, e.g. SNP.")
HOME = typer.Option(Path("var/port"), envvar="TSELA_PORT_HOME", help="Local copy and queue.")
LANG = typer.Option(
    "en",
    "--lang",
    envvar="TSELA_PORT_LANG",
    help="Language of the operator's messages where they have one: en (English) or st "
    "(Sesotho). So far a full disk is told in both.",
)


def _language(lang: str) -> str:
    from tsela.port.words import check_language

    try:
        return check_language(lang)
    except ValueError as exc:
        fail(str(exc))


def _client(home: Path, server: str, token: str, port: str) -> PortClient:
    from tsela.port.client import PortClient
    from tsela.reference import UnknownPortError
    from tsela.reference import port as port_info

    try:
        code = port_info(port).code
    except UnknownPortError as exc:
        fail(str(exc))
    return PortClient(home, server=server, token=token, port=code, clock=clock())


@port_app.command()
def sync(
    home: Path = HOME, server: str = SERVER, token: str = TOKEN, port: str = PORT, lang: str = LANG
) -> None:
    """Download watchlists and document alerts for offline checks."""
    import httpx

    from tsela.port.client import PortError

    lang = _language(lang)
    client = _client(home, server, token, port)
    try:
        out = client.sync()
    except httpx.TransportError as exc:
        kept = client.status()["snapshot_at"]
        fail(
            f"sync failed: the server is unreachable ({exc})"
            + (f"; the local copy (snapshot of {kept}) is kept" if kept else "")
        )
    except PortError as exc:
        fail(f"sync failed: {exc.in_language(lang)}")
    finally:
        client.close()
    console.print(
        f"{out['lists']} lists loaded (snapshot of {out['generated_at']}, node {out['node']})"
    )
    if out["partner_alerts"]:
        console.print(f"{out['partner_alerts']} document alerts of the partner node loaded")
    if out["permit_keys_of"]:
        console.print(f"permits of node(s) {', '.join(out['permit_keys_of'])} verifiable offline")


@port_app.command()
def verify(
    token_or_image: str = typer.Argument(..., help="The permit token, or an image of its QR code."),
    as_json: bool = typer.Option(False, "--json", help="Answer as JSON."),
    home: Path = HOME,
    server: str = SERVER,
    port: str = PORT,
) -> None:
    """Verify a permit OFFLINE with the keys and revocation lists of both nodes that the last
    sync brought; says which country issued it. Exit 0 only when valid, 1 when not."""
    from tsela.cli.permits import show_verification, verification_json
    from tsela.port.client import PortError
    from tsela.services.permit_qr import decode_image, looks_like_image

    token = decode_image(Path(token_or_image))[0] if looks_like_image(token_or_image) else None
    client = _client(home, server, "", port)  # no token: nothing is asked of the server
    try:
        result = client.verify_permit(token or token_or_image)
    except PortError as exc:
        fail(str(exc))
    finally:
        client.close()
    if as_json:
        typer.echo(json.dumps(verification_json(result), indent=2))
    else:
        show_verification(result, [])
    if not result.valid:
        raise typer.Exit(1)


@port_app.command()
def check(
    mrz: list[str] = typer.Argument(None, help="MRZ lines as scanned."),
    direction: str = typer.Option(..., help="entry or exit"),
    document: str = typer.Option(None, help="Document number typed by hand."),
    issuing_state: str = typer.Option(None, help="Issuing state (with --document)."),
    record: bool = typer.Option(True, help="Record the crossing after the check."),
    override_reason: str = typer.Option(None, help="Why a REFER/DENY traveller may cross."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole answer as JSON."),
    home: Path = HOME,
    server: str = SERVER,
    token: str = TOKEN,
    port: str = PORT,
    lang: str = LANG,
) -> None:
    """Check a traveller (and record the crossing); works offline too."""
    from tsela.port.client import PortError

    lang = _language(lang)
    if direction not in ("entry", "exit"):
        fail(f"--direction must be entry or exit, got {direction!r}")
    if not mrz and not document:
        fail("give the MRZ lines, or --document and --issuing-state")
    client = _client(home, server, token, port)
    try:
        result = client.check(
            direction=direction,
            mrz="\n".join(mrz) if mrz else None,
            document_number=document,
            issuing_state=issuing_state,
            record=record,
            override_reason=override_reason,
        )
    except PortError as exc:
        fail(exc.in_language(lang))
    finally:
        client.close()
    if as_json:
        console.print_json(json.dumps(result.check))
        return
    if not result.online:
        err_console.print(
            f"working OFFLINE on the local copy: {result.offline_reason or 'server unreachable'}"
        )
    mode = "online" if result.online else "OFFLINE (local copy)"
    console.print(f"[bold]{result.decision}[/]  ({mode})")
    for reason in result.reasons:
        console.print(f"  - {reason['message']}")
    if result.queued:
        console.print("crossing queued; it will be uploaded when the server is reachable")
    elif result.recorded:
        console.print("crossing recorded")


@port_app.command()
def upload(
    home: Path = HOME, server: str = SERVER, token: str = TOKEN, port: str = PORT, lang: str = LANG
) -> None:
    """Send queued crossings to the server, in order.

    Exits non-zero while anything is left to send or awaits a decision (a refused token,
    refused crossings)."""
    from tsela.port.client import PortError

    lang = _language(lang)
    client = _client(home, server, token, port)
    try:
        rep = client.upload()
        refused = client.refused_items()
    except PortError as exc:
        fail(exc.in_language(lang))
    finally:
        client.close()
    console.print(
        f"sent {rep.sent}, already there {rep.replayed}, refused {rep.refused}, left {rep.left}"
        + ("; server unreachable" if rep.unreachable else "")
    )
    if rep.discards_reported:
        console.print(f"{rep.discards_reported} discarded crossing(s) reported to the server")
    for error in rep.errors:
        err_console.print(f"[red]{error}[/]")
    if rep.token_refused:
        err_console.print(f"[bold red]error:[/] {rep.token_refused}")
    for problem in (rep.unavailable, rep.stopped):
        if problem:
            err_console.print(f"[bold red]error:[/] {problem}")
    if rep.left:
        err_console.print(f"nothing was lost: {rep.left} crossing(s) stay queued")
    if refused:
        _show_refused(refused)
    if rep.left or refused or rep.token_refused:
        raise typer.Exit(1)


def _show_refused(refused: list[dict[str, Any]]) -> None:
    err_console.print(
        f"{len(refused)} crossing(s) refused by the server await a decision: put them back "
        "with `tsela port requeue`, or drop one with `tsela port discard ID --reason ...`"
    )
    for item in refused:
        what = item.get("document") or item.get("check_id") or ""
        err_console.print(
            f"  {item['id']}: {what} {item.get('at') or ''} "
            f"refused ({item['refused_status'] or '?'}): {item['reason']}"
        )


@port_app.command()
def requeue(
    ids: list[str] = typer.Argument(None, help="Only these (numbers from `status`)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    home: Path = HOME,
    server: str = SERVER,
    token: str = TOKEN,
    port: str = PORT,
    lang: str = LANG,
) -> None:
    """Put crossings the server refused back in the queue (they go up at the next upload)."""
    from tsela.port.client import PortError

    lang = _language(lang)
    client = _client(home, server, token, port)
    try:
        refused = client.refused_items()
        if ids:
            known = {str(r["id"]): r for r in refused} | {r["idempotency_key"]: r for r in refused}
            missing = [i for i in ids if i not in known]
            if missing:
                fail(f"not among the refused crossings: {', '.join(missing)} (see `status`)")
            refused = list({known[i]["id"]: known[i] for i in ids}.values())
        if not refused:
            console.print("no refused crossings: nothing to requeue")
            return
        _show_refused(refused)
        if not yes and not typer.confirm(
            f"Put {len(refused)} crossing(s) back in the queue?", default=False
        ):
            fail("nothing changed", code=1)
        try:
            done = client.requeue([str(r["id"]) for r in refused])
        except PortError as exc:
            fail(exc.in_language(lang))
    finally:
        client.close()
    console.print(
        f"{len(done)} crossing(s) back in the queue; `tsela port upload` sends them "
        "(the next check does too)"
    )


@port_app.command()
def discard(
    item: str = typer.Argument(..., help="The crossing's number in `status` (or its key)."),
    reason: str = typer.Option(..., help="Why it is dropped (kept in the audit logs)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    home: Path = HOME,
    server: str = SERVER,
    token: str = TOKEN,
    port: str = PORT,
    lang: str = LANG,
) -> None:
    """Drop one queued crossing for good, saying why.

    Recorded in the local audit log and reported to the server (now, or at the next upload)."""
    from tsela.port.client import PortError

    lang = _language(lang)
    if not reason.strip():
        fail("say why the crossing is discarded (--reason)")
    client = _client(home, server, token, port)
    try:
        if not yes and not typer.confirm(
            f"Discard crossing {item} for good (it will never reach the server)?", default=False
        ):
            fail("nothing changed", code=1)
        try:
            out = client.discard(item, reason)
        except PortError as exc:
            fail(exc.in_language(lang))
    finally:
        client.close()
    console.print(
        f"crossing {out['id']} discarded: {reason.strip()}; "
        + (
            "reported to the server"
            if out["reported"]
            else "it will be reported to the server at the next upload"
        )
    )


@port_app.command()
def status(home: Path = HOME, server: str = SERVER, token: str = TOKEN, port: str = PORT) -> None:
    """Snapshot age, queue length, and the crossings the server refused (with its reasons)."""
    client = _client(home, server, token, port)
    try:
        console.print_json(json.dumps(client.status()))
    finally:
        client.close()


@port_app.command()
def login(
    username: str = typer.Option(..., prompt=True, help="The officer's username."),
    password: str = typer.Option(..., prompt=True, hide_input=True, envvar="TSELA_PASSWORD"),
    server: str = SERVER,
) -> None:
    """Sign in and print a new port token (valid 12 h) for TSELA_PORT_TOKEN."""
    import httpx

    try:
        r = httpx.post(
            server.rstrip("/") + "/v1/auth/login",
            json={"username": username, "password": password},
            timeout=30,
        )
    except httpx.TransportError as exc:
        fail(f"the server is unreachable ({exc})")
    if r.status_code != 200:
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text[:200]
        fail(f"sign-in refused ({r.status_code}): {detail}")
    err_console.print("new token (set it as TSELA_PORT_TOKEN):")
    typer.echo(r.json()["access_token"])


def register(app: typer.Typer) -> None:
    app.add_typer(port_app, name="port")
