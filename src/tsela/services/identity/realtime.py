"""Identity at the border, in real time: the other records of the traveller in front of the
officer (issue 17 item 3).

``also_known_as`` does for one record what batch resolution does for all: the record's
folded features and blocking keys, its candidates from the ``identity_key`` index (one
index-only ``IN`` query), the ``CANDIDATE_CAP`` of them sharing the most keys, their
``identity_record`` rows (with every record of its own identity, one query), all scored at
once with the active model's parameters by the pure scorer
(``tsela.domain.identity.score_many``: the weights of ``score_pair``, the same levels Splink
uses, one comparison over every candidate at a time). It keeps the candidates at or above
the review threshold, and every other member of the record's own identity when batch
resolution has already placed it.

A *linked* record is one of the same resolved identity (the model linked it above the
auto-link threshold, or a supervisor did); any other is only a *candidate*: shown to the
officer, never acted on. Without a trained model nothing is looked up (an empty answer).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
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

# Blocking-key rows read at most per record (index only: ``identity_key``'s primary key). At
# 1,000,000 persons a record's keys have 153 rows at the median and 339 at most
# (docs/benchmarks.md); a key shared by far more (a very common name with a common birth
# year) is cut here.
KEYS_READ = 2000
# Candidates fetched and scored at most per record: those sharing the most blocking keys
# first, then, among those sharing one, the ones of the rarest key. A record of the same
# person shares two keys or more in nearly every case (a new passport: name + birth date and
# name + birth year + initial; a married name: given name + birth date and birth date + sex +
# initial; a typo in the name: its birth date keys and the document), and at 1,000,000
# persons no record had more than 11 candidates sharing two keys. Fetching the identity_record
# rows of candidates is most of a check's identity time, so fewer rows, less time; the bench
# compares the answers with those of scoring every candidate read (cap 400).
CANDIDATE_CAP = 64

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
# ... the records sharing a blocking key with the new record (an index-only read) ...
_KEYED = (
    select(_K.key, _K.record_key)
    .where(_K.key.in_(bindparam("keys", expanding=True)), _K.record_key != bindparam("own"))
    .limit(bindparam("read"))
)
# ... and, in one round trip, the chosen candidates' rows and every record of the record's
# own identity.
_FOUND = union_all(
    select(*_SHOWN, *_SCORED).where(_R.record_key.in_(bindparam("chosen", expanding=True))),
    select(*_SHOWN, *_SCORED).where(
        _R.identity_id
        == select(_R.identity_id).where(_R.record_key == bindparam("own")).scalar_subquery()
    ),
)


def _chosen(pairs: Sequence[tuple[str, str]], cap: int) -> list[str]:
    """The ``cap`` candidates sharing the most keys, then those of the rarest key."""
    per_key = Counter(k for k, _r in pairs)
    shares: dict[str, list[int]] = {}
    for key, rec in pairs:
        got = shares.setdefault(rec, [0, per_key[key]])
        got[0] += 1
        got[1] = min(got[1], per_key[key])
    ranked = sorted(shares.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))
    return [rec for rec, _ in ranked[:cap]]


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
    conn = session.connection()
    pairs = conn.execute(_KEYED, {"keys": keys, "own": record.key, "read": KEYS_READ}).all()
    chosen = _chosen([(k, r) for k, r in pairs], cap)
    rows = conn.execute(_FOUND, {"chosen": chosen, "own": record.key}).all()
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
