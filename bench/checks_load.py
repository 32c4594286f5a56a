"""Load benchmark of the border check (POST /v1/checks) against the real server.

    # PostgreSQL, issue size (setup takes ~10 minutes; --keep reuses it on the next run)
    .venv/bin/python bench/checks_load.py --backend postgresql --keep --workers 1,2
    # SQLite at demo size (2,000 travellers, 10,000-entry watchlist)
    .venv/bin/python bench/checks_load.py --backend sqlite
    # a quick look
    .venv/bin/python bench/checks_load.py --backend sqlite --duration 10 --rates 50,100 \
        --sweep-duration 5

What it does:

1. Fills a scratch database: a synthetic population (``tsela.synth``) with its crossings over
   a period calibrated to give ``--crossings`` rows, a person watchlist of ``--watchlist``
   entries (``tests/screening_data.py``) plus a document list, and one border officer per
   port. PostgreSQL gets a scratch schema in the test database (dropped at the end unless
   ``--keep``); bulk paths (COPY / executemany) instead of the importers, which would take
   far longer at a million rows.
2. Starts the server in its own process group: ``python -m tsela.cli.main serve --workers N``
   (each worker builds its own screening index; ``--max-in-flight`` sets its admission bound).
   The schema reaches it through the URL
   (``?options=-csearch_path%3D<schema>``, libpq's own parameter). The node is ZA, so the
   Lesotho visitor rule is evaluated for most travellers.
3. Times the start-up (each worker builds its screening index before it answers), warms up,
   measures idle service time with requests one at a time, then a load generator in ANOTHER process
   sends checks on a fixed schedule (open loop: it never waits for answers before sending
   the next) with a minimal keep-alive HTTP/1.1 client (``RawHttp``; ``--client httpx`` for
   httpx, which costs the shared machine about twice the CPU per request): a sweep over
   ``--rates`` (``--sweep-duration`` s each, slowest first, stopped once p99 passes 1 s or
   errors appear), then ``--rate`` for ``--duration`` s. Latency is measured from the time
   a request was scheduled, so a server (or client) falling behind shows up in the figures.
   Between phases the server is given time to drain the backlog of requests the client gave
   up on. The server's CPU time per answered check is reported too: unlike latency, it
   hardly depends on other jobs.
4. The mix: mostly existing travellers (entry or exit, the opposite of their last recorded
   crossing into/out of South Africa), some new travellers (registered by the check) and a
   few near-hits of watchlist entries (a misspelt name, the same birth date).
5. ``--profile N`` runs N checks in-process under cProfile and prints the top costs.

Prints one table row per phase: offered and achieved rate, p50/p95/p99/max, errors, and the
rate at which p99 crosses 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # data, passports

import numpy as np
from sqlalchemy import Engine, create_engine, func, select, text

from factories import passport
from screening_data import NATIONALITIES, NameSource, birth
from tsela.domain.screening import WatchlistPerson
from tsela.services import accounts, screening
from tsela.services.setup import seed_ports
from tsela.store.bulk import bulk_writer
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.models import Crossing, Person, Role, TravelDocument, User
from tsela.synth.generator import (
    PORT_CODES,
    PORT_WEIGHTS,
    Population,
    SynthConfig,
    estimate_crossings,
    make_population,
    make_trips,
)
from tsela.synth.load import load_crossings, load_population, new_hex_ids, port_ids
from tsela.synth.names import GROUPS, name_list

PG_URL = os.environ.get("TSELA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NODE = "ZA"  # the South African side: Basotho visitors meet the stay rule
TARGET_P99 = 0.050
OVERLOADED_P99 = 1.0  # a sweep stops after a rate whose p99 is above this
SEED = 2026
WATCHLIST_SEED = 5
PERSON_LIST = "bench-persons"
DOCUMENT_LIST = "bench-documents"
KEPT_SCHEMA = "checkbench_keep"
KEPT_SQLITE = Path("var/checkbench/checks.db")
# Share of requests by kind; the rest are existing travellers.
NEW_SHARE = 0.07
NEAR_HIT_SHARE = 0.03
EXISTING, NEW, NEAR_HIT = "existing", "new", "near-hit"


# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Sizes:
    travellers: int
    crossings: int  # wanted; 0 = the demo period (1 Jan 2025 to yesterday)
    watchlist: int

    def synth_config(self, yesterday: date) -> SynthConfig:
        """A population whose crossings over a period ending yesterday number ~``crossings``."""
        if not self.crossings:
            return SynthConfig(persons=self.travellers, start=date(2025, 1, 1), end=yesterday)
        probe_n = min(self.travellers, 20_000)
        days = 56
        for _ in range(2):  # the rate per day depends a little on the season: refine once
            probe = SynthConfig(
                persons=probe_n, start=yesterday - timedelta(days=days - 1), end=yesterday
            )
            per_day = estimate_crossings(make_trips(make_population(probe), probe), probe) / (
                probe_n * days
            )
            days = max(2, round(self.crossings / (self.travellers * per_day)))
        return SynthConfig(
            persons=self.travellers, start=yesterday - timedelta(days=days - 1), end=yesterday
        )


# --------------------------------------------------------------------------- loading


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


COMMON_NAME_SHARE = 0.002  # of watchlist entries named from the travellers' name lists
WATCHLIST_VERSION = "2"  # bump when the generated list changes: kept databases reload it


def watchlist_people(n: int, seed: int) -> Iterator[tuple[WatchlistPerson, list[str]]]:
    """``n`` synthetic entries (and the tokens of the primary name), deterministic.

    Most are named from the long tail of syllable-built names (``tests/screening_data.py``):
    if the list were drawn from the few hundred names the synthetic travellers carry, three
    travellers in four would be namesakes of someone on it, which no real list does. A small
    share uses those names, so that ordinary travellers sometimes meet a namesake.
    """
    rng = random.Random(seed)
    source = NameSource(rng)
    nats, nat_w = zip(*NATIONALITIES, strict=True)
    for i in range(n):
        if rng.random() < COMMON_NAME_SHARE:
            tokens = source.person_name()
        else:
            given = [source.syllabic() for _ in range(1 if rng.random() < 0.7 else 2)]
            tokens = [*given, source.syllabic()]
        names = [" ".join(tokens)]
        if rng.random() < 0.15:  # an alias: initial and surname
            names.append(f"{tokens[0][0]}. {tokens[-1]}")
        yield (
            WatchlistPerson(
                key=str(i),
                names=tuple(names),
                birth=birth(rng),
                nationalities=frozenset({rng.choices(nats, nat_w)[0]}),
            ),
            tokens,
        )


def load_watchlists(engine: Engine, entries: int, *, seed: int = WATCHLIST_SEED) -> int:
    """A person list of ``entries`` synthetic people and a document list, by bulk insert.

    Writes the same columns as ``tsela.services.screening.import_watchlist`` would.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    person_list, document_list = new_hex_ids(2)
    n_docs = max(1, entries // 100)
    lists = [
        (person_list, NODE, now, PERSON_LIST, "person", "wanted", "synthetic", 1, entries),
        (document_list, NODE, now, DOCUMENT_LIST, "document", "other", "synthetic", 1, n_docs),
    ]
    categories = ("wanted", "deportation", "banned_entry", "sanctions", "missing_person")

    def people() -> Iterator[tuple[object, ...]]:
        rng = random.Random(seed + 1)
        ids = iter(())  # type: Iterator[str]
        for i, (person, _tokens) in enumerate(watchlist_people(entries, seed)):
            if i % 50_000 == 0:
                ids = iter(new_hex_ids(min(50_000, entries - i)))
            b = person.birth
            full = b is not None and b.day is not None
            yield (
                next(ids),
                NODE,
                now,
                person_list,
                f"E{i}",
                _json(list(person.names)),
                f"{b.year:04d}-{b.month:02d}-{b.day:02d}" if full and b else None,
                b.year if b else None,
                b.month if b else None,
                _json(sorted(person.nationalities)),
                "[]",
                categories[rng.randrange(len(categories))],
                "synthetic entry",
                None,
                None,
                i + 2,
                "{}",
            )

    def documents() -> Iterator[tuple[object, ...]]:
        ids = new_hex_ids(n_docs)
        for i in range(n_docs):
            status = ("lost", "stolen", "revoked")[i % 3]
            yield (ids[i], NODE, now, document_list, "LSO", f"LX{i:07d}", status, None, "", i + 2)

    with bulk_writer(engine) as writer:
        writer.insert(
            "watchlist",
            (
                "id",
                "node",
                "created_at",
                "name",
                "kind",
                "category",
                "source",
                "version",
                "entry_count",
                "imported_by",
                "imported_at",
            ),
            [(*row, "bench", now) for row in lists],
        )
        loaded = writer.insert(
            "watchlist_entry",
            (
                "id",
                "node",
                "created_at",
                "watchlist_id",
                "external_id",
                "names",
                "birth_date",
                "birth_year",
                "birth_month",
                "nationalities",
                "documents",
                "category",
                "reason",
                "valid_from",
                "valid_to",
                "line",
                "extra",
            ),
            people(),
        )
        writer.insert(
            "document_alert",
            (
                "id",
                "node",
                "created_at",
                "watchlist_id",
                "issuing_state",
                "number",
                "status",
                "reported_on",
                "source",
                "line",
            ),
            documents(),
        )
    # As an import does: this process's screening index is brought up to date now (others
    # answer with their index until they have made the new one).
    screening.lists_changed(engine)
    return loaded


def ensure_officers(engine: Engine) -> dict[str, str]:
    """One border officer per port (created once) and a fresh API token each: port -> token."""
    tokens: dict[str, str] = {}
    with transaction(session_factory(engine)) as session:
        for code in PORT_CODES:
            name = f"bench-{code.lower()}"
            user = session.scalar(select(User).where(User.username == name))
            if user is None:
                user = accounts.create_user(
                    session,
                    node=NODE,
                    username=name,
                    password="bench-password-" + code,
                    role=Role.BORDER_OFFICER,
                    port_code=code,
                )
            tokens[code] = accounts.issue_api_token(session, user, label="checks_load")
    return tokens


@dataclass
class Prepared:
    cfg: SynthConfig
    crossings: int
    seconds: dict[str, float] = field(default_factory=dict)
    reused: bool = False


def vacuum(engine: Engine) -> None:
    """VACUUM ANALYZE the tables checks write, as autovacuum would: the test machines'
    PostgreSQL runs with autovacuum off, and earlier runs' dead rows (a sealed audit entry
    leaves its unsealed version behind) would slow each run a little more than the last."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("audit_event", "border_check", "person", "travel_document"):
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))


def _meta(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        try:
            rows = conn.execute(text("SELECT k, v FROM checkbench_meta")).all()
        except Exception:
            return {}
    return {k: v for k, v in rows}


def _set_meta(engine: Engine, values: dict[str, str]) -> None:
    with engine.begin() as conn:
        for k, v in values.items():
            conn.execute(text("DELETE FROM checkbench_meta WHERE k = :k"), {"k": k})
            conn.execute(text("INSERT INTO checkbench_meta VALUES (:k, :v)"), {"k": k, "v": v})
        conn.execute(text("ANALYZE"))


def prepare(engine: Engine, sizes: Sizes, yesterday: date) -> Prepared:
    """Fill an empty database, or reuse one this script filled with the same sizes."""
    meta = _meta(engine)
    wanted = {
        "travellers": str(sizes.travellers),
        "crossings": str(sizes.crossings),
        "watchlist": str(sizes.watchlist),
    }
    if meta:
        migrate(engine)  # kept by an older version of Tsela: bring its schema up to date
        vacuum(engine)
        if {k: meta.get(k) for k in wanted} != wanted:
            raise SystemExit(
                f"the kept database holds other sizes ({meta}); drop it with --drop first"
            )
        cfg = SynthConfig(
            persons=int(meta["travellers"]),
            start=date.fromisoformat(meta["start"]),
            end=date.fromisoformat(meta["end"]),
            seed=int(meta["seed"]),
        )
        reused = Prepared(cfg, int(meta["loaded_crossings"]), reused=True)
        if meta.get("watchlist_version") != WATCHLIST_VERSION:
            t = time.perf_counter()
            with engine.begin() as conn:
                for table in ("document_alert", "watchlist_entry", "watchlist"):
                    conn.execute(text(f"DELETE FROM {table}"))
            load_watchlists(engine, sizes.watchlist)
            _set_meta(engine, {"watchlist_version": WATCHLIST_VERSION})
            reused.seconds["reload watchlist"] = time.perf_counter() - t
        return reused
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    migrate(engine)
    seed_ports(engine, NODE)
    seconds["schema"] = time.perf_counter() - t
    t = time.perf_counter()
    cfg = sizes.synth_config(yesterday)
    pop = make_population(cfg)
    trips = make_trips(pop, cfg)
    seconds["generate"] = time.perf_counter() - t
    print(f"  period {cfg.start} to {cfg.end}: ~{estimate_crossings(trips, cfg):,} crossings")
    t = time.perf_counter()
    ports = port_ids(engine)
    with bulk_writer(engine) as writer:
        stored = load_population(writer, pop, NODE)
        loaded = load_crossings(writer, ports, pop, trips, cfg, stored)
    seconds["load travellers+crossings"] = time.perf_counter() - t
    del pop, trips, stored
    t = time.perf_counter()
    load_watchlists(engine, sizes.watchlist)
    seconds["generate+load watchlist"] = time.perf_counter() - t
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        conn.execute(text("CREATE TABLE checkbench_meta (k VARCHAR(40), v VARCHAR(40))"))
    _set_meta(
        engine,
        {
            **wanted,
            "start": cfg.start.isoformat(),
            "end": cfg.end.isoformat(),
            "seed": str(cfg.seed),
            "loaded_crossings": str(loaded),
            "watchlist_version": WATCHLIST_VERSION,
        },
    )
    seconds["analyze"] = time.perf_counter() - t
    return Prepared(cfg, loaded, seconds)


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class CheckCall:
    kind: str
    port: str
    body: dict[str, Any]


def _day(value: np.datetime64) -> date:
    return date.fromisoformat(str(value.astype("datetime64[D]")))


def existing_calls(engine: Engine, pop: Population, sample: int, seed: int) -> list[CheckCall]:
    """Checks of existing travellers at their home port, in the direction that follows their
    last recorded crossing into or out of South Africa (entry when there is none)."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pop), size=min(sample, len(pop)), replace=False)
    last: dict[str, tuple[datetime, str]] = {}
    numbers = [str(pop.doc_number[i]) for i in chosen]
    with session_factory(engine)() as session:
        for start in range(0, len(numbers), 1000):
            part = numbers[start : start + 1000]
            rows = session.execute(
                select(TravelDocument.number, Crossing.direction, Crossing.crossed_at)
                .join(Crossing, Crossing.person_id == TravelDocument.person_id)
                .where(TravelDocument.number.in_(part), Crossing.country == "ZAF")
            )
            for number, direction, at in rows:
                if number not in last or at > last[number][0]:
                    last[number] = (at, direction.value)
    calls = []
    for i, number in zip(chosen, numbers, strict=True):
        previous = last.get(number)
        direction = "exit" if previous and previous[1] == "entry" else "entry"
        mrz = passport(
            number,
            surname=str(pop.primary_name[i]),
            given=str(pop.given_names[i]),
            nationality=str(pop.nationality[i]),
            birth=_day(pop.birth_date[i]),
            expiry=_day(pop.doc_expiry[i]),
            sex=str(pop.sex[i]),
        )
        port = PORT_CODES[int(pop.home_port[i])]
        calls.append(CheckCall(EXISTING, port, {"port": port, "direction": direction, "mrz": mrz}))
    return calls


def _new_number(rng: random.Random) -> str:
    # "N" never starts a synthetic document number (R, A or X do), so these are unknown.
    return "N" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))


