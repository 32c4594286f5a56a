"""The open-data release: small cells are hidden, and an attacker who knows every published
figure cannot work any hidden cell out.

The attacker here is written independently of ``tsela.observatory.sdc``: it reads only the
released CSV files and ``datapackage.json``, sets up the equations every table must satisfy
(rows and columns add up to their totals; tables of the same measure share totals), and
asks (1) linear algebra whether a hidden cell is determined, (2) linear programming for the
least and greatest value it can take with counts not negative.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog
from typer.testing import CliRunner

from _observatory import C, trip, write_copy
from tsela.cli.main import app
from tsela.observatory.engine import Observatory, Period
from tsela.observatory.indicators import run
from tsela.observatory.release import release
from tsela.observatory.sdc import CountTable, DisclosureError, protect

HIDDEN = "x"

# ----------------------------------------------------------------------------- the attacker

Grid = list[list[int | None]]  # with the totals as last row and column


def read_release(folder: Path) -> dict[str, tuple[str, list[str], list[str], Grid]]:
    """name -> (measure, row labels, column labels, grid with None for hidden cells)."""
    meta = json.loads((folder / "datapackage.json").read_text())
    out = {}
    for res in meta["resources"]:
        if res["format"] != "csv":
            continue  # the SDMX files (test_the_release_speaks_sdmx)
        with (folder / res["path"]).open(newline="") as fh:
            rows = list(csv.reader(fh))
        header, body = rows[0], rows[1:]
        assert header[-1] == "Total" and body[-1][0] == "Total"
        grid: Grid = [[None if v == HIDDEN else int(v) for v in r[1:]] for r in body]
        dims = res["tsela:dimensions"]
        out[res["name"]] = (
            res["tsela:measure"] + "|" + "|".join(dims),
            [r[0] for r in body],
            header[1:],
            grid,
        )
    return out


def _cell_key(measure: str, dims: list[str], row: str, col: str) -> tuple[str, ...]:
    """Cells of the same measure fixing the same categories are the same figure."""
    fixed = []
    if row != "Total":
        fixed.append(f"{dims[0]}={row}")
    if col != "Total":
        fixed.append(f"{dims[1]}={col}")
    return (measure, *sorted(fixed))


def attack(tables: dict[str, tuple[str, list[str], list[str], Grid]]) -> dict:  # type: ignore[type-arg]
    """For each hidden cell: (determined by linear algebra?, least value, greatest value)."""
    unknown: dict[tuple[str, ...], int] = {}
    where: dict[tuple[str, ...], tuple[str, str, str]] = {}
    equations: list[tuple[dict[int, int], int]] = []
    for name, (kind, rows, cols, grid) in tables.items():
        measure, *dims = kind.split("|")
        keys = [[_cell_key(measure, dims, r, c) for c in cols] for r in rows]
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                if grid[i][j] is None:
                    unknown.setdefault(keys[i][j], len(unknown))
                    where.setdefault(keys[i][j], (name, r, c))
        lines = [[(i, j) for j in range(len(cols))] for i in range(len(rows))]
        lines += [[(i, j) for i in range(len(rows))] for j in range(len(cols))]
        for line in lines:
            # inner cells minus the line's total = 0
            coef: dict[int, int] = {}
            rhs = 0
            for n, (i, j) in enumerate(line):
                sign = -1 if n == len(line) - 1 else 1
                v = grid[i][j]
                if v is None:
                    k = unknown[keys[i][j]]
                    coef[k] = coef.get(k, 0) + sign
                else:
                    rhs -= sign * v
            if any(coef.values()):
                equations.append((coef, rhs))
    n = len(unknown)
    if n == 0:
        return {}
    a = np.zeros((len(equations), n))
    b = np.zeros(len(equations))
    for e, (coef, rhs) in enumerate(equations):
        for k, v in coef.items():
            a[e, k] = v
        b[e] = rhs
    rank = np.linalg.matrix_rank(a)
    found = {}
    for key, k in unknown.items():
        # Determined exactly iff adding "x_k = t" adds no freedom: e_k lies in A's row space.
        unit = np.zeros(n)
        unit[k] = 1
        determined = np.linalg.matrix_rank(np.vstack([a, unit])) == rank
        cost = np.zeros(n)
        cost[k] = 1
        lo = linprog(cost, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        hi = linprog(-cost, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        assert lo.status == 0 and hi.status == 0
        found[where[key]] = (bool(determined), round(lo.fun, 6), round(-hi.fun, 6))
    return found


# ----------------------------------------------------------------------------- data


# Travellers per (port, month): small cells at FKB in February, VRG in January, CAL.
PLAN = {
    "MSU": (30, 28, 31),
    "FKB": (20, 3, 25),
    "VRG": (2, 12, 15),
    "CAL": (11, 1, 14),
}
NATIONALITY = {0: "ZAF", 1: "NGA"}  # the first travellers of some groups are not Basotho


def _crossings() -> list[C]:
    rows: list[C] = []
    for port, per_month in PLAN.items():
        for m, count in enumerate(per_month, start=1):
            for k in range(count):
                who = f"{port}-{m}-{k}"
                nat = NATIONALITY.get(k, "LSO") if port != "MSU" else "LSO"
                day = 3 + k % 20
                rows += trip(
                    who,
                    f"2025-{m:02d}-{day:02d} 08:00",
                    f"2025-{m:02d}-{day:02d} 16:00",
                    port=port,
                    nationality=nat,
                    sex="F" if k % 2 else "M",
                    birth_year=1950 + k,
                )
    return rows


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_copy(tmp_path_factory.mktemp("sdc") / "parquet", _crossings())


@pytest.fixture(scope="module")
def released(copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rel") / "release"
    with Observatory(copy) as obs:
        release(obs, Period.parse("2025-01..2025-03"), out, threshold=10)
    return out


def _true_port_month(copy: Path) -> dict[tuple[str, str], int]:
    with Observatory(copy) as obs:
        rows = run(obs, "crossings.monthly", Period.parse("2025-01..2025-03")).rows()
    out: dict[tuple[str, str], int] = {}
    for r in rows:
        out[(r["port"], r["month"])] = out.get((r["port"], r["month"]), 0) + r["crossings"]
    return out


# ----------------------------------------------------------------------------- tests


def test_small_cells_are_hidden_and_large_ones_published(released: Path, copy: Path) -> None:
    tables = read_release(released)
    _kind, rows, cols, grid = tables["crossings-by-port-month"]
    truth = _true_port_month(copy)
    for i, port in enumerate(rows[:-1]):
        for j, month in enumerate(cols[:-1]):
            travellers = PLAN[port][int(month[-2:]) - 1]
            if travellers < 10:
                assert grid[i][j] is None, (port, month)
            if grid[i][j] is not None:
                assert grid[i][j] == truth[(port, month)]
    assert grid[-1][-1] == sum(truth.values())  # the grand total is always published
    # MSU's row has nothing small: all of it is published.
    assert all(v is not None for v in grid[rows.index("MSU")])


def test_no_hidden_cell_can_be_recovered_from_the_release(released: Path, copy: Path) -> None:
    tables = read_release(released)
    found = attack(tables)
    assert found, "the release hides nothing: the test data should have small cells"
    truth = _true_port_month(copy)
    for (table, row, col), (determined, low, high) in found.items():
        assert not determined, f"{table} {row}/{col} is determined by the published figures"
        assert high > low, f"{table} {row}/{col} is pinned to {low}"
        if table == "crossings-by-port-month" and row != "Total" and col != "Total":
            true = truth[(row, col)]
            assert low <= true <= high  # the attacker's model is right
            if PLAN[row][int(col[-2:]) - 1] < 10:
                assert high - low >= 10, f"{row}/{col}: range {low}..{high} is too narrow"


def test_the_attack_works_on_a_release_without_secondary_suppression(
    released: Path, copy: Path
) -> None:
    """Negative control: hide only the small cells, and the attacker recovers them."""
    tables = read_release(released)
    kind, rows, cols, grid = tables["crossings-by-port-month"]
    truth = _true_port_month(copy)
    naive = [row[:] for row in grid]
    small = []
    for i, port in enumerate(rows[:-1]):
        for j, month in enumerate(cols[:-1]):
            if PLAN[port][int(month[-2:]) - 1] < 10:
                naive[i][j] = None
                small.append((port, month))
            else:
                naive[i][j] = truth[(port, month)]
        naive[i][-1] = sum(truth[(port, m)] for m in cols[:-1])
    for j, month in enumerate(cols[:-1]):
        naive[-1][j] = sum(truth[(p, month)] for p in rows[:-1])
    found = attack({"naive": (kind, rows, cols, naive)})
    recovered = [cell for cell, (determined, _lo, _hi) in found.items() if determined]
    assert len(recovered) == len(small) == 3
    for (_t, port, month), (_d, low, high) in found.items():
        assert low == high == truth[(port, month)]


@pytest.mark.parametrize("seed", range(6))
def test_random_linked_tables_resist_the_attack(seed: int) -> None:
    rng = np.random.default_rng(seed)

    def table(name: str, row_dim: str, r: int, c: int) -> CountTable:
        inner = rng.integers(10, 60, (r, c))
        inner[rng.random((r, c)) < 0.25] = 0
        small = rng.random((r, c)) < 0.2
        inner[small] = rng.integers(1, 10, int(small.sum()))
        return _table(name, row_dim, inner)

    a = table("a", "port", 6, 5)
    # A second table of the same measure by month: it shares the month totals with a.
    inner_b = rng.multinomial(1, [0.5, 0.3, 0.2], size=int(a.values[-1, -1]))
    months = np.repeat(np.arange(5), a.values[-1, :-1])
    b_inner = np.zeros((3, 5), dtype=int)
    for row, m in zip(inner_b.argmax(axis=1), months, strict=True):
        b_inner[row, m] += 1
    b = _table("b", "nationality", b_inner)
    outcome = protect([a, b], threshold=10)
    published = {
        t.name: (
            f"crossings|{t.row_dim}|month",
            [*t.rows, "Total"],
            [*t.cols, "Total"],
            [
                [
                    None if t.suppressed[i, j] else int(t.values[i, j])
                    for j in range(len(t.cols) + 1)
                ]
                for i in range(len(t.rows) + 1)
            ],
        )
        for t in (a, b)
    }
    found = attack(published)
    assert len(found) == outcome.suppressed_count() - _shared_hidden(a, b)
    for (name, row, col), (determined, low, high) in found.items():
        assert not determined and high > low, (seed, name, row, col)
        t = a if name == "a" else b
        i = t.rows.index(row) if row != "Total" else len(t.rows)
        j = t.cols.index(col) if col != "Total" else len(t.cols)
        if t.primary[i, j]:
            assert high - low >= 10
    for t in (a, b):
        small = (t.contributors > 0) & (t.contributors < 10)
        assert t.suppressed[small].all()


def _table(name: str, row_dim: str, inner: np.ndarray) -> CountTable:
    r, c = inner.shape
    v = np.zeros((r + 1, c + 1), dtype=np.int64)
    v[:r, :c] = inner
    v[:r, c] = inner.sum(axis=1)
    v[r, :c] = inner.sum(axis=0)
    v[r, c] = inner.sum()
    return CountTable(
        name,
        name,
        "",
        "crossings",
        row_dim,
        "month",
        [f"{row_dim}{i}" for i in range(r)],
        [f"m{j}" for j in range(c)],
        v,
        v.copy(),
    )


def _shared_hidden(a: CountTable, b: CountTable) -> int:
    """Hidden month totals appear in both tables but are one unknown."""
    return int((a.suppressed[-1, :] & b.suppressed[-1, :]).sum())


def test_metadata_describes_every_file(released: Path) -> None:
    meta = json.loads((released / "datapackage.json").read_text())
    control = meta["tsela:disclosure_control"]
    assert control["threshold"] == 10 and control["suppressed_marker"] == HIDDEN
    hidden_in_files = 0
    for res in meta["resources"]:
        if res["format"] == "xml":
            continue  # the SDMX files: test_the_release_speaks_sdmx
        with (released / res["path"]).open(newline="") as fh:
            rows = list(csv.reader(fh))
        assert [f["name"] for f in res["schema"]["fields"]] == rows[0]
        assert res["schema"]["missingValues"] == [HIDDEN]
        in_file = sum(v == HIDDEN for r in rows[1:] for v in r[1:])
        assert res["tsela:suppressed_cells"] == in_file
        hidden_in_files += in_file
    assert control["suppressed_cells"] == hidden_in_files
    assert meta["tsela:period"] == {"from": "2025-01-01", "to": "2025-03-31"}
    assert {str(p.relative_to(released)) for p in released.rglob("*") if p.is_file()} == {
        "datapackage.json",
        *(r["path"] for r in meta["resources"]),
    }


def test_the_release_speaks_sdmx(released: Path) -> None:
    """Every table in SDMX 2.1, read back with sdmx1 against its own DSD, says what its CSV
    says: the same published counts, the suppressed cells without a value and marked
    confidential (C primary, D secondary), the totals as _T; the DSD names the disclosure
    control."""
    import sdmx

    from tsela.observatory import sdmx_out

    meta = json.loads((released / "datapackage.json").read_text())
    structures = sdmx.read_sdmx(released / "sdmx" / "structure.xml")
    statuses: set[str] = set()
    tables = [r for r in meta["resources"] if r["format"] == "csv"]
    assert len(tables) == 4
    for res in tables:
        name = Path(res["path"]).stem
        dsd = structures.structure[f"DSD_{name.upper()}"]
        dims = res["tsela:dimensions"]
        assert [d.id for d in dsd.dimensions.components] == [d.upper() for d in dims]
        described = str(dsd.description)
        assert "Period: 2025-01-01..2025-03-31. Disclosure control: cell suppression" in described
        with (released / res["path"]).open(newline="") as fh:
            header, *body = list(csv.reader(fh))
        back = sdmx_out.read(released / "sdmx", name)
        assert len(back) == len(body) * (len(header) - 1)
        for row in body:
            for col, value in zip(header[1:], row[1:], strict=True):
                got, status = back[(sdmx_out.code_id(row[0]), sdmx_out.code_id(col))]
                statuses.add(status)
                if value == HIDDEN:
                    assert got is None and status in ("C", "D"), (name, row[0], col)
                else:
                    assert (got, status) == (int(value), "F"), (name, row[0], col)
    assert statuses == {"F", "C", "D"}  # this release has both kinds of suppression
    written = (released / "sdmx" / "structure.xml").read_text()
    assert written.count('<com:Annotation id="DISCLOSURE_CONTROL">') == len(tables)


def test_threshold_below_three_is_refused(copy: Path, tmp_path: Path) -> None:
    with Observatory(copy) as obs, pytest.raises(DisclosureError, match="threshold 0 refused"):
        release(obs, Period.parse("2025-01..2025-03"), tmp_path / "out", threshold=0)
    assert not (tmp_path / "out").exists()
    result = CliRunner().invoke(
        app,
        [
            "release",
            "--period",
            "2025-01..2025-03",
            "--out",
            str(tmp_path / "o"),
            "--threshold",
            "0",
            "--parquet",
            str(copy),
        ],
    )
    assert result.exit_code == 2
    assert "threshold 0 refused" in result.output and "at least 3" in result.output


def test_an_existing_release_is_not_overwritten(copy: Path, released: Path) -> None:
    before = (released / "datapackage.json").read_text()
    with Observatory(copy) as obs, pytest.raises(ValueError, match="already exists"):
        release(obs, Period.parse("2025-01"), released, threshold=10)
    assert (released / "datapackage.json").read_text() == before


def test_a_table_too_small_to_publish_is_refused_and_nothing_written(
    copy: Path, tmp_path: Path
) -> None:
    with Observatory(copy) as obs, pytest.raises(DisclosureError, match="fewer than 500"):
        release(obs, Period.parse("2025-01..2025-03"), tmp_path / "big", threshold=500)
    assert not (tmp_path / "big").exists()
    assert not list(tmp_path.glob(".big*"))


def test_a_period_without_data(copy: Path, tmp_path: Path) -> None:
    with Observatory(copy) as obs, pytest.raises(ValueError, match="no crossings in 2024"):
        release(obs, Period.parse("2024"), tmp_path / "none", threshold=10)
    assert not (tmp_path / "none").exists()


def test_cli_release(copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-release"
    result = CliRunner().invoke(
        app, ["release", "--period", "2025-01..2025-03", "--out", str(out), "--parquet", str(copy)]
    )
    assert result.exit_code == 0, result.output
    assert "4 tables" in result.output and "suppressed" in result.output
    assert attack(read_release(out))
