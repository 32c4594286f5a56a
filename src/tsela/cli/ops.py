"""Operations: backing up and restoring a node."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from tsela.cli.common import console, fail, settings, user_errors

PASSPHRASE_ENV = "TSELA_BACKUP_PASSPHRASE"


def _passphrase(from_stdin: bool, *, confirm: bool) -> str:
    """From stdin, the environment, or a prompt: never the command line, which every user of
    the machine can read (ps) and shells keep in their history."""
    if from_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    elif os.environ.get(PASSPHRASE_ENV):
        value = os.environ[PASSPHRASE_ENV]
    else:
        value = typer.prompt(
            "Passphrase for the signing keys", hide_input=True, confirmation_prompt=confirm
        )
    if not value:
        fail(f"no passphrase: give it at the prompt, in {PASSPHRASE_ENV}, or on stdin")
    return value


STDIN_HELP = (
    f"Read the passphrase from the first line of stdin (else {PASSPHRASE_ENV}, else a prompt)."
)


@user_errors
def backup_command(
    file: Path = typer.Argument(..., help="The backup file to write (replaced if it exists)."),
    passphrase_stdin: bool = typer.Option(False, "--passphrase-stdin", help=STDIN_HELP),
) -> None:
    """Back up the database (while serving), the signing keys (encrypted with a passphrase)
    and the audit checkpoints into one file."""
    from tsela.services.backup import backup
    from tsela.store.db import make_engine

    cfg = settings()
    passphrase = _passphrase(passphrase_stdin, confirm=True)
    engine = make_engine(cfg.url)
    try:
        summary = backup(engine, cfg.var_dir, cfg.node, file, passphrase)
    finally:
        engine.dispose()
    rows = sum(summary.rows.values())
    console.print(
        f"backup written to {file}: {summary.backend} database ({rows:,} rows; "
        f"{summary.rows.get('crossing', 0):,} crossings), {summary.key_files} key file(s), "
        f"{'with' if summary.checkpoints else 'no'} audit checkpoints"
    )


@user_errors
def restore_command(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A file `tsela backup` wrote."
    ),
    passphrase_stdin: bool = typer.Option(False, "--passphrase-stdin", help=STDIN_HELP),
) -> None:
    """Restore a backup into an empty database (TSELA_DATABASE_URL) and the var directory
    (keys and audit checkpoints already there are kept aside, renamed)."""
    from tsela.services.backup import restore
    from tsela.store.db import make_engine

    cfg = settings()
    passphrase = _passphrase(passphrase_stdin, confirm=False)
    engine = make_engine(cfg.url)
    try:
        summary, aside = restore(engine, cfg.var_dir, cfg.node, file, passphrase)
    finally:
        engine.dispose()
    for path in aside:
        console.print(f"kept the previous {path.name.split('.before-restore-')[0]} as {path}")
    console.print(
        f"restored {file} (made {summary.created}): {sum(summary.rows.values()):,} rows, "
        f"{summary.key_files} key file(s); run `tsela audit verify` next"
    )


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
