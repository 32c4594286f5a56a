"""Refusals of entry and entry bans: the grounds, the notice's words, and what a ban means
at the border. Pure: reads ``reference/refusal_grounds.toml``; no database.

A refusal names one or more grounds (codes A to I, in the shape of the Schengen Borders Code,
Annex V Part B), each resting on a provision of South Africa's Immigration Act and of
Lesotho's Aliens Control Act. An entry ban bars its holder from entering the country that
issued it from its first day to its last (both included); at the partner's border it is
shown for the officer to weigh (the partner's law decides there).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from tsela.domain.reasons import LANGUAGES, Reason, reason

NODE_COUNTRY = {"LS": "LSO", "ZA": "ZAF"}
COUNTRY_NODE = {v: k for k, v in NODE_COUNTRY.items()}
MAX_BAN_YEARS = 10  # no provision of either Act reaches further; a longer ban is a typo
MIN_REASON = 10  # characters of a supervisor's reason to lift or shorten a ban


class RefusalInputError(ValueError):
    """What was asked cannot be recorded; the message says why (an HTTP 4xx at the edge)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Ground:
    code: str
    words: Mapping[str, str]  # lang -> the ground as the traveller reads it
    basis: Mapping[str, str]  # country (alpha-3) -> the provision it rests on
    bannable: bool
    source: str

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "en": self.words["en"],
            "st": self.words["st"],
            "za_basis": self.basis["ZAF"],
            "ls_basis": self.basis["LSO"],
            "bannable": self.bannable,
            "source": self.source,
        }


@dataclass(frozen=True)
class GroundsCatalogue:
    version: str
    grounds: Mapping[str, Ground]
    notice: Mapping[str, Mapping[str, str]]  # lang -> key -> words


def parse(text: str) -> GroundsCatalogue:
    """The catalogue from its TOML text; ValueError names the first problem."""
    doc = tomllib.loads(text)
    section = dict(doc.get("grounds", {}))
    version = str(section.pop("version", ""))
    grounds: dict[str, Ground] = {}
    for code, entry in section.items():
        missing = [k for k in ("en", "st", "za_basis", "ls_basis", "source") if not entry.get(k)]
        if missing:
            raise ValueError(f"ground {code}: missing {', '.join(missing)}")
        grounds[code] = Ground(
            code=code,
            words={lang: str(entry[lang]) for lang in LANGUAGES},
            basis={"ZAF": str(entry["za_basis"]), "LSO": str(entry["ls_basis"])},
            bannable=bool(entry.get("bannable", False)),
            source=str(entry["source"]),
        )
    notice = {lang: dict(doc.get("notice", {}).get(lang, {})) for lang in LANGUAGES}
    keys = set(notice["en"])
    for lang, words in notice.items():
        if set(words) != keys:
            raise ValueError(f"notice.{lang}: other keys than English: {set(words) ^ keys}")
    return GroundsCatalogue(version, grounds, notice)


@cache
def catalogue() -> GroundsCatalogue:
    text = resources.files("tsela.reference").joinpath("refusal_grounds.toml").read_text("utf-8")
    return parse(text)


def grounds_of(codes: Iterable[str]) -> list[Ground]:
    """The grounds named, in catalogue order, each once; RefusalInputError names any unknown
    code and the known ones."""
    known = catalogue().grounds
    asked = [c.strip().upper() for c in codes if c and c.strip()]
    if not asked:
        raise RefusalInputError(f"name at least one ground: {', '.join(known)}")
    unknown = sorted({c for c in asked if c not in known})
    if unknown:
        raise RefusalInputError(
            f"unknown ground code {', '.join(unknown)}: the grounds are {', '.join(known)} "
            "(GET /v1/refusal-grounds)"
        )
    return [g for code, g in known.items() if code in asked]


def notice_words(lang: str) -> Mapping[str, str]:
    if lang not in LANGUAGES:
        raise RefusalInputError(
            f"no refusal notice in language {lang!r}: choose one of {', '.join(LANGUAGES)}"
        )
    return catalogue().notice[lang]


def refuse_citizen_check(nationality: str, country: str, what: str) -> None:
    """A citizen may not be refused entry into (or banned from) their own country."""
    if nationality.strip().upper() == country:
        raise RefusalInputError(
            f"the traveller is a citizen of {country}: a citizen cannot be {what} their own "
            "country; verify the citizenship instead (refer the traveller)"
        )


# --------------------------------------------------------------------------- bans


def check_ban_period(start: date, end: date) -> None:
    if end < start:
        raise RefusalInputError(
            f"the ban ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    if end.year - start.year > MAX_BAN_YEARS:
        raise RefusalInputError(
            f"a ban of more than {MAX_BAN_YEARS} years ({start.isoformat()} to "
            f"{end.isoformat()}): check the end date"
        )


@dataclass(frozen=True)
class BanFact:
    """A ban as the border check weighs it."""

    id: str
    node: str  # the node that issued it
    issuing_country: str  # the country it bars entry into
    legal_basis: str
    start: date
    end: date
    lifted: bool = False

    def in_force(self, day: date) -> bool:
        return not self.lifted and self.start <= day <= self.end


def ban_reasons(
    bans: Sequence[BanFact], *, country: str, direction: str, day: date
) -> list[Reason]:
    """The check's reasons for the bans in force on ``day``: entering the country that banned
    the traveller is refused (DENY); the partner's ban is shown on entry and on exit for the
    officer to weigh (REFER): the traveller will be refused on the other side."""
    out: list[Reason] = []
    for ban in sorted(bans, key=lambda b: (b.end, b.id)):
        if not ban.in_force(day):
            continue
        facts = {
            "country": ban.issuing_country,
            "until": ban.end.isoformat(),
            "basis": ban.legal_basis,
            "ban": ban.id,
        }
        if ban.issuing_country == country:
            if direction == "entry":
                out.append(reason("entry_ban.active", **facts))
        else:
            out.append(reason("entry_ban.partner", node=ban.node, **facts))
    return out
