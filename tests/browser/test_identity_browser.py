"""Identity review in Chromium against a real server (issue 17): a supervisor opens the queue
from the navigation, opens the most likely pair, reads each field's part in words, rejects
it with a note, and the pair leaves the queue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from harness import Site, sign_in
from playwright.sync_api import expect

from tsela.domain.values import Role
from tsela.kernel.actor import Actor
from tsela.services import identity
from tsela.store.db import make_engine, session_factory, transaction
from tsela.synth.identities import population, write

pytestmark = pytest.mark.browser

AT = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def resolved(live_site: Site) -> Site:
    """A small population with injected duplicates in the site's database, resolved."""
    engine = make_engine(live_site.database_url)
    try:
        with transaction(session_factory(engine)) as s:
            write(s, list(population(600, dup_share=0.15, seed=11)), AT)
        with transaction(session_factory(engine)) as s:
            identity.resolve(s, Actor("setup", Role.ADMIN, "LS"), train=True)
    finally:
        engine.dispose()
    return live_site


def test_a_supervisor_rejects_a_pair_and_it_leaves_the_queue(new_page, resolved: Site) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "supervisor")
    page.get_by_role("link", name="Identities").click()
    expect(page.get_by_role("heading", name="Identities to review")).to_be_visible()
    first = page.locator("#identity-queue tbody tr").first
    pair_id = first.get_attribute("data-pair")
    first.get_by_role("link", name="Compare").click()

    expect(page.get_by_role("heading", name="Compare two records")).to_be_visible()
    waterfall = page.locator("#waterfall")
    expect(waterfall.locator("li")).to_have_count(6)
    expect(waterfall.locator('li[data-field="birth_date"]')).to_contain_text("Birth date: ")
    expect(waterfall.locator('li[data-field="surname"]')).to_contain_text(
        "Surname: ", use_inner_text=True
    )
    expect(waterfall).to_contain_text("counts for (+")

    page.get_by_label("Note").fill("different mothers")
    page.get_by_role("button", name="Reject: two people").click()
    expect(page.locator("#done")).to_contain_text("Rejected: the pair will not be proposed")
    expect(page.locator(f'#identity-queue tr[data-pair="{pair_id}"]')).to_have_count(0)

    page.get_by_label("Status").select_option("rejected")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(f'#identity-queue tr[data-pair="{pair_id}"]')).to_have_count(1)
