"""Exit/entry matching: one crossing of the Lesotho-South Africa border, seen by both countries.

A traveller leaving Lesotho at Maseru Bridge is recorded by the Lesotho node as an *exit*
from LSO and, minutes later on the far side of the bridge, by the South African node as an
*entry* into ZAF. This module pairs such records: an exit from one country and an entry into
the other, at the same post (or its paired post), with the same document (issuing state and
number), the entry no later than ``window`` after the exit (and no earlier than
``tolerance`` before it), is one matched crossing. Each record is used once; when several
could pair, the nearest in time wins. What is left over is classified:

* ``mismatch``: an exit and an entry that pair up but disagree: the same document under a
  different name or birth date, or the same person (``person`` key, or surname, given names
  and birth date) on a different document;
* ``unmatched_exit`` / ``unmatched_entry``: no counterpart, and the window has passed (at
  ``as_of``), so the other side's record is not merely late;
* ``pending``: no counterpart yet, but the window has not passed;
* ``no_counterpart_port``: recorded at a post with no counterpart on the other side (the
  Lesotho air port, Moshoeshoe I), so there is nothing to match it with.

Columnar and vectorised (numpy on Arrow columns): records are sorted once by (document,
post, direction of travel, time), and a pair can only be two neighbours in that order.
Choosing among competing neighbour pairs takes each pair that is nearer in time than both
of its rivals, removes the rivals, and repeats; that is the greedy nearest-first choice,
done a whole array at a time (a rare chain of near-ties needs a few rounds).

Pure: no clock (``as_of`` is given), no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import IntFlag, StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from tsela.reference import ports as reference_ports

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow (the 'observatory' extra, tsela.extras) is imported by the functions that build and
# match tables, not here: the border check reads the window and the posts without it.

# A crossing at a bridge post takes minutes; the window is generous because queues at
# Maseru Bridge and Ficksburg run to hours at Easter and in December, and a traveller may
# stop between the two posts. Much longer and a same-day return trip (exit, errand, entry
# back) would start pairing with the wrong record. Configurable per call.
WINDOW = timedelta(hours=2)
# The two nodes' clocks (and officers keying a record late) may disagree by minutes, so an
# entry stamped a little before its exit still pairs.
TOLERANCE = timedelta(minutes=15)
# Lesotho and South Africa keep UTC+2 all year (no daylight saving): border calendar days.
BORDER_UTC_OFFSET = timedelta(hours=2)
COUNTRIES = ("LSO", "ZAF")
# Posts where the two countries use different codes, as data: side code -> shared post code.
# Every post in reference/ports.csv is one row with both sides' names under one code, so none
# pairs differently today; a post that does goes here.
PAIRED_POSTS: Mapping[str, str] = {}

COLUMNS = (
    "id",
    "node",  # the node that recorded it
    "port",
    "direction",  # "entry" / "exit"
    "country",  # the country entered or left
    "crossed_at",
    "document_number",
    "document_country",  # issuing state
    "surname",
    "given_names",
    "birth_date",
    "person",  # a resolved person's key, when known
)


@cache
def schema() -> pa.Schema:
    """The matcher's table: COLUMNS with their Arrow types."""
    import pyarrow as pa

    types = {"crossed_at": pa.timestamp("us", tz="UTC"), "birth_date": pa.date32()}
    return pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])


class Outcome(StrEnum):
    MATCHED = "matched"
    MISMATCH = "mismatch"
    UNMATCHED_EXIT = "unmatched_exit"
    UNMATCHED_ENTRY = "unmatched_entry"
    PENDING = "pending"
    NO_COUNTERPART_PORT = "no_counterpart_port"


OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
_CODE = {o: i for i, o in enumerate(OUTCOMES)}


class Differs(IntFlag):
    """What disagrees between the two halves of a mismatched pair."""

    NONE = 0
    NAME = 1
    BIRTH_DATE = 2
    DOCUMENT = 4


def shared_posts() -> dict[str, str]:
    """Every post code either side uses -> the shared post it belongs to (land posts only)."""
    out = {code: code for code, info in reference_ports().items() if info.kind == "land"}
    out.update(PAIRED_POSTS)
    return out


