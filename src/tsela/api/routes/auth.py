"""Signing in: exchange a username and password for an API token."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tsela.api.auth import client_source, require_roles
from tsela.api.deps import get_session, get_settings
from tsela.config import Settings
from tsela.services import accounts
from tsela.store.models import Role, User

router = APIRouter(prefix="/v1/auth", tags=["auth"])

TOKEN_TTL = timedelta(hours=12)


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: Role


class MeOut(BaseModel):
    username: str
    full_name: str
    role: Role
    node: str


@router.post("/login", response_model=TokenOut)
def login(
    body: LoginIn,
    request: Request,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> TokenOut:
    """Public: this is how a caller gets a token. Rate-limited per account and address."""
    try:
        user = accounts.authenticate(
            session,
            node=settings.node,
            username=body.username,
            password=body.password,
            source=client_source(request),
        )
    except accounts.LoginRefused as exc:
        session.commit()  # the failure is audited and counts towards the limit
        if exc.retry_after is not None:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                str(exc),
                headers={"Retry-After": str(exc.retry_after)},
            ) from None
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    token = accounts.issue_api_token(session, user, label="login", ttl=TOKEN_TTL)
    session.commit()
    return TokenOut(access_token=token, expires_in=int(TOKEN_TTL.total_seconds()), role=user.role)


@router.get("/me", response_model=MeOut)
def me(user: User = Depends(require_roles(*Role))) -> MeOut:
    """Any signed-in user: who am I?"""
    return MeOut(username=user.username, full_name=user.full_name, role=user.role, node=user.node)
