"""``tsela export parquet``: the operational store -> the observatory's Parquet layout.

What leaves the store carries no names, document numbers or permit numbers: travellers are
known by the pseudonymous ``traveller_key`` (HMAC of the person id with the node's secret),
their nationality, sex and birth year only. Rows are read in chunks (server-side cursor on
PostgreSQL) so the export of tens of millions of crossings never sits in memory at once.

The copy is written into a temporary folder next to the target and swapped in at the end:
a failed export leaves the previous copy as it was, never a half-written one. The tables the
observatory derives from every crossing (daily rollup, stays) are built before the swap, so
the first question asked of the new copy does not wait for them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, select

from tsela.kernel import clock
from tsela.observatory import parquet
from tsela.observatory.engine import Observatory
from tsela.observatory.indicators import stays_source
from tsela.store.checks import BorderCheck
from tsela.store.models import Crossing, Employer, Permit, Person, PortOfEntry

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExportSummary:
    crossings: int
    travellers: int
    permits: int
    checks: int
    out_dir: Path


class Keys:
    """Pseudonymous keys, computed once per person."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.cache: dict[Any, str] = {}

    def __call__(self, person_id: Any) -> str:
        key = self.cache.get(person_id)
        if key is None:
            key = parquet.traveller_key(self.secret, person_id.hex)
            self.cache[person_id] = key
        return key


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def _stream(engine: Engine, stmt: Any, chunk: int) -> Iterable[Sequence[Any]]:
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(stmt)
        yield from result.partitions()


def _crossings(engine: Engine, out: Path, keys: Keys, chunk: int, progress: Progress | None) -> int:
    stmt = (
        select(
            Crossing.id,
            Crossing.node,
            Crossing.person_id,
            PortOfEntry.code,
            Crossing.direction,
            Crossing.country,
            Crossing.crossed_at,
            Crossing.decision,
            Person.nationality,
            Person.sex,
            Person.birth_date,
        )
        .join(Person, Person.id == Crossing.person_id)
        .join(PortOfEntry, PortOfEntry.id == Crossing.port_id)
    )
    total = 0
    (out / "crossings").mkdir(parents=True, exist_ok=True)
    for part, rows in enumerate(_stream(engine, stmt, chunk)):
        when: list[datetime] = [r[6] for r in rows]
        table = pa.table(
            {
                "crossing_id": [r[0].hex for r in rows],
                "node": [r[1] for r in rows],
                "traveller_key": [keys(r[2]) for r in rows],
                "port": [r[3] for r in rows],
                "direction": [_value(r[4]) for r in rows],
                "country": [r[5] for r in rows],
                "crossed_at": when,
                "decision": [_value(r[7]) for r in rows],
                "nationality": [r[8] for r in rows],
                "sex": [_value(r[9]) for r in rows],
                "birth_year": [r[10].year if r[10] else None for r in rows],
                "year": [w.year for w in when],
                "month": [w.month for w in when],
            },
            schema=parquet.CROSSINGS_SCHEMA,
        )
        parquet.write_crossings(table, out, part)
        total += len(rows)
        if progress:
            progress(len(rows))
    return total


def _travellers(engine: Engine, out: Path, keys: Keys, chunk: int) -> int:
    stmt = select(Person.id, Person.nationality, Person.sex, Person.birth_date)
    batches = []
    for rows in _stream(engine, stmt, chunk):
        batches.append(
            pa.record_batch(
                {
                    "traveller_key": [keys(r[0]) for r in rows],
                    "nationality": [r[1] for r in rows],
                    "sex": [_value(r[2]) for r in rows],
                    "birth_year": [r[3].year if r[3] else None for r in rows],
                },
                schema=parquet.TRAVELLERS_SCHEMA,
            )
        )
    table = pa.Table.from_batches(batches, schema=parquet.TRAVELLERS_SCHEMA)
    parquet.write_travellers(table, out)
    return table.num_rows


def write_permits(engine: Engine, out: Path, keys: Keys, chunk: int) -> int:
    stmt = select(
        Permit.person_id,
        Permit.node,
        Permit.permit_type,
        Permit.status,
        Employer.sector,
        Permit.country,
        Permit.valid_from,
        Permit.valid_to,
        Permit.issued_at,
    ).outerjoin(Employer, Employer.id == Permit.employer_id)
    columns: dict[str, list[Any]] = {name: [] for name in parquet.PERMITS_SCHEMA.names}
    for rows in _stream(engine, stmt, chunk):
        for r in rows:
            columns["traveller_key"].append(keys(r[0]))
            columns["node"].append(r[1])
            columns["permit_type"].append(r[2])
            columns["status"].append(_value(r[3]))
            columns["sector"].append(r[4] or "")
            columns["country"].append(r[5])
            columns["valid_from"].append(r[6])
            columns["valid_to"].append(r[7])
            columns["issued_at"].append(r[8])
    table = pa.table(columns, schema=parquet.PERMITS_SCHEMA)
    pq.write_table(table, out / "permits.parquet")
    return table.num_rows


def _checks(engine: Engine, out: Path, chunk: int) -> int:
    stmt = select(
        BorderCheck.node,
        PortOfEntry.code,
        BorderCheck.direction,
        BorderCheck.country,
        BorderCheck.checked_at,
        BorderCheck.decision,
        BorderCheck.reasons,
        BorderCheck.overridden_at,
    ).join(PortOfEntry, PortOfEntry.id == BorderCheck.port_id)
    columns: dict[str, list[Any]] = {name: [] for name in parquet.CHECKS_SCHEMA.names}
    for rows in _stream(engine, stmt, chunk):
        for r in rows:
            columns["node"].append(r[0])
            columns["port"].append(r[1])
            columns["direction"].append(_value(r[2]))
            columns["country"].append(r[3])
            columns["checked_at"].append(r[4])
            columns["decision"].append(_value(r[5]))
            # Reason codes "watchlist.*" are the hits (tsela.domain.decisions).
            columns["watchlist_hit"].append(
                any(str(x.get("code", "")).startswith("watchlist.") for x in r[6] or [])
            )
            columns["overridden"].append(r[7] is not None)
    table = pa.table(columns, schema=parquet.CHECKS_SCHEMA)
    pq.write_table(table, out / "checks.parquet")
    return table.num_rows


def _build_derived(copy: Path) -> None:
    # Their fingerprint names files relative to the copy, so they stay valid after the swap.
    with Observatory(copy) as obs:
        obs.rollup()
        stays_source(obs)


def export_parquet(
    engine: Engine,
    out_dir: Path,
    secret: bytes,
    *,
    chunk: int = 100_000,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the analytics copy of the store into ``out_dir`` (replacing it whole)."""
    if chunk < 1:
        raise ValueError(f"chunk size must be positive, got {chunk}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / "crossings").is_dir():
        raise ValueError(
            f"{out_dir} holds other files and is not an analytics copy: choose another --out"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    keys = Keys(secret)
    try:
        crossings = _crossings(engine, tmp, keys, chunk, progress)
        travellers = _travellers(engine, tmp, keys, chunk)
        permits = write_permits(engine, tmp, keys, chunk)
        checks = _checks(engine, tmp, chunk)
        (tmp / "EXPORTED").write_text(
            f"exported {clock.border_time(clock.now()).isoformat(timespec='seconds')}\n"
        )
        _build_derived(tmp)
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        if out_dir.exists():
            out_dir.rename(old)
        tmp.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportSummary(crossings, travellers, permits, checks, out_dir)
