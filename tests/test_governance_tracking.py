"""Tracking on both back ends: re-planning, progress, session notes, the review, indicators."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from _governance import NOW, SECRETARIAT, import_rows, load_bodies, plan_row
from tsela.domain.governance import (
    DependencyCycleError,
    GovernanceError,
    NoteRequiredError,
    Status,
)
from tsela.services import governance as g
from tsela.services import governance_import as gi
from tsela.services import indicators
from tsela.store.db import session_factory, transaction
from tsela.store.governance import Activity, Evidence, IndicatorTarget, ProgressNote
from tsela.store.models import (
    AuditEvent,
    Crossing,
    Direction,
    Permit,
    Person,
    PortOfEntry,
    Sex,
)


@pytest.fixture
def plan(engine: Engine) -> Engine:
    """NCC plan: A -> B -> C (each depends on the one before), D alone; a BNC committee item."""
    load_bodies(engine)
    report = import_rows(
        engine,
        [
            plan_row("A", due="2026-03-31"),
            plan_row("B", depends_on="A", owner="LS-LABOUR", due="2026-10-31"),
            plan_row("C", depends_on="B", owner="ZA-DHA", due="2027-03-31"),
            plan_row("D", due="2027-06-30", public="yes"),
            plan_row(
                "K1",
                instrument_code="BNC-SEC-2025",
                instrument_kind="resolution",
                instrument_title="Security cluster outcomes",
                body="BNC-SEC",
                adopted_on="2025-04-22",
                objective_code="K",
                objective_title="Cross-border crime",
                owner="ZA-SAPS",
                due="2026-02-28",
            ),
        ],
    )
    assert report.errors == []
    return engine


def _count(engine: Engine, model: type) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_the_database_refuses_a_due_date_before_the_start(plan: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(session_factory(plan)) as s:
        a = g.activity_by_code(s, "A")
        a.due_date = a.start_date - timedelta(days=1)


def test_replanning_checks_dates_owner_and_cycles_and_saves_nothing_on_error(plan: Engine) -> None:
    factory = session_factory(plan)
    audits = _count(plan, AuditEvent)
    bad = [
        (g.ActivityChanges(due_date=date(2025, 1, 1)), "x", GovernanceError, "before the start"),
        (g.ActivityChanges(due_date=date(2026, 4, 30)), "", GovernanceError, "needs a note"),
        (g.ActivityChanges(owner="MINISTRY-OF-MAGIC"), "", g.NotFound, "known bodies are"),
        (
            g.ActivityChanges(title="Renamed", depends_on=["C"]),
            "",
            DependencyCycleError,
            "A -> C -> B -> A",
        ),
    ]
    for changes, note, error, message in bad:
        with pytest.raises(error, match=message), transaction(factory) as s:
            g.edit_activity(s, SECRETARIAT, "LS", "A", changes, note, NOW)
    with factory() as s:
        a = g.activity_by_code(s, "A")
        assert (a.title, a.due_date, a.owner.code) == ("Activity A", date(2026, 3, 31), "LS-HOME")
        assert g.depends_on_codes(a) == []
    assert _count(plan, AuditEvent) == audits
    with transaction(factory) as s:
        g.edit_activity(
            s,
            SECRETARIAT,
            "LS",
            "A",
            g.ActivityChanges(due_date=date(2026, 5, 31), owner="ls-bos"),
            "waiting for the census",
            NOW,
        )
    with factory() as s:
        a = g.activity_by_code(s, "A")
        assert (a.due_date, a.owner.code) == (date(2026, 5, 31), "LS-BOS")
        event = s.scalars(
            select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        ).first()
    assert event is not None and event.action == "governance.activity.edit"
    assert event.detail["changed"]["due_date"] == ["2026-03-31", "2026-05-31"]
    assert event.detail["note"] == "waiting for the census"


def test_progress_needs_a_note_for_done_and_dates_closure_locally(plan: Engine) -> None:
    factory = session_factory(plan)
    with pytest.raises(NoteRequiredError), transaction(factory) as s:
        g.report_progress(s, SECRETARIAT, "LS", g.ProgressUpdate("A", Status.DONE), NOW)
    assert _count(plan, ProgressNote) == 0
    # 22:30 UTC on 30 June is 1 July in Maseru: the closure is dated 1 July.
    late_evening = datetime(2026, 6, 30, 22, 30, tzinfo=UTC)
    update = g.ProgressUpdate(
        "A",
        Status.DONE,
        "Protocol signed",
        (g.EvidenceInput("https://example.org/protocol.pdf"), g.EvidenceInput("files/sig.pdf")),
    )
    with transaction(factory) as s:
        g.report_progress(s, SECRETARIAT, "LS", update, late_evening)
    with factory() as s:
        a = g.activity_by_code(s, "A")
        assert (a.status, a.closed_on) == (Status.DONE, date(2026, 7, 1))
        assert [(n.status_from, n.status_to, n.text) for n in a.notes] == [
            (Status.NOT_STARTED, Status.DONE, "Protocol signed")
        ]
        assert sorted((e.kind, e.location) for e in a.evidence) == [
            ("attachment", "files/sig.pdf"),
            ("link", "https://example.org/protocol.pdf"),
        ]
        event = s.scalars(select(AuditEvent).where(AuditEvent.action.like("%progress"))).one()
    assert event.detail["status"] == ["not_started", "done"]


def test_session_notes_apply_all_or_nothing(plan: Engine, tmp_path: Path) -> None:
    factory = session_factory(plan)
    with transaction(factory) as s:
        g.add_meeting(s, SECRETARIAT, "LS", "NCC", date(2026, 11, 20), "Maseru")
    notes = tmp_path / "notes.csv"
    notes.write_text(
        "activity,status,note,evidence\n"
        "A,done,Signed on 12 Nov,https://example.org/a\n"
        "B,at risk,,\n"
        "ZZ,done,x,\n"
        "C,on track,,\n"
        "A,late,again,\n"
    )
    rows = gi.read_table(notes, gi.NOTE_FILE_COLUMNS)
    with pytest.raises(g.LineErrors) as caught, transaction(factory) as s:
        meeting = g.meeting_on(s, "NCC", date(2026, 11, 20))
        g.apply_session_notes(s, SECRETARIAT, "LS", rows, NOW, meeting)
    assert [(e.line, e.message) for e in caught.value.errors] == [
        (3, "activity B: moving from not started to at risk needs a note saying why"),
        (4, "unknown activity 'ZZ'"),
        (6, "activity A is already updated on line 2"),
    ]
    with factory() as s:
        assert {a.code: a.status for a in s.scalars(select(Activity))} == {
            code: Status.NOT_STARTED for code in "ABCD"
        } | {"K1": Status.NOT_STARTED}
    assert _count(plan, Evidence) == 0
    notes.write_text(
        "activity,status,note,evidence\n"
        "A,done,Signed on 12 Nov,https://example.org/a\n"
        "B,at risk,Budget not released,\n"
        "C,,Drafting started,\n"
    )
    with transaction(factory) as s:
        meeting = g.meeting_on(s, "NCC", date(2026, 11, 20))
        done = g.apply_session_notes(
            s, SECRETARIAT, "LS", gi.read_table(notes, gi.NOTE_FILE_COLUMNS), NOW, meeting
        )
    assert [a.code for a in done] == ["A", "B", "C"]
    with factory() as s:
        a, b, c = (g.activity_by_code(s, x) for x in "ABC")
        assert (a.status, a.closed_on) == (Status.DONE, date(2026, 11, 20))  # the session's date
        assert b.status is Status.AT_RISK and c.status is Status.NOT_STARTED
        assert {x.last_reviewed_meeting.held_on for x in (a, b, c)} == {date(2026, 11, 20)}
        assert [n.text for n in c.notes] == ["Drafting started"]


def test_the_review_starts_at_the_last_session_and_covers_committees(plan: Engine) -> None:
    factory = session_factory(plan)
    with transaction(factory) as s:
        for held in (date(2026, 4, 10), date(2026, 11, 25)):
            g.add_meeting(s, SECRETARIAT, "LS", "NCC", held, "Maseru")
        g.report_progress(
            s,
            SECRETARIAT,
            "LS",
            g.ProgressUpdate("B", Status.DONE, "ok"),
            datetime(2026, 4, 5, 9, tzinfo=UTC),
        )
    # 25 Nov is the session day itself: the last session before it is 10 April.
    now = datetime(2026, 11, 25, 6, tzinfo=UTC)
    with factory() as s:
        br = g.review(s, SECRETARIAT, "NCC", now)
        assert br.last_session is not None and br.last_session.held_on == date(2026, 4, 10)
        assert [i.entry.code for i in br.review.late] == ["A"]
        assert br.review.done == []  # B was closed on 5 April, before that session
        assert sorted(i.entry.code for i in br.review.not_started) == ["C", "D"]
        since = g.review(s, SECRETARIAT, "NCC", now, since=date(2026, 1, 1))
        assert [i.entry.code for i in since.review.done] == ["B"]
        bnc = g.review(s, SECRETARIAT, "BNC", now)  # BNC-SEC sits under the BNC
        assert [i.entry.code for i in bnc.review.late] == ["K1"]
        assert bnc.review.late[0].days_late == (date(2026, 11, 25) - date(2026, 2, 28)).days
        with pytest.raises(g.NotFound, match="unknown body 'XYZ'"):
            g.review(s, SECRETARIAT, "XYZ", now)


def _person(s, name: str, nationality: str = "LSO") -> Person:  # type: ignore[no-untyped-def]
    p = Person(
        node="LS",
        primary_name=name,
        given_names="T",
        sex=Sex.FEMALE,
        birth_date=date(1990, 1, 1),
        nationality=nationality,
    )
    s.add(p)
    s.flush()
    return p


def _cross(s, person: Person, port: str, direction: Direction, at: datetime) -> None:  # type: ignore[no-untyped-def]
    port_id = s.scalar(select(PortOfEntry.id).where(PortOfEntry.code == port))
    s.add(
        Crossing(
            node="LS",
            person_id=person.id,
            port_id=port_id,
            direction=direction,
            country="ZAF" if direction is Direction.ENTRY else "LSO",
            crossed_at=at,
        )
    )


def test_indicators_measure_the_store_and_say_none_without_data(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory() as s:
        empty = indicators.measure(
            s, "crossings.monthly_count", date(2026, 11, 15), {"port": "MSU"}
        )
        share = indicators.measure(s, "permits.valid_share_lso_in_za", date(2026, 11, 15))
    assert empty.value is None and share.value is None
    with transaction(factory) as s:
        a, b, c = _person(s, "A"), _person(s, "B"), _person(s, "C")
        z = _person(s, "Z", nationality="ZAF")
        _cross(s, a, "MSU", Direction.ENTRY, datetime(2026, 10, 1, 8, tzinfo=UTC))
        _cross(s, b, "MSU", Direction.ENTRY, datetime(2026, 10, 31, 21, 30, tzinfo=UTC))
        # 22:30 UTC on 31 October is 1 November at the border: November's count.
        _cross(s, c, "MSU", Direction.ENTRY, datetime(2026, 10, 31, 22, 30, tzinfo=UTC))
        _cross(s, c, "MSU", Direction.EXIT, datetime(2026, 11, 3, 10, tzinfo=UTC))
        _cross(s, z, "FKB", Direction.ENTRY, datetime(2026, 10, 5, 10, tzinfo=UTC))
        s.add(
            Permit(
                node="LS",
                number="LEP-1",
                person_id=a.id,
                permit_type="LEP",
                status="issued",
                country="ZAF",
                valid_from=date(2024, 1, 1),
                valid_to=date(2027, 5, 28),
            )
        )
        s.add(
            Permit(
                node="LS",
                number="LEP-2",
                person_id=b.id,
                permit_type="LEP",
                status="revoked",
                country="ZAF",
                valid_from=date(2024, 1, 1),
                valid_to=date(2027, 5, 28),
            )
        )
    with factory() as s:
        october = indicators.measure(
            s, "crossings.monthly_count", date(2026, 11, 15), {"port": "MSU"}
        )
        entries = indicators.measure(
            s, "crossings.monthly_count", date(2026, 11, 30), {"port": "MSU", "direction": "exit"}
        )
        other = indicators.measure(
            s, "crossings.monthly_count", date(2026, 11, 15), {"port": "VRG"}
        )
        # On 15 November A and B are in South Africa (C went home); only A holds a valid permit.
        share = indicators.measure(s, "permits.valid_share_lso_in_za", date(2026, 11, 15))
        valid = indicators.measure(s, "permits.valid_count", date(2026, 11, 15), {"type": "LEP"})
    assert (october.value, october.as_of) == (2.0, date(2026, 10, 31))
    assert (entries.value, entries.as_of) == (1.0, date(2026, 11, 30))
    assert other.value is None  # nothing ever recorded at that port: no data, not zero
    assert share.value == 50.0 and share.unit == "%"
    assert valid.value == 1.0
    with pytest.raises(indicators.IndicatorError, match="unknown port 'XXX'"):
        indicators.validate("crossings.monthly_count", {"port": "XXX"})
    with pytest.raises(indicators.IndicatorError, match="needs port"):
        indicators.validate("crossings.monthly_count", {})
    with pytest.raises(indicators.IndicatorError, match="does not take colour"):
        indicators.validate("permits.valid_count", {"colour": "red"})


def test_objective_progress_shows_the_measured_value(engine: Engine) -> None:
    load_bodies(engine)
    report = import_rows(
        engine,
        [
            plan_row(
                "P1",
                indicator="permits.valid_share_lso_in_za",
                baseline="40",
                target="60",
                unit="%",
            )
        ],
    )
    assert report.errors == []
    factory = session_factory(engine)
    with transaction(factory) as s:
        a, b = _person(s, "A"), _person(s, "B")
        for p in (a, b):
            _cross(s, p, "MSU", Direction.ENTRY, datetime(2026, 10, 1, 8, tzinfo=UTC))
        s.add(
            Permit(
                node="LS",
                number="LEP-9",
                person_id=a.id,
                permit_type="LEP",
                status="issued",
                country="ZAF",
                valid_from=date(2024, 1, 1),
                valid_to=date(2027, 5, 28),
            )
        )
    with factory() as s:
        objective = g.activity_by_code(s, "P1").objective
        (p,) = g.indicator_progress(s, objective, date(2026, 11, 1))
        assert s.scalars(select(IndicatorTarget)).one().unit == "%"
    assert p.measurement.value == 50.0
    assert p.progress == pytest.approx(0.5)  # half way from 40 to 60
