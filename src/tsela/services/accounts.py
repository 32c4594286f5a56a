"""Users, passwords (argon2), API tokens, browser sessions and login rate limiting."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import String, bindparam, case, func, literal, null, or_, select, update
from sqlalchemy.orm import Session

from tsela.domain import throttle
from tsela.kernel import clock, errors
from tsela.reference import port as port_info
from tsela.services import audit
from tsela.store.auth import (
    ApiToken,
    LoginThrottle,
    WebSession,
    add_throttle_key,
    seconds_until_allowed,
)
from tsela.store.models import AuditEvent, PortOfEntry, Role, User
from tsela.store.types import UTCDateTime

hasher = PasswordHasher()

SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=12)
MIN_PASSWORD = 10
# A sign-in names a username of up to 60 characters; an audit entry's entity_id holds fewer
# (PostgreSQL refused the longer ones, and the sign-in answered 500).
_ENTITY_ID = AuditEvent.__table__.c.entity_id.type
assert isinstance(_ENTITY_ID, String) and _ENTITY_ID.length is not None
ENTITY_ID_LENGTH: int = _ENTITY_ID.length


class AccountError(errors.Invalid, ValueError):
    """A user-facing problem with an account operation: the English message, and a ``code``
    (with the values it names in ``values``) for pages that say it in the reader's language
    (``tsela.web.errors.MESSAGES``)."""

    def __init__(self, message: str, code: str = "", **values: Any) -> None:
        super().__init__(code or "account.refused", message.replace("%", "%%"), **values)
        self.message = message


class LoginRefused(Exception):
    """Wrong credentials, or (``retry_after`` seconds) an attempt that must wait."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def locked(self) -> bool:
        return self.retry_after is not None


