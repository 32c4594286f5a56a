"""Pre-arrival declarations (issue 20, item 3): what a traveller declared on a phone, bound
to their passport, and whether a border check has used it (a declaration serves once)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsela.domain.values import Direction
from tsela.store.models import Base, Record, str_enum


class Declaration(Record, Base):
    __tablename__ = "declaration"

    reference: Mapped[str] = mapped_column(String(8), nullable=False, unique=True)
    issuing_state: Mapped[str] = mapped_column(String(3), nullable=False)
    document_number: Mapped[str] = mapped_column(String(20), nullable=False)  # normalised
    birth_date: Mapped[date] = mapped_column(Date, nullable=False)
    port_code: Mapped[str] = mapped_column(String(8), nullable=False)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "direction"), nullable=False)
    purpose: Mapped[str] = mapped_column(String(24), nullable=False)
    address: Mapped[str] = mapped_column(Text, nullable=False)
    stay_days: Mapped[int] = mapped_column(Integer, nullable=False)
    # [{"name": ..., "birth_date": "YYYY-MM-DD"}, ...]
    children: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    valid_until: Mapped[datetime] = mapped_column(nullable=False)
    kid: Mapped[str] = mapped_column(String(64), nullable=False)  # the key that signed its QR
    used_at: Mapped[datetime | None] = mapped_column()
    used_port: Mapped[str | None] = mapped_column(String(8))
    used_by: Mapped[str | None] = mapped_column(String(60))  # the officer's username

    __table_args__ = (
        Index("ix_declaration_document", "issuing_state", "document_number"),
        Index("ix_declaration_valid_until", "valid_until"),
    )
