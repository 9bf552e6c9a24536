"""The ``ferroscreen`` command line: thin typer commands that parse and delegate.

Each command lives in a section below and imports its implementation lazily so
that ``ferroscreen --help`` stays fast. User errors (:class:`FerroscreenError`)
are printed as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import contextlib
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ferroscreen import __version__
from ferroscreen.errors import FerroscreenError, missing_file

app = typer.Typer(
    name="ferroscreen",
    help="Live-cell imaging drug-screen analyzer: which compounds kill cells, by which mode, "
    "how potently and how fast.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class FractionEstimate(StrEnum):
    """``export --fractions`` / ``fit --fractions`` choices (see :mod:`ferroscreen.score.export`)."""

    frac = "frac"
    share = "share"
    corr = "corr"


class DeadOver(StrEnum):
    """``fit --dead-over`` choices (see :mod:`ferroscreen.analysis.dead_fraction`)."""

    all = "all"
    live = "live"


class ReaderSignal(StrEnum):
    """``fit --signal`` choices (see :mod:`ferroscreen.analysis.reader_signal`)."""

    viability = "viability"
    dead = "dead"


#: Most cells per class a gallery row may hold (a row of 200 crops is already ~10,000 px wide).
MAX_GALLERY = 200


def _count(n: int, noun: str) -> str:
    """``"1 image"``, ``"3 images"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _check_curve_model(model: str) -> None:
    """Refuse an unknown ``fit --model`` before any input is read.

    Raises:
        FerroscreenError: One line naming the option and the models there are.
    """
    from ferroscreen.analysis.models import get_model

    try:
        get_model(model)
    except ValueError as exc:
        raise FerroscreenError(f"--model: {exc}") from None


def _given_options(ctx: typer.Context, names: dict[str, str]) -> list[str]:
    """The options of ``names`` (parameter -> option) that the command line gave, not left at their default."""
    sources = {name: ctx.get_parameter_source(name) for name in names}  # click's ParameterSource (typer vendors it)
    return [opt for name, opt in names.items() if sources[name] is not None and sources[name].name != "DEFAULT"]


def _check_score_run(devices: int, batch_size: int, workers: int | None, poll_s: float, idle_exit_s: float | None,
                     accelerator: str, settle_s: float = 2.0) -> None:
    """Refuse run settings of ``score`` before anything is written (a store left behind would block the rerun).

    Raises:
        FerroscreenError: One line naming the option.
    """
    _check_number("--devices", devices, 1)
    _check_number("--batch-size", batch_size, 1)
    _check_number("--workers", workers, 0)
    _check_number("--poll-s", poll_s, 0)
    _check_number("--idle-exit-s", idle_exit_s, 0)
    _check_number("--settle-s", settle_s, 0)
    if accelerator not in ("cpu", "gpu", "cuda", "auto"):
        raise FerroscreenError(f"--accelerator must be cpu, gpu or auto, not '{accelerator}'")
    if accelerator in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            raise FerroscreenError("--accelerator gpu: torch sees no CUDA GPU on this machine (use cpu or auto)")
        if devices > torch.cuda.device_count():
            raise FerroscreenError(f"--devices {devices}: torch sees {torch.cuda.device_count()} GPU(s)")


def _check_number(option: str, value: float | None, low: float | None = None, high: float | None = None,
                  low_open: bool = False) -> None:
    """Refuse an option value that is not a finite number within [low, high] (``(low, ...`` with ``low_open``).

    Raises:
        FerroscreenError: One line naming the option and the range.
    """
    import math

    if value is None:
        return
    below = low is not None and (value <= low if low_open else value < low)
    if not math.isfinite(value) or below or (high is not None and value > high):
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"<= {high:g}"
        raise FerroscreenError(f"{option} must be a number {' and '.join(x for x in (lo, hi) if x)}, not {value:g}")


class CiScale(StrEnum):
    """``fit --ci-scale`` choices (see :func:`ferroscreen.analysis.fit_curves`)."""

    log = "log"
    linear = "linear"


class RankOn(StrEnum):
    """``fit --rank-on`` choices (see :mod:`ferroscreen.analysis.ranking`)."""

    peak = "peak"
    endpoint = "endpoint"
    auc = "auc"


class Precision(StrEnum):
    """``score``/``evaluate --precision`` choices (see :mod:`ferroscreen.models.precision`)."""

    auto = "auto"
    fp32 = "32"
    bf16 = "bf16"
    int8 = "int8"


PRECISION_HELP = ("Forward-pass precision: 32, bf16 autocast, int8 (the bundle's int8 graph, CPU), or auto "
                  "(int8 on CPU when the bundle has one, else bf16 where the hardware runs it natively).")


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

INTERVAL_HELP = (
    "Hours between timepoints, for files that carry no acquisition time "
    "(ImageXpress, Cytation or scanR without time tags, a Harmony index without image times, CellVoyager without "
    "MeasurementData.mlf, OME-Zarr without a known time unit, --pattern with a timepoint group; the reader says when "
    "it used it). No default: a plate of several such scans is refused without it."
)
TTA_HELP = ("Average each cell's 8 views (4 rotations, each mirrored): +0.010 held-out macro-F1 on a simulated "
            "plate, 8 forward passes per crop (~6.5x the scoring time on a CPU).")
Z_PLANE_HELP = "z plane of a z-stack, 0-based from the bottom as `inspect` lists them"
PATTERN_HELP = ("Images named some other way: a regular expression over each image's file name (or path under the "
                "folder, when it holds a /) with named groups well (required), field, time (in --time-unit) or "
                "timepoint (scan number x --interval-h), channel, plate, z; implies --format pattern.")


class TimeUnit(StrEnum):
    """``--time-unit`` choices: the unit of a ``--pattern``'s ``time`` group."""

    h = "h"
    min = "min"
    s = "s"


TIME_UNIT_HELP = "Unit of the --pattern's (?P<time>...) group: h, min or s."


def _acquisition_format(fmt: str | None, pattern: str | None, time_unit: str = "h") -> str | None:
    """The format the readers take: ``--format``, or ``pattern:REGEX`` for ``--pattern`` (with ``--time-unit``).

    Raises:
        FerroscreenError: ``--format pattern`` without ``--pattern``, ``--pattern`` with another format, or
            a ``--time-unit`` other than h without ``--pattern``.
    """
    from ferroscreen.io.detect import pattern_format

    if pattern is None:
        if fmt == "pattern":
            raise FerroscreenError("--format pattern needs --pattern REGEX with a (?P<well>...) group")
        if TimeUnit(time_unit) is not TimeUnit.h:
            raise FerroscreenError(f"--time-unit {TimeUnit(time_unit).value} is the unit of a --pattern's "
                                   "(?P<time>...) group; give it with --pattern")
        return fmt
    if fmt not in (None, "pattern"):
        raise FerroscreenError(f"--pattern goes with --format pattern, not --format {fmt}")
    return pattern_format(pattern, TimeUnit(time_unit).value)


