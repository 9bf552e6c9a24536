"""Per-mode ranking of compounds.

For every death mode ``m`` each treatment curve (rescue curves excluded) is
ranked on the fit of one fraction readout of the mode, chosen by ``rank_on``
(:data:`RANK_ON`): ``peak`` (default) ranks on ``peak_<m>``, the highest
fraction the time course reached; ``endpoint`` on ``frac_<m>``, the fraction
at the endpoint; ``auc`` on ``auc_<m>``, the time-averaged fraction. A mode
whose chosen readout was not fitted falls back to ``frac_<m>``. The peak is
the default because label-free detection loses dead cells as they fade: the
endpoint fraction of a compound that killed most cells by 30 h reads low at
48 h, when the detected cells are mostly survivors. A curve **induces**
mode ``m`` when its activity call is ``active`` *and* the fraction rises with
dose (``effect > 0``); an active curve whose fraction falls (cells that die
by another mode leave fewer cells in this one) does not. Four components in
[0, 1]:

``potency``
    ``clip((pEC50 - 4) / 5, 0, 1)``: 100 µM -> 0, 1 nM -> 1 (0 unless the
    curve induces the mode). An EC50 outside the tested doses counts as the
    nearest tested dose, the most the data show; a curve flagged
    ``far_plateau_undetermined`` (its high-dose plateau is not pinned by the
    data, so the fitted EC50 is biased low and bounded from below only) is
    scored on its fitted EC50, never on the more potent lower end of its
    interval. The table's ``ec50``, ``pec50`` and ``ec50_bound`` state the EC50
    as ``fits.csv`` and the report do
    (:func:`~ferroscreen.analysis.potency.ec50_bounds`): a point estimate inside
    the doses; else ``<`` / ``>`` and the upper / lower end of its interval held
    to the tested doses (``> 2.7 µM`` for an EC50 fitted above a top dose of
    10 µM whose interval starts at 2.7 µM: the data do not say it lies above
    10 µM), or ``?`` (no ``ec50``) where that end is open too; so the shown
    ``pec50`` is not always the one the potency is scored on;
``efficacy``
    the fitted rise of the fraction at the highest dose over the zero-dose
    level (``effect``), clipped to [0, 1];
``selectivity``
    the share of the induced death that is in mode ``m``:
    ``effect_m / sum over modes of effect``, counting only modes the curve
    induces (0 when it does not induce ``m``);
``speed``
    ``1 - T50 / duration`` with ``T50`` the median time to half-maximal rise
    of ``frac_<m>`` in the wells at the highest dose (0 without a rise, and
    0 unless the curve induces the mode: a noise blip in an inactive well is
    not a fast death).

``score = sum(weight_k * component_k) / sum(weight_k)`` over the components
available, with default weights :data:`RANK_WEIGHTS` (potency 0.35, efficacy
0.30, selectivity 0.20, speed 0.15).

**Ranks are tiered.** Column ``tier`` says whether the curve induces the
mode, column ``call`` whether it changes with dose at all (the fit's
activity call, either direction), so the two agree except where the effect
goes the other way:

* ``active``: the call is ``active`` and the curve moves towards the mode (the
  fraction rises; viability falls);
* ``opposite``: the call is ``active`` but the curve moves away from the mode
  (a fraction that falls; viability that rises above the vehicle's, growth):
  a real effect, not an induction of this mode;
* ``inactive``: the call is ``inactive`` or ``failed``.

Every ``active`` row ranks before every ``inactive`` row, and those before
every ``opposite`` row; within a tier, rows rank by decreasing score (ties by
compound name). So ``rank`` follows ``score`` within a tier but not across
tiers: an inactive curve's score (efficacy alone, as its other components are
0) can exceed an active curve's, and it still ranks below it.

**Potency only where there is an effect.** For rows whose ``call`` is not
``active`` (a flat or failed fit) ``ec50``, ``pec50`` and ``ec50_bound`` are
left empty: the EC50 of a flat line is an arbitrary point of the fitting
window, not a potency (``fits.csv`` keeps the fitted value, marked by its
``ec50_reportable`` column).

Without death modes (counts or a metric such as confluence only), the mode
``viability`` ranks growth inhibition from the ``viability`` (else ``gr``)
fit: a curve is in the ``active`` tier when it is active and falls, efficacy
is the fitted drop at the highest dose; selectivity and speed do not apply
and are dropped from the score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.analysis.potency import ec50_bounds

#: ``rank_on`` choices and the readout prefix each ranks on.
RANK_ON = {"peak": "peak_", "endpoint": "frac_", "auc": "auc_"}

def ranked_readout(mode: str, rank_on: str, available) -> str:
    """The readout ``mode`` ranks on: ``rank_on``'s (:data:`RANK_ON`) when in ``available``, else ``frac_<mode>``."""
    name = f"{RANK_ON[rank_on]}{mode}"
    return name if name in available else f"frac_{mode}"


