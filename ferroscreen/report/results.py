"""Loading a results folder (the tidy tables of a screen) for the report.

A results folder holds the tables the analysis layer writes. The report needs
at least one of ``wells.csv`` and ``fits.csv``; every other file is optional
and the report says what was absent:

``wells.csv``
    ``plate, well, time_h`` and ``n_cells`` and/or ``frac_<class>`` columns
    (``frac_corr_<class>`` for confusion-corrected fractions), QC flag
    columns (``qc_*``, ``*_flag``, ``flags``), and the layout columns
    ``compound, concentration, role, mode, rescue_agent, replicate`` when
    joined. When they are missing, ``layout.csv`` (or ``layout.PlateMap``)
    of the folder is joined on plate and well.
``fits.csv``
    One row per curve × readout (``curve, readout, ec50`` at least; the full
    :data:`ferroscreen.analysis.FIT_COLUMNS` normally).
``ranking.csv``
    ``mode, rank, compound, score`` and one column per score component.
``qc.csv``
    One row per plate (× mode) with Z′, SSMD, CVs and pass/fail columns.
``ec50_time.csv`` (or ``ec50_over_time.csv``)
    ``curve, readout, time_h, ec50`` (``ec50_lo``/``ec50_hi`` optional).
``rescue.csv`` (or ``potency.csv``)
    Potency ratios (``numerator, denominator, readout, ratio`` and intervals:
    :func:`ferroscreen.analysis.potency_ratio` rows), each shown in the section
    of the compound whose curve is its denominator, or the analysis's rescue
    table (``compound, rescue_agent, shift``...). Rows whose denominator is no
    curve of ``fits.csv``, and a table of neither schema, are named in the notes.
``points.csv`` (or ``dose_response.csv``, ``tidy.csv``, ``fitted_points.csv`` as ``fit`` writes it)
    The tidy ``curve, dose, response[, readout]`` table the fits were made from.
``lines.csv``
    Cell lines compared per compound (``compound, readout, line_a, line_b,
    verdict`` at least; :func:`ferroscreen.analysis.line_comparison.compare_lines`).
``provenance.json``
    Versions, model bundle hash, configs, inputs and dates; ``notes``, the fit's notes (wells with
    no reading at the endpoint, provisional scans...), which the summary lists after the line on
    provisional scans (:func:`progress_notes`).
``gallery.csv`` and ``gallery.png``
    The cells the classifier called each class (``class, well, time_h, p`` at
    least), as ``ferroscreen export`` writes them; the PNG is shown when it is one.
``gallery_compounds.csv`` and ``galleries/*.png``
    Per treatment, the cells its wells' classifier called each death mode
    (``class, plate, well, image``; ``image`` a PNG inside the folder), shown in
    each compound's section.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.analysis.dose_tables import excluded_listing, mark_excluded, well_groups
from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.analysis.readouts import tile_mode_plates
from ferroscreen.csv_tables import read_csv_table
from ferroscreen.errors import FerroscreenError
from ferroscreen.hashing import file_sha256
from ferroscreen.plate import KNOWN_MODES, exclusion_reasons, normalize_well, read_layouts
from ferroscreen.plate.layout import is_blank_name, is_vehicle_name

#: Numeric columns of either rescue schema (potency ratios, or the analysis rescue table).
RESCUE_NUMERIC = ("ratio", "ratio_lo", "ratio_hi", "ratio_level", "delta_lo", "delta_hi", "log_lo", "log_hi",
                  "fieller_lo", "fieller_hi", "p_value", "ec50_alone", "ec50_rescued", "shift", "shift_lo",
                  "shift_hi", "effect_alone", "effect_rescued")
#: Columns of the two rescue schemas: potency ratios (``potency_ratio`` rows), the analysis rescue table.
POTENCY_RATIO_COLUMNS = {"numerator", "denominator", "ratio"}
ANALYSIS_RESCUE_COLUMNS = {"compound", "rescue_agent", "shift"}

LAYOUT_JOIN_COLUMNS = (
    "compound", "concentration", "role", "mode", "rescue_agent", "replicate", "cell_line", "growth_condition",
    "exclude",
)
#: Layout columns that set a well's curve group or leave it out: joined from the fit's own wells
#: (``readouts.csv``, else the fit's layout file) when a ``wells.csv`` with compounds lacks them.
FIT_WELL_COLUMNS = ("cell_line", "growth_condition", "exclude")

#: Files of a results folder, each with its alternative names (first existing wins).
RESULT_FILES: dict[str, tuple[str, ...]] = {
    "wells": ("wells.csv",),
    "fits": ("fits.csv",),
    "ranking": ("ranking.csv",),
    "qc": ("qc.csv", "plate_qc.csv"),
    "ec50_time": ("ec50_time.csv", "ec50_over_time.csv"),
    "rescue": ("rescue.csv", "potency.csv", "potency_ratios.csv"),
    "lines": ("lines.csv",),
    "points": ("points.csv", "dose_response.csv", "tidy.csv", "fitted_points.csv"),
    "layout": ("layout.csv", "layout.xlsx", "layout.PlateMap", "layout.platemap"),
    "provenance": ("provenance.json",),
    "gallery": ("gallery.csv",),
    "compound_gallery": ("gallery_compounds.csv",),
}

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "wells": ("plate", "well", "time_h"),
    "fits": ("curve", "readout", "ec50"),
    "ranking": ("mode", "rank", "compound", "score"),
    "qc": ("plate",),
    "ec50_time": ("curve", "time_h", "ec50"),
    "points": ("curve", "dose", "response"),
    "lines": ("compound", "readout", "line_a", "line_b", "verdict"),
    "gallery": ("class", "well", "time_h", "p"),
    "compound_gallery": ("class", "plate", "well", "image"),
    "genes": ("rank", "gene", "hit"),  # a `ferroscreen hits` folder (report.knockdown; and its readouts' fc_)
}

_FLAG_COLUMN = re.compile(r"^(qc_.*|.*_flag|.*_flagged|flags?|qc)$")
#: ``qc_*`` columns that say a row *passed* (1/True = fine), so they are not flags.
_PASS_COLUMNS = {"qc_ok", "qc_pass", "qc_passed", "qc_good"}


class ReportInputError(FerroscreenError, ValueError):
    """A results folder or table the report cannot use (missing, unreadable, lacking columns)."""


@dataclass
class Results:
    """The tables of one results folder, validated.

    Attributes:
        root: The results folder.
        files: Table name (``wells``, ``fits``...) -> path of each file found.
        wells: ``wells.csv`` with canonical well names and layout columns
            (NaN/empty where unknown), or None.
        fits: ``fits.csv`` or None.
        ranking: ``ranking.csv`` or None.
        qc: ``qc.csv`` or None.
        ec50_time: EC50-over-time table or None.
        rescue: Potency-ratio table or None.
        lines: Cell-line comparison table or None.
        points: Tidy dose-response table or None.
        provenance: ``provenance.json`` content (empty when absent).
        gallery: ``gallery.csv`` or None.
        gallery_png: ``gallery.png`` beside it (bytes of a valid PNG) or None.
        compound_gallery: ``gallery_compounds.csv`` or None.
        readouts: ``readouts.csv`` as :func:`fit_readouts` reads it (the fit's wells with
            their layout columns and exclusions), or None; read once per load.
        classes: Classifier classes of ``wells.csv`` (``alive`` first when present).
        frac_prefix: ``frac_corr_`` when corrected fractions exist for every
            class, else ``frac_``.
        has_layout: Whether the wells know their compound and role.
        notes: Things the report should tell the reader (absent files, joins).
    """

    root: Path
    files: dict[str, Path] = field(default_factory=dict)
    wells: pd.DataFrame | None = None
    fits: pd.DataFrame | None = None
    ranking: pd.DataFrame | None = None
    qc: pd.DataFrame | None = None
    ec50_time: pd.DataFrame | None = None
    rescue: pd.DataFrame | None = None
    lines: pd.DataFrame | None = None
    points: pd.DataFrame | None = None
    provenance: dict = field(default_factory=dict)
    gallery: pd.DataFrame | None = None
    gallery_png: bytes | None = None
    compound_gallery: pd.DataFrame | None = None
    readouts: pd.DataFrame | None = None
    classes: list[str] = field(default_factory=list)
    frac_prefix: str = "frac_"
    has_layout: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def used_wells(self) -> pd.DataFrame | None:
        """``wells`` without the excluded wells (layout ``exclude``), as the analysis used them."""
        if self.wells is None or "exclude" not in self.wells.columns:
            return self.wells
        return self.wells[self.wells["exclude"] == ""]

    @property
    def count_label(self) -> str:
        """What ``n_cells`` holds, as ``provenance.json`` says.

        ``signal`` for a plate-reader read, ``confluence`` for an IncuCyte confluence metric,
        ``tile count`` where the wells table marks a plate scored on fixed tiles (``detector_mode``
        ``tiles``: ``n_cells`` counts tiles), else ``cell count``.
        """
        fit = self.provenance.get("fit") if isinstance(self.provenance.get("fit"), dict) else {}
        if fit.get("plate_reader"):
            return "signal"
        if self.wells is not None and tile_mode_plates(self.wells):
            return "tile count"
        return "confluence" if "confluence" in str(fit.get("metric", "")).lower() else "cell count"

    @property
    def death_modes(self) -> list[str]:
        """Modes the report shows: classes other than ``alive``, then modes named elsewhere."""
        modes = [c for c in self.classes if c != "alive"]
        extra: list[str] = []
        if self.ranking is not None:
            extra += [str(m) for m in self.ranking["mode"].dropna().unique()]
        if self.fits is not None:
            known = set(KNOWN_MODES) | set(self.classes)
            extra += [m for r in self.fits["readout"].astype(str).unique() if (m := readout_mode(r, known))]
        for m in extra:
            if m not in modes and m != "alive":
                modes.append(m)
        return modes

    def frac_column(self, mode: str) -> str | None:
        """The fraction column of ``mode`` in ``wells`` (corrected when available)."""
        if self.wells is None:
            return None
        for col in (f"{self.frac_prefix}{mode}", f"frac_{mode}"):
            if col in self.wells.columns:
                return col
        return None

    @property
    def flag_columns(self) -> list[str]:
        """QC flag columns of ``wells`` (``qc_*``, ``*_flag``, ``flags``; not pass columns such as ``qc_ok``)."""
        if self.wells is None:
            return []
        return [
            c for c in self.wells.columns if _FLAG_COLUMN.match(str(c)) and str(c).lower() not in _PASS_COLUMNS
        ]

    def file_sha256(self) -> dict[str, str]:
        """Name -> sha256 of every file found (for provenance)."""
        return {path.name: file_sha256(path) for path in self.files.values()}


def readout_mode(readout: str, modes) -> str | None:
    """The mode a readout name refers to (``frac_ferroptosis``, ``auc_apoptosis`` -> mode), or None."""
    tokens = re.split(r"[^A-Za-z0-9]+", str(readout).lower())
    for m in sorted(modes, key=len, reverse=True):
        if m.lower() in tokens:
            return m
    return None


def treatment_names(table: pd.DataFrame) -> pd.Series:
    """What each curve row treats: ``treatment`` when the table has it, else ``curve``.

    The ``" @ <t> h"`` suffix of EC50-over-time curves is dropped, so that
    ``"volasertib @ 24 h"`` is ``"volasertib"``.
    """
    names = table["curve"].astype(str)
    if "treatment" in table.columns:
        names = table["treatment"].where(table["treatment"] != "", names)
    return names.str.replace(r"\s*@\s*[0-9.eE+-]+\s*h$", "", regex=True)


def read_result_csv(path: Path, name: str) -> pd.DataFrame:
    """A results table (UTF-8, BOM allowed) with the columns :data:`REQUIRED_COLUMNS` names for ``name``.

    Raises:
        ReportInputError: Empty, unreadable, a row cut short, or a required column missing (one line
            naming the file).
    """
    table = read_csv_table(path, "a CSV table", error=ReportInputError)
    missing = [c for c in REQUIRED_COLUMNS.get(name, ()) if c not in table.columns]
    if missing:
        raise ReportInputError(
            f"{path}: missing column(s) {', '.join(missing)} (a {path.name} needs {', '.join(REQUIRED_COLUMNS[name])})"
        )
    return table


def _numeric(table: pd.DataFrame, columns, path: Path) -> None:
    for col in columns:
        if col not in table.columns:
            continue
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() & table[col].notna() & (table[col].astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ReportInputError(f"{path}: column '{col}' line {row + 2}: '{table[col].iloc[row]}' is not a number")
        table[col] = values.astype(float)


def _note_unplaced_ratios(res: Results) -> None:
    """Say in ``notes`` which rows of ``rescue.csv`` the report cannot show, and why."""
    table, name = res.rescue, res.files["rescue"].name
    if POTENCY_RATIO_COLUMNS <= set(table.columns) and res.fits is None:
        res.notes.append(f"{name}: potency ratios are shown beside the fitted curves and there is no fits.csv: "
                         "not shown.")
    elif POTENCY_RATIO_COLUMNS <= set(table.columns):
        curves = set(res.fits["curve"].astype(str))
        pairs = set(zip(res.fits["curve"].astype(str), res.fits["readout"].astype(str), strict=True))
        readouts = table["readout"] if "readout" in table.columns else pd.Series("", index=table.index)
        lost = [f"{d} ({r})" if r else d for d, r in zip(table["denominator"].astype(str), readouts, strict=True)
                if d not in curves or (r and (d, r) not in pairs)]
        if lost:
            res.notes.append(f"{name}: {len(lost)} row(s) whose denominator is no curve of fits.csv, not shown: "
                             f"{', '.join(dict.fromkeys(lost[:5]))}{'...' if len(lost) > 5 else ''}.")
    elif not ANALYSIS_RESCUE_COLUMNS <= set(table.columns):
        res.notes.append(f"{name} holds neither potency ratios (numerator, denominator, ratio) nor the analysis's "
                         "rescue table (compound, rescue_agent, shift): not shown.")


def _find(root: Path, name: str) -> Path | None:
    for candidate in RESULT_FILES[name]:
        path = root / candidate
        if path.is_file():
            return path
    return None


def _prepare_wells(res: Results, path: Path) -> None:
    wells = read_result_csv(path, "wells")
    value_cols = [c for c in wells.columns if c == "n_cells" or c.startswith("frac_")]
    if not value_cols:
        raise ReportInputError(f"{path}: no 'n_cells' or 'frac_<class>' columns")
    _numeric(wells, ["time_h", *value_cols, "concentration", "replicate"], path)
    if wells["time_h"].isna().any():
        raise ReportInputError(f"{path}: column 'time_h' has missing values")
    wells["plate"] = wells["plate"].astype(str)
    try:
        wells["well"] = [normalize_well(w) for w in wells["well"].astype(str)]
    except FerroscreenError as exc:
        raise ReportInputError(f"{path}: {exc}") from None
    classes = [c[len("frac_") :] for c in wells.columns if c.startswith("frac_") and not c.startswith("frac_corr_")]
    corrected = [c[len("frac_corr_") :] for c in wells.columns if c.startswith("frac_corr_")]
    for c in corrected:
        if c not in classes:
            classes.append(c)
    classes.sort(key=lambda c: (c != "alive", [*KNOWN_MODES, c].index(c) if c in KNOWN_MODES else 99, c))
    res.classes = classes
    res.frac_prefix = "frac_corr_" if corrected and set(corrected) >= set(classes) else "frac_"
    if res.frac_prefix == "frac_corr_":
        res.notes.append("Fractions are confusion-corrected (frac_corr_*) where wells.csv has them.")
    if "compound" not in wells.columns or "role" not in wells.columns:
        wells = _join_layout(res, wells)
    else:
        wells = _join_fit_columns(res, wells)
    res.has_layout = "compound" in wells.columns and "role" in wells.columns
    for col in ("compound", "role", "mode", "rescue_agent"):
        if col in wells.columns:
            wells[col] = wells[col].where(wells[col].notna(), "").astype(str)
        else:
            wells[col] = ""
    for col in ("concentration", "replicate"):
        if col not in wells.columns:
            wells[col] = np.nan
    if res.has_layout:
        undosed = ~(pd.to_numeric(wells["concentration"], errors="coerce") > 0)
        blank = wells["compound"].map(is_blank_name) & (wells["role"] == "") & undosed  # medium only: no cells
        wells.loc[blank, "role"] = "empty"
        vehicle = wells["compound"].map(is_vehicle_name) & (wells["role"] == "")
        wells.loc[vehicle, "role"] = "vehicle"
        wells.loc[(wells["role"] == "") & (wells["compound"] != ""), "role"] = "sample"
    # cell line / growth condition, as the analysis groups curves (fits.csv's ``group``)
    wells["group"] = well_groups(wells)
    wells["exclude"] = exclusion_reasons(wells["exclude"]) if "exclude" in wells.columns else ""
    res.wells = wells


def fit_readouts(root: Path) -> pd.DataFrame | None:
    """``readouts.csv`` of a fit folder: one row per plate × well as the fit annotated it, or None.

    ``fit`` of a wells table writes it: the layout columns it used (text columns ``""`` where
    empty, ``exclude`` the reason a well was left out, ``--exclude`` included). None when the file
    is absent, unreadable or lacks ``plate`` and ``well``.
    """
    path = Path(root) / "readouts.csv"
    if not path.is_file():
        return None
    try:  # the tables' own reader: a compound called NA keeps its name, as fit read it
        table = read_csv_table(path, "a readouts table", error=ReportInputError)
    except ReportInputError:
        return None
    if not {"plate", "well"} <= set(table.columns):
        return None
    table["plate"] = table["plate"].astype(str)
    table["well"] = table["well"].astype(str).map(_well_or_text)
    table = table.drop_duplicates(["plate", "well"]).reset_index(drop=True)
    for col in ("compound", "role", "mode", "rescue_agent", "cell_line", "growth_condition", "group"):
        if col in table.columns:
            table[col] = table[col].where(table[col].notna(), "").astype(str)
    if "exclude" in table.columns:
        table["exclude"] = exclusion_reasons(table["exclude"])
    return table


def _join_fit_columns(res: Results, wells: pd.DataFrame) -> pd.DataFrame:
    """``wells`` (with compounds) plus the :data:`FIT_WELL_COLUMNS` it lacks, as the fit had them.

    An older ``wells.csv`` carries no ``growth_condition`` or ``exclude``, yet the fit took them
    from its layout: they come from ``readouts.csv`` (the fit's own wells), else from the layout
    file beside the results or the one ``provenance.json`` names, so that the report's groups and
    excluded wells are the fit's.
    """
    missing = [c for c in FIT_WELL_COLUMNS if c not in wells.columns]
    if not missing:
        return wells
    fitted = res.readouts
    if fitted is not None and (cols := [c for c in missing if c in fitted.columns]):
        out = wells.merge(fitted[["plate", "well", *cols]], on=["plate", "well"], how="left")
        res.notes.append(f"Column(s) {', '.join(cols)} joined from readouts.csv (the fit's wells): wells.csv has "
                         "none.")
        missing = [c for c in missing if c not in cols]
        wells = out
    if not missing:
        return wells
    beside = _find(res.root, "layout")
    paths = [beside] if beside is not None else _fit_layout(res, quiet=True)
    if not paths:
        return wells
    try:
        layout = read_layouts(paths)
    except FerroscreenError as exc:
        res.notes.append(f"The fit's layout could not be read ({exc}): wells.csv's columns are used as they are.")
        return wells
    cols = [c for c in missing if c in layout.table.columns]
    if not cols:
        return wells
    out = _merge_layout(wells, layout, cols)
    names = " + ".join(p.name for p in paths)
    where = "" if beside is not None else " (the fit's layout, from provenance.json)"
    res.notes.append(f"Column(s) {', '.join(cols)} joined from {names}{where}: wells.csv has none.")
    return out


def _apply_exclusions(res: Results) -> None:
    """Mark the wells the fit left out and note every excluded well.

    Besides ``wells``' own ``exclude`` column (``wells.csv``'s or its joined layout's): the wells
    ``readouts.csv`` says the fit excluded, and those ``fit --exclude`` named (``provenance.json``).
    """
    fit = res.provenance.get("fit") if isinstance(res.provenance.get("fit"), dict) else {}
    fitted = res.readouts
    if fitted is not None and "exclude" in fitted.columns:
        reasons = fitted[fitted["exclude"] != ""].set_index(["plate", "well"])["exclude"]
        keys = pd.MultiIndex.from_frame(res.wells[["plate", "well"]])
        theirs = reasons.reindex(keys).fillna("").to_numpy(object)
        wells = res.wells.copy()
        wells["exclude"] = wells["exclude"].where(wells["exclude"] != "", theirs)
        res.wells = wells
    entries = fit.get("exclude") or []
    if entries and isinstance(entries, list):
        try:
            res.wells = mark_excluded(res.wells, entries)
        except AnalysisInputError as exc:
            res.notes.append(f"provenance.json: {exc}; those wells are shown as used")
    excluded = res.wells[res.wells["exclude"] != ""]
    if len(excluded):
        n, named = excluded_listing(excluded)
        res.notes.append(
            f"{n} excluded well{'s' if n != 1 else ''} (layout 'exclude' column or fit --exclude), left out of the "
            f"fits, dose points and time courses and framed and struck through on the plate maps: {named}"
        )


def _note_fit_exclusions(res: Results) -> None:
    """Without wells: note the wells ``readouts.csv`` says the fit left out (as :func:`_apply_exclusions` does)."""
    fitted = res.readouts
    if fitted is None or "exclude" not in fitted.columns:
        return
    excluded = fitted[fitted["exclude"] != ""]
    if len(excluded):
        n, named = excluded_listing(excluded)
        res.notes.append(f"{n} excluded well{'s' if n != 1 else ''} (readouts.csv: layout 'exclude' column or fit "
                         f"--exclude), left out of the fits: {named}")


def _fit_layout(res: Results, quiet: bool = False) -> list[Path] | None:
    """The layout file(s) ``provenance.json`` says the fit used that are still there unchanged.

    A file gone or changed since the fit is said in the report's notes and left out; the others
    are used. ``quiet``: the wells know their compounds, so a gone layout costs only the columns
    wells.csv lacks (a note says which, not that the plates have no layout).
    """
    records = res.provenance.get("layout")
    records = records if isinstance(records, list) else [records]
    paths = []
    for record in records:
        if not isinstance(record, dict) or not record.get("path"):
            continue
        path = Path(str(record["path"]))
        if not path.is_file() and (found := relocated(record, res.root)) is not None:
            res.notes.append(f"{path.name}, a layout of the fit, is no longer at {path}: read from {found} (same "
                             "sha256).")
            path = found
        if not path.is_file():
            res.notes.append(f"{path.name}, a layout of the fit, is no longer at {path}: " + (
                f"its {' and '.join(FIT_WELL_COLUMNS)} columns are not known here." if quiet
                else "its plates have no layout columns here."))
            continue
        if record.get("sha256") and file_sha256(path) != record["sha256"]:
            res.notes.append(f"{path.name}, the fit's layout, has changed since the fit (sha256 differs): not used.")
            continue
        paths.append(path)
    return paths or None


def _join_layout(res: Results, wells: pd.DataFrame) -> pd.DataFrame:
    beside = _find(res.root, "layout")
    paths = [beside] if beside is not None else _fit_layout(res)
    if not paths:
        given = "provenance.json's layout is gone or changed" if res.provenance.get("layout") else (
            "neither the folder nor provenance.json gives a layout")
        res.notes.append(f"wells.csv has no layout columns and {given}: time courses per compound and dose are not "
                         "shown.")
        return wells
    layout = read_layouts(paths)
    names = " + ".join(p.name for p in paths)
    cols = [c for c in LAYOUT_JOIN_COLUMNS if c in layout.table.columns]
    out = _merge_layout(wells, layout, cols)
    matched = out["compound"].notna() | out["role"].notna() if "role" in out.columns else out["compound"].notna()
    if not matched.any():
        res.notes.append(
            f"{names} matches no well of wells.csv (plates {', '.join(layout.plate_ids)} vs "
            f"{', '.join(sorted(set(wells['plate'])))}): compounds are unknown."
        )
    else:
        where = "" if beside is not None else " (the fit's layout, from provenance.json)"
        res.notes.append(f"Layout columns joined from {names}{where}.")
    return out


def _merge_layout(wells: pd.DataFrame, layout, cols: list[str]) -> pd.DataFrame:
    """``wells`` with the layout's ``cols`` (replacing any it has), matched on well (and plate, as fit matches them)."""
    table = layout.table.copy()
    table["plate_id"] = table["plate_id"].astype(str)
    single = len(layout.plate_ids) <= 1
    keys = ["well"] if single else ["plate_id", "well"]
    right = table[keys + cols].drop_duplicates(keys)
    keep = [c for c in wells.columns if c not in cols]
    if single:
        return wells[keep].merge(right, on="well", how="left")
    # each plate's rows as fit found them (LIB01_rep2 takes LIB01's)
    plate_ids = {p: layout.plate_id_for(p) or p for p in wells["plate"].astype(str).unique()}
    keyed = wells[keep].assign(_plate_id=wells["plate"].astype(str).map(plate_ids))
    out = keyed.merge(right, left_on=["_plate_id", "well"], right_on=keys, how="left")
    return out.drop(columns=["plate_id", "_plate_id"])


def relocated(record: dict, root: Path) -> Path | None:
    """Where the file a provenance ``record`` (``path``, ``sha256``) names is now, or None.

    The recorded path when it is a file; else, when the results folder ``root`` was moved or copied
    with its inputs, the file at the same place relative to ``root`` or to one of its two parent folders
    (the recorded path's last one to three parts: ``A/results/wells.csv`` for a fit in ``A/fit2``
    moved to ``B/fit2`` is ``B/results/wells.csv``), taken only when its sha256 is the recorded one.
    """
    path = Path(str(record.get("path", "")))
    if path.is_file() or not record.get("sha256"):
        return path if path.is_file() else None
    parts = path.parts
    seen = set()
    for base in (root, root.parent, root.parent.parent):
        for k in (1, 2, 3):
            if k >= len(parts):
                break
            candidate = base.joinpath(*parts[-k:])
            if candidate in seen or not candidate.is_file():
                continue
            seen.add(candidate)
            if file_sha256(candidate) == record["sha256"]:
                return candidate
    return None


def _fitted_wells_table(provenance: dict, notes: list[str], root: Path) -> Path | None:
    """The wells table a fit took as its input (``provenance.json``), when it is still there unchanged.

    ``fit WELLS.csv --out DIR`` writes no ``wells.csv`` of its own into ``DIR``; the report reads the input,
    found where it was or, after a move, by :func:`relocated`.
    """
    fit, given = provenance.get("fit"), provenance.get("input")
    if not (isinstance(fit, dict) and fit.get("input_kind") == "wells" and isinstance(given, dict)):
        return None
    path = Path(str(given.get("path", "")))
    if path.suffix.lower() not in (".csv", ".tsv", ".txt"):  # a score store's wells: fit wrote them as wells.csv
        return None
    found = relocated(given, root)
    if found is None and not path.is_file():
        notes.append(f"The fit's wells table {path} (provenance.json) is gone: time courses and plate maps not shown.")
        return None
    if found is None or (given.get("sha256") and file_sha256(found) != given["sha256"]):
        notes.append(f"The fit's wells table {path} changed since the fit (sha256): time courses and plate maps not "
                     f"shown.")
        return None
    moved = "" if found == path else f", found at {found} after a move"
    notes.append(f"Wells read from the fit's input {path} (provenance.json{moved}; unchanged since the fit).")
    return found


def _edited_since_fit(provenance: dict, wells: Path) -> bool:
    """Whether ``wells``, the results folder's own ``wells.csv``, is the fit's input and changed since the fit.

    It is the input when ``provenance.json`` names it (the same file, or a file of the same name that is
    no longer at the recorded path: the folder moved) with a sha256.
    """
    fit, given = provenance.get("fit"), provenance.get("input")
    if not (isinstance(fit, dict) and fit.get("input_kind") == "wells" and isinstance(given, dict)
            and given.get("sha256")):
        return False
    path = Path(str(given.get("path", "")))
    same = path.is_file() and path.resolve() == wells.resolve()
    moved = not path.is_file() and path.name == wells.name
    return (same or moved) and file_sha256(wells) != given["sha256"]


def progress_notes(res: Results) -> list[str]:
    """The summary's first notes: the data's provisional scans, then the fit's notes (``provenance.json``).

    Provisional scans are those ``wells.csv``'s ``provisional`` column marks (``export``'s: classified
    without all the later scans the model reads, as the plate had none yet), per plate with the
    fit's endpoint when it is one of them: the plate may still be being imaged, and those rows
    change when the later scans are scored. Each of the fit's notes follows as ``Fit: ...``.
    """
    notes = []
    wells = res.wells
    if wells is not None and "provisional" in wells.columns:
        marked = pd.to_numeric(wells["provisional"], errors="coerce").fillna(0).to_numpy() > 0
        for plate, rows in wells[marked].groupby("plate", sort=True):
            late = sorted(set(rows["time_h"]))
            last = float(wells.loc[wells["plate"] == plate, "time_h"].max())
            end = _fit_endpoint(res, str(plate), last)
            at_end = any(abs(end - t) < 1e-9 for t in late)
            at_end = f"; the fit's endpoint ({end:g} h) is one of them" if at_end else ""
            notes.append(f"Plate {plate}: the data end with provisional scans ({', '.join(f'{t:g}' for t in late)} h, "
                         f"{rows['well'].nunique()} wells): classified without all the later scans the model reads, "
                         f"as the plate had none yet. If it is still being imaged, these results are not final: "
                         f"those scans change when the later ones are scored{at_end}.")
    said = res.provenance.get("notes")
    if isinstance(said, list):
        notes += [f"Fit: {n}" for n in said if isinstance(n, str) and n.strip()]
    return notes


def _fit_endpoint(res: Results, plate: str, last: float) -> float:
    """The endpoint scan the fit took on ``plate``: ``readouts.csv``'s ``time_end_h``, else ``last``."""
    r = res.readouts
    if r is not None and {"plate", "time_end_h"} <= set(r.columns):
        ends = pd.to_numeric(r.loc[r["plate"].astype(str) == plate, "time_end_h"], errors="coerce").dropna()
        if len(ends):
            return float(ends.max())
    return last


def _load_provenance(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportInputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ReportInputError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _well_or_text(text: str) -> str:
    try:
        return normalize_well(text)
    except FerroscreenError:
        return text


def compound_gallery_png(res: Results, compound: str, group: str = "") -> bytes | None:
    """The gallery PNG of ``compound`` alone (no rescue agent) in ``group``, or None.

    Its cells' wells are looked up in ``wells`` (their compound, rescue agent and
    group, as the report's sections are made); the image must be a PNG inside
    the results folder.
    """
    g = res.compound_gallery
    if g is None or g.empty:
        return None
    if res.wells is not None and res.has_layout:
        info = res.wells.drop_duplicates(["plate", "well"]).set_index(["plate", "well"])[
            ["compound", "rescue_agent", "group"]]
        keys = pd.MultiIndex.from_arrays([g["plate"].astype(str), g["well"].astype(str).map(_well_or_text)])
        joined = info.reindex(keys)
        mine = (joined["compound"].to_numpy() == compound) & (joined["rescue_agent"].to_numpy() == "") & (
            joined["group"].to_numpy() == group)
    else:
        agent = g["rescue_agent"] if "rescue_agent" in g.columns else pd.Series("", index=g.index)
        mine = ((g["compound"] == compound) & (agent.fillna("").astype(str) == "")).to_numpy() & (group == "")
    images = list(dict.fromkeys(g.loc[mine, "image"]))
    if not images:
        return None
    root = res.root.resolve()
    path = (res.root / images[0]).resolve()
    if not path.is_relative_to(root):
        res.notes.append(f"gallery_compounds.csv: image '{images[0]}' lies outside the results folder; not shown")
        return None
    return _load_png(path, res.notes)


def _load_png(path: Path, notes: list[str]) -> bytes | None:
    """The bytes of ``path`` when it is a PNG file; else None and a note."""
    try:
        data = path.read_bytes()
    except OSError:
        notes.append(f"{path.name} is missing: the cell gallery is not shown.")
        return None
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        notes.append(f"{path.name} is not a PNG image: the cell gallery is not shown.")
        return None
    return data


def load_results(root: str | Path) -> Results:
    """Load and validate the tables of a results folder.

    Args:
        root: The results folder (see the module docstring for its files).

    Returns:
        A :class:`Results`; tables that are absent are None and named in ``notes``.

    Raises:
        ReportInputError: If the folder is missing, holds neither ``wells.csv``
            nor ``fits.csv``, or a table is unreadable or lacks required columns.
        LayoutError: If a layout file has to be joined and is invalid.
    """
    root = Path(root)
    if not root.exists():
        raise ReportInputError(f"{root}: results folder not found")
    if not root.is_dir():
        raise ReportInputError(f"{root}: is a file, expected a results folder (with wells.csv, fits.csv...)")
    res = Results(root=root)
    for name in RESULT_FILES:
        path = _find(root, name)
        if path is not None:
            res.files[name] = path
    if "wells" not in res.files and "fits" not in res.files:
        raise ReportInputError(f"{root}: no wells.csv or fits.csv (is this a ferroscreen results folder?)")
    wells_said = False  # a note already says why the fit's wells are not shown
    if "provenance" in res.files:
        res.provenance = _load_provenance(res.files["provenance"])
        if "wells" in res.files and _edited_since_fit(res.provenance, res.files["wells"]):
            res.notes.append(f"{res.files['wells']}, the fit's input, changed since the fit (sha256 differs from "
                             "provenance.json's): time courses and plate maps not shown.")
            del res.files["wells"]
            wells_said = True
        elif "wells" not in res.files:
            n_notes = len(res.notes)
            if (given := _fitted_wells_table(res.provenance, res.notes, root)) is not None:
                res.files["wells"] = given
            wells_said = given is None and len(res.notes) > n_notes
    res.readouts = fit_readouts(root)
    if "wells" in res.files:
        _prepare_wells(res, res.files["wells"])
    numeric = {
        "fits": [
            c
            for c in (
                "ec50",
                "ec50_lo",
                "ec50_hi",
                "ec50_se",
                "hill",
                "bottom",
                "top",
                "asymmetry",
                "emax",
                "auc",
                "p_value",
                "q_value",
                "dose_min",
                "dose_max",
            )
        ],
        "ranking": ["rank", "score"],
        "ec50_time": ["time_h", "ec50", "ec50_lo", "ec50_hi"],
        "rescue": [],  # two accepted schemas: numeric columns are checked where present, below
        "points": ["dose", "response"],
        "lines": ["ec50_a", "ec50_b", "ratio", "ratio_lo", "ratio_hi", "p_value", "q_value", "effect_a", "effect_b"],
        "gallery": ["time_h", "p"],
        "compound_gallery": ["time_h", "p"],
    }
    for name in ("fits", "ranking", "qc", "ec50_time", "rescue", "lines", "points", "gallery", "compound_gallery"):
        path = res.files.get(name)
        if path is None:
            continue
        table = read_result_csv(path, name)
        cols = numeric.get(name, [])
        if name == "rescue":
            cols = [c for c in RESCUE_NUMERIC if c in table.columns]
        _numeric(table, cols, path)
        for col in ("curve", "readout", "compound", "mode", "plate", "treatment", "rescue_agent", "group", "line_a",
                    "line_b", "call_a", "call_b", "verdict", "note", "image"):
            if col in table.columns:
                table[col] = table[col].where(table[col].notna(), "").astype(str)
        if "curve" in table.columns and name in ("fits", "ec50_time"):  # what each curve treats (not ranking's)
            table["name"] = treatment_names(table)
        setattr(res, name, table)
    if res.wells is not None:
        _apply_exclusions(res)
    else:
        _note_fit_exclusions(res)
    if res.rescue is not None:
        _note_unplaced_ratios(res)
    res.notes[:0] = progress_notes(res)
    if res.gallery is not None:
        res.gallery_png = _load_png(res.files["gallery"].with_suffix(".png"), res.notes)
    for name, label in (
        ("fits", "dose-response fits"),
        ("ranking", "ranking"),
        ("qc", "plate QC"),
        ("wells", "time courses and plate maps"),
    ):
        if name not in res.files and not (name == "wells" and wells_said):
            res.notes.append(f"No {RESULT_FILES[name][0]}: {label} not shown.")
    return res