def _port(rng: random.Random) -> str:
    return rng.choices(PORT_CODES, list(PORT_WEIGHTS.values()))[0]


def new_traveller_call(rng: random.Random, today: date) -> CheckCall:
    group = rng.choices(GROUPS, (0.7, 0.15, 0.05, 0.1))[0]
    sex = rng.choice("MF")
    given = rng.choice(name_list(group, "given_female" if sex == "F" else "given_male"))
    surname = rng.choice(name_list(group, "surnames"))
    nationality = rng.choices(("LSO", "ZWE", "MOZ", "GBR"), (0.85, 0.07, 0.05, 0.03))[0]
    birth = date(rng.randint(1950, 2006), rng.randint(1, 12), rng.randint(1, 28))
    expiry = today + timedelta(days=rng.randint(30, 3600))
    port = _port(rng)
    mrz = passport(
        _new_number(rng),
        surname=surname,
        given=given,
        nationality=nationality,
        birth=birth,
        expiry=expiry,
        sex=sex,
    )
    return CheckCall(NEW, port, {"port": port, "direction": "entry", "mrz": mrz})


def misspell(word: str, rng: random.Random) -> str:
    """One typing slip: two neighbouring letters swapped, or one letter doubled or dropped."""
    letters = [c for c in word.upper() if c.isalpha()]
    if len(letters) < 4:
        return "".join(letters)
    i = rng.randrange(1, len(letters) - 2)
    slip = rng.randrange(3)
    if slip == 0:
        letters[i], letters[i + 1] = letters[i + 1], letters[i]
    elif slip == 1:
        letters.insert(i, letters[i])
    else:
        del letters[i]
    return "".join(letters)


