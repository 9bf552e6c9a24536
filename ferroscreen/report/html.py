"""Rendering the report context into one self-contained HTML page (Jinja2, autoescape on).

The templates live in ``ferroscreen/report/templates/`` as package data. Every
value from the context is HTML-escaped by the environment; data embedded for
scripts goes through ``|tojson`` (which escapes ``<``, ``>``, ``&`` and
quotes), so no user string can close a tag or a script. The page loads
nothing from the network: a Content-Security-Policy allows only inline
styles, inline scripts and ``data:`` images.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from ferroscreen.report.results import ReportInputError

TEMPLATE = "report.html.j2"


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates (autoescape on, undefined is an error)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ferroscreen.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(context: dict) -> str:
    """Render the report page from its context (see :func:`ferroscreen.report.build.report_context`)."""
    return environment().get_template(TEMPLATE).render(**context)


def write_page(out: Path, html: str) -> Path:
    """Write ``html`` to ``out`` (folder created) through a temporary file, so a reader never sees half a page.

    Raises:
        ReportInputError: ``out`` is a folder (nothing is written).
    """
    if out.is_dir():
        raise ReportInputError(f"{out}: is a folder; --out takes the report's file name (e.g. {out / 'report.html'})")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
