"""The fast lane for frequent crossers (issue 20, item 2): who may join, what the card says,
and what one scan at the lane answers. Pure: no database, no clock, no randomness of its own.

A member (a commuter, a border resident, a permit holder) applies in the worker portal; an
officer vets the application (watchlists, entry bans, the crossing history, an interview)
and a supervisor approves or refuses it with a reason. An approved member gets a card: a
token signed with the node's permit key (``domain.credentials``), typ ``TYP``, naming the
membership, its number, the holder and the passport it is bound to, and its validity.

At the lane one scan of the card gives CLEAR or REFER (to secondary inspection): the lane
never refuses anyone, an officer at secondary decides. CLEAR only when the card is genuine
and current, the membership active, the ordinary border check of the bound passport is
CLEAR (entry bans, watchlists, document, stay, history), and the member was not picked at
random for secondary inspection. Any watchlist hit, document alert or entry ban suspends
the membership (``suspends``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from tsela.domain.credentials import utc_seconds
from tsela.domain.declarations import ALPHABET
from tsela.domain.values import Decision

TYP = "tsela-fastlane+jwt"
VALID_DAYS = 365  # a card serves a year, and never beyond the passport it is bound to
MAX_TOKEN = 1024  # a card token is ~450 characters
NUMBER_LENGTH = 8  # stored as 8 letters and digits, shown as FL-ABCD-EFGH
DEFAULT_SECONDARY_RATE = 0.05  # share of clear scans sent to secondary at random
MIN_REASON = 10  # characters of a written refusal, suspension or reinstatement reason
MIN_NOTE = 10  # characters of an interview note
MAX_TEXT = 2000
HISTORY_DAYS = 365  # the crossing history the vetting looks at


class Category(StrEnum):
    """Why the applicant crosses often."""

    COMMUTER = "commuter"  # lives on one side, works or studies on the other
    BORDER_RESIDENT = "border_resident"  # lives in a border district
    PERMIT_HOLDER = "permit_holder"  # holds a permit of this node


class Status(StrEnum):
    APPLIED = "applied"  # waiting for vetting and a decision
    ACTIVE = "active"  # approved, card issued
    REFUSED = "refused"  # the application was refused (the member may apply again)
    SUSPENDED = "suspended"  # a hit or ban at the lane, or an officer's decision


class Interview(StrEnum):
    SATISFACTORY = "satisfactory"
    CONCERNS = "concerns"


class Answer(StrEnum):
    """What the lane says: through, or to secondary inspection."""

    CLEAR = "CLEAR"
    REFER = "REFER"


OPEN = (Status.APPLIED, Status.ACTIVE, Status.SUSPENDED)  # one at a time per person


# --------------------------------------------------------------------------- numbers


def new_number() -> str:
    """A fresh membership number, as stored: eight letters and digits."""
    return "".join(secrets.choice(ALPHABET) for _ in range(NUMBER_LENGTH))


def shown_number(number: str) -> str:
    """As printed on the card: ``FL-ABCD-EFGH``."""
    half = NUMBER_LENGTH // 2
    return f"FL-{number[:half]}-{number[half:]}"


# --------------------------------------------------------------------------- the card


def card_valid_to(today: date, document_expiry: date | None) -> date:
    """The card's last day: a year from today, or the passport's expiry if sooner."""
    end = today + timedelta(days=VALID_DAYS)
    return min(end, document_expiry) if document_expiry else end


@dataclass(frozen=True)
class Card:
    """What a genuine card says."""

    membership_id: str
    number: str
    issuer: str
    holder: str
    issuing_state: str
    document: str
    valid_from: date
    valid_to: date

    def claims(self, issued: datetime) -> dict[str, Any]:
        return {
            "iss": self.issuer,
            "jti": self.membership_id,
            "sub": self.number,
            "iat": utc_seconds(issued),
            "holder": self.holder,
            "issuing_state": self.issuing_state,
            "document": self.document,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat(),
        }

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Card | None:
        """The card of signed claims, or None when they lack what a card says."""
        try:
            return cls(
                membership_id=str(claims["jti"]),
                number=str(claims["sub"]),
                issuer=str(claims["iss"]),
                holder=str(claims["holder"]),
                issuing_state=str(claims["issuing_state"]),
                document=str(claims["document"]),
                valid_from=date.fromisoformat(str(claims["valid_from"])),
                valid_to=date.fromisoformat(str(claims["valid_to"])),
            )
        except (KeyError, TypeError, ValueError):
            return None


def card_problem(card: Card, *, status: Status, current: bool, today: date) -> str | None:
    """Why a genuine card does not let its holder through the lane (the variant of the
    ``fastlane.card`` reason), or None. ``current``: it is the membership's latest card."""
    if status is Status.SUSPENDED:
        return "suspended"
    if status is not Status.ACTIVE:
        return "not_member"
    if not current:
        return "replaced"
    if today < card.valid_from:
        return "not_yet_valid"
    if today > card.valid_to:
        return "expired"
    return None


