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

    def of(
        self, person_id: Any, document_country: str | None, number: str | None, other: Any
    ) -> str:
        """The person's key when the store knows them, else one of their document (else of
        the record itself): refusals and bans name a traveller who may have no person row."""
        if person_id is not None:
            return self(person_id)
        text = f"doc:{document_country}:{number}" if number else f"record:{other}"
        return parquet.traveller_key(self.secret, text)


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def _stream(engine: Engine, stmt: Any, chunk: int) -> Iterable[Sequence[Any]]:
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(stmt)
        yield from result.partitions()


def declared_purposes(engine: Engine, chunk: int) -> dict[Any, str]:
    """Check id -> the purpose of the pre-arrival declaration that check accepted.

    A check that used a declaration keeps the reason ``declaration.accepted`` with the
    declaration's reference (``services/declarations.py``); the declaration keeps the purpose.
    """
    from tsela.domain.declarations import shown_reference
    from tsela.store.declarations import Declaration

    purpose_of: dict[str, str] = {}
    for rows in _stream(
        engine,
        select(Declaration.reference, Declaration.purpose).where(Declaration.used_at.is_not(None)),
        chunk,
    ):
        purpose_of.update((shown_reference(r[0]), r[1]) for r in rows)
    if not purpose_of:
        return {}
    out: dict[Any, str] = {}
    for rows in _stream(engine, select(BorderCheck.id, BorderCheck.reasons), chunk):
        for check_id, reasons in rows:
            for reason in reasons or []:
                if reason.get("code") == "declaration.accepted":
                    ref = str((reason.get("params") or {}).get("reference", ""))
                    if ref in purpose_of:
                        out[check_id] = purpose_of[ref]
    return out


def _crossings(engine: Engine, out: Path, keys: Keys, chunk: int, progress: Progress | None) -> int:
    purposes = declared_purposes(engine, chunk)
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
            Crossing.check_id,
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
                "purpose": [purposes.get(r[11]) for r in rows],
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


def write_refusals(engine: Engine, out: Path, keys: Keys, chunk: int) -> int:
    from tsela.store.refusals import Refusal

    stmt = select(
        Refusal.node, Refusal.person_id, Refusal.document_country, Refusal.document_number,
        Refusal.id, Refusal.country, Refusal.port_code, Refusal.refused_at,
        Refusal.nationality, Refusal.grounds,
    )  # fmt: skip
    columns: dict[str, list[Any]] = {name: [] for name in parquet.REFUSALS_SCHEMA.names}
    for rows in _stream(engine, stmt, chunk):
        for r in rows:
            columns["node"].append(r[0])
            columns["traveller_key"].append(keys.of(r[1], r[2], r[3], r[4]))
            columns["country"].append(r[5])
            columns["port"].append(r[6])
            columns["refused_at"].append(r[7])
            columns["nationality"].append(r[8])
            columns["grounds"].append([str(g) for g in r[9] or []])
    table = pa.table(columns, schema=parquet.REFUSALS_SCHEMA)
    pq.write_table(table, out / "refusals.parquet")
    return table.num_rows


def write_bans(engine: Engine, out: Path, keys: Keys, chunk: int) -> int:
    from tsela.store.refusals import EntryBan

    stmt = select(
        EntryBan.node, EntryBan.person_id, EntryBan.document_country, EntryBan.document_number,
        EntryBan.id, EntryBan.issuing_country, EntryBan.ground, EntryBan.nationality,
        EntryBan.starts_on, EntryBan.ends_on, EntryBan.lifted_on, EntryBan.created_at,
    )  # fmt: skip
    columns: dict[str, list[Any]] = {name: [] for name in parquet.BANS_SCHEMA.names}
    for rows in _stream(engine, stmt, chunk):
        for r in rows:
            columns["node"].append(r[0])
            columns["traveller_key"].append(keys.of(r[1], r[2], r[3], r[4]))
            for name, value in zip(parquet.BANS_SCHEMA.names[2:], r[5:], strict=True):
                columns[name].append(value)
    table = pa.table(columns, schema=parquet.BANS_SCHEMA)
    pq.write_table(table, out / "bans.parquet")
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
        write_refusals(engine, tmp, keys, chunk)
        write_bans(engine, tmp, keys, chunk)
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
