"""The SDG 10.7.2 self-assessment (issue 22, item 5): the NCC secretariat answers the six
domains' questions for a year, with links to the evidence; analysts read the answers and the
scores (``domain.sdg1072``). One assessment per country (this node's) and year: saving a year
again replaces its answers, and the audit log keeps who changed what.

Refusals (``kernel.errors``): ``AssessmentInvalid`` (422) names every refused part (a year out
of range, an unknown question, an answer the question does not allow, a bad evidence link)
and nothing is kept; ``NotFound`` (404) for a year not assessed yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain import sdg1072 as dom
from tsela.domain.decisions import PARTNER_NODES
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.clock import border_day
from tsela.kernel.errors import Forbidden, Invalid, NotFound
from tsela.services import audit
from tsela.store.sdg import SdgAssessment

__all__ = ["Assessment", "AssessmentInvalid", "assessed_years", "get", "save"]

SAVED = "sdg1072.save"


class AssessmentInvalid(Invalid):
    """The assessment cannot be kept; ``problems`` names each refused part."""

    def __init__(self, problems: list[dom.Problem]) -> None:
        super().__init__(
            "sdg.invalid",
            "the assessment cannot be kept: %(problems)s",
            problems="; ".join(p.words() for p in problems),
        )
        self.problems = problems


@dataclass(frozen=True)
class Assessment:
    country: str
    year: int
    answers: dict[str, dom.Answer]
    scores: dom.Scores
    updated_at: datetime | None
    updated_by: str


def country_of(node: str) -> str:
    return PARTNER_NODES.get(node, node)


def _answers(stored: Mapping[str, object]) -> dict[str, dom.Answer]:
    out: dict[str, dom.Answer] = {}
    for code, value in stored.items():
        assert isinstance(value, dict)
        out[code] = dom.Answer(str(value["answer"]), tuple(value.get("evidence", ())))
    return out


def _of(row: SdgAssessment) -> Assessment:
    answers = _answers(row.answers)
    return Assessment(
        row.country, row.year, answers, dom.score(answers), row.updated_at, row.updated_by
    )


def _row(session: Session, country: str, year: int) -> SdgAssessment | None:
    return session.scalar(
        select(SdgAssessment).where(SdgAssessment.country == country, SdgAssessment.year == year)
    )


def get(session: Session, node: str, year: int) -> Assessment:
    """This node's country's assessment of ``year``; ``NotFound`` when there is none."""
    row = _row(session, country_of(node), year)
    if row is None:
        raise NotFound("sdg.not_assessed", "%(year)s has not been assessed yet", year=year)
    return _of(row)


def blank(node: str, year: int) -> Assessment:
    """An assessment with nothing answered yet (the form's starting point)."""
    return Assessment(country_of(node), year, {}, dom.score({}), None, "")


def assessed_years(session: Session, node: str) -> list[Assessment]:
    """Every year this node's country has assessed, newest first."""
    rows = session.scalars(
        select(SdgAssessment)
        .where(SdgAssessment.country == country_of(node))
        .order_by(SdgAssessment.year.desc())
    )
    return [_of(r) for r in rows]


def save(
    session: Session,
    actor: Actor,
    year: int,
    answers: Mapping[str, dom.Answer],
    now: datetime,
) -> Assessment:
    """Keep ``answers`` as the assessment of ``year`` (replacing any earlier answers of that
    year), audited. Refused wholly (``AssessmentInvalid``) when any part is refused."""
    if not actor.may(Permission.SDG_ASSESSMENT_EDIT):
        raise Forbidden("sdg.forbidden", "only the NCC secretariat edits the assessment")
    found = dom.problems(year, answers, border_day(now).year)
    if found:
        raise AssessmentInvalid(found)
    stored = {
        code: {"answer": a.answer, "evidence": list(a.evidence)}
        for code, a in sorted(answers.items())
    }
    country = country_of(actor.node)
    row = _row(session, country, year)
    before = dict(row.answers) if row is not None else {}
    if row is None:
        row = SdgAssessment(
            node=actor.node,
            country=country,
            year=year,
            answers=stored,
            updated_at=now,
            updated_by=actor.username,
        )
        session.add(row)
    else:
        row.answers = stored
        row.updated_at = now
        row.updated_by = actor.username
    session.flush()
    changed = sorted(
        code for code in set(before) | set(stored) if before.get(code) != stored.get(code)
    )
    result = _of(row)
    audit.record(
        session,
        actor=actor.username,
        action=SAVED,
        node=actor.node,
        entity="sdg_assessment",
        entity_id=row.id,
        detail={
            "year": year,
            "changed": changed,
            "score": result.scores.score,
        },
        source=actor.source,
        at=now,
    )
    return result
