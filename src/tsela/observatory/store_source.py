"""The observatory straight from the store (issue 22, item 4): DuckDB attaches the SQLite or
PostgreSQL database read-only, so an analyst asks a small question without an export step.

DuckDB reads the store through its ``sqlite`` and ``postgres`` extensions. Tsela's servers
download nothing at run time, so the extension must be on the machine already: installed from
PyPI with the ``duckdb-extension-sqlite`` / ``duckdb-extension-postgres`` packages (each a
Python package holding the extension file built for exactly one DuckDB version), or found in
DuckDB's own extension folder. An extension built for another DuckDB version does not load
(DuckDB refuses it); ``StoreUnavailable`` then says which version is needed.

``StoreObservatory`` is an ``Observatory`` whose views read the store instead of the Parquet
copy, with the same columns: no name, no document or permit number, and travellers known by a
keyed hash of their id with the node's pseudonym secret (a SHA-256 of the secret and the id,
computed by DuckDB, so these keys are not the Parquet copy's HMAC keys; they serve to count
and pair, never to identify). Every indicator and standard table runs over it unchanged.
Tables derived from every crossing (rollup, stays) are built in memory per connection: the
Parquet copy stays the way to ask big questions.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tsela.observatory.engine import (
    MEMORY_LIMIT,
    Observatory,
    ObservatoryError,
    _month_end,
    _sql_text,
)


class StoreUnavailable(ObservatoryError):
    """DuckDB cannot attach the store here (extension missing or for another version)."""


KINDS = {"sqlite": "sqlite", "postgresql": "postgres"}
# DuckDB names an extension's entry point after its file; the packages ship ``sqlite`` and
# ``postgres`` files whose extensions call themselves by these names.
CANONICAL = {"sqlite": "sqlite_scanner", "postgres": "postgres_scanner"}


def extension_file(kind: str) -> Path | None:
    """The extension file a ``duckdb-extension-<kind>`` package installed for this DuckDB."""
    import duckdb

    spec = importlib.util.find_spec(f"duckdb_extension_{kind}")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = Path(folder) / "extensions" / f"v{duckdb.__version__}" / f"{kind}.duckdb_extension"
        if found.is_file():
            return found
    return None


def _packaged_versions(kind: str) -> list[str]:
    spec = importlib.util.find_spec(f"duckdb_extension_{kind}")
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(
        p.name.removeprefix("v")
        for folder in spec.submodule_search_locations
        for p in (Path(folder) / "extensions").glob("v*")
    )


def load_extension(con: object, kind: str) -> None:
    """Load DuckDB's ``sqlite`` or ``postgres`` extension without downloading anything."""
    import duckdb

    assert isinstance(con, duckdb.DuckDBPyConnection)
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    path = extension_file(kind)
    try:
        if path is None:
            con.execute(f"LOAD {kind}")  # from DuckDB's own extension folder, if there
        else:
            con.execute(f"LOAD {_sql_text(str(_named(path, kind)))}")
        return
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0]
    packaged = _packaged_versions(kind)
    have = (
        f"the installed duckdb-extension-{kind} holds it for DuckDB {', '.join(packaged)}"
        if packaged
        else f"the duckdb-extension-{kind} package is not installed"
    )
    raise StoreUnavailable(
        f"DuckDB {duckdb.__version__} cannot read the {kind} store here: {have}; install a "
        f"duckdb-extension-{kind} release built for DuckDB {duckdb.__version__}, or the duckdb "
        f"version the package requires (docs/observatory.md, 'Straight from the store'); "
        f"DuckDB said: {reason}"
    )


def _named(path: Path, kind: str) -> Path:
    """The packaged file under the name DuckDB expects (a copy, made once per version)."""
    import duckdb

    folder = Path(tempfile.gettempdir()) / f"tsela-duckdb-extensions-{os.getuid()}"
    target = folder / f"v{duckdb.__version__}" / f"{CANONICAL[kind]}.duckdb_extension"
    if not target.is_file() or target.stat().st_size != path.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    return target


