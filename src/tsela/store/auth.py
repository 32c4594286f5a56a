"""Credentials: API tokens and browser sessions (only hashes of secrets are stored)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from tsela.ids import new_id
from tsela.store.models import Base, Record


class ApiToken(Record, Base):
    __tablename__ = "api_token"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    label: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class WebSession(Record, Base):
    __tablename__ = "web_session"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_web_session_user", "user_id"),)


class LoginThrottle(Record, Base):
    """Sign-in attempts counted for one key: an account (``user:``), an address (``from:``)
    or an account from one address (``pair:``). Counted with single atomic UPDATEs, so
    parallel guesses cannot all slip under a limit."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_allowed_at: Mapped[datetime | None] = mapped_column()
    last_failure_at: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()


def add_throttle_key(session: Session, node: str, key: str, now: datetime) -> None:
    """The row that counts attempts for ``key``, made if it is not there yet (parallel
    first attempts all succeed: the database keeps one row)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginThrottle.__table__)
        .values(id=new_id(), node=node, created_at=now, key=key, failures=0)
        .on_conflict_do_nothing(index_elements=["key"])
    )


def seconds_until_allowed(session: Session, key: str, now: datetime) -> int:
    """How long a refused attempt on ``key`` must wait (at least a second)."""
    until = session.scalar(select(LoginThrottle.next_allowed_at).where(LoginThrottle.key == key))
    return max(1, math.ceil((until - now).total_seconds())) if until else 1
