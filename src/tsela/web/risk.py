"""Risk rules on the pages (issue 18, item 5): the rules and their modes, switched by a
supervisor (/risk-rules); a hit confirmed or dismissed on the check's result page; each
rule's hits and confirmations in the observatory (/observatory/risk-rules)."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.api.routes.risk import period
from tsela.config import Settings
from tsela.kernel.access import Permission, allows
from tsela.kernel.actor import Actor
from tsela.kernel.errors import Invalid
from tsela.services import risk as svc
from tsela.store.models import User
from tsela.web.console import stored_check
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)

add_nav("/risk-rules", N_("Risk rules"), Permission.RISK_RULES_READ)

OBSERVATORY_PATH = "/observatory/risk-rules"


def _rules_page(
    request: Request,
    session: Session,
    user: User,
    *,
    error: Refused | None = None,
    failed: str = "",
    typed: str = "",
    saved: str = "",
    status_code: int = 200,
) -> Response:
    ctx = {
        "states": svc.list_rules(session),
        "can_manage": allows(user.role, Permission.RISK_RULES_MANAGE),
        "can_observe": allows(user.role, Permission.OBSERVATORY_READ),
        "error": error,
        "failed": failed,
        "typed": typed,
        "saved": saved,
        "modes": ("on", "inform", "off"),
    }
    return render(request, "risk_rules.html", ctx, status_code)


@router.get("/risk-rules")
def rules_page(
    request: Request,
    user: User = Depends(page_for(Permission.RISK_RULES_READ)),
    session: Session = Depends(get_session),
) -> Response:
    """Officers, supervisors, analysts and administrators: every risk rule, what it looks
    for, its parameters and source, and its mode here; supervisors switch them."""
    saved = request.query_params.get("saved", "")[:40]
    return _rules_page(request, session, user, saved=saved)


@router.post("/risk-rules/{rule_id}")
def switch_rule(
    rule_id: str,
    request: Request,
    user: User = Depends(page_for(Permission.RISK_RULES_MANAGE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    mode: str = Form(""),
    reason: str = Form(""),
) -> Response:
    """Supervisors: switch a rule on, off or to inform only, saying why (audited)."""
    done = attempt(
        request,
        session,
        lambda: svc.set_mode(
            session,
            node=settings.node,
            actor=Actor.of(user, settings.node, client_source(request)),
            rule_id=rule_id[:40],
            mode=mode[:20],
            reason=reason,
            now=clock_of(request).now(),
        ),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(done, Refused):
        return _rules_page(
            request, session, user, error=done, failed=rule_id[:40], typed=reason[:2000],
            status_code=done.status,
        )  # fmt: skip
    return RedirectResponse(f"/risk-rules?saved={done.rule.id}", status_code=303)


@router.post("/console/checks/{check_id}/risk-hits/{hit_id}")
def decide_hit(
    check_id: uuid.UUID,
    hit_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    outcome: str = Form(""),
    note: str = Form(""),
) -> Response:
    """Border officers and supervisors: confirm a risk rule's hit (the concern was real) or
    dismiss it, from the check's result page; back to the page."""
    done = attempt(
        request,
        session,
        lambda: svc.decide_hit(
            session,
            node=settings.node,
            actor=Actor.of(user, settings.node, client_source(request)),
            hit_id=hit_id,
            check_id=check_id,
            outcome=outcome[:20],
            note=note,
            now=clock_of(request).now(),
        ),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(done, Refused):
        from tsela.web.console import _console

        shown = stored_check(request, session, user, settings, check_id)
        if isinstance(shown, Refused):
            return _console(request, session, user, error=done.message, status_code=done.status)
        return _console(
            request, session, user, result=shown.result, shown=shown, error=done.message,
            direction=shown.result.check.direction.value, port_code=shown.port_code,
            status_code=done.status,
        )  # fmt: skip
    return RedirectResponse(f"/console/checks/{check_id}#risk-hits", status_code=303)


@router.get(OBSERVATORY_PATH)
def observatory_page(
    request: Request,
    user: User = Depends(page_for(Permission.OBSERVATORY_READ)),
    session: Session = Depends(get_session),
) -> Response:
    """Analysts, supervisors, administrators and the secretariat: each risk rule's hits in a
    period (the last 90 days by default), how many while inform only, how many the officers
    confirmed and dismissed, and the share confirmed."""
    typed = {k: request.query_params.get(k, "")[:10] for k in ("start", "end")}
    problem: str | None = None
    try:
        given = {k: date.fromisoformat(v) if v else None for k, v in typed.items()}
        start, end = period(given["start"], given["end"], clock_of(request).today())
    except (ValueError, Invalid):
        problem = N_("The period must be two dates like 2026-11-25, the first not after the "
                     "second, at most a year apart.")  # fmt: skip
        start, end = period(None, None, clock_of(request).today())
    ctx = {
        "tallies": svc.tally(session, start, end),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "problem": problem,
        # The rules' own page is for those who may read them: nobody is offered a 403.
        "can_read_rules": allows(user.role, Permission.RISK_RULES_READ),
    }
    return render(request, "observatory/risk_rules.html", ctx, 400 if problem else 200)
