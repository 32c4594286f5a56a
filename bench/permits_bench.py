"""Permit credentials: offline verification per second, and issuing permits in bulk.

    .venv/bin/pip install -e '.[bench]'      # joserfc and PyJWT, for comparison only
    .venv/bin/python bench/permits_bench.py [--tokens 10000] [--issue 5000] [--orm 500]
                                            [--postgres]

1. Verify: ``--tokens`` distinct signed permits, each checked once (single process, so one
   core) by Tsela's offline verifier (libsodium, and the same code on OpenSSL through
   ``cryptography``), and by joserfc and PyJWT on the same tokens (signature + decoding;
   they do not do Tsela's other checks). Target: 10,000 verifications per second.
2. Issue: ``--issue`` approved permits issued by the bulk path (``issue_many``: one read,
   batched writes, one audit entry per batch), against ``--orm`` issued one by one through
   the ORM use case (``issue``, one transaction and one audit entry each, as at a counter).
   On SQLite in a temporary file; with ``--postgres`` also on the local PostgreSQL
   (TSELA_BENCH_PG_URL, a scratch schema). Target: 1,000 permits per second in bulk.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, text

from tsela.domain.credentials import PermitClaims, Verifier, VerifyStatus
from tsela.ids import new_id
from tsela.services import permits as svc
from tsela.services.keys import KeyStore
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.models import Permit, Person, Role, TravelDocument

PG_URL = os.environ.get("TSELA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
OFFICER = svc.Actor("bench", Role.PERMIT_OFFICER, "LS")


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f}/s  ({n:,} in {seconds:.2f} s)"


def rates(n: int, wall: float, cpu: float) -> str:
    """Wall-clock rate, and the rate per CPU-second of this process (what one core does
    when other jobs share the machine)."""
    return f"{rate(n, wall)}   per CPU-second {n / cpu:>8,.0f}/s"


def make_tokens(store: KeyStore, n: int) -> list[str]:
    signer = store.signer(NOW)
    claims = [
        PermitClaims(
            permit_id=str(new_id()),
            number=svc.new_number("LS", "SEASONAL"),
            issuer="LS",
            issued_at=int(NOW.timestamp()),
            permit_type="SEASONAL",
            type_name="Seasonal farm-work permit",
            holder=f"MOKOENA{i}, LINEO",
            birth_date=date(1990, 1, 1),
            nationality="LSO",
            document=f"RA{i:07d}",
            rights=("work",),
            country="ZAF",
            valid_from=TODAY,
            valid_to=date(2026, 11, 26),
            employer="Ficksburg Cherry Farms",
        ).to_claims()
        for i in range(n)
    ]
    return signer.sign_many(claims)


def timed(fn: Callable[[str], object], tokens: list[str]) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    for t in tokens:
        fn(t)
    return time.perf_counter() - t0, time.process_time() - c0


def bench_verify(store: KeyStore, n: int) -> None:
    tokens = make_tokens(store, n)
    keyset = store.keyset()
    print(f"\n## verify {n:,} distinct tokens, one process (one core)")
    for backend in ("libsodium", "cryptography"):
        v = Verifier(keyset, backend=backend)
        assert all(v.verify(t, TODAY).status is VerifyStatus.VALID for t in tokens[:50])
        wall, cpu = timed(lambda t, v=v: v.verify(t, TODAY), tokens)  # type: ignore[misc]
        print(f"  tsela Verifier ({backend:12})  {rates(n, wall, cpu)}")
    public = store.signer(NOW).private_key.public_key()
    try:
        import warnings

        from cryptography.hazmat.primitives import serialization
        from joserfc import jws
        from joserfc.jwk import OKPKey

        warnings.filterwarnings("ignore")  # joserfc warns that "EdDSA" is deprecated (RFC 9864)
        key = OKPKey.import_key(
            public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        wall, cpu = timed(lambda t: jws.deserialize_compact(t, key, algorithms=["EdDSA"]), tokens)
        print(f"  joserfc jws.deserialize_compact {rates(n, wall, cpu)}")
    except ImportError:
        print("  joserfc: not installed (pip install -e '.[bench]')")
    try:
        import jwt

        wall, cpu = timed(lambda t: jwt.decode(t, public, algorithms=["EdDSA"]), tokens)
        print(f"  PyJWT jwt.decode                {rates(n, wall, cpu)}")
    except ImportError:
        print("  PyJWT: not installed (pip install -e '.[bench]')")


def approved_permits(engine: Engine, n: int) -> list[uuid.UUID]:
    """n approved permits with their holders and passports, loaded directly (setup only)."""
    persons, docs, permits = [], [], []
    now = datetime.now(UTC)
    for i in range(n):
        pid, did, permit_id = new_id(), new_id(), new_id()
        base = {"node": "LS", "created_at": now}
        persons.append(
            {**base, "id": pid, "primary_name": f"WORKER{i}", "given_names": "LINEO",
             "sex": "F", "birth_date": date(1990, 1, 1), "nationality": "LSO"}
        )  # fmt: skip
        docs.append(
            {**base, "id": did, "person_id": pid, "document_type": "P", "issuing_state": "LSO",
             "number": f"B{uuid.uuid4().hex[:12].upper()}", "expiry_date": date(2031, 1, 1),
             "status": "valid"}
        )  # fmt: skip
        permits.append(
            {**base, "id": permit_id, "number": svc.new_number("LS", "STUDY"), "person_id": pid,
             "permit_type": "STUDY", "status": "approved", "country": "ZAF", "document_id": did,
             "updated_at": now}
        )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(Person.__table__), persons)
        conn.execute(insert(TravelDocument.__table__), docs)
        conn.execute(insert(Permit.__table__), permits)
    return [p["id"] for p in permits]


def bench_issue(engine: Engine, label: str, store: KeyStore, n_bulk: int, n_orm: int) -> None:
    factory = session_factory(engine)
    signer = store.signer(NOW)
    note = " (per CPU-second: this process only, not the server)" if label != "SQLite" else ""
    print(f"\n## issue on {label}{note}")
    if n_bulk:
        ids = approved_permits(engine, n_bulk)
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, n_bulk, 1000):  # one transaction per 1,000
            with transaction(factory) as s:
                svc.issue_many(s, OFFICER, ids[start : start + 1000], signer, TODAY, NOW)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"  bulk issue_many (batches of 1,000)  {rates(n_bulk, wall, cpu)}")
    if n_orm:
        ids = approved_permits(engine, n_orm)
        t0, c0 = time.perf_counter(), time.process_time()
        for permit_id in ids:
            with transaction(factory) as s:
                svc.issue(s, OFFICER, permit_id, signer, TODAY, NOW)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"  one by one, ORM use case            {rates(n_orm, wall, cpu)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=10_000, help="tokens to verify")
    ap.add_argument("--issue", type=int, default=5_000, help="permits to issue in bulk")
    ap.add_argument("--orm", type=int, default=500, help="permits to issue one by one")
    ap.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = ap.parse_args()
    print(f"# permits bench  {datetime.now(UTC):%Y-%m-%d}  {platform.machine()} "
          f"{os.cpu_count()} cpu(s)  Python {platform.python_version()}  "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        store = KeyStore(Path(tmp), "LS")
        bench_verify(store, args.tokens)
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        bench_issue(engine, "SQLite", store, args.issue, args.orm)
        engine.dispose()
        if args.postgres:
            schema = f"bench_permits_{os.getpid()}"
            admin = create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                pg = make_engine(PG_URL, schema=schema)
                migrate(pg)
                bench_issue(pg, "PostgreSQL", store, args.issue, args.orm)
                pg.dispose()
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
