"""Setting up a node: schema migrations and reference data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from tsela.config import Settings
from tsela.reference import ports
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.models import PortOfEntry


@dataclass(frozen=True)
class SetupSummary:
    ports: int


def seed_ports(engine: Engine, node: str) -> int:
    """Insert ports of entry that are missing; existing rows are left as they are."""
    factory = session_factory(engine)
    with transaction(factory) as session:
        have = set(session.scalars(select(PortOfEntry.code)))
        for info in ports().values():
            if info.code in have:
                continue
            session.add(
                PortOfEntry(
                    node=node,
                    code=info.code,
                    name_za=info.name_za,
                    name_ls=info.name_ls,
                    za_province=info.za_province,
                    ls_district=info.ls_district,
                    kind=info.kind,
                    normal_hours=info.normal_hours,
                )
            )
        return len(have | set(ports()))


def initialise(settings: Settings, engine: Engine | None = None) -> SetupSummary:
    engine = engine or make_engine(settings.url)
    migrate(engine)
    return SetupSummary(ports=seed_ports(engine, settings.node))
