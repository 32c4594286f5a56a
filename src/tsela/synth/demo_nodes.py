"""The two-node demo (issue 16): Lesotho and South Africa side by side on one machine.

Each node has its own directory under the demo's ``var`` (``ls/``, ``za/``): its SQLite
database, its permit-signing keys, its node key and TLS certificate, its exported trust
anchor (``anchor.json``). Set-up is what two operators would do (docs/exchange.md, "Setting
up trust"), with the fingerprint check skipped because one person runs both nodes: each node
exports its anchor, and the other trusts it. Run again, it keeps what is there: an anchor is
exported and trusted again only when the node's endpoint, certificate or keys changed, or it
is within a month of expiring.

The walkthrough data make the three things the demo shows visible at once (``seed``):
crossings recorded through the border check on each side (exits at Maseru Bridge in Lesotho,
most of them with their entry into South Africa a few minutes later, one without, and an
entry at Ficksburg with no exit), a Lesotho passport reported stolen at Maseru (a document
list of the Lesotho node), and the Lesotho permit of the demo worker to verify in South
Africa. Travellers are chosen by running the real check in a transaction that is rolled
back: only those the check clears on both sides are used.

Then identity resolution runs once on the Lesotho node (``resolve_identities``, as its
administrator would, with a model trained for the demo), so that the supervisor's
``/identity/review`` page and the check's "also known as" have something to show.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tsela.config import Settings, load_settings
from tsela.domain.values import Decision, Direction, DocumentStatus
from tsela.kernel.actor import Actor
from tsela.kernel.clock import Clock
from tsela.kernel.errors import Conflict, TselaError
from tsela.services import checks
from tsela.services import exchange as svc
from tsela.services.node_identity import NodeIdentity
from tsela.services.screening_link import BorderScreening
from tsela.store.db import session_factory, transaction
from tsela.store.exchange import Partner
from tsela.store.models import Crossing, Permit, Person, TravelDocument, User

log = logging.getLogger("tsela.demo")

NAMES = {"LS": "Lesotho", "ZA": "South Africa"}
ANCHOR_DAYS = 365
RENEW_BEFORE = timedelta(days=30)  # an anchor this close to expiry is exported again
SEED_KEY = "demo-walkthrough"  # the idempotency keys of the crossings seeded start so
STOLEN_LIST = "Reported stolen in Maseru (demo)"
STOLEN_SOURCE = "Lesotho Mounted Police Service, Maseru (demo)"
CANDIDATES = 60  # travellers looked at when choosing the walkthrough's
SCREENING = BorderScreening()  # as the node's server screens its checks
PERMIT_FILE = "demo-permit.txt"


@dataclass(frozen=True)
class DemoNode:
    """One node of the demo: where it keeps its state and where it listens."""

    node: str
    var_dir: Path
    host: str  # the interface its servers listen on
    port: int  # the web pages and the API
    exchange_port: int  # the mutual-TLS feed
    browser_host: str  # the name printed for a browser

    @property
    def name(self) -> str:
        return NAMES[self.node]

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'tsela.db'}"

    @property
    def url(self) -> str:
        return f"http://{self.browser_host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"https://{self.exchange_host}:{self.exchange_port}"

    @property
    def exchange_host(self) -> str:
        """The nodes exchange on loopback, whatever interface the web pages listen on (the
        TLS certificates name 127.0.0.1 and localhost)."""
        return "127.0.0.1"

    @property
    def anchor_path(self) -> Path:
        return self.var_dir / "anchor.json"

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment of this node's processes (the demo's own settings win)."""
        env = dict(base)
        env.update(
            {
                "TSELA_NODE": self.node,
                "TSELA_VAR_DIR": str(self.var_dir),
                "TSELA_DATABASE_URL": self.database_url,
                "TSELA_EXCHANGE_PORT": str(self.exchange_port),
                "TSELA_EXCHANGE_HOST": self.exchange_host,
            }
        )
        env.setdefault("TSELA_EXCHANGE_PULL_MS", "1000")  # a walkthrough step takes a second
        env.setdefault("TSELA_COOKIE_SECURE", "0")  # plain http on this machine
        return env

    def settings(self, base: Mapping[str, str]) -> Settings:
        return load_settings(self.env(base))


