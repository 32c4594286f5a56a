"""Administrators manage accounts: list, deactivate, reactivate, revoke every credential."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from tsela.api.auth import require
from tsela.api.deps import get_session
from tsela.api.errors import error_responses
from tsela.api.schemas import AccessOut, UserOut
from tsela.kernel.access import Permission
from tsela.services import accounts
from tsela.store.models import User

router = APIRouter(prefix="/v1/users", tags=["users"])
MANAGE_USERS = require(Permission.USERS_MANAGE)


def _out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        active=user.active,
        node=user.node,
    )


@router.get("", response_model=list[UserOut])
def list_users(
    _admin: User = Depends(MANAGE_USERS), session: Session = Depends(get_session)
) -> list[UserOut]:
    """Administrators: every account, active or not."""
    return [_out(u) for u in accounts.list_users(session)]


def _change(
    request: Request, session: Session, username: str, change: str, admin: User
) -> AccessOut:
    try:
        if change == "revoke":
            revoked = accounts.revoke_user_credentials(session, username, actor=admin.username)
        else:
            revoked = accounts.set_active(
                session, username, change == "enable", actor=admin.username
            )
        user = accounts.find_user(session, username)
    except accounts.AccountError as exc:
        session.rollback()
        code = status.HTTP_404_NOT_FOUND if str(exc).startswith("no user") else 409
        raise HTTPException(code, str(exc)) from None
    session.commit()
    # This worker stops trusting the user's tokens now; the others within TSELA_TOKEN_CACHE_MS.
    request.app.state.token_users.forget_user(user.id)
    return AccessOut(
        username=user.username,
        active=user.active,
        tokens_revoked=revoked.tokens,
        sessions_ended=revoked.sessions,
    )


@router.post("/{username}/disable", response_model=AccessOut, responses=error_responses(404, 409))
def disable(
    username: str,
    request: Request,
    admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> AccessOut:
    """Administrators: deactivate an account; its tokens and sessions stop working."""
    return _change(request, session, username, "disable", admin)


@router.post("/{username}/enable", response_model=AccessOut, responses=error_responses(404, 409))
def enable(
    username: str,
    request: Request,
    admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> AccessOut:
    """Administrators: reactivate an account (it signs in again; old tokens stay revoked)."""
    return _change(request, session, username, "enable", admin)


@router.post(
    "/{username}/revoke-tokens", response_model=AccessOut, responses=error_responses(404, 409)
)
def revoke_tokens(
    username: str,
    request: Request,
    admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> AccessOut:
    """Administrators: end every token and browser session of an account (e.g. a lost
    laptop); the user signs in again."""
    return _change(request, session, username, "revoke", admin)