# --------------------------------------------------------------------------- at the lane


def selected(draw: float, rate: float) -> bool:
    """Picked at random for secondary inspection: ``draw`` is uniform in [0, 1)."""
    return draw < rate


# Reason codes of a check that suspend the membership: a watchlist hit of any kind, a
# document reported lost, stolen or revoked (here or by the partner), an entry ban.
SUSPENDING = ("watchlist.", "entry_ban.", "document.lost", "document.stolen", "document.revoked")


def suspends(codes: Iterable[str]) -> list[str]:
    """The codes among ``codes`` that suspend a membership (in their order, once each)."""
    out: list[str] = []
    for code in codes:
        if code.startswith(SUSPENDING) and code not in out:
            out.append(code)
    return out


def answer(decision: Decision) -> Answer:
    """The lane's answer to the check's decision: anything but CLEAR goes to secondary."""
    return Answer.CLEAR if decision is Decision.CLEAR else Answer.REFER


# --------------------------------------------------------------------------- vetting


@dataclass(frozen=True)
class Crossed:
    direction: str
    at: datetime
    port: str


@dataclass(frozen=True)
class History:
    """The applicant's crossings in the last ``HISTORY_DAYS`` days."""

    total: int
    entries: int
    exits: int
    ports: dict[str, int]  # port code -> crossings there
    last: Crossed | None
    per_month: float  # crossings a month on average over the period

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "entries": self.entries,
            "exits": self.exits,
            "ports": dict(self.ports),
            "last": None
            if self.last is None
            else {
                "direction": self.last.direction,
                "at": self.last.at.isoformat(),
                "port": self.last.port,
            },
            "per_month": self.per_month,
        }


def history(crossings: Iterable[Crossed], since: datetime) -> History:
    """The summary the vetting officer reads of the crossings since ``since``."""
    kept = sorted((c for c in crossings if c.at >= since), key=lambda c: c.at)
    ports: dict[str, int] = {}
    for c in kept:
        ports[c.port] = ports.get(c.port, 0) + 1
    return History(
        total=len(kept),
        entries=sum(c.direction == "entry" for c in kept),
        exits=sum(c.direction == "exit" for c in kept),
        ports=dict(sorted(ports.items(), key=lambda kv: (-kv[1], kv[0]))),
        last=kept[-1] if kept else None,
        per_month=round(len(kept) / (HISTORY_DAYS / 30.44), 1),
    )


@dataclass(frozen=True)
class Vetting:
    """What the vetting found: watchlist hits (reason codes with their words), entry bans,
    the document's state, the history, and the interview."""

    hits: tuple[str, ...]  # the words of each watchlist or document finding
    bans: tuple[str, ...]  # the words of each entry ban
    document_expired: bool
    interview: Interview | None

    def blocking(self) -> list[str]:
        """Why the application cannot be approved (codes of ``fastlane.*`` refusals)."""
        out = []
        if self.interview is None:
            out.append("fastlane.no_interview")
        elif self.interview is Interview.CONCERNS:
            out.append("fastlane.interview_concerns")
        if self.hits:
            out.append("fastlane.watchlist_hit")
        if self.bans:
            out.append("fastlane.entry_ban")
        if self.document_expired:
            out.append("fastlane.document_expired")
        return out
