"""From per-well summaries and a plate layout to tidy dose-response tables.

* :func:`annotate_wells` joins the layout (compound, molar concentration,
  role, mode, rescue agent, cell line, growth condition) onto per-well
  summaries, plate by plate (a single-plate layout fits every plate).
* :func:`dose_response_table` builds one curve per treatment × readout:
  a treatment is a compound, or ``"<compound> + <rescue_agent>"`` for rescue
  wells, within a *group* (cell line and growth condition, where the layout
  has more than one). The group's vehicle wells on the same plates enter
  every curve as zero-dose controls: those of its vehicle set
  (:func:`vehicle_sets`: a ``+ agent`` curve's are the vehicle wells with
  that agent alone, where the plate has them). Treatments with fewer than
  ``min_doses`` distinct positive concentrations (e.g. single-dose reference
  controls) are not curves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.errors import LayoutError, WellError
from ferroscreen.plate import PlateLayout, exclusion_reasons, format_molar, normalize_well
from ferroscreen.plate.agents import agent_identity, agent_key, agent_mode

#: Roles whose wells form dose-response curves.
CURVE_ROLES = ("sample", "reference", "rescue", "pos_ctrl")

#: Relative difference within which two agent concentrations are one (as rescue's ``dose_tolerance``).
AGENT_DOSE_TOLERANCE = 0.1

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


def agent_only_vehicles(annotated: pd.DataFrame) -> pd.Series:
    """Which rows are vehicle wells with a death-mode inhibitor alone (inhibitor-only controls, not plain vehicle).

    A vehicle well with a ``rescue_agent`` (``DMSO`` + Ferrostatin-1), or whose compound is a known
    inhibitor (``Ferrostatin-1`` of role ``vehicle``), as training reads them
    (:mod:`ferroscreen.datamodules.reference_labels`).
    """
    a = annotated
    vehicle = a["role"].astype(str) == "vehicle" if "role" in a.columns else pd.Series(False, index=a.index)
    agent = _text(a["rescue_agent"]) if "rescue_agent" in a.columns else pd.Series("", index=a.index)
    compound = _text(a["compound"]) if "compound" in a.columns else pd.Series("", index=a.index)
    return vehicle & ((agent != "") | compound.map(lambda c: bool(agent_mode(c))))


def _agent_doses(a: pd.DataFrame, only: pd.Series) -> pd.DataFrame:
    """``agent, key, dose, written`` of each row: its agent (an inhibitor-only vehicle's compound), molar dose."""
    agent = _text(a["rescue_agent"]) if "rescue_agent" in a.columns else pd.Series("", index=a.index)
    rconc = pd.to_numeric(a["rescue_concentration"], errors="coerce") if "rescue_concentration" in a.columns \
        else pd.Series(np.nan, index=a.index)
    written = _text(a["rescue_as_written"]) if "rescue_as_written" in a.columns else pd.Series("", index=a.index)
    by_compound = only & (agent == "")
    agent = agent.where(~by_compound, _text(a["compound"]) if "compound" in a.columns else "")
    dose = rconc.where(~by_compound, pd.to_numeric(a["concentration"], errors="coerce")
                       if "concentration" in a.columns else np.nan)
    key = agent.map(lambda name: agent_identity(name) or agent_key(name))  # Fer1 beside Ferrostatin-1: one agent
    return pd.DataFrame({"agent": agent, "key": key, "dose": dose.astype(float),
                         "written": written.where(~by_compound, "")}, index=a.index)


def vehicle_sets(annotated: pd.DataFrame, tolerance: float = AGENT_DOSE_TOLERANCE) -> pd.Series:
    """Each row's vehicle set: which vehicle wells are its zero dose and its normalisation.

    ``""`` is the plain vehicle wells. An inhibitor-only vehicle well (:func:`agent_only_vehicles`)
    is in the set of its agent and concentration (``"Ferrostatin-1 1 µM"``; concentrations within a
    relative ``tolerance`` of the set's lowest are one set, as rescue matches doses; without a
    molar one, the rescue dose as written). A well of a compound + agent takes its agent's set when
    its plate and group hold vehicle wells of it, else the plain one, as does every other well.
    Without inhibitor-only vehicle wells every row is ``""``; so is every row of a plate and group
    whose vehicle wells all hold an inhibitor (:func:`agent_only_groups`): those are then its
    vehicle, as they were before inhibitor-only wells were told apart, rather than no vehicle at all.
    """
    a = annotated
    only = agent_only_vehicles(a)
    out = pd.Series("", index=a.index, dtype=object)
    if not only.any():
        return out
    where = [c for c in ("plate", "group") if c in a.columns]
    if where:
        lacking = agent_only_groups(a)
        if lacking:
            keys = pd.Series(list(zip(*(a[c] for c in where), strict=True)), index=a.index)
            only = only & ~keys.isin(lacking)
            if not only.any():
                return out
    info = _agent_doses(a, only)
    sets: list[tuple[str, float, str, str]] = []  # (agent key, dose, written, label)
    for i in info[only].sort_values(["key", "dose"]).index:
        key, dose, written = info.at[i, "key"], info.at[i, "dose"], info.at[i, "written"]
        label = next((s[3] for s in sets if _same_dose(s, key, dose, written, tolerance)), None)
        if label is None:
            label = f"{info.at[i, 'agent']} {format_molar(dose) if np.isfinite(dose) else written}".strip()
            sets.append((key, dose, written, label))
        out.at[i] = label
    have = {(*(a.at[i, c] for c in where), out.at[i]) for i in a.index[only]}
    treated = (info["key"] != "") & ~only & (a["role"].astype(str) != "vehicle")
    for i in a.index[treated]:
        key, dose, written = info.at[i, "key"], info.at[i, "dose"], info.at[i, "written"]
        label = next((s[3] for s in sets if _same_dose(s, key, dose, written, tolerance)), None)
        if label is not None and (*(a.at[i, c] for c in where), label) in have:
            out.at[i] = label
    return out


def agent_only_groups(annotated: pd.DataFrame) -> list[tuple]:
    """``(plate, group)`` keys (the columns ``annotated`` has) whose vehicle wells all hold an inhibitor alone.

    Such a plate has no plain vehicle: its inhibitor-only wells stay the vehicle of every curve
    (:func:`vehicle_sets`), and :func:`~ferroscreen.analysis.screen.agent_vehicles_note` says so.
    """
    a = annotated
    where = [c for c in ("plate", "group") if c in a.columns]
    if not where or "role" not in a.columns:
        return []
    vehicle = a["role"].astype(str) == "vehicle"
    only = agent_only_vehicles(a)
    plain = (vehicle & ~only).groupby([a[c] for c in where]).any()
    has_vehicle = vehicle.groupby([a[c] for c in where]).any()
    lacking = has_vehicle & ~plain
    return [k if isinstance(k, tuple) else (k,) for k in lacking[lacking].index]


def _same_dose(vehicle_set: tuple, key: str, dose: float, written: str, tolerance: float) -> bool:
    """Whether an agent ``key`` at ``dose`` (or ``written``, without a molar dose) is in ``vehicle_set``."""
    s_key, s_dose, s_written = vehicle_set[:3]
    if s_key != key:
        return False
    if np.isfinite(s_dose) and np.isfinite(dose) and s_dose > 0 and dose > 0:
        return bool(abs(np.log(dose / s_dose)) <= np.log1p(tolerance))
    return not np.isfinite(s_dose) and not np.isfinite(dose) and s_written == written


def with_vehicle_sets(annotated: pd.DataFrame, tolerance: float = AGENT_DOSE_TOLERANCE,
                      always: bool = False) -> pd.DataFrame:
    """``annotated`` with a ``vehicle_set`` column (:func:`vehicle_sets`); kept as it is when it has one.

    Without inhibitor-only vehicle wells the table is returned as it is (every set would be ``""``),
    unless ``always``.
    """
    if "vehicle_set" in annotated.columns:
        return annotated
    sets = vehicle_sets(annotated, tolerance)
    return annotated.assign(vehicle_set=sets) if always or sets.ne("").any() else annotated


def dose_response_table(
    annotated: pd.DataFrame,
    readouts: list[str],
    min_doses: int = 2,
) -> pd.DataFrame:
    """Tidy ``curve, dose, response[, n], readout`` rows for every treatment × readout.

    Args:
        annotated: Output of :func:`annotate_wells` (after vehicle normalisation); its
            ``vehicle_set`` (:func:`with_vehicle_sets`, computed when absent) picks each curve's
            vehicle wells.
        readouts: Columns of ``annotated`` to use as responses.
        min_doses: Minimal distinct positive concentrations for a curve.

    Returns:
        The tidy table plus the curve's ``compound, treatment, rescue_agent, group, role,
        mode`` and each point's ``plate, well, well_role`` (``vehicle`` for the dose-0
        points); ``n`` holds the endpoint cell count where known (binomial totals for
        fraction readouts).
    """
    a = with_vehicle_sets(annotated, always=True)
    dosed = a["role"].isin(CURVE_ROLES) & (a["compound"] != "") & (a["concentration"] > 0)
    treated = a[dosed]
    n_doses = treated.groupby(["treatment", "group"])["concentration"].nunique()
    curves = n_doses[n_doses >= min_doses].reset_index()[["treatment", "group"]]
    if curves.empty:
        return pd.DataFrame(columns=["curve", "dose", "response", "readout"])
    treated = treated.merge(curves, on=["treatment", "group"])
    plates = treated[["treatment", "group", "plate", "vehicle_set"]].drop_duplicates()
    vehicle = a[a["role"] == "vehicle"].drop(columns=["treatment"])
    controls = plates.merge(vehicle, on=["group", "plate", "vehicle_set"])
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
