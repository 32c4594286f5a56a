"""Configuration from the environment, with defaults that need nothing installed.

- ``TSELA_DATABASE_URL``: SQLAlchemy URL; default SQLite file ``./var/tsela.db``.
- ``TSELA_NODE``: ``LS`` or ``ZA``, the country node that creates records (default ``LS``).
- ``TSELA_VAR_DIR``: where local state lives (database, keys, exports); default ``./var``.
- ``TSELA_MAX_IN_FLIGHT``: requests one server process works on at once (default 16; 0: no
  limit). More wait their turn, up to ``TSELA_QUEUE_TIMEOUT_MS`` (default 1000), then get 503
  (load shedding) rather than queueing until their clients give up.
- ``TSELA_TOKEN_CACHE_MS``: how long a server process trusts an API token it has looked up
  (default 1000; 0: look it up on every call). A revoked token, or a deactivated user, is
  refused at most this long after the change.
- ``TSELA_TRUSTED_PROXIES``: comma-separated addresses or networks (e.g.
  ``10.0.0.5,10.1.0.0/16``) of reverse proxies whose ``X-Forwarded-For`` names the real
  caller (default none: the header is ignored and the connecting address is the source).
- ``TSELA_MAX_BODY_KB`` / ``TSELA_MAX_UPLOAD_KB``: the largest request body accepted, read
  before anyone is authenticated (defaults 256 KiB for the JSON API and forms, 20 MiB for
  uploads); larger ones get 413.
- ``TSELA_AUDIT_SEAL_MS``: how often the server chains new audit-log entries (default 1000;
  0: never, e.g. when another process does it). An entry is tamper-evident once chained.
- ``TSELA_AUDIT_CHECKPOINT_S``: how often the server writes a signed checkpoint of the audit
  log's head to ``<var>/audit-checkpoints.jsonl`` (default 60; 0: never). Deleting or
  rewriting entries up to the newest checkpoint is detected by ``tsela audit verify``.
- ``TSELA_METRICS_TOKEN``: when set, ``/metrics`` needs ``Authorization: Bearer <it>``;
  unset, ``/metrics`` answers only callers on the loopback interface.
- The node exchange (docs/exchange.md): ``TSELA_EXCHANGE_PORT`` (the mutual-TLS feed
  listener of ``tsela serve``; default 0: none), ``TSELA_EXCHANGE_HOST`` (127.0.0.1),
  ``TSELA_EXCHANGE_PULL_MS`` (how often the server pulls its partners' feeds, default 2000;
  0: never), ``TSELA_EXCHANGE_SEQUENCE_MS`` (how often new outbox records are chained,
  default 200), ``TSELA_EXCHANGE_BATCH`` (records per batch, default 5000),
  ``TSELA_EXCHANGE_MAX_BYTES`` (largest answer accepted, default 64 MiB),
  ``TSELA_EXCHANGE_MAX_SKEW_S`` (partner clock difference accepted, default 300),
  ``TSELA_EXCHANGE_BACKOFF_MAX_S`` (longest wait between tries while a partner is down,
  default 300), ``TSELA_EXCHANGE_RETENTION_DAYS`` (message log, default 30),
  ``TSELA_EXCHANGE_LAG_ALERT_S`` (lag that raises the alert, default 300).
- ``TSELA_CLOCK``: for tests and demonstrations only, never in service: an ISO 8601 instant
  with its offset (e.g. ``2026-05-12T08:00:00+02:00``) at which the clock of the server and
  of the command line stands still (``tsela.kernel.clock``); unset, the machine's clock.
  Records still get the machine's time where no border rule reads it (audit entries,
  ``updated_at``); every "today at the border" and every check's time comes from it.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from tsela.kernel.clock import SYSTEM, Clock, FixedClock

NODES = ("LS", "ZA")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    node: str
    var_dir: Path
    max_in_flight: int = 16
    queue_timeout_ms: int = 1000
    token_cache_ms: int = 1000
    audit_seal_ms: int = 1000
    trusted_proxies: tuple[str, ...] = ()
    max_body_kb: int = 256
    max_upload_kb: int = 20 * 1024
    audit_checkpoint_s: int = 60
    metrics_token: str = ""
    exchange_port: int = 0
    exchange_host: str = "127.0.0.1"
    exchange_pull_ms: int = 2000
    exchange_sequence_ms: int = 200
    exchange_batch: int = 5000
    exchange_max_bytes: int = 64 * 1024 * 1024
    exchange_max_skew_s: int = 300
    exchange_backoff_max_s: int = 300
    exchange_retention_days: int = 30
    exchange_lag_alert_s: int = 300
    clock_at: datetime | None = None  # TSELA_CLOCK: tests and demonstrations only
    # The fast lane (issue 20): the share of clear scans sent to secondary inspection at
    # random (TSELA_FAST_LANE_REFER_PERCENT, default 5), and a seed for that draw
    # (TSELA_FAST_LANE_SEED: tests and demonstrations only; unset, the draw is unpredictable).
    fast_lane_refer_rate: float = 0.05
    fast_lane_seed: int | None = None

    @property
    def url(self) -> URL:
        return parse_database_url(self.database_url)


def parse_database_url(raw: str) -> URL:
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigError(
            f"malformed database URL {raw!r}: expected e.g. sqlite:///var/tsela.db or "
            "postgresql+psycopg://user@host:5432/db"
        ) from exc
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"unsupported database {backend!r} in {raw!r}: Tsela runs on sqlite or postgresql"
        )
    if backend == "postgresql" and url.drivername == "postgresql":
        # psycopg 3 is the driver we install; plain postgresql:// would look for psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    return url


def validate_node(node: str) -> str:
    code = node.strip().upper()
    if code not in NODES:
        raise ConfigError(f"unknown node {node!r}: TSELA_NODE must be one of {', '.join(NODES)}")
    return code


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    var_dir = Path(env.get("TSELA_VAR_DIR", "var"))
    default_db = f"sqlite:///{var_dir / 'tsela.db'}"
    raw_url = env.get("TSELA_DATABASE_URL", default_db)
    parse_database_url(raw_url)  # fail early, with a clear message
    return Settings(
        database_url=raw_url,
        node=validate_node(env.get("TSELA_NODE", "LS")),
        var_dir=var_dir,
        max_in_flight=_whole_number(env, "TSELA_MAX_IN_FLIGHT", 16),
        queue_timeout_ms=_whole_number(env, "TSELA_QUEUE_TIMEOUT_MS", 1000),
        token_cache_ms=_whole_number(env, "TSELA_TOKEN_CACHE_MS", 1000),
        audit_seal_ms=_whole_number(env, "TSELA_AUDIT_SEAL_MS", 1000),
        trusted_proxies=parse_trusted_proxies(env.get("TSELA_TRUSTED_PROXIES", "")),
        max_body_kb=_whole_number(env, "TSELA_MAX_BODY_KB", 256),
        max_upload_kb=_whole_number(env, "TSELA_MAX_UPLOAD_KB", 20 * 1024),
        audit_checkpoint_s=_whole_number(env, "TSELA_AUDIT_CHECKPOINT_S", 60),
        metrics_token=env.get("TSELA_METRICS_TOKEN", "").strip(),
        exchange_port=_whole_number(env, "TSELA_EXCHANGE_PORT", 0),
        exchange_host=env.get("TSELA_EXCHANGE_HOST", "127.0.0.1").strip() or "127.0.0.1",
        exchange_pull_ms=_whole_number(env, "TSELA_EXCHANGE_PULL_MS", 2000),
        exchange_sequence_ms=_whole_number(env, "TSELA_EXCHANGE_SEQUENCE_MS", 200),
        exchange_batch=max(1, _whole_number(env, "TSELA_EXCHANGE_BATCH", 5000)),
        exchange_max_bytes=_whole_number(env, "TSELA_EXCHANGE_MAX_BYTES", 64 * 1024 * 1024),
        exchange_max_skew_s=_whole_number(env, "TSELA_EXCHANGE_MAX_SKEW_S", 300),
        exchange_backoff_max_s=_whole_number(env, "TSELA_EXCHANGE_BACKOFF_MAX_S", 300),
        exchange_retention_days=_whole_number(env, "TSELA_EXCHANGE_RETENTION_DAYS", 30),
        exchange_lag_alert_s=_whole_number(env, "TSELA_EXCHANGE_LAG_ALERT_S", 300),
        clock_at=_clock_at(env),
        fast_lane_refer_rate=_percent(env, "TSELA_FAST_LANE_REFER_PERCENT", 5.0) / 100,
        fast_lane_seed=_whole_number(env, "TSELA_FAST_LANE_SEED", -1)
        if env.get("TSELA_FAST_LANE_SEED", "").strip()
        else None,
    )


def clock_for(settings: Settings) -> Clock:
    """The clock these settings ask for: the machine's, unless ``TSELA_CLOCK`` froze it."""
    return FixedClock(settings.clock_at) if settings.clock_at else SYSTEM


