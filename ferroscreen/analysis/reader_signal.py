"""Plate-reader signals as cell measures: background (no-cell wells) subtracted.

A plate reader's signal (CellTiter-Glo luminescence, resazurin fluorescence) is proportional
to the viable cells plus a background that the medium and the reagent give without cells. The
layout's ``empty`` wells (role ``empty``: no cells) that hold a reading are the blanks: their
median, per plate and read time, is subtracted from every well of that plate and time (the median,
so that one unfilled or splashed blank does not move it). Without blanks the signal is taken as it
is, and the fitted lower plateau carries the background.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ferroscreen.plate import PlateLayout

#: A blank above this share of the vehicle signal is said to be suspicious.
HIGH_BLANK = 0.5
_DEAD_SIGNAL = re.compile(r"sytox|cytotox|propidium|\bpi\b|ldh|toxilight|dead|lactate", re.I)


def subtract_blank(table: pd.DataFrame, layout: PlateLayout | None) -> tuple[pd.DataFrame, list[str]]:
    """``table`` (``plate, well, time_h, value``) with its blank subtracted, and what was done.

    The blanks are the layout's ``empty`` wells with a finite value on the same plate and at the
    same time; values are left as they are where a plate and time has none.
    """
    if layout is None:
        return table, []
    out = table.copy()
    blank = np.zeros(len(out), dtype=bool)
    for plate in out["plate"].unique():
        empty = set(layout.for_plate(str(plate)).wells_with_role("empty"))
        blank |= (out["plate"] == plate).to_numpy() & out["well"].isin(empty).to_numpy()
    blank &= np.isfinite(out["value"].to_numpy(float))
    if not blank.any():
        return out, ["no empty (no-cell) well holds a reading, so no background was subtracted: the curves' "
                     "lower plateau carries it"]
    keys = ["plate", "time_h"]
    level = out[blank].groupby(keys)["value"].median().rename("_blank")
    n_blank = int(out[blank].groupby(keys)["value"].size().min())
    out = out.join(level, on=keys)
    has = out["_blank"].notna()
    vehicle = set(layout.wells_with_role("vehicle"))
    veh_mean = out.loc[out["well"].isin(vehicle) & ~blank, "value"].mean()
    out.loc[has, "value"] = out.loc[has, "value"] - out.loc[has, "_blank"]
    out = out.drop(columns="_blank")
    share = ""
    if veh_mean > 0:
        ratio = level.mean() / veh_mean
        share = f", {100 * ratio:.1f} % of the vehicle wells' mean"
        if ratio > HIGH_BLANK:
            share += " (high: check that the layout's empty wells hold medium and reagent without cells)"
    notes = [f"background subtracted: the median of the empty (no-cell) wells ({n_blank} or more per plate and "
             f"time), {level.mean():.4g} on average{share}"]
    missing = (~has & np.isfinite(out["value"].to_numpy(float))).sum()
    if missing:
        notes.append(f"{int(missing)} reading(s) on a plate or at a time without a blank were left as read")
    return out, notes


def signal_note(label: str) -> str:
    """A warning for a read whose name says it measures dead cells (it rises with death), else ''."""
    if _DEAD_SIGNAL.search(label or ""):
        return (f"'{label}' looks like a dead-cell signal (it rises as cells die); it is fitted as the viability "
                f"readout (signal over the vehicle's), so its curves rise with dose")
    return ""
