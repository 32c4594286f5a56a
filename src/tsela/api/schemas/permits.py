"""Permits and employers: permit types, the public key set, verification, a permit with its
history, and the employers' registry."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tsela.api.schemas.common import Day, Id, Moment, Out
from tsela.domain.credentials import VerifyStatus
from tsela.domain.permits import PermitStatus

__all__ = [
    "EmployerOut",
    "EmploymentEndedOut",
    "IssuedPermitOut",
    "JwkOut",
    "JwksOut",
    "PermitClaimsOut",
    "PermitEventOut",
    "PermitOut",
    "PermitTypeEvidenceOut",
    "PermitTypeOut",
    "PermitViewOut",
    "VerificationOut",
]


class PermitTypeEvidenceOut(Out):
    required: list[str]
    any_of: list[list[str]] = Field(description="At least one of these groups, all of a group")


class PermitTypeOut(Out):
    code: str
    name: str
    description: str
    countries: list[str]
    nationalities: list[str]
    rights: list[str]
    overrides_stay_limit: bool
    validity_days: int | None
    valid_until: Day | None
    applications_open: Day | None
    applications_close: Day | None
    renewable: bool
    employer_required: bool
    evidence: PermitTypeEvidenceOut
    conditions: list[str]
    fee_zar: int | None


class JwkOut(Out):
    """A public Ed25519 key (RFC 8037) with the node that signs with it and its state."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    use: Literal["sig"]
    alg: str
    iss: str
    status: str = Field(examples=["active", "retired"])
    created: Moment | None = None
    retired: Moment | None = None


class JwksOut(Out):
    keys: list[JwkOut]


class PermitClaimsOut(Out):
    """What the signed permit itself says."""

    number: str
    holder: str
    birth_date: Day | None
    nationality: str
    document: str
    type: str
    type_name: str
    rights: list[str]
    country: str
    valid_from: Day
    valid_to: Day
    employer: str | None
    issuer: str


class IssuedByOut(Out):
    """Which country issued a permit: its node, country code, and words in each language."""

    node: str
    country: str | None
    name: dict[str, str] = Field(description="The country's name, by language (en, st)")
    words: dict[str, str] = Field(description='"Issued by ..." by language (en, st)')


class VerificationOut(Out):
    """A permit verified: valid, or why not (``tsela permit verify --json`` answers the same)."""

    status: VerifyStatus
    valid: bool
    reasons: list[str]
    kid: str | None
    issued_by: IssuedByOut | None
    permit: PermitClaimsOut | None


class PermitViewOut(Out):
    """A permit and its status on the day asked about (an issued permit can be expired)."""

    id: Id
    number: str
    person_id: Id
    holder: str
    permit_type: str
    type_name: str
    status: PermitStatus
    effective_status: PermitStatus
    country: str
    rights: list[str]
    overrides_stay_limit: bool
    fast_lane: bool
    valid_from: Day | None
    valid_to: Day | None
    days_left: int | None
    employer_id: Id | None
    employer: str | None


class PermitEventOut(Out):
    at: Moment
    action: str
    from_: PermitStatus | None = Field(alias="from")
    to: PermitStatus
    by: str
    role: str
    reason: str | None


class PermitOut(PermitViewOut):
    history: list[PermitEventOut]


class IssuedPermitOut(PermitOut):
    token: str = Field(description="The signed permit (a JWS), as its QR code carries it")
    kid: str = Field(description="The id of the key that signed it")


class EmploymentEndedOut(Out):
    permit: str
    employer_id: Id
    end_date: Day
    reason: str


class EmployerOut(Out):
    id: Id
    registration_number: str
    name: str
    sector: str
    address: str
    contact: str
    country: str
