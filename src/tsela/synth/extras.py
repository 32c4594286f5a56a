"""What a synthetic population needs around it to look like a working system: employers,
permits with a history, applications waiting at the permit desk, and watchlists.

Everything goes through the services a real office uses (``register_employer``, ``apply``,
``submit``, ``decide``, ``issue_many``, ``end_employment``, ``expire_due``, ``renew``,
``import_watchlist``), with the dates set in the past where the history is in the past, so
every rule of a permit type is checked as it would be at the counter:

- **employers**: forty fictional employers where Basotho work (``reference/
  synthetic_employers.csv``): gold and platinum mines, eastern Free State farms,
  construction, domestic work, retail, security, manufacturing, hospitality;
- **work permits**: older migrant workers with a permit hold a Lesotho Exemption Permit
  (LEP), which needs an earlier Lesotho Special Permit (LSP): they applied for the LSP in
  2016, it expired at the end of 2019, and they applied for the LEP between 2020 and the
  closing date, most of them naming their employer. Younger ones, and some older farm
  workers, hold a seasonal farm-work permit for a farm, renewed every season with the same
  farm back to the first crossings;
- **other permits**: every student a study permit (renewed every year), some traders a
  business permit, some commuters a frequent-crosser card; issue dates are spread so that
  some permits expire within 30, 60 and 90 days and a few have just expired;
- **a few revoked** (with the reason), one or two suspended, a few employments reported
  ended by the employer;
- **about twenty pending applications**: seasonal permits sent by farms, cards and business
  permits sent by the applicants, renewals of study permits about to expire; one waits for
  evidence the permit officer asked for;
- **watchlists**: "SAPS wanted persons", "Counter-trafficking: persons to protect" and a
  lost-and-stolen document list, each with fictional entries and a handful of the synthetic
  travellers, some spelt in the other Sesotho orthography, so that some checks at the
  border give a hit.

Choices come from one seeded generator (same seed, same choices). Permit numbers, keys and
record ids are random, as they are in use. Each part is added only if it is missing, so
running it again adds nothing.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tsela.domain import permits as dom
from tsela.domain.credentials import Signer
from tsela.domain.permits import PermitStatus
from tsela.reference import reference_file
from tsela.services import employers as employer_service
from tsela.services import permits as svc
from tsela.services import screening
from tsela.services.keys import KeyStore
from tsela.store.db import session_engine, session_factory, transaction
from tsela.store.models import (
    Crossing,
    DocumentStatus,
    Employer,
    Permit,
    Person,
    Role,
    TravelDocument,
)
from tsela.store.permits import Employment
from tsela.store.watchlists import (
    DocumentAlert,
    Watchlist,
    WatchlistCategory,
    WatchlistEntry,
    WatchlistKind,
)
from tsela.synth.generator import Population, Profile
from tsela.synth.names import GROUPS, mrz_name, name_list, south_african_spelling

S = PermitStatus
Advance = Callable[[int], None]
ProgressFactory = Callable[[str, int], Advance]

# Who did it, in the permit history and the audit log: the generator, not a person.
ACTOR_NAME = "synth"
# Permits are written one application at a time through the services; beyond a few
# thousand (benchmark-size populations) they cost minutes and add nothing to a demo.
MAX_HOLDERS = 2500
PENDING = 20
SOURCE = "Tsela synthetic demo data: fictional entries and synthetic travellers, not a real list"

WANTED_LIST = "SAPS wanted persons"
PROTECT_LIST = "Counter-trafficking: persons to protect"
DOCUMENT_LIST = "Lost and stolen travel documents (SLTD-like)"

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
WANTED_REASONS = (
    "armed robbery",
    "murder",
    "stock theft",
    "theft of copper cable",
    "illegal mining",
    "fraud",
    "assault with intent to do grievous bodily harm",
    "dealing in drugs",
    "housebreaking and theft",
    "hijacking of a vehicle",
)
STATIONS = (
    "Welkom",
    "Ladybrand",
    "Ficksburg",
    "Bloemfontein Central",
    "Park Road",
    "Hillbrow",
    "Rustenburg",
    "Carletonville",
    "Bethlehem",
    "Wepener",
)
PROTECT_REASONS = (
    "Reported missing by the family in {district}; believed recruited with a false job offer "
    "in {city}. Protect: do not detain; call the counter-trafficking desk.",
    "Possible victim of labour trafficking (farm work, {city}); social worker's referral. "
    "Protect: interview apart from any companion.",
    "Reported missing by the school in {district}; may be travelling with an older man. "
    "Protect: call the counter-trafficking desk.",
)
DISTRICTS = ("Maseru", "Leribe", "Berea", "Mafeteng", "Mohale's Hoek", "Quthing", "Butha-Buthe")
CITIES = ("Johannesburg", "Bloemfontein", "Welkom", "Ficksburg", "Cape Town", "Pretoria")


class ExtrasError(ValueError):
    """The population cannot be given extras (e.g. it is not in the store)."""


# --- employers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticEmployer:
    registration_number: str
    name: str
    sector: str
    address: str
    contact: str


def synthetic_employers() -> list[SyntheticEmployer]:
    """The fictional employers shipped in ``reference/synthetic_employers.csv``."""
    lines = [
        line for line in reference_file("synthetic_employers.csv").splitlines() if line.strip()
    ]
    rows = csv.DictReader(line for line in lines if not line.startswith("#"))
    return [SyntheticEmployer(**row) for row in rows]


def _ensure_employers(session: Session, actor: svc.Actor) -> tuple[dict[str, Employer], int]:
    """Register the fictional employers not yet registered; all of them by number."""
    known = {e.registration_number: e for e in session.scalars(select(Employer))}
    added = 0
    out: dict[str, Employer] = {}
    for row in synthetic_employers():
        employer = known.get(row.registration_number)
        if employer is None:
            employer = employer_service.register_employer(
                session,
                actor,
                registration_number=row.registration_number,
                name=row.name,
                sector=row.sector,
                address=row.address,
                contact=row.contact,
            )
            added += 1
        out[row.registration_number] = employer
    return out, added


# --- the permit plan (pure: who gets what, when) ------------------------------------------


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


def _day(base: date, offset: int) -> date:
    return base + timedelta(days=int(offset))


def _ages(pop: Population, on: date) -> np.ndarray:
    """Age in years of everyone on ``on``."""
    days = (np.datetime64(on, "D") - pop.birth_date.astype("datetime64[D]")).astype(np.int64)
    return days / 365.25


def _doc_expiry(pop: Population, i: int) -> date:
    return pop.doc_expiry[i].astype("datetime64[D]").astype(date)  # type: ignore[no-any-return]


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
    ages_now = _ages(pop, today)
    ages_2016 = _ages(pop, LSP_OPEN)
    for i in (int(w) for w in workers if int(w) in chosen):
        older = lep_days > 0 and ages_2016[i] >= 18 and ages_now[i] >= LEP_MIN_AGE
        if older and rng.random() >= SEASONAL_SHARE_OF_OLDER:
            lsp_applied = _day(LSP_OPEN, rng.integers(0, (LSP_CLOSE - LSP_OPEN).days - 20))
            lsp_issued = _wednesday_on_or_after(
                lsp_applied + timedelta(days=int(rng.integers(14, 60)))
            )
            lep_issued = _wednesday_on_or_after(_day(LEP_FIRST, rng.integers(0, lep_days)))
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
        g.fate_day = _day(g.issued, rng.integers(30, (today - g.issued).days))
    # Suspensions and ended jobs are reported by employers: permits naming one.
    employed = [n for n in live[n_revoke:] if grants[n].employer]
    n_suspend = max(1, round(SUSPENDED_SHARE * len(live))) if len(employed) >= 5 else 0
    n_end = max(1, round(ENDED_SHARE * len(live))) if len(employed) >= 5 else 0
    for n in employed[:n_suspend]:
        g = grants[n]
        g.fate, g.reason = "suspend", SUSPEND_REASON
        g.fate_day = _day(today, -int(rng.integers(3, 20)))
    for k, n in enumerate(employed[n_suspend : n_suspend + n_end]):
        g = grants[n]
        g.fate, g.reason = "end", ENDED_REASONS[k % len(ENDED_REASONS)]
        g.fate_day = max(g.issued + timedelta(days=1), _day(today, -int(rng.integers(5, 60))))

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
        return _day(today, -int(rng.integers(1, 22)))

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


# --- writing the plan through the services --------------------------------------------------


def _at(day: date, hour: int = 10) -> datetime:
    """A time on a working day at the permit office (UTC+2, stored in UTC)."""
    return datetime.combine(day, time(hour - 2, 0), tzinfo=UTC)


def _evidence(
    type_code: str, pop: Population, i: int, employer: SyntheticEmployer | None, day: date
) -> list[svc.EvidenceItem]:
    doc = str(pop.doc_number[i])
    serial = doc[-6:]
    where = employer.name if employer else ""
    refs = {
        "passport": doc,
        "population_register": f"LS population register {serial}",
        "police_clearance_ls": f"LMPS clearance {day.year}/{serial}",
        "police_clearance_za": f"SAPS clearance {day.year}/{serial}",
        "employer_affidavit": f"affidavit of {where}" if where else "affidavit of employer",
        "tax_registration": f"tax number 9{serial}0",
        "company_registration": f"{day.year}/{serial}/07",
        "institution_registration": f"{INSTITUTIONS[i % len(INSTITUTIONS)]}, student {serial}",
        "proof_of_funds": "bursary letter" if i % 2 else "bank statement",
        "business_plan": "business plan (stall and stock)",
        "employment_contract": f"contract with {where}" if where else "employment contract",
        "proof_of_residence": "letter from the chief",
    }
    ptype = dom.permit_type(type_code)
    kinds = list(ptype.evidence.required)
    if ptype.evidence.any_of:
        kinds += list(ptype.evidence.any_of[0])
    return [svc.EvidenceItem(k, refs.get(k, "")) for k in kinds]


@dataclass
class _Writer:
    session: Session
    pop: Population
    ids: list[uuid.UUID | None]
    employers: dict[str, Employer]
    info: dict[str, SyntheticEmployer]
    signer: Signer
    node: str
    advance: Advance | None = None
    bulk: bool = True
    permit_of: dict[int, uuid.UUID] = field(default_factory=dict)  # grant index -> permit

    @property
    def officer(self) -> svc.Actor:
        return svc.Actor(ACTOR_NAME, Role.PERMIT_OFFICER, self.node)

    def applicant(self, i: int) -> svc.Actor:
        return svc.Actor(ACTOR_NAME, Role.WORKER, self.node, person_id=self.ids[i])

    def employer_actor(self, reg: str) -> svc.Actor:
        return svc.Actor(ACTOR_NAME, Role.EMPLOYER, self.node, employer_id=self.employers[reg].id)

    def apply(self, g: Grant) -> Permit:
        """Apply, submit and approve (the steps before issuing)."""
        assert g.applied is not None
        person_id = self.ids[g.person]
        assert person_id is not None
        named = g.employer or g.affidavit_by
        employer = self.info.get(named) if named else None
        # Farms send their seasonal workers' applications; LSP and LEP applications were
        # taken at the counter; students, traders and commuters apply themselves.
        if g.type_code == "SEASONAL" and g.employer:
            actor = self.employer_actor(g.employer)
        elif g.type_code in ("LSP", "LEP"):
            actor = self.officer
        else:
            actor = self.applicant(g.person)
        if g.renews is not None:
            old = self.permit_of[g.renews]
            permit = svc.renew(self.session, actor, old, g.applied, _at(g.applied, 9))
        else:
            permit = svc.apply(
                self.session,
                actor,
                type_code=g.type_code,
                today=g.applied,
                person_id=person_id,
                employer=self.employers[g.employer].id if g.employer else None,
                evidence=_evidence(g.type_code, self.pop, g.person, employer, g.applied),
                now=_at(g.applied, 9),
            )
        svc.submit(self.session, actor, permit.id, g.applied, _at(g.applied, 9))
        decided = min(g.issued, g.applied + timedelta(days=5))
        svc.decide(self.session, self.officer, permit.id, S.APPROVED, now=_at(decided, 11))
        return permit

    def grant(self, grants: list[Grant]) -> None:
        """Apply, approve and issue, one issue day (a weekly batch) at a time, oldest first:
        a permit is issued before its renewal is applied for, and each permit's history is
        in the order it happened. Issuing uses the bulk path; one at a time without
        ``bulk`` (the benchmark's comparison)."""
        by_day: dict[date, list[int]] = {}
        for n, g in enumerate(grants):
            by_day.setdefault(g.issued, []).append(n)
        for day in sorted(by_day):
            ids = []
            for n in by_day[day]:
                self.permit_of[n] = self.apply(grants[n]).id
                ids.append(self.permit_of[n])
            if self.bulk:
                svc.issue_many(self.session, self.officer, ids, self.signer, day, _at(day, 14))
            else:
                for pid in ids:
                    svc.issue(self.session, self.officer, pid, self.signer, day, _at(day, 14))
            if self.advance:
                self.advance(len(ids))


@dataclass
class ExtrasSummary:
    employers: int = 0  # registered now
    permits: Counter[str] = field(default_factory=Counter)  # by "TYPE status"
    pending: int = 0
    watchlists: dict[str, int] = field(default_factory=dict)  # entries per list loaded now
    listed: list[tuple[str, str, str]] = field(default_factory=list)  # (list, state, doc no.)
    skipped: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = []
        if self.employers:
            parts.append(f"{self.employers} employers")
        if self.permits:
            issued = sum(n for k, n in self.permits.items() if k.endswith(" issued"))
            parts.append(f"{sum(self.permits.values()):,} permits ({issued:,} issued now)")
        if self.pending:
            parts.append(f"{self.pending} pending applications")
        for name, n in self.watchlists.items():
            parts.append(f"{n:,} entries in {name!r}")
        if self.skipped:
            parts.append("already present: " + ", ".join(self.skipped))
        return "; ".join(parts) or "nothing to add"


def _write_permits(w: _Writer, plan: PermitPlan, today: date) -> tuple[Counter[str], int]:
    s = w.session
    # 2016: the LSP, then its recorded expiry when the LEP period began.
    w.grant(plan.lsp)
    svc.expire_due(s, w.officer, LSP_RECORDED_EXPIRED, _at(LSP_RECORDED_EXPIRED, 8))
    w.permit_of = {}
    w.grant(plan.grants)
    permit_of = w.permit_of
    for n, g in enumerate(plan.grants):
        if not g.fate:
            continue
        assert g.fate_day is not None
        pid = permit_of[n]
        if g.fate == "revoke":
            svc.revoke(s, w.officer, pid, g.reason, _at(g.fate_day, 15))
        elif g.fate == "suspend":
            svc.decide(s, w.officer, pid, S.SUSPENDED, g.reason, _at(g.fate_day, 15))
        elif g.fate == "end" and g.employer:
            svc.end_employment(
                s, w.employer_actor(g.employer), pid, g.fate_day, g.reason, _at(g.fate_day, 16)
            )
    # What an officer does every morning: record as expired what has passed its last day.
    svc.expire_due(s, w.officer, today, _at(today, 7))
    pending = 0
    for p in plan.pending:
        person_id = w.ids[p.person]
        if p.renews is not None:
            actor = w.applicant(p.person)
            permit = svc.renew(s, actor, permit_of[p.renews], p.applied, _at(p.applied, 12))
        else:
            actor = w.employer_actor(p.employer) if p.by == "employer" and p.employer else None
            actor = actor or w.applicant(p.person)
            info = w.info.get(p.employer) if p.employer else None
            permit = svc.apply(
                s,
                actor,
                type_code=p.type_code,
                today=p.applied,
                person_id=person_id,
                employer=w.employers[p.employer].id if p.employer else None,
                evidence=_evidence(p.type_code, w.pop, p.person, info, p.applied),
                now=_at(p.applied, 12),
            )
        svc.submit(s, actor, permit.id, p.applied, _at(p.applied, 12))
        if p.evidence_requested:
            asked = min(today, p.applied + timedelta(days=2))
            why = EVIDENCE_REQUEST[p.type_code]
            svc.decide(s, w.officer, permit.id, S.EVIDENCE_REQUESTED, why, _at(asked, 10))
        pending += 1
    counts: Counter[str] = Counter(
        f"{t} {st}"
        for t, st in s.execute(
            select(Permit.permit_type, Permit.status).where(Permit.node == w.node)
        )
    )
    return counts, pending


# --- watchlists -----------------------------------------------------------------------------


def _title(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split())


def _other_spelling(name: str) -> str:
    """A Lesotho-spelt name as a South African list would write it (title case)."""
    return south_african_spelling(_title(name))


def _fictional_people(
    rng: np.random.Generator, n: int, today: date, *, women_share: float, max_age: int
) -> list[tuple[str, str, str]]:
    """(name, birth date, nationality) of people who are not in the population."""
    groups = list(GROUPS)
    weights = np.array([0.55, 0.2, 0.1, 0.15])
    out = []
    for _ in range(n):
        g = groups[int(rng.choice(len(groups), p=weights))]
        kind = "given_female" if rng.random() < women_share else "given_male"
        given = name_list(g, kind)
        names = [given[int(rng.integers(0, len(given)))]]
        if rng.random() < 0.4:
            names.append(given[int(rng.integers(0, len(given)))])
        surnames = name_list(g, "surnames")
        surname = surnames[int(rng.integers(0, len(surnames)))]
        zaf = rng.random() < (0.35 if g == "sesotho" else 0.8)
        nationality = "ZAF" if zaf else ("LSO" if g == "sesotho" else "ZWE")
        full = " ".join([*names, surname])
        if zaf and g == "sesotho":
            full = south_african_spelling(full)
        born = today - timedelta(days=int(rng.uniform(18, max_age) * 365.25))
        out.append((full, born.isoformat(), nationality))
    return out


@dataclass
class WatchlistPlan:
    wanted: str  # CSV text
    protect: str
    documents: str
    listed: list[tuple[str, int]]  # (list name, person index)


def _birth(pop: Population, i: int) -> str:
    return str(pop.birth_date[i].astype("datetime64[D]"))


def plan_watchlists(
    pop: Population, present: np.ndarray, today: date, seed: int, exclude: set[int]
) -> WatchlistPlan:
    rng = np.random.default_rng([seed, 5])
    idx = np.arange(len(pop))
    eligible = (
        present
        & (pop.nationality == "LSO")
        & np.isin(pop.profile, [Profile.VISITOR, Profile.TRADER])
        & (pop.lost_doc_number == "")
        & ~np.isin(idx, list(exclude))
    )
    respellable = np.zeros(len(pop), dtype=bool)
    for i in idx[eligible]:
        name = f"{pop.given_names[i]} {pop.primary_name[i]}"
        respellable[i] = _other_spelling(name) != _title(name)
    listed: list[tuple[str, int]] = []
    taken: set[int] = set()

    def pick(mask: np.ndarray, k: int) -> list[int]:
        pool = [int(i) for i in idx[mask] if int(i) not in taken]
        if not pool:
            return []
        got = [int(i) for i in rng.choice(pool, size=min(k, len(pool)), replace=False)]
        taken.update(got)
        return got

    # SAPS wanted persons: fictional people and four travellers, two of them spelt the
    # South African way (as a South African list writes them), one known by birth year only.
    wanted_rows = []
    for k, i in enumerate(pick(eligible & respellable, 2) + pick(eligible, 2)):
        name = f"{pop.given_names[i]} {pop.primary_name[i]}"
        shown = _other_spelling(name) if k < 2 else _title(name)
        birth = _birth(pop, i)[:4] if k == 3 else _birth(pop, i)
        crime = WANTED_REASONS[int(rng.integers(0, len(WANTED_REASONS)))]
        station = STATIONS[int(rng.integers(0, len(STATIONS)))]
        wanted_rows.append(
            {
                "id": f"SYN-W-{k + 1:04d}",
                "name": shown,
                "birth_date": birth,
                "nationality": "LSO",
                "reason": f"Wanted for {crime} ({station} CAS {100 + k}/{today:%m/%Y})",
                "documents": str(pop.doc_number[i]) if k == 2 else "",
            }
        )
        listed.append((WANTED_LIST, i))
    for k, (name, born, nat) in enumerate(
        _fictional_people(rng, 60, today, women_share=0.12, max_age=60), start=len(wanted_rows)
    ):
        crime = WANTED_REASONS[int(rng.integers(0, len(WANTED_REASONS)))]
        station = STATIONS[int(rng.integers(0, len(STATIONS)))]
        case = f"{station} CAS {int(rng.integers(10, 999))}/{int(rng.integers(1, 13)):02d}/"
        case += str(today.year - int(rng.integers(0, 6)))
        wanted_rows.append(
            {
                "id": f"SYN-W-{k + 1:04d}",
                "name": name,
                "birth_date": born,
                "nationality": nat,
                "reason": f"Wanted for {crime} ({case})",
                "documents": "",
            }
        )

    # Persons to protect: young women reported missing, fictional and three travellers.
    women = eligible & (pop.sex == "F")
    young = women & (_ages(pop, today) < 30)
    protect_rows = []
    chosen = pick(young & respellable, 1)
    chosen += pick(young if young.any() else women, 3 - len(chosen))
    for k, i in enumerate(chosen):
        name = f"{pop.given_names[i]} {pop.primary_name[i]}"
        reason = PROTECT_REASONS[k % len(PROTECT_REASONS)].format(
            district=DISTRICTS[int(rng.integers(0, len(DISTRICTS)))],
            city=CITIES[int(rng.integers(0, len(CITIES)))],
        )
        protect_rows.append(
            {
                "id": f"SYN-P-{k + 1:04d}",
                "name": _other_spelling(name) if k == 0 else _title(name),
                "birth_date": _birth(pop, i),
                "nationality": "LSO",
                "reason": reason,
                "documents": "",
            }
        )
        listed.append((PROTECT_LIST, i))
    for k, (name, born, nat) in enumerate(
        _fictional_people(rng, 25, today, women_share=0.85, max_age=32), start=len(protect_rows)
    ):
        reason = PROTECT_REASONS[k % len(PROTECT_REASONS)].format(
            district=DISTRICTS[int(rng.integers(0, len(DISTRICTS)))],
            city=CITIES[int(rng.integers(0, len(CITIES)))],
        )
        protect_rows.append(
            {
                "id": f"SYN-P-{k + 1:04d}",
                "name": name,
                "birth_date": born,
                "nationality": nat,
                "reason": reason,
                "documents": "",
            }
        )

    # Lost and stolen documents: every document the population reported lost or stolen,
    # two current passports still reported stolen (found again, never cleared), and
    # documents of people who never came to the border.
    doc_rows = []
    for i in idx[present & (pop.lost_doc_number != "")]:
        reported = _day(today, -int(rng.integers(30, 700)))
        doc_rows.append(
            {
                "issuing_state": str(pop.nationality[i]),
                "number": str(pop.lost_doc_number[i]),
                "status": str(pop.lost_doc_status[i]),
                "reported_on": reported.isoformat(),
            }
        )
    for i in pick(eligible, 2):
        doc_rows.append(
            {
                "issuing_state": str(pop.nationality[i]),
                "number": str(pop.doc_number[i]),
                "status": "stolen",
                "reported_on": _day(today, -int(rng.integers(60, 400))).isoformat(),
            }
        )
        listed.append((DOCUMENT_LIST, i))
    for _ in range(80):
        state = "LSO" if rng.random() < 0.75 else "ZAF"
        # Letter C: never used by the population's documents (A current, B replaced).
        number = (
            ("R" if state == "LSO" else "A") + "C" + str(int(rng.integers(1_000_000, 9_999_999)))
        )
        doc_rows.append(
            {
                "issuing_state": state,
                "number": number,
                "status": "stolen" if rng.random() < 0.4 else "lost",
                "reported_on": _day(today, -int(rng.integers(10, 900))).isoformat(),
            }
        )
    return WatchlistPlan(
        wanted=_csv(wanted_rows),
        protect=_csv(protect_rows),
        documents=_csv(doc_rows),
        listed=listed,
    )


def _csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["name"])
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


