"""Plate quality control: assay window, control variability and edge effects.

One row per plate × group × readout × reference compound. The ``group`` is the
cell line / growth condition the fits group wells by (the annotated wells'
``group`` column: ``""`` with a single one): a plate holding several lines is
judged per line, its vehicle against its own references, since lines differ in
cell number and background death (pooled, three good lines of a 384-well
plate read a vehicle count CV of 0.53 and Z′ -6.0). Within a plate and group:

* for each death mode ``m`` and each reference compound (``reference``, the
  compound's name): plain vehicle wells (negative; not those with a death-mode
  inhibitor alone, :func:`~ferroscreen.analysis.dose_tables.agent_only_vehicles`,
  whose own effect is what they test) against that compound's
  ``reference``/``pos_ctrl`` wells whose layout mode is ``m`` (positive; for
  ``dead``, a dead-stain fraction, every such well). Two references of one mode
  (RSL3 and erastin) are two controls of their own strength, not one: pooled,
  a perfect plate read Z′ 0.39 where each alone read 0.725 and 0.645. A mode
  without any such well gets one row with an empty ``reference``
  (``no_controls``). The readout is
  the mode's fraction readout given in ``readouts`` (the screen passes the
  one its ranking uses, ``peak_<m>`` by default; ``frac_<m>``, the endpoint
  fraction, otherwise). A reference whose dead cells have faded by the
  endpoint has no window left there, so judging the plate at the endpoint
  would fail good plates;
* ``viability``: vehicle wells against every ``reference``/``pos_ctrl`` well
  of the group, pooled (``reference`` empty: every control kills cells, whatever
  its mode), on the endpoint count ``n_cells_end``; no such row for a plate without
  counts (a tile-mode plate, whose ``n_cells`` counts tiles, has no
  ``n_cells_end``: :mod:`~ferroscreen.analysis.readouts`).

A positive control run as a dose series (a reference at 4 doses) is judged at
its highest dose on the plate, in its group, or the top doses needed for two
wells where the top dose has one (:func:`top_dose_controls`; a line whose series
tops at a lower dose keeps its own top dose): its lower doses are the curve's,
not a control's (pooled, a good plate's Z′ read -1.2 instead of 0.94).

Statistics (``p`` positive, ``n`` negative controls):

``z_prime``
    ``1 - 3 (sd_p + sd_n) / |mean_p - mean_n|`` (Zhang et al. 1999);
``robust_z_prime``
    the same with medians and scaled MADs (``1.4826 · MAD``);
``ssmd``
    ``(mean_p - mean_n) / sqrt(sd_p^2 + sd_n^2)`` (Zhang 2007);
``cv_vehicle`` / ``cv_reference``
    coefficients of variation of the two control groups;
``edge_effect``
    for the count row: relative difference of the median vehicle count in
    outer-ring wells against inner wells (NaN when either is missing).

A plate × readout **fails** (``pass`` False, reasons in ``flags``) when
``z_prime < z_min`` (``low_z_prime``), when the vehicle count CV exceeds
``cv_max`` (``high_cv``; only for counts, fractions near 0 have meaningless
CVs) or the reference fraction CV does, when ``|edge_effect| > edge_max``
(``edge_effect``), when the reference reads on the wrong side of the vehicle
(``inverted_window``: a fraction readout's reference less dead, or the count's
reference with more cells, than the vehicle, the two bands apart, Z′ >= 0; a
reference that did nothing overlaps the vehicle, ``low_z_prime`` alone:
:func:`inverted_window`), or when
a control group has fewer than two wells (``no_controls``, which fails nothing
else but is reported). A plate fails when any of its rows fails. Failing plates
are reported, never dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis.dose_tables import agent_only_vehicles
from ferroscreen.plate.wells import well_to_rowcol

QC_COLUMNS = [
    "plate", "group", "readout", "reference", "n_vehicle", "n_reference", "mean_vehicle", "mean_reference",
    "z_prime", "robust_z_prime", "ssmd", "cv_vehicle", "cv_reference", "edge_effect",
    "pass", "flags",
]  # fmt: skip

POSITIVE_ROLES = ("reference", "pos_ctrl")


def control_stats(neg: np.ndarray, pos: np.ndarray) -> dict[str, float]:
    """Counts, means, CVs, Z′, robust Z′ and SSMD of negative (``vehicle``) and positive (``reference``) controls.

    Keys: ``n_vehicle, n_reference, mean_vehicle, mean_reference, cv_vehicle, cv_reference,
    z_prime, robust_z_prime, ssmd``; a statistic needing two wells of a group is NaN without them.
    """
    out = {
        "n_vehicle": neg.size,
        "n_reference": pos.size,
        "mean_vehicle": float(np.mean(neg)) if neg.size else np.nan,
        "mean_reference": float(np.mean(pos)) if pos.size else np.nan,
    }
    sd_n = float(np.std(neg, ddof=1)) if neg.size > 1 else np.nan
    sd_p = float(np.std(pos, ddof=1)) if pos.size > 1 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cv_vehicle"] = np.float64(sd_n) / abs(out["mean_vehicle"]) if neg.size > 1 else np.nan
        out["cv_reference"] = np.float64(sd_p) / abs(out["mean_reference"]) if pos.size > 1 else np.nan
        if neg.size > 1 and pos.size > 1:
            gap = np.float64(abs(out["mean_reference"] - out["mean_vehicle"]))
            out["z_prime"] = 1 - 3 * (sd_p + sd_n) / gap
            med_n, med_p = np.median(neg), np.median(pos)
            mad_n = 1.4826 * np.median(np.abs(neg - med_n))
            mad_p = 1.4826 * np.median(np.abs(pos - med_p))
            out["robust_z_prime"] = 1 - 3 * (mad_p + mad_n) / abs(med_p - med_n)
            out["ssmd"] = (out["mean_reference"] - out["mean_vehicle"]) / np.hypot(sd_p, sd_n)
        else:
            out["z_prime"] = out["robust_z_prime"] = out["ssmd"] = np.nan
    return out


def inverted_window(mean_vehicle: float, mean_reference: float, expected: str, z_prime: float) -> bool:
    """Whether the reference's band lies clear of the vehicle's on the wrong side (False when a value is NaN).

    ``expected``: ``"down"`` when the reference should read below the vehicle (a cell count, a viability
    signal: fewer cells), ``"up"`` when above (a dead fraction). ``z_prime``: the pair's Z′, which takes the
    gap's size alone, so an inverted window scores as well as a right one; this says which way it lies. Only a
    real gap counts, Z′ >= 0 (``|gap| >= 3 (sd_p + sd_n)``, the bands apart): a reference that did nothing
    reads on either side of the vehicle by noise, an overlap (Z′ < 0), not an inversion.
    """
    if not (np.isfinite(mean_vehicle) and np.isfinite(mean_reference) and np.isfinite(z_prime)) or z_prime < 0:
        return False
    return bool(mean_reference > mean_vehicle if expected == "down" else mean_reference < mean_vehicle)


def top_dose_controls(positive: pd.DataFrame) -> pd.DataFrame:
    """Positive-control wells at their compound's top dose, or the top doses needed for two wells.

    Per ``compound`` (one group when the column is absent): the wells of its highest dose on ``positive`` (one
    plate and group); when that dose has a single well, the next doses down are added until two wells are in,
    so Z′ is computable (a dose series of one well per dose: the top two doses). Every well of a compound
    without doses stays; a well without a ``concentration`` stays only then.
    """
    if positive.empty or "concentration" not in positive.columns:
        return positive
    dose = pd.to_numeric(positive["concentration"], errors="coerce").to_numpy(float)
    compound = (positive["compound"].astype(str).to_numpy() if "compound" in positive.columns
                else np.full(len(positive), ""))
    keep = np.zeros(len(positive), bool)
    for name in pd.unique(compound):
        of = compound == name
        d = np.where(of, dose, np.nan)
        if not np.isfinite(d).any():
            keep |= of
            continue
        for level in np.unique(d[np.isfinite(d)])[::-1]:
            taken = np.isfinite(d) & (d >= level * (1 - 1e-9))
            if taken.sum() >= 2:
                break
        keep |= taken
    return positive[keep]


def _edge_effect(vehicle: pd.DataFrame, n_rows: int, n_cols: int) -> float:
    if vehicle.empty or "n_cells_end" not in vehicle.columns:
        return np.nan
    rc = [well_to_rowcol(w) for w in vehicle["well"]]
    edge = np.array([r in (0, n_rows - 1) or c in (0, n_cols - 1) for r, c in rc])
    vals = vehicle["n_cells_end"].to_numpy(float)
    if edge.sum() < 2 or (~edge).sum() < 2:
        return np.nan
    inner = np.nanmedian(vals[~edge])
    return float((np.nanmedian(vals[edge]) - inner) / inner) if inner else np.nan


def _by_compound(positive: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(compound, wells)`` per reference compound of ``positive``; ``[("", positive)]`` when it has none."""
    if positive.empty or "compound" not in positive.columns:
        return [("", positive)]
    names = positive["compound"].fillna("").astype(str)
    return [(str(name), part) for name, part in positive.groupby(names, sort=False)]


