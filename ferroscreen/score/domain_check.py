"""Does a model bundle suit the plate it scored? Checks ``score`` makes after scoring, and what it passed over.

A bundle records in its training-data summary what its detector found on the frames it was
trained on (``training_data["detections"]``,
:func:`ferroscreen.datamodules.reference_plate.detection_stats`): detections per frame and
per 10⁶ px (median, 5-95 % range) and the median detection radius. After scoring, a plate whose
detections per 10⁶ px (median over its scored frames) lie more than :data:`DENSITY_FACTOR` outside
that range, or whose median radius is more than :data:`RADIUS_FACTOR` from the bundle's, was
most likely not imaged like the training frames (other cells, magnification or a detector preset
that does not suit them): :func:`domain_warning` says so in one line. A bundle without the record
(written before it was kept, or trained on crop folders, which detect nothing) is not checked.

A plate whose share of detections at the detector's smallest or largest radius lies more than
:data:`AT_LIMITS_MARGIN` above the training frames' warns too: cells the preset's radii do not fit
(spread adherent cells, another magnification) pile up there. The limits were set on simulated
plates (other seeds, seeding densities, frame sizes: none warns) against real adherent
phase-contrast frames scored with a bundle trained on a simulated plate (warns): see the
numbers beside the constants.

:func:`vehicle_dead_warning` reads the wells: a layout's vehicle wells mostly called dead at the
plate's first scan say the model calls healthy cells of this plate dead.

:func:`skipped_line` and :func:`unimaged_wells_line` say what the run passed over: files the
reader could not place (:attr:`ferroscreen.io.Acquisition.skipped`) and layout wells with no image.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

#: A plate's detections per 10⁶ px (median) warn beyond [5th percentile / this, 95th percentile x this] of the
#: training frames'. Measured with the demo detector (suspension, crop_mask 1.5) on simulated plates, the training
#: plate seed 0, 96 wells, 512 px (all frames: 5-95 % 92-683, median 412): seed 1 412; 256 px 412; 1024x768 px 379;
#: 384 wells at 384 px 359; seeding 375 cells/mm² 217, 1500/mm² 790, 2500/mm² 1116 (1.6x the 95th percentile).
#: Seeding densities vary in labs, so the factor is wide. (Real adherent frames give 768: density alone does not
#: tell them apart; the share at the radius limits does.)
DENSITY_FACTOR = 3.0
#: A plate's median detection radius warns beyond [training median / this, training median x this]:
#: 8.0 px on every simulated plate above (the radial detector's radii come in 7 steps from 4 to 16 px).
RADIUS_FACTOR = 1.4
#: A plate's share of detections at the detector's smallest or largest radius warns when more than this (absolute)
#: above the training frames': 0.102 on the training plate above, 0.093-0.115 on the other simulated plates;
#: 0.603 on real adherent phase-contrast frames (Usiigaci, 10x, 1022x1024) with the same preset.
AT_LIMITS_MARGIN = 0.25
#: Vehicle wells whose median alive share at the plate's first scan is below this say the model calls them dead:
#: 0.92 and 0.93 with the demo model (trained on simulated seed 0) on simulated plates of seeds 1 and 2 (12 vehicle
#: wells each); 0.36 with it on the real adherent plate above.
VEHICLE_DEAD_BELOW = 0.5
#: Example file names / wells a line names.
EXAMPLES = 3

#: Store attribute holding the warning lines :func:`ferroscreen.score.runner.score_plate` said after scoring.
WARNINGS_ATTR = "score_warnings"
#: Store attribute holding the notes on what the run passed over (skipped files, layout wells with no image).
PASSED_OVER_ATTR = "passed_over"


def preset_name(detector: dict | None) -> str:
    """The detector preset a bundle's detector settings are (the nearest: ``suspension, 1 setting changed``)."""
    from ferroscreen.crops import detector_config
    from ferroscreen.crops.config import PRESETS, DetectorConfig

    try:
        ours = asdict(detector_config(detector))
    except (TypeError, ValueError):
        return "unknown"
    best, fewest = "", None
    for name in PRESETS:
        theirs = asdict(DetectorConfig.preset(name))
        n = sum(ours[k] != theirs[k] for k in ours)
        if fewest is None or n < fewest:
            best, fewest = name, n
    return best if not fewest else f"{best}, {fewest} setting{'s' if fewest > 1 else ''} changed"


