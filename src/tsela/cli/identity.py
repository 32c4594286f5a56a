"""``tsela identity``: resolve, review, show, link and unlink person identities (issue 17).

The command line acts as an operator of this node: resolution as an administrator, the
review decisions as a supervisor; every change is audited under ``cli:<login>``.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from tsela.cli.common import console, fail, settings, user_errors
from tsela.domain.values import Role
from tsela.kernel.actor import Actor
from tsela.kernel.errors import TselaError

app = typer.Typer(
    help="One person, one identity: resolve person records across documents and both nodes, "
    "review the doubtful pairs, show, link and unlink.",
    no_args_is_help=True,
)
T = TypeVar("T")


def _actor(role: Role) -> Actor:
    return Actor(f"cli:{getpass.getuser()}"[:60], role, settings().node, source="cli")


def _run(role: Role, work: Callable[[Any, Actor], T]) -> T:
    """One unit of work; a refusal keeps nothing, is audited when it asks, and ends the
    command with its one line."""
    from tsela.services import audit
    from tsela.store.db import make_engine, session_factory, transaction

    actor = _actor(role)
    engine = make_engine(settings().url)
    try:
        factory = session_factory(engine)
        try:
            with transaction(factory) as session:
                return work(session, actor)
        except TselaError as exc:
            with transaction(factory) as session:
                audit.record_refusal(
                    session, exc, actor=actor.username, node=actor.node, source=actor.source
                )
            fail(exc.message)
    finally:
        engine.dispose()


def _who(r: Any) -> str:
    doc = f"{r.document_country or '?'} {r.document_number or '-'}"
    born = r.birth_date or "????-??-??"
    rest = f"{r.sex or '?'}  {r.nationality or '?'}  {doc}"
    return f"{r.surname.upper()}, {r.given_names}  born {born}  {rest}"


@app.command("resolve")
@user_errors
def resolve(
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (one server) or spark."),
    train: bool = typer.Option(
        False, "--train", help="Train a new model by EM even if one is stored."
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Use this saved model file (JSON) instead of the stored one."
    ),
    save_model: Path | None = typer.Option(
        None, "--save-model", help="Also write the model used to this file (JSON)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Score every pair of person records that could be one person; link the sure ones
    (audited, can be undone), queue the doubtful ones for review."""
    from tsela.services.identity import active_model
    from tsela.services.identity import resolve as run

    def work(session: Any, actor: Actor) -> Any:
        report = run(
            session,
            actor,
            engine=engine,
            train=train,
            model_file=model,
            progress=lambda msg: console.print(f"[dim]{msg}...[/]") if not as_json else None,
        )
        if save_model is not None:
            stored = active_model(session)
            assert stored is not None
            save_model.write_text(json.dumps(stored.model, indent=2), encoding="utf-8")
        return report

    report = _run(Role.ADMIN, work)
    if as_json:
        out = {k: v for k, v in vars(report).items() if k != "changed"}
        out["changed"] = len(report.changed)
        typer.echo(json.dumps(out, indent=2))
        return
    console.print(
        f"{report.records:,} records, {report.pairs:,} pairs scored "
        f"({'trained' if report.trained else 'model'} {report.model_version}, {report.engine})"
    )
    console.print(
        f"{report.auto_linked:,} linked automatically this run, {report.queued:,} waiting for "
        f"review; {report.identities:,} identities, {report.multi:,} with more than one record"
    )


@app.command("review")
@user_errors
def review(
    pair_id: str | None = typer.Argument(None, help="A pair's id: decide it (with --decision)."),
    decision: str | None = typer.Option(None, "--decision", help="link, reject or defer."),
    note: str = typer.Option("", "--note", help="Why (kept in the audit log)."),
    status: str = typer.Option("pending", "--status", help="Which pairs to list."),
    page: int = typer.Option(1, "--page", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List the pairs waiting for review, or decide one: link, reject or defer."""
    import uuid

    from tsela.services import identity

    if pair_id is None:
        result = _run(
            Role.SUPERVISOR,
            lambda s, a: identity.queue(s, a, status=status, page=page),
        )
        if as_json:
            items = [_pair_json(p) for p in result.items]
            out = {"total": result.total, "page": result.page, "items": items}
            typer.echo(json.dumps(out, indent=2))
            return
        console.print(f"{result.total:,} pairs {status} (page {result.page})")
        for p in result.items:
            console.print(f"\n[bold]{p.id}[/]  probability {p.probability:.4f}")
            console.print(f"  {p.left.record_key}: {_who(p.left)}")
            console.print(f"  {p.right.record_key}: {_who(p.right)}")
            parts = ", ".join(
                f"{c['field']} {c['level']} {c['weight']:+.1f}" for c in p.contributions
            )
            console.print(f"  [dim]{parts}[/]")
        return
    if decision is None:
        fail("--decision is needed with a pair id: link, reject or defer")
    try:
        pid = uuid.UUID(pair_id)
    except ValueError:
        fail(f"{pair_id!r} is not a pair id")
    view = _run(Role.SUPERVISOR, lambda s, a: identity.decide(s, a, pid, decision, note))
    console.print(f"pair {view.id}: {view.status}")


def _fields(r: Any) -> dict[str, str | None]:
    return {k: str(v) if v is not None else None for k, v in vars(r).items()}


def _pair_json(p: Any) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "status": p.status,
        "probability": p.probability,
        "left": _fields(p.left),
        "right": _fields(p.right),
        "contributions": p.contributions,
    }


@app.command("show")
@user_errors
def show(
    key: str = typer.Argument(
        ..., help="A record key (person:<id>, partner:...) or an identity id."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """An identity: its records and the pairs that join (or were kept apart) them."""
    from tsela.services import identity

    view = _run(Role.SUPERVISOR, lambda s, a: identity.show(s, a, key))
    if as_json:
        members = [_fields(m) for m in view.members]
        pairs = [_pair_json(p) for p in view.pairs]
        out = {"identity_id": str(view.identity_id), "members": members, "pairs": pairs}
        typer.echo(json.dumps(out, indent=2))
        return
    console.print(f"identity {view.identity_id}: {len(view.members)} record(s)")
    for m in view.members:
        console.print(f"  {m.record_key}: {_who(m)}")
    for p in view.pairs:
        pair = f"{p.left.record_key} ~ {p.right.record_key}"
        console.print(f"  [dim]{p.status:<9} {p.probability:.4f} {pair}[/]")


@app.command("link")
@user_errors
def link(
    left: str = typer.Argument(..., help="A record key."),
    right: str = typer.Argument(..., help="Another record key."),
    note: str = typer.Option("", "--note", help="Why (kept in the audit log)."),
) -> None:
    """Link two records you know are one person."""
    from tsela.services import identity

    view = _run(Role.SUPERVISOR, lambda s, a: identity.link(s, a, left, right, note))
    console.print(f"identity {view.identity_id}: {len(view.members)} record(s)")


@app.command("unlink")
@user_errors
def unlink(
    key: str = typer.Argument(..., help="The record key to take out of its identity."),
    note: str = typer.Option("", "--note", help="Why (kept in the audit log)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Take a record out of its identity; no later run joins it again."""
    from tsela.services import identity

    if not yes and not typer.confirm(f"Take {key} out of its identity?"):
        raise typer.Exit(1)
    view = _run(Role.SUPERVISOR, lambda s, a: identity.unlink(s, a, key, note))
    console.print(
        f"{key} now stands alone; identity {view.identity_id} has {len(view.members)} record(s)"
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="identity")
