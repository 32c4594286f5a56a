"""The screening index cached per database engine: remade when a person list's version
changes, saved on disk and memory-mapped by every process, refreshed in the background.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tsela.domain.screening import BirthDate, ScreeningIndex, WatchlistPerson
from tsela.store import index_files
from tsela.store.db import session_factory
from tsela.store.watchlists import PUBLISHED, Watchlist, WatchlistEntry, WatchlistKind

SIGNATURE_TTL_S = 1.0
INDEX_DIR_NAME = "screening-index"  # under the var dir

log = logging.getLogger("tsela.screening")


@dataclass
class _Cached:
    signature: tuple[tuple[str, int], ...]
    index: ScreeningIndex
    checked: float = 0.0  # time.monotonic() of the last version check
    loaded: float = field(default_factory=time.monotonic)  # when this process took it up


@dataclass(frozen=True)
class IndexState:
    """What this process's screening index is, for metrics and readiness."""

    loaded: bool
    version: int | None  # the sum of the lists' versions it was built from
    age_s: float | None  # seconds since this process took it up


def index_state(engine: Engine) -> IndexState:
    cached = _CACHE.get(engine)
    if cached is None:
        return IndexState(False, None, None)
    version = sum(v for _, v in cached.signature)
    return IndexState(True, version, time.monotonic() - cached.loaded)


_CACHE: weakref.WeakKeyDictionary[Engine, _Cached] = weakref.WeakKeyDictionary()
_INDEX_DIRS: weakref.WeakKeyDictionary[Engine, Path] = weakref.WeakKeyDictionary()
_REFRESHING: weakref.WeakSet[Engine] = weakref.WeakSet()
_BUILD_LOCK = threading.Lock()
_REFRESH_LOCK = threading.Lock()


def cached_index(engine: Engine) -> ScreeningIndex | None:
    """The index this process holds for ``engine``, as it is (not brought up to date)."""
    cached = _CACHE.get(engine)
    return None if cached is None else cached.index


def forget_index(engine: Engine) -> None:
    """Drop this process's index for ``engine``, as a process that has just started."""
    _CACHE.pop(engine, None)


_SIGNATURE = (
    select(Watchlist.id, Watchlist.version)
    .where(Watchlist.kind == WatchlistKind.PERSON, PUBLISHED)
    .order_by(Watchlist.id)
)


def keep_index_on_disk(engine: Engine, var_dir: Path) -> None:
    """Save this engine's screening index under ``var_dir`` and map it from there: built
    once per set of list versions, shared by every process using the same var dir."""
    _INDEX_DIRS[engine] = var_dir / INDEX_DIR_NAME


def signature(session: Session) -> tuple[tuple[str, int], ...]:
    rows = session.execute(_SIGNATURE)
    return tuple((str(i), int(v)) for i, v in rows)


def _people(session: Session) -> Iterator[WatchlistPerson]:
    stmt = (
        select(
            WatchlistEntry.id,
            WatchlistEntry.names,
            WatchlistEntry.birth_date,
            WatchlistEntry.birth_year,
            WatchlistEntry.birth_month,
            WatchlistEntry.nationalities,
            WatchlistEntry.documents,
            WatchlistEntry.valid_from,
            WatchlistEntry.valid_to,
            WatchlistEntry.category,
            WatchlistEntry.reason,
            Watchlist.name,
            Watchlist.version,
        )
        .join(Watchlist, Watchlist.id == WatchlistEntry.watchlist_id)
        .where(PUBLISHED)
        .execution_options(yield_per=10_000)
    )
    for row in session.execute(stmt):
        birth = None
        if row.birth_date is not None:
            birth = BirthDate(row.birth_date.year, row.birth_date.month, row.birth_date.day)
        elif row.birth_year is not None:
            birth = BirthDate(row.birth_year, row.birth_month)
        nationalities = list(row.nationalities or ())
        yield WatchlistPerson(
            key=str(row.id),
            names=tuple(row.names),
            birth=birth,
            nationalities=frozenset(nationalities),
            documents=frozenset(row.documents or ()),
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            # What a hit reports besides names and birth date: the index answers a hit on
            # its own, so the version it was built from can serve while the next is made.
            payload=json.dumps(
                [row.name, row.version, row.category.value, row.reason, nationalities],
                ensure_ascii=False,
            ),
        )