@dataclass(frozen=True)
class Lookalike:
    """A traveller named like a watchlist entry (surname misspelt), born the same day."""

    surname: str
    given: str
    nationality: str
    birth: date
    sex: str


def lookalikes(entries: int, sample: int, seed: int) -> list[Lookalike]:
    rng = random.Random(seed)
    out: list[Lookalike] = []
    for person, tokens in watchlist_people(min(entries, sample * 3), WATCHLIST_SEED):
        b = person.birth
        if b is None or b.day is None or b.month is None or len(tokens) < 2:
            continue
        out.append(
            Lookalike(
                surname=misspell(tokens[-1], rng),
                given=" ".join(tokens[:-1]),
                nationality=next(iter(person.nationalities), "LSO"),
                birth=date(b.year, b.month, b.day),
                sex=rng.choice("MF"),
            )
        )
        if len(out) >= sample:
            break
    return out


@dataclass
class RequestMix:
    existing: list[CheckCall]
    near_hits: list[Lookalike]
    today: date
    rng: random.Random

    def near_hit(self) -> CheckCall:
        who = self.rng.choice(self.near_hits)
        port = _port(self.rng)
        # A fresh passport each time, so that every near-hit is also a new traveller.
        mrz = passport(
            _new_number(self.rng),
            surname=who.surname,
            given=who.given,
            nationality=who.nationality,
            birth=who.birth,
            expiry=self.today + timedelta(days=self.rng.randint(30, 3600)),
            sex=who.sex,
        )
        return CheckCall(NEAR_HIT, port, {"port": port, "direction": "entry", "mrz": mrz})

    def draw(self, n: int) -> list[CheckCall]:
        """``n`` checks in the mix; new and near-hit travellers get fresh document numbers."""
        out = []
        for _ in range(n):
            r = self.rng.random()
            if r < NEW_SHARE:
                out.append(new_traveller_call(self.rng, self.today))
            elif r < NEW_SHARE + NEAR_HIT_SHARE and self.near_hits:
                out.append(self.near_hit())
            else:
                out.append(self.rng.choice(self.existing))
        return out


