"""The catalogue of border-check reasons: one severity and words in English and Sesotho for
every code, the severity taken from it (never from the words), and the words said in the
reader's language."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tsela.domain import decisions as dec
from tsela.domain import reasons
from tsela.domain.reasons import CatalogueError, Severity, reason, words
from tsela.kernel.actor import Actor
from tsela.services import employers as emp
from tsela.services import permits as svc
from tsela.services.keys import KeyStore
from tsela.store.db import session_factory
from tsela.store.models import Role

SRC = Path(__file__).resolve().parents[1] / "src" / "tsela"


def test_every_code_has_a_severity_and_words_in_both_languages() -> None:
    texts = reasons.catalogue().texts
    # 23 codes (5 of them with cases of their own), 2 more cases (a citizen's expired
    # passport, a wanted person), the 6 codes of a partner's reports, 5 for children,
    # the 8 cases of a pre-arrival declaration presented at a check (accepted, refused 7 ways)
    # the 11 of a permit shown at the desk (accepted, set aside 10 ways) and the 10 of the
    # fast lane (a member, a referral at random, a card set aside 8 ways), and the 4 of a linked
    # identity (two passports; another record's ban, watchlist hit or overstay), and the 8 of
    # the risk rules (4 rules, each referring or informing)
    assert len(texts) == 82
    for (code, variant), text in texts.items():
        assert text.severity in Severity, code
        assert set(text.words) == {"en", "st"}, code
        assert text.words["en"] != text.words["st"], (code, variant)


def test_every_code_the_code_gives_is_in_the_catalogue() -> None:
    """Codes written in the source (``reason("...")``) are the catalogue's codes, and every
    code of the catalogue is given somewhere."""
    given: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text("utf-8")
        given |= set(re.findall(r'(?:reason\(\s*f?|\bcode = )"([a-z_]+\.[a-z_.{}]+)"', text))
    expanded = set()
    for code in given:
        if code == "document.{status}":
            expanded |= {"document.lost", "document.stolen", "document.revoked"}
        elif code == "stay.partner_record.{implied}":
            expanded |= {"stay.partner_record.entry", "stay.partner_record.exit"}
        else:
            expanded.add(code)
    # a partner's reports: built by decisions.partner_alert_code from status and node
    from tsela.domain.decisions import PARTNER_ALERT_CODES

    expanded |= set(PARTNER_ALERT_CODES)
    # a risk rule's hit: the code the rules file names (reference/risk_rules.toml)
    from tsela.domain import risk

    expanded |= {rule.reason for rule in risk.rules().rules.values()}
    assert expanded == {code for code, _ in reasons.catalogue().texts}


def test_the_severity_comes_from_the_code_and_its_case() -> None:
    assert reason("document.expired", expiry="2024-01-31").severity is Severity.DENY
    assert reason("document.expired", "exit", expiry="2024-01-31").severity is Severity.REFER
    facts = {"permit": "Lesotho Exemption Permit LEP-1", "day": "2026-01-02", "why": "fraud"}
    assert reason("permit.problem", "revoked", **facts).severity is Severity.REFER
    assert reason("permit.problem", "suspended", **facts).severity is Severity.REFER
    assert reason("permit.problem", "expired", permit="P", day="2026-01-02").severity is (
        Severity.INFO
    )
    with pytest.raises(CatalogueError, match=r"no reason permit\.problem"):
        reason("permit.problem", permit="P")  # only in one of its cases
    with pytest.raises(CatalogueError, match="facts missing: expiry"):
        reason("document.expired")


def test_words_in_english_and_sesotho_with_optional_parts_and_terms() -> None:
    stolen = reason("document.stolen", source=None)
    assert stolen.message == ("This document is reported stolen: hold it and refer the traveller.")
    sourced = reason("document.stolen", source="Interpol SLTD")
    assert sourced.message.startswith("This document is reported stolen (Interpol SLTD): ")
    assert words(sourced, "st") == (
        "Tokomane ena e tlalehiloe e utsoitsoe (Interpol SLTD): e tšoare 'me u romele moeti "
        "tlhahlobong ea bobeli."
    )
    citizen = reason("stay.citizen", country="ZAF")
    assert citizen.message == "Citizen of South Africa: no limit on stay."
    assert words(citizen, "st") == "Moahi oa Afrika Boroa: ha ho moeli oa matsatsi a ho lula."
    assert words(citizen.as_dict(), "st") == words(citizen, "st")  # as the API and database keep it
    one = reason("stay.overstay", "one", days=1, rule="ZA-LSO-30", version="2016")
    assert one.message == "Overstayed by 1 day under rule ZA-LSO-30 (2016)."
    hit = dec.watchlist_reasons(
        [dec.WatchlistFinding("Wanted persons", "trafficking", 0.93, True, "X Y", "name 0.95")]
    )[0]
    assert "lehlatsipa la khoebo ea batho" in words(hit, "st")
    assert "victim of trafficking" in hit.message


def test_a_reason_kept_as_words_only_is_said_as_written() -> None:
    kept = {"code": "permit.problem", "severity": "refer", "message": "Permit X was revoked."}
    assert words(kept, "st") == "Permit X was revoked."
    assert reasons.language_of(kept, "st") == "en"
    unknown = {"code": "gone.code", "severity": "info", "message": "m", "params": {}}
    assert words(unknown, "st") == "m"


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ('[reasons."a.b"]\nseverity = "info"\nen = "x {n}"\n', "missing st"),
        ('[reasons."a.b"]\nseverity = "info"\nen = "x {n}"\nst = "y"\n', "other facts"),
        ('[reasons."a.b"]\nseverity = "loud"\nen = "x"\nst = "y"\n', "severity 'loud'"),
        ('[reasons."a.b"]\nseverity = "info"\n', "no words"),
        ('[reasons."a.b"]\nseverity = "info"\nen = "x"\nst = "y"\nterms = {n = "g"}\n', "terms"),
    ],
)
def test_a_wrong_catalogue_is_refused_with_the_problem(toml: str, problem: str) -> None:
    with pytest.raises(CatalogueError, match=re.escape(problem)):
        reasons.parse(toml)


def test_the_permit_findings_severity_does_not_depend_on_their_words(
    engine: Engine, tmp_path: Path
) -> None:
    """An ended employment whose reason says "was revoked" stays information: the severity
    is the case's (the check once looked for " was revoked" in the English words)."""
    officer = Actor("officer", Role.PERMIT_OFFICER, "LS")
    today = date(2026, 3, 2)
    keys = KeyStore(tmp_path / "var", "LS")
    with session_factory(engine)() as s:
        farm = emp.register_employer(
            s, officer, registration_number="2019/123456/07", name="Ficksburg Cherry Farms",
            sector="Agriculture",
        )  # fmt: skip
        permit = _issued_seasonal(s, officer, farm.id, keys, today)
        svc.end_employment(s, officer, permit.number, today, "the contract was revoked")
        valid, found = svc.permits_at_border(s, permit.person_id, today)
        assert [v.number for v in valid] == [permit.number]
        (ended,) = found
        assert (ended.code, ended.variant, ended.severity) == (
            "permit.problem",
            "employment_ended",
            Severity.INFO,
        )
        assert ended.message.endswith("ended on 2026-03-02 (the contract was revoked).")
        assert "mosebetsi le Ficksburg Cherry Farms o felile ka 2026-03-02" in words(ended, "st")
        svc.decide(s, officer, permit.number, "suspended", "police enquiry")
        _valid, (suspended,) = svc.permits_at_border(s, permit.person_id, today)
        assert (suspended.variant, suspended.severity) == ("suspended", Severity.REFER)
        assert suspended.params["why"] == "police enquiry"
        s.rollback()


def _issued_seasonal(s: Session, officer: Actor, employer: object, keys: KeyStore, today: date):  # type: ignore[no-untyped-def]
    permit = svc.apply(
        s,
        officer,
        type_code="SEASONAL",
        today=today,
        applicant=svc.Applicant(
            surname="Mokoena",
            given_names="Lineo",
            birth_date=date(1990, 3, 14),
            nationality="LSO",
            document_number="RA1234567",
            document_expiry=date(2030, 1, 31),
            sex="F",
        ),
        employer=employer,  # type: ignore[arg-type]
        evidence=[svc.EvidenceItem("passport"), svc.EvidenceItem("employment_contract")],
    )
    svc.submit(s, officer, permit.number, today)
    svc.decide(s, officer, permit.number, "approved")
    svc.issue(s, officer, permit.number, keys.signer(datetime.combine(today, time(8), UTC)), today)
    return permit
