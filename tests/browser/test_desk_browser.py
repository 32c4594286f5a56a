"""The permit officer's day with an issued permit, in Chromium against a real server: find
it by the holder's name, suspend and reinstate it, be told in words what is missing, extend
it, end the employment, open its renewal, and revoke it only after saying yes on a second
page. Every wait is Playwright's own (``expect`` retries until the page shows it)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from harness import Site, sign_in
from playwright.sync_api import Page, expect
from sqlalchemy import update

from tsela.kernel.actor import Actor
from tsela.services import permits as svc
from tsela.services.keys import KeyStore
from tsela.store.db import make_engine, session_factory, transaction
from tsela.store.models import Permit, Role

pytestmark = pytest.mark.browser

TODAY = date(2026, 6, 15)  # the server's clock (harness.CLOCK)


@pytest.fixture(scope="module")
def issued(live_site: Site) -> uuid.UUID:
    """An issued seasonal permit for the site's employer, ending in 20 days (as if issued
    long ago), so that it can be renewed and extended."""
    engine = make_engine(live_site.database_url)
    office = Actor("setup", Role.PERMIT_OFFICER, "LS")
    try:
        with transaction(session_factory(engine)) as s:
            permit = svc.apply(
                s,
                office,
                type_code="SEASONAL",
                today=TODAY,
                applicant=svc.Applicant(
                    surname="NTSANE",
                    given_names="LINEO",
                    birth_date=date(1995, 3, 4),
                    nationality="LSO",
                    document_number="RA8800001",
                    document_expiry=date(2031, 1, 1),
                ),
                employer=live_site.employer,
                country="ZAF",
                evidence=[
                    svc.EvidenceItem("passport", "RA8800001"),
                    svc.EvidenceItem("employment_contract", "MO-2026-77"),
                ],
            )
            svc.submit(s, office, permit.id, TODAY)
            svc.decide(s, office, permit.id, "approved")
            signer = KeyStore(live_site.var_dir, "LS").signer(
                svc.load_permit(s, permit.id).created_at
            )
            svc.issue(s, office, permit.id, signer, TODAY)
            pid = permit.id
        with transaction(session_factory(engine)) as s:
            s.execute(
                update(Permit)
                .where(Permit.id == pid)
                .values(valid_from=TODAY - timedelta(days=200), valid_to=TODAY + timedelta(days=20))
            )
    finally:
        engine.dispose()
    return pid


def decide(page: Page, button: str, reason: str) -> None:
    page.get_by_label("Reason", exact=True).fill(reason)
    page.get_by_role("button", name=button, exact=True).click()


def test_the_permit_officer_manages_an_issued_permit(new_page, issued: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "permits")
    page.get_by_label("Permit number or holder's name").fill("ntsane")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("1 found.")
    page.get_by_role("row", name="NTSANE, LINEO").get_by_role("link").click()
    expect(page.locator("dl.facts")).to_contain_text("NTSANE, LINEO")
    permit_url = page.url

    # A reason is needed to suspend: said in words, not in internal states.
    decide(page, "Suspend", "")
    expect(page.get_by_role("alert")).to_contain_text(
        "Give a reason: the applicant or holder will see it."
    )
    expect(page.get_by_role("alert")).not_to_contain_text("->")
    decide(page, "Suspend", "Absent from work for three weeks.")
    expect(page.get_by_role("status")).to_have_text("The decision is recorded.")
    expect(page.locator("dl.facts")).to_contain_text("Suspended")
    decide(page, "Reinstate", "Back at work.")
    expect(page.get_by_role("status")).to_have_text("The decision is recorded.")

    page.get_by_role("button", name="Extend to the programme's end").click()
    expect(page.get_by_role("status")).to_contain_text("The permit is extended")

    page.get_by_label("Why the employment ended").fill("Season over")
    page.get_by_role("button", name="Record the end of the employment").click()
    expect(page.get_by_role("status")).to_have_text("The end of the employment is recorded.")
    expect(page.get_by_role("heading", name="End the employment")).to_have_count(0)

    # Revoking asks once more; "No" changes nothing.
    decide(page, "Revoke", "The contract was false.")
    expect(page.get_by_role("heading", name="Revoke permit")).to_be_visible()
    page.get_by_role("link", name="No, go back").click()
    expect(page.locator("dl.facts")).to_contain_text("Issued")
    decide(page, "Revoke", "The contract was false.")
    page.get_by_role("button", name="Yes, revoke it").click()
    expect(page.get_by_role("status")).to_have_text("The decision is recorded.")
    expect(page.locator("dl.facts")).to_contain_text("Revoked")
    expect(page.get_by_role("button", name="Suspend")).to_have_count(0)
    assert page.url == permit_url + "?done=decided"


def test_the_desk_queue_and_the_expiring_lists(new_page, issued: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "permits")
    page.get_by_role("link", name="within 30 days").first.click()
    expect(page.get_by_role("heading", name="Permits ending within 30 days")).to_be_visible()
