"""Reader for microplate-reader exports: endpoint and kinetic reads of whole plates.

Viability and death assays read in a plate reader (CellTiter-Glo luminescence, resazurin or
SYTOX fluorescence, LDH absorbance) come out of Tecan i-control/Magellan/SparkControl, BMG MARS,
BioTek Gen5, PerkinElmer EnVision, Promega GloMax or Molecular Devices SoftMax as CSV/TSV/TXT/ASC
or Excel (``.xlsx``, every sheet read), in one of these shapes:

* **grid**: a row of column numbers ``1 … N`` (``<>`` or anything in the corner) and one row per
  plate row ``A, B, …`` (6- to 1536-well plates: N is 3, 4, 6, 8, 12, 24 or 48; BMG writes the rows
  after ``Z`` as ``a … f``). Each grid is a read. The nearest ``Label``/``Raw Data``/``Read``/
  ``Mode``/``Measurement`` line above names it (else the nearest text line; Tecan's ``Label: Lum``
  names it ``Lum``). A text cell after a row's values names that row's read: Gen5 writes a plate
  row's reads on consecutive lines with the letter on the first only. A number after a row's values
  that the other rows lack (a cell added or shifted) is refused: the row would be read one column
  off. Tecan i-control's part-of-plate reads are grids of the columns and rows read
  (``<> 2 … 11``, rows ``B … G``), under a ``<>`` corner.
* **SoftMax Pro plate format**: the grid's header is ``[Time], Temperature(°C), 1 … N`` (SoftMax Pro
  leaves the time header blank) and the plate rows follow without letters (A first); a kinetic block
  repeats the plate per read time, the time on the plate's first row. The ``Plate:`` line above names
  the read. Plates side by side under one header (several wavelengths) are reads named by the
  wavelengths the ``Plate:`` line lists (``Plate1 490 nm``, ``Plate1 680 nm``), else ``#1``, ``#2``…
  (in grids too).
* **kinetic**: a header row with a ``Time`` column and one column per well (``A1`` or ``A01``;
  other columns such as ``T° 37`` are left out), one row per read time (Gen5, SoftMax Pro's time
  format). Times are ``h:mm:ss`` (hours may pass 24) or ``m:ss`` (SoftMax Pro under an hour),
  Excel time cells, or numbers in the unit the header names (``Time [s]``, ``Time (min)``,
  ``Time [h]``); a row of a time alone (Gen5's ``0:00:00`` padding of a run stopped early) ends it.
  Tecan i-control's wells-down form (a ``Time [s]`` row over one column per cycle, then a row per
  well) is read too, named by the ``name:wavelength`` title right above it.
* **list**: a header row with a ``Well`` column (``Well positions``, ``WellPosition``, or the ``<>``
  corner of SparkControl) and one column per read (EnVision, SoftMax, Magellan, GloMax, whose wells
  are written ``A:1``); a ``Plate``/``Barcode`` column splits the rows into plates (the barcode where
  both are given; EnVision's ``="PLT0042"`` is ``PLT0042``). ``Repeat``, ``Type``, ``Time``, ``ID``
  and such bookkeeping columns are not reads. Lines of ``<sample>, <well>, <value>`` without a
  header are a list in a Magellan file (``.asc``, or one with Magellan's footer) holding no other
  read; BMG MARS's table view
  (``Well Row, Well Col, Content, <reads>``, kinetic with a ``Time`` row of ``1 h 30 min`` cycle
  times under the header) too.

A header line above a read names its plate where the export gives one (:attr:`PlateRead.plate`):
BMG MARS ``ID1: …`` (not ``ID2``/``ID3``, which often hold a time or a note), Tecan ``Plate-ID
(Stacker)``/``Plate-ID``, Gen5 ``Plate Number``/``Plate ID``/``Barcode``, EnVision's plate-information
table (``Plate, Repeat, Barcode``), and the ``Plate:`` section name of a SoftMax Pro file of one
section. A list's plate column names its rows' plates before any header.

Values are numbers. A comma-separated file (and a workbook's text) writes decimal points, and may
write thousands with commas (``"2,602"``). A file separated by ``;`` or tabs writes the decimal mark
its numbers show, the file as a whole (:func:`~ferroscreen.decimal_marks.decimal_mark`): ``0,5`` and
``10.300,0`` say decimal commas (``10.300`` is then 10300), ``0.523`` and ``1.2345`` decimal points
(``1,234`` is then 1234); where no number says, a ``;`` file's ``10.300`` (10300 in German Excel, or
10.3) and a tab-separated file's ``1,234`` are refused, naming the cell. Thousands separators read are
said in the notes. ``OVER``, ``OVRFLW``, ``Overflow``, ``Sat`` and ``>…`` mark a saturated well (listed
in :attr:`PlateRead.saturated`); other text (``?????``, ``n/a``) an unreadable one. Both are read as
missing and counted in the notes, never as zero.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.decimal_marks import EITHER_WAY, decimal_mark, either_way, notation, read_number
from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.io.metric_export import _decode_text
from ferroscreen.plate.wells import PLATE_FORMATS, normalize_well, row_label, rowcol_to_well
from ferroscreen.workbooks import is_workbook, workbook_rows

#: Columns per row -> rows, for every plate format.
_ROWS_FOR_COLS = {cols: rows for rows, cols in PLATE_FORMATS.values()}
_SATURATED = re.compile(r"^(?:over|ovrflw|overflow|sat|saturated|>.*)$", re.I)
_WELL_NAME = re.compile(r"^[A-Za-z]{1,2}0*\d{1,2}$")
_LIKE_A_WELL = re.compile(r"^[A-Za-z]{1,2}:?\d{1,3}$")  # a well name, or one that is no well of any plate (Z99)
_TITLE = re.compile(r"^[^\s:]+:[^\s:]+$")
_COLON_WELL = re.compile(r"^([A-Za-z]{1,2}):(\d{1,2})$")
#: A well column's header in a plate reader's list (``Well``, ``Well Position(s)``, ``WellPosition``, ``Well ID``).
WELL_HEADER = re.compile(r"^well(?:\s*(?:id|positions?|name|no\.?|#))?$", re.I)
_PLATE_HEADER = re.compile(r"^(?:plate(?:\s*(?:id|name|no\.?|#))?|barcode|plate barcode)$", re.I)
_NOT_A_READ = re.compile(r"^(?:repeat|type|time|row|col|column|content|sample|group|kinetic|cycle|t°.*|temp.*|"
                         r"id$|name$|layout$)", re.I)
_LABEL_WORDS = re.compile(r"^(?:label|raw data|read\b|mode|measurement|results?\b|wavelength)", re.I)
_TIME_UNIT = re.compile(r"\b(?P<unit>s|sec|seconds?|min|minutes?|h|hr|hours?)\b", re.I)
_UNIT_HOURS = {"s": 1 / 3600, "sec": 1 / 3600, "second": 1 / 3600, "seconds": 1 / 3600,
               "min": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60,
               "h": 1.0, "hr": 1.0, "hour": 1.0, "hours": 1.0}
_CLOCK = re.compile(r"^(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d{1,2}(?:[.,]\d*)?)$")
_EXCEL_EPOCH = datetime(1899, 12, 30)
#: A header line naming the plate: BMG MARS ``ID1: HT1080_R1``; Tecan ``Plate-ID (Stacker);CTG-R1`` or
#: ``Plate-ID``; Gen5 ``Plate Number<TAB>Plate 1``, ``Plate ID``, ``Barcode``; ``Plate Barcode``, ``Plate Name``.
#: MARS's ``ID2``/``ID3`` are not plate names (they often hold the read time or a note).
_ID_FIELD = re.compile(r"^(?P<key>id1|plate[- ]?id(?:\s*\(stacker\))?|plate\s+(?:number|barcode|name)|barcode)"
                       r"\s*(?::\s*(?P<rest>.*))?$", re.I)
_LABEL_PREFIX = re.compile(r"^label\s*:\s*", re.I)


#: The shapes of a plate read, as error messages name them.
PLATE_READ_SHAPES = ("a grid with columns 1..12 and rows A..H, a kinetic table 'Time, A1, A2, ...' or a list "
                     "'Well, <value>'")


class NoPlateRead(AcquisitionError):
    """A file that holds none of the four shapes (so it may be another kind of table)."""


@dataclass
class PlateRead:
    """One read of one plate.

    Attributes:
        label: What the export calls the read ('' when it names none).
        kind: ``endpoint`` (one value per well) or ``kinetic`` (a value per well and time).
        table: Columns ``well, time_h, value`` (``time_h`` NaN for an endpoint read).
        where: ``line 12`` / ``sheet 'Plate 1' row 12``: where the read starts.
        plate: The plate the export names for it ('' when it names none).
        n_cols: Columns of the plate format the read came from (0 when unknown).
        shape: ``grid``, ``softmax``, ``kinetic`` or ``list``: the shape it was read from.
        plate_field: The header field that gave ``plate`` (``ID1``, ``Plate-ID (Stacker)``, ``Plate Number``,
            ``Barcode``, ``Plate:``); '' when a plate column of a list named it, or nothing did.
        wavelength: The wavelength (nm) SoftMax Pro's ``Plate:`` line gives a read of several side by side
            ('' when it gives none).
        saturated: ``(well, time_h)`` of the readings the export wrote saturated (``OVER``; their value NaN).
    """

    label: str
    kind: str
    table: pd.DataFrame
    where: str
    plate: str = ""
    n_cols: int = 0
    shape: str = "grid"
    plate_field: str = ""
    wavelength: str = ""
    saturated: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """A saturated reading is :data:`_SATURATED_VALUE` while the shapes are read: NaN, listed in ``saturated``."""
        over = self.table["value"].to_numpy(float) == _SATURATED_VALUE
        if over.any():
            self.saturated += list(zip(self.table.loc[over, "well"], self.table.loc[over, "time_h"], strict=True))
            self.table = self.table.assign(value=self.table["value"].mask(over))

    def describe(self) -> str:
        """``'Lum' (endpoint, 96 wells, line 12)``; ``…, plate HT1080_R1 from 'ID1', …`` where a header names it."""
        name = f"'{self.label}'" if self.label else "unlabelled"
        wells = self.table["well"].nunique()
        times = self.table["time_h"].nunique()
        shape = f"{wells} wells" + (f" x {times} times" if self.kind == "kinetic" else "")
        plate = ""
        if self.plate:
            plate = f", plate {self.plate}" + (f" from '{self.plate_field}'" if self.plate_field else "")
        return f"{name} ({self.kind}, {shape}{plate}, {self.where})"


@dataclass
class PlateReaderExport:
    """The reads found in a plate-reader export, in file order."""

    path: Path
    reads: list[PlateRead]
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ cells


def _rows(path: Path) -> list[tuple[list[tuple[str, int, list]], str]]:
    """Readings of a file: ``([(sheet, row number, cells)], delimiter)`` (the delimiter '' for a workbook).

    One for an Excel workbook; one per delimiter for a text file, the delimiter most lines hold
    first (tab, then ``;``, on a tie: a ``;`` file with decimal commas holds as many commas).
    """
    if is_workbook(path):
        return [(workbook_rows(path, AcquisitionError), "")]
    try:
        text = _decode_text(path.read_bytes())
    except OSError as exc:
        raise AcquisitionError(f"{path}: cannot read ({exc.strerror or exc})") from None
    lines = text.splitlines()
    counts = {d: sum(d in line for line in lines) for d in ("\t", ";", ",")}
    order = sorted(counts, key=lambda d: (counts[d], d == "\t", d == ";"), reverse=True)
    return [([("", i, cells) for i, cells in enumerate(csv.reader(lines, delimiter=d), start=1)], d)
            for d in order if counts[d] or d == order[0]]


def _text(cell) -> str:
    if isinstance(cell, str):
        text = cell.strip()
        if text.startswith('="') and text.endswith('"'):  # ="PLT0042": EnVision keeps Excel from reading it
            text = text[2:-1]
        return text.strip('"').strip()
    if cell is None or cell == "":
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _integer(cell) -> int | None:
    text = _text(cell)
    return int(text) if text.isdecimal() else None


_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
#: A saturated reading's value while the shapes are read (no reading is infinite): NaN in its :class:`PlateRead`.
_SATURATED_VALUE = math.inf


def _value(cell, marks: str) -> tuple[float, str]:
    """``(value, problem)``: problem ``''``, ``'saturated'`` or ``'unreadable'`` (value NaN), or ``'thousands'``.

    ``marks`` is how the file writes numbers: ``''`` with decimal points only (a comma-separated file,
    a workbook), else the decimal mark of a file separated by ``;`` or tabs, which reads ``1.000`` and
    ``1,000`` (:func:`~ferroscreen.decimal_marks.read_number`; any other form is read as it is written).
    ``'thousands'``: a reading written with thousands separators (``2,602``, ``12,345.6`` as Excel formats
    numbers; ``10.300`` or ``1.234,5`` in a file of decimal commas); its value is read, and the notes say so.
    A saturated reading's value is :data:`_SATURATED_VALUE`.
    """
    if isinstance(cell, bool):
        return math.nan, "unreadable"
    if isinstance(cell, (int, float, np.number)):
        return (float(cell), "") if math.isfinite(cell) else (math.nan, "unreadable")
    text = _text(cell)
    if not text:
        return math.nan, ""
    if not marks and _THOUSANDS.match(text):
        return float(text.replace(",", "")), "thousands"
    try:
        value, grouped = read_number(text, marks) if marks else (float(text), False)
    except ValueError:
        return (_SATURATED_VALUE, "saturated") if _SATURATED.match(text) else (math.nan, "unreadable")
    if not math.isfinite(value):  # 'inf', 'nan' written out: no reading
        return math.nan, "unreadable"
    return value, "thousands" if grouped else ""


def _is_number(cell, marks: str) -> bool:
    """Whether ``cell`` holds a reading (with thousands separators or without)."""
    return _value(cell, marks)[1] in ("", "thousands")


def _well_text(text: str) -> str:
    """A well as a reader may write it, without the colon of GloMax's ``A:1``."""
    return _COLON_WELL.sub(r"\1\2", text)


