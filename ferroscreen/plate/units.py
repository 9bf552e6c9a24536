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
    "fM": 1e15,
}


#: Molar units written out: ``µmol/L``, ``micromolar``, ``microM`` (lower case, ``u`` for micro).
_SPELLED_MOLAR = {"mol/l": "M", "mmol/l": "mM", "umol/l": "uM", "nmol/l": "nM", "pmol/l": "pM",
                  "molar": "M", "millimolar": "mM", "micromolar": "uM", "nanomolar": "nM", "picomolar": "pM",
                  "microm": "uM", "nanom": "nM", "millim": "mM", "picom": "pM"}


def molar_unit(text: str) -> str:
    """``uM``/``µM``/``um``/``µmol/L``/``micromolar`` -> the unit as :data:`MOLAR_DIVISORS` spells it ('' if none)."""
    text = str(text).strip()
    if text in MOLAR_DIVISORS:
        return text
    fixed = text[:-1].lower() + "M" if text[-1:] in ("m", "M") else ""
    if fixed in MOLAR_DIVISORS:
        return fixed
    return _SPELLED_MOLAR.get(re.sub(r"\s+", "", text.lower()).replace("µ", "u").replace("μ", "u"), "")


#: Grams per litre in one unit of each mass concentration (value x factor = g/L), spelt lower case, ``u`` for micro.
GRAMS_PER_LITRE: dict[str, float] = {
    "g/l": 1.0, "mg/ml": 1.0, "mg/l": 1e-3, "ug/ml": 1e-3, "ng/ul": 1e-3,
    "ug/l": 1e-6, "ng/ml": 1e-6, "pg/ul": 1e-6, "ng/l": 1e-9, "pg/ml": 1e-9,
}
#: Units a layout keeps as written, with no molar value: a vehicle's share, a fold of a stock.
UNCONVERTED_UNITS = ("%", "% v/v", "x")
#: A number (``1.5``, ``0,5``, ``1e-6``; ``10,000.00`` or ``10.000,5`` with thousands separators), then text.
_VALUE_THEN_TEXT = re.compile(r"^(?P<value>[-+]?(?:\d{1,3}(?:[.,]\d{3})+(?:[.,]\d+)?|\d+[.,]?\d*|[.,]\d+)"
                              r"(?:[eE][-+]?\d+)?)\s*(?P<unit>[^\d\s.,+-].*)$")


def concentration_unit(text: str) -> str:
    """A concentration unit as ferroscreen spells it, '' when ``text`` is none.

    Molar units as :data:`MOLAR_DIVISORS` spells them (``um`` -> ``uM``), mass concentrations as
    :data:`GRAMS_PER_LITRE` does (``ng/mL``, ``µg/ml`` -> ``ng/ml``, ``ug/ml``), and
    :data:`UNCONVERTED_UNITS` (``%``, ``% v/v``, ``x``).
    """
    text = str(text).strip()
    if not text:
        return ""
    if molar_unit(text):
        return molar_unit(text)
    low = re.sub(r"\s+", "", text.lower()).replace("µ", "u").replace("μ", "u")
    if low in GRAMS_PER_LITRE:
        return low
    return {"%": "%", "%v/v": "% v/v", "v/v%": "% v/v", "x": "x"}.get(low, "")


def split_value_unit(text: str) -> tuple[str, str]:
    """A concentration cell split into its number and the text after it (``20 ng/ml`` -> ``20``, ``ng/ml``).

    The number may hold thousands separators (``10,000.00 nM`` -> ``10,000.00``, ``nM``): the layout's
    reader decides, with the file's other numbers, which mark is the decimal one. Returns ``(text, "")``
    when the cell is not a number followed by text; the unit is returned as :func:`concentration_unit`
    spells it, or as written when it is no unit ferroscreen knows.
    """
    text = str(text).strip()
    try:
        float(decimal_point(text))
        return text, ""  # a number alone (1e-6 is no 1 with a unit 'e-6')
    except ValueError:
        pass
    m = _VALUE_THEN_TEXT.match(text)
    if not m:
        return text, ""
    return m["value"], concentration_unit(m["unit"]) or m["unit"].strip()


