"""Helpers for the observatory tests: tiny analytics copies written by hand (not collected).

Crossings are given in border-local time (UTC+2) as people would read them; the helper
stores them in UTC and in the UTC month partition, as the real writers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tsela.observatory import parquet


@dataclass(frozen=True)
class C:
    """One crossing record, local time."""

    who: str
    at: str  # "2025-03-01 10:00" border time
    port: str = "MSU"
    direction: str = "entry"
    country: str = "ZAF"
    decision: str = "CLEAR"
    nationality: str = "LSO"
    sex: str = "F"
    birth_year: int = 1990
    purpose: str | None = None


def trip(
    who: str,
    out: str,
    back: str | None,
    *,
    port: str = "MSU",
    home: str = "LSO",
    **kw: object,
) -> list[C]:
    """A stay abroad as the four records both sides keep (two when not back yet)."""
    abroad = "ZAF" if home == "LSO" else "LSO"
    t0 = datetime.fromisoformat(out)
    rows = [
        C(who, out, port, "exit", home, **kw),  # type: ignore[arg-type]
        C(who, (t0 + timedelta(minutes=10)).isoformat(" "), port, "entry", abroad, **kw),  # type: ignore[arg-type]
    ]
    if back is not None:
        t1 = datetime.fromisoformat(back)
        rows += [
            C(who, back, port, "exit", abroad, **kw),  # type: ignore[arg-type]
            C(who, (t1 + timedelta(minutes=10)).isoformat(" "), port, "entry", home, **kw),  # type: ignore[arg-type]
        ]
    return rows


def utc(local: str) -> datetime:
    return datetime.fromisoformat(local) - timedelta(hours=2)


def write_copy(
    out: Path,
    crossings: list[C],
    *,
    permits: list[dict[str, object]] | None = None,
    checks: list[dict[str, object]] | None = None,
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    when = [utc(c.at) for c in crossings]
    table = pa.table(
        {
            "crossing_id": [f"c{i}" for i in range(len(crossings))],
            "node": ["LS" if c.country == "LSO" else "ZA" for c in crossings],
            "traveller_key": [c.who for c in crossings],
            "port": [c.port for c in crossings],
            "direction": [c.direction for c in crossings],
            "country": [c.country for c in crossings],
            "crossed_at": when,
            "decision": [c.decision for c in crossings],
            "nationality": [c.nationality for c in crossings],
            "sex": [c.sex for c in crossings],
            "birth_year": [c.birth_year for c in crossings],
            "purpose": [c.purpose for c in crossings],
            "year": [w.year for w in when],
            "month": [w.month for w in when],
        },
        schema=parquet.CROSSINGS_SCHEMA,
    )
    (out / "crossings").mkdir(exist_ok=True)
    if crossings:
        parquet.write_crossings(table, out, 0)
    people = {c.who: c for c in crossings}
    parquet.write_travellers(
        pa.table(
            {
                "traveller_key": list(people),
                "nationality": [c.nationality for c in people.values()],
                "sex": [c.sex for c in people.values()],
                "birth_year": [c.birth_year for c in people.values()],
            },
            schema=parquet.TRAVELLERS_SCHEMA,
        ),
        out,
    )
    if permits is not None:
        rows = [
            {
                "traveller_key": p.get("who", "x"),
                "node": "ZA",
                "permit_type": p.get("type", "LEP"),
                "status": p.get("status", "issued"),
                "sector": p.get("sector", ""),
                "country": p.get("country", "ZAF"),
                "valid_from": p.get("valid_from"),
                "valid_to": p.get("valid_to"),
                "issued_at": utc(str(p["issued"])) if p.get("issued") else None,
            }
            for p in permits
        ]
        pq.write_table(
            pa.Table.from_pylist(rows, schema=parquet.PERMITS_SCHEMA), out / "permits.parquet"
        )
    if checks is not None:
        rows = [
            {
                "node": "ZA",
                "port": k.get("port", "MSU"),
                "direction": "entry",
                "country": "ZAF",
                "checked_at": utc(str(k["at"])),
                "decision": k.get("decision", "CLEAR"),
                "watchlist_hit": k.get("hit", False),
                "overridden": False,
            }
            for k in checks
        ]
        pq.write_table(
            pa.Table.from_pylist(rows, schema=parquet.CHECKS_SCHEMA), out / "checks.parquet"
        )
    return out


def d(text: str) -> date:
    return date.fromisoformat(text)
