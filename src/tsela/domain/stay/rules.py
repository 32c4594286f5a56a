"""Stay rules as data: one TOML file per rule under ``tsela/reference/stay_rules/``, with
dated versions; reading, validating and choosing the rule for a traveller.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import cache
from importlib import resources
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tsela.domain.stay.errors import RuleFileError, UnknownRuleError
from tsela.reference import is_country

ANY = "*"
RULES_DIR = "stay_rules"


def _code_list(values: Sequence[str], what: str) -> tuple[str, ...]:
    out: list[str] = []
    for raw in values:
        code = raw.strip().upper()
        if code != ANY and not is_country(code):
            raise ValueError(f"{what} {raw!r} is not an ISO 3166-1 alpha-3 country code or '*'")
        out.append(code)
    if not out:
        raise ValueError(f"{what} list is empty")
    return tuple(out)


class StayRuleVersion(BaseModel):
    """The limits of a rule from one date (``effective_from``) to another (``effective_to``).

    A version without ``effective_from`` is written down but not in force (e.g. an announced
    change); giving it a date switches it on from that day. When several versions are in force
    on a day, the one that took effect last wins, so a new version needs no edit of the old one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    effective_from: date | None = None
    effective_to: date | None = None
    max_days_per_entry: int | None = Field(default=None, ge=1)
    window_days: int | None = Field(default=None, ge=2)
    max_days_in_window: int | None = Field(default=None, ge=1)
    # Permit types whose valid days are lawful whatever the limits ("*": any permit given).
    permit_overrides: tuple[str, ...] = ()
    # True: days under a permit still count towards the limits, so once the permit ends the
    # holder must leave ("stay allowed until the permit ends"). False: they are not counted,
    # as in the Schengen rule (Regulation (EU) 2016/399 art. 6(2)).
    permit_days_count: bool = True
    source: str = Field(min_length=1)
    note: str = ""

    @field_validator("permit_overrides")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().upper() for v in value)

    @model_validator(mode="after")
    def _consistent(self) -> StayRuleVersion:
        if (self.window_days is None) != (self.max_days_in_window is None):
            raise ValueError("window_days and max_days_in_window go together: give both or neither")
        if self.window_days is not None and self.max_days_in_window is not None:
            if self.max_days_in_window >= self.window_days:
                raise ValueError(
                    f"max_days_in_window ({self.max_days_in_window}) must be less than "
                    f"window_days ({self.window_days}), or the window limits nothing"
                )
        elif self.max_days_per_entry is None:
            raise ValueError("a version needs max_days_per_entry, a window, or both")
        if self.effective_to is not None:
            if self.effective_from is None:
                raise ValueError("effective_to needs an effective_from")
            if self.effective_to < self.effective_from:
                raise ValueError(
                    f"effective_to {self.effective_to} is before effective_from "
                    f"{self.effective_from}"
                )
        return self

    def in_force_on(self, day: date) -> bool:
        if self.effective_from is None or day < self.effective_from:
            return False
        return self.effective_to is None or day <= self.effective_to

    def overridden_by(self, permit_type: str) -> bool:
        return ANY in self.permit_overrides or permit_type.upper() in self.permit_overrides

    def limits_text(self) -> str:
        parts = []
        if self.max_days_per_entry is not None:
            parts.append(f"at most {self.max_days_per_entry} days per entry")
        if self.window_days is not None:
            parts.append(
                f"at most {self.max_days_in_window} days in any {self.window_days}-day period"
            )
        return " and ".join(parts)


