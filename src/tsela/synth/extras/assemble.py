"""The whole: employers, permits and watchlists added to a population in the store."""

from __future__ import annotations

import uuid
from datetime import date

import numpy as np
from sqlalchemy import Engine, func, select

from tsela.kernel import clock
from tsela.kernel.actor import Actor
from tsela.services import screening
from tsela.services.keys import KeyStore
from tsela.store.db import session_factory, transaction
from tsela.store.models import Crossing, Permit, Role
from tsela.store.watchlists import Watchlist, WatchlistCategory, WatchlistKind
from tsela.synth.extras.common import (
    ACTOR_NAME,
    DOCUMENT_LIST,
    MAX_HOLDERS,
    PROTECT_LIST,
    SOURCE,
    WANTED_LIST,
    ExtrasError,
    ProgressFactory,
)
from tsela.synth.extras.employers import ensure_employers, synthetic_employers
from tsela.synth.extras.permit_plan import PermitPlan, plan_permits
from tsela.synth.extras.watchlists import plan_watchlists
from tsela.synth.extras.writing import ExtrasSummary, Writer, write_permits
from tsela.synth.generator import Population


def add_extras(
    engine: Engine,
    pop: Population,
    person_ids: np.ndarray,
    *,
    node: str,
    keys: KeyStore,
    today: date,
    seed: int,
    progress: ProgressFactory | None = None,
    max_holders: int = MAX_HOLDERS,
    refresh_lists: bool = False,
    bulk_issue: bool = True,
    since: date | None = None,
) -> ExtrasSummary:
    """Add employers, permits, pending applications and watchlists for ``pop`` (stored with
    ``person_ids``, hex; "" for persons not in the store), as of ``today``; ``since`` is the
    first day of the crossings (default: read from the store). Parts already present are skipped,
    except the three watchlists with ``refresh_lists`` (a new population: a new version of
    each list, naming the new travellers).

    Employers and permits are written in one transaction; each watchlist in its own (an
    import replaces a list atomically).
    """
    if len(person_ids) != len(pop):
        raise ExtrasError(f"{len(person_ids)} person ids for a population of {len(pop)}")
    present = np.asarray([bool(p) for p in person_ids], dtype=bool)
    ids = [uuid.UUID(str(p)) if p else None for p in person_ids]
    summary = ExtrasSummary()
    employers = synthetic_employers()
    info = {e.registration_number: e for e in employers}
    officer = Actor(ACTOR_NAME, Role.PERMIT_OFFICER, node)
    plan: PermitPlan | None = None
    with transaction(session_factory(engine)) as s:
        registered, summary.employers = ensure_employers(s, officer)
        has_permits = s.scalar(select(func.count()).select_from(Permit)) or 0
        if has_permits:
            summary.skipped.append(f"permits ({has_permits:,} in the store)")
        else:
            if since is None:  # the first day of the crossings in the store
                first = s.scalar(select(func.min(Crossing.crossed_at)))
                since = first.date() if first else today
            plan = plan_permits(pop, present, today, seed, employers, max_holders, since)
            total = len(plan.lsp) + len(plan.grants)
            writer = Writer(
                s,
                pop,
                ids,
                registered,
                info,
                keys.signer(clock.now()),
                node,
                progress("permits", total) if progress else None,
                bulk_issue,
            )
            summary.permits, summary.pending = write_permits(writer, plan, today)

    holders = set()
    if plan is not None:
        holders = {g.person for g in plan.grants} | {p.person for p in plan.pending}
    with session_factory(engine)() as s:
        present_lists = set(s.scalars(select(Watchlist.name)))
    wl = plan_watchlists(pop, present, today, seed, holders)
    for name, kind, category, data in (
        (WANTED_LIST, WatchlistKind.PERSON, WatchlistCategory.WANTED, wl.wanted),
        (PROTECT_LIST, WatchlistKind.PERSON, WatchlistCategory.TRAFFICKING_VICTIM, wl.protect),
        (DOCUMENT_LIST, WatchlistKind.DOCUMENT, WatchlistCategory.OTHER, wl.documents),
    ):
        if name in present_lists and not refresh_lists:
            summary.skipped.append(f"watchlist {name!r}")
            continue
        report = screening.import_watchlist(
            engine,
            list_name=name,
            data=data,
            fmt="csv",
            actor=ACTOR_NAME,
            node=node,
            kind=kind,
            category=category,
            source=SOURCE,
            today=today,
            confirm=True,  # generated lists; a refresh may legitimately shrink one
        )
        if report.error_count:
            raise ExtrasError(f"watchlist {name!r}: {report.errors[0]}")
        summary.watchlists[name] = report.loaded
        summary.listed += [
            (lst, str(pop.nationality[i]), str(pop.doc_number[i]))
            for lst, i in wl.listed
            if lst == name
        ]
    return summary
