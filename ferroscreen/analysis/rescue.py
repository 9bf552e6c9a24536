"""Rescue confirmation: does an inhibitor of a death mode reduce the compound's effect in that mode?

A rescue pair is a treatment ``"<compound> + <agent>"`` and the compound
alone in the same group. The agent's mode comes from the layout's ``mode``
column of the rescue wells, or else from :data:`~ferroscreen.plate.agents.RESCUE_AGENT_MODES`
(ferrostatin-1 -> ferroptosis, necrostatin-1 -> necroptosis, zVAD ->
apoptosis, ...). Wells of the compound without a rescue agent count as
"compound alone" whatever their role (``sample``, ``reference`` or
``pos_ctrl``), so a reference such as RSL3 is the comparator of RSL3 +
ferrostatin-1. Two designs are recognised (column ``design``):

``curve`` (the rescued treatment has a fitted dose-response curve)
    The pair is compared on one readout that both series were fitted on
    (the **readout contract**, below: the mode's endpoint fraction
    ``frac_<mode>``, else the dead fraction ``frac_dead``, else
    ``viability``; for an agent of unknown mode ``viability``, else
    ``frac_dead``; else the first shared readout), in two ways, each a
    test, never a point estimate alone:

    * **effect**: the wells of both series at the highest dose they share
      (``concentration``) are compared as in the single-dose design below
      (``A``, ``R``, ``V`` the means of the alone, rescued and vehicle
      wells; ``effect_alone``/``effect_rescued`` are ``A - V``/``R - V``,
      ``effect_reduction`` is ``(A - R) / (A - V)`` with Fieller's interval,
      ``p_value`` the two-sided t-test of ``A = R``, ``n_*`` the wells). The
      per-well variance is pooled over both series at the doses where the
      compound alone is at least half-way from the vehicle to its top-dose
      level (replicates about their dose's mean; ``df``): wells at the
      response level of the top dose, not the quiet low doses and vehicle,
      whose dead fraction hardly varies. Without such wells (no ``wells``
      table, no replicates) the effect cannot be tested, and the effects
      and reduction are those of the two fits (``effect``), without interval;
      the verdict says which is missing (one well per dose in both series:
      no replicate variance).
    * **shift**: the EC50 ratio rescued / alone (``shift``) with its interval
      (delta method on the log scale, ``shift_lo``/``shift_hi``; Fieller's
      on the linear scale beside it), given only when both curves are
      ``active`` (an inactive curve's EC50 is no potency: its ``ec50_*``, the
      shift and its interval are NaN). Where either EC50's
      interval is no Wald one (a profile interval: the EC50 outside the doses;
      open; far plateau undetermined), ``shift_lo``/``shift_hi`` come from the two
      EC50 intervals (:func:`~ferroscreen.analysis.potency.interval_ratio`, at the
      level they hold) and the Fieller columns are NaN.
    * **kill shift**: the shift of the killing curve, whatever readout decides (a Fer-1
      that abolishes a compound's ferroptosis leaves a flat ``frac_ferroptosis`` curve and no
      ``shift``, while its killing curve moves right): the EC50 ratio rescued / alone of
      ``kill_readout``, the first of ``viability``, ``frac_dead``, ``auc_dead`` the pair was fitted on
      on which the compound alone is active (the readout contract, below; else the first of them),
      as :func:`~ferroscreen.analysis.potency.potency_ratio` gives it (``kill_shift``; its interval
      ``kill_shift_lo``/``kill_shift_hi`` as ``shift_lo``/``shift_hi``: delta method on the log
      scale, or from the two EC50 intervals). NaN when either curve is not ``active`` or has no
      reportable EC50. It decides nothing: the verdict states it ("viability EC50 shifted
      10-fold") when it is of another readout than ``readout``.

    The rescue **confirms** the mode when the compound alone is ``active``
    (its effect towards more death on a fraction readout) and either the
    effect test is significant (``p_value <= alpha``, ``R`` below ``A``) with
    a reduction of at least ``min_reduction`` (the verdict says "abolishes
    the response" when the rescued curve is not active and the interval of
    the reduction reaches 100 %), or the EC50 shifts right by at least
    ``min_shift``-fold with ``shift_lo > 1``. Each criterion is one-sided at
    ``alpha / 2`` (``1 - level`` / 2 for the shift), so an agent that does
    nothing confirms at most about ``alpha`` of the time. A rescued curve
    that is merely not called ``active`` is no evidence of rescue: with too
    few or too variable wells to show a difference, or none to test, the
    verdict says the mode is neither confirmed nor ruled out.

``single_dose`` (the agent was added at one or a few compound doses, too few for a curve)
    One row per compound dose × agent concentration. The rescued wells are
    compared with the compound alone at the same concentration (within a
    relative ``dose_tolerance``, so 0.3 µM matches a 0.316 µM dilution step),
    on the readout chosen by ``single_dose_readout``: by default the
    time-averaged fraction of the mode ``auc_<mode>`` (it integrates every
    time point, so it is far less noisy than the endpoint fraction in wells
    where few cells are left), else the endpoint fraction ``frac_<mode>``,
    then the same two of the dead fraction (``auc_dead``, ``frac_dead``: a
    dead-cell stain or signal, or the sum of a classifier's death modes),
    then ``viability`` (agents of unknown mode: ``viability`` first, then the
    dead fraction), under the readout contract below. The compound-alone level
    ``A`` comes from, in order of preference:

    1. the mean of two or more alone wells at that dose (``alone_source`` ``wells``);
    2. the fitted alone curve at that dose (a fit of that readout from
       ``predict``, dose inside the tested range; ``curve``). Its per-well
       variance is that of its wells at the response level of that dose
       (those at doses where the fit is at least half-way from its zero-dose
       level to the fitted level there, residuals scaled by their leverage,
       with their own Satterthwaite df; see
       :func:`~ferroscreen.analysis.screen.near_dose_variance`), and the
       fitted value's variance is its leverage times that variance. Not the
       fit's residual SE: pooled over the vehicle and the quiet low doses,
       whose death fraction hardly varies, it understates a well's spread
       where the compound kills, and one rescued well against it was
       "significant" four times too often. Without such a variance (a
       binomial LL.2 fit, too few wells where it responds) the fitted value
       keeps its delta-method standard error and only rescued wells that
       vary give the test its variance;
    3. a single alone well (``well``), its variance taken from the rescued wells
       (none when there is one rescued well too: see below).

    With ``R`` the mean of the rescued wells and ``V`` that of the vehicle
    wells of the same group and plates, the effects are ``A - V`` and
    ``R - V`` and the **effect reduction** is ``(A - R) / (A - V)`` (1: the
    agent abolishes the effect, 0: no rescue). ``p_value`` is the two-sided
    test of ``A = R``: when both arms have replicate wells that vary, the
    pooled (equal-variance) two-sample t-test, one per-well variance from
    both arms' wells on ``n_alone + n_rescued - 2`` df (**pooled arms**,
    below); otherwise the side without replicates borrows the other arm's per-well
    variance (the rescued wells', or the fitted alone curve's at that
    response, step 2), as in the pooled t-test of one case against a sample,
    with that arm's degrees of freedom. Only the two arms lend to each other: the vehicle
    wells are another condition (a dead fraction hardly varies in them), so they
    never stand in for the spread of treated wells. With **one alone well and
    one rescued well** (and no fitted alone curve) neither arm has a variance
    of its own: the reduction is reported as an estimate, with no interval, no
    ``p_value`` or ``df`` (NaN), the effects without intervals, and the verdict
    says the rescue cannot be tested with one well per arm (``confirms`` is
    False; it is not evidence against the mode either). The vehicle wells may
    borrow an arm's variance when there is only one of them (they enter the
    effects and the reduction's interval, never the test).

    **Wells without spread.** Wells that all read one value (0 % of a few
    cells, as rescued wells of a full rescue often do) have a sample
    variance of 0, which would make the test and the reduction look exact
    (an interval of 100 % to 100 %). Such an arm's spread is no estimate: the
    arm borrows the other arm's variance as a single well does (the alone
    wells', or the fitted alone curve's at that response), and when neither
    arm has one the rescue is not tested (no interval, no ``p_value``; the
    verdict says the arms' wells do not vary). No binomial floor from the
    cell counts stands in: a fraction may be the mean of soft class
    probabilities (``--fractions share``) or of tiles, whose spread has no
    positive lower bound. Two or more vehicle wells keep their spread as
    measured, 0 included (they enter the effects and the interval, never the
    test).

    **Pooled arms.** A death fraction's spread follows its level (it is small
    near 0 and 1): without a rescue both arms sit at one level, so they share
    one spread, and pooling them is exact under that null. Welch's test,
    which gave each arm its own variance, had about one degree of freedom for
    two wells against two when the agent works (the rescued wells near 0 hardly
    vary, so the df are the alone arm's ``n - 1``): p = 0.055 for a 98 %
    reduction (RSL3 + Fer-1 on the demo plate), and in simulated wells it found
    43-85 % of rescues that abolish an effect of 0.5, the pooled test 78-100 %.
    A plate-wide variance ``phi * m (1 - m)`` pooled over every
    replicate group is no substitute: on time-averaged fractions
    (``auc_<mode>``) the spread grows faster with the level than ``m (1 - m)``
    (timing varies from well to well where cells die, the time average smooths
    the quiet wells), so the plate's many quiet groups understate it where the
    compound kills (in a simulation of such wells, 23 % of p < 0.05 and 13 % of
    p < 0.01 without a rescue at a high level). The effects'
    intervals keep each arm's own variance (an effect is no test of rescue).

    The interval of the reduction is Fieller's,
    by test inversion: the values ``ρ`` for which the t-test of
    ``(1 - ρ) A - R + ρ V = 0`` (Welch–Satterthwaite degrees of freedom over
    the independent variance estimates: pooled arms or alone and rescued,
    vehicle, curve) is not rejected. At ``ρ = 0`` that test is the one behind ``p_value``, so
    the interval excludes 0 exactly when ``p_value < 1 - level``; with few,
    variable alone wells it is wide or unbounded (``-inf``/``inf``), where a
    delta-method interval would look precise. The rescue
    **confirms** the mode when the compound alone has an effect in the mode
    (``A - V >= min_effect`` in the direction of more death, interval
    excluding 0; ``call_alone`` is then ``active``), the reduction is
    significant (``p_value <= alpha``, ``R`` below ``A``) and at least
    ``min_reduction``. A significant change the other way (``p_value <= alpha``
    with more death with the agent) is no "not significant": the verdict says the
    agent increases the effect (no rescue, sensitisation). ``call_rescued`` applies the same
    effect rule to ``R - V``. The reduction on ``frac_<mode>`` and ``auc_<mode>`` is
    reported in ``frac_*`` and ``auc_*`` columns whichever readout decides
    (on ``frac_dead`` and ``auc_dead`` when the deciding readout is one of
    those, or the table has no fraction of the mode).

**Agent-only vehicle** (both designs). Where the layout has vehicle wells with the agent alone at
the rescued wells' agent concentration on their plates (``DMSO`` + Ferrostatin-1, role ``vehicle``:
:func:`~ferroscreen.analysis.dose_tables.vehicle_sets`), they are the rescued arm's vehicle ``V_r``
and the plain vehicle wells the compound alone's ``V``: an agent that alone slows growth would
otherwise read as a sensitisation. Then ``effect_rescued`` is ``R - V_r``, the test is of
``A - V = R - V_r`` (both vehicles' variances enter it, as they enter the estimate), and the
reduction is ``((A - V) - (R - V_r)) / (A - V)``, its Fieller interval inverting the test of
``(1 - ρ)(A - V) - (R - V_r) = 0``; ``n_vehicle`` counts both. Without such wells every formula
above stands as written.

**Readout contract** (both designs). A Fer-1 rescue of the dead fraction
confirms ferroptosis as a rescue of ``frac_ferroptosis`` does: where the
table has no fraction of the agent's mode (a dead-cell stain with
``--dead``, a dead-cell signal with ``--signal dead``), the dead fraction is
used before ``viability``. Of the readouts in the design's order that the
pair has, the first on which the compound alone is active (``curve``: its
fit is called ``active``, towards more death on a fraction; ``single_dose``:
its effect ``A - V`` passes the rule above) decides, so a compound that kills on ``frac_dead``
is not called "not active" on a viability readout that does not see the
death (or on a mode the classifier does not call). Where the compound alone
is active on none of them, the first readout decides and the verdict says
it is not active there. The choice looks at the compound alone, not at
the rescued arm's result, so it does not inflate the rescue calls; only a
``curve`` readout whose rescued fit failed is passed over (no curves to
compare there: a full rescue's flat curve, judged on the next readout or,
with wells, by the single-dose test). The readout used is the ``readout``
column.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from ferroscreen.analysis.dose_tables import with_vehicle_sets
from ferroscreen.analysis.potency import interval_ratio, not_wald_reason, potency_ratio, ratio_intervals
from ferroscreen.plate.agents import agent_mode

#: Roles whose wells without a rescue agent count as "compound alone".
ALONE_ROLES = ("sample", "reference", "pos_ctrl")

RESCUE_COLUMNS = [
    "compound", "rescue_agent", "mode", "group", "readout", "call_alone", "call_rescued",
    "ec50_alone", "ec50_rescued", "shift", "shift_lo", "shift_hi", "fieller_lo", "fieller_hi",
    "effect_alone", "effect_rescued", "effect_reduction", "confirms", "verdict",
    "design", "concentration", "rescue_concentration", "alone_source",
    "n_alone", "n_rescued", "n_vehicle",
    "effect_alone_lo", "effect_alone_hi", "effect_rescued_lo", "effect_rescued_hi",
    "effect_reduction_lo", "effect_reduction_hi", "p_value", "df",
    "frac_reduction", "frac_p_value", "auc_reduction", "auc_p_value", "rescue_as_written",
    "kill_readout", "kill_shift", "kill_shift_lo", "kill_shift_hi",
]  # fmt: skip

#: ``predict(compound, group, readout, dose)`` -> fitted alone response at ``dose`` (keys ``value, se, dof,
#: dose_min, dose_max``; ``well_var, well_df, well_se``: a well's variance at that response with its df, and
#: the fitted value's SE on it, NaN or absent when unknown) or None when there is no fitted curve.
AlonePredictor = Callable[[str, str, str, float], "dict | None"]


def rescue_agent_mode(agent: str, layout_mode: str = "") -> str:
    """Mode an agent rescues: the layout's mode if it names a death mode, else the known table."""
    if layout_mode and layout_mode not in ("alive", ""):
        return layout_mode
    return agent_mode(agent)


