"""The SDG 10.7.2 self-assessment (issue 22, item 5): one per country and year, each answer
with its evidence links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tsela.store.models import Base, Record


class SdgAssessment(Record, Base):
    __tablename__ = "sdg_assessment"

    country: Mapped[str] = mapped_column(String(3), nullable=False)  # ISO 3166 alpha-3
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    # {"1a": {"answer": "yes", "evidence": ["https://..."]}, ...}; unanswered questions absent
    answers: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_by: Mapped[str] = mapped_column(String(60), nullable=False)

    __table_args__ = (UniqueConstraint("country", "year", name="uq_sdg_assessment_country_year"),)
