"""Reading users' and results' CSV/TSV tables with one-line errors for what breaks them.

:func:`read_csv_table` refuses, naming the file: a path that is missing or a folder,
a file that is empty, not UTF-8 text or not parseable, and a row whose number of
fields differs from the header's (a file cut off mid-row, or a stray delimiter),
which a plain ``pandas.read_csv`` would fill with missing values or shift into the
index without a word. Rows that only add empty fields at the end (spreadsheet
exports), columns with neither a name nor a value (Excel's trailing ``;;``) and blank
lines are accepted. In a semicolon-separated table (a European-locale export) numbers
written with a decimal comma (``5,48``, ``1.234,5``) are read as numbers; in a
tab-separated one too, but only when some cell is a decimal comma no thousands separator
could be (``5,48``, ``0,523``; not ``1,234``, a thousand in a US export, which stays text); a
comma-separated table's cells are never read so.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from ferroscreen.errors import FerroscreenError

DELIMITERS = (",", "\t", ";")
#: A dose column's name in a dose-response table: ``dose``, ``conc``, ``concentration``, with or without a unit.
_DOSE_COLUMN = re.compile(r"^(dose|conc|concentration)\b|^(dose|conc|concentration)[_ (\[]")


def header_delimiter(line: str) -> str:
    """The delimiter of a header line: the most frequent of tab, semicolon and comma (comma on a tie)."""
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(counts.values())
    if best == 0 or counts[","] == best:
        return ","
    return "\t" if counts["\t"] == best else ";"


def _checked_text(text: str, sep: str, path: Path) -> str:
    """``text`` after checking each row's field count.

    Rows' extra empty trailing fields are cut off, and columns whose header cell and every
    cell are empty (a spreadsheet's unused columns) left out.
    """
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    rows, n, trim = [], None, False
    try:
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            if n is None:
                n = len(row)
            elif len(row) < n or any(cell.strip() for cell in row[n:]):
                raise FerroscreenError(
                    f"{path}: line {reader.line_num} has {len(row)} fields where the header has {n} "
                    f"(a truncated or broken row)")
            trim |= len(row) > n
            rows.append(row[:n])
    except csv.Error as exc:
        raise FerroscreenError(f"{path}: not a readable table (line {reader.line_num}: {exc})") from None
    keep = [k for k in range(n or 0) if any(row[k].strip() for row in rows)]  # rows[0]: the header
    if len(keep) == n and not trim:
        return text
    rows = [[row[k] for k in keep] for row in rows]
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\n").writerows(rows)
    return out.getvalue()


#: A number with a decimal comma (``5,48``, ``-0,5``, ``1,5E-06``).
_COMMA_DECIMAL = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")
#: A number a US export could write with thousands separators (``1,234``, ``12,500,000``): no evidence of a
#: decimal comma; any other comma number is (``5,48``, ``0,523``, ``-0,500``, ``1234,567``).
_US_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(?:,\d{3})+$")
#: A number with points between groups of three digits, maybe a decimal comma after them (``1.234,5``, ``10.000``).
_POINT_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?$")
#: A number written with neither a point nor a comma (``30``, ``1e-6``).
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[eE][+-]?\d+)?$")


def _decimal_comma_column(column: pd.Series, name: str, path: Path,
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
    comma = text.str.match(_COMMA_DECIMAL) | text.str.match(_POINT_THOUSANDS) | text.str.match(_PLAIN_NUMBER)
    if not comma.all():
        points = text[~comma]
        if points.str.contains(".", regex=False).all() and pd.to_numeric(points, errors="coerce").notna().all():
            row = int(column.index.get_loc(points.index[0]))
            first = text[text.str.contains(",", regex=False)].iloc[0]
            raise error(f"{path}: column '{name}' row {row + 2}: '{points.iloc[0]}' writes a decimal point where "
                        f"other rows write a decimal comma ('{first}'); write every number one way")
        return None
    values = [decimal_point(v.replace(".", "") if _POINT_THOUSANDS.match(v) else v) for v in text]
    out = pd.Series(float("nan"), index=column.index, dtype=float)
    out[text.index] = [float(v) for v in values]
    return out


def decode_table_text(raw: bytes) -> str:
    """A table file's text: UTF-16 by its byte-order mark (Excel's "Unicode text"), else UTF-8 (BOM allowed).

    Raises:
        UnicodeDecodeError: For bytes that are neither (a binary file, another encoding).
    """
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def header_names(path: str | Path) -> list[str]:
    """The column names of a delimited text file's first line, stripped ([] when unreadable or empty)."""
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read(65536)
        line = decode_table_text(raw).splitlines()[0] if raw.strip() else ""
    except (OSError, UnicodeDecodeError, IndexError):
        return []
    return [c.strip() for c in next(csv.reader([line], delimiter=header_delimiter(line)), [])]


