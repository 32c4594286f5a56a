"""The exchange listener: the feed served over mutual TLS, and the server's exchange tasks.

The feed has its own TLS listener (``TSELA_EXCHANGE_PORT``, or ``tsela serve
--exchange-port``), apart from the officers' API: it requires a client certificate, its CA
list being the trusted partners' certificates, and the handler then checks that the
certificate is exactly the one in a partner's anchor and names that partner's node id.

uvicorn does not pass the peer certificate to the application, so ``ExchangeProtocol`` (its
httptools protocol, one method longer) puts the DER certificate in the request scope under
``scope["extensions"]["tls"]["client_cert"]``, read from the connection's
``transport.get_extra_info("ssl_object")`` when the connection is made.

The server's background tasks (``run_tasks``): the outbox sequencer, and the puller, which
pulls each partner's feed every ``TSELA_EXCHANGE_PULL_MS`` (doubling the wait, up to
``TSELA_EXCHANGE_BACKOFF_MAX_S``, while a partner is down or refused), publishes this node's
permit keys and revocation list, and purges the message log past its retention. Only one
process pulls: the one holding the file lock ``<var>/exchange/<NODE>/puller.lock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import json
import logging
import os
import ssl
import time
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tsela.api.schemas import FeedBatchOut
from tsela.config import Settings
from tsela.exchange.batch import SIGNATURE_HEADER
from tsela.kernel import clock
from tsela.services import exchange as svc
from tsela.services.node_identity import IdentityError, NodeIdentity
from tsela.store.db import session_factory, transaction

log = logging.getLogger("tsela.exchange")

MAX_LIMIT = 50_000


class ExchangeProtocol(HttpToolsProtocol):
    """uvicorn's protocol, passing the client's TLS certificate to the application."""

    _client_cert: bytes | None = None

    # uvicorn's protocol is always given a Transport (TLS), narrower than the base's hint.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        self._client_cert = ssl_object.getpeercert(True) if ssl_object else None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {"tls": {"client_cert": self._client_cert}}


def client_certificate(request: Request) -> bytes | None:
    tls = request.scope.get("extensions", {}).get("tls", {})
    cert = tls.get("client_cert")
    return cert if isinstance(cert, bytes) else None


def create_exchange_app(settings: Settings, engine: Engine) -> FastAPI:
    app = FastAPI(title="Tsela exchange", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.engine = engine
    identity = NodeIdentity(settings.var_dir, settings.node)
    factory = session_factory(engine)

    def calling_partner(request: Request) -> Any:
        """The trusted partner whose certificate the client presented (else 403)."""
        der = client_certificate(request)
        if der is None:
            raise HTTPException(403, "a client certificate of a trusted partner is required")
        with factory() as session:
            partner = svc.partner_for_certificate(session, der)
        if partner is None:
            raise HTTPException(403, "this certificate is not the one in any partner's anchor")
        claimed = request.headers.get("tsela-node")
        if claimed and claimed != partner.partner:
            raise HTTPException(
                403, f"the certificate names node {partner.partner}, the request {claimed!r}"
            )
        return partner

    @app.get(
        "/v1/exchange/feed",
        response_class=Response,
        responses={
            200: {
                "model": FeedBatchOut,
                "description": "The signed batch: canonical JSON, as signed (Tsela-Signature)",
            }
        },
    )
    def feed(
        request: Request,
        after: int = Query(0, ge=0, description="The last sequence number already applied."),
        limit: int = Query(1000, ge=1, le=MAX_LIMIT),
    ) -> Response:
        """The signed batch of this node's records after ``after`` (mutual TLS only)."""
        partner = calling_partner(request)
        svc.sequence_pending(engine)
        client = request.client
        try:
            with transaction(factory) as session:
                batch = svc.serve_batch(
                    session,
                    identity=identity,
                    partner=partner.partner,
                    after=after,
                    limit=min(limit, settings.exchange_batch),
                    source=f"{client.host}" if client else "",
                )
        except svc.FeedError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        except IdentityError as exc:
            raise HTTPException(503, str(exc)) from None
        return Response(
            batch.body, media_type="application/json", headers={SIGNATURE_HEADER: batch.signature}
        )

    @app.get(svc.CHECKPOINTS_PATH)
    def audit_checkpoints(
        request: Request, limit: int = Query(1000, ge=1, le=MAX_LIMIT)
    ) -> Response:
        """The signed checkpoints of the calling partner's audit log that this node keeps, as
        they arrived (JSON lines, oldest first, the newest ``limit``): for its ``tsela audit
        verify --against-partner``. Audited."""
        from tsela.services import audit
        from tsela.services.audit_checkpoints import held_for

        partner = calling_partner(request)
        client = request.client
        with transaction(factory) as session:
            held = held_for(session, partner.partner, limit)
            audit.record(
                session,
                actor=f"node:{partner.partner}",
                action="exchange.checkpoints_served",
                node=settings.node,
                entity="exchange_partner",
                entity_id=partner.partner,
                source=f"{client.host}" if client else "",
                detail={
                    "checkpoints": len(held),
                    "newest_seq": held[-1].get("seq") if held else None,
                },
            )
        lines = (json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in held)
        return Response("".join(lines), media_type="application/x-ndjson")

    return app


# --------------------------------------------------------------------------- the listener

