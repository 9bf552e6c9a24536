"""Concentration units and their conversion to molar."""

from __future__ import annotations

import math
import re

#: Divisor from each accepted unit spelling to molar (value / divisor = molar).
#: Dividing by an exact power of ten keeps ``10 uM`` exactly ``1e-05``.
MOLAR_DIVISORS: dict[str, float] = {
    "M": 1.0,
    "mM": 1e3,
    "uM": 1e6,
    "µM": 1e6,  # micro sign U+00B5
    "μM": 1e6,  # Greek mu U+03BC
    "nM": 1e9,
    "pM": 1e12,
}


_UNIT_SPELLING = r"[munpµμ]?M"
_NAME_WITH_UNIT = re.compile(
    rf"^(?P<stem>.*?\S)\s*(?:[_ ]\s*(?P<u1>{_UNIT_SPELLING})|[(\[]\s*(?P<u2>{_UNIT_SPELLING})\s*[)\]])$",
    re.IGNORECASE,
)
_VALUE_WITH_UNIT = re.compile(rf"^(?P<value>.*?\d\.?)\s*(?P<unit>{_UNIT_SPELLING})$", re.IGNORECASE)


def molar_unit(text: str) -> str:
    """``uM``/``µM``/``um``/``NM`` -> the unit as :data:`MOLAR_DIVISORS` spells it ('' if none)."""
    text = str(text).strip()
    if text in MOLAR_DIVISORS:
        return text
    fixed = text[:-1].lower() + "M" if text[-1:] in ("m", "M") else ""
    return fixed if fixed in MOLAR_DIVISORS else ""


def name_and_unit(name: str) -> tuple[str, str]:
    """A column name split from a molar unit it ends with: ``conc (uM)``, ``dose_nM``, ``Dose [µM]``.

    Returns ``(stem, unit)``, the unit spelt as :data:`MOLAR_DIVISORS` has it; ``(name, "")``
    when the name ends with no molar unit.
    """
    m = _NAME_WITH_UNIT.match(str(name).strip())
    unit = molar_unit(m["u1"] or m["u2"]) if m else ""
    return (m["stem"].strip(), unit) if unit else (str(name).strip(), "")


def value_and_unit(text: str) -> tuple[str, str]:
    """A concentration cell split into its number and a molar unit written after it (``10 uM``, ``0.5nM``).

    Returns ``(number text, unit)``; ``(text, "")`` when no molar unit follows a number.
    """
    m = _VALUE_WITH_UNIT.match(str(text).strip())
    unit = molar_unit(m["unit"]) if m else ""
    return (m["value"].strip(), unit) if unit else (str(text).strip(), "")


def decimal_point(text: str) -> str:
    """``text`` with a decimal comma written as a point (``"0,5"`` -> ``"0.5"``; ``"1.5"`` unchanged).

    For numbers from European-locale files; only a text holding commas and no point is changed.
    """
    return text.replace(",", ".") if "," in text and "." not in text else text


def is_molar_unit(unit: str) -> bool:
    """Whether ``unit`` is a molar unit ferroscreen converts (M, mM, uM/µM, nM, pM)."""
    return str(unit).strip() in MOLAR_DIVISORS


def to_molar(value: float, unit: str) -> float:
    """Convert ``value`` in ``unit`` to molar.

    Raises:
        KeyError: If ``unit`` is not a molar unit.
    """
    return float(value) / MOLAR_DIVISORS[str(unit).strip()]


def format_molar(conc_m: float) -> str:
    """Human-readable concentration with an SI prefix (``1e-8`` -> ``10 nM``)."""
    if conc_m is None or not math.isfinite(conc_m):
        return ""
    if conc_m == 0:
        return "0"
    for unit, factor in (("M", 1.0), ("mM", 1e-3), ("µM", 1e-6), ("nM", 1e-9), ("pM", 1e-12)):
        if abs(conc_m) >= factor * 0.9999:
            return f"{conc_m / factor:.4g} {unit}"
    return f"{conc_m / 1e-12:.3g} pM"