def _qc_row(vehicle: pd.DataFrame, pos: pd.DataFrame, readout: str, plate_shape: tuple[int, int],
            z_min: float, cv_max: float, edge_max: float) -> dict:
    """Statistics, ``pass`` and ``flags`` of one readout's vehicle against one set of positive wells."""
    neg_v = vehicle[readout].dropna().to_numpy(float)
    pos_v = pos[readout].dropna().to_numpy(float)
    row = control_stats(neg_v, pos_v)
    counts = readout == "n_cells_end"
    row["edge_effect"] = _edge_effect(vehicle, *plate_shape) if counts else np.nan
    flags = []
    if neg_v.size < 2 or pos_v.size < 2:
        flags.append("no_controls")
    if np.isfinite(row["z_prime"]) and row["z_prime"] < z_min:
        flags.append("low_z_prime")
    if inverted_window(row["mean_vehicle"], row["mean_reference"], "down" if counts else "up", row["z_prime"]):
        flags.append("inverted_window")
    cv = row["cv_vehicle"] if counts else row["cv_reference"]
    if np.isfinite(cv) and cv > cv_max:
        flags.append("high_cv")
    if np.isfinite(row["edge_effect"]) and abs(row["edge_effect"]) > edge_max:
        flags.append("edge_effect")
    row["pass"] = not any(f != "no_controls" for f in flags)
    row["flags"] = ";".join(flags)
    return row


