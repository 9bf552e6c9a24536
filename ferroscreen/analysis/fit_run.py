"""What ``ferroscreen fit`` does once its input is loaded.

The CLI reads the input (a tidy CSV, a ``wells.csv``, an IncuCyte metric
export through ``ferroscreen.io``, or a score store through
``ferroscreen.score``) and hands the table here with its kind:

``tidy``
    ``curve, dose, response[, n][, readout]``: fitted as given; writes
    ``fits.csv`` (a layout is not needed and is ignored).
``wells``
    the ``wells.csv`` contract; needs a layout; writes ``fits.csv``,
    ``ranking.csv``, ``rescue.csv``, ``qc.csv`` and ``readouts.csv`` (and
    ``ec50_over_time.csv`` on request).
``metric``
    an instrument metric table (``plate, well, time_h, value``): the metric
    (cell count, or confluence as its proxy) is treated as ``n_cells``; by
    default the readouts are ``viability`` (metric at the last time point
    relative to the vehicle wells of the same group) and ``gr`` (growth-rate
    inhibition, when the first time point is time zero); otherwise as ``wells``.

The wells of a score store scored in tile mode carry a ``detector_mode`` column (``tiles``;
the CLI's store reader and ``export``'s ``wells.csv`` add it, :mod:`ferroscreen.score.export`,
and the ``wells.csv`` a fit of the store writes keeps it). Their ``n_cells`` counts tiles, so the count readouts
(:data:`~ferroscreen.analysis.readouts.COUNT_READOUTS`: viability, GR, DIP rate, the
endpoint count and its plate-QC row) are left out with one note
(:data:`~ferroscreen.analysis.readouts.TILE_MODE_NOTE`), asking for one is an error, and so is
model ``ll2`` (binomial), which weighs each fraction by the well's cell count.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen import __version__
from ferroscreen.analysis.activity import FRACTION_MIN_EFFECT, default_min_effect
from ferroscreen.analysis.dose_response import fit_curves, fit_curves_with_params
from ferroscreen.analysis.dose_tables import CURVE_ROLES, annotate_wells, curve_name, mark_excluded, split_excluded
from ferroscreen.analysis.inputs import (
    AnalysisInputError,
    AnalysisInputWarning,
    NothingToFitError,
    canonical_wells,
    implausible_molar_dose,
    validate_wells,
    well_entries,
    wells_from_metric,
)
from ferroscreen.analysis.layout_notes import groups_apart_by_case, lone_far_doses, same_agent_spellings
from ferroscreen.analysis.readouts import COUNT_READOUTS, tile_mode_plates
from ferroscreen.analysis.rescue import verdict_lines
from ferroscreen.analysis.results_workbook import FitAbout, write_results_workbook
from ferroscreen.analysis.screen import (
    analyse_screen,
    ec50_over_time,
    fitted_points,
    summary_line,
    write_outputs,
)
from ferroscreen.json_output import write_json
from ferroscreen.output_set import OutputSet, output_set
from ferroscreen.plate import PlateFormat, PlateLayout, format_molar, make_layout
from ferroscreen.plate.layout import WELLS_LAYOUT_COLUMNS
from ferroscreen.plate.units import GRAMS_PER_LITRE
from ferroscreen.provenance import command_line, created_now, environment, replaced_run_note

KINDS = ("tidy", "wells", "metric")
#: The activity calls' FDR level (provenance's ``fit.alpha``): the fit's own default, which ``fit`` has no option for.
ACTIVITY_ALPHA: float = fit_curves_with_params.__kwdefaults__["alpha"]
#: Outputs only a fit with a layout writes; a tidy fit into the same folder removes an earlier run's.
SCREEN_ONLY = ("ranking.csv", "rescue.csv", "qc.csv", "readouts.csv", "lines.csv", "ec50_over_time.csv",
               "fitted_points.csv")

#: What ``fit`` adds to the note on doses that look like µM or nM read as molar (:func:`implausible_molar_dose`).
_COLUMNS_HINT = ", or give --columns dose=COL:uM"


@contextmanager
def _input_notes(notes: list[str]) -> Iterator[None]:
    """Collect the :class:`AnalysisInputWarning` s raised inside into ``notes`` (each message once).

    ``fit`` prints them as its ``note:`` lines, not as Python's two-line warnings. When the block
    raises an :class:`AnalysisInputError` (no rows left once the infinite responses are left out), its
    message ends with the first new note instead; a warning of another kind is issued again as it came.
    """
    said: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", AnalysisInputWarning)
            yield
    except AnalysisInputError as exc:
        told = [m for m in _input_messages(said) if m not in notes]
        if not told:
            raise
        raise type(exc)(f"{exc}; {told[0]}" + (f" (and {len(told) - 1} more)" if len(told) > 1 else "")) from None
    finally:
        for w in said:
            if not issubclass(w.category, AnalysisInputWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    notes.extend(m for m in _input_messages(said) if m not in notes)


def _input_messages(said: list[warnings.WarningMessage]) -> list[str]:
    """The messages of the :class:`AnalysisInputWarning` s among ``said``, each once, in order."""
    return list(dict.fromkeys(str(w.message) for w in said if issubclass(w.category, AnalysisInputWarning)))


def _tidy_notes(notes: list[str], table: pd.DataFrame, source) -> list[str]:
    """``fit``'s note lines for a tidy table's input warnings: the molar-dose one also names ``--columns``."""
    dose = pd.to_numeric(table["dose"], errors="coerce")
    finite = np.isfinite(pd.to_numeric(table["response"], errors="coerce").to_numpy(float))
    molar = implausible_molar_dose(dose[finite])  # the rows validate_tidy keeps, as it checks them
    said = f"{source if source is not None else 'table'}: {molar}"
    return [f"note: {n}{_COLUMNS_HINT if molar is not None and n == said else ''}" for n in notes]


def write_provenance(out_dir: str | Path | OutputSet, source: str | Path | list, options: dict,
                     store_attrs: dict | None = None, layout: str | Path | list | None = None) -> Path:
    """Write ``provenance.json`` for a ``fit`` run into ``out_dir`` (a folder, or the run's :class:`OutputSet`).

    The report's provenance section reads it.

    Records this ferroscreen's version, the software it runs on (``environment``:
    :func:`ferroscreen.provenance.environment`, with the git commit when run from a checkout), how
    it was started (``command``: ``argv`` and ``cwd``, :func:`ferroscreen.provenance.command_line`),
    the input and layout files with their
    sha256 (``input`` the first input; ``inputs`` every one when ``source`` lists several;
    ``layout``: one record, or a list of them for a layout of several files),
    the fit ``options``, and, when the input is a score store (or export's wells of one), how
    its wells were scored (``store_attrs``: the store's
    :data:`~ferroscreen.score.store.SCORING_ATTRS`, model bundle and its hash, precision,
    detector, normalisation, acquisition, scoring version); ``created`` is UTC ISO 8601
    (:func:`ferroscreen.provenance.created_now`), as every other output writes it. ``outputs`` maps
    each file the fit wrote (``fits.csv``, ``ranking.csv``, ``results.xlsx``, ...; ``provenance.json``
    itself left out) to its sha256, taken once they are complete (:func:`_output_digests`), so that
    a later check tells an edited table. An earlier run's
    record in the folder is replaced (:func:`run_fit` notes one made by another ferroscreen).
    ``options["notes"]``, when given (the run's notes, as :func:`run_fit` records them), is written
    as ``notes`` beside ``fit``: the report's summary shows them.
    """
    from ferroscreen.hashing import file_sha256

    def described(path) -> dict:
        path = Path(path)
        return {"path": str(path.resolve()), "sha256": file_sha256(path) if path.is_file() else None}

    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    prov = {"ferroscreen_version": __version__, "environment": environment(), "command": command_line(),
            "input": described(sources[0])}
    if len(sources) > 1:
        prov["inputs"] = [described(p) for p in sources]
    if isinstance(layout, (list, tuple)):
        prov["layout"] = described(layout[0]) if len(layout) == 1 else [described(p) for p in layout]
    elif layout is not None:
        prov["layout"] = described(layout)
    options = dict(options)
    notes = options.pop("notes", None)
    prov["fit"] = options
    if notes is not None:
        prov["notes"] = [str(n) for n in notes]
    if store_attrs is not None:
        prov["scoring"] = dict(store_attrs)
    prov["created"] = created_now()
    with output_set(out_dir) as outputs:
        prov["outputs"] = _output_digests(outputs)
        write_json(outputs.path("provenance.json"), prov)
    return outputs.final("provenance.json")


def _output_digests(outputs: OutputSet) -> dict[str, str]:
    """``{file name: sha256}`` of the fit's outputs but ``provenance.json``, sorted by name.

    A set the fit wrote into (``fit``'s own, not committed yet): the files it holds for commit,
    hashed as they will lie (a commit renames them unchanged). A new set of a folder a fit wrote
    into before (``demo``): the folder's files, hidden ones left out.
    """
    from ferroscreen.hashing import file_sha256

    written = outputs.pending()
    if not written and outputs.folder.is_dir():
        written = {p.name: p for p in outputs.folder.iterdir() if p.is_file() and not p.name.startswith(".")}
    return {name: file_sha256(path) for name, path in sorted(written.items())
            if name != "provenance.json" and Path(path).is_file()}


def layout_from_table(table: pd.DataFrame, wells: list[str], source: str | Path | None = None,
                      plate_format: PlateFormat | int | None = None) -> PlateLayout:
    """A :class:`PlateLayout` from a layout table stored beside the data (e.g. in a score store).

    The plate format is ``plate_format`` when the store records one, else the one a layout file of
    the table's wells is read as: the smallest holding the layout's own wells and the data's
    ``wells`` (the scored wells may be a few of the plate's), at least a 96-well plate
    (:func:`ferroscreen.plate.read_layout`'s rule). A layout scored for 8 wells of a 96-well plate
    is therefore that 96-well plate, whatever wells were imaged. Its ``form`` is ``stored``: no
    layout file holds it, so the ``wells.csv`` a fit derives carries its columns (:func:`run_fit`).

    Args:
        table: The stored layout table (``plate_id, well, ...``; molar concentrations).
        wells: The data's wells.
        source: The file the table was stored in (the score store), named by errors and by the layout.
        plate_format: The plate format the store records, if any.

    Raises:
        AnalysisInputError: A well of the layout or the data that lies outside the plate format (or
            is no well id), naming ``source``.
    """
    from ferroscreen.errors import WellError

    where = f"{source}: " if source is not None else ""
    try:
        if plate_format is not None:
            fmt = plate_format if isinstance(plate_format, PlateFormat) else PlateFormat.from_n_wells(int(plate_format))
        else:
            named = [str(w) for w in table["well"].dropna()] if "well" in table.columns else []
            everything = list(dict.fromkeys([*named, *map(str, wells)]))
            fmt = PlateFormat.of_layout(everything)
        layout = make_layout(table.to_dict("records"), fmt, Path(source) if source is not None else None)
        layout.form = "stored"
    except WellError as exc:
        raise AnalysisInputError(f"{where}stored layout: {exc}") from None
    outside = [w for w in dict.fromkeys(map(str, wells)) if not _on_plate(fmt, w)]
    if outside:
        raise AnalysisInputError(f"{where}well(s) {', '.join(outside[:5])} lie outside the stored layout's "
                                 f"{fmt.n_wells}-well plate ({fmt.rows} rows x {fmt.cols} columns)")
    return layout


def _on_plate(fmt: PlateFormat, well: str) -> bool:
    try:
        return fmt.contains(well)
    except ValueError:  # no well id (WellError)
        return False


#: Of those, the columns that hold text (a CSV reader takes a column of 1s and blanks for numbers).
_WELLS_LAYOUT_TEXT = ("compound", "role", "mode", "rescue_agent", "rescue_as_written", "cell_line",
                      "growth_condition", "exclude")


def _as_text(values: pd.Series) -> pd.Series:
    """A text column read as numbers (``exclude`` 1/blank, a ``growth_condition`` of 10) as the text written."""
    if not pd.api.types.is_numeric_dtype(values):
        return values
    return values.map(lambda v: None if pd.isna(v) else f"{v:g}").astype(object)


def layout_in_wells(table: pd.DataFrame, source: str | Path | None = None) -> PlateLayout | None:
    """The layout a wells table carries in its own columns (``export`` joins the store's), else None.

    It needs ``compound`` and ``concentration`` columns whose doses are molar (a ``unit`` column,
    when there is one, says ``M`` wherever a dose is given); each plate and well's first row is its.
    It takes every one of :data:`WELLS_LAYOUT_COLUMNS` the table has, so its ``exclude`` column
    leaves wells out and its ``cell_line`` and ``growth_condition`` columns group the curves as a
    layout file's do. The layout's ``form`` is ``wells`` and its ``source`` is ``source``.

    Raises:
        AnalysisInputError: A well that is no well id (naming ``source`` and the row).
    """
    if not {"compound", "concentration"} <= set(table.columns):
        return None
    rows = table.assign(well=canonical_wells(table["well"], source)).drop_duplicates(["plate", "well"])
    conc = pd.to_numeric(rows["concentration"], errors="coerce")
    if "unit" in rows.columns:
        unit = rows["unit"].fillna("").astype(str).str.strip()
        if not unit[conc.notna()].isin(["M"]).all():
            return None
    keep = [c for c in WELLS_LAYOUT_COLUMNS if c in rows.columns and c != "unit"]
    records = rows[["plate", "well", *keep]].rename(columns={"plate": "plate_id"}).assign(concentration=conc)
    for col in _WELLS_LAYOUT_TEXT:
        if col in records.columns:
            records[col] = _as_text(records[col])
    records = records.astype(object).where(records.notna(), None)
    layout = layout_from_table(records, list(rows["well"].astype(str)), source)
    layout.form = "wells"
    layout.source = Path(source) if source is not None else None
    return layout


def with_layout_columns(table: pd.DataFrame, layout: PlateLayout | None) -> pd.DataFrame:
    """``table`` (``plate, well``, ...) with ``layout``'s :data:`WELLS_LAYOUT_COLUMNS` joined, as ``export`` writes.

    Each plate takes its layout plate's rows (:func:`~ferroscreen.analysis.dose_tables.annotate_wells`):
    molar doses under unit ``M``, text columns blank where empty (every column is written, blank where
    the layout lacks it), ``exclude`` the reason a well is left out. A table that carries a layout
    already (``compound``, ``concentration``), or no layout, is returned as it is.
    """
    if layout is None or {"compound", "concentration"} & set(table.columns):
        return table
    joined = annotate_wells(table, layout)
    joined["unit"] = joined["concentration"].notna().map({True: "M", False: ""})
    for col in WELLS_LAYOUT_COLUMNS:
        if col not in joined.columns:  # blank, as export writes a column the layout lacks
            joined[col] = ""
    return joined[[*table.columns, *WELLS_LAYOUT_COLUMNS]]


def split_readouts(values: list[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``; None or empty stays None."""
    if not values:
        return None
    out = [v.strip() for item in values for v in str(item).split(",") if v.strip()]
    return out or None


def may_write_wells(out_dir: str | Path) -> bool:
    """Whether ``fit`` may write ``out_dir/wells.csv``: absent, or written by an earlier fit there.

    A ``wells.csv`` from elsewhere (``export``'s, the user's) is never overwritten; one an
    earlier fit derived from an instrument export (``provenance.json``: ``fit.wells_csv``)
    is replaced so that it matches the new fit.
    """
    out_dir = Path(out_dir)
    if not (out_dir / "wells.csv").exists():
        return True
    try:
        fit = json.loads((out_dir / "provenance.json").read_text(encoding="utf-8")).get("fit", {})
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(fit, dict) and fit.get("wells_csv") is True


def unmolar_doses(layout: PlateLayout) -> list[str]:
    """Notes on doses that are not molar or not given.

    One per compound whose curve wells give no dose at all, one per compound whose curve wells give
    doses that are not molar (so it gets no curve), one per compound some of whose curve wells give
    no dose while its others do (naming those wells: they join no curve), and one per rescue agent
    whose doses stay as written.

    Raises:
        NothingToFitError: No curve well (:data:`~ferroscreen.analysis.dose_tables.CURVE_ROLES`) of the
            layout names a compound (no compound column, or its cells blank in those wells): no curve.
    """
    t = layout.table
    named = t[t["role"].isin(CURVE_ROLES) & (t["compound"].astype(str) != "")]
    if named.empty:
        roles = f"{', '.join(CURVE_ROLES[:-1])} or {CURVE_ROLES[-1]}"
        raise NothingToFitError(f"{layout.source or 'layout'}: no {roles} well names a compound (is its compound "
                                f"column missing or blank?), so there is no dose-response curve to fit")
    if "concentration_raw" not in t.columns:
        return []
    raw = pd.to_numeric(t["concentration_raw"], errors="coerce")
    lost = named[named["concentration"].isna() & (raw[named.index] > 0)]
    notes = []
    several = named["plate_id"].nunique() > 1
    for compound, dosed in raw[named.index].notna().groupby(named["compound"], sort=True):
        rows = named.loc[dosed.index]
        wells = (rows["plate_id"].astype(str) + " " if several else "") + rows["well"].astype(str)
        if not dosed.any():
            notes.append(f"{layout.source or 'layout'}: {compound}: no dose in the layout ({len(wells)} well(s)); its "
                         f"wells join no dose-response curve")
        elif not dosed.all():
            undosed = list(wells[~dosed])
            joins = "it joins" if len(undosed) == 1 else "they join"
            notes.append(f"{layout.source or 'layout'}: {', '.join(undosed)} {compound}: no dose, so {joins} no "
                         f"curve (its other wells give the compound's doses)")
    for compound, g in lost.groupby("compound", sort=True):
        units = sorted(set(g["unit"].astype(str)))
        mass = [u for u in units if u in GRAMS_PER_LITRE]
        why = " without a molecular weight (an 'mw' column in g/mol converts them)" if mass else ""
        notes.append(f"{layout.source or 'layout'}: {compound}: doses in {', '.join(units)}{why} are not molar; "
                     f"its wells join no dose-response curve")
    if "rescue_as_written" in t.columns:
        kept = t[t["rescue_as_written"].fillna("").astype(str) != ""]
        for agent, g in kept.groupby("rescue_agent", sort=True):
            doses = ", ".join(dict.fromkeys(g["rescue_as_written"].astype(str)))
            notes.append(f"{layout.source or 'layout'}: {agent}: rescue doses kept as written ({doses}; a "
                         f"'rescue_mw' column in g/mol makes them molar); each is compared on its own")
    return notes


#: Molar doses no dose series holds: a highest dose below 1 pM or above 1 M says the unit is wrong
#: (a molar value under an ``nM`` unit, micromolar values under ``M``).
PLAUSIBLE_TOP_DOSE_M = (1e-12, 1.0)


def implausible_doses(layout: PlateLayout) -> list[str]:
    """Notes on compounds whose highest molar dose lies outside :data:`PLAUSIBLE_TOP_DOSE_M`.

    Their curves are still fitted (a dose scale is no reason to refuse), but an EC50 in fM or kM
    says the layout's unit is wrong, so the note names what was written.
    """
    t = layout.table
    dosed = t[t["role"].isin(CURVE_ROLES) & (t["compound"].astype(str) != "") & (t["concentration"] > 0)]
    low, high = PLAUSIBLE_TOP_DOSE_M
    notes = []
    for compound, g in dosed.groupby("compound", sort=True):
        top = float(g["concentration"].max())
        if low <= top <= high:
            continue
        first = g.loc[g["concentration"].idxmax()]
        written = (f"{float(first['concentration_raw']):g} {first['unit']}".strip()
                   if "concentration_raw" in g.columns and pd.notna(first.get("concentration_raw")) else "")
        where = "below 1 pM" if top < low else "above 1 M"
        notes.append(f"{layout.source or 'layout'}: {compound}: its highest dose is {format_molar(top)}"
                     f"{f' (written {written})' if written else ''}, {where}; check the layout's concentration unit")
    return notes


def names_apart_by_case(layout: PlateLayout) -> list[str]:
    """Notes on compound names that differ in letter case or spacing only (``CmpA``, ``cmpa``): two curves."""
    names = [str(n) for n in dict.fromkeys(layout.table["compound"]) if str(n).strip()]
    by_key: dict[str, list[str]] = {}
    for name in names:
        by_key.setdefault(" ".join(name.casefold().split()), []).append(name)
    return [f"{layout.source or 'layout'}: {' and '.join(repr(n) for n in spelled)} differ in letter case or spacing "
            f"only and are fitted apart; write them alike if they are one compound"
            for spelled in by_key.values() if len(spelled) > 1]


def tidy_min_effect(table: pd.DataFrame, min_effect: float | None = None) -> tuple[float | dict, dict, str | None]:
    """The activity threshold (``min_effect``) a tidy table is fitted with, its record and note.

    ``min_effect`` given (``fit --min-effect``, response units) is every readout's. Else each readout
    gets :func:`~ferroscreen.analysis.activity.default_min_effect`: 0.1 on a fraction scale, as always,
    else 10 % of its reference level (the vehicle's median response, or the 95th percentile of
    ``|response|``), so that % viability, % inhibition or raw luminescence call the curves a fraction
    table of the same data calls.

    Returns:
        ``(min_effect, record, note)``: what :func:`~ferroscreen.analysis.fit_curves` takes (one
        number, or ``readout -> number`` where readouts differ); provenance's ``min_effect`` (the
        number, or one per readout) and ``min_effect_from`` (``--min-effect``, or the rule:
        ``fraction``, ``vehicle``, ``upper``, per readout where they differ); and the note line to
        print, None when every readout's threshold is 0.1.
    """
    if min_effect is not None:
        note = (f"note: activity threshold (min effect) {min_effect:g} in response units (--min-effect)"
                if min_effect != FRACTION_MIN_EFFECT else None)
        return float(min_effect), {"min_effect": float(min_effect), "min_effect_from": "--min-effect"}, note
    if not {"dose", "response"} <= set(table.columns):  # fit_curves says what is missing
        return FRACTION_MIN_EFFECT, {"min_effect": FRACTION_MIN_EFFECT, "min_effect_from": "fraction"}, None
    readout = (table["readout"].astype(str) if "readout" in table.columns
               else pd.Series("response", index=table.index))
    found = {str(name): default_min_effect(g["dose"], g["response"])
             for name, g in table.assign(readout=readout.to_numpy()).groupby("readout", sort=False)}
    values = {name: t.value for name, t in found.items()}
    if len(set(values.values())) <= 1:
        value = next(iter(values.values()), FRACTION_MIN_EFFECT)
        record = {"min_effect": value, "min_effect_from": next(iter(found.values())).basis if found else "fraction"}
    else:
        value = values
        record = {"min_effect": values, "min_effect_from": {name: t.basis for name, t in found.items()}}
    scaled = {name: t for name, t in found.items() if t.basis != "fraction"}
    if not scaled:
        return value, record, None
    said = "; ".join(f"{name} {t.describe()}" if len(found) > 1 else t.describe() for name, t in scaled.items())
    others = "" if len(scaled) == len(found) else "; the other readouts' 0.1"
    note = (f"note: activity threshold{'s' if len(scaled) > 1 else ''} (min effect, response units) {said}"
            f"{others}: the responses are not fractions (0-1), whose threshold is 0.1 (--min-effect sets it)")
    return value, record, note


def unread_curves(table: pd.DataFrame, kind: str, fitted: pd.DataFrame, layout: PlateLayout | None = None,
                  exclude=(), source=None) -> list[str]:
    """Notes on the curves that are in the input but not in ``fits.csv`` because every reading is missing.

    A tidy table's curve (per readout where it has several) whose responses are all blank or not
    numbers; a layout's treatment (compound, or compound + rescue agent, per group) with two or more
    doses whose wells, excluded ones aside, have no reading in any ``n_cells`` or ``frac_`` column
    (a plate-reader export's ``n/a`` or saturated wells read as missing). Each is named once,
    ``"CPD-G: all 30 readings missing; no curve"``; a curve ``fitted`` holds is never named.
    """
    if kind == "tidy":
        named = table["curve"].notna() & (table["curve"].astype(str).str.strip() != "")
        rows = pd.DataFrame({
            "readout": table["readout"].astype(str) if "readout" in table.columns else "response",
            "curve": table["curve"].astype(str),
            "read": np.isfinite(pd.to_numeric(table["response"], errors="coerce").to_numpy(float)),
        })[named]  # fmt: skip
        have = set(zip(fitted["readout"].astype(str), fitted["curve"].astype(str), strict=True))
        several = rows["readout"].nunique() > 1
        return [f"{curve}{f' ({readout})' if several else ''}: all {len(g)} readings missing; no curve"
                for (readout, curve), g in rows.groupby(["readout", "curve"], sort=False)
                if not g["read"].any() and (readout, curve) not in have]
    have = set(fitted["curve"].astype(str))
    measured = [c for c in table.columns if c == "n_cells" or str(c).startswith("frac_")]
    if layout is None or not measured:
        return []
    with warnings.catch_warnings():  # the fit said what the input warns of
        warnings.simplefilter("ignore")
        wells = validate_wells(table, source=source)[["plate", "well", *measured]]  # its own layout columns out
        annotated = split_excluded(mark_excluded(annotate_wells(wells, layout), well_entries(exclude)))[0]
    read = annotated[measured].apply(pd.to_numeric, errors="coerce").notna().any(axis=1)
    dosed = annotated.assign(_read=read)[annotated["role"].isin(CURVE_ROLES) & (annotated["compound"] != "")
                                         & (annotated["concentration"] > 0)]
    notes = []
    for (treatment, group), g in dosed.groupby(["treatment", "group"], sort=True):
        name = curve_name(treatment, group)
        if g["concentration"].nunique() < 2 or g["_read"].any() or name in have:
            continue
        n_wells = len(g.drop_duplicates(["plate", "well"]))
        of = f" ({n_wells} wells)" if n_wells != len(g) else ""
        notes.append(f"{name}: all {len(g)} readings{of} missing; no curve")
    return notes


def refuse_blank_fractions(table: pd.DataFrame, source=None) -> None:
    """Refuse a wells table whose ``frac_<class>`` columns are blank in every row: there is nothing to fit.

    Export's ``wells.csv`` of a store none of whose frames was scored is one (its ``n_pending``
    then says how many frames wait to be scored). A table without ``frac_`` columns is not checked.

    Raises:
        AnalysisInputError: Naming ``source`` and the columns.
    """
    cols = [c for c in table.columns if str(c).startswith("frac_")]
    if not cols or table[cols].apply(pd.to_numeric, errors="coerce").notna().any().any():
        return
    pending = ""
    if {"n_frames", "n_pending"} <= set(table.columns):
        counts = table[["n_frames", "n_pending"]].apply(pd.to_numeric, errors="coerce").fillna(0).sum()
        if counts["n_pending"]:
            pending = (f" ({int(counts['n_pending'])} of its {int(counts['n_frames'])} frames were not scored yet: "
                       f"score the store to the end (--resume) and export it again)")
    raise AnalysisInputError(f"{source or 'input'}: its fraction columns ({', '.join(cols)}) are empty in every row, "
                             f"so there is nothing to fit{pending}")


def check_tile_mode(table: pd.DataFrame, model: str, readouts: list[str] | None, source=None) -> None:
    """Refuse what a wells table of tile-mode plates only (``detector_mode`` ``tiles``) cannot give.

    Its ``n_cells`` counts tiles, not cells: a count readout asked for by name
    (:data:`~ferroscreen.analysis.readouts.COUNT_READOUTS`), or model ``ll2``, which weighs each
    fraction by its well's cell count, would be made of tile counts.

    Raises:
        AnalysisInputError: Naming ``source``, the readouts or the model, and what to fit instead.
    """
    tiles = tile_mode_plates(table)
    if not tiles or set(tiles) != set(table["plate"].astype(str)):
        return
    where = source or "input"
    asked = [r for r in readouts or [] if r in COUNT_READOUTS]
    if asked:
        raise AnalysisInputError(f"{where}: tile mode: n_cells counts tiles, not cells, so there is no "
                                 f"{', '.join(asked)}; fit the class fractions (frac_<mode>, peak_<mode>, auc_<mode>)")
    if model == "ll2":
        raise AnalysisInputError(f"{where}: tile mode: n_cells counts tiles, not cells, and model ll2 (binomial) "
                                 f"weighs each fraction by its well's cell count; fit with ll4 or ll3")


def _qc_row_kind(qc) -> str:
    """What a qc.csv row is: ``plate x readout``, with ``x group`` / ``x reference`` where rows are split so."""
    def split(column: str) -> bool:
        return column in qc.columns and bool(qc[column].fillna("").astype(str).ne("").any())

    several = split("reference") and bool(qc.groupby(
        [c for c in ("plate", "group", "readout") if c in qc.columns], dropna=False).size().gt(1).any())
    return " x ".join(["plate", *(["group"] if split("group") else []), "readout", *(["reference"] if several else [])])


def _columns_hint(table) -> str:
    """How to make an unrecognised table fit: rename a wells table's columns, or map a curve table's."""
    names = [str(c) for c in getattr(table, "columns", [])]
    shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
    wells_like = any(n.lower().endswith(("well", "wells")) for n in names)
    if wells_like:  # CellProfiler's Metadata_Well, Count_Cells; a pipeline's own names
        return (f" (its columns: {shown}); a table per well is read by its column names: rename them plate, well, "
                "time_h (hours), n_cells and frac_<class> (--columns maps a dose-response table's curve, dose "
                "and response only)")
    return f" (its columns: {shown}); name its columns with --columns curve=COL,dose=COL[:uM],response=COL"


def _settings(tidy: bool, **options) -> dict:
    """The fit's settings as ``results.xlsx``'s about sheet lists them (a tidy fit: those it uses)."""
    if tidy:
        return {k: options[k] for k in ("model", "readouts", "ci_scale", "min_effect")}
    return options


def _threshold_cell(value) -> float | str:
    """A ``min_effect`` as one cell of the about sheet: the number, or ``readout=number`` per readout."""
    return ", ".join(f"{k}={v:g}" for k, v in value.items()) if isinstance(value, dict) else value


def _layout_files(layout: PlateLayout) -> list[Path]:
    """The layout files ``layout`` was read from: each plate's own, else its one source.

    None for a layout the input carries (a score store's stored layout, a wells table's own columns):
    the input is listed already.
    """
    if layout.form in ("stored", "wells"):
        return []
    files = list(dict.fromkeys(Path(p) for p in layout.plate_sources.values()))
    return files or ([Path(layout.source)] if layout.source is not None else [])


def run_fit(
    table: pd.DataFrame,
    kind: str,
    out_dir: str | Path | OutputSet,
    layout: PlateLayout | None = None,
    model: str = "ll4",
    readouts: list[str] | None = None,
    endpoint_h: float | None = None,
    over_time: bool = False,
    source=None,
    rank_on: str = "peak",
    exclude: list[str] | None = None,
    wells_csv: bool = False,
    ci_scale: str = "log",
    min_effect: float | None = None,
    record: dict | None = None,
) -> list[str]:
    """Fit, rank and QC one input; write the CSVs; return lines to print.

    ``out_dir`` is a folder, or the :class:`OutputSet` of a caller that writes more
    (provenance) and commits the set; a folder gets all of this run's outputs or none.

    ``ci_scale`` is the EC50/ED intervals' scale (``log``, or drc's ``linear``; see
    :func:`~ferroscreen.analysis.fit_curves`). With ``wells_csv`` (an input that was not a wells
    table already, e.g. an instrument export or a score store) the wells table analysed is also written as
    ``wells.csv``, which gives the report its time courses and plate maps (see :func:`may_write_wells`); the
    report joins the layout file ``provenance.json`` names, and where no file holds the layout (a score
    store's own, :func:`layout_from_table`) ``wells.csv`` carries its columns as ``export`` joins them
    (:func:`with_layout_columns`: compounds, doses, groups, excluded wells). A wells table without
    ``layout`` is fitted with the layout its own columns carry (:func:`layout_in_wells`). A wells
    table whose ``detector_mode`` column marks every plate ``tiles`` (a tile-mode score store's) has
    no count readouts (see the module docstring; :func:`check_tile_mode`).

    The CSVs hold every value in full (the shortest text that reads back as the same number), as
    ``results.xlsx`` does; its ``about`` sheet records the run (:class:`FitAbout`: time, the input
    and layout files with their sha256, these settings, the software). When the folder's
    ``provenance.json`` was written by another ferroscreen version or commit, the first line is a
    note naming both (:func:`ferroscreen.provenance.replaced_run_note`): this run replaces it. What the
    analysis warns of in the input (:class:`~ferroscreen.analysis.inputs.AnalysisInputWarning`: infinite
    responses left out, a tidy table's doses that look like µM read as molar) is a ``note:`` line, each
    once, and not a Python warning. A curve every reading of which is missing (a compound whose wells
    all read ``n/a``) is named in a note (:func:`unread_curves`).

    ``min_effect`` is the activity calls' minimal effect, in response units (``fit --min-effect``).
    Without it a layout's readouts (fractions, viability relative to the vehicle, GR) take 0.1, and a
    tidy table's readouts 0.1 on a fraction scale, else 10 % of their reference level, said in a note
    (:func:`tidy_min_effect`). ``record``, when given, receives what provenance records of it
    (``min_effect``; ``min_effect_from``: ``--min-effect``, ``default`` for a layout fit's 0.1, or a tidy
    table's rule, :func:`tidy_min_effect`) and ``alpha``, the calls' FDR level (:data:`ACTIVITY_ALPHA`); the
    about sheet lists the threshold too. ``record`` also receives
    ``notes``: the text of every ``note:`` line returned, then the notes ``export.json`` recorded of the
    store (:func:`export_notes`), which ``provenance.json`` keeps (:func:`write_provenance`). A wells
    table whose ``provisional`` column marks scans read short at the end of the data (export's) gets
    a note when the endpoint or the time courses hold them (:func:`provisional_notes`).

    Raises:
        AnalysisInputError: On unusable input (message names ``source``; it ends with the input's
            first warning, when there was one, as that may be why).
    """
    where = source or "input"
    if min_effect is not None and not (np.isfinite(min_effect) and min_effect >= 0):
        raise AnalysisInputError(f"{where}: the minimal effect (--min-effect) must be a number >= 0, "
                                 f"not {min_effect:g}")
    about = FitAbout(inputs=[] if source is None else [source], settings=_settings(
        model=model, readouts=readouts, endpoint_h=endpoint_h, over_time=over_time, rank_on=rank_on,
        exclude=exclude or [], wells_csv=wells_csv, ci_scale=ci_scale, tidy=kind == "tidy",
        min_effect=FRACTION_MIN_EFFECT if min_effect is None else float(min_effect)))
    record = {} if record is None else record
    record["alpha"] = ACTIVITY_ALPHA  # every activity call's (the report's account of the calls reads it)
    earlier = Path(out_dir.final("provenance.json") if isinstance(out_dir, OutputSet)
                   else Path(out_dir) / "provenance.json")
    replaced = [f"note: {n}" for n in [replaced_run_note(earlier, about.environment)] if n]
    if kind not in KINDS:
        raise AnalysisInputError(f"{where}: not a dose-response table (curve, dose, response), a wells table "
                                 f"(plate, well, time_h, n_cells, frac_<class>) nor a plate read{_columns_hint(table)}")
    try:
        from ferroscreen.analysis.models import get_model

        get_model(model)
    except ValueError as exc:
        raise AnalysisInputError(f"{where}: {exc}") from None
    if kind == "tidy":
        if exclude:
            raise AnalysisInputError(f"{where}: --exclude leaves wells out; a tidy curve table has no wells")
        if readouts:
            if "readout" not in table.columns:
                raise AnalysisInputError(f"{where}: --readout given but the table has no 'readout'")
            table = table[table["readout"].astype(str).isin(readouts)]
            if table.empty:
                raise AnalysisInputError(f"{where}: no rows for readout(s) {', '.join(readouts)}")
        threshold, told, threshold_note = tidy_min_effect(table, min_effect)
        record.update(told)
        about.settings["min_effect"] = _threshold_cell(told["min_effect"])
        said: list[str] = []
        with _input_notes(said):
            fits = fit_curves(table, model=model, source=source, ci_scale=ci_scale, min_effect=threshold)
        with output_set(out_dir) as outputs:
            fits.to_csv(outputs.path("fits.csv"), index=False)  # in full, as results.xlsx holds it
            book: list[str] = []
            write_results_workbook(outputs.path("results.xlsx"), {"fits": fits}, fitted_points(table), about,
                                   notes=book)
            given = Path(source).resolve() if source is not None else None
            folder = outputs.final("fits.csv").parent
            stale = [*SCREEN_ONLY, *(["wells.csv"] if (folder / "wells.csv").exists() and may_write_wells(folder)
                                     else [])]  # wells.csv only where an earlier fit derived it
            for name in stale:  # an earlier layout fit's tables would contradict these fits
                if given is None or outputs.final(name).resolve() != given:
                    outputs.drop(name)
        lines = [*replaced, f"{outputs.final('fits.csv')}: {summary_line(fits)}",
                 f"{outputs.final('results.xlsx')}: the fits and fitted points in one workbook (Prism-ready sheets)"]
        lines += [f"note: {n}" for n in book]
        if layout is not None:
            lines.append("note: a tidy table is fitted as given; the layout was not used")
        lines += _tidy_notes(said, table, source)
        lines += [f"note: {n}" for n in unread_curves(table, kind, fits)]
        lines += [threshold_note] if threshold_note else []
        return _recorded(lines, record, source)
    if kind == "metric":
        table = wells_from_metric(table, source=source)
    else:
        refuse_blank_fractions(table, source)
    check_tile_mode(table, model, readouts, source)
    if layout is None and kind == "wells":
        layout = layout_in_wells(table, source)
    if layout is None:
        raise AnalysisInputError(
            f"{where}: a {'metric export' if kind == 'metric' else 'wells table'} holds no "
            f"doses; pass --layout (layout CSV, IncuCyte .PlateMap or D300 protocol)"
        )
    exclude = exclude or []
    about.layouts = _layout_files(layout)
    layout, agents_spelled = same_agent_spellings(layout)  # Fer1 beside Ferrostatin-1: one rescue series
    thresholds = {} if min_effect is None else {"min_effect": float(min_effect)}
    record.update(min_effect=FRACTION_MIN_EFFECT if min_effect is None else float(min_effect),
                  min_effect_from="default" if min_effect is None else "--min-effect")
    unmolar = unmolar_doses(layout)
    said: list[str] = []
    try:
        with _input_notes(said):
            result = analyse_screen(
                table, layout, model=model, readouts=readouts, endpoint_h=endpoint_h, source=source,
                rank_on=rank_on, exclude=exclude, ci_scale=ci_scale, **thresholds,
            )
    except NothingToFitError as exc:  # the layout's undosed or non-molar compounds may be why
        if not unmolar:
            raise
        raise NothingToFitError(f"{exc}; {unmolar[0]}" + (f" (and {len(unmolar) - 1} more)" if len(unmolar) > 1
                                                           else "")) from None
    over_name = "ec50_over_time.csv"
    with _input_notes(said):
        over = (ec50_over_time(table, layout, readouts=readouts, model=model, exclude=exclude, ci_scale=ci_scale,
                               **thresholds) if over_time else None)
    with output_set(out_dir) as outputs:
        book: list[str] = []
        paths = write_outputs(result, outputs, about, over_time=over, notes=book)  # about: the workbook's source
        own = ([f"{where}: its own layout columns (compound, concentration, role...) are the layout"]
               if layout.form == "wells" else [])
        lines = [*replaced, *(f"note: {note}" for note in [*own, *unmolar, *implausible_doses(layout),
                                                             *names_apart_by_case(layout), *agents_spelled,
                                                             *groups_apart_by_case(layout),
                                                             *lone_far_doses(layout), *said,
                                                             *result.notes,
                                                             *provisional_notes(table, endpoint_h),
                                                             *unread_curves(table, kind, result.fits, layout,
                                                                            exclude, source)])]
        if min_effect is not None and min_effect != FRACTION_MIN_EFFECT:
            lines.append(f"note: activity threshold (min effect) {min_effect:g} in response units (--min-effect)")
        if wells_csv:
            derived = with_layout_columns(table, layout) if layout.form == "stored" else table
            derived.to_csv(outputs.path("wells.csv"), index=False)  # in full: a fit of it is this fit
            lines.append(f"{outputs.final('wells.csv')}: {len(table)} well x time rows")
        lines += [f"note: {n}" for n in book]
        lines.append(f"{paths['fits']}: {summary_line(result.fits)}")
        lines.append(f"{paths['ranking']}: {len(result.ranking)} rows")
        lines += [f"rescue: {verdict}" for verdict in verdict_lines(result.rescue)]
        if "lines" in paths:
            counts = result.lines["verdict"].value_counts()
            lines.append(f"{paths['lines']}: {len(result.lines)} line comparisons, "
                         + ", ".join(f"{int(n)} {v}" for v, n in counts.items()))
        failing = result.qc[~result.qc["pass"].astype(bool)] if len(result.qc) else result.qc
        lines.append(
            f"{paths['qc']}: {len(result.qc)} {_qc_row_kind(result.qc)} rows, {len(failing)} failing"
            + (f" ({', '.join(sorted(set(failing['plate'].astype(str))))})" if len(failing) else "")
        )
        if over is None or over.empty:  # an earlier run's table must not pass for this run's
            outputs.drop(over_name)
            if over is not None:  # one time point (an endpoint read): nothing over time
                lines.append(f"note: --over-time: the input has no time point after its first; {over_name} not written")
        else:
            over.to_csv(outputs.path(over_name), index=False)  # in full, as results.xlsx holds it
            lines.append(f"{outputs.final(over_name)}: {len(over)} rows")
        lines.append(f"{paths['xlsx']}: every table in one workbook, the {len(result.doses)} fitted points in "
                     f"Prism-ready sheets (also {paths['fitted_points'].name})")
    return _recorded(lines, record, source)


def _recorded(lines: list[str], record: dict, source) -> list[str]:
    """``lines``, their notes (and the notes of the export of ``source``) put in ``record["notes"]``."""
    said = [line[len("note: "):] for line in lines if line.startswith("note: ")]
    record["notes"] = [*said, *export_notes(source)]
    return lines


def export_notes(source) -> list[str]:
    """The ``notes`` (each ``export: ...``) of the ``export.json`` beside wells table ``source``, if it is its record.

    ``export`` records what it said of the store there (failed frames, provisional scans, a run still
    writing it); none when ``source`` is no such table or the table changed since (sha256).
    """
    from ferroscreen.hashing import file_sha256

    if source is None or not Path(source).is_file() or Path(source).suffix.lower() != ".csv":
        return []
    try:
        record = json.loads((Path(source).parent / "export.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(record, dict) or record.get("wells_csv_sha256") != file_sha256(source):
        return []
    return [f"export: {n}" for n in record.get("notes") or [] if isinstance(n, str)]


def provisional_notes(table: pd.DataFrame, endpoint_h: float | None = None) -> list[str]:
    """Notes on the scans a wells table's ``provisional`` column marks (export's; none without the column).

    Per plate: when its endpoint scan (``endpoint_h``, else its last; the scan at or before it, as
    the readouts take it) is provisional, that it is, that its fractions change while the plate is
    still being imaged, and the newest scan read in full that ``--endpoint-h`` can take; when only
    later scans are, that the peaks and AUCs include them.
    """
    if "provisional" not in table.columns or not {"plate", "time_h"} <= set(table.columns):
        return []
    marked = pd.to_numeric(table["provisional"], errors="coerce").fillna(0).to_numpy() > 0
    if not marked.any():
        return []
    times = pd.to_numeric(table["time_h"], errors="coerce")
    notes = []
    for plate, idx in table.groupby("plate", sort=True).indices.items():
        t = times.iloc[idx]
        late = sorted(set(t[marked[idx]].dropna()))
        if not late:
            continue
        scans = np.array(sorted(set(t.dropna())), dtype=float)
        before = scans[scans <= endpoint_h + 1e-9] if endpoint_h is not None else scans
        end = float(before[-1] if before.size else scans[0])
        said = ", ".join(f"{x:g}" for x in late)
        if any(abs(end - x) < 1e-9 for x in late):
            full = scans[scans < late[0] - 1e-9]
            take = f"; --endpoint-h {full[-1]:g} takes the newest scan read in full" if full.size else ""
            notes.append(f"plate {plate}: the endpoint scan ({end:g} h) is provisional (wells.csv marks {said} h "
                         f"so): classified without all the later scans the model reads, as the plate "
                         f"had none yet; while the plate is being imaged its fractions change when they are "
                         f"scored (a cell that has begun to die is read from its own look alone), and peaks and "
                         f"AUCs include those scans{take}")
        else:
            notes.append(f"plate {plate}: scan(s) {said} h are provisional (wells.csv provisional): classified without "
                         f"all the later scans the model reads; the endpoint ({end:g} h) is not, but peaks and "
                         f"AUCs include them")
    return notes
