"""What every response model shares: refusing fields it does not declare, and the types of
values the answers carry as text (moments, days, ids)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

__all__ = ["Day", "Id", "Moment", "Out"]


def _open_to_additions(schema: dict[str, Any]) -> None:
    # The server never sends an undeclared field (``extra="forbid"`` makes one a 500 that
    # the tests catch), but a client must not break when a later version adds one.
    schema.pop("additionalProperties", None)


class Out(BaseModel):
    """A response model. An answer built as a dict is validated against it, and a key the
    model does not declare is an error, not silently dropped: the model is the whole
    answer, as /openapi.json publishes it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_open_to_additions)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


# A moment with its UTC offset, written as Python's isoformat writes it (``+00:00``, not the
# ``Z`` pydantic would write), so typing an answer does not change a byte of it.
Moment = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Day = date
Id = uuid.UUID