# --- the whole -------------------------------------------------------------------------------


def add_extras(
    engine: Engine,
    pop: Population,
    person_ids: np.ndarray,
    *,
    node: str,
    keys: KeyStore,
    today: date,
    seed: int,
    progress: ProgressFactory | None = None,
    max_holders: int = MAX_HOLDERS,
    refresh_lists: bool = False,
    bulk_issue: bool = True,
    since: date | None = None,
) -> ExtrasSummary:
    """Add employers, permits, pending applications and watchlists for ``pop`` (stored with
    ``person_ids``, hex; "" for persons not in the store), as of ``today``; ``since`` is the
    first day of the crossings (default: read from the store). Parts already present are skipped,
    except the three watchlists with ``refresh_lists`` (a new population: a new version of
    each list, naming the new travellers).

    Employers and permits are written in one transaction; each watchlist in its own (an
    import replaces a list atomically).
    """
    if len(person_ids) != len(pop):
        raise ExtrasError(f"{len(person_ids)} person ids for a population of {len(pop)}")
    present = np.asarray([bool(p) for p in person_ids], dtype=bool)
    ids = [uuid.UUID(str(p)) if p else None for p in person_ids]
    summary = ExtrasSummary()
    employers = synthetic_employers()
    info = {e.registration_number: e for e in employers}
    officer = svc.Actor(ACTOR_NAME, Role.PERMIT_OFFICER, node)
    plan: PermitPlan | None = None
    with transaction(session_factory(engine)) as s:
        registered, summary.employers = _ensure_employers(s, officer)
        has_permits = s.scalar(select(func.count()).select_from(Permit)) or 0
        if has_permits:
            summary.skipped.append(f"permits ({has_permits:,} in the store)")
        else:
            if since is None:  # the first day of the crossings in the store
                first = s.scalar(select(func.min(Crossing.crossed_at)))
                since = first.date() if first else today
            plan = plan_permits(pop, present, today, seed, employers, max_holders, since)
            total = len(plan.lsp) + len(plan.grants)
            writer = _Writer(
                s,
                pop,
                ids,
                registered,
                info,
                keys.signer(datetime.now(UTC)),
                node,
                progress("permits", total) if progress else None,
                bulk_issue,
            )
            summary.permits, summary.pending = _write_permits(writer, plan, today)

    holders = set()
    if plan is not None:
        holders = {g.person for g in plan.grants} | {p.person for p in plan.pending}
    with session_factory(engine)() as s:
        present_lists = set(s.scalars(select(Watchlist.name)))
    wl = plan_watchlists(pop, present, today, seed, holders)
    for name, kind, category, data in (
        (WANTED_LIST, WatchlistKind.PERSON, WatchlistCategory.WANTED, wl.wanted),
        (PROTECT_LIST, WatchlistKind.PERSON, WatchlistCategory.TRAFFICKING_VICTIM, wl.protect),
        (DOCUMENT_LIST, WatchlistKind.DOCUMENT, WatchlistCategory.OTHER, wl.documents),
    ):
        if name in present_lists and not refresh_lists:
            summary.skipped.append(f"watchlist {name!r}")
            continue
        report = screening.import_watchlist(
            engine,
            list_name=name,
            data=data,
            fmt="csv",
            actor=ACTOR_NAME,
            node=node,
            kind=kind,
            category=category,
            source=SOURCE,
            today=today,
            confirm=True,  # generated lists; a refresh may legitimately shrink one
        )
        if report.error_count:
            raise ExtrasError(f"watchlist {name!r}: {report.errors[0]}")
        summary.watchlists[name] = report.loaded
        summary.listed += [
            (lst, str(pop.nationality[i]), str(pop.doc_number[i]))
            for lst, i in wl.listed
            if lst == name
        ]
    return summary