def _is_well(text: str) -> bool:
    text = _well_text(text)
    if not _WELL_NAME.match(text):
        return False
    try:
        normalize_well(text)
    except WellError:
        return False
    return True


def _is_row(letter: str, row: int) -> bool:
    """Whether ``letter`` names plate row ``row`` (0-based): ``AA`` for row 26, or ``a`` as BMG MARS writes it."""
    return letter.upper() == row_label(row) or (row >= 26 and letter == chr(ord("a") + row - 26))


def _where(sheet: str, row: int) -> str:
    return f"sheet '{sheet}' row {row}" if sheet else f"line {row}"


# ------------------------------------------------------------------ plate ids in headers


def _header_plate_id(rows, i: int) -> tuple[str, str] | None:
    """``(field, plate id)`` when row ``i`` is a header line naming the plate, else None.

    A line ``<field> <id>`` or ``<field>: <id>`` in one or two cells (:data:`_ID_FIELD`), or
    EnVision's plate-information table (a ``Plate, Repeat, Barcode, …`` header without a well column,
    the barcode on the line below). The id is ``''`` where the field is left blank: the plates below
    it are named by no header.
    """
    texts = [_text(c) for c in rows[i][2]]
    filled = [t for t in texts if t]
    if not filled or any(WELL_HEADER.match(t) for t in filled):  # a well list's header
        return None
    m = _ID_FIELD.match(filled[0])
    if m and len(filled) <= 2:
        if m["rest"]:
            return (m["key"], m["rest"].strip()) if len(filled) == 1 else None
        return m["key"], filled[1] if len(filled) == 2 else ""
    lower = [t.lower() for t in texts]
    if ("barcode" in lower and "plate" in lower and len(filled) > 2 and i + 1 < len(rows)
            and rows[i + 1][0] == rows[i][0]):
        below = rows[i + 1][2]
        col = lower.index("barcode")
        return texts[col], _text(below[col]) if col < len(below) else ""
    return None


