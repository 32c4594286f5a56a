"""``tsela governance`` as the NCC secretariat uses it before and after a session."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from _governance import plan_csv, plan_row
from tsela.cli.main import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {
        "TSELA_VAR_DIR": str(tmp_path / "var"),
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'tsela.db'}",
        "TSELA_NODE": "LS",
    }
    assert runner.invoke(app, ["init"], env=e).exit_code == 0
    code, out = run(e, "governance", "bodies", "--load")
    assert code == 0, out
    return e


def test_the_example_plan_brings_the_bodies_it_names(tmp_path: Path) -> None:
    fresh = {
        "TSELA_VAR_DIR": str(tmp_path / "fresh"),
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh' / 'tsela.db'}",
        "TSELA_NODE": "LS",
    }
    assert runner.invoke(app, ["init"], env=fresh).exit_code == 0
    # No `governance bodies --load` first: the example still loads whole.
    code, out = run(fresh, "governance", "import", "--example")
    assert code == 0, out
    assert "16 activities imported" in out


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_example_plan_then_review_update_and_roadmap(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(env, "governance", "import", "--example")
    assert code == 0, out
    assert "16 activities imported" in out
    # As of 1 Dec 2026 the second session (23 April 2025) is the last; B1.1 fell due 30 April 2026.
    code, out = run(env, "governance", "review", "--body", "BNC", "--as-of", "2026-12-01")
    assert code == 0, out
    assert "since the session of 2025-04-23" in out
    late_part = out.split("LATE", 1)[1].split("DONE", 1)[0]
    assert "EX-BNC-B1.1" in late_part and "ZA-DHA" in late_part and "215" in late_part
    assert "EX-BNC-B2.1" not in late_part
    code, out = run(env, "governance", "list", "--owner", "ZA-BMA", "--status", "late",
                    "--as-of", "2026-12-01")  # fmt: skip
    assert code == 0 and "EX-BNC-B3.2" in out and "1 activities" in out

    code, out = run(env, "governance", "meeting", "--body", "BNC", "--date", "2026-11-30",
                    "--place", "Pretoria")  # fmt: skip
    assert code == 0, out
    notes = tmp_path / "notes.csv"
    notes.write_text("activity,status,note\nEX-BNC-B1.1,done,Model agreed\nEX-BNC-B3.2,dropped,\n")
    code, out = run(env, "governance", "update", str(notes), "--body", "BNC",
                    "--meeting-date", "2026-11-30")  # fmt: skip
    assert code == 2
    assert "line 3: activity EX-BNC-B3.2: moving from on track to dropped needs a note" in out
    assert "nothing saved" in out
    code, out = run(env, "governance", "review", "--body", "BNC", "--as-of", "2026-12-01")
    assert "EX-BNC-B1.1" in out.split("LATE", 1)[1].split("DONE", 1)[0]  # unchanged
    notes.write_text(
        "activity,status,note\nEX-BNC-B1.1,done,Model agreed\nEX-BNC-B3.2,dropped,Merged\n"
    )
    code, out = run(env, "governance", "update", str(notes), "--body", "BNC",
                    "--meeting-date", "2026-11-30")  # fmt: skip
    assert code == 0 and "2 activities updated" in out
    code, out = run(env, "governance", "review", "--body", "BNC", "--as-of", "2026-12-01")
    assert "since the session of 2026-11-30" in out
    assert "EX-BNC-B1.1" not in out  # closed at that session: reported there
    assert "late 1" in out  # B1.2 (LS-HOME, due 31 October) is still late

    for name in ("report.html", "report.pdf"):
        code, out = run(env, "governance", "roadmap", "--body", "NCC", "--out",
                        str(tmp_path / name))  # fmt: skip
        assert code == 0, out
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "<svg" in (tmp_path / "report.html").read_text()
    assert not list(tmp_path.glob("*.part"))


def test_import_keeps_good_rows_and_lists_bad_ones(env: dict[str, str], tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(
        plan_csv([plan_row("G1"), plan_row("G2", owner="NOBODY"), plan_row("G3", due="2025-01-01")])
    )
    code, out = run(env, "governance", "import", str(plan))
    assert code == 1
    assert "3 rows read, 1 activities imported" in out
    assert "line 3: owner 'NOBODY' does not exist" in out
    assert "line 4: due date 2025-01-01 is before the start date 2026-01-01" in out
    code, out = run(env, "governance", "list")
    assert "G1" in out and "G2" not in out and "1 activities" in out


def test_templates_and_clear_errors(env: dict[str, str], tmp_path: Path) -> None:
    xlsx = tmp_path / "plan.xlsx"
    assert run(env, "governance", "template", "--out", str(xlsx))[0] == 0
    code, out = run(env, "governance", "import", str(xlsx))
    assert code == 2 and "no rows to import" in out
    code, out = run(env, "governance", "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in out
    code, out = run(env, "governance", "review", "--body", "XYZ")
    assert code == 2 and "unknown body 'XYZ'" in out
    code, out = run(env, "governance", "roadmap", "--body", "NCC", "--out", "r.docx")
    assert code == 2 and "as .html or .pdf" in out
    code, out = run(env, "governance", "member", "nobody", "NCC")
    assert code == 2 and "unknown user 'nobody'" in out
    code, out = run(env, "governance", "review", "--body", "NCC", "--as-of", "2026-12-01T10:00")
    assert code == 2 and "has no offset" in out
    code, out = run(env, "governance", "publish", "activity", "NOPE")
    assert code == 2 and "unknown activity 'NOPE'" in out
