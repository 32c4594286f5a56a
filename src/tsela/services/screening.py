"""Watchlist use cases: import a list (CSV or FollowTheMoney), screen a person, check a document.

An import replaces a list atomically: one transaction bumps the list's version, deletes its
old entries and inserts the new ones; bad rows are reported with their line numbers and
the good rows still load. A file that cannot be read at all, or has no good row, changes
nothing.

Screening uses an in-memory ``ScreeningIndex`` cached per database engine and rebuilt when
any person list's version changes. The versions are read with one small query at most once
every ``SIGNATURE_TTL_S`` per process (an import in this process takes effect at once; one
in another server process within that time): at a hundred checks a second, the query on
every screening was a tenth of the check's statements.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pycountry
from sqlalchemy import Engine, bindparam, delete, insert, select
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
from tsela.store.db import session_factory, transaction
from tsela.store.models import utcnow
from tsela.store.watchlists import (
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
                out.extend(str(x) for x in (v if isinstance(v, list) else [v]))
            return out

        names = values("name")
        if not names:
            given = " ".join(values("firstName", "middleName"))
            names = [f"{given} {' '.join(values('lastName'))}".strip()]
        try:
            person = _person(
                line,
                external_id=str(entity.get("id", "")),
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
            if entity.get("datasets"):
                person.extra["datasets"] = entity["datasets"]
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
) -> ImportReport:
    """Replace the list ``list_name`` with the file's rows, in one transaction."""
    list_name = list_name.strip()
    if not list_name or len(list_name) > 80:
        raise ValueError("a list name of 1 to 80 characters is needed")
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
    if not rows:
        shown = "; ".join(str(e) for e in errors[:5])
        raise ImportFileError(
            f"no valid rows in the file; list {list_name!r} left unchanged"
            + (f" ({shown})" if shown else ""),
            errors,
        )
    factory = session_factory(engine)
    with transaction(factory) as session:
        wl = session.scalars(
            select(Watchlist).where(Watchlist.name == list_name).with_for_update()
        ).one_or_none()
        replaced = 0
        if wl is None:
            wl = Watchlist(
                node=node,
                name=list_name,
                kind=kind,
                category=category,
                source=source[:200],
                version=1,
                imported_by=actor[:60],
                imported_at=now,
            )
            session.add(wl)
            session.flush()
        else:
            if wl.kind is not kind:
                raise ValueError(
                    f"list {list_name!r} holds {wl.kind.value} entries; "
                    f"cannot load {kind.value} rows into it"
                )
            replaced = wl.entry_count
            table = WatchlistEntry if kind is WatchlistKind.PERSON else DocumentAlert
            session.execute(delete(table).where(table.watchlist_id == wl.id))
            wl.version += 1
            wl.imported_by = actor[:60]
            wl.imported_at = now
            wl.category = category
            if source:
                wl.source = source[:200]
        wl.entry_count = len(rows)
        _insert_rows(session, wl, rows, node, now)
        audit.record(
            session,
            actor=actor,
            action="watchlist.import",
            node=node,
            entity="watchlist",
            entity_id=wl.id,
            detail={
                "list": list_name,
                "version": wl.version,
                "format": fmt,
                "loaded": len(rows),
                "replaced": replaced,
                "bad_rows": len(errors),
            },
        )
        version = wl.version
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


def _insert_rows(
    session: Session,
    wl: Watchlist,
    rows: Sequence[_Person] | Sequence[_Document],
    node: str,
    now: datetime,
) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        base = {"id": new_id(), "node": node, "created_at": now}
        if isinstance(row, _Person):
            b = row.birth
            batch.append(
                base
                | {
                    "watchlist_id": wl.id,
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
                    "watchlist_id": wl.id,
                    "issuing_state": row.issuing_state,
                    "number": row.number,
                    "status": row.status,
                    "reported_on": row.reported_on,
                    "source": wl.source,
                    "line": row.line,
                }
            )
        if len(batch) >= 5_000:
            _flush(session, wl.kind, batch)
            batch = []
    if batch:
        _flush(session, wl.kind, batch)


def _flush(session: Session, kind: WatchlistKind, batch: list[dict[str, Any]]) -> None:
    table = WatchlistEntry if kind is WatchlistKind.PERSON else DocumentAlert
    session.execute(insert(table), batch)
    if kind is WatchlistKind.DOCUMENT:
        exchange_outbox.document_alerts(session, batch)  # offered to the partner (issue 16)


# -- the in-memory index -------------------------------------------------------------------


SIGNATURE_TTL_S = 1.0