def _fmt(x: float) -> str:
    return "inf" if not np.isfinite(x) else f"{x:.3g}"


def _pct(x: float) -> str:
    if np.isinf(x):
        return "-inf" if x < 0 else "inf"
    return f"{x:.0%}" if np.isfinite(x) else "n/a"


def _dose_text(molar: float) -> str:
    """``3e-7`` -> ``"0.3 µM"``."""
    for scale, unit in ((1e-3, "mM"), (1e-6, "µM"), (1e-9, "nM")):
        if molar >= scale:
            return f"{molar / scale:.3g} {unit}"
    return f"{molar / 1e-12:.3g} pM"


def verdict_lines(rescue: pd.DataFrame) -> list[str]:
    """The ``verdict`` of every row of a rescue table, in order, for the terminal.

    Single-dose rows of one compound, agent and group that all lack the compound alone
    (``alone_source`` ``none``) are said once for all their doses, not once per dose. A row of a
    group (a cell line, a growth condition) starts with it (``HT1080: ...``), as the report says it.
    """
    if "verdict" not in rescue.columns:
        return []
    lines, said = [], set()
    lacking = rescue["alone_source"].astype(str).eq("none") if "alone_source" in rescue.columns else None
    for i, row in rescue.iterrows():
        key = (row.get("compound"), row.get("rescue_agent"), row.get("group"))
        group = row.get("group")
        named = f"{group}: " if isinstance(group, str) and group else ""
        if lacking is None or not lacking[i]:
            lines.append(named + str(row["verdict"]))
            continue
        if key in said:
            continue
        said.add(key)
        same = rescue[lacking & (rescue["compound"] == key[0]) & (rescue["rescue_agent"] == key[1])
                      & (rescue["group"] == key[2])]
        if len(same) == 1:
            lines.append(named + str(row["verdict"]))
            continue
        doses = pd.to_numeric(same["concentration"], errors="coerce")
        where = f" ({key[2]})" if key[2] else ""
        lines.append(f"{key[0]} + {key[1]}{where}: no wells or fitted curve of {key[0]} alone at any of its "
                     f"{len(same)} doses ({_dose_text(doses.min())} to {_dose_text(doses.max())}): rescue not "
                     f"assessable")
    return lines


