"""From findings to a border decision: CLEAR, REFER (secondary inspection) or DENY.

Pure: the check service gathers the facts (document, permits, stay, watchlists, history),
this module turns each into a ``Reason`` from the catalogue (``domain.reasons``: the code's
severity and words) and takes the most severe.
A DENY is a recommendation: a person refused entry always has an officer's decision behind
it (Lesotho Data Protection Act 2011: no decision based solely on automated processing).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tsela.domain.matching import WINDOW as MATCH_WINDOW
from tsela.domain.reasons import Reason, Severity, reason
from tsela.domain.values import Decision
from tsela.kernel.clock import border_day

__all__ = [
    "DENY_CATEGORIES",
    "POLICE_CATEGORIES",
    "PROTECT_CATEGORIES",
    "STRONG_MATCH",
    "PartnerRecord",
    "PastCrossing",
    "Reason",
    "Severity",
    "WatchlistFinding",
    "decide",
    "document_reasons",
    "history_reasons",
    "ordered",
    "stay_reasons",
    "stays_from_history",
    "watchlist_reasons",
    "with_partner_records",
]

_OTHER_COUNTRY = {"LSO": "ZAF", "ZAF": "LSO"}


def decide(reasons: Iterable[Reason]) -> Decision:
    worst = max((r.severity for r in reasons), default=Severity.INFO)
    if worst is Severity.DENY:
        return Decision.DENY
    if worst is Severity.REFER:
        return Decision.REFER
    return Decision.CLEAR


def ordered(reasons: Iterable[Reason]) -> list[Reason]:
    """Most severe first, otherwise in the order found."""
    items = list(reasons)
    return sorted(items, key=lambda r: -int(r.severity))


# --------------------------------------------------------------------------- document

ALERT_STATUSES = ("lost", "stolen", "revoked")
PARTNER_NODES = {"LS": "LSO", "ZA": "ZAF"}  # each node and its country


@dataclass(frozen=True)
class PartnerAlert:
    """A document the partner node reported lost, stolen or revoked (received through the
    exchange, docs/exchange.md)."""

    node: str  # the partner node that reported it: LS or ZA
    status: str  # lost / stolen / revoked
    reported_on: date | None = None
    list_name: str | None = None  # the partner's list that holds it


def partner_alert_code(status: str, node: str) -> str:
    """``document.stolen.reported_by_ls``: the status and the country that reported it."""
    return f"document.{status}.reported_by_{node.lower()}"


# Every code a partner's report can give (a closed set: three statuses, two nodes).
PARTNER_ALERT_CODES = tuple(
    partner_alert_code(s, n) for n in sorted(PARTNER_NODES) for s in ALERT_STATUSES
)


def partner_document_reason(alert: PartnerAlert) -> Reason:
    """Treated as this node's own report of the same status is (``document_reasons``):
    a DENY recommendation, the officer holding the document and referring the traveller."""
    alpha3 = PARTNER_NODES.get(alert.node, "")
    return reason(
        partner_alert_code(alert.status, alert.node),
        country=alpha3 or alert.node,
        reported_on=alert.reported_on.isoformat() if alert.reported_on else None,
        list=alert.list_name,
    )


def document_reasons(
    *,
    mrz_errors: Sequence[str],
    expiry: date | None,
    status: str,
    today: date,
    direction: str,
    alert_source: str | None = None,
    partner_alerts: Sequence[PartnerAlert] = (),
    citizen_of: str | None = None,
) -> list[Reason]:
    """The document's own reasons: the MRZ, its status here (``status``, with
    ``alert_source`` when one of this node's lists reported it), the partner's reports
    (``partner_alerts``), its expiry. ``citizen_of``: the country being entered, when the
    holder is its citizen (a citizen is not refused entry on an expired passport)."""
    out = [reason("mrz.invalid", error=error) for error in mrz_errors]
    if status in ("lost", "stolen", "revoked"):
        out.append(reason(f"document.{status}", source=alert_source))
    out.extend(partner_document_reason(alert) for alert in partner_alerts)
    if expiry is not None and expiry < today:
        # Leaving on an expired passport is allowed (one goes home); entering is not.
        if direction == "entry" and citizen_of:
            out.append(reason("document.expired", "citizen", expiry=expiry, country=citizen_of))
        else:
            out.append(
                reason("document.expired", "" if direction == "entry" else "exit", expiry=expiry)
            )
    return out


# --------------------------------------------------------------------------- history


@dataclass(frozen=True)
class PastCrossing:
    direction: str  # "entry" / "exit"
    crossed_at: datetime
    port: str
    # Set when this country has no record of it and it is inferred from the partner's
    # record with this id (see ``with_partner_records``).
    partner_record: str | None = None


@dataclass(frozen=True)
class PartnerRecord:
    """A crossing the partner node recorded at its border: evidence of where a traveller was."""

    record_id: str
    node: str  # the partner node that recorded it
    direction: str  # "entry" into / "exit" from the partner's country
    country: str  # the partner's country (alpha-3)
    crossed_at: datetime
    port: str
    port_name: str
    shared_post: bool  # a post on the Lesotho-South Africa border (not the air port)


def with_partner_records(
    history: Sequence[PastCrossing],
    partner: Sequence[PartnerRecord],
    *,
    until: datetime | None = None,
    window: timedelta = MATCH_WINDOW,
) -> tuple[list[PastCrossing], list[Reason]]:
    """This country's crossing history (oldest first) with the gaps the partner's records fill,
    and a reason naming each partner record used.

    Lesotho lies wholly inside South Africa, so an entry into the partner's country means
    the traveller left this one (by then), and an exit from it at a post of the common
    border means they came into this one. Such a record is used only where this country's
    own records have a gap: an exit inferred while our records have the traveller inside, an
    entry while outside, and never where our own record of it exists (within ``window``).
    Partner records from ``until`` on are left out: they belong to the crossing in progress.
    """
    events = sorted(history, key=lambda c: c.crossed_at)
    reasons: list[Reason] = []
    for rec in sorted(partner, key=lambda r: r.crossed_at):
        if until is not None and rec.crossed_at >= until:
            continue
        if rec.direction == "entry":
            implied = "exit"
        elif rec.shared_post:
            implied = "entry"
        else:
            continue  # an exit by air from the partner's country may lead anywhere
        times = [c.crossed_at for c in events]
        lo = bisect_left(times, rec.crossed_at - window)
        hi = bisect_right(times, rec.crossed_at + window)
        if any(c.direction == implied for c in events[lo:hi]):
            continue  # our own record of the same crossing
        at = bisect_right(times, rec.crossed_at)
        inside = at > 0 and events[at - 1].direction == "entry"
        if (implied == "exit") != inside:
            continue
        events.insert(at, PastCrossing(implied, rec.crossed_at, rec.port, rec.record_id))
        reasons.append(
            reason(
                f"stay.partner_record.{implied}",
                here=_OTHER_COUNTRY.get(rec.country, ""),
                there=rec.country,
                port=rec.port_name,
                day=border_day(rec.crossed_at).isoformat(),
                record=rec.record_id,
                node=rec.node,
            )
        )
    return events, reasons


def history_reasons(direction: str, country: str, history: Sequence[PastCrossing]) -> list[Reason]:
    """Irregular-crossing indicators from this country's own records (newest last);
    ``country`` is this country's code."""
    last = history[-1] if history else None
    if direction == "entry" and last is not None and last.direction == "entry":
        return [
            reason(
                "history.still_inside",
                country=country,
                day=border_day(last.crossed_at).isoformat(),
                port=last.port,
            )
        ]
    if direction == "exit" and (last is None or last.direction == "exit"):
        return [
            reason(
                "history.no_entry",
                country=country,
                day=border_day(last.crossed_at).isoformat() if last else None,
                port=last.port if last else None,
            )
        ]
    return []


