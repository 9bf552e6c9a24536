"""Merging per-rank journals into the plate store (resume, DDP shards, watch passes).

:func:`merge_journals` is the only way results reach the store: it takes the
store's frame table, applies every committed result of the journals to frames
not already done (a done frame is never replaced, so replaying a journal
twice duplicates nothing), copies the cells of all done frames into a new
file in frame-id order, recomputes QC flags and well aggregates, and renames
the new file over the store. Because cells are laid out by frame id, the
store does not depend on how the work was split (ranks, workers, batches,
interruptions).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.score.aggregate import frame_qc, well_aggregates
from ferroscreen.score.shard import ShardReader
from ferroscreen.score.store import DONE, FAILED, PlateStore, open_h5, write_store

_RESULT_COPY = ("status", "height", "width", "focus", "empty", "file_size", "file_mtime", "next_scan", "file_sha256")

#: Result columns a journal may lack (one written before they were recorded): an applied result sets these.
_RESULT_DEFAULTS = {"file_sha256": ""}


def merge_journals(
    out: str | Path,
    attrs: dict,
    frames: pd.DataFrame,
    layout: pd.DataFrame | None,
    journals: list[Path],
    has_store: bool,
    on_damaged: Callable[[Path, str], None] | None = None,
) -> tuple[PlateStore, int]:
    """Write the store ``out`` = its current cells + the journals' committed results.

    Args:
        out: Store path (its current content is the ``store`` cell source when ``has_store``).
        attrs: Root attributes to write (must hold ``classes``; ``confusion`` is used if present).
        frames: Current frame table (done frames' ``cell_start/stop`` index ``out``'s cells).
        layout: Layout table or ``None``.
        journals: Journal files to apply (empty ones are skipped, damaged ones too: their
            frames stay as the store has them, to be scored again).
        has_store: Whether ``out`` exists and holds the done frames' cells.
        on_damaged: Called with each damaged journal and why it could not be read.

    Returns:
        The new store's tables and the number of frame results applied.
    """
    out = Path(out)
    classes = list(attrs["classes"])
    confusion = np.asarray(attrs["confusion"], float) if attrs.get("confusion") is not None else None
    frames = frames.copy().reset_index(drop=True)
    nf = len(frames)
    src_name = np.full(nf, "", dtype=object)
    src_start = frames["cell_start"].to_numpy(np.int64).copy()
    src_stop = frames["cell_stop"].to_numpy(np.int64).copy()
    done0 = frames["status"].to_numpy() == DONE
    src_name[done0] = "store"
    with ExitStack() as stack:
        sources: dict[str, object] = {}
        if has_store and done0.any():
            sources["store"] = stack.enter_context(open_h5(out))["cells"]
        results = []
        for j, path in enumerate(journals):
            reader = stack.enter_context(ShardReader(path, len(classes)))
            if reader.damaged and on_damaged is not None:
                on_damaged(path, reader.damaged)
            sources[f"journal{j}"] = reader.cells
            results.append(reader.results.assign(source=f"journal{j}"))
        rows = _applied_results(results, done0)
        applied = len(rows)
        if applied:
            last = rows.drop_duplicates("frame", keep="last")  # each frame ends as its last applied result says
            fids = last["frame"].to_numpy(np.int64)
            for col in _RESULT_COPY:
                values = last[col].to_numpy() if col in last else np.full(len(last), _RESULT_DEFAULTS[col], object)
                frames[col] = _assigned(frames[col], fids, values)
            reasons = np.where(last["status"].to_numpy() == FAILED, last["reason"].to_numpy(object), "")
            frames["reason"] = _assigned(frames["reason"], fids, reasons.astype(object))
            now_done = last[last["status"] == DONE]
            at = now_done["frame"].to_numpy(np.int64)
            src_name[at] = now_done["source"].to_numpy(object)
            src_start[at] = now_done["cell_start"].to_numpy(np.int64)
            src_stop[at] = now_done["cell_stop"].to_numpy(np.int64)
        done = frames["status"].to_numpy() == DONE
        runs = [
            (int(i), src_name[i], int(src_start[i]), int(src_stop[i]))
            for i in np.flatnonzero(done)
            if src_stop[i] > src_start[i]
        ]

        def finalize(fr: pd.DataFrame, sums: dict[str, np.ndarray]):
            fr = frame_qc(fr)
            return fr, well_aggregates(fr, sums, classes, confusion)

        store = write_store(out, attrs, frames, layout, sources, runs, finalize)
    return store, applied


def _applied_results(results: list[pd.DataFrame], done: np.ndarray) -> pd.DataFrame:
    """The journal results that apply, in journal and commit order.

    Read in order, a result applies when its frame exists and is not done
    yet: results for frames done before (in the store, or by an earlier
    result) are skipped, so a replayed journal changes nothing.
    """
    if not results:
        return pd.DataFrame(columns=["frame", "status", "source"])
    rows = pd.concat(results, ignore_index=True)
    fid = rows["frame"].to_numpy(np.int64)
    valid = (fid >= 0) & (fid < len(done))
    rows, fid = rows[valid], fid[valid]
    rows = rows[~done[fid]].reset_index(drop=True)
    order = np.arange(len(rows))
    first_done = pd.Series(np.where(rows["status"].to_numpy() == DONE, order, len(rows))).groupby(
        rows["frame"].to_numpy(np.int64)).transform("min").to_numpy()
    return rows[order <= first_done]


def _assigned(column: pd.Series, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``column``'s values with positions ``at`` set to ``values`` (upcast when the values need it)."""
    out = column.to_numpy()
    out = out.astype(np.result_type(out, values) if out.dtype != object else object, copy=True)
    out[at] = values
    return out