def _attach_target(url: str) -> tuple[str, str]:
    """(extension kind, what ATTACH takes) for a SQLAlchemy database URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kind = KINDS.get(backend)
    if kind is None:
        raise ObservatoryError(f"DuckDB attaches SQLite or PostgreSQL, not {backend!r}")
    if kind == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ObservatoryError("an in-memory SQLite database cannot be attached")
        return kind, parsed.database
    parts = {
        "host": parsed.host,
        "port": parsed.port,
        "dbname": parsed.database,
        "user": parsed.username,
        "password": parsed.password,
    }
    text = " ".join(
        f"{k}='{str(v).replace(chr(92), chr(92) * 2).replace(chr(39), chr(92) + chr(39))}'"
        for k, v in parts.items()
        if v not in (None, "")
    )
    return kind, text


class StoreObservatory(Observatory):
    """The observatory's views over the store itself, attached read-only."""

    source_kind = "store"

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        schema: str | None = None,
        threads: int | None = None,
        memory_limit: str = MEMORY_LIMIT,
    ) -> None:
        import duckdb

        kind, target = _attach_target(url)
        self.kind = kind
        self.dir = Path(".")
        self._cached = {}
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET memory_limit = {_sql_text(memory_limit)}")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        load_extension(self.con, kind)
        self.con.execute(f"ATTACH {_sql_text(target)} AS store (TYPE {kind}, READ_ONLY)")
        # PostgreSQL: the schema holding Tsela's tables (``public`` unless the engine sets a
        # search_path, as the tests do).
        where = f"store.{schema or 'public'}" if kind == "postgres" else "store"
        self._define_store_views(where, secret.hex())
        self.partitions = {
            (int(y), int(m)): self.dir
            for y, m in self.con.execute(
                "SELECT DISTINCT year(crossed_at), month(crossed_at) FROM store_crossings "
                "ORDER BY 1, 2"
            ).fetchall()
        }
        self._define_static_views()

    def describe_source(self) -> str:
        return f"the {self.kind} store"

    has_permits = True  # the store always has these tables
    has_checks = True
    has_refusals = True
    has_travellers = True

    @classmethod
    def of_engine(
        cls, engine: Engine, secret: bytes, *, threads: int | None = None
    ) -> StoreObservatory:
        """Over the database a SQLAlchemy engine (``tsela.store.db.make_engine``) reads,
        in the schema its search_path names (PostgreSQL)."""
        from sqlalchemy import text

        schema = None
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        url = engine.url.render_as_string(hide_password=False)
        return cls(url, secret, schema=schema, threads=threads)

    def _define_store_views(self, schema: str, secret_hex: str) -> None:
        def key(column: str) -> str:
            # Keyed hash of the id (SQLite keeps a UUID as 32 hex digits, PostgreSQL as uuid).
            return (
                f"left(sha256({_sql_text(secret_hex + ':')} || "
                f"replace(lower(CAST({column} AS VARCHAR)), '-', '')), 20)"
            )

        def utc(column: str) -> str:
            return f"CAST(CAST({column} AS TIMESTAMP) AS TIMESTAMPTZ)"

        def doc_key(row: str) -> str:
            return (
                f"coalesce({key(f'{row}.person_id')}, left(sha256({_sql_text(secret_hex + ':')} "
                f"|| coalesce('doc:' || {row}.document_country || ':' || {row}.document_number, "
                f"'record:' || CAST({row}.id AS VARCHAR))), 20))"
            )

        statements = {
            "store_crossings": f"""
                SELECT CAST(c.id AS VARCHAR) AS crossing_id, c.node,
                       {key("c.person_id")} AS traveller_key, p.code AS port,
                       c.direction, c.country, {utc("c.crossed_at")} AS crossed_at, c.decision,
                       pe.nationality, pe.sex, CAST(year(CAST(pe.birth_date AS DATE)) AS SMALLINT)
                           AS birth_year,
                       CAST(NULL AS VARCHAR) AS purpose
                FROM {schema}.crossing c
                JOIN {schema}.person pe ON pe.id = c.person_id
                JOIN {schema}.port_of_entry p ON p.id = c.port_id""",
            "travellers": f"""
                SELECT {key("id")} AS traveller_key, nationality, sex,
                       CAST(year(CAST(birth_date AS DATE)) AS SMALLINT) AS birth_year
                FROM {schema}.person""",
            "permits": f"""
                SELECT {key("p.person_id")} AS traveller_key, p.node, p.permit_type, p.status,
                       coalesce(e.sector, '') AS sector, p.country,
                       CAST(p.valid_from AS DATE) AS valid_from,
                       CAST(p.valid_to AS DATE) AS valid_to, {utc("p.issued_at")} AS issued_at
                FROM {schema}.permit p LEFT JOIN {schema}.employer e ON e.id = p.employer_id""",
            "all_checks": f"""
                SELECT b.node, p.code AS port, b.direction, b.country,
                       {utc("b.checked_at")} AS checked_at, b.decision,
                       CAST(b.reasons AS VARCHAR) LIKE '%"code": "watchlist.%'
                           OR CAST(b.reasons AS VARCHAR) LIKE '%"code":"watchlist.%'
                           AS watchlist_hit,
                       b.overridden_at IS NOT NULL AS overridden
                FROM {schema}.border_check b JOIN {schema}.port_of_entry p ON p.id = b.port_id""",
            "all_refusals": f"""
                SELECT r.node, {doc_key("r")} AS traveller_key, r.country,
                       r.port_code AS port, {utc("r.refused_at")} AS refused_at, r.nationality,
                       CAST(json_extract_string(CAST(r.grounds AS VARCHAR), '$[*]') AS VARCHAR[])
                           AS grounds
                FROM {schema}.refusal r""",
            "all_bans": f"""
                SELECT b.node, {doc_key("b")} AS traveller_key, b.issuing_country, b.ground,
                       b.nationality, CAST(b.starts_on AS DATE) AS starts_on,
                       CAST(b.ends_on AS DATE) AS ends_on, CAST(b.lifted_on AS DATE) AS lifted_on,
                       {utc("b.created_at")} AS issued_at
                FROM {schema}.entry_ban b""",
        }
        for name, sql in statements.items():
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")

    def _define_static_views(self) -> None:
        pass  # defined over the store by ``_define_store_views``

    def ports_present(self) -> list[str]:
        rows = self.con.execute(
            "SELECT DISTINCT port FROM store_crossings ORDER BY port"
        ).fetchall()
        return [r[0] for r in rows]

    def all_crossings(self) -> str:
        return "store_crossings"

    def _crossings_source(self, months: Sequence[tuple[int, int]]) -> str:
        return "store_crossings"

    def fingerprint(self) -> str:
        return "store"

    def cached(self, name: str, query: str) -> str:
        """Built in memory for this connection (the store changes under it)."""
        found = self._cached.get(name)
        if found is None:
            found = f"cached_{name}"
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {found} AS {query}")
            self._cached[name] = found
        return found

    def coverage(self) -> str:
        if not self.partitions:
            return "no months at all"
        (y0, m0), (y1, m1) = next(iter(self.partitions)), next(reversed(self.partitions))
        last = _month_end(date(y1, m1, 1))
        return f"{y0}-{m0:02d}..{last:%Y-%m}"