def names_a_table(names: list[str]) -> str | None:
    """The kind of table a header names: ``"wells"``, ``"tidy"`` or None.

    ``wells``: ferroscreen's wells table (``well`` and ``time_h``), or ``segment``'s per-well
    nuclei features (``plate``, ``well`` and ``n_nuclei``/``nuclei_per_field``/``area_mean``);
    ``tidy``: a dose-response table without wells (``curve, dose, response``, or a dose column
    named ``dose``/``conc``/``concentration`` with or without a molar unit, ``dose_uM``).
    """
    lower = {n.lower() for n in names}
    if {"curve", "dose", "response"} <= lower:  # fit's fitted_points.csv names its wells too
        return "tidy"
    if {"well", "time_h"} <= lower or ({"plate", "well"} <= lower
                                       and lower & {"n_nuclei", "nuclei_per_field", "area_mean"}):
        return "wells"
    if "well" not in lower and any(_DOSE_COLUMN.match(n) for n in lower):
        return "tidy"
    return None


#: Columns that name things (curves, compounds, genes, plates): ``NA``, ``null`` or ``#N/A`` there is a name.
NAME_COLUMNS = ("curve", "compound", "drug", "treatment", "sample", "curve_id", "gene", "plate", "well", "readout",
                "rescue_agent", "group", "metadata_plate", "metadata_well")


def read_csv_table(path: str | Path, what: str = "a CSV table", sep: str | None = None,
                   error: type[FerroscreenError] = FerroscreenError,
                   names: tuple[str, ...] = NAME_COLUMNS) -> pd.DataFrame:
    """Read a delimited text table (UTF-8, byte-order mark allowed, or UTF-16 with one) after checking every row.

    Args:
        path: The file.
        what: What the file should be, for messages (``"a wells table"``).
        sep: Delimiter; by default the header line's (:func:`header_delimiter`), tab for
            ``.tsv``/``.tab`` files.
        error: The :class:`FerroscreenError` subclass raised.
        names: Columns (any case) read as text as written: a compound or gene called ``NA``,
            ``null`` or ``#N/A`` keeps its name (other columns read those as missing), and a
            plate ``0012`` its zeros (a column of such numbers is text).

    Returns:
        The table, column names stripped; columns without a name or a value left out. When
        the delimiter is a semicolon, or a tab with some cell an unambiguous decimal comma
        (see the module docstring), a column of numbers written with decimal commas (and
        maybe points between thousands: ``1.234,5``) other than ``names`` holds floats.

    Raises:
        FerroscreenError: (``error``) One line naming the file: missing, a folder, empty, not
            UTF-8, unparseable, a row with a different number of fields than the header, or
            (delimiter not a comma) a column of numbers mixing decimal points and commas.
    """
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: is a folder, not {what}")
    if not path.is_file():
        raise error(f"{path}: file not found")
    try:
        text = decode_table_text(path.read_bytes())
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text (expected {what})") from None
    if not text.strip():
        raise error(f"{path}: file is empty (expected {what})")
    if sep is None:
        sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else header_delimiter(text.lstrip().splitlines()[0])
    try:
        text = _checked_text(text, sep, path)
    except FerroscreenError as exc:
        raise error(str(exc)) from None
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, keep_default_na=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, csv.Error, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise error(f"{path}: not a readable table ({first})") from None
    table.columns = [str(c).strip() for c in table.columns]
    wanted = {n.lower() for n in names}
    if sep != ",":  # a European-locale export: 5,48 is 5.48 (a comma-separated file's cells never are)
        cols = [k for k, col in enumerate(table.columns)
                if col.lower() not in wanted and pd.api.types.is_string_dtype(table.iloc[:, k])]
        # a tab-separated file is decimal-comma only on evidence: '1,234' is a thousand in a US export
        def evidence(k: int) -> bool:
            text = table.iloc[:, k].dropna().astype(str).str.strip()
            return bool((text.str.match(_COMMA_DECIMAL) & ~text.str.match(_US_THOUSANDS)).any())

        if sep == ";" or any(evidence(k) for k in cols):
            for k in cols:
                col = table.columns[k]
                numbers = _decimal_comma_column(table.iloc[:, k], col, path, error)
                if numbers is not None:
                    table.isetitem(k, numbers)
    named = [k for k, c in enumerate(table.columns) if c.lower() in wanted
             and (table.iloc[:, k].isna().any() or pd.api.types.is_numeric_dtype(table.iloc[:, k]))]
    if named:  # a name that pandas took for missing (NA, null, #N/A) or for a number: read it again as text
        raw = pd.read_csv(io.StringIO(text), sep=sep, usecols=named, dtype=str, keep_default_na=False)
        for k, col in zip(named, raw.columns, strict=True):
            text_values = raw[col].str.strip()
            if pd.api.types.is_numeric_dtype(table.iloc[:, k]) and not table.iloc[:, k].isna().any():
                if text_values.str.match(r"^[+-]?0\d").any():  # plate 0012 stays 0012, not 12
                    table.isetitem(k, text_values.astype(object))
                continue
            table.isetitem(k, table.iloc[:, k].astype(object).where(text_values == "", text_values))
    return table