def _name_by_header(reads: list[PlateRead], field_id: tuple[str, str]) -> None:
    """Name the plate of each read the export names none for after the header line ``(field, id)`` in force."""
    field_name, plate_id = field_id
    if not plate_id:
        return
    for read in reads:
        if not read.plate:
            read.plate, read.plate_field = plate_id, field_name


def _one_softmax_section(reads: list[PlateRead]) -> None:
    """Keep a SoftMax Pro section name as the plate name only in a file of one section.

    SoftMax Pro's ``Plate:`` section is a read as much as a plate: a document of several sections
    (one per read of the same plate, as often as one per plate) names no plate by them.
    """
    sections = {r.plate for r in reads if r.plate_field == "Plate:"}
    if len(sections) > 1:
        for read in reads:
            if read.plate_field == "Plate:":
                read.plate, read.plate_field = "", ""


# ------------------------------------------------------------------ shapes


class _Tally:
    """The cells of the reads: what the notes say of them, and the decimal marks their numbers show.

    ``seen`` maps each :func:`~ferroscreen.decimal_marks.notation` the numbers show to the first number showing it.
    """

    def __init__(self, marks: str) -> None:
        self.marks = marks
        self.saturated = 0
        self.unreadable: dict[str, int] = {}
        self.thousands: list[str] = []
        self.seen: dict[str, str] = {}

    def add(self, problem: str, cell) -> None:
        if problem == "saturated":
            self.saturated += 1
        elif problem in ("", "thousands") and isinstance(cell, str):
            text = _text(cell)
            said = notation(text)
            if said:
                self.seen.setdefault(said, text)
            if problem:
                self.thousands.append(text)
        elif problem:
            text = _text(cell)
            self.unreadable[text] = self.unreadable.get(text, 0) + 1

    def notes(self) -> list[str]:
        out = []
        if self.saturated:
            out.append(f"{self.saturated} saturated reading(s) (OVER/overflow) read as missing")
        if self.unreadable:
            shown = ", ".join(f"'{t}'" for t in list(self.unreadable)[:3])
            out.append(f"{sum(self.unreadable.values())} reading(s) that are not numbers ({shown}) read as missing")
        if self.thousands:
            first = self.thousands[0]
            out.append(f"{len(self.thousands)} reading(s) written with thousands separators ('{first}', ...) read as "
                       f"numbers ({_value(first, self.marks)[0]:.15g})")
        return out


def _grid_header(cells: list) -> tuple[int, int, list[int]] | None:
    """``(letter column, number of columns, where each run of 1 … N starts)`` of a grid's header row.

    Several runs of ``1 … N`` in one header are plates side by side (SoftMax Pro writes the
    wavelengths of one read so).
    """
    for j in range(len(cells) - 1):
        if _integer(cells[j + 1]) != 1 or _integer(cells[j]) is not None:
            continue
        n = _run_length(cells, j + 1)
        after = cells[j + 1 + n] if j + 1 + n < len(cells) else ""
        if n >= 3 and n in _ROWS_FOR_COLS and (_integer(after) is None or _integer(after) == 1):
            starts = [j + 1]
            k = j + 1 + n
            while k < len(cells):
                if _integer(cells[k]) == 1 and _run_length(cells, k) == n:
                    starts.append(k)
                    k += n
                else:
                    k += 1
            return j, n, starts
    return None


def _partial_grid_header(cells: list) -> tuple[int, int, int] | None:
    """``(corner column, first plate column (1-based), columns read)`` of a part-of-plate grid's header.

    Tecan i-control writes a read of part of a plate (``Part of Plate B2-G11``) as a grid of the
    columns read, ``<>`` in the corner: ``<> 2 3 … 11``; its rows are the rows read (``B`` … ``G``).
    """
    for j in range(len(cells) - 3):
        if _text(cells[j]) != "<>" or (first := _integer(cells[j + 1])) is None or first < 1:
            continue
        n = 0
        while j + 1 + n < len(cells) and _integer(cells[j + 1 + n]) == first + n:
            n += 1
        if n >= 1 and first + n - 1 <= max(_ROWS_FOR_COLS) and not any(_text(c) for c in cells[j + 1 + n:]):
            return j, first, n
    return None


def _read_partial_grid(path, rows, i: int, j: int, first: int, n: int, marks: str, tally: _Tally
                       ) -> tuple[list[tuple[str, float]], int, int]:
    """``([(well, value)], next row index, plate columns)`` of the part-of-plate grid whose header is row ``i``.

    The plate is the smallest format whose columns hold the last column read; rows follow one
    another from any first row. A grid without a number is no read (empty list).

    Raises:
        AcquisitionError: A plate row with readings just after the grid's end that does not follow
            its last row (a row missing or out of order, a blank line inside), or a row with a number
            beyond the columns read (:func:`_refuse_value_beyond`).
    """
    plate_cols = min(c for c in _ROWS_FOR_COLS if c >= first + n - 1)
    found, row = [], None
    tails: list[tuple[int, str, str]] = []
    k = i + 1
    while k < len(rows) and rows[k][0] == rows[i][0]:
        cells = rows[k][2]
        letter = _text(cells[j]) if j < len(cells) else ""
        nxt = 0 if row is None else row + 1
        candidates = range(_ROWS_FOR_COLS[plate_cols]) if row is None else [nxt]
        match = next((r for r in candidates if r < _ROWS_FOR_COLS[plate_cols] and _is_row(letter, r)), None)
        if not letter or match is None:
            if row is not None:
                _refuse_stray_row(path, rows, k, j, n, row, _ROWS_FOR_COLS[plate_cols])
            break
        row = match
        tails.append((k, letter, _numeric_tail(cells, j + 1 + n, marks)))
        for col in range(n):
            cell = cells[j + 1 + col] if j + 1 + col < len(cells) else ""
            found.append((rowcol_to_well(row, first - 1 + col), *_value(cell, marks), cell))
        k += 1
    if not any(np.isfinite(value) or problem == "saturated" for _, value, problem, _ in found):
        return [], k, plate_cols
    _refuse_value_beyond(path, rows, tails, n)
    for _, _, problem, cell in found:
        tally.add(problem, cell)
    return [(well, value) for well, value, _, _ in found], k, plate_cols


def _refuse_stray_row(path, rows, k: int, j: int, n: int, last: int, n_rows: int) -> None:
    """Refuse a plate row with readings at row ``k`` or just below a blank line there (grid rows ended at ``last``)."""
    look = k
    while (look < len(rows) and look - k < 2 and rows[look][0] == rows[k][0]
           and not any(_text(c) for c in rows[look][2])):
        look += 1
    if look >= len(rows) or rows[look][0] != rows[k][0]:
        return
    cells = rows[look][2]
    letter = _text(cells[j]) if j < len(cells) else ""
    if letter and any(_is_row(letter, r) for r in range(n_rows)) and any(_text(c) for c in cells[j + 1 : j + 1 + n]):
        raise AcquisitionError(f"{path}: {_where(*rows[look][:2])}: row '{letter}' of a part-of-plate grid does not "
                               f"follow its row {row_label(last)} (a row missing or out of order, or a blank line?)")


def _run_length(cells: list, start: int) -> int:
    """The length of the run 1, 2, 3 … that starts at ``start``."""
    n = 0
    while start + n < len(cells) and _integer(cells[start + n]) == n + 1:
        n += 1
    return n


def _run_label(label: str, run: int, runs: int) -> str:
    return f"{label} #{run + 1}" if runs > 1 else label


