"""Optional extras: what a lean install leaves out, and the one line that says so.

``pip install tsela`` is what a border post needs: the server and its pages, the border
check, permits, screening, the exchange and the port client. The analytics and the
documents made from them are extras (``pyproject.toml``):

- ``observatory``: the analytics copy and its indicators, the open-data release, the
  exit/entry matching report and synthetic data (Arrow, DuckDB, SciPy);
- ``report``: charts, PDFs and spreadsheets (Altair, vl-convert, WeasyPrint, openpyxl);
- ``identity``: batch identity resolution (Splink on DuckDB);
- ``spark``: the same resolution on Spark (pyspark; needs Java), outside ``all``.

The modules below are imported only inside the functions that need them, so a lean install
starts and checks travellers; a command or request that needs a missing one ends with the
line ``missing_extra`` writes (the command line prints it, the API answers 503 with it).
"""

from __future__ import annotations

# Top-level module -> the extra that installs it.
EXTRAS: dict[str, str] = {
    "pyarrow": "observatory",
    "duckdb": "observatory",
    "scipy": "observatory",
    "sdmx": "observatory",
    "altair": "report",
    "vl_convert": "report",
    "weasyprint": "report",
    "openpyxl": "report",
    "splink": "identity",
    "pyspark": "spark",
}


def missing_extra(exc: BaseException) -> str | None:
    """The one line for an ImportError (or one it caused) of a module an extra provides;
    None for any other error."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ImportError):
            top = (cur.name or "").split(".")[0]
            if top in EXTRAS:
                extra = EXTRAS[top]
                return (
                    f"{top} is not installed: this needs Tsela's '{extra}' extra "
                    f"(pip install 'tsela[{extra}]')"
                )
        cur = cur.__cause__ or cur.__context__
    return None
