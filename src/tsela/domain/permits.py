"""Permits: types as data, the permit state machine, validity, expiry and renewal rules.

Pure logic: no database, no clock (``today`` is passed in). Permit types are read from the
shipped ``reference/permit_types.toml`` through importlib.resources.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from tsela.domain.values import Role
from tsela.kernel import errors
from tsela.kernel.access import Permission, allows, roles_for

RIGHTS = ("work", "study", "business", "reside", "fast_lane")
# Rights that let a person stay beyond a visitor's limit (a fast lane alone does not).
RESIDENCE_RIGHTS = frozenset({"work", "study", "business", "reside"})
REMINDER_BANDS = (30, 60, 90)


class PermitStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    EVIDENCE_REQUESTED = "evidence_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    ISSUED = "issued"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class PermitRuleError(errors.Invalid, ValueError):
    """An application or permit breaks a rule of its type; the message says which."""

    default_code = "permit.rule"

    def __init__(self, message: str, code: str | None = None, **values: Any) -> None:
        super().__init__(code or self.default_code, message, **values)


class UnknownPermitType(PermitRuleError):
    pass


class PermitTypeFileError(ValueError):
    """The permit type table is malformed (names the type and the field)."""


class IllegalTransition(errors.Conflict, ValueError):
    """The permit cannot move from its state to the one asked for."""

    default_code = "permit.illegal_transition"

    def __init__(self, message: str, code: str | None = None, **values: Any) -> None:
        super().__init__(code or self.default_code, message, **values)


class RoleNotAllowed(errors.Forbidden, IllegalTransition):
    """The move exists, but the acting role may not make it."""

    default_code = "permit.role_not_allowed"


class ReasonRequired(errors.Invalid, IllegalTransition):
    """The move needs a reason and none was given."""

    default_code = "permit.reason_required"


class UnknownStatus(PermitRuleError):
    """A status name that does not exist (bad input, not an illegal move)."""


# --- permit types -----------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceRule:
    required: tuple[str, ...] = ()
    any_of: tuple[tuple[str, ...], ...] = ()

    def missing(self, have: Iterable[str]) -> list[str]:
        """What is still missing, in English words for the API and the CLI (empty when the
        evidence is complete); pages say ``lacking`` in the reader's words."""
        out = []
        for options in self.lacking(have):
            if len(options) == 1 and len(options[0]) == 1:
                out.append(f"'{options[0][0]}'")
            else:
                out.append("one of: " + " or ".join("+".join(group) for group in options))
        return out

    def lacking(self, have: Iterable[str]) -> list[tuple[tuple[str, ...], ...]]:
        """What is still missing, as codes: one entry per thing lacking, each the groups of
        evidence kinds any of which would do (a required kind: one group of one kind)."""
        got = set(have)
        out: list[tuple[tuple[str, ...], ...]] = [
            ((item,),) for item in self.required if item not in got
        ]
        if self.any_of and not any(set(group) <= got for group in self.any_of):
            out.append(tuple(tuple(group) for group in self.any_of))
        return out

    @property
    def kinds(self) -> set[str]:
        return set(self.required) | {k for group in self.any_of for k in group}


@dataclass(frozen=True)
class PermitType:
    code: str
    name: str
    countries: tuple[str, ...]
    rights: tuple[str, ...]
    description: str = ""
    nationalities: tuple[str, ...] = ()
    overrides_stay_limit: bool = True
    validity_days: int | None = None
    valid_until: date | None = None
    applications_open: date | None = None
    applications_close: date | None = None
    present_before: date | None = None
    renewable: bool = False
    renewal_window_days: int = 90
    successor: str | None = None
    requires_prior: tuple[str, ...] = ()
    employer_required: bool = False
    passport_min_valid_days: int = 0
    evidence: EvidenceRule = field(default_factory=EvidenceRule)
    conditions: tuple[str, ...] = ()
    fee_zar: int | None = None
    holders: int | None = None
    source: str = ""

    @property
    def fast_lane(self) -> bool:
        return "fast_lane" in self.rights

    def check_open(self, today: date) -> None:
        """Refuse a new application outside the application window."""
        if self.applications_open and today < self.applications_open:
            raise PermitRuleError(
                f"applications for the {self.name} ({self.code}) open on %(opens)s; "
                f"today is {today.isoformat()}",
                "permit.applications_not_open",
                type=self.code,
                opens=self.applications_open.isoformat(),
            )
        if self.applications_close and today > self.applications_close:
            raise PermitRuleError(
                f"applications for the {self.name} ({self.code}) closed on %(closed)s",
                "permit.applications_closed",
                type=self.code,
                closed=self.applications_close.isoformat(),
            )

    def validity(self, start: date) -> tuple[date, date]:
        """First and last valid day of a permit of this type that starts on ``start``."""
        end: date | None = None
        if self.validity_days is not None:
            end = start + timedelta(days=self.validity_days - 1)
        if self.valid_until is not None:
            end = self.valid_until if end is None else min(end, self.valid_until)
        if end is None:  # guarded at load time; kept for the type checker
            raise PermitTypeFileError(f"{self.code}: neither validity_days nor valid_until")
        if end < start:
            raise PermitRuleError(
                f"the {self.name} ({self.code}) programme ended on {end.isoformat()}: "
                f"no permit can start on {start.isoformat()}"
            )
        return start, end


