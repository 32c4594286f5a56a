"""Pre-arrival declarations (issue 20, item 3): what a traveller declares on a phone before
reaching the border, and the rules the answers must keep. Pure: no database, no clock.

A declaration is bound to one passport (its number, issuing state and the holder's birth
date), names the port and direction expected, the purpose (a code of
``reference/declaration_purposes.toml``), the address at destination, the expected length of
stay and the children travelling along. It serves one crossing within ``VALID_FOR`` of being
made; the QR code the traveller shows is a token signed by the node (``domain.credentials``)
naming only the declaration, its reference and its validity: no personal data.
"""

from __future__ import annotations

import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as default
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from tsela.domain import icao_codes as icao
from tsela.domain.credentials import utc_seconds
from tsela.domain.screening import normalise_document
from tsela.domain.screening.scoring import EARLIEST_BIRTH_YEAR

TYP = "tsela-declaration+jwt"
VALID_FOR = timedelta(hours=72)
MAX_STAY_DAYS = 365
MAX_CHILDREN = 10
ADULT_AGE = 18
MIN_ADDRESS, MAX_ADDRESS = 5, 300
MAX_NAME = 120
MAX_NUMBER = 20
# Reference letters: no I, L, O, U, 0 or 1, which are misread or misspoken when written down.
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
REFERENCE_LENGTH = 8  # 30**8 ≈ 6.6e11 references, written as XXXX-XXXX
MAX_TOKEN = 1024


@dataclass(frozen=True)
class Purpose:
    code: str
    words: Mapping[str, str]  # lang -> words


@cache
def purposes() -> dict[str, Purpose]:
    """The purposes, in the order the form lists them."""
    text = resources.files("tsela.reference").joinpath("declaration_purposes.toml").read_text()
    data = tomllib.loads(text)["purposes"]
    return {code: Purpose(code, {"en": v["en"], "st": v["st"]}) for code, v in data.items()}


@dataclass(frozen=True)
class Child:
    name: str
    birth_date: date


@dataclass(frozen=True)
class DeclarationInput:
    """What the traveller typed, read into values (dates that could not be read are None)."""

    document_number: str
    issuing_state: str
    birth_date: date | None
    port: str
    direction: str
    purpose: str
    address: str
    stay_days: int | None
    children: tuple[Child, ...] = ()


@dataclass(frozen=True)
class Problem:
    """One refused answer: the form's ``field`` (``children.2.birth_date`` for a child's),
    a stable ``code`` and the ``values`` its words name."""

    field: str
    code: str
    values: dict[str, Any] = default(default_factory=dict)

    def words(self) -> str:
        return f"{self.field}: {WORDS[self.code] % self.values}"


# English words of each problem (the web pages say them in Sesotho too: web/declare.py).
WORDS: dict[str, str] = {
    "number_missing": "enter the passport number",
    "number_long": "a passport number has at most %(max)s letters and digits",
    "state_unknown": "choose the country that issued the passport",
    "birth_missing": "enter the date of birth as printed in the passport",
    "birth_future": "a date of birth cannot be in the future",
    "birth_early": "the date of birth is before %(earliest)s: check the year",
    "port_unknown": "choose a port of entry",
    "direction_unknown": "choose whether you enter or leave the country",
    "purpose_unknown": "choose the purpose of the journey",
    "address_short": "give the address at your destination (at least %(min)s characters)",
    "address_long": "the address has at most %(max)s characters",
    "stay_missing": "give the expected length of stay in days, %(max)s at most",
    "too_many_children": "at most %(max)s children can be declared",
    "child_name": "give the child's name (at most %(max)s characters)",
    "child_birth": "give the child's date of birth, which cannot be in the future",
    "child_adult": "a child must be under %(age)s years old",
}


def normalised_number(number: str) -> str:
    return normalise_document(number)


def normalised_state(state: str) -> str:
    return icao.canonical(state.strip().upper())


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def problems(given: DeclarationInput, today: date, ports: set[str]) -> list[Problem]:
    """Every refused answer of a declaration made on ``today`` (``ports``: the codes of the
    ports of entry in service); an empty list when all may be kept."""
    found: list[Problem] = []
    number = normalised_number(given.document_number)
    if not number:
        found.append(Problem("document_number", "number_missing"))
    elif len(number) > MAX_NUMBER:
        found.append(Problem("document_number", "number_long", {"max": MAX_NUMBER}))
    if not icao.is_known(normalised_state(given.issuing_state)):
        found.append(Problem("issuing_state", "state_unknown"))
    if given.birth_date is None:
        found.append(Problem("birth_date", "birth_missing"))
    elif given.birth_date > today:
        found.append(Problem("birth_date", "birth_future"))
    elif given.birth_date.year < EARLIEST_BIRTH_YEAR:
        found.append(Problem("birth_date", "birth_early", {"earliest": EARLIEST_BIRTH_YEAR}))
    if given.port.strip().upper() not in ports:
        found.append(Problem("port", "port_unknown"))
    if given.direction not in ("entry", "exit"):
        found.append(Problem("direction", "direction_unknown"))
    if given.purpose not in purposes():
        found.append(Problem("purpose", "purpose_unknown"))
    address = " ".join(given.address.split())
    if len(address) < MIN_ADDRESS:
        found.append(Problem("address", "address_short", {"min": MIN_ADDRESS}))
    elif len(address) > MAX_ADDRESS:
        found.append(Problem("address", "address_long", {"max": MAX_ADDRESS}))
    if given.stay_days is None or not 1 <= given.stay_days <= MAX_STAY_DAYS:
        found.append(Problem("stay_days", "stay_missing", {"max": MAX_STAY_DAYS}))
    if len(given.children) > MAX_CHILDREN:
        found.append(Problem("children", "too_many_children", {"max": MAX_CHILDREN}))
    for n, child in enumerate(given.children[:MAX_CHILDREN], 1):
        name = " ".join(child.name.split())
        if not name or len(name) > MAX_NAME:
            found.append(Problem(f"children.{n}.name", "child_name", {"max": MAX_NAME}))
        if child.birth_date > today:
            found.append(Problem(f"children.{n}.birth_date", "child_birth"))
        elif _age(child.birth_date, today) >= ADULT_AGE:
            found.append(Problem(f"children.{n}.birth_date", "child_adult", {"age": ADULT_AGE}))
    return found


def new_reference() -> str:
    """A fresh reference, as stored: eight letters and digits a person can write down."""
    return "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))


def shown_reference(reference: str) -> str:
    """As the traveller reads and writes it: ``ABCD-EFGH``."""
    half = REFERENCE_LENGTH // 2
    return f"{reference[:half]}-{reference[half:]}"


def typed_reference(text: str) -> str | None:
    """The stored form of a reference as a person typed it (any case, dashes, spaces), or
    None when the text cannot be a reference."""
    cleaned = "".join(c for c in text.upper() if c.isalnum())
    if len(cleaned) != REFERENCE_LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


def looks_like_token(text: str) -> bool:
    return text.strip().count(".") == 2


def claims(*, node: str, declaration_id: str, reference: str, made: datetime) -> dict[str, Any]:
    """What the QR code's token says: the declaration and its validity, nothing personal."""
    return {
        "iss": node,
        "jti": declaration_id,
        "sub": reference,
        "iat": utc_seconds(made),
        "exp": utc_seconds(made + VALID_FOR),
    }
