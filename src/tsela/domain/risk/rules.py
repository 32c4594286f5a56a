"""The risk rules file (``reference/risk_rules.toml``): each rule's id, reason code, default
mode, words, source, rationale and parameters, checked as it is read.

Each rule the check knows has its own parameters (a frozen dataclass below); a file naming an
unknown rule, leaving one out, or giving a parameter a rule does not have (or lacks) is
refused with the first problem named, so a typo never switches a rule off silently.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import time
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from tsela.domain.reasons import LANGUAGES, CatalogueError, catalogue


class Mode(StrEnum):
    """What a rule does at the check: a hit REFERs (on), is shown and recorded without
    changing the decision (inform only), or the rule is not evaluated (off)."""

    ON = "on"
    INFORM = "inform"
    OFF = "off"


class RiskRuleFileError(ValueError):
    """The rules file is wrong; the message names the first problem."""


@dataclass(frozen=True)
class DocumentTwoPorts:
    window_minutes: int


@dataclass(frozen=True)
class RefusedAtPartner:
    window_days: int
    return_minutes: int


@dataclass(frozen=True)
class VisaRun:
    min_stay_days: int
    max_stay_days: int
    max_gap_days: int
    min_stays: int
    lookback_days: int


@dataclass(frozen=True)
class ChildAloneNight:
    night_starts: time
    night_ends: time

    def is_night(self, moment: time) -> bool:
        """Whether ``moment`` (the port's local time) falls in the night; a night that
        starts in the evening runs over midnight to the morning."""
        if self.night_starts <= self.night_ends:
            return self.night_starts <= moment < self.night_ends
        return moment >= self.night_starts or moment < self.night_ends


Parameters = DocumentTwoPorts | RefusedAtPartner | VisaRun | ChildAloneNight

# The rules the check knows how to evaluate, and the shape of each one's parameters.
KINDS: dict[str, type[Parameters]] = {
    "document_two_ports": DocumentTwoPorts,
    "refused_at_partner": RefusedAtPartner,
    "visa_run": VisaRun,
    "child_alone_night": ChildAloneNight,
}
RULE_IDS = tuple(KINDS)


@dataclass(frozen=True)
class RiskRule:
    id: str
    reason: str  # the reason code of a hit (reasons.toml), REFER; its "inform" case INFO
    default_mode: Mode
    words: Mapping[str, str]  # lang -> what the rule looks for
    source: str
    rationale: str
    parameters: Parameters

    def parameter_list(self) -> list[tuple[str, str]]:
        """The parameters as (name, value) text, in the file's order, for the pages."""
        out = []
        for f in fields(self.parameters):
            value = getattr(self.parameters, f.name)
            out.append((f.name, value.strftime("%H:%M") if isinstance(value, time) else str(value)))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "default_mode": self.default_mode.value,
            "en": self.words["en"],
            "st": self.words["st"],
            "source": self.source,
            "rationale": self.rationale,
            "parameters": dict(self.parameter_list()),
        }


@dataclass(frozen=True)
class RiskRules:
    version: str
    rules: Mapping[str, RiskRule]

    def parameters(self, rule_id: str) -> Parameters:
        return self.rules[rule_id].parameters


def _time(value: object, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise RiskRuleFileError(f"{where}: {value!r} is not a time HH:MM") from None


def _parameters(rule_id: str, given: Mapping[str, object]) -> Parameters:
    kind = KINDS[rule_id]
    names = [f.name for f in fields(kind)]
    unknown = sorted(set(given) - set(names))
    missing = [n for n in names if n not in given]
    if unknown or missing:
        said = [f"unknown {', '.join(unknown)}"] if unknown else []
        said += [f"missing {', '.join(missing)}"] if missing else []
        raise RiskRuleFileError(f"rule {rule_id}: parameters: {'; '.join(said)}")
    values: dict[str, Any] = {}
    for f in fields(kind):
        value = given[f.name]
        where = f"rule {rule_id}: {f.name}"
        if f.type in ("time", time):
            values[f.name] = _time(value, where)
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RiskRuleFileError(f"{where}: {value!r} is not a whole number >= 0")
        else:
            values[f.name] = value
    made = kind(**values)
    if isinstance(made, VisaRun) and not (
        0 < made.min_stay_days <= made.max_stay_days and made.min_stays >= 2
    ):
        raise RiskRuleFileError(
            f"rule {rule_id}: min_stay_days must lie in 1..max_stay_days and min_stays >= 2"
        )
    if isinstance(made, ChildAloneNight) and made.night_starts == made.night_ends:
        raise RiskRuleFileError(f"rule {rule_id}: the night starts and ends at the same time")
    return made


def parse(text: str) -> RiskRules:
    """The rules from the file's TOML text; RiskRuleFileError names the first problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RiskRuleFileError(f"risk rules: {exc}") from None
    given = doc.get("rules", {})
    unknown = sorted(set(given) - set(KINDS))
    if unknown:
        raise RiskRuleFileError(f"unknown rule {', '.join(unknown)}: the check knows {RULE_IDS}")
    absent = [r for r in KINDS if r not in given]
    if absent:
        raise RiskRuleFileError(f"rule {', '.join(absent)} is missing from the file")
    rules: dict[str, RiskRule] = {}
    for rule_id in KINDS:
        entry = given[rule_id]
        missing = [k for k in ("reason", "default_mode", "source", "rationale", *LANGUAGES)
                   if not entry.get(k)]  # fmt: skip
        if missing:
            raise RiskRuleFileError(f"rule {rule_id}: missing {', '.join(missing)}")
        try:
            mode = Mode(entry["default_mode"])
        except ValueError:
            raise RiskRuleFileError(
                f"rule {rule_id}: default_mode {entry['default_mode']!r} is not on, inform or off"
            ) from None
        code = str(entry["reason"])
        try:  # a hit is said from the reasons catalogue, in both of its cases
            for variant in ("", "inform"):
                catalogue().text(code, variant)
        except CatalogueError as exc:
            raise RiskRuleFileError(f"rule {rule_id}: {exc}") from None
        rules[rule_id] = RiskRule(
            id=rule_id,
            reason=code,
            default_mode=mode,
            words={lang: str(entry[lang]) for lang in LANGUAGES},
            source=str(entry["source"]),
            rationale=str(entry["rationale"]),
            parameters=_parameters(rule_id, entry.get("parameters", {})),
        )
    return RiskRules(str(doc.get("version", "")), rules)


@cache
def rules() -> RiskRules:
    """The rules shipped with Tsela."""
    text = resources.files("tsela.reference").joinpath("risk_rules.toml").read_text("utf-8")
    return parse(text)