@contextmanager
def reading(engine: Engine, session: Session | None) -> Iterator[Session]:
    """The caller's session when given, else a short one of our own.

    The border check passes its session: a check then holds one connection, never waiting
    for a second while holding the first (under load, threads doing that exhaust the pool).
    """
    if session is not None:
        yield session
        return
    with session_factory(engine)() as own:
        yield own


def current_index(engine: Engine, session: Session | None = None) -> ScreeningIndex:
    """The index of every person list.

    When a list's version changed, the index this process has keeps answering while the new
    one is loaded or built in a background thread; a process without one (at start-up) waits
    for it.
    """
    cached = _CACHE.get(engine)
    if cached is not None and time.monotonic() - cached.checked < SIGNATURE_TTL_S:
        return cached.index
    with reading(engine, session) as s:
        sig = signature(s)
    if cached is not None:
        cached.checked = time.monotonic()
        if cached.signature != sig:
            _refresh_in_background(engine)
        return cached.index
    with _BUILD_LOCK:
        cached = _CACHE.get(engine)
        if cached is not None:  # made by another thread while this one waited
            return cached.index
        return _make_index(engine, session)


def _make_index(engine: Engine, session: Session | None = None) -> ScreeningIndex:
    """Load (or build and save) the index of the current list versions; cache it.

    The caller holds ``_BUILD_LOCK``.
    """
    root = _INDEX_DIRS.get(engine)
    if root is None:
        with reading(engine, session) as s:
            sig = signature(s)
            index = ScreeningIndex.build(_people(s))
    else:
        with index_files.build_lock(root):  # one process builds; the others then load it
            with reading(engine, session) as s:
                sig = signature(s)
            loaded = index_files.load(root, sig)
            if loaded is not None:
                index = loaded
            else:
                with reading(engine, session) as s:
                    index = ScreeningIndex.build(_people(s))
                    read = signature(s)
                if read == sig:  # else a list changed while it was read: not saved
                    saved = index_files.save(root, sig, index)
                    index_files.prune(root, keep=saved)
                    # Served from the mapped files: the pages are shared with the other
                    # processes, and the arrays just built are freed.
                    index = index_files.load(root, sig, verify=False) or index
                sig = read
    # The index lives until a list changes: keep the garbage collector from walking its
    # objects on every collection (pauses of tens of ms at a million entries). Unfreeze
    # first, so that a replaced index caught in a cycle can still be freed. (With the
    # collector off, a server is starting: it freezes what it made once it is ready.)
    if gc.isenabled():
        gc.unfreeze()
        gc.collect()
        gc.freeze()
    _CACHE[engine] = _Cached(sig, index, time.monotonic())
    return index


def _refresh_in_background(engine: Engine) -> None:
    with _REFRESH_LOCK:
        if engine in _REFRESHING:
            return
        _REFRESHING.add(engine)

    def refresh() -> None:
        try:
            with _BUILD_LOCK:
                cached = _CACHE.get(engine)
                with session_factory(engine)() as s:
                    if cached is not None and cached.signature == signature(s):
                        return  # made meanwhile (by this process's own import)
                _make_index(engine)
        except Exception:  # the old index keeps serving; the next version check tries again
            log.exception("screening index not refreshed")
        finally:
            with _REFRESH_LOCK:
                _REFRESHING.discard(engine)

    threading.Thread(target=refresh, name="screening-index", daemon=True).start()


def index_is_current(engine: Engine) -> bool:
    """Whether ``current_index`` would answer at once, from memory, without I/O."""
    cached = _CACHE.get(engine)
    return cached is not None and time.monotonic() - cached.checked < SIGNATURE_TTL_S


def lists_changed(engine: Engine) -> None:
    """This process changed the lists: bring its index up to date now (in the caller's
    thread), so that its next screening sees the change."""
    if engine not in _CACHE and engine not in _INDEX_DIRS:
        return  # nothing built yet: the first screening builds it
    with _BUILD_LOCK:
        _make_index(engine)
