"""Health: liveness, readiness and the node's identity."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tsela.api.schemas.common import Out

__all__ = ["HealthOut", "LiveOut", "ReadinessChecksOut", "ReadyOut"]


class HealthOut(Out):
    status: Literal["ok"]
    node: str
    version: str


class LiveOut(Out):
    status: Literal["ok"]


class ReadinessChecksOut(Out):
    database: str = Field(description="ok, or why not")
    migrations: str
    screening_index: str


class ReadyOut(Out):
    status: Literal["ready", "not ready"]
    checks: ReadinessChecksOut
