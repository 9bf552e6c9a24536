"""``results.xlsx``: a fit's tables in one Excel workbook, with the fitted points laid out for GraphPad Prism.

Sheets, in order: ``about`` (the run as :class:`FitAbout` records it: ferroscreen version, when it was made (UTC),
the input and layout files with their sha256, the fit's settings and the software it ran on; then what each sheet
holds, and the unit of every column that has one: doses, concentrations and EC50s in molar, times in hours;
:func:`column_unit`), then
``ranking``, ``fits``, ``rescue``, ``qc``, ``lines`` and ``ec50_over_time`` (when written),
``readouts`` (the CSVs of the same names), ``doses`` (every point fitted: curve, readout, dose in M, response, plate,
well), and one ``prism <readout>`` sheet per fitted readout: an XY table whose X column is
log10 of the dose in molar and whose Y columns are the curves, each with its replicates side by
side (``RSL3 #1``, ``RSL3 #2``), the layout Prism's "XY, side-by-side replicates" table takes
when pasted. Vehicle points (dose 0) have no log dose and stay in ``doses``. A sheet past Excel's 1,048,576 rows
(or 16,384 columns) goes on in ``<title> (2)``, ``(3)``... right after it (``fitted_points.csv`` holds the points
in one table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen import __version__, workbooks
from ferroscreen.provenance import created_now, environment
from ferroscreen.workbooks import continued_title, sheet_pieces, sheet_title, write_workbook

#: The tables of a fit, in sheet order, with what their sheet says of them.
TABLE_SHEETS = {
    "ranking": "compounds ranked per death mode (ranking.csv)",
    "fits": "one row per curve and readout: parameters, EC50 with CI, call, flags (fits.csv)",
    "rescue": "rescue agents against their compound alone (rescue.csv)",
    "qc": "plate QC per readout: Z', SSMD, control CVs, edge effect (qc.csv)",
    "lines": "each compound's EC50 in one cell line against another (lines.csv)",
    "ec50_over_time": "each curve fitted at every time point (ec50_over_time.csv, fit --over-time)",
    "readouts": "per-well readouts with the layout (readouts.csv)",
}


#: Columns holding a dose, a concentration or a potency in molar (M), as every table of a fit writes them.
MOLAR_COLUMNS = frozenset({
    "dose", "dose_min", "dose_max", "concentration", "rescue_concentration",
    *(f"{name}{part}" for name in ("ec50", "ed10", "ed90") for part in ("", "_se", "_lo", "_hi")),
    "ec50_a", "ec50_b", "ec50_alone", "ec50_rescued",
})

#: Prefixes of the time-course readouts that are times in hours (``t50_<mode>``, ``onset_<mode>``).
_HOURS_PREFIXES = ("t50_", "onset_")


def column_unit(column: str) -> str:
    """The unit of a column of a fit's tables as the ``about`` sheet states it ("" for a unitless column).

    Doses, concentrations, EC50s and ED10/ED90 with their SEs and limits are molar (:data:`MOLAR_COLUMNS`),
    ``pec50`` is minus their log10; times (``time_h`` and every other ``*_h``, ``t50_<mode>``,
    ``onset_<mode>``) are hours, and ``dip_rate`` is per hour.
    """
    if column in MOLAR_COLUMNS:
        return "M (molar)"
    if column == "pec50":
        return "-log10 of the EC50 in M"
    if column.endswith("_h") or column.startswith(_HOURS_PREFIXES):
        return "h (hours)"
    if column == "dip_rate":
        return "per h (log2 cell count per hour)"
    return ""


def _units_rows(sheets: list[tuple[str, object]]) -> list[list]:
    """One ``about`` row per column with a unit (:func:`column_unit`): column, unit, the sheets holding it."""
    held: dict[str, list[str]] = {}
    for title, table in sheets:
        for column in getattr(table, "columns", []):
            if column_unit(str(column)):
                held.setdefault(str(column), []).append(title)
    if not held:
        return []
    return [[], ["column", "unit", "sheets"],
            *([column, column_unit(column), ", ".join(titles)] for column, titles in held.items())]


@dataclass
class FitAbout:
    """What the ``about`` sheet says of a fit run, as ``hits.xlsx``'s says of a hits run.

    ``inputs`` and ``layouts`` are the files read (each listed with its sha256, blank when it is
    no file); ``settings`` the fit's options (a list is written comma-separated); ``created`` when
    the run was made (UTC ISO 8601, :func:`~ferroscreen.provenance.created_now`); ``environment``
    the software it ran on (:func:`~ferroscreen.provenance.environment`).
    """

    inputs: list = field(default_factory=list)
    layouts: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    created: str = field(default_factory=created_now)
    environment: dict = field(default_factory=environment)

    def __str__(self) -> str:
        """The first input's path (what a bare ``source`` said)."""
        return str(self.inputs[0]) if self.inputs else ""

    def rows(self) -> list[list]:
        """The about sheet's rows: title, version, the software (:func:`software_rows`), time, files, settings."""
        from ferroscreen.hashing import file_sha256

        def described(kind: str, path) -> list:
            return [kind, str(path), file_sha256(path) if Path(path).is_file() else ""]

        rows: list[list] = [["ferroscreen fit results", ""], ["ferroscreen version", __version__],
                            *software_rows(self.environment), ["created (UTC)", self.created]]
        rows += [described("input", p) for p in self.inputs]
        rows += [described("layout", p) for p in self.layouts]
        if self.settings:
            rows += [[], ["setting", "value"]]
            rows += [[k, _cell(v)] for k, v in self.settings.items()]
        return rows


