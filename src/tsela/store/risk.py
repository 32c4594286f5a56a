"""Risk rules at this node: each rule's mode as a supervisor set it, and each hit a check
made, with the officer's confirmation or dismissal.

A rule with no setting row runs in the mode its file gives (``reference/risk_rules.toml``).
Hits are this node's own (the rules ran here); they are not exchanged.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsela.domain.risk import Mode
from tsela.store.models import Base, Record, str_enum


class RiskRuleSetting(Record, Base):
    """A supervisor switched rule ``rule`` on, off or to "inform only" (the last change;
    every change is in the audit log)."""

    __tablename__ = "risk_rule_setting"

    rule: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    mode: Mapped[Mode] = mapped_column(str_enum(Mode, "risk_mode"), nullable=False)
    changed_by: Mapped[str] = mapped_column(String(60), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class RiskHit(Record, Base):
    """A rule hit at a check: the mode it ran in, the facts it named, and what the officer
    made of it (confirmed, dismissed, or not yet looked at)."""

    __tablename__ = "risk_hit"

    check_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("border_check.id"), nullable=False)
    rule: Mapped[str] = mapped_column(String(40), nullable=False)
    mode: Mapped[Mode] = mapped_column(str_enum(Mode, "risk_mode"), nullable=False)
    port_code: Mapped[str] = mapped_column(String(8), nullable=False)
    checked_at: Mapped[datetime] = mapped_column(nullable=False)
    reason_code: Mapped[str] = mapped_column(String(60), nullable=False)
    variant: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    outcome: Mapped[str | None] = mapped_column(String(10))  # confirmed / dismissed
    outcome_by: Mapped[str | None] = mapped_column(String(60))
    outcome_at: Mapped[datetime | None] = mapped_column()
    outcome_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_risk_hit_check", "check_id"),
        Index("ix_risk_hit_rule_time", "rule", "checked_at"),
    )
