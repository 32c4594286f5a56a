"""The standard tables (issue 22, item 1) from a store filled by hand, on both back ends:
exported to Parquet and read by DuckDB, and read straight from the store (item 4) where
DuckDB's extension for the back end is installed for this DuckDB version.

The month is March 2025, the country South Africa. Its full weeks (Monday to Sunday) start
on the 3rd, 10th, 17th and 24th.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from _observatory import C, trip, write_copy
from tsela.cli.main import app
from tsela.domain import standard_tables as std
from tsela.observatory import standard_tables as st
from tsela.observatory.engine import NoDataError, Observatory, ObservatoryError
from tsela.observatory.export import export_parquet
from tsela.observatory.store_source import StoreObservatory, StoreUnavailable
from tsela.store.checks import BorderCheck
from tsela.store.db import session_factory, transaction
from tsela.store.declarations import Declaration
from tsela.store.models import Crossing, Decision, Direction, Permit, Person, PortOfEntry, Sex
from tsela.store.refusals import EntryBan, Refusal

SECRET = b"s" * 32
MONTH = "2025-03"


def _at(day: str, hour: int = 8) -> datetime:
    """A border-local time (UTC+2) as the UTC instant the store keeps."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC) - timedelta(hours=2)


def _fill(engine: Engine) -> None:
    with transaction(session_factory(engine)) as s:
        ports = dict(s.execute(select(PortOfEntry.code, PortOfEntry.id)).all())
        n = 0

        def person(nationality: str = "LSO", sex: Sex = Sex.FEMALE, born: int = 1990) -> Person:
            nonlocal n
            n += 1
            p = Person(node="ZA", primary_name=f"P{n}", sex=sex, nationality=nationality,
                       birth_date=date(born, 6, 1))  # fmt: skip
            s.add(p)
            s.flush()
            return p

        def cross(
            p: Person,
            direction: str,
            country: str,
            when: datetime,
            port: str = "MSU",
            check_id: uuid.UUID | None = None,
        ) -> None:
            node = "ZA" if country == "ZAF" else "LS"
            s.add(Crossing(node=node, person_id=p.id, port_id=ports[port],
                           direction=Direction(direction), country=country, crossed_at=when,
                           decision=Decision.CLEAR, check_id=check_id))  # fmt: skip

        def permit(p: Person, kind: str, start: date, end: date) -> None:
            s.add(Permit(node="ZA", number=f"N{uuid.uuid4().hex[:10]}", person_id=p.id,
                         permit_type=kind, status="issued", country="ZAF", valid_from=start,
                         valid_to=end, issued_at=_at("2024-12-01")))  # fmt: skip

        # Twelve visitors (8 women, 4 men, one declaring 'family'): in on the 3rd, out the 10th.
        for i in range(12):
            p = person(sex=Sex.FEMALE if i < 8 else Sex.MALE)
            check = None
            if i == 0:
                check = BorderCheck(node="ZA", port_id=ports["MSU"], direction=Direction.ENTRY,
                                    country="ZAF", checked_at=_at("2025-03-03"),
                                    decision=Decision.CLEAR,
                                    reasons=[{"code": "declaration.accepted",
                                              "params": {"reference": "ABCD-EFGH"}}])  # fmt: skip
                s.add(check)
                s.add(Declaration(node="ZA", reference="ABCDEFGH", issuing_state="LSO",
                                  document_number="RA0000001", birth_date=date(1990, 6, 1),
                                  port_code="MSU", direction=Direction.ENTRY, purpose="family",
                                  address="Maseru", stay_days=7, children=[],
                                  valid_until=_at("2025-03-04"), kid="k",
                                  used_at=_at("2025-03-03"), used_port="MSU"))  # fmt: skip
                s.flush()
            cross(p, "entry", "ZAF", _at("2025-03-03"), check_id=check.id if check else None)
            cross(p, "exit", "ZAF", _at("2025-03-10"), port="FKB")
        # Four stays of 3 to 12 months and three of a year or more, ended in March.
        for _ in range(4):
            p = person(nationality="ZWE")
            cross(p, "entry", "ZAF", _at("2024-11-20"))
            cross(p, "exit", "ZAF", _at("2025-03-12"))
        for _ in range(3):
            p = person(nationality="ZWE", sex=Sex.MALE)
            cross(p, "entry", "ZAF", _at("2024-02-01"))
            cross(p, "exit", "ZAF", _at("2025-03-12"))
        # Four frontier workers: home every Friday, back every Monday.
        for _ in range(4):
            p = person(sex=Sex.MALE)
            permit(p, "LEP", date(2025, 1, 1), date(2025, 12, 31))
            for monday in (3, 10, 17, 24):
                cross(p, "entry", "ZAF", _at(f"2025-03-{monday:02d}", 6))
                cross(p, "exit", "ZAF", _at(f"2025-03-{monday + 4:02d}", 18))
        # Three workers with the same permit who did not go home in the week of the 17th.
        for _ in range(3):
            p = person(sex=Sex.MALE)
            permit(p, "LEP", date(2025, 1, 1), date(2025, 12, 31))
            for monday in (3, 10, 24):
                cross(p, "exit", "ZAF", _at(f"2025-03-{monday + 4:02d}", 18))
        # Three seasonal workers (not crossing in March).
        for _ in range(3):
            permit(person(), "SEASONAL", date(2025, 1, 1), date(2025, 9, 30))
        # Three returnees: their LEP ended in February, home on the 5th.
        for _ in range(3):
            p = person(sex=Sex.MALE, born=1980)
            permit(p, "LEP", date(2024, 1, 1), date(2025, 2, 28))
            cross(p, "exit", "ZAF", _at("2025-03-05"))
            cross(p, "entry", "LSO", _at("2025-03-05", 9))
        # Refusals of entry into ZAF (Zimbabweans, by document) and bans.
        for i, grounds in enumerate((["C"], ["C", "E"], ["C"], ["E"], ["E"])):
            s.add(Refusal(node="ZA", country="ZAF", port_code="MSU", refused_at=_at("2025-03-07"),
                          surname=f"R{i}", nationality="ZWE", document_country="ZWE",
                          document_number=f"ZW{i}", grounds=grounds))  # fmt: skip
        for i in range(3):
            s.add(EntryBan(node="ZA", issuing_country="ZAF", legal_basis="s. 30", ground="B",
                           starts_on=date(2025, 3, 7), ends_on=date(2026, 3, 6),
                           surname=f"R{i}", nationality="ZWE", document_country="ZWE",
                           document_number=f"ZW{i}", updated_at=_at("2025-03-07"),
                           created_at=_at("2025-03-07")))  # fmt: skip


