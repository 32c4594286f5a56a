"""A real Tsela site for browser tests and screenshots: a SQLite database in a temporary
directory, the people who use it, a uvicorn server in its own process, and Debian's Chromium.

Used by ``tests/browser/conftest.py`` and ``scripts/screenshots.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from _server import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "tsela-demo-2026"


@dataclass(frozen=True)
class Site:
    url: str
    var_dir: Path
    database_url: str
    worker_person: uuid.UUID
    employer: uuid.UUID


CLOCK = "2026-06-15T09:00:00+02:00"


def site_env(var_dir: Path, node: str = "LS") -> dict[str, str]:
    return {
        **os.environ,
        "TSELA_DATABASE_URL": f"sqlite:///{var_dir / 'tsela.db'}",
        "TSELA_VAR_DIR": str(var_dir),
        "TSELA_NODE": node,
        "TSELA_COOKIE_SECURE": "0",  # plain http on localhost
        # The server's clock stands still on a fixed day, so that the passports and permits
        # made here are valid whatever day the tests run.
        "TSELA_CLOCK": CLOCK,
        # The fast lane's referrals at random, seeded: the first draws of seed 3 (0.24, 0.54,
        # 0.37, 0.60) are above the 5 % rate, so the first scans at the lane are not picked.
        "TSELA_FAST_LANE_SEED": "3",
    }


def prepare(var_dir: Path, *, persons: int = 0, node: str = "LS") -> tuple[uuid.UUID, uuid.UUID]:
    """Schema, ports, optionally a synthetic population, and one user per role.

    Returns the worker's person id and the employer's id.
    """
    env = site_env(var_dir, node)
    if persons:
        subprocess.run(
            [sys.executable, "-m", "tsela.cli.main", "synth", "--persons", str(persons),
             "--no-parquet", "--start", "2025-06-01"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
    from tsela.config import load_settings
    from tsela.kernel.actor import Actor
    from tsela.services import accounts, employers
    from tsela.services.setup import initialise
    from tsela.store.db import make_engine, session_factory, transaction
    from tsela.store.models import Person, Role, Sex, TravelDocument

    settings = load_settings(env)
    engine = make_engine(settings.url)
    initialise(settings, engine)
    # Cheap hashes to set up quickly; the server re-hashes with its own cost at first login.
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    real = accounts.hasher
    accounts.hasher = fast
    try:
        with transaction(session_factory(engine)) as s:
            worker = Person(
                node=node,
                primary_name="MOLAPO",
                given_names="PALESA",
                sex=Sex.FEMALE,
                birth_date=date(1994, 7, 9),
                nationality="LSO",
            )
            s.add(worker)
            s.flush()
            s.add(
                TravelDocument(
                    node=node,
                    person_id=worker.id,
                    document_type="P",
                    issuing_state="LSO",
                    number="RC1112223",
                    expiry_date=date(2031, 9, 30),
                )
            )
            employer = employers.register_employer(
                s,
                Actor("setup", Role.ADMIN, node),
                registration_number="2019/123456/07",
                name="Maluti Orchards (Pty) Ltd",
                sector="agriculture",
                country="ZAF",
            )
            people: list[tuple[str, Role, str | None, str, dict[str, Any]]] = [
                ("officer", Role.BORDER_OFFICER, "MSU", "Lerato Mokhele", {}),
                ("supervisor", Role.SUPERVISOR, None, "Thabo Letsie", {}),
                ("permits", Role.PERMIT_OFFICER, None, "Mpho Ramakau", {}),
                ("analyst", Role.ANALYST, None, "Nthabiseng Sello", {}),
                ("cases", Role.CASE_OFFICER, None, "Mamello Phiri", {}),
                ("palesa", Role.WORKER, None, "Palesa Molapo", {"person_id": worker.id}),
                ("orchard", Role.EMPLOYER, None, "Maluti Orchards", {"employer_id": employer.id}),
            ]
            for username, role, port, name, links in people:
                accounts.create_user(
                    s,
                    node=node,
                    username=username,
                    password=PASSWORD,
                    role=role,
                    port_code=port,
                    full_name=name,
                    **links,
                )
            ids = (worker.id, employer.id)
    finally:
        accounts.hasher = real
        engine.dispose()
    return ids


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"the Tsela server exited with {proc.returncode}:\n{out[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the Tsela server did not answer at {url} within {seconds:.0f} s")


@contextmanager
def serve(var_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run ``uvicorn`` on a free port in its own process; yields the base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tsela.api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=dict(env or site_env(var_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def site(var_dir: Path, *, persons: int = 0, node: str = "LS") -> Iterator[Site]:
    worker, employer = prepare(var_dir, persons=persons, node=node)
    env = site_env(var_dir, node)
    with serve(var_dir, env) as url:
        yield Site(url, var_dir, env["TSELA_DATABASE_URL"], worker, employer)


def sign_in(page, username: str, password: str = PASSWORD, lang: str = "") -> None:  # type: ignore[no-untyped-def]
    """Sign in through the form, by label, as a person would."""
    page.goto("/login" + (f"?lang={lang}" if lang else ""))
    user_label, pass_label, button = (
        ("Lebitso la mosebelisi", "Lentsoe la lekunutu", "Kena")
        if lang == "st"
        else ("Username", "Password", "Sign in")
    )
    page.get_by_label(user_label).fill(username)
    page.get_by_label(pass_label).fill(password)
    page.get_by_role("button", name=button, exact=True).click()
