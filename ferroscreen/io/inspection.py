"""What ``ferroscreen inspect`` reports about an acquisition, export or layout."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ferroscreen.csv_tables import header_names, names_a_table, read_csv_table
from ferroscreen.errors import AcquisitionError, FerroscreenError, WellError
from ferroscreen.io.acquisition import MISSING_SITES_NOTE, site_lines
from ferroscreen.io.cellprofiler import SQLITE_SUFFIXES, looks_like_cellprofiler, read_cellprofiler
from ferroscreen.io.detect import (
    detect_format,
    images_in_subfolders,
    layout_beside,
    open_acquisition,
    plain_images,
    subfolder_note,
    well_pattern_hint,
)
from ferroscreen.io.frames import decode_image_file, encoded_image_problem, frame_file, load_image
from ferroscreen.io.harmony_results import looks_like_harmony_results, read_harmony_results
from ferroscreen.io.integrity import check_image_file
from ferroscreen.io.metric_export import looks_like_metric_export, read_metric_export
from ferroscreen.io.plate_reader import PLATE_READ_SHAPES, NoPlateRead, plate_reads_table, read_plate_reader
from ferroscreen.io.temporary_files import is_input_name, is_temporary_name, temporary_note
from ferroscreen.json_output import strict_json_value
from ferroscreen.plate import PlateLayout, read_layout, read_layouts
from ferroscreen.plate.d300 import looks_like_d300_protocol
from ferroscreen.plate.layout_records import NotALayout, table_header_index
from ferroscreen.plate.wells import PlateFormat, normalize_well, well_to_rowcol

_LAYOUT_SUFFIXES = (".csv", ".tsv", ".txt", ".platemap", ".tdd", ".hpdd", ".xlsx", ".xlsm", ".xls")


def _times(ts: list[float]) -> dict:
    """Time points with their spacing.

    ``interval_h`` is the median gap, ``interval_min_h``/``interval_max_h`` the shortest and longest,
    ``long_gaps_h`` the ``[from, to]`` pairs of gaps over 1.5 x the median (a scan missing from a
    regular series, or a slower phase of the imaging plan).
    """
    ts = sorted(ts)
    diffs = np.diff(ts) if len(ts) > 1 else np.array([])
    median = float(np.median(diffs)) if diffs.size else None
    return {
        "timepoints_h": [round(t, 4) for t in ts],
        "n_timepoints": len(ts),
        "first_h": ts[0] if ts else None,
        "last_h": ts[-1] if ts else None,
        "interval_h": median,
        "interval_min_h": float(diffs.min()) if diffs.size else None,
        "interval_max_h": float(diffs.max()) if diffs.size else None,
        "long_gaps_h": [[round(ts[i], 4), round(ts[i + 1], 4)] for i in np.flatnonzero(diffs > 1.5 * median)]
        if median else [],
    }


def _plate_times(frames) -> dict[str, dict]:
    """Each plate's own time points (``_times``), keyed by plate id; empty for a one-plate acquisition."""
    if frames["plate"].nunique() < 2:
        return {}
    return {str(p): _times(sorted(set(map(float, g)))) for p, g in frames.groupby("plate", sort=True)["time_h"]}


def _compare(found: list[tuple[str, str]], layout_path: Path | list[Path], layout: PlateLayout | None = None) -> dict:
    """How the ``(plate, well)`` pairs found in the data agree with the layout, plate by plate.

    Each data plate is matched to its layout plate as the analyses match them
    (:meth:`~ferroscreen.plate.layout.PlateLayout.plate_id_for`). Wells are listed as ``B03``
    when the data hold one plate, else as ``PLATE B03``; ``empty`` layout wells need no data.
    ``layout_path`` is one layout file or several (a file per plate); ``layout`` is them read already.
    """
    if layout is None:
        layout = read_layouts([layout_path] if isinstance(layout_path, (str, Path)) else layout_path)
    by_plate: dict[str, set[str]] = {}
    for plate, well in found:
        by_plate.setdefault(str(plate), set()).add(str(well))
    several = len(by_plate) > 1
    matched: dict[str, str] = {}
    unmatched: list[str] = []
    imaged_only: list[str] = []
    planned_only: list[str] = []
    for plate in sorted(by_plate):
        wells = by_plate[plate]
        pid = layout.plate_id_for(plate)
        if pid is None:
            rivals = layout.plate_candidates(plate)
            unmatched.append(f"{plate} (could be {' or '.join(rivals)})" if rivals else plate)
            continue
        matched[plate] = pid
        lay = layout.for_plate(pid)
        planned = set(lay.wells)
        prefix = f"{plate} " if several else ""
        imaged_only += [prefix + w for w in sorted(wells - planned, key=well_to_rowcol)]
        planned_only += [prefix + w for w in sorted(planned - wells - set(lay.wells_with_role("empty")),
                                                     key=well_to_rowcol)]
    wells = sorted({w for ws in by_plate.values() for w in ws}, key=well_to_rowcol)
    data_n = PlateFormat.smallest_containing(wells).n_wells if wells else 0
    layout_n = layout.plate_format.n_wells
    return {
        "layout": str(layout.source),
        "format_mismatch": (f"the data hold wells of a {data_n}-well plate, the layout lays out a {layout_n}-well "
                            f"plate" if data_n > layout_n else ""),
        "plates": matched,
        "plates_not_in_layout": unmatched,
        "layout_plates": layout.plate_ids,
        "layout_plates_not_found": [i for i in layout.plate_ids if i not in matched.values()]
        if len(layout.plate_ids) > 1 else [],
        "plates_named_otherwise": layout.plates_named_otherwise(matched),
        "imaged_not_in_layout": imaged_only,
        "in_layout_not_imaged": planned_only,
        "notes": list(layout.notes),
    }


