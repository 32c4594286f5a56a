"""What can go wrong: stays or dates that cannot be evaluated, an unknown rule, a rule
file that cannot be read.
"""

from __future__ import annotations


class StayInputError(ValueError):
    """Stays, permits or dates that cannot be evaluated; the message names the offending one."""


class RuleNotInForceError(StayInputError):
    """The rule has no version in force on the day asked about."""


class UnknownRuleError(ValueError):
    """No rule with that id (or none for that traveller); the message lists the known rules."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class RuleFileError(ValueError):
    """A stay rule file that cannot be read; the message names the file and the field."""
