"""Cell galleries: the cells a score store calls each class, cut from the plate's own frames.

A biologist checks a classifier by looking at what it calls ferroptotic. For
each class, :func:`pick_gallery_cells` takes the cells whose top class it is
(calibrated probability ``p``, at least ``min_prob`` when one is set; frames
scored ``done``),
ranks them by ``p`` and picks across wells: the best cell of every well first,
then each well's second best, and so on, so one compound's wells do not fill
the row (ties broken by a seeded shuffle, so a fixed seed gives the same
gallery). The store is read in blocks, never whole.

:func:`write_gallery` cuts a box of 1.5 crop sizes around each picked cell from
its frame (display contrast from the frame's 1st/99.5th percentile), draws one
row per class and writes ``gallery.png`` plus ``gallery.csv`` (``class, rank,
plate, well, field, time_h, x, y, radius, p, compound, concentration, path``).
Frames that can no longer be read (a store moved away from its images) are
passed over for the next candidates; with none readable nothing is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import FerroscreenError
from ferroscreen.score.store import DONE, PlateStore, iter_cells, read_store

__all__ = ["Gallery", "pick_gallery_cells", "write_gallery"]

#: Candidates kept per class and well while reading the store (spares for unreadable frames).
PER_WELL = 3
CSV_COLUMNS = ["class", "rank", "plate", "well", "field", "time_h", "x", "y", "radius", "p", "compound",
               "concentration", "path"]


@dataclass
class Gallery:
    """What :func:`write_gallery` wrote (``png``/``csv`` None when nothing could be shown)."""

    png: Path | None
    csv: Path | None
    cells: pd.DataFrame
    n_unreadable: int = 0
    notes: list[str] = field(default_factory=list)


def pick_gallery_cells(store_path: str | Path, per_class: int = 10, min_prob: float = 0.0, seed: int = 0,
                       spares: int = PER_WELL, store: PlateStore | None = None) -> pd.DataFrame:
    """Ranked candidates per class, spread across wells (see the module doc).

    Returns:
        Columns of :data:`CSV_COLUMNS` (``rank`` 1.. within each class; up to
        ``spares`` candidates per class and well, so more than ``per_class``
        rows per class when the plate allows: :func:`write_gallery` uses the
        spares for frames it cannot read). ``store``: the store's tables when
        already read (its cells are still read from ``store_path``).
    """
    store = store or read_store(store_path)
    classes, frames = store.classes, store.frames
    done = (frames["status"].to_numpy() == DONE)
    well_of = frames["well"].to_numpy()
    best: list[pd.DataFrame] = []
    rng = np.random.default_rng(seed)
    for block in iter_cells(store_path):
        prob = block[[f"p_{c}" for c in classes]].to_numpy()
        top, p = prob.argmax(1), prob.max(1)
        keep = done[block["frame"].to_numpy()] & (p >= min_prob)
        if not keep.any():
            continue
        b = block.loc[keep, ["frame", "x", "y", "radius"]].copy()
        b["class_id"], b["p"] = top[keep], p[keep]
        b["well"] = well_of[b["frame"].to_numpy()]
        b["tie"] = rng.random(len(b))
        best.append(_top_per_well(b, spares))
    if not best:
        return pd.DataFrame(columns=CSV_COLUMNS)
    cand = _top_per_well(pd.concat(best, ignore_index=True), spares)
    cand["round"] = cand.groupby(["class_id", "well"]).cumcount()  # 0: each well's best cell
    cand = cand.sort_values(["class_id", "round", "p", "tie"], ascending=[True, True, False, True], kind="stable")
    cand["rank"] = cand.groupby("class_id").cumcount() + 1
    f = frames.iloc[cand["frame"].to_numpy()]
    out = pd.DataFrame({
        "class": [classes[i] for i in cand["class_id"]],
        "rank": cand["rank"].to_numpy(),
        "plate": f["plate"].to_numpy(), "well": f["well"].to_numpy(), "field": f["field"].to_numpy(),
        "time_h": f["time_h"].to_numpy(),
        "x": cand["x"].to_numpy(), "y": cand["y"].to_numpy(), "radius": cand["radius"].to_numpy(),
        "p": cand["p"].to_numpy(),
        "path": f["path"].to_numpy(),
    })
    lay = store.layout
    for col in ("compound", "concentration"):
        if lay is not None and col in lay.columns:
            out[col] = out["well"].map(lay.drop_duplicates("well").set_index("well")[col]).to_numpy()
        else:
            out[col] = np.nan
    order = {c: i for i, c in enumerate(classes)}
    out = out.sort_values(["class", "rank"], key=lambda s: s.map(order) if s.name == "class" else s, kind="stable")
    return out[CSV_COLUMNS].reset_index(drop=True)


def _top_per_well(b: pd.DataFrame, n: int) -> pd.DataFrame:
    b = b.sort_values(["p", "tie"], ascending=[False, True], kind="stable")
    return b.groupby(["class_id", "well"], sort=False).head(n)


def _display_crop(frame: np.ndarray, x: float, y: float, side: int, lo: float, hi: float) -> np.ndarray:
    """A ``side`` x ``side`` box centred on (x, y), padded with the frame's median, scaled to 0..1."""
    h, w = frame.shape
    x0, y0 = int(round(x)) - side // 2, int(round(y)) - side // 2
    box = np.full((side, side), float(np.median(frame)), np.float32)
    ys, xs = slice(max(y0, 0), min(y0 + side, h)), slice(max(x0, 0), min(x0 + side, w))
    box[ys.start - y0: ys.stop - y0, xs.start - x0: xs.stop - x0] = frame[ys, xs]
    return np.clip((box - lo) / max(hi - lo, 1e-6), 0, 1)


