"""Queue events at a port: a traveller joined the queue (a ticket issued, a lane sensor) or a
traveller's turn at a desk started ("next traveller" in the console). No personal data: a
ticket number at most. The desks' decisions are the border checks themselves."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tsela.domain.values import Direction
from tsela.store.models import Base, Record, str_enum


class QueueEventKind(StrEnum):
    ARRIVAL = "arrival"
    TURN = "turn"


class QueueEvent(Record, Base):
    __tablename__ = "queue_event"

    port_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("port_of_entry.id"), nullable=False)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "direction"), nullable=False)
    lane: Mapped[str] = mapped_column(String(16), nullable=False, default="general")
    kind: Mapped[QueueEventKind] = mapped_column(
        str_enum(QueueEventKind, "queue_event_kind"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(nullable=False)
    ticket: Mapped[str | None] = mapped_column(String(16))
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))

    __table_args__ = (Index("ix_queue_event_port_time", "port_id", "direction", "at"),)
