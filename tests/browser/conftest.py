"""Browser tests: a real server process and Debian's Chromium driven by Playwright.

Skipped when /usr/bin/chromium is missing, except under CI (CI=true), where that fails the
run (``.ci/run`` installs it). Never ``playwright install``: we use the system browser.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import CHROMIUM, CHROMIUM_ARGS, Site, site

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install chromium"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_chromium()
    with site(tmp_path_factory.mktemp("site")) as running:
        yield running


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    # A loaded CI machine and argon2 sign-ins can take seconds; wait rather than flake.
    expect.set_options(timeout=20_000)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, live_site: Site):  # type: ignore[no-untyped-def]
    """``new_page()`` -> a page in a fresh browser context (its own cookies), English."""
    contexts = []

    def make(locale: str = "en-GB"):  # type: ignore[no-untyped-def]
        context = chromium.new_context(base_url=live_site.url, locale=locale)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