@pytest.fixture
def filled(engine: Engine) -> Engine:
    _fill(engine)
    return engine


def _parquet(engine: Engine, tmp_path: Path) -> Path:
    export_parquet(engine, tmp_path / "copy", SECRET)
    return tmp_path / "copy"


def _inner(table: st.StandardTable) -> dict[tuple[str, str], int | None]:
    return {
        (r, c): table.cells[i][j]
        for i, r in enumerate(table.rows)
        for j, c in enumerate(table.cols)
    }


def _check_march(result: st.StandardTables) -> None:
    """What a reader of March's tables checks, whatever the source."""
    assert result.month == MONTH and result.country == "ZAF"
    port = result.get("flows.port")
    assert port.status == st.PUBLISHED
    assert port.cols == ["arrival", "departure"]
    # Arrivals: 12 visitors, 16 by frontier workers; departures: 12 visitors, 4 + 3 long
    # stays, 16 by frontier workers, 9 by the other workers, 3 by returnees.
    assert port.cells[-1] == [28, 47, 75]
    assert port.definition.standards[0].code == "UN1998"
    purpose = result.get("flows.purpose")
    assert purpose.rows == ["family", "not_stated"]
    assert purpose.cells[-1][-1] == 75
    stays = result.get("stays.length")
    assert stays.cols == ["visit", "temporary", "long_term"]
    cells = _inner(stays)
    assert cells[("LSO", "visit")] == 12 + 16
    assert cells[("ZWE", "temporary")] == 4 and cells[("ZWE", "long_term")] == 3
    workers = result.get("workers.categories")
    assert workers.status == st.PUBLISHED
    assert workers.rows == ["frontier", "seasonal", "other"]
    assert workers.cols == ["F", "M"]
    # Frontier: 4 men home every week; seasonal: 3 women; other: 3 men who missed a week.
    assert workers.cells == [[0, 4, 4], [3, 0, 3], [0, 3, 3], [3, 7, 10]]
    returnees = result.get("workers.returnees")
    assert returnees.status == st.PUBLISHED and returnees.cells[-1][-1] == 3
    refusals = result.get("refusals.citizenship_port")
    assert (refusals.rows, refusals.cols, refusals.cells) == (["ZWE"], ["MSU"], [[5, 5], [5, 5]])
    grounds = result.get("refusals.grounds")
    assert (grounds.rows, grounds.cells) == (["C", "E"], [[3, 3], [3, 3], [6, 6]])
    bans = result.get("bans.citizenship_ground")
    assert (bans.rows, bans.cols, bans.cells) == (["ZWE"], ["B"], [[3, 3], [3, 3]])
    sdg = result.get("sdg.10_7_1")
    assert sdg.status == st.NOT_AVAILABLE and "needs registered employment contracts" in sdg.note


