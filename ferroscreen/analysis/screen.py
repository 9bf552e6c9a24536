"""The screen path: wells table + plate layout -> fits, ranking, rescue, QC.

:func:`analyse_screen` runs, in order, :func:`~ferroscreen.analysis.readouts.summarise_wells`,
:func:`~ferroscreen.analysis.dose_tables.annotate_wells`,
:func:`~ferroscreen.analysis.readouts.normalise_to_vehicle`,
:func:`~ferroscreen.analysis.dose_tables.dose_response_table`,
:func:`~ferroscreen.analysis.fit_curves` (plateaus bounded to [0, 1] for
fractions, [0, 2] for viability and [-1, 1.5] for GR values), :func:`~ferroscreen.analysis.ranking.rank_compounds`,
:func:`~ferroscreen.analysis.rescue.confirm_rescues` (rescue curves, and
single-dose rescues against alone wells or the fitted alone curve through
:class:`AlonePredictor`), :func:`~ferroscreen.analysis.line_comparison.compare_lines`
(when the layout holds several cell lines or growth conditions) and
:func:`~ferroscreen.analysis.qc.plate_qc`. :func:`ec50_over_time` fits one
curve per treatment × readout × time point for time-resolved potency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.analysis.dose_response import (
    FIT_COLUMNS,
    WEIGHTED_PREFIXES,
    FittedCurves,
    fit_curves_with_params,
)
from ferroscreen.analysis.dose_tables import (
    CURVE_ROLES,
    agent_only_groups,
    agent_only_vehicles,
    annotate_wells,
    curve_name,
    dose_response_table,
    exclusion_note,
    mark_excluded,
    single_dose_treatments,
    split_excluded,
    with_vehicle_sets,
)
from ferroscreen.analysis.inputs import (
    AnalysisInputError,
    NothingToFitError,
    layout_argument,
    validate_wells,
    well_entries,
)
from ferroscreen.analysis.line_comparison import compare_lines
from ferroscreen.analysis.models import F, ModelSpec, jacobian
from ferroscreen.analysis.qc import plate_qc
from ferroscreen.analysis.ranking import RANK_ON, rank_compounds, ranked_readout
from ferroscreen.analysis.readouts import (
    FRACTION_PREFIXES,
    death_modes,
    normalise_to_vehicle,
    summarise_wells,
    tile_mode_plates,
)
from ferroscreen.analysis.rescue import confirm_rescues
from ferroscreen.errors import LayoutError
from ferroscreen.output_set import OutputSet
from ferroscreen.plate import PlateLayout, format_molar, well_to_rowcol

_FITTABLE_FIXED = ("viability", "gr", "dip_rel", "dip_rate")
#: Plateau bounds per readout family: fractions in [0, 1], relative counts
#: non-negative, GR values not below -1 (complete kill); others data-driven.
_PLATEAU_BOUNDS = {"viability": (0.0, 2.0), "gr": (-1.0, 1.5)}
_CURVE_INFO = ["compound", "treatment", "rescue_agent", "group", "role", "mode"]


@dataclass
class ScreenResult:
    """Everything :func:`analyse_screen` computes.

    Attributes:
        fits: One row per curve × readout (``fits.csv``).
        ranking: Per-mode ranking (``ranking.csv``).
        rescue: Rescue pairs and whether they confirm the mode (``rescue.csv``).
        qc: Plate QC (``qc.csv``).
        wells: Per-well summaries joined with the layout (``readouts.csv``); excluded
            wells last, with their ``exclude`` reason and no vehicle-normalised values.
        doses: The tidy dose-response table that was fitted.
        notes: Human-readable remarks (readouts skipped, ...).
        lines: Cell lines (growth conditions) compared per compound
            (``lines.csv``; empty with one group).
    """

    fits: pd.DataFrame
    ranking: pd.DataFrame
    rescue: pd.DataFrame
    qc: pd.DataFrame
    wells: pd.DataFrame
    doses: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    lines: pd.DataFrame = field(default_factory=pd.DataFrame)


def fittable_readouts(summary: pd.DataFrame) -> list[str]:
    """Columns of a per-well summary that can be fitted as dose-response readouts."""
    cols = [c for c in summary.columns if c.startswith(FRACTION_PREFIXES)]
    cols += [c for c in _FITTABLE_FIXED if c in summary.columns]
    return [c for c in cols if summary[c].notna().any()]


def default_readouts(
    summary: pd.DataFrame, model: str = "ll4", rank_on: str = "peak", single_time: bool = False
) -> list[str]:
    """Readouts fitted by default: per death mode its endpoint fraction and the ranked readout.

    The ranked readout is the one ``rank_on`` names (``peak_<m>`` by default, see
    :mod:`~ferroscreen.analysis.ranking`); then ``viability`` (and ``gr`` without modes).
    With ``model="ll2"`` only the endpoint fractions (binomial with counts). With
    ``single_time`` (every well read at one time point, e.g. an endpoint plate-reader
    read) the peak and the time average of a fraction are the endpoint fraction itself,
    so only ``frac_<m>`` is fitted (and ranked on): fitting both would count every
    compound twice in the curve and activity counts.
    """
    modes = [c for c in summary.columns if c.startswith("frac_") and c not in ("frac_dead", "frac_alive")]
    if not modes and "frac_dead" in summary.columns:  # a dead-stain fraction, the table's only mode
        modes = ["frac_dead"]
    available = set(fittable_readouts(summary))
    out = [c for c in modes if c in available]
    if model == "ll2":
        return out
    prefix = RANK_ON.get(rank_on, "frac_")
    if prefix != "frac_" and not single_time:
        out += [r for c in list(out) if (r := prefix + c[len("frac_"):]) in available]
    if "viability" in available:
        out.append("viability")
    if not modes and "gr" in available:
        out.append("gr")
    return out


def _check_readouts(readouts: list[str], summary: pd.DataFrame, model: str, source) -> None:
    available = fittable_readouts(summary)
    for r in readouts:
        if r not in available:
            raise AnalysisInputError(
                f"{source or 'wells'}: readout '{r}' is not available; "
                f"choose from {', '.join(available) or '(none)'}"
            )
        if model == "ll2" and not r.startswith("frac_"):
            raise AnalysisInputError(
                f"{source or 'wells'}: model ll2 (binomial) fits endpoint fractions "
                f"only; '{r}' is not a frac_<mode> readout"
            )


def _weights_for(wells: pd.DataFrame, fit_kwargs: dict) -> dict:
    """``fit_kwargs`` with count weights off unless ``n_cells`` counts the cells the fractions are of.

    Those are a classifier's (``frac_alive`` beside the modes) on plates scored cell by cell: a tile-mode
    plate counts tiles, and a plate reader's ``n_cells`` beside its ``frac_dead`` is a viability signal,
    so neither weighs its wells (:func:`~ferroscreen.analysis.dose_response.fraction_weights`).
    """
    counted = "frac_alive" in wells.columns and not tile_mode_plates(wells)
    return fit_kwargs if counted or "weights" in fit_kwargs else {**fit_kwargs, "weights": False}


def _fit_doses(
    doses: pd.DataFrame, model: str, source, keep: list[FittedCurves] | None = None, **fit_kwargs
) -> pd.DataFrame:
    """Fit every curve of a dose table (readout-family plateau bounds); ``keep`` collects the batch fits."""
    parts = []
    fraction = doses["readout"].str.startswith(FRACTION_PREFIXES)
    for is_fraction, sub in doses.groupby(fraction, sort=False):
        if sub.empty:
            continue
        if is_fraction:
            bound_sets = [(sub, (0.0, 1.0))]
        else:
            bound_sets = [
                (part, _PLATEAU_BOUNDS.get(r)) for r, part in sub.groupby("readout", sort=False)
            ]
        for part, bounds in bound_sets:
            kwargs = dict(fit_kwargs)
            if model != "ll2" and bounds is not None:
                kwargs.setdefault("plateau_bounds", bounds)
            # least squares keeps ``n`` for the endpoint fractions' inverse-variance weights only
            weighted = part["readout"].str.startswith(WEIGHTED_PREFIXES)
            table = part if model == "ll2" or weighted.any() else part.drop(columns=["n"], errors="ignore")
            fitted = fit_curves_with_params(table, model=model, source=source, **kwargs)
            if keep is not None:
                keep.append(fitted)
            parts.append(fitted.table)
    fits = pd.concat(parts, ignore_index=True)
    info = doses.drop_duplicates("curve").set_index("curve")[_CURVE_INFO]
    fits = fits.join(info, on="curve")
    order = {r: i for i, r in enumerate(dict.fromkeys(doses["readout"]))}
    fits["_o"] = fits["readout"].map(order)
    return fits.sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


class AlonePredictor:
    """Fitted compound-alone response at a dose, for single-dose rescue comparisons.

    Calling it with ``(compound, group, readout, dose)`` returns the fitted
    response of the compound's own curve (no rescue agent) at ``dose`` with
    its delta-method standard error (keys ``value, se, dof, dose_min,
    dose_max``) and the spread of a well at that response (``well_var``,
    ``well_df``, ``well_se``: see :func:`near_dose_variance`; NaN for a
    binomial LL.2 fit or too few wells), or None when the compound has no
    fitted curve. Curves of the main fit are reused; a readout that was not
    fitted (e.g. ``auc_<mode>``) is fitted on first use from the annotated
    wells with the same model (LL.4 when the model is the binomial LL.2 and
    the readout is not an endpoint fraction) and bounds, and cached.
    """

    def __init__(
        self,
        annotated: pd.DataFrame,
        batches: list[FittedCurves],
        model: str,
        source=None,
        fit_kwargs: dict | None = None,
    ):
        self.annotated = annotated
        self.batches = list(batches)
        self.model = model
        self.source = source
        self.fit_kwargs = dict(fit_kwargs or {})
        self._tried: set[tuple[str, str]] = set()
        self._points: dict[str, dict[str, pd.DataFrame]] = {}

    def _find(self, curve: str, readout: str) -> tuple[FittedCurves, int] | None:
        for batch in self.batches:
            row = batch.row_of(curve, readout)
            if row is not None:
                return batch, row
        return None

    def _fit_on_demand(self, compound: str, group: str, readout: str) -> None:
        a = self.annotated
        if readout not in a.columns:
            return
        mine = ((a["treatment"] == compound) & (a["group"] == group)) | (a["role"] == "vehicle")
        doses = dose_response_table(a[mine], [readout])
        doses = doses[doses["curve"] == curve_name(compound, group)]
        if doses.empty:
            return
        model = self.model if self.model != "ll2" or readout.startswith("frac_") else "ll4"
        _fit_doses(doses, model, self.source, keep=self.batches, **self.fit_kwargs)

    def _curve_points(self, compound: str, group: str, readout: str) -> pd.DataFrame:
        """The ``dose, response`` points of the compound's curve on ``readout`` (its vehicle wells at dose 0)."""
        if readout not in self._points:  # every curve's points of the readout, built once
            a = self.annotated
            doses = dose_response_table(a, [readout]) if readout in a.columns else pd.DataFrame(columns=["curve"])
            self._points[readout] = dict(list(doses.groupby("curve", sort=False)))
        empty = pd.DataFrame(columns=["dose", "response"])
        return self._points[readout].get(curve_name(compound, group), empty)

    def __call__(self, compound: str, group: str, readout: str, dose: float) -> dict | None:
        """Prediction of ``compound`` alone in ``group`` on ``readout`` at ``dose`` (None: no curve)."""
        curve = curve_name(compound, group)
        found = self._find(curve, readout)
        if found is None and (curve, readout) not in self._tried:
            self._tried.add((curve, readout))
            self._fit_on_demand(compound, group, readout)
            found = self._find(curve, readout)
        if found is None:
            return None
        batch, row = found
        fit = batch.table.iloc[row]
        if fit["call"] == "failed":
            return None
        pred = batch.predict(row, [dose]).iloc[0]
        well_var = well_df = well_se = float("nan")
        if batch.spec.loss == "gaussian":
            pts = self._curve_points(compound, group, readout)
            x, y = (pd.to_numeric(pts[c], errors="coerce").to_numpy(float) for c in ("dose", "response"))
            well_var, well_df, lev = near_dose_variance(batch.params[row], batch.spec, x, y, dose)
            well_se = float(np.sqrt(well_var * lev))
        return {
            "value": float(pred["value"]),
            "se": float(pred["se"]),
            "dof": float(pred["df"]),
            "well_var": well_var,
            "well_df": well_df,
            "well_se": well_se,
            "dose_min": float(fit["dose_min"]),
            "dose_max": float(fit["dose_max"]),
        }


