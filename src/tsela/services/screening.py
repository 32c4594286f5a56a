"""Watchlist use cases: import a list (CSV or FollowTheMoney), screen a person, check a document.

An import replaces a list atomically: the new version is written unpublished in short
transactions (other writers, such as border checks, get their turn in between, even on
SQLite) and published in one short transaction; readers see the old version or the new one,
never a mixture (``store.watchlists``). Bad rows are reported with their line numbers and the
good rows load, unless the file would lose too much of the list: more than
``MAX_BAD_ROW_SHARE`` of its rows bad, or the list shrinking by more than
``MAX_SHRINK_SHARE``. Such an import is refused (``ImportNeedsConfirmation``, naming what
would be dropped, and audited) unless the importer confirms it. A file that cannot be read
at all, or has no good row, changes nothing.

Screening uses a ``ScreeningIndex`` cached per database engine and remade when any person
list's version changes. The versions are read with one small query at most once every
``SIGNATURE_TTL_S`` per process (an import in this process takes effect at once; one in
another server process within that time): at a hundred checks a second, the query on every
screening was a tenth of the check's statements. With ``keep_index_on_disk`` (the server
does it) the index is built once per set of list versions, saved under the var dir and
memory-mapped by every process (``store.index_files``): a restart loads it in seconds. A
process whose index is out of date keeps answering with it while the new one is loaded or
built in the background; a hit is answered from the index alone (list, version, category
and reason travel in each entry's payload), so the version it was built from can serve.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pycountry
from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsela.domain.screening import (
    THRESHOLD,
    BirthDate,
    ScreeningIndex,
    ScreeningInputError,
    WatchlistPerson,
    make_query,
    normalise_document,
    normalise_name,
    parse_birth_date,
)
from tsela.ids import new_id
from tsela.services import audit, exchange_outbox
from tsela.store import index_files
from tsela.store.db import session_factory, transaction
from tsela.store.models import utcnow
from tsela.store.watchlists import (
    PUBLISHED,
    AlertStatus,
    DocumentAlert,
    Watchlist,
    WatchlistCategory,
    WatchlistEntry,
    WatchlistKind,
)

FORMATS = ("csv", "ftm")
PERSON_FIELDS = (
    "name",
    "aliases",
    "birth_date",
    "nationality",
    "category",
    "reason",
    "valid_from",
    "valid_to",
    "documents",
    "id",
)
DOCUMENT_FIELDS = ("issuing_state", "number", "status", "reported_on")
REQUIRED = {WatchlistKind.PERSON: ("name",), WatchlistKind.DOCUMENT: DOCUMENT_FIELDS[:3]}
LIST_SEPARATOR = ";"
MAX_ROW_ERRORS_KEPT = 1_000


class ImportFileError(ValueError):
    """The whole file is unusable; nothing was written. ``errors`` lists bad rows if any."""

    def __init__(self, message: str, errors: Sequence[RowProblem] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


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


# -- parsing -------------------------------------------------------------------------------


def parse_mapping(pairs: Sequence[str], kind: WatchlistKind) -> dict[str, str]:
    """``["Full Name=name", "DOB=birth_date"]`` -> ``{"name": "Full Name", ...}``."""
    known = PERSON_FIELDS if kind is WatchlistKind.PERSON else DOCUMENT_FIELDS
    out: dict[str, str] = {}
    for pair in pairs:
        column, sep, fld = pair.rpartition("=")
        column, fld = column.strip(), fld.strip()
        if not sep or not column or not fld:
            raise ValueError(f"column mapping {pair!r} is not COLUMN=FIELD")
        if fld not in known:
            raise ValueError(
                f"column mapping {pair!r}: unknown field {fld!r}; fields are {', '.join(known)}"
            )
        out[fld] = column
    return out


def country_code(value: str) -> str | None:
    """ISO alpha-3 for an alpha-2, alpha-3 or English country name (FtM uses 'ls', 'za')."""
    text = value.strip()
    if not text:
        return None
    found = None
    if len(text) == 2:
        found = pycountry.countries.get(alpha_2=text.upper())
    elif len(text) == 3:
        found = pycountry.countries.get(alpha_3=text.upper())
    if found is None:
        try:
            found = pycountry.countries.lookup(text)
        except LookupError:
            return None
    return str(found.alpha_3)


def _split(value: str | None) -> list[str]:
    if not value:
        return []
    return [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]


def _iso_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


@dataclass
class _Person:
    line: int
    external_id: str
    names: list[str]
    birth: BirthDate | None
    nationalities: list[str]
    documents: list[str]
    category: WatchlistCategory
    reason: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Document:
    line: int
    issuing_state: str
    number: str
    status: AlertStatus
    reported_on: date | None


def _person(
    line: int,
    *,
    external_id: str,
    names: Sequence[str],
    birth_dates: Sequence[str],
    nationalities: Sequence[str],
    documents: Sequence[str],
    category: WatchlistCategory,
    reason: str,
    valid_from: str,
    valid_to: str,
    today: date,
    warnings: list[RowProblem],
) -> _Person:
    names = [n.strip() for n in names if n and n.strip()]
    if not names:
        raise ValueError("no name")
    for i, n in enumerate(names):
        normalise_name(n, where="name" if i == 0 else f"alias {n[:40]!r}")
    birth = None
    for raw in birth_dates:
        if not raw.strip():
            continue
        candidate = parse_birth_date(raw, today)
        if birth is None:
            birth = candidate
        elif candidate != birth:
            warnings.append(RowProblem(line, f"other birth date {raw} kept aside; using {birth}"))
    codes: list[str] = []
    for raw in nationalities:
        code = country_code(raw)
        if code is None:
            warnings.append(RowProblem(line, f"unknown country {raw!r} left out"))
        elif code not in codes:
            codes.append(code)
    docs = [d for d in (normalise_document(x) for x in documents) if d]
    if any(len(d) > 30 for d in docs):
        raise ValueError("document number longer than 30 characters")
    start = _iso_date(valid_from, "valid_from") if valid_from.strip() else None
    end = _iso_date(valid_to, "valid_to") if valid_to.strip() else None
    if start and end and end < start:
        raise ValueError(f"valid_to {end} is before valid_from {start}")
    return _Person(
        line=line,
        external_id=external_id[:200],
        names=names,
        birth=birth,
        nationalities=codes,
        documents=docs,
        category=category,
        reason=reason.strip(),
        valid_from=start,
        valid_to=end,
    )


def _category(value: str | None, default: WatchlistCategory) -> WatchlistCategory:
    if not value or not value.strip():
        return default
    try:
        return WatchlistCategory(value.strip().lower())
    except ValueError:
        allowed = ", ".join(c.value for c in WatchlistCategory)
        raise ValueError(f"category {value!r} is not one of {allowed}") from None


def _csv_rows(
    text: str, mapping: dict[str, str], kind: WatchlistKind
) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames
    if not header:
        raise ImportFileError("the CSV file is empty (no header line)")
    header = [h.strip() for h in header]
    reader.fieldnames = header
    known = PERSON_FIELDS if kind is WatchlistKind.PERSON else DOCUMENT_FIELDS
    columns = {f: mapping.get(f, f) for f in known}
    for fld in mapping:
        if mapping[fld] not in header:
            raise ImportFileError(
                f"mapped column {mapping[fld]!r} (for {fld}) is not in the header: "
                + ", ".join(header)
            )
    missing = [f for f in REQUIRED[kind] if columns[f] not in header]
    if missing:
        raise ImportFileError(
            f"the CSV header has no column for {', '.join(missing)}; header: {', '.join(header)}; "
            "map one with --map COLUMN=FIELD"
        )
    try:
        for row in reader:
            if None in row:
                yield reader.line_num, {"__error__": f"{len(row[None])} more values than columns"}
                continue
            values = {f: (row.get(c) or "") for f, c in columns.items() if c in header}
            yield reader.line_num, values
    except csv.Error as exc:
        raise ImportFileError(f"line {reader.line_num}: malformed CSV ({exc})") from None


def read_people_csv(
    text: str, mapping: dict[str, str], category: WatchlistCategory, today: date
) -> tuple[list[_Person], list[RowProblem], list[RowProblem]]:
    people, errors, warnings = [], [], []
    for line, values in _csv_rows(text, mapping, WatchlistKind.PERSON):
        if "__error__" in values:
            errors.append(RowProblem(line, values["__error__"]))
            continue
        if not any(v.strip() for v in values.values()):
            continue  # blank line
        try:
            people.append(
                _person(
                    line,
                    external_id=values.get("id", ""),
                    names=[values.get("name", ""), *_split(values.get("aliases"))],
                    birth_dates=[values.get("birth_date", "")],
                    nationalities=_split(values.get("nationality")),
                    documents=_split(values.get("documents")),
                    category=_category(values.get("category"), category),
                    reason=values.get("reason", ""),
                    valid_from=values.get("valid_from", ""),
                    valid_to=values.get("valid_to", ""),
                    today=today,
                    warnings=warnings,
                )
            )
        except ValueError as exc:  # ScreeningInputError is a ValueError
            errors.append(RowProblem(line, str(exc)))
    return people, errors, warnings


def read_documents_csv(
    text: str, mapping: dict[str, str]
) -> tuple[list[_Document], list[RowProblem], list[RowProblem]]:
    docs, errors = [], []
    for line, values in _csv_rows(text, mapping, WatchlistKind.DOCUMENT):
        if "__error__" in values:
            errors.append(RowProblem(line, values["__error__"]))
            continue
        if not any(v.strip() for v in values.values()):
            continue
        try:
            state = country_code(values["issuing_state"])
            if state is None:
                raise ValueError(f"issuing_state {values['issuing_state']!r} is not a country")
            number = normalise_document(values["number"])
            if not number or len(number) > 30:
                raise ValueError(f"document number {values['number'][:40]!r} is empty or too long")
            try:
                status = AlertStatus(values["status"].strip().lower())
            except ValueError:
                allowed = ", ".join(s.value for s in AlertStatus)
                raise ValueError(f"status {values['status']!r} is not one of {allowed}") from None
            reported = values.get("reported_on", "").strip()
            docs.append(
                _Document(
                    line,
                    state,
                    number,
                    status,
                    _iso_date(reported, "reported_on") if reported else None,
                )
            )
        except ValueError as exc:
            errors.append(RowProblem(line, str(exc)))
    return docs, errors, []


def read_people_ftm(
    text: str, category: WatchlistCategory, today: date
) -> tuple[list[_Person], list[RowProblem], list[RowProblem], int]:
    """FollowTheMoney entities, one JSON object per line (OpenSanctions' ``entities.ftm.json``)."""
    people, errors, warnings = [], [], []
    ignored = 0
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entity = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append(RowProblem(line, f"not a JSON object ({exc.msg} at column {exc.colno})"))
            continue
        except RecursionError:  # the decoder recurses once per level of nesting
            errors.append(RowProblem(line, "JSON nested too deeply for an FtM entity"))
            continue
        if not isinstance(entity, dict) or not isinstance(entity.get("properties", {}), dict):
            errors.append(
                RowProblem(line, "not an FtM entity (expected an object with properties)")
            )
            continue
        if entity.get("schema") != "Person":
            ignored += 1
            continue
        props: dict[str, Any] = entity.get("properties") or {}

        def values(*keys: str, p: dict[str, Any] = props) -> list[str]:
            out: list[str] = []
            for k in keys:
                v = p.get(k) or []
                for x in v if isinstance(v, list) else [v]:
                    if not isinstance(x, str | int | float):  # FtM values are strings
                        raise ValueError(f"property {k!r} holds a {type(x).__name__}, not text")
                    out.append(str(x))
            return out

        try:
            names = values("name")
            if not names:
                given = " ".join(values("firstName", "middleName"))
                names = [f"{given} {' '.join(values('lastName'))}".strip()]
            external_id = entity.get("id", "")
            if not isinstance(external_id, str | int):
                raise ValueError("the entity id is not text")
            person = _person(
                line,
                external_id=str(external_id),
                names=[*names, *values("alias")],
                birth_dates=values("birthDate"),
                nationalities=values("nationality", "citizenship"),
                documents=values("passportNumber", "idNumber"),
                category=category,
                reason="; ".join(values("topics", "notes"))[:2000],
                valid_from="",
                valid_to="",
                today=today,
                warnings=warnings,
            )
            datasets = entity.get("datasets")
            if datasets:
                if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets):
                    raise ValueError("datasets is not a list of names")
                person.extra["datasets"] = datasets
            people.append(person)
        except ValueError as exc:
            errors.append(RowProblem(line, str(exc)))
    return people, errors, warnings, ignored


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"the file is not UTF-8 text (byte {exc.start}, line {line}); save it as UTF-8"
        ) from None


