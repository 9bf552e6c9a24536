"""How numbers are written in the report: three significant digits, molar units with SI prefixes."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ferroscreen.plate import format_molar

_MOLAR_COLUMN = re.compile(r"(^|_)(ec50|ed10|ed90|dose|concentration)(_lo|_hi|_se)?$")


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


def molar_range(lo: float, hi: float) -> str:
    """``"25.6–29.8 nM"`` (one unit when both limits share it); ``""`` when a limit is not finite."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    a, b = molar(lo), molar(hi)
    if " " in a and a.rpartition(" ")[2] == b.rpartition(" ")[2]:
        return f"{a.rpartition(' ')[0]}–{b}"
    return f"{a}–{b}"


def held_ec50(row) -> tuple[str, float]:
    """``(bound, ec50)`` of a fits or ranking row: the EC50 as the data bound it.

    ``("<", lowest dose)`` for an EC50 below the tested doses, ``(">", highest dose)`` above them,
    else ``("", ec50)``: an extrapolated EC50 is no measurement.
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
    return "", ec50


def fmt(value: Any, column: str = "") -> str:
    """Display text of a table value: 3 significant digits, molar units for EC50/dose columns."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        if _MOLAR_COLUMN.search(column.lower()) and not column.lower().startswith("p"):
            return molar(float(value))
        if float(value).is_integer() and abs(value) < 1e6:
            return str(int(value))
        if 1000 <= abs(value) < 1e6:  # as the whole numbers beside it (85968 next to 99102, not 9.91e+04)
            return f"{value:.0f}"
        return f"{value:.3g}"
    return str(value)