def plate_detections(frames: pd.DataFrame, radii: np.ndarray, radius_limits: list | None = None) -> dict:
    """A scored plate's detections per 10⁶ px (median over its scored frames), median radius, share at the limits.

    ``frames``: the store's frame table (done frames with their ``n_cells``, ``height``, ``width``);
    ``radii``: its cells' radii; ``radius_limits``: the detector's (as the bundle records them: the
    share of ``radii`` at either, ``at_radius_limits``). ``{}`` when no frame is scored.
    """
    from ferroscreen.datamodules.reference_plate import at_limits_share
    from ferroscreen.score.store import DONE

    done = frames[(frames["status"] == DONE) & (frames["height"] > 0) & (frames["width"] > 0)]
    if done.empty:
        return {}
    per_mpx = done["n_cells"].to_numpy(float) / (done["height"].to_numpy(float) * done["width"].to_numpy(float)) * 1e6
    radii = np.asarray(radii, float)
    out = {"frames": int(len(done)), "per_mpx": round(float(np.median(per_mpx)), 3),
           "radius_px": round(float(np.median(radii)), 3) if len(radii) else None}
    if radius_limits and len(radii):
        out["at_radius_limits"] = round(at_limits_share(radii, *radius_limits), 4)
    return out


def domain_warning(plate: str, found: dict, trained: dict, detector: dict | None, model) -> str:
    """One warning line when a plate's detections lie far outside the bundle's training frames' ('' when not).

    ``found``: :func:`plate_detections`; ``trained``: the bundle's ``training_data["detections"]``
    (:func:`~ferroscreen.datamodules.reference_plate.detection_stats`;
    empty: no check); ``detector``: the bundle's detector settings.
    """
    rng = (trained or {}).get("per_mpx") or {}
    if not found or not rng:
        return ""
    low, high = float(rng["p5"]) / DENSITY_FACTOR, float(rng["p95"]) * DENSITY_FACTOR
    density = float(found["per_mpx"])
    off = []
    if density > high or density < low:
        off.append(f"{density:.0f} detections per 10^6 px (median of {found['frames']} frames; its training frames: "
                   f"{float(rng['median']):.0f}, 5-95 % {float(rng['p5']):.0f}-{float(rng['p95']):.0f})")
    r_plate, r_trained = found.get("radius_px"), trained.get("radius_px")
    if r_plate and r_trained and not (r_trained / RADIUS_FACTOR <= r_plate <= r_trained * RADIUS_FACTOR):
        off.append(f"median detection radius {float(r_plate):.1f} px (its training frames: {float(r_trained):.1f} px)")
    at, at_trained = found.get("at_radius_limits"), trained.get("at_radius_limits")
    if at is not None and at_trained is not None and at > float(at_trained) + AT_LIMITS_MARGIN:
        lo, hi = trained["radius_limits"]
        off.append(f"{100 * at:.0f} % of its detections at the preset's smallest or largest radius ({lo:g} or "
                   f"{hi:g} px; its training frames: {100 * float(at_trained):.0f} %): cells the preset does not fit")
    if not off:
        return ""
    preset = trained.get("preset") or preset_name(detector)
    return (f"warning: plate {plate}: the model's detector (preset {preset}) finds {' and '.join(off)}: these "
            f"images are most likely unlike the ones {model} was trained on, and its counts and fractions are not to "
            f"be trusted; check which preset finds these cells with `ferroscreen detect FRAME --detector "
            f"adherent_10x|suspension --out DIR` (overlays), and train a model on your own cells")


