"""The road-map chart and the session report: what they show, and that the PDF renders
to readable pages (checked by turning them into images with poppler's pdftoppm)."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine

from _governance import SECRETARIAT, import_rows, load_bodies, plan_row
from tsela.domain.governance import Status
from tsela.services import governance as g
from tsela.services import governance_report as gr
from tsela.store.db import session_factory, transaction

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)
LATE_DUE = date(2026, 3, 31)


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} (poppler-utils) is not installed"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def plan(engine: Engine) -> Engine:
    load_bodies(engine)
    common = dict(
        instrument_code="BNC-2025",
        instrument_kind="resolution",
        instrument_title="Outcomes of the second BNC session",
        body="BNC",
        adopted_on="2025-04-23",
        meeting_place="Maseru",
    )
    result = import_rows(
        engine,
        [
            plan_row("M-1", objective_code="B1", objective_title="Migration model",
                     activity_title="Draft the migration model", owner="ZA-DHA",
                     start="2025-05-01", due=LATE_DUE.isoformat(),
                     indicator="crossings.monthly_count", indicator_params="port=MSU",
                     baseline="400000", target="450000", unit="crossings", **common),
            plan_row("M-2", objective_code="B2", objective_title="Illegal mining",
                     activity_title="Joint operations protocol", owner="ZA-SAPS",
                     start="2025-05-01", due="2025-12-31", status="done",
                     note="Signed by both services", closed_on="2025-11-20", **common),
            plan_row("M-3", objective_code="B2", objective_title="Illegal mining",
                     activity_title="Repatriation procedure", owner="LS-HOME",
                     start="2026-01-01", due="2027-06-30", **common),
        ],
        now=NOW,
    )  # fmt: skip
    assert result.errors == []
    with transaction(session_factory(engine)) as s:
        g.report_progress(
            s, SECRETARIAT, "LS", g.ProgressUpdate("M-1", Status.AT_RISK, "Team not formed"), NOW
        )
    return engine


@pytest.fixture
def report(plan: Engine) -> gr.RoadmapReport:
    return _build(plan, NOW)


def _build(engine: Engine, now: datetime) -> gr.RoadmapReport:
    with session_factory(engine)() as s:
        return gr.build_report(s, SECRETARIAT, "BNC", now)


def test_the_chart_marks_late_items_red_and_draws_today(report: gr.RoadmapReport) -> None:
    rv = report.body_review.review
    by_code = {a.code: a for a in report.body_review.activities}
    rows = {r["activity"].split()[0]: r for r in gr.roadmap_rows(rv.items(), by_code)}
    assert rows["M-1"]["status"] == "late" and rows["M-2"]["status"] == "done"
    days = (TODAY - LATE_DUE).days
    assert rows["M-1"]["owner"] == f"ZA-DHA · {days} d late"
    assert rows["M-1"]["end"] == "2026-04-01"  # the bar covers the whole due day
    assert rows["M-1"]["objective"].startswith("B1 ") and rows["M-3"]["objective"].startswith("B2 ")
    spec = gr.roadmap_chart(list(rows.values()), TODAY).to_dict()
    colour = spec["spec"]["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(colour["domain"], colour["range"], strict=True))["late"] == "#c62828"
    rule = spec["spec"]["layer"][2]
    assert rule["mark"]["type"] == "rule"
    assert rule["encoding"]["x"]["datum"] == {"year": 2026, "month": 11, "date": 25, "utc": True}
    (svg,) = [s.chart_svg for s in report.instruments]
    assert svg.startswith("<svg") and "#c62828" in svg
    assert "M-1 Draft the migration model" in svg and f"{days} d late" in svg


def test_the_report_says_what_was_agreed_done_late_and_new(report: gr.RoadmapReport) -> None:
    html = gr.report_html(report)
    late = html.split("<h2>What is late</h2>", 1)[1].split("<h2>", 1)[0]
    done = html.split("<h2>What was done since the last session</h2>", 1)[1].split("<h2>", 1)[0]
    new = html.split("<h2>What is new</h2>", 1)[1].split("<h2>", 1)[0]
    agreed = html.split("<h2>What was agreed</h2>", 1)[1]
    assert "M-1" in late and f"<strong>{(TODAY - LATE_DUE).days}</strong>" in late
    assert "Team not formed" in late and "ZA-DHA" in late
    assert "M-2" in done and "2025-11-20" in done and "M-1" not in done
    # Everything was agreed at the last session (23 April 2025), so all of it is new.
    assert all(code in new for code in ("M-1", "M-2", "M-3"))
    assert "Outcomes of the second BNC session" in agreed and "Migration model" in agreed
    assert "no data" in agreed  # no crossings recorded: no figure is made up
    assert "Last session: 2025-04-23, Maseru" in html


def _red_pixels(png: Path) -> int:
    with Image.open(png) as img:
        data = img.convert("RGB").tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    return sum(1 for r, g_, b in pixels if r > 170 and g_ < 80 and b < 80)


def test_the_pdf_renders_to_readable_a4_pages(plan: Engine, tmp_path: Path) -> None:
    pdftoppm, pdftotext = _need("pdftoppm"), _need("pdftotext")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(gr.report_pdf(_build(plan, NOW)))
    subprocess.run([pdftoppm, "-r", "60", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages
    for page in pages:
        with Image.open(page) as img:
            width, height = img.size
            assert abs(width / height - 210 / 297) < 0.01  # A4 portrait
            assert img.convert("L").getextrema()[0] < 100  # there is dark ink (text) on it
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for words in ("Road-map report", "What is late", "M-1", "Team not formed", "page 1 of"):
        assert words in text
    # The same plan a month before M-1 fell due: nothing late, so far less red on page 1
    # (what remains is the legend and the line for today).
    before = tmp_path / "before.pdf"
    before.write_bytes(gr.report_pdf(_build(plan, datetime(2026, 3, 1, 8, tzinfo=UTC))))
    subprocess.run(
        [pdftoppm, "-r", "60", "-f", "1", "-l", "1", "-png", str(before), str(tmp_path / "b")],
        check=True,
    )
    (first_before,) = tmp_path.glob("b-*.png")
    assert _red_pixels(pages[0]) > 2 * _red_pixels(first_before) + 30
