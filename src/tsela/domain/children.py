"""Children crossing the border: the age on the border day and the documents the officer
sees for the way the child travels (with both parents, one parent, another adult, alone).

Pure: reads ``reference/children.toml`` (the rules, with their sources: South Africa's
Immigration Regulation 6(12)) and gives the check its reasons. A child alone is referred
whatever was seen; a child without a required document (the other parent's consent, say),
or without the accompanying adults named, is referred naming what is missing; a child with
everything seen gets an INFO reason listing the documents seen.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources

from tsela.domain.reasons import Reason, reason
from tsela.kernel.errors import Invalid

CASES = ("both_parents", "one_parent", "other_adult", "alone")


@dataclass(frozen=True)
class Case:
    """One way a child travels: what must be seen (each group: any one of its documents),
    how many accompanying adults are named, whether the child is referred whatever was seen."""

    name: str
    required: tuple[tuple[str, ...], ...]
    adults: tuple[int, int]
    alone: bool
    source: str


@dataclass(frozen=True)
class Rules:
    version: str
    age_of_majority: int
    source_age: str
    cases: Mapping[str, Case]

    @property
    def documents(self) -> tuple[str, ...]:
        """Every document code, in the order the cases first name them."""
        seen: dict[str, None] = {}
        for case in self.cases.values():
            for group in case.required:
                seen.update(dict.fromkeys(group))
        return tuple(seen)


def parse(text: str) -> Rules:
    doc = tomllib.loads(text)
    cases = {}
    for name in CASES:
        entry = doc["cases"][name]
        low, high = entry["adults"]
        cases[name] = Case(
            name=name,
            required=tuple(tuple(group) for group in entry["required"]),
            adults=(int(low), int(high)),
            alone=bool(entry.get("alone", False)),
            source=str(entry["source"]),
        )
    return Rules(str(doc["version"]), int(doc["age_of_majority"]), str(doc["source_age"]), cases)


@cache
def rules() -> Rules:
    """The rules shipped with Tsela."""
    return parse(resources.files("tsela.reference").joinpath("children.toml").read_text("utf-8"))


def age_on(birth: date, day: date) -> int:
    """Completed years on ``day`` (someone born on 29 February is a year older on 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_child(birth: date | None, day: date) -> bool:
    return birth is not None and age_on(birth, day) < rules().age_of_majority


@dataclass(frozen=True)
class Travel:
    """How a child travels, as the officer records it: the case, the documents seen, and how
    many accompanying adults were named (each by a document checked at the same desk)."""

    case: str
    seen: frozenset[str] = field(default_factory=frozenset)
    adults: int = 0


def travel(case: str, seen: Sequence[str] = (), adults: int = 0) -> Travel:
    """A ``Travel`` from what was typed; ``Invalid`` names an unknown case or document, or
    more adults than the case has."""
    known = rules()
    name = case.strip().lower()
    if name not in known.cases:
        raise Invalid(
            "child.unknown_case",
            "a child travels %(cases)s; %(case)r is none of these",
            cases=", ".join(CASES),
            case=case,
        )
    codes = {s.strip().lower() for s in seen if s and s.strip()}
    unknown = sorted(codes - set(known.documents))
    if unknown:
        raise Invalid(
            "child.unknown_document",
            "unknown document %(codes)s: the documents are %(known)s",
            codes=", ".join(unknown),
            known=", ".join(known.documents),
        )
    most = known.cases[name].adults[1]
    if adults > most:
        raise Invalid(
            "child.too_many_adults",
            "a child travelling %(case)s has at most %(most)s accompanying adult(s); "
            "%(named)s were named",
            case=name.replace("_", " "),
            most=most,
            named=adults,
        )
    return Travel(name, frozenset(codes), adults)


def missing(case: Case, seen: frozenset[str]) -> list[tuple[str, ...]]:
    """The required groups of which no document was seen."""
    return [group for group in case.required if not seen & set(group)]


def _codes(groups: Sequence[Sequence[str]]) -> str:
    return ", ".join("|".join(group) for group in groups)


def reasons(birth: date | None, day: date, recorded: Travel | None) -> list[Reason]:
    """The check's reasons for a traveller born on ``birth`` crossing on ``day`` (none for an
    adult, or a traveller whose birth date is unknown)."""
    if birth is None or not is_child(birth, day):
        return []
    age = age_on(birth, day)
    if recorded is None:
        return [reason("child.unrecorded", age=age, day=day.isoformat())]
    case = rules().cases[recorded.case]
    lacking = missing(case, recorded.seen)
    out: list[Reason] = []
    if case.alone:
        out.append(reason("child.alone", age=age, missing=_codes(lacking) or None))
    elif lacking:
        out.append(
            reason("child.documents_missing", age=age, case=case.name, missing=_codes(lacking))
        )
    if not case.alone and recorded.adults < case.adults[0]:
        out.append(
            reason(
                "child.no_adult",
                age=age,
                case=case.name,
                named=recorded.adults,
                needed=case.adults[0],
            )
        )
    if recorded.seen:
        in_order = [d for d in rules().documents if d in recorded.seen]
        out.append(
            reason("child.documents", age=age, case=case.name, documents=", ".join(in_order))
        )
    return out
