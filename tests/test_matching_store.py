"""Partner crossings: stored as received, once, on both back ends; bad rows are refused whole."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tsela.domain.values import Direction, Sex
from tsela.ids import new_id
from tsela.store.db import session_factory, transaction
from tsela.store.partner_crossings import PartnerCrossing, apply_partner_crossings


def _row(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(new_id()),
        "node": "ZA",
        "port_code": "MSU",
        "direction": "entry",
        "country": "ZAF",
        "crossed_at": "2026-12-20T12:13:00+00:00",
        "document_number": "RA1234567",
        "document_country": "LSO",
        "nationality": "LSO",
        "surname": "MOKOENA",
        "given_names": "LINEO",
        "birth_date": "1990-03-14",
        "sex": "F",
        "decision": "CLEAR",
    }
    base.update(kw)
    return base


def _count(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(PartnerCrossing)) or 0


def test_a_batch_applied_twice_is_stored_once(engine: Engine) -> None:
    rows = [_row(), _row(direction="exit", country="ZAF"), _row(document_number="RB7654321")]
    factory = session_factory(engine)
    with transaction(factory) as s:
        assert apply_partner_crossings(s, "ZA", rows) == 3
    with transaction(factory) as s:
        assert apply_partner_crossings(s, "ZA", rows) == 0
        # One old row and one new: only the new one counts.
        assert apply_partner_crossings(s, "ZA", [rows[0], _row()]) == 1
    assert _count(engine) == 4


def test_the_partner_record_is_kept_as_it_was_made(engine: Engine) -> None:
    row_id = new_id()
    sast = timezone(timedelta(hours=2))
    with transaction(session_factory(engine)) as s:
        apply_partner_crossings(
            s, "ZA", [_row(id=row_id, crossed_at=datetime(2026, 12, 20, 14, 13, tzinfo=sast))]
        )
    with session_factory(engine)() as s:
        got = s.get(PartnerCrossing, row_id)
        assert got is not None
        assert got.node == "ZA"  # the partner made it, not this node
        assert got.crossed_at == datetime(2026, 12, 20, 12, 13, tzinfo=UTC)
        assert got.direction is Direction.ENTRY
        assert got.birth_date == date(1990, 3, 14)
        assert got.sex is Sex.FEMALE
        assert got.received_at.tzinfo is not None


def test_a_row_the_same_batch_repeats_counts_once(engine: Engine) -> None:
    row = _row()
    with transaction(session_factory(engine)) as s:
        assert apply_partner_crossings(s, "ZA", [row, dict(row)]) == 1


def test_particulars_outside_the_agreement_may_be_withheld(engine: Engine) -> None:
    row = _row()
    for field in ("nationality", "surname", "given_names", "birth_date", "sex", "decision"):
        del row[field]
    with transaction(session_factory(engine)) as s:
        assert apply_partner_crossings(s, "ZA", [row]) == 1
    with session_factory(engine)() as s:
        got = s.get(PartnerCrossing, uuid.UUID(row["id"]))
        assert got is not None and got.surname is None and got.birth_date is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"node": "LS"}, "node"),  # the partner ZA cannot send a Lesotho record
        ({"port_code": ""}, "port_code"),
        ({"direction": "sideways"}, "direction"),
        ({"country": "ZA"}, "country"),
        ({"crossed_at": "2026-12-20T12:13:00"}, "crossed_at"),  # no time zone
        ({"crossed_at": "yesterday"}, "crossed_at"),
        ({"document_number": None}, "document_number"),
        ({"document_country": "L5O"}, "document_country"),
        ({"birth_date": "14/03/1990"}, "birth_date"),
        ({"sex": "Q"}, "sex"),
        ({"decision": "MAYBE"}, "decision"),
        ({"surname": "X" * 121}, "surname"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_a_bad_row_is_refused_naming_the_field_and_nothing_is_stored(
    engine: Engine, change: dict[str, Any], field: str
) -> None:
    rows = [_row(), _row(**change)]
    with (
        pytest.raises(ValueError, match=rf"partner crossing 1: {field}:"),
        transaction(session_factory(engine)) as s,
    ):
        apply_partner_crossings(s, "ZA", rows)
    assert _count(engine) == 0
