"""Identity at the border, in real time: the other records of the traveller in front of the
officer (issue 17 item 3).

``also_known_as`` does for one record what batch resolution does for all: the record's
folded features and blocking keys, its candidates from the ``identity_key`` index (one
indexed ``IN`` query, capped), their ``identity_record`` rows, all scored at once with the
active model's parameters by the pure scorer (``tsela.domain.identity.score_many``: the
weights of ``score_pair``, the same levels Splink uses, one comparison over every candidate
at a time). It keeps the candidates at or above the review threshold, and every other
member of the record's own identity when batch resolution has already placed it.

A *linked* record is one of the same resolved identity (the model linked it above the
auto-link threshold, or a supervisor did); any other is only a *candidate*: shown to the
officer, never acted on. Without a trained model nothing is looked up (an empty answer).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from threading import Lock
from typing import Any, cast

from sqlalchemy import bindparam, select, union_all
from sqlalchemy.orm import Session

from tsela.domain.identity import (
    FEATURES,
    Parameters,
    PersonRecord,
    blocking_keys,
    features,
    probability_of,
    score_many,
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


_R = IdentityRecord.__table__.c
_K = IdentityKey.__table__.c
_M = IdentityModel.__table__.c
_SHOWN = (
    _R.record_key, _R.source, _R.record_node, _R.person_id, _R.surname, _R.given_names,
    _R.birth_date, _R.nationality, _R.document_number, _R.document_country, _R.identity_id,
)  # fmt: skip
_SCORED = tuple(_R[c] for c in _FEATURE_COLUMNS if c not in ("birth_date", "nationality"))
# Built once (a border check runs this for every traveller): the active model's version ...
_VERSION = select(_M.version).where(_M.active.is_(True)).order_by(_M.id.desc()).limit(1)
_MODEL = select(_M.model).where(_M.version == bindparam("version"))
# ... and, in one round trip, the records sharing a blocking key with the new record (an
# indexed IN on identity_key's primary key, capped) and every record of its own identity.
_FOUND = union_all(
    select(*_SHOWN, *_SCORED).where(
        _R.record_key.in_(
            select(_K.record_key)
            .where(_K.key.in_(bindparam("keys", expanding=True)), _K.record_key != bindparam("own"))
            .limit(bindparam("cap"))
        )
    ),
    select(*_SHOWN, *_SCORED).where(
        _R.identity_id
        == select(_R.identity_id).where(_R.record_key == bindparam("own")).scalar_subquery()
    ),
)


def parameters(session: Session) -> Parameters | None:
    """The active model's parameters, read once per model version in this process."""
    version = session.connection().execute(_VERSION).scalar()
    if version is None:
        return None
    found = _cache.get(version)
    if found is not None:
        return found
    model = session.connection().execute(_MODEL, {"version": version}).scalar_one()
    params = Parameters.from_splink(model, version)
    with _cache_lock:
        _cache[version] = params
    return params


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
    keys = blocking_keys(row) or ["-"]  # no key: only the record's own identity
    rows = session.connection().execute(_FOUND, {"keys": keys, "own": record.key, "cap": cap}).all()
    mine = next((r.identity_id for r in rows if r.record_key == record.key), None)
    review, _auto = thresholds()
    seen: set[str] = {record.key}
    others = []
    for other in rows:
        if other.record_key not in seen:  # the record itself, or a linked record also found
            seen.add(other.record_key)  # as a candidate
            others.append(other)
    # Every candidate scored at once (the same weights as score_pair, column by column).
    weights = score_many(params, row, [cast(Mapping[str, Any], o._mapping) for o in others])
    out: list[AlsoKnownAs] = []
    for other, weight in zip(others, weights, strict=True):
        linked = mine is not None and other.identity_id == mine
        probability = probability_of(weight)
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
