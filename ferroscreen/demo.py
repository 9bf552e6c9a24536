"""``ferroscreen demo``: the whole pipeline on a generated 96-well plate.

simulate (demo library) → train the classifier on the plate's reference wells
(configs/train/demo.yaml; ImageNet MobileNetV2 when the weights file is found,
otherwise random initialisation, said clearly) → score the plate into an HDF5
store → export wells.csv → fit, rank and QC → HTML report. Everything lands
under ``OUT``: ``plate/`` (images, layout, truth), ``model.pt``, ``plate.h5``,
``results/`` (wells.csv, fits.csv, ranking.csv, qc.csv, provenance.json) and
``report.html``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ferroscreen import __version__
from ferroscreen.errors import FerroscreenError
from ferroscreen.hashing import file_sha256
from ferroscreen.json_output import write_json
from ferroscreen.provenance import created_now

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
#: How the demo fits and ranks (``run_fit`` keywords; recorded in its provenance).
DEMO_FIT = {"model": "ll4", "rank_on": "peak", "over_time": True}


@dataclass(frozen=True)
class DemoSettings:
    """Size of the demo run (``quick`` trades accuracy for a run of a few minutes)."""

    fields: int
    hours: float
    interval_h: float
    image_size: tuple[int, int]
    max_epochs: int
    max_crops_per_frame: int
    freeze: str

    @classmethod
    def for_mode(cls, quick: bool) -> DemoSettings:
        """The quick (about 3 min) or full (about 10–15 min) settings on a 2-core CPU."""
        if quick:
            return cls(
                fields=2, hours=48, interval_h=4, image_size=(256, 256), max_epochs=4, max_crops_per_frame=40,
                freeze="all_but_last",
            )  # fmt: skip
        return cls(
            fields=2, hours=48, interval_h=4, image_size=(384, 384), max_epochs=12, max_crops_per_frame=60,
            freeze="none",
        )  # fmt: skip


def fit_demo_wells(wells_csv: Path, layout_csv: Path, results: Path) -> tuple[list[str], Path]:
    """Fit the demo's wells into ``results`` as :data:`DEMO_FIT` says; write its ``provenance.json`` as ``fit`` does.

    Its ``fit`` record holds :data:`DEMO_FIT`, the input kind and what :func:`run_fit` records of the
    activity calls: ``min_effect``, ``min_effect_from`` and ``alpha`` (the report's account of the calls
    reads them). Returns the lines to print and the ``provenance.json`` written.
    """
    from ferroscreen.analysis.fit_run import run_fit, write_provenance
    from ferroscreen.plate import read_layout

    record: dict = {}
    lines = run_fit(pd.read_csv(wells_csv), "wells", results, layout=read_layout(layout_csv), source=wells_csv,
                    record=record, **DEMO_FIT)
    record.pop("notes", None)  # said on the console, as ever
    fitted = write_provenance(results, wells_csv, {**DEMO_FIT, "input_kind": "wells", **record}, layout=layout_csv)
    return lines, fitted


def run_demo(out: Path, quick: bool = False, seed: int = 0, say: Callable[[str], None] = print) -> dict:
    """Run the demo pipeline into ``out``; return a summary (paths, timings, top hits).

    Raises:
        FerroscreenError: If a step fails on its inputs (messages name the step's files).
    """
    from ferroscreen.models.backbones import imagenet_filename
    from ferroscreen.models.imagenet_weights import find_imagenet_file
    from ferroscreen.report import build_report
    from ferroscreen.score.export import export_wells
    from ferroscreen.score.gallery import cell_pool, write_compound_galleries, write_gallery
    from ferroscreen.score.runner import score_plate
    from ferroscreen.score.store import read_store, scoring_record
    from ferroscreen.simulate import SimulationConfig, load_library, simulate_plate
    from ferroscreen.tasks.training_run import run_training

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = DemoSettings.for_mode(quick)
    timings: dict[str, float] = {}
    config = CONFIG_DIR / "train" / "demo.yaml"
    if not config.is_file():
        raise FerroscreenError(f"{config}: demo training config not found (run from a source checkout)")

    t = time.perf_counter()
    say(f"[1/5] simulating a 96-well demo plate ({s.fields} field(s), {s.hours:g} h every {s.interval_h:g} h)")
    plate = out / "plate"
    sim = simulate_plate(
        plate,
        load_library("demo"),
        SimulationConfig(
            plate_format=96, fields=s.fields, hours=s.hours, interval_h=s.interval_h,
            image_size=s.image_size, seed=seed,
        ),
        progress=True,
        replace=True,  # the demo's own plate of an earlier run
    )  # fmt: skip
    timings["simulate_s"] = time.perf_counter() - t
    say(f"      {sim.n_images} images, {sim.n_cells} true cells")

    t = time.perf_counter()
    weights = find_imagenet_file(imagenet_filename("mobilenet_v2"))
    if weights is None:
        say("      note: ImageNet MobileNetV2 weights not found (torchvision cache, FERROSCREEN_WEIGHTS_DIR, "
            "../shared/weights): training from random initialisation")  # fmt: skip
    else:
        say(f"      transfer learning from ImageNet weights {weights}")
    say(f"[2/5] training the death-mode classifier on the reference wells ({s.max_epochs} epochs)")
    bundle = out / "model.pt"
    meta = run_training(
        config,
        bundle,
        [
            "--data.init_args.root", str(plate),
            "--trainer.max_epochs", str(s.max_epochs),
            "--data.init_args.max_crops_per_frame", str(s.max_crops_per_frame),
            "--model.freeze", s.freeze,
            "--trainer.default_root_dir", str(out / "runs"),
            "--trainer.logger.init_args.save_dir", str(out / "runs"),
            "--seed_everything", str(seed),
        ],
    )  # fmt: skip
    timings["train_s"] = time.perf_counter() - t
    say(f"      validation macro-F1 {meta['validation']['macro_f1']:.3f} (init {meta['init']})")
    q = meta.get("int8") or {}
    if q.get("argmax_agreement") is not None:
        say(f"      int8 graph for CPU scoring: top class as float32 for {q['argmax_agreement']:.1%} of "
            f"{q['check_crops']} validation crops")

    t = time.perf_counter()
    say("[3/5] scoring every frame of the plate")
    store = out / "plate.h5"
    if store.exists():
        store.unlink()
    summary = score_plate(plate / "images", bundle, store, layout=plate / "layout.csv",
                          progress=sys.stderr.isatty())  # no bar of carriage returns in a log file
    timings["score_s"] = time.perf_counter() - t
    say(f"      {summary['cells']} cells in {summary['done']} frames ({summary['failed']} failed)")

    t = time.perf_counter()
    say("[4/5] fitting dose-response curves, ranking compounds, plate QC")
    results = out / "results"
    wells_csv = export_wells(store, results)
    pool = cell_pool(store, seed=seed)
    gallery = write_gallery(store, results, per_class=10, seed=seed, pool=pool)
    per_compound = write_compound_galleries(store, results, per_mode=6, seed=seed, pool=pool)
    for note in [*gallery.notes, *per_compound.notes]:
        say(f"      note: {note}")
    lines, fitted = fit_demo_wells(wells_csv, plate / "layout.csv", results)
    for line in lines:
        say(f"      {line}")
    timings["fit_s"] = time.perf_counter() - t

    provenance = {
        "ferroscreen_version": __version__,
        "model_bundle": str(bundle),
        "model_sha256": file_sha256(bundle),
        "model_init": meta["init"],
        "validation_macro_f1": meta["validation"]["macro_f1"],
        "training_config": str(config),
        "acquisition": str(plate / "images"),
        "layout": str(plate / "layout.csv"),
        "store": str(store),
        "scoring": scoring_record(read_store(store).attrs),
        "seed": seed,
        "quick": quick,
        "fit": DEMO_FIT,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "created": created_now(),  # UTC, as every output writes it
    }
    # the fit's record as `ferroscreen fit` writes it (fit_demo_wells), then the demo's
    write_json(fitted, {**provenance, **json.loads(fitted.read_text(encoding="utf-8"))})

    t = time.perf_counter()
    say("[5/5] writing the report")
    report = build_report(results, out / "report.html")
    timings["report_s"] = time.perf_counter() - t
    top = _top_hits(results)
    for mode, compound in top.items():
        say(f"      top {mode} hit: {compound}")
    return {"report": report, "results": results, "timings_s": timings, "top_hits": top, "bundle": bundle}


def _top_hits(results: Path) -> dict[str, str]:
    """Mode -> best-ranked active compound, from ``ranking.csv``."""
    path = results / "ranking.csv"
    if not path.is_file():
        return {}
    r = pd.read_csv(path)
    if "tier" in r.columns:
        r = r[r["tier"] == "active"]
    return {str(m): str(g.sort_values("rank").iloc[0]["compound"]) for m, g in r.groupby("mode")}
