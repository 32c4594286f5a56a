"""Administration: users and the audit log."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from tsela.cli.common import console, fail, settings, user_errors

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tsela.store.models import Role

user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
audit_app = typer.Typer(
    help="Inspect and verify the tamper-evident audit log.", no_args_is_help=True
)


PASSWORD_STDIN = typer.Option(
    False,
    "--password-stdin",
    help="Read the password from the first line of standard input (for scripts) instead of "
    "asking for it. Passwords are never given on the command line, where other users of the "
    "machine and the shell history would see them.",
)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            fail("--password-stdin: standard input is empty; give the password on its first line")
        return line.rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@contextmanager
def _accounts() -> Iterator[tuple[Session, str]]:
    """A transaction on the configured database; account refusals become one clear line."""
    from tsela.services.accounts import AccountError
    from tsela.store.db import make_engine, session_factory, transaction

    cfg = settings()
    try:
        with transaction(session_factory(make_engine(cfg.url))) as s:
            yield s, cfg.node
    except AccountError as exc:
        fail(str(exc))


def _role(value: str) -> Role:
    from tsela.store.models import Role

    try:
        return Role(value)
    except ValueError:
        fail(f"unknown role {value!r}: choose one of {', '.join(r.value for r in Role)}")


ROLE_HELP = (
    "border_officer, supervisor, permit_officer, analyst, admin, employer, worker, secretariat"
)


@user_app.command("add")
@user_errors
def add_user(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., help=ROLE_HELP),
    port: str = typer.Option(None, help="Port code for a border officer (e.g. MSU)."),
    full_name: str = typer.Option("", help="Full name shown in the interface."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create a user with one role (border officers are bound to a port). Asks for the
    password (at least 10 characters)."""
    from tsela.services.accounts import create_user

    role_value = _role(role)
    password = read_password(password_stdin)
    with _accounts() as (s, node):
        create_user(
            s,
            node=node,
            username=username,
            password=password,
            role=role_value,
            port_code=port,
            full_name=full_name,
            actor="cli",
        )
    console.print(f"user {username.lower()} created ({role_value.value})")


@user_app.command("list")
@user_errors
def list_users() -> None:
    """Every account: name, role, port, and whether it may sign in."""
    from tsela.services.accounts import list_users as all_users
    from tsela.store.models import PortOfEntry

    with _accounts() as (s, _node):
        ports = {p.id: p.code for p in s.query(PortOfEntry)}
        rows = [
            (u.username, u.role.value, ports.get(u.port_id, "") if u.port_id else "", u.active)
            for u in all_users(s)
        ]
    for name, role_name, port_code, active in rows:
        state = "active" if active else "DISABLED"
        console.print(f"{name:<24} {role_name:<16} {port_code:<6} {state}")
    console.print(f"{len(rows)} user(s)")


