"""Importing a watchlist: read the file, refuse an import that would lose too much of the
list unless confirmed, write the new version, audit it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tsela.kernel import clock
from tsela.services import audit
from tsela.services.screening.files import (
    FORMATS,
    MAX_ROW_ERRORS_KEPT,
    DocumentRow,
    ImportFileError,
    PersonRow,
    RowProblem,
    decode,
    parse_mapping,
    read_documents_csv,
    read_people_csv,
    read_people_ftm,
)
from tsela.services.screening.index_cache import lists_changed
from tsela.services.screening.versions import write_version
from tsela.store.db import session_factory, transaction
from tsela.store.watchlists import (
    PUBLISHED,
    DocumentAlert,
    Watchlist,
    WatchlistCategory,
    WatchlistEntry,
    WatchlistKind,
)


@dataclass
class ImportReport:
    list_name: str
    kind: str
    version: int
    loaded: int
    replaced: int  # entries of the previous version removed
    ignored: int = 0  # FtM entities of other schemas (companies, vessels...)
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    error_count: int = 0


# An import that would silently lose much of a list is refused unless the importer confirms
# it: a truncated or wrongly exported file must not quietly empty a wanted-persons list.
MAX_BAD_ROW_SHARE = 0.05  # refused when more than 5% of the file's rows are bad
MAX_SHRINK_SHARE = 0.20  # refused when the list would lose more than 20% of its entries
DROPPED_SHOWN = 20  # entries named in a refusal


class ImportNeedsConfirmation(ValueError):
    """The import would lose too much of the list; nothing was written.

    ``reasons`` are codes: ``bad_rows`` (more than ``MAX_BAD_ROW_SHARE`` of the rows are bad),
    ``list_shrinks`` (the list would lose more than ``MAX_SHRINK_SHARE`` of its entries).
    """

    def __init__(
        self,
        message: str,
        *,
        reasons: list[str],
        current: int,
        loaded: int,
        bad_rows: int,
        dropped_count: int,
        dropped: list[str],
        errors: Sequence[RowProblem],
    ) -> None:
        super().__init__(message)
        self.reasons = reasons
        self.current = current
        self.loaded = loaded
        self.bad_rows = bad_rows
        self.dropped_count = dropped_count
        self.dropped = dropped
        self.errors = list(errors)


@dataclass(frozen=True)
class _Current:
    """The published version of a list, as the import found it."""

    id: uuid.UUID
    kind: WatchlistKind
    version: int
    entries: int
    source: str


def _current(session: Session, list_name: str) -> _Current | None:
    wl = session.scalars(
        select(Watchlist).where(Watchlist.name == list_name, PUBLISHED)
    ).one_or_none()
    if wl is None:
        return None
    return _Current(wl.id, wl.kind, wl.version, wl.entry_count, wl.source)


def _identity(names: Sequence[str], birth_year: int | None, external_id: str) -> tuple[Any, ...]:
    """What makes two rows of successive versions the same person (for naming the dropped)."""
    if external_id:
        return ("id", external_id)
    return ("name", (names[0] if names else "").casefold(), birth_year)


def _dropped(
    session: Session, current: _Current, rows: Sequence[PersonRow] | Sequence[DocumentRow]
) -> tuple[int, list[str]]:
    """How many entries of the current version the new rows leave out, and the first names."""
    dropped: list[str] = []
    count = 0
    if current.kind is WatchlistKind.PERSON:
        kept = {
            _identity(r.names, r.birth.year if r.birth else None, r.external_id)
            for r in rows
            if isinstance(r, PersonRow)
        }
        old = session.execute(
            select(WatchlistEntry.names, WatchlistEntry.birth_year, WatchlistEntry.external_id)
            .where(WatchlistEntry.watchlist_id == current.id)
            .order_by(WatchlistEntry.line)
        )
        for names, year, external_id in old:
            if _identity(names, year, external_id) not in kept:
                count += 1
                if len(dropped) < DROPPED_SHOWN:
                    dropped.append(names[0] if names else "")
    else:
        kept_docs = {(r.issuing_state, r.number) for r in rows if isinstance(r, DocumentRow)}
        alerts = session.execute(
            select(DocumentAlert.issuing_state, DocumentAlert.number)
            .where(DocumentAlert.watchlist_id == current.id)
            .order_by(DocumentAlert.line)
        )
        for state, number in alerts:
            if (state, number) not in kept_docs:
                count += 1
                if len(dropped) < DROPPED_SHOWN:
                    dropped.append(f"{state} {number}")
    return count, dropped


def losses(current_entries: int, loaded: int, bad_rows: int) -> list[str]:
    """Why an import needs the importer's confirmation (reason codes; empty: it does not)."""
    reasons = []
    if bad_rows and bad_rows > MAX_BAD_ROW_SHARE * (loaded + bad_rows):
        reasons.append("bad_rows")
    if current_entries and loaded < (1 - MAX_SHRINK_SHARE) * current_entries:
        reasons.append("list_shrinks")
    return reasons