def _label_above(rows, start: int, floor: int) -> str:
    """The name the lines above row index ``start`` (down to ``floor``) give a read.

    The nearest ``Label`` line (``Label: Lum`` names it ``Lum``) or a ``name:wavelength`` title right
    above (Tecan i-control CSV), else the nearest ``Raw Data``/``Read``/``Measurement``/``Results``/
    ``Wavelength`` line, else ``Mode``, else the nearest line with text.
    """
    best: tuple[int, str] | None = None
    for k in range(start - 1, max(floor, start - 15) - 1, -1):
        texts = [_text(c) for c in rows[k][2] if _text(c)]
        words = [t for t in texts if not _is_number(t, "")]
        if not words:
            continue
        line = " ".join(texts)[:80]
        first = words[0].lower()
        if first == "plate:" and len(texts) > 1:  # SoftMax Pro: 'Plate:<TAB><section name><TAB>1.3<TAB>…'
            line, first = texts[1], "read"
        titled = best is None and len(texts) == 1 and _TITLE.match(texts[0])  # i-control CSV: 'OD600:600' on top
        rank = (0 if first.startswith("label") or titled else 2 if first.startswith("mode")
                else 1 if _LABEL_WORDS.match(first) else 3)
        if best is None or rank < best[0]:
            best = (rank, line)
    if best is None:
        return ""
    return _LABEL_PREFIX.sub("", best[1]) or best[1]  # Tecan's 'Label: Lum' names the read 'Lum'


def _softmax_plate_line(rows, start: int, floor: int, runs: int) -> tuple[str, list[str]]:
    """``(section name, wavelengths)`` of the SoftMax Pro ``Plate:`` line above row index ``start``.

    ``Plate:<TAB>Plate1<TAB>1.3<TAB>PlateFormat<TAB>Endpoint<TAB>Absorbance …<TAB>2<TAB>490 680 …``: the
    wavelengths (nm) are the field of ``runs`` numbers after their count, read only for plates side by
    side (``runs`` > 1; ``[]`` when no such field is found). ``('', [])`` without a ``Plate:`` line.
    """
    for k in range(start - 1, max(floor, start - 15) - 1, -1):
        texts = [_text(c) for c in rows[k][2] if _text(c)]
        if not texts or texts[0].lower() != "plate:":
            continue
        name = texts[1] if len(texts) > 1 else ""
        for count, field_text in zip(texts[2:], texts[3:], strict=False):
            parts = field_text.split()
            if (runs > 1 and count == str(runs) and len(parts) == runs and len(set(parts)) == runs
                    and all(p.isdecimal() and 200 <= int(p) <= 1100 for p in parts)):
                return name, parts
        return name, []
    return "", []


def _numeric_tail(cells: list, end: int, marks: str) -> str:
    """The first text at or after column ``end`` of a grid row when it is a number (else '')."""
    tail = next((_text(c) for c in cells[end:] if _text(c)), "")
    return tail if tail and _is_number(tail, marks) else ""


def _refuse_value_beyond(path, rows, tails: list[tuple[int, str, str]], n: int) -> None:
    """Refuse a grid row with a number beyond the grid's ``n`` columns: a cell added or shifted.

    ``tails`` are ``(row index, row letter, numeric tail or '')`` of every row of the grid. A number
    every row ends with alike is the read's name (Gen5's wavelength, ``570``), not a value.

    Raises:
        AcquisitionError: Naming the file, line and row, when some row's tail is a number the others lack.
    """
    texts = [t for _, _, t in tails]
    common = max(set(texts), key=texts.count) if texts else ""
    odd = next(((k, letter, t) for k, letter, t in tails if t and t != common), None)
    if odd is not None:
        k, letter, tail = odd
        raise AcquisitionError(f"{path}: {_where(*rows[k][:2])}: row '{letter}' has a value beyond the grid's {n} "
                               f"columns ('{tail}'): a cell added or shifted (its values would be read one column "
                               f"off)")


def _read_grid(path, rows, i: int, j: int, n: int, starts: list[int], marks: str, tally: _Tally
               ) -> tuple[dict, int]:
    """``({(label, run): [(well, value)]}, next row index)`` of the grid whose header is row ``i``.

    ``starts`` are the columns where each plate of the header begins (side-by-side runs). A read
    without one number or saturated reading is no read (Gen5's ``Layout`` grid of ``SPL1``/``BLK``
    names, an empty template) and is left out, its text not counted.

    Raises:
        AcquisitionError: A read cut short, or a row with a number beyond the grid's columns (a
            cell added or shifted; :func:`_refuse_value_beyond`).
    """
    cells_of: dict[tuple[str, int], list[tuple[str, float, str, object]]] = {}
    expected, row = 0, -1
    second = rows[i + 2][2] if i + 2 < len(rows) and rows[i + 2][0] == rows[i][0] else []
    # Gen5 writes a plate row's reads on consecutive lines (the letter on the first only); its
    # last cell names the read even when the name is a number (a wavelength, '570')
    multi_read = bool(second) and not (_text(second[j]) if j < len(second) else "") and any(
        _text(c) for s in starts for c in second[s : s + n])
    tails: list[tuple[int, str, str]] = []
    k = i + 1
    while k < len(rows) and rows[k][0] == rows[i][0]:
        cells = rows[k][2]
        letter = _text(cells[j]) if j < len(cells) else ""
        values = [c for s in starts for c in cells[s : s + n]]
        if letter and expected < _ROWS_FOR_COLS[n] and _is_row(letter, expected):
            row, expected = expected, expected + 1
        elif letter or row < 0 or not any(_text(c) for c in values):
            break
        end = starts[-1] + n
        if len(starts) == 1 and not multi_read:
            tails.append((k, letter or row_label(row), _numeric_tail(cells, end, marks)))
        label = _text(cells[end]) if len(starts) == 1 and len(cells) > end else ""
        label = label if label and (multi_read or not _is_number(label, "")) else ""
        for run, start in enumerate(starts):
            for col in range(n):
                cell = cells[start + col] if start + col < len(cells) else ""
                value, problem = _value(cell, marks)
                cells_of.setdefault((label, run), []).append((rowcol_to_well(row, col), value, problem, cell))
        k += 1
    reads: dict[tuple[str, int], list[tuple[str, float]]] = {}
    full = _ROWS_FOR_COLS[n] * n
    numeric = [key for key, found in cells_of.items()
               if any(np.isfinite(value) or problem == "saturated" for _, value, problem, _ in found)]
    if numeric:
        _refuse_value_beyond(path, rows, tails, n)
    short = [key for key in numeric if len(cells_of[key]) != full]
    if short:
        label, _ = short[0]
        rows_read = len(cells_of[short[0]]) // n
        raise AcquisitionError(
            f"{path}: {_where(*rows[i][:2])}: the grid{f' read {label!r}' if label else ''} ends after {rows_read} of "
            f"its {_ROWS_FOR_COLS[n]} rows (cut short, a blank line or a row out of order?)")
    for key, found in cells_of.items():
        if not any(np.isfinite(value) or problem == "saturated" for _, value, problem, _ in found):
            continue
        for _, _, problem, cell in found:
            tally.add(problem, cell)
        reads[key] = [(well, value) for well, value, _, _ in found]
    return reads, k