# --- existing stores and demo accounts -------------------------------------------------------


def population_in_store(
    engine: Engine, seed: int, sizes: Iterable[int]
) -> tuple[Population, np.ndarray] | None:
    """The synthetic population already in the store, re-made from its seed.

    Profiles are not stored; the generator makes the same people from the same seed and
    size, and their document numbers find them in the store. Names, birth dates and
    document expiry come from the store. None when no size given matches (e.g. the store
    was not filled by ``tsela synth`` with this seed).
    """
    from tsela.synth.generator import SynthConfig, make_population

    with session_factory(engine)() as s:
        rows = s.execute(
            select(
                TravelDocument.issuing_state,
                TravelDocument.number,
                TravelDocument.expiry_date,
                Person.id,
                Person.primary_name,
                Person.given_names,
                Person.birth_date,
            )
            .join(Person, Person.id == TravelDocument.person_id)
            .where(TravelDocument.status == DocumentStatus.VALID)
        ).all()
    by_doc = {(r[0], r[1]): r for r in rows}
    for n in dict.fromkeys(sizes):
        if n < 1:
            continue
        pop = make_population(SynthConfig(persons=n, seed=seed))
        found = [
            by_doc.get((str(a), str(b)))
            for a, b in zip(pop.nationality, pop.doc_number, strict=True)
        ]
        if sum(r is not None for r in found) < 0.95 * n:
            continue
        ids = np.asarray([r[3].hex if r else "" for r in found], dtype=object)
        for i, r in enumerate(found):
            if r is None:
                continue
            pop.primary_name[i], pop.given_names[i] = r[4], r[5]
            if r[6] is not None:
                pop.birth_date[i] = np.datetime64(r[6], "D")
            if r[2] is not None:
                pop.doc_expiry[i] = np.datetime64(r[2], "D")
        return pop, ids
    return None


