"""Writing the permit plan through the services a real office uses, with the dates of the
history.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain import permits as dom
from tsela.domain.credentials import Signer
from tsela.kernel.actor import Actor
from tsela.services import permits as svc
from tsela.store.models import Employer, Permit, Role
from tsela.synth.extras.common import ACTOR_NAME, Advance, S
from tsela.synth.extras.employers import SyntheticEmployer
from tsela.synth.extras.permit_plan import (
    EVIDENCE_REQUEST,
    INSTITUTIONS,
    LSP_RECORDED_EXPIRED,
    Grant,
    PermitPlan,
)
from tsela.synth.generator import Population


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
class Writer:
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
    def officer(self) -> Actor:
        return Actor(ACTOR_NAME, Role.PERMIT_OFFICER, self.node)

    def applicant(self, i: int) -> Actor:
        return Actor(ACTOR_NAME, Role.WORKER, self.node, person_id=self.ids[i])

    def employer_actor(self, reg: str) -> Actor:
        return Actor(ACTOR_NAME, Role.EMPLOYER, self.node, employer_id=self.employers[reg].id)

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


def write_permits(w: Writer, plan: PermitPlan, today: date) -> tuple[Counter[str], int]:
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
            by_employer = (
                w.employer_actor(p.employer) if p.by == "employer" and p.employer else None
            )
            actor = by_employer or w.applicant(p.person)
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