@dataclass
class _Cached:
    signature: tuple[tuple[str, int], ...]
    index: ScreeningIndex
    checked: float = 0.0  # time.monotonic() of the last version check


_CACHE: weakref.WeakKeyDictionary[Engine, _Cached] = weakref.WeakKeyDictionary()
_BUILD_LOCK = threading.Lock()


_SIGNATURE = (
    select(Watchlist.id, Watchlist.version)
    .where(Watchlist.kind == WatchlistKind.PERSON)
    .order_by(Watchlist.id)
)


def _signature(session: Session) -> tuple[tuple[str, int], ...]:
    rows = session.execute(_SIGNATURE)
    return tuple((str(i), int(v)) for i, v in rows)


def _people(session: Session) -> Iterator[WatchlistPerson]:
    stmt = select(
        WatchlistEntry.id,
        WatchlistEntry.names,
        WatchlistEntry.birth_date,
        WatchlistEntry.birth_year,
        WatchlistEntry.birth_month,
        WatchlistEntry.nationalities,
        WatchlistEntry.documents,
        WatchlistEntry.valid_from,
        WatchlistEntry.valid_to,
    ).execution_options(yield_per=10_000)
    for row in session.execute(stmt):
        birth = None
        if row.birth_date is not None:
            birth = BirthDate(row.birth_date.year, row.birth_date.month, row.birth_date.day)
        elif row.birth_year is not None:
            birth = BirthDate(row.birth_year, row.birth_month)
        yield WatchlistPerson(
            key=str(row.id),
            names=tuple(row.names),
            birth=birth,
            nationalities=frozenset(row.nationalities or ()),
            documents=frozenset(row.documents or ()),
            valid_from=row.valid_from,
            valid_to=row.valid_to,
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
    """The index of every person list, rebuilt when a list's version changed."""
    cached = _CACHE.get(engine)
    if cached is not None and time.monotonic() - cached.checked < SIGNATURE_TTL_S:
        return cached.index
    with _reading(engine, session) as s:
        sig = _signature(s)
    if cached is not None and cached.signature == sig:
        cached.checked = time.monotonic()
        return cached.index
    with _BUILD_LOCK:
        cached = _CACHE.get(engine)
        if cached is not None and cached.signature == sig:
            return cached.index
        with _reading(engine, session) as s:
            sig = _signature(s)  # read again: a list may have changed meanwhile
            index = ScreeningIndex.build(_people(s))
        # The index lives until a list changes: keep the garbage collector from walking
        # its objects on every collection (pauses of tens of ms at a million entries).
        # Unfreeze first, so that a replaced index caught in a cycle can still be freed.
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        _CACHE[engine] = _Cached(sig, index, time.monotonic())
        return index


def index_is_current(engine: Engine) -> bool:
    """Whether ``current_index`` would answer at once, from memory, without I/O."""
    cached = _CACHE.get(engine)
    return cached is not None and time.monotonic() - cached.checked < SIGNATURE_TTL_S


def lists_changed(engine: Engine) -> None:
    """Make this process read the list versions on its next screening."""
    cached = _CACHE.get(engine)
    if cached is not None:
        cached.checked = 0.0


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
    with (
        transaction(session_factory(engine)) if session is None else nullcontext(session)
    ) as session:
        if matches:
            ids = [uuid.UUID(m.key) for m in matches]
            rows = {
                str(e.id): (e, wl)
                for e, wl in session.execute(
                    select(WatchlistEntry, Watchlist)
                    .join(Watchlist, Watchlist.id == WatchlistEntry.watchlist_id)
                    .where(WatchlistEntry.id.in_(ids))
                )
            }
            for m in matches:
                if m.key not in rows:
                    continue  # replaced since the index was read; the next call rebuilds
                e, wl = rows[m.key]
                birth = (
                    e.birth_date.isoformat()
                    if e.birth_date
                    else (str(BirthDate(e.birth_year, e.birth_month)) if e.birth_year else None)
                )
                hits.append(
                    WatchlistHit(
                        entry_id=m.key,
                        list_name=wl.name,
                        list_version=wl.version,
                        category=e.category.value,
                        reason=e.reason,
                        names=list(e.names),
                        birth_date=birth,
                        nationalities=list(e.nationalities),
                        score=m.score,
                        matched_name=m.matched_name,
                        features=m.features,
                        explanation=list(m.explanation),
                    )
                )
        if actor:
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
    .where(_A.issuing_state == bindparam("state"), _A.number == bindparam("number"))
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
            for w in session.scalars(select(Watchlist).order_by(Watchlist.name))
        ]
