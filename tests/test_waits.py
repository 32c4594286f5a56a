"""Wait times at the ports (issue 20, item 1).

The pure estimate and the Erlang C staffing sums; then the public figures over HTTP on both
back ends: queue events recorded by a desk, decisions made by real border checks, the
server's clock frozen at Monday 15 June 2026, 10:00 at the border.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from factories import passport
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain.values import Direction
from tsela.domain.waits import (
    Basis,
    Queue,
    best_hours,
    desks_needed,
    erlang_c,
    estimate_wait,
    hourly_waits,
    mean_wait,
    naive_wait,
    observed_waits,
)
from tsela.kernel.clock import BORDER_TZ, FixedClock
from tsela.store.db import session_factory, transaction
from tsela.store.models import PortOfEntry
from tsela.store.waits import QueueEvent, QueueEventKind

NOW = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # Monday, 10:00 at the border


def at(hour: int, minute: int, day: int = 15) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=BORDER_TZ)


# -- the pure sums ---------------------------------------------------------------------------


def test_erlang_c_matches_published_values() -> None:
    # Two desks, one Erlang offered: a third of arrivals wait (M/M/2 at 50 % load).
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # The textbook call-centre case: 10 agents, 8 Erlangs -> P(wait) = 0.409.
    assert erlang_c(10, 8.0) == pytest.approx(0.4092, abs=5e-4)
    assert erlang_c(3, 3.0) == 1.0  # cannot keep up
    # M/M/1: the mean wait in the queue is rho / (mu - lambda).
    assert mean_wait(1, 30, 1.0) == pytest.approx(0.5 / (60 - 30) * 60)
    assert mean_wait(2, 120, 1.0) == float("inf")


def test_desks_needed_is_the_fewest_that_meet_the_target() -> None:
    desks = desks_needed(600, 1.0, target_minutes=2)
    assert mean_wait(desks, 600, 1.0) <= 2 < mean_wait(desks - 1, 600, 1.0)
    assert desks_needed(600, 1.0, target_minutes=0.5) > desks


def test_the_estimate_is_the_queue_over_the_desks_throughput() -> None:
    arrivals = [at(9, m) for m in range(0, 20)]  # 20 tickets from 09:00
    # Two desks called 12 travellers in the half hour before 09:40: 24 an hour; 8 left.
    turns = sorted([(at(9, 12 + 2 * i), "a") for i in range(6)]
                   + [(at(9, 13 + 2 * i), "b") for i in range(6)])  # fmt: skip
    queue = Queue(arrivals, turns, [])
    estimate = estimate_wait(queue, at(9, 40))
    assert (estimate.basis, estimate.queue, estimate.desks) == (Basis.RATE, 8, 2)
    assert estimate.served_per_hour == pytest.approx(24)
    assert estimate.minutes == pytest.approx(8 / 24 * 60)
    # The naive board: 8 waiting times one desk's 2 minutes, as if one desk were open.
    assert naive_wait(queue, at(9, 40)) == pytest.approx(16)


def test_where_desks_call_no_turns_the_checks_take_travellers_from_the_queue() -> None:
    arrivals = [at(9, m) for m in range(0, 10)]
    decisions = [(at(9, 20 + 2 * i), "a") for i in range(4)]  # 4 checked by 09:30
    estimate = estimate_wait(Queue(arrivals, [], decisions), at(9, 30))
    assert (estimate.queue, estimate.desks, estimate.served_per_hour) == (6, 1, 8)
    assert estimate.minutes == pytest.approx(6 / 8 * 60)


def test_waits_travellers_had_and_the_quietest_hours() -> None:
    arrivals = [at(7, m) for m in range(6)] + [at(13, m) for m in range(6)]
    turns = [(at(7, 40 + m), "a") for m in range(6)] + [(at(13, 2 + m), "a") for m in range(6)]
    waits = observed_waits(Queue(arrivals, turns, []))
    assert [m for _, m in waits] == [40.0] * 6 + [2.0] * 6
    hours = hourly_waits(waits)
    assert [(h.hour, h.median_minutes, h.samples) for h in hours] == [(7, 40.0, 6), (13, 2.0, 6)]
    assert [h.hour for h in best_hours(hours, weekday=0)] == [13, 7]
    assert hourly_waits(waits[:4]) == []  # four travellers are not a figure


# -- over HTTP, both back ends ---------------------------------------------------------------


@pytest.fixture
def za(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="ZA",
        var_dir=tmp_path,
    )
    with TestClient(create_app(settings, engine, FixedClock(NOW))) as client:
        yield client


def event(client: TestClient, headers: dict[str, str], **body: object):  # type: ignore[no-untyped-def]
    body.setdefault("direction", "entry")
    return client.post("/v1/ports/MSU/queue", json=body, headers=headers)


def count_events(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(QueueEvent)) or 0


def test_the_public_wait_follows_tickets_turns_and_checks(za, auth_headers, engine) -> None:  # type: ignore[no-untyped-def]
    desk = auth_headers("border_officer", port="MSU")
    for minute in range(30, 35):  # five tickets at 09:30-09:34
        assert event(za, desk, kind="arrival", at=at(9, minute).isoformat()).status_code == 201
    for minute in (36, 44):  # two called; each checked 4 minutes later
        assert event(za, desk, kind="turn", at=at(9, minute).isoformat()).status_code == 201
        za.app.state.clock.set(at(9, minute + 4))  # type: ignore[attr-defined]
        number = f"RA{minute:07d}"
        checked = za.post("/v1/checks", json={"port": "MSU", "direction": "entry",
                                              "mrz": passport(number)}, headers=desk)  # fmt: skip
        assert checked.status_code == 201, checked.text
    za.app.state.clock.set(NOW)  # type: ignore[attr-defined]

    answer = za.get("/v1/waits")  # no sign-in
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["updated_at"] == NOW.isoformat()
    msu = {(w["port_code"], w["direction"], w["lane"]): w for w in body["ports"]}
    # 3 waiting, 2 served in the last half hour (4 an hour): 45 minutes.
    assert msu[("MSU", "entry", "general")] == {
        "port_code": "MSU",
        "port_name": msu[("MSU", "entry", "general")]["port_name"],
        "direction": "entry",
        "lane": "general",
        "wait_minutes": 45,
        "basis": "rate",
        "queue": 3,
        "desks": 1,
        "served_per_hour": 4.0,
    }
    assert msu[("MSU", "exit", "general")]["basis"] == "no_arrivals"
    assert msu[("MSU", "exit", "general")]["wait_minutes"] is None
    # Every active port is listed, in both directions; nothing about any traveller.
    with session_factory(engine)() as s:
        active = s.scalar(select(func.count()).select_from(PortOfEntry).where(PortOfEntry.active))
    assert len(body["ports"]) == 2 * active
    assert "RA0000036" not in answer.text


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"kind": "arrival", "lane": "vip"}, "unknown lane"),
        ({"kind": "arrival", "at": "2026-06-15T11:00:00+02:00"}, "in the future"),
        ({"kind": "arrival", "at": "2026-06-12T09:00:00+02:00"}, "two days old"),
        ({"kind": "arrival", "at": "2026-06-15T09:00:00"}, "time zone"),
    ],
)
def test_a_wrong_queue_event_is_refused_and_nothing_recorded(  # type: ignore[no-untyped-def]
    za, auth_headers, engine, body, says
) -> None:
    answer = event(za, auth_headers("border_officer", port="MSU"), **body)
    assert answer.status_code == 422
    assert says in answer.text
    assert count_events(engine) == 0


def test_only_desks_record_queue_events(za, auth_headers, engine) -> None:  # type: ignore[no-untyped-def]
    assert event(za, {}, kind="arrival").status_code == 401
    assert event(za, auth_headers("worker"), kind="arrival").status_code == 403
    unknown = za.post("/v1/ports/NOPE/queue", json={"kind": "arrival", "direction": "entry"},
                      headers=auth_headers("supervisor"))  # fmt: skip
    assert unknown.status_code == 422 and "unknown port" in unknown.text
    assert count_events(engine) == 0


def test_history_names_the_quietest_hours_and_the_desks_each_hour_needs(  # type: ignore[no-untyped-def]
    za, auth_headers, engine
) -> None:
    with transaction(session_factory(engine)) as s:
        msu = s.scalar(select(PortOfEntry).where(PortOfEntry.code == "MSU"))
        assert msu is not None
        for day in (8, 1):  # the two Mondays before
            for hour, wait in ((7, 40), (13, 3)):
                for m in range(6):
                    for kind, when in ((QueueEventKind.ARRIVAL, at(hour, m, day)),
                                       (QueueEventKind.TURN, at(hour, m + wait, day))):  # fmt: skip
                        s.add(QueueEvent(node="ZA", port_id=msu.id, direction=Direction.ENTRY,
                                         lane="general", kind=kind, at=when))  # fmt: skip
    answer = za.get("/v1/waits/MSU/history?weeks=2")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["weekday"], body["weeks"]) == (0, 2)
    assert [(h["hour"], h["median_minutes"], h["samples"]) for h in body["hours"]] == [
        (7, 40.0, 12),
        (13, 3.0, 12),
    ]
    assert [h["hour"] for h in body["best_hours"]] == [13, 7]
    assert za.get("/v1/waits/NOPE/history").status_code == 404
    # Staffing advice is for supervisors and analysts: one desk took a traveller a minute
    # (the gaps between its turns); 6 arrivals an hour need one desk for a 30-minute target.
    assert za.get("/v1/waits/MSU/staffing").status_code == 401
    plan = za.get("/v1/waits/MSU/staffing?weeks=2", headers=auth_headers("supervisor"))
    assert plan.status_code == 200, plan.text
    assert plan.json()["service_minutes"] == 1.0
    assert [(h["hour"], h["arrivals_per_hour"], h["desks"]) for h in plan.json()["hours"]] == [
        (7, 6.0, 1),
        (13, 6.0, 1),
    ]


def test_the_public_page_shows_the_wait_in_english_and_sesotho(za, auth_headers) -> None:  # type: ignore[no-untyped-def]
    desk = auth_headers("border_officer", port="MSU")
    for minute in range(30, 36):
        event(za, desk, kind="arrival", at=at(9, minute).isoformat())
    event(za, desk, kind="turn", at=at(9, 36).isoformat())
    za.app.state.clock.set(at(9, 40))  # type: ignore[attr-defined]
    assert za.post("/v1/checks", json={"port": "MSU", "direction": "entry", "mrz": passport()},
                   headers=desk).status_code == 201  # fmt: skip
    za.app.state.clock.set(NOW)  # type: ignore[attr-defined]

    page = za.get("/waits", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    # 5 waiting, one served in the half hour (2 an hour): 150 minutes.
    assert 'id="wait-MSU-entry-general"' in page.text
    assert "150 min" in page.text and "5 waiting · 1 desks open" in page.text
    assert "Entering South Africa" in page.text
    assert "Updated at 10:00" in page.text
    sesotho = za.get("/waits?lang=st")
    assert "metsotso e 150" in sesotho.text and "Nako ea ho ema moeling" in sesotho.text
    port = za.get("/waits/MSU?lang=en")
    assert port.status_code == 200 and "150 min" in port.text
    assert "Not enough travellers were counted here" in port.text
    assert za.get("/waits/NOPE").status_code == 404


def test_the_console_calls_the_next_traveller(za, make_user, engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from web_support import csrf_of, use_fast_password_hashing

    use_fast_password_hashing(monkeypatch)
    officer = make_user("border_officer", port="MSU", username="desk7")
    page = za.get("/login")
    za.post("/login", data={"username": "desk7", "password": "correct horse 1",
                            "csrf_token": csrf_of(page.text)})  # fmt: skip
    console = za.get("/console?direction=exit")
    assert 'id="call-next"' in console.text
    form = {"csrf_token": csrf_of(console.text), "direction": "exit"}
    called = za.post("/console/next", data=form, follow_redirects=False)
    assert called.status_code == 303
    assert za.get(called.headers["location"]).text.count('id="called"') == 1
    with session_factory(engine)() as s:
        turns = s.execute(select(QueueEvent.kind, QueueEvent.direction, QueueEvent.officer_id,
                                 QueueEvent.at)).all()  # fmt: skip
    assert turns == [(QueueEventKind.TURN, Direction.EXIT, officer.id, NOW)]


# -- holidays from past years ------------------------------------------------------------------


def test_a_holiday_is_matched_with_the_same_days_of_past_years() -> None:
    from datetime import date

    from tsela.domain.waits import Season, same_days, season_of

    good_friday = date(2026, 4, 3)  # Easter Sunday 2026 is 5 April
    assert season_of(good_friday) is Season.EASTER
    # Good Friday with Good Friday, whatever the date: 2025-04-18, 2024-03-29.
    assert same_days(good_friday, 2) == [date(2025, 4, 18), date(2024, 3, 29)]
    assert season_of(date(2026, 12, 18)) is Season.DECEMBER
    assert season_of(date(2027, 1, 4)) is Season.DECEMBER
    assert same_days(date(2026, 12, 18), 2) == [date(2025, 12, 18), date(2024, 12, 18)]
    assert season_of(date(2026, 6, 15)) is None and same_days(date(2026, 6, 15), 3) == []


def test_the_forecast_for_good_friday_comes_from_past_good_fridays(za, engine) -> None:  # type: ignore[no-untyped-def]
    with transaction(session_factory(engine)) as s:
        msu = s.scalar(select(PortOfEntry).where(PortOfEntry.code == "MSU"))
        assert msu is not None
        # 2025-04-18 and 2024-03-29: 60 and 40 travellers between 07:00 and 08:00, two desks
        # each calling a traveller every 2 minutes (service 2 minutes a desk).
        for day, month, count in ((18, 4, 60), (29, 3, 40)):
            year = 2025 if month == 4 else 2024
            for i in range(count):
                arrived = datetime(year, month, day, 7, i % 60, tzinfo=BORDER_TZ)
                s.add(QueueEvent(node="ZA", port_id=msu.id, direction=Direction.ENTRY,
                                 lane="general", kind=QueueEventKind.ARRIVAL,
                                 at=arrived))  # fmt: skip
                desk = "a" if i % 2 else "b"
                s.add(QueueEvent(node="ZA", port_id=msu.id, direction=Direction.ENTRY,
                                 lane="general", kind=QueueEventKind.TURN, desk=desk,
                                 at=datetime(year, month, day, 7, 0, tzinfo=BORDER_TZ)
                                 + (i // 2) * timedelta(minutes=2)))  # fmt: skip
    answer = za.get("/v1/waits/MSU/forecast?day=2026-04-03&years=3")  # no sign-in
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["season"] == "easter"
    assert body["days_found"] == ["2024-03-29", "2025-04-18"]
    assert body["service_minutes"] == 2.0
    seven = next(h for h in body["hours"] if h["hour"] == 7)
    assert seven["arrivals"] == 50.0  # (60 + 40) / 2
    assert seven["desks_last_time"] == 2.0
    # 50 an hour at 2 minutes each with 2 desks: 83 % load, Erlang C mean wait 3.8 minutes.
    assert seven["wait_last_time_minutes"] == pytest.approx(mean_wait(2, 50, 2.0), abs=0.05)
    assert seven["desks_needed"] == desks_needed(50, 2.0, 30.0)
    # An ordinary day: no forecast, and the answer says why.
    ordinary = za.get("/v1/waits/MSU/forecast?day=2026-06-16").json()
    assert ordinary["season"] is None and ordinary["hours"] == []
    assert "ordinary day" in ordinary["message"]
    december = za.get("/v1/waits/MSU/forecast?day=2026-12-18").json()
    assert december["days_found"] == [] and "no queue data" in december["message"]
    assert za.get("/v1/waits/NOPE/forecast?day=2026-04-03").status_code == 404
    assert za.get("/v1/waits/MSU/forecast?day=someday").status_code == 422
