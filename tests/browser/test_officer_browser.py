"""The border officer's console in Chromium (issue 21): the result of a check is a page of
its own, so reloading it or going Back and Forward checks nobody again; a refused scan keeps
what was typed; a traveller without a readable MRZ is registered from the particulars typed;
a traveller is found by name and date of birth and checked from the list."""

from __future__ import annotations

import re

import pytest
from harness import Site, sign_in
from playwright.sync_api import expect
from sqlalchemy import func, select

from factories import passport_lines

pytestmark = pytest.mark.browser

MRZ_LABEL = "Scan or paste the document's machine-readable zone (MRZ)"


def checks_kept(site: Site) -> int:
    from tsela.store.checks import BorderCheck
    from tsela.store.db import make_engine, session_factory

    engine = make_engine(site.database_url)
    try:
        with session_factory(engine)() as s:
            return s.scalar(select(func.count()).select_from(BorderCheck)) or 0
    finally:
        engine.dispose()


def test_reloading_a_result_or_going_back_checks_nobody_again(new_page, live_site: Site) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "officer")
    expect(page.get_by_label(MRZ_LABEL)).to_be_focused()
    for line in passport_lines("RK4440001", surname="NTSANE", given="LIMPHO"):
        page.keyboard.type(line)
        page.keyboard.press("Enter")
    expect(page.locator("#decision-word")).to_have_text("CLEAR")
    expect(page).to_have_url(re.compile(r"/console/checks/[0-9a-f-]{36}$"))
    result_url = page.url
    before = checks_kept(live_site)
    page.reload()  # a GET: no "Confirm form resubmission", nothing checked again
    expect(page.locator("#decision-word")).to_have_text("CLEAR")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/console$"))
    page.go_forward()
    expect(page).to_have_url(result_url)
    expect(page.get_by_text("LIMPHO NTSANE")).to_be_visible()
    assert checks_kept(live_site) == before
    # The record button still records from the page shown again.
    expect(page.get_by_role("button", name=re.compile("Record crossing"))).to_be_focused()
    page.keyboard.press("r")
    expect(page.get_by_role("status")).to_have_text(
        "Crossing recorded. Ready for the next traveller."
    )
    page.goto(result_url)
    expect(page.locator("#already-recorded")).to_be_visible()
    expect(page.locator("#record-form")).to_have_count(0)


def test_a_bad_scan_keeps_its_text_and_a_traveller_is_registered_by_hand(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "officer")
    box = page.get_by_label(MRZ_LABEL)
    expect(box).to_be_focused()
    page.keyboard.type("P<LSOTORN<PAGE<<")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("alert")).to_contain_text("unreadable MRZ")
    expect(page.get_by_label(MRZ_LABEL)).to_have_value("P<LSOTORN<PAGE<<")
    # No MRZ then: the document number, and the traveller's particulars as written.
    page.get_by_label(MRZ_LABEL).fill("")
    page.get_by_text("No MRZ? Type the document number").click()
    page.get_by_label("Document number", exact=True).fill("RK4440002")
    page.get_by_label("Issuing state (three letters, e.g. LSO)").fill("LSO")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("is not known here")
    expect(page.get_by_label("Document number", exact=True)).to_have_value(
        "RK4440002"
    )  # kept, and open
    page.get_by_label("Surname", exact=True).fill("Mokhothu")
    page.get_by_label("Given names", exact=True).fill("Thabiso")
    page.get_by_label("Nationality (three letters, e.g. LSO)").fill("LSO")
    page.get_by_label("Date of birth", exact=True).fill("1993-04-21")
    page.get_by_label("Sex", exact=True).select_option("M")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page).to_have_url(re.compile(r"/console/checks/[0-9a-f-]{36}$"))
    traveller = page.get_by_role("region", name="Traveller")
    expect(traveller).to_contain_text("THABISO MOKHOTHU")
    expect(traveller).to_contain_text("1993-04-21")
    # Found again by name and date of birth (in lower case), and checked from the list.
    page.goto("/console/search")
    page.get_by_label("Surname", exact=True).fill("mokhothu")
    page.get_by_label("Date of birth", exact=True).fill("1993-04-21")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/console/search$"))  # no name in the address
    found = page.locator("#found-table")
    expect(found).to_contain_text("THABISO MOKHOTHU")
    found.get_by_role("button", name="Check: exit").click()
    expect(page.locator("#decision-word")).to_be_visible()
    expect(page.get_by_role("region", name="Traveller")).to_contain_text("THABISO MOKHOTHU")
