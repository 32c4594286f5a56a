"""Crossings received from the partner node, kept as they arrived, for exit/entry matching.

The partner owns these records: they keep the partner's UUIDv7 ``id`` and ``node`` and are
never edited here. Applying a batch twice changes nothing (a row whose id is known is
skipped), so the exchange can retry a pull after a crash without duplicating anything.

Fields outside the border agreement may be withheld by the partner (data minimisation),
so the person's particulars are optional; what matching needs (port, direction, country,
time, document) is required.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Date, Index, String, Uuid
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from tsela.domain.values import Decision, Direction, Sex
from tsela.kernel import clock
from tsela.store.models import Base, str_enum

E = TypeVar("E", Direction, Sex, Decision)

FIELDS = (
    "id",
    "node",
    "port_code",
    "direction",
    "country",
    "crossed_at",
    "document_number",
    "document_country",
    "nationality",
    "surname",
    "given_names",
    "birth_date",
    "sex",
    "decision",
)
REQUIRED = frozenset(
    {
        "id",
        "node",
        "port_code",
        "direction",
        "country",
        "crossed_at",
        "document_number",
        "document_country",
    }
)


class PartnerCrossing(Base):
    """One entry or exit the partner node recorded at one of its ports."""

    __tablename__ = "partner_crossing"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the partner's id
    node: Mapped[str] = mapped_column(String(2), nullable=False)  # the partner that made it
    port_code: Mapped[str] = mapped_column(String(8), nullable=False)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "direction"), nullable=False)
    country: Mapped[str] = mapped_column(String(3), nullable=False)  # country entered or left
    crossed_at: Mapped[datetime] = mapped_column(nullable=False)
    document_number: Mapped[str] = mapped_column(String(20), nullable=False)
    document_country: Mapped[str] = mapped_column(String(3), nullable=False)  # issuing state
    nationality: Mapped[str | None] = mapped_column(String(3))
    surname: Mapped[str | None] = mapped_column(String(120))
    given_names: Mapped[str | None] = mapped_column(String(160))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[Sex | None] = mapped_column(str_enum(Sex, "sex"))
    decision: Mapped[Decision | None] = mapped_column(str_enum(Decision, "decision"))
    received_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)

    __table_args__ = (
        # The check's "other side" look-up and the matcher's document join.
        Index("ix_partner_crossing_document_time", "document_number", "crossed_at"),
        # The per-port, per-day matching report.
        Index("ix_partner_crossing_port_time", "port_code", "crossed_at"),
    )


def _alpha(value: Any, field: str, length: int) -> str:
    if not isinstance(value, str) or len(value) != length or not value.isalpha():
        raise ValueError(f"{field}: expected {length} letters, got {value!r}")
    return value.upper()


def _text(value: Any, field: str, max_len: int, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"{field}: required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected text, got {type(value).__name__}")
    value = value.strip()
    if len(value) > max_len:
        raise ValueError(f"{field}: longer than {max_len} characters")
    if required and not value:
        raise ValueError(f"{field}: required")
    return value


def _when(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"crossed_at: not an ISO 8601 time: {value!r}") from None
    if not isinstance(value, datetime):
        raise ValueError(f"crossed_at: expected an ISO 8601 time, got {value!r}")
    if value.tzinfo is None:
        raise ValueError(f"crossed_at: {value.isoformat()} has no time zone (UTC expected)")
    return value.astimezone(UTC)


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise ValueError(f"birth_date: expected a date, got a time {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"birth_date: not an ISO date: {value!r}")


def _choice(value: Any, field: str, enum: type[E], *, required: bool) -> E | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"{field}: required")
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ValueError(f"{field}: {value!r} is not one of {allowed}") from None


def validate_row(node: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """One received row as column values; ValueError naming the first bad field."""
    unknown = set(row) - set(FIELDS) - {"received_at"}
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: not a partner crossing field")
    for field in sorted(REQUIRED):
        if row.get(field) in (None, ""):
            raise ValueError(f"{field}: required")
    raw_id = row["id"]
    try:
        row_id = raw_id if isinstance(raw_id, uuid.UUID) else uuid.UUID(str(raw_id))
    except ValueError:
        raise ValueError(f"id: not a UUID: {raw_id!r}") from None
    row_node = _alpha(row["node"], "node", 2)
    if row_node != node.upper():
        # A partner speaks only for its own records.
        raise ValueError(f"node: row made by {row_node} arrived from {node.upper()}")
    return {
        "id": row_id,
        "node": row_node,
        "port_code": _text(row["port_code"], "port_code", 8, required=True),
        "direction": _choice(row["direction"], "direction", Direction, required=True),
        "country": _alpha(row["country"], "country", 3),
        "crossed_at": _when(row["crossed_at"]),
        "document_number": _text(row["document_number"], "document_number", 20, required=True),
        "document_country": _alpha(row["document_country"], "document_country", 3),
        "nationality": (
            None
            if row.get("nationality") in (None, "")
            else _alpha(row["nationality"], "nationality", 3)
        ),
        "surname": _text(row.get("surname"), "surname", 120, required=False),
        "given_names": _text(row.get("given_names"), "given_names", 160, required=False),
        "birth_date": _day(row.get("birth_date")),
        "sex": _choice(row.get("sex"), "sex", Sex, required=False),
        "decision": _choice(row.get("decision"), "decision", Decision, required=False),
    }


def apply_partner_crossings(session: Session, node: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Store the crossings partner ``node`` sent; returns how many were new.

    Every row is validated before anything is written (one bad row: ValueError naming the
    field and the row, nothing stored). A row whose id is already stored is skipped, so a
    batch applied twice adds nothing the second time.
    """
    values: dict[uuid.UUID, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        try:
            clean = validate_row(node, row)
        except ValueError as exc:
            raise ValueError(f"partner crossing {i}: {exc}") from None
        values.setdefault(clean["id"], clean)
    if not values:
        return 0
    received_at = clock.now()
    params = [{**v, "received_at": received_at} for v in values.values()]
    table = PartnerCrossing.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
    return len(session.execute(stmt, params).all())
