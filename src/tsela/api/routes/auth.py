"""Signing in: exchange a username and password for an API token."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tsela.api.auth import SESSION_COOKIE, bearer_secret, client_source, require
from tsela.api.deps import get_session, get_settings
from tsela.api.errors import error_responses
from tsela.api.schemas import MeOut, SignedOutOut, TokenOut
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.services import accounts
from tsela.store.models import User

router = APIRouter(prefix="/v1/auth", tags=["auth"])

TOKEN_TTL = timedelta(hours=12)


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


@router.post("/login", response_model=TokenOut, responses=error_responses(401, 429))
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
def me(user: User = Depends(require(Permission.SIGNED_IN))) -> MeOut:
    """Any signed-in user: who am I?"""
    return MeOut(username=user.username, full_name=user.full_name, role=user.role, node=user.node)


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


@router.post("/logout", response_model=SignedOutOut)
def logout(
    request: Request,
    user: User = Depends(require(Permission.SIGNED_IN)),
    session: Session = Depends(get_session),
) -> SignedOutOut:
    """Any signed-in user: revoke the token this request carries (or end its browser
    session). Other workers stop trusting the token within TSELA_TOKEN_CACHE_MS."""
    secret = bearer_secret(request)
    if secret is not None:
        accounts.revoke_token(session, secret)
        request.app.state.token_users.forget(secret)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        accounts.end_session(session, cookie)
    session.commit()
    return SignedOutOut(signed_out=True)


@router.post("/password", response_model=SignedOutOut, responses=error_responses(429))
def change_password(
    body: PasswordIn,
    request: Request,
    user: User = Depends(require(Permission.SIGNED_IN)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> SignedOutOut:
    """Any signed-in user: change their own password (the current one is checked and
    throttled as at sign-in). Every other token and session of theirs ends; this one goes on."""
    token = bearer_secret(request)
    try:
        revoked = accounts.change_own_password(
            session,
            user,
            node=settings.node,
            current=body.current_password,
            new=body.new_password,
            source=client_source(request),
            keep_token=token,
            keep_session=None if token else request.cookies.get(SESSION_COOKIE),
        )
    except accounts.LoginRefused as exc:
        session.commit()  # the failed proof counts towards the throttle
        if exc.retry_after is not None:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                str(exc),
                headers={"Retry-After": str(exc.retry_after)},
            ) from None
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the current password is wrong") from None
    except accounts.AccountError as exc:
        session.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    session.commit()
    request.app.state.token_users.forget_user(user.id)
    return SignedOutOut(
        signed_out=False,
        other_tokens_revoked=revoked.tokens,
        other_sessions_ended=revoked.sessions,
    )
