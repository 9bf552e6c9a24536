"""Per well x time aggregates of a scored plate, and the frame-level QC they report.

One row per (plate, well, time_h) of the frame table, pooling the well's
fields. Columns (``<c>`` runs over the bundle's classes, in order):

* ``n_frames``, ``n_done``, ``n_failed``, ``n_pending``: frames (fields) of the well at that time;
* ``n_cells``: the well's cell count, estimated for all its fields: the cells found in its
  scored frames times ``n_frames / n_done``, so a field whose frame failed (or is pending) is
  not read as cells lost (as ``segment``'s ``nuclei_per_field`` is the mean of the fields read);
  NaN when no frame of the well at that time is scored: not read, never a count of 0;
* ``n_cells_read``: the cells found in its scored frames (``n_cells`` before scaling; NaN as
  ``n_cells``);
* ``frac_<c>``: mean calibrated probability of class ``c`` over those cells (as measured, not scaled);
* ``share_<c>``: share of cells whose most probable class is ``c`` (argmax count);
* ``corr_<c>``: ``share_*`` corrected with the bundle's validation confusion
  matrix (:func:`ferroscreen.score.correction.adjusted_fractions`);
* ``mean_confidence``: mean of the cells' highest class probability;
* ``qc_empty``, ``qc_defocus``, ``qc_count_outlier``, ``qc_missing``: number of
  its frames with that flag (``qc_missing``: failed frames without an image file: none listed, or
  the listed file absent on disk, whatever the failure reason says, :func:`missing_files`);
* ``qc_ok``: 1 when all frames are scored and no flag is set.

Fractions are NaN where a well has no cells at that time. An empty frame (scored, no cell
found) is read: its 0 cells count.

:func:`provisional_rows` marks the well x times a next-scan model read short at the end of the
data (``export``'s ``provisional`` column): their rows change when later scans are scored.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ferroscreen.io.frames import frame_file
from ferroscreen.plate.wells import well_to_rowcol
from ferroscreen.score.correction import adjusted_fractions
from ferroscreen.score.qc import count_outlier_flags, defocus_flags
from ferroscreen.score.store import DONE, FAILED, PENDING


def frame_qc(frames: pd.DataFrame) -> pd.DataFrame:
    """Recompute the plate-relative QC flags (``defocus``, ``count_outlier``) of a frame table."""
    frames = frames.copy()
    done = frames["status"].to_numpy() == DONE
    frames["defocus"] = defocus_flags(frames, done)
    frames["count_outlier"] = count_outlier_flags(frames, done)
    return frames


#: How failures for want of an image file start: no file listed (``score.plan``), the file absent (``score.dataset``).
MISSING_PREFIXES = ("missing", "image file not found")


def missing_files(frames: pd.DataFrame) -> np.ndarray:
    """True for each failed frame that has no image file: none listed, or the listed one absent on disk.

    Told by the frame's ``path`` (checked on disk; only the failed frames are), or by its failure
    ``reason`` when it says the file was not found, whichever way the file went missing.
    """
    status = frames["status"].to_numpy()
    failed = status == FAILED
    reason = frames["reason"].fillna("").astype(str)
    out = failed & reason.str.startswith(MISSING_PREFIXES).to_numpy()
    paths = frames["path"].fillna("").astype(str).to_numpy()
    for i in np.flatnonzero(failed & ~out):
        out[i] = not paths[i] or not os.path.exists(frame_file(paths[i]))
    return out


def well_aggregates(
    frames: pd.DataFrame, sums: dict[str, np.ndarray], classes: list[str], confusion: np.ndarray | None
) -> pd.DataFrame:
    """Aggregate per-frame sums and frame QC per plate x well x time (see the module docstring).

    Args:
        frames: Store frame table (row number = frame id) with ``conf_sum``.
        sums: Per-frame ``prob_sum`` and ``argmax_count`` (n_frames, n_classes).
        classes: Class names.
        confusion: Validation confusion counts (rows = true); ``None`` leaves
            the ``corr_*`` columns equal to ``share_*``.
    """
    k = len(classes)
    psum = np.asarray(sums["prob_sum"], np.float64)
    amax = np.asarray(sums["argmax_count"], np.float64)
    conf = frames["conf_sum"].to_numpy(np.float64)
    status = frames["status"].to_numpy()
    done = status == DONE
    ncell = np.where(done, amax.sum(axis=1), 0.0)
    keys = ["plate", "well", "time_h"]
    per = pd.DataFrame({
        "plate": frames["plate"].to_numpy(), "well": frames["well"].to_numpy(),
        "time_h": frames["time_h"].to_numpy(),
        "n_frames": 1, "n_done": done.astype(int), "n_failed": (status == FAILED).astype(int),
        "n_pending": (status == PENDING).astype(int), "n_cells": ncell,
        "conf": np.where(done, conf, 0.0),
        "qc_empty": (done & (frames["empty"].to_numpy() == 1)).astype(int),
        "qc_defocus": (done & (frames["defocus"].to_numpy() == 1)).astype(int),
        "qc_count_outlier": (done & (frames["count_outlier"].to_numpy() == 1)).astype(int),
        "qc_missing": missing_files(frames).astype(int),
    })
    for j in range(k):
        per[f"_p{j}"] = np.where(done, psum[:, j], 0.0)
        per[f"_a{j}"] = np.where(done, amax[:, j], 0.0)
    g = per.groupby(keys, sort=False).sum(numeric_only=True).reset_index()
    rc = np.array([well_to_rowcol(w) for w in g["well"]], dtype=np.int64).reshape(-1, 2)
    g["_r"], g["_c"] = rc[:, 0], rc[:, 1]
    g = g.sort_values(["plate", "time_h", "_r", "_c"], kind="stable").reset_index(drop=True)
    n = g["n_cells"].to_numpy(np.float64)
    n_done, n_frames = g["n_done"].to_numpy(np.float64), g["n_frames"].to_numpy(np.float64)
    read = np.where(n_done > 0, n, np.nan)  # no frame scored: not read, not 0 cells
    with np.errstate(invalid="ignore", divide="ignore"):
        whole = read * n_frames / n_done  # the fields not read, at the mean of those read
        denom = np.where(n > 0, n, np.nan)
        frac = g[[f"_p{j}" for j in range(k)]].to_numpy() / denom[:, None]
        share = g[[f"_a{j}" for j in range(k)]].to_numpy() / denom[:, None]
        mconf = g["conf"].to_numpy() / denom
    corr = adjusted_fractions(share, confusion) if confusion is not None else share.copy()
    out = g[["plate", "well", "time_h", "n_frames", "n_done", "n_failed", "n_pending"]].copy()
    out["n_cells"] = whole
    out["n_cells_read"] = read
    for j, c in enumerate(classes):
        out[f"frac_{c}"] = frac[:, j]
    for j, c in enumerate(classes):
        out[f"share_{c}"] = share[:, j]
    for j, c in enumerate(classes):
        out[f"corr_{c}"] = corr[:, j]
    out["mean_confidence"] = mconf
    for col in ("qc_empty", "qc_defocus", "qc_count_outlier", "qc_missing"):
        out[col] = g[col].astype(np.int64)
    flags = out[["n_failed", "n_pending", "qc_empty", "qc_defocus", "qc_count_outlier"]].sum(axis=1)
    out["qc_ok"] = (flags == 0).astype(np.int64)
    return out


def provisional_frames(frames: pd.DataFrame, next_scan: int) -> np.ndarray:
    """True for each scored frame read without some of the ``next_scan`` later scans because the plate had none yet.

    A frame whose site's scans after it were all read (``next_scan`` column = the plate's time points
    after the frame's) but are fewer than the model reads: the plate's newest ``next_scan`` scans.
    A scan after them would be read too, so their classes change when one is scored (``score
    --resume``, ``--watch``); on a plate whose imaging has ended they stay, read without it. A
    frame short of a later scan for another reason (its site lacks a time point of the plate, a
    later scan unreadable) is not: a scan landing later is not read past that gap. None for a
    single-scan model (``next_scan`` 0), nor for frames pending, failed, or of a store written
    before frames recorded the scans they read (``next_scan`` -1).
    """
    k = int(next_scan or 0)
    if k <= 0 or "next_scan" not in frames.columns or frames.empty:
        return np.zeros(len(frames), bool)
    read = pd.to_numeric(frames["next_scan"], errors="coerce").fillna(-1).to_numpy()
    times = frames["time_h"].to_numpy(np.float64)
    after = np.zeros(len(frames), np.int64)
    for _, idx in frames.groupby("plate", sort=False).indices.items():
        plate_times = np.unique(times[idx])  # the plate's own time points, every frame's (pending too)
        after[idx] = len(plate_times) - np.searchsorted(plate_times, times[idx], side="right")
    done = frames["status"].to_numpy() == DONE
    return done & (after < k) & (read >= 0) & (read >= after)


def provisional_rows(frames: pd.DataFrame, next_scan: int) -> pd.DataFrame:
    """``plate, well, time_h, provisional``: 1 where a frame of the well at that time is provisional, else 0.

    One row per plate x well x time of ``frames``; see :func:`provisional_frames`.
    """
    keys = ["plate", "well", "time_h"]
    marked = frames[keys].assign(provisional=provisional_frames(frames, next_scan).astype(np.int64))
    return marked.groupby(keys, sort=False)["provisional"].max().reset_index()
