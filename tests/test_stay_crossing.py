"""The stay as a border check sees it (``tsela.domain.stay.crossing``), without a database.

The rule used is the shipped LSO-ZAF-VISITOR: a citizen of Lesotho may stay in South Africa
30 days per entry (the day of entry and the day of exit both count), with no rolling cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from tsela.domain.decisions import PastCrossing
from tsela.domain.reasons import Reason
from tsela.domain.stay import CrossingStay, assess_crossing, with_crossing
from tsela.domain.values import Direction
from tsela.kernel.clock import BORDER_TZ

D = date.fromisoformat
ENTRY, EXIT = Direction.ENTRY, Direction.EXIT


def crossed(direction: str, day: str, hour: int = 10) -> PastCrossing:
    """A crossing recorded at ``hour`` o'clock border time on ``day``."""
    return PastCrossing(direction, datetime.combine(D(day), time(hour), BORDER_TZ), "MSU")


def codes(reasons: list[Reason]) -> list[str]:
    return [r.code for r in reasons]


# --------------------------------------------------------------------------- with_crossing


def test_an_entry_with_no_stay_opens_one_on_the_day() -> None:
    assert with_crossing([], ENTRY, D("2026-03-01")) == [(D("2026-03-01"), None)]


def test_an_exit_closes_the_open_stay_on_the_day() -> None:
    stays = [(D("2026-01-05"), D("2026-01-09")), (D("2026-03-01"), None)]
    assert with_crossing(stays, EXIT, D("2026-03-10")) == [
        (D("2026-01-05"), D("2026-01-09")),
        (D("2026-03-01"), D("2026-03-10")),
    ]


def test_an_entry_while_still_inside_closes_the_open_stay_the_day_before() -> None:
    # The exit in between was never recorded: the open stay ends the day before the new
    # entry, so no day counts twice, and the new entry opens its own stay.
    stays = [(D("2026-03-01"), None)]
    assert with_crossing(stays, ENTRY, D("2026-03-20")) == [
        (D("2026-03-01"), D("2026-03-19")),
        (D("2026-03-20"), None),
    ]


def test_a_second_entry_on_the_day_of_the_open_stays_entry_keeps_that_stay_open() -> None:
    # Entered this morning (no exit recorded), checked on entry again this afternoon.
    assert with_crossing([(D("2026-03-01"), None)], ENTRY, D("2026-03-01")) == [
        (D("2026-03-01"), None)
    ]


def test_a_same_day_re_entry_joins_the_stay_that_ended_that_day() -> None:
    stays = [(D("2026-03-01"), D("2026-03-10"))]
    assert with_crossing(stays, ENTRY, D("2026-03-10")) == [(D("2026-03-01"), None)]


def test_a_re_entry_the_next_day_opens_a_new_stay() -> None:
    stays = [(D("2026-03-01"), D("2026-03-10"))]
    assert with_crossing(stays, ENTRY, D("2026-03-11")) == [
        (D("2026-03-01"), D("2026-03-10")),
        (D("2026-03-11"), None),
    ]


def test_an_exit_with_no_open_stay_leaves_the_stays_as_they_are() -> None:
    closed = [(D("2026-03-01"), D("2026-03-10"))]
    assert with_crossing(closed, EXIT, D("2026-03-15")) == closed
    assert with_crossing([], EXIT, D("2026-03-15")) == []


def test_the_stays_given_are_not_changed() -> None:
    stays = [(D("2026-03-01"), None)]
    with_crossing(stays, EXIT, D("2026-03-05"))
    assert stays == [(D("2026-03-01"), None)]


# --------------------------------------------------------------------------- assess_crossing


@dataclass(frozen=True)
class Permit:
    country: str
    permit_type: str
    type_name: str
    number: str
    overrides_stay_limit: bool
    valid_from: date | None
    valid_to: date | None


def assess(
    direction: Direction,
    day: str,
    history: list[PastCrossing],
    *,
    nationality: str = "LSO",
    permits: tuple[Permit, ...] = (),
) -> tuple[CrossingStay | None, list[Reason]]:
    return assess_crossing(
        nationality=nationality,
        country="ZAF",
        direction=direction,
        day=D(day),
        history=history,
        permits=permits,
    )


def test_a_first_entry_may_stay_30_days() -> None:
    stay, reasons = assess(ENTRY, "2026-03-01", [])
    assert stay is not None
    assert (stay.rule, stay.rule_version) == ("LSO-ZAF-VISITOR", "30-day visa exemption")
    assert (stay.days_used, stay.days_remaining) == (1, 29)
    assert (stay.latest_exit, stay.overstay_days) == (D("2026-03-30"), 0)
    assert codes(reasons) == ["stay.allowed"]
    assert reasons[0].params["latest_exit"] == "2026-03-30"
    assert reasons[0].params["days"] == "30"


