"""Border officer console: scan or paste the MRZ, see the decision (CLEAR / REFER / DENY)
large, with every reason, the traveller, recent crossings and days remaining; record the
crossing with one key, or override a REFER/DENY with a written reason.

Works from the keyboard alone: the scan box has focus, a scanner's final Enter submits a
complete MRZ, the record button has focus after a CLEAR, R records, N starts a new scan.
The MRZ and names travel in POST bodies only; redirects carry ids. A check's result is its
own page (POST /console/check redirects to GET /console/checks/{id}, shown from the stored
check by ``services.check_view``): reloading it or going Back sends nothing again.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from typing import TypedDict

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings, screening_of
from tsela.config import Settings
from tsela.domain import children as child_rules
from tsela.domain.declarations import purposes
from tsela.domain.reasons import _term
from tsela.domain.risk import rules as risk_rules
from tsela.domain.values import Direction
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.reference import UnknownPortError, country_name
from tsela.services import check_view, declarations
from tsela.services import checks as svc
from tsela.services.permits import presented as presented_permits
from tsela.store.models import PortOfEntry, User
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_, choose_language
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)

add_nav("/console", N_("Border console"), Permission.CHECK_RECORD)

DECISIONS = {
    "CLEAR": (N_("CLEAR"), "ok", N_("Let the traveller through.")),
    "REFER": (N_("REFER"), "warn", N_("Send the traveller to secondary inspection.")),
    "DENY": (N_("DENY"), "bad", N_("Refusal recommended: an officer must decide.")),
}


def _ports(session: Session, user: User) -> tuple[PortOfEntry | None, list[PortOfEntry]]:
    """The officer's own port, or (supervisors) every active port to choose from."""
    if user.port_id:
        return session.get(PortOfEntry, user.port_id), []
    ports = list(
        session.scalars(
            select(PortOfEntry).where(PortOfEntry.active.is_(True)).order_by(PortOfEntry.code)
        )
    )
    return None, ports


class _Keep(TypedDict):
    """What the console shows again after a check: the direction and the port chosen."""

    direction: str
    port_code: str


def _console(
    request: Request,
    session: Session,
    user: User,
    *,
    result: svc.CheckResult | None = None,
    error: str | None = None,
    direction: str = "entry",
    port_code: str = "",
    recorded: str | None = None,
    called: bool = False,
    status_code: int = 200,
    typed: dict[str, str] | None = None,
    shown: check_view.ShownCheck | None = None,
    case_opened: bool = False,
) -> Response:
    posted, ports = _ports(session, user)
    ctx = {
        "typed": {k: "" for k in TYPED} | (typed or {}),
        "shown": shown,
        "posted": posted,
        "ports": ports,
        "port_code": port_code or (posted.code if posted else ""),
        "direction": direction,
        "result": result.as_dict() if result else None,
        "decision": DECISIONS[result.check.decision.value] if result else None,
        "idempotency_key": secrets.token_urlsafe(18),
        "error": error,
        "recorded": recorded,
        "called": called,
        "country_name": country_name,
        "child_cases": _child_cases(request),
        "purposes": purposes(),
        "risk_rule_words": _risk_rule_words(request),
        "case_opened": case_opened,
    }
    return render(request, "console.html", ctx, status_code)


def _risk_rule_words(request: Request) -> dict[str, str]:
    """What each risk rule looks for, in the reader's language (the hits' headings)."""
    lang, _chosen = choose_language(request)
    return {r.id: r.words.get(lang, r.words["en"]) for r in risk_rules().rules.values()}


def _child_cases(request: Request) -> list[dict[str, object]]:
    """The ways a child travels and the documents each requires (Regulation 6(12)), in the
    reader's language: the console lists them and the officer ticks those seen."""
    lang, _chosen = choose_language(request)
    rules = child_rules.rules()
    return [
        {
            "code": case.name,
            "words": _term("child_case", case.name, lang),
            "required": [
                f" {_term('child_document', 'or', lang)} ".join(
                    _term("child_document", d, lang) for d in group
                )
                for group in case.required
            ],
            "documents": [(d, _term("child_document", d, lang)) for d in rules.documents],
        }
        for case in rules.cases.values()
    ]