def _label(row: dict) -> str:
    where = f"{row['well']} · {row['time_h']:g} h · p {row['p']:.2f}"
    compound, conc = row["compound"], row["concentration"]
    compound = compound if isinstance(compound, str) else ""
    if compound and isinstance(conc, (int, float)) and math.isfinite(conc):
        compound = f"{compound[:12]} {conc:.2g} M"
    return f"{where}\n{compound[:20]}" if compound else where


def write_gallery(store_path: str | Path, out_dir: str | Path, per_class: int = 10, min_prob: float = 0.0,
                  seed: int = 0) -> Gallery:
    """Write ``gallery.png`` and ``gallery.csv`` into ``out_dir`` (see the module doc).

    Raises:
        FerroscreenError: ``per_class`` < 1, or the store is unreadable
            (:class:`~ferroscreen.score.StoreError`).
    """
    from ferroscreen.io.frames import load_image

    if per_class < 1:
        raise FerroscreenError(f"{store_path}: a gallery needs at least 1 cell per class, not {per_class}")
    out_dir = Path(out_dir)
    store = read_store(store_path)
    side = max(32, int(round(1.5 * int(store.attrs.get("crop_size", 40)))))
    cand = pick_gallery_cells(store_path, per_class, min_prob, seed, store=store)
    frames: dict[str, tuple[np.ndarray, float, float] | None] = {}
    rows, crops = [], []
    for cls in store.classes:
        taken = 0
        for row in cand[cand["class"] == cls].to_dict("records"):
            if taken == per_class:
                break
            path = row["path"]
            if path not in frames:
                try:
                    img = np.asarray(load_image(path))
                    if img.ndim != 2:
                        raise ValueError("not a single-plane image")
                    lo, hi = np.percentile(img, [1, 99.5])
                    frames[path] = (img, float(lo), float(hi))
                except (FerroscreenError, OSError, ValueError):
                    frames[path] = None
            loaded = frames[path]
            if loaded is None:
                continue
            img, lo, hi = loaded
            crops.append(_display_crop(img, row["x"], row["y"], side, lo, hi))
            rows.append(row | {"rank": taken + 1})
            taken += 1
    picked = pd.DataFrame(rows, columns=CSV_COLUMNS)
    n_bad = sum(v is None for v in frames.values())
    notes = [f"{n_bad} frame(s) of the store could not be read for the gallery"] if n_bad else []
    missing = [c for c in store.classes if c not in set(picked["class"])]
    if missing and not picked.empty:
        notes.append(f"no cell called {', '.join(missing)} with p >= {min_prob:g} in a readable frame")
    if picked.empty:
        notes.append("no cell to show (no scored cell above the probability floor, or no frame readable)")
        return Gallery(None, None, picked, n_bad, notes)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = _draw(picked, crops, store.classes, per_class, out_dir / "gallery.png")
    csv = out_dir / "gallery.csv"
    tmp = out_dir / ".gallery.csv.tmp"
    picked.to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(csv)
    return Gallery(png, csv, picked, n_bad, notes)


def _draw(picked: pd.DataFrame, crops: list[np.ndarray], classes: list[str], per_class: int, path: Path) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.25 * per_class + 1.1, 1.45 * len(classes)), dpi=110)
    grid = fig.add_gridspec(len(classes), per_class, left=1.0 / (1.25 * per_class + 1.1), right=0.995,
                            top=0.96, bottom=0.01, wspace=0.06, hspace=0.45)
    index: dict[str, list[tuple[int, dict]]] = {c: [] for c in classes}
    for i, row in enumerate(picked.to_dict("records")):
        index[row["class"]].append((i, row))
    for r, cls in enumerate(classes):
        for k in range(per_class):
            ax = fig.add_subplot(grid[r, k])
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if k == 0:
                ax.set_ylabel(cls, rotation=0, ha="right", va="center", fontsize=9, labelpad=6)
            if k < len(index[cls]):
                i, row = index[cls][k]
                ax.imshow(crops[i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_title(_label(row), fontsize=5.5, pad=2)
            elif k == 0:
                ax.text(0.02, 0.5, f"no cell called {cls}", fontsize=7, color="0.4", va="center",
                        transform=ax.transAxes)
    tmp = path.with_name("." + path.name + ".tmp.png")
    fig.savefig(tmp, format="png")
    tmp.replace(path)
    return path
