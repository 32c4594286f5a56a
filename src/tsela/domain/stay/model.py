"""The input (stays, permits that cover days) and the answer (how each stay fared, the
assessment) of an evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from tsela.domain.stay.errors import StayInputError


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
