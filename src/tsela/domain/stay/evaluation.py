"""Evaluating a traveller's stays against a rule: days used and left, the latest exit,
the overstays, with running totals and binary search, never day by day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import NoReturn

import numpy as np

from tsela.domain.stay.days import Days, first_true, merge, subtract
from tsela.domain.stay.errors import RuleNotInForceError, StayInputError
from tsela.domain.stay.explanation import EXPLAIN_OVERSTAYS, explain
from tsela.domain.stay.model import PermitCover, Stay, StayAssessment, StayOutcome
from tsela.domain.stay.rules import StayRule, StayRuleVersion

Row = tuple[int, int, int, Stay]  # (entry, exit or as-of, number as given, stay), as ordinals
NO_DAY = np.iinfo(np.int64).max


class _Stays:
    """The stays as day numbers, sorted by date, checked: no stay ends before it starts or
    after the day asked about, no two overlap (a stay may begin on the day the one before it
    ends: leaving and re-entering the same day), only the last may still be open."""

    __slots__ = ("entry", "exit", "given", "open_last", "order")

    def __init__(self, stays: Iterable[Stay], today: int) -> None:
        given = stays if isinstance(stays, list | tuple) else list(stays)
        try:
            entry = np.array([s.entry.toordinal() for s in given], dtype=np.int64)
            leave = np.array([s.exit.toordinal() if s.exit else -1 for s in given], dtype=np.int64)
        except AttributeError:
            for number, s in enumerate(given, start=1):
                if not isinstance(s, Stay):
                    raise StayInputError(
                        f"stay {number}: expected a Stay, got {type(s).__name__}"
                    ) from None
            raise
        is_open = leave < 0
        leave[is_open] = today
        bad = (leave < entry) | (entry > today) | (leave > today)
        if bad.any():
            _refuse(given, int(np.flatnonzero(bad)[0]), today)
        order = np.lexsort((leave, entry))  # by entry, then exit, then as given (stable)
        self.entry = entry[order]
        self.exit = leave[order]
        clash = self.entry[1:] < self.exit[:-1]
        clash |= is_open[order][:-1]
        if clash.any():
            i = int(np.flatnonzero(clash)[0])
            _overlap(self._row(given, order, i), self._row(given, order, i + 1))
        self.given = given
        self.order = order
        self.open_last = bool(len(order)) and bool(is_open[order[-1]])

    def _row(self, given: Sequence[Stay], order: np.ndarray, i: int) -> Row:
        k = int(order[i])
        return int(self.entry[i]), int(self.exit[i]), k + 1, given[k]

    def __len__(self) -> int:
        return len(self.order)

    def rows(self) -> list[Row]:
        return [
            (a, b, k + 1, self.given[k])
            for a, b, k in zip(
                self.entry.tolist(), self.exit.tolist(), self.order.tolist(), strict=True
            )
        ]

    def chronological(self) -> tuple[Stay, ...]:
        return tuple(map(self.given.__getitem__, self.order.tolist()))

    def presence(self) -> Days:
        """The days present, as runs: a day shared by two stays (same-day re-entry) once."""
        if not len(self.order):
            return Days.of([])
        new_run = np.empty(len(self.order), dtype=bool)
        new_run[0] = True
        # Sorted and not overlapping, exits never go down, so a run ends at its last exit.
        new_run[1:] = self.entry[1:] > self.exit[:-1] + 1
        first = np.flatnonzero(new_run)
        last = np.concatenate((first[1:] - 1, [len(self.order) - 1]))
        return Days(self.entry[first], self.exit[last])


def _refuse(given: Sequence[Stay], k: int, today: int) -> NoReturn:
    s, number, as_of = given[k], k + 1, date.fromordinal(today)
    if s.exit is not None and s.exit < s.entry:
        raise StayInputError(f"stay {number} ({s}): exit before entry")
    if s.entry.toordinal() > today:
        raise StayInputError(f"stay {number} ({s}): entry is after the as-of date {as_of}")
    raise StayInputError(
        f"stay {number} ({s}): exit is after the as-of date {as_of}; "
        "evaluate as of the exit date to check a planned stay"
    )


def _overlap(before: Row, after: Row) -> NoReturn:
    _, b1, n1, s1 = before
    a2, b2, n2, s2 = after
    first, second = sorted((n1, n2))
    if s1.exit is None:
        raise StayInputError(
            f"stays {first} and {second} overlap: stay {n1} ({s1}) has no exit, "
            f"but stay {n2} ({s2}) begins on {s2.entry}"
        )
    last = min(b1, b2)
    span = f"on {s2.entry}" if last == a2 else f"from {s2.entry} to {date.fromordinal(last)}"
    raise StayInputError(f"stays {first} and {second} overlap {span}")


def _permits(
    permits: Iterable[PermitCover], version: StayRuleVersion
) -> tuple[list[PermitCover], list[PermitCover]]:
    """The permits that lift this version's limits, and those that do not (sorted)."""
    used: list[PermitCover] = []
    ignored: list[PermitCover] = []
    for number, p in enumerate(permits, start=1):
        if not isinstance(p, PermitCover):
            raise StayInputError(f"permit {number}: expected a PermitCover, got {type(p).__name__}")
        if p.valid_to < p.valid_from:
            raise StayInputError(f"permit {number} ({p}): valid to is before valid from")
        (used if version.overridden_by(p.permit_type) else ignored).append(p)
    used.sort(key=lambda p: (p.valid_from, p.valid_to, p.permit_type))
    ignored.sort(key=lambda p: (p.valid_from, p.valid_to, p.permit_type))
    return used, ignored