def has_extras(engine: Engine) -> bool:
    """Whether the fictional employers, some permits and the three watchlists are stored."""
    first = synthetic_employers()[0].registration_number
    with session_factory(engine)() as s:
        employer = s.scalar(select(Employer.id).where(Employer.registration_number == first))
        permits = s.scalar(select(func.count()).select_from(Permit)) or 0
        lists = set(s.scalars(select(Watchlist.name)))
    return bool(employer and permits and {WANTED_LIST, PROTECT_LIST, DOCUMENT_LIST} <= lists)


@dataclass(frozen=True)
class DemoLinks:
    """Who the worker, applicant and employer demo accounts are."""

    employer: Employer | None
    worker: Person | None
    applicant: Person | None


def demo_links(session: Session, today: date) -> DemoLinks:
    """Pick the people behind the worker/employer demo accounts from the store.

    - employer: the mine with most valid permits (else the farm with most);
    - worker: a Mosotho holder of a valid permit naming that employer, still employed
      there (an LEP and a Sesotho surname if any);
    - applicant: a Mosotho with no permit and no application yet, a valid passport, no
      lost document and no watchlist hit, with a Sesotho surname if any, among those who
      cross most.
    """
    valid = (
        Permit.status == S.ISSUED.value,
        Permit.valid_from <= today,
        Permit.valid_to >= today,
    )
    employer = session.execute(
        select(Employer)
        .join(Permit, Permit.employer_id == Employer.id)
        .where(Employer.sector.in_(["mining", "agriculture"]), *valid)
        .group_by(Employer.id)
        .order_by((Employer.sector == "mining").desc(), func.count(Permit.id).desc(), Employer.name)
        .limit(1)
    ).scalar_one_or_none()
    worker = None
    ended = select(Employment.permit_id).where(Employment.end_date.is_not(None))
    # Most Basotho carry a Sesotho surname: the demo's people should too.
    sesotho = Person.primary_name.in_(
        sorted({mrz_name(n) for n in name_list("sesotho", "surnames")})
    )
    if employer is not None:
        worker = session.execute(
            select(Person)
            .join(Permit, Permit.person_id == Person.id)
            .join(TravelDocument, TravelDocument.id == Permit.document_id)
            .where(
                Permit.employer_id == employer.id,
                Person.nationality == "LSO",
                Permit.id.not_in(ended),
                *valid,
            )
            .order_by((Permit.permit_type == "LEP").desc(), sesotho.desc(), TravelDocument.number)
            .limit(1)
        ).scalar_one_or_none()
    with_permit = select(Permit.person_id)
    lost = select(TravelDocument.person_id).where(TravelDocument.status != DocumentStatus.VALID)
    candidates = session.execute(
        select(Person, TravelDocument)
        .join(TravelDocument, TravelDocument.person_id == Person.id)
        .join(Crossing, Crossing.person_id == Person.id)
        .where(
            Person.nationality == "LSO",
            Person.id.not_in(with_permit),
            Person.id.not_in(lost),
            TravelDocument.status == DocumentStatus.VALID,
            TravelDocument.expiry_date >= today + timedelta(days=365),
        )
        .group_by(Person.id, TravelDocument.id)
        .order_by(sesotho.desc(), func.count(Crossing.id).desc(), TravelDocument.number)
        .limit(25)
    ).all()
    applicant = None
    engine = session_engine(session)
    for person, doc in candidates:
        alerts = screening.check_document(engine, doc.issuing_state, doc.number, session=session)
        hits = screening.screen(
            engine,
            f"{person.given_names} {person.primary_name}",
            birth_date=person.birth_date,
            nationality=person.nationality,
            today=today,
            session=session,
        )
        if not alerts and not hits:
            applicant = person
            break
    return DemoLinks(employer=employer, worker=worker, applicant=applicant)


