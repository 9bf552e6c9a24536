"""How numbers are written in users' text tables: decimal points, decimal commas and thousands separators.

Shared by the tidy/wells table reader (:mod:`ferroscreen.csv_tables`) and the layout reader
(:mod:`ferroscreen.plate.layout_records`), so that a European-locale export (``0,5``, ``1.234,5``) and
a US one (``0.5``, ``1,234``) are read alike everywhere, and a number no cell of the file tells the
mark of (``1.000``: a thousand, or a one) is refused rather than guessed.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from ferroscreen.errors import FerroscreenError

#: A number with a decimal comma (``5,48``, ``-0,5``, ``1,5E-06``).
COMMA_DECIMAL = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")
#: A number a US export could write with thousands separators (``1,234``, ``12,500,000``): no evidence of a
#: decimal comma; any other comma number is (``5,48``, ``0,523``, ``-0,500``, ``1234,567``).
US_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(?:,\d{3})+$")
#: A number with points between groups of three digits, maybe a decimal comma after them (``1.234,5``, ``10.000``).
POINT_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?$")
#: One point before three digits and nothing else (``1.000``, ``-12.500``): a thousand, or a one.
ONE_THOUSAND = re.compile(r"^[+-]?[1-9]\d{0,2}\.\d{3}$")
#: A number written with neither a point nor a comma (``30``, ``1e-6``).
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[eE][+-]?\d+)?$")


def decimal_comma_column(column: pd.Series, name: str, path: Path,
                          error: type[FerroscreenError]) -> pd.Series | None:
    """``column`` (text) as floats when its cells are numbers written with a decimal comma; else None.

    Every non-empty cell must be a number with no point or comma (``30``), with a decimal
    comma (``3,33333``) or with points between thousands (``1.234,5``, ``10.000``: 1234.5,
    10000), and one cell at least must hold a comma. Text (``15.01.2024``, ``RSL3``) leaves
    the column as it is.

    Raises:
        FerroscreenError: (``error``) For a column of numbers that writes a decimal point
            (``1.5``) beside a decimal comma (``0,5``): which one a cell means cannot be told.
    """
    from ferroscreen.plate.units import decimal_point  # here: ferroscreen.plate's readers import this module

    text = column[column.notna()].astype(str).str.strip()
    text = text[text != ""]
    if text.empty or not text.str.contains(",", regex=False).any():
        return None
    comma = text.str.match(COMMA_DECIMAL) | text.str.match(POINT_THOUSANDS) | text.str.match(PLAIN_NUMBER)
    if not comma.all():
        points = text[~comma]
        if points.str.contains(".", regex=False).all() and pd.to_numeric(points, errors="coerce").notna().all():
            row = int(column.index.get_loc(points.index[0]))
            first = text[text.str.contains(",", regex=False)].iloc[0]
            raise error(f"{path}: column '{name}' row {row + 2}: '{points.iloc[0]}' writes a decimal point where "
                        f"other rows write a decimal comma ('{first}'); write every number one way")
        return None
    values = [decimal_point(v.replace(".", "") if POINT_THOUSANDS.match(v) else v) for v in text]
    out = pd.Series(float("nan"), index=column.index, dtype=float)
    out[text.index] = [float(v) for v in values]
    return out


def notation(text: str) -> str:
    """The decimal mark a number's text shows: ``,`` (``0,5``, ``1.234,5``), ``.`` (``0.5``), '' for none (``30``).

    ``1.000`` and ``1,000`` (one separator before three digits: a thousand, or a one) are returned as
    they are; ``1.000.000`` and ``12,500,000`` (separators between thousands only) show the other mark.
    """
    if POINT_THOUSANDS.match(text):
        return "," if "," in text or text.count(".") > 1 else "1.000"
    if US_THOUSANDS.match(text):
        return "." if text.count(",") > 1 else "1,000"
    if COMMA_DECIMAL.match(text):
        return ","
    try:
        return "." if "." in text and math.isfinite(float(text)) else ""
    except ValueError:
        return ""