def _first_over(
    stays: _Stays, counted: Days, per_entry: int | None, window: int | None, cap: int
) -> np.ndarray:
    """For each stay (date order), its first day over the limits, or NO_DAY.

    All days of a stay are present and counted, so along a stay the days in the window ending
    on each day never go down (one comes in, at most one drops out) and neither does the
    count for the per-entry limit: each stay is over from some day to its end. The window
    count on a day is a difference of running totals, computed for all stays at once; only a
    stay that goes over part-way needs a binary search for its first day over.
    """
    a, b = stays.entry, stays.exit
    first = np.full(len(a), NO_DAY, dtype=np.int64)
    if per_entry is not None:
        first = np.where(b - a + 1 > per_entry, a + per_entry, first)
    if window is None:
        return first
    upto = counted.upto_many
    over_at_end = upto(b) - upto(b - window) > cap
    if not over_at_end.any():
        return first
    idx = np.flatnonzero(over_at_end)
    starts = a[idx]
    over_at_start = upto(starts) - upto(starts - window) > cap
    found = starts.copy()
    # Few stays go over part-way (after that the next ones are over from their first day):
    # a binary search each, on plain ints.
    one = counted.upto
    for k in np.flatnonzero(~over_at_start).tolist():
        lo, hi = int(starts[k]), int(b[idx[k]])
        while lo < hi:
            mid = (lo + hi) // 2
            if one(mid) - one(mid - window) > cap:
                hi = mid
            else:
                lo = mid + 1
        found[k] = lo
    first[idx] = np.minimum(first[idx], found)
    return first


def _overstays_with_uncounted_permits(
    rows: list[Row],
    counted: Days,
    permit_days: Days,
    per_entry: int | None,
    window: int | None,
    cap: int,
) -> list[tuple[int, int, int]]:
    """(stay index, overstay days, first overstay day) of the stays with an overstay, when
    days under a permit are lawful and not counted: a stay's count then only grows between
    the permits that cover part of it, so each such stretch gets its own binary search."""
    out: list[tuple[int, int, int]] = []
    for i, (a, b, _, _) in enumerate(rows):

        def unlawful(day: int, a: int = a) -> bool:
            if per_entry is not None and day - a + 1 - permit_days.count(a, day) > per_entry:
                return True
            return window is not None and counted.count(day - window + 1, day) > cap

        over = 0
        first: int | None = None
        for r0, r1 in permit_days.gaps(a, b):
            assert r1 is not None
            hit = first_true(r0, r1, unlawful)
            if hit is not None:
                over += r1 - hit + 1
                first = hit if first is None else first
        if first is not None:
            out.append((i, over, first))
    return out