def _as_tuple(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PermitTypeFileError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def _opt_date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date):
        raise PermitTypeFileError(f"{where}: expected a date like 2027-05-28, got {value!r}")
    return value


def _opt_int(value: Any, where: str, minimum: int = 0) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise PermitTypeFileError(f"{where}: expected a whole number >= {minimum}, got {value!r}")
    return value


_KNOWN_FIELDS = {
    "name",
    "description",
    "countries",
    "nationalities",
    "rights",
    "overrides_stay_limit",
    "validity_days",
    "valid_until",
    "applications_open",
    "applications_close",
    "present_before",
    "renewable",
    "renewal_window_days",
    "successor",
    "requires_prior",
    "employer_required",
    "passport_min_valid_days",
    "evidence",
    "conditions",
    "fee_zar",
    "holders",
    "source",
}


def _parse_type(code: str, raw: Mapping[str, Any]) -> PermitType:
    where = f"permit type {code}"
    unknown = set(raw) - _KNOWN_FIELDS
    if unknown:
        raise PermitTypeFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for required in ("name", "countries", "rights"):
        if required not in raw:
            raise PermitTypeFileError(f"{where}: missing field '{required}'")
    rights = _as_tuple(raw["rights"], f"{where}.rights")
    bad = [r for r in rights if r not in RIGHTS]
    if bad:
        raise PermitTypeFileError(
            f"{where}.rights: unknown right(s) {bad}; known: {', '.join(RIGHTS)}"
        )
    ev = raw.get("evidence", {})
    evidence = EvidenceRule(
        required=_as_tuple(ev.get("required", []), f"{where}.evidence.required"),
        any_of=tuple(
            _as_tuple(g, f"{where}.evidence.any_of[{i}]")
            for i, g in enumerate(ev.get("any_of", []))
        ),
    )
    ptype = PermitType(
        code=code,
        name=str(raw["name"]),
        description=str(raw.get("description", "")),
        countries=_as_tuple(raw["countries"], f"{where}.countries"),
        nationalities=_as_tuple(raw.get("nationalities", []), f"{where}.nationalities"),
        rights=rights,
        overrides_stay_limit=bool(raw.get("overrides_stay_limit", True)),
        validity_days=_opt_int(raw.get("validity_days"), f"{where}.validity_days", 1),
        valid_until=_opt_date(raw.get("valid_until"), f"{where}.valid_until"),
        applications_open=_opt_date(raw.get("applications_open"), f"{where}.applications_open"),
        applications_close=_opt_date(raw.get("applications_close"), f"{where}.applications_close"),
        present_before=_opt_date(raw.get("present_before"), f"{where}.present_before"),
        renewable=bool(raw.get("renewable", False)),
        renewal_window_days=_opt_int(
            raw.get("renewal_window_days", 90), f"{where}.renewal_window_days"
        )
        or 0,
        successor=raw.get("successor"),
        requires_prior=_as_tuple(raw.get("requires_prior", []), f"{where}.requires_prior"),
        employer_required=bool(raw.get("employer_required", False)),
        passport_min_valid_days=_opt_int(
            raw.get("passport_min_valid_days", 0), f"{where}.passport_min_valid_days"
        )
        or 0,
        evidence=evidence,
        conditions=_as_tuple(raw.get("conditions", []), f"{where}.conditions"),
        fee_zar=_opt_int(raw.get("fee_zar"), f"{where}.fee_zar"),
        holders=_opt_int(raw.get("holders"), f"{where}.holders"),
        source=str(raw.get("source", "")),
    )
    if ptype.validity_days is None and ptype.valid_until is None:
        raise PermitTypeFileError(f"{where}: needs validity_days or valid_until")
    if not ptype.countries:
        raise PermitTypeFileError(f"{where}.countries: at least one country")
    return ptype


