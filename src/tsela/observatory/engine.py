"""The observatory's query engine: DuckDB over the Parquet analytics copy.

An ``Observatory`` opens an in-memory DuckDB connection over a Parquet directory written
by ``tsela export parquet`` or ``tsela synth`` (layout in ``tsela.observatory.parquet``).
For each question it defines a few temporary views restricted to the period and ports
asked about, reading only the month partitions that can hold those rows:

- ``crossings``: the crossings of the period (and ports), with border-local time columns;
- ``crossing_counts``: the daily rollup of the period (and ports), for count-only questions;
- ``travellers``, ``permits``: the non-identifying traveller attributes and permits;
- ``selected_ports(port)``: the ports asked about (every port when none was named).

Tables derived from every crossing (the daily rollup, the stays) are built once per
analytics copy and kept next to it (``cached``).

Border time: Lesotho and South Africa both keep UTC+2 all year (no daylight saving), so
days, months and hours are those at the border, as the governance indicators count them.
"""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import re
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from tsela.reference import UnknownPortError, port

if TYPE_CHECKING:
    import duckdb  # the 'observatory' extra (tsela.extras): imported when a copy is opened

# Border local time is UTC+2 all year in both countries (South African Standard Time).
LOCAL_OFFSET_HOURS = 2
# DuckDB's memory per connection (its default is 80% of the machine's, and the API opens one
# per request): building the stays of 100M crossings sorts about 50M rows, which beyond this
# limit spill to disk instead of taking the machine.
MEMORY_LIMIT = "4GB"


class ObservatoryError(ValueError):
    """A question the observatory cannot answer as asked; the message says why."""


class MissingCopyError(ObservatoryError):
    """There is no analytics copy to read at all (a set-up problem, not a bad question)."""


class NoDataError(ObservatoryError):
    """The analytics copy holds no rows for what was asked (never shown as an empty chart)."""


@dataclass(frozen=True)
class Period:
    """Border-local calendar days ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ObservatoryError(f"the period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2025``, ``2025-03``, ``2025-03-14``, or two of these joined by ``..``."""
        raw = text.strip()
        if ".." in raw:
            first, _, last = raw.partition("..")
            return cls(_bound(first, raw, start=True), _bound(last, raw, start=False))
        return cls(_bound(raw, raw, start=True), _bound(raw, raw, start=False))

    @classmethod
    def month(cls, text: str) -> Period:
        """Exactly one calendar month, written ``YYYY-MM``."""
        if not re.fullmatch(r"\d{4}-\d{2}", text.strip()):
            raise ObservatoryError(f"a month is written YYYY-MM, e.g. 2025-03; got {text!r}")
        return cls.parse(text)

    @classmethod
    def between(cls, start: str | None, end: str | None, default: Period) -> Period:
        """From ``--from``/``--to`` (either may be missing: the default's bound is used)."""
        first = _bound(start, start, start=True) if start else default.start
        last = _bound(end, end, start=False) if end else default.end
        return cls(first, last)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def months(self) -> list[tuple[int, int]]:
        return months_between(self.start, self.end)

    def shifted_months(self, months: int) -> Period:
        """The same span moved by whole months (previous month: -1; previous year: -12)."""
        return Period(_add_months(self.start, months, first=True), _add_months_end(self, months))

    def label(self) -> str:
        if self.start.day == 1 and self.end == _month_end(self.start):
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int, *, first: bool) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, 1 if first else min(day.day, last))


def _add_months_end(period: Period, months: int) -> date:
    moved = _add_months(period.end, months, first=False)
    # A period ending on a month's last day keeps ending on the last day.
    return _month_end(moved) if period.end == _month_end(period.end) else moved


def _bound(text: str | None, whole: str | None, *, start: bool) -> date:
    value = (text or "").strip()
    try:
        if re.fullmatch(r"\d{4}", value):
            return date(int(value), 1, 1) if start else date(int(value), 12, 31)
        if re.fullmatch(r"\d{4}-\d{2}", value):
            first = date(int(value[:4]), int(value[5:]), 1)
            return first if start else _month_end(first)
        return date.fromisoformat(value)
    except ValueError:
        raise ObservatoryError(
            f"cannot read {value!r} in period {whole!r}: write a year (2025), a month "
            "(2025-03), a day (2025-03-14) or two of them joined by '..' (2025-01..2025-06)"
        ) from None


