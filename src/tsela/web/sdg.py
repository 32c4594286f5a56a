"""The SDG 10.7.2 self-assessment page (issue 22, item 5): the NCC secretariat answers the six
domains' questions for a year with links to the evidence; every observatory reader sees the
answers and a bar per domain with its score and category."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain import sdg1072 as dom
from tsela.kernel.access import Permission, allows
from tsela.kernel.actor import Actor
from tsela.kernel.errors import NotFound
from tsela.services import sdg as svc
from tsela.store.models import User
from tsela.web.errors import Refused, attempt
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)

PATH = "/observatory/sdg-10-7-2"


def _year(text: str, default: int) -> int | None:
    text = text.strip()
    if not text:
        return default
    return int(text) if text.isdigit() and len(text) == 4 else None


def _page(
    request: Request,
    user: User,
    assessment: svc.Assessment,
    years: list[svc.Assessment],
    *,
    error: str | None = None,
    problems: list[dom.Problem] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "method": dom.method(),
        "assessment": assessment,
        "years": years,
        "editable": allows(user.role, Permission.SDG_ASSESSMENT_EDIT),
        "error": error,
        "problems": {p.field: p.words() for p in problems or []},
        "saved": saved,
    }
    return render(request, "observatory/sdg.html", context, status_code)


@router.get(PATH)
def sdg_page(
    request: Request,
    user: User = Depends(page_for(Permission.OBSERVATORY_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The secretariat fills the year's assessment; analysts read it and its scores."""
    this_year = clock_of(request).today().year
    years = svc.assessed_years(session, settings.node)
    year = _year(request.query_params.get("year", ""), this_year)
    if year is None:
        blank = svc.blank(settings.node, this_year)
        return _page(request, user, blank, years, error="year", status_code=422)
    try:
        found = svc.get(session, settings.node, year)
    except NotFound:
        found = svc.blank(settings.node, year)
    return _page(request, user, found, years, saved=request.query_params.get("saved") == "1")


@router.post(PATH)
async def save_sdg(
    request: Request,
    user: User = Depends(page_for(Permission.SDG_ASSESSMENT_EDIT)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The secretariat: keep the year's answers (each "answer-<code>" and "evidence-<code>",
    one link a line), then show the scores."""
    form = await request.form()
    this_year = clock_of(request).today().year
    year = _year(str(form.get("year", "")), this_year)
    answers: dict[str, dom.Answer] = {}
    for key in form:
        if not key.startswith("answer-"):
            continue
        code = key.removeprefix("answer-")
        given = str(form.get(key, "")).strip()
        links = str(form.get(f"evidence-{code}", "")).split()
        if given:
            answers[code] = dom.Answer(given, tuple(links))
    actor = Actor.of(user, settings.node, client_source(request))
    shown_year = year if year is not None else this_year
    if year is None:
        return _page(
            request,
            user,
            svc.Assessment(
                svc.country_of(settings.node), this_year, answers, dom.score({}), None, ""
            ),
            svc.assessed_years(session, settings.node),
            error="year",
            status_code=422,
        )
    now = clock_of(request).now()
    done = attempt(
        request,
        session,
        lambda: svc.save(session, actor, shown_year, answers, now),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(done, Refused):
        found = done.error.problems if isinstance(done.error, svc.AssessmentInvalid) else []
        typed = svc.Assessment(
            svc.country_of(settings.node), shown_year, answers, dom.score({}), None, ""
        )
        return _page(
            request,
            user,
            typed,
            svc.assessed_years(session, settings.node),
            error=done.message,
            problems=found,
            status_code=done.status,
        )
    return RedirectResponse(f"{PATH}?year={shown_year}&saved=1", status_code=303)
