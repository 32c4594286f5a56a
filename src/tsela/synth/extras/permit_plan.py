"""The permit plan, pure: who gets which permit when, who is revoked, suspended or ended,
and the applications left pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from tsela.domain import permits as dom
from tsela.synth.extras.common import MAX_HOLDERS, PENDING
from tsela.synth.extras.employers import SyntheticEmployer
from tsela.synth.generator import Population, Profile

# Sectors where LEP holders work, by share (farms employ seasonal permit holders).
LEP_SECTORS = {
    "mining": 0.38,
    "construction": 0.16,
    "domestic work": 0.16,
    "retail": 0.08,
    "security": 0.08,
    "manufacturing": 0.07,
    "hospitality": 0.07,
}
LEP_WITHOUT_EMPLOYER = 0.1  # self-employed or between jobs
LEP_MIN_AGE = 29  # an LSP in 2016 needed an adult; the LEP needed an LSP
SEASONAL_SHARE_OF_OLDER = 0.25
BUSINESS_SHARE = 0.3  # of traders
FCC_SHARE = 0.5  # of commuters
REVOKED_SHARE = 0.025
SUSPENDED_SHARE = 0.01
ENDED_SHARE = 0.02
RENEWED_TYPES = ("SEASONAL", "STUDY")  # holders come back every season or academic year

LSP_OPEN, LSP_CLOSE = date(2016, 3, 1), date(2016, 12, 31)
LSP_RECORDED_EXPIRED = date(2020, 1, 2)
LEP_FIRST = date(2020, 2, 12)  # first issue day: applications opened on 1 January 2020

INSTITUTIONS = (
    "University of the Free State",
    "Central University of Technology, Free State",
    "Motheo TVET College",
    "University of Johannesburg",
    "Tshwane University of Technology",
)
REVOKE_REASONS = (
    "The holder was convicted of a serious offence (court record received).",
    "The holder gave false information about previous convictions (police clearance withdrawn).",
)
REVOKE_REASONS_EMPLOYED = (
    "The employer affidavit given for the permit was forged (confirmed with the employer).",
    "The holder's employment ended and no new employer was registered within 90 days.",
)
REVOKE_REASON_BUSINESS = "The business registered with the application was deregistered."
SUSPEND_REASON = (
    "The employer reports that the holder left without notice; the holder is asked to "
    "report to the permit office."
)
ENDED_REASONS = (
    "Contract ended at the end of the season.",
    "Retrenched when the shaft closed.",
    "Resigned.",
)
EVIDENCE_REQUEST = {
    "FCC": "The proof of residence is more than three months old: please send a recent one "
    "(a utility bill or a letter from the chief).",
    "SEASONAL": "The employment contract is not signed by the worker: please send a signed copy.",
    "BUSINESS": "The business plan has no figures: please add expected costs and sales.",
    "STUDY": "The proof of funds does not cover the whole year: please send the bursary letter.",
}


@dataclass
class Grant:
    """One permit to apply for, approve and issue, and what happens to it afterwards."""

    person: int  # index into the population
    type_code: str
    issued: date
    employer: str | None = None  # registration number
    applied: date | None = None
    fate: str = ""  # "", "revoke", "suspend", "end"
    fate_day: date | None = None
    reason: str = ""
    affidavit_by: str | None = None  # an LSP's employer affidavit: the employer of the time
    renews: int | None = None  # index into the grants: applied for as a renewal of that one


@dataclass
class Pending:
    """An application waiting at the permit desk."""

    person: int
    type_code: str
    applied: date
    by: str  # "employer" or "self"
    employer: str | None = None
    renews: int | None = None  # index into the grants: a renewal of that permit
    evidence_requested: bool = False


@dataclass
class PermitPlan:
    lsp: list[Grant]
    grants: list[Grant]
    pending: list[Pending]


def _wednesday_on_or_after(day: date) -> date:
    """The permit office issues once a week (one signing batch), on Wednesdays."""
    return day + timedelta(days=(2 - day.weekday()) % 7)


def day_plus(base: date, offset: int) -> date:
    return base + timedelta(days=int(offset))


def ages(pop: Population, on: date) -> np.ndarray:
    """Age in years of everyone on ``on``."""
    days = (np.datetime64(on, "D") - pop.birth_date.astype("datetime64[D]")).astype(np.int64)
    return days / 365.25


def _doc_expiry(pop: Population, i: int) -> date:
    return pop.doc_expiry[i].astype("datetime64[D]").astype(date)


def _doc_ok(pop: Population, i: int, type_code: str, applied: date) -> bool:
    need = dom.permit_type(type_code).passport_min_valid_days
    return _doc_expiry(pop, i) >= applied + timedelta(days=need)


def _issue_day(rng: np.random.Generator, type_code: str, today: date) -> date:
    """Spread over one validity period and a little more: some have just expired, some
    expire within 30, 60 or 90 days (the reminder lists)."""
    days = dom.permit_type(type_code).validity_days or 365
    back = int(rng.integers(1, days + days // 18 + 2))
    return _wednesday_on_or_after(today - timedelta(days=back))


def _pick_employer(
    rng: np.random.Generator, by_sector: dict[str, list[str]], sectors: dict[str, float]
) -> str | None:
    names = [s for s in sectors if by_sector.get(s)]
    if not names:
        return None
    weights = np.array([sectors[s] for s in names])
    sector = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    pool = by_sector[sector]
    # Big employers employ more: the first employers of a sector get more workers.
    rank = np.arange(1, len(pool) + 1, dtype=float)
    return pool[int(rng.choice(len(pool), p=(1 / rank) / (1 / rank).sum()))]


def plan_permits(
    pop: Population,
    present: np.ndarray,
    today: date,
    seed: int,
    employers: list[SyntheticEmployer],
    max_holders: int = MAX_HOLDERS,
    since: date | None = None,
) -> PermitPlan:
    """Decide who holds which permit, issued when, and what happened to it since.

    ``since``: the first day of the crossings. Seasonal and study permits that started
    after it get the earlier permits they renewed, so that the holders' stays since then
    are covered as they were in life.
    """
    rng = np.random.default_rng([seed, 4])
    by_sector: dict[str, list[str]] = {}
    for e in employers:
        by_sector.setdefault(e.sector, []).append(e.registration_number)
    farms = {"agriculture": 1.0}
    idx = np.arange(len(pop))
    ok = present & (pop.nationality == "LSO")
    workers = idx[ok & (pop.profile == Profile.MIGRANT_WORKER) & pop.has_permit]
    students = idx[ok & (pop.profile == Profile.STUDENT)]
    traders = idx[ok & (pop.profile == Profile.TRADER)]
    commuters = idx[ok & (pop.profile == Profile.COMMUTER)]
    traders = traders[rng.random(len(traders)) < BUSINESS_SHARE]
    commuters = commuters[rng.random(len(commuters)) < FCC_SHARE]
    holders = np.concatenate([workers, students, traders, commuters])
    if len(holders) > max_holders:
        keep = np.sort(rng.choice(len(holders), size=max_holders, replace=False))
        holders = holders[keep]
    chosen = set(holders.tolist())

    lsp: list[Grant] = []
    grants: list[Grant] = []
    lep_close = min(dom.permit_type("LEP").applications_close or today, today)
    lep_days = (lep_close - LEP_FIRST).days - 30  # the last issue day leaves time to apply
    ages_now = ages(pop, today)
    ages_2016 = ages(pop, LSP_OPEN)
    for i in (int(w) for w in workers if int(w) in chosen):
        older = lep_days > 0 and ages_2016[i] >= 18 and ages_now[i] >= LEP_MIN_AGE
        if older and rng.random() >= SEASONAL_SHARE_OF_OLDER:
            lsp_applied = day_plus(LSP_OPEN, int(rng.integers(0, (LSP_CLOSE - LSP_OPEN).days - 20)))
            lsp_issued = _wednesday_on_or_after(
                lsp_applied + timedelta(days=int(rng.integers(14, 60)))
            )
            lep_issued = _wednesday_on_or_after(day_plus(LEP_FIRST, int(rng.integers(0, lep_days))))
            lep_applied = lep_issued - timedelta(days=int(rng.integers(10, 28)))
            if not (_doc_ok(pop, i, "LSP", lsp_applied) and _doc_ok(pop, i, "LEP", lep_applied)):
                continue
            employer = (
                None
                if rng.random() < LEP_WITHOUT_EMPLOYER
                else _pick_employer(rng, by_sector, LEP_SECTORS)
            )
            # The LSP named no employer (an affidavit was evidence); the LEP names the
            # current one, so the employer sees the permit.
            lsp.append(Grant(i, "LSP", lsp_issued, None, lsp_applied, affidavit_by=employer))
            grants.append(Grant(i, "LEP", lep_issued, employer, lep_applied))
        else:
            farm = _pick_employer(rng, by_sector, farms)
            grants.append(Grant(i, "SEASONAL", _issue_day(rng, "SEASONAL", today), farm))
    for i in (int(s) for s in students if int(s) in chosen):
        grants.append(Grant(i, "STUDY", _issue_day(rng, "STUDY", today)))
    for i in (int(t) for t in traders if int(t) in chosen):
        grants.append(Grant(i, "BUSINESS", _issue_day(rng, "BUSINESS", today)))
    for i in (int(c) for c in commuters if int(c) in chosen):
        grants.append(Grant(i, "FCC", _issue_day(rng, "FCC", today)))

    kept: list[Grant] = []
    for g in grants:
        if g.applied is None:
            g.applied = g.issued - timedelta(days=int(rng.integers(7, 30)))
        if g.type_code == "SEASONAL" and g.employer is None:
            continue  # no farm to name
        if _doc_ok(pop, g.person, g.type_code, g.applied):
            kept.append(g)
    grants = kept

    # What happened since: a few revoked, one or two suspended, a few jobs ended.
    live = [
        n
        for n, g in enumerate(grants)
        if g.type_code in ("LEP", "SEASONAL", "BUSINESS")
        and _end_of(g) >= today
        and (today - g.issued).days > 40
    ]
    rng.shuffle(live)
    n_revoke = max(2, round(REVOKED_SHARE * len(live))) if len(live) >= 8 else 0
    for k, n in enumerate(live[:n_revoke]):
        g = grants[n]
        g.fate, g.reason = "revoke", _revoke_reason(g, k)
        g.fate_day = day_plus(g.issued, int(rng.integers(30, (today - g.issued).days)))
    # Suspensions and ended jobs are reported by employers: permits naming one.
    employed = [n for n in live[n_revoke:] if grants[n].employer]
    n_suspend = max(1, round(SUSPENDED_SHARE * len(live))) if len(employed) >= 5 else 0
    n_end = max(1, round(ENDED_SHARE * len(live))) if len(employed) >= 5 else 0
    for n in employed[:n_suspend]:
        g = grants[n]
        g.fate, g.reason = "suspend", SUSPEND_REASON
        g.fate_day = day_plus(today, -int(rng.integers(3, 20)))
    for k, n in enumerate(employed[n_suspend : n_suspend + n_end]):
        g = grants[n]
        g.fate, g.reason = "end", ENDED_REASONS[k % len(ENDED_REASONS)]
        g.fate_day = max(g.issued + timedelta(days=1), day_plus(today, -int(rng.integers(5, 60))))

    pending = _plan_pending(pop, present, today, rng, grants, by_sector, chosen)
    if since is not None:
        for n in range(len(grants)):
            _add_predecessors(rng, pop, grants, n, since)
    return PermitPlan(lsp=lsp, grants=grants, pending=pending)


def _add_predecessors(
    rng: np.random.Generator, pop: Population, grants: list[Grant], n: int, since: date
) -> None:
    """Earlier seasons (or academic years) back to ``since``: each permit a renewal of the
    one before, which ended the week it started (at most two earlier permits)."""
    g = grants[n]
    for _ in range(2):
        if g.type_code not in RENEWED_TYPES or g.issued <= since:
            return
        days = dom.permit_type(g.type_code).validity_days or 365
        issued = g.issued - timedelta(days=days)
        issued -= timedelta(days=(issued.weekday() - 2) % 7)  # the Wednesday before
        applied = issued - timedelta(days=int(rng.integers(7, 30)))
        if not _doc_ok(pop, g.person, g.type_code, applied):
            return
        g.renews = len(grants)
        g = Grant(g.person, g.type_code, issued, g.employer, applied)
        grants.append(g)


def _revoke_reason(g: Grant, k: int) -> str:
    if g.type_code == "BUSINESS":
        return REVOKE_REASON_BUSINESS
    reasons = REVOKE_REASONS + (REVOKE_REASONS_EMPLOYED if g.employer else ())
    return reasons[k % len(reasons)]


def _end_of(g: Grant) -> date:
    return dom.permit_type(g.type_code).validity(g.issued)[1]


def _plan_pending(
    pop: Population,
    present: np.ndarray,
    today: date,
    rng: np.random.Generator,
    grants: list[Grant],
    by_sector: dict[str, list[str]],
    holders: set[int],
) -> list[Pending]:
    idx = np.arange(len(pop))
    # A passport good for a while yet (every type asks for some validity left).
    ok = present & (pop.nationality == "LSO") & (pop.doc_expiry >= np.datetime64(today) + 120)
    holding = {g.person for g in grants}
    free = ok & ~np.isin(idx, list(holding | holders))

    def recent() -> date:
        return day_plus(today, -int(rng.integers(1, 22)))

    def some(mask: np.ndarray, k: int) -> list[int]:
        pool = idx[mask]
        if not len(pool):
            return []
        return [int(i) for i in rng.choice(pool, size=min(k, len(pool)), replace=False)]

    out: list[Pending] = []
    farms = by_sector.get("agriculture", [])
    if farms:
        for i in some(free & (pop.profile == Profile.MIGRANT_WORKER) & ~pop.has_permit, 8):
            farm = farms[int(rng.integers(0, len(farms)))]
            out.append(Pending(i, "SEASONAL", recent(), "employer", farm))
    for i in some(free & (pop.profile == Profile.COMMUTER), 4):
        out.append(Pending(i, "FCC", recent(), "self"))
    for i in some(free & (pop.profile == Profile.TRADER), 4):
        out.append(Pending(i, "BUSINESS", recent(), "self"))
    window = dom.permit_type("STUDY").renewal_window_days
    renewable = [
        n
        for n, g in enumerate(grants)
        # Applied within the last three weeks, inside the renewal window.
        if g.type_code == "STUDY"
        and not g.fate
        and ok[g.person]
        and 7 < (_end_of(g) - today).days <= window - 22
    ]
    for n in renewable[:4]:
        out.append(Pending(grants[n].person, "STUDY", recent(), "self", renews=n))
    # Fill up to PENDING with more of the first kinds when the population is big enough.
    taken = {p.person for p in out}
    spare = free & ~np.isin(idx, list(taken)) & (pop.profile == Profile.MIGRANT_WORKER)
    if farms:
        for i in some(spare & ~pop.has_permit, PENDING - len(out)):
            out.append(Pending(i, "SEASONAL", recent(), "employer", farms[i % len(farms)]))
    out = [p for p in out if _doc_ok(pop, p.person, p.type_code, p.applied)]
    out.sort(key=lambda p: p.applied)
    asked = next((p for p in out if p.type_code == "FCC"), out[0] if out else None)
    if asked is not None:
        asked.evidence_requested = True
    return out
