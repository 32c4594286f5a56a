"""Refusing entry from the border console (issue 18): the form from a check, and the notice
for the traveller in English or Sesotho, as a page and as a PDF."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain import refusals as rules
from tsela.kernel.access import Permission, allows
from tsela.services import refusals as svc
from tsela.store.checks import BorderCheck
from tsela.store.models import User
from tsela.store.refusals import EntryBan, Refusal
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.nav import add_nav
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
    may_ban = allows(user.role, Permission.ENTRY_BAN_DECIDE)
    return render(request, "refusal_notice_page.html", {"notice": done, "may_ban": may_ban})


# --------------------------------------------------------------------------- entry bans
# Officers and supervisors read the bans on record (their own node's and the partner's);
# a supervisor imposes one from a refusal, and lifts or shortens one with a reason. Every
# change is a POST that redirects (PRG); a refusal of the change re-shows the form with why.

add_nav("/bans", N_("Entry bans"), Permission.REFUSAL_RECORD)
BANS_PER_PAGE = 25


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1") or "1"))
    except ValueError:
        return 1


def _bans_url(query: str, page: int) -> str:
    params = {k: v for k, v in (("q", query), ("page", str(page) if page > 1 else "")) if v}
    return "/bans" + ("?" + urlencode(params) if params else "")


@router.get("/bans")
def bans(
    request: Request,
    user: User = Depends(page_for(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Officers and supervisors: the entry bans on record, newest first, with a search by
    surname or document number."""
    query = request.query_params.get("q", "")[:120]
    page = _page_number(request)
    rows, total = svc.list_bans(
        session, offset=(page - 1) * BANS_PER_PAGE, limit=BANS_PER_PAGE, query=query
    )
    pages = max(1, -(-total // BANS_PER_PAGE))
    today = clock_of(request).today()
    return render(
        request,
        "bans.html",
        {
            "bans": [(b, rules_state(b, today)) for b in rows],
            "node": settings.node,
            "total": total,
            "query": query,
            "page": page,
            "pages": pages,
            "prev_url": _bans_url(query, page - 1) if page > 1 else None,
            "next_url": _bans_url(query, page + 1) if page < pages else None,
        },
    )


def rules_state(ban: EntryBan, today: date) -> str:
    """in_force, lifted, ended or future: what the ban means at the border today."""
    if ban.lifted_on is not None and ban.lifted_on <= today:
        return "lifted"
    if ban.ends_on < today:
        return "ended"
    if ban.starts_on > today:
        return "future"
    return "in_force"


def _ban_page(
    request: Request,
    session: Session,
    user: User,
    ban_id: uuid.UUID,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    node: str = "",
) -> Response:
    ban = session.get(EntryBan, ban_id)
    if ban is None:
        return render(request, "error.html", {"error": "missing"}, 404)
    out = svc.ban_out(session, ban)
    today = clock_of(request).today()
    return render(
        request,
        "ban.html",
        {
            "ban": ban,
            "changes": out["changes"],
            "state": rules_state(ban, today),
            "may_change": allows(user.role, Permission.ENTRY_BAN_DECIDE) and ban.node == node,
            "error": error,
            "form": form or {},
            "done": request.query_params.get("done", ""),
        },
        status_code,
    )


@router.get("/bans/{ban_id}")
def ban_page(
    ban_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """One ban: whom, where, why, until when, its history; a supervisor of the issuing node
    lifts or shortens it here."""
    return _ban_page(request, session, user, ban_id, node=settings.node)


@router.post("/bans/{ban_id}/change")
def change_ban(
    ban_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.ENTRY_BAN_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    action: str = Form(""),
    reason: str = Form(""),
    new_end: str = Form(""),
    appeal_reference: str = Form(""),
    confirm: str = Form(""),
) -> Response:
    """Supervisors: lift a ban or shorten it, with the reason (and the appeal, if any)."""
    form = {
        "action": action,
        "reason": reason[:2000],
        "new_end": new_end[:10],
        "appeal_reference": appeal_reference[:80],
    }

    def again(message: str, status: int) -> Response:
        return _ban_page(
            request, session, user, ban_id, error=message, form=form, status_code=status,
            node=settings.node,
        )  # fmt: skip

    if confirm != "yes":
        return again(N_("Tick the box to confirm the change."), 422)
    end: date | None = None
    if action == "shorten":
        try:
            end = date.fromisoformat(new_end.strip())
        except ValueError:
            return again(N_("Give the new end date as YYYY-MM-DD."), 422)
    done = attempt(
        request,
        session,
        lambda: svc.change_ban(
            session,
            node=settings.node,
            supervisor=user,
            ban_id=ban_id,
            action=action,
            reason=reason,
            new_end=end,
            appeal_reference=appeal_reference.strip() or None,
            now=clock_of(request).now(),
            source=client_source(request),
        ),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(done, Refused):
        return again(done.message, done.status)
    return RedirectResponse(f"/bans/{ban_id}?done={action}", status_code=303)


def _impose_form(
    request: Request,
    session: Session,
    refusal_id: uuid.UUID,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    refusal = session.get(Refusal, refusal_id)
    if refusal is None:
        return render(request, "error.html", {"error": "missing"}, 404)
    grounds = rules.catalogue().grounds
    day = clock_of(request).today().isoformat()
    return render(
        request,
        "ban_impose.html",
        {
            "refusal": refusal,
            # Only a ground that may lead to a ban is offered (the others are refused).
            "grounds": [
                grounds[g] for g in refusal.grounds if g in grounds and grounds[g].bannable
            ],
            "form": {"starts_on": day, **(form or {})},
            "error": error,
        },
        status_code,
    )


@router.get("/refusals/{refusal_id}/ban")
def impose_form(
    refusal_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.ENTRY_BAN_DECIDE)),
    session: Session = Depends(get_session),
) -> Response:
    """Supervisors: impose an entry ban on a refused traveller."""
    return _impose_form(request, session, refusal_id)


@router.post("/refusals/{refusal_id}/ban")
def impose(
    refusal_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.ENTRY_BAN_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    starts_on: str = Form(""),
    ends_on: str = Form(""),
    ground: str = Form(""),
    legal_basis: str = Form(""),
) -> Response:
    """Supervisors: the ban, from the refusal; then its page."""
    form = {
        "starts_on": starts_on[:10],
        "ends_on": ends_on[:10],
        "ground": ground[:2],
        "legal_basis": legal_basis[:2000],
    }
    try:
        start, end = date.fromisoformat(starts_on.strip()), date.fromisoformat(ends_on.strip())
    except ValueError:
        return _impose_form(
            request, session, refusal_id, form=form, status_code=422,
            error=N_("Give the start and end dates as YYYY-MM-DD."),
        )  # fmt: skip
    made = attempt(
        request,
        session,
        lambda: svc.create_ban(
            session,
            node=settings.node,
            user=user,
            starts_on=start,
            ends_on=end,
            refusal_id=refusal_id,
            ground=ground or None,
            legal_basis=legal_basis.strip() or None,
            now=clock_of(request).now(),
            source=client_source(request),
        ),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(made, Refused):
        return _impose_form(
            request, session, refusal_id, form=form, status_code=made.status, error=made.message
        )
    return RedirectResponse(f"/bans/{made.id}?done=created", status_code=303)
