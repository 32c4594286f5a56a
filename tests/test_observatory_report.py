"""The monthly report: headline figures and their changes, HTML, CSV, PDF, bad input."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _observatory import trip, write_copy
from tsela.cli.main import app
from tsela.observatory.engine import NoDataError, Observatory
from tsela.observatory.report import build_monthly, to_csv, to_html, to_pdf


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = []
    # March 2025: five day trips at Maseru Bridge (20 records), one of them into Ficksburg.
    for k in range(5):
        rows += trip(f"m{k}", f"2025-03-{k + 3:02d} 08:00", f"2025-03-{k + 3:02d} 16:00")
    # February 2025: four day trips (16 records); March 2024: two (8 records).
    for k in range(4):
        rows += trip(f"f{k}", f"2025-02-{k + 3:02d} 08:00", f"2025-02-{k + 3:02d} 16:00")
    for k in range(2):
        rows += trip(f"y{k}", f"2024-03-{k + 3:02d} 08:00", f"2024-03-{k + 3:02d} 16:00")
    # One stay of 40 days ending in March 2025: an overstay.
    rows += trip("long", "2025-01-20 08:00", "2025-02-28 20:00", port="FKB")
    return write_copy(tmp_path_factory.mktemp("report") / "parquet", rows)


def test_headline_figures_and_changes(copy: Path) -> None:
    with Observatory(copy) as obs:
        report = build_monthly(obs, "2025-03", with_charts=False)
    crossings = report.figure("crossings")
    assert (crossings.value, crossings.previous_month, crossings.previous_year) == (20, 18, 8)
    assert crossings.change_month_pct == pytest.approx(100 * 2 / 18, abs=0.05)
    assert crossings.change_year_pct == 150.0
    entries = report.figure("entries_zaf")
    assert (entries.value, entries.previous_month, entries.previous_year) == (5, 4, 2)
    travellers = report.figure("travellers")
    assert (travellers.value, travellers.previous_month) == (5, 5)  # February: f0-f3 and long
    stays = report.figure("stays")
    assert (stays.value, stays.previous_month) == (5, 5)
    overstays = report.figure("overstays")
    assert (overstays.value, overstays.previous_month) == (0, 1)  # long left on 28 Feb
    rate = report.figure("overstay_rate")
    assert rate.change_text("month") == "-20 points"  # 0% against 1 in 5
    net = report.figure("net_zaf")
    assert net.change_month_pct is None  # a net flow has no percentage change


def test_html_report_shows_the_figures(copy: Path) -> None:
    with Observatory(copy) as obs:
        report = build_monthly(obs, "2025-03")
    html = to_html(report)
    assert "monthly report, March 2025" in html
    assert "Crossings recorded" in html
    assert '<td class="value">20</td>' in html
    assert "+150.0%" in html and "+11.1%" in html
    assert html.count("data:image/svg+xml;base64,") >= 4
    assert "Busiest port: MSU" in html


def test_a_comparison_month_without_data_says_so(copy: Path) -> None:
    with Observatory(copy) as obs:
        report = build_monthly(obs, "2025-02", with_charts=False)
    crossings = report.figure("crossings")
    assert crossings.previous_year is None and crossings.change_year_pct is None
    assert "no data" in to_html(report)
    row = next(csv.DictReader(io.StringIO(to_csv(report))))
    assert row["value_previous_year"] == "" and row["change_vs_previous_year_pct"] == ""


def test_csv_report(copy: Path) -> None:
    with Observatory(copy) as obs:
        report = build_monthly(obs, "2025-03", with_charts=False)
    rows = {r["figure"]: r for r in csv.DictReader(io.StringIO(to_csv(report)))}
    assert rows["crossings"]["value"] == "20"
    assert rows["crossings"]["value_previous_month"] == "18"
    assert rows["crossings"]["difference_vs_previous_month"] == "2"
    assert rows["crossings"]["previous_year_month"] == "2024-03"
    assert rows["crossings"]["change_vs_previous_year_pct"] == "150"


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_pdf_report_renders(copy: Path, tmp_path: Path) -> None:
    with Observatory(copy) as obs:
        pdf = to_pdf(build_monthly(obs, "2025-03"))
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and all(p.stat().st_size > 2000 for p in pages)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert "Crossings recorded" in text and "+150.0%" in text


def test_a_month_without_data(copy: Path) -> None:
    with Observatory(copy) as obs, pytest.raises(NoDataError) as err:
        build_monthly(obs, "2025-06")
    assert "no crossings in 2025-06" in str(err.value)
    assert "2024-03..2025-03" in str(err.value)


def test_cli_report(copy: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "march.csv"
    ok = runner.invoke(
        app,
        [
            "report",
            "monthly",
            "--month",
            "2025-03",
            "--format",
            "csv",
            "--out",
            str(out),
            "--parquet",
            str(copy),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert out.read_text().splitlines()[1].startswith("crossings,Crossings recorded,")
    empty = runner.invoke(app, ["report", "monthly", "--month", "2025-06", "--parquet", str(copy)])
    assert empty.exit_code == 2 and "no crossings in 2025-06" in empty.output
    bad = runner.invoke(
        app, ["report", "monthly", "--month", "2025-03", "--format", "docx", "--parquet", str(copy)]
    )
    assert bad.exit_code == 2 and "html, csv, pdf" in bad.output
    port = runner.invoke(
        app, ["report", "monthly", "--month", "2025-03", "--port", "XYZ", "--parquet", str(copy)]
    )
    assert port.exit_code == 2 and "unknown port 'XYZ'" in port.output
    month = runner.invoke(app, ["report", "monthly", "--month", "March", "--parquet", str(copy)])
    assert month.exit_code == 2 and "YYYY-MM" in month.output
    assert not list(tmp_path.glob("observatory-*"))
