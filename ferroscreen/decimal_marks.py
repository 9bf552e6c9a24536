"""How numbers are written in users' text tables: decimal points, decimal commas and thousands separators.

Shared by the tidy/wells table reader (:mod:`ferroscreen.csv_tables`), the layout reader
(:mod:`ferroscreen.plate.layout_records`) and the instrument exports' readers (plate readers, IncuCyte
metric exports: :func:`decimal_mark`, :func:`read_number`), so that a European-locale export (``0,5``,
``1.234,5``) and a US one (``0.5``, ``1,234``) are read alike everywhere, and a number no cell of the file
tells the mark of (``1.000``: a thousand, or a one) is refused rather than guessed.
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
#: A number with commas between thousands and a decimal point (``1,234.5``, ``10,000.00``).
US_GROUPED_DECIMAL = re.compile(r"^[+-]?[1-9]\d{0,2}(?:,\d{3})+\.\d+$")
#: What :func:`notation` calls the two forms either mark writes (a thousand, or a one).
EITHER_WAY = ("1.000", "1,000")
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
        if all(notation(p) == "." for p in points):  # 0.5, 1.5E-06, 10,000.00: numbers of a decimal point
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
    they are; ``1.000.000`` and ``12,500,000`` (separators between thousands only) show the other mark,
    and so does ``1,234.5`` (commas between thousands before a decimal point).
    """
    if "," not in text and "." not in text:
        return ""
    if POINT_THOUSANDS.match(text):
        return "," if "," in text or text.count(".") > 1 else "1.000"
    if US_THOUSANDS.match(text):
        return "." if text.count(",") > 1 else "1,000"
    if US_GROUPED_DECIMAL.match(text):
        return "."
    if COMMA_DECIMAL.match(text):
        return ","
    try:
        return "." if "." in text and math.isfinite(float(text)) else ""
    except ValueError:
        return ""


def read_number(text: str, mark: str) -> tuple[float, bool]:
    """``(value, whether thousands separators were read)`` of a number cell of a file whose decimal mark is ``mark``.

    A form only one mark writes is read so whatever ``mark`` is: ``0,5``, ``1.234,5``, ``1.234.567`` with
    a decimal comma; ``0.5``, ``1.2345``, ``1,234.5``, ``12,500,000`` with a decimal point. The two forms
    either mark writes are read with ``mark`` (``,`` or ``.``, as :func:`decimal_mark` gives it): ``1.000``
    is a thousand and ``1,000`` a one where the decimal mark is ``,``, the other way round where it is ``.``.

    Raises:
        ValueError: For text that is no number.
    """
    text = text.strip()
    separators = text.count(",") + text.count(".")
    if not separators:
        return float(text), False
    if ONE_THOUSAND.match(text):
        return (float(text.replace(".", "")), True) if mark == "," else (float(text), False)
    if US_THOUSANDS.match(text) and separators == 1:
        return (float(text.replace(",", "")), True) if mark == "." else (float(text.replace(",", ".")), False)
    if separators == 1:  # one decimal mark, either (0,5, 1.5E-06)
        return float(text.replace(",", ".")), False
    if POINT_THOUSANDS.match(text):
        return float(text.replace(".", "").replace(",", ".")), True
    if US_THOUSANDS.match(text) or US_GROUPED_DECIMAL.match(text):
        return float(text.replace(",", "")), True
    if COMMA_DECIMAL.match(text):
        return float(text.replace(",", ".")), False
    return float(text), False


def decimal_mark(seen: dict[str, str], sep: str) -> tuple[str, str]:
    """``(decimal mark, '')`` of a text file separated by ``sep``, or ``('', a number it cannot read)``.

    ``seen`` maps each :func:`notation` the file's numbers show to the first number showing it. The mark
    they show (``0,5``; ``0.5``) is the file's, and reads its ``1.000`` and ``1,000`` (:func:`read_number`).
    Where none shows a mark, a ``;``-separated file (a European export) writes decimal commas (``1,000``
    is a one) and a tab-separated one decimal points (``1.000`` is a one), but a ``1.000`` in the first
    and a ``1,000`` in the second could be a thousand as well: the file cannot be read. Neither can a
    ``1.000`` or ``1,000`` in a file whose numbers show both marks. A comma-separated file writes points.
    """
    said = {",", "."} & seen.keys()
    either = [seen[n] for n in EITHER_WAY if n in seen]
    if len(said) == 1:
        return next(iter(said)), ""
    if said:
        return ("", either[0]) if either else (".", "")
    if sep == ";":
        return ("", seen["1.000"]) if "1.000" in seen else (",", "")
    if sep == "\t":
        return ("", seen["1,000"]) if "1,000" in seen else (".", "")
    return ".", ""


def either_way(text: str, seen: dict[str, str]) -> str:
    """Why ``text`` (``1.000`` or ``1,000``: a thousand, or a one) cannot be read, and what to write instead.

    ``seen`` is what :func:`decimal_mark` was given: a file whose numbers show both marks is said to.
    """
    sep = "." if "." in text else ","
    thousand, one = text.replace(sep, ""), f"{float(text.replace(sep, '.')):g}"
    why = (f"the file writes both a decimal point ('{seen['.']}') and a decimal comma ('{seen[',']}')"
           if {",", "."} <= seen.keys() else "no other number in the file says which")
    return (f"'{text}' could be {thousand} or {one} ('{sep}' as a thousands separator or as the decimal mark) and "
            f"{why}; write {thousand} or {one}")