def decimal_point(text: str) -> str:
    """``text`` with a decimal comma written as a point (``"0,5"`` -> ``"0.5"``; ``"1.5"`` unchanged).

    For numbers from European-locale files; only a text holding commas and no point is changed.
    """
    return text.replace(",", ".") if "," in text and "." not in text else text


def same_unit(a: str, b: str) -> bool:
    """Whether two units as :func:`concentration_unit` spells them are one (``µM``, ``μM``, ``uM``; ``mg/ml``, ``g/l``).

    Molar units compare by their divisor to molar, mass concentrations by their grams per litre;
    any other unit only with itself.
    """
    for table in (MOLAR_DIVISORS, GRAMS_PER_LITRE):
        if a in table and b in table:
            return table[a] == table[b]
    return a == b


#: How a µ reads when a file's encoding is taken for another: Excel's "CSV (MS-DOS)" (cp850) or an
#: old DOS code page read as Windows-1252 (``æ``); UTF-8 read as Windows-1252 (``Âµ``, Greek ``Î¼``);
#: a character an encoding could not hold (``?``, ``\ufffd``).
_MISREAD_MICRO = ("Âµ", "Î¼", "æ", "\ufffd", "?")


def misread_micro_hint(unit: str) -> str:
    """What to do about an unknown ``unit`` that is a µ unit with its µ mangled by an encoding ('' for any other).

    ``æM`` (``µM`` in a cp850 file read as Windows-1252) gives ``'æM' looks like µM with its µ mangled by the
    file's encoding, as Excel's 'CSV (MS-DOS)' saves it; save the file as 'CSV UTF-8'``.
    """
    for bad in _MISREAD_MICRO:
        if bad in unit and concentration_unit(unit.replace(bad, "u", 1)):
            return (f"'{unit}' looks like {unit.replace(bad, 'µ', 1)} with its µ mangled by the file's encoding, as "
                    f"Excel's 'CSV (MS-DOS)' saves it; save the file as 'CSV UTF-8'")
    return ""


def is_molar_unit(unit: str) -> bool:
    """Whether ``unit`` is a molar unit ferroscreen converts (M, mM, uM/µM, nM, pM, fM)."""
    return str(unit).strip() in MOLAR_DIVISORS


def to_molar(value: float, unit: str) -> float:
    """Convert ``value`` in ``unit`` to molar, to 12 significant digits.

    The rounding makes one dose written in two units one number (``3.33333 uM`` and ``3333.33 nM``
    and ``3.33333e-6 M``), as the dose groups of a curve and a Prism table's X rows need; no lab
    writes a dose to 12 digits.

    Raises:
        KeyError: If ``unit`` is not a molar unit.
    """
    return round_molar(float(value) / MOLAR_DIVISORS[str(unit).strip()])


def any_to_molar(value: float, unit: str, mw: float = math.nan) -> float | None:
    """``value`` in a unit :func:`concentration_unit` spells, as molar; None for a unit it cannot convert.

    A mass concentration (:data:`GRAMS_PER_LITRE`) is molar with the molecular weight ``mw`` (g/mol), else
    NaN; the :data:`UNCONVERTED_UNITS` (``%``, ``x``) are NaN.
    """
    if unit in MOLAR_DIVISORS:
        return to_molar(value, unit)
    if unit in GRAMS_PER_LITRE:
        return round_molar(value * GRAMS_PER_LITRE[unit] / mw) if mw > 0 else math.nan
    if unit in UNCONVERTED_UNITS:
        return math.nan
    return None


def round_molar(molar: float) -> float:
    """``molar`` to 12 significant digits (every conversion to molar ends here; see :func:`to_molar`)."""
    return float(f"{molar:.12g}") if math.isfinite(molar) else molar


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
