"""The port client: checks and records crossings, and keeps working when the link is down.

Online, it is a thin client of the central server. When the server cannot be reached, it
checks against its local copy (a database with Tsela's own schema, loaded from the server's
snapshot of watchlists and document alerts, plus the crossings recorded at this port while
offline) with the same check code as the server, and queues each crossing on local disk.
``upload`` sends the queue in order when the link returns; every item carries an
Idempotency-Key, so a retry after a lost answer never records twice, and nothing is removed
from the queue before the server has confirmed it.

The server "cannot answer" (no connection, a timeout, any 5xx, 429) is the same as offline:
checks fall back to the local copy and the queue waits. A refused token (401/403) stops the
upload and leaves the queue as it is. Only a refusal of one crossing's content (400, 409,
410, 413, 422) marks that crossing refused, and a refused crossing stays in the queue, shown
by ``status``, until an operator puts it back (``requeue``) or drops it with a reason
(``discard``, recorded in the local audit log and reported to the server).
"""

from __future__ import annotations

import contextlib
import errno
import json
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tsela.domain import mrz as mrz_format
from tsela.domain.credentials import CredentialError, Verification
from tsela.domain.values import Direction, DocumentStatus, Role, Sex
from tsela.kernel.actor import Actor
from tsela.kernel.clock import SYSTEM, Clock, now
from tsela.kernel.errors import TselaError
from tsela.port import words
from tsela.services import audit, permit_trust
from tsela.services import checks as svc
from tsela.services.accounts import create_user
from tsela.services.screening import import_watchlist, lists_changed
from tsela.services.screening_link import BorderScreening
from tsela.services.setup import seed_ports
from tsela.store import partner_alerts
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument, User
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
# Columns added after the first release; a queue.db written by an older client gets them
# when it is opened (SQLite has no ADD COLUMN IF NOT EXISTS).
QUEUE_COLUMNS = {
    "refused_status": "INTEGER",  # the HTTP status of a refusal (``error`` holds its words)
    "refused_at": "TEXT",
    "discarded_at": "TEXT",  # an operator dropped it (``tsela port discard``) ...
    "discard_reason": "TEXT",  # ... saying why
    "discard_reported_at": "TEXT",  # when the server acknowledged the discard
}
UNSENT = "sent_at IS NULL AND discarded_at IS NULL"
PENDING = f"{UNSENT} AND error IS NULL"
REFUSED = f"{UNSENT} AND error IS NOT NULL"

# What an answer means for the queue (see the module's docstring).
ITEM_REFUSED = frozenset({400, 409, 410, 413, 422})  # this crossing's content, for good
TOKEN_REFUSED = frozenset({401, 403})
MAX_OVERRIDE_REASON = 2000  # what the server takes (CrossingIn, OfflineCrossingIn)
NEW_TOKEN_HINT = (
    "get a new token with `tsela port login` (or POST /v1/auth/login) and give it as "
    "TSELA_PORT_TOKEN or --token"
)


def server_cannot_answer(status: int) -> bool:
    """5xx (a database down, an overloaded server's 503), 429 and 408: try again later."""
    return status >= 500 or status in (408, 429)


class PortError(Exception):
    """Something the officer must act on (a refusal by the server, no snapshot yet...)."""

    def in_language(self, lang: str) -> str:
        """The message in the operator's language (English only unless a subclass says more)."""
        words.check_language(lang)
        return str(self)


class TokenRefused(PortError):
    """The server refused the port's token (expired, revoked, or not for this port)."""


class ServerUnavailable(PortError):
    """The server answered but could not do the work (5xx, 429): work offline."""


class DiskFull(PortError):
    """The port computer's disk filled up (SQLite's ``SQLITE_FULL``, or ``ENOSPC``) while the
    client wrote: what was being done is undone, what was queued before is kept.

    ``doing``: ``check`` (this traveller's crossing was not recorded), ``check_queued`` (it was
    queued, but the local copy could not keep it), ``upload``, ``sync``, ``decision``.
    ``queued``: crossings waiting to be uploaded (None if the queue could not be read)."""

    def __init__(self, doing: str, home: Path, queued: int | None) -> None:
        self.doing, self.home, self.queued = doing, home, queued
        super().__init__(self.in_language("en"))

    def in_language(self, lang: str) -> str:
        return words.disk_full(self.doing, lang, home=str(self.home), queued=self.queued)