def near_dose_variance(
    params: np.ndarray, spec: ModelSpec, doses: np.ndarray, y: np.ndarray, dose: float
) -> tuple[float, float, float]:
    """Per-well variance of a least-squares curve's wells at the response level of ``dose``.

    A death fraction's wells spread far more where many cells die than at the vehicle and the
    quiet low doses, so the fit's residual SE over every point understates a well's spread at a
    dose with an effect (single-dose rescue tests were four times too liberal). Only the wells
    at positive doses where the fit is at least half-way from its zero-dose level to its value at
    ``dose`` count (as the ``curve`` rescue design pools its replicates): with ``r`` their
    residuals and ``h`` their leverages (hat matrix ``H`` of the linearised fit over every point,
    vehicle included), ``s^2 = sum r^2 / sum (1 - h)``, unbiased under locally equal noise, with
    Satterthwaite's ``df = (sum (1 - h))^2 / ||(I - H)_SS||_F^2``.

    Args:
        params: ``(5,)`` natural parameters of the fit.
        spec: Its model (the free parameters carry the leverage).
        doses: ``(M,)`` the fitted points' doses (0: vehicle wells).
        y: ``(M,)`` their responses (non-finite ones are dropped).
        dose: The dose of interest.

    Returns:
        ``(s2, df, h)``, ``h`` the leverage of the fitted value at ``dose`` (its variance is
        ``h * s2`` on the same ``df``); NaN where fewer than one degree of freedom is left.
    """
    ok = np.isfinite(doses) & np.isfinite(y) & (doses >= 0)
    x, y = doses[ok], y[ok]
    free = list(spec.free)
    if not np.all(np.isfinite(params)) or x.size <= len(free) or not dose > 0:
        return np.nan, np.nan, np.nan
    zero = np.append(x <= 0, [True, False])  # the points, then the zero-dose limit and ``dose``
    logx = np.log(np.where(zero, 1.0, np.append(x, [1.0, dose])))
    f, jac = jacobian(params[None, :], logx[None, :], zero[None, :], with_f=F in spec.free)
    f, jac = f[0], jac[0][:, free]
    scale = np.linalg.norm(jac[:-2], axis=0)
    jac = jac / np.where(scale > 0, scale, 1.0)  # leverage does not change; conditioning does
    pinv = np.linalg.pinv(jac[:-2])
    hat = jac[:-2] @ pinv
    lev = float(np.sum((pinv.T @ jac[-1]) ** 2))
    base, level = f[-2], f[-1]
    sign = np.sign(level - base) or 1.0
    sel = ~zero[:-2] & (sign * (f[:-2] - (base + level) / 2) >= 0)
    resid = y - f[:-2]
    block = (np.eye(x.size) - hat)[np.ix_(sel, sel)]
    expected = float(np.trace(block))
    df = expected**2 / float(np.sum(block**2)) if sel.any() else 0.0
    if not df >= 1.0:
        return np.nan, np.nan, np.nan
    return float(np.sum(resid[sel] ** 2) / expected), df, lev