def stays_from_history(
    history: Sequence[PastCrossing],
    partner: Sequence[PartnerRecord] = (),
    *,
    until: datetime | None = None,
) -> list[tuple[date, date | None]]:
    """Pair each entry with the next exit: the traveller's stays (last one may be open).

    ``partner``: the partner's records, filling the gaps in ours (``with_partner_records``,
    which also says which record decided).
    """
    if partner:
        history, _ = with_partner_records(history, partner, until=until)
    stays: list[tuple[date, date | None]] = []
    open_entry: date | None = None
    for c in history:
        day = border_day(c.crossed_at)  # a border calendar day, not UTC's
        if c.direction == "entry":
            if open_entry is not None:
                # Two entries in a row: the missing exit is unknown; close the earlier stay
                # the day before the next entry so days are not counted twice.
                stays.append((open_entry, max(open_entry, date.fromordinal(day.toordinal() - 1))))
            open_entry = day
        elif open_entry is not None:
            stays.append((open_entry, max(day, open_entry)))
            open_entry = None
    if open_entry is not None:
        stays.append((open_entry, None))
    # Same-day exit and re-entry share a day; keep stays from overlapping.
    merged: list[tuple[date, date | None]] = []
    for entry, leave in stays:
        if merged and merged[-1][1] is not None and entry <= merged[-1][1]:
            prev_entry, _ = merged[-1]
            merged[-1] = (prev_entry, leave)
            continue
        merged.append((entry, leave))
    return merged


