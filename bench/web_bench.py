"""Server time of the main web pages at demo size, against the 300 ms target, side by side
with the JSON API call that serves the same data (the obvious alternative: a client that
renders itself).

    .venv/bin/python bench/web_bench.py [--persons 2000] [--applications 200] [--repeat 30]

Builds a throw-away SQLite demo (as ``tsela demo``: ``--persons`` synthetic travellers), adds
applications and issued permits, signs in one user per role through the login form, then
times each page in-process (ASGI, no network): median, 95th percentile and worst of
``--repeat`` requests after two warm-up requests, and the size of the HTML sent. The login
POST is timed apart: it runs argon2 on purpose.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

TARGET_MS = 300.0
PASSWORD = "bench-password-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def prepare(var: Path, persons: int, applications: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "TSELA_DATABASE_URL": f"sqlite:///{var / 'tsela.db'}",
        "TSELA_VAR_DIR": str(var),
        "TSELA_NODE": "ZA",
    }
    os.environ.update({k: env[k] for k in ("TSELA_DATABASE_URL", "TSELA_VAR_DIR", "TSELA_NODE")})
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", "synth", "--persons", str(persons),
         "--no-parquet", "--no-extras"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    print(f"synthetic population of {persons:,}: {time.perf_counter() - t0:.1f} s")

    from sqlalchemy import select

    from tsela.config import load_settings
    from tsela.kernel import clock
    from tsela.services import accounts, employers
    from tsela.services import permits as svc
    from tsela.services.keys import KeyStore
    from tsela.store.db import make_engine, session_factory, transaction
    from tsela.store.models import Person, Role, TravelDocument

    settings = load_settings()
    engine = make_engine(settings.url)
    rng = random.Random(2026)
    today = date.today()
    with transaction(session_factory(engine)) as s:
        officer = svc.Actor("bench", Role.PERMIT_OFFICER, settings.node)
        employer = employers.register_employer(
            s, officer, registration_number="2019/123456/07", name="Maluti Orchards",
            sector="agriculture",
        )  # fmt: skip
        rows = s.execute(
            select(Person.id, TravelDocument.number)
            .join(TravelDocument, TravelDocument.person_id == Person.id)
            .where(Person.nationality == "LSO", TravelDocument.expiry_date > today + timedelta(60))
            .order_by(TravelDocument.number)
        ).all()
        chosen = rng.sample(rows, min(applications, len(rows)))
        signer = KeyStore(settings.var_dir, settings.node).signer(clock.now())
        issued: list[Any] = []
        for i, (person_id, number) in enumerate(chosen):
            evidence = [
                svc.EvidenceItem("passport", number),
                svc.EvidenceItem("institution_registration", f"NUL-{i}"),
                svc.EvidenceItem("proof_of_funds", "bursary"),
            ]
            permit = svc.apply(s, officer, type_code="STUDY", today=today, person_id=person_id,
                               country="ZAF", evidence=evidence)  # fmt: skip
            svc.submit(s, officer, permit.id, today)
            if i % 2 == 0:  # half still waiting at the desk, half issued
                svc.decide(s, officer, permit.id, "approved")
                svc.issue(s, officer, permit.id, signer, today)
                issued.append(permit)
        worker_person = chosen[0][0]  # holds an issued permit (QR page)
        users = {
            "officer": (Role.BORDER_OFFICER, {"port_code": "MSU"}),
            "supervisor": (Role.SUPERVISOR, {}),
            "permits": (Role.PERMIT_OFFICER, {}),
            "worker": (Role.WORKER, {"person_id": worker_person}),
            "employer": (Role.EMPLOYER, {"employer_id": employer.id}),
        }
        for name, (role, links) in users.items():
            accounts.create_user(s, node=settings.node, username=name, password=PASSWORD,
                                 role=role, **links)  # fmt: skip
        token = issued[0].token
        sample_doc = s.execute(
            select(Person, TravelDocument)
            .join(TravelDocument, TravelDocument.person_id == Person.id)
            .where(Person.id == chosen[3][0])
        ).one()
    print(f"{len(chosen)} applications, {len(issued)} issued permits")
    return {"settings": settings, "engine": engine, "token": token, "traveller": sample_doc}


def timed(call: Callable[[], httpx.Response], repeat: int) -> list[float]:
    for _ in range(2):
        call().raise_for_status()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = call()
        out.append((time.perf_counter() - t0) * 1000)
        assert response.status_code < 400, (response.status_code, response.text[:300])
    return out


def summary(ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--applications", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    if args.persons < 10 or args.applications < 4 or args.repeat < 1:
        parser.error("--persons >= 10, --applications >= 4 and --repeat >= 1")

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from factories import passport  # type: ignore[import-not-found]
    from tsela.api.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        data = prepare(Path(tmp), args.persons, args.applications)
        app = create_app(data["settings"], data["engine"])
        person, doc = data["traveller"]
        mrz = passport(
            doc.number,
            surname=person.primary_name,
            given=person.given_names,
            nationality=person.nationality,
            issuing_state=doc.issuing_state,
            birth=person.birth_date,
            expiry=doc.expiry_date,
            sex=person.sex.value,
        )

        browsers: dict[str, TestClient] = {}
        apis: dict[str, dict[str, str]] = {}
        login_ms: list[float] = []
        for name in ("officer", "supervisor", "permits", "worker", "employer"):
            client = TestClient(app)
            token = csrf(client.get("/login").text)
            t0 = time.perf_counter()
            signed = client.post(
                "/login",
                data={"username": name, "password": PASSWORD, "csrf_token": token},
                follow_redirects=False,
            )
            login_ms.append((time.perf_counter() - t0) * 1000)
            assert signed.status_code == 303, signed.text[:300]
            browsers[name] = client
            got = TestClient(app).post(
                "/v1/auth/login", json={"username": name, "password": PASSWORD}
            )
            apis[name] = {"Authorization": f"Bearer {got.json()['access_token']}"}
        api = TestClient(app)

        def form(who: str, page: str) -> str:
            return csrf(browsers[who].get(page).text)

        anon = TestClient(app)
        public_csrf = csrf(anon.get("/verify").text)
        officer_csrf = form("officer", "/console")
        employer_csrf = form("employer", "/employer/verify")
        permit_token = data["token"]
        worker_permit = re.search(
            r"/me/permits/([0-9a-f-]{36})", browsers["worker"].get("/me").text
        )
        assert worker_permit
        rows: list[tuple[str, Callable[[], httpx.Response], str, Callable[[], httpx.Response]]] = [
            ("GET /login", lambda: anon.get("/login"), "", lambda: None),  # type: ignore[return-value,arg-type]
            (
                "POST /console/check (officer scans)",
                lambda: browsers["officer"].post(
                    "/console/check",
                    data={"csrf_token": officer_csrf, "mrz": mrz, "direction": "entry"},
                ),
                "POST /v1/checks",
                lambda: api.post(
                    "/v1/checks",
                    json={"port": "MSU", "direction": "entry", "mrz": mrz},
                    headers=apis["officer"],
                ),
            ),
            (
                "GET /review?day=all (supervisor)",
                lambda: browsers["supervisor"].get("/review?day=all"),
                "GET /v1/overrides",
                lambda: api.get("/v1/overrides", headers=apis["supervisor"]),
            ),
            (
                "GET /desk (queue)",
                lambda: browsers["permits"].get("/desk"),
                "GET /v1/permits?status=submitted",
                lambda: api.get("/v1/permits?status=submitted", headers=apis["permits"]),
            ),
            (
                "GET /me (worker)",
                lambda: browsers["worker"].get("/me"),
                "GET /v1/permits (worker)",
                lambda: api.get("/v1/permits", headers=apis["worker"]),
            ),
            (
                "GET /me/permits/{id} (QR)",
                lambda: browsers["worker"].get(f"/me/permits/{worker_permit.group(1)}"),
                "GET /v1/permits/{id}",
                lambda: api.get(f"/v1/permits/{worker_permit.group(1)}", headers=apis["worker"]),
            ),
            (
                "POST /employer/verify (paste)",
                lambda: browsers["employer"].post(
                    "/employer/verify", data={"csrf_token": employer_csrf, "token": permit_token}
                ),
                "POST /v1/permits/verify",
                lambda: api.post("/v1/permits/verify", json={"token": permit_token}),
            ),
            (
                "POST /verify (public)",
                lambda: anon.post(
                    "/verify", data={"csrf_token": public_csrf, "token": permit_token}
                ),
                "",
                lambda: None,  # type: ignore[return-value,arg-type]
            ),
        ]
        print(
            f"\n{args.persons:,} persons, {args.applications} applications, "
            f"{args.repeat} requests each (ms)\n"
        )
        header = (
            f"| {'page':<38} | {'KiB':>5} | {'median':>7} | {'p95':>7} | {'max':>7} "
            f"| {'< 300 ms':>8} "
            f"| {'JSON API equivalent':<34} | {'median':>7} |"
        )
        print(header)
        print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
        for name, page, api_name, api_call in rows:
            size = len(page().content)
            med, p95, worst = summary(timed(page, args.repeat))
            api_med = summary(timed(api_call, args.repeat))[0] if api_name else None
            ok = "yes" if p95 < TARGET_MS else "NO"
            api_cell = f"{api_med:7.1f}" if api_med is not None else f"{'':>7}"
            print(
                f"| {name:<38} | {size / 1024:5.1f} | {med:7.1f} | {p95:7.1f} | {worst:7.1f} "
                f"| {ok:>8} "
                f"| {api_name:<34} | {api_cell} |"
            )
        med, _p95, worst = summary(login_ms)
        print(f"\nPOST /login (argon2 by design): median {med:.0f} ms, max {worst:.0f} ms")


if __name__ == "__main__":
    main()
