"""Watchlist tables: lists (versioned), person entries and document alerts.

Each version of a list is a ``watchlist`` row with its entries. An import writes the new
version unpublished (``version`` 0, a name of its own) in short transactions, then publishes
it in one: the new row takes the list's name and next version number, the replaced row
becomes unpublished and its entries are deleted after. Readers look at ``PUBLISHED`` rows
only, so they see the old version or the new one, never a mixture.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsela.domain.values import AlertStatus
from tsela.kernel import clock
from tsela.store.models import Base, Record, str_enum


class WatchlistKind(StrEnum):
    PERSON = "person"
    DOCUMENT = "document"


class WatchlistCategory(StrEnum):
    """Why people are on a list; decides what the officer does on a hit."""

    WANTED = "wanted"
    TRAFFICKING_VICTIM = "trafficking"  # a victim of trafficking: protect, do not arrest
    DEPORTATION_ORDER = "deportation"  # under a deportation order
    BANNED_ENTRY = "banned_entry"
    SANCTIONS = "sanctions"
    MISSING_PERSON = "missing_person"
    # a person to protect (a witness, a child in care, a person at risk named by social
    # development): referred to a protection officer, never refused
    PROTECT = "protect"
    OTHER = "other"


class Watchlist(Record, Base):
    __tablename__ = "watchlist"

    name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    kind: Mapped[WatchlistKind] = mapped_column(
        str_enum(WatchlistKind, "watchlist_kind"), nullable=False
    )
    category: Mapped[WatchlistCategory] = mapped_column(
        str_enum(WatchlistCategory, "watchlist_category"), nullable=False
    )
    source: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    entry_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    imported_by: Mapped[str] = mapped_column(String(60), nullable=False)
    imported_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)


# The rows readers look at (version 0: being written by an import, or replaced by one).
PUBLISHED = Watchlist.version > 0


class WatchlistEntry(Record, Base):
    """A person on a list: names as written (first is the primary), partial birth date."""

    __tablename__ = "watchlist_entry"

    watchlist_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("watchlist.id", ondelete="CASCADE"), nullable=False
    )
    external_id: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    names: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    birth_month: Mapped[int | None] = mapped_column(SmallInteger)
    nationalities: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    documents: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    category: Mapped[WatchlistCategory] = mapped_column(
        str_enum(WatchlistCategory, "watchlist_category"), nullable=False
    )
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    line: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # in the imported file
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    __table_args__ = (Index("ix_watchlist_entry_list", "watchlist_id"),)


class DocumentAlert(Record, Base):
    """A lost, stolen or revoked travel document (like Interpol's SLTD database)."""

    __tablename__ = "document_alert"

    watchlist_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("watchlist.id", ondelete="CASCADE"), nullable=False
    )
    issuing_state: Mapped[str] = mapped_column(String(3), nullable=False)
    number: Mapped[str] = mapped_column(String(30), nullable=False)  # upper-case, alphanumeric
    status: Mapped[AlertStatus] = mapped_column(
        str_enum(AlertStatus, "alert_status"), nullable=False
    )
    reported_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    line: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (
        Index("ix_document_alert_number", "issuing_state", "number"),
        Index("ix_document_alert_list", "watchlist_id"),
    )
