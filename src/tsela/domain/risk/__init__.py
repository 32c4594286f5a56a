"""Risk rules as data (issue 18, item 5): patterns beyond the name lists that the border
check weighs, each explained by the facts that made it hit.

Pure: the rules, their parameters, words and sources are ``reference/risk_rules.toml``;
the facts of a check (``CheckFacts``) are gathered by ``tsela.services.risk`` and the rules
applied here. A hit adds a REFER reason from the catalogue (``reference/reasons.toml``,
``risk.*``), or, for a rule a supervisor set to "inform only", the reason's INFO case: shown
and recorded, the decision unchanged.

- ``rules``: the rules file, ``Mode`` (on / inform / off), each rule's parameters;
- ``facts``: what a check gives the rules (``CheckFacts``, ``DocumentUse``,
  ``PartnerRefusal``);
- ``evaluation``: ``evaluate`` (the hits), ``active`` (the rules whose facts to gather).
"""

from tsela.domain.risk.evaluation import (
    EVALUATORS,
    Hit,
    active,
    completed_stays,
    evaluate,
    mode_of,
)
from tsela.domain.risk.facts import CheckFacts, DocumentUse, PartnerRefusal
from tsela.domain.risk.rules import (
    RULE_IDS,
    ChildAloneNight,
    DocumentTwoPorts,
    Mode,
    RefusedAtPartner,
    RiskRule,
    RiskRuleFileError,
    RiskRules,
    VisaRun,
    parse,
    rules,
)

__all__ = [
    "EVALUATORS",
    "RULE_IDS",
    "CheckFacts",
    "ChildAloneNight",
    "DocumentTwoPorts",
    "DocumentUse",
    "Hit",
    "Mode",
    "PartnerRefusal",
    "RefusedAtPartner",
    "RiskRule",
    "RiskRuleFileError",
    "RiskRules",
    "VisaRun",
    "active",
    "completed_stays",
    "evaluate",
    "mode_of",
    "parse",
    "rules",
]