def plate_qc(
    annotated: pd.DataFrame,
    modes: list[str],
    plate_shape: tuple[int, int] = (8, 12),
    z_min: float = 0.5,
    cv_max: float = 0.2,
    edge_max: float = 0.2,
    readouts: dict[str, str] | None = None,
) -> pd.DataFrame:
    """QC table (see the module docstring).

    Args:
        annotated: Per-well summaries joined with the layout (``role``, ``mode``; ``compound`` names
            the references; ``group``, as :func:`~ferroscreen.analysis.dose_tables.annotate_wells`
            gives it, the cell line / condition; without it, one group ``""``).
        modes: Death modes to assess.
        plate_shape: ``(rows, columns)`` of the plate format (for the edge ring).
        z_min: Minimal acceptable Z'.
        cv_max: Maximal acceptable CV of vehicle counts / reference fractions.
        edge_max: Maximal acceptable relative edge effect.
        readouts: Mode -> the fraction column judged (default ``frac_<mode>``).

    Returns:
        Columns :data:`QC_COLUMNS`.
    """
    rows = []
    groups = annotated["group"] if "group" in annotated.columns else pd.Series("", index=annotated.index)
    groups = groups.fillna("").astype(str)
    for (plate, group), sub in annotated.groupby([annotated["plate"], groups], sort=False):
        vehicle = sub[sub["role"] == "vehicle"]
        plain = vehicle[~agent_only_vehicles(vehicle)]
        vehicle = plain if len(plain) else vehicle  # no plain vehicle wells: the inhibitor-only ones, as the fits
        positive = top_dose_controls(sub[sub["role"].isin(POSITIVE_ROLES)])
        targets = [((readouts or {}).get(m, f"frac_{m}"), name, pos) for m in modes
                   for name, pos in _by_compound(positive if m == "dead" else positive[positive["mode"] == m])]
        if "n_cells_end" in sub.columns and sub["n_cells_end"].notna().any():  # a tile-mode plate has none
            targets.append(("n_cells_end", "", positive))
        for readout, reference, pos in targets:
            if readout not in sub.columns:
                continue
            row = _qc_row(vehicle, pos, readout, plate_shape, z_min, cv_max, edge_max)
            rows.append({"plate": plate, "group": group, "readout": readout, "reference": reference, **row})
    return pd.DataFrame(rows, columns=QC_COLUMNS)
