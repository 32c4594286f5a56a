"""The fast lane in Chromium (issue 20, item 2): a worker applies in the portal, an officer
vets the application and records the interview, a supervisor approves it and the card is
issued, and one scan of the card at the lane answers CLEAR with the crossing recorded.

The worker is the harness's Palesa Molapo (passport LSO RC1112223) on Lesotho's node; the
site's draw for referrals at random is seeded (harness.site_env), so the scan is not picked.
"""

from __future__ import annotations

import re

import pytest
from harness import Site, sign_in
from playwright.sync_api import expect
from sqlalchemy import select

pytestmark = pytest.mark.browser


def recorded_crossings(site: Site) -> list[tuple[str, str]]:
    from tsela.store.db import make_engine, session_factory
    from tsela.store.models import Crossing

    engine = make_engine(site.database_url)
    try:
        with session_factory(engine)() as s:
            rows = s.execute(
                select(Crossing.direction, Crossing.decision)
                .where(Crossing.person_id == site.worker_person)
                .order_by(Crossing.id)
            ).all()
        return [(d.value, c.value) for d, c in rows]
    finally:
        engine.dispose()


def test_apply_vet_approve_and_cross_at_the_lane(new_page, live_site: Site) -> None:  # type: ignore[no-untyped-def]
    worker = new_page()
    sign_in(worker, "palesa")
    worker.get_by_role("link", name="Fast lane").click()
    expect(worker.get_by_label("The passport you cross with")).to_contain_text("LSO RC1112223")
    worker.get_by_label("I live on one side and work or study on the other").check()
    worker.get_by_label("The port where you usually cross").select_option("MSU")
    worker.get_by_label(re.compile("Tell us about your crossings")).fill(
        "I live in Maseru and study in Bloemfontein; I cross every weekend."
    )
    worker.get_by_role("button", name="Send the application").click()
    expect(worker.locator("#done")).to_have_text(
        "Your application has been sent. An officer will invite you to an interview."
    )
    expect(worker.locator("#membership-status")).to_have_text("Waiting for a decision")

    officer = new_page()
    sign_in(officer, "officer")
    officer.get_by_role("link", name="Fast-lane vetting").click()
    row = officer.get_by_role("row", name=re.compile("PALESA MOLAPO"))
    row.get_by_role("link").click()
    expect(officer.locator("#screening-clear")).to_have_text(
        "No watchlist hit, document alert or entry ban."
    )
    # An officer may vet but not decide.
    expect(officer.get_by_role("button", name="Approve and issue the card")).to_have_count(0)
    officer.get_by_label("satisfactory").check()
    officer.get_by_label("What the interview found").fill(
        "Student card and bursary letter seen; travels with her own passport."
    )
    officer.get_by_role("button", name="Record the interview").click()
    expect(officer.locator("#done")).to_have_text("The interview is recorded.")
    dossier = officer.url

    supervisor = new_page()
    sign_in(supervisor, "supervisor")
    supervisor.goto(dossier)
    supervisor.get_by_label(re.compile("Reason")).fill("Weekly commuter, clean record.")
    supervisor.get_by_role("button", name="Approve and issue the card").click()
    expect(supervisor.locator("#done")).to_have_text("Approved: the member's card is issued.")
    expect(supervisor.locator("#membership-status")).to_have_text("Member")

    worker.reload()
    expect(worker.locator("#membership-status")).to_have_text("Member")
    expect(
        worker.get_by_role("img", name=re.compile("QR code of fast-lane card FL-"))
    ).to_be_visible()
    card = worker.locator("#card-token").input_value()

    officer.get_by_role("link", name="Fast lane", exact=True).click()
    expect(officer.get_by_label("Scan the member's fast-lane card")).to_be_focused()
    officer.get_by_label("Scan the member's fast-lane card").fill(card)
    officer.get_by_role("button", name="Check the card").click()
    expect(officer.locator("#answer-word")).to_have_text("CLEAR")
    expect(officer).to_have_url(re.compile(r"/lane/scans/[0-9a-f-]{36}"))
    expect(officer.locator("#member")).to_contain_text("PALESA MOLAPO · FL-")
    expect(officer.locator("#recorded")).to_have_text("Crossing recorded.")
    # Ready for the next card.
    expect(officer.get_by_label("Scan the member's fast-lane card")).to_be_focused()
    assert recorded_crossings(live_site) == [("entry", "CLEAR")]