def test_march_from_the_parquet_copy(filled: Engine, tmp_path: Path) -> None:
    with Observatory(_parquet(filled, tmp_path)) as obs:
        result = st.compute(obs, MONTH, "ZAF", threshold=3)
    _check_march(result)
    assert result.source == "parquet"
    # A cell of fewer than 3 people is hidden, and so is a partner in its row and column.
    purpose = result.get("flows.purpose")
    assert _inner(purpose)[("family", "arrival")] is None
    assert purpose.suppressed >= 4


def test_march_straight_from_the_store(filled: Engine, tmp_path: Path) -> None:
    try:
        obs = StoreObservatory.of_engine(filled, SECRET)
    except StoreUnavailable as exc:
        pytest.skip(f"DuckDB cannot attach the store here: {str(exc)[:160]}")
    with obs:
        result = st.compute(obs, MONTH, "ZAF", threshold=3)
        other = st.compute(obs, "2024-11", "ZAF", threshold=3)
    assert result.source == "store"
    # The store has no purposes in its crossing rows (the export adds them): all 'not stated'.
    purpose = result.get("flows.purpose")
    assert purpose.rows == ["not_stated"]
    with Observatory(_parquet(filled, tmp_path)) as copy:
        expected = st.compute(copy, MONTH, "ZAF", threshold=3)
    # Every other table says the same as the one from the Parquet copy.
    for table in result.tables:
        if table.id != "flows.purpose":
            theirs = expected.get(table.id)
            assert (table.status, table.rows, table.cols, table.cells) == (
                theirs.status, theirs.rows, theirs.cols, theirs.cells,
            ), table.id  # fmt: skip
    _check_march(expected)
    assert other.get("flows.port").cells[-1][0] == 4  # the four who came in November


def test_a_month_without_data_says_so(filled: Engine, tmp_path: Path) -> None:
    with Observatory(_parquet(filled, tmp_path)) as obs:
        with pytest.raises(NoDataError, match=r"no crossings in 2025-07 .* 2024-02\.\.2025-03"):
            st.compute(obs, "2025-07")
        with pytest.raises(ObservatoryError, match="YYYY-MM"):
            st.compute(obs, "March")
        with pytest.raises(ObservatoryError, match="ZAF, LSO"):
            st.compute(obs, MONTH, "FRA")