def hash_secret(secret: str) -> str:
    """Tokens are random and long, so a fast hash is enough (unlike passwords)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    node: str,
    username: str,
    password: str,
    role: Role | str,
    full_name: str = "",
    port_code: str | None = None,
    employer_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    actor: str = "system",
) -> User:
    role = Role(role)
    username = username.strip().lower()
    if not username or len(username) > 60:
        raise AccountError("username must be 1 to 60 characters", "username_length")
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"password must have at least {MIN_PASSWORD} characters",
            "password_short",
            min=MIN_PASSWORD,
        )
    if session.scalar(select(User.id).where(User.username == username)):
        raise AccountError(f"user {username!r} already exists", "user_exists", username=username)
    port_id = None
    if role is Role.BORDER_OFFICER and not port_code:
        raise AccountError(
            "a border officer must be posted at a port (give a port code)", "port_required"
        )
    if port_code:
        code = port_info(port_code).code  # raises UnknownPortError with the known codes
        port_id = session.scalar(select(PortOfEntry.id).where(PortOfEntry.code == code))
        if port_id is None:
            raise AccountError(
                f"port {code} is not loaded in this database; run `tsela init`",
                "port_not_loaded",
                port=code,
            )
    user = User(
        node=node,
        username=username,
        full_name=full_name,
        password_hash=hasher.hash(password),
        role=role,
        port_id=port_id,
        employer_id=employer_id,
        person_id=person_id,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        node=node,
        entity="user",
        entity_id=user.id,
        detail={"username": username, "role": role.value, "port": port_code},
    )
    return user


@dataclass(frozen=True)
class _Held:
    policy: throttle.Policy
    key: str
    failures: int  # counting this attempt


def _reserve(
    session: Session, node: str, policy: throttle.Policy, key: str, now: datetime
) -> _Held | int:
    """Count this attempt against ``key`` in one atomic UPDATE, if the key lets it through;
    else the seconds to wait. Past the free failures the key is held while the password is
    checked, so of parallel guesses exactly one gets through."""
    t = LoginThrottle.__table__.c
    add_throttle_key(session, node, key, now)
    forgotten = or_(t.last_failure_at.is_(None), t.last_failure_at < now - throttle.FORGET_AFTER)
    counted = case((forgotten, 1), else_=t.failures + 1)
    hold = literal(now + throttle.CHECK_HOLD, UTCDateTime())
    row = session.execute(
        update(LoginThrottle.__table__)
        .where(
            t.key == key,
            or_(
                forgotten,
                t.failures < policy.free,
                t.next_allowed_at.is_(None),
                t.next_allowed_at <= now,
            ),
        )
        .values(
            failures=counted,
            next_allowed_at=case((counted >= policy.free, hold), else_=null()),
            last_failure_at=now,
        )
        .returning(t.failures)
    ).first()
    if row is not None:
        return _Held(policy, key, row[0])
    return seconds_until_allowed(session, key, now)


def _release(session: Session, held: _Held, now: datetime) -> None:
    """Take back an attempt that checked no password (or succeeded): it is no failure."""
    t = LoginThrottle.__table__.c
    values: dict[str, object] = {"failures": case((t.failures > 0, t.failures - 1), else_=0)}
    if held.failures >= held.policy.free:
        values["next_allowed_at"] = now  # end the hold
    session.execute(update(LoginThrottle.__table__).where(t.key == held.key).values(**values))


def _known_source(session: Session, pair_key: str, now: datetime) -> bool:
    last = session.scalar(
        select(LoginThrottle.last_success_at).where(LoginThrottle.key == pair_key)
    )
    return last is not None and last >= now - throttle.KNOWN_SOURCE


def authenticate(
    session: Session,
    *,
    node: str,
    username: str,
    password: str,
    source: str,
    now: datetime | None = None,
) -> User:
    """Check a password, unless this account, address or pair must wait (``LoginRefused``
    with ``retry_after``; see ``tsela.domain.throttle``). Audits success, failure and refusal.

    Commits: each attempt is counted in its own short transaction *before* the password is
    checked, so parallel guesses see each other's count.
    """
    now = now or clock.now()
    username = username.strip().lower()
    pair_key = throttle.key(throttle.PAIR, username=username, source=source)
    policies = [throttle.PAIR]
    if not _known_source(session, pair_key, now):
        policies.append(throttle.ACCOUNT)
    policies.append(throttle.SOURCE)
    held: list[_Held] = []
    for policy in policies:
        got = _reserve(
            session, node, policy, throttle.key(policy, username=username, source=source), now
        )
        if isinstance(got, int):
            for earlier in held:
                _release(session, earlier, now)
            audit.record(
                session,
                actor=username or "-",
                action="login.throttled",
                node=node,
                entity="user",
                entity_id=username[:ENTITY_ID_LENGTH],  # the actor holds the whole name
                source=source,
                detail={"scope": policy.scope, "retry_after": got},
            )
            session.commit()
            raise LoginRefused(
                f"too many failed sign-ins: try again in {got} seconds", retry_after=got
            )
        held.append(got)
    session.commit()  # the attempt is counted before the (slow) password check
    user = session.scalar(select(User).where(User.username == username))
    ok = False
    if user is not None and user.active:
        try:
            ok = hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        # Same cost whether or not the user exists, so timing does not reveal accounts.
        hasher.hash(password)
    t = LoginThrottle.__table__.c
    if not ok or user is None:
        for h in held:
            if h.failures >= h.policy.free:  # end the hold: wait, doubling with each failure
                session.execute(
                    update(LoginThrottle.__table__)
                    .where(t.key == h.key)
                    .values(next_allowed_at=now + h.policy.wait_after(h.failures))
                )
        audit.record(
            session,
            actor=username or "-",
            action="login.failed",
            node=node,
            entity="user",
            entity_id=username[:ENTITY_ID_LENGTH],
            source=source,
        )
        raise LoginRefused("wrong username or password")
    for h in held:
        if h.policy is throttle.PAIR:
            session.execute(
                update(LoginThrottle.__table__)
                .where(t.key == h.key)
                .values(failures=0, next_allowed_at=null(), last_success_at=now)
            )
        else:
            _release(session, h, now)
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    audit.record(
        session,
        actor=username,
        action="login.ok",
        node=node,
        entity="user",
        entity_id=user.id,
        source=source,
    )
    return user


def issue_api_token(
    session: Session, user: User, *, label: str = "", ttl: timedelta | None = None
) -> str:
    secret = "tsela_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            node=user.node,
            user_id=user.id,
            token_hash=hash_secret(secret),
            label=label,
            expires_at=(clock.now() + ttl) if ttl else None,
        )
    )
    session.flush()
    return secret


# Built once: every authenticated API request runs it (building and keying a statement
# costs more than running it).
_TOKEN_USER = (
    select(ApiToken.revoked_at, ApiToken.expires_at, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def user_for_token(session: Session, secret: str, now: datetime | None = None) -> User | None:
    now = now or clock.now()
    row = session.execute(_TOKEN_USER, {"token_hash": hash_secret(secret)}).first()
    if row is None:
        return None
    revoked_at, expires_at, user = row
    if revoked_at is not None or (expires_at is not None and expires_at <= now):
        return None
    return user if user.active else None


@dataclass(frozen=True)
class NewSession:
    secret: str
    csrf_token: str
    expires_at: datetime


def start_session(session: Session, user: User, now: datetime | None = None) -> NewSession:
    now = now or clock.now()
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + SESSION_MAX
    session.add(
        WebSession(
            node=user.node,
            user_id=user.id,
            token_hash=hash_secret(secret),
            csrf_token=csrf,
            expires_at=expires,
            last_seen_at=now,
        )
    )
    session.flush()
    return NewSession(secret=secret, csrf_token=csrf, expires_at=expires)


def session_user(
    session: Session, secret: str, now: datetime | None = None
) -> tuple[User, WebSession] | None:
    """The user of a live browser session; idle or old sessions have expired."""
    now = now or clock.now()
    web = session.scalar(select(WebSession).where(WebSession.token_hash == hash_secret(secret)))
    if web is None or web.ended_at is not None or web.expires_at <= now:
        return None
    if now - web.last_seen_at > SESSION_IDLE:
        return None
    user = session.get(User, web.user_id)
    if user is None or not user.active:
        return None
    web.last_seen_at = now
    return user, web


def end_session(session: Session, secret: str) -> None:
    web = session.scalar(select(WebSession).where(WebSession.token_hash == hash_secret(secret)))
    if web is not None and web.ended_at is None:
        web.ended_at = clock.now()


# --- managing accounts: deactivate, revoke, change passwords -----------------------------


def find_user(session: Session, username: str) -> User:
    found = session.scalar(select(User).where(User.username == username.strip().lower()))
    if found is None:
        raise AccountError(
            f"no user {username.strip().lower()!r}", "no_user", username=username.strip().lower()
        )
    return found


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


@dataclass(frozen=True)
class UserRow:
    user: User
    port_code: str  # "" when not posted at a port


@dataclass(frozen=True)
class UserPage:
    rows: list[UserRow]
    total: int  # matching accounts, over all pages


def search_users(
    session: Session,
    query: str = "",
    *,
    role: Role | None = None,
    offset: int = 0,
    limit: int = 50,
) -> UserPage:
    """Accounts whose username or full name contains ``query`` (any case), by username, a
    page at a time."""
    where = []
    term = query.strip().lower()
    if term:
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(
                User.username.like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
            )
        )
    if role is not None:
        where.append(User.role == role)
    total = session.scalar(select(func.count()).select_from(User).where(*where)) or 0
    found = session.execute(
        select(User, PortOfEntry.code)
        .outerjoin(PortOfEntry, PortOfEntry.id == User.port_id)
        .where(*where)
        .order_by(User.username)
        .offset(max(offset, 0))
        .limit(limit)
    )
    return UserPage([UserRow(user, code or "") for user, code in found], total)


def user_by_id(session: Session, user_id: uuid.UUID) -> UserRow:
    found = session.execute(
        select(User, PortOfEntry.code)
        .outerjoin(PortOfEntry, PortOfEntry.id == User.port_id)
        .where(User.id == user_id)
    ).first()
    if found is None:
        raise AccountError(f"no user with id {user_id}", "no_user", username=str(user_id))
    return UserRow(found[0], found[1] or "")


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """A user's API tokens, newest first, revoked and expired ones included (never the
    secrets: only their hashes are stored)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id)
        )
    )