def is_disk_full(exc: BaseException) -> bool:
    """A write refused because the filesystem is full (SQLite, through SQLAlchemy or not)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    cause = getattr(exc, "orig", None) if isinstance(exc, SQLAlchemyError) else exc
    return isinstance(cause, sqlite3.Error) and (
        getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        or "disk is full" in str(cause)
    )


def token_refused_message(r: httpx.Response) -> str:
    why = "it has expired or was revoked" if r.status_code == 401 else "not for this work"
    return (
        f"the server refused the port token ({r.status_code}, {why}: {_detail(r)}); "
        + NEW_TOKEN_HINT
    )


def unavailable_message(r: httpx.Response) -> str:
    retry = r.headers.get("Retry-After")
    return f"the server could not answer ({r.status_code}" + (
        f", retry after {retry} s)" if retry else ")"
    )


@dataclass
class PortResult:
    online: bool
    decision: str
    reasons: list[dict[str, Any]]
    check: dict[str, Any]
    recorded: bool
    queued: bool
    idempotency_key: str | None = None
    offline_reason: str | None = None  # why it worked offline, in words


@dataclass
class UploadReport:
    sent: int = 0
    replayed: int = 0
    refused: int = 0
    left: int = 0
    unreachable: bool = False
    unavailable: str | None = None  # why the server could not take the queue, in words
    token_refused: str | None = None  # the server refused the token: nothing was changed
    stopped: str | None = None  # an answer that is neither of the above: the queue waits
    refused_waiting: int = 0  # refused crossings (this time or before) awaiting a decision
    discards_reported: int = 0
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
        clock: Clock = SYSTEM,
    ) -> None:
        self.clock = clock  # the time a check is dated, when not given
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
        have = {row[1] for row in self.queue.execute("PRAGMA table_info(queue)")}
        for column, kind in QUEUE_COLUMNS.items():
            if column not in have:
                self.queue.execute(f"ALTER TABLE queue ADD COLUMN {column} {kind}")
        self.engine = make_engine(f"sqlite:///{self.home / 'local.db'}")
        migrate(self.engine)
        # Built as the server builds it (``create_app``), over the local copy of the lists.
        self.screening = BorderScreening()

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

    @contextlib.contextmanager
    def _disk(self, doing: str) -> Iterator[None]:
        """Turn a full disk into `DiskFull` (plain words instead of SQLite's), saying how many
        crossings are still queued."""
        try:
            yield
        except (sqlite3.Error, SQLAlchemyError, OSError) as exc:
            if not is_disk_full(exc):
                raise
            queued: int | None = None
            with contextlib.suppress(sqlite3.Error):
                queued = self.pending()
            raise DiskFull(doing, self.home, queued) from exc

    def _count(self, where: str) -> int:
        return int(self.queue.execute(f"SELECT count(*) FROM queue WHERE {where}").fetchone()[0])

    def pending(self) -> int:
        return self._count(PENDING)

    def refused_items(self) -> list[dict[str, Any]]:
        """Crossings the server refused, each with the server's words: awaiting an operator's
        ``requeue`` or ``discard``."""
        rows = self.queue.execute(
            "SELECT seq, idempotency_key, kind, payload, queued_at, refused_status, error, "
            f"refused_at FROM queue WHERE {REFUSED} ORDER BY seq"
        ).fetchall()
        return [
            {
                "id": seq,
                "idempotency_key": key,
                **_summary(kind, payload),
                "queued_at": queued_at,
                "refused_status": refused_status,
                "reason": error,
                "refused_at": refused_at,
            }
            for seq, key, kind, payload, queued_at, refused_status, error, refused_at in rows
        ]

    def status(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "node": self._meta("node"),
            "snapshot_at": self._meta("snapshot_at"),
            "officer": self._meta("officer"),
            "queued": self.pending(),
            "refused": self._count(REFUSED),
            "refused_items": self.refused_items(),
            "discarded": self._count("discarded_at IS NOT NULL"),
            "discards_not_reported": self._count(
                "discarded_at IS NOT NULL AND discard_reported_at IS NULL"
            ),
        }

    # ----------------------------------------------------------------- sync

    def sync(self) -> dict[str, Any]:
        """Download the snapshot and load it into the local copy (each list replaced whole)."""
        me = self._get("/v1/auth/me")
        snap = self._get("/v1/port/snapshot", params={"port": self.port})
        with self._disk("sync"):
            return self._load_snapshot(me, snap)

    def _load_snapshot(self, me: dict[str, Any], snap: dict[str, Any]) -> dict[str, Any]:
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
                confirm=True,  # the server's list, as the server holds it: nothing to ask
            )
            loaded += 1
        permits = self._keep_permit_bundle(snap.get("permits"))
        partners = 0
        if "partner_alerts" in snap:  # (a server before the exchange sends none)
            with transaction(session_factory(self.engine)) as s:
                try:
                    partners = partner_alerts.replace_all(s, snap["partner_alerts"])
                except ValueError as exc:
                    raise PortError(f"the snapshot's partner alerts are refused: {exc}") from None
        travellers = 0
        if "travellers" in snap:  # (a server before issue 21 sends none)
            with transaction(session_factory(self.engine)) as s:
                travellers = self._load_travellers(s, node, snap["travellers"])
        self._set_meta("node", node)
        self._set_meta("officer", me["username"])
        self._set_meta("snapshot_at", snap["generated_at"])
        return {
            "lists": loaded,
            "partner_alerts": partners,
            "travellers": travellers,
            "permit_keys_of": permits,
            "generated_at": snap["generated_at"],
            "node": node,
        }

    def _load_travellers(self, s: Session, node: str, rows: list[dict[str, Any]]) -> int:
        """The port's recent travellers, their documents and crossings, as the server holds
        them (``port_sync.travellers``). The server's crossings replace the local copy's,
        but for those recorded here offline that still wait in the queue (the server has not
        got them yet); a document the local copy registered offline under another id stays."""
        waiting = {
            k for (k,) in self.queue.execute(f"SELECT idempotency_key FROM queue WHERE {UNSENT}")
        }
        for crossing in s.scalars(select(Crossing)):
            if crossing.idempotency_key not in waiting:
                s.delete(crossing)
        s.flush()
        ports = dict(s.execute(select(PortOfEntry.code, PortOfEntry.id)).tuples().all())
        known = {(d.issuing_state, d.number): d.id for d in s.scalars(select(TravelDocument))}
        loaded: set[uuid.UUID] = set()
        for row in rows:
            person_id = uuid.UUID(row["id"])
            s.merge(
                Person(
                    id=person_id, node=row["node"], primary_name=row["primary_name"],
                    given_names=row["given_names"], sex=Sex(row["sex"]),
                    birth_date=_day(row["birth_date"]), nationality=row["nationality"],
                )
            )  # fmt: skip
            for d in row["documents"]:
                doc_id = uuid.UUID(d["id"])
                if known.get((d["issuing_state"], d["number"]), doc_id) != doc_id:
                    continue  # registered here offline: the upload will tell the server
                loaded.add(doc_id)
                s.merge(
                    TravelDocument(
                        id=doc_id, node=d["node"], person_id=person_id,
                        document_type=d["document_type"], issuing_state=d["issuing_state"],
                        number=d["number"], expiry_date=_day(d["expiry_date"]),
                        status=DocumentStatus(d["status"]),
                    )
                )  # fmt: skip
            s.flush()
            for c in row["crossings"]:
                if c["port"] not in ports:
                    continue
                document_id = uuid.UUID(c["document_id"]) if c["document_id"] else None
                if document_id not in loaded:
                    document_id = None
                s.add(
                    Crossing(
                        id=uuid.UUID(c["id"]), node=c["node"], person_id=person_id,
                        document_id=document_id,
                        port_id=ports[c["port"]], direction=Direction(c["direction"]),
                        country=c["country"], crossed_at=datetime.fromisoformat(c["crossed_at"]),
                    )
                )  # fmt: skip
        return len(rows)

    # ----------------------------------------------------------------- permits

    @property
    def bundle_path(self) -> Path:
        return self.home / "permits.json"

    def _keep_permit_bundle(self, bundle: Any) -> list[str]:
        """Keep the snapshot's permit keys and revocation lists (every node's), after checking
        that each list verifies with them; the nodes whose permits can be verified."""
        if bundle is None:
            return []
        try:
            trust = permit_trust.check_bundle(bundle)
        except CredentialError as exc:
            raise PortError(f"the snapshot's permit keys are refused: {exc}") from None
        tmp = self.bundle_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(bundle), "utf-8")
        tmp.replace(self.bundle_path)
        return sorted({k.node for k in trust.keys.keys.values()})

    def verify_permit(self, token: str, today: date | None = None) -> Verification:
        """Verify a permit offline, with the keys and revocation lists of every node that the
        last sync brought (this node's and the partner's): no server needed."""
        try:
            bundle = json.loads(self.bundle_path.read_text("utf-8"))
        except FileNotFoundError:
            raise PortError(
                "no permit keys yet: run `tsela port sync` while the server is reachable"
            ) from None
        trust = permit_trust.check_bundle(bundle)
        day = today or self.clock.today()
        return permit_trust.verify_offline(trust, token, day, self.node)

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
        if r.status_code in TOKEN_REFUSED:
            raise TokenRefused(token_refused_message(r))
        if server_cannot_answer(r.status_code):
            kept = self._meta("snapshot_at")
            raise ServerUnavailable(
                f"{unavailable_message(r)} for {path}; "
                + (f"the local copy (snapshot of {kept}) is kept" if kept else "try again later")
            )
        if r.status_code >= 400:
            raise PortError(f"server refused {path}: {r.status_code} {_detail(r)}")
        return r.json()

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
        """Check a traveller and (by default) record the crossing; online if possible.

        A full disk raises `DiskFull` (``doing`` ``check`` or ``check_queued``)."""
        try:
            return self._check(
                direction, mrz, document_number, issuing_state, at, record, override_reason
            )
        except DiskFull as exc:
            if exc.doing in ("check", "check_queued"):
                raise
            # The upload that goes first filled the disk: this traveller was not recorded.
            raise DiskFull("check", self.home, exc.queued) from exc

    def _check(
        self,
        direction: str,
        mrz: str | None,
        document_number: str | None,
        issuing_state: str | None,
        at: datetime | None,
        record: bool,
        override_reason: str | None,
    ) -> PortResult:
        if override_reason and len(override_reason) > MAX_OVERRIDE_REASON:
            # The server would refuse it at upload, long after the traveller has gone.
            raise PortError(f"an override reason has at most {MAX_OVERRIDE_REASON} characters")
        at = at or self.clock.now()
        body: dict[str, Any] = {
            "port": self.port,
            "direction": direction,
            "at": at.isoformat(),
            "mrz": mrz,
            "document_number": document_number,
            "issuing_state": issuing_state,
        }
        offline_reason = None
        if self.pending():
            report = self.upload()  # keep the server's record in order before adding to it
            if report.token_refused:
                raise TokenRefused(report.token_refused)
            if self.pending():
                offline_reason = (
                    report.unavailable
                    or report.stopped
                    or "crossings recorded offline are still waiting to be uploaded"
                )
        if offline_reason is None:
            try:
                return self._check_online(body, record, override_reason)
            except ServerUnavailable as exc:
                offline_reason = str(exc)
            except httpx.TransportError as exc:
                offline_reason = f"the server is unreachable ({_transport_words(exc)})"
        result = self._check_offline(body, record, override_reason)
        result.offline_reason = offline_reason
        return result

    def _check_online(
        self, body: dict[str, Any], record: bool, override_reason: str | None
    ) -> PortResult:
        r = self.http.post("/v1/checks", json=body)
        if server_cannot_answer(r.status_code):
            raise ServerUnavailable(unavailable_message(r))
        if r.status_code in TOKEN_REFUSED:
            raise TokenRefused(token_refused_message(r))
        if r.status_code >= 400:
            raise PortError(f"check refused: {r.status_code} {_detail(r)}")
        result = r.json()
        if not record:
            return PortResult(True, result["decision"], result["reasons"], result, False, False)
        key = str(uuid.uuid4())
        crossing = {"check_id": result["check_id"], "override_reason": override_reason}
        try:
            c = self.http.post("/v1/crossings", json=crossing, headers={"Idempotency-Key": key})
            lost = server_cannot_answer(c.status_code)
        except httpx.TransportError:
            lost = True
        if lost:
            # The server may or may not have recorded it: queue the same request; the
            # Idempotency-Key makes the retry safe either way. (Should the disk be full now,
            # the officer is told it was not recorded: the server may hold it all the same.)
            with self._disk("check"):
                self._enqueue(key, "online", crossing)
            return PortResult(True, result["decision"], result["reasons"], result, False, True, key)
        if c.status_code in TOKEN_REFUSED:
            raise TokenRefused(token_refused_message(c))
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
        queued = False
        try:
            with self._disk("check"), transaction(factory) as s:
                out, payload = self._run_offline(
                    s, node, request, body, record, override_reason, key
                )
                if record:
                    # Queued before the local copy commits: should the disk fill up now, the
                    # local copy keeps nothing either (no crossing there that is not queued).
                    self._enqueue(key, "offline", payload)
                    queued = True
        except BaseException as exc:
            if queued and not self._unqueue(key) and isinstance(exc, DiskFull):
                # Queued, but the local copy could not commit and the queue could not be
                # undone: it will be uploaded, so the officer must not check again.
                raise DiskFull("check_queued", self.home, self._pending_or_none()) from exc
            raise
        return PortResult(False, out["decision"], out["reasons"], out, record, record, key)

    def _unqueue(self, key: str) -> bool:
        try:
            self.queue.execute("DELETE FROM queue WHERE idempotency_key=?", (key,))
        except sqlite3.Error:
            return False
        return True

    def _pending_or_none(self) -> int | None:
        try:
            return self.pending()
        except sqlite3.Error:
            return None

    def _run_offline(
        self,
        s: Session,
        node: str,
        request: svc.CheckRequest,
        body: dict[str, Any],
        record: bool,
        override_reason: str | None,
        key: str,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The check (and crossing) in the local copy, in the caller's transaction; and what
        the queue would send."""
        user = s.scalar(select(User).where(User.username == self._meta("officer")))
        assert user is not None
        officer = Actor.of(user, node)
        try:
            result = svc.run_check(
                s,
                node=node,
                officer=officer,
                request=request,
                screening=self.screening,
                offline=True,
                now=self.clock.now(),
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
                    now=self.clock.now(),
                )
        except TselaError as exc:
            raise PortError(exc.message) from None
        audit.seal(s)  # one process, no server: the local log is chained as it grows
        out = result.as_dict()
        payload = {**body, "local_decision": out["decision"], "override_reason": override_reason}
        return out, payload

    def _enqueue(self, key: str, kind: str, payload: dict[str, Any]) -> None:
        self.queue.execute(
            "INSERT INTO queue (idempotency_key, kind, payload, queued_at) VALUES (?, ?, ?, ?)",
            (key, kind, json.dumps(payload), _now()),
        )

    # ----------------------------------------------------------------- upload

    def upload(self) -> UploadReport:
        """Send queued crossings in the order they happened; stop at the first answer that is
        not about that one crossing (the rest wait for the next try, untouched). A full disk
        raises `DiskFull` (what the server took is recognised when sent again)."""
        with self._disk("upload"):
            return self._upload()

    def _upload(self) -> UploadReport:
        report = UploadReport()
        rows = self.queue.execute(
            f"SELECT seq, idempotency_key, kind, payload FROM queue WHERE {PENDING} ORDER BY seq"
        ).fetchall()
        for seq, key, kind, payload in rows:
            path = "/v1/crossings" if kind == "online" else "/v1/port/crossings"
            try:
                r = self.http.post(
                    path,
                    content=payload,
                    headers={"Idempotency-Key": key, "Content-Type": "application/json"},
                )
            except httpx.TransportError as exc:
                report.unreachable = True
                report.unavailable = f"the server is unreachable ({_transport_words(exc)})"
                break
            if r.status_code in (200, 201):
                self.queue.execute(
                    "UPDATE queue SET sent_at=?, answer=? WHERE seq=?",
                    (_now(), r.text, seq),
                )
                if r.status_code == 200:
                    report.replayed += 1
                else:
                    report.sent += 1
            elif server_cannot_answer(r.status_code):
                report.unreachable = True  # try again later, keep the order
                report.unavailable = unavailable_message(r)
                break
            elif r.status_code in TOKEN_REFUSED:
                report.token_refused = token_refused_message(r)
                break
            elif r.status_code in ITEM_REFUSED:
                self.queue.execute(
                    "UPDATE queue SET error=?, refused_status=?, refused_at=? WHERE seq=?",
                    (_detail(r), r.status_code, _now(), seq),
                )
                report.refused += 1
                report.errors.append(f"crossing {seq}: {r.status_code} {_detail(r)}")
            else:
                # Not about this crossing (a wrong server address, an older server...):
                # nothing is marked; the operator can look, and discard it if need be.
                report.stopped = f"upload stopped at crossing {seq}: {r.status_code} {_detail(r)}"
                break
        if report.token_refused is None and report.unavailable is None:
            report.discards_reported, problem = self._report_discards()
            if problem:
                report.errors.append(problem)
        report.left = self.pending()
        report.refused_waiting = self._count(REFUSED)
        return report

    # ----------------------------------------------------------------- operator decisions

    def _item(self, ref: str | int) -> tuple[int, str, str, str, str | None, str | None]:
        """A queued crossing by its number in ``status`` or its Idempotency-Key."""
        row = self.queue.execute(
            "SELECT seq, idempotency_key, kind, payload, sent_at, discarded_at FROM queue "
            "WHERE seq=? OR idempotency_key=?",
            (int(ref) if str(ref).isdigit() else -1, str(ref)),
        ).fetchone()
        if row is None:
            raise PortError(f"no crossing {ref} in this port's queue")
        return row

    def _audit(self, action: str, entity_id: str, detail: dict[str, Any]) -> None:
        """The local audit log (chained, as offline checks are)."""
        actor = self._meta("officer") or f"port:{self.port}"
        with transaction(session_factory(self.engine)) as s:
            audit.record(
                s,
                actor=actor,
                action=action,
                node=self._meta("node") or "??",
                entity="queued_crossing",
                entity_id=entity_id,
                detail=detail,
                source=f"port:{self.port}",
            )
            audit.seal(s)

    def requeue(self, refs: list[str] | None = None) -> list[int]:
        """Put refused crossings (all, or those named) back in the queue, in their places."""
        with self._disk("decision"):
            return self._requeue(refs)

    def _requeue(self, refs: list[str] | None) -> list[int]:
        if refs:
            items = [self._item(ref) for ref in refs]
            wanted = {it[0] for it in items}
            refused = {item["id"]: item for item in self.refused_items()}
            for seq in wanted:
                if seq not in refused:
                    raise PortError(f"crossing {seq} is not refused; only refused ones go back")
            chosen = [refused[seq] for seq in sorted(wanted)]
        else:
            chosen = self.refused_items()
        for item in chosen:
            # The decision is logged before it is applied: never a change without its entry.
            self._audit(
                "port.crossing_requeued",
                item["idempotency_key"],
                {"queue_id": item["id"], "refusal": item["reason"]},
            )
            self.queue.execute(
                "UPDATE queue SET error=NULL, refused_status=NULL, refused_at=NULL WHERE seq=?",
                (item["id"],),
            )
        return [item["id"] for item in chosen]

    def discard(self, ref: str, reason: str) -> dict[str, Any]:
        """Drop one unsent crossing on an operator's word: kept in the queue file as discarded,
        with the reason, in the local audit log, and reported to the server (now if it can
        be reached, else at the next upload)."""
        with self._disk("decision"):
            return self._discard(ref, reason)

    def _discard(self, ref: str, reason: str) -> dict[str, Any]:
        reason = reason.strip()
        if not reason:
            raise PortError("say why the crossing is discarded (--reason)")
        if len(reason) > MAX_OVERRIDE_REASON:
            raise PortError(f"a reason has at most {MAX_OVERRIDE_REASON} characters")
        seq, key, kind, payload, sent_at, discarded_at = self._item(ref)
        if sent_at is not None:
            raise PortError(f"crossing {seq} reached the server already; nothing to discard")
        if discarded_at is not None:
            raise PortError(f"crossing {seq} was discarded already")
        self._audit(
            "port.crossing_discarded",
            key,
            {"queue_id": seq, "reason": reason, "kind": kind, "crossing": json.loads(payload)},
        )
        self.queue.execute(
            "UPDATE queue SET discarded_at=?, discard_reason=? WHERE seq=?", (_now(), reason, seq)
        )
        self._report_discards()
        reported = self.queue.execute(
            "SELECT discard_reported_at IS NOT NULL FROM queue WHERE seq=?", (seq,)
        ).fetchone()[0]
        return {"id": seq, "idempotency_key": key, "reported": bool(reported)}

    def _report_discards(self) -> tuple[int, str | None]:
        """Tell the server about discards it has not acknowledged yet; stop at the first
        answer that is not an acknowledgement (they are tried again next time, and that answer
        is returned in words)."""
        rows = self.queue.execute(
            "SELECT seq, idempotency_key, kind, payload, queued_at, discarded_at, "
            "discard_reason, refused_status, error FROM queue "
            "WHERE discarded_at IS NOT NULL AND discard_reported_at IS NULL ORDER BY seq"
        ).fetchall()
        done = 0
        for seq, key, kind, payload, queued_at, discarded_at, reason, status, error in rows:
            body = {
                "port": self.port,
                "kind": kind,
                "crossing": json.loads(payload),
                "queued_at": queued_at,
                "discarded_at": discarded_at,
                "reason": reason,
                "refusal": f"{status} {error}"[:2000] if error else None,
            }
            try:
                r = self.http.post("/v1/port/discards", json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError:
                break
            if r.status_code not in (200, 201):
                return done, f"discard of crossing {seq} not reported yet: " + (
                    token_refused_message(r)
                    if r.status_code in TOKEN_REFUSED
                    else f"{r.status_code} {_detail(r)}"
                )
            self.queue.execute("UPDATE queue SET discard_reported_at=? WHERE seq=?", (_now(), seq))
            done += 1
        return done, None

    def close(self) -> None:
        self.http.close()
        self.queue.close()
        self.engine.dispose()


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _now() -> str:
    """The machine's time, for the queue's own bookkeeping."""
    return now().isoformat()


def _transport_words(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    return str(exc) or type(exc).__name__


def _summary(kind: str, payload: str) -> dict[str, Any]:
    """Enough of a queued crossing for an operator to recognise it."""
    body = json.loads(payload)
    if kind == "online":
        return {"check_id": body.get("check_id")}
    document = body.get("document_number") or ""
    if not document and body.get("mrz"):
        with contextlib.suppress(ValueError):
            read = mrz_format.parse(body["mrz"], today=SYSTEM.today())
            document = f"{read.issuing_state} {read.document_number}"
    return {
        "at": body.get("at"),
        "direction": body.get("direction"),
        "document": document,
        "local_decision": body.get("local_decision"),
    }


def _detail(r: httpx.Response) -> str:
    """The server's reason in words: FastAPI's ``detail``, or each field's problem."""
    try:
        detail = r.json().get("detail", r.text)
    except ValueError:
        return r.text[:200]
    if isinstance(detail, list):  # a request that does not fit the API's model
        return "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg', '')}"
            if isinstance(e, dict)
            else str(e)
            for e in detail
        )[:2000]
    return str(detail)[:2000]
