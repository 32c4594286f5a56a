"""Screening a person against the lists, checking a document against the alerts, listing
the lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from tsela.domain.screening import THRESHOLD, ScreeningInputError, make_query, normalise_document
from tsela.kernel import clock
from tsela.services import audit
from tsela.services.screening.files import country_code
from tsela.services.screening.index_cache import current_index, reading
from tsela.store.db import session_engine, session_factory, transaction
from tsela.store.watchlists import PUBLISHED, DocumentAlert, Watchlist


def _engine_and_session(db: Session | Engine) -> tuple[Engine, Session | None]:
    """The engine (the index is cached per engine) and the caller's session, if it gave one."""
    if isinstance(db, Session):
        return session_engine(db), db
    return db, None


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
    db: Session | Engine,
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
) -> list[WatchlistHit]:
    """Person entries matching the traveller, best first; ScreeningInputError on bad input.

    ``db``: the caller's session, as every service takes: everything happens in the caller's
    transaction (committed by the caller). An engine (a script, a test) works in short
    sessions of its own. With ``actor``, the screening is written to the audit log (who
    screened, how many hits).
    """
    engine, session = _engine_and_session(db)
    today = today or clock.border_day(clock.now())
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
    ) as writing:
        audit.record(
            writing,
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


def check_document(db: Session | Engine, issuing_state: str, number: str) -> list[DocumentHit]:
    """Alerts (lost, stolen, revoked) on this document, from every document list.

    ``db``: the caller's session (an engine: a short session of its own)."""
    engine, session = _engine_and_session(db)
    state = country_code(issuing_state) if len(issuing_state.strip()) <= 3 else None
    if state is None:
        raise ScreeningInputError(f"issuing state {issuing_state[:20]!r} is not a country code")
    norm = normalise_document(number)
    if not norm or len(norm) > 30:
        raise ScreeningInputError(f"document number {number[:40]!r} is empty or too long")
    with reading(engine, session) as s:
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


def list_watchlists(db: Session | Engine) -> list[WatchlistSummary]:
    """The published lists, by name. ``db``: the caller's session (an engine: a short
    session of its own)."""
    engine, session = _engine_and_session(db)
    with reading(engine, session) as s:
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
            for w in s.scalars(select(Watchlist).where(PUBLISHED).order_by(Watchlist.name))
        ]
