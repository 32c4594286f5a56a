"""Trafficking and smuggling cases (issue 18, item 4): what a case is, what may be done to it,
and the summary that leaves the node. Pure: reads ``reference/case_indicators.toml``; no
database.

An officer opens a case from a border check, naming its kind (trafficking in persons,
smuggling of migrants, recruitment or transport of undocumented workers for illegal mining,
document fraud) and ticking the indicators seen (the IOM and UNODC guidance, as data). Case
officers then work it: they tick more indicators, write notes, refer it to the police or to
social development, take it (assign), hand it over to another case officer, and close it with
an outcome. Each of these is an event of the case; a closed case takes none.

A case's summary for the AU Continental Operational Centre and the partner node
(``summary_row``) names no one: no names, no document numbers, no notes, no officers; the
traveller is a keyed hash of their record id (``tsela.pseudonyms``), their age a group.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from tsela.domain.reasons import LANGUAGES

MIN_NOTE = 3  # characters of a note, a hand-over's or a closing note
MAX_NOTE = 4000
ADULT_AGE = 18


class CaseKind(StrEnum):
    TRAFFICKING = "trafficking"
    SMUGGLING = "smuggling"
    ILLEGAL_MINING = "illegal_mining"
    DOCUMENT_FRAUD = "document_fraud"


class CaseStatus(StrEnum):
    OPEN = "open"
    REFERRED = "referred"  # referred to the police or social development, still worked
    CLOSED = "closed"


class CaseEventKind(StrEnum):
    OPENED = "opened"
    INDICATORS = "indicators"
    NOTE = "note"
    REFERRED = "referred"
    ASSIGNED = "assigned"
    HANDED_OVER = "handed_over"
    CLOSED = "closed"


class CaseInputError(ValueError):
    """What was asked cannot be recorded; ``code`` names why, the message says it."""

    def __init__(self, code: str, message: str, **values: Any) -> None:
        super().__init__(message % values if values else message)
        self.code = code
        self.template = message
        self.values = values


@dataclass(frozen=True)
class Indicator:
    code: str
    group: str
    kinds: tuple[str, ...]
    words: Mapping[str, str]  # lang -> words
    source: str  # the source's key

    def said(self, lang: str) -> str:
        return self.words.get(lang) or self.words["en"]


@dataclass(frozen=True)
class Named:
    """A kind, a referral, an outcome or a group: a code with its words (and extras)."""

    code: str
    words: Mapping[str, str]
    extra: Mapping[str, str]

    def said(self, lang: str) -> str:
        return self.words.get(lang) or self.words["en"]


@dataclass(frozen=True)
class Catalogue:
    version: str
    kinds: Mapping[str, Named]  # extra: law
    indicators: Mapping[str, Indicator]  # in the file's order
    groups: Mapping[str, Named]
    referrals: Mapping[str, Named]  # extra: ZAF, LSO (the agency in each country)
    outcomes: Mapping[str, Named]
    sources: Mapping[str, str]

    def grouped(self) -> list[tuple[Named, list[Indicator]]]:
        """The checklist: each group with its indicators, in the file's order."""
        return [
            (group, [i for i in self.indicators.values() if i.group == code])
            for code, group in self.groups.items()
        ]


def _named(section: Mapping[str, Any], what: str) -> dict[str, Named]:
    out: dict[str, Named] = {}
    for code, entry in section.items():
        missing = [lang for lang in LANGUAGES if not entry.get(lang)]
        if missing:
            raise ValueError(f"{what} {code}: no words in {', '.join(missing)}")
        out[code] = Named(
            code=code,
            words={lang: str(entry[lang]) for lang in LANGUAGES},
            extra={k: str(v) for k, v in entry.items() if k not in LANGUAGES},
        )
    return out


def parse(text: str) -> Catalogue:
    """The catalogue from its TOML text; ValueError names the first problem."""
    doc = tomllib.loads(text)
    kinds = _named(doc.get("kinds", {}), "kind")
    if set(kinds) != {k.value for k in CaseKind}:
        raise ValueError(f"the kinds must be {', '.join(k.value for k in CaseKind)}")
    groups = _named(doc.get("groups", {}), "group")
    sources = {str(k): str(v) for k, v in doc.get("sources", {}).items()}
    indicators: dict[str, Indicator] = {}
    for code, entry in doc.get("indicators", {}).items():
        missing = [k for k in ("group", "kinds", "source", *LANGUAGES) if not entry.get(k)]
        if missing:
            raise ValueError(f"indicator {code}: missing {', '.join(missing)}")
        if entry["group"] not in groups:
            raise ValueError(f"indicator {code}: unknown group {entry['group']!r}")
        unknown = [k for k in entry["kinds"] if k not in kinds]
        if unknown:
            raise ValueError(f"indicator {code}: unknown kind {unknown[0]!r}")
        if entry["source"] not in sources:
            raise ValueError(f"indicator {code}: unknown source {entry['source']!r}")
        indicators[code] = Indicator(
            code=code,
            group=str(entry["group"]),
            kinds=tuple(entry["kinds"]),
            words={lang: str(entry[lang]) for lang in LANGUAGES},
            source=str(entry["source"]),
        )
    referrals = _named(doc.get("referrals", {}), "referral")
    for code, agency in referrals.items():
        if not agency.extra.get("ZAF") or not agency.extra.get("LSO"):
            raise ValueError(f"referral {code}: name the agency of ZAF and of LSO")
    return Catalogue(
        version=str(doc.get("version", "")),
        kinds=kinds,
        indicators=indicators,
        groups=groups,
        referrals=referrals,
        outcomes=_named(doc.get("outcomes", {}), "outcome"),
        sources=sources,
    )


