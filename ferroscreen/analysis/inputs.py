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
the source and the problem.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import FerroscreenError

TIDY_COLUMNS = ("curve", "dose", "response")
WELLS_COLUMNS = ("plate", "well", "time_h")


class AnalysisInputError(FerroscreenError, ValueError):
    """A table given to the analysis layer that is missing columns or holds bad values."""


def _where(source) -> str:
    return str(source) if source is not None else "table"


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


#: Names a tidy table's columns go by in users' files (lower-case), by canonical column.
TIDY_ALIASES = {
    "curve": ("curve", "compound", "drug", "treatment", "sample", "curve_id"),
    "response": ("response", "viability", "value", "signal", "effect"),
}
_DOSE_NAME = re.compile(
    r"^(?P<stem>dose|conc|concentration)\s*(?:[_ ]\s*(?P<u1>[munpµμ]?M)|[(\[]\s*(?P<u2>[munpµμ]?M)\s*[)\]])?$",
    re.IGNORECASE,
)


def _rename_tidy_aliases(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``table`` with users' column names mapped to ``curve, dose, response``; notes on what was done.

    A dose column named with a molar unit (``dose_uM``, ``conc_nM``, ``concentration (µM)``)
    is converted to molar; ``dose``/``conc``/``concentration`` without a unit are used as they
    are. A canonical column already present is never replaced, and a name that two columns
    could take is left alone.
    """
    from ferroscreen.plate.units import MOLAR_DIVISORS, to_molar

    notes: list[str] = []
    lower = {c.lower(): c for c in table.columns}
    renames: dict[str, str] = {}
    detail: dict[str, str] = {}
    for canonical, names in TIDY_ALIASES.items():
        if canonical in table.columns:
            continue
        found = [lower[n] for n in names if n in lower]
        if len(found) == 1:
            renames[found[0]] = canonical
    if "dose" not in table.columns:
        doses = [(c, _DOSE_NAME.match(c)) for c in table.columns]
        doses = [(c, m) for c, m in doses if m]
        if len(doses) == 1:
            col, m = doses[0]
            unit = m["u1"] or m["u2"] or ""
            unit = unit if unit in MOLAR_DIVISORS else unit[:-1].lower() + "M"
            values = pd.to_numeric(table[col], errors="coerce")
            numeric = not (values.isna() & table[col].notna()).any()  # else validation names the bad cell
            if numeric and unit in MOLAR_DIVISORS and unit != "M":
                table = table.assign(**{col: [to_molar(v, unit) if pd.notna(v) else v for v in values]})
                detail[col] = f" (in {unit}, converted to molar)"
            renames[col] = "dose"
    if renames:
        table = table.rename(columns=renames)
        for a, b in renames.items():
            if a.lower() != b or a in detail:
                notes.append(f"column '{a}' used as '{b}'{detail.get(a, '')}")
    return table, notes


def read_table_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV/TSV table; a dose-response table's columns may go by users' names.

    ``dose_M`` is ``dose``; for tables without ``curve``/``dose``/``response`` the
    names in :data:`TIDY_ALIASES` and dose columns with a molar unit in their name
    (``dose_uM``, ``concentration (nM)``: converted to molar) are recognised. What was
    renamed is listed in ``table.attrs["notes"]``.

    Raises:
        AnalysisInputError: If the file is missing, empty or not a table.
    """
    path = Path(path)
    if not path.is_file():
        raise AnalysisInputError(f"{path}: file not found")
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else None
    try:
        table = pd.read_csv(path, sep=sep, engine="python", encoding="utf-8-sig")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AnalysisInputError(f"{path}: not a readable table ({msg})") from None
    table.columns = [str(c).strip() for c in table.columns]
    notes: list[str] = []
    if not {"well", "time_h"} <= set(table.columns):  # a wells table keeps its own names
        table, notes = _rename_tidy_aliases(table)
    table.attrs["notes"] = notes
    return table


def _numeric(table: pd.DataFrame, column: str, source) -> np.ndarray:
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & table[column].notna().to_numpy()
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise AnalysisInputError(
            f"{_where(source)}: column '{column}' row {row + 2}: "
            f"'{table[column].iloc[row]}' is not a number"
        )
    return values


def validate_tidy(table: pd.DataFrame, binomial: bool = False, source=None) -> pd.DataFrame:
    """Check a tidy dose-response table and return a clean copy.

    The copy has ``curve`` and ``readout`` as strings (``readout`` defaults to
    ``"response"``), float ``dose``/``response`` (and ``n``), and no rows with
    a missing response.

    Args:
        table: The table.
        binomial: Require ``n`` (totals > 0) and responses within [0, 1].
        source: File name used in error messages.

    Raises:
        AnalysisInputError: On missing columns, non-numeric or negative doses,
            or invalid binomial data.
    """
    where = _where(source)
    missing = [c for c in TIDY_COLUMNS if c not in table.columns]
    if missing:
        raise AnalysisInputError(
            f"{where}: missing column(s) {', '.join(missing)} "
            f"(a dose-response table needs curve, dose, response[, n])"
        )
    out = pd.DataFrame(
        {
            "curve": table["curve"].astype(str).to_numpy(),
            "dose": _numeric(table, "dose", source),
            "response": _numeric(table, "response", source),
        }
    )
    out["readout"] = (
        table["readout"].astype(str).to_numpy() if "readout" in table.columns else "response"
    )
    if "n" in table.columns:
        out["n"] = _numeric(table, "n", source)
    dose = out["dose"].to_numpy()
    bad = ~np.isfinite(dose) | (dose < 0)
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise AnalysisInputError(
            f"{where}: column 'dose' row {row + 2}: dose must be a finite number >= 0, "
            f"got {table['dose'].iloc[row]!r}"
        )
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
    return out.reset_index(drop=True)


def validate_wells(table: pd.DataFrame, source=None) -> pd.DataFrame:
    """Check a ``wells.csv`` table and return a clean copy (``time_h``, counts, fractions as floats).

    Raises:
        AnalysisInputError: On missing columns or non-numeric values.
    """
    where = _where(source)
    missing = [c for c in WELLS_COLUMNS if c not in table.columns]
    if missing:
        raise AnalysisInputError(
            f"{where}: missing column(s) {', '.join(missing)} "
            f"(a wells table needs plate, well, time_h, n_cells, frac_<class>...)"
        )
    value_cols = [c for c in table.columns if c == "n_cells" or str(c).startswith("frac_")]
    if not value_cols:
        raise AnalysisInputError(f"{where}: no 'n_cells' or 'frac_<class>' columns")
    out = table.copy()
    out["plate"] = out["plate"].astype(str)
    out["well"] = out["well"].astype(str)
    for col in ["time_h", *value_cols]:
        out[col] = _numeric(out, col, source)
    if out["time_h"].isna().any():
        raise AnalysisInputError(f"{where}: column 'time_h' has missing values")
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
