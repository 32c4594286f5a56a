"""Permit types as data and the permit state machine (pure domain)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from tsela.domain import permits as dom
from tsela.domain.permits import (
    IllegalTransition,
    PermitRuleError,
    PermitStatus,
    PermitTypeFileError,
    ReasonRequired,
    RoleNotAllowed,
)
from tsela.store.models import Role

S = PermitStatus

# The workflow of the issue, written out independently of the table in the code:
# (from, to, roles allowed, reason required)
EXPECTED = {
    (S.DRAFT, S.SUBMITTED): ({"worker", "employer", "permit_officer", "admin"}, False),
    (S.SUBMITTED, S.EVIDENCE_REQUESTED): ({"permit_officer", "admin"}, True),
    (S.EVIDENCE_REQUESTED, S.SUBMITTED): ({"worker", "employer", "permit_officer", "admin"}, False),
    (S.SUBMITTED, S.APPROVED): ({"permit_officer", "admin"}, False),
    (S.SUBMITTED, S.REJECTED): ({"permit_officer", "admin"}, True),
    (S.EVIDENCE_REQUESTED, S.REJECTED): ({"permit_officer", "admin"}, True),
    (S.APPROVED, S.ISSUED): ({"permit_officer", "admin"}, False),
    (S.ISSUED, S.SUSPENDED): ({"permit_officer", "admin"}, True),
    (S.SUSPENDED, S.ISSUED): ({"permit_officer", "admin"}, True),
    (S.ISSUED, S.REVOKED): ({"permit_officer", "admin"}, True),
    (S.SUSPENDED, S.REVOKED): ({"permit_officer", "admin"}, True),
    (S.ISSUED, S.EXPIRED): ({"permit_officer", "admin"}, False),
    (S.SUSPENDED, S.EXPIRED): ({"permit_officer", "admin"}, False),
}


def _id(x: object) -> str:
    """Deterministic test ids (sets print in random order, which splits xdist workers)."""
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], set):
        return f"{'+'.join(sorted(x[0]))}-{'reason' if x[1] else 'no-reason'}"
    if isinstance(x, tuple):
        return "->".join(str(getattr(v, "value", v)) for v in x)
    return str(x)


@pytest.mark.parametrize(("pair", "rule"), EXPECTED.items(), ids=_id)
def test_every_legal_transition(pair: tuple[S, S], rule: tuple[set[str], bool]) -> None:
    source, target = pair
    roles, needs_reason = rule
    for role in Role:
        if role.value in roles:
            assert dom.transition(source, target, role, "because") is target
            if needs_reason:
                with pytest.raises(ReasonRequired, match="a reason is required"):
                    dom.transition(source, target, role, None)
            else:
                assert dom.transition(source, target, role) is target
        else:
            with pytest.raises(RoleNotAllowed, match=f"a {role.value} may not"):
                dom.transition(source, target, role, "because")


def test_every_other_pair_is_refused_with_a_clear_message() -> None:
    for source, target in itertools.product(PermitStatus, PermitStatus):
        if (source, target) in EXPECTED:
            continue
        with pytest.raises(IllegalTransition) as caught:
            dom.transition(source, target, Role.ADMIN, "reason")
        assert not isinstance(caught.value, RoleNotAllowed | ReasonRequired)
        assert str(caught.value).startswith(f"cannot go from '{source}' to '{target}': ")


def test_illegal_message_says_why() -> None:
    with pytest.raises(
        IllegalTransition, match="cannot go from 'rejected' to 'issued': 'rejected' is final"
    ):
        dom.transition("rejected", "issued", Role.PERMIT_OFFICER)
    with pytest.raises(IllegalTransition, match="can only go to 'submitted'"):
        dom.transition("draft", "approved", Role.PERMIT_OFFICER)
    with pytest.raises(dom.UnknownStatus, match="unknown permit status 'lost'"):
        dom.transition("issued", "lost", Role.ADMIN)


def test_shipped_permit_types_carry_the_sourced_facts() -> None:
    types = dom.permit_types()
    assert {"LSP", "LEP", "STUDY", "BUSINESS", "SEASONAL", "FCC"} <= set(types)
    lsp, lep = types["LSP"], types["LEP"]
    assert (lsp.applications_open, lsp.applications_close) == (date(2016, 3, 1), date(2016, 12, 31))
    assert lsp.valid_until == date(2019, 12, 31)
    assert lsp.holders == 90314
    assert lep.fee_zar == 1090
    assert lep.requires_prior == ("LSP",)
    assert lep.valid_until == date(2027, 5, 28)
    assert lep.applications_close == date(2025, 11, 29)
    assert lep.passport_min_valid_days == 120
    assert set(lep.rights) >= {"work", "study", "business"}
    assert not lep.renewable
    assert types["FCC"].fast_lane and not types["FCC"].overrides_stay_limit
    assert types["SEASONAL"].employer_required
    # Evidence decides the LSP category: one of the three groups is needed.
    assert lsp.evidence.missing(["passport"]) == [
        "'population_register'",
        "'police_clearance_ls'",
        "'police_clearance_za'",
        "one of: employer_affidavit or tax_registration+company_registration or "
        "institution_registration",
    ]
    complete = ["passport", "population_register", "police_clearance_ls", "police_clearance_za"]
    assert lsp.evidence.missing([*complete, "tax_registration"])[-1].startswith("one of")
    assert lsp.evidence.missing([*complete, "tax_registration", "company_registration"]) == []


def test_validity_is_capped_by_programme_end() -> None:
    lep = dom.permit_type("lep")
    assert lep.validity(date(2024, 2, 1)) == (date(2024, 2, 1), date(2027, 5, 28))
    study = dom.permit_type("STUDY")
    assert study.validity(date(2026, 1, 1)) == (date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(PermitRuleError, match="programme ended on 2019-12-31"):
        dom.permit_type("LSP").validity(date(2020, 1, 2))
    with pytest.raises(dom.UnknownPermitType, match="unknown permit type 'XYZ': known types are"):
        dom.permit_type("XYZ")


def test_expiry_status_from_dates() -> None:
    start, end = date(2026, 1, 1), date(2026, 6, 30)
    assert dom.expiry_status("issued", start, end, date(2026, 7, 1)).status is S.EXPIRED
    state = dom.expiry_status("issued", start, end, end - timedelta(days=45))
    assert (state.status, state.days_left, state.band) == (S.ISSUED, 45, 60)
    assert dom.expiry_status("issued", start, end, end).band == 30
    assert dom.expiry_status("issued", start, end, end - timedelta(days=91)).band is None
    assert dom.expiry_status("revoked", start, end, date(2026, 7, 1)).status is S.REVOKED
    assert dom.is_valid_on("issued", start, end, end)
    assert not dom.is_valid_on("issued", start, end, end + timedelta(days=1))
    assert not dom.is_valid_on("suspended", start, end, start)


def test_renewal_rules() -> None:
    study = dom.permit_type("STUDY")
    end = date(2026, 12, 31)
    dom.check_renewal(study, "issued", end, end - timedelta(days=90))
    dom.check_renewal(study, "issued", end, end + timedelta(days=10))  # expired: still renewable
    with pytest.raises(PermitRuleError, match=r"renewal opens 90 days before .* on 2026-10-02"):
        dom.check_renewal(study, "issued", end, end - timedelta(days=91))
    with pytest.raises(PermitRuleError, match="only an issued or expired permit"):
        dom.check_renewal(study, "revoked", end, end)
    with pytest.raises(PermitRuleError, match="not renewable"):
        dom.check_renewal(dom.permit_type("LEP"), "issued", date(2027, 5, 28), date(2027, 5, 1))


def test_document_problems() -> None:
    today = date(2026, 3, 1)
    ok = dom.document_problems(status="valid", expiry_date=date(2027, 1, 1), today=today)
    assert ok == []
    assert dom.document_problems(status="stolen", expiry_date=date(2027, 1, 1), today=today) == [
        "the document is recorded as stolen"
    ]
    assert dom.document_problems(status="valid", expiry_date=date(2026, 2, 28), today=today) == [
        "the document expired on 2026-02-28"
    ]
    (short,) = dom.document_problems(
        status="valid", expiry_date=date(2026, 5, 1), today=today, min_valid_days=120
    )
    assert "at least 120 days" in short and "until 2026-06-29" in short


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[types.X]\nname='x'\ncountries=['ZAF']\nrights=['fly']\nvalidity_days=1",
            "unknown right",
        ),
        ("[types.X]\nname='x'\ncountries=['ZAF']\nrights=['work']", "needs validity_days"),
        ("[types.X]\ncountries=['ZAF']\nrights=['work']\nvalidity_days=1", "missing field 'name'"),
        (
            "[types.X]\nname='x'\ncountries=['ZAF']\nrights=['work']\nvalid_until='soon'",
            "permit type X.valid_until: expected a date",
        ),
        (
            "[types.X]\nname='x'\ncountries=['ZAF']\nrights=['work']\nvalidity_days=1\n"
            "requires_prior=['Y']",
            "refers to unknown 'Y'",
        ),
        ("[types.X]\nname='x'\ncountries=['ZAF']\nrights=['work']\nvalidity_days=1\nfee=3", "fee"),
        ("types = [", "not valid TOML"),
    ],
)
def test_malformed_type_table_names_the_type_and_field(text: str, message: str) -> None:
    with pytest.raises(PermitTypeFileError, match=message):
        dom.load_permit_types(text)
