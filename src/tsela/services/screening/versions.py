"""Writing a list version unpublished in short transactions, then publishing it in one
(``store.watchlists``); leftovers of a crash are removed by a later import.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsela.ids import new_id
from tsela.services import audit, exchange_outbox
from tsela.services.screening.files import DocumentRow, PersonRow
from tsela.store.db import session_factory, transaction
from tsela.store.watchlists import (
    DocumentAlert,
    Watchlist,
    WatchlistCategory,
    WatchlistEntry,
    WatchlistKind,
)

# Rows written per transaction. Short transactions let other writers (border checks, the
# audit log) in between; on SQLite the importer also pauses after each one, because a writer
# waiting in SQLite's busy handler looks again only every 100 ms.
CHUNK_ROWS = 5_000
SQLITE_PAUSE_S = 0.1
# A list version being written, or a replaced one being deleted, is a ``watchlist`` row with
# version 0 (see ``store.watchlists.PUBLISHED``) and a name of its own; one left behind by a
# crash is removed by a later import once it is this old.
UNPUBLISHED_NAME = "~unpublished:{id}"
STALE_UNPUBLISHED = timedelta(days=1)


def pause(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        time.sleep(SQLITE_PAUSE_S)


def write_version(
    engine: Engine,
    *,
    list_name: str,
    kind: WatchlistKind,
    category: WatchlistCategory,
    source: str,
    rows: Sequence[PersonRow] | Sequence[DocumentRow],
    actor: str,
    node: str,
    now: datetime,
    detail: dict[str, Any],
) -> tuple[int, int]:
    """Write the rows as an unpublished version in short transactions, then publish it in
    one short transaction (two one-row updates); the replaced version is deleted after.
    Returns (the new version number, entries replaced)."""
    factory = session_factory(engine)
    _drop_stale_unpublished(engine, now)
    staging_id = new_id()
    with transaction(factory) as session:
        session.add(
            Watchlist(
                id=staging_id,
                node=node,
                name=UNPUBLISHED_NAME.format(id=staging_id),
                kind=kind,
                category=category,
                source=source[:200],
                version=0,
                entry_count=len(rows),
                imported_by=actor[:60],
                imported_at=now,
                created_at=now,
            )
        )
    retired: uuid.UUID | None = None
    try:
        for start in range(0, len(rows), CHUNK_ROWS):
            with transaction(factory) as session:
                chunk = rows[start : start + CHUNK_ROWS]
                insert_rows(session, staging_id, kind, source[:200], chunk, node, now)
            pause(engine)
        with transaction(factory) as session:
            table = Watchlist.__table__
            old = session.execute(
                select(table.c.id, table.c.kind, table.c.version, table.c.entry_count)
                .where(table.c.name == list_name, table.c.version > 0)
                .with_for_update()
            ).one_or_none()
            replaced, version = 0, 1
            if old is not None:
                if old.kind != kind:
                    raise ValueError(
                        f"list {list_name!r} holds {WatchlistKind(old.kind).value} entries; "
                        f"cannot load {kind.value} rows into it"
                    )
                replaced, version, retired = old.entry_count, old.version + 1, old.id
                session.execute(
                    update(table)
                    .where(table.c.id == old.id)
                    .values(name=UNPUBLISHED_NAME.format(id=old.id), version=0)
                )
            try:
                session.execute(
                    update(table)
                    .where(table.c.id == staging_id)
                    .values(name=list_name, version=version)
                )
            except IntegrityError:  # another import created the same new list meanwhile
                raise ValueError(
                    f"list {list_name!r} was created by another import at the same moment; "
                    "this one was not kept: import it again to replace that one"
                ) from None
            if kind is WatchlistKind.DOCUMENT:  # offered to the partner when published (issue 16)
                exchange_outbox.published_document_alerts(session, staging_id)
            audit.record(
                session,
                actor=actor,
                action="watchlist.import",
                node=node,
                entity="watchlist",
                entity_id=staging_id,
                detail=detail | {"version": version, "replaced": replaced},
            )
    except BaseException:
        retired = None
        _drop_unpublished(engine, staging_id)
        raise
    finally:
        if retired is not None:
            _drop_unpublished(engine, retired)
    return version, replaced


def _drop_unpublished(engine: Engine, watchlist_id: uuid.UUID) -> None:
    """Delete an unpublished list version's rows in short transactions, then the list row."""
    for table in (WatchlistEntry.__table__, DocumentAlert.__table__):
        while True:
            with engine.begin() as conn:
                chunk = (
                    select(table.c.id)
                    .where(table.c.watchlist_id == watchlist_id)
                    .limit(CHUNK_ROWS)
                    .scalar_subquery()
                )
                gone = conn.execute(delete(table).where(table.c.id.in_(chunk))).rowcount
            if gone < CHUNK_ROWS:
                break
            pause(engine)
    with engine.begin() as conn:
        w = Watchlist.__table__
        conn.execute(delete(w).where(w.c.id == watchlist_id, w.c.version == 0))


def _drop_stale_unpublished(engine: Engine, now: datetime) -> None:
    w = Watchlist.__table__
    with engine.connect() as conn:
        stale = conn.scalars(
            select(w.c.id).where(w.c.version == 0, w.c.created_at < now - STALE_UNPUBLISHED)
        ).all()
    for watchlist_id in stale:
        _drop_unpublished(engine, watchlist_id)


def insert_rows(
    session: Session,
    watchlist_id: uuid.UUID,
    kind: WatchlistKind,
    source: str,
    rows: Sequence[PersonRow] | Sequence[DocumentRow],
    node: str,
    now: datetime,
) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        base = {"id": new_id(), "node": node, "created_at": now, "watchlist_id": watchlist_id}
        if isinstance(row, PersonRow):
            b = row.birth
            batch.append(
                base
                | {
                    "external_id": row.external_id,
                    "names": row.names,
                    # b.full: month and day are both known.
                    "birth_date": date(b.year, b.month, b.day) if b and b.full else None,  # type: ignore[arg-type]
                    "birth_year": b.year if b else None,
                    "birth_month": b.month if b else None,
                    "nationalities": row.nationalities,
                    "documents": row.documents,
                    "category": row.category,
                    "reason": row.reason,
                    "valid_from": row.valid_from,
                    "valid_to": row.valid_to,
                    "line": row.line,
                    "extra": row.extra,
                }
            )
        else:
            batch.append(
                base
                | {
                    "issuing_state": row.issuing_state,
                    "number": row.number,
                    "status": row.status,
                    "reported_on": row.reported_on,
                    "source": source,
                    "line": row.line,
                }
            )
    if batch:
        table = WatchlistEntry if kind is WatchlistKind.PERSON else DocumentAlert
        session.execute(insert(table), batch)
