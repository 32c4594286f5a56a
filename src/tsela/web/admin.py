"""The administrator's pages: accounts (create, find, change role and port, disable and
enable, reset a password, API tokens), watchlist imports with their bad rows, and the audit
log (filtered, paged, and its chain verified).

Thin over the services the CLI uses (``services.accounts``, ``services.audit``,
``services.audit_checkpoints``, ``services.screening``). Pages name accounts by id, never by
name, in their paths; what ends a user's access (disable, revoke tokens) is confirmed on a
page of its own first (the pages run no script). Passwords are asked for, as the CLI does,
and never shown back.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tsela.api.deps import clock_of, get_engine, get_session, get_settings
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.kernel.clock import day_start
from tsela.reference import UnknownPortError, ports
from tsela.services import accounts, audit
from tsela.services import audit_checkpoints as checkpoints
from tsela.store.models import PortOfEntry, Role, User
from tsela.web.errors import Refused, attempt
from tsela.web.exchange import Paged
from tsela.web.i18n import N_
from tsela.web.nav import add_nav
from tsela.web.render import ROLE_LABELS, render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)
MANAGE_USERS = page_for(Permission.USERS_MANAGE)
MANAGE_WATCHLISTS = page_for(Permission.WATCHLIST_MANAGE)
READ_AUDIT = page_for(Permission.AUDIT_READ)
PER_PAGE = 25
MAX_IMPORT_BYTES = 20 * 1024**2  # larger lists are imported with the command line
ROW_ERRORS_SHOWN = 200

add_nav("/admin/users", N_("Users"), Permission.USERS_MANAGE)
add_nav("/admin/watchlists", N_("Watchlists"), Permission.WATCHLIST_MANAGE)
add_nav("/admin/audit", N_("Audit log"), Permission.AUDIT_READ)

# The refusals of ``services.accounts`` (AccountError.code), in words with their values.
PASSWORDS_DIFFER = N_("The two passwords differ: type the same password twice.")
UNKNOWN_ROLE = N_("Choose a role from the list.")
UNKNOWN_PORT = N_("Choose a port from the list.")

# What a done=... in the address says after a change.
DONE: dict[str, str] = {
    "created": N_("The user has been created."),
    "role": N_("Role and port saved."),
    "disabled": N_("The user has been disabled: they can no longer sign in."),
    "enabled": N_("The user has been enabled: they can sign in again."),
    "password": N_("The password has been changed; the user's sessions and tokens have ended."),
    "revoked": N_("Every token and session of the user has ended."),
    "token": N_("The token has been revoked."),
}

WATCHLIST_KINDS = {"person": N_("People"), "document": N_("Documents (lost or stolen)")}
WATCHLIST_FORMATS = {"csv": N_("CSV"), "ftm": N_("FollowTheMoney (JSON lines)")}
WATCHLIST_CATEGORIES = {  # WatchlistCategory values
    "wanted": N_("Wanted"),
    "trafficking": N_("Victim of trafficking"),
    "deportation": N_("Deportation order"),
    "banned_entry": N_("Banned from entry"),
    "sanctions": N_("Sanctions"),
    "missing_person": N_("Missing person"),
    "protect": N_("Person to protect (refer to a protection officer)"),
    "other": N_("Other"),
}


def _problem(refused: Refused) -> dict[str, Any]:
    """A refusal for the page: message id and its values (translated when rendered)."""
    if isinstance(refused.error, UnknownPortError):
        return {"message": UNKNOWN_PORT}
    return {"message": refused.msgid, **refused.values}


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1").strip()
    return max(1, int(raw)) if raw.isdigit() and len(raw) < 7 else 1


def _paged(items: list[Any], page: int, total: int) -> Paged:
    return Paged(items, page, max(1, -(-total // PER_PAGE)), total, "page")


def _ports(session: Session) -> list[tuple[str, str]]:
    """The ports loaded here: code and both countries' names of the post."""
    known = ports()
    codes = session.scalars(select(PortOfEntry.code).order_by(PortOfEntry.code))
    return [(c, known[c].display_name if c in known else c) for c in codes]