def layout(
    root: Path,
    *,
    host: str = "127.0.0.1",
    ls_port: int = 8000,
    za_port: int = 8001,
    ls_exchange_port: int = 8443,
    za_exchange_port: int = 8444,
) -> tuple[DemoNode, DemoNode]:
    """Lesotho and South Africa under ``root``. On the loopback interface the South African
    node is printed as ``localhost``: browsers keep cookies per host name, not per port, so
    two names keep one sign-in per node."""
    ports = [ls_port, za_port, ls_exchange_port, za_exchange_port]
    if len(set(ports)) != len(ports):
        raise ValueError(f"the demo needs four different ports, got {ports}")
    loopback = host in ("127.0.0.1", "localhost")
    return (
        DemoNode(
            "LS", root / "ls", host, ls_port, ls_exchange_port, "127.0.0.1" if loopback else host
        ),
        DemoNode(
            "ZA", root / "za", host, za_port, za_exchange_port, "localhost" if loopback else host
        ),
    )


# --------------------------------------------------------------------------- trust


def ensure_identity(node: DemoNode, now: datetime) -> bool:
    """The node key and TLS certificate (made once; the endpoint follows the demo's port)."""
    return NodeIdentity(node.var_dir, node.node).init(now, endpoint=node.endpoint)


def _same_anchor(stored: Mapping[str, Any], identity: NodeIdentity) -> bool:
    return (
        stored.get("endpoint") == identity.endpoint
        and stored.get("tls_certificate") == identity.certificate_pem()
        and stored.get("keys") == [k.to_json() for k in identity.node_keys()]
    )


@dataclass(frozen=True)
class Trusted:
    node: str  # the node that trusts
    partner: str
    fingerprint: str
    anchor_file: Path
    changed: str  # "trusted", "anchor updated" or "kept"


def ensure_trust(me: DemoNode, engine: Engine, other: DemoNode, now: datetime) -> Trusted:
    """``me`` trusts ``other``: ``other`` exports its anchor (``tsela exchange anchor
    export``) and ``me`` adds it (``tsela exchange trust add``) — unless ``me`` already
    trusts the anchor ``other`` would export now."""
    identity = NodeIdentity(other.var_dir, other.node)
    with session_factory(engine)() as s:
        partner = s.scalar(select(Partner).where(Partner.partner == other.node))
        stored = dict(partner.anchor) if partner else None
    if stored is not None and _same_anchor(stored, identity):
        current = svc.parse_anchor(stored)
        if current.valid_to - now > RENEW_BEFORE:
            if not other.anchor_path.exists():
                other.anchor_path.write_text(json.dumps(stored, indent=2) + "\n", "utf-8")
            return Trusted(me.node, other.node, current.fingerprint, other.anchor_path, "kept")
    svc.write_anchor_file(identity, other.anchor_path, now, ANCHOR_DAYS)
    anchor = svc.read_anchor_file(other.anchor_path)
    with transaction(session_factory(engine)) as s:
        _partner, created = svc.add_partner(s, node=me.node, anchor=anchor, actor="demo", now=now)
    return Trusted(
        me.node,
        other.node,
        anchor.fingerprint,
        other.anchor_path,
        "trusted" if created else "anchor updated",
    )


# --------------------------------------------------------------------------- walkthrough


@dataclass(frozen=True)
class Traveller:
    issuing_state: str
    number: str
    name: str

    @property
    def document(self) -> str:
        return f"{self.issuing_state} {self.number}"


@dataclass
class Walkthrough:
    """What the demo prints for each of the three things to see."""

    live: Traveller | None = None  # (a): to check out of Lesotho, then into South Africa
    seeded: list[str] = field(default_factory=list)  # (a): what was recorded at set-up
    stolen: Traveller | None = None  # (b)
    permit_file: Path | None = None  # (c)
    permit: str = ""  # (c): which permit, in words
    declaration: str = ""  # (a): the live traveller's pre-arrival declaration, its reference


