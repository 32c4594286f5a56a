"""Statistical disclosure control for released count tables: cell suppression, then an audit.

A released table is a two-way table of counts with its margins (row totals, column totals,
grand total). Several tables may share margins (two tables of crossings by month share the
month totals), so everything is decided over the whole release at once: a cell is known by
its *key* (measure and the category of each dimension it fixes), and the same key in two
tables is the same figure.

Method (documented in the release's metadata):

1. **Primary suppression**: a cell (margins included) is suppressed when fewer than
   ``threshold`` distinct people contribute to it (zero cells are published: they describe
   nobody). Counting contributors rather than the count itself also protects one person who
   crossed fifty times.
2. **Secondary suppression**: every line of every table (a row or a column, its total
   included) that holds a suppressed cell must hold at least two, so that the line's total
   never gives the hidden cell away; the partner is the smallest cell at least ``threshold``
   large (it adds real uncertainty), else the smallest non-zero cell, preferring inner cells
   to totals. Repeated over all tables until nothing changes.
3. **Audit**: an attacker knows every published figure, that the lines add up and that
   counts are not negative. For each suppressed cell a linear programme finds the smallest
   and largest value consistent with all of that (for two-way tables with totals these
   bounds are whole numbers, so integer reasoning gives the attacker no more). The release
   passes when no suppressed cell is pinned to one value and the range of every primarily
   suppressed cell is at least ``threshold`` wide. A failing cell gets more partners in its
   row and column and the whole procedure runs again.

The grand total of a table is never suppressed: a table whose total has fewer contributors
than the threshold is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

TOTAL = "Total"
MIN_THRESHOLD = 3
MAX_ROUNDS = 200


class DisclosureError(ValueError):
    """A table or threshold that cannot be released safely; the message says why."""


Key = tuple[str, tuple[tuple[str, str], ...]]


def check_threshold(threshold: int) -> int:
    if threshold < MIN_THRESHOLD:
        raise DisclosureError(
            f"threshold {threshold} refused: it must be at least {MIN_THRESHOLD}, since a "
            f"threshold below {MIN_THRESHOLD} would publish counts of one or two people "
            "(the default is 10)"
        )
    return threshold


@dataclass
class CountTable:
    """Counts by two dimensions, margins included at index -1 (row and column ``Total``).

    ``values[i, j]`` is the count; ``contributors[i, j]`` how many distinct people it counts.
    """

    name: str
    title: str
    description: str
    measure: str
    row_dim: str
    col_dim: str
    rows: list[str]
    cols: list[str]
    values: np.ndarray
    contributors: np.ndarray
    suppressed: np.ndarray = field(init=False)
    primary: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        shape = (len(self.rows) + 1, len(self.cols) + 1)
        self.values = np.asarray(self.values, dtype=np.int64)
        self.contributors = np.asarray(self.contributors, dtype=np.int64)
        if self.values.shape != shape or self.contributors.shape != shape:
            raise DisclosureError(
                f"table {self.name}: expected {shape} counts with margins, got {self.values.shape}"
            )
        inner = self.values[:-1, :-1]
        if (
            not np.array_equal(inner.sum(axis=1), self.values[:-1, -1])
            or not np.array_equal(inner.sum(axis=0), self.values[-1, :-1])
            or inner.sum() != self.values[-1, -1]
        ):
            raise DisclosureError(f"table {self.name}: the totals do not add up")
        self.suppressed = np.zeros(shape, dtype=bool)
        self.primary = np.zeros(shape, dtype=bool)

    def key(self, i: int, j: int) -> Key:
        fixed = []
        if i < len(self.rows):
            fixed.append((self.row_dim, self.rows[i]))
        if j < len(self.cols):
            fixed.append((self.col_dim, self.cols[j]))
        return (self.measure, tuple(sorted(fixed)))

    def lines(self) -> Iterable[list[tuple[int, int]]]:
        """Each row and each column of the table with margins, as cell positions."""
        r, c = self.values.shape
        for i in range(r):
            yield [(i, j) for j in range(c)]
        for j in range(c):
            yield [(i, j) for i in range(r)]

    def equations(self) -> Iterable[list[tuple[int, int, int]]]:
        """Each line as (i, j, sign): the inner cells add up to the margin (sign -1)."""
        r, c = self.values.shape
        for i in range(r):
            yield [(i, j, 1) for j in range(c - 1)] + [(i, c - 1, -1)]
        for j in range(c):
            yield [(i, j, 1) for i in range(r - 1)] + [(r - 1, j, -1)]

    @property
    def grand(self) -> tuple[int, int]:
        return (len(self.rows), len(self.cols))

    def is_margin(self, i: int, j: int) -> bool:
        return i == len(self.rows) or j == len(self.cols)


@dataclass(frozen=True)
class CellRange:
    table: str
    row: str
    col: str
    value: int
    low: int
    high: int
    primary: bool


@dataclass
class Outcome:
    tables: list[CountTable]
    threshold: int
    ranges: list[CellRange]
    rounds: int

    def suppressed_count(self) -> int:
        return int(sum(t.suppressed.sum() for t in self.tables))

    def primary_count(self) -> int:
        return int(sum(t.primary.sum() for t in self.tables))


class _Release:
    def __init__(self, tables: Sequence[CountTable], threshold: int) -> None:
        self.tables = list(tables)
        self.threshold = threshold
        self.positions: dict[Key, list[tuple[CountTable, int, int]]] = {}
        for t in self.tables:
            r, c = t.values.shape
            for i in range(r):
                for j in range(c):
                    self.positions.setdefault(t.key(i, j), []).append((t, i, j))
        for key, where in self.positions.items():
            values = {int(t.values[i, j]) for t, i, j in where}
            if len(values) > 1:
                raise DisclosureError(f"linked tables disagree on {key}: {sorted(values)}")

    def suppress(self, t: CountTable, i: int, j: int) -> None:
        for other, a, b in self.positions[t.key(i, j)]:
            other.suppressed[a, b] = True

    def primary(self) -> None:
        for t in self.tables:
            small = (t.contributors > 0) & (t.contributors < self.threshold)
            gi, gj = t.grand
            if small[gi, gj] or t.values[gi, gj] == 0:
                raise DisclosureError(
                    f"table {t.name} counts fewer than {self.threshold} people in all: "
                    "nothing in it can be released (choose a longer period or a lower threshold)"
                )
            t.primary |= small
        for t in self.tables:
            for i, j in zip(*np.nonzero(t.primary), strict=True):
                self.suppress(t, int(i), int(j))

    def _partner(self, t: CountTable, line: list[tuple[int, int]]) -> tuple[int, int] | None:
        candidates = [(i, j) for i, j in line if not t.suppressed[i, j] and (i, j) != t.grand]

        def rank(cell: tuple[int, int]) -> tuple[int, int, int]:
            v = int(t.values[cell])
            size_class = 0 if v >= self.threshold else (1 if v > 0 else 2)
            return (size_class, int(t.is_margin(*cell)), v)

        return min(candidates, key=rank) if candidates else None

    def secondary(self) -> None:
        changed = True
        while changed:
            changed = False
            for t in self.tables:
                for line in t.lines():
                    hidden = [cell for cell in line if t.suppressed[cell]]
                    if len(hidden) == 1:
                        partner = self._partner(t, line)
                        if partner is None:
                            raise DisclosureError(
                                f"table {t.name}: a suppressed cell cannot be protected "
                                "(its line has nothing else to suppress)"
                            )
                        self.suppress(t, *partner)
                        changed = True

    def audit(self) -> list[CellRange]:
        """Bounds an attacker can derive for each suppressed cell from everything published."""
        unknown: dict[Key, int] = {}
        for t in self.tables:
            for i, j in zip(*np.nonzero(t.suppressed), strict=True):
                unknown.setdefault(t.key(int(i), int(j)), len(unknown))
        if not unknown:
            return []
        rows_a: list[np.ndarray] = []
        rhs: list[float] = []
        for t in self.tables:
            for eq in t.equations():
                coef = np.zeros(len(unknown))
                known = 0.0
                for i, j, sign in eq:
                    if t.suppressed[i, j]:
                        coef[unknown[t.key(i, j)]] += sign
                    else:
                        known += sign * int(t.values[i, j])
                if coef.any():
                    rows_a.append(coef)
                    rhs.append(-known)
        a_eq = np.vstack(rows_a)
        b_eq = np.asarray(rhs)
        out = []
        seen: set[Key] = set()
        for t in self.tables:
            for i, j in zip(*np.nonzero(t.suppressed), strict=True):
                key = t.key(int(i), int(j))
                if key in seen:
                    continue
                seen.add(key)
                low, high = _bounds(a_eq, b_eq, unknown[key], len(unknown))
                out.append(
                    CellRange(
                        table=t.name,
                        row=t.rows[i] if i < len(t.rows) else TOTAL,
                        col=t.cols[j] if j < len(t.cols) else TOTAL,
                        value=int(t.values[i, j]),
                        low=low,
                        high=high,
                        primary=any(o.primary[a, b] for o, a, b in self.positions[key]),
                    )
                )
        return out

    def failing(self, ranges: list[CellRange]) -> list[CellRange]:
        return [
            r for r in ranges if r.high <= r.low or (r.primary and r.high - r.low < self.threshold)
        ]

    def widen(self, cell: CellRange) -> bool:
        """More partners for a cell that failed the audit: one more in its row and column."""
        added = False
        for t in self.tables:
            if t.name != cell.table:
                continue
            i = t.rows.index(cell.row) if cell.row != TOTAL else len(t.rows)
            j = t.cols.index(cell.col) if cell.col != TOTAL else len(t.cols)
            for line in (
                [(i, b) for b in range(t.values.shape[1]) if b != j],
                [(a, j) for a in range(t.values.shape[0]) if a != i],
            ):
                partner = self._partner(t, line)
                if partner is not None:
                    self.suppress(t, *partner)
                    added = True
        return added


def _bounds(a_eq: np.ndarray, b_eq: np.ndarray, index: int, n: int) -> tuple[int, int]:
    cost = np.zeros(n)
    cost[index] = 1.0
    low = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    high = linprog(-cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if low.status != 0:
        raise DisclosureError(f"disclosure audit failed: {low.message}")
    lo = int(np.ceil(low.fun - 1e-6))
    # Unbounded above cannot happen with a published grand total; be safe anyway.
    hi = int(np.floor(-high.fun + 1e-6)) if high.status == 0 else 2**62
    return lo, hi


def protect(tables: Sequence[CountTable], threshold: int) -> Outcome:
    """Suppress cells of the tables in place until the audit passes; the audit's ranges."""
    check_threshold(threshold)
    release = _Release(tables, threshold)
    release.primary()
    for rounds in range(1, MAX_ROUNDS + 1):
        release.secondary()
        ranges = release.audit()
        failing = release.failing(ranges)
        if not failing:
            return Outcome(release.tables, threshold, ranges, rounds)
        if not any(release.widen(cell) for cell in failing):
            break
    raise DisclosureError(
        "could not protect every small cell by suppression: choose a longer period, fewer "
        "categories or a lower threshold"
    )