def _read_softmax_grid(path, rows, i: int, j: int, n: int, starts: list[int], marks: str, tally: _Tally
                       ) -> tuple[list, int]:
    """``([[(well, time_h, value)] per run], next row index)`` of a SoftMax Pro plate-format block.

    Its header is ``[Time,] Temperature(°C), 1 … N`` (repeated per wavelength side by side; SoftMax
    Pro leaves the time column's header blank); the
    plate rows follow without letters, A first, a read time (kinetic) and temperature on the first
    row of each plate, with a blank line between the plates of a kinetic read. Endpoint blocks
    leave the time empty (NaN).
    """
    header = rows[i][2]
    # the column before the temperature holds each plate's read time: headed 'Time', or left blank
    # as SoftMax Pro writes it; a blank header's column holds a time, or nothing (an endpoint block)
    said = j >= 1 and _text(header[j - 1]).lower().startswith("time")
    time_col = j - 1 if said or (j >= 1 and not _text(header[j - 1])) else None
    per_plate = _ROWS_FOR_COLS[n]
    records: list[list[tuple[str, float, float]]] = [[] for _ in starts]
    row, hours = 0, math.nan
    k = i + 1
    while k < len(rows) and rows[k][0] == rows[i][0]:
        cells = rows[k][2]
        values = [c for s in starts for c in cells[s : s + n]]
        if not any(_text(c) for c in values):
            if row % per_plate == 0 and row and k + 1 < len(rows) and any(
                    _text(c) for c in rows[k + 1][2][j + 1 : starts[-1] + n]):
                k += 1  # the blank line between two reads of a kinetic block
                continue
            break
        if row % per_plate == 0 and time_col is not None:
            cell = cells[time_col] if time_col < len(cells) else ""
            try:
                parsed = _time_hours(cell, None, marks) if _text(cell) else None
            except ValueError:  # a number without a unit: not a time
                parsed = None
            if _text(cell) and parsed is None:
                raise AcquisitionError(f"{path}: {_where(rows[k][0], rows[k][1])}: time '{_text(cell)}' is not "
                                       f"a time (h:mm:ss)")
            hours = math.nan if parsed is None else parsed
        for run, start in enumerate(starts):
            for col in range(n):
                cell = cells[start + col] if start + col < len(cells) else ""
                value, problem = _value(cell, marks)
                tally.add(problem, cell)
                records[run].append((rowcol_to_well(row % per_plate, col), hours, value))
        row += 1
        k += 1
    if row % per_plate:
        raise AcquisitionError(f"{path}: {_where(*rows[i][:2])}: a plate block ends after {row % per_plate} of "
                               f"its {per_plate} rows (cut short?)")
    return records, k


def _time_hours(cell, unit_hours: float | None, marks: str) -> float | None:
    if isinstance(cell, timedelta):
        return cell.total_seconds() / 3600
    if isinstance(cell, time):
        return cell.hour + cell.minute / 60 + (cell.second + cell.microsecond / 1e6) / 3600
    if isinstance(cell, datetime):  # an Excel duration past 24 h, shown as [h]:mm:ss
        return (cell - _EXCEL_EPOCH).total_seconds() / 3600
    text = _text(cell)
    m = _CLOCK.match(text)
    if m:
        minutes, seconds = int(m["m"]), float(m["s"].replace(",", "."))
        if seconds >= 60 or (m["h"] is not None and minutes >= 60):
            return None
        return int(m["h"] or 0) + minutes / 60 + seconds / 3600
    value, problem = _value(cell, marks)
    if problem not in ("", "thousands") or not math.isfinite(value):
        return None
    if unit_hours is None:
        raise ValueError("no unit")
    return value * unit_hours


def _kinetic_header(cells: list) -> tuple[int, list[tuple[int, str]]] | None:
    texts = [_text(c) for c in cells]
    time_col = next((k for k, t in enumerate(texts) if t.lower().startswith("time")), None)
    wells = [(k, normalize_well(_well_text(t))) for k, t in enumerate(texts) if _is_well(t)]
    if time_col is None or len(wells) < 2:
        return None
    return time_col, wells


def _read_kinetic(path, rows, i, time_col, wells, marks, tally) -> tuple[list, int]:
    unit_hours = _unit_hours(_text(rows[i][2][time_col]))
    records = []
    k = i + 1
    while k < len(rows) and rows[k][0] == rows[i][0]:
        cells = rows[k][2]
        cell = cells[time_col] if time_col < len(cells) else ""
        try:
            hours = _time_hours(cell, unit_hours, marks)
        except ValueError:
            raise AcquisitionError(
                f"{path}: {_where(rows[k][0], rows[k][1])}: time '{_text(cell)}' has no unit; name it in the "
                f"header ('Time [s]', 'Time (min)', 'Time [h]') or write h:mm:ss") from None
        if hours is None:
            if any(_text(cells[col]) for col, _ in wells if col < len(cells)):
                raise AcquisitionError(f"{path}: {_where(rows[k][0], rows[k][1])}: time '{_text(cell)}' is not a "
                                       f"time (h:mm:ss, or a number in the header's unit)")
            break
        if not any(_text(cells[col]) for col, _ in wells if col < len(cells)):
            # a row of a time alone: Gen5 pads a run stopped early with '0:00:00' rows for its unread cycles;
            # readings below it (before a blank line) would be cut off
            m = k + 1
            while m < len(rows) and rows[m][0] == rows[i][0] and any(_text(c) for c in rows[m][2]):
                if any(_text(rows[m][2][col]) for col, _ in wells if col < len(rows[m][2])):
                    raise AcquisitionError(f"{path}: {_where(rows[k][0], rows[k][1])}: a read time without readings "
                                           f"inside the kinetic table (readings follow on {_where(*rows[m][:2])})")
                m += 1
            break
        for col, well in wells:
            value, problem = _value(cells[col] if col < len(cells) else "", marks)
            tally.add(problem, cells[col] if col < len(cells) else "")
            records.append((well, hours, value))
        k += 1
    return records, k


def _table_goes_on(rows, k: int, col: int) -> int | None:
    """Index of a row with a well name in column ``col`` among the next three non-empty rows after ``k``.

    A well list or wells-down table that stops at row ``k`` yet has wells again just below was not
    at its end: the row in between is an odd one (a bad well name, a blank line) to be said.
    """
    seen = 0
    for m in range(k + 1, len(rows)):
        if rows[m][0] != rows[k][0] or seen == 3:
            return None
        cells = rows[m][2]
        if not any(_text(c) for c in cells):
            continue
        seen += 1
        if col < len(cells) and _is_well(_text(cells[col])):
            return m
    return None


def _odd_row(path, rows, k: int, col: int, what: str) -> AcquisitionError:
    cells = rows[k][2]
    text = _text(cells[col]) if col < len(cells) else ""
    found = f"'{text}' is not a well" if text else "a row without a well"
    return AcquisitionError(f"{path}: {_where(*rows[k][:2])}: {found}, inside a {what} (rows with wells follow)")


def _unit_hours(header: str) -> float | None:
    """Hours per unit of a time header (``Time [s]`` -> 1/3600), None when it names no unit."""
    unit = _TIME_UNIT.search(header[4:])
    return _UNIT_HOURS[unit["unit"].lower()] if unit else None


def _time_row(path, rows, i: int, marks: str) -> tuple[int, list[tuple[int, float]]] | None:
    """``(label column, [(column, hours)])`` when row ``i`` is a time row of a wells-down kinetic table.

    Tecan i-control writes kinetic reads with one column per cycle: rows ``Cycle Nr.``, ``Time [s]``,
    ``Temp. [°C]``, then one row per well (``A1 …``).
    """
    cells = rows[i][2]
    first = next((k for k, c in enumerate(cells) if _text(c)), None)
    if first is None or not _text(cells[first]).lower().startswith("time"):
        return None
    unit_hours = _unit_hours(_text(cells[first]))
    times = []
    for k in range(first + 1, len(cells)):
        if not _text(cells[k]):
            continue
        try:
            hours = _time_hours(cells[k], unit_hours, marks)
        except ValueError:
            raise AcquisitionError(f"{path}: {_where(*rows[i][:2])}: time '{_text(cells[k])}' has no unit; name it "
                                   f"in the row's label ('Time [s]') or write h:mm:ss") from None
        if hours is None:
            return None
        times.append((k, hours))
    if len(times) < 2:
        return None
    if sorted(t for _, t in times) != [t for _, t in times]:
        raise AcquisitionError(f"{path}: {_where(*rows[i][:2])}: kinetic times go backwards")
    return first, times


