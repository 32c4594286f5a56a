"""Fast bulk loading: COPY on PostgreSQL, one executemany per batch on SQLite.

Rows are tuples of already-formatted values (strings, numbers or None) in the storage
formats both back ends accept: UUIDs as 32 hex digits, dates as ``YYYY-MM-DD``, UTC
times as ``YYYY-MM-DD HH:MM:SS.ffffff``. The ORM is bypassed on purpose: at millions of
rows its per-object bookkeeping costs far more than the database work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

BATCH = 50_000


class BulkWriter:
    """Inserts into several tables inside ONE transaction: all of it lands, or none."""

    def __init__(self, raw: Any, dialect: str) -> None:
        self._raw = raw
        self._dialect = dialect
        self._cur = raw.cursor()
        if dialect == "postgresql":
            self._cur.execute("SET LOCAL TIME ZONE 'UTC'")

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        count = 0
        if self._dialect == "postgresql":
            with self._cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
                    if on_batch and count % BATCH == 0:
                        on_batch(BATCH)
            if on_batch and count % BATCH:
                on_batch(count % BATCH)
            return count
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        )
        batch: list[Sequence[object]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                self._cur.executemany(sql, batch)
                count += len(batch)
                if on_batch:
                    on_batch(len(batch))
                batch = []
        if batch:
            self._cur.executemany(sql, batch)
            count += len(batch)
            if on_batch:
                on_batch(len(batch))
        return count


@contextmanager
def bulk_writer(engine: Engine) -> Iterator[BulkWriter]:
    raw = engine.raw_connection()
    try:
        yield BulkWriter(raw, engine.dialect.name)
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()


def bulk_insert(
    engine: Engine,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Insert ``rows`` into one table in its own transaction; returns the row count."""
    with bulk_writer(engine) as writer:
        return writer.insert(table, columns, rows, on_batch=on_batch)
