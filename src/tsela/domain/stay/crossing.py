"""The stay as a border check sees it: the traveller's stays with the crossing being checked
added, assessed under their stay rule, and said as reasons.

A check comes before its crossing is recorded, so the history it reads holds every crossing
but the one at the desk. ``with_crossing`` adds that one to the stays made from the history
(``decisions.stays_from_history``):

- an entry opens a stay on the border day of the check; a stay still open in our records
  (an entry with no exit: irregular, the traveller is "still inside") is closed the day
  before, so no day counts twice;
- an entry on the day the last stay ended (out and back in on the same day) continues that
  stay rather than opening a new one;
- an exit closes the open stay on that day; an exit with no open stay (its entry was never
  recorded) leaves the stays as they are.

``assess_crossing`` does what the check needs with them: the citizen and the traveller with
no stay rule are answered at once; else the rule in force on the day is chosen, the permits
that lift its limit are taken into account, and the assessment is returned with its reasons.

Pure: the border day, the history and the permits are passed in; the only data read are the
stay rule files shipped in the package (``rules``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from tsela.domain import decisions as dec
from tsela.domain.reasons import Reason, reason
from tsela.domain.stay.errors import StayInputError, UnknownRuleError
from tsela.domain.stay.evaluation import evaluate
from tsela.domain.stay.model import PermitCover, Stay
from tsela.domain.stay.rules import StayRule, load_rules, select_rule
from tsela.domain.values import Direction

# A stay as (entry day, exit day), the exit None while the stay is open.
StaySpan = tuple[date, date | None]


def with_crossing(stays: Sequence[StaySpan], direction: Direction, day: date) -> list[StaySpan]:
    """``stays`` (oldest first) as they stand once a crossing in ``direction`` on the border
    day ``day`` is added (see the module's docstring); ``stays`` itself is left as it is."""
    out = list(stays)
    if Direction(direction) is Direction.ENTRY:
        if out and out[-1][1] is None:
            # Irregular: still "inside" per our records. Close that stay the day before.
            entry = out[-1][0]
            out[-1] = (entry, max(entry, day - timedelta(days=1)))
        if out and out[-1][1] is not None and out[-1][1] >= day:
            out[-1] = (out[-1][0], None)  # same-day re-entry continues that stay
        else:
            out.append((day, None))
    elif out and out[-1][1] is None:
        out[-1] = (out[-1][0], day)
    return out


class HeldPermit(Protocol):
    """What the stay needs of a permit the traveller holds (the services' ``PermitView``)."""

    @property
    def country(self) -> str: ...
    @property
    def permit_type(self) -> str: ...
    @property
    def type_name(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def overrides_stay_limit(self) -> bool: ...
    @property
    def valid_from(self) -> date | None: ...
    @property
    def valid_to(self) -> date | None: ...


@dataclass(frozen=True)
class CrossingStay:
    """The stay part of a check's answer."""

    rule: str
    rule_version: str
    days_used: int
    days_remaining: int | None
    latest_exit: date | None
    overstay_days: int  # of the stay this exit closes; 0 on entry
    explanation: str
    # On exit, the days of the stay this exit closes (entry and exit days counted); the days
    # used and remaining are then those of a next visit, so an exit shows this instead.
    stay_days: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "rule_version": self.rule_version,
            "days_used": self.days_used,
            "days_remaining": self.days_remaining,
            "latest_exit": self.latest_exit.isoformat() if self.latest_exit else None,
            "overstay_days": self.overstay_days,
            "explanation": self.explanation,
            "stay_days": self.stay_days,
        }


def assess_crossing(
    *,
    nationality: str,
    country: str,
    direction: Direction,
    day: date,
    history: Sequence[dec.PastCrossing],
    permits: Sequence[HeldPermit] = (),
    rules: Mapping[str, StayRule] | None = None,
) -> tuple[CrossingStay | None, list[Reason]]:
    """The stay of a traveller of ``nationality`` crossing into or out of ``country`` on the
    border day ``day``, and its reasons.

    ``history``: the crossings into and out of ``country`` recorded before this one, oldest
    first (the partner's records already merged in, where they fill gaps). ``permits``: the
    permits valid on ``day``; those for ``country`` that lift the stay limit count.
    ``rules``: the stay rules (default: the shipped ones). No stay (None) for a citizen, a
    traveller no rule covers, or a history the rules cannot read (a reason says which).
    """
    try:
        return _assess(nationality, country, Direction(direction), day, history, permits, rules)
    except StayInputError as exc:
        return None, [reason("stay.unreadable", problem=exc)]


def _assess(
    nationality: str,
    country: str,
    direction: Direction,
    day: date,
    history: Sequence[dec.PastCrossing],
    permits: Sequence[HeldPermit],
    rules: Mapping[str, StayRule] | None,
) -> tuple[CrossingStay | None, list[Reason]]:
    if nationality == country:
        return None, [reason("stay.citizen", country=country)]
    covering = [p for p in permits if p.country == country and p.overrides_stay_limit]
    try:
        rule = select_rule(load_rules() if rules is None else rules, nationality, country, day)
    except UnknownRuleError:
        return None, [reason("stay.no_rule", nationality=nationality, country=country)]
    stays = with_crossing(dec.stays_from_history(history), direction, day)
    covers = [
        PermitCover(p.valid_from, p.valid_to, p.permit_type)
        for p in covering
        if p.valid_from and p.valid_to
    ]
    assessment = evaluate(rule, [Stay(a, b) for a, b in stays], as_of=day, permits=covers)
    last_over = 0
    ended: int | None = None
    if direction is Direction.EXIT and assessment.stays:
        last_over = assessment.stays[-1].overstay_days
        if stays and stays[-1][1] == day:  # this exit closed an open stay
            ended = assessment.stays[-1].days
    reasons = dec.stay_reasons(
        direction=direction.value,
        days_remaining=assessment.days_remaining,
        latest_exit=assessment.latest_exit,
        overstay_days=last_over,
        rule=rule.id,
        rule_version=assessment.version_label,
        permit_label=(f"{covering[0].type_name} {covering[0].number}" if covering else None),
        today=day,
    )
    stay = CrossingStay(
        rule=rule.id,
        rule_version=assessment.version_label,
        days_used=assessment.days_used,
        days_remaining=assessment.days_remaining,
        latest_exit=assessment.latest_exit,
        overstay_days=last_over,
        explanation=assessment.explanation_text,
        stay_days=ended,
    )
    return stay, reasons