def revoke_token_of(session: Session, username: str, token_id: uuid.UUID, *, actor: str) -> bool:
    """An administrator revokes one API token of ``username``; False if it was not live."""
    user = find_user(session, username)
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = clock.now()
    _audit_user(session, user, "user.token_revoke", actor, token=str(token.id), label=token.label)
    return True


@dataclass(frozen=True)
class Revoked:
    tokens: int
    sessions: int


def revoke_credentials(
    session: Session,
    user: User,
    *,
    keep_token: str | None = None,
    keep_session: str | None = None,
    now: datetime | None = None,
) -> Revoked:
    """End every live API token and browser session of ``user`` (but the one kept, e.g. the
    caller's own while changing their password)."""
    now = now or clock.now()
    tokens = (
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if keep_token:
        tokens = tokens.where(ApiToken.token_hash != hash_secret(keep_token))
    webs = (
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    if keep_session:
        webs = webs.where(WebSession.token_hash != hash_secret(keep_session))
    opts = {"synchronize_session": False}
    # An UPDATE answers a CursorResult (it has rowcount); Session.execute is typed as Result.
    t = session.execute(tokens, execution_options=opts).rowcount  # type: ignore[attr-defined]
    w = session.execute(webs, execution_options=opts).rowcount  # type: ignore[attr-defined]
    return Revoked(tokens=t or 0, sessions=w or 0)


def _audit_user(session: Session, user: User, action: str, actor: str, **detail: object) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        node=user.node,
        entity="user",
        entity_id=user.id,
        detail={"username": user.username, **detail},
    )


def set_active(session: Session, username: str, active: bool, *, actor: str) -> Revoked:
    """Deactivate (every token and session ends with it) or reactivate an account."""
    user = find_user(session, username)
    if actor == user.username and not active:
        raise AccountError("you cannot deactivate your own account", "self_disable")
    user.active = active
    revoked = revoke_credentials(session, user) if not active else Revoked(0, 0)
    _audit_user(
        session,
        user,
        "user.enable" if active else "user.disable",
        actor,
        tokens=revoked.tokens,
        sessions=revoked.sessions,
    )
    return revoked


def revoke_user_credentials(session: Session, username: str, *, actor: str) -> Revoked:
    user = find_user(session, username)
    revoked = revoke_credentials(session, user)
    _audit_user(
        session, user, "user.revoke", actor, tokens=revoked.tokens, sessions=revoked.sessions
    )
    return revoked


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"password must have at least {MIN_PASSWORD} characters",
            "password_short",
            min=MIN_PASSWORD,
        )
    if len(password) > 200:
        raise AccountError("password must have at most 200 characters", "password_long", max=200)