def layout_coverage(wells: pd.DataFrame, layout: PlateLayout) -> list[str]:
    """Notes on the data the layout leaves out, which joins no curve.

    Those are plates it has no plate for, plates none of whose wells it lists, and wells it does
    not list (wells without a single reading, such as a plate read's blank cells, are no data);
    and, the other way round, the layout's dose-response wells the data has no row for
    (:func:`never_imaged`);
    and plates a one-plate layout describes though it names its plate otherwise
    (:meth:`~ferroscreen.plate.layout.PlateLayout.other_name_note`). Each data plate is matched as
    :meth:`~ferroscreen.plate.layout.PlateLayout.for_plate` matches it.

    Raises:
        AnalysisInputError: If no plate of the data finds its layout plate.
    """
    values = wells.drop(columns=["plate", "well", "time_h"], errors="ignore").apply(pd.to_numeric, errors="coerce")
    read = np.isfinite(values.to_numpy(float)).any(axis=1) if values.shape[1] else np.ones(len(wells), bool)
    data = wells.loc[read, ["plate", "well"]].astype(str).drop_duplicates()  # a blank grid cell is no data
    if data.empty:
        data = wells[["plate", "well"]].astype(str).drop_duplicates()
    plates = list(dict.fromkeys(data["plate"]))
    several = len(plates) > 1
    unmatched, uncovered, missing, covered = [], [], [], []
    for plate in plates:
        mine = set(data.loc[data["plate"] == plate, "well"])
        try:
            lay = layout.for_plate(plate)
        except LayoutError:
            rivals = layout.plate_candidates(plate)
            unmatched.append(f"{plate} (could be {' or '.join(rivals)})" if len(rivals) > 1 else plate)
            continue
        listed = set(lay.table["well"].astype(str))
        if not mine & listed:
            uncovered.append(f"plate {plate}: none of its {len(mine)} wells is in {lay.source or 'the layout'}")
        else:
            covered.append(plate)
            missing += [f"{plate} {w}" if several else w for w in sorted(mine - listed, key=well_to_rowcol)]
    listed_plates = ", ".join(layout.plate_ids)
    if len(unmatched) == len(plates):
        raise AnalysisInputError(
            f"{layout.source or 'layout'}: the data's plate(s) {', '.join(unmatched)} find no layout plate (plates "
            f"{listed_plates}); a plate takes the rows of the layout plate it is named after (its name, a barcode "
            f"after '_', or a replicate such as {layout.plate_ids[0]}_rep2)")
    notes = [note] if (note := layout.other_name_note(plates)) else []
    if unmatched:
        notes.append(f"plate(s) {', '.join(unmatched)} of the data are not in the layout (plates {listed_plates}) "
                     "and join no curve")
    notes += [f"{u}: they join no curve" for u in uncovered]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        notes.append(f"{len(missing)} well(s) of the data are not in the layout and join no curve: {shown}")
    if never := never_imaged(wells, layout, covered):
        notes.append(never)
    return notes


