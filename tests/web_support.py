"""Helpers shared by the web page tests (TestClient) and the browser tests (Playwright)."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from tsela.domain.mrz import MrzFields, generate
from tsela.services import accounts, employers
from tsela.services.permits import Actor
from tsela.store.db import session_factory, transaction
from tsela.store.models import Person, Role, Sex, TravelDocument


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


def add_person(
    engine: Engine,
    *,
    surname: str = "MOKOENA",
    given: str = "LINEO",
    number: str = "RA1234567",
    nationality: str = "LSO",
    birth: date = date(1991, 3, 14),
    expiry: date = date(2031, 5, 1),
    sex: str = "F",
    node: str = "LS",
) -> uuid.UUID:
    """A traveller with a valid passport, as registered at a border or a permit office."""
    with transaction(session_factory(engine)) as s:
        person = Person(
            node=node,
            primary_name=surname,
            given_names=given,
            sex=Sex(sex),
            birth_date=birth,
            nationality=nationality,
        )
        s.add(person)
        s.flush()
        s.add(
            TravelDocument(
                node=node,
                person_id=person.id,
                document_type="P",
                issuing_state=nationality,
                number=number,
                expiry_date=expiry,
            )
        )
        return person.id


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


def passport_mrz(
    surname: str = "MOKOENA",
    given: str = "LINEO",
    number: str = "RA1234567",
    nationality: str = "LSO",
    birth: date = date(1991, 3, 14),
    expiry: date = date(2031, 5, 1),
    sex: str = "F",
) -> list[str]:
    return generate(
        MrzFields(
            format="TD3",
            document_type="P",
            issuing_state=nationality,
            surname=surname,
            given_names=given,
            document_number=number,
            nationality=nationality,
            birth_date=birth,
            expiry_date=expiry,
            sex=sex,
        )
    )