@router.get("/console")
def console(
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
) -> Response:
    """Border officers and supervisors: the scan box, ready for the next traveller."""
    recorded = request.query_params.get("recorded")
    kind = recorded if recorded in ("crossing", "override") else None
    return _console(
        request,
        session,
        user,
        recorded=kind,
        direction=request.query_params.get("direction", "entry"),
        called=request.query_params.get("called") == "1",
    )


TYPED = ("mrz", "document_number", "issuing_state", "surname", "given_names", "nationality",
         "birth_date", "sex", "declaration", "permit")  # fmt: skip


def _traveller(typed: dict[str, str]) -> svc.TravellerDetails | str | None:
    """The traveller typed by hand (no readable MRZ, a document not yet known), None if
    nothing was typed about them, or the message saying what is wrong with it."""
    if not any(typed[k] for k in ("surname", "given_names", "nationality", "birth_date")):
        return None
    if not typed["surname"] or not typed["nationality"]:
        return N_("To register the traveller, type at least the surname and the nationality.")
    born: date | None = None
    if typed["birth_date"]:
        try:
            born = date.fromisoformat(typed["birth_date"])
        except ValueError:
            return N_("The date of birth is not a date: write it as YYYY-MM-DD.")
    return svc.TravellerDetails(
        surname=typed["surname"][:60],
        given_names=typed["given_names"][:80],
        nationality=typed["nationality"][:3],
        birth_date=born,
        sex=typed["sex"] if typed["sex"] in ("M", "F", "X") else "X",
    )


