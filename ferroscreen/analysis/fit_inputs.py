"""What ``ferroscreen fit`` reads besides score stores: one table, or instrument exports of one plate each.

:func:`load_fit_input` turns the command's INPUT files into the table :func:`~ferroscreen.analysis.fit_run.run_fit`
takes, with the notes to print and what provenance records (a score store is read by the command,
through :mod:`ferroscreen.score`, which this layer does not know):

* an IncuCyte metric export, optionally with a dead-cell count export (``dead``), or itself a
  dead-cell count scaled by maximum-kill wells (``signal="dead"``);
* a CSV table (tidy ``curve, dose, response`` or ``wells.csv``; ``columns`` names its columns);
* a plate-reader export (:mod:`ferroscreen.io.plate_reader`), blank-subtracted and, for a dead-cell
  ``signal``, scaled to ``frac_dead`` (:mod:`ferroscreen.analysis.reader_signal`).
* an image-analysis export counting cells (:func:`_image_analysis`): a CellProfiler per-image table
  (:mod:`ferroscreen.io.cellprofiler`) or a Harmony/Columbus ``PlateResults.txt``
  (:mod:`ferroscreen.io.harmony_results`), as a wells table (``n_cells``; a layout is needed).

Several wells tables (``export``'s ``wells.csv`` of replicate plates) are pooled, each plate keeping
the name its file gives it (:func:`pool_wells`; the command pools score stores with them too).
Several other INPUT files are several plates: each an IncuCyte metric export or each a plate-reader
export. A plate takes the name its file gives it (``Label`` header, the reader's plate column or
a header's plate id such as BMG's ``ID1``, else the file name). Plates named after their files
that the layout does not know are the layout's plates in the order given when there are as many
(said, and recorded in ``options["plates"]``); plate ids the exports give that match none of the
layout's plates are refused, never taken in file order (:func:`_name_plates`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.errors import missing_file
from ferroscreen.plate import PlateLayout
from ferroscreen.plate.wells import PLATE_FORMATS

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_FORMATS = tuple(PLATE_FORMATS.values())  # (rows, columns) of every plate format
STORE_SUFFIXES = (".h5", ".hdf5")


@dataclass
class FitInput:
    """The table to fit and what came with it.

    Attributes:
        table: A tidy, wells or metric (``plate, well, time_h, value``) table.
        kind: ``tidy``, ``wells``, ``metric`` or ``unknown`` (as :func:`~ferroscreen.analysis.inputs.table_kind`).
        layout: The layout to use: the one given, or the one a wells table carries in its own columns.
        notes: Lines to print, each naming its file.
        options: What provenance's ``fit`` section adds (``dead``, ``plate_reader``, ``inputs``...).
        derived: The wells table was built from instrument exports (so ``wells.csv`` may be written).
    """

    table: pd.DataFrame
    kind: str
    layout: PlateLayout | None
    notes: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    derived: bool = False


def load_fit_input(
    paths: list[Path],
    layout: PlateLayout | None = None,
    *,
    columns: dict | None = None,
    dead: Path | None = None,
    dead_over: str = "all",
    read: str | None = None,
    signal: str = "viability",
    endpoint_h: float | None = None,
    dead_read: str | None = None,
    read_option: str = "--read",
) -> FitInput:
    """Read ``fit``'s INPUT files (see the module docstring).

    ``dead_read`` names a second read of the same plate-reader exports, a dead-cell signal
    multiplexed with the viability ``read`` (CellTox Green then CellTiter-Glo): the two are fitted
    together (:func:`_multiplexed`). ``read_option`` is the option that gave ``read``, as errors name it.
    ``options["plates"]`` of the result records how each plate of instrument exports was named and
    matched with the layout (:func:`_name_plates`).

    Raises:
        AnalysisInputError (or another FerroscreenError): One line naming the file: a missing file,
            an option that does not go with the input, files that are not one plate each, plates
            that do not match the layout's, a wells table beside INPUTs of another kind, a plate in
            two wells tables, a score store among several INPUTs (the command reads stores).
    """
    paths = [Path(p) for p in paths]
    if dead is not None and not _is_metric(Path(dead)) and paths and paths[0].is_file() and not _is_metric(paths[0]):
        return _multiplexed(paths, layout, columns, None, read, signal, endpoint_h, dead_read, dead_file=Path(dead))
    if dead_read is not None:
        return _multiplexed(paths, layout, columns, dead, read, signal, endpoint_h, dead_read)
    seen: set[Path] = set()
    for path in paths:
        if not path.is_file():
            raise AnalysisInputError(missing_file(path, "input file"))
        if path.resolve() in seen:
            raise AnalysisInputError(f"{path}: given twice as INPUT")
        seen.add(path.resolve())
    first = paths[0]
    if dead is not None and signal == "dead":
        raise AnalysisInputError(f"{first}: --dead divides a dead-cell count by this cell count, --signal dead scales "
                                 f"a dead-cell signal by maximum-kill wells; give one of them")
    kinds = [_image_analysis_kind(p) for p in paths]
    if any(kinds):
        if dead is not None:
            raise AnalysisInputError(f"{first}: --dead goes with an IncuCyte metric export or a plate read, not "
                                     f"with an image-analysis export")
        result = _image_analysis(paths, kinds, layout, columns, endpoint_h)
    elif len(paths) > 1:
        result = _several_plates(paths, layout, columns, dead, read, signal, endpoint_h, read_option)
    elif dead is not None:
        result = _with_dead_fraction(first, dead, dead_over, layout, columns)
    elif _is_metric(first):
        if columns:
            raise AnalysisInputError(f"{first}: --columns is for CSV tables, not score stores or metric exports")
        result = _metric_signal(_metric(first, layout), first, layout, signal)
    else:
        result = _table_or_plate_read(first, columns, read, layout, endpoint_h, signal, read_option)
    if read is not None and "plate_reader" not in result.options:
        raise AnalysisInputError(f"{first}: --read is for a plate-reader export; this is not one")
    if signal != "viability" and "plate_reader" not in result.options and "metric_signal" not in result.options:
        raise AnalysisInputError(f"{first}: --signal is for a plate-reader or IncuCyte metric export; this is "
                                 f"neither")
    if len(paths) > 1:
        from ferroscreen.hashing import file_sha256

        result.options["inputs"] = [{"path": str(p.resolve()), "sha256": file_sha256(p)} for p in paths]
    return result


def _multiplexed(paths, layout, columns, dead, read, signal, endpoint_h, dead_read, dead_file: Path | None = None
                 ) -> FitInput:
    """A viability read and a dead-cell read of the same wells as one wells table (``n_cells``, ``frac_dead``).

    The dead-cell read is ``dead_read`` of the same exports, or the read of ``dead_file`` (its
    ``dead_read`` when it holds several), a plate-reader export of the same plate. Both reads are
    blank-subtracted; the dead-cell read is scaled by the ``pos_ctrl`` (lysis) wells. Where one
    read is a single endpoint and the other kinetic, the endpoint is taken at the kinetic read's
    last time (a lytic reagent read after the last real-time read), and only that time is fitted;
    well-times only one read has are said and left out.

    Raises:
        AnalysisInputError: Options that do not go with a second read, reads that are not plate
            reads, the same read twice, reads whose names look swapped, or reads with no well and
            time in common.
    """
    first = paths[0]
    option = "--dead" if dead_file is not None else "--dead-read"
    for other, given in (("--dead", dead is not None), ("--columns", bool(columns)), ("--signal dead",
                                                                                     signal == "dead")):
        if given:
            raise AnalysisInputError(f"{first}: --dead-read takes the dead-cell read from the same export; it does not "
                                     f"go with {other}" if dead_file is None else
                                     f"{first}: --dead with a plate-reader export does not go with {other}")
    if layout is None:
        raise AnalysisInputError(f"{first}: {option} scales the dead-cell read by the layout's pos_ctrl (lysis) "
                                 f"wells; pass --layout")
    if dead_file is None:
        if read is None:
            raise AnalysisInputError(f"{first}: --dead-read goes with --read, which names the viability read")
        if str(read).strip().lower() == str(dead_read).strip().lower():
            raise AnalysisInputError(f"{first}: --read and --dead-read name the same read")
    else:
        if not dead_file.is_file():
            raise AnalysisInputError(missing_file(dead_file, "dead-cell read export (--dead)"))
        if len(paths) > 1:
            raise AnalysisInputError(f"{dead_file}: --dead pairs one plate-reader export with one INPUT; for several "
                                     f"plates keep both reads in each plate's export and use --dead-read")
        if dead_file.resolve() == first.resolve():
            raise AnalysisInputError(f"{dead_file}: --dead names INPUT itself; name its dead-cell read with "
                                     f"--dead-read instead")
    alive = load_fit_input(paths, layout, read=read, endpoint_h=endpoint_h)
    if "plate_reader" not in alive.options:
        raise AnalysisInputError(f"{first}: --dead-read picks a second read of a plate-reader export; this is not one"
                                 if dead_file is None else f"{first}: --dead with a plate-reader export pairs it with "
                                 f"a plate-reader INPUT (the viability read); this is not one")
    if dead_file is None:
        dying = load_fit_input(paths, layout, read=dead_read, signal="dead", endpoint_h=endpoint_h,
                               read_option="--dead-read")
    else:
        export = None if _reads_as_table(dead_file) else _plate_reader_export(dead_file, True, layout)
        if export is None:
            raise AnalysisInputError(f"{dead_file}: --dead with a plate-reader INPUT takes a plate-reader export of "
                                     f"a dead-cell read (CellTox, LDH); this is not one")
        _one_dead_read(export, dead_read)
        plates = alive.table["plate"].astype(str).unique()
        own = layout.for_plate(plates[0]) if len(plates) == 1 else layout  # the dead file's rows: INPUT's plate
        dying = _same_plates(load_fit_input([dead_file], own, read=dead_read, signal="dead", endpoint_h=endpoint_h,
                                            read_option="--dead-read"), alive, dead_file, first)
    from ferroscreen.analysis.reader_signal import is_dead_signal

    alive_label, dead_label = alive.options["plate_reader"].get("label"), dying.options["plate_reader"].get("label")
    if alive_label == dead_label and dead_file is None:
        raise AnalysisInputError(f"{first}: --read {read} and --dead-read {dead_read} name the same read "
                                 f"('{alive_label}')")
    if is_dead_signal(alive_label) and not is_dead_signal(dead_label):
        raise AnalysisInputError(f"{first}: --read '{alive_label}' looks like the dead-cell read and --dead-read "
                                 f"'{dead_label}' like the viability read: swapped?")
    living = alive.table[["plate", "well", "time_h", "value"]].rename(columns={"value": "n_cells"})
    dead_wells = dying.table
    notes = list(alive.notes)
    times_alive, times_dead = sorted(living["time_h"].unique()), sorted(dead_wells["time_h"].unique())
    if dead_file is None:
        alone = (f"fit it alone, --read {dead_read} --signal dead", f"fit it alone, --read {read}")
    else:
        alone = (f"fit {dead_file.name} alone with --signal dead", f"fit {first.name} alone")
    at = None
    for one, name, many, option in ((times_alive, "viability", times_dead, alone[0]),
                                    (times_dead, "dead-cell", times_alive, alone[1])):
        if len(one) == 1 and len(many) > 1:  # an endpoint read beside a kinetic one: read after its last time
            at = many[-1] if endpoint_h is None else next((t for t in many if abs(t - endpoint_h) < 1e-6), None)
            if at is None:
                raise AnalysisInputError(f"{first}: --endpoint-h {endpoint_h:g} places the {name} endpoint at a time "
                                         f"the other read lacks (its times: {', '.join(f'{t:g}' for t in many)} h)")
            if name == "viability":
                living = living.assign(time_h=at)
            else:
                dead_wells = dead_wells.assign(time_h=at)
            later = sum(t > at for t in many)
            notes.append(f"{first}: the {name} read (one endpoint) is taken at the other read's "
                         f"{'last ' if not later else ''}time {at:g} h; the other read's {len(many) - 1} other "
                         f"time(s) are not fitted ({option} for its time course)")
    wells = living.merge(dead_wells, on=["plate", "well", "time_h"], how="outer", indicator=True)
    unshared = wells["_merge"] != "both"
    said_of = unshared & (wells["time_h"] == at) if at is not None else unshared
    if said_of.any() and not unshared.all():
        times = sorted(wells.loc[said_of, "time_h"].unique())
        one_side = wells.loc[said_of, "_merge"].map({"left_only": "viability", "right_only": "dead-cell"})
        pairs = wells.loc[said_of, ["plate", "well"]].drop_duplicates()
        listed = ", ".join(f"{p} {w}" for p, w in pairs.head(6).itertuples(index=False))
        notes.append(f"{first}: {int(said_of.sum())} well-time(s) of {len(pairs)} well(s) read by the "
                     f"{' or '.join(sorted(set(one_side)))} read only (at {', '.join(f'{t:g}' for t in times[:5])}"
                     f"{' ...' if len(times) > 5 else ''} h; {listed}{' ...' if len(pairs) > 6 else ''}) are not "
                     f"fitted")
    wells = wells[~unshared].drop(columns="_merge")
    if wells.empty:
        raise AnalysisInputError(f"{first}: the viability and dead-cell reads share no well and time (viability at "
                                 f"{', '.join(f'{t:g}' for t in times_alive[:5])} h, dead-cell at "
                                 f"{', '.join(f'{t:g}' for t in times_dead[:5])} h)")
    said = set(notes)
    notes += [n for n in dying.notes if n not in said]
    options = {"plate_reader": alive.options["plate_reader"], "dead_read": dying.options.get("plate_reader"),
               "input_kind": "metric", **({"inputs": alive.options["inputs"]} if "inputs" in alive.options else {}),
               **({"plates": alive.options["plates"]} if "plates" in alive.options else {})}
    if dead_file is not None:
        from ferroscreen.hashing import file_sha256

        options["dead_read"] = {**(options["dead_read"] or {}), "path": str(dead_file.resolve()),
                                "sha256": file_sha256(dead_file)}
    return FitInput(wells.sort_values(["plate", "well", "time_h"]).reset_index(drop=True), "wells", layout,
                    notes=notes, options=options, derived=True)


_SOFTWARE = {"cellprofiler": "a CellProfiler image table", "harmony": "a Harmony results file",
             "objects": "a CellProfiler object table"}


def _image_analysis_kind(path: Path) -> str | None:
    """``cellprofiler``, ``harmony``, ``objects`` (a CellProfiler per-object table) or None."""
    from ferroscreen.io.cellprofiler import looks_like_cellprofiler, looks_like_object_table
    from ferroscreen.io.harmony_results import looks_like_harmony_results

    if path.suffix.lower() in STORE_SUFFIXES:
        return None
    if looks_like_cellprofiler(path):
        return "cellprofiler"
    if looks_like_object_table(path):
        return "objects"
    return "harmony" if looks_like_harmony_results(path) else None


def _image_analysis(paths: list[Path], kinds: list, layout, columns, endpoint_h) -> FitInput:
    """CellProfiler per-image tables or Harmony results as one wells table: ``n_cells`` per plate, well, time.

    ``n_cells`` is the object count (CellProfiler ``Count_<objects>``, Harmony ``<population> -
    Number of Objects``) of the objects ``hits`` takes (the nuclei, else the one kind counted, else
    the one named like a nuclear stain; ``--columns n=COLUMN`` names another), summed over the
    well's fields (images) at each time. A plate's usual number of fields per well is the most
    common one; a well with other than that many fields (one failed or left out) has its count
    scaled to it, as ``score`` scales part-read wells (``n_cells_read`` the count as summed,
    ``n_done`` its fields, ``n_frames`` the usual; ``fit`` names the wells with fewer in a note,
    this reader those with more). A Harmony export without ``Number of Analyzed Fields`` is taken
    as it counts (said).
    Times: a CellProfiler column in hours (``Metadata_Time_h``, IncuCyte's ``00d12h00m``) gives
    ``time_h``; scans only numbered (``Metadata_Timepoint``, Harmony's ``Timepoint``) are fitted at
    the last scan, as is an export of one time, placed at ``endpoint_h`` (0 h without it), said.
    Plates are named and matched with the layout as plate reads are (:func:`_name_plates`).

    Raises:
        AnalysisInputError (or AcquisitionError): One line naming the file: a per-object table, exports
            of two kinds, no layout, a ``--columns`` role other than ``n``, what the readers refuse.
    """
    first = paths[0]
    objects_table = next((p for p, k in zip(paths, kinds, strict=True) if k == "objects"), None)
    if objects_table is not None:
        beside = sorted(objects_table.parent.glob("*Image.csv"))
        hint = f" ({beside[0].name} beside it)" if beside else ""
        raise AnalysisInputError(f"{objects_table}: a CellProfiler object table (a row per object); fit counts cells "
                                 f"per well from the per-image table{hint}: give that (Count_<objects>, Metadata_Well)")
    kind = kinds[0]
    other = next((p for p, k in zip(paths, kinds, strict=True) if k != kind), None)
    if other is not None:
        raise AnalysisInputError(f"{other}: not {_SOFTWARE[kind]} like {first.name}; give one kind of input")
    if layout is None:
        raise AnalysisInputError(f"{first}: {_SOFTWARE[kind]} holds no doses; pass --layout (layout CSV, IncuCyte "
                                 f".PlateMap or D300 protocol)")
    wanted = _counted(columns, kind, first)
    parts, notes, counted = [], [], {}
    for path in paths:
        part, said, counted = (_cellprofiler_wells if kind == "cellprofiler" else _harmony_wells)(path, wanted,
                                                                                                endpoint_h)
        parts.append(part)
        notes += said
    named = _name_plates(parts, paths, layout, notes)
    table = pd.concat(parts, ignore_index=True)
    twice = table.duplicated(["plate", "well", "time_h"], keep=False)
    if twice.any():
        row = table[twice].iloc[0]
        raise AnalysisInputError(f"{first}: plate {row['plate']} well {row['well']} is in several INPUTs; give each "
                                 f"plate once")
    table, usual = _to_usual_fields(table, notes, first)
    options = {"image_analysis": {**counted, "fields_per_well": usual}, "plates": named}
    if columns:
        options["columns"] = {"n": columns["n"][0]}
    return FitInput(table.sort_values(["plate", "well", "time_h"]).reset_index(drop=True), "wells", layout,
                    notes=notes, options=options, derived=True)


def _counted(columns, kind: str, path: Path) -> str | None:
    """The objects ``--columns n=COLUMN`` names (``Count_Cells`` or ``Cells``; a Harmony population), or None."""
    if not columns:
        return None
    extra = sorted(set(columns) - {"n"})
    if extra:
        raise AnalysisInputError(f"{path}: --columns {extra[0]}=... is for CSV tables; {_SOFTWARE[kind]} takes only "
                                 f"n=COLUMN, the object count to fit (Count_<objects>, or '<population> - Number of "
                                 f"Objects')")
    name = columns["n"][0].strip()
    if kind == "cellprofiler":
        return name[len("Count_"):] if name.lower().startswith("count_") else name
    from ferroscreen.io.harmony_results import _COUNT

    match = _COUNT.match(name)
    return match.group("pop") if match else name


def _objects_option(exc: Exception, hint: str) -> AnalysisInputError:
    """A reader's error, its ``--objects`` (``hits``' option) said as ``fit``'s ``--columns n=...``."""
    return AnalysisInputError(str(exc).replace("with --objects", f"with --columns n={hint}"))


def _cellprofiler_wells(path: Path, wanted: str | None, endpoint_h) -> tuple[pd.DataFrame, list[str], dict]:
    """A CellProfiler per-image table's wells (``plate, well, time_h, n_done, n_cells_read``), notes, record."""
    from ferroscreen.errors import AcquisitionError
    from ferroscreen.io.cellprofiler import read_cellprofiler, wells_over_time

    try:
        fields = read_cellprofiler(path, wanted, over_time=True)
    except AcquisitionError as exc:
        raise _objects_option(exc, "Count_<objects>") from None
    wells = wells_over_time(fields.table)
    others = f" (also counted: {', '.join(fields.others)}; --columns n=Count_<objects> fits another)" \
        if fields.others else ""
    notes = [f"{path}: CellProfiler image table: n_cells is Count_{fields.objects}{others}, summed over each well's "
             f"fields ({len(fields.table)} images in {len(wells.drop_duplicates(['plate', 'well']))} wells)"]
    if "scan" in wells.columns:
        wells, said = _last_scan(wells, wells["scan"], "its time column", endpoint_h)
        notes.append(f"{path}: {said}")
    elif "time_h" not in wells.columns:
        wells = wells.assign(time_h=float(endpoint_h or 0.0))
        notes.append(f"{path}: one time point, placed at {float(endpoint_h or 0):g} h"
                     f"{' (--endpoint-h)' if endpoint_h is not None else ' (--endpoint-h places it)'}")
    plate_named = "Metadata_Plate" if not (fields.table["plate"] == path.stem).all() else "file name"
    wells.attrs["plate_names"] = {str(p): plate_named for p in wells["plate"].unique()}
    return wells, notes, {"software": "CellProfiler", "objects": fields.objects,
                          "count_column": f"Count_{fields.objects}"}


def _last_scan(wells: pd.DataFrame, scan: pd.Series, what: str, endpoint_h) -> tuple[pd.DataFrame, str]:
    """The wells at their plate's last numbered scan, placed at ``endpoint_h`` (0 h), and the note saying so."""
    last, n_scans = scan.max(), scan.nunique()
    at = float(endpoint_h or 0.0)
    kept = wells[scan == scan.groupby(wells["plate"]).transform("max")].drop(columns="scan").assign(time_h=at)
    lacking = wells[["plate", "well"]].drop_duplicates().shape[0] - kept[["plate", "well"]].drop_duplicates().shape[0]
    said = f"; {lacking} well(s) without it take no part" if lacking else ""
    if n_scans == 1:
        return kept, f"one time point, placed at {at:g} h"
    return kept, (f"{n_scans} scans numbered by {what}, not timed in hours: the last (scan {last:g}) is fitted, "
                  f"placed at {at:g} h{said}; for the time course give the hours (Metadata_Time_h, or 00d12h00m)")


def _harmony_wells(path: Path, wanted: str | None, endpoint_h) -> tuple[pd.DataFrame, list[str], dict]:
    """A Harmony results file's wells (``plate, well, time_h, n_cells_read[, n_done]``), notes, record."""
    from ferroscreen.errors import AcquisitionError
    from ferroscreen.io.harmony_results import read_harmony_results

    try:
        read = read_harmony_results(path, wanted)
    except AcquisitionError as exc:
        raise _objects_option(exc, "'<population> - Number of Objects'") from None
    at = float(endpoint_h or 0.0)
    t = read.table
    wells = pd.DataFrame({"plate": t["plate"].astype(str), "well": t["well"], "time_h": at,
                          "n_cells_read": t["n_nuclei"].astype(float)})
    fields = "n_fields" in t.columns
    if fields:
        wells["n_done"] = t["n_fields"].to_numpy(float)
    others = f" (also counted: {', '.join(read.others)}; --columns n='<population> - Number of Objects' fits " \
             f"another)" if read.others else ""
    when = "its last time point (Timepoint numbers the scans, not hours)" if read.notes else "one time point"
    when += f" placed at {at:g} h{' (--endpoint-h)' if endpoint_h is not None else ' (--endpoint-h places it)'}"
    notes = [f"{path}: Harmony results: n_cells is '{read.count_column}'{others}"
             f"{'' if fields else ', as Harmony gives it (no Number of Analyzed Fields column: not scaled)'}",
             *(f"{path}: {n}" for n in read.notes),
             f"{path}: {when}"]
    named_by = {"Result": "export", "folder": "file name"}.get(read.plate_source, read.plate_source)
    wells.attrs["plate_names"] = {str(p): named_by for p in wells["plate"].unique()}
    return wells, notes, {"software": "Harmony", "objects": read.population, "count_column": read.count_column}


def _to_usual_fields(table: pd.DataFrame, notes: list[str], source: Path) -> tuple[pd.DataFrame, dict]:
    """``table`` with ``n_cells`` counted over each plate's usual number of fields, and that number per plate.

    Without ``n_done`` (fields not exported) ``n_cells`` is ``n_cells_read``. See :func:`_image_analysis`.
    """
    if "n_done" not in table.columns:
        return table.assign(n_cells=table["n_cells_read"])[["plate", "well", "time_h", "n_cells", "n_cells_read"]], {}
    usual: dict[str, int] = {}
    frames = pd.Series(np.nan, index=table.index)
    for plate, sub in table.groupby("plate", sort=True):
        counts = sub["n_done"][sub["n_done"] > 0].value_counts()
        if counts.empty:
            continue
        most = int(counts[counts == counts.max()].index.max())
        usual[str(plate)] = most
        frames[sub.index] = float(most)
        more = sub[sub["n_done"] > most]
        if len(more):  # fewer: fit's own note names them (counts_of_fields_read)
            shown = ", ".join(f"{w} at {t:g} h" for w, t in zip(more["well"].head(5), more["time_h"], strict=False))
            notes.append(f"note: {source}: plate {plate}: {most} fields per well as a rule; {len(more)} well-time(s) "
                         f"with more ({shown}{' ...' if len(more) > 5 else ''}) have their counts scaled to {most} "
                         f"fields (n_cells_read holds the counts as summed, n_done their fields)")
    done = table["n_done"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(done > 0, table["n_cells_read"].to_numpy(float) * frames.to_numpy() / done, np.nan)
    scaled = np.where(np.isnan(done), table["n_cells_read"].to_numpy(float), scaled)
    table = table.assign(n_cells=scaled, n_frames=frames.to_numpy())
    return table[["plate", "well", "time_h", "n_cells", "n_cells_read", "n_frames", "n_done"]], usual


def _reads_as_table(path: Path) -> bool:
    """Whether ``path`` is a CSV dose-response or wells table (what ``fit`` reads before plate reads)."""
    return _csv_table_kind(path) != "unknown"


def _csv_table_kind(path: Path) -> str:
    """``tidy`` or ``wells`` when ``path`` reads as that CSV table, else ``unknown`` (Excel files, score stores too)."""
    from ferroscreen.analysis.inputs import read_table_csv, table_kind

    if path.suffix.lower() in (*EXCEL_SUFFIXES, *STORE_SUFFIXES):
        return "unknown"
    try:
        return table_kind(read_table_csv(path, None))
    except AnalysisInputError:
        return "unknown"


def _one_dead_read(export, dead_read: str | None) -> None:
    """Refuse a ``--dead`` export of several different reads when ``--dead-read`` picks none."""
    if dead_read is not None:
        return
    labels = list(dict.fromkeys(r.label or "unlabelled" for r in export.reads))
    kinds = {r.kind for r in export.reads}
    if len(labels) > 1 or len(kinds) > 1:
        listed = "; ".join(f"{k}: '{r.label or 'unlabelled'}' ({r.kind})" for k, r in enumerate(export.reads, 1))
        raise AnalysisInputError(f"{export.path}: holds {len(export.reads)} reads; pick the dead-cell read with "
                                 f"--dead-read N or LABEL ({listed})")


def _same_plates(dying: FitInput, alive: FitInput, dead_file: Path, first: Path) -> FitInput:
    """``dying`` with its plate named as ``alive``'s when each holds one plate (two files of one plate).

    Raises:
        AnalysisInputError: If the two files hold different plates.
    """
    a, d = sorted(alive.table["plate"].astype(str).unique()), sorted(dying.table["plate"].astype(str).unique())
    if len(a) == 1 and len(d) == 1:
        if a != d and a[0] != first.stem and d[0] != dead_file.stem:  # both exports name their plate, apart
            raise AnalysisInputError(f"{dead_file}: its plate {d[0]} is not INPUT {first.name}'s plate {a[0]}")
        return FitInput(dying.table.assign(plate=a[0]), dying.kind, dying.layout, notes=dying.notes,
                        options=dying.options, derived=dying.derived)
    if a != d:
        raise AnalysisInputError(f"{dead_file}: its plates ({', '.join(d)}) are not INPUT {first.name}'s "
                                 f"({', '.join(a)})")
    return dying


def _is_metric(path: Path) -> bool:
    from ferroscreen.io.metric_export import looks_like_metric_export

    return path.suffix.lower() not in STORE_SUFFIXES and looks_like_metric_export(path)


def _metric(path: Path, layout) -> FitInput:
    from ferroscreen.analysis.dead_fraction import metric_note
    from ferroscreen.io.metric_export import read_metric_export

    export = read_metric_export(path)
    return FitInput(export.table, "metric", layout, notes=[metric_note(path, export.metric)], derived=True,
                    options={"metric": export.metric})


def _metric_signal(fitted: FitInput, source: Path, layout, signal: str) -> FitInput:
    """An IncuCyte metric table as it is (``viability``) or as a dead-cell count scaled to ``frac_dead``.

    A dead-cell count (Cytotox, SYTOX) is scaled like a plate reader's dead signal: by the
    layout's ``pos_ctrl`` (maximum-kill) wells per plate and scan
    (:func:`~ferroscreen.analysis.reader_signal.dead_signal_fraction`).
    """
    if signal != "dead":
        return fitted
    from ferroscreen.analysis.reader_signal import dead_signal_fraction

    if layout is None:
        raise AnalysisInputError(f"{source}: --signal dead scales the dead-cell count by the layout's pos_ctrl "
                                 f"(maximum-kill) wells; pass --layout")
    table, notes = dead_signal_fraction(fitted.table[["plate", "well", "time_h", "value"]], layout, source)
    said = [n.split(" taken as the measure of cell number")[0] + " taken as a dead-cell count"
            if " taken as the measure of cell number" in n else n for n in fitted.notes]
    return FitInput(table, "wells", layout, notes=[*said, *(f"{source}: {n}" for n in notes)],
                    options={"metric_signal": "dead", "input_kind": "metric"}, derived=True)


def _with_dead_fraction(total_path: Path, dead_path: Path, over: str, layout, columns) -> FitInput:
    """The wells table (``n_cells``, ``frac_dead``) of a cell-count export and a dead-count export."""
    from ferroscreen.analysis.dead_fraction import check_count_metric, dead_fraction_wells
    from ferroscreen.hashing import file_sha256
    from ferroscreen.io.metric_export import looks_like_metric_export, read_metric_export

    if not _is_metric(total_path):
        raise AnalysisInputError(f"{total_path}: --dead goes with an IncuCyte metric export (a cell count) as INPUT")
    if columns:
        raise AnalysisInputError(f"{total_path}: --columns is for CSV tables, not score stores or metric exports")
    if not dead_path.is_file():
        raise AnalysisInputError(missing_file(dead_path, "dead-cell count export (--dead)"))
    if not looks_like_metric_export(dead_path):
        raise AnalysisInputError(f"{dead_path}: --dead: not an IncuCyte metric export")
    total, dead = read_metric_export(total_path), read_metric_export(dead_path)
    check_count_metric(total.metric, total_path, "cell")
    check_count_metric(dead.metric, dead_path, "dead-cell")
    wells, notes = dead_fraction_wells(total.table, dead.table, over, total_path, dead_path)
    options = {"dead": {"path": str(dead_path.resolve()), "sha256": file_sha256(dead_path), "over": over},
               "input_kind": "metric"}
    return FitInput(wells, "wells", layout, notes=[f"note: {n}" for n in notes], options=options, derived=True)


def _plate_reader_export(path: Path, csv_readable: bool, layout):
    """The plate-reader export in ``path``, or None when it holds no plate read.

    None too for a CSV table given without a layout whose reads are only a well list: the tidy
    reader's ``--columns`` hint fits that better.
    """
    from ferroscreen.io.plate_reader import NoPlateRead, read_plate_reader

    try:
        export = read_plate_reader(path)
    except NoPlateRead:
        if path.suffix.lower() in EXCEL_SUFFIXES:
            raise
        return None
    if layout is None and csv_readable and all(r.shape == "list" for r in export.reads):
        return None
    return export


def _table_or_plate_read(path: Path, columns, read, layout, endpoint_h, signal, read_option="--read") -> FitInput:
    """A CSV that reads as a tidy or wells table is one; else (or an Excel file) a plate-reader export.

    When neither reading works, the CSV reader's complaint is the one raised. A wells table read
    without ``layout`` takes the layout its own columns carry, when they do (``export``'s
    ``wells.csv``; :func:`~ferroscreen.analysis.fit_run.layout_in_wells`), so that ``--exclude`` and
    the table's ``exclude`` column apply to it as to a layout file's wells.
    """
    from ferroscreen.analysis.inputs import read_table_csv, table_kind
    from ferroscreen.csv_tables import header_names, names_a_table

    table = csv_error = None
    kind = "unknown"
    if path.suffix.lower() not in EXCEL_SUFFIXES:
        try:
            table = read_table_csv(path, columns)
            kind = table_kind(table)
        except AnalysisInputError as exc:
            csv_error = exc
            if names_a_table(header_names(path)):  # a wells or curve table with a broken row: no plate read
                raise
    if kind == "tidy" and not columns and "dose" not in table.columns:
        from ferroscreen.io.plate_reader import WELL_HEADER

        if any(WELL_HEADER.match(name.strip()) for name in header_names(path)):  # a reader's well list (GloMax)
            kind = "unknown"
    if kind == "unknown" and not columns:
        export = _plate_reader_export(path, csv_error is None, layout)
        if export is None and csv_error is not None:
            from ferroscreen.io.plate_reader import PLATE_READ_SHAPES

            raise AnalysisInputError(f"{csv_error}; nor a plate read ({PLATE_READ_SHAPES})") from None
        if export is not None:
            from ferroscreen.io.plate_reader import plate_reads_table

            format_notes: list[str] = []
            layout = _layout_for_read(export, path, layout, format_notes)
            plates = layout.names_for_unnamed_plates() if layout is not None else None
            metric, notes = plate_reads_table(export, read, plates, endpoint_h, signal, read_option)
            named = _name_plates([metric], [path], layout, notes)
            fitted = _reader_signal(metric, [f"{path}: {n}" for n in notes] + format_notes, notes[0], [export], path,
                                    layout, read, signal)
            fitted.options["plates"] = named
            return fitted
    if csv_error is not None and columns and _plate_reader_export(path, False, layout) is not None:
        raise AnalysisInputError(f"{path}: a plate-reader export, not a CSV table: --columns names a table's "
                                 f"columns; leave it out") from None
    if csv_error is not None:
        raise csv_error
    options = {}
    if columns:
        options["columns"] = {role: f"{col}:{unit}" if unit else col for role, (col, unit) in columns.items()}
    notes = [f"{path}: {note}" for note in table.attrs.get("notes", [])]
    if kind == "wells":
        record, said = export_record(path)
        notes += said
        if record is not None:
            options["export_record"] = record
        notes += pending_note(table, path, (record or {}).get("store"))
    if layout is None and kind == "wells":  # export's wells.csv: its own layout columns are the layout
        from ferroscreen.analysis.fit_run import layout_in_wells

        layout = layout_in_wells(table, path)
    return FitInput(table, kind, layout, notes=notes, options=options)


def pending_note(table: pd.DataFrame, path: Path, store: str | None = None) -> list[str]:
    """A note when the wells table ``path`` (export's, with ``n_frames``, ``n_pending``) was exported part-scored.

    Its pending frames' wells have no reading at those times (or counts scaled from the fields
    read, :mod:`ferroscreen.analysis.readouts`). ``store``: the store it was exported from (as its
    ``export.json`` records it), named in what to do. ``[]`` when no frame was pending.
    """
    if not {"n_frames", "n_pending"} <= set(table.columns):
        return []
    counts = table[["n_frames", "n_pending"]].apply(pd.to_numeric, errors="coerce").fillna(0).sum()
    if not counts["n_pending"]:
        return []
    return [f"note: {path}: {int(counts['n_pending'])} of its {int(counts['n_frames'])} frames were not scored yet "
            f"when it was exported, so their wells have no reading at those times (or counts from the fields "
            f"scored): score the store to the end (`ferroscreen score ... --out {store or 'STORE'} --resume`) and "
            f"export it again"]


#: The record ``export`` writes beside its ``wells.csv`` (:mod:`ferroscreen.score.export`).
EXPORT_RECORD = "export.json"


def export_record(path: Path) -> tuple[dict | None, list[str]]:
    """What provenance records of the ``export.json`` beside the wells table ``path``, and notes to print.

    ``export`` writes ``export.json`` beside its ``wells.csv``: the store (path, sha256 and content digest), how
    it was scored, the export's options and ``wells.csv``'s sha256. When that sha256 is ``path``'s, the
    record is ``{"status": "matches", "path": export.json, "store", "store_sha256", "store_content_sha256",
    "options", "environment", "command", "created"}`` (``store_content_sha256``: None from an older export):
    the software, command line and time of the export, as ``export.json`` records them (left out when
    it does not: an older export); the command carries
    the scoring record into provenance. When ``path`` is a ``wells.csv`` that
    no longer matches (edited since export wrote it), or the record is unreadable, the status says
    so (``mismatch``, ``unreadable``) with the table's and the recorded sha256, and a note says that
    its scoring record is not carried. No ``export.json`` (or another table beside one): ``None, []``.
    """
    from ferroscreen.hashing import file_sha256

    path = Path(path)
    beside = path.parent / EXPORT_RECORD
    if not beside.is_file():
        return None, []
    try:
        record = json.loads(beside.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    sha256 = file_sha256(path)
    if isinstance(record, dict) and record.get("wells_csv_sha256") == sha256:
        made = {k: record[k] for k in ("environment", "command", "created") if record.get(k) is not None}
        return ({"status": "matches", "path": str(beside.resolve()), "store": record.get("store"),
                 "store_sha256": record.get("store_sha256"), "store_content_sha256": record.get("store_content_sha256"),
                 "options": record.get("options"), **made}, [])
    if path.name != "wells.csv":  # another table beside an export's: the record is not about it
        return None, []
    if not isinstance(record, dict):
        return ({"status": "unreadable", "path": str(beside.resolve())},
                [f"note: {path}: {beside} beside it cannot be read (not a JSON record), so how the table was scored "
                 f"is not carried into provenance.json"])
    return ({"status": "mismatch", "path": str(beside.resolve()), "wells_csv_sha256": sha256,
             "recorded_sha256": record.get("wells_csv_sha256")},
            [f"note: {path}: differs from the wells.csv export wrote (its sha256 is not the one {beside} records: "
             f"edited since?), so that record of the store and how it was scored is not carried into "
             f"provenance.json"])


def _layout_for_read(export, path: Path, layout, notes: list[str]):
    """The layout for a plate read: its plates of the read's format when it holds plates of several formats.

    Raises:
        AnalysisInputError: A plate read whose plate format is none of the layout's (a 96-well grid
            laid on a 384-well map).
    """
    if layout is None:
        return None
    cols = {r.n_cols for r in export.reads if r.n_cols}
    if cols and layout.plate_format.cols not in cols:
        n_wells = {c * r for r, c in _FORMATS if c in cols}
        read_wells = "/".join(map(str, sorted(n_wells)))
        if any(f.n_wells in n_wells for f in layout.plate_formats.values()):  # layout plates of several formats
            keep = [p for p, f in layout.plate_formats.items() if f.n_wells in n_wells]
            left = [f"{p} ({f.n_wells} wells)" for p, f in layout.plate_formats.items() if p not in keep]
            notes.append(f"{path}: a {read_wells}-well plate read: the layout's plates of other formats are left "
                         f"out ({', '.join(left)})")
            return layout.only_plates(keep)
        why = ""
        if layout.plate_format.cols > max(cols):  # a stray row of the layout may have made it a larger plate
            from ferroscreen.plate.wells import well_to_rowcol

            rows = max(r for r, c in _FORMATS if c == max(cols))
            at = {w: well_to_rowcol(w) for w in layout.wells}
            beyond = [w for w, (r, c) in at.items() if r >= rows or c >= max(cols)]
            if beyond:
                why = f" (its well(s) {', '.join(beyond[:3])} lie beyond a {read_wells}-well plate)"
        raise AnalysisInputError(f"{path}: a {read_wells}-well plate read, but the layout is a "
                                 f"{layout.plate_format.n_wells}-well plate{why}")
    return layout


def _reader_signal(metric: pd.DataFrame, notes: list[str], summary: str, exports: list, source: Path | str, layout,
                   read, signal) -> FitInput:
    """A plate-reader metric table, blank-subtracted, as a signal (``metric``) or dead fraction (``wells``).

    ``notes`` are the reading's lines to print, ``summary`` what provenance records of the read, ``source``
    the file(s) the notes and errors name.
    """
    from ferroscreen.analysis.reader_signal import dead_signal_fraction, signal_note, subtract_blank

    label = metric.attrs.get("read_label", "")
    try:
        metric, blank_notes = subtract_blank(metric, layout, "pos_ctrl" if signal == "dead" else "vehicle")
    except AnalysisInputError as exc:
        raise AnalysisInputError(f"{source}: {exc}") from None
    table, kind = metric, "metric"
    if signal == "dead":
        if layout is None:
            raise AnalysisInputError(f"{source}: --signal dead scales the read by the layout's pos_ctrl (lysis) "
                                     f"wells; pass --layout")
        table, dead_notes = dead_signal_fraction(metric, layout, source)
        blank_notes += dead_notes
        kind = "wells"
    elif signal_note(label):
        blank_notes.append(signal_note(label))
    options = {"plate_reader": {
        "reads": [r.describe() for e in exports for r in e.reads], "chosen": read, "label": label, "note": summary,
        "signal": signal, "blank_subtracted": any(n.startswith("background subtracted") for n in blank_notes),
    }, "input_kind": "metric"}
    return FitInput(table, kind, layout, notes=[*notes, *(f"{source}: {n}" for n in blank_notes)], options=options,
                    derived=True)


def _several_plates(paths: list[Path], layout, columns, dead, read, signal, endpoint_h, read_option="--read"
                    ) -> FitInput:
    """Several exports, one plate each: their metric tables, plates named and matched with the layout."""
    from ferroscreen.io.plate_reader import plate_reads_table

    if columns or dead is not None:
        option = "--columns" if columns else "--dead"
        raise AnalysisInputError(f"{paths[0]}: {option} goes with one INPUT; several are plates of instrument exports")
    store = next((p for p in paths if p.suffix.lower() in STORE_SUFFIXES), None)
    if store is not None:  # the fit command reads score stores (pool_wells pools them), never as exports
        raise AnalysisInputError(f"{store}: a score store among several INPUTs: `ferroscreen fit` pools stores and "
                                 f"wells tables; this reader takes instrument exports and CSV tables")
    metric_files = [p for p in paths if _is_metric(p)]
    tables = [p for p in paths if p not in metric_files and _csv_table_kind(p) == "wells"]
    if tables:  # wells tables of replicate plates (export's wells.csv): pooled, each plate as its file names it
        if len(tables) < len(paths):
            other = next(p for p in paths if p not in tables)
            raise AnalysisInputError(f"{paths[0]}: several INPUTs are pooled when each is a wells table or score "
                                     f"store, or are plates of one kind of instrument export; {tables[0].name} is a "
                                     f"wells table and {other.name} is not")
        return pool_wells([(p, _table_or_plate_read(p, None, None, layout, endpoint_h, "viability")) for p in paths],
                          layout)
    if metric_files and len(metric_files) < len(paths):
        raise AnalysisInputError(f"{paths[0]}: several INPUTs are plates of one kind of export; "
                                 f"{metric_files[0].name} is an IncuCyte metric export and "
                                 f"{next(p for p in paths if p not in metric_files).name} is not")
    parts, notes, exports, summary, options, metrics = [], [], [], "", {}, []
    for path in paths:
        if metric_files:
            fitted = _metric(path, layout)
            parts.append(fitted.table)
            notes += fitted.notes
            options = options or fitted.options
            metrics.append(str(fitted.options.get("metric", "")))
            continue
        export = _plate_reader_export(path, False, layout)
        if export is None:
            raise AnalysisInputError(f"{path}: with several INPUTs each is a plate-reader export or an IncuCyte "
                                     f"metric export; this is neither")
        layout = _layout_for_read(export, path, layout, notes)
        table, read_notes = plate_reads_table(export, read, None, endpoint_h, signal, read_option)
        summary = summary or read_notes[0]
        exports.append(export)
        parts.append(table)
        notes += [f"{path}: {n}" for n in read_notes]
    if exports:  # plates of one assay: the same read (label) and the same kind of read in every file
        chosen = {(p.attrs.get("read_label", ""), "kinetic" if p["time_h"].nunique() > 1 else "endpoint")
                  for p in parts}
        if len(chosen) > 1:
            listed = "; ".join(f"{path.name}: '{p.attrs.get('read_label', '')}'" for path, p in zip(paths, parts,
                                                                                                   strict=True))
            raise AnalysisInputError(f"{paths[0]}: several INPUTs are plates of one read, but these differ ({listed}); "
                                     f"take each read on its own")
    if len(set(metrics)) > 1:  # a count and a confluence of one plate are not two replicate plates
        listed = "; ".join(f"{path.name}: '{m}'" for path, m in zip(paths, metrics, strict=True))
        raise AnalysisInputError(f"{paths[0]}: several INPUTs are plates measured alike, but their metrics differ "
                                 f"({listed}); fit each metric on its own")
    from ferroscreen.hashing import file_sha256

    digests: dict[str, Path] = {}
    for path in paths:
        digest = file_sha256(path)
        if digest in digests:
            raise AnalysisInputError(f"{path}: the same content as {digests[digest]} (one plate given twice?)")
        digests[digest] = path
    _refuse_same_readings(parts, paths)
    named = _name_plates(parts, paths, layout, notes)
    metric = pd.concat(parts, ignore_index=True)
    if metric_files:
        fitted = _metric_signal(FitInput(metric, "metric", layout, notes=notes, derived=True, options=options),
                                paths[0], layout, signal)
    else:
        metric.attrs["read_label"] = parts[0].attrs.get("read_label", "")
        fitted = _reader_signal(metric, notes, summary, exports, ", ".join(map(str, paths)), layout, read, signal)
    fitted.options["plates"] = named
    return fitted


def pool_wells(parts: list[tuple[Path, FitInput]], layout: PlateLayout | None) -> FitInput:
    """Several INPUTs' wells tables (replicate plates) as one wells table; every row keeps its plate.

    ``parts`` are each INPUT's path and wells table (``export``'s ``wells.csv``, a score store's
    wells, the user's own). Plates keep the names their files give them; a plate in two files is
    refused. With ``layout`` (``--layout``) it is the layout; without, every part carries its own
    (``export``'s layout columns, or a store's stored layout joined to its own plate's rows by
    :func:`~ferroscreen.analysis.fit_run.with_layout_columns`) and the pooled table's columns are
    the layout (:func:`~ferroscreen.analysis.fit_run.layout_in_wells`; each plate's
    ``plate_sources`` is its file). The result is ``derived`` when a part is (a store's wells).
    Its ``options["export_records"]`` holds each exported table's :func:`export_record` by path.

    Raises:
        AnalysisInputError: One line naming the files: a table with no ``plate`` column, a plate in
            two files, or (without ``layout``) a part that carries no layout while another does.
    """
    from ferroscreen.analysis.fit_run import layout_in_wells

    owner: dict[str, Path] = {}
    for path, part in parts:
        if "plate" not in part.table.columns:
            raise AnalysisInputError(f"{path}: no 'plate' column; several wells tables are pooled plate by plate "
                                     f"(give each row its plate's name)")
        for plate in part.table["plate"].astype(str).unique():
            if plate in owner:
                raise AnalysisInputError(f"{path}: plate '{plate}' is also in {owner[plate]}; each plate goes in "
                                         f"once (replicate plates need names of their own)")
            owner[plate] = path
    table = pd.concat([part.table for _, part in parts], ignore_index=True)
    if layout is None:
        bare = [path for path, part in parts if part.layout is None]
        if bare and len(bare) < len(parts):
            carried = next(path for path, part in parts if part.layout is not None)
            raise AnalysisInputError(f"{bare[0]}: carries no layout (compound, concentration in molar) while "
                                     f"{carried} does; pass --layout for the pooled plates")
        if not bare:
            if "unit" in table.columns:  # a table without unit holds molar doses (layout_in_wells): keep them so
                table["unit"] = table["unit"].where(table["unit"].notna() | table["concentration"].isna(), "M")
            layout = layout_in_wells(table, parts[0][0])
            if layout is None:
                raise AnalysisInputError(f"{parts[0][0]}: the pooled tables' layout columns do not read as one "
                                         f"layout; pass --layout for the pooled plates")
            if all(part.layout.form == "stored" for _, part in parts):  # stores' layouts: no file of the table's
                layout.form = "stored"
            layout.plate_sources = {str(p): owner[str(p)] for p in layout.plate_ids if str(p) in owner}
    notes = [note for _, part in parts for note in part.notes]
    listed = "; ".join(f"{path}: {', '.join(p for p, o in owner.items() if o == path)}" for path, _ in parts)
    notes.append(f"note: {len(parts)} INPUTs pooled as one screen of {len(owner)} plate(s) ({listed})")
    options: dict = {}
    for _, part in parts:
        for key, value in part.options.items():
            options.setdefault(key, value)
    options.pop("export_record", None)  # each table's own (export_record), under its path
    records = {str(path): part.options["export_record"] for path, part in parts if "export_record" in part.options}
    if records:
        options["export_records"] = records
    return FitInput(table, "wells", layout, notes=notes, options=options, derived=any(p.derived for _, p in parts))


def _refuse_same_readings(parts: list[pd.DataFrame], paths: list[Path]) -> None:
    """Refuse two files whose readings are the same well for well and time for time (one plate exported twice).

    Files of one plate count its wells twice as if they were replicate plates: too narrow intervals.
    """
    keys = ["well", "time_h"]
    for i in range(len(parts)):
        for j in range(i):
            a, b = (p[[*keys, "value"]].dropna(subset=["value"]) for p in (parts[i], parts[j]))
            both = a.merge(b, on=keys, suffixes=("_a", "_b"))
            if len(both) >= 8 and len(both) >= 0.9 * max(len(a), len(b)) and np.allclose(
                    both["value_a"].to_numpy(float), both["value_b"].to_numpy(float), rtol=1e-9, atol=0.0):
                raise AnalysisInputError(f"{paths[i]}: the same readings as {paths[j]} in every well and scan (one "
                                         f"plate exported twice?); give each plate once")


#: How a plate-reader table's plate was named (``attrs["plate_names"]``) when no export named it.
_NOT_BY_EXPORT = ("file name", "layout", "layout order")
#: Header fields users fill with anything (MARS's ID1-3: a date, a name; Gen5's "Plate 1"): a plate they
#: name that is none of the layout's is matched by file order as a file-named plate is, said in a note.
_FREE_TEXT_FIELDS = ("id1", "id2", "id3", "plate number", "plate name")


def _name_plates(parts: list[pd.DataFrame], paths: list[Path], layout, notes: list[str]) -> list[dict]:
    """Give each file's plates their names in place: unique, and the layout's where it lists several plates.

    A plate takes its layout plate by its own name (a barcode or plate id the export gives), else,
    one plate per file, by its file's name, else by the order of the files (said, and recorded)
    when no export named its plate: plates the exports name (a plate column, a header's ``ID1``,
    ``Plate-ID``, ``Plate Number``, barcode) after none of the layout's plates are refused, never
    taken in file order. Two files naming their plates alike (an export's label left at its default)
    have them named by the files, unless that name is one of the layout's plates (refused: which
    file is that plate?).

    Returns:
        What provenance records of each plate: ``path``, ``plate`` (the name its file gives it),
        ``named_by`` (``export``, a header field such as ``ID1``, ``file name``, ``layout``, ``layout
        order``), ``fitted_as`` (its name in the fitted tables), ``layout_plate`` (None without a
        layout) and ``matched_by`` (``name``, ``file name``, ``file order``, ``one-plate layout``; None
        without a layout).

    Raises:
        AnalysisInputError: One line naming the files: plates named alike, plates not in the layout.
    """
    named_by: dict[str, str] = {}
    for part in parts:
        named_by.update(part.attrs.get("plate_names", {}))
    given = [list(part["plate"].astype(str).unique()) for part in parts]
    one_each = all(len(plates) == 1 for plates in given)
    ids = [str(p) for p in layout.plate_ids] if layout is not None else []
    owner: dict[str, Path] = {}
    clash: tuple[str, Path] | None = None
    for plates, path in zip(given, paths, strict=True):
        for plate in plates:
            if plate in owner and clash is None:
                clash = (plate, path)
            owner.setdefault(plate, path)
    matched_by = "one-plate layout" if layout is not None and len(ids) <= 1 else "name"
    if clash is not None:
        owner = _rename_clash(parts, paths, layout, ids, owner, clash, one_each, notes)
        named_by.update({p.stem: "file name" for p in paths})
    if len(ids) > 1:
        matched_by = _match_layout_plates(parts, paths, layout, ids, owner, named_by, one_each, notes)
    records = []
    for plates, part, path in zip(given, parts, paths, strict=True):
        for plate in plates:
            now = str(part["plate"].iloc[0]) if len(plates) == 1 else plate
            how = named_by.get(plate, "file name" if plate == path.stem else "export")
            records.append({"path": str(path.resolve()), "plate": plate, "named_by": how, "fitted_as": now,
                            "layout_plate": layout.plate_id_for(now) if layout is not None else None,
                            "matched_by": matched_by if layout is not None else None})
    return records


def _rename_clash(parts, paths, layout, ids, owner, clash, one_each: bool, notes: list[str]) -> dict[str, Path]:
    """Name each file's plate after its file where two files name their plates alike; the new owners.

    Raises:
        AnalysisInputError: Files of several plates each, files named alike, or a name that is one of
            the layout's several plates (which file is that plate?).
    """
    plate, path = clash
    stems = [p.stem for p in paths]
    if not one_each or len(set(stems)) < len(stems):
        raise AnalysisInputError(f"{path}: plate '{plate}' is also in {owner[plate]} (name the plates apart, "
                                 f"e.g. by file name)")
    if len(ids) > 1 and (taken := layout.plate_id_for(plate)) is not None:
        raise AnalysisInputError(f"{path}: plate '{plate}' is also in {owner[plate]}; which of them is the layout's "
                                 f"plate {taken}? (give each export its own plate id)")
    for part, each in zip(parts, paths, strict=True):
        notes.append(f"{each}: plate '{part['plate'].iloc[0]}' named {each.stem} after its file (two files "
                     f"name their plate '{plate}')")
        part["plate"] = each.stem
    return {p.stem: p for p in paths}


def _match_layout_plates(parts, paths, layout, ids, owner, named_by, one_each: bool, notes: list[str]) -> str:
    """Match the plates with a layout of several plates (see :func:`_name_plates`); how they were matched.

    Raises:
        AnalysisInputError: A plate two layout plates could take, plates the exports name after none of
            the layout's, plates not in the layout while others are, or more or fewer files than plates.
    """
    matched = {plate: layout.plate_id_for(plate) for plate in owner}
    for plate in owner:
        rivals = layout.plate_candidates(plate)
        if len(rivals) > 1:
            raise AnalysisInputError(f"{owner[plate]}: plate '{plate}' could take the layout rows of "
                                     f"{' or '.join(rivals)}; name it after one of them")
    if not all(matched.values()) and one_each:  # the files' names may name the layout's plates
        by_file = {plate: layout.plate_id_for(path.stem) for plate, path in owner.items()}
        if all(by_file.values()) and len(set(by_file.values())) == len(by_file):
            for part, path in zip(parts, paths, strict=True):
                plate = str(part["plate"].iloc[0])
                notes.append(f"{path}: plate '{plate}' takes the layout rows of its plate {by_file[plate]} (by "
                             f"the file's name)")
                part["plate"] = by_file[plate]
            return "file name"
    if all(matched.values()):  # named as the layout's plates, or as their replicates (LIB01_rep2)
        for plate, plate_id in matched.items():
            if plate != plate_id:
                notes.append(f"{owner[plate]}: plate '{plate}' takes the layout rows of its plate {plate_id}")
        return "name"
    unknown = sorted(p for p, m in matched.items() if m is None)
    if any(matched.values()):
        raise AnalysisInputError(f"{owner[unknown[0]]}: plate(s) {', '.join(unknown)} not in the layout (plates "
                                 f"{', '.join(ids)}), while other files' plates are")
    by_export = [p for p in owner if named_by.get(p, "file name") not in _NOT_BY_EXPORT
                 and str(named_by.get(p, "")).lower() not in _FREE_TEXT_FIELDS]
    if by_export:  # barcodes and plate columns the exports give: never swapped for the layout's by file order
        listed = ", ".join(f"{owner[p].name}: {p} from {named_by[p]}" for p in by_export)
        raise AnalysisInputError(f"{owner[by_export[0]]}: the exports' plate ids ({listed}) are none of the layout's "
                                 f"plates ({', '.join(ids)}); name the layout's plates after them, or correct the ids")
    if one_each and len(parts) == len(ids):
        for part, plate_id, path in zip(parts, ids, paths, strict=True):
            plate = str(part["plate"].iloc[0])
            given = named_by.get(plate)
            field = f" (its {given} in the export)" if given not in (None, *_NOT_BY_EXPORT) else ""
            notes.append(f"{path}: plate '{plate}'{field} taken as the layout's plate {plate_id} (files in the "
                         f"layout's plate order)")
            part["plate"] = plate_id
        return "file order"
    raise AnalysisInputError(f"{owner[unknown[0]]}: plate(s) {', '.join(unknown)} not in the layout (plates "
                             f"{', '.join(ids)}); name the files or their plates after the layout's plate ids")
