"""The public wait-time pages on a phone, in Chromium against a real server (issue 20): the
demo's queue history and today's queue up to the site's clock (Monday 15 June 2026, 09:00
at the border), written by the demo's own writer. What the page shows is what the open data
says; the page fits the phone's width; a tap opens a port's quietest hours, in Sesotho too."""

from __future__ import annotations

from datetime import datetime

import pytest
from harness import CLOCK, Site
from playwright.sync_api import expect

from tsela.store.db import make_engine
from tsela.synth import queue_demo

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def with_queues(live_site: Site) -> Site:
    engine = make_engine(live_site.database_url)
    try:
        queue_demo.write(engine, "LS", datetime.fromisoformat(CLOCK))
    finally:
        engine.dispose()
    return live_site


def test_a_traveller_reads_the_wait_on_a_phone(chromium, with_queues: Site) -> None:  # type: ignore[no-untyped-def]
    context = chromium.new_context(base_url=with_queues.url, locale="en-GB", **PHONE)
    try:
        page = context.new_page()
        page.goto("/waits")
        expect(page.get_by_role("heading", name="Waiting times at the border")).to_be_visible()
        expect(page.locator("#waits-updated")).to_contain_text("Updated at 09:00")
        figures = page.request.get("/v1/waits").json()["ports"]
        msu = next(
            w
            for w in figures
            if (w["port_code"], w["direction"], w["lane"]) == ("MSU", "entry", "general")
        )
        card = page.locator("#wait-MSU-entry-general")
        minutes = msu["wait_minutes"]
        expect(card).to_contain_text(f"{minutes} min" if minutes else "No queue")
        expect(card).to_contain_text("Entering Lesotho")
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, "the page scrolls sideways on a phone"

        card.tap()
        expect(page.get_by_role("heading", name="Maseru Bridge")).to_be_visible()
        expect(page.get_by_text("The quietest hours on a Monday")).to_be_visible()
        history = page.request.get("/v1/waits/MSU/history").json()
        best = ", ".join(f"{h['hour']:02d}:00" for h in history["best_hours"])
        expect(page.locator("#best-hours")).to_have_text(best)
        expect(page.locator("#hour-waits tbody tr")).to_have_count(len(history["hours"]))

        page.get_by_role("link", name="Sesotho").click()
        expect(page.get_by_text("Lihora tse khutsitseng ka ho fetisisa ka Mantaha")).to_be_visible()
    finally:
        context.close()