def _pairs(table) -> list[tuple[str, str]]:
    """The distinct ``(plate, well)`` pairs of a table with those columns."""
    return list(table[["plate", "well"]].drop_duplicates().astype(str).itertuples(index=False, name=None))


def _layout_info(path: Path, lay: PlateLayout) -> dict:
    t = lay.table
    marked = t[t["exclude"].astype(str) != ""] if "exclude" in t.columns else t.iloc[:0]
    return {
        "kind": "layout",
        "format": lay.form,
        "path": str(path),
        "plate_format": lay.plate_format.n_wells,
        "plate_formats": {p: f.n_wells for p, f in lay.plate_formats.items()},
        **lay.summary(),
        "series": lay.describe_compound_series(),
        "excluded": [{"plate": str(r.plate_id), "well": str(r.well), "reason": str(r.exclude)}
                     for r in marked.itertuples(index=False)],
    }


def _is_platemap_xml(path: Path) -> bool:
    """Whether an ``.xml`` file is an IncuCyte plate map saved under another suffix."""
    try:
        with path.open("rb") as fh:
            return b"<plateMap" in fh.read(4096)
    except OSError:
        return False


def inspect_path(
    path: Path, layout: Path | list[Path] | None = None, fmt: str | None = None, interval_h: float | None = None
) -> dict:
    """Describe ``path`` as a JSON-ready dict.

    Keys always present: ``kind`` (``acquisition``, ``image_folder``, ``segment_output``,
    ``metric_export``, ``plate_reader``, ``cellprofiler``, ``harmony_results``, ``wells_table``,
    ``curve_table`` or ``layout``), ``format``, ``n_wells``, ``wells``. Layouts add
    ``compounds`` ({name: sorted molar concentrations}); acquisitions, metric
    exports and plate-reader exports add ``timepoints_h`` (a plate reader's kinetic
    reads only), plate-reader exports their ``reads``. Acquisitions also list
    ``missing_frames`` and ``unreadable`` files; with a layout, the wells that disagree.

    A folder in no known acquisition layout that holds images is an ``image_folder``
    (:func:`_image_folder_info`: what ``segment`` and ``detect`` read of it); the output of
    a ``segment`` run, or its ``labels/``/``store/`` folder or ``segment.json``/``run.json``,
    is a ``segment_output`` (:func:`_segment_output_info`), never an acquisition.

    Raises:
        FerroscreenError: If ``path`` cannot be read as any of these kinds (a folder with
            neither a known layout nor images: the acquisition error).

    Values are plain JSON types (:func:`~ferroscreen.json_output.strict_json_value`): numbers that are
    not finite (an empty cell read as NaN) are ``None``, written as ``null`` by
    :func:`~ferroscreen.json_output.dumps_strict`.
    """
    return strict_json_value(_inspect(path, layout, fmt, interval_h))


def _inspect(path: Path, layout: Path | list[Path] | None, fmt: str | None, interval_h: float | None) -> dict:
    """:func:`inspect_path`'s description, before :func:`~ferroscreen.json_output.strict_json_value`."""
    path = Path(path)
    if not path.exists():
        raise FerroscreenError(f"{path}: no such file or folder")
    own = _segment_output_of(path)
    if own is not None:
        return _segment_output_info(path, own, layout)
    suffix = path.suffix.lower()
    if path.is_file() and looks_like_cellprofiler(path):
        return _cellprofiler_info(path, layout)
    if path.is_file() and looks_like_harmony_results(path):
        return _harmony_info(path, layout)
    names = header_names(path) if path.is_file() and suffix in _LAYOUT_SUFFIXES else []
    if (kind := names_a_table(names)) and not _layout_header(names, kind):
        return _table_info(path, kind, layout)
    not_layout: NotALayout | None = None
    xml_layout = suffix == ".xml" and path.is_file() and (looks_like_d300_protocol(path) or _is_platemap_xml(path))
    if path.is_file() and (suffix in _LAYOUT_SUFFIXES or xml_layout) and not looks_like_metric_export(path):
        try:
            return _layout_info(path, read_layout(path))
        except NotALayout as exc:  # no well and layout columns, no named grids: maybe a plate read
            if suffix in (".platemap", ".tdd", ".hpdd", ".xml"):
                raise
            if kind:  # a dose-response table after all (:func:`_layout_header` took it for a layout)
                return _table_info(path, kind, layout)
            not_layout = exc
    if path.is_file() and looks_like_metric_export(path):
        exp = read_metric_export(path)
        out = {
            "kind": "metric_export",
            "format": "incucyte_metric",
            "path": str(path),
            "metric": exp.metric,
            "plates": sorted(exp.table["plate"].unique()),
            "n_wells": len(exp.wells),
            "wells": exp.wells,
            **_times(exp.timepoints_h),
            "n_missing_values": int(exp.table["value"].isna().sum()),
            "notes": exp.notes,
        }
        if layout is not None:
            out["layout_check"] = _compare(_pairs(exp.table), layout)
        return out
    if path.is_file():
        try:
            return _plate_reader_info(path, layout)
        except NoPlateRead:
            if not_layout is not None:  # not a plate read either: the layout reader's complaint, and that
                raise FerroscreenError(f"{not_layout}; nor a plate read ({PLATE_READ_SHAPES})") from None
    try:
        acq = open_acquisition(path, fmt=fmt, interval_h=interval_h)
    except AcquisitionError:
        if fmt is not None or not path.is_dir() or not _no_layout(path):
            raise
        folder = _image_folder_info(path)
        if folder is None:  # no images either
            raise
        return folder
    f = acq.frames
    missing = acq.missing_frames()
    unreadable = []
    for p in f["path"]:
        why = _unreadable_reason(p)
        if why:
            unreadable.append({"path": p, "reason": why})
    out = {
        "kind": "acquisition",
        "format": acq.format,
        "path": str(path),
        "plates": sorted(f["plate"].unique()),
        "n_frames": int(len(f)),
        "n_wells": len(acq.wells),
        "wells": acq.wells,
        "fields": sorted(int(x) for x in f["field"].unique()),
        "channels": sorted(f["channel"].unique()),
        "z_planes": sorted(int(x) for x in f["z"].unique()),
        **_times(acq.timepoints_h),
        "plate_timepoints": _plate_times(f),
        "missing_frames": missing.to_dict("records"),
        **acq.missing_sites(),
        "unreadable": unreadable,
        **_frame_sizes(list(f["path"]), {u["path"] for u in unreadable}),
        "skipped_files": [{"path": p, "reason": r} for p, r in acq.skipped],
        "notes": [n for n in acq.notes if not n.startswith(MISSING_SITES_NOTE)],  # shown under missing frames
    }
    lay_path, beside_note = (layout, "") if layout else layout_beside(path if path.is_dir() else path.parent)
    if beside_note:
        out["notes"].append(beside_note)
    if lay_path is not None:
        out["layout_check"] = _compare(_pairs(f), lay_path)
    return out