def test_empty_and_withheld_tables_say_why(tmp_path: Path) -> None:
    rows: list[C] = []
    for i in range(6):
        rows += trip(f"v{i}", "2025-03-02 08:00", "2025-03-20 09:00")
    with Observatory(write_copy(tmp_path / "copy", rows)) as obs:
        result = st.compute(obs, MONTH, "ZAF", threshold=3)
    refusals = result.get("refusals.citizenship_port")
    assert refusals.status == st.EMPTY and refusals.cells == []
    assert refusals.note == "no refusal of entry into ZAF recorded in 2025-03"
    assert result.get("workers.categories").status == st.EMPTY
    assert any("no refusals or entry bans in the analytics copy" in n for n in result.notes)
    with Observatory(tmp_path / "copy") as obs:
        small = st.compute(obs, MONTH, "ZAF", threshold=10)
    port = small.get("flows.port")
    assert port.status == st.WITHHELD and "fewer than 10 people" in port.note


def test_stay_classes_follow_the_data_file() -> None:
    classes = std.catalogue().stay_classes
    assert [(c.code, c.min_months, c.max_months) for c in classes] == [
        ("visit", 0, 3),
        ("temporary", 3, 12),
        ("long_term", 12, None),
    ]
    # Entry and exit day both count: 1 January to 31 March is three months.
    assert std.stay_class(date(2025, 1, 1), date(2025, 3, 30)) == "visit"
    assert std.stay_class(date(2025, 1, 1), date(2025, 3, 31)) == "temporary"
    assert std.stay_class(date(2024, 3, 1), date(2025, 2, 28)) == "long_term"
    assert std.stay_class(date(2024, 3, 1), date(2025, 2, 27)) == "temporary"


def test_stay_classes_in_sql_agree_with_the_definition(tmp_path: Path) -> None:
    pairs = [(date(2024, 1, 1) + timedelta(days=d), e) for d in range(0, 400, 7) for e in (0,)]
    rows: list[C] = []
    exit_day = date(2025, 3, 15)
    for i, (entry, _) in enumerate(pairs):
        rows += [
            C(f"s{i}", f"{entry} 09:00", direction="entry", nationality="ZWE"),
            C(f"s{i}", f"{exit_day} 09:00", direction="exit", nationality="ZWE"),
        ]
    with Observatory(write_copy(tmp_path / "copy", rows)) as obs:
        from tsela.observatory.engine import Period
        from tsela.observatory.indicators import ensure_stays, prepare

        period = Period.month(MONTH)
        obs.select(period)
        prepare(obs, period)
        ensure_stays(obs, period, "ZAF", 3660)
        got = dict(
            obs.sql(
                f"SELECT entry_day, {st.stay_class_sql()} FROM stays ORDER BY entry_day"
            ).fetchall()
        )
    assert got == {entry: std.stay_class(entry, exit_day) for entry, _ in pairs}


def test_every_table_names_its_standard() -> None:
    for d in st.definitions():
        assert d["standards"] and all(s["cite"] for s in d["standards"])
    ids = [d["id"] for d in st.definitions()]
    assert ids[:2] == ["flows.port", "flows.citizenship"] and ids[-1] == "sdg.10_7_1"


def test_cli_shows_a_month(filled: Engine, tmp_path: Path) -> None:
    copy = _parquet(filled, tmp_path)
    runner = CliRunner()
    out = runner.invoke(
        app, ["observatory", "tables", "show", "--month", MONTH, "--threshold", "3",
              "--parquet", str(copy), "--table", "stays.length"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "UN Recommendations on Statistics of International Migration" in out.output
    assert "long_term" in out.output
    bad = runner.invoke(
        app, ["observatory", "tables", "show", "--month", "2025-07", "--parquet", str(copy)]
    )
    assert bad.exit_code == 2 and "no crossings in 2025-07" in bad.output
    listed = runner.invoke(app, ["observatory", "tables", "list"])
    assert listed.exit_code == 0 and "ICLS-20" in listed.output
