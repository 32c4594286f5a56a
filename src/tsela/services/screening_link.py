"""How the border check uses the watchlist screening service (tsela.services.screening)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from tsela.domain.decisions import STRONG_MATCH, WatchlistFinding
from tsela.domain.icao_codes import iso_country
from tsela.domain.screening import ScreeningInputError
from tsela.kernel.errors import Invalid
from tsela.services import screening
from tsela.services.checks import ScreenInput
from tsela.store.db import session_engine


def screener(session: Session, who: ScreenInput, day: date) -> Sequence[WatchlistFinding]:
    names = " ".join(p for p in (who.given_names, who.surname) if p)
    try:
        hits = screening.screen(
            session_engine(session),
            names,
            birth_date=who.birth_date,
            # Watchlists know ISO countries: a stateless person, a refugee or a UN official
            # (XXA, XXB, UNO...) is screened on names, birth date and document alone.
            nationality=iso_country(who.nationality) if who.nationality else None,
            documents=[who.document_number] if who.document_number else (),
            today=day,
            session=session,  # one connection per check
        )
    except ScreeningInputError as exc:
        raise Invalid(
            "check.cannot_screen", "the traveller cannot be screened: %(why)s", why=str(exc)
        ) from None
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
    state = iso_country(issuing_state)
    if state is None:
        # Document lists hold ISO countries only (their import refuses other codes), so no
        # list can name a UN laissez-passer, a refugee's travel document (XXB) and the like.
        return None
    try:
        hits = screening.check_document(session_engine(session), state, number, session=session)
    except ScreeningInputError as exc:
        raise Invalid(
            "check.cannot_look_up_document",
            "the document cannot be looked up: %(why)s",
            why=str(exc),
        ) from None
    if not hits:
        return None
    first = hits[0]
    return first.status, f"{first.list_name}: {first.source}" if first.source else first.list_name
