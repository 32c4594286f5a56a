"""Generate a synthetic population and write it to the store and/or Parquet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, update

from tsela.observatory.export import Keys, write_permits
from tsela.services.keys import KeyStore
from tsela.store.bulk import bulk_writer
from tsela.store.checks import BorderCheck
from tsela.store.db import session_factory
from tsela.store.models import Crossing, Permit, Person, TravelDocument, User
from tsela.store.permits import Employment, PermitEvent, PermitEvidence
from tsela.synth.extras import ExtrasSummary, add_extras
from tsela.synth.generator import SynthConfig, estimate_crossings, make_population, make_trips
from tsela.synth.load import (
    load_crossings,
    load_population,
    new_hex_ids,
    port_ids,
    write_parquet,
)

# A progress callback factory: (label, total) -> advance(n)
ProgressFactory = Callable[[str, int], Callable[[int], None]]


class DatabaseNotEmpty(ValueError):
    pass


@dataclass(frozen=True)
class SynthSummary:
    persons: int
    crossings: int
    parquet_rows: int
    extras: ExtrasSummary | None = None


def existing_persons(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(Person)) or 0


def clear_travellers(engine: Engine) -> None:
    """Delete every crossing, travel document and person, with what hangs on them: their
    border checks and permits (for --replace). Accounts linked to a person are kept,
    unlinked."""
    with session_factory(engine).begin() as s:
        s.execute(update(User).where(User.person_id.is_not(None)).values(person_id=None))
        s.execute(update(Permit).values(renewal_of_id=None))
        for model in (
            BorderCheck,
            PermitEvent,
            PermitEvidence,
            Employment,
            Permit,
            Crossing,
            TravelDocument,
            Person,
        ):
            s.execute(model.__table__.delete())


def synthesise(
    cfg: SynthConfig,
    *,
    node: str,
    engine: Engine | None = None,
    parquet_dir: Path | None = None,
    secret: bytes = b"",
    replace: bool = False,
    progress: ProgressFactory | None = None,
    extras_keys: KeyStore | None = None,
) -> SynthSummary:
    """Everything goes into the store in one transaction: a failure leaves it as it was.

    With ``extras_keys`` (the node's signing keys), employers, permits, pending applications
    and watchlists follow (``tsela.synth.extras``), as of the day after the last crossing.
    """
    pop = make_population(cfg)
    trips = make_trips(pop, cfg)
    expected = estimate_crossings(trips, cfg)
    loaded = 0
    parquet_rows = 0
    person_ids = None
    extras = None
    if engine is not None:
        have = existing_persons(engine)
        if have and not replace:
            raise DatabaseNotEmpty(
                f"the database already holds {have:,} persons; synth fills an empty database "
                "(point TSELA_DATABASE_URL elsewhere, or pass --replace to delete ALL "
                "travellers, documents and crossings first)"
            )
        ports = port_ids(engine)
        if replace:
            clear_travellers(engine)
        advance = progress("store", expected) if progress else None
        with bulk_writer(engine) as writer:
            stored = load_population(writer, pop, node)
            loaded = load_crossings(writer, ports, pop, trips, cfg, stored, advance)
        person_ids = stored.person_ids
        if extras_keys is not None:
            extras = add_extras(
                engine,
                pop,
                person_ids,
                node=node,
                keys=extras_keys,
                today=cfg.end + timedelta(days=1),
                seed=cfg.seed,
                progress=progress,
                refresh_lists=replace,
                since=cfg.start,
            )
    if parquet_dir is not None:
        if person_ids is None:
            person_ids = new_hex_ids(len(pop))
        advance = progress("parquet", expected) if progress else None
        parquet_rows = write_parquet(parquet_dir, pop, trips, cfg, person_ids, secret, advance)
        permits_file = parquet_dir / "permits.parquet"
        if extras is not None and engine is not None:
            # The permits as the observatory's export writes them (same pseudonymous keys),
            # so permit holders' long stays are not counted as overstays.
            write_permits(engine, parquet_dir, Keys(secret), 100_000)
        else:
            permits_file.unlink(missing_ok=True)  # another population's
    return SynthSummary(
        persons=len(pop), crossings=loaded, parquet_rows=parquet_rows, extras=extras
    )
