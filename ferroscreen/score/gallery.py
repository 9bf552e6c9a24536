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

:func:`write_compound_galleries` does the same per treatment (compound, rescue
agent, cell line) over its own wells, for the death modes only, one PNG each
(``galleries/gNNN.png``, indexed by ``gallery_compounds.csv``): the report shows
each compound's cells in its section.

Both write into an :class:`~ferroscreen.output_set.OutputSet` when given one (``export`` puts
``wells.csv``, its record and the galleries in place together, or leaves the folder as it was):
:class:`~ferroscreen.output_set.NestedOutputSet` holds the ``galleries/`` images with the folder's own files. Given a
folder, each writes its files as one set of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import FerroscreenError
from ferroscreen.output_set import NestedOutputSet, OutputSet, output_set
from ferroscreen.plate import format_molar
from ferroscreen.score.store import DONE, PlateStore, iter_cells, read_store

__all__ = ["CellPool", "Gallery", "cell_pool", "pick_gallery_cells", "remove_earlier_galleries",
           "write_compound_galleries", "write_gallery"]

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


@dataclass
class CellPool:
    """One read of a store's cells for its galleries (:func:`cell_pool`).

    ``cand``: the :data:`PER_WELL` most probable cells per (top class, well) of
    frames scored ``done``, with a seeded tie-break; ``counts``: every done
    cell counted per (well, top class id).
    """

    cand: pd.DataFrame
    counts: dict[tuple[str, int], int]


def cell_pool(store_path: str | Path, store: PlateStore | None = None, seed: int = 0) -> CellPool:
    """Read the store's cells once (in blocks) for :func:`write_gallery` and :func:`write_compound_galleries`."""
    counts: dict[tuple[str, int], int] = {}
    cand = _candidate_pool(store_path, store or read_store(store_path), 0.0, seed, PER_WELL, counts)
    return CellPool(cand, counts)


def pick_gallery_cells(store_path: str | Path, per_class: int = 10, min_prob: float = 0.0, seed: int = 0,
                       spares: int = PER_WELL, store: PlateStore | None = None,
                       pool: CellPool | None = None) -> pd.DataFrame:
    """Ranked candidates per class, spread across wells (see the module doc).

    Returns:
        Columns of :data:`CSV_COLUMNS` (``rank`` 1.. within each class; up to
        ``spares`` candidates per class and well, so more than ``per_class``
        rows per class when the plate allows: :func:`write_gallery` uses the
        spares for frames it cannot read). ``store``: the store's tables when
        already read (its cells are still read from ``store_path``, unless
        ``pool`` holds them already, read with ``spares`` = :data:`PER_WELL`).
    """
    store = store or read_store(store_path)
    if pool is not None:
        cand = pool.cand[pool.cand["p"] >= min_prob]
    else:
        cand = _candidate_pool(store_path, store, min_prob, seed, spares)
    if cand.empty:
        return pd.DataFrame(columns=CSV_COLUMNS)
    out = _rows(_spread(cand, ["class_id"]), store)
    order = {c: i for i, c in enumerate(store.classes)}
    out = out.sort_values(["class", "rank"], key=lambda s: s.map(order) if s.name == "class" else s, kind="stable")
    return out[CSV_COLUMNS].reset_index(drop=True)


def _candidate_pool(store_path, store: PlateStore, min_prob: float, seed: int, spares: int,
                    counts: dict | None = None) -> pd.DataFrame:
    """The ``spares`` most probable cells per (top class, well) of frames scored ``done`` (store read in blocks).

    ``counts``, when given, gets every done cell counted per (well, top class id).
    """
    classes, frames = store.classes, store.frames
    done = (frames["status"].to_numpy() == DONE)
    well_of = frames["well"].to_numpy()
    best: list[pd.DataFrame] = []
    rng = np.random.default_rng(seed)
    for block in iter_cells(store_path):
        prob = block[[f"p_{c}" for c in classes]].to_numpy()
        top, p = prob.argmax(1), prob.max(1)
        scored = done[block["frame"].to_numpy()]
        if counts is not None:
            pairs = pd.Series(list(zip(well_of[block["frame"].to_numpy()[scored]], top[scored].tolist(), strict=True)))
            for key, n in pairs.value_counts().items():
                counts[key] = counts.get(key, 0) + int(n)
        keep = scored & (p >= min_prob)
        if not keep.any():
            continue
        b = block.loc[keep, ["frame", "x", "y", "radius"]].copy()
        b["class_id"], b["p"] = top[keep], p[keep]
        b["well"] = well_of[b["frame"].to_numpy()]
        b["tie"] = rng.random(len(b))
        best.append(_top_per_well(b, spares))
    if not best:
        return pd.DataFrame(columns=["frame", "x", "y", "radius", "class_id", "p", "well", "tie"])
    return _top_per_well(pd.concat(best, ignore_index=True), spares)


