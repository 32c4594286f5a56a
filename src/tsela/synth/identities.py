"""Synthetic person records with known duplicates, for testing and measuring identity
resolution (issue 17).

``population(n, dup_share, seed)`` draws ``n`` distinct people and, for a share of them, a
second record of the same person as another source would write it:

- ``sa_spelling``: the partner node's record with the South African Sesotho spelling
  ("Tšepo Moshoeshoe" -> "Tshepo Moshweshwe");
- ``mrz``: the name as the machine-readable zone transliterates it (Š -> S, apostrophes
  dropped);
- ``typo``: one letter of the surname mistyped;
- ``swap_dm``: birth day and month swapped (day <= 12);
- ``year_only``: only the birth year known (1 January of it, as registries often write);
- ``new_passport``: a new passport after a loss (another number), the rest the same;
- ``married``: a woman's new surname, given names, birth date and sex the same;
- ``doc_ocr``: the same document number read with an OCR confusion (0 -> O, 1 -> I).

Every record carries ``truth`` (the person it belongs to) so precision and recall can be
counted. The same seed gives the same records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from tsela.domain.identity import PersonRecord
from tsela.synth.names import mrz_name, name_list, south_african_spelling

KINDS = (
    "sa_spelling",
    "mrz",
    "typo",
    "swap_dm",
    "year_only",
    "new_passport",
    "married",
    "doc_ocr",
)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Labelled:
    record: PersonRecord
    truth: int
    kind: str  # "original" or one of KINDS


def _typo(rng: np.random.Generator, name: str) -> str:
    if len(name) < 4:
        return name + "a"
    i = int(rng.integers(1, len(name) - 1))
    c = _LETTERS[int(rng.integers(0, 26))]
    if c == name[i].lower():
        c = "x" if c != "x" else "z"
    return name[:i] + c + name[i + 1 :]


def population(n: int, dup_share: float = 0.05, seed: int = 17) -> Iterator[Labelled]:
    """``n`` people (node LS records) and about ``n * dup_share`` second records."""
    rng = np.random.default_rng(seed)
    surnames = name_list("sesotho", "surnames") + name_list("nguni", "surnames")
    female = name_list("sesotho", "given_female") + name_list("english", "given_female")
    male = name_list("sesotho", "given_male") + name_list("english", "given_male")
    start = date(1950, 1, 1)
    for i in range(n):
        sex = "F" if rng.random() < 0.5 else "M"
        givens = female if sex == "F" else male
        surname = surnames[int(rng.integers(0, len(surnames)))]
        given = givens[int(rng.integers(0, len(givens)))]
        if rng.random() < 0.4:  # a second given name
            given += " " + givens[int(rng.integers(0, len(givens)))]
        born = start + timedelta(days=int(rng.integers(0, 365 * 55)))
        nationality = "LSO" if rng.random() < 0.85 else "ZAF"
        number = f"{'RA' if nationality == 'LSO' else 'A'}{int(rng.integers(1_000_000, 9_999_999))}"
        original = PersonRecord(
            key=f"person:{i}",
            source="person",
            node="LS",
            surname=surname,
            given_names=given,
            birth_date=born,
            sex=sex,
            nationality=nationality,
            document_number=number,
            document_country=nationality,
        )
        yield Labelled(original, i, "original")
        if rng.random() >= dup_share:
            continue
        kind = KINDS[int(rng.integers(0, len(KINDS)))]
        if kind == "married" and sex != "F":
            kind = "new_passport"
        if kind == "swap_dm" and (born.day > 12 or born.day == born.month):
            kind = "typo"
        s2, g2, b2, n2 = surname, given, born, number
        if kind == "sa_spelling":
            s2, g2 = south_african_spelling(surname), south_african_spelling(given)
        elif kind == "mrz":
            s2, g2 = mrz_name(surname), mrz_name(given)
        elif kind == "typo":
            s2 = _typo(rng, surname)
        elif kind == "swap_dm":
            b2 = date(born.year, born.day, born.month)
        elif kind == "year_only":
            b2 = date(born.year, 1, 1)
        elif kind == "new_passport":
            n2 = f"{number[:-7]}{int(rng.integers(1_000_000, 9_999_999))}"
        elif kind == "married":
            s2 = surnames[int(rng.integers(0, len(surnames)))]
            n2 = f"{number[:-7]}{int(rng.integers(1_000_000, 9_999_999))}"
        elif kind == "doc_ocr":
            n2 = number.replace("0", "O").replace("1", "I")
        partner = kind in ("sa_spelling", "doc_ocr")
        dup = PersonRecord(
            key=f"partner:ZA:{nationality}:{n2}:{i}" if partner else f"person:{i}b",
            source="partner" if partner else "person",
            node="ZA" if partner else "LS",
            surname=s2,
            given_names=g2,
            birth_date=b2,
            sex=sex,
            nationality=nationality,
            document_number=n2,
            document_country=nationality,
        )
        yield Labelled(dup, i, kind)


def write(
    session: Session, records: Iterator[Labelled] | list[Labelled], at: datetime
) -> dict[str, str]:
    """Put the records in the store as their sources would: a ``person`` with a passport for
    this node's records, an exchanged partner crossing for the partner's. Returns each
    synthetic key -> the record key identity resolution will give it."""
    from tsela.domain.values import Direction, Sex
    from tsela.ids import new_id
    from tsela.store.models import Person, TravelDocument
    from tsela.store.partner_crossings import PartnerCrossing

    keys: dict[str, str] = {}
    # A passport belongs to one person in the register: a second record with the same
    # number is kept without a document (as a labour office registers a worker by name).
    used: set[tuple[str, str]] = set()
    for item in records:
        r = item.record
        if r.source == "person":
            pid = new_id()
            session.add(
                Person(
                    id=pid, node=r.node, primary_name=r.surname, given_names=r.given_names,
                    sex=Sex(r.sex or "X"), birth_date=r.birth_date,
                    nationality=r.nationality or "LSO",
                )
            )  # fmt: skip
            doc = (r.document_country or "LSO", r.document_number or f"X{item.truth}")
            if doc in used:
                keys[r.key] = f"person:{pid}"
                continue
            used.add(doc)
            session.add(
                TravelDocument(
                    node=r.node, person_id=pid, document_type="P",
                    issuing_state=r.document_country or "LSO",
                    number=r.document_number or f"X{item.truth}",
                )
            )  # fmt: skip
            keys[r.key] = f"person:{pid}"
        else:
            session.add(
                PartnerCrossing(
                    id=new_id(), node=r.node, port_code="MSU", direction=Direction.ENTRY,
                    country="ZAF", crossed_at=at, document_number=r.document_number or "",
                    document_country=r.document_country or "LSO", nationality=r.nationality,
                    surname=r.surname, given_names=r.given_names, birth_date=r.birth_date,
                    sex=Sex(r.sex) if r.sex else None,
                )
            )  # fmt: skip
            keys[r.key] = f"partner:{r.node}:{r.document_country}:{r.document_number}"
    session.flush()
    return keys