#: Default weights of the ranking components.
RANK_WEIGHTS = {"potency": 0.35, "efficacy": 0.30, "selectivity": 0.20, "speed": 0.15}

RANKING_COLUMNS = [
    "mode", "rank", "tier", "compound", "score", "potency", "efficacy", "selectivity", "speed",
    "pec50", "ec50", "ec50_bound", "effect", "t50_h", "call", "q_value", "flags", "role", "group", "curve",
    "readout",
]  # fmt: skip


def _checked_weights(weights: dict[str, float] | None) -> dict[str, float]:
    """``weights`` (default :data:`RANK_WEIGHTS`) as floats; refused: a key not in it, a weight < 0 or NaN, all 0."""
    if weights is None:
        return dict(RANK_WEIGHTS)
    unknown = [str(k) for k in weights if k not in RANK_WEIGHTS]
    if unknown:
        raise AnalysisInputError(f"weights: unknown component(s) {', '.join(map(repr, unknown))}; the components "
                                 f"are {', '.join(RANK_WEIGHTS)}")
    out = {}
    for key, value in weights.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            out[key] = float("nan")
        if not (np.isfinite(out[key]) and out[key] >= 0):
            raise AnalysisInputError(f"weights: {key}={value!r}; a weight is a finite number >= 0")
    if not sum(out.values()) > 0:
        raise AnalysisInputError("weights: every weight is 0; give a component a positive weight")
    return out


def _modes_in(names) -> list[str]:
    """The death modes readout names hold (``frac_<m>``, ``peak_<m>``, ``auc_<m>`` -> ``m``), in order."""
    prefixes = tuple(RANK_ON.values())
    return list(dict.fromkeys(n.split("_", 1)[1] for n in map(str, names) if n.startswith(prefixes)))


