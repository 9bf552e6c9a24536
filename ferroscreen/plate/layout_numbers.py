"""Numbers in layout cells: concentrations with their units, molecular weights, and each column's decimal mark.

:func:`numbers_one_way` rewrites the number columns of a file's :class:`~ferroscreen.plate.layout_records.LayoutRecord`
objects with a decimal point and no thousands separator, each column deciding its own mark (as the tidy tables
do, :mod:`ferroscreen.decimal_marks`); :func:`molar_cell` then reads one record's concentration as molar.
Every problem is a :class:`~ferroscreen.errors.LayoutError` naming the cell.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ferroscreen.decimal_marks import decimal_comma_column, notation
from ferroscreen.errors import LayoutError
from ferroscreen.plate.units import (
    GRAMS_PER_LITRE,
    any_to_molar,
    concentration_unit,
    decimal_point,
    misread_micro_hint,
    same_unit,
    split_value_unit,
)

if TYPE_CHECKING:
    from ferroscreen.plate.layout_records import LayoutRecord

#: Cells that mean "nothing written" in a concentration or role column (R's ``NA``, Excel's ``#N/A``).
MISSING_TEXT = ("na", "n/a", "#n/a", "nan", "-", "--")
#: The units a concentration may be given in, as messages list them.
UNITS_SAID = "molar: M, mM, uM, µM, nM, pM; mass with an 'mw' column in g/mol: ng/ml, µg/ml, mg/ml...; or %"


def number_cell(where: str, text: str, decimal_comma: bool) -> tuple[float, str]:
    """A concentration cell as ``(value, unit written after it)`` (empty, ``NA``, ``-`` -> NaN)."""
    if text.strip().lower() in MISSING_TEXT:
        return math.nan, ""
    written = text.strip()
    text, unit = split_value_unit(written)
    if unit and not unit[0].isalpha() and unit[0] not in "µμ%":  # '1:3 serial dilution', '10/20', '5 (x2)'
        raise LayoutError(f"{where}: '{written}' is not a concentration (a number, with a unit such as uM)")
    if text == "":
        return math.nan, ""
    if decimal_comma:
        text = decimal_point(text)
    try:
        value = float(text)
    except ValueError:
        comma = " (a decimal comma or a thousands separator? write 1.5 or 1500)" if re.fullmatch(
            r"\d+,\d+", text) else ""
        raise LayoutError(f"{where}: '{text}' is not a number{comma}") from None
    if not math.isfinite(value):
        raise LayoutError(f"{where}: '{text}' is not a finite number")
    if value < 0:
        raise LayoutError(f"{where}: negative concentration {text}")
    return value, unit


def _molecular_weight(rec: LayoutRecord, row: dict, column: str, unit: str, decimal_comma: bool) -> float:
    """The molecular weight (g/mol) in ``column`` for a mass concentration in ``unit``; NaN when none is given."""
    text = row.get(column, "")
    if not text:
        return math.nan
    try:
        mw = float(decimal_point(text) if decimal_comma else text)
    except ValueError:
        raise LayoutError(f"{rec.where(column)}: molecular weight '{text}' is not a number") from None
    if not (math.isfinite(mw) and mw > 0):
        raise LayoutError(f"{rec.where(column)}: molecular weight {text} is not above 0 (g/mol, for {unit})")
    return mw


def molar_cell(rec: LayoutRecord, row: dict, column: str, unit_column: str, header_unit: str,
           fallback_unit: str, decimal_comma: bool) -> tuple[float, float, str]:
    """``(molar, as written, unit)`` of a concentration column of one record.

    A mass concentration is molar with the well's molecular weight (column ``mw``; ``rescue_mw`` for
    the rescue agent's), else NaN, as are the :data:`~ferroscreen.plate.units.UNCONVERTED_UNITS`; its
    value and unit are kept.
    """
    value, cell_unit = number_cell(rec.where(column), row.get(column, ""), decimal_comma)
    given = row.get(unit_column, "")
    given = concentration_unit(given) or given
    units = [u for u in (cell_unit, header_unit, given) if u]
    if any(not same_unit(u, units[0]) for u in units[1:]):  # µM, μM and uM are one unit
        raise LayoutError(f"{rec.where(column)}: units disagree ({' vs '.join(dict.fromkeys(units))})")
    unit = units[0] if units else fallback_unit
    if math.isnan(value):
        return value, value, unit
    unit_at = rec.where(unit_column) if unit_column in row else rec.where(column)
    if unit == "":
        if value == 0:  # a vehicle's 0 is 0 in any unit
            return 0.0, 0.0, unit
        raise LayoutError(f"{unit_at}: concentration given without a unit (M, mM, uM, nM, pM)")
    mw = (_molecular_weight(rec, row, "mw" if column == "concentration" else "rescue_mw", unit, decimal_comma)
          if unit in GRAMS_PER_LITRE else math.nan)  # the rescue agent's own weight, never the compound's
    molar = any_to_molar(value, unit, mw)
    if molar is not None:
        return molar, value, unit
    if column == "concentration":
        raise LayoutError(f"{unit_at}: unknown unit '{unit}' ({misread_micro_hint(unit) or UNITS_SAID})")
    hint = f" ({misread_micro_hint(unit)})" if misread_micro_hint(unit) else ""
    raise LayoutError(f"{unit_at}: unknown or missing unit '{unit}' for rescue_concentration{hint}")


#: Layout columns of numbers (keys as :func:`layout_columns` gives them) whose decimal mark each decides.
NUMBER_COLUMNS = ("concentration", "rescue_concentration", "mw", "rescue_mw", "drug2_conc")


class _MixedMarks(LayoutError):
    """A column of numbers writing a decimal point beside a decimal comma (placed by :func:`numbers_one_way`)."""


def numbers_one_way(names: dict[str, str], records: list[LayoutRecord], source: Path) -> list[LayoutRecord]:
    """``records`` with the numbers of the number columns written with a decimal point and no thousands separator.

    Each column decides its decimal mark, as a tidy table's does
    (:func:`~ferroscreen.csv_tables.read_csv_table`): a column writing a decimal comma (``0,5``) reads
    ``1.000`` as a thousand and ``2.500,5`` as 2500.5, one writing a decimal point (``2.5``) reads
    ``1,000`` as a thousand; a column writing neither takes the mark the file's other number columns write.

    Raises:
        LayoutError: Naming the cell, for a column writing both marks (``62.5`` beside ``2,5``), and for
            ``1.000`` or ``1,000`` in a column no number of the file tells the mark of.
    """
    cells: dict[str, list[tuple[int, str, str]]] = {}  # column -> (record, header name, number text)
    for k, rec in enumerate(records):
        for name, text in rec.values.items():
            if names.get(name) in NUMBER_COLUMNS and text.strip().lower() not in ("", *MISSING_TEXT):
                cells.setdefault(names[name], []).append((k, name, split_value_unit(text.strip())[0]))
    marks = {column: {notation(number) for *_, number in found} for column, found in cells.items()}
    said = {mark for found in marks.values() for mark in found & {",", "."}}
    records = list(records)
    for column, found in cells.items():
        mark = "," if "," in marks[column] else "." if "." in marks[column] else ""
        if not mark and marks[column] & {"1.000", "1,000"}:
            if len(said) != 1:
                k, name, text = next(c for c in found if notation(c[2]) in ("1.000", "1,000"))
                sep = "." if "." in text else ","
                one = text.replace(sep, ".").rstrip("0").rstrip(".")
                raise LayoutError(f"{records[k].where(name)}: '{text}' could be {text.replace(sep, '')} or {one} "
                                  f"('{sep}' as a thousands separator or as the decimal mark) and no other number in "
                                  f"the file says which; write {text.replace(sep, '')} or {one}")
            mark = next(iter(said))
        read = None  # a decimal-comma column's numbers as the tidy tables read them (None: as written)
        if mark == "," and any("," in number for *_, number in found):
            try:
                read = decimal_comma_column(pd.Series([n for *_, n in found]), column, source, _MixedMarks)
            except _MixedMarks:  # a decimal point beside a decimal comma: named at its cell
                k, name, text = next((c for c in found if notation(c[2]) == "."), found[0])
                first = next((n for *_, n in found if notation(n) == ","), "")
                raise LayoutError(f"{records[k].where(name)}: '{text}' writes a decimal point where other cells of "
                                  f"the column write a decimal comma ('{first}'); write every number one way") from None
        for j, (k, name, number) in enumerate(found):
            if read is not None:
                written = repr(float(read.iloc[j]))
            elif mark:
                written = number.replace("." if mark == "," else ",", "").replace(",", ".")
            else:
                continue
            try:
                same = float(number) == float(written)
            except ValueError:
                same = False
            if not same:
                rec = records[k]
                text = rec.values[name].strip()
                records[k] = replace(rec, values={**rec.values, name: written + text[len(number):]})
    return records
