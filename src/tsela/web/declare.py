"""The public pre-arrival declaration (issue 20, item 3): a traveller answers on a phone,
without signing in, in English or Sesotho, and gets the QR code to show at the desk with the
passport and a reference to write down.

The answers travel in the POST body only, never in the address; ``services.declarations``
keeps them (and counts the attempts per address, as the self check does).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain import declarations as dom
from tsela.services import declarations as svc
from tsela.services.permit_qr import render_svg
from tsela.store.models import PortOfEntry, User
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.labels import NODE_COUNTRY
from tsela.web.render import render
from tsela.web.security import public_page

router = APIRouter(include_in_schema=False)

PAGE = "declare.html"
CHILD_ROWS = 4  # rows for children on the form (the API takes up to dom.MAX_CHILDREN)
FIELDS = ("document_number", "issuing_state", "birth_date", "port", "direction", "purpose",
          "address", "stay_days")  # fmt: skip

# Each refused answer in the reader's language (the domain's codes: domain/declarations.py).
PROBLEMS: dict[str, str] = {
    "number_missing": N_("Enter the passport number."),
    "number_long": N_("A passport number has at most %(max)s letters and digits."),
    "state_unknown": N_("Enter the three letters of the country that issued the passport."),
    "birth_missing": N_("Enter your date of birth as printed in the passport."),
    "birth_future": N_("A date of birth cannot be in the future."),
    "birth_early": N_("The date of birth is before %(earliest)s: check the year."),
    "port_unknown": N_("Choose the port where you will cross."),
    "direction_unknown": N_("Choose whether you enter or leave the country."),
    "purpose_unknown": N_("Choose the purpose of your journey."),
    "address_short": N_("Give the address where you are going (at least %(min)s characters)."),
    "address_long": N_("The address has at most %(max)s characters."),
    "stay_missing": N_("Give the number of days you expect to stay (1 to %(max)s)."),
    "too_many_children": N_("At most %(max)s children can be declared."),
    "child_name": N_("Give the child's name."),
    "child_birth": N_("Give the child's date of birth; it cannot be in the future."),
    "child_adult": N_("A child must be under %(age)s years old."),
}


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def _int(raw: str) -> int | None:
    try:
        return int(raw.strip())
    except ValueError:
        return None


def _ports(session: Session) -> list[PortOfEntry]:
    return list(session.scalars(
        select(PortOfEntry).where(PortOfEntry.active.is_(True)).order_by(PortOfEntry.code)
    ))  # fmt: skip


def _page(
    request: Request,
    session: Session,
    settings: Settings,
    form: dict[str, str],
    status: int = 200,
    **shown: Any,
) -> Response:
    context = {
        "form": form,
        "errors": {},
        "wait": None,
        "done": None,
        "refused": None,
        "ports": _ports(session),
        "purposes": list(dom.purposes().values()),
        "child_rows": range(1, CHILD_ROWS + 1),
        "country": NODE_COUNTRY.get(settings.node, settings.node),
        **shown,
    }
    return render(request, PAGE, context, status)


def _field(problem: dom.Problem) -> str:
    """The form control a problem belongs to (``children.2.name`` is ``child_name_2``)."""
    if problem.field.startswith("children."):
        _children, n, what = problem.field.split(".")
        return f"child_{'name' if what == 'name' else 'birth'}_{n}"
    return problem.field


@router.get("/declare")
def declare_form(
    request: Request,
    _anyone: User | None = Depends(public_page),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Public: the form."""
    form = dict.fromkeys(FIELDS, "") | {"direction": "entry"}
    return _page(request, session, settings, form)


@router.post("/declare")
async def declare_submit(
    request: Request,
    _anyone: User | None = Depends(public_page),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Public: keep the declaration and show its QR code (CSRF-checked like every form)."""
    posted = await request.form()
    form = {k: str(posted.get(k, ""))[:400] for k in FIELDS}
    for n in range(1, CHILD_ROWS + 1):
        form[f"child_name_{n}"] = str(posted.get(f"child_name_{n}", ""))[:200]
        form[f"child_birth_{n}"] = str(posted.get(f"child_birth_{n}", ""))[:20]
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    children = []
    for n in range(1, CHILD_ROWS + 1):
        name, born = form[f"child_name_{n}"].strip(), form[f"child_birth_{n}"].strip()
        if not name and not born:
            continue
        day = _day(born)
        if day is None:
            errors[f"child_birth_{n}"] = (PROBLEMS["child_birth"], {})
            continue
        children.append(dom.Child(name, day))
    given = dom.DeclarationInput(
        document_number=form["document_number"],
        issuing_state=form["issuing_state"],
        birth_date=_day(form["birth_date"]),
        port=form["port"],
        direction=form["direction"],
        purpose=form["purpose"],
        address=form["address"],
        stay_days=_int(form["stay_days"]),
        children=tuple(children),
    )
    clock = clock_of(request)
    for problem in svc.problems(session, given, clock.now()):
        errors.setdefault(_field(problem), (PROBLEMS[problem.code], problem.values))
    if errors:
        return _page(request, session, settings, form, 400, errors=errors)
    try:
        done = attempt(
            request,
            session,
            lambda: svc.declare(
                session,
                node=settings.node,
                source=client_source(request),
                var_dir=settings.var_dir,
                given=given,
                now=clock.now(),
            ),
            node=settings.node,
        )
    except svc.DeclarationThrottled as exc:
        session.commit()  # the refused attempt is audited
        page = _page(request, session, settings, form, 429, wait=exc.retry_after)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if isinstance(done, Refused):
        return _page(request, session, settings, form, done.status, refused=done)
    shown = {
        "reference": done.reference,
        "valid_until": done.declaration.valid_until,
        "qr_svg": render_svg(done.token, scale=5),
    }
    return _page(request, session, settings, form, done=shown)
