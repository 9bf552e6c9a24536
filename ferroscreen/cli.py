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


# ---------------------------------------------------------------- segment, hits (knockdown screens)


@app.command()
def segment(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="Image, folder of images or acquisition.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    model: Annotated[
        str, typer.Option("--model", help="Registered model name or model file path.")
    ] = "nuclei-aits",
    fmt: Annotated[
        str | None, typer.Option("--format", help="Acquisition format (default: detect).")
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Nuclear channel of an acquisition.")
    ] = None,
    tile: Annotated[int, typer.Option("--tile", help="Prediction tile side (pixels).")] = 1152,
    tta: Annotated[bool, typer.Option("--tta", help="Test-time flips/rotations (8x).")] = False,
    objects: Annotated[bool, typer.Option("--objects", help="Also write objects.csv.")] = False,
) -> None:
    """Segment nuclei: label TIFFs, per-field features + QC, per-well features."""
    from ferroscreen.segment.run import segment_input

    summary = segment_input(
        input_path, out, model=model, fmt=fmt, channel=channel, tile=tile, tta=tta,
        objects=objects,
    )
    typer.echo(
        f"{summary['n_images']} images, {summary['n_nuclei']} nuclei, "
        f"{summary['n_flagged_fields']} fields flagged by QC -> {out}"
    )


@app.command()
def hits(
    wells: Annotated[Path, typer.Argument(help="Per-well features CSV (wells.csv of segment).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    layout: Annotated[
        Path | None, typer.Option("--layout", help="Layout with the gene per well.")
    ] = None,
    count_col: Annotated[str, typer.Option("--count-col")] = "n_nuclei",
    area_col: Annotated[str, typer.Option("--area-col")] = "area_mean",
    count_threshold: Annotated[float, typer.Option("--count-threshold")] = 0.5,
    area_threshold: Annotated[float, typer.Option("--area-threshold")] = 1.7,
    z_threshold: Annotated[float, typer.Option("--z-threshold")] = 3.0,
    fdr: Annotated[float, typer.Option("--fdr")] = 0.05,
    bscore: Annotated[
        bool, typer.Option("--bscore", help="B-score (row/column median polish) for z calls.")
    ] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots")] = True,
) -> None:
    """Call gene hits: normalise to non-targeting controls, z/FDR and threshold calls."""
    from ferroscreen.analysis.knockdown import run_hits

    result = run_hits(
        wells, out, layout_path=layout, plots=plots, count_col=count_col, area_col=area_col,
        count_threshold=count_threshold, area_threshold=area_threshold,
        z_threshold=z_threshold, fdr=fdr, use_bscore=bscore,
    )
    for msg in result.warnings:
        typer.echo(f"warning: {msg}", err=True)
    n_hits = int(result.genes["hit"].sum()) if len(result.genes) else 0
    typer.echo(f"{len(result.genes)} genes, {n_hits} hits -> {out / 'genes.csv'}")


# ---------------------------------------------------------------- train / evaluate (classifier)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option("--config", help="Training recipe YAML (configs/train/*.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="Model bundle to write.")] = Path("model.pt"),
) -> None:
    """Train a death-mode classifier (LightningCLI) and write a model bundle.

    Extra options are LightningCLI overrides, e.g. --data.init_args.root PATH --trainer.max_epochs 5.
    """
    from ferroscreen.tasks.training_run import run_training

    meta = run_training(config, out, list(ctx.args))
    typer.echo(
        f"wrote {out}: macro-F1 {meta['validation']['macro_f1']:.3f} on {meta['validation']['n']} validation crops "
        f"(init {meta['init']}, temperature {meta['temperature']:.2f})"
    )


@app.command()
def evaluate(
    data: Annotated[Path, typer.Argument(help="Crop folder (ImageFolder layout) or simulated plate folder.")],
    model: Annotated[Path, typer.Option("--model", help="Model bundle.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score a classifier bundle against labelled crops or a simulated plate's truth."""
    from ferroscreen.tasks.evaluation import evaluate_path, render_evaluation

    result = evaluate_path(data, model)
    if as_json:
        import json

        typer.echo(json.dumps(result, indent=1))
    else:
        typer.echo(render_evaluation(result))


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
