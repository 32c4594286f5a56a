"""One use case per route: commit what succeeded, answer a service's refusal with its status."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@contextmanager
def service_errors(
    session: Session | None,
    known: type[Exception] | tuple[type[Exception], ...],
    to_http: Callable[[Exception], HTTPException],
) -> Iterator[None]:
    """Run the block in the request's transaction and commit it (reads pass ``None``: nothing
    to keep). An exception of a ``known`` type keeps nothing and becomes ``to_http(exc)``;
    anything else propagates as it is (a bug, not a refusal)."""
    try:
        yield
        if session is not None:
            session.commit()
    except known as exc:
        if session is not None:
            session.rollback()
        raise to_http(exc) from exc


def _encodable(value: Any) -> Any:
    """``value`` with every lone UTF-16 surrogate replaced by U+FFFD (which UTF-8 can write)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    return value


async def request_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422 answer, which repeats the input, made writable: a JSON body may
    carry an escape such as "\\ud800" (a lone surrogate), which UTF-8 cannot encode, and the
    default answer then failed with a 500."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        status_code=422, content={"detail": _encodable(jsonable_encoder(exc.errors()))}
    )
