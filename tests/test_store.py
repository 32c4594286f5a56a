"""The store: ids, node, UTC times and constraints behave the same on both back ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, StatementError

from tsela.store.db import session_factory, transaction
from tsela.store.models import (
    Crossing,
    Direction,
    DocumentStatus,
    Person,
    PortOfEntry,
    Sex,
    TravelDocument,
)


def _person(**kw: object) -> Person:
    base: dict[str, object] = dict(
        node="LS",
        primary_name="MOKOENA",
        given_names="LINEO",
        sex=Sex.FEMALE,
        birth_date=date(1990, 3, 14),
        nationality="LSO",
    )
    base.update(kw)
    return Person(**base)


def test_ports_are_loaded(engine: Engine) -> None:
    with session_factory(engine)() as s:
        names = {p.code: p.name_ls for p in s.scalars(select(PortOfEntry))}
    assert names["FKB"] == "Maputsoe Bridge"
    assert len(names) == 15


def test_record_ids_are_time_ordered_uuid7_with_node(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as s:
        people = [_person(primary_name=f"P{i}") for i in range(5)]
        s.add_all(people)
    ids = [p.id for p in people]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)
    with factory() as s:
        assert {p.node for p in s.scalars(select(Person))} == {"LS"}


def test_crossing_time_round_trips_as_utc(engine: Engine) -> None:
    factory = session_factory(engine)
    maseru_time = datetime(2026, 12, 20, 7, 30, tzinfo=timezone(timedelta(hours=2)))
    with transaction(factory) as s:
        person = _person()
        s.add(person)
        port = s.scalars(select(PortOfEntry).where(PortOfEntry.code == "MSU")).one()
        s.flush()
        s.add(
            Crossing(
                node="LS",
                person_id=person.id,
                port_id=port.id,
                direction=Direction.EXIT,
                country="LSO",
                crossed_at=maseru_time,
            )
        )
    with factory() as s:
        got = s.scalars(select(Crossing)).one()
    assert got.crossed_at == datetime(2026, 12, 20, 5, 30, tzinfo=UTC)
    assert got.crossed_at.tzinfo is not None


def test_naive_time_is_refused(engine: Engine) -> None:
    factory = session_factory(engine)
    with pytest.raises(StatementError, match="naive datetime"), transaction(factory) as s:
        person = _person()
        s.add(person)
        s.flush()
        port = s.scalars(select(PortOfEntry)).first()
        assert port is not None
        s.add(
            Crossing(
                node="LS",
                person_id=person.id,
                port_id=port.id,
                direction=Direction.ENTRY,
                country="ZAF",
                crossed_at=datetime(2026, 1, 1, 8, 0),
            )
        )


def test_document_number_unique_per_issuing_state_and_failed_write_keeps_nothing(
    engine: Engine,
) -> None:
    factory = session_factory(engine)
    with transaction(factory) as s:
        p = _person()
        s.add(p)
        s.flush()
        s.add(
            TravelDocument(
                node="LS",
                person_id=p.id,
                document_type="P",
                issuing_state="LSO",
                number="RA1234567",
            )
        )
    with pytest.raises(IntegrityError), transaction(factory) as s:
        q = _person(primary_name="NTHATISI")
        s.add(q)
        s.flush()
        s.add(
            TravelDocument(
                node="LS",
                person_id=q.id,
                document_type="P",
                issuing_state="LSO",
                number="RA1234567",
            )
        )
    with factory() as s:
        # The whole failed unit of work is gone: no orphan person either.
        assert [p.primary_name for p in s.scalars(select(Person))] == ["MOKOENA"]
        doc = s.scalars(select(TravelDocument)).one()
        assert doc.status is DocumentStatus.VALID
