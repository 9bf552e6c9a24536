"""From per-well summaries and a plate layout to tidy dose-response tables.

* :func:`annotate_wells` joins the layout (compound, molar concentration,
  role, mode, rescue agent, cell line, growth condition) onto per-well
  summaries, plate by plate (a single-plate layout fits every plate).
* :func:`dose_response_table` builds one curve per treatment × readout:
  a treatment is a compound, or ``"<compound> + <rescue_agent>"`` for rescue
  wells, within a *group* (cell line and growth condition, where the layout
  has more than one). The group's vehicle wells on the same plates enter
  every curve as zero-dose controls. Treatments with fewer than
  ``min_doses`` distinct positive concentrations (e.g. single-dose reference
  controls) are not curves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.errors import LayoutError, WellError
from ferroscreen.plate import PlateLayout, exclusion_reasons, format_molar, normalize_well

#: Roles whose wells form dose-response curves.
CURVE_ROLES = ("sample", "reference", "rescue", "pos_ctrl")

_LAYOUT_KEEP = (
    "compound",
    "concentration",
    "role",
    "mode",
    "rescue_agent",
    "rescue_concentration",
    "rescue_as_written",
    "replicate",
    "cell_line",
    "growth_condition",
    "exclude",
)


def _text(series: pd.Series) -> pd.Series:
    return series.where(series.notna(), "").astype(str).str.strip()


def annotate_wells(summary: pd.DataFrame, layout: PlateLayout) -> pd.DataFrame:
    """Join layout columns onto a per-well table with ``plate`` and ``well`` columns.

    Adds ``treatment`` (compound, or ``compound + rescue_agent``) and
    ``group`` (cell line / growth condition when those vary, else ``""``).
    Wells missing from the layout get role ``""`` and take no part in curves.

    Raises:
        AnalysisInputError: If no well of the data appears in the layout.
    """
    layout_tab = layout.table
    keep = [c for c in _LAYOUT_KEEP if c in layout_tab.columns]
    parts = []
    for plate, sub in summary.groupby("plate", sort=False):
        try:
            lay = layout.for_plate(str(plate)).table
        except LayoutError:  # a multi-plate layout without this plate
            lay = layout_tab.iloc[0:0]
        lay = lay.drop_duplicates("well")[["well", *keep]]
        parts.append(sub.merge(lay, on="well", how="left"))
    out = pd.concat(parts, ignore_index=True)
    for col in ("compound", "role", "mode", "rescue_agent", "cell_line", "growth_condition"):
        out[col] = _text(out[col]) if col in out.columns else ""
    out["concentration"] = pd.to_numeric(out["concentration"], errors="coerce")
    if out["role"].eq("").all():
        where = layout.source or "layout"
        raise AnalysisInputError(
            f"{where}: none of the data's wells ({', '.join(summary['well'].astype(str)[:4])}"
            f"...) is in the layout"
        )
    out["exclude"] = exclusion_reasons(out["exclude"]) if "exclude" in out.columns else ""
    out["group"] = well_groups(out)
    rescue = out["rescue_agent"] != ""
    out["treatment"] = np.where(
        rescue, out["compound"] + " + " + out["rescue_agent"], out["compound"]
    )
    return out


def mark_excluded(annotated: pd.DataFrame, entries, reason: str = "--exclude") -> pd.DataFrame:
    """``annotated`` with the wells ``entries`` excluded (``exclude`` set to ``reason`` where empty).

    Args:
        annotated: Output of :func:`annotate_wells`.
        entries: ``B03`` (that well of every plate) or ``P1:B03`` (of plate ``P1``).
        reason: The reason recorded.

    Raises:
        AnalysisInputError: An entry that is not a well name, or names no well of the data.
    """
    out = annotated.copy()
    plates = sorted(set(out["plate"].astype(str)))
    for entry in entries:
        plate, _, name = str(entry).strip().rpartition(":")
        try:
            well = normalize_well(name)
        except WellError as exc:
            raise AnalysisInputError(f"--exclude {entry}: {exc}") from None
        if plate and plate not in plates:
            raise AnalysisInputError(f"--exclude {entry}: no plate '{plate}' in the data (plates {', '.join(plates)})")
        rows = out["well"].astype(str) == well
        if plate:
            rows &= out["plate"].astype(str) == plate
        if not rows.any():
            raise AnalysisInputError(f"--exclude {entry}: the data has no well {well}")
        out.loc[rows & (out["exclude"] == ""), "exclude"] = reason
    return out


def split_excluded(annotated: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(used, excluded)`` rows of :func:`annotate_wells` output (``exclude`` holds the reason).

    Excluded wells take no part in any curve, vehicle level, ranking, rescue call or QC.
    """
    out = annotated["exclude"].astype(str) != "" if "exclude" in annotated.columns else pd.Series(
        False, index=annotated.index)
    return annotated[~out].reset_index(drop=True), annotated[out].reset_index(drop=True)


def excluded_listing(excluded: pd.DataFrame, limit: int = 12) -> tuple[int, str]:
    """The number of distinct excluded wells in rows with ``plate, well, exclude``, and their listing.

    The listing reads ``"P1 B03 (bubble), P1 C05 (excluded)"``: the first ``limit``, then ``" and N more"``.
    """
    wells = excluded.drop_duplicates(["plate", "well"])
    named = ", ".join(f"{r.plate} {r.well} ({r.exclude})" for r in wells.head(limit).itertuples(index=False))
    return len(wells), named + (f" and {len(wells) - limit} more" if len(wells) > limit else "")