@app.command()
def inspect(
    path: Annotated[Path, typer.Argument(help="Acquisition folder, metric export, layout file, or an output (score "
                                              "store, fit folder, results.xlsx).")],
    layout: Annotated[
        list[Path] | None, typer.Option("--layout", help="Layout to check the acquisition against (repeat for a "
                                                        "file per plate).")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="Acquisition format (default: detect).")
    ] = None,
    pattern: Annotated[str | None, typer.Option("--pattern", help=PATTERN_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    interval_h: Annotated[float | None, typer.Option("--interval-h", help=INTERVAL_HELP)] = None,
    time_unit: Annotated[TimeUnit, typer.Option("--time-unit", help=TIME_UNIT_HELP)] = TimeUnit.h,
) -> None:
    """Show what an acquisition, metric export or layout holds, or an output (score store, fit folder, results.xlsx)."""
    from ferroscreen.io.inspection import inspect_path, render_inspection
    from ferroscreen.report.output_info import OUTPUT_KINDS, describe_output, render_output

    _check_number("--interval-h", interval_h, 0, low_open=True)
    report = describe_output(path) if path.exists() else None
    if report is not None and layout:
        raise FerroscreenError(f"{path}: a {report['kind'].replace('_', ' ')} is ferroscreen's output; --layout "
                               f"checks an input (acquisition, export or wells table) against a layout")
    if report is None:
        report = inspect_path(path, layout=layout or None, fmt=_acquisition_format(fmt, pattern, time_unit),
                              interval_h=interval_h)
    if as_json:
        from ferroscreen.json_output import dumps_strict

        typer.echo(dumps_strict(report))
    else:
        typer.echo(render_output(report) if report["kind"] in OUTPUT_KINDS else render_inspection(report))


@contextlib.contextmanager
def _image_progress(desc: str, lines: bool = False):
    """A ``progress(done, total)`` callback drawing a tqdm bar on a terminal.

    Otherwise, with ``lines``, it writes ``score``'s plain ``progress: N/M images (P%) ... ETA`` lines
    (:mod:`ferroscreen.score.progress`: for a log file), else nothing.
    """
    bar, log = None, None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(unit="image", desc=desc, file=sys.stderr)
    elif lines:
        from ferroscreen.score.progress import ProgressLines

        log = ProgressLines(0, unit="images")  # its clock starts with the run: model loading counts as elapsed

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)
        elif log is not None:
            log.total = total
            log.update(done - log.done)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()


def _detector_setting(value: str):
    """A preset name, a YAML/JSON file of settings, inline JSON, or a model bundle (its detector)."""
    import json

    if value.lstrip().startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise FerroscreenError(f"--detector: not valid JSON ({exc})") from None
    path = Path(value)
    if path.suffix.lower() == ".pt":
        from ferroscreen.models.bundle import load_bundle

        return load_bundle(path).meta["detector"]
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        import yaml

        if not path.is_file():
            raise FerroscreenError(missing_file(path, "detector settings file"))
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise FerroscreenError(f"{path}: not valid YAML/JSON ({str(exc).splitlines()[0]})") from None
        if isinstance(data, dict) and "detector" in data:
            data = data["detector"]  # a training config's data.init_args.detector block may be given whole
        from ferroscreen.crops.config import detector_config

        try:
            detector_config(data)
        except (TypeError, ValueError) as exc:
            raise FerroscreenError(f"{path}: detector settings: {exc}") from None
        return data
    return value


