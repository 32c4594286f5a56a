"""Identity at the border, in real time: the other records of the traveller in front of the
officer (issue 17 item 3).

``also_known_as`` does for one record what batch resolution does for all: the record's
folded features and blocking keys, its candidates from the ``identity_key`` index (one
indexed ``IN`` query, capped), their ``identity_record`` rows, each scored with the active
model's parameters by the pure scorer (``tsela.domain.identity.score_pair``, the same levels
Splink uses). It keeps the candidates at or above the review threshold, and every other
member of the record's own identity when batch resolution has already placed it.

A *linked* record is one of the same resolved identity (the model linked it above the
auto-link threshold, or a supervisor did); any other is only a *candidate*: shown to the
officer, never acted on. Without a trained model nothing is looked up (an empty answer).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from threading import Lock

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tsela.domain.identity import (
    FEATURES,
    Parameters,
    PersonRecord,
    blocking_keys,
    features,
    score_pair,
    thresholds,
)
from tsela.store.identity import IdentityKey, IdentityModel, IdentityRecord

# Candidates read at most per record. A blocking key shared by more records than this is a
# very common name with a common birth year; the best candidates then also share a more
# selective key (birth date, document), which is read first.
CANDIDATE_CAP = 400

_FEATURE_COLUMNS = [c for c in FEATURES if c not in ("record_key", "source", "node")]

_cache: dict[str, Parameters] = {}
_cache_lock = Lock()


@dataclass(frozen=True)
class AlsoKnownAs:
    """Another record of (maybe) the same person."""

    record_key: str
    source: str  # person | partner
    node: str
    person_id: uuid.UUID | None
    surname: str
    given_names: str
    birth_date: str | None
    nationality: str | None
    document_number: str | None
    document_country: str | None
    identity_id: uuid.UUID
    probability: float  # the model's match probability against the record checked
    linked: bool  # True: the same resolved identity; False: only a candidate

    def as_dict(self) -> dict[str, object]:
        return {
            "record_key": self.record_key,
            "source": self.source,
            "node": self.node,
            "person_id": str(self.person_id) if self.person_id else None,
            "surname": self.surname,
            "given_names": self.given_names,
            "birth_date": self.birth_date,
            "nationality": self.nationality,
            "document_number": self.document_number,
            "document_country": self.document_country,
            "identity_id": str(self.identity_id),
            "probability": round(self.probability, 4),
            "linked": self.linked,
        }


def parameters(session: Session) -> Parameters | None:
    """The active model's parameters, read once per model version in this process."""
    version = session.scalars(
        select(IdentityModel.version)
        .where(IdentityModel.active.is_(True))
        .order_by(IdentityModel.id.desc())
        .limit(1)
    ).first()
    if version is None:
        return None
    found = _cache.get(version)
    if found is not None:
        return found
    model = session.scalars(
        select(IdentityModel.model).where(IdentityModel.version == version)
    ).one()
    params = Parameters.from_splink(model, version)
    with _cache_lock:
        _cache[version] = params
    return params


def candidate_keys(session: Session, keys: list[str], own: str, cap: int) -> list[str]:
    """The record keys sharing a blocking key with the record (one indexed IN query)."""
    if not keys:
        return []
    rows = session.scalars(
        select(IdentityKey.record_key)
        .where(IdentityKey.key.in_(keys), IdentityKey.record_key != own)
        .distinct()
        .limit(cap)
    )
    return list(rows)


def also_known_as(
    session: Session,
    record: PersonRecord,
    *,
    params: Parameters | None = None,
    cap: int = CANDIDATE_CAP,
) -> list[AlsoKnownAs]:
    """The record's other records: linked ones (same identity) first, then candidates at or
    above the review threshold, each group by probability (highest first)."""
    params = params or parameters(session)
    if params is None:
        return []
    row = features(record)
    keys = candidate_keys(session, blocking_keys(row), record.key, cap)
    own_identity = select(IdentityRecord.identity_id).where(IdentityRecord.record_key == record.key)
    found = session.scalars(
        select(IdentityRecord).where(
            or_(
                IdentityRecord.record_key.in_([*keys, record.key]),
                IdentityRecord.identity_id.in_(own_identity),
            )
        )
    ).all()
    mine = next((r.identity_id for r in found if r.record_key == record.key), None)
    review, _auto = thresholds()
    out: list[AlsoKnownAs] = []
    for other in found:
        if other.record_key == record.key:
            continue
        linked = mine is not None and other.identity_id == mine
        theirs = {c: getattr(other, c) for c in _FEATURE_COLUMNS}
        probability = score_pair(params, row, theirs).probability
        if not linked and probability < review:
            continue
        out.append(
            AlsoKnownAs(
                record_key=other.record_key,
                source=other.source,
                node=other.record_node,
                person_id=other.person_id,
                surname=other.surname,
                given_names=other.given_names,
                birth_date=other.birth_date,
                nationality=other.nationality,
                document_number=other.document_number,
                document_country=other.document_country,
                identity_id=other.identity_id,
                probability=probability,
                linked=linked,
            )
        )
    out.sort(key=lambda a: (not a.linked, -a.probability, a.record_key))
    return out