# -- importing -----------------------------------------------------------------------------


# An import that would silently lose much of a list is refused unless the importer confirms
# it: a truncated or wrongly exported file must not quietly empty a wanted-persons list.
MAX_BAD_ROW_SHARE = 0.05  # refused when more than 5% of the file's rows are bad
MAX_SHRINK_SHARE = 0.20  # refused when the list would lose more than 20% of its entries
DROPPED_SHOWN = 20  # entries named in a refusal
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
    session: Session, current: _Current, rows: Sequence[_Person] | Sequence[_Document]
) -> tuple[int, list[str]]:
    """How many entries of the current version the new rows leave out, and the first names."""
    dropped: list[str] = []
    count = 0
    if current.kind is WatchlistKind.PERSON:
        kept = {
            _identity(r.names, r.birth.year if r.birth else None, r.external_id)
            for r in rows
            if isinstance(r, _Person)
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
        kept_docs = {(r.issuing_state, r.number) for r in rows if isinstance(r, _Document)}
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
    now = now or utcnow()
    today = today or now.date()
    columns = parse_mapping(mapping, kind)
    text = _decode(data)
    ignored = 0
    rows: Sequence[_Person] | Sequence[_Document]
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
    version, replaced = _write_version(
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


def _pause(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        time.sleep(SQLITE_PAUSE_S)


def _write_version(
    engine: Engine,
    *,
    list_name: str,
    kind: WatchlistKind,
    category: WatchlistCategory,
    source: str,
    rows: Sequence[_Person] | Sequence[_Document],
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
                _insert_rows(session, staging_id, kind, source[:200], chunk, node, now)
            _pause(engine)
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
            _pause(engine)
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


def _insert_rows(
    session: Session,
    watchlist_id: uuid.UUID,
    kind: WatchlistKind,
    source: str,
    rows: Sequence[_Person] | Sequence[_Document],
    node: str,
    now: datetime,
) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        base = {"id": new_id(), "node": node, "created_at": now, "watchlist_id": watchlist_id}
        if isinstance(row, _Person):
            b = row.birth
            batch.append(
                base
                | {
                    "external_id": row.external_id,
                    "names": row.names,
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


# -- the index -----------------------------------------------------------------------------


SIGNATURE_TTL_S = 1.0
INDEX_DIR_NAME = "screening-index"  # under the var dir

log = logging.getLogger("tsela.screening")


@dataclass
class _Cached:
    signature: tuple[tuple[str, int], ...]
    index: ScreeningIndex
    checked: float = 0.0  # time.monotonic() of the last version check
    loaded: float = field(default_factory=time.monotonic)  # when this process took it up


@dataclass(frozen=True)
class IndexState:
    """What this process's screening index is, for metrics and readiness."""

    loaded: bool
    version: int | None  # the sum of the lists' versions it was built from
    age_s: float | None  # seconds since this process took it up


def index_state(engine: Engine) -> IndexState:
    cached = _CACHE.get(engine)
    if cached is None:
        return IndexState(False, None, None)
    version = sum(v for _, v in cached.signature)
    return IndexState(True, version, time.monotonic() - cached.loaded)


_CACHE: weakref.WeakKeyDictionary[Engine, _Cached] = weakref.WeakKeyDictionary()
_INDEX_DIRS: weakref.WeakKeyDictionary[Engine, Path] = weakref.WeakKeyDictionary()
_REFRESHING: weakref.WeakSet[Engine] = weakref.WeakSet()
_BUILD_LOCK = threading.Lock()
_REFRESH_LOCK = threading.Lock()


_SIGNATURE = (
    select(Watchlist.id, Watchlist.version)
    .where(Watchlist.kind == WatchlistKind.PERSON, PUBLISHED)
    .order_by(Watchlist.id)
)


def keep_index_on_disk(engine: Engine, var_dir: Path) -> None:
    """Save this engine's screening index under ``var_dir`` and map it from there: built
    once per set of list versions, shared by every process using the same var dir."""
    _INDEX_DIRS[engine] = var_dir / INDEX_DIR_NAME


def _signature(session: Session) -> tuple[tuple[str, int], ...]:
    rows = session.execute(_SIGNATURE)
    return tuple((str(i), int(v)) for i, v in rows)


def _people(session: Session) -> Iterator[WatchlistPerson]:
    stmt = (
        select(
            WatchlistEntry.id,
            WatchlistEntry.names,
            WatchlistEntry.birth_date,
            WatchlistEntry.birth_year,
            WatchlistEntry.birth_month,
            WatchlistEntry.nationalities,
            WatchlistEntry.documents,
            WatchlistEntry.valid_from,
            WatchlistEntry.valid_to,
            WatchlistEntry.category,
            WatchlistEntry.reason,
            Watchlist.name,
            Watchlist.version,
        )
        .join(Watchlist, Watchlist.id == WatchlistEntry.watchlist_id)
        .where(PUBLISHED)
        .execution_options(yield_per=10_000)
    )
    for row in session.execute(stmt):
        birth = None
        if row.birth_date is not None:
            birth = BirthDate(row.birth_date.year, row.birth_date.month, row.birth_date.day)
        elif row.birth_year is not None:
            birth = BirthDate(row.birth_year, row.birth_month)
        nationalities = list(row.nationalities or ())
        yield WatchlistPerson(
            key=str(row.id),
            names=tuple(row.names),
            birth=birth,
            nationalities=frozenset(nationalities),
            documents=frozenset(row.documents or ()),
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            # What a hit reports besides names and birth date: the index answers a hit on
            # its own, so the version it was built from can serve while the next is made.
            payload=json.dumps(
                [row.name, row.version, row.category.value, row.reason, nationalities],
                ensure_ascii=False,
            ),
        )


@contextmanager
def _reading(engine: Engine, session: Session | None) -> Iterator[Session]:
    """The caller's session when given, else a short one of our own.

    The border check passes its session: a check then holds one connection, never waiting
    for a second while holding the first (under load, threads doing that exhaust the pool).
    """
    if session is not None:
        yield session
        return
    with session_factory(engine)() as own:
        yield own


def current_index(engine: Engine, session: Session | None = None) -> ScreeningIndex:
    """The index of every person list.

    When a list's version changed, the index this process has keeps answering while the new
    one is loaded or built in a background thread; a process without one (at start-up) waits
    for it.
    """
    cached = _CACHE.get(engine)
    if cached is not None and time.monotonic() - cached.checked < SIGNATURE_TTL_S:
        return cached.index
    with _reading(engine, session) as s:
        sig = _signature(s)
    if cached is not None:
        cached.checked = time.monotonic()
        if cached.signature != sig:
            _refresh_in_background(engine)
        return cached.index
    with _BUILD_LOCK:
        cached = _CACHE.get(engine)
        if cached is not None:  # made by another thread while this one waited
            return cached.index
        return _make_index(engine, session)


def _make_index(engine: Engine, session: Session | None = None) -> ScreeningIndex:
    """Load (or build and save) the index of the current list versions; cache it.

    The caller holds ``_BUILD_LOCK``.
    """
    root = _INDEX_DIRS.get(engine)
    if root is None:
        with _reading(engine, session) as s:
            sig = _signature(s)
            index = ScreeningIndex.build(_people(s))
    else:
        with index_files.build_lock(root):  # one process builds; the others then load it
            with _reading(engine, session) as s:
                sig = _signature(s)
            loaded = index_files.load(root, sig)
            if loaded is not None:
                index = loaded
            else:
                with _reading(engine, session) as s:
                    index = ScreeningIndex.build(_people(s))
                    read = _signature(s)
                if read == sig:  # else a list changed while it was read: not saved
                    saved = index_files.save(root, sig, index)
                    index_files.prune(root, keep=saved)
                    # Served from the mapped files: the pages are shared with the other
                    # processes, and the arrays just built are freed.
                    index = index_files.load(root, sig, verify=False) or index
                sig = read
    # The index lives until a list changes: keep the garbage collector from walking its
    # objects on every collection (pauses of tens of ms at a million entries). Unfreeze
    # first, so that a replaced index caught in a cycle can still be freed.
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _CACHE[engine] = _Cached(sig, index, time.monotonic())
    return index


def _refresh_in_background(engine: Engine) -> None:
    with _REFRESH_LOCK:
        if engine in _REFRESHING:
            return
        _REFRESHING.add(engine)

    def refresh() -> None:
        try:
            with _BUILD_LOCK:
                cached = _CACHE.get(engine)
                with session_factory(engine)() as s:
                    if cached is not None and cached.signature == _signature(s):
                        return  # made meanwhile (by this process's own import)
                _make_index(engine)
        except Exception:  # the old index keeps serving; the next version check tries again
            log.exception("screening index not refreshed")
        finally:
            with _REFRESH_LOCK:
                _REFRESHING.discard(engine)

    threading.Thread(target=refresh, name="screening-index", daemon=True).start()


def index_is_current(engine: Engine) -> bool:
    """Whether ``current_index`` would answer at once, from memory, without I/O."""
    cached = _CACHE.get(engine)
    return cached is not None and time.monotonic() - cached.checked < SIGNATURE_TTL_S


def lists_changed(engine: Engine) -> None:
    """This process changed the lists: bring its index up to date now (in the caller's
    thread), so that its next screening sees the change."""
    if engine not in _CACHE and engine not in _INDEX_DIRS:
        return  # nothing built yet: the first screening builds it
    with _BUILD_LOCK:
        _make_index(engine)


# -- screening -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchlistHit:
    entry_id: str
    list_name: str
    list_version: int
    category: str
    reason: str
    names: list[str]
    birth_date: str | None
    nationalities: list[str]
    score: float
    matched_name: str
    features: dict[str, Any]
    explanation: list[str]


@dataclass(frozen=True)
class DocumentHit:
    list_name: str
    issuing_state: str
    number: str
    status: str
    reported_on: date | None
    source: str


def screen(
    engine: Engine,
    names: Sequence[str] | str,
    *,
    birth_date: str | date | None = None,
    nationality: str | None = None,
    documents: Sequence[str] = (),
    today: date | None = None,
    threshold: float = THRESHOLD,
    limit: int = 20,
    actor: str | None = None,
    node: str = "LS",
    session: Session | None = None,
) -> list[WatchlistHit]:
    """Person entries matching the traveller, best first; ScreeningInputError on bad input.

    With ``actor``, the screening is written to the audit log (who screened, how many hits).
    With ``session``, everything happens in the caller's transaction (committed by the caller).
    """
    today = today or utcnow().date()
    if not 0.0 <= threshold <= 1.0:
        raise ScreeningInputError(f"threshold {threshold} is outside 0-1")
    query = make_query(
        [names] if isinstance(names, str) else list(names),
        today=today,
        birth_date=birth_date,
        nationality=nationality,
        documents=documents,
        on=today,
    )
    matches = current_index(engine, session).screen(query, threshold=threshold, limit=limit)
    hits: list[WatchlistHit] = []
    for m in matches:
        list_name, list_version, category, reason, nationalities = json.loads(m.payload)
        hits.append(
            WatchlistHit(
                entry_id=m.key,
                list_name=list_name,
                list_version=list_version,
                category=category,
                reason=reason,
                names=list(m.names),
                birth_date=str(m.birth) if m.birth else None,
                nationalities=nationalities,
                score=m.score,
                matched_name=m.matched_name,
                features=m.features,
                explanation=list(m.explanation),
            )
        )
    if not actor:
        return hits
    with (
        transaction(session_factory(engine)) if session is None else nullcontext(session)
    ) as session:
        audit.record(
            session,
            actor=actor,
            action="watchlist.screen",
            node=node,
            entity="watchlist_entry",
            detail={"hits": [h.entry_id for h in hits]},
        )
    return hits


_A, _W = DocumentAlert.__table__.c, Watchlist.__table__.c  # Core: cheaper than entities
_DOCUMENT_ALERTS = (
    select(_A.issuing_state, _A.number, _A.status, _A.reported_on, _A.source, _W.name)
    .join_from(DocumentAlert.__table__, Watchlist.__table__, _W.id == _A.watchlist_id)
    .where(
        _A.issuing_state == bindparam("state"),
        _A.number == bindparam("number"),
        _W.version > 0,  # PUBLISHED, in Core
    )
)


def check_document(
    engine: Engine, issuing_state: str, number: str, session: Session | None = None
) -> list[DocumentHit]:
    """Alerts (lost, stolen, revoked) on this document, from every document list."""
    state = country_code(issuing_state) if len(issuing_state.strip()) <= 3 else None
    if state is None:
        raise ScreeningInputError(f"issuing state {issuing_state[:20]!r} is not a country code")
    norm = normalise_document(number)
    if not norm or len(norm) > 30:
        raise ScreeningInputError(f"document number {number[:40]!r} is empty or too long")
    with _reading(engine, session) as s:
        rows = s.execute(_DOCUMENT_ALERTS, {"state": state, "number": norm})
        return [
            DocumentHit(
                list_name=a.name,
                issuing_state=a.issuing_state,
                number=a.number,
                status=a.status.value,
                reported_on=a.reported_on,
                source=a.source,
            )
            for a in rows
        ]


@dataclass(frozen=True)
class WatchlistSummary:
    name: str
    kind: str
    category: str
    source: str
    version: int
    entries: int
    imported_by: str
    imported_at: datetime


def list_watchlists(engine: Engine) -> list[WatchlistSummary]:
    with session_factory(engine)() as session:
        return [
            WatchlistSummary(
                name=w.name,
                kind=w.kind.value,
                category=w.category.value,
                source=w.source,
                version=w.version,
                entries=w.entry_count,
                imported_by=w.imported_by,
                imported_at=w.imported_at,
            )
            for w in session.scalars(select(Watchlist).where(PUBLISHED).order_by(Watchlist.name))
        ]