@user_app.command("disable")
@user_errors
def disable_user(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Deactivate an account: it can no longer sign in, and its tokens and browser sessions
    stop working (servers that looked a token up in the last TSELA_TOKEN_CACHE_MS may still
    accept it for that long)."""
    from tsela.services.accounts import set_active

    with _accounts() as (s, _node):
        revoked = set_active(s, username, False, actor="cli")
    console.print(
        f"user {username.lower()} disabled; {revoked.tokens} token(s) revoked, "
        f"{revoked.sessions} session(s) ended"
    )


@user_app.command("enable")
@user_errors
def enable_user(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Reactivate an account (it signs in again; tokens revoked earlier stay revoked)."""
    from tsela.services.accounts import set_active

    with _accounts() as (s, _node):
        set_active(s, username, True, actor="cli")
    console.print(f"user {username.lower()} enabled")


@user_app.command("reset-password")
@user_errors
def reset_password(
    username: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Set a new password (asked for); every token and session of the user ends."""
    from tsela.services.accounts import reset_password as reset

    password = read_password(password_stdin)
    with _accounts() as (s, _node):
        revoked = reset(s, username, password, actor="cli")
    console.print(
        f"password of {username.lower()} changed; {revoked.tokens} token(s) revoked, "
        f"{revoked.sessions} session(s) ended"
    )


@user_app.command("role")
@user_errors
def change_role(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Argument(..., help=ROLE_HELP),
    port: str = typer.Option(None, help="Port code for a border officer (e.g. MSU)."),
) -> None:
    """Give a user another role."""
    from tsela.services.accounts import set_role

    role_value = _role(role)
    with _accounts() as (s, _node):
        set_role(s, username, role_value, actor="cli", port_code=port)
    console.print(f"user {username.lower()} is now {role_value.value}")


@user_app.command("revoke-tokens")
@user_errors
def revoke_tokens(username: str = typer.Argument(..., help="Login name.")) -> None:
    """End every API token and browser session of a user (e.g. a lost laptop)."""
    from tsela.services.accounts import revoke_user_credentials

    with _accounts() as (s, _node):
        revoked = revoke_user_credentials(s, username, actor="cli")
    console.print(
        f"{revoked.tokens} token(s) revoked, {revoked.sessions} session(s) ended "
        f"for {username.lower()}"
    )


@audit_app.command("verify")
@user_errors
def verify_audit(
    seal: bool = typer.Option(
        True, help="First chain the entries written since the server last sealed the log."
    ),
    seal_late: bool = typer.Option(
        False,
        "--seal-late",
        help="Also chain unsealed entries dated before entries already sealed (back-dated: "
        "left unsealed and reported otherwise). Only after looking at them.",
    ),
    against_partner: str = typer.Option(
        None,
        "--against-partner",
        metavar="FILE|NODE",
        help="Also compare with the checkpoints of this log that the partner node keeps (sent "
        "to it through the exchange): a file its operator exported with `tsela exchange "
        "checkpoints --node <this node>`, or its node code (e.g. ZA) to ask it over the "
        "exchange's mutual TLS.",
    ),
) -> None:
    """Check the whole hash chain against the signed checkpoints kept outside the database
    (and, with --against-partner, those the partner node keeps); exit 1 and name each problem
    if the log was tampered with. When intact, write a new checkpoint."""
    from tsela.services import audit_checkpoints as checkpoints
    from tsela.store.db import make_engine

    cfg = settings()
    engine = make_engine(cfg.url)
    copies = None
    if against_partner:
        try:
            copies = checkpoints.partner_copies(engine, cfg, against_partner)
        except checkpoints.CheckpointError as exc:
            fail(str(exc))
    found = checkpoints.verify_log(
        engine, cfg.var_dir, cfg.node, seal=seal, seal_late=seal_late, partner=copies
    )
    report = found.report
    if copies is not None:
        if found.partner_newest is not None:
            console.print(
                f"{found.partner_count:,} checkpoint(s) of this log {copies.label}; the newest "
                f"names entry {found.partner_newest:,}"
            )
        else:
            console.print(
                f"[yellow]no checkpoint of this log {copies.label} yet (is the exchange "
                "running?): compared with the local checkpoints only[/]"
            )
    if found.sealed:
        console.print(f"sealed {found.sealed:,} new entries")
    for entry in found.late_sealed:
        console.print(
            f"[yellow]sealed back-dated entry {entry.id} ({entry.action} by {entry.actor}, "
            f"dated {entry.at.isoformat(timespec='seconds')}) as asked (--seal-late)[/]"
        )
    if report.unsealed:
        console.print(f"{report.unsealed:,} entries not yet sealed (not checked)")
    if found.ok:
        console.print(
            f"audit log intact: {report.entries:,} entries, chain verified against "
            f"{report.checkpoints:,} signed checkpoint(s)"
        )
        if found.written:
            path = checkpoints.checkpoint_path(cfg.var_dir)
            console.print(f"checkpoint written: entry {found.written.seq} ({path})")
        return
    for problem in found.problems:
        console.print(f"[red]{problem}[/]")
    console.print(
        f"audit log BROKEN: {len(found.problems)} problem(s) in {report.entries:,} entries"
    )
    raise typer.Exit(1)


@audit_app.command("checkpoint")
@user_errors
def checkpoint_audit() -> None:
    """Seal the entries written so far and write a signed checkpoint of the log's head (what
    the server does every TSELA_AUDIT_CHECKPOINT_S seconds); prints the record."""
    import json

    from tsela.services import audit_checkpoints as checkpoints
    from tsela.services.audit import seal_pending
    from tsela.store.db import make_engine

    cfg = settings()
    engine = make_engine(cfg.url)
    seal_pending(engine)
    written = checkpoints.write_checkpoint(engine, cfg.var_dir, cfg.node)
    latest = checkpoints.latest_checkpoint(cfg.var_dir, cfg.node)
    if latest is None:
        console.print("the audit log is empty: nothing to checkpoint")
        return
    if written is None:
        console.print("the log's head is already checkpointed:")
    console.print(json.dumps(latest, sort_keys=True))


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