def _officer(session: Session, username: str, node: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ValueError(f"the demo account {username!r} is missing: run the demo set-up")
    return Actor.of(user, node)


def _request(port: str, direction: Direction, at: datetime, t: Traveller) -> checks.CheckRequest:
    return checks.CheckRequest(
        port=port,
        direction=direction,
        at=at,
        document_number=t.number,
        issuing_state=t.issuing_state,
    )


def clears(
    engine: Engine, node: str, officer: str, port: str, way: Direction, t: Traveller, now: datetime
) -> bool:
    """Whether the border check of ``node`` would clear ``t`` at ``now`` (run, then rolled
    back: nothing is kept, not even the check's audit entry)."""
    with session_factory(engine)() as s:
        try:
            result = checks.run_check(
                s,
                node=node,
                officer=_officer(s, officer, node),
                request=_request(port, way, now, t),
                now=now,
                screening=SCREENING,
            )
            return result.check.decision is Decision.CLEAR
        except TselaError:
            return False
        finally:
            s.rollback()


def _seeded(engine: Engine, key: str) -> bool:
    with session_factory(engine)() as s:
        return s.scalar(select(Crossing.id).where(Crossing.idempotency_key == key)) is not None


def record(
    engine: Engine,
    node: str,
    officer: str,
    port: str,
    way: Direction,
    t: Traveller,
    *,
    now: datetime,
    ago: timedelta,
    key: str,
) -> bool:
    """Check ``t`` and record the crossing, ``ago`` before ``now``, as the console does (one
    transaction; nothing if ``key`` was recorded before or the check does not clear)."""
    if _seeded(engine, key):
        return False
    with transaction(session_factory(engine)) as s:
        user = _officer(s, officer, node)
        result = checks.run_check(
            s,
            node=node,
            officer=user,
            request=_request(port, way, now - ago, t),
            now=now,
            screening=SCREENING,
            source="demo",
        )
        if result.check.decision is not Decision.CLEAR:
            raise Conflict(
                "demo.not_cleared",
                "%(document)s: %(decision)s",
                document=t.document,
                decision=result.check.decision.value,
            )
        checks.record_crossing(
            s,
            node=node,
            officer=user,
            check_id=result.check.id,
            idempotency_key=key,
            payload_hash=checks.request_hash(
                {"check_id": str(result.check.id), "override_reason": None}
            ),
            now=now,
            source="demo",
        )
    return True


def candidates(engine: Engine, today: date, limit: int = CANDIDATES) -> Iterator[Traveller]:
    """Basotho with a Lesotho passport valid for a year, no permit and no listed document,
    whose last crossing (if any) brought them home to Lesotho; in document order."""
    latest = (
        select(Crossing.person_id, func.max(Crossing.crossed_at).label("at"))
        .group_by(Crossing.person_id)
        .subquery()
    )
    last = (
        select(Crossing.person_id, Crossing.direction, Crossing.country)
        .join(
            latest,
            (latest.c.person_id == Crossing.person_id) & (latest.c.at == Crossing.crossed_at),
        )
        .subquery()
    )
    with session_factory(engine)() as s:
        rows = s.execute(
            select(TravelDocument.issuing_state, TravelDocument.number, Person)
            .join(Person, Person.id == TravelDocument.person_id)
            .outerjoin(last, last.c.person_id == Person.id)
            .where(
                Person.nationality == "LSO",
                TravelDocument.issuing_state == "LSO",
                TravelDocument.document_type == "P",
                TravelDocument.status == DocumentStatus.VALID,
                TravelDocument.expiry_date >= today + timedelta(days=365),
                Person.id.not_in(select(Permit.person_id)),
                (last.c.person_id.is_(None))
                | ((last.c.direction == Direction.ENTRY) & (last.c.country == "LSO")),
            )
            .order_by(TravelDocument.number)
            .limit(limit)
        ).all()
    for state, number, person in rows:
        given = " ".join(p.capitalize() for p in person.given_names.split())
        yield Traveller(state, number, f"{given} {person.primary_name.capitalize()}".strip())


def _pick(
    pool: Iterator[Traveller],
    used: set[str],
    ls: Engine,
    za: Engine,
    now: datetime,
    za_port: str = "MSU",
) -> Traveller | None:
    """The next traveller the Lesotho check clears out at Maseru Bridge and the South African
    check clears in at ``za_port``."""
    za_officer = "ficksburg" if za_port == "FKB" else "officer"
    for t in pool:
        if t.number in used:
            continue
        used.add(t.number)
        if clears(ls, "LS", "officer", "MSU", Direction.EXIT, t, now) and clears(
            za, "ZA", za_officer, za_port, Direction.ENTRY, t, now
        ):
            return t
    return None


def _stolen_on_list(ls: Engine) -> Traveller | None:
    from tsela.store.watchlists import DocumentAlert, Watchlist

    with session_factory(ls)() as s:
        row = s.execute(
            select(DocumentAlert.issuing_state, DocumentAlert.number, Person)
            .join(Watchlist, Watchlist.id == DocumentAlert.watchlist_id)
            .join(
                TravelDocument,
                (TravelDocument.issuing_state == DocumentAlert.issuing_state)
                & (TravelDocument.number == DocumentAlert.number),
            )
            .join(Person, Person.id == TravelDocument.person_id)
            .where(Watchlist.name == STOLEN_LIST)
            .limit(1)
        ).first()
    if row is None:
        return None
    state, number, person = row
    given = " ".join(p.capitalize() for p in person.given_names.split())
    return Traveller(state, number, f"{given} {person.primary_name.capitalize()}".strip())


def _report_stolen(ls: Engine, t: Traveller, today: date) -> None:
    """The Lesotho police report the passport stolen: a document list of the Lesotho node,
    whose alert goes to South Africa through the exchange (as every document list's)."""
    from tsela.services import screening
    from tsela.store.watchlists import WatchlistCategory, WatchlistKind

    data = (
        "issuing_state,number,status,reported_on\n"
        f"{t.issuing_state},{t.number},stolen,{today.isoformat()}\n"
    )
    report = screening.import_watchlist(
        ls,
        list_name=STOLEN_LIST,
        data=data,
        fmt="csv",
        actor="demo",
        node="LS",
        kind=WatchlistKind.DOCUMENT,
        category=WatchlistCategory.OTHER,
        source=STOLEN_SOURCE,
        today=today,
        confirm=True,
    )
    if report.error_count:
        raise ValueError(f"the demo's list of stolen passports: {report.errors[0]}")


def _permit(ls: Engine, today: date) -> tuple[str, str] | None:
    """The demo worker's valid permit on the Lesotho node: (token, words)."""
    with session_factory(ls)() as s:
        row = s.execute(
            select(Permit.token, Permit.number, Permit.permit_type)
            .join(User, User.person_id == Permit.person_id)
            .where(
                User.username == "worker",
                Permit.status == "issued",
                Permit.token.is_not(None),
                Permit.valid_from <= today,
                Permit.valid_to >= today,
            )
            .order_by(Permit.valid_to.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    token, number, kind = row
    return str(token), f"permit {number} ({kind}) of the demo worker"


def seed(root: Path, ls: Engine, za: Engine, clock: Clock) -> Walkthrough:
    """The walkthrough's data on both nodes (each part once), and what to show."""
    today = clock.today()
    out = Walkthrough()
    used: set[str] = set()
    pool = candidates(ls, today)

    # (a) exits from Lesotho at Maseru Bridge, the entries into South Africa minutes later;
    # one exit with no entry yet, and one entry at Ficksburg with no exit recorded.
    plan = [
        ("1", True, True, timedelta(minutes=14), timedelta(minutes=12)),
        ("2", True, True, timedelta(minutes=11), timedelta(minutes=9)),
        ("3", True, True, timedelta(minutes=8), timedelta(minutes=6)),
        ("4", True, False, timedelta(minutes=5), None),
        ("5", False, True, None, timedelta(minutes=3)),
    ]
    if not _seeded(ls, f"{SEED_KEY}-1-exit"):
        for n, leaves, arrives, exit_ago, entry_ago in plan:
            port = "MSU" if leaves else "FKB"
            now = clock.now()
            t = _pick(pool, used, ls, za, now, port)
            if t is None:
                log.warning("no traveller left for the walkthrough's crossing %s", n)
                break
            try:
                if leaves and exit_ago is not None:
                    record(ls, "LS", "officer", "MSU", Direction.EXIT, t, now=now,
                           ago=exit_ago, key=f"{SEED_KEY}-{n}-exit")  # fmt: skip
                if arrives and entry_ago is not None:
                    officer = "officer" if port == "MSU" else "ficksburg"
                    record(za, "ZA", officer, port, Direction.ENTRY, t, now=now,
                           ago=entry_ago, key=f"{SEED_KEY}-{n}-entry")  # fmt: skip
            except TselaError as exc:
                log.warning("walkthrough crossing %s not recorded: %s", n, exc.message)
                continue
            what = {
                (True, True): f"{t.document} left Lesotho and entered South Africa at MSU",
                (True, False): f"{t.document} left Lesotho at MSU, no entry yet",
                (False, True): f"{t.document} entered South Africa at FKB, no exit recorded",
            }[(leaves, arrives)]
            out.seeded.append(what)

    # (b) a passport reported stolen at Maseru
    out.stolen = _stolen_on_list(ls)
    if out.stolen is None:
        t = _pick(pool, used, ls, za, clock.now(), "FKB")
        if t is not None:
            _report_stolen(ls, t, today)
            out.stolen = t
    if out.stolen is not None:
        used.add(out.stolen.number)

    # (a), live: a traveller both checks clear now (chosen again on every run, since the
    # last one may have crossed already), with a pre-arrival declaration for the entry into
    # South Africa (made anew on every run: one is valid 72 hours and used once)
    out.live = _pick(candidates(ls, today), used, ls, za, clock.now())
    if out.live is not None:
        out.declaration = _declare(za, root / "za", out.live, clock.now())

    # (c) the demo worker's Lesotho permit, to paste at the South African verify page
    found = _permit(ls, today)
    if found is not None:
        token, words = found
        out.permit_file = root / PERMIT_FILE
        out.permit_file.write_text(token + "\n", "utf-8")
        out.permit = words
    return out


def _declare(za: Engine, var_dir: Path, t: Traveller, now: datetime) -> str:
    """The traveller's pre-arrival declaration on the South African node: its reference
    ("" when it cannot be made; the walkthrough then leaves it out)."""
    from tsela.domain.declarations import DeclarationInput, shown_reference
    from tsela.services import declarations

    with session_factory(za)() as s:
        born = s.scalar(
            select(Person.birth_date)
            .join(TravelDocument, TravelDocument.person_id == Person.id)
            .where(
                TravelDocument.number == t.number, TravelDocument.issuing_state == t.issuing_state
            )
        )
        given = DeclarationInput(
            document_number=t.number,
            issuing_state=t.issuing_state,
            birth_date=born,
            port="MSU",
            direction="entry",
            purpose="family",
            address="12 Voortrekker Street, Ladybrand",
            stay_days=5,
        )
        try:
            made = declarations.declare(s, node="ZA", source="demo set-up", var_dir=var_dir,
                                        given=given, now=now)  # fmt: skip
        except (TselaError, declarations.DeclarationThrottled) as exc:
            log.warning("no pre-arrival declaration for the walkthrough: %s", exc)
            return ""
        s.commit()
        return shown_reference(made.declaration.reference)


# The demo's identity model: trained by Splink (EM) on a labelled synthetic sample with known
# second records (tsela.synth.identities), 1,500 people and 15% second records: about 23 s on
# a loaded 2-core machine (3,000 people took 33 s). The demo population itself has no second
# records, and EM on it does not converge (Splink stops with "math domain error").
MODEL_SAMPLE = 1500
MODEL_FILE = "identity-model.json"
MODEL_SEED = 16


@dataclass(frozen=True)
class Resolved:
    done: str  # "resolved" | "kept" (a model was there) | "skipped" (why in ``detail``)
    detail: str = ""
    seconds: float = 0.0


def resolve_identities(ls: Engine, var_dir: Path) -> Resolved:
    """Identity resolution on the Lesotho node, as its administrator runs it
    (``services.identity.resolve``) with a model trained for the demo (``MODEL_SAMPLE``,
    kept in ``var_dir``): once (a node with an active model keeps it)."""
    from tsela.domain.identity import features
    from tsela.services import identity
    from tsela.services.identity import engine as splink_engine
    from tsela.synth.identities import population

    with session_factory(ls)() as s:
        if identity.active_model(s) is not None:
            return Resolved("kept")
    t0 = time.perf_counter()
    try:
        path = var_dir / MODEL_FILE
        if not path.exists():
            rows = [features(p.record) for p in population(MODEL_SAMPLE, 0.15, seed=MODEL_SEED)]
            trained = splink_engine.resolve(rows, engine="duckdb")
            path.write_text(json.dumps(trained.model), "utf-8")
        with transaction(session_factory(ls)) as s:
            report = identity.resolve(s, _officer(s, "admin", "LS"), model_file=path)
    except (TselaError, ValueError) as exc:  # the demo goes on without it
        why = exc.message if isinstance(exc, TselaError) else str(exc)
        log.warning("identity resolution skipped: %s", why)
        return Resolved("skipped", why)
    seconds = time.perf_counter() - t0
    log.info("identity resolution on LS: %s records in %.1f s", report.records, seconds)
    return Resolved(
        "resolved",
        f"{report.records:,} records, {report.auto_linked:,} linked, {report.queued:,} to review",
        seconds,
    )