def _read_time_columns(path, rows, i: int, first: int, times, marks: str, tally: _Tally
                       ) -> tuple[list, int]:
    """``([(well, time_h, value)], next row index)`` of the well rows below time row ``i``."""
    records = []
    k, started = i + 1, False
    while k < len(rows) and rows[k][0] == rows[i][0]:
        cells = rows[k][2]
        name = _text(cells[first]) if first < len(cells) else ""
        if not _is_well(name):
            if started and _table_goes_on(rows, k, first) is not None:
                raise _odd_row(path, rows, k, first, "kinetic table")
            if started or not name:  # bookkeeping rows (temperature) come before the wells
                break
            k += 1
            continue
        started = True
        for col, hours in times:
            cell = cells[col] if col < len(cells) else ""
            value, problem = _value(cell, marks)
            tally.add(problem, cell)
            records.append((normalize_well(_well_text(name)), hours, value))
        k += 1
    records.sort(key=lambda r: r[1])  # time-major, as the other kinetic shapes
    return records, k


def _list_header(cells: list) -> tuple[int, int | None, list[tuple[int, str]]] | None:
    """``(well column, plate column, reads)`` of a well list's header.

    The well column is headed ``Well`` (``Well Position``…), or by the ``<>`` corner SparkControl
    writes over its wells (``<>, Value, Time [ms]``).
    """
    texts = [_text(c) for c in cells]
    well_col = next((k for k, t in enumerate(texts) if WELL_HEADER.match(t) or t == "<>"), None)
    if well_col is None:
        return None
    plate_cols = [k for k, t in enumerate(texts) if _PLATE_HEADER.match(t)]
    # EnVision writes the run's plate number and the barcode: the barcode names the plate
    plate_col = next((k for k in plate_cols if "barcode" in texts[k].lower()), plate_cols[0] if plate_cols else None)
    reads = [(k, t) for k, t in enumerate(texts)
             if t and k != well_col and k not in plate_cols and not _NOT_A_READ.match(t)]
    return (well_col, plate_col, reads) if reads else None


def _read_list(path, rows, i, well_col, plate_col, columns, marks, tally) -> tuple[dict, int]:
    """``({(plate, label): [(well, value)]}, next row index)``; columns without a number are not reads."""
    reads: dict[tuple[str, str], list[tuple[str, float]]] = {}
    numeric = {k: 0 for k, _ in columns}
    k = i + 1
    body = []
    while k < len(rows) and rows[k][0] == rows[i][0]:
        cells = rows[k][2]
        well = _text(cells[well_col]) if well_col < len(cells) else ""
        if not _is_well(well):
            if body and _table_goes_on(rows, k, well_col) is not None:
                raise _odd_row(path, rows, k, well_col, "well list")
            if body and _LIKE_A_WELL.match(well):
                raise AcquisitionError(f"{path}: {_where(*rows[k][:2])}: '{well}' is not a well of a plate of up to "
                                       f"1536 wells, in a well list")
            break
        body.append(cells)
        for col, _ in columns:
            if col < len(cells) and _is_number(cells[col], marks) and _text(cells[col]):
                numeric[col] += 1
        k += 1
    kept = [(col, name) for col, name in columns if numeric[col]]
    for cells in body:
        plate = _text(cells[plate_col]) if plate_col is not None and plate_col < len(cells) else ""
        well = normalize_well(_well_text(_text(cells[well_col])))
        for col, name in kept:
            cell = cells[col] if col < len(cells) else ""
            value, problem = _value(cell, marks)
            tally.add(problem, cell)
            reads.setdefault((plate, name), []).append((well, value))
    return reads, k


_BMG_TIME = re.compile(r"^(?:(?P<h>\d+(?:[.,]\d+)?)\s*h)?\s*(?:(?P<m>\d+(?:[.,]\d+)?)\s*min)?\s*"
                       r"(?:(?P<s>\d+(?:[.,]\d+)?)\s*s)?$")


def _bmg_hours(text: str) -> float | None:
    """``0 h 15 min``, ``1 h 60 min``, ``27 h``, ``30 s`` (BMG MARS cycle times) in hours; None if no such time."""
    m = _BMG_TIME.match(text.strip())
    if not text.strip() or not m or not any(m.groupdict().values()):
        return None
    part = {k: float(v.replace(",", ".")) if v else 0.0 for k, v in m.groupdict().items()}
    return part["h"] + part["m"] / 60 + part["s"] / 3600


def _bmg_table_header(cells: list) -> int | None:
    """The ``Well Row`` column of a BMG MARS table-view header (``Well Row, Well Col, Content, <reads>``)."""
    texts = [_text(c).lower() for c in cells]
    return next((k for k in range(len(texts) - 2) if texts[k] == "well row" and texts[k + 1] == "well col"), None)


def _read_bmg_table(path, rows, i: int, k: int, marks: str, tally: _Tally) -> tuple[list[PlateRead], int]:
    """The reads of the BMG MARS table view whose header is row ``i``, and the next row index.

    One row per well (row letter, column number, content, readings). A ``Time`` row under the
    header gives each reading column its cycle time (a kinetic read: the columns of one name);
    without it, each reading column is an endpoint read. MARS may leave a blank line after each line.
    """
    header = rows[i][2]
    columns = [(c, _text(header[c])) for c in range(k + 2, len(header))
               if _text(header[c]) and not _NOT_A_READ.match(_text(header[c]))]
    m = i + 1
    while m < len(rows) and rows[m][0] == rows[i][0] and not any(_text(c) for c in rows[m][2]):
        m += 1
    times: dict[int, float] = {}
    if m < len(rows) and any(_text(c).lower() == "time" for c in rows[m][2][: k + 3]):
        cells = rows[m][2]
        times = {c: h for c, _ in columns if c < len(cells) and (h := _bmg_hours(_text(cells[c]))) is not None}
        bad = next((_text(cells[c]) for c, _ in columns if c < len(cells) and c not in times and _text(cells[c])), None)
        if bad is not None:
            raise AcquisitionError(f"{path}: {_where(*rows[m][:2])}: cycle time '{bad}' is not a time "
                                   f"(such as '1 h 30 min')")
        m += 1
    records: dict[str, list] = {}
    where = _where(*rows[i][:2])
    while m < len(rows) and rows[m][0] == rows[i][0]:
        cells = rows[m][2]
        if not any(_text(c) for c in cells):
            m += 1
            continue
        letter, number = (_text(cells[c]) if c < len(cells) else "" for c in (k, k + 1))
        if not (letter.isalpha() and number.isdecimal() and _is_well(f"{letter}{number}")):
            break
        well = normalize_well(f"{letter}{number}")
        for c, name in columns:
            cell = cells[c] if c < len(cells) else ""
            value, problem = _value(cell, marks)
            tally.add(problem, cell)
            records.setdefault(name, []).append((well, times.get(c, math.nan), value))
        m += 1
    reads = []
    for name, found in records.items():
        table = pd.DataFrame(found, columns=["well", "time_h", "value"])
        if table["value"].notna().any():
            kind = "kinetic" if table["time_h"].notna().all() and table["time_h"].nunique() > 1 else "endpoint"
            if kind == "endpoint":
                table["time_h"] = math.nan
            else:  # time-major, as the other kinetic shapes
                table = table.sort_values("time_h", kind="stable").reset_index(drop=True)
            reads.append(PlateRead(name, kind, table, where, shape="list" if kind == "endpoint" else "kinetic"))
    return reads, m


_MAGELLAN_LINE = re.compile(r"^(?:date of measurement|meas\. temperature|time of measurement)", re.I)


def _magellan(path: Path, rows) -> bool:
    """Whether a file may be a Magellan list without a header: an ``.asc`` file, or a line of Magellan's footer."""
    return path.suffix.lower() == ".asc" or any(
        cells and _MAGELLAN_LINE.match(_text(cells[0])) for _, _, cells in rows[-40:])


