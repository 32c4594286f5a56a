"""Helpers shared by the web page tests (TestClient) and the browser tests (Playwright)."""

from __future__ import annotations

import re
import uuid

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from tsela.kernel.actor import Actor
from tsela.services import accounts, employers
from tsela.store.db import session_factory, transaction
from tsela.store.models import Role


def use_fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: these tests are about pages, not the cost of guessing."""
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def add_employer(
    engine: Engine, *, name: str = "Maluti Orchards", reg: str = "2019/123456/07"
) -> uuid.UUID:
    with transaction(session_factory(engine)) as s:
        employer = employers.register_employer(
            s,
            Actor("setup", Role.ADMIN, "LS"),
            registration_number=reg,
            name=name,
            sector="agriculture",
            country="ZAF",
        )
        return employer.id
