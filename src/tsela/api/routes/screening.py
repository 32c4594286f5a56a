"""Watchlist screening: screen a person, import a list, see the lists loaded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from tsela.api.auth import require
from tsela.api.deps import get_clock, get_engine, get_session, get_settings
from tsela.api.errors import error_responses
from tsela.api.schemas import (
    DocumentAlertOut,
    DocumentCheckOut,
    HitOut,
    ImportOut,
    ProblemOut,
    ScreenOut,
    WatchlistOut,
)
from tsela.config import Settings
from tsela.domain.screening import MAX_NAME_LENGTH, THRESHOLD, ScreeningInputError
from tsela.kernel.access import Permission
from tsela.kernel.clock import Clock
from tsela.store.models import User

router = APIRouter(prefix="/v1", tags=["screening"])

# A screening request is a few names and dates; anything bigger is refused unread.
MAX_SCREEN_BODY = 16 * 1024
MAX_IMPORT_BYTES = 512 * 1024**2


class ScreenIn(BaseModel):
    names: list[str] = Field(
        min_length=1,
        max_length=10,
        description="The traveller's name, and any other names (aliases) to screen together.",
        examples=[["Tshepo Moshweshwe"]],
    )
    birth_date: str | None = Field(
        None, max_length=10, description="YYYY-MM-DD, YYYY-MM or YYYY", examples=["1985-03-14"]
    )
    nationality: str | None = Field(None, max_length=3, description="ISO 3166 alpha-3")
    document: str | None = Field(None, max_length=40, description="Travel document number")
    threshold: float = Field(THRESHOLD, ge=0.0, le=1.0)
    limit: int = Field(20, ge=1, le=200)


async def _screen_body(request: Request) -> ScreenIn:
    """The request body, read with a size limit before any parsing."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_SCREEN_BODY):
        raise HTTPException(
            413,
            f"request body over {MAX_SCREEN_BODY} bytes; a screening request is a few names",
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SCREEN_BODY:
            raise HTTPException(
                413,
                f"request body over {MAX_SCREEN_BODY} bytes; a screening request is a few names",
            )
    try:
        parsed = ScreenIn.model_validate_json(bytes(body))
    except ValidationError as exc:
        raise HTTPException(
            422,
            [
                {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False, include_input=False)
            ],
        ) from None
    for i, name in enumerate(parsed.names):
        if len(name) > MAX_NAME_LENGTH:
            raise HTTPException(
                422,
                f"names[{i}] is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}",
            )
    return parsed


@router.post(
    "/screen",
    response_model=ScreenOut,
    responses=error_responses(413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ScreenIn.model_json_schema()}},
        }
    },
)
def screen_person(
    # The caller is checked before the body is read: strangers get 401, not a 422.
    user: User = Depends(require(Permission.WATCHLIST_SCREEN)),
    body: ScreenIn = Depends(_screen_body),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    clock: Clock = Depends(get_clock),
) -> ScreenOut:
    """Screen a person against every person watchlist; hits best first, each with its reasons."""
    from tsela.services.screening import screen

    try:
        hits = screen(
            session,
            body.names,
            birth_date=body.birth_date,
            nationality=body.nationality,
            documents=[body.document] if body.document else (),
            today=clock.today(),
            threshold=body.threshold,
            limit=body.limit,
            actor=user.username,
            node=settings.node,
        )
    except ScreeningInputError as exc:
        raise HTTPException(422, str(exc)) from None
    session.commit()  # the audit entry: who screened, and the hits
    return ScreenOut(
        threshold=body.threshold,
        hits=[HitOut(**h.__dict__) for h in hits],
    )