def crossings_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Crossings as the matcher's Arrow table; ValueError naming the row and field if bad."""
    import pyarrow as pa

    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for i, row in enumerate(rows):
        for name in ("id", "node", "port", "direction", "country", "crossed_at"):
            if row.get(name) in (None, ""):
                raise ValueError(f"crossing {i}: {name} is required")
        if row["direction"] not in ("entry", "exit"):
            raise ValueError(f"crossing {i}: direction {row['direction']!r} is not entry or exit")
        if row["country"] not in COUNTRIES:
            raise ValueError(f"crossing {i}: country {row['country']!r} is not LSO or ZAF")
        at = row["crossed_at"]
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise ValueError(f"crossing {i}: crossed_at must be a datetime with a time zone")
        for name in columns:
            value = row.get(name)
            columns[name].append(str(value) if name == "id" and value is not None else value)
        columns["crossed_at"][-1] = at.astimezone(UTC)
    return pa.table(columns, schema=schema())


def _check_table(table: pa.Table) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = [name for name in COLUMNS if name not in table.column_names]
    if missing:
        raise ValueError(f"crossings table lacks column {missing[0]}")
    table = table.select(list(COLUMNS)).cast(schema())
    for name in ("port", "direction", "country", "crossed_at"):
        if table[name].null_count:
            raise ValueError(f"crossings table: {name} is missing in some rows")
    bad = pc.invert(pc.is_in(table["country"], pa.array(COUNTRIES)))
    if pc.any(bad).as_py():
        raise ValueError("crossings table: country must be LSO or ZAF")
    bad = pc.invert(pc.is_in(table["direction"], pa.array(["entry", "exit"])))
    if pc.any(bad).as_py():
        raise ValueError("crossings table: direction must be entry or exit")
    return table


def _codes(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[Any]]:
    """Integer codes of a column's values (-1 for missing) and the distinct values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):  # one dictionary for the whole column
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    idx = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return idx, encoded.dictionary.to_pylist()


def _norm(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Names compared as an officer would: case, accents' absence and spacing ignored."""
    import pyarrow.compute as pc

    up = pc.utf8_upper(pc.utf8_trim_whitespace(values))
    return pc.replace_substring_regex(up, r"[\s\-']+", " ")