class StayRule(BaseModel):
    """A rule set from one file: who it applies to, and its dated versions."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
    title: str = Field(min_length=1)
    nationality: tuple[str, ...]
    destination: tuple[str, ...]
    # None: travellers without a permit (visitors). Otherwise holders of this permit type.
    permit_type: str | None = None
    source: str = Field(min_length=1)
    versions: tuple[StayRuleVersion, ...] = Field(alias="version", min_length=1)

    @field_validator("nationality")
    @classmethod
    def _nationality(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _code_list(value, "nationality")

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = _code_list(value, "destination")
        if ANY in codes:
            raise ValueError("destination must name countries, not '*'")
        return codes

    @field_validator("permit_type")
    @classmethod
    def _permit_type(cls, value: str | None) -> str | None:
        return value.strip().upper() if value else None

    @model_validator(mode="after")
    def _distinct_dates(self) -> StayRule:
        seen: dict[date, str] = {}
        for v in self.versions:
            if v.effective_from is None:
                continue
            if v.effective_from in seen:
                raise ValueError(
                    f"versions {seen[v.effective_from]!r} and {v.label!r} both take effect on "
                    f"{v.effective_from}; which one applies would be ambiguous"
                )
            seen[v.effective_from] = v.label
        return self

    def version_on(self, day: date) -> StayRuleVersion | None:
        """The version in force on ``day``: of those in force, the one that took effect last."""
        best: StayRuleVersion | None = None
        for v in self.versions:
            if v.in_force_on(day) and (
                best is None or (v.effective_from or date.min) > (best.effective_from or date.min)
            ):
                best = v
        return best

    def applies_to(self, nationality: str, destination: str) -> bool:
        nat, dest = nationality.strip().upper(), destination.strip().upper()
        return (ANY in self.nationality or nat in self.nationality) and dest in self.destination


def _where(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(loc):
        part = loc[i]
        if part == "version" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            parts.append(f"version {int(loc[i + 1]) + 1}")
            i += 2
            continue
        parts.append(str(part))
        i += 1
    return ".".join(parts) if parts else "file"


def parse_rule(text: str, name: str) -> StayRule:
    """One rule from the text of its TOML file; ``name`` is used in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(f"stay rule file {name}: not valid TOML: {exc}") from None
    try:
        return StayRule.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_where(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise RuleFileError(f"stay rule file {name}: {problems}") from None


@cache
def load_rules() -> Mapping[str, StayRule]:
    """The rules shipped with Tsela, by id (read once from the package's data files)."""
    folder = resources.files("tsela.reference").joinpath(RULES_DIR)
    rules: dict[str, StayRule] = {}
    names: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        rule = parse_rule(entry.read_text(encoding="utf-8"), entry.name)
        if rule.id in rules:
            raise RuleFileError(
                f"stay rule file {entry.name}: id {rule.id} is already used by {names[rule.id]}"
            )
        rules[rule.id] = rule
        names[rule.id] = entry.name
    return MappingProxyType(rules)


def with_rules(
    extra: Iterable[StayRule], base: Mapping[str, StayRule] | None = None
) -> dict[str, StayRule]:
    """The shipped rules plus ``extra`` (a rule with a shipped id replaces it)."""
    rules = dict(load_rules() if base is None else base)
    for rule in extra:
        rules[rule.id] = rule
    return rules


def get_rule(rule_id: str, rules: Mapping[str, StayRule] | None = None) -> StayRule:
    rules = load_rules() if rules is None else rules
    wanted = rule_id.strip().upper()
    if wanted in rules:
        return rules[wanted]
    known = ", ".join(sorted(rules)) or "none"
    raise UnknownRuleError(f"unknown stay rule {rule_id!r}: known rules are {known}")


def select_rule(
    rules: Mapping[str, StayRule] | Iterable[StayRule],
    nationality: str,
    destination: str,
    on: date,
    permit_type: str | None = None,
) -> StayRule:
    """The rule for a traveller of ``nationality`` going to ``destination`` on day ``on``.

    A rule written for the traveller's permit type is preferred; otherwise the visitor rule
    (no permit type) applies, and the permit acts through that rule's ``permit_overrides``.
    A rule naming the nationality beats one for any nationality ('*').
    """
    pool = list(rules.values()) if isinstance(rules, Mapping) else list(rules)
    wanted_permit = permit_type.strip().upper() if permit_type else None
    tiers = [wanted_permit, None] if wanted_permit else [None]
    nat = nationality.strip().upper()
    for tier in tiers:
        found = [
            r
            for r in pool
            if r.permit_type == tier and r.applies_to(nat, destination) and r.version_on(on)
        ]
        exact = [r for r in found if nat in r.nationality]
        best = exact or found
        if len(best) > 1:
            ids = ", ".join(sorted(r.id for r in best))
            raise UnknownRuleError(
                f"several stay rules apply to nationality {nat} travelling to "
                f"{destination.upper()} on {on}: {ids}; name one with --rule"
            )
        if best:
            return best[0]
    who = f"nationality {nat} travelling to {destination.upper()}"
    if wanted_permit:
        who += f" with permit {wanted_permit}"
    known = ", ".join(sorted(r.id for r in pool)) or "none"
    raise UnknownRuleError(f"no stay rule in force on {on} for {who}; known rules are {known}")
