"""Every demo login follows every same-origin link its pages offer and never meets a 4xx or
5xx: a link a role is shown must work for that role (issue: "every role's daily work in the
browser"). Runs on a small synthetic demo (SQLite; the pages' storage is tested on both back
ends elsewhere)."""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tsela.api.app import create_app
from tsela.config import Settings
from tsela.services.keys import KeyStore
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate
from tsela.synth.demo import DEMO_PASSWORD, ensure_demo_accounts, ensure_example_plan
from tsela.synth.generator import SynthConfig
from tsela.synth.run import synthesise
from web_support import csrf_of, use_fast_password_hashing

CFG = SynthConfig(persons=120, start=date(2026, 1, 1), end=date(2026, 4, 30), seed=5)
TODAY = CFG.end + timedelta(days=1)
PAGES_PER_ROLE = 60  # a bound, so the crawl ends; every kind of page is reached well before
SAME_SHAPE = 3  # pages of one shape (ids and numbers aside) visited per role
NEVER = ("/logout", "/static", "/static-docs")  # signing out ends the crawl; files are files


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)


def _shape(path: str) -> str:
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d+", "#", path)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Engine]]:
    tmp = tmp_path_factory.mktemp("crawl")
    engine = make_engine(f"sqlite:///{tmp / 'tsela.db'}")
    migrate(engine)
    seed_ports(engine, "LS")
    var = tmp / "var"
    synthesise(
        CFG,
        node="LS",
        engine=engine,
        extras_keys=KeyStore(var, "LS"),
        parquet_dir=var / "parquet",
        secret=b"c" * 32,
    )
    with pytest.MonkeyPatch.context() as mp:
        use_fast_password_hashing(mp)
        ensure_demo_accounts(engine, "LS", TODAY)
    ensure_example_plan(engine, "LS", datetime(2026, 5, 1, tzinfo=UTC))
    settings = Settings(engine.url.render_as_string(hide_password=False), "LS", var)
    yield settings, engine
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(
    "username",
    ["officer", "supervisor", "permits", "analyst", "secretariat", "admin", "worker", "employer"],
)
def test_every_link_a_role_is_shown_works(demo: tuple[Settings, Engine], username: str) -> None:
    settings, engine = demo
    with TestClient(create_app(settings, engine)) as client:
        page = client.get("/login")
        signed = client.post(
            "/login",
            data={
                "username": username,
                "password": DEMO_PASSWORD,
                "csrf_token": csrf_of(page.text),
            },
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        queue: deque[str] = deque([signed.headers["location"]])
        seen: set[str] = set()
        shapes: Counter[str] = Counter()
        broken: list[str] = []
        while queue and len(seen) < PAGES_PER_ROLE:
            url = queue.popleft()
            if url in seen:
                continue
            seen.add(url)
            got = client.get(url, headers={"Accept": "text/html"})
            if got.status_code >= 400:
                broken.append(f"{url} -> {got.status_code}")
                continue
            if not got.headers.get("content-type", "").startswith("text/html"):
                continue
            parser = _Links()
            parser.feed(got.text)
            for href in parser.links:
                target = urljoin(str(got.url), href)
                parts = urlsplit(target)
                if parts.netloc not in ("", "testserver") or parts.scheme not in ("", "http"):
                    continue
                local = parts.path + (f"?{parts.query}" if parts.query else "")
                if parts.path.startswith(NEVER) or local in seen:
                    continue
                shape = _shape(parts.path)
                if shapes[shape] >= SAME_SHAPE:
                    continue
                shapes[shape] += 1
                queue.append(local)
        assert len(seen) > 1, "the home page offered no links"
        assert not broken, f"{username} met broken links: {broken}"


def test_the_crawl_sees_a_broken_link(tmp_path: Path) -> None:
    """The crawler itself: a page linking to nowhere is reported (the test can fail)."""
    parser = _Links()
    parser.feed('<a href="/nowhere">x</a><a href="https://example.org/">y</a>')
    assert parser.links == ["/nowhere", "https://example.org/"]
    assert _shape("/desk/permits/0190e1c2-7b1a-7c3d-8e9f-0123456789ab") == "/desk/permits/#"
