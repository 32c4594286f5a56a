"""``tsela export parquet``: the store's crossings, permits and checks, pseudonymised, on both
back ends; the observatory reads the result."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from tsela.cli.main import app
from tsela.observatory.engine import Observatory, Period
from tsela.observatory.export import export_parquet
from tsela.observatory.indicators import run
from tsela.store.checks import BorderCheck
from tsela.store.db import session_factory, transaction
from tsela.store.models import (
    Crossing,
    Decision,
    Direction,
    Employer,
    Permit,
    Person,
    PortOfEntry,
    Sex,
)

SECRET = b"k" * 32


def _fill(engine: Engine) -> dict[str, Person]:
    with transaction(session_factory(engine)) as s:
        ports = dict(s.execute(select(PortOfEntry.code, PortOfEntry.id)).all())
        lerato = Person(
            node="LS",
            primary_name="MOKOENA",
            given_names="LERATO",
            sex=Sex.FEMALE,
            birth_date=date(1991, 5, 2),
            nationality="LSO",
        )
        thabo = Person(
            node="LS",
            primary_name="NTHABISENG",
            given_names="THABO",
            sex=Sex.MALE,
            birth_date=None,
            nationality="ZAF",
        )
        s.add_all([lerato, thabo])
        s.flush()

        def cross(
            p: Person,
            port: str,
            direction: Direction,
            country: str,
            at: datetime,
            decision: Decision = Decision.CLEAR,
        ) -> None:
            s.add(
                Crossing(
                    node="LS" if country == "LSO" else "ZA",
                    person_id=p.id,
                    port_id=ports[port],
                    direction=direction,
                    country=country,
                    crossed_at=at,
                    decision=decision,
                )
            )

        cross(lerato, "MSU", Direction.EXIT, "LSO", datetime(2025, 3, 3, 6, 0, tzinfo=UTC))
        cross(lerato, "MSU", Direction.ENTRY, "ZAF", datetime(2025, 3, 3, 6, 10, tzinfo=UTC))
        cross(lerato, "MSU", Direction.EXIT, "ZAF", datetime(2025, 4, 20, 15, 0, tzinfo=UTC))
        cross(lerato, "MSU", Direction.ENTRY, "LSO", datetime(2025, 4, 20, 15, 10, tzinfo=UTC))
        # 31 March 23:00 UTC is 1 April at the border.
        cross(
            thabo,
            "FKB",
            Direction.ENTRY,
            "LSO",
            datetime(2025, 3, 31, 23, 0, tzinfo=UTC),
            Decision.REFER,
        )
        employer = Employer(
            node="ZA",
            registration_number="2019/123456/07",
            name="Letlotlo Farms",
            sector="agriculture",
        )
        s.add(employer)
        s.flush()
        s.add(
            Permit(
                node="ZA",
                number="LEP-0001-SECRET",
                person_id=lerato.id,
                permit_type="LEP",
                status="issued",
                employer_id=employer.id,
                valid_from=date(2025, 3, 1),
                valid_to=date(2025, 12, 31),
                issued_at=datetime(2025, 3, 1, 8, 0, tzinfo=UTC),
            )
        )
        s.add(
            BorderCheck(
                node="ZA",
                port_id=ports["MSU"],
                direction="entry",
                country="ZAF",
                checked_at=datetime(2025, 3, 3, 6, 9, tzinfo=UTC),
                decision="REFER",
                reasons=[
                    {"code": "watchlist.possible", "severity": "refer", "message": "possible match"}
                ],
            )
        )
        s.add(
            BorderCheck(
                node="ZA",
                port_id=ports["MSU"],
                direction="entry",
                country="ZAF",
                checked_at=datetime(2025, 3, 4, 6, 9, tzinfo=UTC),
                decision="CLEAR",
                reasons=[{"code": "document.expired", "severity": "refer", "message": "x"}],
            )
        )
    return {"lerato": lerato, "thabo": thabo}


def _key(person: Person) -> str:
    return hmac.new(SECRET, person.id.hex.encode(), hashlib.sha256).hexdigest()[:20]


def test_export_is_pseudonymous_and_readable(engine: Engine, tmp_path: Path) -> None:
    people = _fill(engine)
    out = tmp_path / "parquet"
    summary = export_parquet(engine, out, SECRET, chunk=2)  # several chunks
    assert (summary.crossings, summary.travellers, summary.permits, summary.checks) == (5, 2, 1, 2)
    # Nothing identifying leaves the store.
    for path in out.rglob("*.parquet"):
        data = path.read_bytes()
        for secret in (b"MOKOENA", b"LERATO", b"NTHABISENG", b"LEP-0001-SECRET", b"Letlotlo"):
            assert secret not in data, (path, secret)
    travellers = pq.read_table(out / "travellers.parquet").to_pylist()
    assert sorted(travellers, key=lambda r: r["nationality"]) == [
        {
            "traveller_key": _key(people["lerato"]),
            "nationality": "LSO",
            "sex": "F",
            "birth_year": 1991,
        },
        {
            "traveller_key": _key(people["thabo"]),
            "nationality": "ZAF",
            "sex": "M",
            "birth_year": None,
        },
    ]
    (permit,) = pq.read_table(out / "permits.parquet").to_pylist()
    assert permit["traveller_key"] == _key(people["lerato"])
    assert (permit["permit_type"], permit["sector"], permit["status"]) == (
        "LEP",
        "agriculture",
        "issued",
    )
    with Observatory(out) as obs:
        # Built before the swap, and still the copy's after it.
        for name in ("daily", "stays"):
            assert (out / "rollup" / f"{name}-{obs.fingerprint()}.parquet").is_file()
        march = run(obs, "crossings.monthly", Period.parse("2025-03")).rows()
        assert sum(r["crossings"] for r in march) == 2
        april = run(obs, "crossings.monthly", Period.parse("2025-04")).rows()
        assert {(r["port"], r["crossings"]) for r in april if r["port"] == "FKB"} == {("FKB", 1)}
        referrals = run(obs, "screening.referrals", Period.parse("2025-04"), ["FKB"]).rows()
        assert referrals[0]["referred"] == 1
        (stay,) = run(obs, "stays.overstays", Period.parse("2025-04")).rows()
        # 3 March to 20 April is 49 days, but her permit covers them.
        assert (stay["stays"], stay["overstays"], stay["long_stays_with_permit"]) == (1, 0, 1)
        (hits,) = run(obs, "screening.watchlist_hits", Period.parse("2025-03")).rows()
        assert (hits["checks"], hits["watchlist_hits"]) == (2, 1)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_export_replaces_the_copy_whole_and_refuses_other_folders(
    engine: Engine, tmp_path: Path
) -> None:
    _fill(engine)
    out = tmp_path / "parquet"
    export_parquet(engine, out, SECRET)
    stale = out / "crossings" / "year=1999" / "month=1"
    stale.mkdir(parents=True)
    (stale / "old.parquet").write_bytes(b"")
    export_parquet(engine, out, SECRET)
    assert not stale.exists()
    assert not list(tmp_path.glob(".parquet*"))  # no temporary folder left
    other = tmp_path / "documents"
    other.mkdir()
    (other / "letter.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not an analytics copy"):
        export_parquet(engine, other, SECRET)
    assert (other / "letter.txt").read_text() == "keep me"


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_cli_export(engine: Engine, tmp_path: Path) -> None:
    _fill(engine)
    env = {
        "TSELA_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "TSELA_VAR_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(app, ["export", "parquet"], env=env)
    assert result.exit_code == 0, result.output
    assert "5 crossings, 2 travellers, 1 permits and 2 border checks" in result.output
    assert (tmp_path / "parquet" / "travellers.parquet").is_file()
    assert (tmp_path / "keys" / "pseudonym.key").is_file()
    shown = CliRunner().invoke(
        app,
        [
            "indicators",
            "show",
            "flows.net",
            "--from",
            "2025-03",
            "--to",
            "2025-03",
            "--format",
            "csv",
        ],
        env=env,
    )
    assert shown.exit_code == 0, shown.output
    assert "month,port,country,entries,exits,net" in shown.output
    assert "2025-03,MSU,ZAF,1,0,1" in shown.output