def never_imaged(wells: pd.DataFrame, layout: PlateLayout, plates: list[str]) -> str | None:
    """One line on the layout's dose-response wells (roles :data:`CURVE_ROLES`) the data has no row for.

    Only the layout plates of the data's ``plates`` count (a layout of several plates describes
    others too). It names the first wells with their compounds, and the compounds none of whose
    wells is in the data, which get no curve; ``None`` when every such well is in the data.
    """
    several = len(plates) > 1
    absent, seen = [], set()
    named_compounds: dict[str, None] = {}
    for plate in plates:
        lay = layout.for_plate(plate)
        t = lay.table
        curve = t[t["role"].isin(CURVE_ROLES) & (t["compound"].astype(str) != "")]
        imaged = set(wells.loc[wells["plate"].astype(str) == plate, "well"].astype(str))
        for well, compound in zip(curve["well"].astype(str), curve["compound"].astype(str), strict=True):
            named_compounds.setdefault(compound)
            if well in imaged:
                seen.add(compound)
            else:
                absent.append((plate, well, compound))
    if not absent:
        return None
    absent.sort(key=lambda a: (a[0], well_to_rowcol(a[1])))
    shown = ", ".join(f"{f'{p} ' if several else ''}{w} {c}" for p, w, c in absent[:8])
    shown += f" and {len(absent) - 8} more" if len(absent) > 8 else ""
    line = f"{len(absent)} layout well(s) of a dose-response compound were never imaged (no row in the data): {shown}"
    lost = [c for c in named_compounds if c not in seen]
    if lost:
        listed = ", ".join(lost[:8]) + (f" and {len(lost) - 8} more" if len(lost) > 8 else "")
        line += f"; {len(lost)} compound(s) with no imaged well get no curve: {listed}"
    return line


def rescue_without_agent(annotated: pd.DataFrame, layout: PlateLayout) -> str | None:
    """One line on the data's wells of role ``rescue`` whose layout row names no ``rescue_agent``.

    Such a well is neither a rescue arm (no agent) nor the compound alone (its role says
    otherwise), so no rescue comparison takes it; ``None`` when there is none.
    """
    if "rescue_agent" not in annotated.columns or "role" not in annotated.columns:
        return None
    bare = annotated[(annotated["role"] == "rescue") & (annotated["rescue_agent"].fillna("").astype(str) == "")]
    if bare.empty:
        return None
    bare = bare.drop_duplicates(["plate", "well"])
    several = annotated["plate"].nunique() > 1
    sites = sorted(zip(bare["plate"].astype(str), bare["well"].astype(str), bare["compound"].astype(str),
                       strict=True), key=lambda s: (s[0], well_to_rowcol(s[1])))
    shown = ", ".join(f"{f'{p} ' if several else ''}{w} ({c or 'no compound'})" for p, w, c in sites[:8])
    shown += f" and {len(sites) - 8} more" if len(sites) > 8 else ""
    return (f"{layout.source or 'layout'}: {len(sites)} well(s) of role rescue name no rescue_agent and join no "
            f"rescue comparison: {shown}; give the agent in column rescue_agent (or role sample)")