def _headerless_list(rows, i: int, marks: str, tally: _Tally) -> tuple[dict, int] | None:
    """``({column: [(well, value)]}, next row index)`` of a well list without a header from row ``i``.

    None when row ``i`` holds no well; ``({}, next row index)`` for lines of wells that are no list
    (passed over whole).

    Tecan Magellan's ``.asc`` export writes one line per well, ``<sample>  <well>  <value>``
    (or the well first), and no header; only Magellan files are read so (:func:`_magellan`). It
    counts from eight such lines on, in one column of wells, each with a number after its well;
    columns of numbers on every line are reads.
    """
    cells = rows[i][2]
    well_col = next((k for k, c in enumerate(cells) if _is_well(_text(c))), None)
    if well_col is None:
        return None
    body, k = [], i
    while k < len(rows) and rows[k][0] == rows[i][0]:
        cells = rows[k][2]
        if well_col >= len(cells) or not _is_well(_text(cells[well_col])):
            break
        body.append(cells)
        k += 1
    width = min(len(c) for c in body)
    columns = [c for c in range(well_col + 1, width)
               if all(_is_number(cells[c], marks) or _SATURATED.match(_text(cells[c])) for cells in body)]
    if len(body) < 8 or not columns:
        return {}, k
    found: dict[int, list[tuple[str, float]]] = {}
    for cells in body:
        well = normalize_well(_well_text(_text(cells[well_col])))
        for c in columns:
            value, problem = _value(cells[c], marks)
            tally.add(problem, cells[c])
            found.setdefault(c, []).append((well, value))
    return found, k


def _endpoint(label: str, pairs: list[tuple[str, float]], where: str, plate: str = "", n_cols: int = 0,
              shape: str = "grid") -> PlateRead:
    table = pd.DataFrame(pairs, columns=["well", "value"])
    table.insert(1, "time_h", math.nan)
    return PlateRead(label, "endpoint", table, where, plate, n_cols, shape)


def read_plate_reader(path: str | Path) -> PlateReaderExport:
    """Every grid, SoftMax Pro block, kinetic table and well list in a plate-reader export, in file order.

    A text file is read with the first delimiter (of tab, ``;`` and ``,``, the most used first)
    under which it holds a read; one separated by ``;`` or tabs with the decimal mark its reads'
    numbers show (see the module's docstring).

    Raises:
        NoPlateRead: The file holds none of the four shapes.
        AcquisitionError: One line naming the file when it cannot be read, repeats a well within
            one read, has a kinetic time without a unit or going backwards, or a plate block cut short;
            naming the cell, for a number that could be a thousand or a one (``10.300`` in a ``;`` file
            no other number of which says which).
    """
    path = Path(path)
    for rows, sep in _rows(path):
        marks = {";": ",", "\t": "."}.get(sep, "")  # where no number says otherwise
        tally = _Tally(marks)
        reads = _parse(path, rows, marks, tally)
        if reads:
            break
    else:
        raise NoPlateRead(f"{path}: no plate read found ({PLATE_READ_SHAPES})")
    if marks:
        mark, unknown = decimal_mark(tally.seen, sep)
        if unknown:
            at = next(((sheet, number) for sheet, number, cells in rows if any(_text(c) == unknown for c in cells)),
                      None)
            raise AcquisitionError(f"{path}: {_where(*at) + ': ' if at else ''}{either_way(unknown, tally.seen)} "
                                   f"(export the readings without thousands separators)")
        if mark != marks and tally.seen.keys() & set(EITHER_WAY):  # read again: its 1.000 or 1,000 the other way
            tally = _Tally(mark)
            reads = _parse(path, rows, mark, tally)
    for read in reads:
        keys = ["well", "time_h"] if read.kind == "kinetic" else ["well"]
        dup = read.table.duplicated(keys)
        if dup.any():
            first = read.table.loc[dup].iloc[0]
            hint = (f" at {first['time_h']:g} h (a read time written twice?)" if read.kind == "kinetic" else
                    " (reads of one name side by side, or a kinetic read whose times were not found?)")
            raise AcquisitionError(f"{path}: read {read.describe()} lists well {first['well']} twice{hint}")
        if read.kind == "kinetic" and not read.table["time_h"].is_monotonic_increasing:
            raise AcquisitionError(f"{path}: kinetic read {read.describe()}: times go backwards")
    return PlateReaderExport(path, reads, tally.notes())


def _parse(path: Path, rows: list, marks: str, tally: _Tally) -> list[PlateRead]:
    """The reads in ``rows`` (see :func:`read_plate_reader`), in order."""
    reads: list[PlateRead] = []
    magellan = _magellan(path, rows)
    i = floor = named = 0
    header = ("", "")  # the header line naming the plate that is in force: (field, plate id)
    while i < len(rows):
        _name_by_header(reads[named:], header)  # the reads found since: taken under that header
        named = len(reads)
        sheet, number, cells = rows[i]
        if i > 0 and sheet != rows[i - 1][0]:
            floor, header = i, ("", "")
        header = _header_plate_id(rows, i) or header
        where = _where(sheet, number)
        grid = _grid_header(cells)
        if grid is not None and _text(cells[grid[0]]).lower().startswith("temperature"):
            runs, nxt = _read_softmax_grid(path, rows, i, *grid, marks, tally)
            if runs[0]:
                above = _label_above(rows, i, floor)
                section, wavelengths = _softmax_plate_line(rows, i, floor, len(runs))
                for run, records in enumerate(runs):
                    table = pd.DataFrame(records, columns=["well", "time_h", "value"])
                    kind = "endpoint" if table["time_h"].isna().all() else "kinetic"
                    if kind == "kinetic" and table["time_h"].isna().any():
                        raise AcquisitionError(f"{path}: {where}: a kinetic plate block with a read without its time")
                    label = f"{above} {wavelengths[run]} nm" if wavelengths else _run_label(above, run, len(runs))
                    reads.append(PlateRead(label, kind, table, where, section, grid[1], "softmax",
                                           "Plate:" if section else "", wavelengths[run] if wavelengths else ""))
                i = floor = nxt
                continue
        if grid is not None:
            j, n, starts = grid
            found, nxt = _read_grid(path, rows, i, j, n, starts, marks, tally)
            if found:
                above = _label_above(rows, i, floor)
                for (label, run), pairs in found.items():
                    reads.append(_endpoint(_run_label(label or above, run, len(starts)), pairs, where, n_cols=n))
            if found or nxt > i + 1:  # a grid of names (a layout) is passed over whole
                i = floor = nxt
                continue
        partial = _partial_grid_header(cells) if grid is None else None
        if partial is not None:
            pairs, nxt, _ = _read_partial_grid(path, rows, i, *partial, marks, tally)
            if pairs:
                reads.append(_endpoint(_label_above(rows, i, floor), pairs, where))
                i = floor = nxt
                continue
        records = nxt = None
        kinetic = _kinetic_header(cells)
        if kinetic is not None:  # wells across: Gen5, SoftMax Pro time format
            records, nxt = _read_kinetic(path, rows, i, *kinetic, marks, tally)
        elif (by_column := _time_row(path, rows, i, marks)) is not None:  # wells down: Tecan
            records, nxt = _read_time_columns(path, rows, i, *by_column, marks, tally)
        if records:
            table = pd.DataFrame(records, columns=["well", "time_h", "value"])
            reads.append(PlateRead(_label_above(rows, i, floor), "kinetic", table, where, shape="kinetic"))
            i = floor = nxt
            continue
        bmg = _bmg_table_header(cells)
        if bmg is not None:
            found_reads, nxt = _read_bmg_table(path, rows, i, bmg, marks, tally)
            if found_reads:
                reads.extend(found_reads)
                i = floor = nxt
                continue
        listed = _list_header(cells)
        if listed is not None:
            found, nxt = _read_list(path, rows, i, *listed, marks, tally)
            if found:
                for (plate, label), pairs in found.items():
                    reads.append(_endpoint(label, pairs, where, plate, shape="list"))
                i = floor = nxt
                continue
        bare = _headerless_list(rows, i, marks, tally) if not reads and magellan else None
        if bare is not None:
            found, nxt = bare
            above = _label_above(rows, i, floor) or "value"
            for run, pairs in enumerate(found.values()):
                reads.append(_endpoint(_run_label(above, run, len(found)), pairs, where, shape="list"))
            i, floor = nxt, nxt if found else floor
            continue
        i += 1
    _name_by_header(reads[named:], header)
    _one_softmax_section(reads)
    return reads


