"""How numbers are written in the report: three significant digits, molar units with SI prefixes.

A value that is not finite is no number to print: ``NaN`` (nothing computed)
is an empty cell; ``±inf`` is ``n/a`` for a statistic (an SSMD over controls
without spread) and ``unbounded`` for a confidence limit. A confidence limit
the data cannot support is ``unbounded`` too: one more than :data:`CI_DECADES`
decades beyond the tested doses, or (doses unknown) outside
:data:`PLAUSIBLE_MOLAR` (both, and :func:`molar_limits`, are
:mod:`ferroscreen.analysis.potency`'s, whose :func:`~ferroscreen.analysis.potency.ec50_bounds`
is the rule :func:`ec50_bound` states an EC50 by). The CSVs keep the numbers as fitted.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from ferroscreen.analysis.potency import CI_DECADES, PLAUSIBLE_MOLAR, ec50_bounds, molar_limits
from ferroscreen.plate import format_molar

_MOLAR_COLUMN = re.compile(r"(^|_)(ec50|ed10|ed90|dose|concentration)(_lo|_hi|_se)?$")
_LIMIT_COLUMN = re.compile(r"(^|_)(ec50|ed10|ed90)(_lo|_hi)$")

#: A confidence limit the data do not bound.
UNBOUNDED = "unbounded"


def molar(value: float) -> str:
    """A molar concentration with an SI prefix and 3 significant digits (``2.759e-8`` -> ``27.6 nM``)."""
    text = format_molar(value)
    number, sep, unit = text.partition(" ")
    if not sep:
        return text
    try:
        return f"{float(number):.3g} {unit}"
    except ValueError:
        return text


def _within(value: float, limits: tuple[float, float]) -> bool:
    return math.isfinite(value) and limits[0] <= value <= limits[1]


def molar_range(lo: float, hi: float, dose_min: float = math.nan, dose_max: float = math.nan) -> str:
    """``"25.6–29.8 nM"`` (one unit when both limits share it); ``""`` when a limit is NaN (no interval).

    A limit outside :func:`molar_limits` of the tested doses (infinite, 0, or
    absurd as ``1.8e-20 M``) is written ``unbounded``: ``"3.1 µM–unbounded"``,
    and ``"unbounded"`` alone when neither limit is bounded.
    """
    lo, hi = float(lo), float(hi)
    if math.isnan(lo) or math.isnan(hi):
        return ""
    floor, ceiling = molar_limits(float(dose_min), float(dose_max))
    limits = (float(floor), float(ceiling))
    a = molar(lo) if _within(lo, limits) else UNBOUNDED
    b = molar(hi) if _within(hi, limits) else UNBOUNDED
    if a == b == UNBOUNDED:
        return UNBOUNDED
    if " " in a and a.rpartition(" ")[2] == b.rpartition(" ")[2]:
        return f"{a.rpartition(' ')[0]}–{b}"
    return f"{a}–{b}"


def ratio_range(lo: float, hi: float, dose_span: float = math.nan) -> str:
    """An EC50 ratio's interval, ``"1.9–4.2"``; ``""`` when a limit is NaN.

    ``dose_span`` is the highest tested dose over the lowest. A limit more than
    :data:`CI_DECADES` decades beyond the largest ratio two tested doses can
    make (either way), or beyond the ratio of :data:`PLAUSIBLE_MOLAR` when the
    span is unknown, is ``unbounded``, as in :func:`molar_range`.
    """
    lo, hi = float(lo), float(hi)
    if math.isnan(lo) or math.isnan(hi):
        return ""
    span = dose_span if math.isfinite(dose_span) and dose_span >= 1 else PLAUSIBLE_MOLAR[1] / PLAUSIBLE_MOLAR[0]
    ceiling = span * 10**CI_DECADES
    limits = (1 / ceiling, ceiling)
    a = fmt(lo) if _within(lo, limits) else UNBOUNDED
    b = fmt(hi) if _within(hi, limits) else UNBOUNDED
    return UNBOUNDED if a == b == UNBOUNDED else f"{a}–{b}"


def held_ec50(row) -> tuple[str, float]:
    """``(bound, ec50)`` of a fits or ranking row: the EC50 as the data bound it.

    ``("<", lowest dose)`` for an EC50 below the tested doses, ``(">", highest dose)`` above them,
    ``(">", ec50_lo)`` for a curve flagged ``far_plateau_undetermined`` (bounded from below only, as the
    ranking holds it; a bound below the tested doses held up to the lowest, as the ranking does: "> 1e-26 M"
    says nothing), else ``("", ec50)``: an extrapolated EC50 is no measurement.
    """
    ec50 = float(row.get("ec50", math.nan))
    said = str(row.get("ec50_bound", "") or "").strip()
    if said in ("<", ">"):
        return said, ec50
    lo, hi = float(row.get("dose_min", math.nan)), float(row.get("dose_max", math.nan))
    if math.isfinite(ec50) and math.isfinite(lo) and ec50 < lo:
        return "<", lo
    if math.isfinite(ec50) and math.isfinite(hi) and ec50 > hi:
        return ">", hi
    lower = float(row.get("ec50_lo", math.nan))
    if "far_plateau_undetermined" in str(row.get("flags", "") or "").split(";") and math.isfinite(lower) and lower > 0:
        return ">", max(lower, lo) if math.isfinite(lo) else lower
    return "", ec50


def fmt(value: Any, column: str = "") -> str:
    """Display text of a table value: 3 significant digits, molar units for EC50/dose columns.

    NaN is ``""``; ``±inf`` is ``n/a``, or ``unbounded`` in a confidence-limit column
    (``ec50_lo``, ``ed90_hi``...), where a limit outside :data:`PLAUSIBLE_MOLAR` is
    ``unbounded`` too.
    """
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        limit = bool(_LIMIT_COLUMN.search(column.lower()))
        if limit and not _within(float(value), PLAUSIBLE_MOLAR):
            return UNBOUNDED
        if math.isinf(value):
            return "n/a"
        if _MOLAR_COLUMN.search(column.lower()) and not column.lower().startswith("p"):
            return molar(float(value))
        if float(value).is_integer() and abs(value) < 1e6:
            return str(int(value))
        if 1000 <= abs(value) < 1e6:  # as the whole numbers beside it (85968 next to 99102, not 9.91e+04)
            return f"{value:.0f}"
        return f"{value:.3g}"
    return str(value)


#: What the report states for an EC50 whose interval the data leave open on the side that matters.
NOT_DETERMINED = "not determined"


def ec50_bound(row) -> tuple[str, float]:
    """``(bound, value)`` of the EC50 a fits or ranking row states; the one rule of every table of the report.

    A fits row: :func:`~ferroscreen.analysis.potency.ec50_bounds`, the rule ``fits.csv``'s ``ec50_bound``
    is written by. An EC50 inside the tested doses, its curve's far plateau measured, is a potency
    estimate: ``("", ec50)``. Otherwise the data bound it from one side only, by its 95% interval:
    ``(">", ec50_lo)`` for an EC50 above the doses or an open-topped curve (``far_plateau_undetermined``),
    ``("<", ec50_hi)`` below them, each held to the tested doses (``> 10 µM`` where ``ec50_lo`` lies above
    the top dose 10 µM); ``("?", nan)``, :data:`NOT_DETERMINED`, when that limit is open too (``0``,
    infinite, or beyond the span :func:`molar_range` writes ``unbounded``).

    A ranking row states its own bound (``ranking.csv``'s ``ec50_bound`` ``<``/``>``, by ranking's rule:
    its ``ec50`` already held to the tested dose or ``ec50_lo``, never ``?``), where the fits rule, reading
    that held ``ec50``, finds none or another: the stated side then stands, bounded by the curve's
    interval (:func:`~ferroscreen.report.tables.with_fit_intervals`) as above (``?`` where that limit is
    open); a row without an interval (a curve not in ``fits.csv``) keeps the ranking's ``ec50``.
    """
    get = row.get
    frame = pd.DataFrame({c: [get(c, math.nan)] for c in ("ec50", "ec50_lo", "ec50_hi", "dose_min", "dose_max")})
    frame["flags"] = [get("flags", "")]
    bounds, values = ec50_bounds(frame)
    bound, value = str(bounds[0]), float(values[0])
    said = str(get("ec50_bound", "") or "").strip()
    if said == "?":  # a table that states it not determined (ranking.csv, fits.csv)
        return "?", math.nan
    if said not in ("<", ">") or bound == said:
        return bound, value
    return _stated_bound(row, said)


def _stated_bound(row, said: str) -> tuple[str, float]:
    """A ranking row's stated side (``said``), its value the curve's interval limit as :func:`ec50_bound` says."""
    ec50 = float(row.get("ec50", math.nan))
    lo, hi = float(row.get("ec50_lo", math.nan)), float(row.get("ec50_hi", math.nan))
    if math.isnan(lo) and math.isnan(hi):
        return said, ec50
    d0, d1 = float(row.get("dose_min", math.nan)), float(row.get("dose_max", math.nan))
    floor, ceiling = (float(x) for x in molar_limits(d0, d1))
    limit = hi if said == "<" else lo
    if not (math.isfinite(limit) and limit > 0 and floor <= limit <= ceiling):
        return "?", math.nan
    dose = d0 if said == "<" else d1
    if not math.isfinite(dose):
        return said, limit
    return said, max(limit, dose) if said == "<" else min(limit, dose)


def ec50_text(row) -> str:
    """The EC50 a row states (:func:`ec50_bound`): ``27.6 nM``, ``> 1.12 µM``, ``< 3 nM`` or ``not determined``."""
    bound, value = ec50_bound(row)
    if bound == "?":
        return NOT_DETERMINED
    if math.isnan(value):
        return ""
    return f"{bound} {molar(value)}" if bound else molar(value)