@app.command()
def detect(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="Image, folder of images or acquisition (label-free channel).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    detector: Annotated[
        str,
        typer.Option("--detector", help="Preset (suspension, adherent_10x, tiles), a YAML/JSON file or inline "
                     "JSON of settings ({\"preset\": ..., overrides}), or a model bundle (.pt) whose detector to use."),
    ] = "suspension",
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="Ground truth: a folder of instance masks (<image stem>[_masks].png/.tif) or "
                     "QuPath .geojson, a CSV image,x,y[,radius], a COCO .json, or one mask for one image."),
    ] = None,
    match_radius: Annotated[
        float | None,
        typer.Option("--match-radius", help="Points: match within this many px (default: their radius column, "
                     "else the detections' median radius)."),
    ] = None,
    overlays: Annotated[int, typer.Option("--overlays", min=0, help="Overlay PNGs for the first N images.")] = 12,
    fmt: Annotated[str | None, typer.Option("--format", help="Acquisition format (default: detect).")] = None,
    pattern: Annotated[str | None, typer.Option("--pattern", help=PATTERN_HELP)] = None,
    interval_h: Annotated[float | None, typer.Option("--interval-h", help=INTERVAL_HELP)] = None,
    time_unit: Annotated[TimeUnit, typer.Option("--time-unit", help=TIME_UNIT_HELP)] = TimeUnit.h,
    channel: Annotated[str | None, typer.Option("--channel", help="Channel of an acquisition.")] = None,
    z_plane: Annotated[
        int | None, typer.Option("--z-plane", min=0, help=Z_PLANE_HELP + " (default: the only one, else the lowest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Find cells label-free (as training and score do) and, given truth, report precision/recall/F1."""
    from ferroscreen.crops.detection_check import check_detection

    _check_number("--match-radius", match_radius, 0, low_open=True)
    _check_number("--interval-h", interval_h, 0, low_open=True)
    with _image_progress("detecting") as progress:
        s = check_detection(input_path, out, _detector_setting(detector), truth=truth, match_radius=match_radius,
                            overlays=overlays, fmt=_acquisition_format(fmt, pattern, time_unit), channel=channel,
                            z_plane=z_plane, interval_h=interval_h,
                            progress=progress)
    for note in s.get("notes") or []:
        typer.echo(f"note: {note}", err=True)
    left = s.get("truth_files_left_out") or []
    if left:
        typer.echo(f"note: {len(left)} truth file(s) among the input images left out as truth, not images: "
                   f"{', '.join(left[:3])}{', ...' if len(left) > 3 else ''}", err=True)
    if as_json:
        from ferroscreen.json_output import dumps_strict

        typer.echo(dumps_strict(s))
        return
    unread = f" ({s['n_unreadable']} unreadable, see images.csv)" if s["n_unreadable"] else ""
    typer.echo(f"{_count(s['n_images'], 'image')}{unread}, {_count(s['n_detected'], 'cell')} detected -> {out}")
    if "f1" in s:
        typer.echo(
            f"against {s['truth']} ({_count(s['n_with_truth'], 'image')} with truth): precision {s['precision']:.3f}, "
            f"recall {s['recall']:.3f}, F1 {s['f1']:.3f} (tp {s['tp']}, fp {s['fp']}, fn {s['fn']})"
        )


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
    pattern: Annotated[str | None, typer.Option("--pattern", help=PATTERN_HELP)] = None,
    interval_h: Annotated[float | None, typer.Option("--interval-h", help=INTERVAL_HELP)] = None,
    time_unit: Annotated[TimeUnit, typer.Option("--time-unit", help=TIME_UNIT_HELP)] = TimeUnit.h,
    channel: Annotated[
        str | None,
        typer.Option("--channel", help="Nuclear channel of an acquisition (default: the only one, else the one "
                     "named Hoechst/DAPI/DRAQ5...)."),
    ] = None,
    tile: Annotated[int, typer.Option("--tile", min=64, help="Prediction tile side (pixels).")] = 1152,
    tta: Annotated[bool, typer.Option("--tta", help="Test-time flips/rotations (8x).")] = False,
    objects: Annotated[bool, typer.Option("--objects", help="Also write objects.csv.")] = False,
    diameter: Annotated[
        str | None,
        typer.Option(
            "--diameter",
            help="Median nucleus diameter of the images in pixels; 'auto' estimates it from up to 8 images "
            "and resamples them to the model's nucleus size when they differ by over 25 %; 'each' estimates "
            "it per image (collections from several microscopes); 'model' leaves them as they are. Default: auto; "
            "a resumed run keeps its own.",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a stopped run in --out (label images written are kept).")
    ] = False,
    channel_index: Annotated[
        int | None,
        typer.Option("--channel-index", min=0, help="Nuclear channel (0-based) of multi-channel image files."),
    ] = None,
    z_plane: Annotated[
        str | None,
        typer.Option("--z-plane", help=Z_PLANE_HELP + "; 'max': maximum-intensity projection of each field's "
                     "planes; 'best': each field's plane in best focus (default: the only one, else the lowest); "
                     "image files that are z-stacks (ImageJ hyperstacks) need it."),
    ] = None,
    min_size: Annotated[
        int | None,
        typer.Option("--min-size", min=1, help="Drop nuclei under this many pixels (default: the model's, 40 for "
                     "nuclei-aits); 15 keeps micronuclei and fragments (Aits val: objects under 100 px found "
                     "11/50 -> 26/50)."),
    ] = None,
) -> None:
    """Segment nuclei: label TIFFs, per-field features + QC, per-well features."""
    from ferroscreen.segment.run import segment_input

    _check_number("--interval-h", interval_h, 0, low_open=True)
    with _image_progress("segmenting", lines=True) as progress:
        summary = segment_input(
            input_path, out, model=model, fmt=_acquisition_format(fmt, pattern, time_unit), channel=channel, tile=tile,
            tta=tta,
            objects=objects, diameter=diameter, resume=resume, progress=progress, channel_index=channel_index,
            z_plane=z_plane, interval_h=interval_h, min_size=min_size,
        )
    for note in summary["notes"]:
        typer.echo(f"note: {note}", err=True)
    sc = summary["scale"]
    if sc["image_diameter_px"] is not None or sc["scale"] != 1:
        typer.echo(
            f"nuclei {sc['image_diameter_px']} px across ({sc['source']}), model {sc['model_diameter_px']} px: "
            f"images segmented at scale {sc['scale']:g}",
            err=True,
        )
    elif sc["source"] not in ("model", "estimated"):
        typer.echo(f"note: {sc['source']}", err=True)
    for line in summary["failures"]:
        typer.echo(f"failed image: {line}", err=True)
    failed = f", {summary['n_failed']} could not be read" if summary["n_failed"] else ""
    failed += f", {summary['n_reused']} label images kept from the stopped run" if summary["n_reused"] else ""
    typer.echo(
        f"{_count(summary['n_images'], 'image')}{failed}, {summary['n_nuclei']} nuclei, "
        f"{_count(summary['n_flagged_fields'], 'field')} flagged by QC -> {out}"
    )


@app.command()
def hits(
    wells: Annotated[
        list[Path], typer.Argument(help="Per-well features CSV(s) (the wells.csv of segment runs), CellProfiler "
                                        "image tables (Image.csv, or an ExportToDatabase SQLite file), Harmony "
                                        "PlateResults.txt files, or plate-reader / IncuCyte exports of a viability "
                                        "assay (one plate each; with --layout).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    layout: Annotated[
        list[Path] | None, typer.Option("--layout", help="Layout with the gene per well; repeat for a file per "
                                                        "library plate.")
    ] = None,
    count_col: Annotated[
        str | None,
        typer.Option("--count-col", help="Count column (default: nuclei_per_field if present, else n_nuclei)."),
    ] = None,
    area_col: Annotated[
        str | None,
        typer.Option("--area-col", help="Nuclear area column (default: area_mean; without it, the count alone)."),
    ] = None,
    signal_col: Annotated[
        str | None,
        typer.Option("--signal-col", help="A wells table's viability column (e.g. a CellTiter-Glo reading): the one "
                                          "readout, instead of nuclei count and area."),
    ] = None,
    read: Annotated[
        str | None,
        typer.Option("--read", help="Which read of a plate-reader export holding several (its number or label)."),
    ] = None,
    objects: Annotated[
        str | None,
        typer.Option("--objects", help="The nuclei of a CellProfiler or Harmony export counting several objects "
                                       "(Count_NAME, or the Harmony population)."),
    ] = None,
    count_threshold: Annotated[
        float, typer.Option("--count-threshold", help="Count (or viability) fold change below which a gene is a hit.")
    ] = 0.5,
    area_threshold: Annotated[float, typer.Option("--area-threshold")] = 1.7,
    z_threshold: Annotated[float, typer.Option("--z-threshold")] = 3.0,
    fdr: Annotated[float, typer.Option("--fdr")] = 0.05,
    bscore: Annotated[
        bool, typer.Option("--bscore", help="B-score (row/column median polish) for z calls.")
    ] = False,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="A time course (IncuCyte confluence, a kinetic read): each well's "
                           "last reading over its first, so seeding differences cancel (IncuCyte's 'normalize to "
                           "time 0').")
    ] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help=(
        "Write the PNG plots (plate heat maps, replicate scatter, quadrant, volcano); --no-plots: the tables "
        "alone."))] = True,
) -> None:
    """Call gene hits: normalise to non-targeting controls, z/FDR and threshold calls, plate QC."""
    from ferroscreen.analysis.hits_run import run_hits

    for option, value, low in (("--count-threshold", count_threshold, 0), ("--area-threshold", area_threshold, 0)):
        _check_number(option, value, low, low_open=True)
    _check_number("--z-threshold", z_threshold, 0)
    _check_number("--fdr", fdr, 0, 1, low_open=True)

    with _sigterm_as_ctrl_c():  # all of the hits folder or none
        result = run_hits(
            wells, out, layout_path=layout or None, plots=plots, read=read, signal_col=signal_col, objects=objects,
            count_col=count_col, area_col=area_col, count_threshold=count_threshold, area_threshold=area_threshold,
            z_threshold=z_threshold, fdr=fdr, use_bscore=bscore, from_start=from_start,
        )
    for note in result.notes:
        typer.echo(note)
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
    SIGTERM (kill, timeout, SLURM) or Ctrl-C ends it with one line naming the last checkpoint (exit 143 or 130).
    An existing --out bundle is refused before anything trains.
    """
    _refuse_existing_bundle(out)
    with _sigterm_as_ctrl_c():  # also while torch and Lightning load
        from ferroscreen.tasks.training_run import TrainingInterrupted, run_training

        try:
            meta = run_training(config, out, list(ctx.args))
        except TrainingInterrupted as exc:
            typer.echo(exc.line(), err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:  # a read-only working folder: Lightning's logs go there by default
            if (line := _lightning_folder_error(exc)) is None:
                raise
            raise FerroscreenError(line) from None
    for note in (meta.get("training_data") or {}).get("notes", []):
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"wrote {out}: {_validation_words(meta)}")
    lc = (meta.get("training_data") or {}).get("label_cleaning")
    if lc:
        per = ", ".join(f"{c} {n}/{t}" for c, n, t in zip(lc["classes"], lc["flagged_per_label"],
                                                            lc["items_per_label"], strict=True))
        when = (f"running, epochs {lc['history'][0]['epoch']}-{lc['epoch']}" if lc.get("source") == "running"
                else f"epoch {lc['epoch']}")
        typer.echo(f"label cleaning ({lc['action']}, {when}): {lc['n_flagged']} of {lc['n_items']} "
                   f"training crops flagged ({per})")
    if line := _int8_line(meta.get("int8") or {}, out):
        typer.echo(line)


def _refuse_existing_bundle(out: Path) -> None:
    """Refuse a ``--out`` bundle that exists (a bundle can be hours of training); a folder is left to the writer.

    Raises:
        FerroscreenError: ``out`` is an existing file (or a link).
    """
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise FerroscreenError(f"{out}: already exists; a bundle is not overwritten: remove it or choose another --out")


def _validation_words(meta: dict) -> str:
    """The bundle's validation macro-F1, init and temperature, or that no validation crops measured them."""
    val = meta.get("validation") or {}
    if not val.get("n"):
        return f"no validation crops, so no macro-F1 and no fitted temperature (init {meta['init']})"
    return (f"macro-F1 {val['macro_f1']:.3f} on {val['n']} validation crops "
            f"(init {meta['init']}, temperature {meta['temperature']:.2f})")


