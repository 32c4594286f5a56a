"""Permit use cases on SQLite and PostgreSQL: the full life of a permit, and bad input."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tsela.domain.credentials import Verifier, VerifyStatus
from tsela.domain.permits import IllegalTransition, PermitRuleError, ReasonRequired, RoleNotAllowed
from tsela.kernel.actor import Actor
from tsela.services import audit
from tsela.services import employers as emp
from tsela.services import permits as svc
from tsela.services.keys import KeyStore
from tsela.services.permit_qr import decode_image, render_png
from tsela.store.db import session_factory, transaction
from tsela.store.models import AuditEvent, Permit, Role
from tsela.store.permits import Employment, PermitEvent

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
OFFICER = Actor("officer.mokhele", Role.PERMIT_OFFICER, "LS")
ADMIN = Actor("admin", Role.ADMIN, "LS")


def lineo(**kw: object) -> svc.Applicant:
    base: dict[str, object] = dict(
        surname="Mokoena",
        given_names="Lineo",
        birth_date=date(1990, 3, 14),
        nationality="LSO",
        document_number="RA1234567",
        document_expiry=date(2030, 1, 31),
        sex="F",
    )
    base.update(kw)
    return svc.Applicant(**base)  # type: ignore[arg-type]


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "var", "LS")


@pytest.fixture
def db(engine: Engine) -> Session:
    with session_factory(engine)() as s:
        yield s  # type: ignore[misc]


def study_application(db: Session, actor: Actor = OFFICER, **kw: object) -> Permit:
    return svc.apply(
        db,
        actor,
        type_code="STUDY",
        today=TODAY,
        applicant=lineo(**kw),
        evidence=[
            svc.EvidenceItem("passport", "RA1234567"),
            svc.EvidenceItem("institution_registration", "NUL 2026/0042"),
            svc.EvidenceItem("proof_of_funds", "bank letter"),
        ],
    )


def test_full_life_apply_approve_issue_verify_revoke(engine: Engine, keys: KeyStore) -> None:
    factory = session_factory(engine)
    with transaction(factory) as s:
        permit = study_application(s)
        number, pid = permit.number, permit.id
        assert permit.status == "draft"
    with transaction(factory) as s:
        svc.submit(s, OFFICER, number, TODAY)
        svc.decide(s, OFFICER, number, "approved")
        svc.issue(s, OFFICER, number, keys.signer(NOW), TODAY, NOW)
    with factory() as s:
        permit = s.get(Permit, pid)
        assert permit is not None and permit.status == "issued"
        assert (permit.valid_from, permit.valid_to) == (TODAY, TODAY + timedelta(days=364))
        token = permit.token
    assert token is not None

    # Offline: only the key set file and (later) the revocation list.
    verifier = Verifier(keys.keyset())
    got = verifier.verify(token, TODAY + timedelta(days=10))
    assert got.status is VerifyStatus.VALID
    assert got.claims is not None
    assert got.claims.holder == "MOKOENA, LINEO"
    assert got.claims.number == number
    assert got.claims.rights == ("study", "reside")
    # The QR code printed on the card carries the same token.
    assert decode_image(render_png(token)) == [token]

    with transaction(factory) as s:
        svc.revoke(s, OFFICER, number, "obtained with a forged institution letter")
        signed = svc.signed_revocation_list(s, keys, NOW + timedelta(days=1))
    offline = Verifier(keys.keyset())
    offline.load_revocations(signed)
    after = offline.verify(token, TODAY + timedelta(days=11))
    assert after.status is VerifyStatus.REVOKED
    assert number in after.message

    with factory() as s:
        online = svc.verify_online(s, token, keys.keyset(), "LS", TODAY + timedelta(days=11))
        assert online.status is VerifyStatus.REVOKED
        assert "forged institution letter" in online.message
        steps = [(e.action, e.from_status, e.to_status) for e in svc.history(s, OFFICER, number)]
        assert steps == [
            ("apply", None, "draft"),
            ("submit", "draft", "submitted"),
            ("approve", "submitted", "approved"),
            ("issue", "approved", "issued"),
            ("revoke", "issued", "revoked"),
        ]
        actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.at, AuditEvent.id)))
        for step in ("permit.apply", "permit.submit", "permit.approve", "permit.issue"):
            assert step in actions
        assert "permit.revoke" in actions
        assert audit.verify(s).ok


def test_evidence_request_and_resubmission(db: Session) -> None:
    permit = svc.apply(db, OFFICER, type_code="STUDY", today=TODAY, applicant=lineo())
    with pytest.raises(PermitRuleError, match="missing evidence 'passport'"):
        svc.submit(db, OFFICER, permit.number, TODAY)
    svc.add_evidence(
        db,
        OFFICER,
        permit.number,
        [
            svc.EvidenceItem("passport"),
            svc.EvidenceItem("institution_registration"),
            svc.EvidenceItem("proof_of_funds"),
        ],
    )
    svc.submit(db, OFFICER, permit.number, TODAY)
    with pytest.raises(ReasonRequired, match="reason is required to request evidence"):
        svc.decide(db, OFFICER, permit.number, "evidence_requested")
    svc.decide(db, OFFICER, permit.number, "evidence_requested", "letter is not stamped")
    svc.submit(db, OFFICER, permit.number, TODAY)
    with pytest.raises(ReasonRequired):
        svc.decide(db, OFFICER, permit.number, "rejected", "  ")
    svc.decide(db, OFFICER, permit.number, "rejected", "institution not accredited")
    with pytest.raises(IllegalTransition, match="cannot go from 'rejected' to 'approved'"):
        svc.decide(db, OFFICER, permit.number, "approved")
    assert permit.status == "rejected"


def test_worker_cannot_approve_and_sees_only_own(db: Session, keys: KeyStore) -> None:
    permit = study_application(db)
    worker = Actor("lineo", Role.WORKER, "LS", person_id=permit.person_id)
    svc.submit(db, worker, permit.number, TODAY)
    with pytest.raises(RoleNotAllowed, match="a worker may not approve"):
        svc.decide(db, worker, permit.number, "approved")
    stranger = Actor("thabo", Role.WORKER, "LS", person_id=None)
    with pytest.raises(svc.Forbidden):
        svc.view(db, stranger, permit.number, TODAY)
    assert svc.view(db, worker, permit.number, TODAY).number == permit.number


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"document_expiry": date(2026, 1, 1)}, "expired on 2026-01-01"),
        ({"document_number": "R$1"}, "document number 'R$1' must be 5 to 20 letters or digits"),
        ({"nationality": "XXA1"}, "nationality 'XXA1' is not an ISO 3166"),
        ({"surname": " "}, "surname is empty"),
        ({"sex": "Q"}, "sex must be M, F or X"),
    ],
)
def test_applicant_with_invalid_document_is_refused(
    engine: Engine, change: dict[str, object], message: str
) -> None:
    factory = session_factory(engine)
    with (
        pytest.raises((svc.PermitError, PermitRuleError), match=re.escape(message)),
        transaction(factory) as s,
    ):
        study_application(s, **change)
    with factory() as s:  # nothing half-written
        assert s.scalar(select(func.count()).select_from(Permit)) == 0


def test_lep_rules_from_the_reference_data(db: Session) -> None:
    # The LEP is only for former LSP holders, and needs 120 days of passport validity.
    lep_day = date(2025, 6, 2)
    with pytest.raises(PermitRuleError, match="only for holders of a Lesotho Special Permit"):
        svc.apply(db, OFFICER, type_code="LEP", today=lep_day, applicant=lineo())
    with pytest.raises(PermitRuleError, match="at least 120 days"):
        svc.apply(
            db,
            OFFICER,
            type_code="LEP",
            today=lep_day,
            applicant=lineo(
                document_number="RB7654321", document_expiry=lep_day + timedelta(days=100)
            ),
        )
    with pytest.raises(PermitRuleError, match="closed on 2016-12-31"):
        svc.apply(db, OFFICER, type_code="LSP", today=lep_day, applicant=lineo())
    with pytest.raises(PermitRuleError, match="closed on 2025-11-29"):
        svc.apply(db, OFFICER, type_code="LEP", today=TODAY, applicant=lineo())


def test_lsp_holder_gets_lep_valid_to_programme_end(db: Session, keys: KeyStore) -> None:
    lsp_day = date(2016, 5, 10)
    lsp = svc.apply(
        db,
        OFFICER,
        type_code="LSP",
        today=lsp_day,
        applicant=lineo(document_expiry=date(2030, 1, 1)),
        evidence=[
            svc.EvidenceItem(k)
            for k in (
                "passport",
                "population_register",
                "police_clearance_ls",
                "police_clearance_za",
                "employer_affidavit",
            )
        ],
    )
    svc.submit(db, OFFICER, lsp.number, lsp_day)
    svc.decide(db, OFFICER, lsp.number, "approved")
    svc.issue(db, OFFICER, lsp.number, keys.signer(NOW), lsp_day)
    assert lsp.valid_to == date(2019, 12, 31)
    with pytest.raises(PermitRuleError, match="not renewable; its successor is the Lesotho Exem"):
        svc.renew(db, OFFICER, lsp.number, date(2019, 11, 1))

    lep_day = date(2024, 2, 1)
    lep = svc.apply(
        db,
        OFFICER,
        type_code="LEP",
        today=lep_day,
        applicant=lineo(document_expiry=date(2030, 1, 1)),
    )
    svc.add_evidence(db, OFFICER, lep.number, [svc.EvidenceItem("passport")])
    svc.submit(db, OFFICER, lep.number, lep_day)
    svc.decide(db, OFFICER, lep.number, "approved")
    svc.issue(db, OFFICER, lep.number, keys.signer(NOW), lep_day)
    assert (lep.valid_from, lep.valid_to) == (lep_day, date(2027, 5, 28))


def _employer(db: Session, reg: str = "2019/123456/07") -> emp.Employer:  # type: ignore[name-defined]
    return emp.register_employer(
        db,
        OFFICER,
        registration_number=reg,
        name="Ficksburg Cherry Farms",
        sector="Agriculture",
        address="R26, Ficksburg",
        contact="+27 51 933 0000",
    )


def _seasonal(db: Session, employer_id: object, keys: KeyStore, **kw: object) -> Permit:
    permit = svc.apply(
        db,
        OFFICER,
        type_code="SEASONAL",
        today=TODAY,
        applicant=lineo(**kw),
        employer=employer_id,  # type: ignore[arg-type]
        evidence=[svc.EvidenceItem("passport"), svc.EvidenceItem("employment_contract")],
    )
    svc.submit(db, OFFICER, permit.number, TODAY)
    svc.decide(db, OFFICER, permit.number, "approved")
    svc.issue(db, OFFICER, permit.number, keys.signer(NOW), TODAY)
    return permit


def test_employer_sees_and_ends_employment_of_its_workers(db: Session, keys: KeyStore) -> None:
    farm = _employer(db)
    other = _employer(db, "2001/000001/07")
    with pytest.raises(emp.EmployerError, match="already registered"):
        _employer(db)
    with pytest.raises(PermitRuleError, match="must name a registered employer"):
        svc.apply(db, OFFICER, type_code="SEASONAL", today=TODAY, applicant=lineo())
    permit = _seasonal(db, farm.id, keys)
    farm_account = Actor("farm.hr", Role.EMPLOYER, "LS", employer_id=farm.id)
    other_account = Actor("other.hr", Role.EMPLOYER, "LS", employer_id=other.id)
    seen = emp.workers_permits(db, farm_account, farm.registration_number, TODAY)
    assert [v.number for v in seen] == [permit.number]
    assert seen[0].employer == "Ficksburg Cherry Farms"
    with pytest.raises(svc.Forbidden):
        emp.workers_permits(db, other_account, farm.id, TODAY)
    with pytest.raises(svc.Forbidden):
        svc.end_employment(db, other_account, permit.number, TODAY, "left")
    with pytest.raises(svc.PermitError, match="reason is required"):
        svc.end_employment(db, farm_account, permit.number, TODAY, "")
    svc.end_employment(db, farm_account, permit.number, TODAY + timedelta(days=30), "season over")
    job = db.scalars(select(Employment)).one()
    assert (job.end_date, job.end_reason, job.reported_by) == (
        TODAY + timedelta(days=30),
        "season over",
        "farm.hr",
    )
    findings = svc.permit_findings(db, permit.person_id, TODAY + timedelta(days=31))
    assert findings == [
        f"Seasonal farm-work permit {permit.number}: employment with Ficksburg Cherry Farms "
        f"ended on {(TODAY + timedelta(days=30)).isoformat()} (season over)"
    ]


def test_bad_employer_registration_is_refused(db: Session) -> None:
    with pytest.raises(emp.EmployerError, match="registration number '#'"):
        emp.register_employer(db, OFFICER, registration_number="#", name="X", sector="retail")
    with pytest.raises(emp.EmployerError, match="country 'ZZZ'"):
        emp.register_employer(
            db, OFFICER, registration_number="2019/1/07", name="X", sector="retail", country="ZZZ"
        )
    worker = Actor("w", Role.WORKER, "LS")
    with pytest.raises(svc.Forbidden):
        emp.register_employer(db, worker, registration_number="2019/1/07", name="X", sector="r")


def test_border_integration_valid_expired_revoked(db: Session, keys: KeyStore) -> None:
    permit = study_application(db)
    svc.submit(db, OFFICER, permit.number, TODAY)
    svc.decide(db, OFFICER, permit.number, "approved")
    svc.issue(db, OFFICER, permit.number, keys.signer(NOW), TODAY)
    inside = TODAY + timedelta(days=100)
    override = svc.stay_override(db, permit.person_id, "ZAF", inside)
    assert override is not None and override.number == permit.number
    assert svc.stay_override(db, permit.person_id, "LSO", inside) is None
    assert svc.permit_findings(db, permit.person_id, inside) == []
    after = permit.valid_to + timedelta(days=1)  # type: ignore[operator]
    assert svc.valid_permits_for(db, permit.person_id, after) == []
    assert svc.permit_findings(db, permit.person_id, after) == [
        f"Cross-border study permit {permit.number} expired on {permit.valid_to}"
    ]
    svc.decide(db, OFFICER, permit.number, "suspended", "police enquiry")
    assert svc.valid_permits_for(db, permit.person_id, inside) == []
    svc.revoke(db, OFFICER, permit.number, "fraudulent registration")
    (finding,) = svc.permit_findings(db, permit.person_id, inside)
    assert finding.startswith(f"Cross-border study permit {permit.number} was revoked on ")
    assert finding.endswith(": fraudulent registration")


def test_frequent_crosser_card_gives_fast_lane_not_stay(db: Session, keys: KeyStore) -> None:
    card = svc.apply(
        db,
        OFFICER,
        type_code="FCC",
        today=TODAY,
        applicant=lineo(),
        evidence=[svc.EvidenceItem("passport"), svc.EvidenceItem("proof_of_residence")],
    )
    svc.submit(db, OFFICER, card.number, TODAY)
    svc.decide(db, OFFICER, card.number, "approved")
    svc.issue(db, OFFICER, card.number, keys.signer(NOW), TODAY)
    (valid,) = svc.valid_permits_for(db, card.person_id, TODAY)
    assert valid.fast_lane and not valid.overrides_stay_limit
    assert svc.stay_override(db, card.person_id, "ZAF", TODAY) is None


def test_renewal_of_an_expiring_permit(db: Session, keys: KeyStore) -> None:
    permit = study_application(db)
    svc.submit(db, OFFICER, permit.number, TODAY)
    svc.decide(db, OFFICER, permit.number, "approved")
    svc.issue(db, OFFICER, permit.number, keys.signer(NOW), TODAY)
    assert permit.valid_to is not None
    with pytest.raises(PermitRuleError, match="renewal opens 90 days before"):
        svc.renew(db, OFFICER, permit.number, TODAY + timedelta(days=30))
    day = permit.valid_to - timedelta(days=20)
    new = svc.renew(db, OFFICER, permit.number, day)
    assert new.renewal_of_id == permit.id and new.status == "draft"
    svc.submit(db, OFFICER, new.number, day)  # evidence was carried over
    with pytest.raises(PermitRuleError, match="already has an open STUDY application"):
        svc.renew(db, OFFICER, permit.number, day)


def test_expiring_lists_by_employer_and_type_and_csv(db: Session, keys: KeyStore) -> None:
    farm = _employer(db)
    permits = [
        _seasonal(db, farm.id, keys, document_number=f"RA00000{i}", surname=f"Worker{i}")
        for i in range(3)
    ]
    last = permits[0].valid_to
    assert last is not None
    svc.revoke(db, OFFICER, permits[2].number, "left the country")
    soon = svc.list_permits(db, OFFICER, last - timedelta(days=20), expiring_within=30)
    # The revoked one is not a reminder; the other two end in 20 days.
    assert sorted(v.number for v in soon) == sorted(p.number for p in permits[:2])
    assert svc.list_permits(db, OFFICER, last - timedelta(days=40), expiring_within=30) == []
    assert svc.expiring_summary(soon, "employer") == {
        "Ficksburg Cherry Farms": {30: 2, 60: 0, 90: 0}
    }
    assert svc.expiring_summary(soon, "type") == {"SEASONAL": {30: 2, 60: 0, 90: 0}}
    rows = list(csv.DictReader(io.StringIO(svc.to_csv(soon))))
    assert {r["number"] for r in rows} == {p.number for p in permits[:2]}
    assert {(r["employer"], r["days_left"], r["band"]) for r in rows} == {
        ("Ficksburg Cherry Farms", "20", "30")
    }


def test_csv_cells_cannot_become_formulas(db: Session, keys: KeyStore) -> None:
    emp.register_employer(
        db, OFFICER, registration_number="2020/9/07", name="=HYPERLINK(1)", sector="retail"
    )
    farm = emp.get_employer(db, "2020/9/07")
    _seasonal(db, farm.id, keys)
    rows = list(csv.DictReader(io.StringIO(svc.to_csv(svc.list_permits(db, OFFICER, TODAY)))))
    assert rows[0]["employer"] == "'=HYPERLINK(1)"


def test_bulk_issue_matches_one_by_one(engine: Engine, keys: KeyStore) -> None:
    factory = session_factory(engine)
    ids = []
    with transaction(factory) as s:
        for i in range(5):
            p = study_application(s, document_number=f"BQ00000{i}", surname=f"Bulk{i}")
            svc.submit(s, OFFICER, p.number, TODAY)
            svc.decide(s, OFFICER, p.number, "approved")
            ids.append(p.id)
    with transaction(factory) as s:
        assert svc.issue_many(s, OFFICER, ids, keys.signer(NOW), TODAY, NOW) == 5
    with transaction(factory) as s, pytest.raises(IllegalTransition, match="not approved"):
        svc.issue_many(s, OFFICER, ids[:1], keys.signer(NOW), TODAY, NOW)
    verifier = Verifier(keys.keyset())
    with factory() as s:
        rows = list(s.scalars(select(Permit).where(Permit.id.in_(ids))))
        assert {r.status for r in rows} == {"issued"}
        for r in rows:
            got = verifier.verify(r.token or "", TODAY)
            assert got.status is VerifyStatus.VALID
            assert got.claims is not None and got.claims.number == r.number
        events = s.scalar(
            select(func.count()).select_from(PermitEvent).where(PermitEvent.action == "issue")
        )
        assert events == 5
        assert audit.verify(s).ok


def test_verify_online_refuses_token_not_in_register(db: Session, keys: KeyStore) -> None:
    from tsela.domain.credentials import PermitClaims

    claims = PermitClaims(
        permit_id="0192a6b0-0000-7000-8000-000000000000",
        number="LS-STUDY-FAKE",
        issuer="LS",
        issued_at=1_700_000_000,
        permit_type="STUDY",
        type_name="x",
        holder="X",
        birth_date=None,
        nationality="LSO",
        document="",
        rights=("study",),
        country="ZAF",
        valid_from=TODAY,
        valid_to=TODAY,
    )
    token = keys.signer(NOW).sign(claims.to_claims())
    got = svc.verify_online(db, token, keys.keyset(), "LS", TODAY)
    assert got.status is VerifyStatus.FORGED
    assert "not in the register" in got.message


def test_known_document_with_other_details_is_refused_not_overwritten(db: Session) -> None:
    study_application(db)
    with pytest.raises(svc.PermitError, match="do not match our records"):
        svc.apply(db, OFFICER, type_code="FCC", today=TODAY, applicant=lineo(surname="Thabo"))
    with pytest.raises(svc.PermitError, match="expiry date does not match our records"):
        svc.apply(
            db,
            OFFICER,
            type_code="FCC",
            today=TODAY,
            applicant=lineo(document_expiry=date(2031, 1, 31)),
        )


def test_employer_applies_for_its_own_workers_only(db: Session) -> None:
    farm = _employer(db)
    other = _employer(db, "2001/000001/07")
    farm_account = Actor("farm.hr", Role.EMPLOYER, "LS", employer_id=farm.id)
    evidence = [svc.EvidenceItem("passport"), svc.EvidenceItem("employment_contract")]
    permit = svc.apply(
        db, farm_account, type_code="SEASONAL", today=TODAY, applicant=lineo(), evidence=evidence
    )
    assert permit.employer_id == farm.id  # the employer's own, without being told
    svc.submit(db, farm_account, permit.number, TODAY)
    with pytest.raises(svc.Forbidden, match="only for their own employer's workers"):
        svc.apply(
            db,
            farm_account,
            type_code="SEASONAL",
            today=TODAY,
            applicant=lineo(document_number="RC1111111"),
            employer=other.registration_number,
        )


def test_worker_applies_only_for_themselves(db: Session) -> None:
    first = study_application(db)
    worker = Actor("lineo", Role.WORKER, "LS", person_id=first.person_id)
    card = svc.apply(
        db,
        worker,
        type_code="FCC",
        today=TODAY,
        person_id=first.person_id,
        evidence=[svc.EvidenceItem("passport"), svc.EvidenceItem("proof_of_residence")],
    )
    assert card.person_id == first.person_id
    with pytest.raises(svc.Forbidden, match="may apply only for themselves"):
        svc.apply(
            db,
            worker,
            type_code="FCC",
            today=TODAY,
            applicant=lineo(surname="Thabo", document_number="RD2222222"),
        )


def test_suspend_and_reinstate_show_in_online_verification(db: Session, keys: KeyStore) -> None:
    permit = study_application(db)
    svc.submit(db, OFFICER, permit.number, TODAY)
    svc.decide(db, OFFICER, permit.number, "approved")
    svc.issue(db, OFFICER, permit.number, keys.signer(NOW), TODAY)
    token = permit.token or ""
    svc.decide(db, OFFICER, permit.number, "suspended", "police enquiry")
    got = svc.verify_online(db, token, keys.keyset(), "LS", TODAY)
    assert got.status is VerifyStatus.SUSPENDED and "police enquiry" in got.message
    svc.decide(db, OFFICER, permit.number, "issued", "enquiry closed")
    got = svc.verify_online(db, token, keys.keyset(), "LS", TODAY)
    assert got.status is VerifyStatus.VALID
    assert got.reasons[-1] == "status checked in the register of node LS"


def test_expire_due_records_only_permits_past_their_last_day(db: Session, keys: KeyStore) -> None:
    permit = study_application(db)
    svc.submit(db, OFFICER, permit.number, TODAY)
    svc.decide(db, OFFICER, permit.number, "approved")
    svc.issue(db, OFFICER, permit.number, keys.signer(NOW), TODAY)
    assert permit.valid_to is not None
    assert svc.expire_due(db, ADMIN, permit.valid_to) == 0
    assert permit.status == "issued"
    assert svc.expire_due(db, ADMIN, permit.valid_to + timedelta(days=1)) == 1
    assert permit.status == "expired"
    with pytest.raises(IllegalTransition, match="'expired' is final"):
        svc.decide(db, OFFICER, permit.number, "revoked", "too late")


def test_programme_extension_reissues_still_valid_permits(
    db: Session, keys: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from tsela.domain import permits as dom

    lsp_day, lep_day = date(2016, 5, 10), date(2024, 2, 1)
    lsp_kinds = ("passport", "population_register", "police_clearance_ls", "police_clearance_za")
    lsp = svc.apply(
        db,
        OFFICER,
        type_code="LSP",
        today=lsp_day,
        applicant=lineo(),
        evidence=[svc.EvidenceItem(k) for k in (*lsp_kinds, "institution_registration")],
    )
    svc.submit(db, OFFICER, lsp.number, lsp_day)
    svc.decide(db, OFFICER, lsp.number, "approved")
    svc.issue(db, OFFICER, lsp.number, keys.signer(NOW), lsp_day)
    lep = svc.apply(
        db,
        OFFICER,
        type_code="LEP",
        today=lep_day,
        applicant=lineo(),
        evidence=[svc.EvidenceItem("passport")],
    )
    svc.submit(db, OFFICER, lep.number, lep_day)
    svc.decide(db, OFFICER, lep.number, "approved")
    svc.issue(db, OFFICER, lep.number, keys.signer(NOW), lep_day)
    old_token = lep.token or ""
    assert svc.extend_programme(db, OFFICER, "LEP", keys.signer(NOW), TODAY) == []

    # The government moves the end of the LEP: one line of data.
    shipped = dom.permit_types()
    moved = {**shipped, "LEP": dataclasses.replace(shipped["LEP"], valid_until=date(2028, 12, 31))}
    monkeypatch.setattr(dom, "permit_types", lambda: moved)
    (done,) = svc.extend_programme(db, OFFICER, "LEP", keys.signer(NOW), TODAY)
    assert done.number == lep.number and lep.valid_to == date(2028, 12, 31)
    verifier = Verifier(keys.keyset())
    after_old_end = date(2027, 6, 1)
    assert verifier.verify(old_token, after_old_end).status is VerifyStatus.EXPIRED
    assert verifier.verify(lep.token or "", after_old_end).status is VerifyStatus.VALID
    (last,) = [e for e in svc.history(db, OFFICER, lep.number) if e.action == "extend"]
    assert last.reason == "LEP programme extended: last day 2027-05-28 -> 2028-12-31"
    # The LSP ended in 2019: it is not revived.
    assert lsp.valid_to == date(2019, 12, 31)
