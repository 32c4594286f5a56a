"""The observatory's indicators over HTTP (read from the Parquet analytics copy).

Roles: analysts, supervisors, administrators and the NCC secretariat. Indicator values are
aggregates, but fine-grained ones (a small port on one day) can still be about few people,
so they are not public: the public gets the open-data release (``tsela release``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi import Path as Path_

from tsela.api.auth import require
from tsela.api.deps import get_settings
from tsela.api.errors import error_responses
from tsela.api.schemas import (
    IndicatorOut,
    IndicatorValuesOut,
    StandardTableDefOut,
    StandardTablesOut,
)
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.observatory.engine import (
    MissingCopyError,
    NoDataError,
    Observatory,
    ObservatoryError,
    Period,
)
from tsela.observatory.indicators import INDICATORS, REGISTRY, run
from tsela.store.models import User

router = APIRouter(prefix="/v1/indicators", tags=["observatory"])
tables_router = APIRouter(prefix="/v1/standard-tables", tags=["observatory"])

RESERVED = {"from", "to", "port"}


def parquet_dir(settings: Settings) -> Path:
    return settings.var_dir / "parquet"


def open_copy(settings: Settings) -> Observatory:
    try:
        return Observatory(parquet_dir(settings))
    except MissingCopyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None


@router.get("", response_model=list[IndicatorOut], response_model_exclude_unset=True)
def list_indicators(
    _user: User = Depends(require(Permission.OBSERVATORY_READ)),
) -> list[dict[str, Any]]:
    """Every indicator's definition: id, title, description, formula, unit, parameters."""
    return [ind.describe() for ind in INDICATORS]


@router.get(
    "/{indicator_id}",
    response_model=IndicatorValuesOut,
    response_model_exclude_unset=True,
    responses=error_responses(404),
)
def indicator_values(
    indicator_id: str,
    request: Request,
    start: str | None = Query(None, alias="from", description="First day, month or year."),
    end: str | None = Query(None, alias="to", description="Last day, month or year."),
    port: list[str] = Query([], description="Port codes (repeat for several); all if none."),
    _user: User = Depends(require(Permission.OBSERVATORY_READ)),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """An indicator's values for a period and ports; other query parameters are the
    indicator's own (e.g. ``limit_days=30`` for ``stays.overstays``)."""
    if indicator_id not in REGISTRY:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"unknown indicator {indicator_id!r}: known indicators are {', '.join(REGISTRY)}",
        )
    params = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    with open_copy(settings) as obs:
        try:
            period = Period.between(start, end, obs.default_period())
            result = run(obs, indicator_id, period, port, params)
        except NoDataError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        except ObservatoryError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return result.as_dict()


def _definitions() -> list[dict[str, Any]]:
    from tsela.domain.standard_tables import catalogue

    return [
        {
            "id": d.id,
            "title": d.title,
            "description": d.description,
            "standards": [{"code": s.code, "name": s.name, "cite": s.cite} for s in d.standards],
        }
        for d in catalogue().tables.values()
    ]


@tables_router.get("", response_model=list[StandardTableDefOut])
def list_standard_tables(
    _user: User = Depends(require(Permission.OBSERVATORY_READ)),
) -> list[dict[str, Any]]:
    """Every standard table and the standard(s) it follows (UN, ILO, SDG, refusals)."""
    return _definitions()


@tables_router.get("/{month}", response_model=StandardTablesOut, responses=error_responses(404))
def standard_tables(
    month: str = Path_(..., pattern=r"^\d{4}-\d{2}$", description="The month, YYYY-MM."),
    country: str = Query("ZAF", description="The country whose border is counted: ZAF or LSO."),
    threshold: int = Query(10, ge=3, description="Suppress cells with fewer people than this."),
    _user: User = Depends(require(Permission.OBSERVATORY_READ)),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """The standard tables of a month, protected as the open-data release is; a month
    without data is 404 with the months the copy holds."""
    from tsela.observatory.standard_tables import compute

    with open_copy(settings) as obs:
        try:
            result = compute(obs, month, country, threshold)
        except NoDataError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        except ObservatoryError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return result.as_dict()
