"""Refusals of entry and entry bans, this node's own and those received from the partner.

A partner's record keeps the partner's UUIDv7 ``id`` and ``node``; the columns that only the
issuing node knows (the officer, the person and check rows, the remarks) are empty in it.
The traveller is named by the document and by name, birth date and nationality, so a ban
reaches the traveller at either node's border.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tsela.store.models import Base, Record


class Refusal(Record, Base):
    """An officer refused a traveller entry: when, where, on which grounds."""

    __tablename__ = "refusal"

    country: Mapped[str] = mapped_column(String(3), nullable=False)  # refused entry into
    port_code: Mapped[str] = mapped_column(String(8), nullable=False)
    refused_at: Mapped[datetime] = mapped_column(nullable=False)
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    officer_name: Mapped[str] = mapped_column(String(160), nullable=False, default="")
    check_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the check it was made from
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"))
    surname: Mapped[str] = mapped_column(String(120), nullable=False)
    given_names: Mapped[str] = mapped_column(String(160), nullable=False, default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    nationality: Mapped[str] = mapped_column(String(3), nullable=False)
    document_country: Mapped[str | None] = mapped_column(String(3))
    document_number: Mapped[str | None] = mapped_column(String(20))
    grounds: Mapped[list[str]] = mapped_column(JSON, nullable=False)  # codes A-I
    grounds_version: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    remarks: Mapped[str] = mapped_column(Text, nullable=False, default="")

    __table_args__ = (
        Index("ix_refusal_time", "refused_at"),
        Index("ix_refusal_document", "document_country", "document_number"),
        Index("ix_refusal_check", "check_id"),
    )


class EntryBan(Record, Base):
    """The traveller may not enter ``issuing_country`` from ``starts_on`` to ``ends_on``."""

    __tablename__ = "entry_ban"

    issuing_country: Mapped[str] = mapped_column(String(3), nullable=False)
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)
    ground: Mapped[str | None] = mapped_column(String(2))  # a refusal ground code, if any
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    lifted_on: Mapped[date | None] = mapped_column(Date)
    refusal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    issued_by: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"))
    surname: Mapped[str] = mapped_column(String(120), nullable=False)
    given_names: Mapped[str] = mapped_column(String(160), nullable=False, default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    nationality: Mapped[str] = mapped_column(String(3), nullable=False)
    document_country: Mapped[str | None] = mapped_column(String(3))
    document_number: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (
        Index("ix_entry_ban_document", "document_country", "document_number"),
        Index("ix_entry_ban_person", "person_id"),
        Index("ix_entry_ban_name_birth", "surname", "birth_date"),
    )


class EntryBanChange(Record, Base):
    """A ban lifted or shortened: approved by a supervisor, with the reason."""

    __tablename__ = "entry_ban_change"

    ban_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entry_ban.id"), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)  # lift / shorten
    old_end: Mapped[date] = mapped_column(Date, nullable=False)
    new_end: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    appeal_reference: Mapped[str | None] = mapped_column(String(80))
    approved_by: Mapped[str] = mapped_column(String(60), nullable=False)

    __table_args__ = (Index("ix_entry_ban_change_ban", "ban_id"),)


def as_dict(row: Any) -> dict[str, Any]:
    """A row's columns, for answers (UUIDs, dates and times as text)."""
    out: dict[str, Any] = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, datetime | date):
            value = value.isoformat()
        out[column.key] = value
    return out
