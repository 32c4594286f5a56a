"""How the border check uses the watchlist screening service (tsela.services.screening).

``BorderScreening`` is the one wiring of the two: ``create_app`` builds it once (kept as
``app.state.screening``, used by ``POST /v1/checks``, the web console and offline uploads)
and the port client builds it the same way for its local copy. Both of its questions run
in the check's session, so a check holds one connection and one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from tsela.domain.decisions import STRONG_MATCH, WatchlistFinding
from tsela.domain.icao_codes import iso_country
from tsela.domain.screening import THRESHOLD, ScreeningInputError
from tsela.kernel.errors import Invalid
from tsela.services import screening
from tsela.services.checks import ScreenInput


@dataclass(frozen=True)
class BorderScreening:
    """The border check's screening (``tsela.services.checks.Screening``): the traveller
    against the person lists, the document against the document lists."""

    threshold: float = THRESHOLD  # the lowest score reported as a hit
    limit: int = 20  # hits reported at most

    def person(self, session: Session, who: ScreenInput, day: date) -> Sequence[WatchlistFinding]:
        names = " ".join(p for p in (who.given_names, who.surname) if p)
        try:
            hits = screening.screen(
                session,
                names,
                birth_date=who.birth_date,
                # Watchlists know ISO countries: a stateless person, a refugee or a UN
                # official (XXA, XXB, UNO...) is screened on names, birth date and document.
                nationality=iso_country(who.nationality) if who.nationality else None,
                documents=[who.document_number] if who.document_number else (),
                today=day,
                threshold=self.threshold,
                limit=self.limit,
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

    def document(self, session: Session, issuing_state: str, number: str) -> tuple[str, str] | None:
        """(status, list name) of the first alert on this document, if any."""
        state = iso_country(issuing_state)
        if state is None:
            # Document lists hold ISO countries only (their import refuses other codes), so
            # no list can name a UN laissez-passer, a refugee's travel document (XXB) and
            # the like.
            return None
        try:
            hits = screening.check_document(session, state, number)
        except ScreeningInputError as exc:
            raise Invalid(
                "check.cannot_look_up_document",
                "the document cannot be looked up: %(why)s",
                why=str(exc),
            ) from None
        if not hits:
            return None
        first = hits[0]
        return first.status, (
            f"{first.list_name}: {first.source}" if first.source else first.list_name
        )
