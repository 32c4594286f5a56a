"""A trafficking case in Chromium against a real server (the Lesotho node, Maseru Bridge): the
border officer opens a case from a check with the indicators seen; the case officer takes it,
ticks one more indicator, refers it to the police and closes it."""

from __future__ import annotations

import re

import pytest
from harness import sign_in
from playwright.sync_api import expect

from factories import passport

pytestmark = pytest.mark.browser


def test_a_case_is_opened_from_a_check_referred_and_closed(new_page) -> None:  # type: ignore[no-untyped-def]
    desk = new_page()
    sign_in(desk, "officer")
    desk.goto("/console")
    desk.get_by_label("Scan or paste the document's machine-readable zone (MRZ)").fill(
        passport("RC5550001", surname="SEKHONYANA", given="MATSELISO", sex="F")
    )
    desk.get_by_role("button", name="Check", exact=True).click()
    expect(desk.locator("#decision-word")).to_be_visible()
    desk.get_by_role("link", name="Open a case").click()
    expect(desk.get_by_role("heading", name="Open a case")).to_be_visible()
    desk.get_by_label("Trafficking in persons").check()
    desk.get_by_label("Someone else speaks for the traveller").check()
    desk.get_by_label("The traveller's passport or identity document is held by someone").check()
    desk.get_by_label("What you saw (a note for the case officer)").fill(
        "A driver answers for her and keeps her passport."
    )
    desk.get_by_role("button", name="Open the case").click()
    expect(desk).to_have_url(re.compile(r"/console/checks/[0-9a-f-]+\?case=opened$"))
    expect(desk.locator("#case-opened")).to_be_visible()

    office = new_page()
    sign_in(office, "cases")
    office.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    row = office.locator("#case-list tbody tr", has_text="MATSELISO SEKHONYANA")
    expect(row).to_contain_text("Trafficking in persons")
    expect(row).to_contain_text("Nobody yet")
    row.get_by_role("link").click()
    expect(office.locator("#case-status")).to_have_text("Open")
    expect(office.get_by_label("Someone else speaks for the traveller")).to_be_checked()
    office.get_by_role("button", name="Take the case").click()
    expect(office.locator("#case-officer")).to_have_text("cases")
    office.get_by_label("The traveller shows fear or anxiety").check()
    office.get_by_role("button", name="Save the indicators").click()
    expect(office.get_by_label("The traveller shows fear or anxiety")).to_be_checked()
    office.locator("#agency-police").check()
    office.get_by_label("Referral note (optional)").fill("Handed to the LMPS at the bridge.")
    office.get_by_role("button", name="Refer", exact=True).click()
    expect(office.locator("#case-status")).to_have_text("Referred")
    expect(office.locator("#case-referrals")).to_have_text("Police")
    office.get_by_label("Outcome").select_option("victim_protected")
    office.get_by_label("Closing note").fill("Placed in a shelter; statement taken.")
    office.get_by_role("button", name="Close the case").click()
    expect(office.locator("#case-status")).to_have_text("Closed")
    expect(office.locator("#case-closed")).to_be_visible()
    kinds = office.locator("#case-events li")
    expect(kinds).to_have_count(5)  # opened, taken, indicators, referred, closed
    expect(office.locator('#case-events li[data-kind="referred"]')).to_contain_text(
        "Lesotho Mounted Police Service (LMPS)"
    )
    expect(office.locator('#case-events li[data-kind="closed"]')).to_contain_text(
        "Placed in a shelter; statement taken."
    )
