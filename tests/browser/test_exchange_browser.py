"""The exchange page in Chromium against a real server: a supervisor follows the navigation to
it, sees the lag alert, the refusal, the crossings with no counterpart and the batches
received (paged), in English and in Sesotho; a border officer is offered no link and is
refused the page.

The data are real records of a Lesotho store (its own site, SQLite): South Africa's
crossings, recorded in a second database, arrived in signed batches (one record each) two
hours before the server's clock (which stands still, ``TSELA_CLOCK``), and a later pull was
refused (``_exchange_ops``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from harness import Site, prepare, serve, sign_in, site_env
from playwright.sync_api import expect

from _exchange_ops import operations_data
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate

pytestmark = pytest.mark.browser

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)  # the server's clock stands here (TSELA_CLOCK)


@pytest.fixture(scope="module")
def exchange_site(tmp_path_factory: pytest.TempPathFactory, chromium: object) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("exchange-site")
    var = tmp / "ls"
    worker, employer = prepare(var)
    env = site_env(var)
    ls = make_engine(env["TSELA_DATABASE_URL"])
    za = make_engine(f"sqlite:///{tmp / 'za.db'}")
    migrate(za)
    seed_ports(za, "ZA")
    operations_data(ls, za, tmp / "nodes", NOW, filler=21)  # 23 batches
    ls.dispose()
    za.dispose()
    with serve(var, {**env, "TSELA_CLOCK": NOW.isoformat()}) as url:
        yield Site(url, var, env["TSELA_DATABASE_URL"], worker, employer)


@pytest.fixture
def page_at(chromium, exchange_site: Site):  # type: ignore[no-untyped-def]
    contexts = []

    def make():  # type: ignore[no-untyped-def]
        context = chromium.new_context(base_url=exchange_site.url, locale="en-GB")
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def test_a_supervisor_reads_the_exchange_page(page_at) -> None:  # type: ignore[no-untyped-def]
    page = page_at()
    sign_in(page, "supervisor")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exchange").click()
    expect(page.get_by_role("heading", name="Exchange with the partner node")).to_be_visible()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Lag alert")
    expect(alert).to_contain_text("node ZA arrive 7200 seconds late")
    partners = page.locator("#partners")
    expect(partners.get_by_role("row")).to_have_count(2)  # header + ZA
    expect(partners).to_contain_text("ZA")
    expect(partners).to_contain_text("Alert")
    expect(page.locator("#refused")).to_contain_text(
        "The partner's trust anchor has expired: its operator must send a new one."
    )
    counts = page.locator("ul.counts")
    expect(counts).to_contain_text("Exits with no entry after the window: 1")
    expect(counts).to_contain_text("Entries with no exit after the window: 1")
    expect(counts).to_contain_text("Still within the window: 1")
    expect(counts).to_contain_text("Matched: 1")
    batches = page.locator("#batches tbody tr")
    expect(batches).to_have_count(20)
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(batches).to_have_count(3)
    # the counts keep their place while the batches page on
    expect(counts).to_contain_text("Exits with no entry after the window: 1")
    page.get_by_role("link", name="Sesotho").click()
    expect(page.get_by_role("heading", name="Phapanyetsano le naha e 'ngoe")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Temoso ea tieho")
    expect(page.locator("ul.counts")).to_contain_text(
        "Ho tsoa ho se nang ho kena ka mor'a nako e lumelloang: 1"
    )


def test_a_border_officer_has_no_exchange_page(page_at) -> None:  # type: ignore[no-untyped-def]
    page = page_at()
    sign_in(page, "officer")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Border console")).to_be_visible()
    expect(nav.get_by_role("link", name="Exchange")).to_have_count(0)
    answer = page.goto("/exchange")
    assert answer is not None and answer.status == 403
