"""Backing up a node, and restoring it: the database, the signing keys, the audit checkpoints.

One file, a tar archive:

- ``manifest.json``: format, node, back end, time, schema (PostgreSQL), rows per table;
- ``database.dump`` (PostgreSQL, ``pg_dump`` custom format) or ``database.sqlite`` (SQLite,
  copied with sqlite3's online backup API: a plain file copy while serving misses what is
  still in the write-ahead log, and can copy a half-written page);
- ``keys.enc``: everything under ``<var>/keys``, encrypted with a key derived from a
  passphrase (scrypt, then Fernet: AES-128-CBC with HMAC-SHA256), so the archive alone does
  not let anyone sign permits;
- ``audit-checkpoints.jsonl``: the audit log's signed checkpoints.

Order of the copies: checkpoints, then the database, then the keys. A checkpoint names only
entries sealed before it was written, so every checkpoint in the archive names entries that
are in its database; keys are only ever added (rotation keeps the public half), so the key
set copied last covers every signature in the database.

The database dump is not encrypted (it holds personal data: keep the archive on encrypted
storage, as the database itself).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.engine import URL

from tsela.kernel import clock
from tsela.services.audit_checkpoints import checkpoint_path
from tsela.store.db import make_engine
from tsela.store.models import Base

FORMAT = "tsela-backup/1"
MIN_PASSPHRASE = 12
# scrypt's cost: 2**15 takes about 0.1 s and 32 MiB, once per backup or restore.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class BackupError(ValueError):
    """The backup or restore cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Summary:
    backend: str
    node: str
    created: str
    rows: dict[str, int]
    key_files: int
    checkpoints: bool


# --- the keys, encrypted -------------------------------------------------------------------


def _fernet(passphrase: str, salt: bytes) -> Fernet:
    kdf = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode())))


def _read_keys(var_dir: Path) -> dict[str, str]:
    """Every file under ``<var>/keys`` (relative path -> base64), lock files left out."""
    root = Path(var_dir) / "keys"
    files: dict[str, str] = {}
    if root.exists():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):  # .lock, half-written files
                files[str(path.relative_to(root))] = base64.b64encode(path.read_bytes()).decode()
    return files


def encrypt_keys(var_dir: Path, passphrase: str) -> tuple[bytes, dict[str, Any], int]:
    files = _read_keys(var_dir)
    salt = os.urandom(16)
    token = _fernet(passphrase, salt).encrypt(json.dumps({"files": files}).encode())
    kdf = {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex()}
    return token, kdf, len(files)


def decrypt_keys(token: bytes, kdf: dict[str, Any], passphrase: str) -> dict[str, bytes]:
    try:
        salt = bytes.fromhex(str(kdf["salt"]))
        plain = _fernet(passphrase, salt).decrypt(token)
    except InvalidToken:
        raise BackupError(
            "wrong passphrase: the signing keys in the backup cannot be decrypted "
            "(nothing was restored)"
        ) from None
    except (KeyError, ValueError) as exc:
        raise BackupError(f"the backup's key section is damaged ({exc})") from None
    files = json.loads(plain)["files"]
    return {name: base64.b64decode(data) for name, data in files.items()}


# --- PostgreSQL ------------------------------------------------------------------------------


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A connection URI for pg_dump/pg_restore (password in the environment, not the command
    line, where any user of the machine could read it)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client (apt-get install postgresql-client)"
        )
    return found


def _schema(engine: Engine) -> str:
    """The schema Tsela's tables are in: the first of the connection's search_path."""
    with engine.connect() as conn:
        current = conn.scalar(text("SELECT current_schema()"))
        if current:
            return str(current)
        path = str(conn.scalar(text("SHOW search_path")))
    for item in path.split(","):
        item = item.strip().strip('"')
        if item and item != "$user":
            return item
    return "public"


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else done.returncode}")


def _pg_dump(engine: Engine, out: Path) -> tuple[str, dict[str, int]]:
    """Dump the schema; its name and the rows per table in the dump. The rows are counted in
    the snapshot pg_dump works from (exported by a transaction kept open meanwhile)."""
    schema = _schema(engine)
    uri, env = _libpq(engine.url)
    with engine.connect() as conn:
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = str(conn.scalar(text("SELECT pg_export_snapshot()")))
        rows = _rows_in(conn, set(inspect(conn).get_table_names()))
        _run(
            [
                _tool("pg_dump"),
                "-Fc",
                f"--snapshot={snapshot}",
                "-n",
                schema,
                "-f",
                str(out),
                "-d",
                uri,
            ],
            env,
            "pg_dump",
        )
        conn.rollback()
    return schema, rows


def _pg_restore(engine: Engine, dump: Path, schema: str) -> None:
    uri, env = _libpq(engine.url)
    listing = subprocess.run(
        [_tool("pg_restore"), "-l", str(dump)], capture_output=True, text=True, env=env
    )
    if listing.returncode != 0:
        raise BackupError(f"the backup's database dump is unreadable: {listing.stderr.strip()}")
    # The schema is made here (it may exist already, e.g. public): its own entries are left out.
    kept = [
        line
        for line in listing.stdout.splitlines()
        if not (f" SCHEMA - {schema} " in line or f" COMMENT - SCHEMA {schema} " in line)
    ]
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as fh:
        fh.write("\n".join(kept) + "\n")
    try:
        _run(
            [
                _tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--single-transaction",  # all or nothing
                "--exit-on-error",
                "-L",
                fh.name,
                "-d",
                uri,
                str(dump),
            ],
            env,
            "pg_restore",
        )
    finally:
        os.unlink(fh.name)


