"""Who may do what: every permission and the roles that hold it, in one table.

The API's routes declare a permission (``tsela.api.auth.require``), the web pages too
(``tsela.web.security.page_for``), the navigation shows a link to the roles holding the
page's permission, and the services and the domain ask :func:`allows` before they act. To
give a role more or less, change :data:`TABLE` and nothing else (``tests/test_access.py``
walks every route and says what changed).

A permission is what the role lets one attempt; a service may still refuse a particular
thing: an employer sees only its own workers' permits, a worker only their own, a border
officer checks travellers only at the port they are posted to, and the governance pages
open only to the secretariat and the members of a body (any staff may be made one).

Where a refusal itself must be known (the permissions in :data:`AUDITED_DENIALS`: case
data), a caller refused by role is written to the audit log.
"""

from __future__ import annotations

from enum import StrEnum

from tsela.domain.values import Role


class Permission(StrEnum):
    SIGNED_IN = "signed_in"  # one's own account: who am I, sign out, change password, home
    CHECK_RECORD = "check_record"  # check travellers, record crossings, the port client
    CHECK_OVERRIDES_READ = "check_overrides_read"  # the officers' overrides to review
    CHECK_REVIEW = "check_review"  # review an override (agree or not)
    QUEUE_RECORD = "queue_record"  # a desk calls the next traveller (the wait times count it)
    REFUSAL_RECORD = "refusal_record"  # refuse entry; the refusals and entry bans on record
    REFUSAL_GROUNDS_READ = "refusal_grounds_read"  # the grounds a refusal may give
    ENTRY_BAN_DECIDE = "entry_ban_decide"  # impose, lift or shorten an entry ban
    RISK_RULES_READ = "risk_rules_read"  # the risk rules, their parameters and modes
    RISK_RULES_MANAGE = "risk_rules_manage"  # switch a risk rule on, off or to inform only
    WAITS_STAFFING_READ = "waits_staffing_read"  # desks open against the queue, by hour
    PORT_LIVE_READ = "port_live_read"  # a port's day: volumes by hour, hits, overrides by officer
    DOCUMENT_READ = "document_read"  # read a passport's machine-readable zone
    STAY_EVALUATE = "stay_evaluate"  # days of stay of any traveller
    WATCHLIST_SCREEN = "watchlist_screen"  # screen names and documents against the lists
    WATCHLIST_IMPORT = "watchlist_import"  # import a list through the API
    WATCHLIST_MANAGE = "watchlist_manage"  # the lists' administration page
    FASTLANE_APPLY = "fastlane_apply"  # apply for the fast lane, see one's card (one's own)
    FASTLANE_VET = "fastlane_vet"  # the applications: screening, history, the interview
    FASTLANE_DECIDE = "fastlane_decide"  # approve or refuse, suspend or reinstate a member
    PERMIT_APPLY = "permit_apply"  # apply, add evidence, submit, renew, read (one's own)
    PERMIT_SPONSOR = "permit_sponsor"  # an employer's side: its workers, end of employment
    PERMIT_DECIDE = "permit_decide"  # the permit office: any permit, decide, issue, employers
    WORKER_PORTAL = "worker_portal"  # the worker's pages (/me)
    EMPLOYER_PORTAL = "employer_portal"  # the employer's pages (/employer)
    EXCHANGE_READ = "exchange_read"  # the node exchange's state
    MATCHING_READ = "matching_read"  # identities matched across the nodes
    IDENTITY_READ = "identity_read"  # resolved identities and the review queue
    IDENTITY_DECIDE = "identity_decide"  # link, reject, defer a pair; unlink a record
    IDENTITY_RESOLVE = "identity_resolve"  # run batch identity resolution, train its model
    OBSERVATORY_READ = "observatory_read"  # indicators and the observatory's report
    GOVERNANCE_READ = "governance_read"  # the tracker, for those bound to a body
    GOVERNANCE_EDIT = "governance_edit"  # the secretariat: bodies, plans, members, publishing
    SDG_ASSESSMENT_EDIT = "sdg_assessment_edit"  # the NCC secretariat answers SDG 10.7.2
    USERS_MANAGE = "users_manage"  # accounts, roles, tokens
    AUDIT_READ = "audit_read"  # the audit log and its verification
    CASE_OPEN = "case_open"  # open a trafficking or smuggling case from a check
    CASE_READ = "case_read"  # cases: special personal information, every read audited
    CASE_WORK = "case_work"  # indicators, notes, referral, assignment, hand-over, closure


R = Role
_STAFF = frozenset({R.BORDER_OFFICER, R.SUPERVISOR, R.PERMIT_OFFICER, R.ANALYST, R.ADMIN})
_PERMIT_OFFICE = frozenset({R.PERMIT_OFFICER, R.ADMIN})

