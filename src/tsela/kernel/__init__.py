"""The kernel: ideas every layer uses, each written once (no I/O; of the rest of tsela it
imports only the domain's enumerated values, ``tsela.domain.values``).

- ``clock``: the border time zone, "now" and "today at the border", an injectable ``Clock``.
- ``access``: who may do what, one table of permissions and the roles holding them.
- ``actor``: who acts, the one description of a user the services receive.
"""

from tsela.kernel.access import Permission, allows, roles_for
from tsela.kernel.actor import Actor
from tsela.kernel.clock import (
    BORDER_TZ,
    BORDER_ZONE,
    Clock,
    FixedClock,
    SystemClock,
    border_day,
    border_time,
    day_end,
    day_start,
)

__all__ = [
    "BORDER_TZ",
    "BORDER_ZONE",
    "Actor",
    "Clock",
    "FixedClock",
    "Permission",
    "SystemClock",
    "allows",
    "border_day",
    "border_time",
    "day_end",
    "day_start",
    "roles_for",
]
