"""The ``ferroscreen`` command line: thin typer commands that parse and delegate.

Each command lives in a section below and imports its implementation lazily so
that ``ferroscreen --help`` stays fast. User errors (:class:`FerroscreenError`)
are printed as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ferroscreen import __version__
from ferroscreen.errors import FerroscreenError

app = typer.Typer(
    name="ferroscreen",
    help="Live-cell imaging drug-screen analyzer: which compounds kill cells, by which mode, "
    "how potently and how fast.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"ferroscreen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """Live-cell imaging drug-screen analyzer."""


# ---------------------------------------------------------------- inspect (plate, io)


@app.command()
def inspect(
    path: Annotated[Path, typer.Argument(help="Acquisition folder, metric export or layout file.")],
    layout: Annotated[
        Path | None, typer.Option("--layout", help="Layout to check the acquisition against.")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="Acquisition format (default: detect).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show what an acquisition, metric export or layout contains."""
    from ferroscreen.io.inspection import inspect_path, render_inspection

    report = inspect_path(path, layout=layout, fmt=fmt)
    if as_json:
        import json

        typer.echo(json.dumps(report, indent=1, default=str))
    else:
        typer.echo(render_inspection(report))


# ---------------------------------------------------------------- (more commands below)


def main() -> None:
    """Console entry point: run the app, turning user errors into one-line messages."""
    try:
        app()
    except FerroscreenError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