def import_watchlist(
    engine: Engine,
    *,
    list_name: str,
    data: bytes | str,
    fmt: str,
    actor: str,
    node: str,
    kind: WatchlistKind = WatchlistKind.PERSON,
    category: WatchlistCategory = WatchlistCategory.OTHER,
    source: str = "",
    mapping: Sequence[str] = (),
    today: date | None = None,
    now: datetime | None = None,
    confirm: bool = False,
) -> ImportReport:
    """Replace the list ``list_name`` with the file's rows; readers see the old version or
    the new one, never a mixture.

    ``ImportNeedsConfirmation`` (nothing written, the refusal audited) when the file's bad
    rows or the list's shrinkage pass ``MAX_BAD_ROW_SHARE`` / ``MAX_SHRINK_SHARE`` and
    ``confirm`` is false.
    """
    list_name = list_name.strip()
    if not list_name or len(list_name) > 80:
        raise ValueError("a list name of 1 to 80 characters is needed")
    if list_name.startswith("~"):
        raise ValueError("a list name cannot start with '~' (kept for lists being written)")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "ftm" and kind is not WatchlistKind.PERSON:
        raise ValueError("FtM import loads person entries; document alerts come as CSV")
    if fmt == "ftm" and mapping:
        raise ValueError("--map applies to CSV files only")
    now = now or clock.now()
    today = today or clock.border_day(now)
    columns = parse_mapping(mapping, kind)
    text = decode(data)
    ignored = 0
    rows: Sequence[PersonRow] | Sequence[DocumentRow]
    if kind is WatchlistKind.DOCUMENT:
        rows, errors, warnings = read_documents_csv(text, columns)
    elif fmt == "csv":
        rows, errors, warnings = read_people_csv(text, columns, category, today)
    else:
        rows, errors, warnings, ignored = read_people_ftm(text, category, today)
    del text
    if not rows:
        shown = "; ".join(str(e) for e in errors[:5])
        raise ImportFileError(
            f"no valid rows in the file; list {list_name!r} left unchanged"
            + (f" ({shown})" if shown else ""),
            errors,
        )
    factory = session_factory(engine)
    with factory() as session:
        current = _current(session, list_name)
        if current is not None and current.kind is not kind:
            raise ValueError(
                f"list {list_name!r} holds {current.kind.value} entries; "
                f"cannot load {kind.value} rows into it"
            )
        reasons = losses(current.entries if current else 0, len(rows), len(errors))
        dropped_count, dropped = (
            _dropped(session, current, rows) if reasons and current else (0, [])
        )
    detail: dict[str, Any] = {
        "list": list_name,
        "format": fmt,
        "loaded": len(rows),
        "replaced": current.entries if current else 0,
        "bad_rows": len(errors),
    }
    if reasons and not confirm:
        with transaction(factory) as session:
            audit.record(
                session,
                actor=actor,
                action="watchlist.import.refused",
                node=node,
                entity="watchlist",
                entity_id=current.id if current else "",
                detail=detail | {"reasons": reasons, "dropped": dropped_count},
            )
        what = []
        if "bad_rows" in reasons:
            what.append(
                f"{len(errors)} of {len(rows) + len(errors)} rows are bad "
                f"(over {MAX_BAD_ROW_SHARE:.0%})"
            )
        if "list_shrinks" in reasons and current:
            what.append(
                f"the list would go from {current.entries} to {len(rows)} entries "
                f"(losing over {MAX_SHRINK_SHARE:.0%})"
            )
        raise ImportNeedsConfirmation(
            f"list {list_name!r} left unchanged: {'; '.join(what)}"
            + (f"; {dropped_count} entries would be dropped" if dropped_count else "")
            + ". Check the file, or confirm the import to replace the list anyway",
            reasons=reasons,
            current=current.entries if current else 0,
            loaded=len(rows),
            bad_rows=len(errors),
            dropped_count=dropped_count,
            dropped=dropped,
            errors=errors[:MAX_ROW_ERRORS_KEPT],
        )
    if reasons:
        detail |= {"confirmed": reasons, "dropped": dropped_count}
    version, replaced = write_version(
        engine,
        list_name=list_name,
        kind=kind,
        category=category,
        source=source or (current.source if current else ""),
        rows=rows,
        actor=actor,
        node=node,
        now=now,
        detail=detail,
    )
    lists_changed(engine)
    return ImportReport(
        list_name=list_name,
        kind=kind.value,
        version=version,
        loaded=len(rows),
        replaced=replaced,
        ignored=ignored,
        errors=errors[:MAX_ROW_ERRORS_KEPT],
        warnings=warnings[:MAX_ROW_ERRORS_KEPT],
        error_count=len(errors),
    )
