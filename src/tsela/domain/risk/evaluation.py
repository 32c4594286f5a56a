"""The rules applied to one check's facts: which rules hit, and the reason each hit adds,
with the facts that made it in its words.

A rule switched on adds its reason as the catalogue has it (REFER); "inform only" adds the
reason's ``inform`` case (INFO: shown and recorded, the decision unchanged); off, the rule is
not evaluated (and the service gathers no facts for it). Each rule hits at most once per
check, naming the nearest (or latest) fact that made it hit.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from tsela.domain.children import age_on, is_child
from tsela.domain.decisions import PastCrossing
from tsela.domain.matching import shared_posts
from tsela.domain.reasons import Reason, reason
from tsela.domain.risk.facts import CheckFacts
from tsela.domain.risk.rules import (
    ChildAloneNight,
    DocumentTwoPorts,
    Mode,
    RefusedAtPartner,
    RiskRules,
    VisaRun,
    rules,
)
from tsela.kernel.clock import border_day, border_time

Said = dict[str, object] | None  # the facts a hit names in its words, or None: no hit


@dataclass(frozen=True)
class Hit:
    rule: str
    mode: Mode  # on or inform (off is never evaluated)
    reason: Reason  # its code, severity and words, the facts in ``reason.params``


@cache
def _post(code: str) -> str:
    """The shared post a port code belongs to (both sides of Maseru Bridge are one post)."""
    return shared_posts().get(code, code)


def document_two_ports(f: CheckFacts, p: DocumentTwoPorts) -> Said:
    """The same document checked or recorded at another post within the window."""
    window = timedelta(minutes=p.window_minutes)
    here = _post(f.port)
    others = [u for u in f.document_uses if _post(u.port) != here and abs(u.at - f.at) <= window]
    if not others:
        return None
    use = min(others, key=lambda u: (abs(u.at - f.at), u.record))
    return {
        "other_port": use.port,
        "other_time": border_time(use.at).strftime("%H:%M"),
        "minutes": int(abs(use.at - f.at) / timedelta(minutes=1)),
        "window": p.window_minutes,
        "node": use.node,
    }


def refused_at_partner(f: CheckFacts, p: RefusedAtPartner) -> Said:
    """The partner refused the traveller entry within the window before this check (coming
    back into this country at the same post right after it is being sent back: no hit)."""
    window = timedelta(days=p.window_days)
    sent_back = timedelta(minutes=p.return_minutes)
    found = []
    for r in f.partner_refusals:
        if r.node == f.node or not (f.at - window <= r.refused_at <= f.at):
            continue
        if (
            f.direction == "entry"
            and _post(r.port) == _post(f.port)
            and f.at - r.refused_at <= sent_back
        ):
            continue
        found.append(r)
    if not found:
        return None
    latest = max(found, key=lambda r: (r.refused_at, r.refusal_id))
    return {
        "country": latest.country,
        "port": latest.port,
        "day": border_day(latest.refused_at).isoformat(),
        "days": (border_day(f.at) - border_day(latest.refused_at)).days,
        "grounds": ", ".join(latest.grounds) or "-",
        "refusal": latest.refusal_id,
        "node": latest.node,
    }


def completed_stays(history: Sequence[PastCrossing]) -> list[tuple[date, date, date | None]]:
    """(entry day, exit day, next entry day) of each stay with both ends recorded, oldest
    first. Unlike the stay rules' pairing, a same-day exit and re-entry is not merged: it is
    exactly the short absence a visa run makes."""
    out: list[tuple[date, date, date | None]] = []
    entered: date | None = None
    for c in history:
        day = border_day(c.crossed_at)
        if c.direction == "entry":
            if out and out[-1][2] is None:
                out[-1] = (out[-1][0], out[-1][1], day)
            entered = day  # an entry while inside: the earlier stay's exit is unknown
        elif entered is not None:
            out.append((entered, max(day, entered), None))
            entered = None
    return out


def visa_run(f: CheckFacts, p: VisaRun) -> Said:
    """At an entry: enough stays just under the limit, each followed by a short absence,
    that began within the look-back (this entry ends the last absence)."""
    if f.direction != "entry" or f.nationality == f.country:
        return None
    today = border_day(f.at)
    since = today - timedelta(days=p.lookback_days)
    # Only the crossings since the look-back began count (with a day's margin for the zone):
    # a history of a thousand crossings is cut by binary search, not walked.
    first = bisect_left(
        f.history, f.at - timedelta(days=p.lookback_days + 1), key=lambda c: c.crossed_at
    )
    runs = []
    for entry, leave, next_entry in completed_stays(f.history[first:]):
        length = (leave - entry).days + 1  # the day of entry and the day of exit both count
        gap = ((next_entry or today) - leave).days
        near_limit = p.min_stay_days <= length <= p.max_stay_days
        if entry >= since and near_limit and 0 <= gap <= p.max_gap_days:
            runs.append((entry, leave, length, gap))
    if len(runs) < p.min_stays:
        return None
    return {
        "count": len(runs),
        "country": f.country,
        "shortest": min(r[2] for r in runs),
        "longest": max(r[2] for r in runs),
        "gap": max(r[3] for r in runs),
        "lookback": p.lookback_days,
        "limit": p.max_stay_days,
        "stays": ", ".join(f"{e.isoformat()}/{x.isoformat()}" for e, x, _n, _g in runs),
    }


def child_alone_night(f: CheckFacts, p: ChildAloneNight) -> Said:
    """A child the officer recorded as travelling alone, at night by the port's clock."""
    day = border_day(f.at)
    if f.child_case != "alone" or f.birth_date is None or not is_child(f.birth_date, day):
        return None
    local = border_time(f.at)  # every port keeps the border's time (SAST)
    if not p.is_night(local.time()):
        return None
    return {
        "age": age_on(f.birth_date, day),
        "time": local.strftime("%H:%M"),
        "night_starts": p.night_starts.strftime("%H:%M"),
        "night_ends": p.night_ends.strftime("%H:%M"),
    }


EVALUATORS: dict[str, Callable[[CheckFacts, Any], Said]] = {
    "document_two_ports": document_two_ports,
    "refused_at_partner": refused_at_partner,
    "visa_run": visa_run,
    "child_alone_night": child_alone_night,
}


def mode_of(rule_id: str, modes: Mapping[str, Mode], catalogue: RiskRules | None = None) -> Mode:
    """A rule's mode: the supervisor's setting, else the file's default."""
    known = catalogue or rules()
    return modes.get(rule_id, known.rules[rule_id].default_mode)


def active(modes: Mapping[str, Mode], catalogue: RiskRules | None = None) -> frozenset[str]:
    """The rules evaluated at a check (on or inform only): the facts to gather."""
    known = catalogue or rules()
    return frozenset(r for r in known.rules if mode_of(r, modes, known) is not Mode.OFF)


def evaluate(
    facts: CheckFacts, modes: Mapping[str, Mode], catalogue: RiskRules | None = None
) -> list[Hit]:
    """The hits of the rules not switched off, in the file's order."""
    known = catalogue or rules()
    out = []
    for rule_id, rule in known.rules.items():
        mode = mode_of(rule_id, modes, known)
        if mode is Mode.OFF:
            continue
        said = EVALUATORS[rule_id](facts, rule.parameters)
        if said is None:
            continue
        variant = "inform" if mode is Mode.INFORM else ""
        out.append(Hit(rule_id, mode, reason(rule.reason, variant, **said)))
    return out
