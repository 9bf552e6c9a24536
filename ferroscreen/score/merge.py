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

from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.score.aggregate import frame_qc, well_aggregates
from ferroscreen.score.shard import ShardReader
from ferroscreen.score.store import DONE, FAILED, PlateStore, open_h5, write_store

_RESULT_COPY = ("status", "height", "width", "focus", "empty", "file_size", "file_mtime", "next_scan")


def merge_journals(
    out: str | Path,
    attrs: dict,
    frames: pd.DataFrame,
    layout: pd.DataFrame | None,
    journals: list[Path],
    has_store: bool,
) -> tuple[PlateStore, int]:
    """Write the store ``out`` = its current cells + the journals' committed results.

    Args:
        out: Store path (its current content is the ``store`` cell source when ``has_store``).
        attrs: Root attributes to write (must hold ``classes``; ``confusion`` is used if present).
        frames: Current frame table (done frames' ``cell_start/stop`` index ``out``'s cells).
        layout: Layout table or ``None``.
        journals: Journal files to apply (missing or unreadable ones are skipped).
        has_store: Whether ``out`` exists and holds the done frames' cells.

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
    applied = 0
    with ExitStack() as stack:
        sources: dict[str, object] = {}
        if has_store and done0.any():
            sources["store"] = stack.enter_context(open_h5(out))["cells"]
        for j, path in enumerate(journals):
            reader = stack.enter_context(ShardReader(path, len(classes)))
            name = f"journal{j}"
            sources[name] = reader.cells
            for row in reader.results.itertuples(index=False):
                fid = int(row.frame)
                if fid < 0 or fid >= nf or frames.at[fid, "status"] == DONE:
                    continue
                for col in _RESULT_COPY:
                    frames.at[fid, col] = getattr(row, col)
                frames.at[fid, "reason"] = row.reason if row.status == FAILED else ""
                if row.status == DONE:
                    src_name[fid] = name
                    src_start[fid], src_stop[fid] = int(row.cell_start), int(row.cell_stop)
                applied += 1
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
