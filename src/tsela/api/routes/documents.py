"""Travel documents: reading machine readable zones."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from tsela.api.auth import require
from tsela.api.deps import get_clock
from tsela.api.schemas import MrzOut
from tsela.domain.mrz import MrzUnusable, parse
from tsela.kernel.access import Permission
from tsela.kernel.clock import Clock
from tsela.store.models import User

router = APIRouter(prefix="/v1/documents", tags=["documents"])


class MrzIn(BaseModel):
    """Either the whole MRZ as one text (lines joined or split by newlines), or its lines."""

    mrz: str | None = Field(None, max_length=400, examples=["P<UTOERIKSSON<<ANNA<MARIA<<<..."])
    lines: list[str] | None = Field(None, max_length=5)


@router.post("/mrz", response_model=MrzOut)
def read_mrz(
    body: MrzIn,
    user: User = Depends(require(Permission.DOCUMENT_READ)),
    clock: Clock = Depends(get_clock),
) -> MrzOut:
    """Check a machine readable zone (ICAO Doc 9303: TD1, TD2, TD3, MRV-A, MRV-B).

    200 with ``valid`` and every error found; 422 when the input is no MRZ at all.
    """
    del user
    if (body.mrz is None) == (body.lines is None):
        raise HTTPException(
            422,
            'send either "mrz" (the whole zone as text) or "lines" (a list of its lines)',
        )
    given: str | list[str] = body.mrz if body.mrz is not None else body.lines or []
    try:
        result = parse(given, clock.today())
    except MrzUnusable as exc:
        raise HTTPException(422, str(exc)) from exc
    return MrzOut.model_validate(result.as_dict())