def pooled_rescue_doses(annotated: pd.DataFrame) -> list[str]:
    """Notes on rescue curves whose wells hold the rescue agent at several doses.

    A rescue curve is a compound's dose series with a rescue agent; it pools the agent's doses.
    """
    if "rescue_agent" not in annotated.columns or "rescue_concentration" not in annotated.columns:
        return []
    rescued = annotated[(annotated["rescue_agent"] != "") & (annotated["concentration"] > 0)]
    if rescued.empty:
        return []
    molar = pd.to_numeric(rescued["rescue_concentration"], errors="coerce")
    written = (rescued["rescue_as_written"].fillna("").astype(str) if "rescue_as_written" in rescued.columns
               else pd.Series("", index=rescued.index))
    dose = [format_molar(m) if pd.notna(m) else w for m, w in zip(molar, written, strict=True)]
    rescued = rescued.assign(_rdose=dose, _series=rescued.groupby(["treatment", "group"])["concentration"]
                             .transform("nunique"))
    notes = []
    for (treatment, group), g in rescued[rescued["_series"] > 1].groupby(["treatment", "group"], sort=True):
        doses = [d for d in dict.fromkeys(g["_rdose"]) if d]
        if len(doses) > 1:
            where = f" ({group})" if group else ""
            notes.append(f"{treatment}{where}: the rescue agent at {len(doses)} doses ({', '.join(doses)}) across "
                         f"the dose series is fitted as one rescue curve")
    return notes


def plates_without_vehicle(annotated: pd.DataFrame) -> list[str]:
    """Notes on plates (cell lines) with dosed wells but no vehicle wells: their vehicle-relative readouts are empty."""
    if "n_cells_end" not in annotated.columns or not annotated["n_cells_end"].notna().any():
        return []
    keys = [c for c in ("plate", "group") if c in annotated.columns]
    dosed = annotated[annotated["role"].isin(CURVE_ROLES)].groupby(keys).size()
    with_vehicle = set(annotated[annotated["role"] == "vehicle"].groupby(keys).size().index)
    lacking = [k for k in dosed.index if k not in with_vehicle]
    if not lacking or len(lacking) == len(dosed):  # none lacks one, or the whole input does (said by the fit)
        return []

    def name(key) -> str:
        key = key if isinstance(key, tuple) else (key,)
        return " ".join(str(k) for k in key if str(k))

    return [f"{', '.join(name(k) for k in lacking)}: no vehicle wells, so viability, gr and dip_rel (relative to "
            "the vehicle) are empty there"]


def pooled_vehicles(annotated: pd.DataFrame) -> list[str]:
    """A note per plate whose vehicle wells hold vehicles of several names (DMSO and untreated): pooled as one.

    Vehicle wells with an inhibitor alone are not pooled (:func:`agent_vehicles_note`).
    """
    if "compound" not in annotated.columns:
        return []
    vehicle = annotated[(annotated["role"] == "vehicle") & ~agent_only_vehicles(annotated)]
    kinds = vehicle.groupby("plate")["compound"].apply(lambda c: sorted({str(x) for x in c if str(x)}))
    return [f"plate {plate}: vehicle wells of {len(names)} kinds ({', '.join(names)}) are one vehicle; give the "
            f"others role neg_ctrl to keep them apart, or empty where they hold no cells"
            for plate, names in kinds.items() if len(names) > 1]


def agent_vehicles_note(annotated: pd.DataFrame) -> str | None:
    """The note that vehicle wells with an inhibitor alone are the vehicle of that inhibitor's curves only.

    ``"6 vehicle wells with Ferrostatin-1 1 µM are the zero dose of the + Ferrostatin-1 curves; the
    plain vehicle wells of the others"`` (one clause per vehicle set,
    :func:`~ferroscreen.analysis.dose_tables.vehicle_sets`), None without such wells.
    """
    lacking = agent_only_groups(annotated)
    clauses = []
    for key in lacking:
        where = " ".join(str(k) for k in key if str(k))
        clauses.append(f"{where}: every vehicle well holds an inhibitor alone (no plain vehicle), so they are the zero "
                       f"dose and the viability reference of every curve there, the compound-alone curves too (an "
                       f"inhibitor that changes the cells by itself shifts those)")
    if "vehicle_set" not in annotated.columns:
        return "; ".join(clauses) or None
    sets = annotated["vehicle_set"].fillna("").astype(str)
    vehicle = annotated["role"] == "vehicle"
    plain = []
    for label in dict.fromkeys(sets[vehicle & (sets != "")]):
        n = len(annotated.loc[vehicle & (sets == label), ["plate", "well"]].drop_duplicates())
        agents = sorted(set(annotated.loc[~vehicle & (sets == label), "rescue_agent"].astype(str)) - {""})
        whose = (f"the {' and '.join('+ ' + a for a in agents)} curves" if agents
                 else "no curve (no compound with that agent and dose on their plates)")
        groups = (sorted({str(g) for g in annotated.loc[vehicle & (sets == label), "group"].fillna("")} - {""})
                  if "group" in annotated.columns else [])
        where = f" (of {', '.join(groups)} only)" if groups else ""  # other lines' + agent wells: plain vehicle
        plain.append(f"{n} vehicle well{'s' if n != 1 else ''} with {label}{where} {'are' if n != 1 else 'is'} the "
                     f"zero dose and the viability, gr and dip_rel reference of {whose}")
    if plain:
        clauses.append("; ".join(plain) + "; the plain vehicle wells of the others (and of plate QC)")
    return "; ".join(clauses) or None


def ll2_note(rank_on: str) -> str:
    """The note of an ``ll2`` run: which readouts it fits and ranks on, and what it does not model."""
    note = ("model ll2 (binomial, a 0 -> 1 response) fits the endpoint fractions (frac_<mode>) only: no peak_<mode>, "
            "auc_<mode> or viability curves; a vehicle background death is not modelled (ll4 fits both plateaus)")
    if rank_on != "endpoint":
        note += f"; rank_on '{rank_on}' ranks on frac_<mode> as well (its {RANK_ON[rank_on]}<mode> is not fitted)"
    return note


