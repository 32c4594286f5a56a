"""The layers hold: the domain is pure (no database, no web, no services).

Every module under ``src/tsela/domain`` is read (not imported) and each of its imports,
wherever it stands (top of the module, inside a function, under ``TYPE_CHECKING``), is
checked against the packages the domain must not use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tsela

PACKAGE = Path(tsela.__file__).parent
DOMAIN = PACKAGE / "domain"
FORBIDDEN = (
    "tsela.store",
    "sqlalchemy",
    "fastapi",
    "tsela.services",
    "tsela.web",
    "tsela.api",
)
# (module, imported name) -> why it is allowed for now. Empty: nothing is excused.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """The modules the source of ``module`` imports, relative imports resolved. ``from a.b
    import c`` counts as ``a.b`` and ``a.b.c`` (``c`` may be a module: ``from tsela import
    store``)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(source, module)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source_module = ".".join([*base, node.module] if node.module else base)
            else:
                source_module = node.module or ""
            out.add(source_module)
            out.update(f"{source_module}.{alias.name}" for alias in node.names)
    return out


def imports_of(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return imported(text, module_name(path), is_package=path.name == "__init__.py")


def is_forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def domain_modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def test_the_domain_imports_no_store_web_or_services() -> None:
    found = {
        (module_name(path), name): str(path.relative_to(PACKAGE.parent))
        for path in domain_modules()
        for name in imports_of(path)
        if is_forbidden(name)
    }
    unexcused = {key: where for key, where in found.items() if key not in EXCEPTIONS}
    assert unexcused == {}


def test_every_exception_is_still_needed() -> None:
    needed = {(module_name(p), n) for p in domain_modules() for n in imports_of(p)}
    assert [key for key in EXCEPTIONS if key not in needed] == []


def test_the_walk_sees_the_domain_and_its_subpackages() -> None:
    names = {module_name(p) for p in domain_modules()}
    assert {"tsela.domain.permits", "tsela.domain.stay.crossing"} <= names
    assert "tsela.domain.screening" in names  # a subpackage's __init__
    assert "tsela.domain.decisions" in imports_of(DOMAIN / "stay" / "crossing.py")


def test_the_import_reader_catches_every_form() -> None:
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from sqlalchemy.orm import Session\n"
        "def f():\n"
        "    import tsela.store.models\n"
        "    from ...services import audit\n"
        "from . import values\n"
        "from ..decisions import Reason\n"
        "from tsela import web\n"
    )
    names = imported(source, "tsela.domain.stay.probe")
    assert names == {
        "__future__",
        "__future__.annotations",
        "typing",
        "typing.TYPE_CHECKING",
        "sqlalchemy.orm",
        "sqlalchemy.orm.Session",
        "tsela.store.models",
        "tsela.services",
        "tsela.services.audit",
        "tsela.domain.stay",
        "tsela.domain.stay.values",
        "tsela.domain.decisions",
        "tsela.domain.decisions.Reason",
        "tsela",
        "tsela.web",
    }
    assert sorted(n for n in names if is_forbidden(n)) == [
        "sqlalchemy.orm",
        "sqlalchemy.orm.Session",
        "tsela.services",
        "tsela.services.audit",
        "tsela.store.models",
        "tsela.web",
    ]
    assert not is_forbidden("tsela.storekeeper")  # a prefix of a name is not the package