def evaluate(
    rule: StayRule,
    stays: Iterable[Stay],
    as_of: date,
    permits: Iterable[PermitCover] = (),
) -> StayAssessment:
    """Apply ``rule`` (the version in force on ``as_of``) to a traveller's stays.

    Returns the days used (in the window ending on ``as_of``, or in the stay in progress when
    the rule has no window), the days still possible, the latest lawful exit of the stay in
    progress (or of one starting on ``as_of`` if none is in progress; None when even that
    first day is not lawful), the overstay days of every stay, and the reasons in words.
    Every day of a stay is checked against the window ending on that day. The stays may be
    given in any order.
    """
    version = rule.version_on(as_of)
    if version is None:
        dated = [v for v in rule.versions if v.effective_from is not None]
        when = (
            ", ".join(
                f"{v.label!r} from {v.effective_from}"
                + (f" to {v.effective_to}" if v.effective_to else "")
                for v in dated
            )
            or "none has an effective date"
        )
        raise RuleNotInForceError(
            f"as-of date {as_of}: rule {rule.id} has no version in force that day ({when})"
        )
    today = as_of.toordinal()
    checked = _Stays(stays, today)
    used_permits, ignored_permits = _permits(permits, version)

    per_entry = version.max_days_per_entry
    window = version.window_days
    cap = version.max_days_in_window or 0
    permit_days = Days.of(
        merge((p.valid_from.toordinal(), p.valid_to.toordinal()) for p in used_permits)
    )
    counts_permit_days = version.permit_days_count or not used_permits
    presence = checked.presence()
    # (stay index in date order, overstay days, first overstay day) of each stay over the limits
    overs: tuple[tuple[int, int, int], ...]
    if counts_permit_days:
        # Days under a permit count like any other, so the limits bite where they would
        # without the permit; the permit only makes the days it covers lawful.
        counted = presence
        first = _first_over(checked, presence, per_entry, window, cap)
        idx = np.flatnonzero(first != NO_DAY)
        lo, hi = first[idx], checked.exit[idx]
        if not used_permits:
            overs = tuple(zip(idx.tolist(), (hi - lo + 1).tolist(), lo.tolist(), strict=True))
        else:
            found = []
            for i, day, end in zip(idx.tolist(), lo.tolist(), hi.tolist(), strict=True):
                over = end - day + 1 - permit_days.count(day, end)
                if over:
                    found.append((i, over, next(permit_days.gaps(day, end))[0]))
            overs = tuple(found)
    else:
        counted = Days.of(subtract(presence.intervals(), permit_days.intervals()))
        overs = tuple(
            _overstays_with_uncounted_permits(
                checked.rows(), counted, permit_days, per_entry, window, cap
            )
        )
    chronological = checked.chronological()
    overstays = tuple(
        StayOutcome(
            chronological[i].entry,
            chronological[i].exit,
            int(checked.exit[i] - checked.entry[i]) + 1,
            over,
            date.fromordinal(first_day),
        )
        for i, over, first_day in overs[:EXPLAIN_OVERSTAYS]
    )

    # --- latest lawful exit of the stay in progress, or of one starting on the as-of date.
    ongoing = checked.open_last
    start = int(checked.entry[-1]) if ongoing else today

    def stay_days(lo: int, hi: int) -> int:
        """Counted days in [lo, hi] of a stay running on from ``start`` (lo >= start)."""
        if counts_permit_days:
            return hi - lo + 1
        return hi - lo + 1 - permit_days.count(lo, hi)

    def over_if_staying(day: int) -> bool:
        if per_entry is not None and stay_days(start, day) > per_entry:
            return True
        if window is None:
            return False
        lo = day - window + 1
        return counted.count(lo, start - 1) + stay_days(max(lo, start), day) > cap

    # Past the last permit the limits always bite within min(per entry, window) days.
    reach = min(b for b in (per_entry, window) if b is not None)
    first_bad: int | None = None
    for r0, r1 in permit_days.gaps(start, None):
        first_bad = first_true(r0, r0 + reach if r1 is None else r1, over_if_staying)
        if first_bad is not None:
            break
    assert first_bad is not None
    latest = date.fromordinal(first_bad - 1) if first_bad > start else None

    # --- days used and days remaining
    if window is not None:
        days_used = counted.count(today - window + 1, today)
        window_start: date | None = date.fromordinal(today - window + 1)
    else:
        days_used = stay_days(start, today) if ongoing else 0
        window_start = None
    # For a stay in progress the as-of day is already used; a new stay starts on it.
    days_remaining = 0 if latest is None else max(0, first_bad - today - (1 if ongoing else 0))

    early = 0
    if version.effective_from is not None:
        early = int(np.searchsorted(checked.entry, version.effective_from.toordinal()))
    explanation = explain(
        rule=rule,
        version=version,
        as_of=as_of,
        early=early,
        any_stays=bool(len(checked)),
        overstays=overstays,
        overstayed_stays=len(overs),
        more_overstay_days=sum(over for _, over, _ in overs[EXPLAIN_OVERSTAYS:]),
        ongoing=ongoing,
        start=date.fromordinal(start),
        first_bad=date.fromordinal(first_bad),
        latest=latest,
        days_used=days_used,
        days_remaining=days_remaining,
        window_start=window_start,
        over_entry=per_entry is not None and stay_days(start, first_bad) > per_entry,
        used_permits=used_permits,
        ignored_permits=ignored_permits,
    )
    return StayAssessment(
        rule_id=rule.id,
        version_label=version.label,
        as_of=as_of,
        days_used=days_used,
        days_remaining=days_remaining,
        latest_exit=latest,
        overstay_days=sum(over for _, over, _ in overs),
        ongoing=ongoing,
        window_start=window_start,
        explanation=explanation,
        chronological=chronological,
        overstay_index=overs,
    )
