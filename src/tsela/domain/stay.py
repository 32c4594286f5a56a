"""Stay rules: how long a traveller may stay, kept as data, and the arithmetic that applies them.

A rule (one TOML file under ``tsela/reference/stay_rules/``) names who it applies to and has
dated versions; each version combines a maximum stay per entry, an optional rolling-window cap
("N days in any M days", like the Schengen 90/180 rule) and the permit types whose validity
lets the holder stay on regardless of those limits.

Counting follows the EU rule (Regulation (EU) 2016/399, art. 6): the day of entry and the day
of exit both count as days of stay, and the window checked on a day is that day and the M - 1
days before it. A stay still open counts up to the day asked about. When a traveller leaves
and re-enters on the same day, that calendar day counts once for the window (it is one day of
presence), while each of the two stays counts it towards its own per-entry limit.

The arithmetic works on day intervals with running totals (numpy for all stays at once,
bisect for single days), never day by day, so a traveller with a thousand past crossings is
evaluated in well under a millisecond. The key fact that makes this possible: while a
traveller stays on continuously (and no permit covers the days), the days used in the window
ending on each day never decrease, since each new day adds one and at most one old day drops
out. So a stay is over the limit from some day to its end, and that first day is found by
binary search.

Pure: no clock, no I/O except reading the rule files shipped in the package.
"""

from __future__ import annotations

import tomllib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, NamedTuple, NoReturn

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tsela.reference import is_country

ANY = "*"
RULES_DIR = "stay_rules"
# How many stays with an overstay the explanation names one by one before summarising.
EXPLAIN_OVERSTAYS = 5


# --------------------------------------------------------------------------- errors


class StayInputError(ValueError):
    """Stays, permits or dates that cannot be evaluated; the message names the offending one."""


class RuleNotInForceError(StayInputError):
    """The rule has no version in force on the day asked about."""


class UnknownRuleError(ValueError):
    """No rule with that id (or none for that traveller); the message lists the known rules."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class RuleFileError(ValueError):
    """A stay rule file that cannot be read; the message names the file and the field."""


# --------------------------------------------------------------------------- rule files


def _code_list(values: Sequence[str], what: str) -> tuple[str, ...]:
    out: list[str] = []
    for raw in values:
        code = raw.strip().upper()
        if code != ANY and not is_country(code):
            raise ValueError(f"{what} {raw!r} is not an ISO 3166-1 alpha-3 country code or '*'")
        out.append(code)
    if not out:
        raise ValueError(f"{what} list is empty")
    return tuple(out)


class StayRuleVersion(BaseModel):
    """The limits of a rule from one date (``effective_from``) to another (``effective_to``).

    A version without ``effective_from`` is written down but not in force (e.g. an announced
    change); giving it a date switches it on from that day. When several versions are in force
    on a day, the one that took effect last wins, so a new version needs no edit of the old one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    effective_from: date | None = None
    effective_to: date | None = None
    max_days_per_entry: int | None = Field(default=None, ge=1)
    window_days: int | None = Field(default=None, ge=2)
    max_days_in_window: int | None = Field(default=None, ge=1)
    # Permit types whose valid days are lawful whatever the limits ("*": any permit given).
    permit_overrides: tuple[str, ...] = ()
    # True: days under a permit still count towards the limits, so once the permit ends the
    # holder must leave ("stay allowed until the permit ends"). False: they are not counted,
    # as in the Schengen rule (Regulation (EU) 2016/399 art. 6(2)).
    permit_days_count: bool = True
    source: str = Field(min_length=1)
    note: str = ""

    @field_validator("permit_overrides")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().upper() for v in value)

    @model_validator(mode="after")
    def _consistent(self) -> StayRuleVersion:
        if (self.window_days is None) != (self.max_days_in_window is None):
            raise ValueError("window_days and max_days_in_window go together: give both or neither")
        if self.window_days is not None and self.max_days_in_window is not None:
            if self.max_days_in_window >= self.window_days:
                raise ValueError(
                    f"max_days_in_window ({self.max_days_in_window}) must be less than "
                    f"window_days ({self.window_days}), or the window limits nothing"
                )
        elif self.max_days_per_entry is None:
            raise ValueError("a version needs max_days_per_entry, a window, or both")
        if self.effective_to is not None:
            if self.effective_from is None:
                raise ValueError("effective_to needs an effective_from")
            if self.effective_to < self.effective_from:
                raise ValueError(
                    f"effective_to {self.effective_to} is before effective_from "
                    f"{self.effective_from}"
                )
        return self

    def in_force_on(self, day: date) -> bool:
        if self.effective_from is None or day < self.effective_from:
            return False
        return self.effective_to is None or day <= self.effective_to

    def overridden_by(self, permit_type: str) -> bool:
        return ANY in self.permit_overrides or permit_type.upper() in self.permit_overrides

    def limits_text(self) -> str:
        parts = []
        if self.max_days_per_entry is not None:
            parts.append(f"at most {self.max_days_per_entry} days per entry")
        if self.window_days is not None:
            parts.append(
                f"at most {self.max_days_in_window} days in any {self.window_days}-day period"
            )
        return " and ".join(parts)