def _pick_nearest(cand: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Among candidate neighbour pairs (k, k+1), choose pairs that share no record, nearest
    first: a pair nearer than both neighbouring pairs is taken and its neighbours dropped,
    until none is left. Ties go to the earlier pair."""
    cand = cand.copy()
    chosen = np.zeros_like(cand)
    inf = np.iinfo(np.int64).max
    while cand.any():
        c = np.where(cand, cost, inf)
        left = np.concatenate(([inf], c[:-1]))
        right = np.concatenate((c[1:], [inf]))
        take = cand & (c < left) & (c <= right)
        chosen |= take
        cand &= ~take
        cand[1:] &= ~take[:-1]
        cand[:-1] &= ~take[1:]
    return chosen


def _pairs(
    key: np.ndarray,
    t: np.ndarray,
    is_exit: np.ndarray,
    rows: np.ndarray,
    window: int,
    tolerance: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(exit rows, entry rows) paired one-to-one among ``rows``, same ``key``, nearest first."""
    if len(rows) < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    k, tt, ex = key[rows], t[rows], is_exit[rows]
    # By key, then time, an entry before an exit at a tie (folded into one sort key).
    order = np.lexsort((tt * 2 + ex, k))
    rs, k, tt, ex = rows[order], k[order], tt[order], ex[order]
    dt = tt[1:] - tt[:-1]
    same = k[1:] == k[:-1]
    exit_then_entry = ex[:-1] & ~ex[1:] & (dt <= window)
    entry_then_exit = ~ex[:-1] & ex[1:] & (dt <= tolerance)
    # An entry stamped before its exit is a clock's doing, less likely than the plain order:
    # it costs the tolerance on top, so a forward pair as near wins.
    cost = np.where(entry_then_exit, dt + tolerance, dt)
    chosen = _pick_nearest(same & (exit_then_entry | entry_then_exit), cost)
    pos = np.flatnonzero(chosen)
    first, second = rs[pos], rs[pos + 1]
    first_is_exit = ex[pos]
    return np.where(first_is_exit, first, second), np.where(first_is_exit, second, first)


@dataclass(frozen=True)
class PortDay:
    """One line of the matching report: a post on a border day."""

    port: str
    day: date
    matched: int
    mismatches: int
    unmatched_exits: int
    unmatched_entries: int
    pending: int
    no_counterpart_port: int


@dataclass(frozen=True)
class Matching:
    """The matcher's answer, row by row of the input table.

    ``outcome`` holds indexes into OUTCOMES; ``counterpart`` the row of the other half of
    a pair (-1 if none); ``differs`` the Differs flags of a mismatch; ``day`` the border
    calendar day of each row.
    """

    table: pa.Table
    outcome: np.ndarray
    counterpart: np.ndarray
    differs: np.ndarray
    day: np.ndarray  # days since 1970-01-01, border time

    def outcome_of(self, row: int) -> Outcome:
        return OUTCOMES[int(self.outcome[row])]

    def rows_with(self, outcome: Outcome) -> np.ndarray:
        return np.flatnonzero(self.outcome == _CODE[outcome])

    def pairs(self) -> list[tuple[int, int]]:
        """(exit row, entry row) of every pair, matched or mismatched, in exit row order."""
        import pyarrow.compute as pc

        is_exit = pc.equal(self.table["direction"], "exit").to_numpy(zero_copy_only=False)
        rows = np.flatnonzero((self.counterpart >= 0) & is_exit)
        return list(zip(rows.tolist(), self.counterpart[rows].tolist(), strict=True))

    def report(self) -> list[PortDay]:
        """Counts per post and border day; a pair is counted once, at its exit."""
        import pyarrow.compute as pc

        is_exit = pc.equal(self.table["direction"], "exit").to_numpy(zero_copy_only=False)
        counted = (self.counterpart < 0) | is_exit
        port_idx, port_names = _codes(self.table["port"])
        if not len(port_idx):
            return []
        dmin = int(self.day.min()) if len(self.day) else 0
        span = int(self.day.max()) - dmin + 1 if len(self.day) else 1
        cell = port_idx * span + (self.day - dmin)
        cells, inverse = np.unique(cell[counted], return_inverse=True)
        codes = self.outcome[counted]
        counts = np.zeros((len(cells), len(OUTCOMES)), dtype=np.int64)
        np.add.at(counts, (inverse, codes), 1)
        out = []
        for c, row in zip(cells.tolist(), counts.tolist(), strict=True):
            by = dict(zip(OUTCOMES, row, strict=True))
            out.append(
                PortDay(
                    port=port_names[c // span],
                    day=date.fromordinal(date(1970, 1, 1).toordinal() + dmin + c % span),
                    matched=by[Outcome.MATCHED],
                    mismatches=by[Outcome.MISMATCH],
                    unmatched_exits=by[Outcome.UNMATCHED_EXIT],
                    unmatched_entries=by[Outcome.UNMATCHED_ENTRY],
                    pending=by[Outcome.PENDING],
                    no_counterpart_port=by[Outcome.NO_COUNTERPART_PORT],
                )
            )
        out.sort(key=lambda r: (r.day, r.port))
        return out


def match(
    crossings: pa.Table,
    *,
    as_of: datetime,
    window: timedelta = WINDOW,
    tolerance: timedelta = TOLERANCE,
    posts: Mapping[str, str] | None = None,
) -> Matching:
    """Pair exits with entries across the border; classify the rest (see the module text).

    ``crossings``: a table with ``schema()``'s columns (``crossings_table`` builds one from rows).
    ``as_of``: the time the answer is for; a record without counterpart is ``pending``
    until ``window`` after it has passed. ``posts``: post code -> shared post (default: the
    land posts of reference/ports.csv and PAIRED_POSTS).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if as_of.tzinfo is None:
        raise ValueError("as_of must have a time zone")
    if window <= timedelta(0) or tolerance < timedelta(0):
        raise ValueError("the window must be positive and the tolerance not negative")
    table = _check_table(crossings)
    n = table.num_rows
    us = timedelta(microseconds=1)
    t = table["crossed_at"].cast(pa.int64()).to_numpy()
    is_exit = pc.equal(table["direction"], "exit").to_numpy(zero_copy_only=False)
    into_zaf = pc.equal(table["country"], "ZAF").to_numpy(zero_copy_only=False)
    # Direction of travel: 0 = Lesotho to South Africa (an exit from LSO, an entry into ZAF).
    travel = (is_exit ^ ~into_zaf).astype(np.int64)
    posts = shared_posts() if posts is None else posts
    port_idx, port_names = _codes(table["port"])
    post_names = sorted(set(posts.values()))
    post_of_port = np.array(
        [post_names.index(posts[p]) if p in posts else -1 for p in port_names] + [-1],
        dtype=np.int64,
    )
    post = post_of_port[port_idx]  # port_idx -1 (never: port is required) reads the -1 slot
    has_post = post >= 0
    n_posts = max(len(post_names), 1)

    outcome = np.full(n, _CODE[Outcome.PENDING], dtype=np.int8)
    outcome[~has_post] = _CODE[Outcome.NO_COUNTERPART_PORT]
    counterpart = np.full(n, -1, dtype=np.int64)
    differs = np.zeros(n, dtype=np.int8)
    win, tol = window // us, tolerance // us

    # 1. Same document.
    number_idx, _ = _codes(table["document_number"])
    state_idx, states = _codes(table["document_country"])
    doc_idx = np.where(
        (number_idx >= 0) & (state_idx >= 0), number_idx * max(len(states), 1) + state_idx, -1
    )
    key = (doc_idx * n_posts + post) * 2 + travel
    rows = np.flatnonzero(has_post & (doc_idx >= 0))
    exits, entries = _pairs(key, t, is_exit, rows, win, tol)
    counterpart[exits], counterpart[entries] = entries, exits
    flags = np.zeros(len(exits), dtype=np.int8)
    for name, flag in (
        ("surname", Differs.NAME),
        ("given_names", Differs.NAME),
        ("birth_date", Differs.BIRTH_DATE),
    ):
        a = table[name].take(pa.array(exits))
        b = table[name].take(pa.array(entries))
        # Only what both sides recorded is compared (a partner may withhold a field).
        ne = pc.fill_null(pc.not_equal(a, b), False).to_numpy(zero_copy_only=False)
        if flag is Differs.NAME and ne.any():
            # Written differently: compared again as an officer reads names (few pairs).
            odd = pa.array(np.flatnonzero(ne))
            again = pc.not_equal(_norm(a.take(odd)), _norm(b.take(odd)))
            ne[np.flatnonzero(ne)] = pc.fill_null(again, False).to_numpy(zero_copy_only=False)
        flags |= np.where(ne, int(flag), 0).astype(np.int8)
    differs[exits], differs[entries] = flags, flags
    paired = np.concatenate((exits, entries))
    outcome[paired] = np.where(
        np.concatenate((flags, flags)) != 0, _CODE[Outcome.MISMATCH], _CODE[Outcome.MATCHED]
    )

    # 2. The same person on another document, among what is left (few records: the keys
    # are made for those only).
    rows = np.flatnonzero(has_post & (counterpart < 0))
    left = table.take(pa.array(rows))
    by_name = pc.binary_join_element_wise(
        _norm(left["surname"]),
        _norm(left["given_names"]),
        pc.cast(left["birth_date"], pa.string()),
        "\x1f",
    )
    person_idx, _ = _codes(pc.coalesce(left["person"], by_name))
    key = np.full(n, -1, dtype=np.int64)
    key[rows] = (person_idx * n_posts + post[rows]) * 2 + travel[rows]
    rows = rows[person_idx >= 0]
    exits, entries = _pairs(key, t, is_exit, rows, win, tol)
    counterpart[exits], counterpart[entries] = entries, exits
    differs[exits] = differs[entries] = int(Differs.DOCUMENT)
    outcome[exits] = outcome[entries] = _CODE[Outcome.MISMATCH]

    # 3. The rest: late, or not yet.
    alone = has_post & (counterpart < 0)
    settled = t + win <= int((as_of.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // us)
    outcome[alone & settled & is_exit] = _CODE[Outcome.UNMATCHED_EXIT]
    outcome[alone & settled & ~is_exit] = _CODE[Outcome.UNMATCHED_ENTRY]
    day = (t + BORDER_UTC_OFFSET // us) // (timedelta(days=1) // us)
    return Matching(table, outcome, counterpart, differs, day)


__all__ = [
    "BORDER_UTC_OFFSET",
    "COLUMNS",
    "PAIRED_POSTS",
    "TOLERANCE",
    "WINDOW",
    "Differs",
    "Matching",
    "Outcome",
    "PortDay",
    "crossings_table",
    "match",
    "schema",
    "shared_posts",
]