def _int8_line(q: dict, out: Path) -> str:
    """What ``train`` says of the bundle's int8 graph (``meta["int8"]``): its agreement, or why there is none."""
    if q.get("argmax_agreement") is not None:
        return (f"int8 graph (CPU scoring): top class as float32 for {q['argmax_agreement']:.1%} of "
                f"{q['check_crops']} {q.get('check_source', 'validation crops')}")
    if q.get("skipped"):
        return (f"no int8 graph ({q['skipped']}): CPU scoring runs in float; `ferroscreen quantize {out} "
                f"--data PLATE --out BUNDLE` adds it later")
    return ""


def _lightning_folder_error(exc: OSError) -> str | None:
    """``PATH: reason`` naming Lightning's log folder when training failed writing in it, else None.

    That folder is the training config's ``trainer.default_root_dir`` (the recipes' ``runs/...``, under
    the working folder) or its logger's ``save_dir``; the trainer is found in ``exc``'s traceback.
    """
    import os

    import pytorch_lightning as pl

    if exc.filename is None:
        return None
    trainer, tb = None, exc.__traceback__
    while tb is not None:
        for value in (tb.tb_frame.f_locals.get("self"), tb.tb_frame.f_locals.get("trainer")):
            trainer = value if isinstance(value, pl.Trainer) else trainer
        tb = tb.tb_next
    if trainer is None:
        return None
    root = str(trainer.default_root_dir)
    folders = [root, *(str(lg.save_dir) for lg in trainer.loggers if getattr(lg, "save_dir", None))]
    failed = os.path.abspath(str(exc.filename))
    for folder in map(os.path.abspath, folders):
        if os.path.commonpath([failed, folder]) in (failed, folder):  # the folder, one inside it or above it
            where = root if os.path.isabs(root) else f"{root} in the working folder {os.getcwd()}"
            return (f"{exc.filename}: {exc.strerror or exc}: Lightning writes its logs and checkpoints under {where} "
                    f"(trainer.default_root_dir); pass --trainer.default_root_dir DIR naming a folder it can write")
    return None


