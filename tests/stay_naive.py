"""The obvious way to apply a stay rule: a set of days, and a loop over every day.

Kept out of ``src/tsela`` on purpose: it is the oracle the property tests
(``tests/test_stay.py``) check the engine against, and the yardstick the benchmark
(``bench/stay_bench.py``) compares the engine with. It shares nothing with
``tsela.domain.stay`` but the rule's definitions (Regulation (EU) 2016/399 art. 6): the days
of entry and exit count, a day of leaving and re-entering counts once for the window, the
window checked on a day is that day and the ``window_days - 1`` days before it, days under an
overriding permit are lawful (and not counted when ``permit_days_count`` is false).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class NaiveRule:
    max_days_per_entry: int | None
    window_days: int | None
    max_days_in_window: int | None
    permit_days_count: bool = True


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def naive_evaluate(
    rule: NaiveRule,
    stays: list[tuple[date, date | None]],
    as_of: date,
    permits: list[tuple[date, date]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """Days used, days remaining, latest exit, overstay days (total and per stay, in date
    order), computed day by day."""
    permit: set[date] = set()
    for start, end in permits:
        permit.update(_days(start, end))
    present: set[date] = set()
    spans = sorted((entry, leave or as_of) for entry, leave in stays)
    for entry, leave in spans:
        present.update(_days(entry, leave))
    counted = present if rule.permit_days_count else present - permit

    def in_window(day: date, days: set[date]) -> int:
        assert rule.window_days is not None
        return sum(1 for i in range(rule.window_days) if day - timedelta(days=i) in days)

    def over_limits(used_this_entry: int, day: date, days: set[date]) -> bool:
        if rule.max_days_per_entry is not None and used_this_entry > rule.max_days_per_entry:
            return True
        return rule.window_days is not None and in_window(day, days) > rule.max_days_in_window  # type: ignore[operator]

    per_stay = []
    for entry, leave in spans:
        used = over = 0
        for day in _days(entry, leave):
            if rule.permit_days_count or day not in permit:
                used += 1
            if day not in permit and over_limits(used, day, counted):
                over += 1
        per_stay.append(over)

    ongoing = bool(stays) and any(leave is None for _, leave in stays)
    start = max(e for e, leave in stays if leave is None) if ongoing else as_of
    # Stay on day by day from ``start`` until a day is not lawful.
    days = {d for d in counted if d < start}
    day = start
    used = 0
    latest: date | None = None
    for _ in range(100_000):
        if rule.permit_days_count or day not in permit:
            days.add(day)
            used += 1
        if day not in permit and over_limits(used, day, days):
            break
        latest = day
        day += timedelta(days=1)
    if rule.window_days is not None:
        used = in_window(as_of, counted)
    elif ongoing:
        used = sum(1 for d in _days(start, as_of) if rule.permit_days_count or d not in permit)
    else:
        used = 0
    # A stay in progress has already used the as-of day; a new one starts on it.
    remaining = 0 if latest is None else max(0, (latest - as_of).days + (0 if ongoing else 1))
    return {
        "days_used": used,
        "days_remaining": remaining,
        "latest_exit": latest,
        "overstay_days": sum(per_stay),
        "per_stay": per_stay,
    }