def exclusion_note(excluded: pd.DataFrame, limit: int = 12) -> str | None:
    """``"2 wells excluded: P1 B03 (bubble), P1 C05 (excluded)"`` or None."""
    if excluded.empty:
        return None
    n, named = excluded_listing(excluded, limit)
    return f"{n} well{'s' if n != 1 else ''} excluded: {named}"


def well_groups(wells: pd.DataFrame) -> pd.Series:
    """Each row's group: its cell line and growth condition, joined by ``" | "``, where they vary.

    Only the columns (``cell_line``, ``growth_condition``) holding more than one
    non-empty value over ``wells`` take part; with none, every group is ``""``.
    """
    texts = {c: _text(wells[c]) for c in ("cell_line", "growth_condition") if c in wells.columns}
    varying = [t for t in texts.values() if t[t != ""].nunique() > 1]
    if not varying:
        return pd.Series("", index=wells.index, dtype=object)
    return pd.concat(varying, axis=1).agg(" | ".join, axis=1)


def curve_name(treatment: str, group: str) -> str:
    """Curve id of a treatment within a group (``"RSL3 | HT-1080"``)."""
    return f"{treatment} | {group}" if group else treatment


def single_dose_treatments(annotated: pd.DataFrame, min_doses: int = 2) -> list[str]:
    """Notes on sample treatments with data at fewer than ``min_doses`` positive molar doses (so no curve).

    A rescue treatment at one dose is compared with its compound alone at that dose
    (:mod:`ferroscreen.analysis.rescue`), and controls (``pos_ctrl``) need no curve: neither the
    rescue, nor a compound that has one, nor a control is named.
    """
    a = annotated
    rescued = (a["rescue_agent"].fillna("").astype(str) != "" if "rescue_agent" in a.columns
               else pd.Series(False, index=a.index))
    with_rescue = set(a.loc[rescued, "compound"])
    dosed = a[(a["role"] == "sample") & (a["compound"] != "") & (a["concentration"] > 0) & ~rescued
              & ~a["compound"].isin(with_rescue)]
    notes = []
    for (treatment, group), g in dosed.groupby(["treatment", "group"], sort=True):
        doses = sorted(g["concentration"].unique())
        if len(doses) < min_doses:
            where = f" ({group})" if group else ""
            notes.append(f"{treatment}{where}: tested at one dose ({format_molar(doses[0])}, {len(g)} well(s)), "
                         f"so it has no dose-response curve; its wells are in readouts.csv")
    return notes


def dose_response_table(
    annotated: pd.DataFrame,
    readouts: list[str],
    min_doses: int = 2,
) -> pd.DataFrame:
    """Tidy ``curve, dose, response[, n], readout`` rows for every treatment × readout.

    Args:
        annotated: Output of :func:`annotate_wells` (after vehicle normalisation).
        readouts: Columns of ``annotated`` to use as responses.
        min_doses: Minimal distinct positive concentrations for a curve.

    Returns:
        The tidy table plus the curve's ``compound, treatment, rescue_agent, group, role,
        mode`` and each point's ``plate, well, well_role`` (``vehicle`` for the dose-0
        points); ``n`` holds the endpoint cell count where known (binomial totals for
        fraction readouts).
    """
    a = annotated
    dosed = a["role"].isin(CURVE_ROLES) & (a["compound"] != "") & (a["concentration"] > 0)
    treated = a[dosed]
    n_doses = treated.groupby(["treatment", "group"])["concentration"].nunique()
    curves = n_doses[n_doses >= min_doses].reset_index()[["treatment", "group"]]
    if curves.empty:
        return pd.DataFrame(columns=["curve", "dose", "response", "readout"])
    treated = treated.merge(curves, on=["treatment", "group"])
    plates = treated[["treatment", "group", "plate"]].drop_duplicates()
    vehicle = a[a["role"] == "vehicle"].drop(columns=["treatment"])
    controls = plates.merge(vehicle, on=["group", "plate"])
    controls = controls.assign(concentration=0.0)
    wells = pd.concat([treated, controls], ignore_index=True)
    info = (
        treated.groupby(["treatment", "group"])
        .agg(
            compound=("compound", "first"),
            rescue_agent=("rescue_agent", "first"),
            curve_role=("role", lambda r: "reference" if (r == "reference").any() else r.iloc[0]),
            curve_mode=("mode", lambda m: next((x for x in m if x), "")),
        )
        .reset_index()
    )
    wells = wells.drop(columns=["compound", "rescue_agent", "mode"], errors="ignore")
    wells = wells.merge(info, on=["treatment", "group"], how="left")
    wells["curve"] = [
        curve_name(t, g) for t, g in zip(wells["treatment"], wells["group"], strict=True)
    ]
    parts = []
    for readout in readouts:
        if readout not in wells.columns:
            continue
        part = pd.DataFrame(
            {
                "curve": wells["curve"],
                "dose": wells["concentration"].astype(float),
                "response": pd.to_numeric(wells[readout], errors="coerce"),
                "readout": readout,
                "compound": wells["compound"],
                "treatment": wells["treatment"],
                "rescue_agent": wells["rescue_agent"],
                "group": wells["group"],
                "role": wells["curve_role"],
                "mode": wells["curve_mode"],
                "plate": wells["plate"],
                "well": wells["well"],
                "well_role": wells["role"],
            }
        )
        if "n_cells_end" in wells.columns:
            part["n"] = wells["n_cells_end"].to_numpy(float)
        parts.append(part[part["response"].notna()])
    if not parts:
        return pd.DataFrame(columns=["curve", "dose", "response", "readout"])
    return pd.concat(parts, ignore_index=True)
