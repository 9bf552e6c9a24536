"""Rescue comparisons: does a rescue agent shift a compound's death-mode EC50?

A rescue agent that blocks one death mode (ferrostatin-1 for ferroptosis,
necrostatin-1 for necroptosis, zVAD for apoptosis) moves that mode's
dose-response curve to the right: the EC50 ratio (rescued over alone) with a
confidence interval above 1 confirms the mode. Ratios come from the results
folder's ``rescue.csv`` when it has them, else from
:func:`ferroscreen.analysis.potency_ratio` on the two fitted curves. Rows of
``rescue.csv`` with ``design == "single_dose"`` (the agent added at one
compound dose: no curve, no ratio) are shown with the analysis sentence,
which states the effect reduction with its CI and p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ferroscreen.errors import FerroscreenError
from ferroscreen.report.compounds import CompoundInfo, of_group
from ferroscreen.report.results import Results, readout_mode
from ferroscreen.report.tables import truthy

#: Fits columns :func:`ferroscreen.analysis.potency_ratio` needs.
_RATIO_COLUMNS = ("ec50", "ec50_se", "df")


@dataclass
class RescueComparison:
    """One rescue agent × death mode comparison of one compound.

    Attributes:
        compound: The compound.
        agent: The rescue agent.
        mode: The death mode of the readout.
        readout: The readout compared.
        ratio: EC50 with the agent over EC50 without (NaN when not estimable).
        lo: Lower confidence limit of the ratio (Fieller, else delta method).
        hi: Upper confidence limit.
        verdict: ``confirms``, ``abolishes`` (only from an analysis ``rescue.csv`` that tested the wells),
            ``not_tested`` (the rescued curve is flat but no wells were compared), ``no_shift`` or ``sensitises``.
        sentence: One plain-text line for the reader.
    """

    compound: str
    agent: str
    mode: str
    readout: str
    ratio: float
    lo: float
    hi: float
    verdict: str
    sentence: str


def _fmt_fold(x: float) -> str:
    return f"{x:.2g}" if x < 10 else f"{x:.0f}"


def _limits(row) -> tuple[float, float]:
    """The ratio's confidence limits: Fieller's, else the delta method's, else a table's own.

    A linear-scale interval reaching 0 or below (an EC50 known only to lie above some dose, as a
    rescued curve's often is: its linear-scale SE is then larger than the EC50) gives way to the
    log-scale one (``log_lo``/``log_hi``), which is always positive and is the scale of the ratio's
    p-value: a 21-fold shift with p = 0.02 read "unchanged (95% CI -17 to 61)" otherwise.
    """
    log_lo, log_hi = float(row.get("log_lo", np.nan)), float(row.get("log_hi", np.nan))
    for lo_col, hi_col in (
        ("fieller_lo", "fieller_hi"),
        ("delta_lo", "delta_hi"),
        ("ratio_lo", "ratio_hi"),
        ("shift_lo", "shift_hi"),
    ):
        lo, hi = float(row.get(lo_col, np.nan)), float(row.get(hi_col, np.nan))
        if math.isfinite(lo) or math.isfinite(hi):
            if lo_col in ("fieller_lo", "delta_lo") and not lo > 0 and math.isfinite(log_lo):
                return log_lo, log_hi
            return lo, hi
    return math.nan, math.nan


def _verdict(parent: pd.Series, rescued: pd.Series, ratio: float, lo: float, hi: float) -> str:
    parent_active = str(parent.get("call", "active")) == "active"
    rescued_active = str(rescued.get("call", "active")) == "active"
    if parent_active and not rescued_active:
        return "not_tested"  # a flat rescued fit is no evidence by itself: only a test of the wells is
    if math.isfinite(lo) and lo > 1:
        return "confirms"
    if math.isfinite(hi) and hi < 1:
        return "sensitises"
    return "no_shift"


def _sentence(c: RescueComparison) -> str:
    who = f"{c.compound} + {c.agent}"
    ci = ""
    if math.isfinite(c.lo) and math.isfinite(c.hi):
        ci = f" (95% CI {_fmt_fold(c.lo)}–{_fmt_fold(c.hi)})"
    if c.verdict == "abolishes":
        return f"{who} abolishes the {c.mode} response: rescue confirms {c.mode}"
    if c.verdict == "not_tested":
        return (f"{who}: the {c.mode} response is not called active with {c.agent}, but without the wells the "
                f"difference is not tested (fit with a layout writes rescue.csv): rescue neither confirmed nor "
                f"ruled out")
    if c.verdict == "confirms":
        return f"{who} shifts the {c.mode} EC50 {_fmt_fold(c.ratio)}-fold{ci}: rescue confirms {c.mode}"
    if c.verdict == "sensitises":
        return f"{who} lowers the {c.mode} EC50 {_fmt_fold(1 / c.ratio)}-fold{ci}: no rescue"
    if math.isfinite(c.ratio):
        return f"{who} leaves the {c.mode} EC50 unchanged (ratio {_fmt_fold(c.ratio)}{ci}): no rescue of {c.mode}"
    return f"{who}: the {c.mode} EC50 ratio could not be estimated"


def _from_table(table: pd.DataFrame | None, numerator: str, denominator: str, readout: str):
    """A row of a potency-ratio table (``numerator, denominator, readout, ratio``...), or None."""
    if table is None or not {"numerator", "denominator", "ratio"} <= set(table.columns):
        return None
    rows = table[(table["numerator"].astype(str) == numerator) & (table["denominator"].astype(str) == denominator)]
    if "readout" in rows.columns:
        rows = rows[rows["readout"].astype(str) == readout]
    return rows.iloc[0] if len(rows) else None


def _computed(fits: pd.DataFrame, numerator: str, denominator: str, readout: str):
    if not set(_RATIO_COLUMNS) <= set(fits.columns):
        return None
    from ferroscreen.analysis import potency_ratio

    try:
        return potency_ratio(fits, numerator, denominator, readout=readout)
    except FerroscreenError:
        return None


def _reduction_sentence(c: RescueComparison, reduction: float) -> str:
    return f"{c.compound} + {c.agent} reduces the {c.mode} effect by {reduction:.0%}: rescue confirms {c.mode}"


def _from_analysis(res: Results, info: CompoundInfo) -> list[RescueComparison] | None:
    """Comparisons from an analysis ``rescue.csv`` (``compound, rescue_agent, shift, confirms``...)."""
    table = res.rescue
    if table is None or not {"compound", "rescue_agent", "shift"} <= set(table.columns):
        return None
    out = []
    table = of_group(table, info.group)
    for _, row in table[table["compound"] == info.name].iterrows():
        readout = str(row.get("readout", ""))
        mode = str(row.get("mode", "")) or (readout_mode(readout, set(res.death_modes)) or readout)
        ratio = float(row["shift"])
        lo, hi = float(row.get("shift_lo", math.nan)), float(row.get("shift_hi", math.nan))
        alone = pd.Series({"call": row.get("call_alone", "active")})
        rescued = pd.Series({"call": row.get("call_rescued", "active")})
        verdict = _verdict(alone, rescued, ratio, lo, hi)
        confirms = truthy(row.get("confirms"))
        comp = RescueComparison(info.name, str(row["rescue_agent"]), mode, readout, ratio, lo, hi, verdict, "")
        comp.sentence = _sentence(comp)
        if str(row.get("design", "")) == "single_dose":
            # one dose, no curve: the analysis sentence carries the effect reduction, its CI and p
            comp.verdict = "confirms" if confirms else "no_shift"
            comp.sentence = str(row.get("verdict", "")) or comp.sentence
            out.append(comp)
            continue
        if verdict == "not_tested":  # the analysis tested the wells: its verdict stands
            verdict = "abolishes" if confirms else "no_shift"
            comp.verdict = verdict
            comp.sentence = str(row.get("verdict", "")) or _sentence(comp)
        if confirms and verdict not in ("confirms", "abolishes"):
            comp.verdict = "confirms"
            reduction = float(row.get("effect_reduction", math.nan))
            comp.sentence = (
                _reduction_sentence(comp, reduction)
                if math.isfinite(reduction)
                else str(row.get("verdict", comp.sentence))
            )
        elif confirms is False and verdict in ("confirms", "abolishes"):
            comp.verdict = "no_shift"
            comp.sentence = str(row.get("verdict", "")) or comp.sentence
        if str(row.get("call_alone", "active")) != "active":
            comp.verdict = "no_shift"
            comp.sentence = str(row.get("verdict", "")) or f"{info.name} alone is not active: rescue not assessable"
        out.append(comp)
    return out


def rescue_comparisons(res: Results, info: CompoundInfo) -> list[RescueComparison]:
    """The rescue comparisons of one compound.

    From the analysis ``rescue.csv`` when the folder has one (one row per
    compound × rescue agent, on the agent's mode); else one per agent × mode
    with curves for both, the ratio from a potency-ratio table or computed
    with :func:`ferroscreen.analysis.potency_ratio`; modes where neither curve
    is active are left out (nothing to rescue).
    """
    given = _from_analysis(res, info)
    out: list[RescueComparison] = [] if given is None else given
    if res.fits is None or given is not None:
        return _sorted(out)
    for agent, rescued_rows in info.rescue.items():
        for mode, rescued in rescued_rows.items():
            parent = info.curves.get(mode)
            if parent is None:
                continue
            if str(parent.get("call", "active")) != "active" and str(rescued.get("call", "active")) != "active":
                continue
            num, den, readout = str(rescued["curve"]), str(parent["curve"]), str(parent["readout"])
            row = _from_table(res.rescue, num, den, readout)
            if row is None:
                row = _computed(res.fits, num, den, readout)
            ratio = float(row["ratio"]) if row is not None else math.nan
            lo, hi = _limits(row) if row is not None else (math.nan, math.nan)
            verdict = _verdict(parent, rescued, ratio, lo, hi)
            comp = RescueComparison(info.name, agent, mode, readout, ratio, lo, hi, verdict, "")
            comp.sentence = _sentence(comp)
            out.append(comp)
    return _sorted(out)


def _sorted(out: list[RescueComparison]) -> list[RescueComparison]:
    order = {"abolishes": 0, "confirms": 0, "sensitises": 1, "not_tested": 2, "no_shift": 2}
    return sorted(out, key=lambda c: (order[c.verdict], c.agent, c.mode))
