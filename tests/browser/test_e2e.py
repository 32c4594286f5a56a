"""End to end in Chromium against a real server: the officer's keyboard-only check and record;
a worker applying in Sesotho, approved and issued at the desk, whose QR code an employer
verifies from a photo; a wrong password; a page refused to the wrong role."""

from __future__ import annotations

import re
from datetime import date

import pytest
from harness import sign_in
from playwright.sync_api import expect

from factories import passport_lines

pytestmark = pytest.mark.browser


def test_officer_signs_in_scans_sees_the_decision_and_records_by_keyboard(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto("/console")  # a stranger is sent to sign in first, then comes back
    expect(page).to_have_url(re.compile(r"/login\?next=/console$"))
    # Keyboard only: the username field has focus; Tab to the password; Enter signs in.
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("officer")
    page.keyboard.press("Tab")
    page.keyboard.type("tsela-demo-2026")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console$"))
    scan_box = page.get_by_label("Scan or paste the document's machine-readable zone (MRZ)")
    expect(scan_box).to_be_focused()
    # A scanner types each MRZ line followed by Enter; the complete MRZ submits itself.
    for line in passport_lines("RG5556667", surname="SEHLABAKA", given="RETSELISITSOE", sex="M"):
        page.keyboard.type(line)
        page.keyboard.press("Enter")
    decision = page.locator("#decision-word")
    expect(decision).to_have_text("CLEAR")
    expect(page.locator("#decision")).to_have_class(re.compile("tone-ok"))
    expect(page.get_by_text("RETSELISITSOE SEHLABAKA")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Record crossing"))).to_be_focused()
    page.keyboard.press("r")
    expect(page.get_by_role("status")).to_have_text(
        "Crossing recorded. Ready for the next traveller."
    )
    expect(scan_box).to_be_focused()  # ready for the next traveller
    # Scanning the same passport again now shows the crossing just recorded.
    for line in passport_lines("RG5556667", surname="SEHLABAKA", given="RETSELISITSOE", sex="M"):
        page.keyboard.type(line)
        page.keyboard.press("Enter")
    recent = page.get_by_role("region", name="Recent crossings")
    expect(recent.get_by_role("row")).to_have_count(2)  # header + the crossing
    expect(recent).to_contain_text("Maseru Bridge")


def test_worker_applies_in_sesotho_officer_issues_employer_verifies_the_qr(new_page) -> None:  # type: ignore[no-untyped-def]
    worker = new_page()
    sign_in(worker, "palesa", lang="st")
    expect(worker.get_by_role("heading", name="Litumello tsa ka")).to_be_visible()
    worker.get_by_role("link", name="Kopa tumello").click()
    worker.get_by_label("Tumello ea ho ithuta ka mose ho moeli").check()
    worker.get_by_role("button", name="Tsoela pele").click()
    worker.get_by_label("Naha eo u tla sebelisa tumello ho eona").select_option("ZAF")
    worker.get_by_label("Phasepoto").fill("RC1112223")
    worker.get_by_label("Ngoliso sekolong kapa univesithing").fill("NUL-2026-0042")
    worker.get_by_label("Bopaki ba chelete").fill("Lengolo la bursary")
    worker.get_by_role("button", name="Romela kopo").click()
    expect(worker.get_by_role("status")).to_have_text(
        "Kopo ea hao e rometsoe. U tla bona qeto mona."
    )
    number = worker.locator("dl.facts dd").first.inner_text()

    officer = new_page()
    sign_in(officer, "permits")
    expect(officer).to_have_url(re.compile(r"/desk$"))
    officer.get_by_role("link", name=number).click()
    expect(officer.get_by_text("NUL-2026-0042")).to_be_visible()
    officer.get_by_role("button", name="Approve").click()
    expect(officer.get_by_role("status")).to_have_text("The decision is recorded.")
    officer.get_by_role("button", name="Issue the signed permit").click()
    expect(officer.get_by_role("status")).to_have_text("The permit is issued and signed.")

    worker.reload()
    qr = worker.get_by_role("img", name=f"Khoutu ea QR ea tumello {number}")
    expect(qr).to_be_visible()
    photo = qr.screenshot()  # what the worker shows on their phone

    employer = new_page()
    sign_in(employer, "orchard")
    employer.get_by_role("link", name="Verify a permit").first.click()
    employer.get_by_label("…or a photo of the QR code").set_input_files(
        files=[{"name": "permit.png", "mimeType": "image/png", "buffer": photo}]
    )
    employer.get_by_role("button", name="Verify").click()
    verdict = employer.locator(".verdict-word")
    expect(verdict).to_have_text("VALID")
    expect(employer.get_by_text("This permit is genuine and valid today.")).to_be_visible()
    expect(employer.locator("dl.facts")).to_contain_text("MOLAPO, PALESA")


def test_a_wrong_password_keeps_the_user_out(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "supervisor", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/review")
    expect(page).to_have_url(re.compile(r"/login\?next=/review$"))


def test_a_page_of_another_role_is_refused(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "palesa")
    expect(page).to_have_url(re.compile(r"/me$"))
    response = page.goto("/desk")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("Your role may not open this page.")).to_be_visible()
    # The worker's navigation offers only the worker's pages.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Home", "My permits", "Fast lane"])


def test_officer_overrides_a_deny_from_the_keyboard(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "officer")
    # Like a scanner, start only once the scan box has its focus (autofocus after the page loads).
    expect(
        page.get_by_label("Scan or paste the document's machine-readable zone (MRZ)")
    ).to_be_focused()
    # A South African on an expired passport (a Mosotho coming home would be referred).
    expired = passport_lines(
        "RJ7778889",
        surname="MAKHETHA",
        given="TSEPANG",
        expiry=date(2024, 1, 31),
        sex="M",
        nationality="ZAF",
        issuing_state="ZAF",
    )
    for line in expired:
        page.keyboard.type(line)
        page.keyboard.press("Enter")
    expect(page.locator("#decision-word")).to_have_text("DENY")
    expect(page.locator("#decision")).to_be_focused()  # the reasons are read first
    expect(page.locator("#decision")).to_contain_text("The document expired on 2024-01-31")
    page.keyboard.press("r")
    reason = page.get_by_label("Override: why let this traveller cross anyway?")
    expect(reason).to_be_focused()
    page.keyboard.type("Returning citizen; ID card checked.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status")).to_have_text(
        "Crossing recorded with your override. A supervisor will review it."
    )
