# ruff: noqa: I001  (feature modules register their tables at the bottom, one line each)
"""Tables of the operational store (SQLAlchemy 2 declarative models).

Every record carries a UUIDv7 ``id`` and the ``node`` (LS or ZA) that created it, so the
two countries' nodes can exchange rows without clashes. Enumerated values are stored as
short strings with CHECK constraints, which migrate the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tsela.domain.values import Decision, Direction, DocumentStatus, Role, Sex
from tsela.ids import new_id
from tsela.kernel import clock
from tsela.reference import port_display_name
from tsela.store.types import UTCDateTime

# Stable constraint names, so Alembic migrations can refer to them on both back ends.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The old name of ``tsela.kernel.clock.now``, kept only while branches written before the
# kernel land; new code imports the kernel's.
utcnow = clock.now


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        list[dict[str, Any]]: JSON(),
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }
    # Every model here maps one table (none maps a join or a select), so Core statements
    # (insert/update/delete) take ``Model.__table__`` as the Table it is.
    if TYPE_CHECKING:
        __table__: ClassVar[Table]


def str_enum(enum: type[StrEnum], name: str) -> SAEnum:
    return SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Record:
    """Columns every table has."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    node: Mapped[str] = mapped_column(String(2), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)


class Person(Record, Base):
    """A traveller, worker or applicant as known to this node."""

    __tablename__ = "person"

    primary_name: Mapped[str] = mapped_column(String(120), nullable=False)
    given_names: Mapped[str] = mapped_column(String(160), nullable=False, default="")
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, "sex"), nullable=False, default=Sex.UNSPECIFIED)
    birth_date: Mapped[date | None] = mapped_column(Date)
    nationality: Mapped[str] = mapped_column(String(3), nullable=False)  # ISO 3166-1 alpha-3

    documents: Mapped[list[TravelDocument]] = relationship(back_populates="holder")

    __table_args__ = (Index("ix_person_name_birth", "primary_name", "birth_date"),)


class TravelDocument(Record, Base):
    __tablename__ = "travel_document"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), nullable=False)
    document_type: Mapped[str] = mapped_column(String(2), nullable=False)  # ICAO: P, I, A, C, V
    issuing_state: Mapped[str] = mapped_column(String(3), nullable=False)
    number: Mapped[str] = mapped_column(String(20), nullable=False)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[DocumentStatus] = mapped_column(
        str_enum(DocumentStatus, "document_status"), nullable=False, default=DocumentStatus.VALID
    )

    holder: Mapped[Person] = relationship(back_populates="documents")

    __table_args__ = (
        UniqueConstraint("issuing_state", "number", name="uq_travel_document_state_number"),
        Index("ix_travel_document_person", "person_id"),
    )


class PortOfEntry(Record, Base):
    """A land or air port of entry; each side may use its own name for the same place."""

    __tablename__ = "port_of_entry"

    code: Mapped[str] = mapped_column(String(8), nullable=False, unique=True)
    name_za: Mapped[str] = mapped_column(String(80), nullable=False)
    name_ls: Mapped[str] = mapped_column(String(80), nullable=False)
    za_province: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    ls_district: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="land")
    normal_hours: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    @property
    def display_name(self) -> str:
        return port_display_name(self.name_za, self.name_ls)


class Employer(Record, Base):
    __tablename__ = "employer"

    registration_number: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    sector: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    address: Mapped[str] = mapped_column(Text, nullable=False, default="")
    contact: Mapped[str] = mapped_column(String(160), nullable=False, default="")
    country: Mapped[str] = mapped_column(String(3), nullable=False, default="ZAF")


class User(Record, Base):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    username: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    full_name: Mapped[str] = mapped_column(String(160), nullable=False, default="")
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), nullable=False)
    port_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("port_of_entry.id"))
    employer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employer.id"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Permit(Record, Base):
    __tablename__ = "permit"

    number: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), nullable=False)
    permit_type: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False, default="draft")
    employer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employer.id"))
    country: Mapped[str] = mapped_column(String(3), nullable=False, default="ZAF")  # where valid
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)
    # Added by migration 0003_permits: the applicant's document, renewal link, credential.
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("travel_document.id"))
    renewal_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("permit.id"))
    issued_at: Mapped[datetime | None] = mapped_column()
    kid: Mapped[str | None] = mapped_column(String(64))
    token: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_permit_person", "person_id"),
        Index("ix_permit_status_valid_to", "status", "valid_to"),
        Index("ix_permit_employer", "employer_id"),
    )


class Crossing(Record, Base):
    """One recorded entry into or exit from a country at a port of entry."""

    __tablename__ = "crossing"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), nullable=False)
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("travel_document.id"))
    port_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("port_of_entry.id"), nullable=False)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "direction"), nullable=False)
    country: Mapped[str] = mapped_column(String(3), nullable=False)  # country entered or left
    crossed_at: Mapped[datetime] = mapped_column(nullable=False)
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    decision: Mapped[Decision] = mapped_column(
        str_enum(Decision, "decision"), nullable=False, default=Decision.CLEAR
    )
    check_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Hash of the request that recorded it: a retry with the same Idempotency-Key must
    # carry the same request, or it is refused.
    request_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_crossing_person_time", "person_id", "crossed_at"),
        Index("ix_crossing_port_time", "port_id", "crossed_at"),
        # One check, at most one crossing: two desks (or a retry under a new key) recording
        # the same check at once must not both succeed (migration 0008).
        Index(
            "uq_crossing_check_id",
            "check_id",
            unique=True,
            sqlite_where=text("check_id IS NOT NULL"),
            postgresql_where=text("check_id IS NOT NULL"),
        ),
    )


class AuditEvent(Base):
    """Append-only log of reads of personal data and of every change.

    ``seq`` orders the log; ``prev_hash``/``hash`` chain each entry to the one before,
    so an edited, deleted or reordered entry is detectable. An entry is written unsealed
    (``seq`` NULL, empty hashes) and chained by the sequencer (``services.audit.seal``).
    """

    __tablename__ = "audit_event"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    node: Mapped[str] = mapped_column(String(2), nullable=False)
    seq: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), unique=True
    )
    at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)
    actor: Mapped[str] = mapped_column(String(60), nullable=False)
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    entity: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    entity_id: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    source: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    hash: Mapped[str] = mapped_column(String(64), nullable=False, default="")

    __table_args__ = (
        Index("ix_audit_event_action_entity", "action", "entity_id", "at"),
        Index(
            "ix_audit_event_unsealed",
            "at",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )


# Feature modules add their tables to the same metadata.
from tsela.store import auth  # noqa: E402,F401
from tsela.store import checks  # noqa: E402,F401
from tsela.store import exchange  # noqa: E402,F401
from tsela.store import governance  # noqa: E402,F401
from tsela.store import partner_crossings  # noqa: E402,F401
from tsela.store import permits  # noqa: E402,F401
from tsela.store import watchlists  # noqa: E402,F401
from tsela.store import partner_alerts  # noqa: E402,F401
from tsela.store import partner_permits  # noqa: E402,F401
from tsela.store import waits  # noqa: E402,F401
from tsela.store import refusals  # noqa: E402,F401
from tsela.store import declarations  # noqa: E402,F401
from tsela.store import sdg  # noqa: E402,F401
from tsela.store import identity  # noqa: E402,F401

from tsela.store import fast_lane  # noqa: E402,F401

from tsela.store import risk  # noqa: E402,F401

from tsela.store import cases  # noqa: E402,F401