def software_rows(env: dict) -> list[list]:
    """The environment in three rows: ``git commit`` (when there is one), ``software``, ``platform``.

    ``git commit`` says ``(tracked files changed since)`` when ``git_dirty``; ``software`` lists
    ``Python 3.11.7, numpy 2.1.0, ...`` (every entry but ferroscreen's version, given in its own row,
    and the git and platform ones).
    """
    rows = []
    if env.get("git_commit"):
        rows.append(["git commit", str(env["git_commit"]) + (" (tracked files changed since)" if env.get("git_dirty")
                                                             else "")])
    names = {"python": "Python"}
    libraries = [f"{names.get(k, k)} {v}" for k, v in env.items()
                 if k not in ("ferroscreen", "git_commit", "git_dirty", "platform")]
    if libraries:
        rows.append(["software", ", ".join(libraries)])
    if env.get("platform"):
        rows.append(["platform", str(env["platform"])])
    return rows


def _cell(value):
    """A setting as one cell: a list comma-separated, None blank, a number or flag as it is, else its text."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if value is None:
        return ""
    return value if isinstance(value, (str, bool, int, float)) else str(value)


def prism_table(doses: pd.DataFrame, readout: str | None = None) -> pd.DataFrame:
    """The dosed points of one readout as an XY table with side-by-side replicates.

    Args:
        doses: The fitted points: ``curve, dose, response`` and optionally ``readout``,
            ``plate``, ``well``. Replicates are numbered per plate: within a curve each plate
            (in name order) has its own columns, as many as its most wells at one dose, its wells
            in well order; so a column holds one plate's wells, and a well left out (excluded, or
            not fitted) leaves its cell empty instead of moving another plate's well into it.
        readout: The readout to lay out (None: the table holds one).

    Returns:
        ``log10 dose (M)`` then ``<curve> #<n>`` columns, curves in order of first appearance,
        one row per distinct positive dose (ascending); empty where a curve lacks that dose
        or replicate.
    """
    d = doses if readout is None or "readout" not in doses.columns else doses[doses["readout"] == readout]
    d = d[pd.to_numeric(d["dose"], errors="coerce") > 0]
    if d.empty:
        return pd.DataFrame(columns=["log10 dose (M)"])
    keys = [c for c in ("plate", "well") if c in d.columns]
    d = d.assign(curve=d["curve"].fillna("").astype(str), dose=d["dose"].astype(float))
    if "plate" in d.columns:
        d = d.assign(plate=d["plate"].fillna("").astype(str))
    curves = list(dict.fromkeys(d["curve"]))
    d = d.sort_values(["curve", "dose", *keys], kind="stable")
    d["rep"] = d.groupby(["curve", "dose", *(["plate"] if "plate" in d.columns else [])]).cumcount() + 1
    if "plate" in d.columns:  # each plate's columns come after those of the curve's plates before it
        slots = d.groupby(["curve", "plate"])["rep"].max()
        offset = slots.groupby(level="curve").cumsum() - slots
        d["rep"] += offset.reindex(pd.MultiIndex.from_frame(d[["curve", "plate"]])).to_numpy()
    wide = d.pivot_table(index="dose", columns=["curve", "rep"], values="response", aggfunc="first")
    reps = d.groupby("curve")["rep"].max()
    columns = [(c, r) for c in curves for r in range(1, int(reps[c]) + 1)]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(columns)).sort_index()
    columns = {"log10 dose (M)": np.log10(wide.index.to_numpy(dtype=float))}
    columns.update({f"{curve} #{rep}": values.to_numpy() for (curve, rep), values in wide.items()})
    return pd.DataFrame(columns)  # built at once: a column at a time fragments a 1000-curve frame


def write_results_workbook(path: str | Path, tables: dict[str, pd.DataFrame], doses: pd.DataFrame,
                           source: str | Path | FitAbout | None = None, notes: list[str] | None = None) -> Path:
    """Write ``results.xlsx`` (sheets as the module says) at ``path``.

    ``tables`` maps :data:`TABLE_SHEETS` names to the tables written as CSV (absent ones are
    left out); ``doses`` is the tidy table of fitted points. ``source`` is the run's
    :class:`FitAbout`, or only its input file (then the sheet gives no layout or settings; the time
    and software are now's). A table past Excel's rows or columns
    in a sheet (the ``doses`` of a large screen: over a million points) goes on in continued sheets,
    ``doses (2)`` after ``doses`` (:func:`ferroscreen.workbooks.sheet_pieces`), each listed in
    ``about``; a line saying so is added to ``notes`` (for the terminal) when given.
    """
    readouts = (list(dict.fromkeys(doses["readout"].astype(str))) if "readout" in doses.columns
                else [None] if len(doses) else [])
    taken: set[str] = set()
    run = source if isinstance(source, FitAbout) else FitAbout(inputs=[] if source is None else [source])
    about = run.rows()
    about += [[], ["sheet", "holds"]]
    sheets: list[tuple[str, object]] = [(sheet_title("about", taken), about)]

    def add(name: str, what: str, table) -> None:
        pieces = sheet_pieces(table)
        titles = [sheet_title(continued_title(name, k), taken) for k in range(1, len(pieces) + 1)]
        for k, (title, piece) in enumerate(zip(titles, pieces, strict=True)):
            about.append([title, what if not k else f"continued from '{titles[k - 1]}'"])
            sheets.append((title, piece))
        if len(pieces) > 1 and notes is not None:
            past = (f"{len(table)} rows go past Excel's {workbooks.MAX_ROWS:,}" if len(pieces[0]) < len(table)
                    else f"{table.shape[1]} columns go past Excel's {workbooks.MAX_COLUMNS:,}")
            notes.append(f"{Path(path).name}: the {titles[0]} sheet's {past} in a sheet; it goes on in "
                         + ", ".join(f"'{t}'" for t in titles[1:]))

    for name, what in TABLE_SHEETS.items():
        if name in tables:
            add(name, what, tables[name])
    add("doses", "every point fitted: readout, curve, dose (M), response; vehicle wells at dose 0 "
                 "(fitted_points.csv)", doses)
    for readout in readouts:
        add(f"prism {readout}" if readout else "prism",
            f"{readout or 'the response'}: X = log10 dose (M), a column per replicate of each curve (paste into a "
            "Prism XY table with side-by-side replicates); the dosed points only: the vehicle wells (dose 0, no "
            "log dose) that the fit also used are in the doses sheet, so a refit of this sheet alone differs",
            prism_table(doses, readout))
    about += _units_rows(sheets[1:])
    about += [[], ["cell", "means"],
              ["inf, -inf", "a text cell in a number column: an interval open on that side (ec50_hi inf: the data "
                            "bound the EC50 from below only)"],
              ["empty", "no value (not computed or not applicable)"]]
    return write_workbook(Path(path), sheets)
