"""One catalogue of indicators: the governance tracker and the observatory cannot drift apart.

The tracker measures a plan's figure from the store at a date; the observatory answers the
same indicator as a table from the Parquet copy exported from that store. For every
indicator both compute, the tracker's figure must equal the sum of the table's cells the
catalogue says it is (``Target.question``), on both back ends.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tsela.domain import indicators as catalogue
from tsela.observatory import indicators as observatory
from tsela.observatory.engine import NoDataError, Observatory, Period
from tsela.observatory.export import export_parquet
from tsela.services import indicators as tracker
from tsela.store.db import session_factory, transaction
from tsela.store.models import Crossing, Direction, Permit, Person, PortOfEntry, Sex

SECRET = b"s" * 32


def test_every_indicator_is_defined_once_and_computed() -> None:
    defined = catalogue.catalogue()
    with_target = {i for i, d in defined.items() if d.target is not None}
    assert set(tracker.REGISTRY) == with_target
    assert set(observatory.REGISTRY) <= set(defined)
    assert set(defined) == with_target | set(observatory.REGISTRY)
    # The figures both compute: once each, under one id.
    assert with_target & set(observatory.REGISTRY) == {"crossings.monthly", "permits.summary"}
    # Plans written with the tracker's old ids keep measuring the same figure.
    assert catalogue.aliases() == {
        "crossings.monthly_count": "crossings.monthly",
        "permits.valid_count": "permits.summary",
    }
    assert tracker.get("crossings.monthly_count") is tracker.get("crossings.monthly")
    for ind in observatory.INDICATORS:
        d = defined[ind.id]
        assert (ind.title, ind.unit, ind.params) == (d.title, d.unit, d.params)
    with pytest.raises(tracker.IndicatorError, match="table of the observatory"):
        tracker.validate("busy.hours", {})


def _fill(engine: Engine) -> None:
    with transaction(session_factory(engine)) as s:
        ports = dict(s.execute(select(PortOfEntry.code, PortOfEntry.id)).all())
        people = []
        for i, nationality in enumerate(("LSO", "LSO", "LSO", "ZAF")):
            p = Person(
                node="LS",
                primary_name=f"P{i}",
                given_names="X",
                sex=Sex.FEMALE,
                birth_date=date(1990, 1, 1),
                nationality=nationality,
            )
            s.add(p)
            people.append(p)
        s.flush()

        def trip(who: Person, port: str, out: datetime, back: datetime) -> None:
            # Leaving Lesotho and entering South Africa are two records, coming back two more.
            for direction, country, at in (
                (Direction.EXIT, "LSO", out),
                (Direction.ENTRY, "ZAF", out),
                (Direction.EXIT, "ZAF", back),
                (Direction.ENTRY, "LSO", back),
            ):
                s.add(
                    Crossing(
                        node="LS" if country == "LSO" else "ZA",
                        person_id=who.id,
                        port_id=ports[port],
                        direction=direction,
                        country=country,
                        crossed_at=at,
                    )
                )

        a, b, c, z = people
        trip(a, "MSU", datetime(2025, 3, 3, 6, tzinfo=UTC), datetime(2025, 3, 20, 15, tzinfo=UTC))
        # 31 March 22:30 UTC is 1 April at the border: April's count, on both sides.
        trip(b, "MSU", datetime(2025, 3, 31, 22, 30, tzinfo=UTC), datetime(2025, 5, 2, tzinfo=UTC))
        trip(c, "FKB", datetime(2025, 3, 10, 8, tzinfo=UTC), datetime(2025, 4, 11, 9, tzinfo=UTC))
        trip(z, "MSU", datetime(2025, 4, 5, 9, tzinfo=UTC), datetime(2025, 4, 6, 9, tzinfo=UTC))
        for number, who, kind, status, country, valid_to in (
            ("P-1", a, "LEP", "issued", "ZAF", date(2025, 12, 31)),
            ("P-2", b, "LEP", "revoked", "ZAF", date(2025, 12, 31)),
            ("P-3", c, "SEASONAL", "issued", "ZAF", date(2025, 4, 30)),
            ("P-4", c, "LEP", "issued", "ZAF", date(2025, 3, 31)),
            ("P-5", z, "WORK", "issued", "LSO", date(2026, 6, 30)),
        ):
            s.add(
                Permit(
                    node="ZA" if country == "ZAF" else "LS",
                    number=number,
                    person_id=who.id,
                    permit_type=kind,
                    status=status,
                    country=country,
                    valid_from=date(2025, 1, 1),
                    valid_to=valid_to,
                    issued_at=datetime(2025, 1, 1, 8, tzinfo=UTC),
                )
            )


def _observatory_figure(
    obs: Observatory, indicator_id: str, on: date, params: dict[str, str]
) -> float:
    """The tracker's figure, read off the observatory's table as the catalogue says."""
    target = catalogue.definition(indicator_id).target
    assert target is not None
    q = target.question(on, params)
    try:
        result = observatory.run(
            obs, catalogue.canonical(indicator_id), Period(q.start, q.end), q.ports, q.params
        )
    except NoDataError:
        return 0.0
    rows = [r for r in result.rows() if all(r[k] == v for k, v in q.rows.items())]
    return float(sum(r[q.column] for r in rows))


# (indicator as a plan names it, its parameters, the day it is measured, the figure)
CASES = [
    ("crossings.monthly", {"port": "MSU"}, date(2025, 4, 15), 4.0),  # March: a's trip
    ("crossings.monthly", {"port": "MSU"}, date(2025, 4, 30), 6.0),  # April: b out, z's trip
    ("crossings.monthly", {"port": "msu", "direction": "entry"}, date(2025, 4, 30), 3.0),
    ("crossings.monthly", {"port": "FKB", "direction": "exit"}, date(2025, 5, 1), 1.0),
    ("crossings.monthly_count", {"port": "FKB"}, date(2025, 3, 31), 2.0),
    ("crossings.monthly", {"port": "VRG"}, date(2025, 5, 1), None),  # never a record there
    ("permits.summary", {}, date(2025, 3, 31), 3.0),  # the revoked one and LSO's not counted
    ("permits.summary", {}, date(2025, 4, 1), 2.0),  # one LEP ended the day before
    ("permits.summary", {"type": "LEP"}, date(2025, 3, 31), 2.0),
    ("permits.valid_count", {"type": "SEASONAL"}, date(2025, 4, 30), 1.0),
    ("permits.summary", {"country": "LSO"}, date(2025, 6, 30), 1.0),
    ("permits.summary", {"type": "WORK"}, date(2025, 6, 30), 0.0),  # in South Africa: none
]


def test_the_tracker_and_the_observatory_give_the_same_figure(
    engine: Engine, tmp_path: Path
) -> None:
    _fill(engine)
    out = tmp_path / "parquet"
    export_parquet(engine, out, SECRET)
    with session_factory(engine)() as s, Observatory(out) as obs:
        for indicator_id, params, on, expected in CASES:
            measured = tracker.measure(s, indicator_id, on, params)
            assert measured.value == expected, (indicator_id, params, on)
            if expected is None:
                continue  # the tracker says "no data": the observatory has no rows either
            seen = _observatory_figure(obs, indicator_id, on, params)
            assert seen == measured.value, (indicator_id, params, on)
            target = catalogue.definition(indicator_id).target
            assert target is not None and measured.unit == target.unit