@cache
def catalogue() -> Catalogue:
    """The catalogue shipped with Tsela (read once)."""
    text = resources.files("tsela.reference").joinpath("case_indicators.toml").read_text("utf-8")
    return parse(text)


# --------------------------------------------------------------------------- checking input


def kind_of(value: str) -> CaseKind:
    try:
        return CaseKind(value.strip().lower())
    except ValueError:
        raise CaseInputError(
            "case.unknown_kind",
            "unknown kind of case %(kind)r: choose one of %(kinds)s",
            kind=value,
            kinds=", ".join(k.value for k in CaseKind),
        ) from None


def indicators_of(codes: Iterable[str]) -> list[str]:
    """The codes, each once, in the checklist's order; an unknown code is refused."""
    known = catalogue().indicators
    chosen = {c.strip() for c in codes if c.strip()}
    unknown = sorted(chosen - set(known))
    if unknown:
        raise CaseInputError(
            "case.unknown_indicator", "unknown indicator %(indicator)r", indicator=unknown[0]
        )
    return [code for code in known if code in chosen]


def agency_of(value: str) -> str:
    agencies = catalogue().referrals
    code = value.strip().lower()
    if code not in agencies:
        raise CaseInputError(
            "case.unknown_agency",
            "unknown referral %(agency)r: choose one of %(agencies)s",
            agency=value,
            agencies=", ".join(agencies),
        )
    return code


def outcome_of(value: str) -> str:
    outcomes = catalogue().outcomes
    code = value.strip().lower()
    if code not in outcomes:
        raise CaseInputError(
            "case.unknown_outcome",
            "unknown outcome %(outcome)r: choose one of %(outcomes)s",
            outcome=value,
            outcomes=", ".join(outcomes),
        )
    return code


def note_of(text: str | None, *, required: bool, label: str = "note") -> str:
    """A note as kept: stripped, text only, at most ``MAX_NOTE`` characters; ``required``
    ones at least ``MIN_NOTE``."""
    note = (text or "").strip()
    if "\x00" in note or any(0xD800 <= ord(ch) <= 0xDFFF for ch in note):
        raise CaseInputError("case.not_text", "the %(label)s is not text", label=label)
    if len(note) > MAX_NOTE:
        raise CaseInputError(
            "case.note_long",
            "the %(label)s is longer than %(max)s characters",
            label=label,
            max=MAX_NOTE,
        )
    if required and len(note) < MIN_NOTE:
        raise CaseInputError(
            "case.note_required",
            "write the %(label)s (at least %(min)s characters)",
            label=label,
            min=MIN_NOTE,
        )
    return note


def may_change(status: CaseStatus) -> None:
    """A closed case takes no more events."""
    if status is CaseStatus.CLOSED:
        raise CaseInputError("case.closed", "the case is closed: nothing more can be done to it")


def status_after(status: CaseStatus, event: CaseEventKind) -> CaseStatus:
    """The case's status after ``event`` (checked with ``may_change`` first)."""
    if event is CaseEventKind.CLOSED:
        return CaseStatus.CLOSED
    if event is CaseEventKind.REFERRED:
        return CaseStatus.REFERRED
    return status


def indicator_change(before: Sequence[str], after: Sequence[str]) -> dict[str, list[str]]:
    """What a new checklist ticked and unticked."""
    return {
        "ticked": [c for c in after if c not in before],
        "unticked": [c for c in before if c not in after],
    }


# --------------------------------------------------------------------------- the summary


def age_group(birth_date: date | None, on: date) -> str:
    """``child`` under 18 on ``on``, ``adult``, or ``unknown``: the export's only age."""
    if birth_date is None:
        return "unknown"
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    return "child" if years < ADULT_AGE else "adult"


# The columns of a case summary, in order (the CSV's header; docs/security.md, "Cases").
SUMMARY_FIELDS = (
    "case_id",
    "node",
    "kind",
    "status",
    "opened_on",
    "closed_on",
    "port",
    "direction",
    "person_key",
    "sex",
    "age_group",
    "nationality",
    "indicators",
    "referrals",
    "outcome",
    "indicators_version",
)


@dataclass(frozen=True)
class CaseFacts:
    """What a summary is made of (the service reads it from the store)."""

    case_id: str
    node: str
    kind: str
    status: str
    opened_on: date
    closed_on: date | None
    port: str
    direction: str
    person_key: str | None
    sex: str | None
    birth_date: date | None
    nationality: str | None
    indicators: Sequence[str]
    referrals: Sequence[str]
    outcome: str | None
    indicators_version: str


def summary_row(facts: CaseFacts) -> dict[str, Any]:
    """A case as it leaves the node: pseudonymised (no name, no document number, no note, no
    officer; the traveller a keyed hash, the age a group on the day the case was opened)."""
    return {
        "case_id": facts.case_id,
        "node": facts.node,
        "kind": facts.kind,
        "status": facts.status,
        "opened_on": facts.opened_on.isoformat(),
        "closed_on": facts.closed_on.isoformat() if facts.closed_on else None,
        "port": facts.port,
        "direction": facts.direction,
        "person_key": facts.person_key,
        "sex": facts.sex,
        "age_group": age_group(facts.birth_date, facts.opened_on),
        "nationality": facts.nationality,
        "indicators": list(facts.indicators),
        "referrals": sorted(set(facts.referrals)),
        "outcome": facts.outcome,
        "indicators_version": facts.indicators_version,
    }


def csv_cells(row: Mapping[str, Any]) -> list[str]:
    """A summary row as CSV cells: lists joined with ``;``, nothing as an empty cell."""
    out = []
    for field in SUMMARY_FIELDS:
        value = row[field]
        if isinstance(value, list):
            out.append(";".join(value))
        else:
            out.append("" if value is None else str(value))
    return out