@app.command()
def evaluate(
    data: Annotated[Path, typer.Argument(help="Crop folder (ImageFolder layout) or simulated plate folder.")],
    model: Annotated[Path, typer.Option("--model", help="Model bundle.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    precision: Annotated[Precision, typer.Option("--precision", help=PRECISION_HELP)] = "auto",
    tta: Annotated[bool, typer.Option("--tta", help=TTA_HELP)] = False,
    frames: Annotated[int, typer.Option("--frames", min=0, help=(
        "Simulated plate: frames drawn (seeded) to evaluate; 0: every frame."))] = 300,
) -> None:
    """Score a classifier bundle against labelled crops or a simulated plate's truth."""
    from ferroscreen.models.load_errors import require_bundle_file

    require_bundle_file(model)  # before torch loads: a mistyped path fails in a second
    from ferroscreen.tasks.evaluation import evaluate_path, render_evaluation

    result = evaluate_path(data, model, max_frames=frames or None, precision=Precision(precision).value, tta=tta)
    for note in result.get("notes", []):
        typer.echo(f"note: {note}", err=True)
    if as_json:
        from ferroscreen.json_output import dumps_strict

        typer.echo(dumps_strict(result))
    else:
        typer.echo(render_evaluation(result))


#: Fewer calibration crops than this get a note (the default 48 frames give ~1,000 on a plate).
FEW_CALIBRATION_CROPS = 128


@app.command()
def quantize(
    model: Annotated[Path, typer.Argument(help="Model bundle.")],
    data: Annotated[Path, typer.Option("--data", help=(
        "Plate acquisition whose cells calibrate the int8 ranges (a model trained on crop images: or its "
        "crop folder, <class>/*.png)."))],
    out: Annotated[Path, typer.Option("--out", help="Bundle to write (the input bundle plus its int8 graph).")],
    frames: Annotated[int, typer.Option("--frames", help="Frames drawn (seeded) for calibration crops.")] = 48,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the frame and crop draw.")] = 0,
) -> None:
    """Add an int8 graph to a bundle (for `score --precision int8|auto` on CPU), calibrated on a plate's cells.

    A bundle trained on crop images can be calibrated on a crop folder instead (--frames is then unused).
    An existing --out is refused.
    """
    from ferroscreen.score.quantize import quantize_bundle

    if out.resolve() == model.resolve():
        raise FerroscreenError(f"{out}: would overwrite the input bundle; choose another --out")
    _refuse_existing_bundle(out)
    info = quantize_bundle(model, data, out, n_frames=frames, seed=seed)
    typer.echo(
        f"int8 graph calibrated on {info['calibration_crops']} crops; top class as float32 for "
        f"{info['argmax_agreement']:.1%} of {info['check_crops']} other crops -> {out}"
    )
    from ferroscreen.models.bundle import load_bundle

    if note := load_bundle(out).frame_note:
        typer.echo(f"note: {model}: {note}")
    if info["calibration_crops"] < FEW_CALIBRATION_CROPS:
        more = ("more crop images give more" if "calibration_images" in info
                else f"more frames (--frames, {frames} now) give more cells")
        typer.echo(f"note: {info['calibration_crops']} crops are few to calibrate on: a plate's other cells can fall "
                   f"outside the int8 ranges they set; {more}")


# ---------------------------------------------------------------- simulate


@contextlib.contextmanager
def _sigterm_as_ctrl_c():
    """Within: SIGTERM (kill, timeout, SLURM) ends the command as Ctrl-C does, its temporary files removed.

    Then ``terminated (SIGTERM)`` on stderr and exit status 143 (as ``score`` ends on it).
    """
    from ferroscreen.score.terminate import Terminated, ending_on_sigterm

    try:
        with ending_on_sigterm():
            yield
    except Terminated as exc:
        typer.echo(f"terminated ({exc.signal_name})", err=True)
        sys.exit(exc.exit_code)


@app.command()
def simulate(
    out: Annotated[Path, typer.Argument(help="Output folder (images/, layout.csv, truth).")],
    plate_format: Annotated[int, typer.Option(
        "--format", help="Plate format: 96, 384 or 1536. The demo library maps 96 and 384 wells; 1536 (or another "
        "format) needs --library FILE, a library YAML with a plate map for it (plate_maps: \"1536\", "
        "docs/simulator.md).")] = 96,
    fields: Annotated[int, typer.Option("--fields", help="Fields per well.")] = 2,
    hours: Annotated[float, typer.Option("--hours", help="Duration in hours.")] = 48.0,
    interval_h: Annotated[
        float, typer.Option("--interval-h", help="Hours between scans: whole minutes, at least 1 (0.3333 = 20 min; "
                            "the file names carry no seconds).")
    ] = 4.0,
    image_size: Annotated[
        tuple[int, int], typer.Option("--image-size", help="Frame width and height (px).")
    ] = (512, 512),
    library: Annotated[
        str, typer.Option("--library", help="'demo' or a library YAML file.")
    ] = "demo",
    seed: Annotated[int, typer.Option("--seed", help="Master random seed (>= 0).")] = 0,
    pixel_size: Annotated[
        float, typer.Option("--pixel-size", help="µm per pixel (0.62 = 20×, 1.24 = 10×).")
    ] = 0.62,
    wells: Annotated[
        str | None, typer.Option("--wells", help="Only these wells, e.g. 'A01,B02'.")
    ] = None,
    density: Annotated[
        float, typer.Option("--density", help="Seeding density (cells per mm²).")
    ] = 750.0,
    edge_effects: Annotated[
        bool, typer.Option("--edge-effects/--no-edge-effects", help="Outer-well evaporation.")
    ] = True,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes (default: CPUs).")
    ] = None,
    contact_sheet: Annotated[
        Path | None, typer.Option("--contact-sheet", help="Also write a crop contact sheet PNG.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a plate already in OUT (kept if this run fails).")
    ] = False,
) -> None:
    """Write a synthetic brightfield time-lapse plate with known truth (IncuCyte export)."""
    from ferroscreen.simulate import SimulationConfig, load_library, simulate_plate

    lib = load_library(library)
    if plate_format not in lib.plate_maps:
        known = " and ".join(f"{n}-well" for n in sorted(lib.plate_maps))
        raise FerroscreenError(f"--format {plate_format}: the library '{library}' has plate maps for {known} plates; "
                               f"a {plate_format}-well plate needs --library FILE, a library YAML with a plate map "
                               f"for it (plate_maps: \"{plate_format}\", docs/simulator.md)")
    config = SimulationConfig(
        plate_format=plate_format,
        fields=fields,
        hours=hours,
        interval_h=interval_h,
        image_size=tuple(image_size),
        pixel_size_um=pixel_size,
        seed=seed,
        wells=tuple(w.strip() for w in wells.split(",") if w.strip()) if wells else None,
        density_per_mm2=density,
        edge_effects=edge_effects,
        workers=workers,
    )
    with _sigterm_as_ctrl_c():  # the plate is put in place whole or not at all
        result = simulate_plate(out, lib, config, progress=sys.stderr.isatty(), replace=replace)
    typer.echo(
        f"wrote {result.n_images} images, {result.n_cells} truth cells to {result.out} "
        f"in {result.seconds:.1f} s"
    )
    if contact_sheet is not None:
        from ferroscreen.simulate.contact_sheet import make_contact_sheet

        typer.echo(f"contact sheet: {make_contact_sheet(out, contact_sheet)}")


# ---------------------------------------------------------------- fit (analysis)


@app.command()
def fit(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="INPUT",
            help="wells.csv, tidy curve,dose,response[,n] CSV, IncuCyte metric export (.txt), "
            "plate-reader export (grid, kinetic or well list; CSV/TXT/XLSX) or score store (.h5); several "
            "IncuCyte or plate-reader exports are several plates; several wells tables or score stores are "
            "pooled as replicate plates.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder for the CSVs.")],
    layout: Annotated[
        list[Path] | None,
        typer.Option("--layout", help="Layout: CSV table or plate grids, Excel workbook, IncuCyte .PlateMap or "
                     "D300 .tdd; repeat for a file per plate (a file without plate names is the plate named by its "
                     "stem)."),
    ] = None,
    model: Annotated[str, typer.Option("--model", help="ll4, ll3, ll5 or ll2 (binomial).")] = "ll4",
    readout: Annotated[
        list[str] | None,
        typer.Option("--readout", help="Readout(s) to fit (repeat or comma-separate)."),
    ] = None,
    endpoint_h: Annotated[
        float | None, typer.Option("--endpoint-h", help="Endpoint time in hours.")
    ] = None,
    over_time: Annotated[
        bool, typer.Option("--over-time", help="Also fit every time point (EC50 over time).")
    ] = False,
    rank_on: Annotated[
        RankOn,
        typer.Option(
            "--rank-on",
            help="Readout each death mode ranks on: the peak fraction of the time course (default), "
            "the endpoint fraction, or the time-averaged fraction (auc).",
        ),
    ] = "peak",
    fractions: Annotated[
        FractionEstimate,
        typer.Option("--fractions", help="With a score store: the fraction estimate to fit (as in `export`)."),
    ] = "share",
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Wells to leave out (B03 on every plate, P1:B03 on one; repeat or "
                     "comma-separate), as the layout's 'exclude' column does."),
    ] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option("--columns", help="A CSV table's columns by role: curve=COL,dose=COL[:uM],response=COL[,n=COL]"
                     "[,readout=COL] (a dose unit converts to molar; repeat or comma-separate)."),
    ] = None,
    dead: Annotated[
        Path | None,
        typer.Option("--dead", help="IncuCyte metric export counting dead cells (Cytotox, SYTOX, PI) in the scans "
                     "of INPUT, a cell count: fits the dead fraction (frac_dead) as a death mode. Or a plate-reader "
                     "export of a dead-cell read (CellTox, LDH) of INPUT's plate, read apart from its viability "
                     "read (--dead-read picks its read; scaled by the layout's pos_ctrl lysis wells)."),
    ] = None,
    dead_over: Annotated[
        DeadOver | None,
        typer.Option("--dead-over", help="With --dead, what INPUT counts: all cells, dead included (phase count, "
                     "Hoechst; fraction dead/all; the default) or live cells only (NucLight; fraction "
                     "dead/(dead+live))."),
    ] = None,
    read: Annotated[
        str | None,
        typer.Option("--read", help="A plate-reader export's read to fit when it holds several: its number "
                     "(from 1), label, or wavelength (SoftMax Pro: --read 490). A number that is a read's label or "
                     "wavelength takes that read before the read of that number (said)."),
    ] = None,
    dead_read: Annotated[
        str | None,
        typer.Option("--dead-read", help="A dead-cell read (CellTox, SYTOX, LDH) of the same plate-reader export, "
                     "multiplexed with the viability --read: fitted together, scaled by the layout's pos_ctrl "
                     "(lysis) wells to frac_dead."),
    ] = None,
    ci_scale: Annotated[
        CiScale,
        typer.Option("--ci-scale", help="EC50/ED intervals on the log-dose scale (asymmetric, always positive) or "
                     "drc's linear scale (EC50 +- t SE)."),
    ] = "log",
    signal: Annotated[
        ReaderSignal,
        typer.Option("--signal", help="What a plate-reader read or IncuCyte metric measures: viable cells "
                     "(CellTiter-Glo, resazurin, a cell count) or dead cells (LDH, SYTOX, a Cytotox count; scaled by "
                     "the layout's pos_ctrl lysis/maximum-kill wells to frac_dead)."),
    ] = "viability",
    min_effect: Annotated[
        float | None,
        typer.Option("--min-effect", help="Smallest fitted effect |f(top dose) - f(0)| of an active curve, in "
                     "response units (default 0.1 for fractions; a tidy table on another scale, such as % viability, "
                     "% inhibition or raw luminescence: 10 % of its vehicle level or of its upper level, said)."),
    ] = None,
) -> None:
    """Fit dose-response curves; with a layout also rank compounds and check plates."""
    from ferroscreen.analysis.fit_inputs import STORE_SUFFIXES, FitInput, load_fit_input
    from ferroscreen.analysis.fit_run import (
        layout_from_table,
        may_write_wells,
        run_fit,
        split_readouts,
        with_layout_columns,
        write_provenance,
    )
    from ferroscreen.analysis.inputs import AnalysisInputError, parse_column_map
    from ferroscreen.output_set import OutputSet

    input_path = inputs[0]
    _check_number("--endpoint-h", endpoint_h, 0)
    _check_number("--min-effect", min_effect, 0)
    _check_curve_model(model)
    column_map = parse_column_map(columns)
    lay = None
    if layout:
        from ferroscreen.plate import read_layouts

        lay = read_layouts(layout)
        for note in lay.notes:
            typer.echo(f"note: {note}")
    store_attrs = None
    if dead_over is not None and dead is None:
        raise AnalysisInputError(f"{input_path}: --dead-over says what INPUT counts when --dead gives the dead cells; "
                                 f"give --dead too, or leave --dead-over out")
    def store_input(path: Path, joined: bool) -> tuple[FitInput, dict]:
        """Score store ``path``'s wells as ``fit`` reads them, and its scoring attributes.

        Its stored layout is the layout unless --layout is given; ``joined`` (one of several INPUTs)
        joins it to the store's own rows as ``export`` does, so that each plate keeps its own when pooled.
        """
        from ferroscreen.score.export import select_fractions, store_notes
        from ferroscreen.score.store import read_store, scoring_record

        if not path.is_file():
            raise AnalysisInputError(missing_file(path, "input file"))
        if column_map:
            raise AnalysisInputError(f"{path}: --columns is for CSV tables, not score stores or metric exports")
        if dead is not None:
            raise AnalysisInputError(f"{path}: --dead goes with an IncuCyte metric export (a cell count) as INPUT")
        for option, given in (("--read", read is not None), ("--dead-read", dead_read is not None),
                              ("--signal", ReaderSignal(signal).value != "viability")):
            if given:
                raise AnalysisInputError(f"{path}: {option} is for a plate-reader export; this is not one")
        store = read_store(path)
        if store.wells.empty:
            raise AnalysisInputError(f"{path}: the score store has no /wells aggregates yet")
        estimate = FractionEstimate(fractions).value
        own = lay
        if lay is None and store.layout is not None and len(store.layout):
            own = layout_from_table(store.layout, list(store.wells["well"].astype(str).unique()), source=path)
        wells = select_fractions(store.wells, store.classes, estimate, path, store.attrs)
        if joined and lay is None:
            wells = with_layout_columns(wells, own)
        return (FitInput(wells, "wells", own, notes=[f"note: {n}" for n in store_notes(path, store)],
                         options={"fractions": estimate}, derived=True),  # its wells.csv: the report's time courses
                scoring_record(store.attrs))

    stores = [p for p in inputs if p.suffix.lower() in STORE_SUFFIXES]
    if len(inputs) == 1 and stores:
        loaded, store_attrs = store_input(input_path, False)
    elif stores:  # replicate plates: the stores' wells, and wells tables given beside them, pooled
        import json

        from ferroscreen.analysis.fit_inputs import pool_wells
        from ferroscreen.hashing import file_sha256

        for i, path in enumerate(inputs):
            if path.is_file() and any(path.resolve() == q.resolve() for q in inputs[:i] if q.is_file()):
                raise AnalysisInputError(f"{path}: given twice as INPUT")
        scored = {str(p): store_input(p, True) for p in stores}
        parts = []
        for path in inputs:
            if str(path) in scored:
                parts.append((path, scored[str(path)][0]))
                continue
            part = load_fit_input([path], lay)
            if part.kind != "wells" or part.derived:
                raise AnalysisInputError(f"{path}: several INPUTs with a score store pool stores and wells tables "
                                         f"(export's wells.csv); this is neither: fit it on its own")
            parts.append((path, part))
        loaded = pool_wells(parts, lay)
        loaded.options["inputs"] = [{"path": str(p.resolve()), "sha256": file_sha256(p)} for p in inputs]
        scorings = {path: attrs for path, (_, attrs) in scored.items()}
        if len({json.dumps(a, sort_keys=True, default=str) for a in scorings.values()}) == 1:
            store_attrs = next(iter(scorings.values()))
        else:  # scored apart (another model or detector): each store's record
            loaded.options["scoring_by_input"] = scorings
    else:
        loaded = load_fit_input(inputs, lay, columns=column_map, dead=dead,
                                dead_over=DeadOver(dead_over or "all").value,
                                read=read, signal=ReaderSignal(signal).value, endpoint_h=endpoint_h,
                                dead_read=dead_read)
        matched = loaded.options.get("export_record") or {}
        if len(inputs) == 1 and loaded.kind == "wells" and matched.get("status") == "matches":
            import json

            # export's wells.csv, checked against its export.json by load_fit_input: how it was scored
            record = json.loads(Path(matched["path"]).read_text(encoding="utf-8"))
            store_attrs = record.get("scoring") or {}
            loaded.options["exported_from"] = {"store": record.get("store"), "fractions": record.get("fractions")}
    lay = loaded.layout
    for note in loaded.notes:
        typer.echo(note)
    if lay is None and "plate_reader" in loaded.options:
        raise AnalysisInputError(f"{input_path}: a plate-reader export holds no doses; pass --layout (layout CSV, "
                                 f"IncuCyte .PlateMap or D300 protocol)")
    excluded = split_readouts(exclude)
    if excluded and lay is None:
        raise AnalysisInputError(f"{input_path}: --exclude leaves wells out of a layout's curves; pass --layout")
    write_wells = loaded.derived and may_write_wells(out)
    threshold: dict = {}  # the activity threshold run_fit used, for provenance
    with _sigterm_as_ctrl_c(), OutputSet(out) as outputs:  # every output, or (on failure) the folder as it was
        lines = run_fit(
            loaded.table, loaded.kind, outputs, layout=lay, model=model.lower(), readouts=split_readouts(readout),
            endpoint_h=endpoint_h, over_time=over_time, source=input_path, rank_on=RankOn(rank_on).value,
            exclude=excluded, wells_csv=write_wells, ci_scale=CiScale(ci_scale).value, min_effect=min_effect,
            record=threshold,
        )  # fmt: skip
        if loaded.derived and not write_wells:
            lines.insert(0, f"note: {out / 'wells.csv'} is not this fit's and was left as it is")
        said = [n.removeprefix("note: ") for n in loaded.notes]  # the input's, printed above
        threshold["notes"] = said + [n for n in threshold.get("notes", []) if n not in said]
        options = {"model": model.lower(), "readouts": split_readouts(readout), "endpoint_h": endpoint_h,
                   "over_time": over_time, "rank_on": RankOn(rank_on).value, "input_kind": loaded.kind,
                   "exclude": excluded or [], "wells_csv": write_wells, "ci_scale": CiScale(ci_scale).value,
                   **threshold, **loaded.options}
        lines.append(f"{write_provenance(outputs, list(inputs), options, store_attrs, layout or None)}")
    for line in lines:
        typer.echo(line)


