"""Risk rules as data (issue 18, item 5): each rule's mode at this node, and each rule hit
a check made with the officer's confirmation or dismissal

Revision ID: 0022_risk_rules
Revises: 0021_fast_lane
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tsela.store.types

revision: str = "0022_risk_rules"
down_revision: str | None = "0021_fast_lane"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = tsela.store.types.UTCDateTime(timezone=True)


def _mode() -> sa.Enum:
    return sa.Enum(
        "on", "inform", "off", name="risk_mode", native_enum=False, create_constraint=True,
        length=16,
    )  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "risk_rule_setting",
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("mode", _mode(), nullable=False),
        sa.Column("changed_by", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_rule_setting")),
        sa.UniqueConstraint("rule", name=op.f("uq_risk_rule_setting_rule")),
    )
    op.create_table(
        "risk_hit",
        sa.Column("check_id", sa.Uuid(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("mode", _mode(), nullable=False),
        sa.Column("port_code", sa.String(length=8), nullable=False),
        sa.Column("checked_at", UTC_TIME, nullable=False),
        sa.Column("reason_code", sa.String(length=60), nullable=False),
        sa.Column("variant", sa.String(length=16), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("outcome_by", sa.String(length=60), nullable=True),
        sa.Column("outcome_at", UTC_TIME, nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=2), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["check_id"], ["border_check.id"], name=op.f("fk_risk_hit_check_id_border_check")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_hit")),
    )
    op.create_index("ix_risk_hit_check", "risk_hit", ["check_id"], unique=False)
    op.create_index("ix_risk_hit_rule_time", "risk_hit", ["rule", "checked_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_risk_hit_rule_time", table_name="risk_hit")
    op.drop_index("ix_risk_hit_check", table_name="risk_hit")
    op.drop_table("risk_hit")
    op.drop_table("risk_rule_setting")