@dataclass(frozen=True)
class BorderSample:
    """A document to type in at the officer console, and what the check will show."""

    issuing_state: str
    number: str
    what: str


def border_samples(session: Session, today: date, per_kind: int = 2) -> list[BorderSample]:
    """Travellers worth checking in a demo: listed on a watchlist, travelling on a passport
    reported stolen, holding a valid work permit, or holding a revoked one."""
    out: list[BorderSample] = []
    engine = session_engine(session)
    for list_name in (WANTED_LIST, PROTECT_LIST):
        entries = session.execute(
            select(WatchlistEntry.birth_date)
            .join(Watchlist, Watchlist.id == WatchlistEntry.watchlist_id)
            .where(Watchlist.name == list_name, WatchlistEntry.birth_date.is_not(None))
        ).scalars()
        found = 0
        for born in entries:
            rows = session.execute(
                select(Person, TravelDocument)
                .join(TravelDocument, TravelDocument.person_id == Person.id)
                .where(
                    Person.birth_date == born,
                    TravelDocument.status == DocumentStatus.VALID,
                )
            ).all()
            for person, doc in rows:
                hits = screening.screen(
                    engine,
                    f"{person.given_names} {person.primary_name}",
                    birth_date=person.birth_date,
                    nationality=person.nationality,
                    today=today,
                    session=session,
                )
                if any(h.list_name == list_name for h in hits):
                    out.append(BorderSample(doc.issuing_state, doc.number, f"on {list_name!r}"))
                    found += 1
                    break
            if found >= per_kind:
                break
    stolen = session.execute(
        select(TravelDocument.issuing_state, TravelDocument.number)
        .join(
            DocumentAlert,
            (DocumentAlert.issuing_state == TravelDocument.issuing_state)
            & (DocumentAlert.number == TravelDocument.number),
        )
        .where(TravelDocument.status == DocumentStatus.VALID)
        .order_by(TravelDocument.number)
        .limit(per_kind)
    ).all()
    out += [BorderSample(a, b, "passport reported stolen (document list)") for a, b in stolen]
    permits = (
        ("holds a valid Lesotho Exemption Permit", Permit.status == S.ISSUED.value),
        ("permit revoked", Permit.status == S.REVOKED.value),
    )
    for what, status in permits:
        rows = session.execute(
            select(TravelDocument.issuing_state, TravelDocument.number)
            .join(Permit, Permit.document_id == TravelDocument.id)
            .where(
                status,
                Permit.permit_type == "LEP",
                Permit.valid_from <= today,
                Permit.valid_to >= today,
                TravelDocument.status == DocumentStatus.VALID,
            )
            .order_by(TravelDocument.number)
            .limit(1)
        ).all()
        out += [BorderSample(a, b, what) for a, b in rows]
    return out
