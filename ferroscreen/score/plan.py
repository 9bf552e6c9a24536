"""Which frames a scoring run covers: frame selection, missing frames, layout and bundle checks.

The store's frame table grows append-only: frames found on a later pass
(``--watch``, ``--resume`` after new images landed) are added at the end, so
frame ids (row numbers) never change and cells keep pointing at their frame.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import AcquisitionError, LayoutError, ModelBundleError
from ferroscreen.io.channels import choose_channel
from ferroscreen.io.frames import frame_file
from ferroscreen.io.planes import choose_plane
from ferroscreen.plate.wells import well_to_rowcol
from ferroscreen.score.store import DONE, FAILED, PENDING, new_frame_table

KEY = ["plate", "well", "field", "channel", "z", "time_h"]
MISSING_REASON = "missing: no image file for this well, field and time"


def select_frames(
    frames: pd.DataFrame, root: Path, channel: str | None = None, trained: str | None = None,
    plate: str | None = None, z_plane: int | None = None, trained_z: int | None = None,
) -> tuple[pd.DataFrame, str, str | None]:
    """The frames of one plate, one channel and one z plane, the channel, and a note on what was inferred.

    ``plate`` picks one plate of an acquisition holding several (needed then).

    The channel is ``channel``, else the only one, else the one the model was
    trained on (``trained``), else the only brightfield/phase-named one
    (:func:`ferroscreen.io.channels.choose_channel`). The z plane is
    ``z_plane``, else the only one, else ``trained_z``, else the lowest
    (:func:`ferroscreen.io.planes.choose_plane`); the frames' ``z`` column says which.

    Raises:
        AcquisitionError: If the channel is absent or cannot be told, the
            plane is absent, or the acquisition holds several plates.
    """
    if frames.empty:
        raise AcquisitionError(f"{root}: no image frames found")
    plates = sorted(frames["plate"].astype(str).unique())
    if plate is not None:
        if str(plate) not in plates:
            raise AcquisitionError(f"{root}: no plate '{plate}' (found {', '.join(plates)})")
        frames = frames[frames["plate"].astype(str) == str(plate)]
    elif len(plates) > 1:
        raise AcquisitionError(
            f"{root}: holds plates {', '.join(plates)}; score one per store, picked with --plate"
        )
    channel, note = choose_channel(frames["channel"].astype(str), channel, "label-free", str(root), trained)
    sub = frames[frames["channel"].astype(str) == channel]
    z, z_note = choose_plane(sub["z"], z_plane, str(root), trained_z)
    sub = sub[sub["z"] == z]
    note = "; ".join(n for n in (note, z_note) if n) or None
    return sub.reset_index(drop=True), channel, note


def with_missing(frames: pd.DataFrame) -> pd.DataFrame:
    """Add rows (empty ``path``) for sites absent at a timepoint the plate has."""
    keys = ["plate", "well", "field", "channel", "z"]
    sites = frames[keys].drop_duplicates()
    times = pd.DataFrame({"time_h": sorted(frames["time_h"].unique())})
    grid = sites.merge(times, how="cross")
    merged = grid.merge(frames, how="left", on=KEY)
    merged["path"] = merged["path"].fillna("").astype(str)
    return sort_frames(merged[[*KEY, "path"]])


def sort_frames(df: pd.DataFrame) -> pd.DataFrame:
    """Sort by plate, time, well (row-major), field, channel, z."""
    rc = [well_to_rowcol(w) for w in df["well"]]
    df = df.assign(_r=[r for r, _ in rc], _c=[c for _, c in rc])
    df = df.sort_values(["plate", "time_h", "_r", "_c", "field", "channel", "z"], kind="stable")
    return df.drop(columns=["_r", "_c"]).reset_index(drop=True)


def update_frame_table(existing: pd.DataFrame | None, found: pd.DataFrame) -> pd.DataFrame:
    """Merge the frames found now (with missing rows) into the store's frame table.

    New keys are appended (pending, or failed as missing when they have no
    file); a key that was missing and now has a file gets its path and
    becomes pending. Done frames are never touched.
    """
    found = with_missing(found)
    if existing is None or existing.empty:
        table = new_frame_table(found)
    else:
        table = existing.copy()
        index = {tuple(k): i for i, k in enumerate(table[KEY].itertuples(index=False, name=None))}
        new_rows = []
        for row in found.itertuples(index=False):
            key = tuple(getattr(row, k) for k in KEY)
            i = index.get(key)
            if i is None:
                new_rows.append(row._asdict())
            elif row.path and table.at[i, "status"] != DONE and table.at[i, "path"] != row.path:
                table.at[i, "path"] = row.path
                table.at[i, "status"] = PENDING
                table.at[i, "reason"] = ""
        if new_rows:
            table = pd.concat([table, new_frame_table(pd.DataFrame(new_rows))], ignore_index=True)
    missing = (table["path"] == "") & (table["status"] != DONE)
    table.loc[missing, "status"] = FAILED
    table.loc[missing, "reason"] = MISSING_REASON
    return table


#: A watch's record of the files it found still settling: file -> ((size, mtime), when first seen so).
SeenFiles = dict[str, tuple[tuple[int, float], float]]


def file_settled(file: str, size: int, mtime: float, now: float, settle_s: float,
                 seen: SeenFiles | None = None) -> bool:
    """Whether ``file`` (``size`` bytes, time stamp ``mtime``, as stat gives them at ``now``) is done being written.

    With ``settle_s`` 0 there is no check: always settled (a time stamp in the
    future too). Otherwise the file is settled when it was last modified at
    least ``settle_s`` before ``now``, or when ``seen`` holds this very
    ``(size, mtime)`` for it, first seen at least ``settle_s`` before ``now``:
    a file whose time stamp is ahead of this machine's clock (written by a PC
    whose clock is ahead, on a share) settles ``settle_s`` after it was first
    seen unchanged instead of once this clock reaches its time stamp. With
    clocks that agree, the record never settles a file sooner than its age does.

    ``seen`` (kept across the polls of a watch) is updated in place: a file
    not settled by its age is recorded with ``now`` when not recorded yet or
    recorded with another ``(size, mtime)`` (still growing: its wait starts
    again). Without ``seen``, only the age counts.
    """
    if not settle_s or now - mtime >= settle_s:
        return True
    if seen is None:
        return False
    signature = (int(size), float(mtime))
    record = seen.get(file)
    if record is None or record[0] != signature:
        seen[file] = (signature, now)
        return False
    return now - record[1] >= settle_s


def frames_to_score(table: pd.DataFrame, settle_s: float = 0.0, seen: SeenFiles | None = None) -> np.ndarray:
    """Frame ids to score now: pending frames with a file, and failed frames whose file changed.

    Args:
        table: Store frame table.
        settle_s: Skip files not settled (:func:`file_settled`: still being
            written by the instrument; used by ``--watch``); 0: no check.
        seen: The watch's record of files seen settling (:func:`file_settled`), updated.
    """
    now = time.time()
    out = []
    for i, (status, path, size, mtime) in enumerate(
        zip(table["status"], table["path"], table["file_size"], table["file_mtime"], strict=True)
    ):
        if status == DONE or not path:
            continue
        file = frame_file(path)
        try:
            st = os.stat(file)
        except OSError:
            if status == PENDING:
                out.append(i)  # the worker records it as failed (file not found)
            continue
        if not file_settled(file, st.st_size, st.st_mtime, now, settle_s, seen):
            continue
        if status == PENDING or st.st_size != size or st.st_mtime != mtime:
            out.append(i)
    return np.asarray(out, dtype=np.int64)


def probe_frame_shape(paths: list[str], n: int = 8) -> tuple[int, int] | None:
    """The most common (height, width) among the first ``n`` readable frames (headers only for TIFF)."""
    from ferroscreen.io.frames import load_image

    shapes: list[tuple[int, int]] = []
    for p in paths:
        if len(shapes) >= n:
            break
        if not p:
            continue
        try:
            if p.lower().endswith((".tif", ".tiff")):
                import tifffile

                with tifffile.TiffFile(p) as tif:
                    shape = tif.pages[0].shape
                if len(shape) == 3 and shape[-1] in (3, 4):
                    shape = shape[:2]
                elif len(shape) == 3:
                    shape = shape[1:]
            else:
                shape = load_image(p).shape
        except Exception:  # noqa: BLE001 - unreadable frames fail later with their own reason
            continue
        shapes.append((int(shape[0]), int(shape[1])))
    if not shapes:
        return None
    return Counter(shapes).most_common(1)[0][0]


def check_layout(layout, frames: pd.DataFrame, classes: list[str], model: str | Path = "model"):
    """Check that a layout describes this plate and suits the model.

    A plate imaged whole whose layout lists the wells in use is fine: imaged wells the layout
    does not list are scored without layout rows (no curve takes them), said in a note; when
    more than half the imaged wells are unlisted, the layout is taken for another plate's.

    Returns:
        ``(layout, notes)``: the layout of this plate (a multi-plate layout is narrowed to it).

    Raises:
        LayoutError: When most imaged wells are absent from the layout, or the
            layout has no rows for this plate.
        ModelBundleError: When the layout's reference modes are not classes of the model.
    """
    src = layout.source or "layout"
    plate = str(frames["plate"].iloc[0])
    if len(layout.plate_ids) > 1:
        if layout.plate_id_for(plate) is None:
            raise LayoutError(f"{src}: no rows for plate '{plate}' (layout plates: {', '.join(layout.plate_ids)})")
        layout = layout.for_plate(plate)
    imaged = sorted(set(frames["well"]), key=well_to_rowcol)
    absent = [w for w in imaged if w not in set(layout.table["well"])]
    shown = ", ".join(absent[:6]) + (" ..." if len(absent) > 6 else "")
    if len(absent) > len(imaged) / 2:
        raise LayoutError(
            f"{src}: {len(absent)} of the {len(imaged)} imaged wells are not in the layout ({shown}); is it the "
            f"layout of plate '{plate}'?"
        )
    notes = [f"{src}: {len(absent)} imaged well(s) are not in the layout ({shown}): scored, in no curve"] if absent \
        else []
    t = layout.table
    modes = sorted({m for m in t.loc[t["role"] == "reference", "mode"] if isinstance(m, str) and m})
    foreign = [m for m in modes if m not in classes]
    if foreign:
        raise ModelBundleError(
            f"{model}: model classes ({', '.join(classes)}) lack the reference mode(s) {', '.join(foreign)} "
            f"of layout {src}; use a bundle trained for them"
        )
    return layout, notes