def _pick(export: PlateReaderExport, read: str, option: str = "--read") -> tuple[list[PlateRead], str]:
    """The reads ``read`` (the value of ``option``) names, and a note ('' when none is due).

    A number is the read so named (a Gen5 read named ``570``) or of that wavelength (SoftMax Pro's
    ``490``, read ``Plate1 490 nm``) where there is one, else the read of that number (from 1). A
    number that is both (read 2 and another read's wavelength or name) takes the read it names, and
    the note says so. Other text is a read's label, whole (letter case aside) else in part.

    Raises:
        AcquisitionError: ``read`` empty, naming no read or reads of several labels, or a number past the reads.
    """
    text = read.strip()
    if not text:
        raise AcquisitionError(f"{export.path}: {option} is empty; " + _listing(export))
    note = ""
    if text.isdecimal():
        chosen = [r for r in export.reads if r.label.strip() == text or r.wavelength == text]
        if not chosen:
            n = len(export.reads)
            if 1 <= int(text) <= n:
                return [export.reads[int(text) - 1]], ""
            there = "there is 1 read" if n == 1 else f"there are {n} reads"
            raise AcquisitionError(f"{export.path}: {option} {read}: {there}; " + _listing(export))
        numbered = export.reads[int(text) - 1] if 1 <= int(text) <= len(export.reads) else None
        if numbered is not None and all(r is not numbered for r in chosen):
            what = "wavelength" if chosen[0].wavelength == text else "name"
            note = (f"{option} {text} taken as the read of that {what}, '{chosen[0].label}', not read number {text} "
                    f"('{numbered.label}')")
    else:
        exact = [r for r in export.reads if r.label.lower() == text.lower()]
        chosen = exact or [r for r in export.reads if text.lower() in r.label.lower()]
    if not chosen or len({r.label for r in chosen}) > 1:
        raise AcquisitionError(f"{export.path}: {option} {read} names {'no' if not chosen else 'more than one'} read; "
                               + _listing(export))
    return chosen, note


def _plate_names(export: PlateReaderExport, chosen: list[PlateRead], plate_ids: list[str], notes: list[str]
                 ) -> list[tuple[str, str]]:
    """``(plate name, how it was named)`` for each of the ``chosen`` reads, plates of one assay.

    The export's plate names where it names every read's (``how``: ``export`` for a list's plate
    column, else the header field: ``ID1``, ``Plate-ID (Stacker)``, ``Plate Number``, ``Barcode``,
    ``Plate:``), unless one header names several reads alike. Else one read is the layout's one
    plate (``layout``) or named after the file (``file name``); several are the layout's plates in
    order when it lists as many (``layout order``, said in ``notes``), else ``<file stem>_<n>``
    (``file name``; a one-plate layout then applies to each).

    Raises:
        AcquisitionError: Several unnamed reads and a layout of another number of plates.
    """
    stem = export.path.stem
    plates = [r.plate for r in chosen]
    if all(plates) and (len(chosen) == 1 or len(set(plates)) == len(plates) or not any(r.plate_field for r in chosen)):
        return [(r.plate, r.plate_field or "export") for r in chosen]  # a plate column's repeats: refused later
    if len(chosen) == 1:
        return [(plate_ids[0], "layout")] if len(plate_ids) == 1 else [(stem, "file name")]
    alike = f" (its header names each plate {plates[0]})" if all(plates) else ""
    if len(plate_ids) == len(chosen):
        notes.append(f"{len(chosen)} reads taken as the layout's plates in order{alike}: "
                     + ", ".join(f"{r.where} -> {p}" for r, p in zip(chosen, plate_ids, strict=True)))
        return [(str(p), "layout order") for p in plate_ids]
    if len(plate_ids) <= 1:
        names = [f"{stem}_{k}" for k in range(1, len(chosen) + 1)]
        notes.append(f"{len(chosen)} reads taken as plates {names[0]} ... {names[-1]}{alike}"
                     + (", each with the layout's one plate map" if plate_ids else ""))
        return [(name, "file name") for name in names]
    raise AcquisitionError(f"{export.path}: {len(chosen)} plate reads but the layout lists {len(plate_ids)} "
                           f"plates ({', '.join(plate_ids)}); " + _listing(export))


def _saturated_rows(read: PlateRead) -> np.ndarray:
    """Mask of ``read``'s table rows that :attr:`PlateRead.saturated` lists."""
    def key(well, time_h) -> tuple[str, float]:
        return str(well), -1.0 if pd.isna(time_h) else float(time_h)  # an endpoint read's time is NaN

    over = {key(w, t) for w, t in read.saturated}
    return np.array([key(w, t) in over for w, t in zip(read.table["well"], read.table["time_h"], strict=True)],
                    dtype=bool)


def _listing(export: PlateReaderExport) -> str:
    return "its reads: " + "; ".join(f"{k}: {r.describe()}" for k, r in enumerate(export.reads, start=1))


def plate_reads_table(
    export: PlateReaderExport,
    read: str | None = None,
    plate_ids: list[str] | None = None,
    endpoint_h: float | None = None,
    signal: str = "viability",
    option: str = "--read",
) -> tuple[pd.DataFrame, list[str]]:
    """The reads to analyse as a metric table ``plate, well, time_h, value, saturated``, and notes.

    ``saturated`` is True where the export wrote the reading saturated (``OVER``; its value NaN), so that
    what is normalised to control wells can say how many of them it lost
    (:func:`~ferroscreen.analysis.reader_signal.subtract_blank`).

    ``signal`` (``viability`` or ``dead``) is what the first note says the read is taken as;
    ``option`` the command's option that gave ``read`` (``--read``, ``--dead-read``), as errors name it.

    One read is taken as it is. Reads that share a label (several grids of one assay, one per
    plate) are plates, named as :func:`_plate_names` says. Reads with different labels need
    ``read`` (its number from 1, its label, or its wavelength: :func:`_pick`). An endpoint read is
    placed at ``endpoint_h`` (0 h without it). The table's ``attrs["plate_names"]`` says how each
    plate got its name (``{plate: how}``, ``how`` as :func:`_plate_names` gives it).

    Raises:
        AcquisitionError: Several reads and no choice, a choice that names none, or plates
            that cannot be matched with the layout's.
    """
    chosen, picked = _pick(export, read, option) if read is not None else (export.reads, "")
    labels = {r.label for r in chosen}
    kinds = {r.kind for r in chosen}
    if len(labels) > 1 or len(kinds) > 1:
        raise AcquisitionError(f"{export.path}: holds {len(export.reads)} reads; pick one with {option} N or "
                               f"{option} LABEL; " + _listing(export))
    notes = list(export.notes) + ([picked] if picked else [])
    named = _plate_names(export, chosen, plate_ids or [], notes)
    names = [name for name, _ in named]
    if len(set(names)) < len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise AcquisitionError(f"{export.path}: two reads of plate '{twice}'; " + _listing(export))
    parts = []
    for r, name in zip(chosen, names, strict=True):
        part = r.table.copy()
        part["saturated"] = _saturated_rows(r)
        if r.kind == "endpoint":
            part["time_h"] = float(endpoint_h or 0.0)
        part.insert(0, "plate", name)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    table.attrs["plate_names"] = dict(named)
    if not np.isfinite(table["value"].to_numpy(float)).any():
        raise AcquisitionError(f"{export.path}: every reading of '{chosen[0].label or 'the read'}' is missing "
                               f"({'; '.join(export.notes) or 'no numbers'})")
    table.attrs["read_label"] = chosen[0].label
    label = chosen[0].label or "unlabelled read"
    what = "kinetic" if "kinetic" in kinds else f"endpoint read, placed at {float(endpoint_h or 0):g} h"
    taken = "a dead-cell signal" if signal == "dead" else "taken as the measure of viable cells"
    notes.insert(0, f"plate-reader export: '{label}' ({what}), {taken}")
    return table, notes
