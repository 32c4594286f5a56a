"""The main navigation: which links a signed-in person sees.

A link is shown to the roles holding the permission of the page it leads to (the table in
``tsela.kernel.access``) and, where a role is not enough (governance
pages are open to the members of a body, whatever their role), only when its ``shown``
check passes: nobody is offered a link that answers 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tsela.kernel.access import Permission, allows
from tsela.store.models import User
from tsela.web.i18n import N_

NavCheck = Callable[[Session, User], bool]


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str  # an N_() message, translated when rendered
    permission: Permission
    shown: NavCheck | None = None


NAV: list[NavItem] = [NavItem("/", N_("Home"), Permission.SIGNED_IN)]  # first for everyone


def add_nav(
    path: str,
    label: str,
    permission: Permission,
    shown: NavCheck | None = None,
) -> None:
    """Show a link to ``path`` to the roles holding ``permission``, the page's own (label
    marked with N_ for translation)."""
    if any(item.path == path for item in NAV):
        return
    NAV.append(NavItem(path, label, permission, shown))


def nav_for(user: User | None, session: Session | None = None) -> list[NavItem]:
    """The links ``user`` may follow; a link with a ``shown`` check needs the session."""
    if user is None:
        return []
    return [
        item
        for item in NAV
        if allows(user.role, item.permission)
        and (item.shown is None or (session is not None and item.shown(session, user)))
    ]


def current_nav(items: list[NavItem], path: str) -> str | None:
    """The navigation entry of this page: the longest one the path is in."""
    best = None
    for item in items:
        inside = path == item.path or (item.path != "/" and path.startswith(item.path + "/"))
        if inside and (best is None or len(item.path) > len(best)):
            best = item.path
    return best