@router.post("/console/check")
def check(
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    mrz: str = Form(""),
    direction: str = Form("entry"),
    port: str = Form(""),
    document_number: str = Form(""),
    issuing_state: str = Form(""),
    surname: str = Form(""),
    given_names: str = Form(""),
    nationality: str = Form(""),
    birth_date: str = Form(""),
    sex: str = Form(""),
    child_case: str = Form(""),
    documents_seen: list[str] = Form(default_factory=list),
    adults: str = Form(""),
    declaration: str = Form(""),
    permit: str = Form(""),
) -> Response:
    """Border officers and supervisors: check the traveller whose document was scanned, or
    whose document number was typed (with their particulars, to register one not yet known;
    a child: how they travel, the documents seen, the accompanying adults' document numbers;
    the pre-arrival declaration and the permit they show, if any: the partner node's permits
    are known at the check only this way). The result is shown by the check's own page
    (Post/Redirect/Get: Back and reload do not send the form again); a refusal shows the
    form again with what was typed."""
    try:
        way = Direction(direction)
    except ValueError:
        way = Direction.ENTRY
    posted, _ports_list = _ports(session, user)
    port_code = posted.code if posted else port.strip().upper()
    typed = {
        "mrz": mrz.strip()[:200],
        "document_number": document_number.strip()[:20],
        "issuing_state": issuing_state.strip()[:3],
        "surname": surname.strip()[:60],
        "given_names": given_names.strip()[:80],
        "nationality": nationality.strip()[:3],
        "birth_date": birth_date.strip()[:10],
        "sex": sex.strip()[:1].upper(),
        "declaration": declaration.strip()[:2000],
        "permit": permit.strip()[:4000],
    }
    keep = _Keep(direction=way.value, port_code=port_code)

    def again(message: str, status: int) -> Response:
        return _console(
            request, session, user, error=message, **keep, typed=typed, status_code=status
        )

    if not port_code:
        return again(N_("Choose the port."), 400)
    if not typed["mrz"] and not typed["document_number"]:
        return again(N_("Scan the document, or type its number and issuing state."), 400)
    traveller = _traveller(typed) if not typed["mrz"] else None
    if isinstance(traveller, str):
        return again(traveller, 400)
    now = clock_of(request).now()
    req = svc.CheckRequest(
        port=port_code,
        direction=way,
        at=now,
        mrz=typed["mrz"] or None,
        document_number=typed["document_number"] or None,
        issuing_state=typed["issuing_state"] or None,
        traveller=traveller,
        child=svc.child_service.ChildTravel(
            child_case[:20],
            tuple(d[:40] for d in documents_seen[:10]),
            tuple(adults.replace(",", " ").split()[:5]),
        )
        if child_case.strip()
        else None,
    )
    result = attempt(
        request,
        session,
        lambda: svc.run_check(
            session,
            node=settings.node,
            officer=Actor.of(user, settings.node),
            request=req,
            screening=screening_of(request),
            source=client_source(request),
            now=now,
            declaration=declarations.presented(declaration, settings.var_dir, settings.node),
            permit=presented_permits.presented(permit, settings.var_dir),
        ),
        also=(UnknownPortError,),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(result, Refused):
        return again(result.message, result.status)
    return RedirectResponse(f"/console/checks/{result.check.id}", status_code=303)


def stored_check(
    request: Request, session: Session, user: User, settings: Settings, check_id: uuid.UUID
) -> check_view.ShownCheck | Refused:
    """A check as stored, seen by ``user`` (the view is audited), or why it may not be."""
    return attempt(
        request,
        session,
        lambda: check_view.shown(
            session,
            node=settings.node,
            viewer=Actor.of(user, settings.node),
            check_id=check_id,
            source=client_source(request),
        ),
        actor=user.username,
        node=settings.node,
    )


@router.get("/console/checks/{check_id}")
def shown_check(
    check_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Border officers and supervisors: a check's result, from the check as stored: the
    decision and every reason, the traveller, days of stay, recent crossings; record the
    crossing, override, refuse entry or open a case from here."""
    shown = stored_check(request, session, user, settings, check_id)
    if isinstance(shown, Refused):
        return _console(request, session, user, error=shown.message, status_code=shown.status)
    return _console(
        request,
        session,
        user,
        result=shown.result,
        shown=shown,
        direction=shown.result.check.direction.value,
        port_code=shown.port_code,
        case_opened=request.query_params.get("case") == "opened",
    )


@router.post("/console/record")
def record(
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    check_id: str = Form(""),
    idempotency_key: str = Form(""),
    override_reason: str = Form(""),
    direction: str = Form("entry"),
) -> Response:
    """Border officers and supervisors: record the crossing (an override needs a reason)."""
    try:
        check_uuid = uuid.UUID(check_id)
    except ValueError:
        return _console(request, session, user, error=N_("This check is unknown."), status_code=400)
    reason = override_reason.strip() or None
    # The same body as POST /v1/crossings, so a retry from either is recognised.
    payload = svc.request_hash({"check_id": str(check_uuid), "override_reason": reason})
    try:
        done = attempt(
            request,
            session,
            lambda: svc.record_crossing(
                session,
                node=settings.node,
                officer=Actor.of(user, settings.node),
                check_id=check_uuid,
                idempotency_key=idempotency_key,
                payload_hash=payload,
                override_reason=reason,
                source=client_source(request),
                now=clock_of(request).now(),
            ),
            actor=user.username,
            node=settings.node,
        )
    except IntegrityError:
        # The same form sent twice at once: the other request recorded it.
        session.rollback()
        return RedirectResponse("/console?recorded=crossing", status_code=303)
    if isinstance(done, Refused):
        return _console(request, session, user, error=done.message, status_code=done.status)
    kind = "override" if done.check.override_reason else "crossing"
    way = direction if direction in ("entry", "exit") else "entry"
    return RedirectResponse(f"/console?recorded={kind}&direction={way}", status_code=303)


@router.post("/console/next")
def call_next(
    request: Request,
    direction: str = Form("entry"),
    user: User = Depends(page_for(Permission.QUEUE_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The desk calls the next traveller: the turn's start, which the wait times count."""
    from tsela.services import waits

    way = Direction.EXIT if direction == "exit" else Direction.ENTRY
    posted, _ = _ports(session, user)
    if posted is None:
        return _console(request, session, user, error=N_("Choose the port."), status_code=400)
    now = clock_of(request).now()
    waits.record(session, node=settings.node, port_code=posted.code, direction=way,
                 kind=waits.QueueEventKind.TURN, now=now, officer_id=user.id)  # fmt: skip
    session.commit()
    return RedirectResponse(f"/console?direction={way.value}&called=1", status_code=303)
