"""Validation and recognition of the tables the analysis layer accepts.

Two table kinds enter the analysis:

* a **tidy dose-response table**: ``curve, dose, response`` and optionally
  ``n`` (binomial totals) and ``readout``; doses in molar (or any unit, as
  long as one curve uses one unit), zero for controls;
* a **wells table** (the ``wells.csv`` contract): ``plate, well, time_h,
  n_cells`` and ``frac_<class>`` columns, one row per well and time point.

Loading files from instruments (IncuCyte metric exports, score stores) is the
job of ``ferroscreen.io`` / ``ferroscreen.score``; this module only receives
tables. Every problem raises :class:`AnalysisInputError` whose message names
the source and the problem; values left out or taken with a doubt are said by an
:class:`AnalysisInputWarning`. A row is named as a file's row (``row N``, the header
being row 1) when ``source`` names the file the table was read from, else by its
index label (``index 5``), as a table built in Python knows its rows.
"""

from __future__ import annotations

import math
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import FerroscreenError
from ferroscreen.plate.units import decimal_point, molar_unit

TIDY_COLUMNS = ("curve", "dose", "response")
WELLS_COLUMNS = ("plate", "well", "time_h")


class AnalysisInputError(FerroscreenError, ValueError):
    """A table given to the analysis layer that is missing columns or holds bad values."""


class NothingToFitError(AnalysisInputError):
    """The data leave no readout or no dose-response curve to fit (a layout's undosed compounds may be why)."""


class AnalysisInputWarning(UserWarning):
    """Values of a table given to the analysis layer that are left out or read with a doubt."""


#: The largest dose of a tidy table taken as molar without a word; above it the doses are likely in µM or nM.
MOST_PLAUSIBLE_MOLAR = 0.1


def _where(source) -> str:
    return str(source) if source is not None else "table"


def _row_namer(index: pd.Index, source) -> Callable[[int], str] | None:
    """How errors name row ``i`` of a table: None (``row i + 2`` of the file ``source``) or by ``index``'s label."""
    if source is not None:
        return None

    def name(i: int) -> str:
        label = index[i]
        return f"index '{label}'" if isinstance(label, str) else f"index {label}"

    return name


def _plain(value):
    """A cell as Python writes it (a NumPy scalar as its Python value: ``nan``, not ``np.float64(nan)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _row(i: int, line: Callable[[int], str] | None) -> str:
    return line(i) if line is not None else f"row {i + 2}"


def _outside_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by the caller point at the first frame outside ferroscreen."""
    package = str(Path(__file__).resolve().parents[1])
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def require_dataframe(table, what: str, source=None) -> None:
    """Refuse a ``table`` that is not a :class:`pandas.DataFrame` (a Series or an array), saying ``what`` it holds.

    Raises:
        AnalysisInputError: Naming ``source`` and the type given.
    """
    if not isinstance(table, pd.DataFrame):
        raise AnalysisInputError(f"{_where(source)}: expected a pandas DataFrame ({what}), got "
                                 f"{type(table).__module__.split('.')[0]}.{type(table).__name__}")


def implausible_molar_dose(dose) -> str | None:
    """The note for doses read as molar whose largest lies above :data:`MOST_PLAUSIBLE_MOLAR` (0.1 M), else None.

    No drug screen doses at 0.1 M and above: such doses are likely µM or nM values.
    """
    values = pd.to_numeric(pd.Series(np.asarray(dose).ravel()), errors="coerce")
    values = values[np.isfinite(values.to_numpy(float))]
    top = float(values.max()) if len(values) else 0.0
    if top <= MOST_PLAUSIBLE_MOLAR:
        return None
    return (f"doses are read as molar and the largest is {top:.4g} M, far above any drug screen's doses; if they "
            f"are in µM (or nM), multiply them by 1e-6 (1e-9) or name the column dose_uM (dose_nM) in a file")


