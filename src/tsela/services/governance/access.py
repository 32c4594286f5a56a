"""Who acts and what they may do: the secretariat (the role holding GOVERNANCE_EDIT in
``tsela.kernel.access``) and body members, and the audit entry each change writes. The actor
is the kernel's, with the bodies it speaks for filled in by ``actor_for``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain.governance import GovernanceError
from tsela.kernel import errors
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import audit
from tsela.store.governance import Activity, Body, BodyMember
from tsela.store.models import Role


class NotFound(errors.NotFound, GovernanceError):
    """A code that names nothing (the message lists what exists where that helps)."""

    default_code = "governance.not_found"


class AccessDenied(errors.Forbidden, PermissionError):
    """The actor may not do this in the tracker (not a member of the owning body)."""

    def __init__(self, message: str, code: str = "governance.forbidden", **values: Any) -> None:
        super().__init__(code, message, **values)


def operator(username: str, node: str) -> Actor:
    """The command line runs on the server, by the secretariat."""
    return Actor(username, Role.SECRETARIAT, node)


def actor_for(session: Session, actor: Actor) -> Actor:
    """``actor`` with the bodies they speak for: the one they are bound to and those under it."""
    member = session.get(BodyMember, actor.user_id) if actor.user_id else None
    ids: frozenset[uuid.UUID] = frozenset()
    if member is not None:
        ids = frozenset(descendants(session, member.body_id))
    return replace(actor, body_ids=ids)


def is_secretariat(actor: Actor) -> bool:
    return actor.may(Permission.GOVERNANCE_EDIT)


def reads(actor: Actor) -> bool:
    """Reads the tracker: the secretariat, or a member of a body."""
    return is_secretariat(actor) or bool(actor.body_ids)


def may_update(actor: Actor, activity: Activity) -> bool:
    """Report progress on it: the secretariat, or a member of its owner (or above it)."""
    return is_secretariat(actor) or activity.owner_id in actor.body_ids


def require_secretariat(actor: Actor, doing: str) -> None:
    if not is_secretariat(actor):
        raise AccessDenied(f"only the secretariat may {doing}")


def require_reader(actor: Actor) -> None:
    if not reads(actor):
        raise AccessDenied(
            "you are not a member of any governance body; ask the secretariat to add you "
            "(the public view is open to all)"
        )


def require_updater(actor: Actor, activity: Activity) -> None:
    if may_update(actor, activity):
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
