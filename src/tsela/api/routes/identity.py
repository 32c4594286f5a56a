"""Identity review over HTTP (issue 17): the queue of candidate pairs, one pair with its
per-field contributions, link / reject / defer, a manual link, unlinking a record, and an
identity with its records.

Record keys contain ``:`` (``person:<uuid>``, ``permit:<uuid>``): they travel in the path
as they are (``GET /v1/identity/person:0190...``); the unlink route takes the key with a
``path`` converter, so ``POST /v1/identity/records/person:0190.../unlink`` works unescaped.

Roles: reading needs ``IDENTITY_READ`` (supervisors, admins), deciding ``IDENTITY_DECIDE``
(supervisors). A role refused here is refused by the service's own check, so the refusal is
audited (``identity.read_refused``, ``identity.decide_refused``) like every service refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tsela.api.auth import client_source, current_user
from tsela.api.deps import get_session, get_settings
from tsela.api.errors import error_responses
from tsela.config import Settings
from tsela.kernel.access import Permission, allows
from tsela.kernel.actor import Actor
from tsela.kernel.errors import AuditNote, Forbidden
from tsela.services import identity as svc
from tsela.services.identity.review import IdentityView, PairView, RecordView
from tsela.store.models import User

router = APIRouter(
    prefix="/v1/identity", tags=["identity"], responses=error_responses(401, 403, 404, 409)
)


def _actor(permission: Permission, action: str) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """The caller as an ``Actor``: strangers get 401; a role without ``permission`` a 403
    that is audited (``identity.<action>_refused``). Marked with the permission, so the
    access matrix and the OpenAPI list read it as they read ``require``."""

    async def dependency(
        request: Request,
        user: User | None = Depends(current_user),
        settings: Settings = Depends(get_settings),
    ) -> Actor:
        if user is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "sign in first",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not allows(user.role, permission):
            raise Forbidden(
                "identity.forbidden",
                "Your role (%(role)s) may not %(what)s.",
                role=user.role.value,
                what="read identities" if action == "read" else "decide on identities",
                audit=AuditNote(
                    f"identity.{action}_refused",
                    "identity",
                    "",
                    {"method": request.method, "path": request.url.path[:200]},
                ),
            )
        return Actor.of(user, settings.node, client_source(request))

    dependency.tsela_permission = permission  # type: ignore[attr-defined]
    return dependency


READ = _actor(Permission.IDENTITY_READ, "read")
DECIDE = _actor(Permission.IDENTITY_DECIDE, "decide")


# -- answers ------------------------------------------------------------------------------


class RecordOut(BaseModel):
    record_key: str
    source: str
    record_node: str
    identity_id: uuid.UUID
    person_id: uuid.UUID | None
    surname: str
    given_names: str
    birth_date: str | None
    sex: str | None
    nationality: str | None
    document_number: str | None
    document_country: str | None


class ContributionOut(BaseModel):
    field: str = Field(description="The comparison: surname, given_name, birth_date, ...")
    level: str = Field(description="The level code: exact, close, swapped, typo, differs, ...")
    weight: float = Field(description="log2 Bayes factor: above 0 counts for, below against")


class PairOut(BaseModel):
    id: uuid.UUID
    left: RecordOut
    right: RecordOut
    probability: float
    weight: float
    contributions: list[ContributionOut]
    status: str
    model_version: str
    note: str
    decided_at: str | None


class QueueOut(BaseModel):
    items: list[PairOut]
    total: int
    page: int
    per_page: int
    status: str


class IdentityOut(BaseModel):
    identity_id: uuid.UUID
    members: list[RecordOut]
    pairs: list[PairOut]


def _record(r: RecordView) -> dict[str, Any]:
    return dict(vars(r))


def _pair(p: PairView) -> dict[str, Any]:
    out = dict(vars(p))
    out["left"], out["right"] = _record(p.left), _record(p.right)
    return out


def _identity(v: IdentityView) -> dict[str, Any]:
    return {
        "identity_id": v.identity_id,
        "members": [_record(m) for m in v.members],
        "pairs": [_pair(p) for p in v.pairs],
    }


# -- questions ----------------------------------------------------------------------------


class DecisionIn(BaseModel):
    decision: Literal["link", "reject", "defer"]
    note: str = Field("", max_length=2000)


class LinkIn(BaseModel):
    left: str = Field(min_length=3, max_length=80, examples=["person:0190a1b2-..."])
    right: str = Field(min_length=3, max_length=80)
    note: str = Field("", max_length=2000)


class NoteIn(BaseModel):
    note: str = Field("", max_length=2000)


@router.get("/pairs", response_model=QueueOut)
def pairs(
    status_: str = Query("pending", alias="status", description="pending, deferred, auto, ..."),
    page: int = Query(1, ge=1, le=100_000),
    per_page: int = Query(20, ge=1, le=100),
    session: Session = Depends(get_session),
    actor: Actor = Depends(READ),
) -> dict[str, Any]:
    """The candidate pairs of one status, the most likely first, a page at a time."""
    found = svc.queue(session, actor, status=status_, page=page, per_page=per_page)
    return {
        "items": [_pair(p) for p in found.items],
        "total": found.total,
        "page": found.page,
        "per_page": found.per_page,
        "status": status_,
    }


@router.get("/pairs/{pair_id}", response_model=PairOut)
def pair(
    pair_id: uuid.UUID, session: Session = Depends(get_session), actor: Actor = Depends(READ)
) -> dict[str, Any]:
    """One pair: both records and each field's part in the score."""
    return _pair(svc.pair(session, actor, pair_id))


@router.post("/pairs/{pair_id}/decision", response_model=PairOut)
def decide(
    pair_id: uuid.UUID,
    body: DecisionIn,
    session: Session = Depends(get_session),
    actor: Actor = Depends(DECIDE),
) -> dict[str, Any]:
    """Link, reject or defer a pair (audited); identities follow at once, and a rejected
    pair is never proposed again."""
    done = svc.decide(session, actor, pair_id, body.decision, body.note)
    session.commit()
    return _pair(done)


@router.post("/links", response_model=IdentityOut)
def link(
    body: LinkIn, session: Session = Depends(get_session), actor: Actor = Depends(DECIDE)
) -> dict[str, Any]:
    """Link two records a reviewer knows are one person (audited)."""
    done = svc.link(session, actor, body.left, body.right, body.note)
    session.commit()
    return _identity(done)


@router.post("/records/{key:path}/unlink", response_model=IdentityOut)
def unlink(
    key: str,
    body: NoteIn,
    session: Session = Depends(get_session),
    actor: Actor = Depends(DECIDE),
) -> dict[str, Any]:
    """Take one record out of its identity (audited); the answer is the record's identity
    afterwards (the record alone)."""
    done = svc.unlink(session, actor, key, body.note)
    session.commit()
    return _identity(done)


@router.get("/{key_or_id}", response_model=IdentityOut)
def show(
    key_or_id: str, session: Session = Depends(get_session), actor: Actor = Depends(READ)
) -> dict[str, Any]:
    """An identity (by its id, or by the key of one of its records), with its records and
    the pairs between them."""
    return _identity(svc.show(session, actor, key_or_id))
