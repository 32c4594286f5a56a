"""A lean install (``pip install tsela``, no extras) runs a border post: the server starts and
checks travellers, the port client syncs and checks online and offline. What needs an extra
says which one, in one line.

The extras' packages are installed in the test environment, so every process here starts
with a ``sitecustomize`` that makes them unimportable, as if they had never been installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from _server import ServerProcess
from factories import passport_lines
from tsela.extras import EXTRAS
from tsela.services.accounts import create_user, issue_api_token
from tsela.services.screening import import_watchlist
from tsela.store.db import make_engine, session_factory, transaction
from tsela.store.watchlists import WatchlistCategory, WatchlistKind

NOT_INSTALLED = """\
import sys

HIDDEN = {hidden!r}


class NotInstalled:
    \"\"\"The packages of Tsela's extras, as if they had never been installed.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
"""


def lean_env(tmp_path: Path) -> dict[str, str]:
    lean = tmp_path / "lean"
    lean.mkdir()
    (lean / "sitecustomize.py").write_text(NOT_INSTALLED.format(hidden=sorted(EXTRAS)))
    path = [str(lean), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(path),
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
        "TSELA_NODE": "ZA",
        "TSELA_VAR_DIR": str(tmp_path / "var"),
    }


def tsela(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_stand_in_really_hides_the_extras(tmp_path: Path) -> None:
    env = lean_env(tmp_path)
    for module in EXTRAS:
        run = subprocess.run(
            [sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True
        )
        assert run.returncode == 1, module
        assert f"No module named '{module}'" in run.stderr


@pytest.mark.slow
def test_a_lean_install_checks_travellers_and_names_the_extra_it_lacks(tmp_path: Path) -> None:
    env = lean_env(tmp_path)
    # The server checks with its own clock: passports valid for years from whatever today is.
    expiry = date.today() + timedelta(days=3650)
    init = tsela(env, "init")
    assert init.returncode == 0, init.stderr
    engine = make_engine(env["TSELA_DATABASE_URL"])
    with transaction(session_factory(engine)) as s:
        officer = create_user(
            s,
            node="ZA",
            username="sani1",
            password="long password 1",
            role="border_officer",
            port_code="SNP",
        )
        analyst = create_user(
            s, node="ZA", username="lerato", password="long password 2", role="analyst"
        )
        officer_token = issue_api_token(s, officer)
        analyst_token = issue_api_token(s, analyst)
    import_watchlist(
        engine,
        list_name="SLTD",
        data="issuing_state,number,status\nLSO,RA7000015,stolen\n",
        fmt="csv",
        actor="test",
        node="ZA",
        kind=WatchlistKind.DOCUMENT,
        category=WatchlistCategory.OTHER,
    )
    engine.dispose()

    port_env = {
        **env,
        "TSELA_PORT_TOKEN": officer_token,
        "TSELA_PORT": "SNP",
        "TSELA_PORT_HOME": str(tmp_path / "port"),
    }
    assert tsela(port_env, "port", "--help").returncode == 0
    server = ServerProcess(env, tmp_path / "server.log")
    server.start()
    try:
        port_env["TSELA_SERVER"] = server.url
        synced = tsela(port_env, "port", "sync")
        assert synced.returncode == 0, synced.stderr
        online = tsela(
            port_env, "port", "check", "--direction", "entry", *passport_lines(expiry=expiry)
        )
        assert online.returncode == 0, online.stderr
        assert "CLEAR  (online)" in online.stdout
        assert "crossing recorded" in online.stdout

        analyst_headers = {"Authorization": f"Bearer {analyst_token}"}
        listed = httpx.get(f"{server.url}/v1/indicators", headers=analyst_headers)
        assert listed.status_code == 200 and listed.json()  # definitions need no extra
        for path in ("/v1/indicators/crossings.monthly", "/v1/exchange/matching"):
            answer = httpx.get(server.url + path, headers=analyst_headers)
            assert answer.status_code == 503, (path, answer.text)
            assert "this needs Tsela's 'observatory' extra" in answer.json()["detail"]
            assert "pip install 'tsela[observatory]'" in answer.json()["detail"]
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()

    # The server gone, the port client checks on its local copy: the stolen passport too.
    stolen = passport_lines("RA7000015", surname="MOLEFE", given="THABO", sex="M", expiry=expiry)
    offline = tsela(port_env, "port", "check", "--direction", "entry", "--no-record", *stolen)
    assert offline.returncode == 0, offline.stderr
    assert "DENY  (OFFLINE (local copy))" in offline.stdout

    # A command that needs an extra ends with the one line naming it.
    export = tsela(env, "export", "parquet")
    assert export.returncode == 2
    assert export.stderr.strip().splitlines() == [
        "error: pyarrow is not installed: this needs Tsela's 'observatory' extra "
        "(pip install 'tsela[observatory]')"
    ]


# The governance tracker measures from the store; the catalogue of indicators it reads is
# shared with the observatory, and neither may pull in the observatory's extra.
TRACKER = """
import sys
from datetime import date

from tsela.services import indicators
from tsela.store.db import make_engine, session_factory

with session_factory(make_engine(sys.argv[1]))() as s:
    for indicator, params in (
        ("crossings.monthly_count", {"port": "MSU"}),
        ("permits.valid_count", {"type": "LEP"}),
        ("permits.valid_share_lso_in_za", {}),
    ):
        m = indicators.measure(s, indicator, date(2026, 11, 15), params)
        print(indicator, m.value, m.unit)
print("extras loaded:", sorted({"duckdb", "pyarrow"} & set(sys.modules)))
"""


def test_the_governance_tracker_needs_no_extra(tmp_path: Path) -> None:
    env = lean_env(tmp_path)
    assert tsela(env, "init").returncode == 0
    imported = tsela(env, "governance", "import", "--example")  # its indicators are checked
    assert imported.returncode == 0, imported.stderr
    assert "16 activities imported" in imported.stdout
    run = subprocess.run(
        [sys.executable, "-c", TRACKER, env["TSELA_DATABASE_URL"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "crossings.monthly_count None crossings",  # an empty store: no data, not zero
        "permits.valid_count None permits",
        "permits.valid_share_lso_in_za None %",
        "extras loaded: []",
    ]
