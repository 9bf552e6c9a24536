"""Plate-reader signals as cell measures: background (no-cell wells) subtracted.

A plate reader's signal (CellTiter-Glo luminescence, resazurin fluorescence) is proportional
to the viable cells plus a background that the medium and the reagent give without cells. The
layout's ``empty`` wells (role ``empty``: no cells) that hold a reading are the blanks: their
median, per plate and read time, is subtracted from every well of that plate and time (the median,
so that one unfilled or splashed blank does not move it). Without blanks the signal is taken as it
is, and the fitted lower plateau carries the background. Control wells the reader wrote saturated
(``OVER``: missing readings, the brightest left out) are said per plate: the level everything is
normalised to is then biased low.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ferroscreen.plate import PlateLayout

#: A blank above this share of the vehicle signal is said to be suspicious.
HIGH_BLANK = 0.5
#: The control roles whose saturated wells are said (the role normalised to first).
_CONTROL_ROLES = ("vehicle", "neg_ctrl", "pos_ctrl", "empty")
_DEAD_SIGNAL = re.compile(r"sytox|cytotox|celltox|propidium|\bpi\b|ldh|toxilight|dead|lactate", re.I)


def _read_wells_of_role(table: pd.DataFrame, layout: PlateLayout, role: str) -> np.ndarray:
    """Mask of ``table``'s rows that are wells of ``role`` on their plate's layout and hold a finite value."""
    mask = np.zeros(len(table), dtype=bool)
    for plate in table["plate"].unique():
        wells = set(layout.for_plate(str(plate)).wells_with_role(role))
        mask |= (table["plate"] == plate).to_numpy() & table["well"].isin(wells).to_numpy()
    return mask & np.isfinite(table["value"].to_numpy(float))


def saturated_controls(table: pd.DataFrame, layout: PlateLayout, top_role: str = "vehicle") -> list[str]:
    """One note per plate on whose control wells (:data:`_CONTROL_ROLES`) the reader wrote a saturated reading.

    ``table``'s ``saturated`` column (:func:`~ferroscreen.io.plate_reader.plate_reads_table`) marks the
    readings written ``OVER``, read as missing: the control's brightest wells are left out, so its level
    is biased low; ``top_role``'s is what every reading is normalised to. No notes without the column.
    """
    if "saturated" not in table.columns or not table["saturated"].fillna(False).astype(bool).any():
        return []
    kinetic = table["time_h"].nunique() > 1
    roles = [top_role, *(r for r in _CONTROL_ROLES if r != top_role)]
    notes = []
    for plate, rows in table.groupby("plate", sort=False):
        over = set(rows.loc[rows["saturated"].fillna(False).astype(bool), "well"])
        plate_layout = layout.for_plate(str(plate))
        counts = [(role, len(wells & over), len(wells)) for role in roles
                  if (wells := set(plate_layout.wells_with_role(role)) & set(rows["well"]))]
        counts = [c for c in counts if c[1]]
        if not counts:
            continue
        said = " and ".join(f"{n} of {total} {role}" for role, n, total in counts)
        measure = "dead fraction" if top_role == "pos_ctrl" else "viability"
        biased = [role for role, _, _ in counts]
        if biased[0] == top_role:
            why = (f"the {top_role} level every {measure} is relative to is biased low (its brightest wells are left "
                   f"out), and every {measure} high" + (f"; so is the {', '.join(biased[1:])} level" if biased[1:]
                                                        else ""))
        else:
            why = f"the {', '.join(biased)} level is biased low (its brightest wells are left out)"
        notes.append(f"plate {plate}: {said} wells saturated (OVER){' in a read' if kinetic else ''}, read as "
                     f"missing: {why}; lower the reader's gain and read again")
    return notes


def subtract_blank(
    table: pd.DataFrame, layout: PlateLayout | None, top_role: str = "vehicle"
) -> tuple[pd.DataFrame, list[str]]:
    """``table`` (``plate, well, time_h, value``) with its blank subtracted, and what was done.

    The blanks are the layout's ``empty`` wells with a finite value on the same plate and at the
    same time; values are left as they are where a plate and time has none. The note gives the
    blank's share of the ``top_role`` wells' mean signal (``vehicle`` for a viability signal, or
    ``neg_ctrl`` where the layout has no vehicle wells, as an siRNA plate; ``pos_ctrl`` for a dead-cell
    one) and flags a share above :data:`HIGH_BLANK`; a blank at or above it is refused. A ``saturated``
    column (a plate reader's ``OVER`` readings) is taken out of the table, and the notes begin with
    :func:`saturated_controls`'.
    """
    if layout is None:
        return table.drop(columns="saturated", errors="ignore"), []
    if not layout.wells_with_role(top_role) and top_role == "vehicle":  # an siRNA layout: the non-targeting wells
        top_role = "neg_ctrl"  # carry the full signal
    said = saturated_controls(table, layout, top_role)
    table = table.drop(columns="saturated", errors="ignore")
    out, notes = _subtracted(table, layout, top_role)
    return out, [*said, *notes]


def _subtracted(table: pd.DataFrame, layout: PlateLayout, top_role: str) -> tuple[pd.DataFrame, list[str]]:
    """:func:`subtract_blank`'s work, its ``top_role`` the one the layout has."""
    out = table.assign(value=pd.to_numeric(table["value"], errors="coerce").astype(float))  # integer counts too
    blank = _read_wells_of_role(out, layout, "empty")
    if not blank.any():
        return out, ["no empty (no-cell) well holds a reading, so no background was subtracted: it stays in every "
                     "reading (a fitted curve's lower plateau, a fold change's floor)"]
    keys = ["plate", "time_h"]
    level = out[blank].groupby(keys)["value"].median().rename("_blank")
    n_blank = int(out[blank].groupby(keys)["value"].size().min())
    out = out.join(level, on=keys)
    has = out["_blank"].notna()
    top_wells = set(layout.wells_with_role(top_role))
    veh_mean = out.loc[out["well"].isin(top_wells) & ~blank, "value"].mean()
    out.loc[has, "value"] = out.loc[has, "value"] - out.loc[has, "_blank"]
    out = out.drop(columns="_blank")
    share = ""
    if veh_mean > 0:
        ratio = level.mean() / veh_mean
        share = f", {100 * ratio:.1f} % of the {top_role} wells' mean"
        if ratio >= 1:
            from ferroscreen.analysis.inputs import AnalysisInputError

            raise AnalysisInputError(
                f"the blank (median of the layout's empty wells, {level.mean():.4g}) is {100 * ratio:.0f} % of the "
                f"{top_role} wells' signal: check that the layout's empty wells are the no-cell wells")
        if ratio > HIGH_BLANK:
            share += " (high: check that the layout's empty wells hold medium and reagent without cells)"
    notes = [f"background subtracted: the median of the empty (no-cell) wells ({n_blank} or more per plate and "
             f"time), {level.mean():.4g} on average{share}"]
    missing = ~has & np.isfinite(out["value"].to_numpy(float))
    if missing.any():
        plates = ", ".join(sorted(map(str, out.loc[missing, "plate"].unique())))
        notes.append(f"{int(missing.sum())} reading(s) of plate(s) {plates}, on a plate or at a time without a blank, "
                     f"were left as read")
    return out, notes


def is_dead_signal(label: str) -> bool:
    """Whether a read's name says it measures dead cells (SYTOX, CellTox, LDH...: it rises as cells die)."""
    return bool(_DEAD_SIGNAL.search(label or ""))


def signal_note(label: str) -> str:
    """A warning for a read whose name says it measures dead cells (it rises with death), else ''."""
    if is_dead_signal(label):
        return (f"'{label}' looks like a dead-cell signal (it rises as cells die); it is fitted as the viability "
                f"readout (signal over the vehicle's), so its curves rise with dose")
    return ""


#: Fractions beyond [0, 1] by more than this are counted in the notes before clipping.
_CLIP_SLACK = 0.05
#: A scan where the pos_ctrl's signal over the vehicle's is at least this share of its largest is at full kill...
FULL_KILL_SHARE = 0.8
#: ... if the pos_ctrl's signal there is at least this share of its largest (not a read at the blank).
FULL_KILL_LEVEL = 0.2
#: A pos_ctrl never this many times the vehicle's signal has no kill window (said).
MIN_KILL_WINDOW = 2.0
#: Before the full kill, the reference follows the vehicle's growth back by at most this factor.
MAX_EARLY_GROWTH = 4.0


def _kill_reference(level: pd.Series, base: pd.Series | None, plate: str, times: np.ndarray
                    ) -> tuple[pd.Series, list[str]]:
    """The 100 %-dead reference of one plate at ``times``, and notes (see :func:`dead_signal_fraction`).

    ``level`` is the positive pos_ctrl median by time, ``base`` the vehicle median by time (None: no
    vehicle reading); a time after the full kill without a pos_ctrl reading has none (NaN).
    """
    level = level.sort_index()
    base = (base if base is not None else pd.Series(dtype=float)).where(lambda b: b > 0)  # at the blank: none
    window = level / base.reindex(level.index)
    strong = level >= FULL_KILL_LEVEL * level.max()  # a control read near the blank has not killed
    judged = window[strong].notna().any()
    largest = float(window[strong].max()) if judged else np.nan
    if judged:
        full = strong & (window >= FULL_KILL_SHARE * largest)
    else:  # no vehicle reading: the control's own signal, against its largest
        full = level >= FULL_KILL_SHARE * level.max()
    first = full.idxmax()
    ref = level.reindex(times)
    early = times[times < first]
    # the cells a full kill would have counted then: fewer by the vehicle's growth up to the full kill
    growth = (base.reindex(times) / base.get(first, np.nan)).clip(1 / MAX_EARLY_GROWTH, 1.0).fillna(1.0)
    ref[ref.index < first] = level[first] * growth[ref.index < first]
    notes = []
    if judged and largest < MIN_KILL_WINDOW:
        notes.append(f"plate {plate}: the pos_ctrl wells are never {MIN_KILL_WINDOW:g}x the vehicle's signal (at "
                     f"most {largest:.3g}x, at {window[strong].idxmax():g} h): no kill window, so frac_dead is "
                     f"relative to a control that did not kill; check that the pos_ctrl wells are a lysis or full-kill "
                     f"control")
    if len(early):
        what = (f"{window[first]:.3g}x the vehicle's signal, {largest:.3g}x at most" if judged
                else f"{level[first]:.4g}, {level.max():.4g} at most; no vehicle reading to compare with")
        was = window.get(early[0], np.nan)
        start = f"; {was:.3g}x the vehicle's at {early[0]:g} h" if np.isfinite(was) else ""
        span = f"{early[0]:g} h" if len(early) == 1 else f"{early[0]:g}-{early[-1]:g} h"
        grown = growth[early]
        back = (f", times the vehicle's signal then over its signal at {first:g} h ({grown.min():.2f} to "
                f"{grown.max():.2f}: the cells were fewer)" if (grown < 1).any() else "")
        notes.append(f"plate {plate}: the pos_ctrl wells reach their full kill at {first:g} h ({what}); the "
                     f"{len(early)} earlier scan(s) ({span}{start}), before it had killed, are scaled by its "
                     f"{first:g} h level ({level[first]:.4g} = 100 % dead){back}, not by their own")
    return ref, notes


def dead_signal_fraction(table: pd.DataFrame, layout: PlateLayout, source=None) -> tuple[pd.DataFrame, list[str]]:
    """A wells table (``plate, well, time_h, frac_dead``) from a blank-subtracted dead-cell signal; notes.

    A dead-cell signal (LDH release, SYTOX/CellTox/propidium iodide fluorescence, a Cytotox object
    count) is scaled by the layout's ``pos_ctrl`` wells, a lysis or full-kill control read as 100 %
    dead: ``frac_dead = signal / reference`` (after :func:`subtract_blank`, so medium-only wells are
    0 %; the vehicle keeps its spontaneous death, which the fitted lower plateau takes). Values are
    clipped to [0, 1]; those more than 5 % outside are counted.

    The reference is the median of the pos_ctrl wells per plate and scan, from the first scan on
    which the control is at its **full kill**: its signal over the vehicle's (the median of the
    ``vehicle`` wells, else the ``neg_ctrl`` wells; none where the vehicle reads at or below the
    blank) is at least :data:`FULL_KILL_SHARE` of its largest over the scans where the control's
    signal is at least :data:`FULL_KILL_LEVEL` of its largest (a control read near the blank has
    not killed, whatever its ratio to a vehicle also near the blank); without a vehicle reading,
    its signal is at least :data:`FULL_KILL_SHARE` of its largest. A lysis control
    is at full kill from the first scan, so each scan is scaled by its own (an endpoint read by its
    one scan), which follows the growth of the cells and the drift of the reader. A drug control
    (staurosporine) read kinetically kills over hours: the scans before its full kill are not
    divided by a control that has not killed yet (that calls the vehicle up to 100 % dead) but by
    its level at the full kill, times the vehicle's signal then over the vehicle's signal at the
    full kill (the cells a full kill would have counted then were fewer; the ratio is held to
    [1 / :data:`MAX_EARLY_GROWTH`, 1], and is 1 without a vehicle reading). Scans so scaled are said
    per plate, and so is a control that is never :data:`MIN_KILL_WINDOW` times the vehicle's signal
    (no kill window: its fractions are then relative to a control that did not kill).

    Raises:
        AnalysisInputError: Without ``pos_ctrl`` wells holding a positive reading.
    """
    from ferroscreen.analysis.inputs import AnalysisInputError

    out = table.copy()
    if not layout.wells_with_role("pos_ctrl"):
        raise AnalysisInputError(
            f"{layout.source or 'the layout'}: no pos_ctrl wells; a dead-cell signal is scaled by them (a lysis or "
            f"full-kill control, 100 % dead): mark them with role pos_ctrl")
    top = _read_wells_of_role(out, layout, "pos_ctrl")
    keys = ["plate", "time_h"]
    level = out[top].groupby(keys)["value"].median()
    level = level[level > 0]
    if level.empty:
        raise AnalysisInputError(
            f"{source or 'plate read'}: a dead-cell signal is scaled by the layout's pos_ctrl wells (a lysis or "
            f"full-kill control, 100 % dead), and none holds a reading above the blank")
    base_role = "vehicle" if layout.wells_with_role("vehicle") else "neg_ctrl"
    base = out[_read_wells_of_role(out, layout, base_role) & ~top].groupby(keys)["value"].median()
    refs, held = [], []
    for plate, plate_level in level.groupby(level="plate", sort=False):
        plate_level = plate_level.droplevel("plate")
        plate_base = base.xs(plate, level="plate") if plate in base.index.get_level_values("plate") else None
        times = np.sort(out.loc[out["plate"] == plate, "time_h"].unique())
        ref, said = _kill_reference(plate_level, plate_base, str(plate), times)
        held += said
        refs.append(pd.DataFrame({"plate": plate, "time_h": ref.index, "_top": ref.to_numpy(float)}))
    refs = pd.concat(refs, ignore_index=True)
    out = out.merge(refs, on=keys, how="left")
    usable = out["_top"] > 0
    notes = [f"dead-cell signal scaled by the median of the pos_ctrl (lysis) wells per plate and time: "
             f"{refs['_top'].mean():.4g} on average = 100 % dead", *held]
    if (~usable).any():
        notes.append(f"{int((~usable).sum())} reading(s) on a plate or at a time without a pos_ctrl reading "
                     f"left out")
    out = out[usable]
    frac = (out["value"] / out["_top"]).to_numpy(float)
    outside = int(np.sum((frac < -_CLIP_SLACK) | (frac > 1 + _CLIP_SLACK)))
    if outside:
        notes.append(f"{outside} fraction(s) more than 5 % outside [0, 1] clipped (a well brighter than the "
                     f"lysis control, or below the blank)")
    wells = out[["plate", "well", "time_h"]].assign(frac_dead=np.clip(frac, 0.0, 1.0))
    return wells.reset_index(drop=True), notes
