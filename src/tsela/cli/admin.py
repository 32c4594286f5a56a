"""Administration: users and the audit log."""

from __future__ import annotations

import typer

from tsela.cli.common import console, fail, settings, user_errors

user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
audit_app = typer.Typer(
    help="Inspect and verify the tamper-evident audit log.", no_args_is_help=True
)


@user_app.command("add")
@user_errors
def add_user(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(
        ...,
        help="border_officer, supervisor, permit_officer, analyst, admin, employer, worker, "
        "secretariat",
    ),
    port: str = typer.Option(None, help="Port code for a border officer (e.g. MSU)."),
    full_name: str = typer.Option("", help="Full name shown in the interface."),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters."
    ),
) -> None:
    """Create a user with one role (border officers are bound to a port)."""
    from tsela.services.accounts import AccountError, create_user
    from tsela.store.db import make_engine, session_factory, transaction
    from tsela.store.models import Role

    try:
        role_value = Role(role)
    except ValueError:
        fail(f"unknown role {role!r}: choose one of {', '.join(r.value for r in Role)}")
    cfg = settings()
    try:
        with transaction(session_factory(make_engine(cfg.url))) as s:
            create_user(
                s,
                node=cfg.node,
                username=username,
                password=password,
                role=role_value,
                port_code=port,
                full_name=full_name,
                actor="cli",
            )
    except AccountError as exc:
        fail(str(exc))
    console.print(f"user {username.lower()} created ({role_value.value})")


@audit_app.command("verify")
@user_errors
def verify_audit(
    seal: bool = typer.Option(
        True, help="First chain the entries written since the server last sealed the log."
    ),
) -> None:
    """Check the whole hash chain; exit 1 and name each broken entry if it was tampered with."""
    from tsela.services.audit import seal_pending, verify
    from tsela.store.db import make_engine, session_factory

    cfg = settings()
    engine = make_engine(cfg.url)
    sealed = seal_pending(engine) if seal else 0
    with session_factory(engine)() as s:
        report = verify(s)
    if sealed:
        console.print(f"sealed {sealed:,} new entries")
    if report.unsealed:
        console.print(f"{report.unsealed:,} entries not yet sealed (not checked)")
    if report.ok:
        console.print(f"audit log intact: {report.entries:,} entries, chain verified")
        return
    for problem in report.problems:
        console.print(f"[red]{problem}[/]")
    console.print(
        f"audit log BROKEN: {len(report.problems)} problem(s) in {report.entries:,} entries"
    )
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
