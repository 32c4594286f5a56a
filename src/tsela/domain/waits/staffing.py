"""How many desks keep the mean wait under a target: the Erlang C queue (M/M/c).

Travellers arrive at random at ``λ`` per hour and a desk serves one in ``s`` minutes on
average; with ``c`` desks the probability that an arrival must wait is Erlang's C formula
and the mean wait is ``C / (cμ − λ)``. Written here (a dozen lines, checked in
``tests/test_waits.py`` against published values) rather than taken from pyworkforce, the
maintained Python implementation, because that package pulls in OR-Tools and pandas for
the rostering Tsela does not use.
"""

from __future__ import annotations

from dataclasses import dataclass


def erlang_c(desks: int, load: float) -> float:
    """Probability that an arrival waits, with ``desks`` servers and offered ``load`` (λ/μ,
    in Erlangs). 1.0 when the desks cannot keep up (load ≥ desks)."""
    if desks <= 0 or load >= desks:
        return 1.0
    if load <= 0:
        return 0.0
    # Erlang B by its stable recurrence, then C from B.
    b = 1.0
    for k in range(1, desks + 1):
        b = load * b / (k + load * b)
    return desks * b / (desks - load * (1 - b))


def mean_wait(desks: int, arrivals_per_hour: float, service_minutes: float) -> float:
    """Mean minutes in the queue (before the desk) with ``desks`` open; inf if unstable."""
    if arrivals_per_hour <= 0:
        return 0.0
    rate = 60.0 / service_minutes  # one desk, travellers per hour
    load = arrivals_per_hour / rate
    if load >= desks:
        return float("inf")
    return erlang_c(desks, load) / (desks * rate - arrivals_per_hour) * 60.0


@dataclass(frozen=True)
class StaffingAdvice:
    hour: int
    arrivals_per_hour: float
    desks: int
    mean_wait_minutes: float


def desks_needed(
    arrivals_per_hour: float, service_minutes: float, target_minutes: float, most: int = 60
) -> int:
    """The fewest desks whose mean wait is at most ``target_minutes`` (``most`` caps it)."""
    desks = 1
    while desks < most and mean_wait(desks, arrivals_per_hour, service_minutes) > target_minutes:
        desks += 1
    return desks
