"""Refusals on pages, handled once: ``attempt`` runs a page's unit of work and commits it; a
service's refusal (``tsela.kernel.errors``) rolls it back, writes the audit entry it asks for,
and comes back as ``Refused`` (the words in the reader's language where this catalogue has
its code, else the service's English words) for the page to show again with what was typed.

Usage in a form handler::

    done = attempt(request, session, lambda: svc.decide(session, actor, permit_id, target))
    if isinstance(done, Refused):
        return _detail(request, ..., done.message, 400)
    return RedirectResponse(...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from tsela.api.errors import status_of
from tsela.kernel.errors import NotFound, TselaError, kind_of
from tsela.services import audit
from tsela.web import labels
from tsela.web.i18n import N_, choose_language, translations

T = TypeVar("T")

# Codes said in the reader's language (gettext messages, translated in web/locale); any other
# refusal is shown in the service's English words (marked lang="en").
MESSAGES: dict[str, str] = {
    # tsela.services.accounts
    "account.refused": N_("The change was refused."),
    "username_length": N_("The username must have 1 to 60 characters."),
    "password_short": N_("The password must have at least %(min)s characters."),
    "password_long": N_("The password must have at most %(max)s characters."),
    "user_exists": N_("There is already a user %(username)s."),
    "port_required": N_("A border officer must be posted at a port: choose one."),
    "port_not_loaded": N_("Port %(port)s is not loaded in this database."),
    "no_user": N_("There is no such user."),
    "self_disable": N_("You cannot disable your own account."),
    "password_same": N_("The new password is the same as the current one."),
    # tsela.services.declarations
    "declaration.invalid": N_("Some answers cannot be kept: correct them and send again."),
    "declaration.keys": N_("Declarations cannot be made just now. Try again later."),
    "declaration.no_reference": N_("Declarations cannot be made just now. Try again later."),
    # tsela.services.fast_lane
    "fastlane.category": N_("Choose why you cross often."),
    "fastlane.document": N_("Choose one of your own passports."),
    "fastlane.document_expired": N_("This passport has expired: choose another."),
    "fastlane.port": N_("Choose the port where you usually cross."),
    "fastlane.statement_short": N_("Say why you cross often (at least %(min)s characters)."),
    "fastlane.already_open": N_("You already have an application or membership (%(number)s)."),
    "fastlane.unlinked": N_("Your account is not linked to a traveller record."),
    "fastlane.reason_short": N_("Give the reason (at least %(min)s characters)."),
    "fastlane.note_short": N_("Write what the interview found (at least %(min)s characters)."),
    "fastlane.interview_outcome": N_("Say how the interview went."),
    "fastlane.no_interview": N_(
        "The application cannot be approved: the applicant has not been interviewed."
    ),
    "fastlane.interview_concerns": N_(
        "The application cannot be approved: the interview found concerns."
    ),
    "fastlane.watchlist_hit": N_(
        "The application cannot be approved: the screening found a watchlist hit or a "
        "document alert."
    ),
    "fastlane.entry_ban": N_("The application cannot be approved: an entry ban is in force."),
    "fastlane.not_applied": N_("This can be done only while the application waits for a decision."),
    "fastlane.not_active": N_("Only an active membership can be suspended."),
    "fastlane.not_suspended": N_("Only a suspended membership can be reinstated."),
    "fastlane.keys": N_("Cards cannot be signed just now. Try again later."),
    # tsela.services.permits and the permit rules (tsela.domain.permits)
    "permit.final": N_("The decision on this permit is final: nothing more can be done to it."),
    "permit.illegal_transition": N_(
        "This cannot be done to the permit as it stands now. Look at its status and history."
    ),
    "permit.role_not_allowed": N_("Your role may not do this to a permit."),
    "permit.reason_required": N_("Give a reason: the applicant or holder will see it."),
    "permit.evidence_empty": N_(
        "Say what evidence was received: its document number or file name."
    ),
    "permit.evidence_closed": N_(
        "Evidence can be added only while the application is open, not after the decision."
    ),
    "permit.not_renewable": N_("This kind of permit cannot be renewed."),
    "permit.renew_status": N_("Only a permit that is issued or has expired can be renewed."),
    "permit.renewal_not_open": N_(
        "Renewal opens %(days)s days before the permit ends: on %(opens)s (it ends %(ends)s)."
    ),
    "permit.programme_ended": N_("The programme of this permit ended on %(ended)s."),
    "permit.not_in_force": N_("Only a permit in force (issued or suspended) can be extended."),
    "permit.not_extended": N_("This permit already runs to the end of its programme."),
    "permit.other_node": N_("This permit was issued by the other country: only it can sign it."),
    "permit.end_reason": N_("Give the reason the employment ended."),
    "permit.no_employment": N_("This permit has no employment that is still open."),
    "permit.end_before_start": N_(
        "The end date %(end)s is before the employment started (%(start)s)."
    ),
    "permit.bad_date": N_("Give the date as year-month-day, for example 2026-04-30."),
    "permit.evidence_missing": N_("The application cannot be sent: still missing %(missing)s."),
    "permit.document_unfit": N_(
        "The passport %(document)s cannot be used for this application: it has expired, is "
        "not valid for long enough or is not in force."
    ),
    "permit.page": N_("There is no such page of the list: pages count from 1."),
    "permit.nationality": N_("The %(type_name)s is not open to your nationality."),
    "permit.prior_required": N_("The %(type_name)s is only for holders of an earlier permit."),
    "permit.already_open": N_("There is already an open application for the %(type_name)s."),
    "permit.employer_required": N_("The %(type_name)s must name a registered employer."),
    "permit.applications_not_open": N_("Applications for the %(type_name)s open on %(opens)s."),
    "permit.applications_closed": N_("Applications for the %(type_name)s closed on %(closed)s."),
    # tsela.services.risk
    "risk.reason_short": N_("Say why the rule changes, in at least %(min)s characters."),
    "risk.hit_decided": N_("%(by)s already confirmed or dismissed this hit."),
    # tsela.services.cases and the case rules (tsela.domain.cases)
    "case.closed": N_("The case is closed: nothing more can be done to it."),
    "case.exists": N_("A case was opened from this check already."),
    "case.unknown_kind": N_("Choose the kind of case."),
    "case.unknown_agency": N_("Choose where to refer the case: the police or social development."),
    "case.note_required": N_("Write the note (at least %(min)s characters)."),
    "case.already_assigned": N_("%(holder)s has this case: hand it over instead."),
    "case.unassigned": N_("Nobody has this case yet: assign it first."),
    "case.unassigned_close": N_("Nobody has this case: take it or assign it before closing it."),
    "case.same_officer": N_("%(user)s has this case already."),
    "case.no_officer": N_("%(user)s is not an active case officer."),
    # tsela.services.sdg
    "sdg.invalid": N_("Some answers cannot be kept: correct them and send again."),
}


@dataclass(frozen=True)
class Refused:
    """A refusal as a page says it: ``message`` in ``lang``; ``msgid`` and ``values`` for
    templates that translate themselves (``_(msgid, **values)``); ``status`` the kind's."""

    error: Exception
    status: int
    message: str
    lang: str
    msgid: str
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def not_found(self) -> bool:
        return isinstance(self.error, TselaError) and kind_of(self.error) is NotFound


