"""The public "how long may I still stay" page (issue 20, item 4): a traveller types what is
printed in their passport and sees their days of stay, on a phone, in English or Sesotho.

The details travel in the POST body only, never in the address; the answer is drawn from
``services.stay_self_check``, which counts each attempt per address and answers the same to
any mismatch.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.services import stay_self_check
from tsela.store.models import User
from tsela.web.i18n import N_
from tsela.web.render import render
from tsela.web.security import public_page

router = APIRouter(include_in_schema=False)

PAGE = "stay_check.html"
NO_MATCH = N_(
    "We found no passport with these details, or no stay rule for it. Check the three "
    "details against your passport and try again."
)


def _page(request: Request, form: dict[str, str], status: int = 200, **shown: object) -> Response:
    context = {"form": form, "errors": {}, "wait": None, "answered": False, "left": None,
               "no_match": NO_MATCH, **shown}  # fmt: skip
    return render(request, PAGE, context, status)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


@router.get("/stay-check")
def stay_check_form(request: Request, _anyone: User | None = Depends(public_page)) -> Response:
    """Public: the form."""
    return _page(request, {"document_number": "", "birth_date": "", "expiry_date": ""})


@router.post("/stay-check")
def stay_check_submit(
    request: Request,
    _anyone: User | None = Depends(public_page),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    document_number: str = Form(""),
    birth_date: str = Form(""),
    expiry_date: str = Form(""),
) -> Response:
    """Public: the answer (CSRF-checked like every form)."""
    form = {"document_number": document_number.strip()[:30], "birth_date": birth_date,
            "expiry_date": expiry_date}  # fmt: skip
    errors: dict[str, str] = {}
    if not form["document_number"]:
        errors["document_number"] = N_("Enter the passport number.")
    born, expires = _day(birth_date), _day(expiry_date)
    if born is None:
        errors["birth_date"] = N_("Enter your date of birth.")
    if expires is None:
        errors["expiry_date"] = N_("Enter the passport's date of expiry.")
    if errors or born is None or expires is None:
        return _page(request, form, 400, errors=errors)
    clock = clock_of(request)
    try:
        left = stay_self_check.self_check(
            session,
            node=settings.node,
            source=client_source(request),
            number=form["document_number"],
            birth_date=born,
            expiry=expires,
            today=clock.today(),
            now=clock.now(),
        )
    except stay_self_check.SelfCheckThrottled as exc:
        session.commit()
        page = _page(request, form, 429, wait=exc.retry_after)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    session.commit()
    return _page(request, form, answered=True, left=left)
