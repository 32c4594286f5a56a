"""Wait-time estimate against simulated true waits (issue 20, "Speed and accuracy").

A simulated day at Maseru Bridge (one direction), an ordinary day and a December peak
(``tsela.synth.queues``). Every 5 minutes the estimate is published from what the port
could know at that moment (tickets issued, turns started, desks' decisions); it is compared
with the mean true wait of the travellers who arrive in the next 5 minutes. Printed beside
it, in the same run, the naive estimate the issue names (queue length times the mean service
time) and a fairer hand rule (the same divided by the desks open).

    python bench/waits.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
from datetime import date, timedelta

from tsela.domain.waits import Queue, estimate_wait, naive_wait
from tsela.synth.queues import ORDINARY, ORDINARY_DESKS, SimulatedDay, peak_day, simulate_day

TICK = timedelta(minutes=5)


def errors(day: SimulatedDay) -> tuple[list[float], list[float], list[float], float]:
    queue = Queue(day.arrivals, day.turns, day.decisions)
    ours: list[float] = []
    naive: list[float] = []
    per_desk: list[float] = []
    truths: list[float] = []
    start = day.arrivals[0].replace(minute=0, second=0, microsecond=0)
    t = start
    end = day.arrivals[-1]
    i = 0
    while t < end:
        while i < len(day.waits) and day.waits[i][0] < t:
            i += 1
        coming = [m for at, m in day.waits[i:] if at < t + TICK]
        t_next = t + TICK
        if coming:
            truth = statistics.mean(coming)
            estimate = estimate_wait(queue, t)
            naive_now = naive_wait(queue, t)
            if estimate.minutes is not None and naive_now is not None:
                ours.append(abs(estimate.minutes - truth))
                naive.append(abs(naive_now - truth))
                per_desk.append(abs(naive_now / max(estimate.desks, 1) - truth))
                truths.append(truth)
        t = t_next
    return ours, naive, per_desk, statistics.mean(truths) if truths else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="simulated days of each kind")
    args = parser.parse_args()
    print(f"# {platform.node()} · Python {platform.python_version()}")
    print(f"{'day':<18}{'ticks':>7}{'mean true wait':>16}{'MAE estimate':>14}{'MAE naive':>11}"
          f"{'MAE naive/desks':>17}")  # fmt: skip
    peak_rates, peak_desks = peak_day()
    kinds = (
        ("ordinary (June)", date(2026, 6, 15), ORDINARY, ORDINARY_DESKS),
        ("December peak", date(2026, 12, 18), peak_rates, peak_desks),
    )
    for name, on, rates, desks in kinds:
        ours_all: list[float] = []
        naive_all: list[float] = []
        per_desk_all: list[float] = []
        truth_means: list[float] = []
        for seed in range(args.seeds):
            day = simulate_day(on, per_hour=rates, desks=desks, seed=seed)
            ours, naive, per_desk, truth = errors(day)
            ours_all += ours
            naive_all += naive
            per_desk_all += per_desk
            truth_means.append(truth)
        print(
            f"{name:<18}{len(ours_all):>7}{statistics.mean(truth_means):>12.1f} min"
            f"{statistics.mean(ours_all):>10.1f} min{statistics.mean(naive_all):>7.1f} min"
            f"{statistics.mean(per_desk_all):>13.1f} min"
        )


if __name__ == "__main__":
    main()
