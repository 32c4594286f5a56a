"""Risk rules (issue 18, item 5): the rules and their modes (/v1/risk-rules), a rule hit as
a check answers it and as the officer decides it (/v1/risk-hits), and each rule's tally for
the observatory."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tsela.api.schemas.common import Day, Id, Moment, Out

__all__ = ["RiskHitOut", "RiskRuleOut", "RiskTallyOut", "RiskTallyPageOut"]

Mode = Literal["on", "inform", "off"]


class RiskHitOut(Out):
    """A risk rule's hit at a check: the reason it added (REFER; INFO for a rule set to
    "inform only") and what the officer made of it."""

    id: Id
    check_id: Id
    rule: str = Field(examples=["visa_run"])
    mode: Mode = Field(description="The rule's mode when it hit (on or inform)")
    code: str = Field(description="The reason code, e.g. risk.visa_run")
    variant: str = Field(description="inform for a rule set to inform only; else empty")
    params: dict[str, str] = Field(description="The facts the words name")
    message: str = Field(description="In English words")
    outcome: Literal["confirmed", "dismissed"] | None = Field(
        description="The officer's judgement; empty until decided"
    )
    outcome_by: str | None
    outcome_at: Moment | None
    outcome_note: str | None


class RiskRuleOut(Out):
    """A risk rule (``reference/risk_rules.toml``) and its mode at this node."""

    id: str
    reason: str = Field(description="The reason code a hit adds")
    default_mode: Mode
    mode: Mode = Field(description="The mode now (a supervisor's setting, else the default)")
    en: str
    st: str
    source: str
    rationale: str
    parameters: dict[str, str]
    changed_by: str | None
    changed_at: Moment | None
    change_reason: str | None


class RiskTallyOut(Out):
    rule: str
    en: str
    st: str
    mode: Mode = Field(description="The rule's mode now")
    hits: int
    inform_only: int = Field(description="Of the hits, those made while inform only")
    confirmed: int
    dismissed: int
    open: int = Field(description="Neither confirmed nor dismissed yet")


class RiskTallyPageOut(Out):
    """Each rule's hits at the checks of the border days ``start`` to ``end``."""

    start: Day
    end: Day
    rules: list[RiskTallyOut]
