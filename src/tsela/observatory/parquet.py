"""The analytics layout: crossings and travellers as partitioned Parquet.

What leaves the operational store for analysis carries no names or document numbers:
travellers are known by a pseudonymous key (an HMAC of the record id with a node secret),
so analysts can count distinct and frequent travellers without knowing who they are.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from tsela.pseudonyms import pseudonym_secret as pseudonym_secret
from tsela.pseudonyms import traveller_key as traveller_key

CROSSINGS_SCHEMA = pa.schema(
    [
        ("crossing_id", pa.string()),
        ("node", pa.string()),
        ("traveller_key", pa.string()),
        ("port", pa.string()),
        ("direction", pa.string()),
        ("country", pa.string()),
        ("crossed_at", pa.timestamp("s", tz="UTC")),
        ("decision", pa.string()),
        ("nationality", pa.string()),
        ("sex", pa.string()),
        ("birth_year", pa.int16()),
        # The purpose declared before arriving (a pre-arrival declaration used at the check:
        # reference/declaration_purposes.toml), else null. Copies written before it was added
        # lack the column: the engine reads it as null (``union_by_name``).
        ("purpose", pa.string()),
        ("year", pa.int16()),
        ("month", pa.int8()),
    ]
)

TRAVELLERS_SCHEMA = pa.schema(
    [
        ("traveller_key", pa.string()),
        ("nationality", pa.string()),
        ("sex", pa.string()),
        ("birth_year", pa.int16()),
    ]
)


# Permits as the observatory sees them: no number, no name, no token; the holder only by
# the same pseudonymous key as in the crossings (to tell stays covered by a permit).
PERMITS_SCHEMA = pa.schema(
    [
        ("traveller_key", pa.string()),
        ("node", pa.string()),
        ("permit_type", pa.string()),
        ("status", pa.string()),
        ("sector", pa.string()),
        ("country", pa.string()),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
        ("issued_at", pa.timestamp("s", tz="UTC")),
    ]
)

# Border checks, for watchlist hits per port: no person, no document, no reasons' text.
CHECKS_SCHEMA = pa.schema(
    [
        ("node", pa.string()),
        ("port", pa.string()),
        ("direction", pa.string()),
        ("country", pa.string()),
        ("checked_at", pa.timestamp("s", tz="UTC")),
        ("decision", pa.string()),
        ("watchlist_hit", pa.bool_()),
        ("overridden", pa.bool_()),
    ]
)


# Refusals of entry (this node's and the partner's received ones): no name, no document
# number, no remarks; the person by the same pseudonymous key when the store knows them, else
# by a key of the document (so one person refused twice counts once).
REFUSALS_SCHEMA = pa.schema(
    [
        ("node", pa.string()),
        ("traveller_key", pa.string()),
        ("country", pa.string()),
        ("port", pa.string()),
        ("refused_at", pa.timestamp("s", tz="UTC")),
        ("nationality", pa.string()),
        ("grounds", pa.list_(pa.string())),
    ]
)

# Entry bans, likewise: who by key, the issuing country, the ground, the dates.
BANS_SCHEMA = pa.schema(
    [
        ("node", pa.string()),
        ("traveller_key", pa.string()),
        ("issuing_country", pa.string()),
        ("ground", pa.string()),
        ("nationality", pa.string()),
        ("starts_on", pa.date32()),
        ("ends_on", pa.date32()),
        ("lifted_on", pa.date32()),
        ("issued_at", pa.timestamp("s", tz="UTC")),
    ]
)


def write_crossings(table: pa.Table, out_dir: Path, part: int) -> None:
    """Append one batch to ``out_dir/crossings/year=YYYY/month=M/``."""
    ds.write_dataset(
        table,
        out_dir / "crossings",
        format="parquet",
        partitioning=ds.partitioning(
            pa.schema([("year", pa.int16()), ("month", pa.int8())]), flavor="hive"
        ),
        existing_data_behavior="overwrite_or_ignore",
        basename_template=f"part-{part:05d}-{{i}}.parquet",
    )


def write_travellers(table: pa.Table, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    import pyarrow.parquet as pq

    pq.write_table(table, out_dir / "travellers.parquet")
