"""Simulate a whole plate and write it as an IncuCyte image export with truth.

Output folder layout::

    OUT/images/VID1_phase_B2_1_00d04h00m.tif   8-bit single-page TIFF (zlib)
    OUT/layout.csv                              plate layout (foundation schema)
    OUT/truth.json                              parameters, per-well time courses
    OUT/truth_cells.csv                         every visible cell of every frame

Wells are simulated independently (optionally in worker processes); each
well × field draws from ``numpy.random.default_rng([seed, row, col, field, ...])``
so the files are byte-identical for a seed whatever the worker count.

A plate is put in place whole or not at all: images go to the hidden
``OUT/.images.tmp/`` and the tables to ``OUT/.NAME.tmp``
(:class:`~ferroscreen.output_set.OutputSet`), renamed to their names once every
file is written. A run that fails or is interrupted (Ctrl-C; SIGTERM too, which the
``simulate`` command turns into the same interruption) removes them and
leaves ``OUT`` as it was; a killed run (SIGKILL) leaves only these hidden names,
which do not count as a plate and which the next run into ``OUT`` writes over.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import tifffile

from ferroscreen import __version__
from ferroscreen.cores import usable_cores
from ferroscreen.errors import WellError
from ferroscreen.io.incucyte import incucyte_export_name
from ferroscreen.output_set import OutputSet
from ferroscreen.plate import PlateFormat, normalize_well, well_to_rowcol
from ferroscreen.simulate.config import SimulationConfig, SimulationConfigError
from ferroscreen.simulate.library import CLASSES, DEATH_MODES, Library
from ferroscreen.simulate.morphology import STAGE_HOURS, STAGES, cell_spec
from ferroscreen.simulate.optics import add_specks, floating_specks, form_image, make_field_optics
from ferroscreen.simulate.pharmacology import WellPharmacology, well_pharmacology
from ferroscreen.simulate.plate_map import WellPlan, plan_plate, plans_to_layout
from ferroscreen.simulate.population import is_mitotic, simulate_lineages, track_positions
from ferroscreen.simulate.rendering import draw_cell
from ferroscreen.simulate.truth import CELL_COLUMNS, cells_frame, write_truth

#: Canvas margin (µm) simulated around each field so cells drift in and out.
MARGIN_UM = 25.0
#: Padding (px) of the drawing canvas around the image so border cells are complete.
PAD_PX = 40


@dataclass
class SimulationResult:
    """What :func:`simulate_plate` wrote.

    Attributes:
        out: The output folder.
        n_images: Number of TIFF frames written.
        n_cells: Number of truth-cell rows.
        seconds: Wall time.
    """

    out: Path
    n_images: int
    n_cells: int
    seconds: float


@dataclass(frozen=True)
class _WellJob:
    plan: WellPlan
    pharm: WellPharmacology
    config: SimulationConfig
    doubling_time_h: float
    images: str


_PLATE_FILES = ("layout.csv", "truth.json", "truth_cells.csv")
#: Hidden folders of the images of a run in progress and of a replaced plate (see the module docstring).
_STAGING, _ASIDE = ".images.tmp", ".images.old"


def _refuse_earlier_plate(out: Path, replace: bool) -> None:
    """Refuse ``out`` when it holds a plate, unless ``replace`` (the plate is replaced at the end)."""
    images = out / "images"
    held = [n for n in _PLATE_FILES if (out / n).exists()]
    if images.is_dir() and any(images.iterdir()):
        held.insert(0, "images/")
    if held and not replace:
        raise SimulationConfigError(f"simulate: {out}: already holds a plate ({', '.join(held)}); "
                                    "give a new folder, remove it or replace it (--replace)")


def _put_images_in_place(out: Path, outputs: OutputSet) -> None:
    """Rename the staged images to ``out/images`` and commit ``outputs``, all or none.

    An earlier ``images/`` is set aside first and deleted at the end; if a rename fails, the steps
    done are undone and the error raised: ``out`` holds its earlier plate.
    """
    images, staging, aside = out / "images", out / _STAGING, out / _ASIDE
    shutil.rmtree(aside, ignore_errors=True)
    had_images = images.is_dir()
    if had_images:
        os.replace(images, aside)
    try:
        os.replace(staging, images)
    except OSError:
        if had_images:
            os.replace(aside, images)
        raise
    try:
        outputs.commit()
    except OSError:
        os.replace(images, staging)
        if had_images:
            os.replace(aside, images)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def simulate_plate(
    out: str | Path,
    library: Library,
    config: SimulationConfig,
    progress: bool = False,
    replace: bool = False,
) -> SimulationResult:
    """Simulate a plate and write images, layout and truth under ``out``.

    The plate is put in place whole once written (see the module docstring): a run that fails or
    is interrupted leaves ``out`` as it was (a folder it created is removed).

    Args:
        out: Output folder (created). One that already holds a plate (``images/`` with files,
            ``layout.csv``, ``truth.json`` or ``truth_cells.csv``) is refused: the new plate's
            images would lie beside the old ones under a layout and truth of the new plate only.
        replace: Replace an earlier simulated plate in ``out`` (its ``images/`` folder and
            truth files) instead of refusing; it is kept if this run fails.
        library: Compounds, rescue agents and plate maps.
        config: Run settings.
        progress: Show a progress bar on stderr.

    Returns:
        A summary of what was written.

    Raises:
        LibraryError: If the library has no map for the plate format.
        SimulationConfigError: If ``config.wells`` names wells not on the plate, or ``out``
            holds a plate and ``replace`` is false.
    """
    start = time.perf_counter()
    out = Path(out)
    _refuse_earlier_plate(out, replace)
    plans = plan_plate(library, config.plate_format)
    fmt = PlateFormat.from_n_wells(config.plate_format)
    if config.wells:
        try:
            wanted = {normalize_well(w, fmt) for w in config.wells}
        except WellError as exc:
            raise SimulationConfigError(f"simulate: --wells: {exc}") from None
        plans = [p for p in plans if p.well in wanted]
    staging = out / _STAGING
    # everything that can fail on the library is worked out before the first file is written
    layout = plans_to_layout(plans, config.plate_format, config.plate_id)
    jobs = [
        _WellJob(
            plan=p,
            pharm=well_pharmacology(p, library, edge=fmt.is_edge(p.well),
                                    edge_effects=config.edge_effects),
            config=config,
            doubling_time_h=library.doubling_time_h,
            images=str(staging),
        )
        for p in plans
    ]
    created = not out.exists()
    outputs = OutputSet(out)
    try:  # makes the folder and takes its lock: a second run into it stops here, before touching the first's files
        layout_tmp = outputs.path("layout.csv")
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    try:
        shutil.rmtree(staging, ignore_errors=True)  # the leftover of a killed run
        staging.mkdir()
        layout.to_csv(layout_tmp)
        results = _simulate_wells(jobs, config, progress)
        columns = {c: [] for c in CELL_COLUMNS}
        frames = []
        for res in results:
            for c in CELL_COLUMNS:
                columns[c].extend(res["cells"][c])
            frames.extend(res["frames"])
        cells = cells_frame(columns)
        meta = _truth_meta(library, config, jobs, frames)
        write_truth(outputs, cells, meta, [p.well for p in plans], config.times_h)
        _put_images_in_place(out, outputs)
    except BaseException:  # Ctrl-C too: leave out as it was
        outputs.discard()
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return SimulationResult(out, len(frames), len(cells), time.perf_counter() - start)


def _simulate_wells(jobs: list[_WellJob], config: SimulationConfig, progress: bool) -> list[dict]:
    """Run :func:`simulate_well` on every job, in worker processes when ``config.workers`` allows.

    Without ``config.workers``: one per usable core (:func:`ferroscreen.cores.usable_cores`), at most 8.

    On an error or Ctrl-C the wells not started are cancelled and the workers ended before it is
    raised, so no worker writes on afterwards.
    """
    workers = config.workers or min(usable_cores(), 8)
    workers = max(1, min(workers, len(jobs)))
    results = []
    bar = _progress(progress, len(jobs))
    try:
        if workers == 1:
            for job in jobs:
                results.append(simulate_well(job))
                bar.advance()
        else:
            pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"))
            try:
                for res in pool.map(simulate_well, jobs, chunksize=1):
                    results.append(res)
                    bar.advance()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
    return results


class _Bar:
    def __init__(self, enabled: bool, total: int) -> None:
        self._p = None
        if enabled:
            from rich.console import Console
            from rich.progress import Progress

            self._p = Progress(console=Console(stderr=True), transient=False)
            self._p.start()
            self._task = self._p.add_task("simulating wells", total=total)

    def advance(self) -> None:
        if self._p is not None:
            self._p.advance(self._task)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()


def _progress(enabled: bool, total: int) -> _Bar:
    return _Bar(enabled, total)


def simulate_well(job: _WellJob) -> dict:
    """Simulate and write every field and frame of one well.

    Returns:
        ``{"cells": column lists of truth rows, "frames": per-frame records}``.
    """
    cfg = job.config
    plan = job.plan
    row, col = well_to_rowcol(plan.well)
    w, h = cfg.image_size
    margin = int(round(MARGIN_UM / cfg.pixel_size_um))
    canvas_wh = (w + 2 * margin, h + 2 * margin)
    area_mm2 = canvas_wh[0] * canvas_wh[1] * (cfg.pixel_size_um * 1e-3) ** 2
    times = cfg.times_h
    t_end = times[-1] if times else 0.0
    cols: dict[str, list] = {c: [] for c in CELL_COLUMNS}
    frames = []
    modes = ("alive", *DEATH_MODES)
    for field in range(1, cfg.fields + 1):
        rng_pop = np.random.default_rng([cfg.seed, row, col, field, 0])
        rng_opt = np.random.default_rng([cfg.seed, row, col, field, 1])
        n0 = int(rng_pop.poisson(cfg.density_per_mm2 * area_mm2)) if job.pharm.has_cells else 0
        cells = simulate_lineages(rng_pop, n0, job.pharm, job.doubling_time_h, t_end)
        track = track_positions(rng_pop, cells, times, canvas_wh, cfg.pixel_size_um)
        optics = make_field_optics(
            rng_opt, len(times), (w, h), canvas_wh, edge=PlateFormat.from_n_wells(
                cfg.plate_format).is_edge(plan.well) and cfg.edge_effects,
            defocus_rate=cfg.defocus_rate, empty_rate=cfg.empty_rate,
        )
        for k, fr in enumerate(track):
            rng_frame = np.random.default_rng([cfg.seed, row, col, field, 2, k])
            delta = np.zeros((h + 2 * PAD_PX, w + 2 * PAD_PX), dtype=np.float32)
            shift_x = margin + optics.drift[k, 0]
            shift_y = margin + optics.drift[k, 1]
            t = fr.time_h
            mitotic = is_mitotic(cells, fr.idx, t)
            for j, ci in enumerate(fr.idx):
                xi, yi = fr.x[j] - shift_x, fr.y[j] - shift_y
                if not (-PAD_PX < xi < w + PAD_PX and -PAD_PX < yi < h + PAD_PX):
                    continue
                dead = cells.death_h[ci] <= t
                mode = modes[cells.mode[ci] + 1] if dead else "alive"
                tau = t - cells.death_h[ci] if dead else None
                spec, stage = cell_spec(cells.traits, int(ci), float(fr.radius_px[j]), mode, tau,
                                        mitotic=bool(mitotic[j]))
                draw_cell(delta, xi + PAD_PX, yi + PAD_PX, spec)
                if 0 <= xi < w and 0 <= yi < h:
                    radius = spec.radius
                    for dx, dy, r in spec.bodies:
                        radius = max(radius, math.hypot(dx, dy) + r)
                    cols["plate"].append(cfg.plate_id)
                    cols["well"].append(plan.well)
                    cols["field"].append(field)
                    cols["time_h"].append(t)
                    cols["cell_id"].append(int(ci))
                    cols["x"].append(float(xi))
                    cols["y"].append(float(yi))
                    cols["radius"].append(float(radius))
                    cols["class"].append(mode)
                    cols["stage"].append(stage)
                    cols["contrast"].append(spec.contrast)
                    cols["parent_id"].append(int(cells.parent[ci]))
            if len(optics.debris):
                d = optics.debris.copy()
                d[:, 0] += PAD_PX - shift_x
                d[:, 1] += PAD_PX - shift_y
                add_specks(delta, d)
            add_specks(delta, floating_specks(rng_frame, (w + 2 * PAD_PX, h + 2 * PAD_PX)))
            img = form_image(rng_frame, delta[PAD_PX : PAD_PX + h, PAD_PX : PAD_PX + w],
                             optics, k)
            name = incucyte_export_name(cfg.vid, plan.well, field, t)
            tifffile.imwrite(
                os.path.join(job.images, name), img, compression="zlib",
                compressionargs={"level": 1}, metadata=None,
            )
            frames.append({
                "well": plan.well, "field": field, "time_h": t,
                "artifact": optics.artifact[k], "focus": round(float(optics.focus[k]), 3),
                "drift_x": round(float(optics.drift[k, 0]), 2),
                "drift_y": round(float(optics.drift[k, 1]), 2),
                "file": name,
            })
    return {"cells": cols, "frames": frames}


def _truth_meta(library: Library, config: SimulationConfig, jobs: list[_WellJob],
                frames: list[dict]) -> dict:
    wells = {}
    for job in jobs:
        p = job.plan
        wells[p.well] = {
            "compound": p.compound,
            "concentration": p.concentration if math.isfinite(p.concentration) else None,
            "role": p.role,
            "mode": p.mode,
            "rescue_agent": p.rescue_agent,
            "rescue_concentration": (
                p.rescue_concentration if math.isfinite(p.rescue_concentration) else None
            ),
            "replicate": p.replicate,
            "edge": PlateFormat.from_n_wells(config.plate_format).is_edge(p.well),
            "pharmacology": job.pharm.to_dict(),
        }
    used = {j.plan.compound for j in jobs}
    return {
        "ferroscreen_version": __version__,
        "library": library.name,
        "plate": config.plate_id,
        "config": config.to_dict(),
        "times_h": config.times_h,
        "classes": list(CLASSES),
        "stages": {k: list(v) for k, v in STAGES.items()},
        "stage_hours": {k: list(v) for k, v in STAGE_HOURS.items()},
        "definitions": {
            "cell": "listed in a frame when it exists (born, not divided, not yet gone after "
                    "fading) and its centre lies inside the image; listed on empty/defocused "
                    "frames too",
            "class": "alive before death onset, then its death mode for every later stage",
            "n_cells": "listed cells of the well at that time, summed over fields",
            "frac_<class>": "n_<class> / n_cells (0 when n_cells is 0)",
            "radius": "mean outline radius in px (for fragmented apoptotic cells: the "
                      "centred circle holding all apoptotic bodies)",
            "x, y": "cell centre in image pixels (column, row), frame drift included",
        },
        "background": {
            "death_per_h": library.background_death_per_h,
            "modes": library.background_modes,
            "doubling_time_h": library.doubling_time_h,
        },
        "compounds": {
            name: c.to_dict() for name, c in library.compounds.items() if name in used
        },
        "rescue_agents": {name: a.to_dict() for name, a in library.rescue_agents.items()},
        "wells": wells,
        "frames": sorted(frames, key=lambda f: (f["well"], f["field"], f["time_h"])),
    }

