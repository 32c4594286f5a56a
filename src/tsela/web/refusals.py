"""Refusing entry from the border console (issue 18): the form from a check, and the notice
for the traveller in English or Sesotho, as a page and as a PDF."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain import refusals as rules
from tsela.kernel.access import Permission
from tsela.services import refusals as svc
from tsela.store.checks import BorderCheck
from tsela.store.models import User
from tsela.web.errors import Refused, attempt
from tsela.web.render import SECURITY_HEADERS, render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)


def _form(
    request: Request,
    session: Session,
    check_id: uuid.UUID,
    *,
    error: str | None = None,
    chosen: tuple[str, ...] = (),
    remarks: str = "",
    status_code: int = 200,
    actor: str = "",
    node: str = "",
) -> Response:
    check = session.get(BorderCheck, check_id)
    if check is None:
        raise HTTPException(404, "This check is unknown.")
    traveller = attempt(
        request, session, lambda: svc._from_check(session, check), actor=actor, node=node
    )
    if isinstance(traveller, Refused):
        raise HTTPException(traveller.status, traveller.message)
    ctx = {
        "check_id": str(check_id),
        "traveller": traveller,
        "grounds": list(rules.catalogue().grounds.values()),
        "chosen": chosen,
        "remarks": remarks,
        "error": error,
    }
    return render(request, "refuse.html", ctx, status_code)


@router.get("/console/checks/{check_id}/refuse")
def refuse_form(
    check_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Border officers and supervisors: choose the grounds to refuse the checked traveller."""
    return _form(request, session, check_id, actor=user.username, node=settings.node)


@router.post("/console/checks/{check_id}/refuse")
def refuse(
    check_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    grounds: list[str] = Form(default_factory=list),
    remarks: str = Form(""),
) -> Response:
    """Border officers and supervisors: record the refusal, then show the notice."""
    refusal = attempt(
        request,
        session,
        lambda: svc.refuse(
            session,
            node=settings.node,
            officer=user,
            grounds=grounds,
            remarks=remarks,
            check_id=check_id,
            now=clock_of(request).now(),
            source=client_source(request),
        ),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(refusal, Refused):
        return _form(
            request,
            session,
            check_id,
            error=refusal.message,
            chosen=tuple(grounds),
            remarks=remarks[:2000],
            status_code=refusal.status,
            actor=user.username,
            node=settings.node,
        )
    lang = request.cookies.get("tsela_lang", "en")
    lang = lang if lang in ("en", "st") else "en"
    return RedirectResponse(f"/refusals/{refusal.id}/notice?lang={lang}", status_code=303)


@router.get("/refusals/{refusal_id}/notice")
def notice(
    refusal_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Border officers and supervisors: the refusal notice to give the traveller (``lang``
    en or st; ``format=pdf`` to print)."""
    lang = request.query_params.get("lang", "en")
    pdf = request.query_params.get("format") == "pdf"

    def said() -> bytes | dict[str, Any]:
        refusal = svc.get_refusal(session, refusal_id)
        return svc.notice_pdf(session, refusal, lang) if pdf else svc.notice(session, refusal, lang)

    done = attempt(request, session, said, actor=user.username, node=settings.node)
    if isinstance(done, Refused):
        raise HTTPException(400 if done.status == 422 else done.status, done.message)
    if isinstance(done, bytes):
        response = Response(done, media_type="application/pdf")
        response.headers.update(SECURITY_HEADERS)
        response.headers["Content-Disposition"] = (
            f'inline; filename="refusal-{refusal_id}-{lang}.pdf"'
        )
        return response
    return render(request, "refusal_notice_page.html", {"notice": done})
