"""Public wait-time pages (issue 20, item 1): the wait now at every port, phone-first, and a
port's quietest hours. No sign-in, no personal data; the page refreshes itself every
minute (the figures are computed on each request)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain.values import Direction
from tsela.kernel.errors import NotFound
from tsela.services import waits as svc
from tsela.store.models import User
from tsela.web.i18n import N_
from tsela.web.labels import NODE_COUNTRY
from tsela.web.render import render
from tsela.web.security import public_page

router = APIRouter(include_in_schema=False)

# Words for each basis of the estimate, translated when rendered.
BASIS_WORDS = {
    "empty": N_("No queue"),
    "no_service": N_("Not known: no desk has served anyone in the last 30 minutes"),
    "no_arrivals": N_("Not counted at this port"),
}
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
            N_("Saturday"), N_("Sunday"))  # fmt: skip


def _minutes(estimate: float | None) -> int | None:
    return None if estimate is None else math.ceil(estimate)


@router.get("/waits")
def waits_page(
    request: Request,
    _anyone: User | None = Depends(public_page),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Public: the expected wait at each port now, busiest first."""
    now = clock_of(request).now()
    rows = [w for w in svc.current(session, now) if w.lane == svc.GENERAL or w.estimate.queue]
    counted = [w for w in rows if w.estimate.basis.value != "no_arrivals"]
    counted.sort(key=lambda w: (-(w.estimate.minutes or 0), w.port_name, w.direction.value))
    uncounted = sorted({w.port_name for w in rows} - {w.port_name for w in counted})
    context = {
        "counted": [(w, _minutes(w.estimate.minutes)) for w in counted],
        "uncounted": uncounted,
        "updated": now,
        "country": NODE_COUNTRY.get(settings.node, settings.node),
        "basis_words": BASIS_WORDS,
    }
    return render(request, "waits.html", context)


@router.get("/waits/{port_code}")
def port_waits_page(
    port_code: str,
    request: Request,
    direction: str = "entry",
    _anyone: User | None = Depends(public_page),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Public: one port's wait now and its quietest hours on today's weekday."""
    way = Direction.EXIT if direction == "exit" else Direction.ENTRY
    now = clock_of(request).now()
    try:
        history = svc.history(session, port_code, way, now)
    except NotFound:
        return render(request, "error.html", {"error": "missing"}, 404)
    now_rows = [w for w in svc.current(session, now)
                if w.port_code == history.port_code and w.direction == way]  # fmt: skip
    longest = max((h.median_minutes for h in history.hours), default=0.0) or 1.0
    context = {
        "history": history,
        "now_rows": [(w, _minutes(w.estimate.minutes)) for w in now_rows],
        "bars": [(h, round(100 * h.median_minutes / longest)) for h in history.hours],
        "best": {h.hour for h in history.best},
        "weekday": WEEKDAYS[history.weekday],
        "direction": way.value,
        "updated": now,
        "country": NODE_COUNTRY.get(settings.node, settings.node),
        "basis_words": BASIS_WORDS,
    }
    return render(request, "waits_port.html", context)
