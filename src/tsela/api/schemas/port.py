"""Offline ports: the snapshot a port checks against, and what it uploads."""

from __future__ import annotations

from pydantic import Field

from tsela.api.schemas.common import Id, Moment, Out
from tsela.domain.values import Decision

__all__ = ["DiscardOut", "OfflineCrossingOut", "SnapshotListOut", "SnapshotOut"]


class SnapshotListOut(Out):
    name: str
    kind: str = Field(examples=["person", "document"])
    category: str
    source: str
    version: int
    data: str = Field(description="The list in Tsela's import format (CSV)")


class SnapshotOut(Out):
    node: str
    port: str
    generated_at: Moment
    lists: list[SnapshotListOut]


class OfflineCrossingOut(Out):
    """An offline crossing recorded; a retry (``replayed``) answers with the crossing and
    the server's decision only."""

    crossing_id: Id
    check_id: Id | None = None
    decision: Decision = Field(description="The server's decision, as of the crossing's time")
    local_decision: Decision | None = None
    crossed_at: Moment | None = None
    replayed: bool


class DiscardOut(Out):
    recorded: bool
    replayed: bool
