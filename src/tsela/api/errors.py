"""One use case per route: commit what succeeded, answer a service's refusal with its status."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi import HTTPException
from sqlalchemy.orm import Session


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