def _spread(cand: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``cand`` ranked within each ``by`` group: every well's best cell first, then every well's second..."""
    cand = cand.copy()
    cand["round"] = cand.groupby(["class_id", "well"]).cumcount()  # 0: each well's best cell
    cand = cand.sort_values([*by, "round", "p", "tie"], ascending=[True] * len(by) + [True, False, True],
                            kind="stable")
    cand["rank"] = cand.groupby(by).cumcount() + 1
    return cand


def _rows(cand: pd.DataFrame, store: PlateStore) -> pd.DataFrame:
    """:data:`CSV_COLUMNS` of ranked candidates (frame columns and the layout's compound joined)."""
    classes, frames = store.classes, store.frames
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
    return out


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


def _dose_label(conc: float) -> str:
    """A molar dose with an SI prefix and 3 significant digits, as the report writes it (``3.1623e-8``: ``31.6 nM``)."""
    return format_molar(float(f"{conc:.3g}"))  # rounded first: 999.6 nM is "1 µM", not "1e+03 nM"


def _label(row: dict) -> str:
    """A crop's title: well, time, probability; its compound (cut with "…") and dose (``31.6 nM``)."""
    from ferroscreen.plate.quiet_figure import short_label

    where = f"{row['well']} · {row['time_h']:g} h · p {row['p']:.2f}"
    compound, conc = row["compound"], row["concentration"]
    compound = compound if isinstance(compound, str) else ""
    if compound and isinstance(conc, (int, float)) and math.isfinite(conc):
        compound = f"{short_label(compound, 12)} {_dose_label(conc)}"
    else:
        compound = short_label(compound, 20)
    return f"{where}\n{compound}" if compound else where


def _cut_crops(rows: list[dict], side: int) -> tuple[dict[int, np.ndarray], int]:
    """Display crops of ``rows`` (position -> crop), each frame loaded once; and the count of unreadable frames."""
    from ferroscreen.io.frames import load_image

    by_path: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_path.setdefault(row["path"], []).append(i)
    crops, n_bad = {}, 0
    for path, idx in by_path.items():
        try:
            img = np.asarray(load_image(path))
            if img.ndim != 2:
                raise ValueError("not a single-plane image")
        except (FerroscreenError, OSError, ValueError):
            n_bad += 1
            continue
        lo, hi = np.percentile(img, [1, 99.5])
        for i in idx:
            crops[i] = _display_crop(img, rows[i]["x"], rows[i]["y"], side, float(lo), float(hi))
    return crops, n_bad


def _take(rows: list[dict], crops: dict[int, np.ndarray], n: int) -> list[int]:
    """Positions of the first ``n`` rows whose frame could be read."""
    return [i for i in range(len(rows)) if i in crops][:n]


def write_gallery(store_path: str | Path, out_dir: str | Path | OutputSet, per_class: int = 10,
                  min_prob: float = 0.0, seed: int = 0, pool: CellPool | None = None) -> Gallery:
    """Write ``gallery.png`` and ``gallery.csv`` into ``out_dir`` (see the module doc).

    ``out_dir``: a folder (both files put in place together), or the :class:`OutputSet` of a caller
    that commits them with more. ``pool``: the store's cells read already by :func:`cell_pool` (else
    read here). The returned paths are where the files lie once committed.

    Raises:
        FerroscreenError: ``per_class`` < 1, or the store is unreadable
            (:class:`~ferroscreen.score.StoreError`).
    """
    if per_class < 1:
        raise FerroscreenError(f"{store_path}: a gallery needs at least 1 cell per class, not {per_class}")
    store = read_store(store_path)
    side = max(32, int(round(1.5 * int(store.attrs.get("crop_size", 40)))))
    cand = pick_gallery_cells(store_path, per_class, min_prob, seed, store=store, pool=pool)
    rows, crops = [], []
    n_bad = 0
    for cls in store.classes:
        mine = cand[cand["class"] == cls].to_dict("records")
        cut, bad = _cut_crops(mine[: per_class + PER_WELL * 4], side)
        n_bad += bad
        for k, i in enumerate(_take(mine, cut, per_class)):
            crops.append(cut[i])
            rows.append(mine[i] | {"rank": k + 1})
    picked = pd.DataFrame(rows, columns=CSV_COLUMNS)
    notes = [f"{n_bad} frame(s) of the store could not be read for the gallery"] if n_bad else []
    missing = [c for c in store.classes if c not in set(picked["class"])]
    if missing and not picked.empty:
        floor = f" with p >= {min_prob:g}" if min_prob > 0 else ""
        notes.append(f"no cell called {', '.join(missing)}{floor} in a readable frame")
    if picked.empty:
        notes.append("no cell to show (no scored cell above the probability floor, or no frame readable)")
        return Gallery(None, None, picked, n_bad, notes)
    with output_set(out_dir, NestedOutputSet) as outputs:
        _draw(picked, crops, store.classes, per_class, outputs.path("gallery.png"))
        picked.to_csv(outputs.path("gallery.csv"), index=False, float_format="%.6g")
    return Gallery(outputs.final("gallery.png"), outputs.final("gallery.csv"), picked, n_bad, notes)


def remove_earlier_galleries(out_dir: str | Path | OutputSet, overall: bool, compounds: bool) -> list[str]:
    """Remove an earlier export's galleries; the names removed (the galleries/ images as one).

    A report reads ``gallery.csv`` and ``gallery_compounds.csv`` from the folder, so another plate's
    cells left there would be shown as this plate's. ``overall``/``compounds``: whether the
    overall (``gallery.csv``, ``gallery.png``) or the per-treatment (``gallery_compounds.csv``,
    ``galleries/gNNN.png``) gallery is to go. ``out_dir``: a folder (removed now), or the
    :class:`NestedOutputSet` of an export, which drops them at its commit unless it writes them again.
    """
    with output_set(out_dir, NestedOutputSet) as outputs:
        folder = outputs.folder
        names = (["gallery.csv", "gallery.png"] if overall else []) + (["gallery_compounds.csv"] if compounds else [])
        removed = [name for name in names if (folder / name).is_file()]
        images = sorted(p.name for p in (folder / "galleries").glob("g[0-9][0-9][0-9].png")) if compounds else []
        for name in [*removed, *(f"galleries/{image}" for image in images)]:
            outputs.drop(name)
        if images:
            removed.append(f"galleries/ ({len(images)} images)")
    return removed


#: Layout columns that tell treatments apart in :func:`write_compound_galleries`.
TREATMENT_KEYS = ("compound", "rescue_agent", "cell_line", "growth_condition")
COMPOUND_CSV_COLUMNS = [*CSV_COLUMNS, "rescue_agent", "cell_line", "growth_condition", "image"]


def write_compound_galleries(store_path: str | Path, out_dir: str | Path | NestedOutputSet, per_mode: int = 6,
                             min_prob: float = 0.5, seed: int = 0, pool: CellPool | None = None) -> Gallery:
    """One gallery per treatment: the cells its wells' classifier calls each death mode.

    A treatment is a layout compound with its rescue agent, cell line and
    growth condition (sample, reference, rescue and positive-control wells).
    For each, up to ``per_mode`` cells per death mode (every class but
    ``alive``) with calibrated probability at least ``min_prob``, the most
    probable first and spread over the treatment's wells as :func:`write_gallery`
    spreads them over the plate, one row per mode with cells. Writes
    ``galleries/gNNN.png`` (numbered, never named after user text) and
    ``gallery_compounds.csv`` (:data:`COMPOUND_CSV_COLUMNS`; ``image`` is the
    PNG relative to ``out_dir``), which the report shows in each compound's section.
    ``out_dir``: a folder (the images and the table put in place together), or the
    :class:`NestedOutputSet` of a caller that commits them with more; the returned ``png`` (the
    ``galleries/`` folder) and ``csv`` are where they lie once committed.
    ``pool``: the store's cells read already by :func:`cell_pool` (else read here).

    Raises:
        FerroscreenError: ``per_mode`` < 1, or the store is unreadable.
        TypeError: ``out_dir`` is an :class:`OutputSet` that cannot hold a subfolder.
    """
    if per_mode < 1:
        raise FerroscreenError(f"{store_path}: a compound gallery needs at least 1 cell per mode, not {per_mode}")
    if isinstance(out_dir, OutputSet) and not isinstance(out_dir, NestedOutputSet):
        raise TypeError("write_compound_galleries writes galleries/: give a NestedOutputSet")
    store = read_store(store_path)
    lay = store.layout
    modes = [c for c in store.classes if c != "alive"]
    empty = Gallery(None, None, pd.DataFrame(columns=COMPOUND_CSV_COLUMNS))
    if lay is None or lay.empty or "compound" not in lay.columns or not modes:
        empty.notes.append("no layout with compounds in the store: no compound galleries")
        return empty
    lay = lay.drop_duplicates("well").set_index("well")
    keys = [k for k in TREATMENT_KEYS if k in lay.columns]
    text = lay[keys].fillna("").astype(str).apply(lambda c: c.str.strip())
    role = lay["role"].fillna("").astype(str) if "role" in lay.columns else pd.Series("sample", index=lay.index)
    treated = (text["compound"] != "") & role.isin(["", "sample", "reference", "rescue", "pos_ctrl"])
    key_of = text[treated].agg(" | ".join, axis=1)
    pool = pool or cell_pool(store_path, store, seed)
    cand, counts = pool.cand[pool.cand["p"] >= min_prob], pool.counts
    cand = cand[cand["class_id"].isin([store.classes.index(m) for m in modes]) & cand["well"].isin(key_of.index)]
    if cand.empty:
        floor = f" with p >= {min_prob:g}" if min_prob > 0 else ""
        empty.notes.append(f"no cell of a treated well called a death mode{floor}")
        return empty
    cand = cand.assign(key=cand["well"].map(key_of).to_numpy())
    ranked = _spread(cand, ["key", "class_id"])
    table = _rows(ranked, store).assign(key=ranked["key"].to_numpy())
    for k in ("rescue_agent", "cell_line", "growth_condition"):
        table[k] = table["well"].map(text[k]).to_numpy() if k in text.columns else ""
    side = max(32, int(round(1.5 * int(store.attrs.get("crop_size", 40)))))
    with output_set(out_dir, NestedOutputSet) as outputs:
        rows, n_bad = _draw_treatments(table, key_of, counts, store.classes, modes, per_mode, side, outputs)
        picked = pd.DataFrame(rows, columns=COMPOUND_CSV_COLUMNS)
        if rows:
            picked.to_csv(outputs.path("gallery_compounds.csv"), index=False, float_format="%.6g")
    notes = [f"{n_bad} frame(s) of the store could not be read for the compound galleries"] if n_bad else []
    if not rows:
        return Gallery(None, None, picked, n_bad, notes)
    return Gallery(outputs.final("galleries"), outputs.final("gallery_compounds.csv"), picked, n_bad, notes)


def _draw_treatments(table: pd.DataFrame, key_of: pd.Series, counts: dict, classes: list[str], modes: list[str],
                     per_mode: int, side: int, outputs: OutputSet) -> tuple[list[dict], int]:
    """Draw each treatment's gallery to ``galleries/gNNN.png`` of ``outputs``; its rows, and unreadable frames."""
    rows, n_bad, n_images = [], 0, 0
    for key in sorted(table["key"].unique()):
        picked, crops = [], []
        for m in modes:
            mine = table[(table["key"] == key) & (table["class"] == m)].to_dict("records")
            cut, bad = _cut_crops(mine[: per_mode + PER_WELL * 2], side)
            n_bad += bad
            for k, i in enumerate(_take(mine, cut, per_mode)):
                picked.append(mine[i] | {"rank": k + 1})
                crops.append(cut[i])
        if not picked:
            continue
        n_images += 1
        image = f"galleries/g{n_images:03d}.png"
        shown = [m for m in modes if any(r["class"] == m for r in picked)]
        wells = set(key_of.index[key_of == key])
        total = sum(n for (w, _), n in counts.items() if w in wells)
        called = {m: sum(n for (w, c), n in counts.items() if w in wells and c == classes.index(m))
                  for m in shown}
        labels = {m: f"{m}\n{called[m]:,} of {total:,}\ncells ({100 * called[m] / max(total, 1):.1f} %)"
                  for m in shown}
        _draw(pd.DataFrame(picked), crops, shown, per_mode, outputs.path(image), labels)
        rows += [r | {"image": image} for r in picked]
    return rows, n_bad


def _draw(picked: pd.DataFrame, crops: list[np.ndarray], classes: list[str], per_class: int, path: Path,
          labels: dict[str, str] | None = None) -> Path:
    """One row of crops per class (``labels``: row titles, default the class names) saved as a PNG at ``path``.

    ``path`` is an output set's temporary file: the set puts it in place, or removes it.
    """
    from ferroscreen.plate.quiet_figure import QuietFigure

    fig = QuietFigure(figsize=(1.25 * per_class + 1.1, 1.45 * len(classes)), dpi=110)
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
                ax.set_ylabel((labels or {}).get(cls, cls), rotation=0, ha="right", va="center", fontsize=9,
                              labelpad=6, parse_math=False)
            if k < len(index[cls]):
                i, row = index[cls][k]
                ax.imshow(crops[i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_title(_label(row), fontsize=5.5, pad=2, parse_math=False)  # names: "$" is no mathtext
            elif k == 0:
                ax.text(0.02, 0.5, f"no cell called {cls}", fontsize=7, color="0.4", va="center",
                        transform=ax.transAxes, parse_math=False)
    fig.savefig(path, format="png")  # path is the output set's temporary file, or the caller's own
    return path
