"""The border clock: one time zone, one source of "now", one "today at the border".

Lesotho and South Africa keep the same time, South African Standard Time, UTC+2, with no
daylight saving time since March 1944. Days of stay, permit validity, document expiry and the
observatory's days and months are all border calendar days in that zone.

The zone is the IANA zone ``Africa/Johannesburg``, not ``Africa/Maseru``, although Tsela is
Lesotho's as much as South Africa's: Johannesburg is the tz database's own zone for SAST,
identical wherever the database comes from, while ``Africa/Maseru`` is a link to it in the
standard build (and in the ``tzdata`` package that Tsela installs for machines without a
system database) but a zone of its own, with another history before 1944, in builds that
include the "backzone" data (Debian's, for one). Both read UTC+2 for every date since 1944
(``tests/test_clock.py`` checks it), so the choice changes no day Tsela counts; it makes the
zone one thing on every machine.

Who reads the clock:

- Pure domain functions never do: they take ``today``/``now`` as arguments.
- Adapters ask a :class:`Clock`: the web app's (``create_app(clock=...)``, kept as
  ``app.state.clock``; ``tsela.api.deps.get_clock``), the command line's
  (``tsela.cli.common.clock()``). Services that take ``now=None`` default to :func:`now`.
- Tests freeze it: a :class:`FixedClock` given to ``create_app``, or, for a server or a
  command in another process, the ``TSELA_CLOCK`` setting (``tsela.config.load_clock``),
  which is for tests and demonstrations only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BORDER_ZONE = "Africa/Johannesburg"
BORDER_TZ = ZoneInfo(BORDER_ZONE)  # SAST, UTC+2, no daylight saving time


def now() -> datetime:
    """The machine's time, timezone-aware, in UTC (what is stored)."""
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: give an aware datetime")
    return moment


def border_time(moment: datetime) -> datetime:
    """``moment`` on the border's clock (SAST, UTC+2)."""
    return _aware(moment).astimezone(BORDER_TZ)


def border_day(moment: datetime) -> date:
    """The border calendar day that ``moment`` falls on."""
    return border_time(moment).date()


def day_start(day: date) -> datetime:
    """Midnight at the border at the start of ``day`` (an aware datetime)."""
    return datetime.combine(day, time(0), BORDER_TZ)


def day_end(day: date) -> datetime:
    """Midnight at the border at the end of ``day``: the start of the next day."""
    return day_start(day + timedelta(days=1))


class Clock(ABC):
    """Where an adapter gets the time: the machine's (:class:`SystemClock`) or a test's."""

    @abstractmethod
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""

    def today(self) -> date:
        """Today at the border."""
        return border_day(self.now())

    def border_now(self) -> datetime:
        """The current instant on the border's clock (for display)."""
        return border_time(self.now())


class SystemClock(Clock):
    """The machine's clock."""

    def now(self) -> datetime:
        return now()

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock(Clock):
    """A clock that stands still at ``at`` until it is moved (tests, demonstrations)."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware(at).astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        """Stand the clock at ``at``."""
        self._at = _aware(at).astimezone(UTC)

    def advance(self, by: timedelta) -> None:
        self._at += by

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()!r})"


SYSTEM = SystemClock()