# --------------------------------------------------------------------------- stay


def stay_reasons(
    *,
    direction: str,
    days_remaining: int | None,
    latest_exit: date | None,
    overstay_days: int,
    rule: str,
    rule_version: str,
    permit_label: str | None,
    today: date | None = None,
) -> list[Reason]:
    out: list[Reason] = []
    under = {"rule": rule, "version": rule_version}
    if permit_label:
        out.append(reason("permit.valid", permit=permit_label))
    if direction == "entry":
        if latest_exit is None and days_remaining is not None and days_remaining <= 0:
            out.append(reason("stay.none_left", **under))
        elif latest_exit is not None and today is not None:
            days = (latest_exit - today).days + 1
            out.append(
                reason("stay.allowed", latest_exit=latest_exit.isoformat(), days=days, **under)
            )
    if overstay_days > 0:
        case = "one" if overstay_days == 1 else ""
        out.append(reason("stay.overstay", case, days=overstay_days, **under))
    return out


# --------------------------------------------------------------------------- watchlists

# Categories where a strong match must stop the traveller. A person to protect (a victim of
# trafficking, a missing person, anyone on a list of persons to protect) is referred to a
# protection officer, never denied, however strong the match.
# (Category names are those of the watchlists: tsela.store.watchlists.WatchlistCategory.)
DENY_CATEGORIES = frozenset({"wanted", "deportation", "banned_entry", "sanctions"})
PROTECT_CATEGORIES = frozenset({"trafficking", "missing_person", "protect"})
# Of the DENY categories, those where a strong match is referred to the police (detained as
# the law provides) rather than recommended for refusal.
POLICE_CATEGORIES = frozenset({"wanted"})
# A hit at or above this score is "strong": with a DENY category it recommends refusal;
# below it (but above the screening threshold) the traveller is referred.
STRONG_MATCH = 0.9


@dataclass(frozen=True)
class WatchlistFinding:
    list_name: str
    category: str
    score: float
    strong: bool  # above the strong-match threshold
    entry_name: str
    why: str


def watchlist_reasons(hits: Sequence[WatchlistFinding]) -> list[Reason]:
    out: list[Reason] = []
    for h in hits:
        variant = ""
        if h.category in PROTECT_CATEGORIES:
            code = "watchlist.protect"
        elif h.strong and h.category in DENY_CATEGORIES:
            code = "watchlist.match"
            # a wanted person is a matter for the police, not a refusal of entry
            variant = "wanted" if h.category in POLICE_CATEGORIES else ""
        else:
            code = "watchlist.possible"
        out.append(
            reason(
                code,
                variant,
                category=h.category,
                list=h.list_name,
                entry=h.entry_name,
                score=f"{h.score:.0%}",
                why=h.why,
            )
        )
    return out
