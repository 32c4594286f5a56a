"""Matching against the store, on SQLite and PostgreSQL: the report per port and day, the
other side's record at the border check, and the partner's records in the stay evaluation.
Every time is fixed (the check is given ``now``); nothing depends on today's date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from _matching import crossing, partner
from factories import add_traveller, passport
from tsela.domain.values import Direction
from tsela.ids import new_id
from tsela.kernel.actor import Actor
from tsela.services import checks as svc
from tsela.services.matching import matching_report
from tsela.store.db import session_factory, transaction

T = datetime(2026, 12, 20, 12, 13, tzinfo=UTC)  # 14:13 at the border
DAY = date(2026, 12, 20)


def _check(engine: Engine, make_user, direction: str, at: datetime) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    officer = make_user("border_officer", port="MSU")
    with transaction(session_factory(engine)) as s:
        result = svc.run_check(
            s,
            node="ZA",
            officer=Actor.of(s.merge(officer), "ZA"),
            request=svc.CheckRequest(
                port="MSU", direction=Direction(direction), at=at, mrz=passport()
            ),
            now=at + timedelta(minutes=1),
        )
        return result.as_dict()


# --------------------------------------------------------------------------- the report


def test_the_report_pairs_our_exits_with_the_partners_entries(engine: Engine) -> None:
    person, doc = add_traveller(engine, node="LS")
    other, other_doc = add_traveller(engine, "RB7654321", node="LS")
    crossing(engine, "LS", person, doc, "exit", T)
    crossing(engine, "LS", other, other_doc, "exit", T + timedelta(minutes=30))  # never arrives
    partner(
        engine,
        "ZA",
        [
            {"direction": "entry", "crossed_at": (T + timedelta(minutes=11)).isoformat()},
            # Came in from Lesotho, but Lesotho has no record of the exit.
            {
                "direction": "entry",
                "crossed_at": (T + timedelta(hours=1)).isoformat(),
                "document_number": "RC0000001",
                "surname": "NKU",
            },
            # Recorded at the other node's airport: nothing to match with.
            {
                "direction": "entry",
                "port_code": "MSX",
                "crossed_at": T.isoformat(),
                "document_number": "RD1",
                "surname": "TAU",
            },
        ],
    )
    with session_factory(engine)() as s:
        report = matching_report(s, day=DAY, port="MSU", now=T + timedelta(hours=5))
        at_noon = matching_report(s, day=DAY, now=T + timedelta(minutes=75))
    (line,) = report.lines
    assert (line.port, line.day, line.matched) == ("MSU", DAY, 1)
    assert (line.unmatched_exits, line.unmatched_entries, line.mismatches) == (1, 1, 0)
    kinds = sorted((i["outcome"], i["document_number"], i["node"]) for i in report.items)
    assert kinds == [
        ("unmatched_entry", "RC0000001", "ZA"),
        ("unmatched_exit", "RB7654321", "LS"),
    ]
    # An hour and a quarter in, both are still within their window: pending, not yet
    # unmatched. Without a port, every port is reported.
    by_port = {line.port: line for line in at_noon.lines}
    assert by_port["MSU"].pending == 2 and by_port["MSU"].unmatched_exits == 0
    assert by_port["MSX"].no_counterpart_port == 1


def test_a_partner_record_under_another_name_is_a_mismatch(engine: Engine) -> None:
    person, doc = add_traveller(engine, node="LS")
    crossing(engine, "LS", person, doc, "exit", T)
    partner(
        engine,
        "ZA",
        [
            {
                "direction": "entry",
                "crossed_at": (T + timedelta(minutes=9)).isoformat(),
                "surname": "MOKOENE",
            }
        ],
    )
    with session_factory(engine)() as s:
        report = matching_report(s, day=DAY, now=T + timedelta(hours=5))
    assert report.lines[0].mismatches == 1 and report.lines[0].matched == 0
    (item,) = report.items
    assert item["differs"] == ["name"]
    assert item["surname"] == "MOKOENA" and item["counterpart"]["surname"] == "MOKOENE"


def test_a_crossing_just_before_midnight_finds_its_other_half_the_next_day(engine: Engine) -> None:
    person, doc = add_traveller(engine, node="LS")
    late = datetime(2026, 12, 20, 21, 55, tzinfo=UTC)  # 23:55 at the border
    crossing(engine, "LS", person, doc, "exit", late)
    partner(
        engine,
        "ZA",
        [{"direction": "entry", "crossed_at": (late + timedelta(minutes=10)).isoformat()}],
    )
    with session_factory(engine)() as s:
        today = matching_report(s, day=DAY, now=late + timedelta(hours=5))
        tomorrow = matching_report(s, day=DAY + timedelta(days=1), now=late + timedelta(hours=5))
    assert [(line.matched, line.unmatched_exits) for line in today.lines] == [(1, 0)]
    assert tomorrow.lines == []  # the pair counts once, on its exit's day


# --------------------------------------------------------------------------- the check


def test_the_check_shows_the_other_sides_record_of_thecrossing(engine: Engine, make_user) -> None:  # type: ignore[no-untyped-def]
    left = T - timedelta(minutes=11)  # 14:02 at the border
    partner(engine, "LS", [{"direction": "exit", "crossed_at": left.isoformat()}])
    body = _check(engine, make_user, "entry", T)
    shown = body["partner_crossing"]
    assert shown["summary"] == "left Lesotho at Maseru Bridge 14:02, 11 minutes ago"
    assert (shown["node"], shown["direction"], shown["minutes_before"]) == ("LS", "exit", 11)
    assert shown["differs"] == []
    # The partner's record of this very crossing is not stay evidence.
    assert not [r for r in body["reasons"] if r["code"].startswith(("stay.partner", "history."))]
    assert body["decision"] == "CLEAR"


def test_the_check_shows_no_partner_record_outside_the_window_or_for_another_document(
    engine: Engine,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    partner(
        engine,
        "LS",
        [
            {"direction": "exit", "crossed_at": (T - timedelta(hours=3)).isoformat()},
            {"direction": "exit", "crossed_at": T.isoformat(), "document_number": "RZ9"},
        ],
    )
    assert _check(engine, make_user, "entry", T)["partner_crossing"] is None


def test_the_check_says_when_the_other_side_recorded_another_name(
    engine: Engine, make_user
) -> None:  # type: ignore[no-untyped-def]
    partner(
        engine,
        "LS",
        [
            {
                "direction": "exit",
                "crossed_at": (T - timedelta(minutes=3)).isoformat(),
                "birth_date": "1991-04-14",
            }
        ],
    )
    shown = _check(engine, make_user, "entry", T)["partner_crossing"]
    assert shown["differs"] == ["birth_date"]


# --------------------------------------------------------------------------- the stay


def test_an_exit_we_never_recorded_but_the_partner_saw_as_an_entry_ends_the_stay(
    engine: Engine,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    """A Mosotho entered South Africa 60 days ago; South Africa never recorded the exit,
    but Lesotho recorded the entry 10 days later. Back at the border today, South Africa's
    own records say she never left (an overstayer, still inside); Lesotho's record says
    she stayed 11 days, and the check says which record decided."""
    person, doc = add_traveller(engine, node="ZA")
    crossing(engine, "ZA", person, doc, "entry", T - timedelta(days=60))
    without = _check(engine, make_user, "entry", T)
    assert without["decision"] == "REFER"
    assert "history.still_inside" in {r["code"] for r in without["reasons"]}

    home = T - timedelta(days=50)
    record_id = str(new_id())
    partner(engine, "LS", [{"id": record_id, "direction": "entry", "crossed_at": home.isoformat()}])
    body = _check(engine, make_user, "entry", T)
    codes = {r["code"]: r["message"] for r in body["reasons"]}
    assert "history.still_inside" not in codes
    assert body["decision"] == "CLEAR"
    message = codes["stay.partner_record.exit"]
    assert record_id in message and "Lesotho" in message and home.date().isoformat() in message
    assert body["stay"]["days_remaining"] == 29  # a fresh 30-day visit


def test_a_long_queue_does_not_make_the_partners_exit_an_earlier_entry(
    engine: Engine,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    """Lesotho recorded the exit three hours before South Africa's check (Easter queue):
    beyond the window, so not shown as this crossing's other half, but not taken as an
    entry South Africa missed either (which would say "still inside" and refer her)."""
    partner(
        engine, "LS", [{"direction": "exit", "crossed_at": (T - timedelta(hours=3)).isoformat()}]
    )
    body = _check(engine, make_user, "entry", T)
    assert body["partner_crossing"] is None
    assert not [r for r in body["reasons"] if r["code"].startswith(("stay.partner", "history."))]
    assert body["decision"] == "CLEAR"


def test_the_worker_portal_counts_days_in_south_africa_from_south_africas_records(
    engine: Engine,
) -> None:
    """On the Lesotho node, days in South Africa come from the South African node's records
    (received), and a Lesotho record of her coming home ends the stay ZA never closed."""
    from tsela.services.stay_left import stay_left
    from tsela.store.models import Person

    person, doc = add_traveller(engine, node="LS")
    today = date(2026, 12, 20)
    entered = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    partner(
        engine,
        "ZA",
        [{"direction": "entry", "country": "ZAF", "crossed_at": entered.isoformat()}],
    )
    with session_factory(engine)() as s:
        left = stay_left(s, s.get(Person, person.id), today)
    assert left is not None and left.country == "ZAF"
    assert (left.inside, left.days_used, left.days_remaining) == (True, 21, 9)
    crossing(engine, "LS", person, doc, "entry", datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
    with session_factory(engine)() as s:
        left = stay_left(s, s.get(Person, person.id), today)
    assert left is not None and left.inside is False