# ---------------------------------------------------------------- score / export (plate scoring store)


@app.command()
def score(
    ctx: typer.Context,
    acquisition: Annotated[Path, typer.Argument(metavar="ACQ", help="Acquisition folder of one plate.")],
    model: Annotated[Path, typer.Option("--model", help="Model bundle (from `ferroscreen train`).")],
    out: Annotated[Path, typer.Option("--out", help="Per-plate HDF5 store to write (PLATE.h5).")],
    layout: Annotated[
        Path | None,
        typer.Option("--layout", help="Layout file: CSV table or plate grids, Excel workbook, .PlateMap or D300 .tdd "
                                      "(default: layout.csv/.xlsx/.PlateMap beside ACQ)."),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an existing store.")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Keep scoring new timepoints as they land.")] = False,
    poll_s: Annotated[float, typer.Option("--poll-s", help="Seconds between polls (--watch).")] = 60.0,
    idle_exit_s: Annotated[
        float | None, typer.Option("--idle-exit-s", help="Stop watching after this many seconds with no new files "
                                   "(default: 2.5 of the plate's scan intervals, 4 h assumed before its second "
                                   "scan; at least 600 s).")
    ] = None,
    settle_s: Annotated[float, typer.Option(
        "--settle-s", help="Score a file once it was last modified, or seen unchanged, at least this many seconds "
                           "ago (--watch; more for a share that stalls mid-file).")] = 2.0,
    devices: Annotated[int, typer.Option("--devices", help="Processes/GPUs (>1: Lightning DDP).")] = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Crops per forward pass.")] = 256,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Decode/detect workers per process (default: one per core, at most 8; "
                                   "a third of the cores with the int8 model; with --devices N, of each "
                                   "process's share of the cores)."),
    ] = None,
    channel: Annotated[str | None, typer.Option(
            "--channel",
            help="Channel to score (default: the only one, the one the model was trained on, "
            "else the one named brightfield/phase).",
        )] = None,
    plate: Annotated[
        str | None, typer.Option("--plate", help="Plate to score when the folder holds several (one store each).")
    ] = None,
    z_plane: Annotated[int | None, typer.Option("--z-plane", min=0, help=Z_PLANE_HELP + " (default: the only one, "
                                                "the one the model was trained on, else the lowest).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Acquisition format (default: detect).")] = None,
    pattern: Annotated[str | None, typer.Option("--pattern", help=PATTERN_HELP)] = None,
    accelerator: Annotated[str, typer.Option("--accelerator", help="cpu, gpu or auto.")] = "cpu",
    confusion: Annotated[
        Path | None,
        typer.Option("--confusion", help="`evaluate --json` output whose confusion corrects the fractions."),
    ] = None,
    precision: Annotated[Precision, typer.Option("--precision", help=PRECISION_HELP)] = "auto",
    interval_h: Annotated[float | None, typer.Option("--interval-h", help=INTERVAL_HELP)] = None,
    time_unit: Annotated[TimeUnit, typer.Option("--time-unit", help=TIME_UNIT_HELP)] = TimeUnit.h,
    tta: Annotated[
        bool, typer.Option("--tta", help=TTA_HELP + " A store keeps its choice: resume it with the same.")
    ] = False,
) -> None:
    """Score a plate: detect and classify every cell into the per-plate HDF5 store.

    Exit status 0 when every frame was scored, 3 when some failed (unreadable or missing files: the
    store holds the others, and --resume scores them once fixed; frames of another size than the plate's: score
    them as a plate of their own), 2 on an error, 130 on Ctrl-C, 143 on SIGTERM.
    """
    from ferroscreen.score.runner import FAILED_FRAMES_EXIT, score_plate

    _check_number("--interval-h", interval_h, 0, low_open=True)
    _check_score_run(devices, batch_size, workers, poll_s, idle_exit_s, accelerator, settle_s)
    given = _given_options(ctx, {"poll_s": "--poll-s", "idle_exit_s": "--idle-exit-s", "settle_s": "--settle-s"})
    if not watch and given:
        typer.echo(f"note: {', '.join(given)} only applies with --watch; this run scores the files there now and "
                   f"stops", err=True)
    value = {"--poll-s": poll_s, "--idle-exit-s": idle_exit_s, "--settle-s": settle_s}
    watching = " --watch" + "".join(f" {opt} {value[opt]:g}" for opt in given) if watch else ""  # as given
    again = (f"`ferroscreen score {acquisition} --model {model} --out {out} --resume{watching}"
             f"{' --tta' if tta else ''}` continues")  # --tta is not taken from the store: said again
    try:
        s = score_plate(
            acquisition, model, out, layout=layout, resume=resume, watch=watch, poll_s=poll_s,
            idle_exit_s=idle_exit_s, settle_s=settle_s, devices=devices, batch_size=batch_size, workers=workers,
            channel=channel, plate=plate, z_plane=z_plane, fmt=_acquisition_format(fmt, pattern, time_unit),
            accelerator=accelerator, confusion_file=confusion,
            precision=Precision(precision).value, tta=tta,
            progress=True if sys.stderr.isatty() else "lines",  # lines: a log file
            interval_h=interval_h,
            log=lambda m: typer.echo(m, err=True),
        )
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (kill, timeout, SLURM, docker stop): Terminated
        what = f"terminated ({exc.signal_name})" if getattr(exc, "signal_name", None) else "interrupted"
        parts = out.with_name(out.name + ".parts")
        if out.exists() or (parts.is_dir() and any(parts.glob("rank-*.h5"))):
            typer.echo(f"{what}: {out} and its journals keep the frames scored so far; {again}", err=True)
        else:
            typer.echo(f"{what} before a frame was saved to {out}", err=True)
        sys.exit(getattr(exc, "exit_code", 130))
    except RuntimeError as exc:  # a DataLoader worker killed (out of memory): the journals keep what was scored
        if "DataLoader worker" not in str(exc):
            raise
        raise FerroscreenError(f"{out}: {str(exc).splitlines()[0].rstrip('. ')} (out of memory? fewer --workers "
                               f"or a smaller --batch-size need less); {again}") from None
    except OSError as exc:  # a full disk or quota: the journals keep the frames committed before it
        import errno
        import os

        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        where = str(exc.filename) if exc.filename is not None else str(out)
        raise FerroscreenError(f"{where}: {os.strerror(exc.errno).lower()}"
                               f"{f' while scoring {out}' if where != str(out) else ''}; free some space, then "
                               f"{again}") from None
    for line in s["failures"]:
        typer.echo(f"failed frame: {line}", err=True)
    took = f"{s['frames_scored']} frames scored in {s['seconds']:.1f} s"
    if watch:  # the watch's seconds are mostly waiting for scans: scoring time and rate apart
        rate = f", {s['frames_scored'] / s['predict_s']:.1f} frames/s" if s["predict_s"] > 0 else ""
        took = (f"{s['frames_scored']} frames scored in {s['predict_s']:.1f} s of scoring{rate}; "
                f"watched {s['seconds']:.1f} s in all")
    typer.echo(
        f"{s['done']} frames done, {s['failed']} failed, {s['pending']} pending; "
        f"{s['cells']} {s.get('counted', 'cells')}; {took} -> {out}"
    )
    if s["failed"]:  # a partial plate is told apart from a complete one by its exit status (job arrays)
        from ferroscreen.score.export import other_size_text

        sized = s.get("other_size") or {"n": 0}
        unread = s["failed"] - sized["n"]
        why = [f"{_count(unread, 'frame')} failed (unreadable or missing files): once their files are fixed "
               f"`ferroscreen score {acquisition} --model {model} --out {out} --resume` scores them"] if unread else []
        why += [other_size_text(sized)] if sized["n"] else []  # no fixed file makes them the plate's size
        typer.echo(f"exit status {FAILED_FRAMES_EXIT}: {'; '.join(why)}; {out} holds every other frame", err=True)
        sys.exit(FAILED_FRAMES_EXIT)


