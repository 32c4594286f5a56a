"""The port client: checks and records crossings, and keeps working when the link is down.

Online, it is a thin client of the central server. When the server cannot be reached, it
checks against its local copy (a database with Tsela's own schema, loaded from the server's
snapshot of watchlists and document alerts, plus the crossings recorded at this port while
offline) with the same check code as the server, and queues each crossing on local disk.
``upload`` sends the queue in order when the link returns; every item carries an
Idempotency-Key, so a retry after a lost answer never records twice, and nothing is removed
from the queue before the server has confirmed it.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, select

from tsela.domain.values import Direction, Role
from tsela.services import audit
from tsela.services import checks as svc
from tsela.services.accounts import create_user
from tsela.services.screening import import_watchlist, lists_changed
from tsela.services.screening_link import document_alerts, screener
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.models import User
from tsela.store.watchlists import (
    DocumentAlert,
    Watchlist,
    WatchlistCategory,
    WatchlistEntry,
    WatchlistKind,
)

QUEUE_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,              -- 'online' (check id known) or 'offline' (full request)
    payload TEXT NOT NULL,           -- JSON body to send
    queued_at TEXT NOT NULL,
    sent_at TEXT,
    answer TEXT,                     -- the server's JSON answer once sent
    error TEXT                       -- a refusal (4xx) kept for the officer to look at
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class PortError(Exception):
    """Something the officer must act on (a refusal by the server, no snapshot yet...)."""


@dataclass
class PortResult:
    online: bool
    decision: str
    reasons: list[dict[str, Any]]
    check: dict[str, Any]
    recorded: bool
    queued: bool
    idempotency_key: str | None = None


@dataclass
class UploadReport:
    sent: int = 0
    replayed: int = 0
    refused: int = 0
    left: int = 0
    unreachable: bool = False
    errors: list[str] = field(default_factory=list)


class PortClient:
    def __init__(
        self,
        home: Path,
        *,
        server: str,
        token: str,
        port: str,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = port.upper()
        self.http = httpx.Client(
            base_url=server.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )
        self.queue = sqlite3.connect(self.home / "queue.db", isolation_level=None)
        self.queue.execute("PRAGMA journal_mode=WAL")
        self.queue.execute("PRAGMA synchronous=FULL")  # a queued crossing survives a power cut
        self.queue.executescript(QUEUE_SCHEMA)
        self.engine = make_engine(f"sqlite:///{self.home / 'local.db'}")
        migrate(self.engine)

    # ----------------------------------------------------------------- local state

    def _meta(self, key: str) -> str | None:
        row = self.queue.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.queue.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def node(self) -> str:
        node = self._meta("node")
        if node is None:
            raise PortError("no snapshot yet: run `tsela port sync` while the server is reachable")
        return node

    def pending(self) -> int:
        row = self.queue.execute(
            "SELECT count(*) FROM queue WHERE sent_at IS NULL AND error IS NULL"
        ).fetchone()
        return int(row[0])

    def status(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "node": self._meta("node"),
            "snapshot_at": self._meta("snapshot_at"),
            "officer": self._meta("officer"),
            "queued": self.pending(),
            "refused": self.queue.execute(
                "SELECT count(*) FROM queue WHERE error IS NOT NULL"
            ).fetchone()[0],
        }

    # ----------------------------------------------------------------- sync

    def sync(self) -> dict[str, Any]:
        """Download the snapshot and load it into the local copy (each list replaced whole)."""
        me = self._get("/v1/auth/me")
        snap = self._get("/v1/port/snapshot", params={"port": self.port})
        node = snap["node"]
        seed_ports(self.engine, node)
        with transaction(session_factory(self.engine)) as s:
            if s.scalar(select(User).where(User.username == me["username"])) is None:
                create_user(
                    s,
                    node=node,
                    username=me["username"],
                    password=secrets.token_urlsafe(24),
                    role=Role.BORDER_OFFICER,
                    port_code=self.port,
                    actor="port-sync",
                )
        loaded = 0
        for wl in snap["lists"]:
            if wl["data"].count("\n") <= 1:  # header only: the list is empty on the server
                self._drop_list(wl["name"])
                continue
            import_watchlist(
                self.engine,
                list_name=wl["name"],
                data=wl["data"],
                fmt="csv",
                actor=f"port-sync:{me['username']}",
                node=node,
                kind=WatchlistKind(wl["kind"]),
                category=WatchlistCategory(wl["category"]),
                source=wl.get("source", ""),
            )
            loaded += 1
        self._set_meta("node", node)
        self._set_meta("officer", me["username"])
        self._set_meta("snapshot_at", snap["generated_at"])
        return {"lists": loaded, "generated_at": snap["generated_at"], "node": node}

    def _drop_list(self, name: str) -> None:
        with transaction(session_factory(self.engine)) as s:
            wl = s.scalar(select(Watchlist).where(Watchlist.name == name))
            if wl is not None:
                s.execute(delete(WatchlistEntry).where(WatchlistEntry.watchlist_id == wl.id))
                s.execute(delete(DocumentAlert).where(DocumentAlert.watchlist_id == wl.id))
                s.delete(wl)
        lists_changed(self.engine)

    def _get(self, path: str, **kw: Any) -> dict[str, Any]:
        r = self.http.get(path, **kw)
        if r.status_code >= 400:
            raise PortError(f"server refused {path}: {r.status_code} {_detail(r)}")
        return r.json()  # type: ignore[no-any-return]

    # ----------------------------------------------------------------- checking

    def check(
        self,
        *,
        direction: str,
        mrz: str | None = None,
        document_number: str | None = None,
        issuing_state: str | None = None,
        at: datetime | None = None,
        record: bool = True,
        override_reason: str | None = None,
    ) -> PortResult:
        """Check a traveller and (by default) record the crossing; online if possible."""
        at = at or datetime.now(UTC)
        body: dict[str, Any] = {
            "port": self.port,
            "direction": direction,
            "at": at.isoformat(),
            "mrz": mrz,
            "document_number": document_number,
            "issuing_state": issuing_state,
        }
        if self.pending():
            self.upload()  # keep the server's record in order before adding to it
        if not self.pending():
            try:
                return self._check_online(body, record, override_reason)
            except httpx.TransportError:
                pass  # the link is down: check locally
        return self._check_offline(body, record, override_reason)

    def _check_online(
        self, body: dict[str, Any], record: bool, override_reason: str | None
    ) -> PortResult:
        r = self.http.post("/v1/checks", json=body)
        if r.status_code >= 400:
            raise PortError(f"check refused: {r.status_code} {_detail(r)}")
        result = r.json()
        if not record:
            return PortResult(True, result["decision"], result["reasons"], result, False, False)
        key = str(uuid.uuid4())
        crossing = {"check_id": result["check_id"], "override_reason": override_reason}
        try:
            c = self.http.post("/v1/crossings", json=crossing, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            # The server may or may not have recorded it: queue the same request; the
            # Idempotency-Key makes the retry safe either way.
            self._enqueue(key, "online", crossing)
            return PortResult(True, result["decision"], result["reasons"], result, False, True, key)
        if c.status_code >= 400:
            raise PortError(f"crossing refused: {c.status_code} {_detail(c)}")
        return PortResult(True, result["decision"], result["reasons"], result, True, False, key)

    def _check_offline(
        self, body: dict[str, Any], record: bool, override_reason: str | None
    ) -> PortResult:
        node = self.node
        factory = session_factory(self.engine)
        at = datetime.fromisoformat(body["at"])
        request = svc.CheckRequest(
            port=self.port,
            direction=Direction(body["direction"]),
            at=at,
            mrz=body["mrz"],
            document_number=body["document_number"],
            issuing_state=body["issuing_state"],
        )
        key = str(uuid.uuid4())
        with transaction(factory) as s:
            officer = s.scalar(select(User).where(User.username == self._meta("officer")))
            assert officer is not None
            try:
                result = svc.run_check(
                    s,
                    node=node,
                    officer=officer,
                    request=request,
                    screener=screener,
                    document_alerts=document_alerts,
                    offline=True,
                )
                if record:
                    reason = override_reason
                    if result.check.decision.value != "CLEAR" and not reason:
                        raise PortError(
                            f"the local check says {result.check.decision.value}: give an "
                            "override reason to let the traveller through"
                        )
                    svc.record_crossing(
                        s,
                        node=node,
                        officer=officer,
                        check_id=result.check.id,
                        idempotency_key=key,
                        payload_hash=key,
                        override_reason=reason,
                    )
            except svc.CheckError as exc:
                raise PortError(exc.message) from None
            audit.seal(s)  # one process, no server: the local log is chained as it grows
            out = result.as_dict()
        if record:
            payload = {
                **body,
                "local_decision": out["decision"],
                "override_reason": override_reason,
            }
            self._enqueue(key, "offline", payload)
        return PortResult(False, out["decision"], out["reasons"], out, record, record, key)

    def _enqueue(self, key: str, kind: str, payload: dict[str, Any]) -> None:
        self.queue.execute(
            "INSERT INTO queue (idempotency_key, kind, payload, queued_at) VALUES (?, ?, ?, ?)",
            (key, kind, json.dumps(payload), datetime.now(UTC).isoformat()),
        )

    # ----------------------------------------------------------------- upload

    def upload(self) -> UploadReport:
        """Send queued crossings in the order they happened; stop at the first failure
        to reach the server (the rest wait for the next try)."""
        report = UploadReport()
        rows = self.queue.execute(
            "SELECT seq, idempotency_key, kind, payload FROM queue "
            "WHERE sent_at IS NULL AND error IS NULL ORDER BY seq"
        ).fetchall()
        for seq, key, kind, payload in rows:
            path = "/v1/crossings" if kind == "online" else "/v1/port/crossings"
            try:
                r = self.http.post(
                    path,
                    content=payload,
                    headers={"Idempotency-Key": key, "Content-Type": "application/json"},
                )
            except httpx.TransportError:
                report.unreachable = True
                break
            if r.status_code in (200, 201):
                self.queue.execute(
                    "UPDATE queue SET sent_at=?, answer=? WHERE seq=?",
                    (datetime.now(UTC).isoformat(), r.text, seq),
                )
                if r.status_code == 200:
                    report.replayed += 1
                else:
                    report.sent += 1
            elif r.status_code >= 500 or r.status_code == 429:
                report.unreachable = True  # try again later, keep the order
                break
            else:
                self.queue.execute("UPDATE queue SET error=? WHERE seq=?", (_detail(r), seq))
                report.refused += 1
                report.errors.append(f"crossing {seq}: {r.status_code} {_detail(r)}")
        report.left = self.pending()
        return report

    def close(self) -> None:
        self.http.close()
        self.queue.close()
        self.engine.dispose()


def _detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail", r.text))
    except ValueError:
        return r.text[:200]
