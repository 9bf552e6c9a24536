"""Which frames a scoring run covers: frame selection, missing frames, layout and bundle checks.

The store's frame table grows at the end: frames found on a later pass
(``--watch``, ``--resume`` after new images landed) are appended, and a frame
whose scan's time moved (its first-stamped wells landed last) keeps its row, so
frame ids (row numbers) stay; only rows never scored at a time the plate no
longer has are dropped (:func:`update_frame_table`). Every store write lays the
cells out again by frame id (:func:`ferroscreen.score.merge.merge_journals`).
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
from ferroscreen.io.scans import SITE_KEYS
from ferroscreen.plate.wells import well_to_rowcol
from ferroscreen.score.store import DONE, FAILED, PENDING, new_frame_table

KEY = [*SITE_KEYS, "time_h"]
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
    sites = frames[list(SITE_KEYS)].drop_duplicates()
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

    A found frame is matched to the store's row of its site (``plate, well, field, channel, z``)
    that holds its file, else to the row of its site and time. A matched row takes the found time:
    a frame's time is its scan's first stamp among the files there
    (:func:`ferroscreen.io.scan_times.group_scan_times`), so a scan whose first-stamped wells land
    after the others moves to an earlier time, and its rows move with it (done frames keep their
    cells; the frames that read them as a later scan are judged again by the runner). A found
    frame matched by neither takes a row of its site not done at a time the plate no longer has
    (the missing row of that scan's former time), else it is appended (pending, or failed as
    missing when it has no file). A row that was missing or not done and now has a file gets that
    file and becomes pending; done frames keep their file and result.

    Frame ids (row numbers) stay, except that rows not done at a time the plate no longer has,
    left over when two partial scans merged into one, are dropped (the rows after them move up):
    the table ends with the time points a one-shot score of the folder gives. The rows of a site
    absent from ``found`` are kept as they are.
    """
    found = with_missing(found)
    if existing is None or existing.empty:
        table = new_frame_table(found)
    else:
        table, appended = _matched_rows(existing.copy(), found)
        if len(appended):
            table = pd.concat([table, new_frame_table(appended)], ignore_index=True)
    missing = (table["path"] == "") & (table["status"] != DONE)
    table.loc[missing, "status"] = FAILED
    table.loc[missing, "reason"] = MISSING_REASON
    return table


def _matched_rows(table: pd.DataFrame, found: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``table`` updated with the ``found`` frames it has rows for, and the found frames it has not.

    See :func:`update_frame_table` for the matching.
    """
    sites = _sites(table)
    paths = table["path"].astype(str).tolist()
    status = table["status"].to_numpy()
    by_file = _unique({(s, p): i for i, (s, p) in enumerate(zip(sites, paths, strict=True)) if p},
                      Counter((s, p) for s, p in zip(sites, paths, strict=True) if p))
    times = table["time_h"].to_numpy(float).copy()
    by_key = {(*s, float(t)): i for i, (s, t) in enumerate(zip(sites, times, strict=True))}
    f_sites = _sites(found)
    f_times = found["time_h"].astype(float).tolist()
    f_paths = found["path"].astype(str).tolist()
    once = Counter((s, p) for s, p in zip(f_sites, f_paths, strict=True) if p)
    taken = np.zeros(len(table), dtype=bool)
    match = [-1] * len(found)
    for j, (s, p) in enumerate(zip(f_sites, f_paths, strict=True)):  # 1. the row holding its file
        i = by_file.get((s, p), -1) if p and once[(s, p)] == 1 else -1
        if i >= 0 and not taken[i]:
            match[j], taken[i] = i, True
    for j, (s, t) in enumerate(zip(f_sites, f_times, strict=True)):  # 2. the row of its site and time
        i = by_key.get((*s, t), -1) if match[j] < 0 else -1
        if i >= 0 and not taken[i]:
            match[j], taken[i] = i, True
    times_now, sites_now = set(f_times), set(f_sites)
    spare: dict[tuple, list[int]] = {}  # rows not done at a time the plate no longer has, by site
    for i in np.argsort(times, kind="stable"):
        if (not taken[i] and status[i] != DONE and float(times[i]) not in times_now
                and sites[i] in sites_now):
            spare.setdefault(sites[i], []).append(int(i))
    for j, s in enumerate(f_sites):  # 3. a spare row of its site (found is in time order)
        if match[j] < 0 and spare.get(s):
            i = spare[s].pop(0)
            match[j], taken[i] = i, True
            paths[i] = table.at[i, "path"] = ""  # takes the found file below
    at = np.asarray(match, dtype=np.int64)
    hit = np.flatnonzero(at >= 0)
    times[at[hit]] = np.asarray(f_times, dtype=float)[hit]
    table["time_h"] = times
    for j in hit:
        i, p = int(at[j]), f_paths[j]
        if p and status[i] != DONE and paths[i] != p:
            table.at[i, "path"] = p
            table.at[i, "status"] = PENDING
            table.at[i, "reason"] = ""
    dropped = [i for rows in spare.values() for i in rows]
    if dropped:
        table = table.drop(index=dropped).reset_index(drop=True)
    appended = found.iloc[[j for j, i in enumerate(match) if i < 0]]
    return table, appended


def _sites(frames: pd.DataFrame) -> list[tuple]:
    """Each frame's site ``(plate, well, field, channel, z)``."""
    return list(zip(*(frames[k].to_numpy(object) for k in SITE_KEYS), strict=True))


def _unique(index: dict, counts: Counter) -> dict:
    """``index`` without the keys ``counts`` says occur more than once (a file that names several frames)."""
    return {k: i for k, i in index.items() if counts[k] == 1}


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


def single_scan_note(frames: pd.DataFrame, next_scan: int, model: str | Path) -> str:
    """A note when a bundle reading ``next_scan`` later scans scored a plate of one scan per site ('' otherwise).

    Every frame was then classified from its own look alone (the frame column ``next_scan`` is 0), while the
    bundle's accuracy figures were measured on crops with their later scans: they do not apply. Said once
    frames are scored (``--watch`` holds a site's newest frame until its next scan lands, or the watch stops).
    The note has no ``note:`` prefix.
    """
    if not next_scan or frames.empty or not (frames["status"] == DONE).any():
        return ""
    present = frames[frames["path"].astype(str) != ""]
    keys = [k for k in SITE_KEYS if k in present.columns]
    if present.groupby(keys)["time_h"].nunique().max() > 1:
        return ""
    plate = ", ".join(sorted(map(str, present["plate"].unique())))
    scans = "its next scan" if int(next_scan) == 1 else f"its next {int(next_scan)} scans"
    return (f"plate {plate}: one scan per site, but {model} reads each frame with {scans}: every frame was "
            f"classified from its own look alone (frame column next_scan 0), and the bundle's accuracy figures, "
            f"measured with later scans, do not apply; once later scans are imaged, `ferroscreen score ... --resume` "
            f"scores the frames again with them")


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
