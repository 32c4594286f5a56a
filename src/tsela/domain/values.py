"""Enumerated values of the domain, shared by every layer (the store keeps them as text)."""

from __future__ import annotations

from enum import StrEnum


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"
    UNSPECIFIED = "X"


class DocumentStatus(StrEnum):
    VALID = "valid"
    LOST = "lost"
    STOLEN = "stolen"
    REVOKED = "revoked"


class Direction(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class Decision(StrEnum):
    CLEAR = "CLEAR"
    REFER = "REFER"
    DENY = "DENY"


class Role(StrEnum):
    BORDER_OFFICER = "border_officer"
    SUPERVISOR = "supervisor"
    PERMIT_OFFICER = "permit_officer"
    ANALYST = "analyst"
    ADMIN = "admin"
    EMPLOYER = "employer"
    WORKER = "worker"
    SECRETARIAT = "secretariat"
    CASE_OFFICER = "case_officer"  # trafficking and smuggling cases, protection


class AlertStatus(StrEnum):
    """A document reported in a list: this node's own or the partner's (store.watchlists and
    store.partner_alerts both use it, so it lives here, apart from either)."""

    LOST = "lost"
    STOLEN = "stolen"
    REVOKED = "revoked"
