"""Who acts: the one description of a signed-in user (or of the command line, or of a
synthetic writer) that the services receive.

The edges build it from the account: the API (``tsela.api.auth.acting``), the web pages
(``Actor.of(user, settings.node)``), the command line (an operator with the role its job
needs). Services read what they need from it and ask :meth:`Actor.may` about permissions
(the table is ``tsela.kernel.access``); they never see the account row itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from tsela.domain.values import Role
from tsela.kernel.access import Permission, allows


class Account(Protocol):
    """What an actor is built from (``tsela.store.models.User`` is one)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def port_id(self) -> uuid.UUID | None: ...
    @property
    def employer_id(self) -> uuid.UUID | None: ...
    @property
    def person_id(self) -> uuid.UUID | None: ...


@dataclass(frozen=True)
class Actor:
    """Who acts, with which role, on which node, and what they speak for.

    ``employer_id``/``person_id`` limit employers and workers to their own permits;
    ``port_id`` is a border officer's post; ``body_ids`` the governance bodies they speak for
    (filled by ``services.governance.actor_for``); ``source`` where the request came from,
    for the audit log. ``user_id`` is None for the command line and synthetic writers.
    """

    username: str
    role: Role
    node: str
    employer_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    port_id: uuid.UUID | None = None
    body_ids: frozenset[uuid.UUID] = frozenset()
    source: str = ""

    @classmethod
    def of(cls, user: Account, node: str, source: str = "") -> Actor:
        """The actor of a signed-in account, acting on ``node``."""
        return cls(
            username=user.username,
            role=user.role,
            node=node,
            employer_id=user.employer_id,
            person_id=user.person_id,
            user_id=user.id,
            port_id=user.port_id,
            source=source,
        )

    def may(self, permission: Permission) -> bool:
        return allows(self.role, permission)