_CONTEXTS: list[tuple[ssl.SSLContext, set[str]]] = []


def server_context(settings: Settings, engine: Engine) -> ssl.SSLContext:
    identity = NodeIdentity(settings.var_dir, settings.node)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(identity.cert_path, identity.tls_key_path)
    ctx.verify_mode = ssl.CERT_REQUIRED
    loaded: set[str] = set()
    _CONTEXTS.append((ctx, loaded))
    refresh_trust(engine)
    return ctx


def refresh_trust(engine: Engine) -> None:
    """Add partners trusted since the listener started to its CA list (a removed partner is
    refused by the handler, which checks the anchor on every request)."""
    if not _CONTEXTS:
        return
    with session_factory(engine)() as session:
        certs = [str(p.anchor["tls_certificate"]) for p in svc.partners(session)]
    for ctx, loaded in _CONTEXTS:
        for pem in certs:
            if pem not in loaded:
                ctx.load_verify_locations(cadata=pem)
                loaded.add(pem)


def exchange_config(settings: Settings, engine: Engine, port: int, log_level: str) -> Any:
    import uvicorn

    ctx = server_context(settings, engine)
    return uvicorn.Config(
        create_exchange_app(settings, engine),
        host=settings.exchange_host,
        port=port,
        log_level=log_level,
        http=ExchangeProtocol,
        proxy_headers=False,  # the source in the audit log is the peer itself
        ssl_context_factory=lambda _config, _default: ctx,
        ssl_certfile=str(NodeIdentity(settings.var_dir, settings.node).cert_path),
    )


# --------------------------------------------------------------------------- background tasks


def _try_puller_lock(identity: NodeIdentity) -> Any:
    identity.dir.mkdir(parents=True, exist_ok=True)
    fh = open(identity.dir / "puller.lock", "w")  # noqa: SIM115 (held for the process's life)
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


class Puller:
    """One round of the background puller at a time, with per-partner backoff."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.identity = NodeIdentity(settings.var_dir, settings.node)
        self.interval = settings.exchange_pull_ms / 1000
        self.wait: dict[str, float] = {}
        self.next_try: dict[str, float] = {}
        self.lock: Any = None
        self.last_purge = 0.0
        self.files_checked = False

    def round(self) -> None:
        if not self.identity.exists():
            return
        try:  # in every process with a listener, whether it pulls or not
            refresh_trust(self.engine)
        except (SQLAlchemyError, ssl.SSLError) as exc:
            log.warning("trusted certificates not refreshed: %s", exc)
        if self.lock is None:
            self.lock = _try_puller_lock(self.identity)
            if self.lock is None:
                return  # another process pulls
        now = clock.now()
        try:
            with session_factory(self.engine)() as session:
                names = [p.partner for p in svc.partners(session)]
            if not names:
                return  # nobody to exchange with: publish nothing
            if not self.files_checked:  # a crash may have come between a commit and a file
                for name in names:
                    svc.publish_partner_credentials(self.engine, self.settings.var_dir, name)
                self.files_checked = True
            with transaction(session_factory(self.engine)) as session:
                svc.publish_credentials(session, self.settings.var_dir, self.settings.node, now)
                if time.monotonic() - self.last_purge > 3600:
                    svc.purge_message_log(session, now, self.settings.exchange_retention_days)
                    self.last_purge = time.monotonic()
        except (SQLAlchemyError, OSError, ValueError) as exc:
            log.warning("exchange round skipped: %s", exc)
            return
        for name in names:
            if time.monotonic() < self.next_try.get(name, 0.0):
                continue
            try:
                result = svc.pull(self.engine, self.settings, self.identity, name)
            except (SQLAlchemyError, ValueError) as exc:
                log.warning("pulling from %s failed: %s", name, exc)
                result = svc.PullResult(name, error_code="internal", error=str(exc))
            if result.ok:
                self.wait.pop(name, None)
                self.next_try.pop(name, None)
            else:
                wait = min(
                    max(self.interval, 0.5) * 2 if name not in self.wait else self.wait[name] * 2,
                    float(self.settings.exchange_backoff_max_s),
                )
                self.wait[name] = wait
                self.next_try[name] = time.monotonic() + wait
                log.warning("exchange with %s: %s (next try in %.0f s)", name, result.error, wait)


async def run_tasks(settings: Settings, engine: Engine) -> None:
    """The sequencer and the puller, until cancelled."""
    import anyio.to_thread

    sequence_every = settings.exchange_sequence_ms / 1000
    pull_every = settings.exchange_pull_ms / 1000
    puller = Puller(settings, engine)

    async def sequencer() -> None:
        while True:
            await asyncio.sleep(sequence_every)
            try:
                await anyio.to_thread.run_sync(functools.partial(svc.sequence_pending, engine))
            except SQLAlchemyError as exc:
                log.warning("outbox not sequenced this round: %s", exc)

    async def pulling() -> None:
        while True:
            await asyncio.sleep(pull_every)
            await anyio.to_thread.run_sync(puller.round)

    tasks = []
    if sequence_every:
        tasks.append(asyncio.create_task(sequencer()))
    if pull_every:
        tasks.append(asyncio.create_task(pulling()))
    try:
        if tasks:
            await asyncio.gather(*tasks)
        else:
            await asyncio.Event().wait()
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def lag_threshold(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.exchange_lag_alert_s)
