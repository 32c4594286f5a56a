"""Write a synthetic population into the store (bulk paths) and to Parquet."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine, select

from tsela.ids import new_ids
from tsela.kernel import clock
from tsela.observatory import parquet
from tsela.store.bulk import BulkWriter
from tsela.store.db import session_factory
from tsela.store.models import PortOfEntry
from tsela.synth.generator import (
    COUNTRIES,
    DIRECTIONS,
    PORT_CODES,
    CrossingChunk,
    Population,
    SynthConfig,
    Trips,
    crossing_chunks,
)

Progress = Callable[[int], None]
NODE_OF_COUNTRY = {"LSO": "LS", "ZAF": "ZA"}


def _ts(values: np.ndarray) -> np.ndarray:
    """datetime64 -> the text form both back ends store ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    return np.char.replace(np.datetime_as_string(values, unit="us"), "T", " ")


def new_hex_ids(n: int) -> np.ndarray:
    return np.asarray([u.hex for u in new_ids(n)], dtype=object)


@dataclass
class StoredPopulation:
    person_ids: np.ndarray  # hex, by person index
    document_ids: np.ndarray  # hex of each person's current document


def load_population(writer: BulkWriter, pop: Population, node: str) -> StoredPopulation:
    n = len(pop)
    now = clock.now().strftime("%Y-%m-%d %H:%M:%S.%f")
    person_ids = new_hex_ids(n)
    birth = np.datetime_as_string(pop.birth_date, unit="D")
    writer.insert(
        "person",
        (
            "id",
            "node",
            "created_at",
            "primary_name",
            "given_names",
            "sex",
            "birth_date",
            "nationality",
        ),
        zip(
            person_ids,
            [node] * n,
            [now] * n,
            pop.primary_name,
            pop.given_names,
            pop.sex,
            birth,
            pop.nationality,
            strict=True,
        ),
    )
    doc_ids = new_hex_ids(n)
    expiry = np.datetime_as_string(pop.doc_expiry, unit="D")
    lost = np.nonzero(pop.lost_doc_number != "")[0]
    lost_ids = new_hex_ids(len(lost))
    rows = list(
        zip(
            doc_ids,
            [node] * n,
            [now] * n,
            person_ids,
            ["P"] * n,
            pop.nationality,
            pop.doc_number,
            expiry,
            ["valid"] * n,
            strict=True,
        )
    )
    rows += list(
        zip(
            lost_ids,
            [node] * len(lost),
            [now] * len(lost),
            person_ids[lost],
            ["P"] * len(lost),
            pop.nationality[lost],
            pop.lost_doc_number[lost],
            expiry[lost],
            pop.lost_doc_status[lost],
            strict=True,
        )
    )
    writer.insert(
        "travel_document",
        (
            "id",
            "node",
            "created_at",
            "person_id",
            "document_type",
            "issuing_state",
            "number",
            "expiry_date",
            "status",
        ),
        rows,
    )
    return StoredPopulation(person_ids=person_ids, document_ids=doc_ids)


def port_ids(engine: Engine) -> np.ndarray:
    with session_factory(engine)() as s:
        by_code = {
            code: pid.hex for code, pid in s.execute(select(PortOfEntry.code, PortOfEntry.id))
        }
    missing = [c for c in PORT_CODES if c not in by_code]
    if missing:
        raise ValueError(f"ports {missing} are not in the database: run `tsela init` first")
    return np.asarray([by_code[c] for c in PORT_CODES], dtype=object)


def crossing_rows(
    chunk: CrossingChunk, stored: StoredPopulation, port_ids: np.ndarray
) -> list[tuple[object, ...]]:
    n = len(chunk)
    now = clock.now().strftime("%Y-%m-%d %H:%M:%S.%f")
    country = np.asarray(COUNTRIES, dtype=object)[chunk.country]
    node = np.where(chunk.country == 0, "LS", "ZA").astype(object)
    return list(
        zip(
            new_hex_ids(n),
            node,
            [now] * n,
            stored.person_ids[chunk.person],
            stored.document_ids[chunk.person],
            port_ids[chunk.port],
            np.asarray(DIRECTIONS, dtype=object)[chunk.direction],
            country,
            _ts(chunk.crossed_at),
            np.where(chunk.refer, "REFER", "CLEAR").astype(object),
            strict=True,
        )
    )


CROSSING_COLUMNS = (
    "id",
    "node",
    "created_at",
    "person_id",
    "document_id",
    "port_id",
    "direction",
    "country",
    "crossed_at",
    "decision",
)


def load_crossings(
    writer: BulkWriter,
    port_ids: np.ndarray,
    pop: Population,
    trips: Trips,
    cfg: SynthConfig,
    stored: StoredPopulation,
    progress: Progress | None = None,
) -> int:
    def rows() -> Iterator[tuple[object, ...]]:
        for chunk in crossing_chunks(pop, trips, cfg):
            yield from crossing_rows(chunk, stored, port_ids)

    return writer.insert("crossing", CROSSING_COLUMNS, rows(), on_batch=progress)


def write_parquet(
    out_dir: Path,
    pop: Population,
    trips: Trips,
    cfg: SynthConfig,
    person_ids: np.ndarray,
    secret: bytes,
    progress: Progress | None = None,
) -> int:
    """The analytics copy: crossings partitioned by year and month, and travellers."""
    if (out_dir / "crossings").exists():
        shutil.rmtree(out_dir / "crossings")
    keys = np.asarray([parquet.traveller_key(secret, pid) for pid in person_ids], dtype=object)
    birth_year = pop.birth_date.astype("datetime64[Y]").astype(np.int64) + 1970
    parquet.write_travellers(
        pa.table(
            {
                "traveller_key": keys.astype(str),
                "nationality": pop.nationality.astype(str),
                "sex": pop.sex.astype(str),
                "birth_year": birth_year.astype(np.int16),
            },
            schema=parquet.TRAVELLERS_SCHEMA,
        ),
        out_dir,
    )
    total = 0
    for part, chunk in enumerate(crossing_chunks(pop, trips, cfg)):
        when = chunk.crossed_at
        year = when.astype("datetime64[Y]").astype(np.int64) + 1970
        month = when.astype("datetime64[M]").astype(np.int64) % 12 + 1
        p = chunk.person
        table = pa.table(
            {
                "crossing_id": [u.hex for u in new_ids(len(chunk))],
                "node": np.where(chunk.country == 0, "LS", "ZA"),
                "traveller_key": keys[p].astype(str),
                "port": np.asarray(PORT_CODES)[chunk.port],
                "direction": np.asarray(DIRECTIONS)[chunk.direction],
                "country": np.asarray(COUNTRIES)[chunk.country],
                "crossed_at": when.astype("datetime64[s]"),
                "decision": np.where(chunk.refer, "REFER", "CLEAR"),
                "nationality": pop.nationality[p].astype(str),
                "sex": pop.sex[p].astype(str),
                "birth_year": birth_year[p].astype(np.int16),
                "purpose": pa.nulls(len(chunk), pa.string()),
                "year": year.astype(np.int16),
                "month": month.astype(np.int8),
            },
            schema=parquet.CROSSINGS_SCHEMA,
        )
        parquet.write_crossings(table, out_dir, part)
        total += len(chunk)
        if progress:
            progress(len(chunk))
    return total
