"""The governance pages in Chromium against a real server: a Home Affairs focal person reviews
the BNC commitments (road-map chart drawn), is refused a done without a note, records
progress; a stranger reads the public view."""

from __future__ import annotations

import re

import pytest
from harness import Site, sign_in
from playwright.sync_api import expect

from tsela.kernel import clock
from tsela.services import governance as g
from tsela.services import governance_import as gi
from tsela.store.db import make_engine, session_factory, transaction

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plans(live_site: Site) -> Site:
    """The example plan in the site's database; the analyst speaks for Home Affairs (LS)."""
    engine = make_engine(live_site.database_url)
    actor = g.operator("browser-test", "LS")
    with transaction(session_factory(engine)) as s:
        g.load_bodies(s, actor, "LS")
        rows = gi.read_csv_text(gi.example_plan_text(), gi.PLAN_COLUMNS, "example")
        assert gi.import_plan(s, actor, "LS", rows, clock.now(), "example").errors == []
        g.set_public(s, actor, "LS", "instrument", "EX-BNC-2025", True)
        g.bind_member(s, actor, "LS", "analyst", "LS-HOME")
    engine.dispose()
    return live_site


def test_a_focal_person_reviews_and_records_progress(new_page, plans: Site) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, "analyst")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Governance").click()
    expect(page.get_by_role("heading", name="Review before a session")).to_be_visible()
    page.get_by_label("Body", exact=True).select_option("BNC")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/governance\?body=BNC"))
    chart = page.get_by_role("img", name=re.compile("Road-map of EXAMPLE: Outcomes"))
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth > 300")
    late = page.locator("table", has=page.locator("caption", has_text=re.compile(r"^Late")))
    expect(late).to_contain_text("EX-BNC-B1.1")  # due 30 April 2026, owned by ZA-DHA
    expect(late).to_contain_text("ZA-DHA")

    page.get_by_role("link", name="EX-BNC-B2.2").click()
    expect(page.get_by_role("heading", name=re.compile("EX-BNC-B2.2"))).to_be_visible()
    page.get_by_label("New status").select_option("done")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("alert")).to_contain_text("needs a note saying why")
    page.get_by_label("New status").select_option("done")
    page.get_by_label("Note").fill("Procedure signed by both ministers")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("status")).to_have_text("Progress recorded.")
    expect(page.get_by_text("Procedure signed by both ministers")).to_be_visible()

    # Another body's activity has no form.
    page.goto("/governance/activity/EX-BNC-B1.1")
    expect(page.get_by_role("button", name="Record")).to_have_count(0)


def test_a_stranger_reads_the_public_view(new_page, plans: Site) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto("/governance/public")
    expect(
        page.get_by_role("heading", name="EXAMPLE: Outcomes of the second BNC session")
    ).to_be_visible()
    expect(
        page.get_by_text("Draft a joint migration model for the movement of people")
    ).to_be_visible()
    expect(page.get_by_text("drafting team not yet constituted")).to_have_count(
        0
    )  # notes stay private
    page.goto("/governance")
    expect(page).to_have_url(re.compile(r"/login\?next=/governance$"))
