"""The SDG 10.7.2 self-assessment over HTTP (issue 22, item 5): ``/v1/sdg-10-7-2``.

Roles: the NCC secretariat answers (PUT); the observatory's readers (analysts, supervisors,
administrators, the secretariat) read the answers and the scores. Refusals come from the
service (``tsela.services.sdg``) and are answered once by ``tsela.api.errors``: 422 names
every refused part and keeps nothing, 404 for a year not assessed.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tsela.api.auth import acting, require
from tsela.api.deps import get_clock, get_session, get_settings
from tsela.api.errors import error_responses
from tsela.config import Settings
from tsela.domain import sdg1072 as dom
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.clock import Clock
from tsela.services import sdg as svc
from tsela.store.models import User

router = APIRouter(prefix="/v1/sdg-10-7-2", tags=["observatory"])


class QuestionOut(BaseModel):
    code: str = Field(examples=["1a"])
    text: str
    answers: list[str] = Field(description="The answers this question allows")


class CategoryOut(BaseModel):
    code: int = Field(description="The SG_CPA_MIGRS series' code, 1 to 4")
    key: str
    lower_bound: float = Field(description="Per cent, included")
    en: str
    st: str


class DomainOut(BaseModel):
    number: int
    key: str
    en: str
    st: str
    questions: list[QuestionOut]


class QuestionnaireOut(BaseModel):
    status: str = Field(description="What remains to check against the official questionnaire")
    first_year: int
    values: dict[str, float] = Field(description="What each answer is worth in a sub-category")
    categories: list[CategoryOut]
    domains: list[DomainOut]


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(max_length=16, examples=["yes"], description="yes, partially or no")
    evidence: list[str] = Field(
        default_factory=list,
        max_length=dom.MAX_EVIDENCE * 5,
        description=f"Links (http or https) to the evidence, at most {dom.MAX_EVIDENCE}",
    )


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, AnswerIn] = Field(
        description="By question code (1a to 6e); questions left out are unanswered",
        examples=[{"1a": {"answer": "partially", "evidence": ["https://example.org/act"]}}],
    )


class AnswerOut(BaseModel):
    answer: str
    evidence: list[str]


class DomainScoreOut(BaseModel):
    number: int
    key: str
    answered: int
    questions: int
    score: float | None = Field(description="Per cent; null until every question is answered")
    category: int | None
    category_key: str | None


class AssessmentOut(BaseModel):
    country: str
    year: int
    answers: dict[str, AnswerOut]
    domains: list[DomainScoreOut]
    score: float | None = Field(description="The mean of the six domains; null until all are")
    category: int | None
    category_key: str | None
    updated_at: datetime | None
    updated_by: str


def _out(a: svc.Assessment) -> AssessmentOut:
    s = a.scores
    return AssessmentOut(
        country=a.country,
        year=a.year,
        answers={
            k: AnswerOut(answer=v.answer, evidence=list(v.evidence)) for k, v in a.answers.items()
        },
        domains=[
            DomainScoreOut(
                number=d.domain.number,
                key=d.domain.key,
                answered=d.answered,
                questions=len(d.domain.questions),
                score=d.score,
                category=d.category.code if d.category else None,
                category_key=d.category.key if d.category else None,
            )
            for d in s.domains
        ],
        score=s.score,
        category=s.category.code if s.category else None,
        category_key=s.category.key if s.category else None,
        updated_at=a.updated_at,
        updated_by=a.updated_by,
    )


@router.get("/questionnaire", response_model=QuestionnaireOut)
def questionnaire(_user: User = Depends(require(Permission.OBSERVATORY_READ))) -> QuestionnaireOut:
    """The six domains' questions, the answers each allows, and the scoring's numbers."""
    how = dom.method()
    return QuestionnaireOut(
        status="to be checked against the official questionnaire (Module II) and the metadata",
        first_year=how.first_year,
        values=dict(how.values),
        categories=[
            CategoryOut(
                code=c.code, key=c.key, lower_bound=c.lower, en=c.words["en"], st=c.words["st"]
            )
            for c in how.categories
        ],
        domains=[
            DomainOut(
                number=d.number,
                key=d.key,
                en=d.words["en"],
                st=d.words["st"],
                questions=[
                    QuestionOut(code=q.code, text=q.text, answers=list(q.allowed))
                    for q in d.questions
                ],
            )
            for d in how.domains
        ],
    )


@router.get("", response_model=list[AssessmentOut])
def assessments(
    session: Session = Depends(get_session),
    _user: User = Depends(require(Permission.OBSERVATORY_READ)),
    settings: Settings = Depends(get_settings),
) -> list[AssessmentOut]:
    """Every year this country has assessed, newest first, with its scores."""
    return [_out(a) for a in svc.assessed_years(session, settings.node)]


YEAR = Path(description="The year assessed", examples=[2026])


@router.get("/{year:int}", response_model=AssessmentOut, responses=error_responses(404))
def assessment(
    year: int = YEAR,
    session: Session = Depends(get_session),
    _user: User = Depends(require(Permission.OBSERVATORY_READ)),
    settings: Settings = Depends(get_settings),
) -> AssessmentOut:
    """A year's answers with their evidence, each domain's score and the summary."""
    return _out(svc.get(session, settings.node, year))


@router.put("/{year:int}", response_model=AssessmentOut, responses=error_responses(404))
def save_assessment(
    body: AssessmentIn,
    year: int = YEAR,
    session: Session = Depends(get_session),
    actor: Actor = Depends(acting(Permission.SDG_ASSESSMENT_EDIT)),
    clock: Clock = Depends(get_clock),
) -> AssessmentOut:
    """The NCC secretariat: the year's answers, replacing any kept before (audited). 422
    names every refused part (a year before 2015 or after this one, an unknown question, an
    answer the question does not allow, a bad link) and keeps nothing."""
    answers = {k: dom.Answer(v.answer, tuple(v.evidence)) for k, v in body.answers.items()}
    done = svc.save(session, actor, year, answers, clock.now())
    session.commit()
    return _out(done)