def reset_password(session: Session, username: str, password: str, *, actor: str) -> Revoked:
    """An administrator sets a new password; every session and token of the user ends."""
    _check_new_password(password)
    user = find_user(session, username)
    user.password_hash = hasher.hash(password)
    revoked = revoke_credentials(session, user)
    _audit_user(session, user, "user.password_reset", actor, tokens=revoked.tokens)
    return revoked


def change_own_password(
    session: Session,
    user: User,
    *,
    node: str,
    current: str,
    new: str,
    source: str,
    keep_token: str | None = None,
    keep_session: str | None = None,
) -> Revoked:
    """A user changes their password, proving the current one as at sign-in (throttled
    alike, so a stolen session cannot guess it); their other sessions and tokens end, the
    one they are using goes on."""
    _check_new_password(new)
    if new == current:
        raise AccountError("the new password is the same as the current one", "password_same")
    row = authenticate(session, node=node, username=user.username, password=current, source=source)
    row.password_hash = hasher.hash(new)
    revoked = revoke_credentials(session, row, keep_token=keep_token, keep_session=keep_session)
    _audit_user(session, row, "user.password_change", row.username, tokens=revoked.tokens)
    return revoked


def set_role(
    session: Session,
    username: str,
    role: Role | str,
    *,
    actor: str,
    port_code: str | None = None,
) -> User:
    """Give a user another role (a border officer needs a port)."""
    user = find_user(session, username)
    role = Role(role)
    port_id = None
    if role is Role.BORDER_OFFICER and not port_code:
        raise AccountError(
            "a border officer must be posted at a port (give a port code)", "port_required"
        )
    if port_code:
        code = port_info(port_code).code
        port_id = session.scalar(select(PortOfEntry.id).where(PortOfEntry.code == code))
        if port_id is None:
            raise AccountError(
                f"port {code} is not loaded in this database; run `tsela init`",
                "port_not_loaded",
                port=code,
            )
    before = user.role
    user.role = role
    user.port_id = port_id
    _audit_user(session, user, "user.role", actor, before=before.value, after=role.value)
    return user


def revoke_token(session: Session, secret: str) -> bool:
    """Sign out an API token (its own holder)."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = clock.now()
    return True
