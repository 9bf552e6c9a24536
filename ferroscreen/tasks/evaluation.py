"""Evaluating a classifier bundle: on labelled crop folders or a simulated plate's truth.

On a simulated plate (a folder with ``images/`` and ``truth_cells.csv``), each
evaluated frame is detected with the bundle's detector; a detection is
matched one-to-one to the true cell whose disc contains its centre (nearest
first); matched crops are classified and compared with the true class.
Detection precision/recall/F1 and crop-level classification metrics are
reported. A tile-mode bundle detects nothing (it reads a fixed grid of tiles): there
is no detection to score, and each tile is scored against a tile truth
(:mod:`ferroscreen.tasks.tile_truth`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from ferroscreen.analysis.classification import classification_report, confusion_matrix
from ferroscreen.crops import (
    CropNormalization,
    detect_cells,
    detector_config,
    match_detections,
    normalize_frame,
    tile_boxes,
)
from ferroscreen.csv_tables import read_csv_table
from ferroscreen.datamodules.crop_folders import crop_images, labelled_crop_files, load_crop
from ferroscreen.errors import FerroscreenError
from ferroscreen.hashing import bundle_content_sha256
from ferroscreen.io import load_image, open_acquisition
from ferroscreen.io.scans import later_scans
from ferroscreen.models.bundle import Bundle, load_bundle
from ferroscreen.models.precision import autocast, emulated_bf16_note, resolve_precision
from ferroscreen.models.tta import tta_proba
from ferroscreen.score.dataset import cut_crops
from ferroscreen.tasks.tile_truth import (
    TILE_TRUTHS,
    cells_per_tile,
    majority_class,
    well_mode_rule,
    well_mode_tile_labels,
)


@torch.no_grad()
def predict_crops(bundle: Bundle, crops: np.ndarray, batch_size: int = 256, precision: str = "32",
                  tta: bool = False) -> np.ndarray:
    """Calibrated probabilities (N, n_classes) for crops (N, [C,] S, S) at a resolved ``precision`` (32/bf16/int8).

    ``tta`` averages the 8 dihedral views of each crop (:mod:`ferroscreen.models.tta`).
    """
    if len(crops) == 0:
        return np.zeros((0, len(bundle.classes)), np.float32)
    if tta:
        return tta_proba(lambda view: predict_crops(bundle, view, batch_size, precision), crops)
    if precision == "int8":
        return bundle.int8_forward().predict_proba_numpy(crops, batch_size)
    out = []
    net = bundle.inference_net() if precision == "bf16" else bundle.net
    with autocast(precision, "cpu"):
        for i in range(0, len(crops), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(crops[i : i + batch_size], dtype=np.float32))
            out.append(net.predict_proba(x).numpy())
    return np.concatenate(out)


def evaluate_crop_folder(root: Path, bundle: Bundle, precision: str = "32", tta: bool = False) -> dict:
    """Metrics on ``root/<class>/*`` (or ``root/val/<class>/*`` when a val split exists)."""
    tree = root / "val" if (root / "val").is_dir() else root
    if bundle.next_scan:
        raise FerroscreenError(f"{bundle.path}: the model reads each cell's next scan too; a crop folder has one "
                               "image per cell (evaluate it on a plate)")
    classes = bundle.classes
    notes: list[str] = []
    paths, labels = labelled_crop_files(tree, classes, "classes of the model", notes)
    norm = crop_image_normalization(bundle, notes)
    crops = [load_crop(p, bundle.crop_size, norm) for p in paths]
    if not crops:
        loose = [q for q in crop_images(tree) if q.parent == tree]
        where = (f"{len(loose)} image(s) lie in the folder itself, where no class is named" if loose
                 else "no class sub-folder holds images")
        raise FerroscreenError(f"{tree}: no crop images found: {where} (expected {tree}/<class>/*.png, "
                               f"classes of the model: {', '.join(classes)})")
    probs = predict_crops(bundle, np.stack(crops), precision=precision, tta=tta)
    cm = confusion_matrix(np.asarray(labels), probs.argmax(1), len(classes))
    return {"kind": "crop_folder", "data": str(tree), **classification_report(cm, classes),
            **({"notes": notes} if notes else {})}


def crop_image_normalization(bundle: Bundle, notes: list[str]) -> CropNormalization | None:
    """How to normalise crop images for ``bundle`` (``None``: per-crop percentile scaling, as crop folders train).

    A bundle trained on whole frames normalised them before cutting crops; a crop image has no
    frame around it, so its own pixels stand in (``background``: the crop's median as the
    background level), and ``notes`` says so.
    """
    if bundle.trained_on_crop_images:
        return None
    norm = bundle.normalization
    how = ("normalised to its own median as the background" if norm.method == "background"
           else "scaled by its own percentiles")
    notes.append(f"{bundle.path}: the model was trained on crops cut from whole frames ({norm.method} "
                 f"normalisation{', crop mask' if (bundle.meta.get('detector') or {}).get('crop_mask') else ''}); "
                 f"each crop image here is {how}, so the figures can differ from what `score` gives on plates")
    return norm


def evaluate_simulated_plate(root: Path, bundle: Bundle, max_frames: int | None = 300, seed: int = 0,
                             precision: str = "32", tta: bool = False) -> dict:
    """Detection + classification metrics against ``truth_cells.csv``.

    Crops are cut around the detections matched to a true cell (centre within
    its radius) and scored against that cell's class (a next-scan model also
    gets the same boxes from the site's next scan, as ``score`` cuts them). Besides the crop-level
    report, ``per_stage`` breaks the true classes down by the simulator's
    morphological stage (``n``, ``recall``: share predicted as the true class,
    ``predicted``: counts per predicted class), which shows where errors
    concentrate, e.g. first stages that still look alive.

    A tile-mode bundle (detector ``mode: tiles``) is evaluated per tile instead:
    :func:`evaluate_simulated_tiles`.
    """
    cfg = detector_config(bundle.meta["detector"])
    if cfg.mode == "tiles":
        return evaluate_simulated_tiles(root, bundle, max_frames, seed, precision, tta)
    truth, frames, following, frame_truth = _plate_frames(root, bundle, max_frames, seed)
    interval_note = bundle.interval_mismatch(truth)  # every scan's time; as score warns of the plate
    norm = bundle.normalization
    classes = bundle.classes
    y_true, y_pred, stages, det_tp, det_fp, det_fn = [], [], [], 0, 0, 0
    foreign: dict[str, int] = {}  # matched cells of classes the model does not have
    for idx, row, t in zip(frames.index, frames.itertuples(index=False), frame_truth, strict=True):
        raw = load_image(row.path)
        img = normalize_frame(raw)
        det = detect_cells(img, cfg)
        m = match_detections(det, t)
        det_tp, det_fp, det_fn = det_tp + m["tp"], det_fp + m["fp"], det_fn + m["fn"]
        pairs = np.asarray(m["pairs"]).reshape(-1, 2)
        if len(pairs) == 0:
            continue
        di, ti = pairs[:, 0], pairs[:, 1]
        matched_det = det.iloc[di].reset_index(drop=True)
        _, crops, _ = cut_crops(raw, img, cfg, bundle.crop_size, norm,
                                False if following is None else following.at[idx], matched_det)
        probs = predict_crops(bundle, crops, precision=precision, tta=tta)
        matched = t.iloc[ti]
        true_stage = matched["stage"].tolist() if "stage" in matched else matched["class"].tolist()
        for c, st, p in zip(matched["class"].tolist(), true_stage, probs.argmax(1), strict=True):
            if c in classes:
                y_true.append(classes.index(c))
                y_pred.append(int(p))
                stages.append(str(st))
            else:
                foreign[str(c)] = foreign.get(str(c), 0) + 1
    cm = confusion_matrix(np.asarray(y_true, int), np.asarray(y_pred, int), len(classes))
    notes = ([_foreign_note(root, foreign, len(y_true), classes)] if foreign else []) + (
        [f"{bundle.path}: {bundle.frame_note}"] if bundle.frame_note else []) + (
        [f"{bundle.path}: {interval_note}"] if interval_note else [])
    precision = det_tp / (det_tp + det_fp) if det_tp + det_fp else 0.0
    recall = det_tp / (det_tp + det_fn) if det_tp + det_fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "kind": "simulated_plate",
        "data": str(root),
        "n_frames": int(len(frames)),
        "detection": {"precision": precision, "recall": recall, "f1": f1, "tp": det_tp, "fp": det_fp, "fn": det_fn},
        **classification_report(cm, classes),
        "per_stage": stage_report(np.asarray(y_true, int), np.asarray(y_pred, int), stages, classes,
                                  _stage_order(root)),
        **({"notes": notes} if notes else {}),
    }


def _plate_frames(root: Path, bundle: Bundle, max_frames: int | None, seed: int):
    """The simulated plate's frames to evaluate (at most ``max_frames``, a seeded draw), and their truth.

    Returns:
        ``(truth, frames, following, frame_truth)``: all of ``truth_cells.csv``; the frame table
        rows drawn; each frame's later scans for a next-scan bundle (``None``: not one); and per
        frame (in order) its true cells (empty where the truth has no time within half a minute).
    """
    truth = read_csv_table(root / "truth_cells.csv", "a truth table")  # a file cut mid-row is one line, not 4 cells
    acq = open_acquisition(root / "images" if (root / "images").is_dir() else root)
    frames = acq.frames
    following = later_scans(frames, bundle.next_scan)
    if max_frames is not None and len(frames) > max_frames:
        idx = np.sort(np.random.default_rng(seed).choice(len(frames), max_frames, replace=False))
        frames = frames.iloc[idx]
    truth_time = nearest_truth_times(frames["time_h"].to_numpy(float), truth["time_h"].unique())
    tkey = truth.set_index(["well", "field", "time_h"]).sort_index()
    frame_truth = []
    for row, t_truth in zip(frames.itertuples(index=False), truth_time, strict=True):
        key = (row.well, int(row.field), t_truth)
        frame_truth.append(tkey.loc[[key]].reset_index() if not math.isnan(t_truth) and key in tkey.index
                           else truth.iloc[:0])  # [[key]]: a frame of one cell gives a table too
    return truth, frames, following, frame_truth


def evaluate_simulated_tiles(root: Path, bundle: Bundle, max_frames: int | None = 300, seed: int = 0,
                             precision: str = "32", tta: bool = False) -> dict:
    """Tile-level classification metrics of a tile-mode bundle against ``truth_cells.csv``.

    A tile-mode bundle reads the fixed grid of :func:`~ferroscreen.crops.tile_boxes` (its
    ``tile_size``/``tile_stride``), so there is no cell detection to score: ``detection`` and
    ``per_stage`` are absent and a note says so. Every tile is cut as ``score`` cuts it, classified,
    and compared with a tile truth (:mod:`ferroscreen.tasks.tile_truth`):

    * ``tile_truth`` names the truth of the top-level figures: ``well_mode`` (the rule training
      labelled its tiles by, on this plate's layout: ``well_mode_rule`` holds the window and roles
      the bundle records) for a bundle trained on a plate's reference wells, else ``cell_majority``;
      ``tile_truth_rule`` says it in words. Only tiles of frames the well rule labels are scored by it.
    * ``cell_majority`` (beside a ``well_mode`` report) scores every tile with true cells against the
      class most of its cells hold: where the well's mode and the cells inside disagree (a
      ferroptosis well's tile of cells still alive) the two views differ.

    A tile with no true cell centre inside is left out of both and counted apart
    (``tiles.no_true_cell``, with what the model calls them), as are tiles whose majority class
    the model does not have (``tiles.foreign``). ``n`` is the number of tiles scored by the
    top-level truth; ``tiles.n`` all tiles cut from the ``n_frames`` frames.
    """
    cfg = detector_config(bundle.meta["detector"])
    truth, frames, following, frame_truth = _plate_frames(root, bundle, max_frames, seed)
    classes = bundle.classes
    names = classes + sorted({str(c) for c in truth["class"].unique()} - set(classes))
    code = {c: i for i, c in enumerate(names)}
    notes: list[str] = []
    rule = well_mode_rule(bundle.meta)
    well_labels = None
    if rule is None:
        notes.append(f"{bundle.path}: the bundle does not record training on a plate's reference wells (how its "
                     f"tiles were labelled): tiles are scored by the majority true class of their cells only")
    else:
        try:
            well_labels = well_mode_tile_labels(root, classes, rule)
        except FerroscreenError as exc:
            notes.append(f"tiles cannot be labelled as training labelled them ({exc}): they are scored by the "
                         f"majority true class of their cells only")
    views: dict[str, tuple[list[int], list[int]]] = {"cell_majority": ([], []), "well_mode": ([], [])}
    n_tiles = n_tied = n_outside = 0
    empty_pred = np.zeros(len(classes), np.int64)
    foreign: dict[str, int] = {}  # tiles whose cells are mostly of a class the model does not have
    for idx, row, t in zip(frames.index, frames.itertuples(index=False), frame_truth, strict=True):
        raw = load_image(row.path)
        _, crops, _ = cut_crops(raw, normalize_frame(raw), cfg, bundle.crop_size, bundle.normalization,
                                False if following is None else following.at[idx])
        boxes = tile_boxes(raw.shape, cfg.tile_size, cfg.tile_stride)  # the grid cut_crops cut, in its order
        pred = predict_crops(bundle, crops, precision=precision, tta=tta).argmax(1)
        counts = cells_per_tile(boxes, t, t["class"].astype(str).map(code).to_numpy(), len(names))
        has = counts.sum(1) > 0
        n_tiles += len(boxes)
        empty_pred += np.bincount(pred[~has], minlength=len(classes))
        major, tied = majority_class(counts[has])
        n_tied += int(tied.sum())
        for m, p in zip(major.tolist(), pred[has].tolist(), strict=True):
            if m < len(classes):
                views["cell_majority"][0].append(m)
                views["cell_majority"][1].append(p)
            else:
                foreign[names[m]] = foreign.get(names[m], 0) + 1
        if well_labels is not None:
            label = well_labels.get(str(Path(row.path).resolve()))
            if label is None:
                n_outside += int(has.sum())
            else:
                views["well_mode"][0].extend([label] * int(has.sum()))
                views["well_mode"][1].extend(pred[has].tolist())

    def report(view: str) -> dict:
        y, p = views[view]
        cm = confusion_matrix(np.asarray(y, int), np.asarray(p, int), len(classes))
        return {"tile_truth": view, "tile_truth_rule": TILE_TRUTHS[view], **classification_report(cm, classes)}

    n_empty = int(empty_pred.sum())
    if n_empty:
        called = ", ".join(f"{c} {int(k)}" for c, k in zip(classes, empty_pred, strict=True) if k)
        notes.append(f"{n_empty} of {n_tiles} tiles hold no true cell centre: counted apart (tiles.no_true_cell), "
                     f"not scored; the model calls them {called}")
    if foreign:
        counts_text = ", ".join(f"{c} {k}" for c, k in sorted(foreign.items()))
        notes.append(f"{root}: {sum(foreign.values())} tile(s) hold mostly cells of class(es) the model does not have "
                     f"({counts_text}; model classes {', '.join(classes)}) and are left out of the cell_majority "
                     f"figures")
    if bundle.frame_note:
        notes.append(f"{bundle.path}: {bundle.frame_note}")
    primary = "well_mode" if well_labels is not None else "cell_majority"
    truth_said = ("its well's class, as training labelled tiles (tile_truth well_mode), and by the majority true "
                  "class of its cells (cell_majority)" if primary == "well_mode"
                  else "the majority true class of its cells (tile_truth cell_majority)")
    notes.insert(0, f"tile mode: no cell detection to score ({bundle.path} reads fixed {cfg.tile_size} px tiles, "
                    f"not detected cells); each tile holding a true cell is scored against {truth_said}")
    tiles = {"n": n_tiles, "no_true_cell": n_empty,
             "no_true_cell_predicted": {c: int(k) for c, k in zip(classes, empty_pred, strict=True)},
             "cell_majority_ties": n_tied, "foreign": foreign}
    if well_labels is not None:
        tiles["outside_well_rule"] = n_outside
    return {
        "kind": "simulated_plate",
        "data": str(root),
        "n_frames": int(len(frames)),
        "detector_mode": "tiles",
        "tile_size": int(cfg.tile_size),
        "tile_stride": int(cfg.tile_stride or cfg.tile_size),
        **report(primary),
        **({"well_mode_rule": rule} if well_labels is not None else {}),
        **({"cell_majority": report("cell_majority")} if primary != "cell_majority" else {}),
        "tiles": tiles,
        "notes": notes,
    }


def nearest_truth_times(frame_times_h: np.ndarray, truth_times_h: np.ndarray) -> list[float]:
    """Per frame time, the nearest time of the truth within half a minute (NaN where none is).

    Scan times are whole minutes in the file names (``01h20m``: the reader's 1.3333333333333333 h);
    a truth may hold them to fewer decimals (1.3333) or, from an older simulator, with drift
    (0.9999 for 01h00m), so frames are matched to the truth's times by nearness, not equality.
    """
    truth = np.sort(np.asarray(truth_times_h, float))
    truth = truth[np.isfinite(truth)]
    if not len(truth):
        return [math.nan] * len(frame_times_h)
    frame = np.asarray(frame_times_h, float)
    pos = np.clip(np.searchsorted(truth, frame), 1, max(len(truth) - 1, 1))
    lo, hi = truth[pos - 1], truth[np.minimum(pos, len(truth) - 1)]
    near = np.where(np.abs(frame - lo) <= np.abs(hi - frame), lo, hi)
    return [float(t) if abs(t - f) <= 0.5 / 60 else math.nan for t, f in zip(near, frame, strict=True)]


def _foreign_note(root: Path, foreign: dict[str, int], n_used: int, classes: list[str]) -> str:
    """The note on matched true cells left out because the model lacks their class."""
    n = sum(foreign.values())
    counts = ", ".join(f"{c} {k}" for c, k in sorted(foreign.items()))
    return (f"{root}: {n} of {n + n_used} matched cells are of class(es) the model does not have ({counts}; "
            f"model classes {', '.join(classes)}) and are left out of the classification figures")


def stage_report(
    y_true: np.ndarray, y_pred: np.ndarray, stages: list[str], classes: list[str], order: dict | None = None
) -> list[dict]:
    """Recall per (true class, stage), in class order, stages as listed in ``order[class]`` then by name."""
    out = []
    stages_arr = np.asarray(stages, dtype=object)
    for k, name in enumerate(classes):
        sel = y_true == k
        known = list((order or {}).get(name, ()))
        rank = {st: i for i, st in enumerate(known)}
        for st in sorted(set(stages_arr[sel].tolist()), key=lambda x: (rank.get(x, len(known)), x)):
            m = sel & (stages_arr == st)
            pred = np.bincount(y_pred[m], minlength=len(classes))
            out.append({"class": name, "stage": st, "n": int(m.sum()), "recall": float(pred[k] / m.sum()),
                        "predicted": {c: int(v) for c, v in zip(classes, pred, strict=True)}})
    return out


def _stage_order(root: Path) -> dict:
    """The simulator's stage order per class from ``truth.json`` (empty when absent or unreadable)."""
    try:
        stages = json.loads((root / "truth.json").read_text()).get("stages", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return stages if isinstance(stages, dict) else {}


def evaluate_path(data: Path, model: Path, max_frames: int | None = 300, precision: str = "auto",
                  tta: bool = False) -> dict:
    """Dispatch on ``data``: a simulated plate (has ``truth_cells.csv``) or a crop folder.

    ``precision`` is resolved as ``score`` resolves it on the CPU (``auto``: int8
    when the bundle has an int8 graph), so the figures are those of what ``score`` runs;
    ``tta`` scores every crop as ``score --tta`` does.
    """
    data = Path(data)
    bundle = load_bundle(model)
    if not data.is_dir():
        raise FerroscreenError(f"{data}: not a folder (expected a crop folder or a simulated plate)")
    if precision == "int8":
        bundle.int8_forward()  # a bundle without a graph, or no onnxruntime: one line naming the bundle
    try:
        resolved = resolve_precision(precision, "cpu", bundle.int8_runnable)
    except ValueError as exc:
        raise FerroscreenError(f"{model}: {exc}") from None
    bf16_note, precision = emulated_bf16_note(precision, "cpu"), resolved
    if (data / "truth_cells.csv").is_file():
        result = evaluate_simulated_plate(data, bundle, max_frames, precision=precision, tta=tta)
    elif not any(data.iterdir()):
        raise FerroscreenError(f"{data}: empty folder (expected a crop folder, one sub-folder of images per class, "
                               f"or a simulated plate with truth_cells.csv)")
    elif ((data / "images").is_dir() and "images" not in bundle.classes) or (data / "layout.csv").is_file():
        raise FerroscreenError(f"{data}: a plate without truth_cells.csv: evaluate scores a simulated plate against "
                               f"its truth, or a crop folder (one sub-folder of images per class)")
    else:
        result = evaluate_crop_folder(data, bundle, precision=precision, tta=tta)
    result["model"] = str(model)
    result["model_sha256"] = bundle.sha256
    result["model_content_sha256"] = bundle_content_sha256(bundle.path)  # the same for a bundle trained alike
    result["precision"] = precision
    result["tta"] = bool(tta)
    result["next_scan"] = bundle.next_scan
    if bf16_note:
        result["notes"] = [*result.get("notes", []), bf16_note]
    return result


def _metric_cell(value: float | None, width: int) -> str:
    """A per-class measure right-aligned in ``width``: three decimals, or ``n/a`` where it is undefined."""
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}.3f}"


def _report_lines(r: dict) -> list[str]:
    """The per-class table, macro-F1 and confusion matrix of a classification report, as text lines."""
    lines = [f"{'class':<14}{'precision':>10}{'recall':>10}{'F1':>8}{'support':>9}"]
    for name, m in r["per_class"].items():
        lines.append(f"{name:<14}{_metric_cell(m['precision'], 10)}{_metric_cell(m['recall'], 10)}"
                     f"{_metric_cell(m['f1'], 8)}{m['support']:>9}")
    covered = r.get("macro_f1_classes", r["classes"])
    absent = [c for c in r["classes"] if c not in covered]
    over = (f" over {', '.join(covered)} ({', '.join(absent)}: no true items, recall and F1 n/a)"
            if absent and covered else "")
    lines.append(f"macro-F1 {r['macro_f1']:.3f}{over}, accuracy {r['accuracy']:.3f}, n = {r['n']}")
    lines.append("confusion (rows true, columns predicted): " + ", ".join(r["classes"]))
    for name, row in zip(r["classes"], r["confusion"], strict=True):
        lines.append(f"  {name:<12} " + " ".join(f"{v:>7}" for v in row))
    return lines


def _tile_rule_text(r: dict) -> str:
    """The top-level tile truth of a tile-mode result in words, with the training window of the well rule."""
    rule = r.get("well_mode_rule")
    if r["tile_truth"] != "well_mode" or not rule:
        return r["tile_truth_rule"]
    onset = rule["onset_h"]
    onset = (", ".join(f"{k} {v:g} h" for k, v in onset.items()) if isinstance(onset, dict) else f"{onset:g} h")
    until = "" if rule["until_h"] is None else f" to {rule['until_h']:g} h"
    early = "" if rule["alive_until_h"] is None else f"; frames up to {rule['alive_until_h']:g} h alive"
    vehicle = "in the same window" if rule["vehicle_window"] else "every frame"
    return (f"{r['tile_truth_rule']} (roles {'/'.join(rule['roles'])}; reference wells from {onset}{until}"
            f"{early}; vehicle wells {vehicle}; as the bundle was trained)")


def render_evaluation(r: dict) -> str:
    """Text table of an evaluation result."""
    precision = f", precision {r['precision']}" if r.get("precision") else ""
    precision += ", 8 views averaged (--tta)" if r.get("tta") else ""
    k = int(r.get("next_scan") or 0)
    scans = ", reads the next scan" if k == 1 else (f", reads the next {k} scans" if k else "")
    lines = [f"{r['data']} ({r['kind']}), model {r['model']}{precision}{scans}"]
    if "detection" in r:
        d = r["detection"]
        lines.append(
            f"detection: precision {d['precision']:.3f}, recall {d['recall']:.3f}, F1 {d['f1']:.3f} "
            f"(tp {d['tp']}, fp {d['fp']}, fn {d['fn']}) over {r['n_frames']} frames"
        )
    if r.get("detector_mode") == "tiles":
        t = r["tiles"]
        outside = (f", {t['outside_well_rule']} in frames the well rule does not label"
                   if "outside_well_rule" in t else "")
        lines.append(f"tile mode ({r['tile_size']} px tiles): no cell detection to score; {t['n']} tiles over "
                     f"{r['n_frames']} frames, {t['no_true_cell']} with no true cell (counted apart){outside}")
        lines.append(f"truth per tile ({r['tile_truth']}): {_tile_rule_text(r)}")
    lines += _report_lines(r)
    if "cell_majority" in r:
        second = r["cell_majority"]
        lines.append(f"second view, truth per tile ({second['tile_truth']}): {second['tile_truth_rule']}")
        lines += _report_lines(second)
    if r.get("per_stage"):
        lines.append("recall per true stage (simulated truth); predicted counts: " + ", ".join(r["classes"]))
        for st in r["per_stage"]:
            counts = " ".join(f"{v:>7}" for v in st["predicted"].values())
            lines.append(f"  {st['class']:<12} {st['stage']:<11} n {st['n']:>6}  recall {st['recall']:.3f}  {counts}")
    return "\n".join(lines)