def analyse_screen(
    wells: pd.DataFrame,
    layout: PlateLayout,
    model: str = "ll4",
    readouts: list[str] | None = None,
    endpoint_h: float | None = None,
    source=None,
    rank_on: str = "peak",
    exclude: Sequence[str] = (),
    **fit_kwargs,
) -> ScreenResult:
    """Run the whole analysis of one screen.

    Args:
        wells: A ``wells.csv`` table (``plate, well, time_h, n_cells, frac_<class>``), a DataFrame.
        layout: The plate layout (compound, molar concentration, role, mode, rescue agent): a
            :class:`~ferroscreen.plate.PlateLayout` (:func:`ferroscreen.plate.read_layout`), or the
            layout table as a DataFrame, read as that reads a CSV
            (:func:`~ferroscreen.analysis.inputs.layout_argument`).
        model: Curve model for every readout (``ll2`` only for ``frac_`` readouts).
        readouts: Readouts to fit (default :func:`default_readouts`).
        endpoint_h: Endpoint time for endpoint readouts (default: last time point).
        source: Input name used in error messages.
        rank_on: Readout the compounds rank on per mode (``peak``, ``endpoint``,
            ``auc``; see :mod:`~ferroscreen.analysis.ranking`).
        exclude: Wells to leave out besides those the layout's ``exclude``
            column marks (``B03`` on every plate, ``P1:B03`` on one): a list, or
            one string of them separated by commas or spaces (``"B03,P1:C05"``).
        **fit_kwargs: Passed to :func:`~ferroscreen.analysis.fit_curves`; a ``min_effect`` that is one
            number is also the single-dose rescue's least effect of the compound alone
            (:func:`~ferroscreen.analysis.confirm_rescues`) and the line comparison's
            (:func:`~ferroscreen.analysis.compare_lines`).

    Returns:
        A :class:`ScreenResult`.

    Raises:
        AnalysisInputError: If the tables do not fit together, a readout is unknown, ``wells`` is no
            DataFrame or ``layout`` neither a layout nor one (None).
    """
    exclude = well_entries(exclude)
    wells = validate_wells(wells, source=source)
    fit_kwargs = _weights_for(wells, fit_kwargs)
    layout = layout_argument(layout, source)
    coverage = layout_coverage(wells, layout)
    modes = death_modes(wells)
    end_notes: list[str] = []
    summary = summarise_wells(wells, endpoint_h=endpoint_h, source=source, notes=end_notes,
                              empty_wells=_empty_wells(wells, layout))
    used, excluded = split_excluded(mark_excluded(annotate_wells(summary, layout), exclude))
    if used.empty:
        raise AnalysisInputError(f"{layout.source or 'layout'}: every well is excluded (column 'exclude')")
    annotated = normalise_to_vehicle(with_vehicle_sets(used), notes=end_notes)
    notes: list[str] = [n for n in (exclusion_note(excluded), *coverage, *end_notes, *plates_without_vehicle(annotated),
                                    *pooled_vehicles(annotated), agent_vehicles_note(annotated),
                                    *pooled_rescue_doses(annotated),
                                    rescue_without_agent(annotated, layout)) if n]
    if rank_on not in RANK_ON:
        raise AnalysisInputError(f"rank_on must be one of {', '.join(RANK_ON)}, not '{rank_on}'")
    single_time = bool(wells.groupby(["plate", "well"])["time_h"].nunique().max() <= 1)
    if model == "ll2":
        notes.append(ll2_note(rank_on))
    elif not readouts and single_time and rank_on != "endpoint":
        same = [f"{RANK_ON[rank_on]}{c[len('frac_'):]}" for c in default_readouts(annotated, model, "endpoint")
                if c.startswith("frac_")]
        same = [c for c in same if c in annotated.columns]
        if same:
            fracs = ", ".join("frac_" + c.split("_", 1)[1] for c in same)
            notes.append(f"one time point per well: the {rank_on} of a fraction is its endpoint value, so {fracs} "
                         f"alone is fitted and ranked on (no {', '.join(same)} curves, which would be the same)")
    readouts = list(readouts) if readouts else default_readouts(annotated, model, rank_on, single_time)
    _check_readouts(readouts, annotated, model, source)
    if not readouts:
        why = ""
        vehicles = layout.table[layout.table["role"] == "vehicle"]
        if model == "ll2" and any(r in fittable_readouts(annotated) for r in ("viability", "gr")):
            why = (f"; model ll2 (binomial) fits fractions of counted cells (frac_<mode>), and this table has none: "
                   f"fit its {', '.join(r for r in ('viability', 'gr') if r in fittable_readouts(annotated))} "
                   f"with ll4 or ll3")
        elif not (annotated["role"] == "vehicle").any() and len(vehicles):  # listed, but none has a reading
            shown = ", ".join(vehicles["well"].astype(str).head(6)) + (" ..." if len(vehicles) > 6 else "")
            why = (f"; none of the layout's {len(vehicles)} vehicle wells ({shown}) has a reading in the data, "
                   f"and viability is relative to them (were their values read as missing? see the notes above)")
        elif not (annotated["role"] == "vehicle").any():  # every readout is relative to the vehicle's
            why = (f"; {layout.source or 'the layout'} names no vehicle wells (role 'vehicle', or a compound such "
                   f"as DMSO) on any plate the data has, and viability is relative to them")
            t = layout.table
            zero = t[(t["compound"].astype(str) == "") & (pd.to_numeric(t.get("concentration_raw"),
                                                                         errors="coerce") == 0)]
            if len(zero):
                why += (f" (its {len(zero)} well(s) with no compound at dose 0 are read as empty, no-cell wells: "
                        f"call untreated controls 'untreated' or give them role vehicle)")
        raise NothingToFitError(f"{source or 'wells'}: nothing to fit (no usable readout){why}")
    doses = dose_response_table(annotated, readouts)
    single = single_dose_treatments(annotated)
    rescued = (annotated["rescue_agent"].fillna("").astype(str) != "") & (annotated["concentration"] > 0)
    if doses.empty and not rescued.any():
        raise NothingToFitError(
            f"{layout.source or 'layout'}: no compound has two or more positive molar "
            f"concentrations with data, so there is no dose-response curve to fit"
            + (f" ({single[0]}" + (f"; and {len(single) - 1} more)" if len(single) > 1 else ")") if single else "")
        )
    notes += single
    batches: list[FittedCurves] = []
    if doses.empty:  # a rescue plate of single doses: no curve, each rescue well against its compound alone
        notes.append("no compound has two or more doses, so no curve is fitted; rescue wells are compared with "
                     "their compound alone dose by dose")
        fits = pd.DataFrame(columns=[*FIT_COLUMNS, *_CURVE_INFO])
    else:
        fits = _fit_doses(doses, model, source, keep=batches, **fit_kwargs)
    rank_modes = [
        m for m in modes if m != "alive" and {f"frac_{m}", f"{RANK_ON[rank_on]}{m}"} & set(readouts)
    ]
    ranking = rank_compounds(fits, annotated, rank_modes, rank_on=rank_on)
    predict = AlonePredictor(annotated, batches, model, source, fit_kwargs)
    threshold = fit_kwargs.get("min_effect")  # one number: also the rescue's and line comparison's least effect
    same_effect = {"min_effect": float(threshold)} if isinstance(threshold, (int, float)) else {}
    rescue = confirm_rescues(fits, annotated, predict, **same_effect)
    fmt = layout.plate_format
    dying = [m for m in modes if m != "alive"]
    judged = {m: ranked_readout(m, rank_on, readouts) for m in dying}  # QC judges what the ranking uses
    qc = plate_qc(annotated, dying, (fmt.rows, fmt.cols), readouts=judged)
    readouts = pd.concat([annotated, excluded], ignore_index=True) if len(excluded) else annotated
    return ScreenResult(fits, ranking, rescue, qc, readouts, doses, notes, compare_lines(fits, **same_effect))