def load_clock(env: dict[str, str] | None = None) -> Clock:
    """The clock from the environment alone (``TSELA_CLOCK``), for commands that need no
    other setting."""
    at = _clock_at(dict(os.environ) if env is None else env)
    return FixedClock(at) if at else SYSTEM


def _clock_at(env: dict[str, str]) -> datetime | None:
    raw = env.get("TSELA_CLOCK", "").strip()
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        at = None
    if at is None or at.utcoffset() is None:
        raise ConfigError(
            f"TSELA_CLOCK must be an ISO 8601 instant with its offset, e.g. "
            f"2026-05-12T08:00:00+02:00, not {raw!r}"
        )
    return at


def parse_trusted_proxies(raw: str) -> tuple[str, ...]:
    """Addresses and networks, checked; an empty setting trusts no proxy."""
    found: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                f"TSELA_TRUSTED_PROXIES: {item!r} is not an IP address or network "
                "(e.g. 10.0.0.5 or 10.1.0.0/16)"
            ) from None
    return tuple(found)


def _percent(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise ConfigError(f"{name} must be a percentage from 0 to 100 (e.g. 5 or 2.5), not {raw!r}")
    return value


def _whole_number(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigError(f"{name} must be a whole number (0 or more), not {raw!r}")
    return int(raw)
