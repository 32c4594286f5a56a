"""``tsela port``: the port client that keeps working when the central server is unreachable."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tsela.cli.common import console, fail

port_app = typer.Typer(
    help="Port client: check travellers online, or offline against a local copy, and upload "
    "queued crossings when the link returns.",
    no_args_is_help=True,
)

SERVER = typer.Option("http://127.0.0.1:8000", envvar="TSELA_SERVER", help="Central server URL.")
TOKEN = typer.Option(..., envvar="TSELA_PORT_TOKEN", help="The officer's API token.")
PORT = typer.Option(..., envvar="TSELA_PORT", help="This port's code, e.g. SNP.")
HOME = typer.Option(Path("var/port"), envvar="TSELA_PORT_HOME", help="Local copy and queue.")


def _client(home: Path, server: str, token: str, port: str):  # type: ignore[no-untyped-def]
    from tsela.port.client import PortClient
    from tsela.reference import UnknownPortError
    from tsela.reference import port as port_info

    try:
        code = port_info(port).code
    except UnknownPortError as exc:
        fail(str(exc))
    return PortClient(home, server=server, token=token, port=code)


@port_app.command()
def sync(home: Path = HOME, server: str = SERVER, token: str = TOKEN, port: str = PORT) -> None:
    """Download watchlists and document alerts for offline checks."""
    import httpx

    from tsela.port.client import PortError

    client = _client(home, server, token, port)
    try:
        out = client.sync()
    except (PortError, httpx.TransportError) as exc:
        fail(f"sync failed: {exc}")
    finally:
        client.close()
    console.print(
        f"{out['lists']} lists loaded (snapshot of {out['generated_at']}, node {out['node']})"
    )


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
) -> None:
    """Check a traveller (and record the crossing); works offline too."""
    from tsela.port.client import PortError

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
        fail(str(exc))
    finally:
        client.close()
    if as_json:
        console.print_json(json.dumps(result.check))
        return
    mode = "online" if result.online else "OFFLINE (local copy)"
    console.print(f"[bold]{result.decision}[/]  ({mode})")
    for reason in result.reasons:
        console.print(f"  - {reason['message']}")
    if result.queued:
        console.print("crossing queued; it will be uploaded when the server is reachable")
    elif result.recorded:
        console.print("crossing recorded")


@port_app.command()
def upload(home: Path = HOME, server: str = SERVER, token: str = TOKEN, port: str = PORT) -> None:
    """Send queued crossings to the server, in order."""
    client = _client(home, server, token, port)
    try:
        rep = client.upload()
    finally:
        client.close()
    console.print(
        f"sent {rep.sent}, already there {rep.replayed}, refused {rep.refused}, left {rep.left}"
        + ("; server unreachable" if rep.unreachable else "")
    )
    for error in rep.errors:
        console.print(f"[red]{error}[/]")
    if rep.left or rep.refused:
        raise typer.Exit(1)


@port_app.command()
def status(home: Path = HOME, server: str = SERVER, token: str = TOKEN, port: str = PORT) -> None:
    """Snapshot age and queue length."""
    client = _client(home, server, token, port)
    try:
        console.print_json(json.dumps(client.status()))
    finally:
        client.close()


def register(app: typer.Typer) -> None:
    app.add_typer(port_app, name="port")
