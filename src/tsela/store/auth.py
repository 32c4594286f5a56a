"""Credentials: API tokens and browser sessions (only hashes of secrets are stored)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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
