"""Permit use cases: apply, decide, issue a signed permit, suspend/revoke, renew, verify,
lists of expiring permits, and what the border check needs to know.

Each function works inside the caller's session (one transaction per use case: the caller
commits). Every change of state writes a ``PermitEvent`` (the permit's own history, with
the reason) and an ``AuditEvent`` (the node's hash-chained log).

- ``common``: errors, the actor, ``PermitView``, loading a permit, scope and history entries;
- ``applying``: apply, add evidence, submit;
- ``deciding``: decisions, issuing signed permits (one or many), programme extensions;
- ``renewal``: renew, expire, end an employment;
- ``reading``: view, history, lists, CSV and reminder counts;
- ``border``: valid permits and findings for the border check;
- ``verification``: revocation lists, online verification.
"""

from tsela.services.permits.applying import (
    NO_MATCH,
    OPEN_APPLICATION,
    Applicant,
    EvidenceItem,
    add_evidence,
    apply,
    evidence_kinds,
    submit,
)
from tsela.services.permits.border import (
    permit_findings,
    permits_at_border,
    stay_override,
    valid_permits_for,
)
from tsela.services.permits.common import (
    Forbidden,
    NotFound,
    PermitError,
    PermitView,
    S,
    check_move,
    holder_name,
    load_permit,
    new_number,
)
from tsela.services.permits.deciding import (
    decide,
    extend,
    extend_programme,
    issue,
    issue_many,
    revoke,
)
from tsela.services.permits.reading import (
    CSV_COLUMNS,
    PermitPage,
    Waiting,
    expiring_summary,
    history,
    list_permits,
    search_permits,
    to_csv,
    view,
    waiting,
)
from tsela.services.permits.renewal import end_employment, expire_due, renew
from tsela.services.permits.verification import (
    revocation_list,
    signed_revocation_list,
    verification_answer,
    verify_online,
)

__all__ = [
    "CSV_COLUMNS",
    "NO_MATCH",
    "OPEN_APPLICATION",
    "Applicant",
    "EvidenceItem",
    "Forbidden",
    "NotFound",
    "PermitError",
    "PermitPage",
    "PermitView",
    "S",
    "Waiting",
    "add_evidence",
    "apply",
    "check_move",
    "decide",
    "end_employment",
    "evidence_kinds",
    "expire_due",
    "expiring_summary",
    "extend",
    "extend_programme",
    "history",
    "holder_name",
    "issue",
    "issue_many",
    "list_permits",
    "load_permit",
    "new_number",
    "permit_findings",
    "permits_at_border",
    "renew",
    "revocation_list",
    "revoke",
    "search_permits",
    "signed_revocation_list",
    "stay_override",
    "submit",
    "to_csv",
    "valid_permits_for",
    "verification_answer",
    "verify_online",
    "view",
    "waiting",
]
