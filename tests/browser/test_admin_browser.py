"""The administrator's day in Chromium against a real server: create an officer, find them,
change their role and port, disable them (confirmed) and see they cannot sign in, enable
them, reset their password; import a watchlist with bad rows and read the row errors; read
the audit log filtered by user and verify the chain. Every wait is Playwright's own
(``expect`` retries until the page shows what is asserted)."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from harness import PASSWORD, Site, sign_in
from playwright.sync_api import Page, expect

from tsela.services import accounts
from tsela.store.db import make_engine, session_factory, transaction
from tsela.store.models import Role

pytestmark = pytest.mark.browser

BAD_LIST = (
    "name,birth_date,nationality\n"
    "MOKOENA Thabo,1980-02-03,LSO\n"
    "NKOSI Sipho,not a date,ZAF\n"
    "LETSIE Mpho,1975-11-30,LSO\n"
)


@pytest.fixture(scope="module")
def with_admin(live_site: Site) -> Site:
    """An administrator in the site's database (cheap hash; the server re-hashes at sign-in)."""
    engine = make_engine(live_site.database_url)
    real = accounts.hasher
    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        with transaction(session_factory(engine)) as s:
            accounts.create_user(
                s,
                node="LS",
                username="root",
                password=PASSWORD,
                role=Role.ADMIN,
                full_name="Refiloe Admin",
            )
    finally:
        accounts.hasher = real
        engine.dispose()
    return live_site


def menu(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def test_the_administrator_manages_an_officer(new_page, with_admin: Site) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "root")
    menu(page, "Users")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()

    page.get_by_role("link", name="Create a user").click()
    page.get_by_label("Username").fill("thato")
    page.get_by_label("Full name").fill("Thato Mokhethi")
    page.get_by_label("Role", exact=True).select_option(label="Border officer")
    page.get_by_label("Port (border officers)").select_option("MSU")
    page.get_by_label("Password", exact=True).fill("first secret 1")
    page.get_by_label("The password again").fill("first secret 1")
    page.get_by_role("button", name="Create the user").click()
    expect(page.get_by_role("status")).to_have_text("The user has been created.")
    expect(page.get_by_role("heading", name="thato")).to_be_visible()

    # Found by part of the name.
    menu(page, "Users")
    page.get_by_label("Username or name contains").fill("mokheth")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("Users found: 1")
    row = page.get_by_role("row", name=re.compile("thato"))
    expect(row).to_contain_text("Border officer")
    expect(row).to_contain_text("MSU")
    row.get_by_role("link", name="thato").click()

    # Posted at Ficksburg Bridge instead.
    page.get_by_label("Port (border officers)").select_option("FKB")
    page.get_by_role("button", name="Save role and port").click()
    expect(page.get_by_role("status")).to_have_text("Role and port saved.")
    expect(page.get_by_role("definition").filter(has_text="FKB")).to_be_visible()
    # A supervisor works at no port.
    page.get_by_label("Role", exact=True).select_option(label="Supervisor")
    page.get_by_label("Port (border officers)").select_option(label="No port")
    page.get_by_role("button", name="Save role and port").click()
    expect(page.get_by_role("status")).to_have_text("Role and port saved.")
    expect(page.get_by_role("definition").filter(has_text="Supervisor")).to_be_visible()

    # Disabling asks first; going back changes nothing.
    page.get_by_role("link", name="Disable the account").click()
    expect(page.get_by_role("heading", name="Disable thato?")).to_be_visible()
    page.get_by_role("link", name="No, go back").click()
    expect(page.get_by_text("Active", exact=True)).to_be_visible()
    page.get_by_role("link", name="Disable the account").click()
    page.get_by_role("button", name="Yes, disable the account").click()
    expect(page.get_by_role("status")).to_contain_text("they can no longer sign in")
    expect(page.get_by_text("Disabled", exact=True)).to_be_visible()

    thato = new_page()
    sign_in(thato, "thato", "first secret 1")
    expect(thato.get_by_role("alert")).to_contain_text("Wrong username or password.")

    page.get_by_role("button", name="Enable the account").click()
    expect(page.get_by_role("status")).to_contain_text("they can sign in again")

    page.get_by_label("Password", exact=True).fill("second secret 2")
    page.get_by_label("The password again").fill("second secret 2")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("status")).to_contain_text("The password has been changed")
    expect(page.get_by_text("second secret 2")).to_have_count(0)  # never shown back
    expect(page).to_have_url(re.compile(r"/admin/users/[0-9a-f-]{36}\?done=password$"))

    sign_in(thato, "thato", "first secret 1")
    expect(thato.get_by_role("alert")).to_contain_text("Wrong username or password.")
    sign_in(thato, "thato", "second secret 2")
    expect(thato).to_have_url(re.compile(r"/review$"))  # a supervisor's start page

    # The log of what happened to thato, and the chain verified.
    menu(page, "Audit log")
    page.get_by_label("Who (username)").fill("thato")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"actor=thato"))
    entries = page.locator("table tbody")
    expect(entries).to_contain_text("login.ok")
    expect(entries).to_contain_text("login.failed")
    expect(entries.get_by_role("cell", name="root", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.get_by_role("heading", name="Verifying the audit log")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("The audit log is intact.")


def test_a_watchlist_import_shows_its_bad_rows(new_page, with_admin: Site) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "root")
    menu(page, "Watchlists")
    upload = {"name": "red-notices.csv", "mimeType": "text/csv", "buffer": BAD_LIST.encode()}
    page.get_by_label("List name").fill("browser-red")
    page.get_by_label("Category").select_option(label="Wanted")
    page.get_by_label("File", exact=True).set_input_files(upload)
    page.get_by_role("button", name="Import").click()

    # One row in three is bad: refused until confirmed, the bad row named by its line.
    expect(page.get_by_role("alert")).to_contain_text("Nothing was imported")
    bad = page.get_by_role("table", name="Bad rows")
    expect(bad.get_by_role("row", name=re.compile(r"^3 .*birth"))).to_be_visible()
    expect(page.get_by_label("List name")).to_have_value("browser-red")

    page.get_by_label("File", exact=True).set_input_files(upload)
    expect(page.get_by_label(re.compile("Replace the list anyway"))).to_be_checked()
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_contain_text(
        "List browser-red imported as version 1: 2 entries loaded"
    )
    left_out = page.get_by_role("table", name="Rows left out")
    expect(left_out.get_by_role("row", name=re.compile(r"^3 .*birth"))).to_be_visible()
    loaded = page.get_by_role("table").filter(has_text="browser-red")
    expect(loaded.get_by_role("row", name=re.compile("browser-red"))).to_contain_text("Wanted")