@app.command()
def export(
    store: Annotated[Path, typer.Argument(metavar="PLATE.h5", help="Score store of one plate.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    fractions: Annotated[
        FractionEstimate,
        typer.Option(
            "--fractions",
            help="Estimate written to frac_<class>: share (default: share of cells whose top class it is), frac (mean "
            "probability) or corr "
            "(confusion-corrected share).",
        ),
    ] = "share",
    gallery: Annotated[
        int,
        typer.Option(
            "--gallery",
            help="Cells per class in gallery.png/gallery.csv: the most confident calls of each class, across "
            "wells, cut from the plate's frames (0: no gallery).",
        ),
    ] = 10,
    compound_gallery: Annotated[
        int,
        typer.Option(
            "--compound-gallery",
            help="Cells per death mode in each treatment's gallery (galleries/*.png, gallery_compounds.csv; "
            "p >= 0.5), shown in the report's compound sections (0: none).",
        ),
    ] = 6,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the gallery's tie-breaks (>= 0).")] = 0,
) -> None:
    """Write wells.csv (per well x time: cell count, class fractions, QC, layout) and cell galleries from a store.

    All of them or, when the export fails part-way, none: the folder keeps an earlier export as it was.
    """
    from ferroscreen.score.export import export_plate

    for name, value in (("--gallery", gallery), ("--compound-gallery", compound_gallery)):
        if not 0 <= value <= MAX_GALLERY:
            raise FerroscreenError(f"{name} must be 0 (none) or a number of cells per class up to {MAX_GALLERY}, "
                                   f"not {value}")
    if seed < 0:
        raise FerroscreenError(f"--seed {seed}: a seed is 0 or more")
    with _sigterm_as_ctrl_c():  # all of the export or none: the folder keeps an earlier one
        lines = export_plate(store, out, FractionEstimate(fractions).value, gallery, compound_gallery, seed)
    for line in lines:
        typer.echo(line)


@app.command()
def overlay(
    store: Annotated[Path, typer.Argument(metavar="PLATE.h5", help="Score store of one plate.")],
    wells: Annotated[str, typer.Option("--wells", help="Wells to show, comma-separated (C05,D5).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (one PNG per well).")],
    field: Annotated[
        int | None, typer.Option("--field", help="Field to show (default: each well's first scored field).")
    ] = None,
    times: Annotated[
        str | None,
        typer.Option("--times", help="Hours to show, comma-separated (nearest scored frames; default: spread)."),
    ] = None,
    max_times: Annotated[int, typer.Option("--max-times", help="Panels per well without --times.")] = 6,
) -> None:
    """Draw a well's frames over time with every scored cell circled in its class colour."""
    from ferroscreen.score.overlay import write_well_overlays

    hours = None
    if times:
        try:
            hours = [float(t) for t in times.replace(" ", "").split(",") if t]
        except ValueError:
            raise FerroscreenError(f"--times: expected hours separated by commas (0,24,48), not '{times}'") from None
        for hour in hours:
            _check_number("--times", hour, 0)
    result = write_well_overlays(store, wells, out, field_no=field, times=hours, max_times=max_times)
    for note in result.notes:
        typer.echo(f"note: {note}")
    for path in result.paths:
        typer.echo(f"-> {path}")


# ---------------------------------------------------------------- report


@app.command()
def report(
    results_dir: Annotated[
        Path, typer.Argument(metavar="RESULTS_DIR", help="Folder with wells.csv and/or fits.csv, ranking.csv..., "
                             "or a `hits` folder (genes.csv): the knockdown report.")
    ],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    max_compounds: Annotated[
        int, typer.Option("--max-compounds", min=0,
                          help="Compounds with their own section, best-ranked first (0: all).")
    ] = 60,
    title: Annotated[str | None, typer.Option("--title", help="Page title.")] = None,
) -> None:
    """Write one self-contained HTML report (figures inlined, opens offline)."""
    from ferroscreen.report import build_report

    with _sigterm_as_ctrl_c():  # the earlier report stays as it was
        path = build_report(results_dir, out, max_compounds=max_compounds or None, title=title)
    typer.echo(f"report -> {path}")


# ---------------------------------------------------------------- demo


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("demo_out"),
    quick: Annotated[bool, typer.Option("--quick", help="Smaller plate and fewer epochs (a few minutes).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Run the whole pipeline on a generated demo plate and write the report.

    SIGTERM (kill, timeout, SLURM) ends it with ``terminated (SIGTERM)`` and exit 143, in training as in
    the other steps; Ctrl-C with ``interrupted`` and 130.
    """
    with _sigterm_as_ctrl_c():  # also while torch and Lightning load
        from ferroscreen.demo import run_demo
        from ferroscreen.tasks.training_run import TrainingInterrupted

        try:
            result = run_demo(out, quick=quick, seed=seed, say=typer.echo)
        except TrainingInterrupted as exc:  # its --ckpt_path line is train's: the demo trains anew
            typer.echo(f"terminated ({exc.signal_name})" if exc.signal_name == "SIGTERM" else "interrupted", err=True)
            sys.exit(exc.exit_code)
    typer.echo(f"report: {Path(result['report']).resolve()}")


# ---------------------------------------------------------------- (more commands below)


def _os_error_line(exc: OSError) -> str:
    """``PATH: reason`` for an operating-system error (a folder where a file goes, no permission, ...)."""
    where = str(exc.filename) if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    import errno

    if not where and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):  # a failed write names no file: the output
        args = sys.argv[1:]
        given = [a.split("=", 1)[1] for a in args if a.startswith("--out=")]
        given += [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--out"]
        if given:
            where, reason = given[-1], f"{reason} (writing the output)"
    if isinstance(exc, FileExistsError | NotADirectoryError) and where:
        reason = f"{reason} (a file stands where a folder is needed)"
    hidden = Path(where)
    if hidden.name.startswith(".") and hidden.name.endswith(".tmp") and len(hidden.name) > 5:
        # outputs are written whole: a hidden temporary file renamed at the end; name the folder and the output
        where, reason = str(hidden.parent), f"{reason} (writing {hidden.name[1:-4]})"
    return f"{where}: {reason}" if where else reason


def _command_path(ctx) -> str:
    """``ferroscreen CMD`` of a usage error; click gives some (an option without its value) the group's context."""
    path = ctx.command_path if ctx is not None else "ferroscreen"
    if path == "ferroscreen":
        names = {(c.name or c.callback.__name__).replace("_", "-") for c in app.registered_commands}
        given = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
        if given in names:
            path = f"ferroscreen {given}"
    return path


def _writable_folder(folder: Path) -> bool:
    """Whether ``folder`` is a folder this process may write in, or could be made as one (nothing is made)."""
    import os

    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _matplotlib_config_dir() -> None:
    """Give matplotlib a temporary config folder when its own cannot be written (``MPLCONFIGDIR``, unless set).

    With HOME read-only (a shared cluster account, a container) matplotlib, which Lightning imports too,
    warned on every run (``mkdir -p failed for path ...``, ``Matplotlib created a temporary cache
    directory ...; set MPLCONFIGDIR``) and made such a folder itself. Its folders are
    ``$XDG_CONFIG_HOME/matplotlib`` and ``$XDG_CACHE_HOME/matplotlib`` (``~/.config``, ``~/.cache``), or
    ``~/.matplotlib`` off Linux; the folder made here is removed at exit. Called before matplotlib is imported.
    """
    import atexit
    import os
    import shutil
    import tempfile

    if os.environ.get("MPLCONFIGDIR"):
        return
    try:
        home = Path.home()
    except (RuntimeError, KeyError):  # no HOME and no password entry
        home = Path("/nonexistent")
    if sys.platform.startswith(("linux", "freebsd")):
        folders = [Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib",
                   Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib"]
    else:
        folders = [home / ".matplotlib"]
    if all(_writable_folder(f) for f in folders):
        return
    try:
        folder = tempfile.mkdtemp(prefix="ferroscreen-matplotlib-")
    except OSError:  # no temporary folder either: matplotlib says so itself
        return
    os.environ["MPLCONFIGDIR"] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


def main() -> None:
    """Console entry point: run the app, turning user errors into one-line messages (exit 2).

    User errors are :class:`FerroscreenError`, command-line usage errors (one line naming the
    command, instead of the usage block) and operating-system errors on the user's paths
    (permissions, a file where an output folder goes). Matplotlib gets a temporary config folder
    when its own cannot be written (:func:`_matplotlib_config_dir`).
    """
    from typer._click import exceptions as click_exc

    _matplotlib_config_dir()
    try:
        code = app(standalone_mode=False, prog_name="ferroscreen")
    except FerroscreenError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click_exc.NoArgsIsHelpError as exc:  # bare `ferroscreen` or `ferroscreen CMD`: the help, as --help
        typer.echo(exc.ctx.get_help() if exc.ctx is not None else "")
        sys.exit(0)
    except click_exc.UsageError as exc:
        command = _command_path(exc.ctx)
        typer.echo(f"error: {command}: {exc.format_message()} (see '{command} --help')", err=True)
        sys.exit(exc.exit_code)
    except click_exc.ClickException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except OSError as exc:
        typer.echo(f"error: {_os_error_line(exc)}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
