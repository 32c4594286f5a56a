"""The evaluation explained in words."""

from __future__ import annotations

from datetime import date

from tsela.domain.stay.model import PermitCover, StayOutcome
from tsela.domain.stay.rules import StayRule, StayRuleVersion

# How many stays with an overstay the explanation names one by one before summarising.
EXPLAIN_OVERSTAYS = 5


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def explain(
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
