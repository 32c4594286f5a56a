"""Refusals: what a service answers when it will not do what it was asked, written once.

A service raises one of five kinds, never an HTTP status:

- ``Invalid``: the request's values are refused (a field missing, a date out of range);
- ``NotFound``: what the request names does not exist (or may not be known to this caller);
- ``Forbidden``: the caller may not do this (their port, their employer, their role);
- ``Conflict``: the current state does not allow it (already done, a transition not allowed);
- ``Unavailable``: something the service needs is away (keys, a file, another system).

Each carries a stable machine ``code`` (``"check.no_check"``), the ``values`` its words name,
the English words (``message``: what the API answers and logs) and, when the refusal itself
must be audited, an ``AuditNote`` written after the unit of work is rolled back. Words are
attached at the edge: ``tsela.api.errors`` translates a kind to its HTTP status once, and
``tsela.web.errors`` says the code in the reader's language (its catalogue of gettext
messages), falling back to the English words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AuditNote:
    """An audit entry a refusal asks for (``detail`` gains the refusal's words when written)."""

    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any] = field(default_factory=dict)


class TselaError(Exception):
    """A refusal by a service: ``code``, its ``values``, the English ``message``, an optional
    ``audit`` note. ``template`` is the English words with ``%(name)s`` for each value."""

    kind = "refused"

    def __init__(
        self,
        code: str,
        template: str,
        /,
        *,
        audit: AuditNote | None = None,
        **values: Any,
    ) -> None:
        message = template % values if values else template
        super().__init__(message)
        self.code = code
        self.template = template
        self.values = values
        self.message = message
        self.audit = audit

    def __str__(self) -> str:
        return self.message


class Invalid(TselaError):
    """The request's values are refused."""

    kind = "invalid"


class NotFound(TselaError):
    """What the request names does not exist (or the caller may not know it does)."""

    kind = "not_found"


class Forbidden(TselaError):
    """The caller may not do this."""

    kind = "forbidden"


class Conflict(TselaError):
    """The current state does not allow it (already done, a transition not allowed)."""

    kind = "conflict"


class Unavailable(TselaError):
    """Something the service needs is away; trying again later may succeed."""

    kind = "unavailable"


KINDS: tuple[type[TselaError], ...] = (NotFound, Forbidden, Conflict, Unavailable, Invalid)
"""The kinds, most specific answer first (a class deriving from two answers as the first)."""


def kind_of(exc: TselaError) -> type[TselaError]:
    """The kind an error answers as: the first of its classes' kinds in its MRO."""
    for cls in type(exc).__mro__:
        if cls in KINDS:
            return cls
    return Invalid
