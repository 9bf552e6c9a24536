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


#: The name endings a report's file may have (any case).
PAGE_SUFFIXES = (".html", ".htm")


def check_page_path(out: Path) -> None:
    """Refuse an ``--out`` that is no report's file name, before anything is written.

    ``out`` must end ``.html`` or ``.htm`` (any case), so a report never
    replaces a results folder's ``fits.csv``, ``provenance.json`` or
    ``genes.csv``, nor lands in a file named after a folder (``--out newdir/``:
    the trailing slash does not survive the command line). An existing file of
    that name is replaced.

    Raises:
        ReportInputError: ``out`` is a folder, or its name does not end ``.html``/``.htm``.
    """
    if out.is_dir():
        raise ReportInputError(f"{out}: is a folder; --out takes the report's file name (e.g. {out / 'report.html'})")
    if out.suffix.lower() not in PAGE_SUFFIXES:
        hint = out.with_suffix(".html") if out.suffix else out / "report.html"
        raise ReportInputError(f"{out}: --out takes the report's file name ending .html or .htm (e.g. {hint}); "
                               "nothing was written")


def write_page(out: Path, html: str) -> Path:
    """Write ``html`` to ``out`` (folder created) through a temporary file, so a reader never sees half a page.

    Raises:
        ReportInputError: ``out`` is refused by :func:`check_page_path` (nothing is written).
    """
    out = Path(out)
    check_page_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