def refused(request: Request, exc: Exception, status: int = 400) -> Refused:
    """``exc`` in the reader's language (``status`` for an error that is not a kernel one)."""
    lang, _chosen = choose_language(request)
    if not isinstance(exc, TselaError):
        text = str(exc)
        return Refused(exc, status, text, "en", text.replace("%", "%%"))
    msgid = MESSAGES.get(exc.code)
    if msgid is None:
        return Refused(exc, status_of(exc), exc.message, "en", exc.message.replace("%", "%%"))
    translated = translations(lang).gettext(msgid)
    said_in = lang if translated != msgid or lang == "en" else "en"
    values = _in_words(exc.values, lang)
    return Refused(exc, status_of(exc), translated % values, said_in, msgid, values)


def _in_words(values: dict[str, Any], lang: str) -> dict[str, Any]:
    """A refusal's values as the reader reads them: codes (evidence kinds, permit types)
    replaced by their words in ``lang``."""
    out = dict(values)
    if "evidence" in out:
        out["missing"] = labels.evidence_lacking(out["evidence"], lang)
    if "type" in out:
        t = translations(lang)
        out["type_name"] = t.gettext(labels.type_label(str(out["type"]), str(out["type"])))
    return out


def attempt(
    request: Request,
    session: Session,
    work: Callable[[], T],
    *,
    also: tuple[type[Exception], ...] = (),
    actor: str = "",
    node: str = "",
) -> T | Refused:
    """Run ``work`` and commit. A refusal (a kernel error, or one of ``also``: errors of
    modules that have no kernel kind, answered 400) keeps nothing: rolled back, its audit
    entry written (as ``actor`` on ``node``) and committed, then returned as ``Refused``.
    Anything else propagates (a bug, not a refusal)."""
    try:
        result = work()
        session.commit()
        return result
    except TselaError as exc:
        session.rollback()
        if exc.audit is not None:
            audit.record_refusal(session, exc, actor=actor, node=node, source=_source(request))
            session.commit()
        return refused(request, exc)
    except also as exc:
        session.rollback()
        return refused(request, exc)


def _source(request: Request) -> str:
    return request.client.host if request.client else ""