def months_between(start: date, end: date) -> list[tuple[int, int]]:
    out = []
    index, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    while index <= last:
        out.append((index // 12, index % 12 + 1))
        index += 1
    return out


def check_ports(codes: Iterable[str]) -> tuple[str, ...]:
    """Port codes as the reference knows them; an unknown code names the known ones."""
    out: list[str] = []
    for code in codes:
        if not code.strip():
            continue
        try:
            found = port(code).code
        except UnknownPortError as exc:
            raise ObservatoryError(str(exc)) from None
        if found not in out:
            out.append(found)
    return tuple(out)


def local_time(column: str) -> str:
    """SQL for a UTC timestamp column as border-local time (a plain TIMESTAMP).

    Integer arithmetic on the stored microseconds: casting TIMESTAMPTZ to TIMESTAMP goes
    through the time-zone library for every row and costs several times the whole query.
    """
    offset_us = LOCAL_OFFSET_HOURS * 3600 * 1_000_000
    return f"make_timestamp(epoch_us({column}) + {offset_us})"


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The UTC instants where border-local day ``start`` begins and day ``end`` ends."""
    lo = datetime(start.year, start.month, start.day) - timedelta(hours=LOCAL_OFFSET_HOURS)
    hi = datetime(end.year, end.month, end.day) + timedelta(days=1, hours=-LOCAL_OFFSET_HOURS)
    return lo, hi


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_timestamp(moment: datetime) -> str:
    return f"TIMESTAMPTZ '{moment:%Y-%m-%d %H:%M:%S}+00'"


class Observatory:
    """DuckDB over one Parquet analytics directory."""

    def __init__(
        self, parquet_dir: Path, *, threads: int | None = None, memory_limit: str = MEMORY_LIMIT
    ) -> None:
        import duckdb  # first: a lean install says so before anything else

        self.dir = Path(parquet_dir)
        crossings = self.dir / "crossings"
        if not crossings.is_dir():
            raise MissingCopyError(
                f"no analytics data in {self.dir} (no crossings/ folder): write it with "
                "`tsela export parquet` (from the database) or `tsela synth` (synthetic data)"
            )
        self.partitions = self._scan_partitions(crossings)
        # SQL sources of the tables built from every crossing, by name (see ``cached``).
        self._cached: dict[str, str] = {}
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET memory_limit = {_sql_text(memory_limit)}")
        # Not DuckDB's default (.tmp in the working directory): a folder of its own, which
        # DuckDB creates only when it spills and removes when the connection closes.
        spill = Path(tempfile.gettempdir()) / f"tsela-duckdb-{uuid.uuid4().hex}"
        self.con.execute(f"SET temp_directory = {_sql_text(str(spill))}")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self._define_static_views()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Observatory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ what is there

    @staticmethod
    def _scan_partitions(crossings: Path) -> dict[tuple[int, int], Path]:
        found: dict[tuple[int, int], Path] = {}
        for year_dir in crossings.glob("year=*"):
            for month_dir in year_dir.glob("month=*"):
                try:
                    key = (int(year_dir.name[5:]), int(month_dir.name[6:]))
                except ValueError:
                    continue
                if any(month_dir.glob("*.parquet")):
                    found[key] = month_dir
        return dict(sorted(found.items()))

    # Where the data comes from, for answers and messages (``store_source`` reads the store).
    source_kind = "parquet"

    def describe_source(self) -> str:
        return f"the analytics copy {self.dir}"

    @property
    def has_permits(self) -> bool:
        return (self.dir / "permits.parquet").is_file()

    @property
    def has_checks(self) -> bool:
        return (self.dir / "checks.parquet").is_file()

    @property
    def has_refusals(self) -> bool:
        return (self.dir / "refusals.parquet").is_file()

    @property
    def has_travellers(self) -> bool:
        return (self.dir / "travellers.parquet").is_file()

    def coverage(self) -> str:
        """The months the copy holds, for messages ('2025-01..2026-10')."""
        if not self.partitions:
            return "no months at all"
        (y0, m0), (y1, m1) = next(iter(self.partitions)), next(reversed(self.partitions))
        return f"{y0}-{m0:02d}..{y1}-{m1:02d}"

    def default_period(self) -> Period:
        """Every month the copy holds."""
        if not self.partitions:
            raise NoDataError(f"the analytics copy in {self.dir} holds no crossings")
        (y0, m0), (y1, m1) = next(iter(self.partitions)), next(reversed(self.partitions))
        return Period(date(y0, m0, 1), _month_end(date(y1, m1, 1)))

    def ports_present(self) -> list[str]:
        """Port codes that occur in the data (for filters)."""
        if not self.partitions:
            return []
        files = self._files(list(self.partitions))
        rows = self.con.execute(
            f"SELECT DISTINCT port FROM read_parquet({files}) ORDER BY port"
        ).fetchall()
        return [r[0] for r in rows]

    def _files(self, months: Sequence[tuple[int, int]]) -> str:
        globs = [str(self.partitions[m] / "*.parquet") for m in months if m in self.partitions]
        return "[" + ", ".join(_sql_text(g) for g in globs) + "]"

    def all_crossings(self) -> str:
        """SQL source of every crossing in the copy (the stored columns)."""
        if self.partitions:
            return f"read_parquet({self._files(list(self.partitions))}, union_by_name = true)"
        from tsela.observatory.parquet import CROSSINGS_SCHEMA

        self.con.register("_empty_crossings", CROSSINGS_SCHEMA.empty_table())
        return "(SELECT * FROM _empty_crossings)"

    # ------------------------------------------------------------------ views

    def _define_static_views(self) -> None:
        if self.has_travellers:
            path = _sql_text(str(self.dir / "travellers.parquet"))
            self.con.execute(f"CREATE OR REPLACE VIEW travellers AS SELECT * FROM {path}")
        else:
            self.con.execute(
                "CREATE OR REPLACE TABLE travellers (traveller_key VARCHAR, "
                "nationality VARCHAR, sex VARCHAR, birth_year SMALLINT)"
            )
        from tsela.observatory.parquet import (
            BANS_SCHEMA,
            CHECKS_SCHEMA,
            PERMITS_SCHEMA,
            REFUSALS_SCHEMA,
        )

        for view, schema in (("all_refusals", REFUSALS_SCHEMA), ("all_bans", BANS_SCHEMA)):
            found = self.dir / f"{view.removeprefix('all_')}.parquet"
            if found.is_file():
                source = f"SELECT * FROM {_sql_text(str(found))}"
            else:
                self.con.register(f"_no_{view}", schema.empty_table())
                source = f"SELECT * FROM _no_{view}"
            self.con.execute(f"CREATE OR REPLACE VIEW {view} AS {source}")

        if self.has_checks:
            path = _sql_text(str(self.dir / "checks.parquet"))
            self.con.execute(f"CREATE OR REPLACE VIEW all_checks AS SELECT * FROM {path}")
        else:
            self.con.register("_no_checks", CHECKS_SCHEMA.empty_table())
            self.con.execute("CREATE OR REPLACE VIEW all_checks AS SELECT * FROM _no_checks")
        if self.has_permits:
            path = _sql_text(str(self.dir / "permits.parquet"))
            self.con.execute(f"CREATE OR REPLACE VIEW permits AS SELECT * FROM {path}")
        else:
            self.con.register("_no_permits", PERMITS_SCHEMA.empty_table())
            self.con.execute("CREATE OR REPLACE VIEW permits AS SELECT * FROM _no_permits")

    def _crossings_view(self, name: str, start: date, end: date, ports: Sequence[str]) -> None:
        lo, hi = _utc_bounds(start, end)
        # The partitions are by UTC month: the first local day may begin in the month before.
        months = [m for m in months_between(lo.date(), end) if m in self.partitions]
        source = self._crossings_source(months)
        where = [f"crossed_at >= {_sql_timestamp(lo)}", f"crossed_at < {_sql_timestamp(hi)}"]
        if ports:
            where.append("port IN (" + ", ".join(_sql_text(p) for p in ports) + ")")
        local = local_time("crossed_at")
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW {name} AS
            SELECT crossing_id, node, traveller_key, port, direction, country, decision,
                   nationality, sex, birth_year, purpose, crossed_at,
                   {local} AS local_at,
                   CAST({local} AS DATE) AS day,
                   CAST(date_trunc('month', {local}) AS DATE) AS month
            FROM {source}
            WHERE {" AND ".join(where)}
            """
        )

    def _crossings_source(self, months: Sequence[tuple[int, int]]) -> str:
        """SQL source of the crossings of these (UTC) months, stored columns."""
        if months:
            # By name: a copy written before a column was added (purpose) reads it as null.
            return f"read_parquet({self._files(months)}, union_by_name = true)"
        from tsela.observatory.parquet import CROSSINGS_SCHEMA

        self.con.register("_empty_crossings", CROSSINGS_SCHEMA.empty_table())
        return "(SELECT * FROM _empty_crossings)"

    # ------------------------------------------------------------------ built once per copy

    def fingerprint(self) -> str:
        """Changes whenever a crossings file is added, removed or rewritten."""
        digest = hashlib.sha256()
        for path in sorted((self.dir / "crossings").rglob("*.parquet")):
            stat = path.stat()
            digest.update(
                f"{path.relative_to(self.dir)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode()
            )
        return digest.hexdigest()[:16]

    def cached(self, name: str, query: str) -> str:
        """SQL source of a table derived from every crossing, built once per analytics copy.

        ``query`` reads ``all_crossings()``. The table is kept next to the copy as
        ``rollup/<name>-<fingerprint>.parquet`` and rebuilt when the crossings change (a new
        export or synth run); kept in memory when the folder is read-only or holds no
        crossings.
        """
        import duckdb

        found = self._cached.get(name)
        if found is not None:
            return found
        table = f"cached_{name}"
        if not self.partitions:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {query}")
            self._cached[name] = table
            return table
        path = self.dir / "rollup" / f"{name}-{self.fingerprint()}.parquet"
        if not path.is_file():
            # Unique per writer: the API may build it from two threads at once.
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
            try:
                path.parent.mkdir(exist_ok=True)
                for old in path.parent.glob(f"{name}-*.parquet"):
                    if old != path:
                        old.unlink(missing_ok=True)
                self.con.execute(f"COPY ({query}) TO {_sql_text(str(tmp))} (FORMAT parquet)")
                tmp.replace(path)
            except (OSError, duckdb.IOException):  # read-only folder, or no room left
                with contextlib.suppress(OSError):
                    tmp.unlink()
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {query}")
                self._cached[name] = table
                return table
        self._cached[name] = f"read_parquet({_sql_text(str(path))})"
        return self._cached[name]

    def rollup(self) -> str:
        """The daily rollup of every crossing (SQL source), built once per analytics copy.

        Counts per border-local day, port, country, direction and decision: every count-only
        indicator reads this instead of the crossings (a few hundred thousand rows instead of
        a hundred million). Kept as ``rollup/daily-<fingerprint>.parquet`` (see ``cached``).
        """
        local = local_time("crossed_at")
        return self.cached(
            "daily",
            f"SELECT CAST({local} AS DATE) AS day, port, country, direction, decision, "
            f"count(*) AS n FROM {self.all_crossings()} GROUP BY ALL ORDER BY day, port",
        )

    def select(self, period: Period, ports: Sequence[str] = (), counts: bool = False) -> None:
        """Point the views at a period and ports (ports already checked by ``check_ports``).

        ``counts``: also define ``crossing_counts`` (the daily rollup, same period and ports).
        """
        self._crossings_view("crossings", period.start, period.end, ports)
        if counts:
            where = [f"day BETWEEN DATE '{period.start}' AND DATE '{period.end}'"]
            if ports:
                where.append("port IN (" + ", ".join(_sql_text(p) for p in ports) + ")")
            self.con.execute(
                f"""
                CREATE OR REPLACE TEMP VIEW crossing_counts AS
                SELECT day, CAST(date_trunc('month', day) AS DATE) AS month, port, country,
                       direction, decision, n
                FROM {self.rollup()} WHERE {" AND ".join(where)}
                """
            )
        lo, hi = _utc_bounds(period.start, period.end)
        local = local_time("checked_at")
        port_filter = (
            " AND port IN (" + ", ".join(_sql_text(p) for p in ports) + ")" if ports else ""
        )
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW checks AS
            SELECT *, CAST({local} AS DATE) AS day,
                   CAST(date_trunc('month', {local}) AS DATE) AS month
            FROM all_checks
            WHERE checked_at >= {_sql_timestamp(lo)} AND checked_at < {_sql_timestamp(hi)}
            {port_filter}
            """
        )
        chosen = ports or tuple(self._all_port_codes())
        values = ", ".join(f"({_sql_text(p)})" for p in chosen)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE selected_ports AS SELECT * FROM (VALUES {values}) "
            "AS t(port)"
        )
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE period_bounds AS SELECT "
            f"DATE '{period.start.isoformat()}' AS first_day, "
            f"DATE '{period.end.isoformat()}' AS last_day"
        )

    @staticmethod
    def _all_port_codes() -> list[str]:
        from tsela.reference import ports

        return sorted(ports())

    def months_without_data(self, period: Period) -> list[str]:
        return [f"{y}-{m:02d}" for (y, m) in period.months() if (y, m) not in self.partitions]

    def sql(self, query: str) -> duckdb.DuckDBPyRelation:
        return self.con.sql(query)