def vehicle_dead_warning(plate: str, wells: pd.DataFrame, layout: pd.DataFrame | None, model) -> str:
    """One warning line when the layout's vehicle wells are mostly called dead at the plate's first scan ('' if not).

    ``wells``: the store's well x time aggregates (``share_alive``: the share of cells called alive, else
    ``frac_alive``); a model without an ``alive``
    class, a layout without vehicle wells, or no counted vehicle well at the first scan: no check.
    """
    column = "share_alive" if "share_alive" in wells else "frac_alive"  # the share: export's default estimate
    if layout is None or layout.empty or "role" not in layout or wells.empty or column not in wells:
        return ""
    vehicle = set(layout.loc[layout["role"].astype(str) == "vehicle", "well"].astype(str))
    rows = wells[wells["well"].astype(str).isin(vehicle) & (wells["n_cells"] > 0)]
    if rows.empty:
        return ""
    first = rows[rows["time_h"] == wells["time_h"].min()]
    alive = first[column].dropna()
    if alive.empty or float(alive.median()) >= VEHICLE_DEAD_BELOW:
        return ""
    return (f"warning: plate {plate}: the model calls the vehicle wells dead: at the first scan "
            f"({float(first['time_h'].iloc[0]):g} h) their median share of cells called alive is "
            f"{float(alive.median()):.2f} "
            f"({len(alive)} well(s)); {model} does not suit these cells: train a model on your own cells")


def skipped_line(plate: str, skipped: list[tuple[str, str]], acquisition) -> str:
    """One line on image files the reader passed over ('' when none): count, examples, where to see them all."""
    if not skipped:
        return ""
    names = ", ".join(Path(str(p)).name for p, _ in skipped[:EXAMPLES])
    more = ", ..." if len(skipped) > EXAMPLES else ""
    return (f"warning: plate {plate}: {len(skipped)} file(s) in the acquisition were passed over, not scored "
            f"(names the reader does not place, or duplicates): {names}{more}; see `ferroscreen inspect "
            f"{acquisition}`")


def unimaged_wells(layout: pd.DataFrame | None, frames: pd.DataFrame) -> list[str]:
    """Wells of the layout with no image among ``frames`` (wells with role ``empty`` left out), in plate order."""
    from ferroscreen.plate.wells import well_to_rowcol

    if layout is None or layout.empty:
        return []
    listed = layout[layout["role"].astype(str) != "empty"] if "role" in layout else layout
    imaged = set(frames["well"].astype(str))
    return sorted({str(w) for w in listed["well"]} - imaged, key=well_to_rowcol)


def unimaged_wells_line(plate: str, wells: list[str], layout_source) -> str:
    """One line naming layout wells with no image ('' when none)."""
    if not wells:
        return ""
    shown = ", ".join(wells[:EXAMPLES]) + (", ..." if len(wells) > EXAMPLES else "")
    return (f"warning: plate {plate}: {len(wells)} well(s) of the layout {layout_source} have no image, so no "
            f"counts or curves: {shown}")


def passed_over_lines(plate: str, skipped: list[tuple[str, str]], acquisition, layout: pd.DataFrame | None,
                      frames: pd.DataFrame, layout_source) -> list[str]:
    """:func:`skipped_line` and :func:`unimaged_wells_line` of a run (the ones that apply)."""
    lines = [skipped_line(plate, skipped, acquisition),
             unimaged_wells_line(plate, unimaged_wells(layout, frames), layout_source or "")]
    return [line for line in lines if line]


def scored_warnings(store_path: str | Path, store, meta: dict, layout: pd.DataFrame | None, model) -> list[str]:
    """The warnings on a scored plate: :func:`domain_warning` and :func:`vehicle_dead_warning` (those that apply).

    ``store``: the store as written last (read from ``store_path``: its cells' radii); ``meta``: the
    bundle's metadata (``training_data["detections"]``, ``detector``).
    """
    from ferroscreen.score.store import open_h5

    plate = str(store.attrs.get("plate", ""))
    trained = (meta.get("training_data") or {}).get("detections") or {}
    lines = []
    if trained:
        radii = np.zeros(0)
        if store.attrs.get("n_cells", 0):
            with open_h5(store_path) as f:
                radii = f["cells"]["radius"][:]
        found = plate_detections(store.frames, radii, trained.get("radius_limits"))
        lines.append(domain_warning(plate, found, trained, meta.get("detector"), model))
    lines.append(vehicle_dead_warning(plate, store.wells, layout, model))
    return [line for line in lines if line]
