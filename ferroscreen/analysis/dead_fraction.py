"""Dead-cell fraction from two instrument counts: a dead-cell stain and the cells it is a share of.

Live-cell death assays count dead cells with a membrane-impermeant dye (IncuCyte
Cytotox Green/Red, SYTOX, propidium iodide: one object per dead cell). A fraction
needs a second count, from the same scans, which is one of two kinds:

* ``all``: every cell, dead ones included (a phase or brightfield object count, or
  a nuclear stain that dead cells keep, such as Hoechst):
  ``frac_dead = dead / total``, clipped to 1;
* ``live``: living cells only (NucLight/nuclear-restricted fluorescent proteins,
  lost when the membrane ruptures): ``frac_dead = dead / (dead + live)``.

The result is a wells table (``plate, well, time_h, n_cells, frac_dead``) whose
death mode is ``dead``: ``fit`` gives it the same curves (``frac_dead``,
``peak_dead``, ``auc_dead``), ranking and QC as a classifier's modes. A confluence
(area) metric is not a count, and neither count may be one.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.analysis.inputs import AnalysisInputError

DEAD_OVER = ("all", "live")
_AREA_METRIC = re.compile(r"confluen|\(\s*percent\s*\)|area", re.IGNORECASE)
_TIME_DECIMALS = 3  # scans of one plate share their elapsed time to well within 4 s


_STAIN_METRIC = re.compile(r"green|red|orange|nir|fluor|cytotox|sytox|propidium|annexin|caspase", re.IGNORECASE)


def metric_note(source, metric: str) -> str:
    """What ``fit`` makes of a single metric export, said before it fits.

    The metric is taken as the cell count (fit: viability and growth readouts; hits: viability); a stain's
    count may instead count dead cells (a Cytotox or SYTOX dye), which goes with ``--dead``
    or ``--signal dead``.
    """
    name = f"metric '{metric}'" if metric else "its metric (no 'Metric:' header)"
    note = f"{source}: {name} taken as the measure of cell number"
    if metric and _STAIN_METRIC.search(metric):
        note += (f"; if this stain counts dead cells (Cytotox, SYTOX, PI), fit a cell-count export with "
                 f"--dead {Path(str(source)).name} instead, or this one with --signal dead (scaled by the layout's "
                 f"pos_ctrl maximum-kill wells)")
    return note


def check_count_metric(metric: str, source, role: str) -> None:
    """Refuse an export whose ``Metric:`` header names an area, not a count.

    Raises:
        AnalysisInputError: If ``metric`` reads as a confluence/area/percent metric.
    """
    if metric and _AREA_METRIC.search(metric):
        raise AnalysisInputError(
            f"{source}: the {role} count must count objects, but this export's metric is '{metric}' "
            f"(an area); export an object count (e.g. 'Phase Object Count' or 'Green Object Count')")


def dead_fraction_wells(
    total: pd.DataFrame,
    dead: pd.DataFrame,
    over: str = "all",
    source_total=None,
    source_dead=None,
) -> tuple[pd.DataFrame, list[str]]:
    """A wells table of ``n_cells`` and ``frac_dead`` from two metric tables; notes.

    Args:
        total: Metric table (``plate, well, time_h, value``) of the cell count
            (all cells or live cells, see ``over``).
        dead: Metric table of the dead-cell count, from the same scans.
        over: ``all`` or ``live``: what ``total`` counts (module docstring).
        source_total: File name of ``total`` for messages.
        source_dead: File name of ``dead`` for messages.

    Returns:
        ``(wells, notes)``: ``plate`` is ``total``'s; one row per well and time
        both tables hold with finite values; ``n_cells`` is ``total`` (``all``)
        or ``dead + live`` (``live``); ``frac_dead`` is NaN where there are no cells.

    Raises:
        AnalysisInputError: On an unknown ``over``, negative counts, or no well
            and time in common.
    """
    if over not in DEAD_OVER:
        raise AnalysisInputError(f"--dead-over must be one of {', '.join(DEAD_OVER)}, got '{over}'")
    notes: list[str] = []
    for table, source in ((total, source_total), (dead, source_dead)):
        values = pd.to_numeric(table["value"], errors="coerce")
        if (values < 0).any():
            row = table[values < 0].iloc[0]
            raise AnalysisInputError(f"{source}: negative count {row['value']} in well {row['well']} "
                                     f"at {row['time_h']:g} h")
    key = ["well", "t"]
    left = total.assign(t=total["time_h"].astype(float).round(_TIME_DECIMALS))
    right = dead.assign(t=dead["time_h"].astype(float).round(_TIME_DECIMALS))
    merged = left.merge(right[[*key, "value"]], on=key, how="outer", suffixes=("_total", "_dead"),
                        indicator=True)
    only = merged["_merge"].value_counts()
    for side, source in (("left_only", source_dead), ("right_only", source_total)):
        if only.get(side, 0):
            notes.append(f"{int(only[side])} well-time(s) missing from {source} left out")
    merged = merged[merged["_merge"] == "both"]
    finite = np.isfinite(merged["value_total"].astype(float)) & np.isfinite(merged["value_dead"].astype(float))
    if (~finite).any():
        notes.append(f"{int((~finite).sum())} well-time(s) with an empty count left out")
    merged = merged[finite]
    if merged.empty:
        raise AnalysisInputError(f"{source_dead}: no well and time in common with {source_total} "
                                 f"(both exports must come from the same plate and scans)")
    n_total = merged["value_total"].astype(float).to_numpy()
    n_dead = merged["value_dead"].astype(float).to_numpy()
    if over == "all":
        n_cells = n_total
        over_total = n_dead > 1.1 * n_total
        if over_total.any():
            notes.append(f"the dead count exceeds the total by > 10 % in {int(over_total.sum())} of "
                         f"{len(n_total)} well-times (fraction clipped to 1): if {source_total} counts "
                         f"living cells only, use --dead-over live")
    else:
        n_cells = n_dead + n_total
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(n_cells > 0, np.minimum(n_dead / n_cells, 1.0), np.nan)
    wells = pd.DataFrame({
        "plate": merged["plate"].astype(str).to_numpy(),
        "well": merged["well"].astype(str).to_numpy(),
        "time_h": merged["t"].to_numpy(),
        "n_cells": n_cells,
        "frac_dead": frac,
    })
    return wells.sort_values(["plate", "well", "time_h"], kind="stable").reset_index(drop=True), notes
