"""Who acts and what they may do: the actor, the secretariat and body members, and the
audit entry each change writes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain.governance import GovernanceError
from tsela.kernel import errors
from tsela.services import audit
from tsela.store.governance import Activity, Body, BodyMember
from tsela.store.models import Role, User


class NotFound(errors.NotFound, GovernanceError):
    """A code that names nothing (the message lists what exists where that helps)."""

    default_code = "governance.not_found"


class AccessDenied(errors.Forbidden, PermissionError):
    """The actor may not do this in the tracker (not a member of the owning body)."""

    def __init__(self, message: str, code: str = "governance.forbidden", **values: Any) -> None:
        super().__init__(code, message, **values)


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the tracker's rules see them."""

    username: str
    secretariat: bool
    body_ids: frozenset[uuid.UUID] = frozenset()  # bodies they speak for, with those under
    source: str = ""  # where the request came from, for the audit log

    @property
    def reads(self) -> bool:
        return self.secretariat or bool(self.body_ids)

    def may_update(self, activity: Activity) -> bool:
        """Report progress on it: the secretariat, or a member of its owner (or above it)."""
        return self.secretariat or activity.owner_id in self.body_ids


def operator(username: str) -> Actor:
    """The command line runs on the server, by the secretariat."""
    return Actor(username=username, secretariat=True)


def actor_for(session: Session, user: User, source: str = "") -> Actor:
    member = session.get(BodyMember, user.id)
    ids: frozenset[uuid.UUID] = frozenset()
    if member is not None:
        ids = frozenset(descendants(session, member.body_id))
    return Actor(
        user.username, secretariat=user.role is Role.SECRETARIAT, body_ids=ids, source=source
    )


def require_secretariat(actor: Actor, doing: str) -> None:
    if not actor.secretariat:
        raise AccessDenied(f"only the secretariat may {doing}")


def require_reader(actor: Actor) -> None:
    if not actor.reads:
        raise AccessDenied(
            "you are not a member of any governance body; ask the secretariat to add you "
            "(the public view is open to all)"
        )


def require_updater(actor: Actor, activity: Activity) -> None:
    if actor.may_update(activity):
        return
    raise AccessDenied(
        f"activity {activity.code} belongs to {activity.owner.code}; "
        "only its owner or the secretariat may update it"
    )


def record_change(
    session: Session,
    actor: Actor,
    node: str,
    action: str,
    entity: str,
    entity_id: object,
    detail: dict[str, Any],
) -> None:
    audit.record(
        session,
        actor=actor.username,
        action=f"governance.{action}",
        node=node,
        entity=entity,
        entity_id=entity_id,
        detail=detail,
        source=actor.source,
    )


def descendants(session: Session, body_id: uuid.UUID) -> set[uuid.UUID]:
    """The body and every body under it (committees of a commission, units of a ministry)."""
    children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
    for bid, parent in session.execute(select(Body.id, Body.parent_id)):
        children.setdefault(parent, []).append(bid)
    found, stack = set(), [body_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found
