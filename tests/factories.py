"""Test data builders, one of each: a passport's machine readable zone, a registered traveller.

Defaults are one traveller, Lineo Mokoena of Lesotho (born 1991-03-14, passport RA1234567);
a test names what matters to it and leaves the rest. The benchmarks under ``bench/`` build
their passports here too (they put ``tests/`` on their path).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from tsela.domain.mrz import MrzFields, generate
from tsela.store.db import session_factory, transaction
from tsela.store.models import Person, Sex, TravelDocument

NUMBER = "RA1234567"
SURNAME = "MOKOENA"
GIVEN = "LINEO"
BIRTH = date(1991, 3, 14)
EXPIRY = date(2031, 5, 1)


def passport_lines(
    number: str = NUMBER,
    *,
    surname: str = SURNAME,
    given: str = GIVEN,
    nationality: str = "LSO",
    birth: date | None = BIRTH,
    expiry: date = EXPIRY,
    sex: str = "F",
    issuing_state: str | None = None,
) -> list[str]:
    """The two lines of a passport's MRZ (ICAO TD3) with correct check digits; the issuing
    state is the holder's nationality unless told."""
    return generate(
        MrzFields(
            format="TD3",
            document_type="P",
            issuing_state=issuing_state or nationality,
            surname=surname,
            given_names=given,
            document_number=number,
            nationality=nationality,
            birth_date=birth,
            expiry_date=expiry,
            sex=sex,
        )
    )


def passport(
    number: str = NUMBER,
    *,
    surname: str = SURNAME,
    given: str = GIVEN,
    nationality: str = "LSO",
    birth: date | None = BIRTH,
    expiry: date = EXPIRY,
    sex: str = "F",
    issuing_state: str | None = None,
) -> str:
    """The same MRZ as one text, lines separated by a newline (as a scanner sends it)."""
    return "\n".join(
        passport_lines(
            number,
            surname=surname,
            given=given,
            nationality=nationality,
            birth=birth,
            expiry=expiry,
            sex=sex,
            issuing_state=issuing_state,
        )
    )


def add_traveller(
    engine: Engine,
    number: str = NUMBER,
    *,
    surname: str = SURNAME,
    given: str = GIVEN,
    nationality: str = "LSO",
    birth: date = BIRTH,
    expiry: date | None = EXPIRY,
    sex: str = "F",
    node: str = "LS",
) -> tuple[Person, TravelDocument]:
    """A traveller and their passport in the register, as a border post or a permit office
    records them (the objects stay readable after their session closed)."""
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
        doc = TravelDocument(
            node=node,
            person_id=person.id,
            document_type="P",
            issuing_state=nationality,
            number=number,
            expiry_date=expiry,
        )
        s.add(doc)
    return person, doc
