"""Stay rules: how long a traveller may stay, kept as data, and the arithmetic that applies them.

A rule (one TOML file under ``tsela/reference/stay_rules/``) names who it applies to and has
dated versions; each version combines a maximum stay per entry, an optional rolling-window cap
("N days in any M days", like the Schengen 90/180 rule) and the permit types whose validity
lets the holder stay on regardless of those limits.

Counting follows the EU rule (Regulation (EU) 2016/399, art. 6): the day of entry and the day
of exit both count as days of stay, and the window checked on a day is that day and the M - 1
days before it. A stay still open counts up to the day asked about. When a traveller leaves
and re-enters on the same day, that calendar day counts once for the window (it is one day of
presence), while each of the two stays counts it towards its own per-entry limit.

The arithmetic works on day intervals with running totals (numpy for all stays at once,
bisect for single days), never day by day, so a traveller with a thousand past crossings is
evaluated in well under a millisecond. The key fact that makes this possible: while a
traveller stays on continuously (and no permit covers the days), the days used in the window
ending on each day never decrease, since each new day adds one and at most one old day drops
out. So a stay is over the limit from some day to its end, and that first day is found by
binary search.

Pure: no clock, no I/O except reading the rule files shipped in the package.

- ``errors``: the exceptions;
- ``rules``: rule files, their versions, choosing the rule;
- ``model``: ``Stay``, ``PermitCover``, ``StayOutcome``, ``StayAssessment``;
- ``days``: interval arithmetic on day numbers;
- ``evaluation``: ``evaluate``;
- ``explanation``: the assessment in words;
- ``crossing``: the stay as a border check sees it (``with_crossing``, ``assess_crossing``).
"""

from tsela.domain.stay.crossing import (
    CrossingStay,
    HeldPermit,
    StaySpan,
    assess_crossing,
    with_crossing,
)
from tsela.domain.stay.errors import (
    RuleFileError,
    RuleNotInForceError,
    StayInputError,
    UnknownRuleError,
)
from tsela.domain.stay.evaluation import evaluate
from tsela.domain.stay.model import PermitCover, Stay, StayAssessment, StayOutcome
from tsela.domain.stay.rules import (
    StayRule,
    StayRuleVersion,
    get_rule,
    load_rules,
    parse_rule,
    select_rule,
    with_rules,
)

__all__ = [
    "CrossingStay",
    "HeldPermit",
    "PermitCover",
    "RuleFileError",
    "RuleNotInForceError",
    "Stay",
    "StayAssessment",
    "StayInputError",
    "StayOutcome",
    "StayRule",
    "StayRuleVersion",
    "StaySpan",
    "UnknownRuleError",
    "assess_crossing",
    "evaluate",
    "get_rule",
    "load_rules",
    "parse_rule",
    "select_rule",
    "with_crossing",
    "with_rules",
]