def _layout_header(names: list[str], kind: str) -> bool:
    """Whether a header :func:`~ferroscreen.csv_tables.names_a_table` takes for a dose-response table is a layout's.

    A dose column beside a well column the layout readers know (``Well Position``, ``Well ID``) and
    no ``curve``/``response``: ``fit --layout`` reads such a file as a layout, and so does ``inspect``.
    """
    lower = {str(n).strip().lower() for n in names}
    return kind == "tidy" and not {"curve", "response"} & lower and table_header_index([(0, list(names))]) is not None


def _unreadable_reason(path: str | Path) -> str | None:
    """Why an image file is unreadable, or ``None``; a PNG or JPEG cut short is found before any decoder prints."""
    if Path(path).suffix.lower() in (".png", ".jpg", ".jpeg") and Path(path).is_file():
        try:
            problem = encoded_image_problem(np.fromfile(path, np.uint8), Path(path).suffix)
        except OSError as exc:
            return f"cannot read ({exc.strerror})"
        if problem is not None:
            return problem
    return check_image_file(path)


#: Frames of an acquisition whose size and pixel type ``inspect`` reads, spread over its frame table.
_SIZE_SAMPLE = 24

_PAGE_SUFFIX = re.compile(r"#page=(\d+)$")


def _frame_sizes(paths: list[str], unreadable: set[str]) -> dict:
    """Frame sizes of up to :data:`_SIZE_SAMPLE` frames spread over ``paths`` (times, wells; ``unreadable`` left out).

    Returns ``frame_sizes``: ``{"height", "width", "dtype", "files"}`` per size and pixel type, the most files
    first, and ``frame_sizes_read``: the frames read. A TIFF frame (or page) is read from its header, others
    decoded as scoring reads them (one 2-D grey frame).
    """
    usable = [p for p in paths if p and p not in unreadable]
    picks = sorted(set(np.linspace(0, len(usable) - 1, min(_SIZE_SAMPLE, len(usable))).round().astype(int)))
    counts: dict[tuple[int, int, str], int] = {}
    for i in picks:
        size = _frame_size(usable[i])
        if size is not None:
            counts[size] = counts.get(size, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    return {"frame_sizes": [{"height": h, "width": w, "dtype": d, "files": n} for (h, w, d), n in ordered],
            "frame_sizes_read": sum(counts.values())}


def _frame_size(path: str) -> tuple[int, int, str] | None:
    """(height, width, dtype) of one frame, a TIFF's (or TIFF page's) from its header; None if it cannot be read."""
    file = frame_file(path)
    page = _PAGE_SUFFIX.search(path) if file != path else None
    try:
        if Path(file).suffix.lower() in (".tif", ".tiff") and (file == path or page):
            import tifffile

            from ferroscreen.io.ometiff import quiet_tifffile

            with quiet_tifffile(), tifffile.TiffFile(file) as tif:
                target = tif.pages[int(page[1]) if page else 0]
                shape, axes, dtype = tuple(target.shape), str(target.axes), str(target.dtype)
            if "Y" in axes and "X" in axes and len(axes) == len(shape):
                return int(shape[axes.index("Y")]), int(shape[axes.index("X")]), dtype
        img = load_image(path)
        return int(img.shape[0]), int(img.shape[1]), str(img.dtype)
    except Exception:  # noqa: BLE001 - readers raise many types; unreadable frames are listed on their own
        return None


def _frame_size_line(info: dict) -> str:
    """``frames (height x width): 1104 x 1104 uint16 (24 of 960 files read)``, each size with its count when several."""
    sizes, n_read = info.get("frame_sizes") or [], info.get("frame_sizes_read", 0)
    of = f"{n_read} of {info['n_frames']}" if info["n_frames"] > n_read else f"{n_read}"
    if not sizes:
        return "  frames: size not read (no sampled file could be read)"
    shown = [f"{s['height']} x {s['width']} {s['dtype']}" for s in sizes]
    if len(sizes) == 1:
        return f"  frames (height x width): {shown[0]} ({of} files read)"
    return ("  frames (height x width): " + ", ".join(f"{t} ({s['files']} files)" for t, s in zip(shown, sizes,
                                                                                                    strict=True))
            + f" ({of} files read)")


def _no_layout(path: Path) -> bool:
    """Whether opening ``path`` failed because no layout was recognised (not a recognised one that failed)."""
    try:
        detect_format(path)
    except AcquisitionError:
        return True
    return False


#: Images of an image folder whose dtype, shape and channels ``inspect`` reads.
_SAMPLE_IMAGES = 5

#: Files no image folder's user put there (not listed as files not understood).
_SYSTEM_FILES = {"thumbs.db", "desktop.ini", "ehthumbs.db"}


def _image_folder_info(path: Path) -> dict | None:
    """The ``image_folder`` description of a folder without a known acquisition layout, or ``None`` without images.

    What ``segment`` and ``detect`` read of it: the images directly inside (count, suffixes,
    dtype, shape and channels of up to :data:`_SAMPLE_IMAGES` spread over them, unreadable
    ones); files that are not images; images in sub-folders (not read; counted) and, when
    most names carry a well id, the ``--pattern`` that reads them as a plate, and temporary files
    passed over (a copy in progress; :mod:`ferroscreen.io.temporary_files`), as notes.
    """
    from ferroscreen.io.segment_outputs import is_segment_output

    files = plain_images(path)
    counts, complete = images_in_subfolders(path, skip=is_segment_output)
    if not files and not counts:
        return None
    suffixes: dict[str, int] = {}
    for f in files:
        suffixes[f.suffix.lower()] = suffixes.get(f.suffix.lower(), 0) + 1
    unreadable = []
    for f in files:
        why = _unreadable_reason(f)
        if why:
            unreadable.append({"path": str(f), "reason": why})
    bad = {u["path"] for u in unreadable}
    readable = [f for f in files if str(f) not in bad]
    firsts = {}  # the first file of each suffix, then files spread over the rest
    for f in readable:
        firsts.setdefault(f.suffix.lower(), f)
    picks = list(firsts.values())[:_SAMPLE_IMAGES]
    spread = np.linspace(0, len(readable) - 1, min(_SAMPLE_IMAGES, len(readable))).round().astype(int)
    picks += [readable[i] for i in spread if readable[i] not in picks][: _SAMPLE_IMAGES - len(picks)]
    samples = [x for x in (_image_sample(f) for f in sorted(picks)) if x is not None]
    listed = sorted(p.name for p in path.iterdir() if p.is_file() and p not in set(files))
    temporary = [name for name in listed if is_temporary_name(name)]
    others = [name for name in listed if is_input_name(name) and name.lower() not in _SYSTEM_FILES]
    notes = [n for n in (well_pattern_hint(files) if files else None, subfolder_note(path, counts, complete),
                         temporary_note(temporary)) if n]
    return {
        "kind": "image_folder",
        "format": "images",
        "path": str(path),
        "n_images": len(files),
        "suffixes": dict(sorted(suffixes.items())),
        "samples": samples,
        "multichannel": sum(1 for x in samples if x["channels"] > 1),
        "z_stacks": sum(1 for x in samples if x["z_planes"] > 1),
        "unreadable": unreadable,
        "not_images": others,
        "subfolder_images": counts,
        "n_wells": 0,
        "wells": [],
        **_times([]),
        "notes": notes,
    }


def _image_sample(path: Path) -> dict | None:
    """Name, dtype, shape and channels of an image file (a TIFF from its header, others decoded); None if unread."""
    suffix = path.suffix.lower()
    axes = ""
    try:
        if suffix in (".tif", ".tiff"):
            import tifffile

            from ferroscreen.io.ometiff import quiet_tifffile

            with quiet_tifffile(), tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                shape, dtype = tuple(int(n) for n in series.shape), str(series.dtype)
                axes = str(series.axes) if len(str(series.axes)) == len(shape) else ""
        else:
            if suffix in (".c01", ".dib"):
                from ferroscreen.io.cellomics import read_cellomics_image

                img = read_cellomics_image(path)
            else:
                img = decode_image_file(path)
            shape, dtype = tuple(int(n) for n in img.shape), str(img.dtype)
    except Exception:  # readers raise many types; the file was listed unreadable or is one its reader refuses
        return None
    planes = shape[axes.index("Z")] if "Z" in axes else 1
    if planes > 1:  # a z-stack (segment --z-plane): its channels are those of one plane
        shape_of_plane = tuple(n for n, a in zip(shape, axes, strict=True) if a != "Z")
    else:
        shape_of_plane = shape
    squeezed = [n for n in shape_of_plane if n > 1]
    channels = 1
    if len(squeezed) == 3:  # as segment reads it: channels last when at most 4, else first when at most 16
        channels = squeezed[-1] if squeezed[-1] <= 4 else squeezed[0] if squeezed[0] <= 16 else 1
    return {"name": path.name, "dtype": dtype, "shape": list(shape), "channels": int(channels),
            "axes": axes, "z_planes": int(planes)}


def _segment_output_of(path: Path) -> Path | None:
    """The segment output folder ``path`` is, whose ``labels/``/``store/`` folder it is, or whose marker file it is."""
    from ferroscreen.io.segment_outputs import RUN_FILE, SUMMARY_FILE, is_segment_output, output_holding

    if path.is_dir():
        return output_holding(path)
    if path.name in (RUN_FILE, SUMMARY_FILE) and is_segment_output(path.parent):
        return path.parent
    return None


def _json_record(path: Path) -> dict | None:
    """A JSON object file, or ``None`` when absent, unreadable or not an object."""
    import json

    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _segment_output_info(path: Path, folder: Path, layout: Path | list[Path] | None) -> dict:
    """The ``segment_output`` description of a ``ferroscreen segment`` output folder (from its own files).

    Input, kind (images or acquisition), model and its sha256, the scale, version and time
    (``segment.json``, else the stopped run's ``run.json``); images, nuclei, failed and
    flagged fields; rows of ``fields.csv`` and ``wells.csv`` (plates, wells, times from
    ``wells.csv``); label images written; the failed images with their reasons. With
    ``layout``, ``wells.csv``'s wells are checked against it (no layout is looked for beside it).

    Raises:
        FerroscreenError: ``fields.csv`` or ``wells.csv`` present but unreadable (naming it).
    """
    import pandas as pd

    from ferroscreen.io.segment_outputs import RUN_FILE, SUMMARY_FILE

    summary = _json_record(folder / SUMMARY_FILE)  # in a segment output (its run.json or this marks it): its summary
    run = _json_record(folder / RUN_FILE) or {}
    about = summary or run
    fields = read_csv_table(folder / "fields.csv", "a segment fields table") if (
        summary is not None and (folder / "fields.csv").is_file()) else None
    wells = read_csv_table(folder / "wells.csv", "a segment wells table") if (
        summary is not None and (folder / "wells.csv").is_file()) else None
    labels = sorted((folder / "labels").glob("*.tif")) if (folder / "labels").is_dir() else []
    failed: list[dict] = []
    if fields is not None and {"status", "image"} <= set(fields.columns):
        bad = fields[fields["status"].astype(str) == "failed"]
        errors = bad["error"] if "error" in bad.columns else pd.Series("", index=bad.index)
        failed = [{"image": str(i), "error": "" if pd.isna(e) else str(e)}
                  for i, e in zip(bad["image"], errors, strict=True)]
    elif summary is not None:
        failed = [{"image": "", "error": str(e)} for e in summary.get("failures") or []]
    plates: list[str] = []
    well_ids: list[str] = []
    times: list[float] = []
    if wells is not None and {"plate", "well"} <= set(wells.columns):
        plates = list(dict.fromkeys(wells["plate"].astype(str)))
        try:
            well_ids = sorted({normalize_well(str(w)) for w in wells["well"]}, key=well_to_rowcol)
        except WellError as exc:
            raise FerroscreenError(f"{folder / 'wells.csv'}: {exc}") from None
        if "time_h" in wells.columns:
            times = sorted(float(t) for t in pd.to_numeric(wells["time_h"], errors="coerce").dropna().unique())
    notes = [str(n) for n in (summary or {}).get("notes") or []]
    if path.resolve() != folder.resolve():
        notes.insert(0, f"{path} is part of this segment output, described whole")
    if summary is None:
        notes.append(f"no {SUMMARY_FILE}: the run stopped (or is still running) after {len(labels)} label image(s); "
                     f"ferroscreen segment {run.get('input') or 'INPUT'} --out {folder} --resume continues it")
    scale = about.get("scale") if isinstance(about.get("scale"), dict) else {}
    out = {
        "kind": "segment_output",
        "format": str(summary.get("kind", "")) if summary is not None else "stopped run",
        "path": str(folder),
        "finished": summary is not None,
        "input": about.get("input"),
        "model": about.get("model"),
        "model_sha256": about.get("model_sha256"),
        "scale": scale.get("scale"),
        "nucleus_diameter_px": scale.get("image_diameter_px"),
        "ferroscreen_version": (summary or {}).get("ferroscreen_version"),
        "created": (summary or {}).get("created"),
        "n_images": (summary or {}).get("n_images", len(fields) if fields is not None else None),
        "n_nuclei": (summary or {}).get("n_nuclei"),
        "n_failed": len(failed) if fields is not None else (summary or {}).get("n_failed"),
        "n_flagged_fields": (summary or {}).get("n_flagged_fields"),
        "n_label_images": len(labels),
        "fields_rows": int(len(fields)) if fields is not None else None,
        "wells_rows": int(len(wells)) if wells is not None else None,
        "stores": sorted(p.name for p in (folder / "store").glob("*.h5")) if (folder / "store").is_dir() else [],
        "failed_images": failed,
        "plates": plates,
        "n_wells": len(well_ids),
        "wells": well_ids,
        **_times(times),
        "notes": notes,
    }
    if layout is not None and wells is not None and plates:
        out["layout_check"] = _compare(list(zip(wells["plate"].astype(str),
                                                (normalize_well(str(w)) for w in wells["well"]), strict=True)), layout)
    return out


def _cellprofiler_info(path: Path, layout: Path | None) -> dict:
    """The ``cellprofiler`` description of a CellProfiler per-image table or database (what ``hits`` reads)."""
    fields = read_cellprofiler(path)
    t = fields.table
    wells = sorted(set(t["well"]), key=well_to_rowcol)
    per_well = t.groupby(["plate", "well"]).size()
    out = {
        "kind": "cellprofiler",
        "format": "sqlite" if path.suffix.lower() in SQLITE_SUFFIXES else "image_table",
        "path": str(path),
        "plates": sorted(t["plate"].unique()),
        "objects": fields.objects,
        "area_source": fields.area_source,
        "n_fields": int(len(t)),
        "fields_per_well": [int(per_well.min()), int(per_well.max())],
        "n_wells": len(wells),
        "wells": wells,
        **_times([]),
        "n_missing_values": int(t["area_mean"].isna().sum()) if "area_mean" in t else 0,
        "notes": [],
    }
    if layout is not None:
        out["layout_check"] = _compare(_pairs(t), layout)
    return out


def _harmony_info(path: Path, layout: Path | None) -> dict:
    """The ``harmony_results`` description of a Harmony/Columbus per-well results file (what ``hits`` reads)."""
    read = read_harmony_results(path)
    t = read.table
    wells = sorted(set(t["well"]), key=well_to_rowcol)
    out = {
        "kind": "harmony_results",
        "format": "plate_results",
        "path": str(path),
        "plates": sorted(t["plate"].unique()),
        "objects": read.population,
        "area_source": read.area_source,
        "n_wells": len(wells),
        "wells": wells,
        **_times([]),
        "n_missing_values": int(t["area_mean"].isna().sum()) if "area_mean" in t else 0,
        "notes": read.notes,
    }
    if layout is not None:
        out["layout_check"] = _compare(_pairs(t), layout)
    return out


def _plate_reader_info(path: Path, layout: Path | None) -> dict:
    """The ``plate_reader`` description of a plate-reader export (its reads, wells, times).

    Raises:
        NoPlateRead: When ``path`` holds no plate read.
    """
    exp = read_plate_reader(path)
    wells = sorted({w for r in exp.reads for w in r.table["well"]}, key=well_to_rowcol)
    times = sorted({float(t) for r in exp.reads if r.kind == "kinetic" for t in r.table["time_h"]})
    out = {
        "kind": "plate_reader",
        "format": "grid/kinetic/list",
        "path": str(path),
        "reads": [{"number": k, "label": r.label, "kind": r.kind, "plate": r.plate, "where": r.where,
                   "n_wells": int(r.table["well"].nunique()), "description": r.describe()}
                  for k, r in enumerate(exp.reads, start=1)],
        "n_wells": len(wells),
        "wells": wells,
        **_times(times),
        "n_missing_values": int(sum(r.table["value"].isna().sum() for r in exp.reads)),
        "notes": exp.notes,
    }
    if layout is not None:
        found = [(r.plate or path.stem, w) for r in exp.reads for w in r.table["well"]]
        lay = read_layouts([layout] if isinstance(layout, (str, Path)) else layout)
        if len({r.label for r in exp.reads}) == 1 and len({r.kind for r in exp.reads}) == 1:
            try:  # reads of one assay are plates, named as fit names them (the layout's plates in order)
                table, _ = plate_reads_table(exp, None, lay.names_for_unnamed_plates())
                found = _pairs(table)
            except AcquisitionError:
                pass
        out["layout_check"] = _compare(found, layout, lay)
    return out


def _table_info(path: Path, kind: str, layout: Path | list[Path] | None) -> dict:
    """A wells table or a dose-response table described: plates, wells, times or curves, columns.

    A wells table has ``plate, well[, time_h]`` and readouts (``export``'s, ``fit``'s or ``segment``'s);
    a dose-response table ``curve, dose, response``.
    """
    import pandas as pd

    t = read_csv_table(path, "a wells table" if kind == "wells" else "a dose-response table")
    t.columns = [str(c).strip() for c in t.columns]
    lower = {c.lower(): c for c in t.columns}
    keys = {"plate", "well", "time_h", "field", "curve", "dose", "readout"}
    columns = [c for c in t.columns if c.lower() not in keys]
    numeric = [c for c in columns if pd.to_numeric(t[c], errors="coerce").notna().any()]
    missing = int(t[numeric].apply(pd.to_numeric, errors="coerce").isna().sum().sum()) if numeric else 0
    if kind == "tidy":
        curve = next((lower[n] for n in ("curve", "compound", "drug", "treatment", "sample") if n in lower), None)
        dose = next((c for c in t.columns if c.lower().startswith(("dose", "conc"))), None)
        doses = pd.to_numeric(t[dose], errors="coerce") if dose else pd.Series(dtype=float)
        return {"kind": "curve_table", "format": "csv", "path": str(path), "n_rows": int(len(t)),
                "columns": list(t.columns),
                "curves": list(dict.fromkeys(t[curve].dropna().astype(str).str.strip().loc[lambda c: c != ""]))
                if curve else [],
                "readouts": sorted(t[lower["readout"]].astype(str).unique()) if "readout" in lower else [],
                "n_doses": int(doses[doses > 0].nunique()), "n_wells": 0, "wells": [], **_times([]),
                "n_missing_values": missing, "notes": []}
    plates = t[lower["plate"]].astype(str) if "plate" in lower else pd.Series(path.stem, index=t.index)
    wells = t[lower["well"]].astype(str).str.strip()
    try:
        wells = wells.map(normalize_well)
    except WellError as exc:
        raise FerroscreenError(f"{path}: {exc}") from None
    times = pd.to_numeric(t[lower["time_h"]], errors="coerce") if "time_h" in lower else pd.Series(dtype=float)
    out = {
        "kind": "wells_table", "format": "csv", "path": str(path), "n_rows": int(len(t)),
        "plates": list(dict.fromkeys(plates)), "n_wells": int(wells.nunique()),
        "wells": sorted(wells.unique(), key=well_to_rowcol),
        **_times(sorted(float(x) for x in times.dropna().unique())),
        "columns": numeric, "n_missing_values": missing, "notes": [],
    }
    if layout is not None:
        out["layout_check"] = _compare(list(zip(plates, wells, strict=True)), layout)
    return out


def _well_ranges(wells: list[str], limit: int = 24) -> str:
    if len(wells) <= limit:
        return ", ".join(wells)
    return ", ".join(wells[:limit]) + f", … ({len(wells) - limit} more)"


def _counting_line(info: dict) -> str:
    area = f"nuclear area from {info['area_source']}" if info["area_source"] else "no nuclear area (the count alone)"
    return f"  counting {info['objects']}; {area}"


def _printable(lines: list[str]) -> str:
    """The lines as one text, control characters from users' names (a tab, a vertical tab) shown as spaces."""
    return "\n".join(re.sub(r"[\x00-\x1f\x7f]", " ", line) for line in lines)


#: Compound lines a layout's text description shows (``--json`` has every one).
_MAX_SERIES = 40


def _timepoint_span(t: dict) -> str:
    """``N from A h to B h, every I h`` of a :func:`_times` record.

    Uneven gaps read ``every A-B h (median I h)``, with the long gaps named (up to three).
    """
    every = ""
    if t.get("interval_h"):
        lo, hi = t.get("interval_min_h"), t.get("interval_max_h")
        if lo is not None and hi is not None and hi - lo > 0.05 * t["interval_h"]:
            every = f", every {lo:.3g}-{hi:.3g} h (median {t['interval_h']:.3g} h)"
        else:
            every = f", every {t['interval_h']:.3g} h"
    gaps = t.get("long_gaps_h") or []
    if gaps:
        named = ", ".join(f"{a:.4g}-{b:.4g} h" for a, b in gaps[:3]) + (f" and {len(gaps) - 3} more" if len(gaps) > 3
                                                                           else "")
        every += f"; longer gap{'s' if len(gaps) > 1 else ''} {named}"
    return f"{t['n_timepoints']} from {t['first_h']:.4g} h to {t['last_h']:.4g} h{every}"


def render_inspection(info: dict) -> str:
    """Human-readable text for an :func:`inspect_path` result."""
    lines = [f"{info['path']}: {info['kind']} ({info['format']})"]
    if info["kind"] == "layout":
        own = info.get("plate_formats") or {}
        if len(set(own.values())) > 1:  # plates of several formats: each its own
            lines.append("  plates: " + ", ".join(f"{p} ({n} wells)" for p, n in own.items()))
        else:
            lines.append(f"  plate format: {info['plate_format']} wells; plates: {', '.join(info['plates'])}")
        lines.append(f"  wells with a row: {info['n_wells']}")
        lines.append("  roles: " + ", ".join(f"{k}={v}" for k, v in sorted(info["roles"].items())))
        if info["references"]:
            lines.append(
                "  references: " + ", ".join(f"{c} → {m}" for c, m in info["references"].items())
            )
        lines.append(f"  compounds ({len(info['compounds'])}):")
        lines += [f"    {s}" for s in info["series"][:_MAX_SERIES]]
        if len(info["series"]) > _MAX_SERIES:  # an siRNA library plate: a gene per well
            lines.append(f"    … and {len(info['series']) - _MAX_SERIES} more (--json lists them all)")
        lines.append(f"  empty wells ({len(info['empty_wells'])}): {_well_ranges(info['empty_wells'])}")
        if info["cell_lines"]:
            lines.append(f"  cell lines: {', '.join(info['cell_lines'])}")
        if info.get("excluded"):
            several = len(info["plates"]) > 1  # a well named with its plate, as the empty wells are
            shown = ", ".join(f"{e['plate'] + ' ' if several else ''}{e['well']} ({e['reason']})"
                              for e in info["excluded"][:12])
            more = f" and {len(info['excluded']) - 12} more" if len(info["excluded"]) > 12 else ""
            lines.append(f"  excluded wells ({len(info['excluded'])}, left out of fits and QC): {shown}{more}")
        lines += [f"  note: {n}" for n in info.get("notes") or []]
        return _printable(lines)
    if info["kind"] == "curve_table":
        shown = ", ".join(map(str, info["curves"][:12])) + (f" … ({len(info['curves']) - 12} more)"
                                                   if len(info["curves"]) > 12 else "")
        lines.append(f"  rows: {info['n_rows']}; columns: {', '.join(info['columns'])}")
        if info["curves"]:
            lines.append(f"  curves ({len(info['curves'])}): {shown}")
        lines.append(f"  positive doses: {info['n_doses']} distinct"
                     + (f"; readouts: {', '.join(info['readouts'])}" if info["readouts"] else ""))
        lines.append(f"  empty values: {info['n_missing_values']}")
        return _printable(lines)
    if info["kind"] == "image_folder":
        return _printable(lines + _image_folder_lines(info))
    if info["kind"] == "segment_output":
        return _printable(lines + _segment_output_lines(info) + _layout_check_lines(info))
    if info["kind"] == "wells_table":
        lines.append(f"  plates: {', '.join(info['plates'])}; rows: {info['n_rows']}")
        lines.append(f"  columns: {', '.join(info['columns'])}")
    elif info["kind"] == "metric_export":
        lines.append(f"  metric: {info['metric'] or '(none)'}")
    elif info["kind"] == "cellprofiler":
        low, high = info["fields_per_well"]
        lines.append(f"  plates: {', '.join(info['plates'])}; fields: {info['n_fields']} ({low}" +
                     (f"-{high}" if high != low else "") + " per well)")
        lines.append(_counting_line(info))
    elif info["kind"] == "harmony_results":
        lines.append(f"  plates: {', '.join(info['plates'])}")
        lines.append(_counting_line(info))
    elif info["kind"] == "plate_reader":
        lines.append(f"  reads ({len(info['reads'])}; fit takes one with --read N or LABEL when they differ):")
        lines += [f"    {r['number']}: {r['description']}" for r in info["reads"]]
    else:
        lines.append(f"  plates: {', '.join(info['plates'])}; frames: {info['n_frames']}")
        name = _field_name(info)  # Cellomics: as the files name them
        fields = f"[{', '.join(map(name, info['fields']))}]" if name else info["fields"]
        lines.append(f"  fields: {fields}; channels: {', '.join(info['channels'])}; z: {info['z_planes']}")
        if "frame_sizes" in info:
            lines.append(_frame_size_line(info))
    lines.append(f"  wells ({info['n_wells']}): {_well_ranges(info['wells'])}")
    if info.get("plate_timepoints"):  # each plate timed from its own first scan: one line each
        for plate, t in info["plate_timepoints"].items():
            lines.append(f"  timepoints of {plate}: {_timepoint_span(t)}")
    elif info["n_timepoints"]:
        lines.append(f"  timepoints: {_timepoint_span(info)}")
    if info["kind"] == "acquisition":
        miss = info["missing_frames"]
        lines.append(f"  missing from the grid: {len(miss)} frame(s)")
        lines += [f"    {line}" for line in site_lines(info, _field_name(info))]
        for m in miss[:10]:
            lines.append(
                f"    {m['plate']} {m['well']} field {(_field_name(info) or str)(m['field'])} {m['channel']} z{m['z']} "
                f"at {m['time_h']:.4g} h"
            )
        lines.append(f"  unreadable files: {len(info['unreadable'])}")
        for u in info["unreadable"][:10]:
            lines.append(f"    {u['path']}: {u['reason']}")
        if info["skipped_files"]:
            lines.append(f"  files not understood: {len(info['skipped_files'])}")
            for s in info["skipped_files"][:5]:
                lines.append(f"    {s['path']}: {s['reason']}")
    else:
        lines.append(f"  empty values: {info['n_missing_values']}")
    for note in info.get("notes", []):
        lines.append(f"  note: {note}")
    lines += _layout_check_lines(info)
    return _printable(lines)


def _image_folder_lines(info: dict) -> list[str]:
    """The lines under the title of an ``image_folder`` description."""
    kinds = ", ".join(f"{n} {k}" for k, n in info["suffixes"].items())
    lines = [f"  images: {info['n_images']} ({kinds}); no plates or wells (segment writes no wells.csv)"
             if info["n_images"] else "  images: none directly inside"]
    for x in info["samples"]:
        channels = f", {x['channels']} channels" if x["channels"] > 1 else ""
        planes = f", {x['z_planes']} z planes" if x.get("z_planes", 1) > 1 else ""
        axes = f" ({x['axes']})" if planes and x.get("axes") else ""
        lines.append(f"    {x['name']}: {x['dtype']} {'x'.join(map(str, x['shape']))}{axes}{planes}{channels}")
    if info.get("z_stacks"):
        lines.append(f"  z-stacks: {info['z_stacks']} of the {len(info['samples'])} read; segment needs --z-plane N "
                     "(0-based), max or best to read them")
    if info["multichannel"]:
        lines.append(f"  multi-channel files: {info['multichannel']} of the {len(info['samples'])} read; segment "
                     "needs --channel-index for the nuclear one unless their channels are identical")
    lines.append(f"  unreadable files: {len(info['unreadable'])}")
    for u in info["unreadable"][:10]:
        lines.append(f"    {u['path']}: {u['reason']}")
    if info["not_images"]:
        shown = ", ".join(info["not_images"][:8]) + (f" and {len(info['not_images']) - 8} more"
                                                      if len(info["not_images"]) > 8 else "")
        lines.append(f"  files not understood: {len(info['not_images'])} ({shown})")
    lines += [f"  note: {n}" for n in info["notes"]]
    return lines


def _segment_output_lines(info: dict) -> list[str]:
    """The lines under the title of a ``segment_output`` description."""
    sha = f" (sha256 {str(info['model_sha256'])[:12]})" if info.get("model_sha256") else ""
    lines = [f"  input: {info['input'] or '(not recorded)'}", f"  model: {info['model'] or '(not recorded)'}{sha}"
             + (f"; scale {info['scale']:g}" if isinstance(info.get("scale"), int | float) else "")
             + (f", nuclei {info['nucleus_diameter_px']:.4g} px across"
                if isinstance(info.get("nucleus_diameter_px"), int | float) else "")]
    if info["finished"]:
        lines.append(f"  ferroscreen {info['ferroscreen_version']}, created {info['created']}")
        lines.append(f"  images: {info['n_images']} ({info['n_failed']} failed, {info['n_flagged_fields']} flagged "
                     f"by QC); nuclei: {info['n_nuclei']}; label images: {info['n_label_images']}")
        tables = [f"fields.csv {info['fields_rows']} rows" if info["fields_rows"] is not None else "no fields.csv"]
        if info["wells_rows"] is not None:
            tables.append(f"wells.csv {info['wells_rows']} rows (plates {', '.join(info['plates'])})")
        if info["stores"]:
            tables.append(f"store/ {', '.join(info['stores'])}")
        lines.append("  " + "; ".join(tables))
    else:
        lines.append(f"  label images: {info['n_label_images']}")
    if info["n_wells"]:
        lines.append(f"  wells ({info['n_wells']}): {_well_ranges(info['wells'])}")
    if info["n_timepoints"] > 1:
        lines.append(f"  timepoints: {info['n_timepoints']} from {info['first_h']:.4g} h to {info['last_h']:.4g} h")
    if info["failed_images"]:
        lines.append(f"  failed images ({len(info['failed_images'])}):")
        for x in info["failed_images"][:10]:
            lines.append(f"    {x['image'] + ': ' if x['image'] else ''}{x['error']}")
        if len(info["failed_images"]) > 10:
            lines.append(f"    … and {len(info['failed_images']) - 10} more (fields.csv lists them)")
    lines += [f"  note: {n}" for n in info["notes"]]
    return lines


def _layout_check_lines(info: dict) -> list[str]:
    """The lines of a description's ``layout_check`` (none without one)."""
    if "layout_check" not in info:
        return []
    lc = info["layout_check"]
    lines: list[str] = []
    lines.append(f"  layout {lc['layout']}:")
    if lc.get("format_mismatch"):
        lines.append(f"    {lc['format_mismatch']} (is it this plate's layout?)")
    renamed = {d: p for d, p in lc["plates"].items() if d != p}
    if renamed and len(lc["layout_plates"]) > 1:
        lines.append("    plates matched: " + ", ".join(f"{d} -> {p}" for d, p in renamed.items()))
    if lc["plates_not_in_layout"]:
        lines.append(f"    plates the layout does not name ({len(lc['plates_not_in_layout'])}): "
                     f"{', '.join(lc['plates_not_in_layout'])}")
    if lc.get("plates_named_otherwise"):
        lines.append(f"    its one plate is '{lc['layout_plates'][0]}'; plates of another name it is applied to: "
                     f"{', '.join(lc['plates_named_otherwise'])} (check it is their layout)")
    if lc["layout_plates_not_found"]:
        lines.append(f"    layout plates not in the data ({len(lc['layout_plates_not_found'])}): "
                     f"{', '.join(lc['layout_plates_not_found'])}")
    lines.append(
        f"    imaged but not in layout ({len(lc['imaged_not_in_layout'])}): "
        f"{_well_ranges(lc['imaged_not_in_layout'])}"
    )
    lines.append(
        f"    in layout but not imaged ({len(lc['in_layout_not_imaged'])}): "
        f"{_well_ranges(lc['in_layout_not_imaged'])}"
    )
    lines += [f"    note: {n}" for n in lc.get("notes") or []]
    return lines


def _field_name(info: dict):
    """How the text names the fields of ``info``'s acquisition: as Cellomics files do (``f00``: field 1), else None.

    The frame table's (and the JSON's) ``field`` stays 1-based (:mod:`ferroscreen.io.cellomics`).
    """
    from ferroscreen.io.cellomics import file_field

    return file_field if info.get("format") == "cellomics" else None
