"""Day arithmetic on intervals of day numbers (proleptic ordinals, ``date.toordinal``),
so that arithmetic on them is plain int math.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator

import numpy as np


def merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of day intervals (sorted by start), joining those that touch or share a day."""
    out: list[tuple[int, int]] = []
    for a, b in intervals:
        if out and a <= out[-1][1] + 1:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def subtract(base: list[tuple[int, int]], cut: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Days of ``base`` not in ``cut`` (both sorted, disjoint)."""
    if not cut:
        return base
    out: list[tuple[int, int]] = []
    k = 0
    for a, b in base:
        while k < len(cut) and cut[k][1] < a:
            k += 1
        j, lo = k, a
        while j < len(cut) and cut[j][0] <= b:
            if cut[j][0] > lo:
                out.append((lo, cut[j][0] - 1))
            lo = max(lo, cut[j][1] + 1)
            j += 1
        if lo <= b:
            out.append((lo, b))
    return out


class Days:
    """A set of days as sorted disjoint runs with running totals: counts in O(log n).

    Kept both as numpy arrays (to count for many days at once) and as lists (for one day,
    where ``bisect`` beats a numpy call).
    """

    __slots__ = ("_before", "_ends", "_starts", "before", "ends", "starts")

    def __init__(self, starts: np.ndarray, ends: np.ndarray) -> None:
        self._starts = starts
        self._ends = ends
        lengths = ends - starts + 1
        self._before = np.cumsum(lengths) - lengths
        self.starts: list[int] = starts.tolist()
        self.ends: list[int] = ends.tolist()
        self.before: list[int] = self._before.tolist()

    @classmethod
    def of(cls, intervals: list[tuple[int, int]]) -> Days:
        arr = np.array(intervals, dtype=np.int64).reshape(-1, 2)
        return cls(arr[:, 0], arr[:, 1])

    def upto(self, day: int) -> int:
        """How many days of the set fall on or before ``day``."""
        k = bisect_right(self.starts, day) - 1
        if k < 0:
            return 0
        end = self.ends[k]
        return self.before[k] + (min(day, end) - self.starts[k] + 1)

    def upto_many(self, days: np.ndarray) -> np.ndarray:
        """``upto`` for each of ``days`` at once."""
        if not self.starts:
            return np.zeros_like(days)
        k = np.searchsorted(self._starts, days, side="right") - 1
        kk = np.maximum(k, 0)
        counts = self._before[kk] + np.minimum(days, self._ends[kk]) - self._starts[kk] + 1
        return np.where(k >= 0, counts, 0)

    def count(self, lo: int, hi: int) -> int:
        return self.upto(hi) - self.upto(lo - 1) if lo <= hi else 0

    def intervals(self) -> list[tuple[int, int]]:
        return list(zip(self.starts, self.ends, strict=True))

    def gaps(self, lo: int, hi: int | None) -> Iterator[tuple[int, int | None]]:
        """The runs of days in [lo, hi] not in the set, in order (hi None: no upper end)."""
        k = bisect_right(self.starts, lo) - 1
        day = lo
        if k >= 0 and self.ends[k] >= lo:
            day = self.ends[k] + 1
        k += 1
        while hi is None or day <= hi:
            if k < len(self.starts) and (hi is None or self.starts[k] <= hi):
                if self.starts[k] > day:
                    yield day, self.starts[k] - 1
                day = self.ends[k] + 1
                k += 1
            else:
                yield day, hi
                return


def first_true(lo: int, hi: int, over: Callable[[int], bool]) -> int | None:
    """First day in [lo, hi] where ``over`` holds, given it never turns false again."""
    if not over(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if over(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
