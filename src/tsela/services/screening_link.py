"""How the border check uses the watchlist screening service (tsela.services.screening)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from tsela.domain.decisions import STRONG_MATCH, WatchlistFinding
from tsela.services import screening
from tsela.services.checks import ScreenInput
from tsela.store.db import session_engine


def screener(session: Session, who: ScreenInput, day: date) -> Sequence[WatchlistFinding]:
    names = " ".join(p for p in (who.given_names, who.surname) if p)
    hits = screening.screen(
        session_engine(session),
        names,
        birth_date=who.birth_date,
        nationality=who.nationality or None,
        documents=[who.document_number] if who.document_number else (),
        today=day,
        session=session,  # one connection per check
    )
    return [
        WatchlistFinding(
            list_name=h.list_name,
            category=h.category,
            score=h.score,
            strong=h.score >= STRONG_MATCH,
            entry_name=h.matched_name or (h.names[0] if h.names else "?"),
            why="; ".join(h.explanation[:3]),
        )
        for h in hits
    ]


def document_alerts(session: Session, issuing_state: str, number: str) -> tuple[str, str] | None:
    """(status, list name) of the first alert on this document, if any."""
    hits = screening.check_document(session_engine(session), issuing_state, number, session=session)
    if not hits:
        return None
    first = hits[0]
    return first.status, f"{first.list_name}: {first.source}" if first.source else first.list_name
