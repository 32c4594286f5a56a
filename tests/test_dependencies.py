"""What Tsela depends on, and the lock files ``make`` installs from (``requirements/``,
written by ``make lock``): every dependency used, every one pinned at a version
pyproject.toml allows, the same version in every file, and the lean file without the
extras (README, "Dependencies")."""

from __future__ import annotations

import ast
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tsela.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Used without an import statement in src/ (each says how).
NOT_IMPORTED = {
    "psycopg": "SQLAlchemy's postgresql+psycopg:// driver",
    "httptools": "uvicorn's HTTP parser when installed",
    "uvloop": "uvicorn's event loop when installed",
    "python-multipart": "FastAPI's form parsing",
    "tzdata": "zoneinfo's time zones where the system has none",
    "fastapi-offline": "its Swagger UI and ReDoc files, read with importlib.resources",
    "duckdb-extension-sqlite": "DuckDB's sqlite extension file, found with importlib.util",
    "duckdb-extension-postgres": "DuckDB's postgres extension file, found with importlib.util",
}
# The files, and what each must pin: the lean install, the central server's, make's.
LOCKS = {
    "lean.txt": ("core",),
    "all.txt": ("core", "observatory", "report"),
    "dev.txt": ("core", "observatory", "report", "dev"),
}


def _name(requirement: str) -> str:
    return Requirement(requirement).name.lower().replace("_", "-")


def declared(group: str) -> dict[str, Requirement]:
    """The requirements of the core (``dependencies``) or of one extra, by name."""
    raw = PROJECT["dependencies"] if group == "core" else PROJECT["optional-dependencies"][group]
    return {_name(r): Requirement(r) for r in raw if _name(r) != "tsela"}


def pinned(file: str) -> dict[str, str]:
    """name -> version of a lock file's ``name==version ; marker  # via ...`` lines."""
    out = {}
    for line in (ROOT / "requirements" / file).read_text().splitlines():
        if not line or line[0] in "# ":
            continue
        req = Requirement(line.split(" #")[0].strip())
        (spec,) = req.specifier
        assert spec.operator == "==", line
        out[_name(line.split(" #")[0])] = spec.version
    return out


def test_every_dependency_is_used() -> None:
    """No dependency that nothing imports (as jellyfish and tqdm were)."""
    modules = set()
    for path in (ROOT / "src" / "tsela").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.partition(".")[0])
    dists = packages_distributions()
    used = {d.lower().replace("_", "-") for m in modules for d in dists.get(m, [])}
    runtime = {
        **declared("core"),
        **declared("observatory"),
        **declared("report"),
        **declared("identity"),
    }
    assert sorted(set(runtime) - used - set(NOT_IMPORTED)) == []
    assert set(NOT_IMPORTED) <= set(runtime)


@pytest.mark.parametrize("extra", ["observatory", "report", "identity"])
def test_each_lazily_imported_module_belongs_to_its_extra(extra: str) -> None:
    """tsela.extras names, for each module, the extra of pyproject.toml that installs it."""
    dists = packages_distributions()
    core = set(declared("core"))
    for module, its_extra in EXTRAS.items():
        if module not in dists:
            # Only the Spark extra is left out of the developers' install (make test-spark).
            assert its_extra == "spark", f"{module} ({its_extra}) is not installed"
            continue
        names = {d.lower().replace("_", "-") for d in dists[module]}
        if its_extra == extra:
            assert names & set(declared(extra)), (module, extra)
        assert not names & core, f"{module} is a core dependency, not an extra"
    assert {_name(r) for r in PROJECT["optional-dependencies"]["all"]} == {"tsela"}


@pytest.mark.parametrize("file", sorted(LOCKS))
def test_the_lock_pins_what_pyproject_asks_for(file: str) -> None:
    pins = pinned(file)
    for group in LOCKS[file]:
        for name, req in declared(group).items():
            assert name in pins, f"{name} ({group}) is not in requirements/{file}: make lock"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"requirements/{file} pins {name}=={pins[name]}, pyproject.toml asks for "
                f"{req.specifier}: make lock"
            )


def test_the_lean_lock_has_nothing_of_the_extras_and_versions_agree() -> None:
    files = {file: pinned(file) for file in LOCKS}
    extras_only = (set(declared("observatory")) | set(declared("report"))) - set(declared("core"))
    assert not extras_only & set(files["lean.txt"])
    dev = files["dev.txt"]
    for file, pins in files.items():
        assert set(pins) <= set(dev), file
        assert {n: v for n, v in pins.items() if dev[n] != v} == {}, file