@router.post("/watchlists/{name}/import", response_model=ImportOut, responses=error_responses(413))
def import_list(
    name: str,
    file: UploadFile = File(..., description="CSV or FtM JSON lines"),
    format: str = Form("csv", description="csv or ftm"),
    kind: str = Form("person", description="person or document"),
    category: str = Form("other"),
    source: str = Form("", max_length=200),
    mapping: list[str] = Form([], description="CSV COLUMN=FIELD pairs"),
    confirm: bool = Form(
        False,
        description="Replace the list even when many rows are bad or it would shrink a lot "
        "(otherwise such an import is refused with 409)",
    ),
    user: User = Depends(require(Permission.WATCHLIST_IMPORT)),
    engine: Any = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    clock: Clock = Depends(get_clock),
) -> ImportOut:
    """Replace the list ``name`` with the uploaded file, atomically; bad rows are listed.

    409 ``confirmation_required``, nothing changed: more than 5% of the rows are bad, or the
    list would lose more than 20% of its entries. The answer says how many entries would be
    dropped (and names the first), and lists the bad rows; send ``confirm=true`` to go on.
    """
    from tsela.services.screening import (
        ImportFileError,
        ImportNeedsConfirmation,
        import_watchlist,
    )
    from tsela.store.watchlists import WatchlistCategory, WatchlistKind

    try:
        kind_value = WatchlistKind(kind)
        category_value = WatchlistCategory(category)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise HTTPException(
            413,
            f"file over {MAX_IMPORT_BYTES // 1024**2} MB; import it with the command line",
        )
    try:
        report = import_watchlist(
            engine,
            list_name=name,
            data=data,
            fmt=format,
            kind=kind_value,
            category=category_value,
            source=source,
            mapping=mapping,
            actor=user.username,
            node=settings.node,
            confirm=confirm,
            today=clock.today(),
        )
    except ImportNeedsConfirmation as exc:
        raise HTTPException(
            409,
            {
                "code": "confirmation_required",
                "message": str(exc),
                "reasons": exc.reasons,
                "current_entries": exc.current,
                "loaded": exc.loaded,
                "dropped_count": exc.dropped_count,
                "dropped": exc.dropped,
                "error_count": exc.bad_rows,
                "errors": [e.__dict__ for e in exc.errors[:100]],
            },
        ) from None
    except ImportFileError as exc:
        raise HTTPException(
            422,
            {"message": str(exc), "errors": [e.__dict__ for e in exc.errors[:100]]},
        ) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return ImportOut(
        list_name=report.list_name,
        kind=report.kind,
        version=report.version,
        loaded=report.loaded,
        replaced=report.replaced,
        ignored=report.ignored,
        error_count=report.error_count,
        errors=[ProblemOut(**e.__dict__) for e in report.errors],
        warnings=[ProblemOut(**w.__dict__) for w in report.warnings],
    )


@router.get("/watchlists", response_model=list[WatchlistOut])
def watchlists(
    user: User = Depends(require(Permission.WATCHLIST_SCREEN)),
    session: Session = Depends(get_session),
) -> list[WatchlistOut]:
    """The lists loaded, with their version and who imported them."""
    from tsela.services.screening import list_watchlists

    del user
    return [
        WatchlistOut(**(w.__dict__ | {"imported_at": w.imported_at.isoformat()}))
        for w in list_watchlists(session)
    ]


@router.get("/watchlists/documents/{issuing_state}/{number}", response_model=DocumentCheckOut)
def document_alerts(
    issuing_state: str,
    number: str,
    user: User = Depends(require(Permission.WATCHLIST_SCREEN)),
    session: Session = Depends(get_session),
) -> DocumentCheckOut:
    """Lost, stolen or revoked alerts on one travel document."""
    from tsela.services.screening import check_document

    del user
    if len(number) > 40 or len(issuing_state) > 3:
        raise HTTPException(422, "document number or state too long")
    try:
        hits = check_document(session, issuing_state, number)
    except ScreeningInputError as exc:
        raise HTTPException(422, str(exc)) from None
    return DocumentCheckOut(
        issuing_state=issuing_state.upper(),
        number=number,
        alerts=[DocumentAlertOut(**h.__dict__) for h in hits],
    )
