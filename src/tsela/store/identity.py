"""Resolved identities: which person records are one person, the pairs waiting for a
person's decision, and the trained models (issue 17).

``identity_record`` holds one row per person record (this node's ``person``, or a partner's
traveller named by a document) with the folded features it is compared on and the
``identity_id`` of the person it belongs to. ``identity_key`` is the border's candidate
index (blocking keys -> record). ``identity_pair`` is every pair the model scored at or above
the review threshold and what became of it. ``identity_model`` keeps each trained model.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tsela.kernel import clock
from tsela.store.models import Base, Record


class IdentityRecord(Record, Base):
    __tablename__ = "identity_record"

    record_key: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    source: Mapped[str] = mapped_column(String(12), nullable=False)  # person | partner
    record_node: Mapped[str] = mapped_column(String(2), nullable=False)  # whose record it is
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    identity_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    # What a reviewer reads (the record's own words) ...
    surname: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    given_names: Mapped[str] = mapped_column(String(160), nullable=False, default="")
    document_number: Mapped[str | None] = mapped_column(String(20))
    document_country: Mapped[str | None] = mapped_column(String(3))
    # ... and what the model compares.
    surname_fold: Mapped[str | None] = mapped_column(String(120))
    given_fold: Mapped[str | None] = mapped_column(String(80))
    given_initial: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[str | None] = mapped_column(String(10))  # ISO text, compared as text
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(1))
    nationality: Mapped[str | None] = mapped_column(String(3))
    doc_fold: Mapped[str | None] = mapped_column(String(24))
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)

    __table_args__ = (
        Index("ix_identity_record_identity", "identity_id"),
        Index("ix_identity_record_person", "person_id"),
    )


class IdentityKey(Base):
    """Blocking key -> record: the border finds a new record's candidates here."""

    __tablename__ = "identity_key"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    record_key: Mapped[str] = mapped_column(String(120), primary_key=True)


class IdentityPair(Record, Base):
    """A pair the model scored at or above the review threshold, and its fate.

    ``status``: ``auto`` (linked by the model, above the auto-link threshold), ``pending``
    (waits for review), ``deferred`` (a reviewer put it off), ``linked`` (a reviewer linked
    it), ``rejected`` (a reviewer said no, or unlinked it: never proposed again).
    """

    __tablename__ = "identity_pair"

    left_key: Mapped[str] = mapped_column(String(120), nullable=False)
    right_key: Mapped[str] = mapped_column(String(120), nullable=False)
    probability: Mapped[float] = mapped_column(Float, nullable=False)
    weight: Mapped[float] = mapped_column(Float, nullable=False)
    contributions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    model_version: Mapped[str] = mapped_column(String(40), nullable=False)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    __table_args__ = (
        UniqueConstraint("left_key", "right_key", name="uq_identity_pair_keys"),
        Index("ix_identity_pair_status", "status", "probability"),
        Index("ix_identity_pair_right", "right_key"),
    )


class IdentityModel(Record, Base):
    __tablename__ = "identity_model"

    version: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    format: Mapped[int] = mapped_column(Integer, nullable=False)
    engine: Mapped[str] = mapped_column(String(10), nullable=False)
    records: Mapped[int] = mapped_column(Integer, nullable=False)
    model: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
