"""Rescue comparisons: does a rescue agent shift a compound's death-mode EC50?

A rescue agent that blocks one death mode (ferrostatin-1 for ferroptosis,
necrostatin-1 for necroptosis, zVAD for apoptosis) moves that mode's
dose-response curve to the right: the EC50 ratio (rescued over alone) with a
confidence interval above 1 confirms the mode. Ratios come from the results
folder's ``rescue.csv`` when it has them, else from
:func:`ferroscreen.analysis.potency_ratio` on the two fitted curves. A
potency-ratio ``rescue.csv`` (``numerator, denominator, readout, ratio``, as
``potency_ratio`` writes it) is shown row by row in the section of the
compound whose curve is the denominator, whether or not the layout names the
agent: its ratio with its interval (``ratio_level``'s coverage, 95 % when the
table does not say) and p-value. Rows of
``rescue.csv`` with ``design == "single_dose"`` (the agent added at one
compound dose: no curve, no ratio) are shown with the analysis sentence,
which states the effect reduction with its CI and p-value. Each row's
``p_value`` is also shown Holm-adjusted over the table's rows with one
(:func:`~ferroscreen.report.multiplicity.holm_adjusted`); the verdicts are not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ferroscreen.errors import FerroscreenError
from ferroscreen.report.compounds import CompoundInfo, of_group
from ferroscreen.report.multiplicity import holm_adjusted
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
        mode: The death mode of the readout (``""`` for a readout that names none).
        readout: The readout compared.
        ratio: EC50 with the agent over EC50 without (NaN when not estimable).
        lo: Lower confidence limit of the ratio (as :func:`_limits` picks it; ``hi`` may be ``inf``).
        hi: Upper confidence limit.
        verdict: ``confirms``, ``abolishes`` (only from an analysis ``rescue.csv`` that tested the wells),
            ``not_tested`` (the rescued curve is flat but no wells were compared), ``no_shift`` or ``sensitises``.
        sentence: One plain-text line for the reader.
        p_value: The ratio's p-value for no shift (NaN when not given).
        level: Coverage of ``lo``-``hi``.
        note: Why the ratio is NaN, where the potency ratio says.
        row: The index of the ``rescue.csv`` row it shows (None: computed from the fits).
        tested_p: That row's ``p_value`` (an analysis row's: its effect test; NaN without one).
        holm_p: ``tested_p`` Holm-adjusted over ``rescue.csv``'s rows with a p-value
            (:func:`~ferroscreen.report.multiplicity.holm_adjusted`).
        n_tests: How many rows that adjustment runs over (0: none).
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
    p_value: float = math.nan
    level: float = 0.95
    note: str = ""
    row: object = None
    tested_p: float = math.nan
    holm_p: float = math.nan
    n_tests: int = 0

    def adjusted_text(self) -> str:
        """``effect test p 0.02; Holm-adjusted over the 4 rescue tests of rescue.csv: 0.059`` (``""``: no Holm p)."""
        if not math.isfinite(self.holm_p):
            return ""
        what = "effect test p" if math.isnan(self.p_value) else "p"
        return (f"{what} {self.tested_p:.2g}; Holm-adjusted over the {self.n_tests} rescue test"
                f"{'s' if self.n_tests != 1 else ''} of rescue.csv: {self.holm_p:.2g}")


def _fmt_fold(x: float) -> str:
    return f"{x:.2g}" if x < 10 else f"{x:.0f}"


def _fmt_limit(x: float) -> str:
    """A confidence limit: 3 significant digits below 10 (as the analysis writes it), so 1.04 is not read as 1."""
    return f"{x:.3g}" if x < 10 else f"{x:.0f}"


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


def _interval(c: RescueComparison, inverted: bool = False) -> str:
    """``95% CI 6–24``; an open upper limit reads ``≥ lo``; ``""`` when the limits do not make one.

    ``inverted``: the interval of ``1 / ratio`` (the fold a ratio below 1 lowers the EC50 by),
    ``1/hi``–``1/lo``, open above (``≥ 1/hi``) where ``lo`` is not above 0.
    """
    pct = f"{100 * (c.level if math.isfinite(c.level) else 0.95):.3g}% CI"
    lo, hi = c.lo, c.hi
    if inverted:
        lo, hi = (1 / hi, 1 / lo if lo > 0 else math.inf) if math.isfinite(hi) and hi > 0 else (math.nan, math.nan)
    if math.isfinite(lo) and math.isfinite(hi):
        return f"{pct} {_fmt_limit(lo)}–{_fmt_limit(hi)}"
    if math.isfinite(lo) and lo > 0 and hi == math.inf:
        return f"{pct} ≥ {_fmt_limit(lo)}"
    return ""


def _ci_text(c: RescueComparison, inverted: bool = False) -> str:
    """`` (95% CI 6–24, p 0.001)`` (:func:`_interval`, ``inverted`` as there); empty when nothing is known."""
    parts = [t for t in (_interval(c, inverted), f"p {c.p_value:.2g}" if math.isfinite(c.p_value) else "") if t]
    return f" ({', '.join(parts)})" if parts else ""


def _measured(c: RescueComparison) -> str:
    """What the EC50 compared is of, in words: the readout, or its death mode where it is that mode's.

    ``frac_ferroptosis`` reads ``ferroptosis``; ``viability`` stays ``viability`` (a viability EC50 is no
    ferroptosis EC50, whatever mode the agent rescues).
    """
    if c.mode and (not c.readout or readout_mode(c.readout, {c.mode}) == c.mode):
        return c.mode
    return c.readout or c.mode


def _sentence(c: RescueComparison) -> str:
    """The comparison in words, of the EC50 of the readout compared (:func:`_measured`).

    A ratio below 1 is written as the fold it lowers the EC50 by, its interval inverted with it; a
    ratio whose interval holds 1 is "not significantly changed" (the point estimate may be far from 1),
    and without an interval it is neither confirmed nor ruled out.
    """
    who = f"{c.compound} + {c.agent}"
    ci = _ci_text(c)
    what = _measured(c)
    confirmed = f"rescue confirms {c.mode}" if c.mode else "rescue shown"
    if c.verdict == "abolishes":
        return f"{who} abolishes the {what} response: {confirmed}"
    if c.verdict == "not_tested":
        return (f"{who}: the {what} response is not called active with {c.agent}, but without the wells the "
                f"difference is not tested (fit with a layout writes rescue.csv): rescue neither confirmed nor "
                f"ruled out")
    if c.verdict == "confirms":
        return f"{who} shifts the {what} EC50 {_fmt_fold(c.ratio)}-fold{ci}: {confirmed}"
    if c.verdict == "sensitises":
        return f"{who} lowers the {what} EC50 {_fmt_fold(1 / c.ratio)}-fold{_ci_text(c, inverted=True)}: no rescue"
    if math.isfinite(c.ratio) and _interval(c):  # the interval holds 1: not significant, however far the ratio
        return (f"{who}: the {what} EC50 is not significantly changed (ratio {_fmt_fold(c.ratio)}, {ci[2:-1]}): "
                f"no rescue" + (f" of {c.mode}" if c.mode else ""))
    if math.isfinite(c.ratio):
        ci = f", {ci[2:-1]}" if ci else ""
        return (f"{who}: the {what} EC50 ratio is {_fmt_fold(c.ratio)} with no confidence interval{ci}: rescue "
                f"neither confirmed nor ruled out")
    why = f" ({c.note})" if c.note else ""
    return f"{who}: the {what} EC50 ratio could not be estimated{why}"


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
    for index, row in table[table["compound"] == info.name].iterrows():
        readout = str(row.get("readout", ""))
        mode = str(row.get("mode", "")) or (readout_mode(readout, set(res.death_modes)) or readout)
        ratio = float(row["shift"])
        lo, hi = float(row.get("shift_lo", math.nan)), float(row.get("shift_hi", math.nan))
        alone = pd.Series({"call": row.get("call_alone", "active")})
        rescued = pd.Series({"call": row.get("call_rescued", "active")})
        verdict = _verdict(alone, rescued, ratio, lo, hi)
        confirms = truthy(row.get("confirms"))
        comp = RescueComparison(info.name, str(row["rescue_agent"]), mode, readout, ratio, lo, hi, verdict, "",
                                row=index)
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
        p_value = float(row.get("p_value", math.nan))
        said = row.get("verdict", "")
        if not confirms and math.isfinite(p_value) and p_value <= 0.05 and isinstance(said, str) and said:
            # the wells' effect test found a change (a partial rescue, a sensitisation) that the EC50
            # sentence above would call "no rescue": the analysis's verdict says both
            comp.verdict = "no_shift"
            comp.sentence = said
        if str(row.get("call_alone", "active")) != "active":
            comp.verdict = "no_shift"
            comp.sentence = str(row.get("verdict", "")) or f"{info.name} alone is not active: rescue not assessable"
        out.append(comp)
    return out


def _either_active(parent: pd.Series, rescued: pd.Series) -> bool:
    """Whether either curve is called active (a call not given counts as active): else nothing to rescue."""
    return str(parent.get("call", "active")) == "active" or str(rescued.get("call", "active")) == "active"


def _comparison(info: CompoundInfo, agent: str, mode: str, readout: str, parent: pd.Series,
                rescued: pd.Series, row, index=None) -> RescueComparison:
    """The comparison of a potency-ratio row (``row``: None when there is none) of ``rescued`` over ``parent``.

    ``index``: the row's index in ``rescue.csv`` (None for a ratio computed from the fits).
    """
    ratio = float(row["ratio"]) if row is not None else math.nan
    lo, hi = _limits(row) if row is not None else (math.nan, math.nan)
    verdict = _verdict(parent, rescued, ratio, lo, hi)
    comp = RescueComparison(info.name, agent, mode, readout, ratio, lo, hi, verdict, "", row=index)
    if row is not None:
        comp.p_value = float(row.get("p_value", math.nan))
        level = float(row.get("ratio_level", math.nan))
        comp.level = level if 0 < level < 1 else 0.95  # potency_ratio: the level of each interval it gives
        note = row.get("note", "")
        comp.note = note if isinstance(note, str) else ""
    comp.sentence = _sentence(comp)
    return comp


def _table_comparisons(res: Results, info: CompoundInfo, done: set) -> list[RescueComparison]:
    """Rows of a potency-ratio ``rescue.csv`` whose denominator is one of the compound's own curves, not in ``done``.

    ``done`` holds the ``(numerator, denominator, readout)`` already compared. The agent is what the numerator
    adds to the denominator (``"RSL3 + Fer-1"`` over ``"RSL3"``: ``Fer-1``), else the numerator itself.
    """
    table, fits = res.rescue, info.fits
    if table is None or fits is None or not {"numerator", "denominator", "ratio"} <= set(table.columns):
        return []
    own = fits[fits["name"] == info.name] if "name" in fits.columns else fits
    out = []
    for index, row in table.iterrows():
        num, den = str(row["numerator"]), str(row["denominator"])
        parents = own[own["curve"].astype(str) == den]
        if str(row.get("readout", "")):
            parents = parents[parents["readout"].astype(str) == str(row["readout"])]
        if parents.empty or (num, den, str(parents.iloc[0]["readout"])) in done:
            continue
        parent = parents.iloc[0]
        readout = str(parent["readout"])
        done.add((num, den, readout))
        rescued = fits[(fits["curve"].astype(str) == num) & (fits["readout"].astype(str) == readout)]
        if rescued.empty and res.fits is not None:
            rescued = res.fits[(res.fits["curve"].astype(str) == num) & (res.fits["readout"].astype(str) == readout)]
        rescued = rescued.iloc[0] if len(rescued) else pd.Series(dtype=object)
        if not _either_active(parent, rescued):
            continue
        agent = next((num[len(p):] for p in (f"{den} + ", f"{info.name} + ") if num.startswith(p)), num)
        mode = readout_mode(readout, set(res.death_modes)) or ""
        out.append(_comparison(info, agent, mode, readout, parent, rescued, row, index))
    return out


def rescue_comparisons(res: Results, info: CompoundInfo) -> list[RescueComparison]:
    """The rescue comparisons of one compound.

    From the analysis ``rescue.csv`` when the folder has one (one row per
    compound × rescue agent, on the agent's mode); else one per agent × mode
    with curves for both, the ratio from a potency-ratio table or computed
    with :func:`ferroscreen.analysis.potency_ratio` (modes where neither curve
    is active are left out: nothing to rescue), and one per further row of a
    potency-ratio table whose denominator is one of the compound's curves.
    A comparison shown from a row of ``rescue.csv`` with a ``p_value`` carries it raw and Holm-adjusted
    over every such row (``tested_p``, ``holm_p``, ``n_tests``): the verdicts stay unadjusted.
    """
    given = _from_analysis(res, info)
    out: list[RescueComparison] = [] if given is None else given
    if res.fits is None or given is not None:
        return _with_holm(res, _sorted(out))
    done: set[tuple[str, str, str]] = set()
    for agent, rescued_rows in info.rescue.items():
        for mode, rescued in rescued_rows.items():
            parent = info.curves.get(mode)
            if parent is None:
                continue
            num, den, readout = str(rescued["curve"]), str(parent["curve"]), str(parent["readout"])
            done.add((num, den, readout))
            if not _either_active(parent, rescued):
                continue
            row = _from_table(res.rescue, num, den, readout)
            index = None if row is None else row.name
            if row is None:
                row = _computed(res.fits, num, den, readout)
            out.append(_comparison(info, agent, mode, readout, parent, rescued, row, index))
    return _with_holm(res, _sorted(out + _table_comparisons(res, info, done)))


def _with_holm(res: Results, comparisons: list[RescueComparison]) -> list[RescueComparison]:
    """``comparisons`` with their ``rescue.csv`` row's ``p_value``, raw and Holm-adjusted over the table's tests."""
    holm = holm_adjusted(res.rescue)
    n_tests = int(holm.notna().sum())
    for c in comparisons:
        if c.row is not None and c.row in holm.index and math.isfinite(holm[c.row]):
            c.tested_p, c.holm_p, c.n_tests = float(res.rescue.at[c.row, "p_value"]), float(holm[c.row]), n_tests
    return comparisons


def _sorted(out: list[RescueComparison]) -> list[RescueComparison]:
    order = {"abolishes": 0, "confirms": 0, "sensitises": 1, "not_tested": 2, "no_shift": 2}
    return sorted(out, key=lambda c: (order[c.verdict], c.agent, c.mode))
