"""Error answers: one model for every refusal the API gives, declared on every route so that
/openapi.json tells the truth; the one translation of a service's refusal (``tsela.kernel.errors``)
to its HTTP status; and one use case per route (commit what succeeded, answer a service's
refusal with its status)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tsela.kernel.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TselaError,
    Unavailable,
    kind_of,
)

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class FieldProblem(BaseModel):
    """One part of a request that does not fit its description (FastAPI's own shape)."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then names")
    msg: str
    type: str


class LineProblem(BaseModel):
    line: int
    message: str


class FileProblems(BaseModel):
    """An uploaded file refused as a whole, with its bad lines (the first hundred)."""

    message: str
    errors: list[LineProblem]


class ErrorOut(BaseModel):
    """Every error answer of the API. ``detail`` says what went wrong in words; a request that
    does not fit its description gets the list of its problems instead (422), and a refused
    file its bad lines."""

    detail: str | list[FieldProblem] | FileProblems


WHY: dict[int, str] = {
    400: "The body could not be read (not JSON, or not the encoding it declares)",
    401: "Not signed in: send a Bearer token or a session cookie",
    403: "Signed in, but not allowed to do this (role, port or ownership)",
    404: "Not found",
    405: "Method not allowed: the Allow header lists the methods this path has",
    409: "In conflict with the current state (already done, or a transition not allowed)",
    413: "The body or file is too large",
    422: "The request does not fit its description, or the values are refused",
    429: "Too many attempts: wait as Retry-After says",
    503: "Busy or not ready (e.g. the database away): try again as Retry-After says",
}


STATUS: dict[type[TselaError], int] = {
    Invalid: 422,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Unavailable: 503,
}
"""The HTTP status of each kind of refusal, the one place services' errors meet HTTP."""


def status_of(exc: TselaError) -> int:
    return STATUS[kind_of(exc)]


def _record_refusal(request: Request, exc: TselaError) -> None:
    """The audit entry the refusal asks for, in a session of its own: the request's session
    was closed (and its work rolled back) before exception handlers run."""
    from tsela.api.auth import client_source
    from tsela.services import audit

    user = getattr(request.state, "user", None)
    with request.app.state.sessions() as session:
        audit.record_refusal(
            session,
            exc,
            actor=user.username if user is not None else "",
            node=request.app.state.settings.node,
            source=client_source(request),
        )
        session.commit()


async def refused(request: Request, exc: Exception) -> JSONResponse:
    """A service's refusal as an API answer: its status, ``{"detail": <its English words>}``;
    the refusal audited when it asks to be (nothing of the refused work is kept)."""
    assert isinstance(exc, TselaError)
    if exc.audit is not None:
        await run_in_threadpool(_record_refusal, request, exc)
    return JSONResponse(status_code=status_of(exc), content={"detail": _encodable(exc.message)})


def install(app: FastAPI) -> None:
    """Answer every service refusal (``TselaError`` and its kinds) the one way."""
    app.add_exception_handler(TselaError, refused)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each answered with ``ErrorOut``."""
    return {s: {"model": ErrorOut, "description": WHY[s]} for s in statuses}


def declare_common_errors(
    doc: dict[str, Any], routes: Iterable[APIRoute], *, needs_role: Callable[[APIRoute], bool]
) -> None:
    """Declare in the OpenAPI document ``doc`` the errors any route can give, beside those it
    declares itself (``responses=error_responses(...)``): 503 on every route (admission
    control, the database away), 401 and 403 where a role is required, 400 and 413 where a
    body is read, 422 where a body or parameters are. FastAPI's own 422 (a list only, which Tsela's
    own 422 answers do not match) becomes ``ErrorOut``."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    found = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(found.pop("$defs", {}))
    schemas["ErrorOut"] = found
    answer = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for route in routes:
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = doc["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            statuses = [503]
            if needs_role(route):
                statuses += [401, 403]
            if "requestBody" in operation:
                statuses += [400, 413, 422]  # 413: bodies are limited before anything else
            elif operation.get("parameters"):
                statuses.append(422)
            responses = operation.setdefault("responses", {})
            if "HTTPValidationError" in json.dumps(responses.get("422", {})):  # FastAPI's own
                responses["422"] = {"description": WHY[422], "content": answer}
            for status in statuses:
                responses.setdefault(str(status), {"description": WHY[status], "content": answer})
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and f'"#/components/schemas/{unused}"' not in json.dumps(doc):
            del schemas[unused]


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
