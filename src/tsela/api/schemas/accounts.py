"""Accounts: signing in and out, who am I, and the administrator's user list."""

from __future__ import annotations

import uuid

from tsela.api.schemas.common import Out
from tsela.domain.values import Role

__all__ = ["AccessOut", "MeOut", "SignedOutOut", "TokenOut", "UserOut"]


class TokenOut(Out):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: Role


class MeOut(Out):
    username: str
    full_name: str
    role: Role
    node: str


class SignedOutOut(Out):
    signed_out: bool
    other_tokens_revoked: int = 0
    other_sessions_ended: int = 0


class UserOut(Out):
    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    active: bool
    node: str


class AccessOut(Out):
    username: str
    active: bool
    tokens_revoked: int
    sessions_ended: int
