"""Use cases of the governance tracker: bodies and sessions, progress updates, the review
before a session, session notes applied in one go, and the public view.

Who may do what (checked here, so the API and the command line agree):
- the secretariat (role ``secretariat``; the command line acts as the secretariat) edits
  everything: plans, dates, owners, what is public, who speaks for which body;
- a user bound to a body (``gov_body_member``) reads the tracker and reports progress
  (status, notes, evidence) on activities owned by that body or a body under it;
- anyone else sees only the public view: what the secretariat marked public.

Every change writes an audit event in the same transaction as the change.

- ``access``: access checks on the kernel's actor, the audit entry for a change;
- ``bodies``: bodies, members, meetings;
- ``activities``: activities, dependencies, edits, what is public;
- ``progress``: progress updates and session notes;
- ``reading``: lists, the review, indicators, the public view.
"""

from tsela.services.governance.access import (
    AccessDenied,
    NotFound,
    actor_for,
    descendants,
    is_secretariat,
    may_update,
    operator,
    reads,
    record_change,
    require_reader,
    require_secretariat,
    require_updater,
)
from tsela.services.governance.activities import (
    ActivityChanges,
    activity_by_code,
    code_label,
    dependency_graph,
    depends_on_codes,
    edit_activity,
    set_public,
)
from tsela.services.governance.bodies import (
    BODIES_FILE,
    BodyInput,
    add_body,
    add_meeting,
    bind_member,
    bodies,
    body_by_code,
    last_session,
    load_bodies,
    meeting_on,
    reference_bodies,
)
from tsela.services.governance.progress import (
    NOTE_COLUMNS,
    EvidenceInput,
    LineError,
    LineErrors,
    ProgressUpdate,
    apply_session_notes,
    check_update,
    parse_note_rows,
    report_progress,
)
from tsela.services.governance.reading import (
    BodyReview,
    IndicatorProgress,
    activities_of,
    activity_json,
    indicator_progress,
    introduced_on,
    last_note,
    measurement_json,
    objective_status,
    public_view,
    review,
    review_entry,
)

__all__ = [
    "BODIES_FILE",
    "NOTE_COLUMNS",
    "AccessDenied",
    "ActivityChanges",
    "BodyInput",
    "BodyReview",
    "EvidenceInput",
    "IndicatorProgress",
    "LineError",
    "LineErrors",
    "NotFound",
    "ProgressUpdate",
    "activities_of",
    "activity_by_code",
    "activity_json",
    "actor_for",
    "add_body",
    "add_meeting",
    "apply_session_notes",
    "bind_member",
    "bodies",
    "body_by_code",
    "check_update",
    "code_label",
    "dependency_graph",
    "depends_on_codes",
    "descendants",
    "edit_activity",
    "indicator_progress",
    "introduced_on",
    "is_secretariat",
    "last_note",
    "last_session",
    "load_bodies",
    "may_update",
    "measurement_json",
    "meeting_on",
    "objective_status",
    "operator",
    "parse_note_rows",
    "public_view",
    "reads",
    "record_change",
    "reference_bodies",
    "report_progress",
    "require_reader",
    "require_secretariat",
    "require_updater",
    "review",
    "review_entry",
    "set_public",
]
