"""Users, passwords (argon2), API tokens, browser sessions and login rate limiting."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from tsela.reference import port as port_info
from tsela.services import audit
from tsela.store.auth import ApiToken, WebSession
from tsela.store.models import AuditEvent, PortOfEntry, Role, User, utcnow

_hasher = PasswordHasher()

# Five wrong passwords for one account, or twenty from one address, in 15 minutes locks
# further attempts until the window has passed (brute-force protection, OWASP ASVS 2.2.1).
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_SOURCE = 20
SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=12)
MIN_PASSWORD = 10


class AccountError(ValueError):
    """A user-facing problem with an account operation."""


class LoginRefused(Exception):
    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


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
        raise AccountError("username must be 1 to 60 characters")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.username == username)):
        raise AccountError(f"user {username!r} already exists")
    port_id = None
    if role is Role.BORDER_OFFICER and not port_code:
        raise AccountError("a border officer must be posted at a port (give a port code)")
    if port_code:
        code = port_info(port_code).code  # raises UnknownPortError with the known codes
        port_id = session.scalar(select(PortOfEntry.id).where(PortOfEntry.code == code))
        if port_id is None:
            raise AccountError(f"port {code} is not loaded in this database; run `tsela init`")
    user = User(
        node=node,
        username=username,
        full_name=full_name,
        password_hash=_hasher.hash(password),
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


def _recent_failures(session: Session, *, column: object, value: str, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "login.failed",
                column == value,  # type: ignore[operator]
                AuditEvent.at >= now - LOGIN_WINDOW,
            )
        )
        or 0
    )


def authenticate(
    session: Session,
    *,
    node: str,
    username: str,
    password: str,
    source: str,
    now: datetime | None = None,
) -> User:
    """Check a password; refuse when too many recent failures. Audits success and failure."""
    now = now or utcnow()
    username = username.strip().lower()
    if (
        _recent_failures(session, column=AuditEvent.entity_id, value=username, now=now)
        >= MAX_FAILURES_PER_USER
        or _recent_failures(session, column=AuditEvent.source, value=source, now=now)
        >= MAX_FAILURES_PER_SOURCE
    ):
        audit.record(
            session,
            actor=username or "-",
            action="login.locked",
            node=node,
            entity="user",
            entity_id=username,
            source=source,
        )
        raise LoginRefused("too many failed logins; try again in 15 minutes", locked=True)
    user = session.scalar(select(User).where(User.username == username))
    ok = False
    if user is not None and user.active:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        # Same cost whether or not the user exists, so timing does not reveal accounts.
        _hasher.hash(password)
    if not ok or user is None:
        audit.record(
            session,
            actor=username or "-",
            action="login.failed",
            node=node,
            entity="user",
            entity_id=username,
            source=source,
        )
        raise LoginRefused("wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
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
            expires_at=(utcnow() + ttl) if ttl else None,
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
    now = now or utcnow()
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
    now = now or utcnow()
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
    now = now or utcnow()
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
        web.ended_at = utcnow()
