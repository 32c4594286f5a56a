"""Security at the border in Chromium against a real server (the Lesotho node, Maseru Bridge):
an officer refuses a traveller entry and gives the notice, in English and in Sesotho; a child
travelling alone is referred, with the documents Regulation 6(12) asks for listed."""

from __future__ import annotations

import re
from datetime import date

import pytest
from harness import sign_in
from playwright.sync_api import expect

from factories import passport

pytestmark = pytest.mark.browser


def _check(page, mrz: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Scan or paste the document's machine-readable zone (MRZ)").fill(mrz)
    page.get_by_role("button", name="Check", exact=True).click()


def test_officer_refuses_entry_and_gives_the_notice_in_english_and_sesotho(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "officer")
    page.goto("/console")
    _check(page, passport("RZ8880001", surname="VAN WYK", given="PIETER", nationality="ZAF"))
    expect(page.locator("#decision-word")).to_be_visible()
    page.get_by_role("link", name="Refuse entry").click()
    expect(page.get_by_role("heading", name="Refuse entry")).to_be_visible()
    page.get_by_label(re.compile("You have no valid visa or residence permit")).check()
    page.get_by_label("Remarks (kept here, not sent to the other country)").fill(
        "Says he comes to work; no permit."
    )
    page.get_by_role("button", name="Refuse entry and print the notice").click()
    expect(page).to_have_url(re.compile(r"/refusals/[0-9a-f-]+/notice\?lang=en$"))
    notice = page.locator("#refusal-notice")
    expect(notice.locator('[data-code="C"]')).to_contain_text(
        "You have no valid visa or residence permit."
    )
    expect(notice.locator("#notice-traveller")).to_contain_text("PIETER VAN WYK")
    expect(notice.locator("#notice-appeal")).not_to_be_empty()
    # The same notice in Sesotho, for the traveller to read.
    page.locator("#notice-other-language").click()
    expect(page).to_have_url(re.compile(r"lang=st$"))
    expect(page.locator("#refusal-notice")).to_have_attribute("lang", "st")
    expect(page.locator('#refusal-notice [data-code="C"]')).to_contain_text(
        "Ha u na visa kapa tumello ea ho lula e sebetsang."
    )


def test_a_child_travelling_alone_is_referred_with_the_documents_listed(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "officer")
    page.goto("/console")
    page.get_by_label("Scan or paste the document's machine-readable zone (MRZ)").fill(
        passport("RC4440001", surname="MOTAUNG", given="PALESA", birth=date(2015, 9, 1))
    )
    page.get_by_text("A child travelling?").click()
    page.locator("#scan-case-alone").check()
    page.locator("#scan-doc-birth_certificate").check()
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.locator("#decision-word")).to_have_text("REFER")
    alone = page.locator('[data-code="child.alone"]')
    expect(alone).to_contain_text("travelling alone")
    expect(alone).to_contain_text("not seen: parental consent affidavit")
    child = page.get_by_role("region", name=re.compile("A child travelling"))
    expect(child.locator('tr[data-case="alone"]')).to_contain_text(
        "letter from the adult receiving the child"
    )
    expect(child.locator("#child-case-alone")).to_be_checked()
    expect(child.locator("#child-doc-birth_certificate")).to_be_checked()