def table_kind(table: pd.DataFrame) -> str:
    """``"tidy"``, ``"wells"`` or ``"unknown"`` from the column names.

    A table with a ``curve`` column counts as tidy and one with ``well`` and
    ``time_h`` as wells even when other columns are missing, so that the
    validation can say which.
    """
    cols = set(table.columns)
    if "curve" in cols:
        return "tidy"
    if {"well", "time_h"} <= cols:
        return "wells"
    return "unknown"


#: Names a tidy table's columns go by in users' files (lower-case), by canonical column; a unit in
#: parentheses or brackets and a ``%`` may go with them (``Viability (%)``, ``Signal [RLU]``, ``% viability``).
TIDY_ALIASES = {
    "curve": ("curve", "compound", "drug", "treatment", "sample", "curve_id"),
    "response": ("response", "viability", "value", "signal", "effect"),
}
_DOSE_NAME = re.compile(
    r"^(?P<stem>dose|conc|concentration)\s*(?:[_ ]\s*(?P<u1>[munpµμ]?M)|[(\[]\s*(?P<u2>[munpµμ]?M)\s*[)\]])?$",
    re.IGNORECASE,
)
#: A unit or note in parentheses or brackets, and percent signs: what :func:`_alias_key` drops from a name.
_NAME_UNIT = re.compile(r"[(\[][^)\]]*[)\]]|%")
#: Names (lower-case, letters and digits only) of columns that number or place rows: never a table's response.
_INDEX_NAME = re.compile(r"^(?:(?:replicate|rep|well|row|col|column|index|idx|plate)(?:id|no|nr|num|number)?"
                         r"|unnamed\d*)$")


def _alias_key(name: str) -> str:
    """A column name as :data:`TIDY_ALIASES` spells it: ``Viability (%)``, ``% viability`` -> ``viability``."""
    return _NAME_UNIT.sub(" ", str(name).lower()).strip(" _-")


def _is_index_name(name: str) -> bool:
    """Whether ``name`` names a replicate, well, row, column, index or plate number (``Replicate``, ``Rep #``)."""
    return bool(_INDEX_NAME.match(re.sub(r"[^a-z0-9]", "", str(name).lower())))


def _dose_in_molar(table: pd.DataFrame, col: str, unit: str) -> tuple[pd.DataFrame, str]:
    """``table`` with column ``col`` converted from molar ``unit`` to molar, and the note's detail.

    Left as it is (empty detail) when ``unit`` is molar already, not a molar unit, or the
    column holds a non-number (validation then names the bad cell).
    """
    from ferroscreen.plate.units import MOLAR_DIVISORS, to_molar

    values = pd.to_numeric(table[col], errors="coerce")
    numeric = not (values.isna() & table[col].notna()).any()
    if not (numeric and unit in MOLAR_DIVISORS and unit != "M"):
        return table, ""
    table = table.assign(**{col: [to_molar(v, unit) if pd.notna(v) else v for v in values]})
    return table, f" (in {unit}, converted to molar)"


