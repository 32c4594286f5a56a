"""Trafficking and smuggling cases: the case officer's role, a watchlist category of persons to
protect, and the case and its events

Revision ID: 0023_cases
Revises: 0022_risk_rules, 0002_watchlists (a merge: it widens the lists' category)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0023_cases"
# Also after the watchlists' branch, whose category it widens: a merge of the two, so that the
# lists' revision stops being a head (``depends_on`` would leave it a head of the script that
# the version table no longer names, and readiness would call it missing).
down_revision: str | tuple[str, ...] | None = ("0022_risk_rules", "0002_watchlists")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("border_officer", "supervisor", "permit_officer", "analyst", "admin", "employer",
         "worker", "secretariat")  # fmt: skip
CATEGORIES = ("wanted", "trafficking", "deportation", "banned_entry", "sanctions",
              "missing_person", "other")  # fmt: skip


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _allow(table: str, column: str, name: str, values: Sequence[str]) -> None:
    """Replace the CHECK constraint of an enumerated column with one allowing ``values``
    (SQLite: Alembic's batch mode copies the table, drops it and renames the copy)."""
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        batch.create_check_constraint(
            op.f(f"ck_{table}_{name}"), sa.column(column).in_(list(values))
        )


def _widen(allowed: Sequence[tuple[str, str, str, Sequence[str]]]) -> None:
    """``_allow`` each (table, column, constraint, values).

    On SQLite the tables copied are pointed at by other tables' rows (a user's sessions and
    tokens, a list's entries): with foreign keys enforced, dropping the original would
    delete them (ON DELETE CASCADE) or fail. SQLite's own procedure for such a change is to
    switch the enforcement off, copy, check (``foreign_key_check``), and switch it on again;
    the switch is ignored inside a transaction, so the work before is committed first and
    this part is committed on its own (each step leaves a consistent schema: run again, it
    does the same)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        for args in allowed:
            _allow(*args)
        return
    raw = bind.connection.dbapi_connection
    assert raw is not None
    raw.commit()
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        for args in allowed:
            _allow(*args)
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the copy: {broken[:5]}")
        raw.commit()
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _record() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    _widen(
        [
            ("app_user", "role", "role", (*ROLES, "case_officer")),
            ("watchlist", "category", "watchlist_category", (*CATEGORIES, "protect")),
            ("watchlist_entry", "category", "watchlist_category", (*CATEGORIES, "protect")),
        ]
    )
    op.create_table(
        "case_file",
        sa.Column(
            "kind",
            _enum("case_kind", "trafficking", "smuggling", "illegal_mining", "document_fraud"),
            nullable=False,
        ),
        sa.Column("status", _enum("case_status", "open", "referred", "closed"), nullable=False),
        sa.Column("check_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("port_code", sa.String(length=8), nullable=False),
        sa.Column("opened_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=60), nullable=False),
        sa.Column("assigned_to", sa.String(length=60), nullable=True),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("indicators_version", sa.String(length=16), nullable=False),
        sa.Column("referrals", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("closed_at", tsela.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        *_record(),
        sa.ForeignKeyConstraint(
            ["check_id"], ["border_check.id"], name=op.f("fk_case_file_check_id_border_check")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_case_file_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_file")),
        sa.UniqueConstraint("check_id", name=op.f("uq_case_file_check_id")),
    )
    op.create_index("ix_case_file_status_opened", "case_file", ["status", "opened_at"])
    op.create_index("ix_case_file_kind", "case_file", ["kind"])
    op.create_index("ix_case_file_person", "case_file", ["person_id"])
    op.create_table(
        "case_event",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("at", tsela.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column(
            "kind",
            _enum(
                "case_event_kind",
                "opened",
                "indicators",
                "note",
                "referred",
                "assigned",
                "handed_over",
                "closed",
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        *_record(),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            name=op.f("fk_case_event_case_id_case_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    op.create_index("ix_case_event_case", "case_event", ["case_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_case_event_case", table_name="case_event")
    op.drop_table("case_event")
    op.drop_index("ix_case_file_person", table_name="case_file")
    op.drop_index("ix_case_file_kind", table_name="case_file")
    op.drop_index("ix_case_file_status_opened", table_name="case_file")
    op.drop_table("case_file")
    _widen(
        [
            ("watchlist_entry", "category", "watchlist_category", CATEGORIES),
            ("watchlist", "category", "watchlist_category", CATEGORIES),
            ("app_user", "role", "role", ROLES),
        ]
    )
