"""Dependencies shared by the API routes: settings, engine, the clock, a session per request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tsela.config import Settings
from tsela.kernel.clock import Clock

if TYPE_CHECKING:
    from tsela.services.checks import Screening


# The two getters are async: they do no I/O, and FastAPI runs a sync dependency in a worker
# thread (a hop that costs more than the getter).
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def clock_of(request: Request) -> Clock:
    """The app's clock (``create_app(clock=...)``): the one source of "now" and of "today at
    the border" for routes and pages."""
    clock: Clock = request.app.state.clock
    return clock


async def get_clock(request: Request) -> Clock:
    return clock_of(request)


def screening_of(request: Request) -> Screening:
    """The app's border screening (``create_app`` builds it once): what every check, online
    or uploaded from a port that was offline, asks of the watchlists."""
    screening: Screening = request.app.state.screening
    return screening


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for one request; the route commits what it means to keep.

    Async, although sessions are synchronous: opening one does no I/O (it takes a connection
    only when the route first uses it) and closing one whose work was committed does none
    either, while a sync dependency with ``yield`` costs two hops to a worker thread. Closing
    one still in a transaction (after an error) rolls back, a round trip to the database: in
    a worker thread, as the database may be slow or away and the event loop must not wait.
    """
    session: Session = request.app.state.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


def lane_draw(request: Request) -> Callable[[], float]:
    """The app's draw for the fast lane's referrals at random (``create_app`` makes it:
    seeded by ``TSELA_FAST_LANE_SEED`` for tests and demonstrations, else unpredictable; a
    test may put its own on ``app.state.lane_draw``)."""
    draw: Callable[[], float] = request.app.state.lane_draw
    return draw