def _rename_tidy_aliases(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``table`` with users' column names mapped to ``curve, dose, response``; notes on what was done.

    Names are matched as :func:`_alias_key` reads them (``Viability (%)`` is ``viability``).
    A dose column named with a molar unit (``dose_uM``, ``conc_nM``, ``concentration (µM)``)
    is converted to molar; ``dose``/``conc``/``concentration`` without a unit are used as they
    are. A canonical column already present is never replaced, and a name that two columns
    could take is left alone.
    """
    notes: list[str] = []
    renames: dict[str, str] = {}
    detail: dict[str, str] = {}
    for canonical, names in TIDY_ALIASES.items():
        if canonical in table.columns:
            continue
        found = [c for c in table.columns if _alias_key(c) in names]
        if len(found) == 1:
            renames[found[0]] = canonical
    if "dose" not in table.columns:
        doses = [(c, _DOSE_NAME.match(c)) for c in table.columns]
        doses = [(c, m) for c, m in doses if m]
        if len(doses) == 1:
            col, m = doses[0]
            table, detail[col] = _dose_in_molar(table, col, molar_unit(m["u1"] or m["u2"] or ""))
            renames[col] = "dose"
    if renames:
        table = table.rename(columns=renames)
        for a, b in renames.items():
            if a.lower() != b or detail.get(a):
                notes.append(f"column '{a}' used as '{b}'{detail.get(a, '')}")
    return table, notes


def _is_numeric(column: pd.Series) -> bool:
    """Every non-empty cell of ``column`` is a number (and at least one is)."""
    values = pd.to_numeric(column, errors="coerce")
    return bool(values.notna().any() and not (values.isna() & column.notna()).any())


def _comma_number(column: pd.Series) -> str | None:
    """The first decimal-comma cell (``5,48``) of a text column whose cells would all be numbers so; else None."""
    text = column.dropna().astype(str).str.strip()
    text = text[text != ""]
    commas = text[text.str.contains(",", regex=False)]
    if commas.empty or pd.to_numeric(text.map(decimal_point), errors="coerce").isna().any():
        return None
    return str(commas.iloc[0])


def _infer_tidy_roles(table: pd.DataFrame, name: str, source=None) -> tuple[pd.DataFrame, list[str]]:
    """Fill in ``response`` and ``curve`` where the table leaves one reading only; notes.

    Only for a table whose ``dose`` is known. ``response`` is the one numeric column
    besides ``dose``/``n``/``curve``/``readout``, if exactly one and it is not named as a
    replicate, well, row, column, index or plate number (:func:`_is_index_name`); ``curve``
    is the one remaining text column, or, when no other column remains, every row is one
    curve named ``name``. Anything less clear-cut is left for ``--columns``.

    Raises:
        AnalysisInputError: Naming ``source``, when ``response`` is missing and the table
            leaves no one reading of it: two or more numeric columns, only a replicate (or
            well, index...) column, or a text column of numbers with decimal commas (which a
            comma-separated file does not read as numbers).
    """
    notes: list[str] = []
    if "dose" not in table.columns:
        return table, notes
    roles = {"dose", "response", "curve", "n", "readout"}
    if "response" not in table.columns:
        where, hint = _where(source), "name its columns with --columns response=COL[,curve=COL]"
        numeric = [c for c in table.columns if c not in roles and _is_numeric(table[c])]
        commas = {c: v for c in table.columns if c not in roles and c not in numeric
                  and (v := _comma_number(table[c])) is not None}
        if commas:
            col, cell = next(iter(commas.items()))
            raise AnalysisInputError(
                f"{where}: missing column(s) response, and column '{col}' holds numbers with a decimal comma "
                f"('{cell}'), which a comma-separated table does not read as numbers: save it separated by "
                f"semicolons or write decimal points, and {hint}")
        if len(numeric) > 1:
            raise AnalysisInputError(
                f"{where}: missing column(s) response, and which of the numeric columns "
                f"{', '.join(map(repr, numeric))} holds it cannot be told: {hint}")
        if numeric and _is_index_name(numeric[0]):
            raise AnalysisInputError(
                f"{where}: missing column(s) response; the only other numeric column, '{numeric[0]}', numbers "
                f"replicates, wells or rows: {hint}")
        if numeric:
            table = table.rename(columns={numeric[0]: "response"})
            notes.append(f"column '{numeric[0]}' used as 'response' (the only other numeric column)")
    if "curve" not in table.columns and "response" in table.columns:
        rest = [c for c in table.columns if c not in roles]
        if not rest:
            table = table.assign(curve=name)
            notes.append(f"no curve column: every row is one curve, named '{name}'")
        elif len(rest) == 1 and not _is_numeric(table[rest[0]]):
            table = table.rename(columns={rest[0]: "curve"})
            notes.append(f"column '{rest[0]}' used as 'curve' (the only text column)")
    return table, notes


#: Columns of a tidy table that ``fit --columns`` can name.
MAPPABLE_COLUMNS = ("curve", "dose", "response", "n", "readout")


def parse_column_map(items: list[str] | None) -> dict[str, tuple[str, str]]:
    """``["curve=Drug,dose=conc:uM", "response=rootl"]`` -> ``{role: (column, dose unit)}``.

    The unit (after the last ``:``) is read only for ``dose`` and only when it is a molar
    unit (``M``, ``mM``, ``uM``/``µM``, ``nM``, ``pM``); a column name may hold ``:`` otherwise.

    Raises:
        AnalysisInputError: On an item without ``=``, an unknown role, or a role given twice.
    """
    out: dict[str, tuple[str, str]] = {}
    for item in items or []:
        for part in str(item).split(","):
            if not part.strip():
                continue
            role, eq, column = part.partition("=")
            role, column = role.strip().lower(), column.strip()
            if not eq or not column:
                raise AnalysisInputError(f"--columns: '{part.strip()}' is not ROLE=COLUMN (e.g. dose=conc_uM)")
            if role not in MAPPABLE_COLUMNS:
                raise AnalysisInputError(
                    f"--columns: unknown role '{role}' (one of {', '.join(MAPPABLE_COLUMNS)})")
            if role in out:
                raise AnalysisInputError(f"--columns: '{role}' is given twice")
            unit = ""
            if role == "dose" and ":" in column:
                head, _, tail = column.rpartition(":")
                if molar_unit(tail) and head.strip():
                    column, unit = head.strip(), molar_unit(tail)
            out[role] = (column, unit)
    return out


def _apply_column_map(
    table: pd.DataFrame, mapping: dict[str, tuple[str, str]], source
) -> tuple[pd.DataFrame, list[str]]:
    """``table`` with the columns ``mapping`` names renamed to their roles; notes.

    A column already bearing a mapped role's name is renamed ``<role>_unmapped`` so the
    named one takes the role.

    Raises:
        AnalysisInputError: If a named column is not in the table or is named for two roles.
    """
    where = _where(source)
    named = [col for col, _ in mapping.values()]
    for col in named:
        if col not in table.columns:
            head, _, unit = col.rpartition(":")
            hint = (f"; '{unit}' is not a molar unit (M, mM, uM, nM, pM)"
                    if head in table.columns and mapping.get("dose", ("",))[0] == col else "")
            raise AnalysisInputError(
                f"{where}: --columns names '{col}', which is not a column "
                f"(columns: {', '.join(map(str, table.columns))}){hint}")
        if named.count(col) > 1:
            raise AnalysisInputError(f"{where}: --columns names '{col}' for two roles")
    notes: list[str] = []
    clash = {role: f"{role}_unmapped" for role, (col, _) in mapping.items()
             if role in table.columns and col != role}
    table = table.rename(columns=clash)
    notes += [f"column '{role}' renamed '{new}' (--columns names another)" for role, new in clash.items()]
    renames = {}
    for role, (col, unit) in mapping.items():
        detail = ""
        if role == "dose" and unit:
            table, detail = _dose_in_molar(table, col, unit)
        renames[col] = role
        if col != role or detail:
            notes.append(f"column '{col}' used as '{role}'{detail} (--columns)")
    return table.rename(columns=renames), notes


def read_table_csv(path: str | Path, columns: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Read a CSV/TSV table; a dose-response table's columns may go by users' names.

    ``columns`` (from :func:`parse_column_map`) names columns explicitly and is applied
    first. Then, for tables without ``curve``/``dose``/``response``: ``dose_M`` is
    ``dose``; the names in :data:`TIDY_ALIASES` and dose columns with a molar unit in their
    name (``dose_uM``, ``concentration (nM)``: converted to molar) are recognised; and a
    table with a dose column where only one reading remains gets ``response`` (its one other
    numeric column, never a replicate, well or index number) and ``curve`` (its one text
    column, or the file's stem when there is none: one curve). What was done is listed in
    ``table.attrs["notes"]``.

    Raises:
        AnalysisInputError: If the file is missing, a folder, empty or not a table, a row's
            fields do not match the header's (:func:`~ferroscreen.csv_tables.read_csv_table`),
            ``columns`` names a column it lacks or is given for a wells table, or a dose-response
            table without ``response`` leaves no one reading of it (:func:`_infer_tidy_roles`).
    """
    from ferroscreen.csv_tables import read_csv_table

    path = Path(path)
    table = read_csv_table(path, "a dose-response or wells table", error=AnalysisInputError)
    notes: list[str] = []
    wells = {"well", "time_h"} <= set(table.columns)  # a wells table keeps its own names
    if columns and wells:
        raise AnalysisInputError(f"{path}: --columns names a dose-response table's columns; this is a wells table")
    if columns:
        table, notes = _apply_column_map(table, columns, path)
    if not wells:
        table, more = _rename_tidy_aliases(table)
        table, inferred = _infer_tidy_roles(table, path.stem, path)
        notes += more + inferred
    table.attrs["notes"] = notes
    return table


def _numeric(table: pd.DataFrame, column: str, source, line: Callable[[int], str] | None = None) -> np.ndarray:
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & table[column].notna().to_numpy()
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        cell = str(table[column].iloc[row]).strip()
        comma = (" (a decimal comma: write decimal points, or save the table separated by semicolons)"
                 if re.fullmatch(r"[+-]?\d*,\d+", cell) else "")
        raise AnalysisInputError(
            f"{_where(source)}: column '{column}' {_row(row, line)}: "
            f"'{table[column].iloc[row]}' is not a number{comma}"
        )
    return values


def confidence_level(level) -> float:
    """``level`` as a float, checked to be a confidence level: a fraction strictly between 0 and 1.

    Raises:
        AnalysisInputError: A level outside (0, 1), such as a percentage (95), or not a number.
    """
    try:
        value = float(level)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0 < value < 1:
        raise AnalysisInputError(f"level={level!r}: a confidence level is a fraction between 0 and 1, such as 0.95")
    return value


def well_entries(entries) -> list[str]:
    """Wells named as ``exclude`` takes them: a string is a comma- or space-separated list (``"B03,P1:C05"``).

    A list's items are taken as they are (a plate name may hold a space: ``"Plate 1:B03"``); None is no well.
    """
    if entries is None:
        return []
    if isinstance(entries, str):
        return [e for e in re.split(r"[,;\s]+", entries) if e]
    return [str(e).strip() for e in entries if str(e).strip()]


def refuse_empty(table: pd.DataFrame, column: str, source=None, rows=None, named: str | None = None,
                 hint: str = "", line=None) -> None:
    """Refuse a table whose ``column`` is empty (NaN) in some of ``rows`` (default: every row).

    The one-line message names ``source``, how many rows, the first few (``row N``, the header
    being row 1, or as ``line(i)`` says where row ``i`` came from; index labels as ``index 3, 4``)
    and, with ``named``, the values of that column there (the curves of rows that have no
    readout); ``hint`` ends it.

    Raises:
        AnalysisInputError: When a row has no ``column``.
    """
    empty = table[column].isna().to_numpy()
    if rows is not None:
        empty = empty & np.asarray(rows, dtype=bool)
    if not empty.any():
        return
    idx = np.flatnonzero(empty)
    first = idx[:5]
    names = [line(int(i)) for i in first] if line is not None else []
    if names and all(n.startswith("index ") for n in names):  # index labels: "index 3, 4"
        at = "index " + ", ".join(n[len("index "):] for n in names)
    else:
        at = (", ".join(names) if line is not None
              else ("row " if len(idx) == 1 else "rows ") + ", ".join(str(i + 2) for i in first))
    at += f" and {len(idx) - len(first)} more" if len(idx) > len(first) else ""
    if named is not None and named in table.columns:
        values = [str(v) for v in dict.fromkeys(table[named].iloc[idx]) if pd.notna(v)]
        if values:
            at += f"; {named}{'s' if len(values) > 1 else ''} " + ", ".join(values[:5]) + (
                " ..." if len(values) > 5 else "")
    raise AnalysisInputError(f"{_where(source)}: {len(idx)} row(s) have no {column} ({at}){hint}")


def validate_tidy(table: pd.DataFrame, binomial: bool = False, source=None) -> pd.DataFrame:
    """Check a tidy dose-response table and return a clean copy.

    The copy has ``curve`` and ``readout`` as strings (``readout`` defaults to
    ``"response"``), float ``dose``/``response`` (and ``n``), and no rows with
    a missing response. Rows are named as the module docstring says (``source``:
    the file's rows; else the index labels).

    Warns:
        AnalysisInputWarning: Rows whose response is infinite (``inf``, ``-inf``: no reading,
            a division by zero before the fit) are left out as empty ones are, but said, naming
            the first; and doses whose largest lies above 0.1 M (:func:`implausible_molar_dose`),
            as ``fit`` notes them.

    Args:
        table: The table.
        binomial: Require ``n`` (totals > 0) and responses within [0, 1].
        source: File name used in error messages.

    Raises:
        AnalysisInputError: On a table that is no DataFrame, missing columns, non-numeric or
            negative doses, a row with a response but no curve or no readout (a ``readout``
            column given for some rows only, as when tables are concatenated), or invalid
            binomial data.
    """
    where = _where(source)
    require_dataframe(table, "a dose-response table: curve, dose, response[, n]", source)
    line = _row_namer(table.index, source)
    missing = [c for c in TIDY_COLUMNS if c not in table.columns]
    if missing:
        raise AnalysisInputError(
            f"{where}: missing column(s) {', '.join(missing)} "
            f"(a dose-response table needs curve, dose, response[, n]; fit --columns names them)"
        )
    dose = _numeric(table, "dose", source, line)  # the dose column's errors first, as the columns come
    response = _numeric(table, "response", source, line)
    read = np.isfinite(response)  # rows without a response are left out anyway
    refuse_empty(table, "curve", source, read, named="readout" if "readout" in table.columns else None,
                 hint=": give every row its curve", line=line)
    if "readout" in table.columns:
        refuse_empty(table, "readout", source, read, named="curve",
                     hint=": give every row its readout (a table without the column is one readout)", line=line)
    out = pd.DataFrame(
        {
            "curve": table["curve"].astype(str).to_numpy(),
            "dose": dose,
            "response": response,
        }
    )
    out["readout"] = (
        table["readout"].astype(str).to_numpy() if "readout" in table.columns else "response"
    )
    if "n" in table.columns:
        out["n"] = _numeric(table, "n", source, line)
    dose = out["dose"].to_numpy()
    bad = ~np.isfinite(dose) | (dose < 0)
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise AnalysisInputError(
            f"{where}: column 'dose' {_row(row, line)}: dose must be a finite number >= 0, "
            f"got {_plain(table['dose'].iloc[row])!r}"
        )
    _warn_infinite(table, out, where, line)
    out = out[np.isfinite(out["response"].to_numpy())]
    if binomial:
        if "n" not in out.columns:
            raise AnalysisInputError(
                f"{where}: the binomial model ll2 needs a column 'n' (cell counts as totals)"
            )
        n = out["n"].to_numpy()
        if np.any(~np.isfinite(n) | (n <= 0)):
            raise AnalysisInputError(f"{where}: column 'n' must hold positive totals for ll2")
        r = out["response"].to_numpy()
        if np.any((r < 0) | (r > 1)):
            raise AnalysisInputError(
                f"{where}: the binomial model ll2 needs fractions in [0, 1] in 'response'"
            )
    if out.empty:
        raise AnalysisInputError(f"{where}: no rows with a response")
    if (note := implausible_molar_dose(out["dose"])) is not None:
        warnings.warn(AnalysisInputWarning(f"{where}: {note}"), stacklevel=_outside_stacklevel())
    return out.reset_index(drop=True)


def _warn_infinite(table: pd.DataFrame, out: pd.DataFrame, where: str, line: Callable[[int], str] | None) -> None:
    """Warn of the rows of ``out`` (clean copy of ``table``) whose response is infinite, naming the first few.

    A table with a ``well`` column (the screen's dose tables) names the wells, not the rows.
    """
    infinite = np.flatnonzero(np.isinf(out["response"].to_numpy()))
    if not infinite.size:
        return
    if "well" in table.columns:
        plates = table["plate"].astype(str).to_numpy() if "plate" in table.columns else None
        at = [f"well {plates[i] + ' ' if plates is not None else ''}{table['well'].iloc[i]}" for i in infinite[:3]]
    else:
        at = [_row(int(i), line) for i in infinite[:3]]
    more = f" and {infinite.size - 3} more" if infinite.size > 3 else ""
    curves = ", ".join(dict.fromkeys(out["curve"].iloc[infinite]))
    warnings.warn(AnalysisInputWarning(
        f"{where}: {infinite.size} infinite response(s) left out ({', '.join(at)}{more}; curve {curves}): "
        f"an infinite value is no reading (a division by zero before the fit?)"), stacklevel=_outside_stacklevel())


def canonical_wells(wells: pd.Series, source=None, line: Callable[[int], str] | None = None) -> pd.Series:
    """``wells`` as canonical names (``A1`` -> ``A01``).

    Raises:
        AnalysisInputError: A name on no plate format, naming ``source`` and its row: ``row N`` (header =
            row 1), or as ``line(i)`` names row ``i``.
    """
    from ferroscreen.plate.wells import normalize_well

    where = f"{source}: " if source is not None else ""
    if wells.isna().any():
        row = int(np.flatnonzero(wells.isna().to_numpy())[0])
        raise AnalysisInputError(f"{where}column 'well' {_row(row, line)}: empty, not a well name")
    text = wells.astype(str)
    names = {}
    for w in text.unique():
        try:
            names[w] = normalize_well(w)
        except FerroscreenError:
            row = int(np.flatnonzero((text == w).to_numpy())[0])
            raise AnalysisInputError(f"{where}column 'well' {_row(row, line)}: '{w}' is not a well name") from None
    return text.map(names)


def validate_wells(table: pd.DataFrame, source=None) -> pd.DataFrame:
    """Check a ``wells.csv`` table and return a clean copy (``time_h``, counts, fractions as floats).

    The table's index is not read: the copy has a plain one (an index level named as a missing
    column, such as ``plate`` after ``set_index``, is taken as that column). Errors name a row
    as the module docstring says (``source``: the file's rows; else the index labels left once
    such levels are columns).

    ``n_cells`` may be any metric (a blank-subtracted plate read can dip below 0, also beside a
    plate reader's ``frac_dead``), except in a classifier's table (a ``frac_alive`` column), where it
    counts the cells the fractions are of and a negative count is refused.

    Raises:
        AnalysisInputError: On a table that is no DataFrame, missing columns, rows without a plate
            or well, non-numeric values, fractions outside [0, 1] or negative cell counts.
    """
    where = _where(source)
    require_dataframe(table, "a wells table: plate, well, time_h, n_cells, frac_<class>...", source)
    levels = [n for n in table.index.names if n is not None and n not in table.columns]
    table = table.reset_index(level=levels) if levels else table
    line = _row_namer(table.index, source)
    table = table.reset_index(drop=True)
    missing = [c for c in WELLS_COLUMNS if c not in table.columns]
    if missing:
        raise AnalysisInputError(
            f"{where}: missing column(s) {', '.join(missing)} "
            f"(a wells table needs plate, well, time_h, n_cells, frac_<class>...)"
        )
    value_cols = [c for c in table.columns if c == "n_cells" or str(c).startswith("frac_")]
    if not value_cols:
        raise AnalysisInputError(f"{where}: no 'n_cells' or 'frac_<class>' columns")
    refuse_empty(table, "plate", source, named="well", hint=": give every row its plate", line=line)
    out = table.copy()
    out["plate"] = out["plate"].astype(str)
    out["well"] = out["well"].astype(str)
    # n_cells: the cells a classifier's fractions are of (a plate reader's dead fraction may sit beside a
    # blank-subtracted viability signal that dips below 0)
    counted = "frac_alive" in value_cols
    for col in ["time_h", *value_cols]:
        out[col] = _numeric(out, col, source, line)
        values = out[col].to_numpy()
        bad = (values < -1e-6) | (values > 1 + 1e-6)  # 1e-6: float rounding of a written fraction
        if col.startswith("frac_") and np.any(bad):  # n_cells may be any metric (an intensity can dip below 0)
            row = int(np.flatnonzero(bad)[0])
            raise AnalysisInputError(f"{where}: column '{col}' {_row(row, line)}: {values[row]:g} (must be a "
                                     f"fraction in [0, 1])")
        if col == "n_cells" and counted and np.any(values < 0):
            row = int(np.flatnonzero(values < 0)[0])
            raise AnalysisInputError(f"{where}: column 'n_cells' {_row(row, line)}: {values[row]:g} (a count of "
                                     f"cells, never negative)")
    if out["time_h"].isna().any():
        raise AnalysisInputError(f"{where}: column 'time_h' has missing values")

    out["well"] = canonical_wells(out["well"], where, line)
    dup = out.duplicated(["plate", "well", "time_h"], keep=False)
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        r = out.iloc[row]
        fields = next((c for c in table.columns if re.fullmatch(r"(?i)(metadata_)?(field|site|fov|image_?number)s?",
                                                                str(c))), None)
        hint = (f"; column '{fields}' holds fields: sum the fields per well, or fit the per-image table of the "
                f"software itself (CellProfiler's MyExpt_Image.csv, Harmony's PlateResults.txt)") if fields else ""
        raise AnalysisInputError(f"{where}: plate {r['plate']} well {r['well']} at {r['time_h']:g} h has more "
                                 f"than one row ({_row(row, line)}; one per well and time expected{hint})")
    return out


def wells_from_metric(table: pd.DataFrame, source=None) -> pd.DataFrame:
    """Turn an instrument metric table (``plate, well, time_h, value``) into a wells table.

    The metric (a cell count, or confluence as its proxy) becomes ``n_cells``;
    no ``frac_`` columns exist, so the readouts are viability-type
    (``viability``, ``gr``, ``dip_rel``).

    Raises:
        AnalysisInputError: If the table lacks the columns.
    """
    missing = [c for c in ("plate", "well", "time_h", "value") if c not in table.columns]
    if missing:
        raise AnalysisInputError(f"{_where(source)}: metric table lacks {', '.join(missing)}")
    out = table[["plate", "well", "time_h", "value"]].rename(columns={"value": "n_cells"})
    return validate_wells(out, source=source)


def _cell_text(value) -> str:
    """A DataFrame cell as a layout file writes it: empty for a missing value, numbers without a trailing ``.0``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.15g}"
    return str(value).strip()


def layout_argument(layout, source=None):
    """``layout`` as the :class:`~ferroscreen.plate.PlateLayout` :func:`~ferroscreen.analysis.analyse_screen` takes.

    A layout table as a DataFrame (``pd.read_csv("layout.csv")``) is read as
    :func:`ferroscreen.plate.read_layout` reads the CSV: its columns as a layout file's, its
    concentrations in their ``unit`` converted to molar, a table without ``plate_id`` being one
    plate (named ``layout``); a problem names the row by its index label.

    Raises:
        AnalysisInputError: ``layout`` is None or neither a layout nor a DataFrame (naming
            ``source``, the wells' file), or a DataFrame that is no valid layout.
    """
    from ferroscreen.errors import LayoutError
    from ferroscreen.plate import PlateLayout
    from ferroscreen.plate.layout_records import LayoutRecord, layout_from_records

    if isinstance(layout, PlateLayout):
        return layout
    if not isinstance(layout, pd.DataFrame):
        given = "None" if layout is None else f"a {type(layout).__name__}"
        raise AnalysisInputError(
            f"{f'{source}: ' if source is not None else ''}layout: got {given}; give a PlateLayout "
            f"(ferroscreen.plate.read_layout('layout.csv')) or the layout table as a DataFrame")
    header = [str(c).strip() for c in layout.columns]
    records = []
    for label, row in zip(layout.index, layout.itertuples(index=False, name=None), strict=True):
        def at(column, label=label) -> str:
            return f"layout table index {label}" + (f": column '{column}'" if column else "")

        values = {h: _cell_text(v) for h, v in zip(header, row, strict=True) if h}
        records.append(LayoutRecord(values, at, f"index {label}", "layout"))
    try:
        return layout_from_records(Path("layout table"), header, records)
    except LayoutError as exc:
        raise AnalysisInputError(str(exc)) from None
