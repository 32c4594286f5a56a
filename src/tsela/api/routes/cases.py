"""Trafficking and smuggling cases (issue 18, item 4): POST /v1/cases from a check (the desk),
and for the case officers the list, a case, its indicators, notes, referral, assignment,
hand-over and closure, and the pseudonymised export (JSON or CSV, docs/security.md "Cases").

Every read is audited by the service; a caller whose role may not read cases gets 403 and
the attempt is audited (``kernel.access.AUDITED_DENIALS``).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tsela.api.auth import acting
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.api.errors import error_responses
from tsela.api.schemas.cases import (
    CaseCatalogueOut,
    CaseExportOut,
    CaseOpenedOut,
    CaseOut,
    CasePageOut,
)
from tsela.config import Settings
from tsela.domain import cases as rules
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.pseudonyms import pseudonym_secret
from tsela.services import cases as svc
from tsela.store.cases import Case

router = APIRouter(prefix="/v1", tags=["cases"])

_NOTE = Field("", max_length=rules.MAX_NOTE)


class CaseIn(BaseModel):
    check_id: uuid.UUID = Field(description="The check the case is opened from")
    kind: str = Field(examples=["trafficking"], max_length=40)
    indicators: list[str] = Field(default_factory=list, max_length=100)
    note: str = _NOTE


class IndicatorsIn(BaseModel):
    indicators: list[str] = Field(max_length=100, description="Every indicator now ticked")


class NoteIn(BaseModel):
    note: str = Field(min_length=1, max_length=rules.MAX_NOTE)


class ReferralIn(BaseModel):
    agency: str = Field(examples=["police"], max_length=40)
    note: str = _NOTE


class AssignIn(BaseModel):
    to: str = Field(max_length=60, description="The case officer's username")


class HandOverIn(BaseModel):
    to: str = Field(max_length=60, description="The case officer's username")
    note: str = Field(min_length=1, max_length=rules.MAX_NOTE)


class CloseIn(BaseModel):
    outcome: str = Field(examples=["victim_protected"], max_length=40)
    note: str = Field(min_length=1, max_length=rules.MAX_NOTE)


def _case_out(session: Session, actor: Actor, case_id: uuid.UUID) -> dict[str, Any]:
    """The case as it now stands, after a change (the change's own audit entry covers it)."""
    case = session.get(Case, case_id)
    assert case is not None
    return svc.view(session, case).as_dict()


@router.get("/case-catalogue", response_model=CaseCatalogueOut)
def catalogue(_actor: Actor = Depends(acting(Permission.CASE_OPEN))) -> dict[str, Any]:
    """The kinds of case, the indicators (IOM and UNODC guidance, with sources), where a case
    is referred and how it ends (``reference/case_indicators.toml``)."""
    cat = rules.catalogue()

    def entries(named: Any) -> list[dict[str, Any]]:
        return [
            {"code": n.code, "en": n.words["en"], "st": n.words["st"], "extra": dict(n.extra)}
            for n in named.values()
        ]

    return {
        "version": cat.version,
        "kinds": entries(cat.kinds),
        "indicators": [
            {
                "code": i.code,
                "group": i.group,
                "kinds": list(i.kinds),
                "en": i.words["en"],
                "st": i.words["st"],
                "source": cat.sources[i.source],
            }
            for i in cat.indicators.values()
        ],
        "referrals": entries(cat.referrals),
        "outcomes": entries(cat.outcomes),
    }


@router.post(
    "/cases",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseOpenedOut,
    responses=error_responses(403, 404, 409),
)
def open_case(
    body: CaseIn,
    request: Request,
    actor: Actor = Depends(acting(Permission.CASE_OPEN)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Open a case from a check: its kind, the indicators seen, a note. A border officer
    opens cases from the checks of their port; one case per check (409)."""
    case = svc.open_case(
        session,
        actor,
        check_id=body.check_id,
        kind=body.kind,
        indicators=body.indicators,
        note=body.note,
        now=clock_of(request).now(),
    )
    out = {
        "id": case.id,
        "kind": case.kind.value,
        "status": case.status.value,
        "opened_at": case.opened_at,
        "check_id": case.check_id,
    }
    session.commit()
    return out


@router.get("/cases", response_model=CasePageOut)
def list_cases(
    status: Literal["open", "referred", "closed"] | None = None,
    kind: Literal["trafficking", "smuggling", "illegal_mining", "document_fraud"] | None = None,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=svc.MAX_PAGE),
    actor: Actor = Depends(acting(Permission.CASE_READ)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Cases not closed first, then the newest, a page at a time; the read is audited."""
    items, total = svc.list_cases(
        session, actor, status=status, kind=kind, offset=offset, limit=limit
    )
    session.commit()
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get(
    "/cases/export",
    response_model=CaseExportOut,
    responses={
        200: {
            "description": "The case summaries (JSON), or with format=csv a CSV file",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **error_responses(422),
    },
)
def export(
    request: Request,
    format: Literal["json", "csv"] = "json",
    since: date | None = Query(None, alias="from", description="First border day opened"),
    until: date | None = Query(None, alias="to", description="Last border day opened"),
    actor: Actor = Depends(acting(Permission.CASE_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Any:
    """The summaries of the cases opened in the period, pseudonymised (no names, document
    numbers, notes or officers; the traveller a keyed hash), for the AU Continental
    Operational Centre and the partner node: JSON or CSV as docs/security.md ("Cases")
    describes. The export is audited."""
    secret = pseudonym_secret(settings.var_dir)
    if format == "csv":
        text = svc.export_csv(session, actor, secret=secret, since=since, until=until)
        session.commit()
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="case-summaries.csv"'},
        )
    doc = svc.export_json(
        session, actor, secret=secret, since=since, until=until, now=clock_of(request).now()
    )
    session.commit()
    return doc


@router.get("/cases/{case_id}", response_model=CaseOut, responses=error_responses(404))
def get_case(
    case_id: uuid.UUID,
    actor: Actor = Depends(acting(Permission.CASE_READ)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """A case: the traveller, the check it was opened from, the indicators, every event;
    the read is audited."""
    out = svc.get_case(session, actor, case_id).as_dict()
    session.commit()
    return out


_WORK = error_responses(404, 409)


@router.put("/cases/{case_id}/indicators", response_model=CaseOut, responses=_WORK)
def set_indicators(
    case_id: uuid.UUID,
    body: IndicatorsIn,
    request: Request,
    actor: Actor = Depends(acting(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """The indicators now ticked (the whole checklist); the event names what changed."""
    svc.set_indicators(session, actor, case_id, body.indicators, clock_of(request).now())
    out = _case_out(session, actor, case_id)
    session.commit()
    return out


@router.post("/cases/{case_id}/notes", response_model=CaseOut, responses=_WORK)
def add_note(
    case_id: uuid.UUID,
    body: NoteIn,
    request: Request,
    actor: Actor = Depends(acting(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    svc.add_note(session, actor, case_id, body.note, clock_of(request).now())
    out = _case_out(session, actor, case_id)
    session.commit()
    return out


@router.post("/cases/{case_id}/referrals", response_model=CaseOut, responses=_WORK)
def refer(
    case_id: uuid.UUID,
    body: ReferralIn,
    request: Request,
    actor: Actor = Depends(acting(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Refer the case to the police or to social development (``agency``)."""
    svc.refer(session, actor, case_id, body.agency, body.note, clock_of(request).now())
    out = _case_out(session, actor, case_id)
    session.commit()
    return out


@router.post("/cases/{case_id}/assign", response_model=CaseOut, responses=_WORK)
def assign(
    case_id: uuid.UUID,
    body: AssignIn,
    request: Request,
    actor: Actor = Depends(acting(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Give a case nobody has to a case officer (oneself: take it); 409 if someone has it."""
    svc.assign(session, actor, case_id, body.to, clock_of(request).now())
    out = _case_out(session, actor, case_id)
    session.commit()
    return out


@router.post("/cases/{case_id}/hand-over", response_model=CaseOut, responses=_WORK)
def hand_over(
    case_id: uuid.UUID,
    body: HandOverIn,
    request: Request,
    actor: Actor = Depends(acting(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Pass a case to another case officer, with a hand-over note."""
    svc.hand_over(session, actor, case_id, body.to, body.note, clock_of(request).now())
    out = _case_out(session, actor, case_id)
    session.commit()
    return out


@router.post("/cases/{case_id}/close", response_model=CaseOut, responses=_WORK)
def close(
    case_id: uuid.UUID,
    body: CloseIn,
    request: Request,
    actor: Actor = Depends(acting(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Close the case with its outcome and a closing note; nothing more can be done to it."""
    svc.close(session, actor, case_id, body.outcome, body.note, clock_of(request).now())
    out = _case_out(session, actor, case_id)
    session.commit()
    return out
