"""The kernel: ideas every layer uses, each written once (no I/O, no other tsela imports).

- ``clock``: the border time zone, "now" and "today at the border", an injectable ``Clock``.
"""

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
    "Clock",
    "FixedClock",
    "SystemClock",
    "border_day",
    "border_time",
    "day_end",
    "day_start",
]