def _text(series: pd.Series) -> pd.Series:
    return series.where(series.notna(), "").astype(str).str.strip()


# ----------------------------------------------------------------------------- statistics


def _satterthwaite(parts: list[tuple]) -> tuple:
    """Standard error and Welch–Satterthwaite df of a sum of variance terms.

    Args:
        parts: ``(variance term, df of its variance estimate, key)``; terms
            with the same key come from one variance estimate and are added
            before the df is combined. A term may be an array (one value per
            weighting, e.g. a grid of ratios); then so are the results. A NaN
            term makes the result NaN.

    Returns:
        ``(se, df)``; ``df`` is ``inf`` where every estimate has infinite df.
    """
    merged: dict[str, list] = {}
    for var, df, key in parts:
        if key in merged:
            merged[key][0] = merged[key][0] + var
        else:
            merged[key] = [var, df]
    total = np.asarray(sum(v for v, _ in merged.values()), dtype=float)
    if not np.isfinite(total).all():
        return np.nan, np.nan
    finite_df = [(np.asarray(v, float), d) for v, d in merged.values() if np.isfinite(d) and d > 0]
    denom = np.asarray(sum(np.where(v > 0, v**2 / d, 0.0) for v, d in finite_df), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(denom > 0, total**2 / denom, np.inf)
    if total.ndim == 0:
        return float(np.sqrt(total)), float(df)
    return np.sqrt(total), df


def _interval(estimate: float, se: float, df: float, level: float) -> tuple[float, float]:
    if not (np.isfinite(estimate) and np.isfinite(se)) or not df > 0:
        return np.nan, np.nan
    q = stats.t.ppf(0.5 + level / 2, df)
    return estimate - q * se, estimate + q * se


class _Side:
    """Mean of one group of wells (or a fitted value) with the variance of that mean.

    ``unit_var`` is the per-well variance estimate (``s^2``), ``df`` its
    degrees of freedom and ``key`` names the estimate (sides that share one
    estimate share the key). A fitted value has no wells (``n = 0``) and
    carries its own variance ``fit_var`` (delta method, ``fit_df``).
    """

    def __init__(
        self, mean: float, n: int, unit_var: float, df: float, key: str, fit_var: float = 0.0, fit_df: float = np.inf
    ):
        self.mean, self.n, self.unit_var, self.df, self.key = mean, n, unit_var, df, key
        self.fit_var, self.fit_df = fit_var, fit_df

    @classmethod
    def from_wells(cls, values: np.ndarray, key: str, zero_spread: bool = True) -> _Side:
        """The mean of the finite ``values`` with their sample variance (none from fewer than two).

        ``zero_spread=False`` (a single-dose arm, module docstring): a variance of 0 (wells that all
        read one value) is no estimate either (NaN), so the arm borrows one.
        """
        values = values[np.isfinite(values)]
        n = values.size
        mean = float(values.mean()) if n else np.nan
        var = float(values.var(ddof=1)) if n >= 2 else np.nan
        if var == 0 and not zero_spread:
            var = np.nan
        return cls(mean, n, var, n - 1.0 if np.isfinite(var) else np.nan, key)

    @property
    def has_var(self) -> bool:
        return np.isfinite(self.unit_var)

    def borrow(self, other: _Side) -> None:
        """Use ``other``'s per-well variance estimate (one well, no spread of its own)."""
        self.unit_var, self.df, self.key = other.unit_var, other.df, other.key

    def parts(self, weight: float = 1.0) -> list[tuple[float, float, str]]:
        """Variance terms of ``weight * mean``."""
        out = []
        if self.n:
            out.append((weight**2 * self.unit_var / self.n, self.df, self.key))
        if self.fit_var:
            out.append((weight**2 * self.fit_var, self.fit_df, "curve"))
        return out


def _lend_variance(alone: _Side, rescued: _Side, vehicle: _Side) -> None:
    """Give sides without a variance estimate of their own one from another side (module docstring).

    The two arms lend to each other only (the pooled two-sample t's equal-variance
    assumption for one side); the vehicle wells never lend to an arm: they are a
    different condition, and a dead fraction barely varies in them, so their variance
    would make one alone well against one rescued well look precise. The vehicle may
    borrow from an arm (it enters the effects and the reduction's interval, not the test).
    """
    if not alone.has_var and rescued.has_var:
        alone.borrow(rescued)
    elif not rescued.has_var and alone.has_var:
        rescued.borrow(alone)
    if not vehicle.has_var:
        donor = next((o for o in (alone, rescued) if o.has_var), None)
        if donor is not None:
            vehicle.borrow(donor)


def _pooled_arms(alone: _Side, rescued: _Side) -> tuple[_Side, _Side]:
    """The two arms with one per-well variance pooled from both (module docstring, pooled arms).

    Only arms of wells that each have a variance of their own are pooled; otherwise (an arm
    that borrowed, a fitted alone curve) the arms are returned as they are.
    """
    if not (alone.n >= 2 and rescued.n >= 2 and alone.key == "alone" and rescued.key == "rescued"
            and alone.has_var and rescued.has_var):
        return alone, rescued
    df = alone.df + rescued.df
    var = (alone.df * alone.unit_var + rescued.df * rescued.unit_var) / df
    return (_Side(alone.mean, alone.n, var, df, "arms"), _Side(rescued.mean, rescued.n, var, df, "arms"))


#: Readouts each well of which is already over the mean of its own vehicle set (readouts.normalise_to_vehicle).
VEHICLE_RELATIVE = ("viability", "gr", "dip_rel")


def _compare(
    alone: _Side, rescued: _Side, vehicle: _Side, level: float, pool_arms: bool = False,
    vehicle_rescued: _Side | None = None, relative: bool = False,
) -> dict[str, float]:
    """Effects, reduction and the test of alone vs rescued (see the module docstring).

    ``vehicle_rescued``: the vehicle wells with the agent alone (module docstring, **agent-only
    vehicle**), the rescued arm's vehicle; None: both arms share ``vehicle``. ``relative``: the
    readout is already over each well's vehicle mean (:data:`VEHICLE_RELATIVE`; both vehicles' means
    are 1): a vehicle mean's error then enters an arm's level ``x`` as ``x`` times its relative error
    (``d(A/V)/dV = -A/V``), so its variance terms are weighted by the arm's level, not counted whole
    (counted whole, they made a null rescue of viability reach p < 0.05 in 1 of 300 simulated plates).

    Without a variance estimate from either arm (one alone well against one rescued well,
    no fitted alone curve; or arms whose wells do not vary, see :meth:`_Side.from_wells`)
    the effects and the reduction are estimates only: ``p_value``, ``df`` and every interval
    are NaN, and ``testable`` is False. ``pool_arms`` (the single-dose design): the test, the
    reduction's interval and the effects' intervals use :func:`_pooled_arms` (the effects' with
    each arm's own variance instead, an effect of 0.35 from two wells 0.56 apart held 0 in its
    interval on one df, yet was called an effect: an interval with either end on the death side
    counted as excluding 0; with that mended, each arm's own variance left 48 % of rescues that
    abolish a 0.5 effect, two wells against two, with no effect alone to rescue).
    """
    _lend_variance(alone, rescued, vehicle)
    own = vehicle_rescued  # None: one vehicle for both arms
    if own is not None and not own.has_var:
        _lend_variance(alone, rescued, own)
    testable = alone.has_var or rescued.has_var
    a, r, v = alone.mean, rescued.mean, vehicle.mean
    v_r = vehicle if own is None else own
    eff_a, eff_r = a - v, r - v_r.mean
    out: dict[str, float] = {"effect_alone": eff_a, "effect_rescued": eff_r, "testable": testable}
    if pool_arms:
        alone, rescued = _pooled_arms(alone, rescued)
    w_a, w_r = (a, r) if relative else (1.0, 1.0)  # a vehicle-relative readout: its vehicle's error scales
    se, df = _satterthwaite(alone.parts() + vehicle.parts(w_a))
    out["effect_alone_lo"], out["effect_alone_hi"] = _interval(eff_a, se, df, level)
    se, df = _satterthwaite(rescued.parts() + v_r.parts(w_r))
    out["effect_rescued_lo"], out["effect_rescued_hi"] = _interval(eff_r, se, df, level)
    diff = a - r if own is None else eff_a - eff_r  # two vehicles: the difference of the effects
    both = [] if own is None else vehicle.parts(w_a) + own.parts(w_r)
    se, df = _satterthwaite(alone.parts() + rescued.parts() + both)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.float64(diff) / np.float64(se)  # both 0 when a mode is never called: no test
    out["p_value"] = float(2 * stats.t.sf(abs(t), df)) if testable and np.isfinite(t) and df > 0 else np.nan
    out["df"] = df
    out["effect_reduction"] = float(diff / eff_a) if eff_a else np.nan
    out["effect_reduction_lo"], out["effect_reduction_hi"] = _reduction_interval(alone, rescued, vehicle, level, own)
    return out


#: Reductions tried by :func:`_reduction_interval`; an accepted end means unbounded.
_RHO_GRID = np.linspace(-3.0, 4.0, 7001)


def _reduction_interval(alone: _Side, rescued: _Side, vehicle: _Side, level: float,
                        vehicle_rescued: _Side | None = None) -> tuple[float, float]:
    """Fieller interval of ``(A - R) / (A - V)`` by test inversion (see the module docstring).

    With ``vehicle_rescued`` (``V_r``), of ``((A - V) - (R - V_r)) / (A - V)``. Returns the smallest
    and largest accepted value on a 0.001 grid over [-3, 4] (the hull when the accepted set is two
    rays); an accepted grid end is reported as -inf / inf. NaN when a variance is unknown.
    """
    a, r, v = alone.mean, rescued.mean, vehicle.mean
    if vehicle_rescued is None:
        se, df = _satterthwaite(alone.parts(1.0 - _RHO_GRID) + rescued.parts(-1.0) + vehicle.parts(_RHO_GRID))
        stat = (1.0 - _RHO_GRID) * a - r + _RHO_GRID * v
    else:  # (1 - rho) (A - V) - (R - V_r) = 0
        se, df = _satterthwaite(alone.parts(1.0 - _RHO_GRID) + rescued.parts(-1.0)
                                + vehicle.parts(_RHO_GRID - 1.0) + vehicle_rescued.parts(1.0))
        stat = (1.0 - _RHO_GRID) * (a - v) - r + vehicle_rescued.mean
    if not np.all(np.isfinite(se)):
        return np.nan, np.nan
    accepted = np.abs(stat) <= stats.t.ppf(0.5 + level / 2, df) * se
    if not accepted.any():
        return np.nan, np.nan
    idx = np.flatnonzero(accepted)
    lo = -np.inf if idx[0] == 0 else float(_RHO_GRID[idx[0]])
    hi = np.inf if idx[-1] == _RHO_GRID.size - 1 else float(_RHO_GRID[idx[-1]])
    return lo, hi


# ----------------------------------------------------------------------------- curve design


def _tidy_wells(wells: pd.DataFrame) -> pd.DataFrame:
    """Per-well summaries with the text columns stripped and the doses numeric (absent columns empty)."""
    w = wells.copy()
    for col in ("compound", "rescue_agent", "role", "mode", "group"):
        w[col] = _text(w[col]) if col in w.columns else ""
    w["concentration"] = pd.to_numeric(w.get("concentration"), errors="coerce")
    rconc = w["rescue_concentration"] if "rescue_concentration" in w.columns else pd.Series(np.nan, index=w.index)
    w["rescue_concentration"] = pd.to_numeric(rconc, errors="coerce")
    if "plate" not in w.columns:
        w["plate"] = ""
    return w


def _dose_groups(arm: pd.DataFrame, readout: str) -> dict[float, np.ndarray]:
    """The finite ``readout`` values of a dose series' wells, by positive dose (6 significant digits)."""
    y = pd.to_numeric(arm[readout], errors="coerce")
    keep = y.notna() & (arm["concentration"] > 0)
    doses = arm.loc[keep, "concentration"].map(lambda c: float(f"{c:.6g}"))
    return {float(d): g.to_numpy(float) for d, g in y[keep].groupby(doses)}


def _curve_effects(mine: pd.DataFrame | None, vehicles: pd.DataFrame, compound: str, agent: str, group: str,
                   readout: str, dose: float, sign: float, level: float,
                   dose_tolerance: float) -> tuple[dict | None, str]:
    """:func:`_compare` of the two series' wells at ``dose`` (module docstring, ``curve``) and ``""``.

    ``mine`` holds the wells of the compound in the group, ``vehicles`` every vehicle well (the rescued
    arm's are those of its vehicle set, :func:`_vehicles_of`). Where the
    effect cannot be tested, ``(None, why)``: ``why`` says what is missing (wells at ``dose``, or
    replicate wells that give a variance), for the verdict.
    """
    if mine is None or readout not in mine.columns:
        return None, f"no per-well {readout} readings to test the effect"
    if not np.isfinite(dose):
        return None, "no dose range in the fits to test the effect at"
    at = _dose_text(dose)
    alone = _dose_groups(mine[(mine["rescue_agent"] == "") & mine["role"].isin(ALONE_ROLES)], readout)
    rescued_wells = mine[mine["rescue_agent"] == agent]
    rescued = _dose_groups(rescued_wells, readout)
    veh = vehicles[vehicles["group"] == group]
    if veh["plate"].isin(set(rescued_wells["plate"])).any():
        veh = veh[veh["plate"].isin(set(rescued_wells["plate"]))]
    vehicle, own = _vehicles_of(veh, rescued_wells, readout)

    def near(d: float, to: float) -> bool:
        return bool(abs(np.log(d / to)) <= np.log1p(dose_tolerance))

    a_top = [d for d in alone if near(d, dose)]
    r_top = [d for d in rescued if near(d, dose)]
    if not a_top or not r_top or vehicle.n == 0:
        lacking = ((f"wells of {compound} alone", not a_top), (f"wells with {agent}", not r_top),
                   ("vehicle wells", vehicle.n == 0))
        missing = [what for what, none in lacking if none]
        return None, f"no {' and no '.join(missing)} at {at} to test the effect"
    a_mean = float(np.concatenate([alone[d] for d in a_top]).mean())
    # the doses where the compound alone is at least half-way from the vehicle to its top-dose level
    mid = (a_mean + vehicle.mean) / 2
    on = [d for d in alone if d in a_top or sign * (alone[d].mean() - mid) >= 0]
    groups = [alone[d] for d in on] + [v for d, v in rescued.items() if any(near(d, o) for o in on)]
    pooled_df = float(sum(g.size - 1 for g in groups))
    var = float(sum(((g - g.mean()) ** 2).sum() for g in groups) / pooled_df) if pooled_df > 0 else np.nan
    a_side = _Side(a_mean, sum(alone[d].size for d in a_top), var, pooled_df, "pooled")
    r_vals = np.concatenate([rescued[d] for d in r_top])
    r_side = _Side(float(r_vals.mean()), r_vals.size, var, pooled_df, "pooled")
    out = _compare(a_side, r_side, vehicle, level, vehicle_rescued=own, relative=readout in VEHICLE_RELATIVE)
    out.update(n_alone=a_side.n, n_rescued=r_side.n, n_vehicle=vehicle.n + (own.n if own is not None else 0))
    if np.isfinite(out["p_value"]):
        return out, ""
    if not pooled_df > 0:
        return None, (f"one well per dose in both series where {compound} alone responds (no replicate wells, so no "
                      f"variance to test the effect at {at} against; add replicate wells)")
    return None, (f"the replicate wells where {compound} alone responds do not vary (no variance to test the effect "
                  f"at {at} against)")


def _vehicles_of(veh: pd.DataFrame, rescued: pd.DataFrame, readout: str) -> tuple[_Side, _Side | None]:
    """The compound alone's vehicle (``veh``'s plain wells) and the rescued wells' own, or None.

    Their own: the wells of ``veh`` in the rescued wells' vehicle sets with the agent alone
    (:func:`~ferroscreen.analysis.dose_tables.vehicle_sets`), where those have readings; None
    (both arms share the plain vehicle) without such wells.
    """
    sets = veh["vehicle_set"].fillna("").astype(str)
    theirs = set(rescued["vehicle_set"].fillna("").astype(str)) - {""}
    plain = _Side.from_wells(pd.to_numeric(veh.loc[sets == "", readout], errors="coerce").to_numpy(float), "vehicle")
    if not theirs:
        return plain, None
    own = _Side.from_wells(pd.to_numeric(veh.loc[sets.isin(theirs), readout], errors="coerce").to_numpy(float),
                           "vehicle_agent")
    return plain, (own if own.n else None)


def _death_sign(readout: str, effect: float) -> float:
    """+1 for a fraction (``frac_*``, ``auc_*``: more death raises it), else the sign of the compound's ``effect``."""
    return 1.0 if readout.startswith(("frac_", "auc_")) else float(np.sign(effect) or 1.0)


def _curve_readouts(mode: str) -> list[str]:
    """Endpoint readouts a curve pair is compared on, in order of preference (module docstring)."""
    if not mode:
        return ["viability", "frac_dead"]
    return list(dict.fromkeys([f"frac_{mode}", "frac_dead", "viability"]))


#: Readouts of the killing curve (``kill_shift``), in order of preference (module docstring).
KILL_READOUTS = ("viability", "frac_dead", "auc_dead")


def _kill_shift(alone: pd.DataFrame, rescued: pd.DataFrame, active_alone: Callable[[str], bool],
                level: float) -> dict:
    """``kill_readout, kill_shift, kill_shift_lo, kill_shift_hi`` and ``kill_level`` (module docstring, kill shift).

    ``alone``/``rescued``: the fits of the compound alone and with the agent; ``active_alone(readout)``: the
    readout contract's test. The ratio is :func:`~ferroscreen.analysis.potency.potency_ratio`'s.
    """
    shared = [x for x in KILL_READOUTS if x in set(alone["readout"]) and x in set(rescued["readout"])]
    out = {"kill_readout": "", "kill_shift": np.nan, "kill_shift_lo": np.nan, "kill_shift_hi": np.nan,
           "kill_level": level}
    if not shared:
        return out
    readout = next((x for x in shared if active_alone(x)), shared[0])
    pair = pd.DataFrame([rescued[rescued["readout"] == readout].iloc[0], alone[alone["readout"] == readout].iloc[0]])
    ratio = potency_ratio(pair.assign(curve=["rescued", "alone"]), "rescued", "alone", level=level)
    out.update(kill_readout=readout, kill_shift=float(ratio["ratio"]), kill_shift_lo=float(ratio["ratio_lo"]),
               kill_shift_hi=float(ratio["ratio_hi"]))
    if np.isfinite(ratio["ratio_level"]):
        out["kill_level"] = float(ratio["ratio_level"])
    return out


def _kill_text(kill: dict) -> str:
    """``viability EC50 shifted 10.4-fold (95% CI 7.6-14.2)`` (a ratio below 1: ``lowered``, inverted); ``""``: NaN."""
    k, lo, hi = kill["kill_shift"], kill["kill_shift_lo"], kill["kill_shift_hi"]
    if not (np.isfinite(k) and k > 0):
        return ""
    pct = f"{kill['kill_level'] * 100:.3g}% CI"

    def interval(a, b) -> str:
        if np.isfinite(a) and a > 0 and np.isfinite(b):
            return f"{pct} {_fmt(a)}-{_fmt(b)}"
        if np.isfinite(a) and a > 0:  # the data bound it on one side only
            return f"{pct} from {_fmt(a)}, no upper limit"
        return "no interval"

    if np.isfinite(lo) and lo > 0 and lo <= 1 <= hi:  # the interval holds no shift
        return f"{kill['kill_readout']} EC50 not significantly shifted (ratio {_fmt(k)}, {interval(lo, hi)})"
    if k < 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            lo, hi = np.float64(1.0) / np.float64(hi), np.float64(1.0) / np.float64(lo)
    ci = interval(lo, hi)
    verb = "shifted" if k >= 1 else "lowered"
    return f"{kill['kill_readout']} EC50 {verb} {_fmt(k if k >= 1 else 1 / k)}-fold ({ci})"


def _curve_row(compound, agent, group, sub, fits, mine, vehicles, level, min_shift, min_reduction, alpha,
               dose_tolerance) -> dict | None:
    """The ``curve`` design row of one rescued treatment, or None when it cannot be compared.

    ``mine``: the wells of the compound in the group (None: no wells table); ``vehicles``: the vehicle wells.
    """
    mode = rescue_agent_mode(agent, next((m for m in sub["mode"] if isinstance(m, str) and m), ""))
    alone = fits[
        (fits["treatment"] == compound)
        & (fits["group"] == group)
        & (fits["rescue_agent"].fillna("") == "")
    ]
    shared = [r for r in sub["readout"] if r in set(alone["readout"])]
    if not shared:
        return None
    candidates = [x for x in _curve_readouts(mode) if x in shared] or shared[:1]

    def active_alone(x: str) -> bool:  # alone active; a readout whose rescued fit failed cannot compare curves
        a, r = alone[alone["readout"] == x].iloc[0], sub[sub["readout"] == x].iloc[0]
        return bool(a["call"] == "active" and r["call"] != "failed" and _death_sign(x, a["effect"]) * a["effect"] > 0)

    readout = next((x for x in candidates if active_alone(x)), candidates[0])  # module docstring: readout contract
    kill = _kill_shift(alone, sub, active_alone, level)
    a = alone[alone["readout"] == readout].iloc[0]
    r = sub[sub["readout"] == readout].iloc[0]
    if a["call"] == "failed" or r["call"] == "failed":
        return None
    ri = ratio_intervals(
        r["ec50"], r["ec50_se"], r["df"] if r["df"] > 0 else np.inf,
        a["ec50"], a["ec50_se"], a["df"] if a["df"] > 0 else np.inf, level,
    )  # fmt: skip
    shift = float(ri["ratio"])
    lo, hi = float(ri["log_lo"]), float(ri["log_hi"])
    f_lo, f_hi = float(ri["fieller_lo"]), float(ri["fieller_hi"])
    if not_wald_reason(a) or not_wald_reason(r):  # an EC50 not bracketed by the doses: no Wald SE to trust
        bounds = interval_ratio(r, a, level)
        lo, hi, f_lo, f_hi = bounds["ratio_lo"], bounds["ratio_hi"], np.nan, np.nan
    tops = [float(d) for d in (a.get("dose_max", np.nan), r.get("dose_max", np.nan)) if np.isfinite(float(d))]
    top = min(tops) if tops else np.nan  # the highest dose of both (NaN: fits without doses, untestable)
    sign = _death_sign(readout, a["effect"])
    st, untested = _curve_effects(mine, vehicles, compound, agent, group, readout, top, sign, level, dose_tolerance)
    base_active = bool(a["call"] == "active" and sign * a["effect"] > 0)
    rescued_active = r["call"] == "active"
    if st is not None:
        reduction, p = st["effect_reduction"], st["p_value"]
        significant = bool(p <= alpha and sign * (st["effect_alone"] - st["effect_rescued"]) > 0)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            reduction = float((a["effect"] - r["effect"]) / a["effect"]) if a["effect"] else np.nan
        p, significant = np.nan, False
    reduced = significant and reduction >= min_reduction
    shifted = bool(rescued_active and np.isfinite(shift) and shift >= min_shift and np.isfinite(lo) and lo > 1.0)
    confirms = bool(base_active and (reduced or shifted))
    mode_txt = mode or "its mode"
    pct = int(round(level * 100))
    who = f"{compound} + {agent}"
    shift_txt = (f"EC50 shift {_fmt(shift)}x ({pct}% CI {_fmt(lo)}-{_fmt(hi)})" if rescued_active
                 else f"the curve with {agent} is not active, so its EC50 is no potency")
    kill_txt = _kill_text(kill) if kill["kill_readout"] != readout else ""  # else it is shift_txt's
    kill_clause = f"; {kill_txt}" if kill_txt else ""
    effect_txt = ""
    if st is not None:
        lo_r, hi_r = st["effect_reduction_lo"], st["effect_reduction_hi"]
        bounds = "unbounded" if np.isinf(lo_r) and np.isinf(hi_r) else f"{_pct(lo_r)} to {_pct(hi_r)}"
        effect_txt = (f"{readout} at {_dose_text(top)} {st['effect_alone']:+.2f} alone, {st['effect_rescued']:+.2f} "
                      f"with {agent} over vehicle: reduced by {_pct(reduction)} ({pct}% CI {bounds}, p = {p:.2g})")
    if not base_active:
        how = "is not active on" if a["call"] != "active" else "does not increase"
        verdict = f"{compound} alone {how} {readout}: rescue not assessable"
    elif confirms:
        why = []
        if reduced:
            whole = not rescued_active and st["effect_reduction_hi"] >= 1
            why.append(("abolishes the response: " if whole else "") + effect_txt)
        if shifted:
            why.append(shift_txt)
        why += [kill_txt] if kill_txt else []
        verdict = f"{who} rescue confirms {mode_txt} ({'; '.join(why)})"
    elif st is None:
        verdict = f"{who}: {shift_txt}; {untested}: rescue not assessable, {mode_txt} neither confirmed nor ruled out"
    elif significant:
        verdict = (f"{who}: partial rescue ({effect_txt}), below the {min_reduction:.0%} that confirms {mode_txt}; "
                   f"{shift_txt}")
    elif reduction >= min_reduction or not rescued_active:
        verdict = (f"{who}: {effect_txt}; {shift_txt}: not significant, too few or too variable wells to show a "
                   f"rescue; {mode_txt} neither confirmed nor ruled out")
    else:
        verdict = f"{who} rescue does not confirm {mode_txt} ({effect_txt}; {shift_txt}{kill_clause})"
        kill_clause = ""  # said in the parentheses
    if not confirms:
        verdict += kill_clause
    if not (base_active and rescued_active):  # an inactive curve's EC50 is no potency: no ratio of potencies
        shift = lo = hi = f_lo = f_hi = np.nan
    row = {
        "compound": compound, "rescue_agent": agent, "mode": mode, "group": group,
        "readout": readout, "call_alone": a["call"], "call_rescued": r["call"],
        "ec50_alone": a["ec50"] if a["call"] == "active" else np.nan,
        "ec50_rescued": r["ec50"] if rescued_active else np.nan, "shift": shift,
        "shift_lo": lo, "shift_hi": hi, "fieller_lo": f_lo, "fieller_hi": f_hi,
        "effect_alone": float(a["effect"]), "effect_rescued": float(r["effect"]), "effect_reduction": reduction,
        "confirms": confirms, "verdict": verdict, "design": "curve", "p_value": p,
        **{k: v for k, v in kill.items() if k != "kill_level"},
    }  # fmt: skip
    row["rescue_concentration"] = _agent_dose(mine, agent)
    if st is not None:
        row.update(concentration=top, alone_source="wells", **{k: st[k] for k in (
            "effect_alone", "effect_rescued", "effect_alone_lo", "effect_alone_hi", "effect_rescued_lo",
            "effect_rescued_hi", "effect_reduction_lo", "effect_reduction_hi", "df", "n_alone", "n_rescued",
            "n_vehicle")})  # fmt: skip
    return row


def _agent_dose(mine: pd.DataFrame | None, agent: str) -> float:
    """The rescue agent's one molar dose across the compound's rescued wells (NaN: none given, or several pooled)."""
    if mine is None or "rescue_concentration" not in mine.columns:
        return np.nan
    doses = mine.loc[mine["rescue_agent"] == agent, "rescue_concentration"].dropna().map(lambda c: float(f"{c:.6g}"))
    return float(doses.iloc[0]) if doses.nunique() == 1 else np.nan


# ----------------------------------------------------------------------------- single-dose design


def _readout_order(mode: str, single_dose_readout: str) -> list[str]:
    """Readouts a single-dose rescue is compared on, in order of preference (module docstring)."""

    def pair(m: str) -> list[str]:
        both = [f"auc_{m}", f"frac_{m}"]
        return both if single_dose_readout == "auc" else both[::-1]

    if not mode:
        return ["viability", *pair("dead")]
    return list(dict.fromkeys([*pair(mode), *pair("dead"), "viability"]))


def _arms_text(st: dict, compound: str, agent: str) -> str:
    """The two arms a single-dose rescue compares, with their wells (``3 wells with Fer-1 vs 2 wells of X alone``)."""

    def wells(n) -> str:
        n = int(n) if np.isfinite(n) else 0
        return f"{n} well{'s' if n != 1 else ''}"

    alone = (f"the fitted curve of {compound} alone" if st.get("alone_source") == "curve"
             else f"{wells(st.get('n_alone', np.nan))} of {compound} alone")
    return f"{wells(st.get('n_rescued', np.nan))} with {agent} vs {alone}"


def _has_effect(st: dict, arm: str, readout: str, min_effect: float) -> bool:
    """Whether ``arm``'s (``alone``, ``rescued``) effect over vehicle in ``st`` is a death effect.

    ``st`` is a :func:`_compare` result; the effect is at least ``min_effect`` towards more death, with its
    interval excluding 0 (without an interval, the size alone decides).
    """
    sign = _death_sign(readout, st["effect_alone"])
    eff, lo, hi = st[f"effect_{arm}"], st[f"effect_{arm}_lo"], st[f"effect_{arm}_hi"]
    excludes_zero = (sign * lo > 0 and sign * hi > 0) if np.isfinite(lo) else True
    return bool(sign * eff >= min_effect and excludes_zero)


def _alone_side(
    alone_wells: pd.DataFrame,
    readout: str,
    compound: str,
    group: str,
    dose: float,
    predict: AlonePredictor | None,
    dose_tolerance: float,
) -> tuple[_Side | None, str]:
    """The compound-alone level at ``dose`` and where it came from (module docstring, steps 1-3)."""
    values = pd.to_numeric(alone_wells[readout], errors="coerce").to_numpy(float)
    values = values[np.isfinite(values)]
    if values.size >= 2:
        return _Side.from_wells(values, "alone", zero_spread=False), "wells"
    pred = predict(compound, group, readout, dose) if predict is not None else None
    if pred is not None and np.isfinite(pred.get("value", np.nan)) and np.isfinite(pred.get("se", np.nan)):
        slack = 1.0 + dose_tolerance
        if pred["dose_min"] / slack <= dose <= pred["dose_max"] * slack:
            var, df = float(pred.get("well_var", np.nan)), float(pred.get("well_df", np.nan))
            if np.isfinite(var) and df > 0:  # a well's spread at this response, the fitted value on it
                side = _Side(float(pred["value"]), 0, var, df, "curve", float(pred["well_se"]) ** 2, df)
            else:  # none: the rescued wells lend theirs, if they vary
                side = _Side(float(pred["value"]), 0, np.nan, np.nan, "curve", float(pred["se"]) ** 2,
                             float(pred["dof"]))
            return side, "curve"
    if values.size == 1:
        return _Side.from_wells(values, "alone"), "well"
    return None, ""


def _single_dose_rows(
    wells: pd.DataFrame,
    skip: set[tuple[str, str, str]],
    predict: AlonePredictor | None,
    level: float,
    min_effect: float,
    min_reduction: float,
    alpha: float,
    dose_tolerance: float,
    single_dose_readout: str,
) -> list[dict]:
    w = wells
    rescued_all = w[(w["rescue_agent"] != "") & (w["compound"] != "") & (w["concentration"] > 0)]
    if rescued_all.empty:
        return []
    written = (_text(rescued_all["rescue_as_written"]) if "rescue_as_written" in rescued_all.columns
               else pd.Series("", index=rescued_all.index))
    rescued_all = rescued_all.assign(
        _dose=rescued_all["concentration"].map(lambda c: float(f"{c:.6g}")),
        # each rescue dose its own comparison: molar, else as written (5 ug/ml without a rescue_mw)
        _rdose=[f"{c:.6g} M" if np.isfinite(c) else w for c, w in zip(rescued_all["rescue_concentration"], written,
                                                                       strict=True)],
        _rwritten=written,
    )
    plain = w[(w["rescue_agent"] == "") & w["role"].isin(ALONE_ROLES) & (w["concentration"] > 0)]
    vehicle_all = w[w["role"] == "vehicle"]
    rows = []
    keys = ["compound", "rescue_agent", "group", "_dose", "_rdose"]
    for (compound, agent, group, _, _), sub in rescued_all.groupby(keys, sort=False):
        if (compound, agent, group) in skip:
            continue
        dose = float(sub["concentration"].iloc[0])
        mode = rescue_agent_mode(agent, next((m for m in sub["mode"] if m), ""))
        plates = set(sub["plate"])
        veh = vehicle_all[(vehicle_all["group"] == group) & vehicle_all["plate"].isin(plates)]
        if veh.empty:
            veh = vehicle_all[vehicle_all["group"] == group]
        own_sets = set(sub["vehicle_set"].astype(str)) - {""}
        veh_own = veh[veh["vehicle_set"].isin(own_sets)]
        veh = veh[veh["vehicle_set"] == ""]
        near = np.abs(np.log(plain["concentration"] / dose)) <= np.log1p(dose_tolerance)
        alone_wells = plain[(plain["compound"] == compound) & (plain["group"] == group) & near]
        per_readout: dict[str, dict] = {}
        for readout in _readout_order(mode, single_dose_readout):
            if readout not in w.columns or readout in per_readout:
                continue
            rescued = _Side.from_wells(pd.to_numeric(sub[readout], errors="coerce").to_numpy(float), "rescued",
                                       zero_spread=False)
            if rescued.n == 0:
                continue
            alone, source = _alone_side(alone_wells, readout, compound, group, dose, predict, dose_tolerance)
            if alone is None:
                continue
            vehicle = _Side.from_wells(pd.to_numeric(veh[readout], errors="coerce").to_numpy(float), "vehicle")
            if vehicle.n == 0:  # no vehicle wells: the fitted zero-dose level, else 0
                base = predict(compound, group, readout, 0.0) if predict is not None else None
                value = float(base["value"]) if base is not None else 0.0
                vehicle = _Side(value if np.isfinite(value) else 0.0, 0, np.nan, np.nan, "none")
            own = _Side.from_wells(pd.to_numeric(veh_own[readout], errors="coerce").to_numpy(float), "vehicle_agent")
            own = own if own.n else None  # the agent's own vehicle wells (module docstring), where they read
            stats_ = _compare(alone, rescued, vehicle, level, pool_arms=True, vehicle_rescued=own,
                              relative=readout in VEHICLE_RELATIVE)
            stats_.update(alone_source=source, n_alone=alone.n, n_rescued=rescued.n,
                          n_vehicle=vehicle.n + (own.n if own is not None else 0))
            per_readout[readout] = stats_
        row = {
            "compound": compound, "rescue_agent": agent, "mode": mode, "group": group,
            "design": "single_dose", "concentration": dose,
            "rescue_concentration": float(sub["rescue_concentration"].iloc[0]),
            "rescue_as_written": str(sub["_rwritten"].iloc[0]),
        }  # fmt: skip
        # the readout contract (module docstring): the first readout on which the compound alone is active
        readout = next((x for x in per_readout if _has_effect(per_readout[x], "alone", x, min_effect)),
                       next(iter(per_readout), ""))
        family = mode if mode and not readout.endswith("_dead") and any(
            f"{prefix}_{mode}" in per_readout for prefix in ("frac", "auc")) else "dead"
        for prefix in ("frac", "auc"):
            got = per_readout.get(f"{prefix}_{family}", {})  # untestable: NaN p (see _compare)
            row[f"{prefix}_reduction"] = got.get("effect_reduction", np.nan)
            row[f"{prefix}_p_value"] = got.get("p_value", np.nan)
        as_written = str(sub["_rwritten"].iloc[0])
        who = f"{compound} ({_dose_text(dose)}) + {agent}" + (f" ({as_written})" if as_written else "")
        mode_txt = mode or "death"
        if not per_readout:
            row.update(readout="", confirms=False, call_alone="", call_rescued="", alone_source="none", verdict=(
                f"{who}: no wells or fitted curve of {compound} alone at {_dose_text(dose)}: "
                "rescue not assessable"
            ))  # fmt: skip
            rows.append(row)
            continue
        st = dict(per_readout[readout])
        sign = _death_sign(readout, st["effect_alone"])
        alone_on = _has_effect(st, "alone", readout, min_effect)
        rescued_on = _has_effect(st, "rescued", readout, min_effect)
        testable = bool(st.pop("testable"))
        row.update(readout=readout, **st)
        red, p = st["effect_reduction"], st["p_value"]
        lower = sign * (st["effect_alone"] - st["effect_rescued"]) > 0
        significant = bool(np.isfinite(p) and p <= alpha and lower)
        confirms = bool(alone_on and significant and red >= min_reduction)
        row.update(call_alone="active" if alone_on else "inactive",
                   call_rescued="active" if rescued_on else "inactive", confirms=confirms)  # fmt: skip
        lo_r, hi_r = st["effect_reduction_lo"], st["effect_reduction_hi"]
        verb = "reduces" if not np.isfinite(red) or red >= 0 else "increases"
        if verb == "increases":  # the interval of the increase, as the sentence states it
            lo_r, hi_r = -hi_r, -lo_r
        bounds = "unbounded" if np.isinf(lo_r) and np.isinf(hi_r) else f"{_pct(lo_r)} to {_pct(hi_r)}"
        ci = f"{int(round(level * 100))}% CI {bounds}"
        stat = f"{ci}, p = {p:.2g}" if np.isfinite(p) else "no replicate wells, no test"
        stat += f"; {readout}, {_arms_text(st, compound, agent)}"
        size = _pct(abs(red)) if np.isfinite(red) else "n/a"
        if np.isfinite(red) and abs(red) < 0.005:
            verb, size = "changes", "less than 1%"
        if mode and not str(readout).endswith(f"_{mode}"):  # judged on the dead fraction or viability: say so
            verb = f"{verb} the {readout} effect (of {mode_txt}) by"
        else:
            verb = f"{verb} the {mode_txt} effect by"
        if not alone_on:
            lo, hi = st["effect_alone_lo"], st["effect_alone_hi"]
            eff_ci = f", {int(round(level * 100))}% CI {lo:+.2f} to {hi:+.2f}" if np.isfinite(lo) else ""
            row["verdict"] = (
                f"{who}: {compound} alone changes {readout} by only {st['effect_alone']:+.2f} over "
                f"vehicle at this dose{eff_ci} (at least {min_effect:.2g} needed; with {agent} "
                f"{st['effect_rescued']:+.2f}): rescue not assessable"
            )
        elif not testable and st["alone_source"] == "curve":
            n_r = st["n_rescued"]
            arm = f"{n_r} well{'s' if n_r != 1 else ''} with {agent}" + (" reading one value" if n_r > 1 else "")
            row["verdict"] = (
                f"{who} {verb} {size} (the fitted curve of {compound} alone has too few wells "
                f"where it responds to give a well's spread at this level, and {arm}: no CI and no p-value; "
                f"{readout}): cannot test, rescue of {mode_txt} neither confirmed nor ruled out (add replicate wells)"
            )
        elif not testable and max(st["n_alone"], st["n_rescued"]) <= 1:
            row["verdict"] = (
                f"{who} {verb} {size} (one well of {compound} alone and one with "
                f"{agent}: no replicate wells in either arm, so no CI and no p-value; {readout}): cannot test with "
                f"one well per arm, rescue of {mode_txt} neither confirmed nor ruled out (add replicate wells)"
            )
        elif not testable:  # no arm with replicate wells that differ: no spread to test against
            arms = [f"{n} well{'s' if n != 1 else ''} of {what}" + (" reading one value" if n > 1 else "")
                    for n, what in ((st["n_alone"], f"{compound} alone"), (st["n_rescued"], f"{compound} + {agent}"))]
            row["verdict"] = (
                f"{who} {verb} {size} ({' and '.join(arms)}: no spread, so no "
                f"CI and no p-value; {readout}): cannot test without spread, rescue of {mode_txt} neither "
                f"confirmed nor ruled out"
            )
        elif confirms:
            row["verdict"] = f"{who} {verb} {size} ({stat}): rescue confirms {mode_txt}"
        elif significant:
            row["verdict"] = (
                f"{who} {verb} {size} ({stat}): partial rescue, "
                f"below the {min_reduction:.0%} that confirms {mode_txt}"
            )
        elif np.isfinite(p) and p <= alpha:  # significant the other way: the agent adds to the effect
            row["verdict"] = (
                f"{who} {verb} {size} ({stat}): the agent increases the effect, "
                f"no rescue, sensitisation; rescue does not confirm {mode_txt}"
            )
        else:
            row["verdict"] = (
                f"{who} {verb} {size} ({stat}): not significant, "
                f"rescue does not confirm {mode_txt}"
            )
        rows.append(row)
    return rows


def confirm_rescues(
    fits: pd.DataFrame,
    wells: pd.DataFrame | None = None,
    predict: AlonePredictor | None = None,
    level: float = 0.95,
    min_shift: float = 2.0,
    min_reduction: float = 0.5,
    min_effect: float = 0.1,
    alpha: float = 0.05,
    dose_tolerance: float = 0.1,
    single_dose_readout: str = "auc",
) -> pd.DataFrame:
    """One row per rescue pair (``curve`` design) or rescued dose (``single_dose``); see the module docstring.

    Args:
        fits: Fits with curve metadata (``compound, treatment, rescue_agent, group, mode``).
        wells: Per-well summaries joined with the layout (``compound,
            concentration, role, mode, rescue_agent, rescue_concentration,
            group, plate`` and readouts such as ``frac_<mode>``,
            ``auc_<mode>``, ``frac_dead``, ``auc_dead``, ``viability``);
            None skips the single-dose design
            and leaves the curve design's effect untested (shift only).
        predict: Fitted compound-alone response at a dose (see
            :data:`AlonePredictor`); None uses alone wells only.
        level: Confidence level of every interval.
        min_shift: Curve design: minimal fold shift of the EC50.
        min_reduction: Minimal effect reduction that confirms (both designs).
        min_effect: Single-dose design: minimal effect of the compound alone
            over vehicle (response units) for the rescue to be assessable.
        alpha: Significance level of the effect test (both designs).
        dose_tolerance: Relative concentration difference within which alone
            wells count as the rescued dose.
        single_dose_readout: ``"auc"`` (default, ``auc_<mode>`` first, and
            ``auc_dead`` before ``frac_dead``) or ``"frac"`` (the endpoint
            fractions first).

    Returns:
        Columns :data:`RESCUE_COLUMNS` (NaN where a column does not apply to
        the design); ``shift`` is EC50(rescued) / EC50(alone), ``effect_reduction``
        the share of the alone effect that the agent removes.

    Raises:
        ValueError: If ``single_dose_readout`` is not ``"auc"`` or ``"frac"``.
    """
    if single_dose_readout not in ("auc", "frac"):
        raise ValueError(f"single_dose_readout must be 'auc' or 'frac', not {single_dose_readout!r}")
    rows: list[dict] = []
    done: set[tuple[str, str, str]] = set()
    w = _tidy_wells(wells) if wells is not None and len(wells) and "rescue_agent" in wells.columns else None
    if w is not None:
        w = with_vehicle_sets(w, dose_tolerance, always=True)
        w["vehicle_set"] = w["vehicle_set"].fillna("").astype(str)
    if "rescue_agent" in fits.columns and len(fits):
        rescued = fits[fits["rescue_agent"].fillna("") != ""]
        by_compound = dict(list(w.groupby(["compound", "group"], sort=False))) if w is not None else {}
        vehicles = w[w["role"] == "vehicle"] if w is not None else None
        for (compound, agent, group), sub in rescued.groupby(["compound", "rescue_agent", "group"], sort=False):
            row = _curve_row(compound, agent, group, sub, fits, by_compound.get((compound, group)), vehicles, level,
                             min_shift, min_reduction, alpha, dose_tolerance)
            if row is not None:
                rows.append(row)
                done.add((compound, agent, group))
    if w is not None:
        rows += _single_dose_rows(
            w, done, predict, level, min_effect, min_reduction, alpha, dose_tolerance, single_dose_readout
        )
    out = pd.DataFrame(rows, columns=RESCUE_COLUMNS)
    out["confirms"] = out["confirms"].astype(bool)
    return out
