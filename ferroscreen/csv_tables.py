"""Reading users' and results' CSV/TSV tables with one-line errors for what breaks them.

:func:`read_csv_table` refuses, naming the file: a path that is missing or a folder,
a file that is empty, not text (UTF-8, UTF-16 with its byte-order mark, or Windows-1252,
Excel's "CSV" on Windows) or not parseable, and a row whose number of
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

import numpy as np
import pandas as pd

from ferroscreen.decimal_marks import COMMA_DECIMAL, ONE_THOUSAND, US_THOUSANDS, decimal_comma_column, notation
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


#: A point and three digits ending a cell: where a ``1.000`` may end (found fast, then checked whole).
_THREE_AFTER_POINT = re.compile(r"\.\d{3}(?=[;\t\r\n\"]|$)", re.M)


def _holds_one_thousand(text: str) -> bool:
    """Whether some cell of a table's ``text`` is a ``1.000`` (:data:`~ferroscreen.decimal_marks.ONE_THOUSAND`)."""
    for m in _THREE_AFTER_POINT.finditer(text):
        start = m.start()
        while start and text[start - 1].isdigit():
            start -= 1
        if start and text[start - 1] in "+-":
            start -= 1
        if (not start or text[start - 1] in ';\t\r\n"') and ONE_THOUSAND.match(text[start:m.end()]):
            return True
    return False


def _thousands_points(table: pd.DataFrame, text: str, sep: str, path: Path, error: type[FerroscreenError],
                      names: set[str]) -> None:
    """Read in place the columns pandas took as numbers whose ``1.000`` (a thousand, or a one) the file explains.

    A column holding such a cell and no decimal point of its own (``0.5``) takes the mark the file's
    other number columns write: a decimal comma (``0,5``) makes ``1.000`` a thousand, a decimal point
    keeps it a one. A semicolon file writing neither is refused (a tab-separated file without a decimal
    comma anywhere reads points as decimal points).
    """
    numeric = [k for k, c in enumerate(table.columns) if c.lower() not in names
               and pd.api.types.is_numeric_dtype(table.iloc[:, k]) and not pd.api.types.is_bool_dtype(table.iloc[:, k])]
    if not numeric or not _holds_one_thousand(text):  # most tables: nothing to decide, no second read
        return
    raw = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    raw.columns = [str(c).strip() for c in raw.columns]
    cells = {k: raw.iloc[:, k].str.strip() for k in range(raw.shape[1]) if raw.columns[k].lower() not in names}
    candidates = [k for k in numeric if k in cells and cells[k].str.match(ONE_THOUSAND).any()
                  and not (cells[k].str.contains(".", regex=False) & ~cells[k].str.match(ONE_THOUSAND)).any()]
    if not candidates:  # each column's own decimal point says what its 1.000 is
        return
    said = {m for k, c in cells.items() for m in {notation(v) for v in c.unique()} & {",", "."}}
    for k in candidates:
        col = table.columns[k]
        if said == {","}:
            table.isetitem(k, pd.to_numeric(cells[k].str.replace(".", "", regex=False), errors="coerce"))
        elif sep == ";" and said != {"."}:
            row = int(np.flatnonzero(cells[k].str.match(ONE_THOUSAND).to_numpy())[0])
            value = cells[k].iloc[row]
            raise error(f"{path}: column '{col}' row {row + 2}: '{value}' could be {value.replace('.', '')} or "
                        f"{float(value):g} ('.' as a thousands separator or as the decimal mark) and no other number "
                        f"in the file says which; write {value.replace('.', '')} or {float(value):g}")


#: Starts of binary files a table reader is given by mistake: a zip (``.xlsx``), an old Office file, HDF5.
_BINARY_STARTS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\x89HDF\r\n\x1a\n")


def decode_table_text(raw: bytes) -> str:
    """A table file's text: UTF-16 by its mark, else UTF-8 (BOM allowed), else Windows-1252.

    UTF-16 is Excel's "Unicode text"; Windows-1252 what Excel on Windows saves as "CSV" and "CSV
    (semicolon)" (``µM``, ``é``).

    Raises:
        UnicodeDecodeError: For bytes that are none of them: a binary file (NUL bytes, a zip, Office or
            HDF5 file) or bytes Windows-1252 does not define.
    """
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if raw.startswith(_BINARY_STARTS) or b"\x00" in raw[:65536]:
            raise
        return raw.decode("cp1252")


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
            text (UTF-8, UTF-16 with its mark or Windows-1252), unparseable, a row with a different number
            of fields than the header, or
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
        raise error(f"{path}: not text (neither UTF-8 nor Windows-1252; expected {what})") from None
    if not text.strip():
        raise error(f"{path}: file is empty (expected {what})")
    if sep is None:
        sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else header_delimiter(text.lstrip().splitlines()[0])
    try:
        text = _checked_text(text, sep, path)
    except FerroscreenError as exc:
        raise error(str(exc)) from None
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, keep_default_na=True, low_memory=False)
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
            return bool((text.str.match(COMMA_DECIMAL) & ~text.str.match(US_THOUSANDS)).any())

        if sep == ";" or any(evidence(k) for k in cols):
            for k in cols:
                col = table.columns[k]
                numbers = decimal_comma_column(table.iloc[:, k], col, path, error)
                if numbers is not None:
                    table.isetitem(k, numbers)
        _thousands_points(table, text, sep, path, error, wanted)
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