class StayRule(BaseModel):
    """A rule set from one file: who it applies to, and its dated versions."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
    title: str = Field(min_length=1)
    nationality: tuple[str, ...]
    destination: tuple[str, ...]
    # None: travellers without a permit (visitors). Otherwise holders of this permit type.
    permit_type: str | None = None
    source: str = Field(min_length=1)
    versions: tuple[StayRuleVersion, ...] = Field(alias="version", min_length=1)

    @field_validator("nationality")
    @classmethod
    def _nationality(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _code_list(value, "nationality")

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = _code_list(value, "destination")
        if ANY in codes:
            raise ValueError("destination must name countries, not '*'")
        return codes

    @field_validator("permit_type")
    @classmethod
    def _permit_type(cls, value: str | None) -> str | None:
        return value.strip().upper() if value else None

    @model_validator(mode="after")
    def _distinct_dates(self) -> StayRule:
        seen: dict[date, str] = {}
        for v in self.versions:
            if v.effective_from is None:
                continue
            if v.effective_from in seen:
                raise ValueError(
                    f"versions {seen[v.effective_from]!r} and {v.label!r} both take effect on "
                    f"{v.effective_from}; which one applies would be ambiguous"
                )
            seen[v.effective_from] = v.label
        return self

    def version_on(self, day: date) -> StayRuleVersion | None:
        """The version in force on ``day``: of those in force, the one that took effect last."""
        best: StayRuleVersion | None = None
        for v in self.versions:
            if v.in_force_on(day) and (
                best is None or (v.effective_from or date.min) > (best.effective_from or date.min)
            ):
                best = v
        return best

    def applies_to(self, nationality: str, destination: str) -> bool:
        nat, dest = nationality.strip().upper(), destination.strip().upper()
        return (ANY in self.nationality or nat in self.nationality) and dest in self.destination


def _where(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(loc):
        part = loc[i]
        if part == "version" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            parts.append(f"version {int(loc[i + 1]) + 1}")
            i += 2
            continue
        parts.append(str(part))
        i += 1
    return ".".join(parts) if parts else "file"


def parse_rule(text: str, name: str) -> StayRule:
    """One rule from the text of its TOML file; ``name`` is used in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(f"stay rule file {name}: not valid TOML: {exc}") from None
    try:
        return StayRule.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_where(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise RuleFileError(f"stay rule file {name}: {problems}") from None


@cache
def load_rules() -> Mapping[str, StayRule]:
    """The rules shipped with Tsela, by id (read once from the package's data files)."""
    folder = resources.files("tsela.reference").joinpath(RULES_DIR)
    rules: dict[str, StayRule] = {}
    names: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        rule = parse_rule(entry.read_text(encoding="utf-8"), entry.name)
        if rule.id in rules:
            raise RuleFileError(
                f"stay rule file {entry.name}: id {rule.id} is already used by {names[rule.id]}"
            )
        rules[rule.id] = rule
        names[rule.id] = entry.name
    return MappingProxyType(rules)


def with_rules(
    extra: Iterable[StayRule], base: Mapping[str, StayRule] | None = None
) -> dict[str, StayRule]:
    """The shipped rules plus ``extra`` (a rule with a shipped id replaces it)."""
    rules = dict(load_rules() if base is None else base)
    for rule in extra:
        rules[rule.id] = rule
    return rules


def get_rule(rule_id: str, rules: Mapping[str, StayRule] | None = None) -> StayRule:
    rules = load_rules() if rules is None else rules
    wanted = rule_id.strip().upper()
    if wanted in rules:
        return rules[wanted]
    known = ", ".join(sorted(rules)) or "none"
    raise UnknownRuleError(f"unknown stay rule {rule_id!r}: known rules are {known}")


def select_rule(
    rules: Mapping[str, StayRule] | Iterable[StayRule],
    nationality: str,
    destination: str,
    on: date,
    permit_type: str | None = None,
) -> StayRule:
    """The rule for a traveller of ``nationality`` going to ``destination`` on day ``on``.

    A rule written for the traveller's permit type is preferred; otherwise the visitor rule
    (no permit type) applies, and the permit acts through that rule's ``permit_overrides``.
    A rule naming the nationality beats one for any nationality ('*').
    """
    pool = list(rules.values()) if isinstance(rules, Mapping) else list(rules)
    wanted_permit = permit_type.strip().upper() if permit_type else None
    tiers = [wanted_permit, None] if wanted_permit else [None]
    nat = nationality.strip().upper()
    for tier in tiers:
        found = [
            r
            for r in pool
            if r.permit_type == tier and r.applies_to(nat, destination) and r.version_on(on)
        ]
        exact = [r for r in found if nat in r.nationality]
        best = exact or found
        if len(best) > 1:
            ids = ", ".join(sorted(r.id for r in best))
            raise UnknownRuleError(
                f"several stay rules apply to nationality {nat} travelling to "
                f"{destination.upper()} on {on}: {ids}; name one with --rule"
            )
        if best:
            return best[0]
    who = f"nationality {nat} travelling to {destination.upper()}"
    if wanted_permit:
        who += f" with permit {wanted_permit}"
    known = ", ".join(sorted(r.id for r in pool)) or "none"
    raise UnknownRuleError(f"no stay rule in force on {on} for {who}; known rules are {known}")


# --------------------------------------------------------------------------- input


@dataclass(frozen=True, slots=True)
class Stay:
    """One stay: entered on ``entry``, left on ``exit`` (None: not yet left)."""

    entry: date
    exit: date | None = None

    def __str__(self) -> str:
        return f"{self.entry.isoformat()}:{self.exit.isoformat() if self.exit else ''}"

    @classmethod
    def parse(cls, text: str, number: int | None = None) -> Stay:
        """``ENTRY:EXIT`` or ``ENTRY:`` (ISO dates)."""
        where = f"stay {number} ({text!r})" if number is not None else f"stay {text!r}"
        entry_text, sep, exit_text = text.strip().partition(":")
        if not sep:
            raise StayInputError(f"{where}: write ENTRY:EXIT or ENTRY: with ISO dates (YYYY-MM-DD)")
        entry = _parse_date(entry_text, f"{where}: entry")
        leave = _parse_date(exit_text, f"{where}: exit") if exit_text.strip() else None
        return cls(entry, leave)


@dataclass(frozen=True, slots=True)
class PermitCover:
    """A permit valid from ``valid_from`` to ``valid_to`` (both days included)."""

    valid_from: date
    valid_to: date
    permit_type: str

    def __str__(self) -> str:
        return f"{self.permit_type}:{self.valid_from.isoformat()}:{self.valid_to.isoformat()}"

    @classmethod
    def parse(cls, text: str, number: int | None = None) -> PermitCover:
        """``TYPE:FROM:TO`` (ISO dates)."""
        where = f"permit {number} ({text!r})" if number is not None else f"permit {text!r}"
        parts = text.strip().split(":")
        if len(parts) != 3 or not parts[0].strip():
            raise StayInputError(f"{where}: write TYPE:FROM:TO with ISO dates (YYYY-MM-DD)")
        return cls(
            valid_from=_parse_date(parts[1], f"{where}: valid from"),
            valid_to=_parse_date(parts[2], f"{where}: valid to"),
            permit_type=parts[0].strip().upper(),
        )


def _parse_date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise StayInputError(f"{what} {text.strip()!r} is not a date (YYYY-MM-DD)") from None


# --------------------------------------------------------------------------- answers


class StayOutcome(NamedTuple):
    """How one stay fared: its days up to the day asked about, and its days of overstay."""

    entry: date
    exit: date | None
    days: int
    overstay_days: int
    first_overstay_day: date | None


@dataclass(frozen=True, slots=True)
class StayAssessment:
    """The answer for one traveller on one day.

    ``overstays`` lists the stays with an overstay and ``stays`` every stay with its outcome;
    both are built when asked for, from ``chronological`` (the stays in date order) and
    ``overstay_index`` ((position in ``chronological``, overstay days, first overstay day as
    an ordinal) for each stay with an overstay).
    """

    rule_id: str
    version_label: str
    as_of: date
    days_used: int
    days_remaining: int
    latest_exit: date | None
    overstay_days: int
    ongoing: bool
    window_start: date | None
    explanation: tuple[str, ...]
    chronological: tuple[Stay, ...] = field(repr=False)
    overstay_index: tuple[tuple[int, int, int], ...] = field(repr=False)

    @property
    def explanation_text(self) -> str:
        return " ".join(self.explanation)

    def _outcome(self, i: int, over: int, first: int | None) -> StayOutcome:
        s = self.chronological[i]
        days = ((s.exit or self.as_of) - s.entry).days + 1
        first_day = date.fromordinal(first) if over and first is not None else None
        return StayOutcome(s.entry, s.exit, days, over, first_day)

    @property
    def overstays(self) -> tuple[StayOutcome, ...]:
        """The stays with an overstay, in date order."""
        return tuple(self._outcome(i, over, first) for i, over, first in self.overstay_index)

    @property
    def stays(self) -> tuple[StayOutcome, ...]:
        """Every stay in date order with its days and overstay."""
        over = {i: (days, first) for i, days, first in self.overstay_index}
        return tuple(
            self._outcome(i, *over.get(i, (0, None))) for i in range(len(self.chronological))
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the five answers first, then what they were computed from."""
        return {
            "days_used": self.days_used,
            "days_remaining": self.days_remaining,
            "latest_exit": self.latest_exit.isoformat() if self.latest_exit else None,
            "overstay_days": self.overstay_days,
            "explanation": list(self.explanation),
            "rule": self.rule_id,
            "rule_version": self.version_label,
            "as_of": self.as_of.isoformat(),
            "stays": [
                {
                    "entry": s.entry.isoformat(),
                    "exit": s.exit.isoformat() if s.exit else None,
                    "days": s.days,
                    "overstay_days": s.overstay_days,
                    "first_overstay_day": (
                        s.first_overstay_day.isoformat() if s.first_overstay_day else None
                    ),
                }
                for s in self.stays
            ],
        }


# --------------------------------------------------------------------------- day arithmetic
# Days are proleptic ordinals (date.toordinal) so that arithmetic on them is plain int math.


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of day intervals (sorted by start), joining those that touch or share a day."""
    out: list[tuple[int, int]] = []
    for a, b in intervals:
        if out and a <= out[-1][1] + 1:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _subtract(base: list[tuple[int, int]], cut: list[tuple[int, int]]) -> list[tuple[int, int]]:
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


class _Days:
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
    def of(cls, intervals: list[tuple[int, int]]) -> _Days:
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


def _first_true(lo: int, hi: int, over: Callable[[int], bool]) -> int | None:
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


# --------------------------------------------------------------------------- evaluation

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

    def presence(self) -> _Days:
        """The days present, as runs: a day shared by two stays (same-day re-entry) once."""
        if not len(self.order):
            return _Days.of([])
        new_run = np.empty(len(self.order), dtype=bool)
        new_run[0] = True
        # Sorted and not overlapping, exits never go down, so a run ends at its last exit.
        new_run[1:] = self.entry[1:] > self.exit[:-1] + 1
        first = np.flatnonzero(new_run)
        last = np.concatenate((first[1:] - 1, [len(self.order) - 1]))
        return _Days(self.entry[first], self.exit[last])


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
    stays: _Stays, counted: _Days, per_entry: int | None, window: int | None, cap: int
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
    counted: _Days,
    permit_days: _Days,
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
            hit = _first_true(r0, r1, unlawful)
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
    permit_days = _Days.of(
        _merge((p.valid_from.toordinal(), p.valid_to.toordinal()) for p in used_permits)
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
        counted = _Days.of(_subtract(presence.intervals(), permit_days.intervals()))
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
        first_bad = _first_true(r0, r0 + reach if r1 is None else r1, over_if_staying)
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
    explanation = _explain(
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


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _explain(
    *,
    rule: StayRule,
    version: StayRuleVersion,
    as_of: date,
    early: int,
    any_stays: bool,
    overstays: tuple[StayOutcome, ...],
    overstayed_stays: int,
    more_overstay_days: int,
    ongoing: bool,
    start: date,
    first_bad: date,
    latest: date | None,
    days_used: int,
    days_remaining: int,
    window_start: date | None,
    over_entry: bool,
    used_permits: list[PermitCover],
    ignored_permits: list[PermitCover],
) -> tuple[str, ...]:
    """The answer in plain sentences, in an order that does not depend on the input order."""
    out: list[str] = []
    since = f" since {version.effective_from}" if version.effective_from else ""
    out.append(
        f"Rule {rule.id} ({rule.title}), version {version.label!r} in force on {as_of}{since}: "
        f"{version.limits_text()}."
    )
    out.append(
        "The day of entry and the day of exit both count as days of stay; "
        "a day of leaving and re-entering counts once."
    )
    if early:
        out.append(
            f"{early} of the stays began before this version took effect "
            f"({version.effective_from}); all stays are judged by the version in force on {as_of}."
        )
    for p in used_permits:
        counts = (
            "those days still count towards the limits, so the stay must end when the permit ends"
            if version.permit_days_count
            else "those days do not count towards the limits"
        )
        out.append(
            f"Permit {p.permit_type}, valid {p.valid_from} to {p.valid_to}, makes the days it "
            f"covers lawful; {counts}."
        )
    for p in ignored_permits:
        out.append(
            f"Permit {p.permit_type} ({p.valid_from} to {p.valid_to}) does not lift this rule's "
            "limits and was not taken into account."
        )
    if window_start is not None:
        out.append(
            f"The {version.window_days}-day window ending {as_of} runs from {window_start}; "
            f"it holds {_days(days_used)} of stay (limit {version.max_days_in_window})."
        )
    if ongoing:
        if version.window_days is None:
            out.append(
                f"The stay in progress began on {start}; by {as_of} it has lasted "
                f"{_days(days_used)} (limit {version.max_days_per_entry})."
            )
        else:
            out.append(f"A stay is in progress since {start}.")
    elif not any_stays:
        out.append("No earlier stays were given.")
    else:
        out.append(f"No stay is in progress on {as_of}; the figures are for a stay starting then.")

    why = _why_over(version, over_entry)
    if latest is None:
        out.append(f"No lawful stay is possible on {start}: {why}.")
    elif ongoing and latest < as_of:
        out.append(
            f"The stay in progress should have ended by {latest} (on {first_bad} {why}); "
            "every day since is an overstay."
        )
    elif ongoing:
        out.append(
            f"The stay in progress may lawfully continue until {latest}, "
            f"{_days(days_remaining)} after {as_of}; on {first_bad} {why}."
        )
    else:
        out.append(
            f"A stay starting on {as_of} may last up to {_days(days_remaining)}, "
            f"until {latest}; on {first_bad} {why}."
        )
    if (
        version.max_days_in_window is not None
        and days_remaining > 0
        and days_remaining > version.max_days_in_window - days_used
    ):
        out.append(
            "Older days drop out of the window as it slides forward, so more days remain than "
            "the limit minus the days used."
        )

    if not overstayed_stays:
        out.append("No stay given has an overstay.")
    for o in overstays:
        end = o.exit.isoformat() if o.exit else f"{as_of} (still in progress)"
        out.append(
            f"The stay from {o.entry} to {end} overstayed by {_days(o.overstay_days)}, "
            f"starting {o.first_overstay_day}."
        )
    if overstayed_stays > len(overstays):
        out.append(
            f"{overstayed_stays - len(overstays)} more stays overstayed, by "
            f"{_days(more_overstay_days)} in all."
        )
    return tuple(out)


def _why_over(version: StayRuleVersion, over_entry: bool) -> str:
    if over_entry:
        return f"it would be beyond the limit of {version.max_days_per_entry} days per entry"
    return (
        f"the {version.window_days}-day window ending that day would hold more than "
        f"{version.max_days_in_window} days of stay"
    )


__all__ = [
    "PermitCover",
    "RuleFileError",
    "RuleNotInForceError",
    "Stay",
    "StayAssessment",
    "StayInputError",
    "StayOutcome",
    "StayRule",
    "StayRuleVersion",
    "UnknownRuleError",
    "evaluate",
    "get_rule",
    "load_rules",
    "parse_rule",
    "select_rule",
    "with_rules",
]
