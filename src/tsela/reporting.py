"""Reusable pieces for reports: Jinja2 templates, charts to SVG, HTML to PDF.

Charts are Altair (Vega-Lite) specifications rendered to SVG by ``vl-convert`` in
process (no browser, no network); PDFs come from WeasyPrint. The governance road-map and
the observatory's reports share these.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

# One font for measuring chart text (vl-convert) and drawing it (browser, WeasyPrint):
# with different fonts, labels overflow the space the chart left for them.
CHART_FONT = "DejaVu Sans"


@cache
def templates() -> jinja2.Environment:
    """Templates shipped under ``tsela/web/templates`` (HTML-escaped by default)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tsela.web", "templates"),
        autoescape=jinja2.select_autoescape(("html", "xml")),
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    return templates().get_template(template).render(**context)


def chart_to_svg(chart: Any) -> str:
    """An Altair chart (or a Vega-Lite dict) as standalone SVG text."""
    import altair as alt
    import vl_convert

    spec = chart if isinstance(chart, dict) else chart.to_dict()
    # Render with the Vega-Lite version Altair wrote the spec for.
    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    svg: str = vl_convert.vegalite_to_svg(spec, vl_version=version, config={"font": CHART_FONT})
    return svg


def html_to_pdf(html: str, base_url: str | None = None) -> bytes:
    """Print an HTML document to PDF (A4 unless the document's CSS says otherwise)."""
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=html, base_url=base_url).write_pdf()
    return pdf