def load_permit_types(text: str) -> dict[str, PermitType]:
    """Parse a permit type table (TOML); every problem names the type and the field."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PermitTypeFileError(f"permit types: not valid TOML: {exc}") from exc
    raw_types = doc.get("types")
    if not isinstance(raw_types, dict) or not raw_types:
        raise PermitTypeFileError("permit types: no [types.CODE] tables")
    types = {code: _parse_type(code, raw) for code, raw in raw_types.items()}
    for ptype in types.values():
        for ref in (*ptype.requires_prior, *([ptype.successor] if ptype.successor else [])):
            if ref not in types:
                raise PermitTypeFileError(f"permit type {ptype.code}: refers to unknown {ref!r}")
    return types


@cache
def permit_types() -> dict[str, PermitType]:
    """The permit types shipped with Tsela, by code."""
    text = resources.files("tsela.reference").joinpath("permit_types.toml").read_text("utf-8")
    return load_permit_types(text)


def permit_type(code: str) -> PermitType:
    types = permit_types()
    try:
        return types[code.strip().upper()]
    except KeyError:
        raise UnknownPermitType(
            f"unknown permit type {code!r}: known types are {', '.join(sorted(types))}"
        ) from None


# --- the state machine ------------------------------------------------------------------

S = PermitStatus


@dataclass(frozen=True)
class Transition:
    source: PermitStatus
    target: PermitStatus
    permission: Permission  # the roles holding it may make the move (tsela.kernel.access)
    reason_required: bool
    action: str  # the verb users see: "submit", "approve", ...


APPLY, DECIDE = Permission.PERMIT_APPLY, Permission.PERMIT_DECIDE
TRANSITIONS: tuple[Transition, ...] = (
    # Applicants submit their own; employers for their workers; officers at the counter.
    Transition(S.DRAFT, S.SUBMITTED, APPLY, False, "submit"),
    Transition(S.SUBMITTED, S.EVIDENCE_REQUESTED, DECIDE, True, "request evidence"),
    Transition(S.EVIDENCE_REQUESTED, S.SUBMITTED, APPLY, False, "resubmit"),
    Transition(S.SUBMITTED, S.APPROVED, DECIDE, False, "approve"),
    Transition(S.SUBMITTED, S.REJECTED, DECIDE, True, "reject"),
    Transition(S.EVIDENCE_REQUESTED, S.REJECTED, DECIDE, True, "reject"),
    Transition(S.APPROVED, S.ISSUED, DECIDE, False, "issue"),
    Transition(S.ISSUED, S.SUSPENDED, DECIDE, True, "suspend"),
    Transition(S.SUSPENDED, S.ISSUED, DECIDE, True, "reinstate"),
    Transition(S.ISSUED, S.REVOKED, DECIDE, True, "revoke"),
    Transition(S.SUSPENDED, S.REVOKED, DECIDE, True, "revoke"),
    # Expiry follows from the dates; recording it is bookkeeping, no reason needed.
    Transition(S.ISSUED, S.EXPIRED, DECIDE, False, "expire"),
    Transition(S.SUSPENDED, S.EXPIRED, DECIDE, False, "expire"),
)
_BY_PAIR = {(t.source, t.target): t for t in TRANSITIONS}
FINAL = frozenset({S.REJECTED, S.REVOKED, S.EXPIRED})


def parse_status(value: str | PermitStatus) -> PermitStatus:
    """A status from its name; UnknownStatus names the known ones."""
    try:
        return PermitStatus(value)
    except ValueError:
        known = ", ".join(s.value for s in PermitStatus)
        raise UnknownStatus(f"unknown permit status {value!r}: one of {known}") from None


def find_transition(current: str | PermitStatus, target: str | PermitStatus) -> Transition:
    cur, tgt = parse_status(current), parse_status(target)
    found = _BY_PAIR.get((cur, tgt))
    if found is None:
        nexts = [t.target.value for t in TRANSITIONS if t.source is cur]
        refusal = "permit.final" if cur in FINAL else "permit.illegal_transition"
        if cur in FINAL:
            why = f"'{cur}' is final"
        elif nexts:
            why = f"from '{cur}' a permit can only go to {', '.join(repr(n) for n in nexts)}"
        else:
            why = f"nothing follows '{cur}'"
        raise IllegalTransition(f"cannot go from '{cur}' to '{tgt}': {why}", refusal)
    return found


def transition(
    current: str | PermitStatus,
    target: str | PermitStatus,
    role: Role | str,
    reason: str | None = None,
) -> PermitStatus:
    """The new status, if ``role`` may move a permit from ``current`` to ``target``.

    Raises ``IllegalTransition`` (no such move), ``RoleNotAllowed`` or ``ReasonRequired``.
    """
    found = find_transition(current, target)
    try:
        who = Role(role)
    except ValueError:
        raise RoleNotAllowed(f"unknown role {role!r}") from None
    if not allows(who, found.permission):
        allowed = ", ".join(sorted(r.value for r in roles_for(found.permission)))
        raise RoleNotAllowed(
            f"a {who.value} may not {found.action} a permit "
            f"('{found.source}' -> '{found.target}'); allowed: {allowed}"
        )
    if found.reason_required and not (reason and reason.strip()):
        raise ReasonRequired(
            f"a reason is required to {found.action} a permit ('{found.source}' -> "
            f"'{found.target}')"
        )
    return found.target


def allowed_targets(current: str | PermitStatus, role: Role | str) -> list[PermitStatus]:
    cur = parse_status(current)
    return [t.target for t in TRANSITIONS if t.source is cur and allows(Role(role), t.permission)]


# --- validity, expiry, renewal ----------------------------------------------------------


@dataclass(frozen=True)
class ExpiryState:
    status: PermitStatus  # effective status on the day asked about
    days_left: int | None  # days until the last valid day (0 = last day), if issued
    band: int | None  # 30/60/90: the smallest reminder band it falls in


def expiry_status(
    status: str | PermitStatus,
    valid_from: date | None,
    valid_to: date | None,
    today: date,
) -> ExpiryState:
    """The status a permit has on ``today``: an issued permit past its last day is expired.

    Expiry follows from the dates; no scheduled job has to flip it.
    """
    st = parse_status(status)
    if st not in (S.ISSUED, S.SUSPENDED) or valid_to is None:
        return ExpiryState(st, None, None)
    if today > valid_to:
        return ExpiryState(S.EXPIRED, (valid_to - today).days, None)
    left = (valid_to - today).days
    band = next((b for b in REMINDER_BANDS if left <= b), None)
    return ExpiryState(st, left, band)


def is_valid_on(
    status: str | PermitStatus, valid_from: date | None, valid_to: date | None, on: date
) -> bool:
    if parse_status(status) is not S.ISSUED or valid_from is None or valid_to is None:
        return False
    return valid_from <= on <= valid_to


def check_renewal(
    ptype: PermitType, status: str | PermitStatus, valid_to: date | None, today: date
) -> None:
    """Refuse a renewal that the type's rules do not allow, saying why."""
    st = expiry_status(status, None, valid_to, today).status
    if not ptype.renewable:
        follow = (
            f"; its successor is the {permit_type(ptype.successor).name}"
            if (ptype.successor)
            else ""
        )
        raise PermitRuleError(
            f"a {ptype.name} ({ptype.code}) is not renewable{follow}", "permit.not_renewable"
        )
    if st not in (S.ISSUED, S.EXPIRED) or valid_to is None:
        raise PermitRuleError(
            f"only an issued or expired permit can be renewed; this one is {st}",
            "permit.renew_status",
        )
    opens = valid_to - timedelta(days=ptype.renewal_window_days)
    if today < opens:
        raise PermitRuleError(
            "renewal opens %(days)s days before the permit ends: on %(opens)s "
            "(the permit ends %(ends)s)",
            "permit.renewal_not_open",
            days=ptype.renewal_window_days,
            opens=opens.isoformat(),
            ends=valid_to.isoformat(),
        )
    if ptype.valid_until and today > ptype.valid_until:
        raise PermitRuleError(
            f"the {ptype.name} ({ptype.code}) programme ended on %(ended)s",
            "permit.programme_ended",
            ended=ptype.valid_until.isoformat(),
        )


def document_problems(
    *,
    status: str,
    expiry_date: date | None,
    today: date,
    min_valid_days: int = 0,
) -> list[str]:
    """Why a travel document cannot support an application (empty list: it can)."""
    out: list[str] = []
    if status != "valid":
        out.append(f"the document is recorded as {status}")
    if expiry_date is None:
        out.append("the document has no expiry date")
    elif expiry_date < today:
        out.append(f"the document expired on {expiry_date.isoformat()}")
    elif min_valid_days and (expiry_date - today).days < min_valid_days:
        out.append(
            f"the document must be valid at least {min_valid_days} days after the application "
            f"(until {(today + timedelta(days=min_valid_days)).isoformat()}); "
            f"it expires on {expiry_date.isoformat()}"
        )
    return out
