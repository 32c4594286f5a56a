"""Shared by the matching tests: a traveller, their crossings, the partner's records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from tsela.domain.values import Direction
from tsela.ids import new_id
from tsela.store.db import session_factory, transaction
from tsela.store.models import Crossing, PortOfEntry
from tsela.store.partner_crossings import apply_partner_crossings


def crossing(
    engine: Engine, node: str, person: Any, doc: Any, direction: str, at: datetime, port="MSU"
) -> None:
    with transaction(session_factory(engine)) as s:
        port_id = s.scalar(select(PortOfEntry.id).where(PortOfEntry.code == port))
        s.add(
            Crossing(
                node=node,
                person_id=person.id,
                document_id=doc.id,
                port_id=port_id,
                direction=Direction(direction),
                country={"LS": "LSO", "ZA": "ZAF"}[node],
                crossed_at=at,
            )
        )


def partner(engine: Engine, node: str, rows: list[dict[str, Any]]) -> None:
    country = {"LS": "LSO", "ZA": "ZAF"}[node]
    full = [
        {
            "id": str(new_id()),
            "node": node,
            "port_code": "MSU",
            "country": country,
            "document_number": "RA1234567",
            "document_country": "LSO",
            "nationality": "LSO",
            "surname": "MOKOENA",
            "given_names": "LINEO",
            "birth_date": "1991-03-14",
            "sex": "F",
            "decision": "CLEAR",
            **row,
        }
        for row in rows
    ]
    with transaction(session_factory(engine)) as s:
        apply_partner_crossings(s, node, full)
