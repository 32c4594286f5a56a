"""How long a sign-in must wait after failures (OWASP: throttle, do not lock out).

Failures are counted per key: an account from one address, an account from anywhere, and an
address across accounts. Each key has a number of free failures; past them every further
attempt must wait, twice as long each time, up to a cap. No key ever locks an account: the
officer at their own desk is slowed only by their own mistakes (the account-wide key leaves
alone the addresses the account recently signed in from), and a stranger guessing from
elsewhere only slows themselves and the other strangers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Policy:
    scope: str  # "pair", "user" or "from": the prefix of the key
    free: int  # failures allowed without waiting
    first_wait: timedelta  # the wait after the last free failure
    max_wait: timedelta

    def wait_after(self, failures: int) -> timedelta:
        """The wait before the next attempt, after ``failures`` counted failures."""
        if failures < self.free:
            return timedelta(0)
        doublings = min(failures - self.free, 32)  # 2**32 seconds is past any cap
        return min(self.first_wait * (2**doublings), self.max_wait)


# An account from one address: a few typing mistakes are free, then 15 s, 30 s, ... 15 min.
PAIR = Policy("pair", free=5, first_wait=timedelta(seconds=15), max_wait=timedelta(minutes=15))
# An account from addresses it has not signed in from lately: many guessers at once (a
# distributed attack) are slowed to one guess a minute in all.
ACCOUNT = Policy("user", free=30, first_wait=timedelta(seconds=1), max_wait=timedelta(minutes=1))
# One address across accounts (password spraying); loose, as many officers may share a NAT.
SOURCE = Policy("from", free=100, first_wait=timedelta(seconds=1), max_wait=timedelta(minutes=1))

FORGET_AFTER = timedelta(hours=24)  # failures older than this no longer count
KNOWN_SOURCE = timedelta(days=90)  # an address the account signed in from is "its desk"
# While one attempt past the free ones is being checked, the key is held so parallel guesses
# are refused; the hold ends with the check (this long only if the process died mid-check).
CHECK_HOLD = timedelta(seconds=30)


def key(policy: Policy, *, username: str, source: str) -> str:
    if policy.scope == "pair":
        return f"pair:{username}|{source}"[:200]
    if policy.scope == "user":
        return f"user:{username}"[:200]
    return f"from:{source}"[:200]