def _forget(request: Request, user: User) -> None:
    """This worker stops trusting the user's tokens now (the others within their cache)."""
    cache = getattr(request.app.state, "token_users", None)
    if cache is not None:
        cache.forget_user(user.id)


# --- users ----------------------------------------------------------------------------------


def _role_param(raw: str) -> Role | None:
    try:
        return Role(raw) if raw else None
    except ValueError:
        return None


@router.get("/admin/users")
def users(
    request: Request,
    _admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> Response:
    """Administrators: every account, searched by username or name and by role, paged."""
    query = request.query_params.get("q", "").strip()[:60]
    role = _role_param(request.query_params.get("role", "").strip())
    page = _page_number(request)
    found = accounts.search_users(
        session, query, role=role, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    pages = max(1, -(-found.total // PER_PAGE))
    if page > pages:  # past the end: the last page
        page = pages
        found = accounts.search_users(
            session, query, role=role, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
        )

    def link(page_no: int) -> str:
        params = {"q": query, "role": role.value if role else "", "page": page_no}
        return "/admin/users?" + urlencode({k: v for k, v in params.items() if v})

    return render(
        request,
        "admin/users.html",
        {
            "listing": _paged(found.rows, page, found.total),
            "link": link,
            "q": query,
            "role": role.value if role else "",
            "roles": ROLE_LABELS,
        },
    )


def _user_form(
    request: Request, session: Session, values: dict[str, str], problem: dict[str, Any] | None
) -> Response:
    return render(
        request,
        "admin/user_new.html",
        {"values": values, "problem": problem, "roles": ROLE_LABELS, "ports": _ports(session)},
        400 if problem else 200,
    )


@router.get("/admin/users/new")
def new_user_form(
    request: Request, _admin: User = Depends(MANAGE_USERS), session: Session = Depends(get_session)
) -> Response:
    """Administrators: the form for a new account."""
    return _user_form(request, session, {}, None)


@router.post("/admin/users/new")
def create_user(
    request: Request,
    admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    username: str = Form(""),
    full_name: str = Form(""),
    role: str = Form(""),
    port: str = Form(""),
    password: str = Form(""),
    password_again: str = Form(""),
) -> Response:
    """Administrators: create an account with one role (a border officer at a port)."""
    values = {"username": username, "full_name": full_name, "role": role, "port": port}
    role_value = _role_param(role)
    if role_value is None:
        return _user_form(request, session, values, {"message": UNKNOWN_ROLE})
    if password != password_again:
        return _user_form(request, session, values, {"message": PASSWORDS_DIFFER})
    user = attempt(
        request,
        session,
        lambda: accounts.create_user(
            session,
            node=settings.node,
            username=username[:200],
            password=password[:200],
            role=role_value,
            port_code=port.strip() or None,
            full_name=full_name.strip()[:160],
            actor=admin.username,
        ),
        also=(UnknownPortError,),
    )
    if isinstance(user, Refused):
        return _user_form(request, session, values, _problem(user))
    return RedirectResponse(f"/admin/users/{user.id}?done=created", status_code=303)


def _row(session: Session, user_id: str) -> accounts.UserRow | None:
    try:
        return accounts.user_by_id(session, uuid.UUID(user_id))
    except (ValueError, accounts.AccountError):
        return None


def _user_page(
    request: Request,
    session: Session,
    row: accounts.UserRow,
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    done = request.query_params.get("done", "")
    return render(
        request,
        "admin/user.html",
        {
            "row": row,
            "tokens": accounts.tokens_of(session, row.user),
            "now": clock_of(request).now(),
            "roles": ROLE_LABELS,
            "ports": _ports(session),
            "done": DONE.get(done),
            "problem": problem,
        },
        status_code,
    )


def _missing(request: Request) -> Response:
    return render(request, "error.html", {"error": "missing"}, 404)


@router.get("/admin/users/{user_id}")
def user_page(
    request: Request,
    user_id: str,
    _admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> Response:
    """Administrators: one account, its API tokens, and the changes that can be made."""
    row = _row(session, user_id)
    return _missing(request) if row is None else _user_page(request, session, row)


def _done(user_id: object, what: str) -> Response:
    return RedirectResponse(f"/admin/users/{user_id}?done={what}", status_code=303)


@router.post("/admin/users/{user_id}/role")
def change_role(
    request: Request,
    user_id: str,
    admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
    role: str = Form(""),
    port: str = Form(""),
) -> Response:
    """Administrators: another role, and the port a border officer is posted at."""
    row = _row(session, user_id)
    if row is None:
        return _missing(request)
    role_value = _role_param(role)
    if role_value is None:
        return _user_page(request, session, row, {"message": UNKNOWN_ROLE}, 400)
    done = attempt(
        request,
        session,
        lambda: accounts.set_role(
            session,
            row.user.username,
            role_value,
            actor=admin.username,
            port_code=port.strip() or None,
        ),
        also=(UnknownPortError,),
    )
    if isinstance(done, Refused):
        return _user_page(request, session, _row(session, user_id) or row, _problem(done), 400)
    return _done(row.user.id, "role")


# Changes confirmed on a page of their own: what the page asks, and the button.
CONFIRM: dict[str, tuple[str, str, str]] = {
    "disable": (
        N_("Disable %(username)s?"),
        N_("They can no longer sign in, and every API token and browser session of theirs "
           "ends now. You can enable the account again later; the tokens stay revoked."),
        N_("Yes, disable the account"),
    ),
    "revoke": (
        N_("End every token and session of %(username)s?"),
        N_("Programs using their API tokens stop working, and they must sign in again "
           "(e.g. after a lost laptop). The account stays enabled."),
        N_("Yes, revoke every token"),
    ),
    "token": (
        N_("Revoke this API token of %(username)s?"),
        N_("Programs using it stop working. Their other tokens and their sessions go on."),
        N_("Yes, revoke the token"),
    ),
}  # fmt: skip


@router.get("/admin/users/{user_id}/tokens/{token_id}/revoke")
def confirm_token_revoke(
    request: Request,
    user_id: str,
    token_id: str,
    _admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> Response:
    """Administrators: are you sure? (before revoking one API token)."""
    row = _row(session, user_id)
    try:
        uuid.UUID(token_id)
    except ValueError:
        row = None
    if row is None:
        return _missing(request)
    question, consequence, button = CONFIRM["token"]
    return render(
        request,
        "admin/confirm.html",
        {
            "row": row,
            "question": question,
            "consequence": consequence,
            "button": button,
            "action": f"/admin/users/{row.user.id}/tokens/{token_id}/revoke",
        },
    )


@router.get("/admin/users/{user_id}/{change}")
def confirm_change(
    request: Request,
    user_id: str,
    change: str,
    _admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> Response:
    """Administrators: are you sure? (before disabling an account or revoking its tokens)."""
    row = _row(session, user_id)
    if row is None or change not in ("disable", "revoke"):
        return _missing(request)
    question, consequence, button = CONFIRM[change]
    return render(
        request,
        "admin/confirm.html",
        {
            "row": row,
            "question": question,
            "consequence": consequence,
            "button": button,
            "action": f"/admin/users/{row.user.id}/{change}",
        },
    )


@router.post("/admin/users/{user_id}/disable")
def disable(
    request: Request,
    user_id: str,
    admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> Response:
    """Administrators: disable an account (confirmed); its tokens and sessions end."""
    return _set_active(request, session, user_id, admin, False)


@router.post("/admin/users/{user_id}/enable")
def enable(
    request: Request,
    user_id: str,
    admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> Response:
    """Administrators: enable a disabled account again."""
    return _set_active(request, session, user_id, admin, True)


def _set_active(
    request: Request, session: Session, user_id: str, admin: User, active: bool
) -> Response:
    row = _row(session, user_id)
    if row is None:
        return _missing(request)
    done = attempt(
        request,
        session,
        lambda: accounts.set_active(session, row.user.username, active, actor=admin.username),
    )
    if isinstance(done, Refused):
        return _user_page(request, session, _row(session, user_id) or row, _problem(done), 409)
    _forget(request, row.user)
    return _done(row.user.id, "enabled" if active else "disabled")


@router.post("/admin/users/{user_id}/revoke")
def revoke(
    request: Request,
    user_id: str,
    admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> Response:
    """Administrators: end every API token and browser session of an account (confirmed)."""
    row = _row(session, user_id)
    if row is None:
        return _missing(request)
    accounts.revoke_user_credentials(session, row.user.username, actor=admin.username)
    session.commit()
    _forget(request, row.user)
    return _done(row.user.id, "revoked")


@router.post("/admin/users/{user_id}/tokens/{token_id}/revoke")
def revoke_one_token(
    request: Request,
    user_id: str,
    token_id: str,
    admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
) -> Response:
    """Administrators: revoke one API token of an account."""
    row = _row(session, user_id)
    try:
        token = uuid.UUID(token_id)
    except ValueError:
        row = None
    if row is None:
        return _missing(request)
    accounts.revoke_token_of(session, row.user.username, token, actor=admin.username)
    session.commit()
    _forget(request, row.user)
    return _done(row.user.id, "token")


@router.post("/admin/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: str,
    admin: User = Depends(MANAGE_USERS),
    session: Session = Depends(get_session),
    password: str = Form(""),
    password_again: str = Form(""),
) -> Response:
    """Administrators: set a new password (typed twice, as the CLI asks); the user's
    sessions and tokens end."""
    row = _row(session, user_id)
    if row is None:
        return _missing(request)
    if password != password_again:
        return _user_page(request, session, row, {"message": PASSWORDS_DIFFER}, 400)
    done = attempt(
        request,
        session,
        lambda: accounts.reset_password(session, row.user.username, password, actor=admin.username),
    )
    if isinstance(done, Refused):
        return _user_page(request, session, _row(session, user_id) or row, _problem(done), 400)
    _forget(request, row.user)
    return _done(row.user.id, "password")


# --- watchlists -----------------------------------------------------------------------------


def _watchlists_page(
    request: Request,
    engine: Engine,
    values: dict[str, str],
    *,
    report: Any = None,
    refused: Any = None,
    failed: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    from tsela.services.screening import list_watchlists

    return render(
        request,
        "admin/watchlists.html",
        {
            "lists": list_watchlists(engine),
            "values": values,
            "kinds": WATCHLIST_KINDS,
            "formats": WATCHLIST_FORMATS,
            "categories": WATCHLIST_CATEGORIES,
            "report": report,
            "refused": refused,
            "failed": failed,
            "shown": ROW_ERRORS_SHOWN,
        },
        status_code,
    )


@router.get("/admin/watchlists")
def watchlists(
    request: Request,
    _admin: User = Depends(MANAGE_WATCHLISTS),
    engine: Engine = Depends(get_engine),
) -> Response:
    """Administrators: the lists loaded, and a form to import one."""
    return _watchlists_page(request, engine, {})


@router.post("/admin/watchlists")
def import_watchlist(
    request: Request,
    admin: User = Depends(MANAGE_WATCHLISTS),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    list_name: str = Form(""),
    kind: str = Form("person"),
    fmt: str = Form("csv"),
    category: str = Form("other"),
    source: str = Form(""),
    confirm: str = Form(""),
    file: UploadFile | None = File(None),
) -> Response:
    """Administrators: replace a list with an uploaded file; bad rows are listed by line."""
    from tsela.services.screening import (
        ImportFileError,
        ImportNeedsConfirmation,
        import_watchlist,
    )
    from tsela.store.watchlists import WatchlistCategory, WatchlistKind

    values = {"list_name": list_name, "kind": kind, "fmt": fmt, "category": category}
    values["source"] = source

    def refuse(message: str, **words: object) -> Response:
        return _watchlists_page(
            request, engine, values, failed={"message": message, **words}, status_code=400
        )

    if kind not in WATCHLIST_KINDS or fmt not in WATCHLIST_FORMATS:
        return refuse(N_("Choose the kind of list and the file format from the lists."))
    if category not in WATCHLIST_CATEGORIES:
        return refuse(N_("Choose a category from the list."))
    data = file.file.read(MAX_IMPORT_BYTES + 1) if file is not None else b""
    if not data:
        return refuse(N_("Choose the file to import."))
    if len(data) > MAX_IMPORT_BYTES:
        return refuse(
            N_("The file is over %(mb)s MB: import it with the command line."),
            mb=MAX_IMPORT_BYTES // 1024**2,
        )
    try:
        report = import_watchlist(
            engine,
            list_name=list_name,
            data=data,
            fmt=fmt,
            kind=WatchlistKind(kind),
            category=WatchlistCategory(category),
            source=source.strip()[:200],
            actor=admin.username,
            node=settings.node,
            confirm=confirm == "1",
            today=clock_of(request).today(),
        )
    except ImportNeedsConfirmation as exc:
        return _watchlists_page(request, engine, values, refused=exc, status_code=409)
    except ImportFileError as exc:
        return _watchlists_page(
            request,
            engine,
            values,
            failed={"message": N_("No row of the file could be read: the list is unchanged.")},
            refused=None,
            report={
                "errors": exc.errors,
                "error_count": len(exc.errors),
                "warnings": [],
            },
            status_code=422,
        )
    except ValueError as exc:  # a bad list name or a format that does not fit the kind
        return _watchlists_page(
            request,
            engine,
            values,
            failed={"message": N_("The import was refused: %(why)s"), "why": str(exc)},
            status_code=422,
        )
    return _watchlists_page(request, engine, {}, report=report)


# --- the audit log --------------------------------------------------------------------------


def _day(raw: str) -> date | str | None:
    """A day from a filter ('' for none; the raw text back if it is not a date)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return raw


@router.get("/admin/audit")
def audit_log(
    request: Request,
    admin: User = Depends(READ_AUDIT),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Administrators: the audit log, newest first, filtered by who, what and border days."""
    params = request.query_params
    actor = params.get("actor", "").strip()[:60]
    action = params.get("action", "").strip()[:60]
    first, last = _day(params.get("from", "")), _day(params.get("to", ""))
    problem = None
    if isinstance(first, str) or isinstance(last, str):
        problem = N_("A day must be a date like 2026-11-25.")
        first = last = None
    page = _page_number(request)
    found = audit.EntryPage([], 0)
    if problem is None:
        since = day_start(first) if isinstance(first, date) else None
        before = day_start(last + timedelta(days=1)) if isinstance(last, date) else None
        found = audit.search(
            session,
            actor=actor,
            action=action,
            since=since,
            before=before,
            offset=(page - 1) * PER_PAGE,
            limit=PER_PAGE,
        )
        # Entries name who read whose records: reading them is itself recorded.
        audit.record(
            session,
            actor=admin.username,
            action="audit.read",
            node=settings.node,
            entity="audit",
            detail={"actor": actor or None, "action": action or None, "count": found.total},
        )
        session.commit()
    filters = {
        "actor": actor,
        "action": action,
        "from": params.get("from", "").strip()[:10],
        "to": params.get("to", "").strip()[:10],
    }

    def link(page_no: int) -> str:
        chosen = {k: v for k, v in {**filters, "page": page_no}.items() if v}
        return "/admin/audit?" + urlencode(chosen)

    return render(
        request,
        "admin/audit.html",
        {
            "listing": _paged(found.entries, page, found.total),
            "link": link,
            "filters": filters,
            "actions": audit.actions(session),
            "problem": problem,
            "check": None,
        },
        400 if problem else 200,
    )


@router.post("/admin/audit/verify")
def verify_audit(
    request: Request,
    _admin: User = Depends(READ_AUDIT),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Administrators: check the whole chain against the signed checkpoints (as ``tsela
    audit verify`` does: the entries written since the last seal are chained first, and a
    new checkpoint is written when the log is intact)."""
    found = checkpoints.verify_log(engine, settings.var_dir, settings.node)
    return render(
        request,
        "admin/audit_verify.html",
        {"check": found},
        200 if found.ok else 409,
    )