def _within_tested_doses(sub: pd.DataFrame) -> pd.DataFrame:
    """``sub`` with ``ec50``/``pec50`` held to what the data show and ``ec50_bound`` saying where they were held.

    Held to the nearest tested dose outside the tested range; to the interval's lower end ``ec50_lo`` (``>``)
    for a curve flagged ``far_plateau_undetermined``, itself held to the lowest tested dose when it lies below
    it. ``potency_pec50`` is the pEC50 the potency is scored on.
    """
    if not {"dose_min", "dose_max", "ec50"} <= set(sub.columns):
        return sub.assign(ec50_bound="", potency_pec50=sub["pec50"] if "pec50" in sub.columns else np.nan)
    ec50 = sub["ec50"].to_numpy(float)
    lo, hi = sub["dose_min"].to_numpy(float), sub["dose_max"].to_numpy(float)
    fitted_pec50 = sub["pec50"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        below, above = ec50 < lo, ec50 > hi
    held = np.where(below, lo, np.where(above, hi, ec50))
    flags = sub["flags"].fillna("").astype(str) if "flags" in sub.columns else pd.Series("", index=sub.index)
    ec50_lo = sub["ec50_lo"].to_numpy(float) if "ec50_lo" in sub.columns else np.full(len(sub), np.nan)
    open_top = (flags.str.split(";").map(lambda f: "far_plateau_undetermined" in f).to_numpy(bool)
                & ~below & ~above & np.isfinite(ec50_lo) & (ec50_lo > 0))
    held = np.where(open_top, np.fmax(ec50_lo, lo), held)  # fmax: a NaN dose_min leaves ec50_lo as it is
    with np.errstate(divide="ignore", invalid="ignore"):
        pec50 = np.where(below | above | open_top, -np.log10(held), fitted_pec50)
    # potency of an open-topped curve from its fitted EC50, never from the (more potent) lower bound
    potency_pec50 = np.where(open_top, fitted_pec50, pec50)
    # the table states the EC50 as fits.csv and the report do: by its interval, held to the tested doses
    stated, value = ec50_bounds(sub)
    said = stated != ""
    with np.errstate(divide="ignore", invalid="ignore"):
        shown_pec50 = np.where(said, -np.log10(value), fitted_pec50)
    return sub.assign(ec50=np.where(said, value, held), pec50=shown_pec50, ec50_bound=stated,
                      potency_pec50=potency_pec50)


def _potency(pec50: pd.Series, inducing: pd.Series) -> np.ndarray:
    score = np.clip((pec50.to_numpy(float) - 4.0) / 5.0, 0.0, 1.0)
    return np.where(inducing.to_numpy() & np.isfinite(score), score, 0.0)


def _inducing(sub: pd.DataFrame, direction: float) -> pd.Series:
    """Active curves whose response moves in ``direction`` (+1: rises, -1: falls) with dose."""
    return (sub["call"] == "active") & (direction * sub["effect"].fillna(0.0) > 0)


def _tiers(sub: pd.DataFrame, inducing: pd.Series) -> np.ndarray:
    """``active`` (induces the mode), ``opposite`` (active call, other direction) or ``inactive``."""
    return np.where(inducing, "active", np.where(sub["call"] == "active", "opposite", "inactive"))


#: Order of the tiers in a ranking.
TIER_ORDER = {"active": 0, "inactive": 1, "opposite": 2}


def _blank_potency(out: pd.DataFrame) -> pd.DataFrame:
    """No ``ec50``/``pec50``/``ec50_bound`` where the call is not ``active`` (module docstring)."""
    flat = out["call"].astype(str) != "active"
    out.loc[flat, ["ec50", "pec50"]] = np.nan
    out["ec50_bound"] = out["ec50_bound"].astype(object)
    out.loc[flat, "ec50_bound"] = ""
    return out


def _top_dose_t50(annotated: pd.DataFrame, mode: str) -> pd.DataFrame:
    """Median T50 of ``frac_<mode>`` in each treatment × group's highest-dose wells."""
    col = f"t50_{mode}"
    if annotated is None or col not in annotated.columns:
        return pd.DataFrame(columns=["treatment", "group", "t50_h", "duration_h"])
    dosed = annotated[annotated["concentration"] > 0]
    top = dosed.groupby(["treatment", "group"])["concentration"].transform("max")
    at_top = dosed[dosed["concentration"] == top]
    return (
        at_top.groupby(["treatment", "group"])
        .agg(t50_h=(col, "median"), duration_h=("time_end_h", "max"))
        .reset_index()
    )


def rank_compounds(
    fits: pd.DataFrame,
    annotated: pd.DataFrame | None,
    modes: list[str],
    weights: dict[str, float] | None = None,
    rank_on: str = "peak",
) -> pd.DataFrame:
    """Ranking table (see the module docstring).

    Args:
        fits: Fits with curve metadata (``treatment, group, role, rescue_agent``).
        annotated: Per-well summaries with layout (for T50); may be None.
        modes: Death modes to rank; empty means rank ``viability``.
        weights: Component weights (default :data:`RANK_WEIGHTS`); a component left
            out weighs 0.
        rank_on: A key of :data:`RANK_ON`: the readout each mode ranks on.

    Returns:
        Columns :data:`RANKING_COLUMNS`, one row per mode × treatment curve,
        sorted by mode then rank; ``tier`` is ``active``, ``inactive`` or
        ``opposite`` and ranks in that order within a mode; ``ec50``/``pec50`` are
        empty where ``call`` is not ``active``.

    Raises:
        AnalysisInputError: (a ``ValueError``) ``rank_on`` is not a key of :data:`RANK_ON`; ``weights``
            names a component not in :data:`RANK_WEIGHTS`, holds a negative or non-finite weight,
            or leaves every component of a score at 0; ``fits`` has curves but no readout of a mode
            in ``modes`` (nor ``annotated`` a ``frac_``/``peak_``/``auc_`` column of it).
    """
    if rank_on not in RANK_ON:
        raise AnalysisInputError(f"rank_on must be one of {', '.join(RANK_ON)}, not '{rank_on}'")
    weights = _checked_weights(weights)
    present = _modes_in(fits["readout"].dropna().unique()) if "readout" in fits.columns else []
    known = present + (_modes_in(annotated.columns) if annotated is not None else [])  # no curve of theirs fitted
    absent = [str(m) for m in modes if m not in known]
    if absent and len(fits):
        verb = "is no death mode" if len(absent) == 1 else "are no death modes"
        raise AnalysisInputError(f"modes: {', '.join(map(repr, absent))} {verb} of these fits (present: "
                                 f"{', '.join(present) or 'none'}; modes=[] ranks viability)")
    base = fits[fits.get("rescue_agent", pd.Series("", index=fits.index)).fillna("") == ""]
    fitted = set(base["readout"].astype(str))
    readout_of = {m: ranked_readout(m, rank_on, fitted) for m in modes}
    base = _within_tested_doses(base)
    tables = []
    if modes:
        effects = {}
        for m in modes:
            sub = base[base["readout"] == readout_of[m]].set_index("curve")
            effects[m] = sub["effect"].where(_inducing(sub, 1.0), 0.0)
        eff = pd.DataFrame(effects).fillna(0.0)
        total = eff.clip(lower=0).sum(axis=1)
        for m in modes:
            sub = base[base["readout"] == readout_of[m]].copy()
            if sub.empty:
                continue
            inducing = _inducing(sub, 1.0)
            sub["tier"] = _tiers(sub, inducing)
            sub["potency"] = _potency(sub["potency_pec50"], inducing)
            sub["efficacy"] = np.clip(sub["effect"].fillna(0.0), 0.0, 1.0)
            share = eff[m].clip(lower=0) / total.replace(0, np.nan)
            sub["selectivity"] = share.reindex(sub["curve"]).fillna(0.0).to_numpy()
            t50 = _top_dose_t50(annotated, m)
            sub = sub.merge(t50, on=["treatment", "group"], how="left")
            speed = np.clip(1.0 - sub["t50_h"] / sub["duration_h"], 0.0, 1.0).fillna(0.0)
            sub["speed"] = speed.where(sub["tier"] == "active", 0.0)
            sub["mode"] = m
            tables.append(_score(sub, weights, ["potency", "efficacy", "selectivity", "speed"]))
    else:
        for readout in ("viability", "gr"):
            sub = base[base["readout"] == readout].copy()
            if sub.empty:
                continue
            inducing = _inducing(sub, -1.0)
            sub["tier"] = _tiers(sub, inducing)
            sub["potency"] = _potency(sub["potency_pec50"], inducing)
            sub["efficacy"] = np.clip(-sub["effect"].fillna(0.0), 0.0, 1.0)
            sub["selectivity"] = np.nan
            sub["speed"] = np.nan
            sub["t50_h"] = np.nan
            sub["mode"] = "viability"
            tables.append(_score(sub, weights, ["potency", "efficacy"]))
            break
    if not tables:
        return pd.DataFrame(columns=RANKING_COLUMNS)
    out = pd.concat(tables, ignore_index=True)
    out["compound"] = out["treatment"] if "treatment" in out.columns else out["curve"]
    for col in RANKING_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan if col not in ("role", "group") else ""
    return _blank_potency(out[RANKING_COLUMNS].copy())


def _score(sub: pd.DataFrame, weights: dict[str, float], components: list[str]) -> pd.DataFrame:
    w = np.array([weights.get(c, 0.0) for c in components])
    if not w.sum() > 0:
        raise AnalysisInputError(f"weights: every component of this score ({', '.join(components)}) weighs 0")
    values = sub[components].to_numpy(float)
    sub = sub.copy()
    sub["score"] = values @ w / w.sum()
    sub["_tier"] = sub["tier"].map(TIER_ORDER).fillna(len(TIER_ORDER)).astype(int)
    sub["_name"] = sub["treatment"] if "treatment" in sub.columns else sub["curve"]
    sub = sub.sort_values(["_tier", "score", "_name"], ascending=[True, False, True], kind="stable")
    sub["rank"] = np.arange(1, len(sub) + 1)
    return sub.drop(columns=["_tier", "_name"])
