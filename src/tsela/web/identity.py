"""Identity review in the browser (issue 17): the supervisor's queue of candidate pairs, a
pair side by side with each field's part in the score in words (a waterfall), link /
reject / defer with a note, and an identity's records with "Unlink" behind a confirmation.

Every change is a POST that redirects (PRG); a refusal is a page saying why, audited by
``attempt``. The URLs carry ids and status codes only, never a name or a document number.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tsela.api.deps import get_session, get_settings
from tsela.config import Settings
from tsela.kernel.access import Permission, allows
from tsela.kernel.actor import Actor
from tsela.services import identity as svc
from tsela.services.identity.review import QUEUE_STATUSES, PairView
from tsela.store.models import User
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.labels import IDENTITY_FIELD, IDENTITY_LEVEL, IDENTITY_STATUS
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)

add_nav("/identity/review", N_("Identities"), Permission.IDENTITY_READ)

PER_PAGE = 20


def _queue_url(status: str, page: int = 1, **more: str) -> str:
    params = {"status": status} if status != "pending" else {}
    if page > 1:
        params["page"] = str(page)
    params.update({k: v for k, v in more.items() if v})
    return "/identity/review" + ("?" + urlencode(params) if params else "")


def waterfall(pair: PairView) -> list[dict[str, Any]]:
    """One bar per field: its words, its weight, for or against, and its width (1-10,
    relative to the largest weight of the pair)."""
    biggest = max((abs(float(c["weight"])) for c in pair.contributions), default=0.0) or 1.0
    bars = []
    for c in pair.contributions:
        w = float(c["weight"])
        bars.append(
            {
                "field": c["field"],
                "field_words": IDENTITY_FIELD.get(c["field"], c["field"]),
                "level": c["level"],
                "level_words": IDENTITY_LEVEL.get(c["level"], c["level"]),
                "weight": f"{w:+.1f}",
                "side": "for" if w > 0.05 else "against" if w < -0.05 else "neither",
                "width": max(1, round(10 * abs(w) / biggest)),
            }
        )
    return bars


def _status_words(status: str) -> tuple[str, str]:
    return IDENTITY_STATUS.get(status, (status, "info"))


@router.get("/identity/review")
def review_queue(
    request: Request,
    user: User = Depends(page_for(Permission.IDENTITY_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Supervisors and admins: the candidate pairs of one status, the most likely first."""
    status = request.query_params.get("status", "pending")
    if status not in QUEUE_STATUSES:
        status = "pending"
    try:
        page = max(1, int(request.query_params.get("page", "1") or "1"))
    except ValueError:
        page = 1
    found = svc.queue(
        session, Actor.of(user, settings.node), status=status, page=page, per_page=PER_PAGE
    )
    pages = max(1, -(-found.total // found.per_page))
    return render(
        request,
        "identity_review.html",
        {
            "found": found,
            "status": status,
            "statuses": [(s, _status_words(s)[0]) for s in QUEUE_STATUSES],
            "status_words": _status_words(status),
            "pages": pages,
            "prev_url": _queue_url(status, page - 1) if page > 1 else None,
            "next_url": _queue_url(status, page + 1) if page < pages else None,
            "done": request.query_params.get("done", ""),
        },
    )


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


@router.get("/identity/pairs/{pair_id}")
def pair_page(
    request: Request,
    pair_id: str,
    user: User = Depends(page_for(Permission.IDENTITY_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Both records side by side, each field's part in the score in words, and the
    decision buttons (for those who may decide)."""
    the_id = _uuid(pair_id)
    found = (
        attempt(request, session, lambda: svc.pair(session, Actor.of(user, settings.node), the_id))
        if the_id is not None
        else None
    )
    if found is None or isinstance(found, Refused):
        return render(request, "error.html", {"error": "missing"}, 404)
    status = request.query_params.get("status", "pending")
    return render(
        request,
        "identity_pair.html",
        {
            "pair": found,
            "bars": waterfall(found),
            "status_words": _status_words(found.status),
            "can_decide": allows(user.role, Permission.IDENTITY_DECIDE),
            "back": _queue_url(status if status in QUEUE_STATUSES else "pending"),
            "from_status": status if status in QUEUE_STATUSES else "pending",
            "fields": [
                ("surname", N_("Surname")),
                ("given_names", N_("Given names")),
                ("birth_date", N_("Birth date")),
                ("sex", N_("Sex")),
                ("nationality", N_("Nationality")),
                ("document_number", N_("Document number")),
                ("document_country", N_("Document country")),
                ("source", N_("Source")),
                ("record_node", N_("Node")),
            ],
        },
    )


def _problem(request: Request, message: str, back: str, status: int) -> Response:
    return render(request, "identity_error.html", {"message": message, "back": back}, status)


@router.post("/identity/pairs/{pair_id}")
def decide(
    request: Request,
    pair_id: str,
    user: User = Depends(page_for(Permission.IDENTITY_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    decision: str = Form(""),
    note: str = Form(""),
    from_status: str = Form("pending"),
) -> Response:
    """Supervisors: link, reject or defer, with a note."""
    back = _queue_url(from_status if from_status in QUEUE_STATUSES else "pending")
    the_id = _uuid(pair_id)
    if the_id is None:
        return render(request, "error.html", {"error": "missing"}, 404)
    actor = Actor.of(user, settings.node, request.client.host if request.client else "")
    done = attempt(
        request,
        session,
        lambda: svc.decide(session, actor, the_id, decision, note),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(done, Refused):
        return _problem(request, done.message, f"/identity/pairs/{the_id}", done.status)
    return RedirectResponse(
        back + ("&" if "?" in back else "?") + f"done={decision}", status_code=303
    )


@router.get("/identity/of/{identity_id}")
def identity_page(
    request: Request,
    identity_id: str,
    user: User = Depends(page_for(Permission.IDENTITY_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """One identity: its records, and "Unlink" on each (for those who may decide)."""
    the_id = _uuid(identity_id)
    found = (
        attempt(
            request,
            session,
            lambda: svc.show(session, Actor.of(user, settings.node), str(the_id)),
        )
        if the_id is not None
        else None
    )
    if found is None or isinstance(found, Refused):
        return render(request, "error.html", {"error": "missing"}, 404)
    return render(
        request,
        "identity_show.html",
        {
            "view": found,
            "can_decide": allows(user.role, Permission.IDENTITY_DECIDE),
            "done": request.query_params.get("done", ""),
            "status_words": {s: _status_words(s) for s in QUEUE_STATUSES},
        },
    )


@router.post("/identity/unlink")
def unlink(
    request: Request,
    user: User = Depends(page_for(Permission.IDENTITY_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    key: str = Form(""),
    identity_id: str = Form(""),
    note: str = Form(""),
    confirmed: str = Form(""),
) -> Response:
    """Take a record out of its identity: first a page asking to confirm, then the change."""
    back = f"/identity/of/{_uuid(identity_id) or ''}"
    if confirmed != "1":
        return render(
            request,
            "identity_unlink_confirm.html",
            {"key": key[:80], "identity_id": identity_id[:40], "note": note[:2000], "back": back},
        )
    actor = Actor.of(user, settings.node, request.client.host if request.client else "")
    done = attempt(
        request,
        session,
        lambda: svc.unlink(session, actor, key[:80], note),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(done, Refused):
        return _problem(request, done.message, back, done.status)
    # Back to the identity the record left (the others stay together).
    return RedirectResponse(f"{back}?done=unlinked", status_code=303)