def scans_asked(wells: pd.DataFrame, times_h: Sequence[float] | None) -> tuple[list[float], list[str]]:
    """The scans of a validated wells table that ``times_h`` ask for, in their order, and notes.

    Each requested time is taken as the nearest scan (of any plate); times that come to the same
    scan are that scan once. Default: every scan after the first. The notes say which requested
    times were not a scan's time and which came to one scan.

    Raises:
        AnalysisInputError: A time that is not a number, or lies more than half a scan interval (the
            interval at that end of the scans) before the first scan or after the last.
    """
    scans = np.array(sorted(wells["time_h"].unique()), dtype=float)
    if times_h is None:
        return [float(t) for t in scans[1:]], []
    asked: dict[float, list[float]] = {}
    for value in times_h:
        try:
            t = float(value)
        except (TypeError, ValueError):
            t = float("nan")
        if not np.isfinite(t):
            raise AnalysisInputError(f"times_h: {value!r} is not a time in hours")
        scan = float(scans[np.argmin(np.abs(scans - t))])
        if t < scans[0] or t > scans[-1]:
            gap = (scans[1] - scans[0] if t < scans[0] else scans[-1] - scans[-2]) if scans.size > 1 else 0.0
            if abs(t - scan) > gap / 2 + 1e-6:
                raise AnalysisInputError(
                    f"times_h: {t:g} h is more than half a scan interval ({gap / 2:g} h) "
                    f"{'before the first' if t < scan else 'after the last'} scan; the plate's {scans.size} "
                    f"scans run from {scans[0]:g} h to {scans[-1]:g} h")
        asked.setdefault(scan, []).append(t)
    notes = []
    for scan, times in asked.items():
        if len(times) > 1:
            notes.append(f"times_h {', '.join(f'{t:g}' for t in times)} h come to one scan, {scan:g} h, "
                         "fitted once")
        elif abs(times[0] - scan) > 1e-6:
            notes.append(f"times_h {times[0]:g} h is no scan's time: the nearest scan, {scan:g} h, is fitted")
    return list(asked), notes


