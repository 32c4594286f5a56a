"""The exchange page for supervisors and administrators: the partner nodes, the last batch,
the lag (with an alert past ``TSELA_EXCHANGE_LAG_ALERT_S``), errors and refusals, the signed
batches received, and the exits and entries that found no counterpart on the other side.

What it shows is ``services.exchange_ops`` (as ``tsela exchange status``); the refusal codes
get words here, in the reader's language, beside the service's technical English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.services import exchange_ops as ops
from tsela.store.models import User
from tsela.web.i18n import N_
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)
PER_PAGE = 20

add_nav("/exchange", N_("Exchange"), Permission.EXCHANGE_READ)

# What went wrong, by the code the exchange records (docs/exchange.md, "Pulling").
ERRORS: dict[str, str] = {
    "tls": N_("The partner's TLS certificate does not verify against its trust anchor."),
    "certificate": N_("The partner presented a certificate that is not the one in its anchor."),
    "certificate_node": N_("The partner's certificate names another node."),
    "too_large": N_("The answer was larger than allowed."),
    "malformed": N_("The answer was not a well-formed batch."),
    "unknown_key": N_("The batch was signed by a key not in the partner's anchor."),
    "withdrawn_key": N_("The batch was signed by a withdrawn key."),
    "expired_key": N_("The batch was signed by a key outside its validity."),
    "bad_signature": N_("The batch's signature does not verify: it was altered."),
    "wrong_node": N_("The batch names another sender or receiver."),
    "clock_skew": N_("The partner's clock is too far from ours."),
    "replay": N_("An old batch was sent again."),
    "gap": N_("The batch skips records."),
    "chain": N_("The batch does not follow the last one received."),
    "bad_record": N_("The batch holds a record that cannot be stored."),
    "untrusted_update": N_("An updated trust anchor was not signed by a trusted key."),
    "anchor_expired": N_(
        "The partner's trust anchor has expired: its operator must send a new one."
    ),
    "untrusted": N_("The partner is no longer trusted."),
    "unreachable": N_("The partner could not be reached."),
    "internal": N_("This node failed while applying the batch."),
}
SERVER_ERROR = N_("The partner answered with an error.")


def error_words(code: str | None) -> str:
    if not code:
        return ""
    if code.startswith("http_"):
        return SERVER_ERROR
    return ERRORS.get(code, code)


@dataclass(frozen=True)
class Paged:
    """One page of a list: its items, and where the other pages are."""

    items: Sequence[Any]
    page: int
    pages: int
    total: int
    param: str  # the query parameter that chooses the page of this list

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def _page_number(request: Request, param: str) -> int:
    raw = request.query_params.get(param, "1").strip()
    return max(1, int(raw)) if raw.isdigit() and len(raw) < 7 else 1


def _pages(total: int) -> int:
    return max(1, -(-total // PER_PAGE))


def _link(request: Request, param: str, page: int) -> str:
    """This page's address with ``param`` set to ``page`` (the other lists keep theirs)."""
    query = {k: v for k, v in request.query_params.items() if k not in (param, "lang")}
    query[param] = str(page)
    return "/exchange?" + "&".join(f"{k}={v}" for k, v in sorted(query.items()) if v.isalnum())


@router.get("/exchange")
def exchange_page(
    request: Request,
    _user: User = Depends(page_for(Permission.EXCHANGE_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Supervisors and administrators: the exchange with the partner node at a glance."""
    problem = None
    raw_days = request.query_params.get("days", "").strip()
    days = ops.UNMATCHED_DAYS
    if raw_days:
        if raw_days.isdigit() and 1 <= int(raw_days) <= ops.MAX_DAYS:
            days = int(raw_days)
        else:
            problem = N_("The number of days must be a whole number from 1 to 31.")
    now = clock_of(request).now()
    found = ops.overview(
        session, node=settings.node, now=now, lag_alert_s=settings.exchange_lag_alert_s, days=days
    )
    lines = found["unmatched"]["lines"]
    line_page = min(_page_number(request, "lines"), _pages(len(lines)))
    start = (line_page - 1) * PER_PAGE
    unmatched_lines = Paged(
        lines[start : start + PER_PAGE], line_page, _pages(len(lines)), len(lines), "lines"
    )
    paged: dict[str, Paged] = {}
    for param, reader in (("refused", ops.refusals), ("batches", ops.batches)):
        page = _page_number(request, param)
        items, total = reader(session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
        if not items and page > 1:  # past the end: the last page
            page = _pages(total)
            items, total = reader(session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
        paged[param] = Paged(items, page, _pages(total), total, param)
    for item in paged["refused"].items:
        item["words"] = error_words(item["code"])
    partners = [{**p, "error_words": error_words(p["last_error_code"])} for p in found["partners"]]
    return render(
        request,
        "exchange.html",
        {
            "status": found,
            "partners": partners,
            "alerts": [p for p in partners if p["lag_alert"]],
            "days": days,
            "problem": problem,
            "lines": unmatched_lines,
            "refused": paged["refused"],
            "batches": paged["batches"],
            "link": lambda param, page: _link(request, param, page),
        },
        400 if problem else 200,
    )
