"""Revocation lists, online verification of a permit's signed token, and the answer a
verification gives (the API's and the CLI's)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain import credentials as cred
from tsela.kernel.clock import border_day
from tsela.services.keys import KeyStore
from tsela.services.permits.common import S
from tsela.store.models import Permit
from tsela.store.permits import PermitEvent


def revocation_list(session: Session, node: str, now: datetime) -> cred.RevocationList:
    """Every permit of ``node`` that is revoked or suspended (by id, as in the tokens' jti)."""
    rows = session.execute(
        select(Permit.id, Permit.status).where(
            Permit.node == node,
            Permit.status.in_([S.REVOKED, S.SUSPENDED]),
            Permit.token.is_not(None),
        )
    ).all()
    return cred.RevocationList(
        node=node,
        issued_at=now.astimezone(UTC),
        revoked=frozenset(str(i) for i, s in rows if s == S.REVOKED),
        suspended=frozenset(str(i) for i, s in rows if s == S.SUSPENDED),
    )


def signed_revocation_list(session: Session, keys: KeyStore, now: datetime) -> str:
    return cred.sign_revocation_list(revocation_list(session, keys.node, now), keys.signer(now))


def verification_answer(
    result: cred.Verification, issued_by: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A verification as people and programs read it: the same for ``POST
    /v1/permits/verify`` and ``tsela permit verify --json`` (one shape, built here only).
    ``issued_by``: which country issued the permit, in words, as the edge says it
    (``tsela.web.labels.issued_by``)."""
    c = result.claims
    return {
        "status": result.status.value,
        "valid": result.valid,
        "reasons": list(result.reasons),
        "kid": result.kid,
        "issued_by": issued_by,
        "permit": None
        if c is None
        else {
            "number": c.number,
            "holder": c.holder,
            "birth_date": c.birth_date.isoformat() if c.birth_date else None,
            "nationality": c.nationality,
            "document": c.document,
            "type": c.permit_type,
            "type_name": c.type_name,
            "rights": list(c.rights),
            "country": c.country,
            "valid_from": c.valid_from.isoformat(),
            "valid_to": c.valid_to.isoformat(),
            "employer": c.employer,
            "issuer": c.issuer,
        },
    }


def verify_online(
    session: Session,
    token: str,
    keyset: cred.KeySet,
    node: str,
    today: date,
    revocations: Iterable[cred.RevocationList] = (),
) -> cred.Verification:
    """Verify a token and, for this node's permits, check the register for its status now
    (``revocations``: other nodes' signed lists, services.permit_trust)."""
    result = cred.Verifier(keyset, revocations).verify(token, today)
    claims = result.claims
    if claims is None or claims.issuer != node:
        return result
    try:
        permit = session.get(Permit, uuid.UUID(claims.permit_id))
    except ValueError:
        permit = None
    if permit is None or permit.token != token.strip():
        # Signed by our key but not a credential we hold: a leaked key or a replaced token.
        return cred.Verification(
            cred.VerifyStatus.FORGED,
            (f"permit {claims.number} is not in the register of node {node} with this token",),
            None,
            result.kid,
        )
    rest = tuple(r for r in result.reasons if not r.startswith("revocation not checked"))
    if permit.status in (S.REVOKED, S.SUSPENDED):
        last = session.scalars(
            select(PermitEvent)
            .where(PermitEvent.permit_id == permit.id, PermitEvent.to_status == permit.status)
            .order_by(PermitEvent.at.desc())
        ).first()
        why = f": {last.reason}" if last and last.reason else ""
        when = f" on {border_day(last.at).isoformat()}" if last else ""
        return cred.Verification(
            cred.VerifyStatus(permit.status),
            (f"permit {claims.number} was {permit.status}{when}{why}",),
            claims,
            result.kid,
        )
    return cred.Verification(
        result.status, (*rest, f"status checked in the register of node {node}"), claims, result.kid
    )