TABLE: dict[Permission, frozenset[Role]] = {
    Permission.SIGNED_IN: frozenset(Role),
    Permission.CHECK_RECORD: frozenset({R.BORDER_OFFICER, R.SUPERVISOR}),
    Permission.CHECK_OVERRIDES_READ: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.CHECK_REVIEW: frozenset({R.SUPERVISOR}),
    Permission.QUEUE_RECORD: frozenset({R.BORDER_OFFICER, R.SUPERVISOR}),
    Permission.REFUSAL_RECORD: frozenset({R.BORDER_OFFICER, R.SUPERVISOR}),
    Permission.REFUSAL_GROUNDS_READ: frozenset(
        {R.BORDER_OFFICER, R.SUPERVISOR, R.ANALYST, R.ADMIN}
    ),
    Permission.ENTRY_BAN_DECIDE: frozenset({R.SUPERVISOR}),
    Permission.RISK_RULES_READ: frozenset({R.BORDER_OFFICER, R.SUPERVISOR, R.ANALYST, R.ADMIN}),
    Permission.RISK_RULES_MANAGE: frozenset({R.SUPERVISOR}),
    Permission.WAITS_STAFFING_READ: frozenset({R.SUPERVISOR, R.ANALYST}),
    Permission.PORT_LIVE_READ: frozenset({R.SUPERVISOR}),
    Permission.DOCUMENT_READ: frozenset(
        {R.BORDER_OFFICER, R.SUPERVISOR, R.PERMIT_OFFICER, R.ADMIN}
    ),
    Permission.STAY_EVALUATE: _STAFF,
    Permission.WATCHLIST_SCREEN: frozenset({R.BORDER_OFFICER, R.SUPERVISOR, R.ADMIN}),
    Permission.WATCHLIST_IMPORT: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.WATCHLIST_MANAGE: frozenset({R.ADMIN}),
    Permission.FASTLANE_APPLY: frozenset({R.WORKER}),
    Permission.FASTLANE_VET: frozenset({R.BORDER_OFFICER, R.SUPERVISOR}),
    Permission.FASTLANE_DECIDE: frozenset({R.SUPERVISOR}),
    Permission.PERMIT_APPLY: frozenset({R.WORKER, R.EMPLOYER}) | _PERMIT_OFFICE,
    Permission.PERMIT_SPONSOR: frozenset({R.EMPLOYER}) | _PERMIT_OFFICE,
    Permission.PERMIT_DECIDE: _PERMIT_OFFICE,
    Permission.WORKER_PORTAL: frozenset({R.WORKER}),
    Permission.EMPLOYER_PORTAL: frozenset({R.EMPLOYER}),
    Permission.EXCHANGE_READ: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.IDENTITY_READ: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.IDENTITY_DECIDE: frozenset({R.SUPERVISOR}),
    Permission.IDENTITY_RESOLVE: frozenset({R.ADMIN}),
    Permission.MATCHING_READ: frozenset({R.SUPERVISOR, R.ANALYST}),
    Permission.OBSERVATORY_READ: frozenset({R.ANALYST, R.SUPERVISOR, R.ADMIN, R.SECRETARIAT}),
    # Any staff may be bound to a body; the binding, not the role, opens the tracker.
    Permission.GOVERNANCE_READ: _STAFF | {R.SECRETARIAT},
    Permission.GOVERNANCE_EDIT: frozenset({R.SECRETARIAT}),
    # Reading the assessment is OBSERVATORY_READ (analysts among others).
    Permission.SDG_ASSESSMENT_EDIT: frozenset({R.SECRETARIAT}),
    Permission.USERS_MANAGE: frozenset({R.ADMIN}),
    Permission.AUDIT_READ: frozenset({R.ADMIN}),
    # Cases hold special personal information (a possible victim of trafficking, an
    # offence): the case officers alone read and work them; the desk only opens them.
    Permission.CASE_OPEN: frozenset({R.BORDER_OFFICER, R.SUPERVISOR, R.CASE_OFFICER}),
    Permission.CASE_READ: frozenset({R.CASE_OFFICER}),
    Permission.CASE_WORK: frozenset({R.CASE_OFFICER}),
}

# Permissions guarding special personal information: a caller whose role lacks one is
# refused (403) and the attempt is written to the audit log (``tsela.api.auth.require``,
# ``tsela.web.security.page_for``).
AUDITED_DENIALS: frozenset[Permission] = frozenset({Permission.CASE_READ, Permission.CASE_WORK})


def roles_for(permission: Permission) -> frozenset[Role]:
    """The roles holding ``permission``."""
    return TABLE[permission]


def allows(role: Role | str, permission: Permission) -> bool:
    """Whether ``role`` holds ``permission`` (an unknown role holds none)."""
    try:
        return Role(role) in TABLE[permission]
    except ValueError:
        return False


def permissions_of(role: Role) -> frozenset[Permission]:
    """Everything ``role`` may attempt (for the administrators' pages and the docs)."""
    return frozenset(p for p, roles in TABLE.items() if role in roles)