def ec50_over_time(
    wells: pd.DataFrame,
    layout: PlateLayout,
    readouts: list[str] | None = None,
    model: str = "ll4",
    times_h: list[float] | None = None,
    exclude: Sequence[str] = (),
    **fit_kwargs,
) -> pd.DataFrame:
    """Time-resolved potency: one fit per treatment × readout × time point, all in one batch.

    Args:
        wells: A ``wells.csv`` table.
        layout: The plate layout.
        readouts: Endpoint readouts to follow (default :func:`default_readouts`).
        model: Curve model.
        times_h: Time points (default: every scan after the first); each is taken as the
            nearest scan (:func:`scans_asked`).
        exclude: Wells left out, as in :func:`analyse_screen`.
        **fit_kwargs: Passed to :func:`~ferroscreen.analysis.fit_curves`.

    Returns:
        A fits table with an extra ``time_h`` column, the scan fitted; ``attrs["notes"]`` lists
        the requested times taken as another scan and what
        :func:`~ferroscreen.analysis.readouts.summarise_wells` noted (a plate without that scan).

    Raises:
        AnalysisInputError: A requested time outside the plate's scans (:func:`scans_asked`).
    """
    exclude = well_entries(exclude)
    wells = validate_wells(wells)
    fit_kwargs = _weights_for(wells, fit_kwargs)
    times, notes = scans_asked(wells, times_h)
    tables = []
    for t in times:
        summary = summarise_wells(wells, endpoint_h=t, notes=notes)
        used = split_excluded(mark_excluded(annotate_wells(summary, layout), exclude))[0]
        annotated = normalise_to_vehicle(with_vehicle_sets(used), notes=notes)
        use = list(readouts) if readouts else default_readouts(annotated, model)
        doses = dose_response_table(annotated, [r for r in use if r in annotated.columns])
        if doses.empty:
            continue
        doses["curve"] = doses["curve"] + f" @ {t:g} h"
        doses["time_h"] = t
        tables.append(doses)
    notes = list(dict.fromkeys(notes))
    if not tables:
        empty = pd.DataFrame()
        empty.attrs["notes"] = notes
        return empty
    doses = pd.concat(tables, ignore_index=True)
    fits = _fit_doses(doses, model, None, **fit_kwargs)
    time_of = doses.drop_duplicates("curve").set_index("curve")["time_h"]
    fits.insert(2, "time_h", fits["curve"].map(time_of).to_numpy())
    fits["curve"] = fits["curve"].str.replace(r" @ [^@]+ h$", "", regex=True)
    fits.attrs["notes"] = notes
    return fits


#: Columns of ``fitted_points.csv`` first, in this order (the rest follow as the table has them).
DOSES_COLUMNS = ["readout", "curve", "dose", "response", "n", "compound", "rescue_agent", "group", "role", "mode",
                 "plate", "well", "well_role"]


def fitted_points(doses: pd.DataFrame) -> pd.DataFrame:
    """The fitted points in ``fitted_points.csv``'s column order, sorted by readout, curve, dose, plate, well."""
    first = [c for c in DOSES_COLUMNS if c in doses.columns]
    out = doses[first + [c for c in doses.columns if c not in first]]
    keys = [c for c in ("readout", "curve", "dose", "plate", "well") if c in out.columns]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def _empty_wells(wells: pd.DataFrame, layout: PlateLayout) -> list[tuple[str, str]]:
    """``(plate, well)`` of the wells the layout seeds without cells (role ``empty``), for the wells notes."""
    out = []
    for plate in wells["plate"].astype(str).unique():
        try:
            table = layout.for_plate(plate).table
        except LayoutError:  # a multi-plate layout without this plate
            continue
        out += [(plate, str(w)) for w in table.loc[table["role"].astype(str) == "empty", "well"]]
    return out


def write_outputs(result: ScreenResult, outputs: OutputSet, source=None,
                  over_time: pd.DataFrame | None = None, notes: list[str] | None = None) -> dict[str, Path]:
    """Write the result's tables into ``outputs``; ``lines.csv`` only with several cell lines (an old one is dropped).

    Also writes ``fitted_points.csv`` (the points fitted) and ``results.xlsx`` (every table, with
    ``over_time``'s EC50s when given, in one workbook, the points laid out for Prism;
    :mod:`ferroscreen.analysis.results_workbook`).

    Returns ``fits, ranking, rescue, qc, readouts, fitted_points, xlsx[, lines]`` -> the path each will have
    once committed. ``notes`` (when given) receives what the terminal must say of the workbook (a sheet
    past Excel's row limit going on in a continued sheet).
    """
    from ferroscreen.analysis.results_workbook import write_results_workbook

    paths = {}
    tables = [("fits", result.fits), ("ranking", result.ranking), ("rescue", result.rescue), ("qc", result.qc),
              ("readouts", result.wells)]
    if len(result.lines):
        tables.append(("lines", result.lines))
    else:
        outputs.drop("lines.csv")  # a rerun of the folder with one line left must not keep an old comparison
    points = fitted_points(result.doses)
    for name, table in tables:
        table.to_csv(outputs.path(f"{name}.csv"), index=False)  # in full, as results.xlsx holds them
        paths[name] = outputs.final(f"{name}.csv")
    points.to_csv(outputs.path("fitted_points.csv"), index=False)  # full precision: the report and refits read it
    paths["fitted_points"] = outputs.final("fitted_points.csv")
    if over_time is not None and len(over_time):
        tables.append(("ec50_over_time", over_time))
    write_results_workbook(outputs.path("results.xlsx"), dict(tables), points, source, notes=notes)
    paths["xlsx"] = outputs.final("results.xlsx")
    return paths


def summary_line(fits: pd.DataFrame) -> str:
    """One line: curves, readouts, calls and flagged curves."""
    calls = fits["call"].value_counts()
    flagged = int((fits["flags"].fillna("") != "").sum())
    return (
        f"{len(fits)} curves over {fits['readout'].nunique()} readout(s): "
        f"{int(calls.get('active', 0))} active, {int(calls.get('inactive', 0))} inactive, "
        f"{int(calls.get('failed', 0))} failed; {flagged} flagged"
    )


__all__ = [
    "AlonePredictor",
    "ScreenResult",
    "analyse_screen",
    "default_readouts",
    "ec50_over_time",
    "fittable_readouts",
    "fitted_points",
    "near_dose_variance",
    "summary_line",
    "write_outputs",
]