def test_a_same_day_re_entry_continues_the_stay_it_ended() -> None:
    # In on 1 March, out on 10 March, back in on 10 March: one stay from 1 March, so the
    # 30 days end on 30 March, not 8 April.
    history = [crossed("entry", "2026-03-01"), crossed("exit", "2026-03-10", 9)]
    stay, reasons = assess(ENTRY, "2026-03-10", history)
    assert stay is not None
    assert (stay.days_used, stay.latest_exit) == (10, D("2026-03-30"))
    assert codes(reasons) == ["stay.allowed"]
    assert reasons[0].params["days"] == "21"


def test_a_re_entry_the_next_day_starts_30_days_afresh() -> None:
    history = [crossed("entry", "2026-03-01"), crossed("exit", "2026-03-10")]
    stay, _ = assess(ENTRY, "2026-03-11", history)
    assert stay is not None
    assert stay.latest_exit == D("2026-04-09")


def test_an_entry_while_still_inside_counts_from_the_new_entry() -> None:
    # Entered on 1 March, no exit recorded, entering again on 20 March: the open stay is
    # closed on 19 March (19 days), the new one may last until 18 April.
    stay, reasons = assess(ENTRY, "2026-03-20", [crossed("entry", "2026-03-01")])
    assert stay is not None
    assert stay.latest_exit == D("2026-04-18")
    assert codes(reasons) == ["stay.allowed"]


def test_an_exit_closes_the_open_stay_and_counts_the_overstay() -> None:
    # 1 January to 5 February: 36 days, 6 over the 30.
    stay, reasons = assess(EXIT, "2026-02-05", [crossed("entry", "2026-01-01")])
    assert stay is not None
    assert stay.overstay_days == 6
    assert stay.stay_days == 36  # the stay this exit ends, as the console shows it
    assert codes(reasons) == ["stay.overstay"]
    assert reasons[0].params["days"] == "6"


def test_an_exit_in_time_has_no_reason() -> None:
    stay, reasons = assess(EXIT, "2026-01-20", [crossed("entry", "2026-01-01")])
    assert stay is not None
    assert stay.overstay_days == 0
    assert reasons == []


def test_an_exit_with_no_open_stay_counts_nothing_new() -> None:
    # Never recorded entering: the exit opens and closes nothing.
    stay, reasons = assess(EXIT, "2026-03-15", [])
    assert stay is not None
    assert (stay.days_used, stay.overstay_days) == (0, 0)
    assert reasons == []


def test_a_permit_that_lifts_the_limit_is_named_and_covers_the_stay() -> None:
    permit = Permit(
        "ZAF", "LSP", "Lesotho Special Permit", "LSP-0001", True, D("2026-01-01"), D("2026-12-31")
    )
    stay, reasons = assess(EXIT, "2026-03-15", [crossed("entry", "2026-01-01")], permits=(permit,))
    assert stay is not None
    assert stay.overstay_days == 0  # 74 days, all under the permit
    assert codes(reasons) == ["permit.valid"]
    assert reasons[0].params["permit"] == "Lesotho Special Permit LSP-0001"


def test_a_permit_for_the_other_country_does_not_count() -> None:
    permit = Permit(
        "LSO", "LSP", "Lesotho Special Permit", "LSP-0001", True, D("2026-01-01"), D("2026-12-31")
    )
    stay, reasons = assess(EXIT, "2026-02-05", [crossed("entry", "2026-01-01")], permits=(permit,))
    assert stay is not None
    assert stay.overstay_days == 6
    assert stay.stay_days == 36  # the stay this exit ends, as the console shows it
    assert codes(reasons) == ["stay.overstay"]


def test_a_citizen_has_no_stay() -> None:
    assert codes(assess(ENTRY, "2026-03-01", [], nationality="ZAF")[1]) == ["stay.citizen"]
    assert assess(ENTRY, "2026-03-01", [], nationality="ZAF")[0] is None


def test_a_traveller_no_rule_covers_has_no_stay() -> None:
    stay, reasons = assess(ENTRY, "2026-03-01", [], nationality="BRA")
    assert stay is None
    assert codes(reasons) == ["stay.no_rule"]


def test_a_history_the_rules_cannot_read_is_a_reason_not_an_error() -> None:
    # An entry recorded after the day of the exit being checked (a port clock set wrong):
    # the stay would end before it began.
    stay, reasons = assess(EXIT, "2026-03-10", [crossed("entry", "2026-03-20")])
    assert stay is None
    assert codes(reasons) == ["stay.unreadable"]


def test_the_answer_is_the_checks_stay_dictionary() -> None:
    stay, _ = assess(ENTRY, "2026-03-01", [])
    assert stay is not None
    assert stay.as_dict() == {
        "rule": "LSO-ZAF-VISITOR",
        "rule_version": "30-day visa exemption",
        "days_used": 1,
        "days_remaining": 29,
        "latest_exit": "2026-03-30",
        "overstay_days": 0,
        "explanation": stay.explanation,
        "stay_days": None,  # an entry closes no stay
    }