# --- SQLite ----------------------------------------------------------------------------------


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """sqlite3's online backup: a consistent snapshot of what was committed, WAL included,
    while writers go on."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


# --- backup and restore ----------------------------------------------------------------------


def _rows_in(conn: Connection, names: set[str]) -> dict[str, int]:
    return {
        t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0)
        for t in Base.metadata.sorted_tables
        if t.name in names
    }


def _rows(engine: Engine) -> dict[str, int]:
    names = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return _rows_in(conn, names)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(clock.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


def backup(
    engine: Engine,
    var_dir: Path,
    node: str,
    target: Path,
    passphrase: str,
    *,
    now: datetime | None = None,
) -> Summary:
    """Write a backup of the node to ``target`` (replaced atomically when complete)."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    backend = engine.dialect.name
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    checkpoints = checkpoint_path(var_dir)
    checkpoint_data = checkpoints.read_bytes() if checkpoints.exists() else None
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tsela-backup-") as tmp:
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "node": node,
            "backend": backend,
            "created": (now or clock.now()).isoformat(timespec="seconds"),
        }
        if backend == "postgresql":
            db_file = Path(tmp) / "database.dump"
            manifest["schema"], manifest["rows"] = _pg_dump(engine, db_file)
        else:
            db_file = Path(tmp) / "database.sqlite"
            _sqlite_copy(_sqlite_path(engine), db_file)
            snapshot = make_engine(f"sqlite:///{db_file}")
            manifest["rows"] = _rows(snapshot)
            snapshot.dispose()
        keys, kdf, key_files = encrypt_keys(var_dir, passphrase)
        manifest["keys"] = {"files": key_files, "kdf": kdf, "cipher": "fernet"}
        manifest["checkpoints"] = checkpoint_data is not None
        partial = Path(tmp) / "backup.tar"
        with tarfile.open(partial, "w") as tar:
            _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
            tar.add(db_file, arcname=db_file.name)
            _add(tar, "keys.enc", keys)
            if checkpoint_data is not None:
                _add(tar, checkpoints.name, checkpoint_data)
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    return Summary(
        backend, node, manifest["created"], manifest["rows"], key_files, checkpoint_data is not None
    )


def _member(tar: tarfile.TarFile, name: str) -> bytes | None:
    try:
        fh = tar.extractfile(name)
    except KeyError:
        return None
    return fh.read() if fh is not None else None


def _empty(engine: Engine, schema: str | None) -> bool:
    return not inspect(engine).get_table_names(schema=schema)


def _set_aside(path: Path, stamp: str) -> Path | None:
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.before-restore-{stamp}")
    path.rename(aside)
    return aside


def restore(
    engine: Engine, var_dir: Path, node: str, source: Path, passphrase: str
) -> tuple[Summary, list[Path]]:
    """Restore a backup into an empty database and ``var_dir``; the summary and the files set
    aside (keys or checkpoints that were there before)."""
    try:
        tar = tarfile.open(source, "r")  # noqa: SIM115 (closed by the `with` below)
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read backup {source}: {exc}") from None
    with tar, tempfile.TemporaryDirectory() as tmp:
        raw = _member(tar, "manifest.json")
        try:
            manifest = json.loads(raw or b"")
        except ValueError:
            manifest = None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BackupError(f"{source} is not a Tsela backup")
        backend = engine.dialect.name
        if manifest["backend"] != backend:
            raise BackupError(
                f"{source} is a {manifest['backend']} backup; TSELA_DATABASE_URL is {backend}"
            )
        if manifest["node"] != node:
            raise BackupError(f"{source} is node {manifest['node']}'s backup; this is {node}")
        # The passphrase first: a wrong one must leave everything as it was.
        keys = decrypt_keys(_member(tar, "keys.enc") or b"", manifest["keys"]["kdf"], passphrase)
        schema = manifest.get("schema")
        if not _empty(engine, schema):
            raise BackupError(
                "the database is not empty: restore into a new, empty database "
                "(create it, point TSELA_DATABASE_URL at it, and run restore again)"
            )
        if backend == "postgresql":
            dump = Path(tmp) / "database.dump"
            dump.write_bytes(_member(tar, "database.dump") or b"")
            if _schema(engine) != schema:
                raise BackupError(
                    f"the backup's tables are in schema {schema!r}; TSELA_DATABASE_URL "
                    f"uses {_schema(engine)!r}"
                )
            _pg_restore(engine, dump, str(schema))
        else:
            copy = Path(tmp) / "database.sqlite"
            copy.write_bytes(_member(tar, "database.sqlite") or b"")
            engine.dispose()
            _sqlite_copy(copy, _sqlite_path(engine))
        stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
        aside: list[Path] = []
        keys_dir = Path(var_dir) / "keys"
        if keys and (moved := _set_aside(keys_dir, stamp)):
            aside.append(moved)
        for name, data in keys.items():
            path = keys_dir / name
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            mode = 0o600 if name.endswith(".pem") else 0o644
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        checkpoints = _member(tar, checkpoint_path(var_dir).name)
        if checkpoints is not None:
            target = checkpoint_path(var_dir)
            if moved := _set_aside(target, stamp):
                aside.append(moved)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(checkpoints)
    summary = Summary(
        backend, node, manifest["created"], _rows(engine), len(keys), checkpoints is not None
    )
    return summary, aside
