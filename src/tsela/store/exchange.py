"""The node exchange's tables: the outbox (the feed this node serves), the partners it trusts
(with each one's cursor and last error), the message log (signed batches as received) and the
records received from partners."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from tsela.store.models import Base, Record

SEQ = BigInteger().with_variant(Integer, "sqlite")
GENESIS = "0" * 64


class OutboxEntry(Record, Base):
    """A record this node offers its partners, projected through the agreement when written.

    Written in the transaction of the change, unsequenced; the sequencer gives it its place
    (``seq``) and chain link (``hash``) once committed, and only then is it served.
    """

    __tablename__ = "exchange_outbox"

    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    record_id: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    seq: Mapped[int | None] = mapped_column(SEQ, unique=True)
    digest: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    # Set when sequenced: the record's canonical JSON as batches carry it, and the agreement
    # terms it was projected under (services.exchange.serve_batch).
    body: Mapped[str | None] = mapped_column(Text)
    terms: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        Index(
            "ix_exchange_outbox_unsequenced",
            "created_at",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )


class Partner(Record, Base):
    """A partner node this node trusts (its anchor) and how far its feed has been applied."""

    __tablename__ = "exchange_partner"

    partner: Mapped[str] = mapped_column(String(2), nullable=False, unique=True)
    anchor: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(80), nullable=False)
    added_by: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    last_seq: Mapped[int] = mapped_column(SEQ, nullable=False, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), nullable=False, default=GENESIS)
    head_seq: Mapped[int | None] = mapped_column(SEQ)  # the partner's newest, as last told
    applied: Mapped[int] = mapped_column(SEQ, nullable=False, default=0)
    last_batch_id: Mapped[str | None] = mapped_column(String(40))
    last_batch_at: Mapped[datetime | None] = mapped_column()
    last_record_at: Mapped[datetime | None] = mapped_column()  # made at the partner
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_error_code: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column()
    refusals: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class MessageLogEntry(Record, Base):
    """A signed batch exactly as received: evidence for a third party (``node`` is the
    partner that signed it)."""

    __tablename__ = "exchange_message"

    received_at: Mapped[datetime] = mapped_column(nullable=False)
    first_seq: Mapped[int] = mapped_column(SEQ, nullable=False)
    last_seq: Mapped[int] = mapped_column(SEQ, nullable=False)
    records: Mapped[int] = mapped_column(Integer, nullable=False)
    kid: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON (ASCII)
    signature: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_exchange_message_received", "received_at"),)


class ReceivedRecord(Record, Base):
    """A partner's record of a kind this node keeps as received (``id``: the partner's
    outbox entry; ``node``: the partner that made it; ``created_at``: when it made it)."""

    __tablename__ = "exchange_received"

    seq: Mapped[int] = mapped_column(SEQ, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    record_id: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    received_at: Mapped[datetime] = mapped_column(nullable=False)
    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)

    __table_args__ = (
        UniqueConstraint("node", "seq", name="uq_exchange_received_node_seq"),
        Index("ix_exchange_received_kind", "kind", "record_id"),
    )