# --------------------------------------------------------------------------- load generator


@dataclass
class Sample:
    kind: str
    scheduled: float  # seconds after the start of the phase
    latency: float  # from the scheduled send time to the full answer
    status: str  # HTTP status, or the exception's name
    decision: str


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client for the load generator (like wrk's): it writes
    pre-encoded requests and reads status, Content-Length and body, nothing else.

    The generator shares the two cores with the server and PostgreSQL, so its own CPU is taken
    from what is measured: httpx cost it about 2 ms per request (on an earlier run); this
    costs 0.6 to 1.1 ms here, answer parsing and scheduling included (``--json`` records
    the generator's CPU per phase).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, request: bytes) -> tuple[int, bytes]:
        while True:
            reused = bool(self.idle)
            if reused:
                reader, writer = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(request)
                first = await reader.readline()
                if not first:
                    writer.close()
                    if reused:
                        continue  # the server closed an idle keep-alive connection: retry
                    raise ConnectionResetError("the server closed the connection")
                parts = first.split(b" ", 2)
                if len(parts) < 2 or not parts[1].isdigit():
                    raise ValueError(f"not an HTTP status line: {first[:80]!r}")
                status = int(parts[1])
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                body = await reader.readexactly(length)
            except BaseException:
                writer.close()  # cancelled (timed out) or broken: never reuse it
                raise
            if close:
                writer.close()
            else:
                self.idle.append((reader, writer))
            return status, body

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


def encode_post(host: str, path: str, token: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


def drive(
    base_url: str,
    calls: Sequence[tuple[str, str, dict[str, Any]]],
    tokens: dict[str, str],
    rate: float,
    timeout: float,
    connections: int,
    client: str = "raw",
) -> tuple[list[Sample], float, float]:
    """Runs in the load-generator process: send ``calls`` at ``rate``/s on schedule.

    Returns the samples, the worst lateness of the sender (how far behind schedule a
    request left, which would mean the generator, not the server, was the bottleneck) and
    the CPU time the generator used. ``client``: ``raw`` (``RawHttp``) or ``httpx``.
    """
    import httpx

    host, port = base_url.removeprefix("http://").split(":")
    requests = [encode_post(f"{host}:{port}", "/v1/checks", tokens[p], b) for _, p, b in calls]

    async def go() -> tuple[list[Sample], float]:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        samples: list[Sample] = []
        worst = 0.0
        headers = {code: {"Authorization": f"Bearer {tok}"} for code, tok in tokens.items()}
        raw = RawHttp(host, int(port))
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as hx:
            loop = asyncio.get_running_loop()

            # At most ``connections`` requests in flight: beyond that, requests wait here
            # (cheaply) rather than in httpx's pool, whose waiting list costs the generator
            # seconds of CPU per second once thousands pile up, CPU taken from the server.
            slots = asyncio.Semaphore(connections)

            async def post(i: int) -> tuple[str, str]:
                async with slots:
                    if client == "raw":
                        code, text = await raw.post(requests[i])
                    else:
                        r = await hx.post(
                            "/v1/checks", json=calls[i][2], headers=headers[calls[i][1]]
                        )
                        code, text = r.status_code, r.content
                if code == 201:
                    return "201", json.loads(text)["decision"]
                return str(code), text[:200].decode(errors="replace")

            async def one(i: int, at: float) -> None:
                try:
                    # The deadline runs from the scheduled time: an officer waits no longer.
                    status, decision = await asyncio.wait_for(
                        post(i), timeout=max(0.001, at + timeout - loop.time())
                    )
                except TimeoutError:
                    status, decision = "timeout", ""
                except (httpx.HTTPError, OSError, ValueError, asyncio.IncompleteReadError) as exc:
                    status, decision = type(exc).__name__, ""
                samples.append(Sample(calls[i][0], at - t0, loop.time() - at, status, decision))

            t0 = loop.time() + 0.2
            tasks = []
            for i in range(len(calls)):
                at = t0 + i / rate
                delay = at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                worst = max(worst, loop.time() - at)
                tasks.append(asyncio.create_task(one(i, at)))
            await asyncio.gather(*tasks)
        raw.close()
        return samples, worst

    cpu = time.process_time()
    samples, worst = asyncio.run(go())
    return samples, worst, time.process_time() - cpu


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (the smallest value with at least p% of values at or below)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Phase:
    label: str
    offered: float
    seconds: float
    sent: int
    ok: int
    errors: dict[str, int]
    achieved: float  # answered checks per second
    p50: float
    p95: float
    p99: float
    worst: float
    sender_lag: float
    decisions: dict[str, int]
    by_kind_p99: dict[str, float]
    server_cpu_ms: float = math.nan  # server CPU time per answered check
    client_cpu_s: float = math.nan  # CPU used by the load generator in the phase

    @property
    def passed(self) -> bool:
        return not self.errors and self.p99 < TARGET_P99 and self.achieved >= 0.98 * self.offered


def summarise(
    label: str, offered: float, seconds: float, samples: Sequence[Sample], sender_lag: float
) -> Phase:
    ok = [s for s in samples if s.status == "201"]
    errors = Counter(
        s.status + (f" {s.decision[:60]}" if s.status[:1] in "45" else "")
        for s in samples
        if s.status != "201"
    )
    span = max((s.scheduled + s.latency for s in samples), default=0.0)
    lat = [s.latency for s in samples]
    kinds = sorted({s.kind for s in samples})
    return Phase(
        label=label,
        offered=offered,
        seconds=seconds,
        sent=len(samples),
        ok=len(ok),
        errors=dict(errors),
        achieved=len(ok) / span if span else 0.0,
        p50=percentile(lat, 50),
        p95=percentile(lat, 95),
        p99=percentile(lat, 99),
        worst=max(lat, default=math.nan),
        sender_lag=sender_lag,
        decisions=dict(Counter(s.decision for s in ok)),
        by_kind_p99={k: percentile([s.latency for s in samples if s.kind == k], 99) for k in kinds},
    )


def crossing_rate(sweep: Sequence[Phase], limit: float = TARGET_P99) -> str:
    """Where p99 first reaches ``limit`` in a sweep ordered by offered rate, in words."""
    below = None
    for phase in sorted(sweep, key=lambda p: p.offered):
        if phase.p99 >= limit or phase.errors:
            if below is None:
                return f"already at {phase.offered:g}/s (p99 {phase.p99 * 1000:.0f} ms)"
            return (
                f"between {below.offered:g}/s (p99 {below.p99 * 1000:.0f} ms) and "
                f"{phase.offered:g}/s (p99 {phase.p99 * 1000:.0f} ms)"
            )
        below = phase
    top = max(sweep, key=lambda p: p.offered, default=None)
    return f"not reached up to {top.offered:g}/s" if top else "no sweep"


def ms(x: float) -> str:
    return f"{x * 1000:7.1f}" if not math.isnan(x) else "      -"


def table(phases: Sequence[Phase]) -> str:
    head = (
        f"{'phase':<26}{'offered/s':>10}{'answered/s':>11}{'sent':>7}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'p99 ms':>8}{'max ms':>8}{'errors':>8}{'cpu ms':>8}  verdict"
    )
    lines = [head, "-" * len(head)]
    for p in phases:
        lines.append(
            f"{p.label:<26}{p.offered:>10g}{p.achieved:>11.1f}{p.sent:>7}{ms(p.p50):>8}"
            f"{ms(p.p95):>8}{ms(p.p99):>8}{ms(p.worst):>8}{sum(p.errors.values()):>8}"
            f"{p.server_cpu_ms:>8.1f}  " + ("PASS" if p.passed else "miss")
        )
    return "\n".join(lines)


def markdown(phases: Sequence[Phase]) -> str:
    lines = [
        "| phase | offered/s | answered/s | p50 ms | p95 ms | p99 ms | max ms | errors "
        "| server CPU ms/check |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in phases:
        lines.append(
            f"| {p.label} | {p.offered:g} | {p.achieved:.1f} | {p.p50 * 1000:.1f} | "
            f"{p.p95 * 1000:.1f} | {p.p99 * 1000:.1f} | {p.worst * 1000:.0f} | "
            f"{sum(p.errors.values())} | {p.server_cpu_ms:.1f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_url(backend: str, database: str, schema: str | None) -> str:
    if backend == "postgresql" and schema:
        sep = "&" if "?" in database else "?"
        return f"{database}{sep}options={quote('-csearch_path=' + schema)}"
    return database


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    startup_s: float = 0.0  # until /health answered: includes building the screening index

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The server and its worker processes."""
        found: list[int] = []
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            if pid in found:
                continue
            found.append(pid)
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
        return found

    def rss_mb(self) -> float:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total / 1024

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server processes (user + system): unlike latency,
        this does not depend on what else the shared machine is running."""
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def drain(self, limit: float = 300.0) -> float:
        """Wait until the server answers /health quickly again (requests that the client gave
        up on are still worked through); returns the seconds waited."""
        import httpx

        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            t = time.monotonic()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/health", timeout=30).status_code == 200 and (
                    time.monotonic() - t < 0.2
                ):
                    break
            time.sleep(1)
        time.sleep(1)
        return time.monotonic() - t0

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_server(url: str, workers: int, var_dir: Path, max_in_flight: int | None = None) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "TSELA_DATABASE_URL": url,
        "TSELA_NODE": NODE,
        "TSELA_VAR_DIR": str(var_dir),
    }
    # `tsela serve --workers N` (tsela.api.serve) also sets TCP_NODELAY on multi-worker
    # connections, which plain `uvicorn --workers` does not.
    cmd = [sys.executable, "-m", "tsela.cli.main", "serve", "--port", str(port)]
    cmd += ["--workers", str(workers)]
    if max_in_flight is not None:
        cmd += ["--max-in-flight", str(max_in_flight)]
    log = var_dir / f"server-{workers}.log"
    out = log.open("wb")
    proc = subprocess.Popen(
        cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(proc, port, log)
    import httpx

    # The server builds its screening index before it answers (a minute or two at 1M).
    t0 = deadline = time.monotonic()
    deadline += 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: see {log}\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.base + "/health", timeout=2).status_code == 200:
                server.startup_s = time.monotonic() - t0
                return server
        time.sleep(0.5)
    server.stop()
    raise SystemExit(f"the server did not answer /health within 900 s: see {log}")


def warm_up(
    server: Server, calls: Sequence[CheckCall], tokens: dict[str, str], workers: int
) -> dict[str, float]:
    """First check timed alone; then until every worker is warm."""
    import httpx

    def post(client: httpx.Client, call: CheckCall) -> float:
        t = time.perf_counter()
        r = client.post(
            "/v1/checks",
            json=call.body,
            headers={"Authorization": f"Bearer {tokens[call.port]}"},
        )
        if r.status_code != 201:
            raise SystemExit(f"warm-up check refused: {r.status_code} {r.text[:300]}")
        return time.perf_counter() - t

    out: dict[str, float] = {"start-up s": server.startup_s}
    t0 = time.perf_counter()
    with httpx.Client(base_url=server.base, timeout=1200) as client:
        out["first check s"] = post(client, calls[0])
    # Other workers build their own index on their first check: keep knocking on fresh
    # connections (each may land on another worker) until every answer is fast.
    from concurrent.futures import ThreadPoolExecutor

    i = 1
    with ThreadPoolExecutor(max(2, workers * 2)) as pool:
        while True:

            def fresh(call: CheckCall) -> float:
                with httpx.Client(base_url=server.base, timeout=1200) as c:
                    return post(c, call)

            batch = [calls[(i + k) % len(calls)] for k in range(workers * 4)]
            i += len(batch)
            times = list(pool.map(fresh, batch))
            if max(times) < 1.0 or workers == 1:
                break
    out["warm-up total s"] = time.perf_counter() - t0
    with httpx.Client(base_url=server.base, timeout=60) as client:
        for call in calls[i : i + 20]:
            post(client, call)  # let connection pools and caches settle
        idle = [post(client, c) for c in calls[i + 20 : i + 220]]
    out["idle p50 ms"] = percentile(idle, 50) * 1000
    out["idle p99 ms"] = percentile(idle, 99) * 1000
    out["server RSS MB"] = server.rss_mb()
    return out


# --------------------------------------------------------------------------- profiling


def _checker(url: str, tokens: dict[str, str]) -> tuple[Any, Any]:
    """A function doing what the route does for one call (token, check, commit, JSON)
    without HTTP, and the engine to dispose of afterwards."""
    from tsela.domain.values import Direction
    from tsela.services import checks as svc
    from tsela.services.screening_link import BorderScreening

    engine = make_engine(url)
    factory = session_factory(engine)
    screening = BorderScreening()

    def one(call: CheckCall) -> None:
        with factory() as session:
            user = accounts.user_for_token(session, tokens[call.port])
            assert user is not None
            request = svc.CheckRequest(
                port=call.body["port"],
                direction=Direction(call.body["direction"]),
                at=datetime.now(UTC),
                mrz=call.body["mrz"],
            )
            result = svc.run_check(
                session,
                node=NODE,
                officer=user,
                request=request,
                screening=screening,
                source="127.0.0.1",
            )
            session.commit()
            json.dumps(result.as_dict())

    return one, engine


def service_times(
    url: str, calls: Sequence[CheckCall], tokens: dict[str, str], n: int
) -> dict[str, float]:
    """N checks in-process, one at a time, after 20 to warm up (the first builds the screening
    index): wall p50/p99 and the CPU per check of this process (the server's share)."""
    one, engine = _checker(url, tokens)
    for call in calls[:20]:
        one(call)
    times = []
    cpu = time.process_time()
    for call in calls[20 : 20 + n]:
        t = time.perf_counter()
        one(call)
        times.append(time.perf_counter() - t)
    cpu_ms = (time.process_time() - cpu) / n * 1000
    engine.dispose()
    return {
        "p50 ms": percentile(times, 50) * 1000,
        "p99 ms": percentile(times, 99) * 1000,
        "CPU ms/check": cpu_ms,
    }


def profile(url: str, calls: Sequence[CheckCall], tokens: dict[str, str], n: int) -> str:
    """N checks in-process under cProfile (after ``service_times`` on as many others): where
    the service time goes."""
    times = service_times(url, calls[: 20 + n], tokens, n)
    one, engine = _checker(url, tokens)
    one(calls[0])  # this engine's first check (the index is cached per engine)
    prof = cProfile.Profile()
    prof.enable()
    for call in calls[20 + n : 20 + 2 * n]:
        one(call)
    prof.disable()
    engine.dispose()
    buf = io.StringIO()
    buf.write(
        f"service time in-process (no HTTP), {n} checks one at a time: "
        + ", ".join(f"{k} {v:.1f}" for k, v in times.items())
        + "\n"
    )
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(
        r"tsela|sqlalchemy/orm/session.py.*\((commit|execute)", 45
    )
    stats.sort_stats("tottime").print_stats(25)
    return buf.getvalue()


# --------------------------------------------------------------------------- main


def machine() -> str:
    load = os.getloadavg()
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load[0]:.1f} at start"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--url", default=PG_URL, help="PostgreSQL URL (a scratch schema is used)")
    ap.add_argument("--travellers", type=int)
    ap.add_argument("--crossings", type=int, help="0: the demo period (2025-01-01 to yesterday)")
    ap.add_argument("--watchlist", type=int)
    ap.add_argument("--keep", action="store_true", help="keep (and reuse) the prepared database")
    ap.add_argument("--drop", action="store_true", help="drop the kept database and stop")
    ap.add_argument(
        "--prepare-only", action="store_true", help="fill the (kept) database, then stop"
    )
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--rates", default="25,50,75,100,150,200,300,400")
    ap.add_argument("--sweep-duration", type=float, default=20.0)
    ap.add_argument("--workers", default="1", help="comma-separated, e.g. 1,2")
    ap.add_argument("--connections", type=int, default=256, help="client connection pool")
    ap.add_argument(
        "--max-in-flight",
        type=int,
        help="the server's load shedding (requests per worker; default: the server's, 64)",
    )
    ap.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator's HTTP client: raw (minimal keep-alive HTTP/1.1) or httpx",
    )
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--profile", type=int, default=200, help="checks to profile (0: none)")
    ap.add_argument(
        "--service-only",
        type=int,
        default=0,
        metavar="N",
        help="only time N checks in-process (no server, no HTTP) and stop: with PYTHONPATH "
        "pointing at another checkout's src/, an A/B of two versions on the same data",
    )
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args()

    pg = args.backend == "postgresql"
    sizes = Sizes(
        travellers=args.travellers or (1_000_000 if pg else 2_000),
        crossings=args.crossings if args.crossings is not None else (5_000_000 if pg else 0),
        watchlist=args.watchlist or (1_000_000 if pg else 10_000),
    )
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    workers_list = [int(w) for w in args.workers.split(",")]
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    tmp = Path(tempfile.mkdtemp(prefix="checkbench-"))
    print(f"machine: {machine()}")

    schema = None
    admin = None
    if pg:
        schema = KEPT_SCHEMA if (args.keep or args.drop) else f"checkbench_{os.getpid()}"
        admin = create_engine(args.url)
        if args.drop:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            print(f"dropped schema {schema}")
            return
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        database = server_url("postgresql", args.url, schema)
        if not _meta(make_engine(database)):  # a kept schema whose filling never finished
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    else:
        path = KEPT_SQLITE if (args.keep or args.drop) else tmp / "checks.db"
        if args.drop:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            print(f"deleted {path}")
            return
        if path.exists() and not _meta(make_engine(f"sqlite:///{path.resolve()}")):
            path.unlink()  # a kept file whose filling never finished
        database = f"sqlite:///{path.resolve()}"
    engine = make_engine(database)
    results: dict[str, Any] = {
        "date": today.isoformat(),
        "machine": machine(),
        "backend": args.backend,
        "sizes": asdict(sizes),
    }
    servers: list[Server] = []
    try:
        print(
            f"preparing {args.backend}: {sizes.travellers:,} travellers, "
            f"{'~' + format(sizes.crossings, ',') if sizes.crossings else 'demo-period'} crossings,"
            f" {sizes.watchlist:,}-entry watchlist ..."
        )
        t = time.perf_counter()
        prepared = prepare(engine, sizes, yesterday)
        with session_factory(engine)() as s:
            counts = {
                "travellers": s.scalar(select(func.count()).select_from(Person)),
                "crossings": prepared.crossings,
                "watchlist entries": s.scalar(text("SELECT count(*) FROM watchlist_entry")),
            }
        results["counts"] = counts
        results["setup s"] = {**prepared.seconds, "total": time.perf_counter() - t}
        print(
            f"  {'reused' if prepared.reused else 'loaded'}: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            + f" (period {prepared.cfg.start} to {prepared.cfg.end})"
        )
        for k, v in prepared.seconds.items():
            print(f"    {k:<28}{v:8.1f} s")
        if args.prepare_only:
            return

        t = time.perf_counter()
        tokens = ensure_officers(engine)
        pop = make_population(prepared.cfg)
        existing = existing_calls(engine, pop, 20_000, SEED)
        del pop
        near = lookalikes(sizes.watchlist, 500, SEED)
        mix = RequestMix(existing, near, today, random.Random(time.time_ns()))
        print(f"  requests prepared in {time.perf_counter() - t:.1f} s")
        engine.dispose()
        if args.service_only:
            import tsela

            n = args.service_only
            times = service_times(database, mix.draw(n + 20), tokens, n)
            print(
                f"service time in-process ({tsela.__file__}), {n} checks one at "
                "a time: " + ", ".join(f"{k} {v:.2f}" for k, v in times.items())
            )
            return

        ctx = get_context("spawn")
        all_phases: list[Phase] = []
        with ProcessPoolExecutor(1, mp_context=ctx) as loadgen:

            def run_phase(label: str, rate: float, seconds: float, drain: bool = True) -> Phase:
                calls = [(c.kind, c.port, c.body) for c in mix.draw(int(rate * seconds))]
                fut = loadgen.submit(
                    drive,
                    server.base,
                    calls,
                    tokens,
                    rate,
                    args.timeout,
                    args.connections,
                    args.client,
                )
                cpu = server.cpu_seconds()
                samples, lag, client_cpu = fut.result()
                phase = summarise(label, rate, seconds, samples, lag)
                phase.server_cpu_ms = (server.cpu_seconds() - cpu) / max(phase.ok, 1) * 1000
                phase.client_cpu_s = client_cpu
                print(table([phase]).splitlines()[-1], flush=True)
                if phase.errors:
                    print(f"      errors: {phase.errors}")
                drained = server.drain() if drain else 0.0
                if drained > 1:
                    print(f"      (the server took {drained:.0f} s to drain its backlog)")
                return phase

            for workers in workers_list:
                print(f"\n== {workers} worker(s) ==")
                server = start_server(database, workers, tmp, args.max_in_flight)
                servers.append(server)
                warm = warm_up(server, mix.draw(400), tokens, workers)
                print("  " + ", ".join(f"{k} {v:,.1f}" for k, v in warm.items()))
                print(table([]).splitlines()[0])
                # The sweep first, slowest rate first, stopping once the server is clearly
                # overloaded (higher rates only add backlog); the steady run last.
                sweep: list[Phase] = []
                for r in sorted(rates):
                    sweep.append(run_phase(f"{workers}w sweep {r:g}/s", r, args.sweep_duration))
                    if sweep[-1].errors or sweep[-1].p99 > OVERLOADED_P99:
                        print(f"  sweep stopped: overloaded at {r:g}/s")
                        break
                crossing = crossing_rate(sweep)
                steady = f"{workers}w steady {args.duration:g}s"
                # No drain after the last phase: the server is stopped next.
                phases = [*sweep, run_phase(steady, args.rate, args.duration, drain=False)]
                print(f"  p99 crosses {TARGET_P99 * 1000:.0f} ms: {crossing}")
                results[f"workers={workers}"] = {
                    "warm-up": warm,
                    "phases": [asdict(p) for p in phases],
                    "p99 crosses 50 ms": crossing,
                }
                all_phases += phases
                server.stop()
                log_tail = server.log.read_text(errors="replace").splitlines()
                tracebacks = sum("Traceback" in line for line in log_tail)
                results[f"workers={workers}"]["server tracebacks"] = tracebacks
                if tracebacks:
                    print(f"  the server logged {tracebacks} tracebacks: see {server.log}")

        print("\n" + table(all_phases))
        print("\n" + markdown(all_phases))
        if args.profile:
            print(f"\nprofiling {args.profile} checks in-process ...")
            report = profile(database, mix.draw(2 * args.profile + 20), tokens, args.profile)
            out = tmp / "profile.txt"
            out.write_text(report)
            print("\n".join(report.splitlines()[:90]))
            print(f"(full profile in {out})")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, default=str))
    finally:
        for server in servers:
            server.stop()
        engine.dispose()
        if admin is not None:
            if not args.keep:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
        print(f"server logs and profile in {tmp}")


if __name__ == "__main__":
    main()
