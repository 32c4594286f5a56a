"""Governance rules without a database: lateness by local date, notes, cycles, the review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tsela.domain.governance import (
    DateOrderError,
    DependencyCycleError,
    GovernanceError,
    NoteRequiredError,
    ReviewEntry,
    Status,
    build_review,
    check_acyclic,
    check_dates,
    check_transition,
    days_late,
    effective_status,
    find_cycle,
    is_late,
    local_today,
    parse_status,
    progress_towards,
    rollup,
)


@dataclass
class Item:
    due_date: date
    status: Status = Status.ON_TRACK


DUE = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("utc_time", "tz", "late"),
    [
        # Maseru and Johannesburg are UTC+2: 22:00 UTC on the due date is already 1 July.
        (datetime(2026, 6, 30, 21, 59, tzinfo=UTC), "Africa/Maseru", False),
        (datetime(2026, 6, 30, 22, 0, tzinfo=UTC), "Africa/Maseru", True),
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "Africa/Maseru", True),
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "Africa/Johannesburg", True),
        # The same instant is still 30 June for a body on UTC or west of it.
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "UTC", False),
        (datetime(2026, 7, 1, 2, 0, tzinfo=UTC), "America/Sao_Paulo", False),
        (datetime(2026, 7, 1, 3, 0, tzinfo=UTC), "America/Sao_Paulo", True),
    ],
)
def test_late_is_decided_on_the_owners_local_date(utc_time: datetime, tz: str, late: bool) -> None:
    assert is_late(Item(DUE), utc_time, tz) is late


def test_an_instant_given_in_another_offset_is_the_same_instant() -> None:
    # 01:30 on 1 July at UTC+3 is 22:30 UTC on 30 June, i.e. 00:30 on 1 July in Maseru.
    now = datetime(2026, 7, 1, 1, 30, tzinfo=timezone(timedelta(hours=3)))
    assert local_today(now, "Africa/Maseru") == date(2026, 7, 1)
    assert is_late(Item(DUE), now, "Africa/Maseru")
    assert days_late(Item(DUE), datetime(2026, 7, 10, 12, tzinfo=UTC), "Africa/Maseru") == 10


def test_done_or_dropped_is_never_late_and_effective_status_overrides_claims() -> None:
    after = datetime(2026, 8, 1, tzinfo=UTC)
    assert not is_late(Item(DUE, Status.DONE), after, "Africa/Maseru")
    assert not is_late(Item(DUE, Status.DROPPED), after, "Africa/Maseru")
    # Reported "on track" after the due date has passed: the calendar says late.
    assert effective_status(Item(DUE, Status.ON_TRACK), after, "Africa/Maseru") is Status.LATE
    before = datetime(2026, 6, 1, tzinfo=UTC)
    assert effective_status(Item(DUE, Status.AT_RISK), before, "Africa/Maseru") is Status.AT_RISK


def test_naive_time_and_unknown_zone_are_refused() -> None:
    with pytest.raises(GovernanceError, match="naive time"):
        is_late(Item(DUE), datetime(2026, 7, 1, 12), "Africa/Maseru")
    with pytest.raises(GovernanceError, match="unknown time zone 'Africa/Mazeru'"):
        is_late(Item(DUE), datetime(2026, 7, 1, tzinfo=UTC), "Africa/Mazeru")


def test_due_before_start_is_refused_with_both_dates() -> None:
    check_dates(date(2026, 1, 1), date(2026, 1, 1), "activity A")  # same day is fine
    with pytest.raises(DateOrderError, match=r"activity A: due date 2025-12-31 is before"):
        check_dates(date(2026, 1, 1), date(2025, 12, 31), "activity A")


@pytest.mark.parametrize("target", [Status.AT_RISK, Status.LATE, Status.DONE, Status.DROPPED])
def test_moving_to_a_status_that_needs_explaining_needs_a_note(target: Status) -> None:
    with pytest.raises(NoteRequiredError, match=f"to {target.label} needs a note"):
        check_transition(Status.ON_TRACK, target, "  ", "activity A")
    check_transition(Status.ON_TRACK, target, "minutes of 3 May", "activity A")


def test_reopening_needs_a_note_but_starting_work_does_not() -> None:
    check_transition(Status.NOT_STARTED, Status.ON_TRACK, "", "activity A")
    with pytest.raises(NoteRequiredError, match="reopening a done activity"):
        check_transition(Status.DONE, Status.ON_TRACK, "", "activity A")


def test_status_words_are_read_as_people_write_them() -> None:
    assert parse_status("On track") is Status.ON_TRACK
    assert parse_status("at-risk") is Status.AT_RISK
    assert parse_status(" NOT_STARTED ") is Status.NOT_STARTED
    with pytest.raises(GovernanceError, match=r"unknown status 'finished'.*done"):
        parse_status("finished")


def test_cycles_are_found_and_named_in_dependency_order() -> None:
    assert find_cycle({"A": ["B"], "B": ["C"], "C": []}) is None
    cycle = find_cycle({"A": ["B"], "B": ["C"], "C": ["A"], "D": ["A"]})
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"A", "B", "C"}
    # Each step reads "depends on".
    deps = {"A": ["B"], "B": ["C"], "C": ["A"]}
    assert all(cycle[i + 1] in deps[cycle[i]] for i in range(len(cycle) - 1))
    with pytest.raises(DependencyCycleError, match="circular dependency between activities"):
        check_acyclic(deps)


def test_rollup_shows_the_worst_open_state() -> None:
    assert rollup([Status.DONE, Status.LATE, Status.ON_TRACK]) is Status.LATE
    assert rollup([Status.DONE, Status.AT_RISK]) is Status.AT_RISK
    assert rollup([Status.DONE, Status.NOT_STARTED]) is Status.ON_TRACK
    assert rollup([Status.DONE, Status.DROPPED]) is Status.DONE
    assert rollup([Status.DROPPED]) is Status.DROPPED
    assert rollup([]) is Status.NOT_STARTED


def test_progress_towards_a_target_that_goes_down() -> None:
    # Clearance time from 40 to 20 minutes; measured 30 is half way.
    assert progress_towards(40, 20, 30) == pytest.approx(0.5)
    assert progress_towards(40, 70, 55) == pytest.approx(0.5)
    assert progress_towards(40, 70, None) is None


def _entry(code: str, due: date, status: Status, **kw: object) -> ReviewEntry:
    base: dict[str, object] = dict(
        code=code,
        title=f"activity {code}",
        objective="O1",
        owner="LS-HOME",
        start_date=date(2026, 1, 1),
        due_date=due,
        status=status,
        tz="Africa/Maseru",
    )
    base.update(kw)
    return ReviewEntry(**base)  # type: ignore[arg-type]


def test_review_groups_what_the_session_must_see() -> None:
    since = date(2026, 4, 23)  # last session
    now = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)  # 00:30 on 25 Nov in Maseru
    entries = [
        _entry("late-by-one-day", date(2026, 11, 24), Status.ON_TRACK),
        _entry("late-long", date(2026, 5, 1), Status.AT_RISK),
        _entry("due-today-local", date(2026, 11, 25), Status.ON_TRACK),
        _entry("risk", date(2027, 1, 1), Status.AT_RISK),
        _entry("done-since", date(2026, 9, 1), Status.DONE, closed_on=date(2026, 8, 30)),
        _entry("done-at-last-session", date(2026, 4, 1), Status.DONE, closed_on=since),
        _entry("dropped-before", date(2026, 3, 1), Status.DROPPED, closed_on=date(2026, 2, 1)),
        _entry("new", date(2027, 3, 1), Status.NOT_STARTED, introduced_on=date(2026, 6, 1)),
        _entry("agreed-at-session", date(2027, 3, 1), Status.NOT_STARTED, introduced_on=since),
        _entry("old", date(2027, 3, 1), Status.NOT_STARTED, introduced_on=date(2025, 1, 1)),
    ]
    review = build_review(entries, since, now)
    codes = {name: [i.entry.code for i in getattr(review, name)] for name in review.GROUPS}
    assert codes["late"] == ["late-long", "late-by-one-day"]  # the longest overdue first
    assert codes["at_risk"] == ["risk"]
    assert codes["done"] == ["done-since"]
    assert codes["on_track"] == ["due-today-local"]
    assert sorted(codes["not_started"]) == ["agreed-at-session", "new", "old"]
    assert codes["dropped"] == []
    assert sorted(i.entry.code for i in review.new) == ["agreed-at-session", "new"]
    assert review.late[1].days_late == 1
    assert review.counts()["late"] == 2


def test_review_without_an_earlier_session_lists_everything_as_new() -> None:
    now = datetime(2026, 11, 25, 8, tzinfo=UTC)
    entries = [
        _entry("a", date(2026, 1, 31), Status.DONE, closed_on=date(2026, 1, 30)),
        _entry("b", date(2027, 1, 31), Status.ON_TRACK),
    ]
    review = build_review(entries, None, now)
    assert [i.entry.code for i in review.done] == ["a"]
    assert len(review.new) == 2
