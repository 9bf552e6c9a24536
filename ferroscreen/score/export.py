"""``ferroscreen export``: the store's per well x time table as ``wells.csv``.

Columns: ``plate, well, time_h, n_cells, frac_<class>...`` (the contract the
dose-response engine reads; ``n_cells`` counts all the well's fields, scaled from the fields
scored when some are not, and is blank where none is), then ``share_<class>...``,
``corr_<class>...``, ``mean_confidence``, frame counts, ``n_cells_read`` and QC flags (see
:mod:`ferroscreen.score.aggregate`), then the store's layout columns
(:data:`~ferroscreen.plate.layout.WELLS_LAYOUT_COLUMNS`: ``compound, concentration, unit, role, mode,
rescue_agent, rescue_concentration, rescue_as_written, replicate, cell_line,
growth_condition, exclude``; blank where the layout has none) when it holds one. They are
the layout ``fit`` takes when given no ``--layout``: doses in molar (``unit``
``M``; a dose the layout gave in a unit that is not molar is blank), the
groups curves are fitted in (cell line, growth condition) and the excluded
wells (``exclude``: blank, or why the well is left out).

``provisional`` (after ``qc_ok``) is 1 where a frame of the well at that time was classified
without all the later scans a next-scan model reads because the plate had none yet (its newest
scans, :func:`~ferroscreen.score.aggregate.provisional_frames`) on a plate scored as it was imaged
(:func:`scored_live`: ``score --watch``, or a later run on a store a watch wrote): while it is still being
imaged these rows change when the later scans are scored; once imaging has ended they stay, read
without them. 0 everywhere else: for a model that reads no later scan, and for a plate scored in
one run, taken as imaged in full. ``export`` says which scans are provisional in a note.

``frac_<class>`` holds the fraction estimate chosen at export (column
``fraction_estimate``): ``share`` (default: the share of cells whose top class
it is), ``frac`` (mean calibrated probability) or ``corr`` (confusion-corrected
share). With ``share`` or ``corr`` the mean probabilities move to
``pmean_<class>``. The share is the default because it is the closest to the
true classes of the detected cells: on a held-out simulated plate (seed 1)
scored with the ``demo.yaml`` model (``benchmarks/correction_accuracy.py``),
mean absolute error 0.018 against 0.067 for the mean probability, and vehicle
wells read 0.066 dead against 0.182 (true 0.054). The mean probability is soft
because the calibration temperature is fitted on validation *well* labels, in
which survivors in inducer wells count as dead.

A store scored in tile mode (a bundle whose detector classifies a fixed grid
of tiles instead of detected cells: the store's ``detector`` attribute has
``mode`` ``tiles``) holds one record per tile, so its ``n_cells`` counts tiles.
``wells.csv`` keeps it, and marks every row with a ``detector_mode`` column
(``tiles``; no such column in cell mode), which ``fit wells.csv`` reads to
leave out its count readouts (:mod:`ferroscreen.analysis.readouts`);
``export.json`` says the same in ``detector_mode`` and ``notes``, and ``export`` on the console.

``export.json`` records where ``wells.csv`` came from: the store (its path and sha256), how it was
scored, the export's options and ``wells.csv``'s own sha256, by which ``fit`` knows the table is
still the one exported (:func:`exported_scoring`). ``wells.csv`` holds every number in full (the
shortest text that reads back as the same float), so ``fit wells.csv`` fits what ``fit`` of the
store fits. A store none of whose frames is scored yet is refused (:func:`refuse_unscored`), saying
so when a run is writing it still or a stopped run's results wait in its journals, not merged.
``export.json``'s ``notes`` are the notes ``export`` prints of the store (:func:`export_notes`):
what ``score`` warned of (a model that does not suit the images, files and wells passed over:
:func:`scoring_notes`), provisional scans, failed and pending frames (those of another size
apart), unmerged journals, tile mode.

:func:`export_plate` writes ``wells.csv``, ``export.json`` and the cell galleries
(:mod:`ferroscreen.score.gallery`) as one :class:`~ferroscreen.output_set.NestedOutputSet`: an
export that fails part-way (a damaged block of the store, Ctrl-C, a full disk) leaves the folder
with the earlier export's files, as they were.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.json_output import write_json
from ferroscreen.output_set import OutputSet, output_set
from ferroscreen.plate.layout import WELLS_LAYOUT_COLUMNS
from ferroscreen.score.store import StoreError, one_version, open_h5, read_store

#: What ``export`` writes beside ``wells.csv``: the store it came from and how that was scored.
EXPORT_RECORD = "export.json"

FRACTION_ESTIMATES = ("frac", "share", "corr")
#: The estimate ``export`` and ``fit`` write to ``frac_<class>`` unless told otherwise.
DEFAULT_FRACTIONS = "share"
#: The ``detector_mode`` of a store scored on fixed tiles (whose ``n_cells`` counts tiles).
TILE_MODE = "tiles"


def _json_attr(attrs: dict, name: str) -> dict:
    """A store attribute held as JSON text by h5py (``detector``, ``config``) as a dict ({} when none or unreadable)."""
    value = attrs.get(name)
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _detector(attrs: dict) -> dict:
    """The store's ``detector`` attribute as a dict (as h5py holds it, JSON text; {} when none)."""
    return _json_attr(attrs, "detector")


def detector_mode(attrs: dict) -> str:
    """The detector mode a store's attributes record: ``cells`` or ``tiles`` (``cells`` when none is recorded)."""
    return str(_detector(attrs).get("mode") or "cells")


def tile_note(attrs: dict) -> str:
    """What a tile-mode store's ``n_cells`` counts ("" for a cell-mode store)."""
    if detector_mode(attrs) != TILE_MODE:
        return ""
    size = _detector(attrs).get("tile_size")
    return (f"scored in tile mode: each frame's fixed {f'{size} px ' if size else ''}tiles are classified, not "
            f"detected cells, so n_cells counts tiles, not cells; fit leaves the count readouts (viability, gr, "
            f"dip_rate) out")


def _stored_attrs(source) -> dict:
    """The ``detector`` and ``next_scan`` attributes of the score store ``source`` names ({} if none).

    Only for a path to a store file (``.h5``/``.hdf5``) that can be read; anything else gives {}.
    """
    if source is None or Path(source).suffix.lower() not in (".h5", ".hdf5") or not Path(source).is_file():
        return {}
    try:
        with open_h5(source) as f:
            found = {k: f.attrs.get(k) for k in ("detector", "next_scan", "config")}
    except (StoreError, OSError):  # whoever read the store's wells said what is wrong with it
        return {}
    return {k: v for k, v in found.items() if v is not None}


def refuse_unscored(wells: pd.DataFrame, source=None) -> None:
    """Refuse the ``/wells`` of a store none of whose frames is scored: every count and fraction is blank.

    Wells without frame counts (``n_done``) are not checked. When ``source`` is the store's file,
    the error says whether a score run is writing it still, or whether a stopped run left results
    in its journals (``<store>.parts``) that are not merged yet (and how many frames they score,
    :func:`journal_frames`), rather than that nothing is scored.

    Raises:
        StoreError: Naming ``source``, how many frames are pending (or failed) and what to do.
    """
    if wells.empty or "n_done" not in wells.columns or wells["n_done"].fillna(0).sum() > 0:
        return
    total, pending, failed = (int(wells[c].fillna(0).sum()) if c in wells.columns else 0
                              for c in ("n_frames", "n_pending", "n_failed"))
    store = source or "store"
    if pending:
        also = f", {failed} failed" if failed else ""
        head = f"{store}: no frame is scored yet ({pending} of {total} pending{also})"
        raise StoreError(head + (_unmerged(source) or f": score it to the end (`ferroscreen score ... --out "
                                                      f"{source or 'STORE'} --resume`) first"))
    raise StoreError(f"{store}: none of its {total} frames was scored ({failed} failed): it holds no "
                     f"counts or fractions; see the failed frames `score` named")


def _unmerged(source) -> str:
    """Why a store's frames are pending though scored elsewhere, and what to do ("" when they are not).

    A score run writing it still (its frames reach the store when it ends), or a stopped run's
    journals beside it, not merged yet.
    """
    if source is None or not Path(source).is_file():
        return ""
    from ferroscreen.score.store_lock import store_writer

    writer = store_writer(source)
    if writer is not None:
        who = f" (pid {writer})" if writer else ""
        watching = _watching(source)
        if watching is None:  # the latest run's record is unreadable: true of either kind of run
            return (f": a score run{who} is writing it; the frames it scores reach the store at the end of each "
                    f"`--watch` pass, or of a run without --watch; export it then")
        if not watching:
            return (f": a score run{who} is writing it, and the frames it scores reach the store when it ends; "
                    f"export it then")
        k = _next_scans(source)
        held = (f"; its model reads {k} later scan(s) of each frame, so a site's frames are held until those "
                f"land (or the watch stops)" if k else "")
        return (f": a `score --watch` run{who} is writing it, and the frames it scores reach the store at the end "
                f"of each pass{held}; export it again then")
    parts = Path(source).with_name(Path(source).name + ".parts")
    if not parts.is_dir() or not any(parts.glob("rank-*.h5")):
        return ""
    n = journal_frames(parts)
    held = f"{n} scored frame(s)" if n is not None else "frame results"
    return (f": a stopped run left {held} in {parts}, not merged into the store yet; `ferroscreen score ... --out "
            f"{source} --resume` (the acquisition and --model of that run) merges them and scores the rest")


def _watching(source) -> bool | None:
    """Whether the latest run that wrote store ``source`` is a ``score --watch`` (its ``config``); None: unknown."""
    try:
        with open_h5(source) as f:
            config = f.attrs.get("config")
    except (StoreError, OSError):
        return None
    if isinstance(config, bytes):
        config = config.decode()
    try:
        config = json.loads(config) if isinstance(config, str) else config
    except ValueError:
        return None
    return bool(config.get("watch")) if isinstance(config, dict) and "watch" in config else None


def _next_scans(source) -> int:
    """The later scans the model that scored store ``source`` reads of each frame (0 when unknown)."""
    try:
        with open_h5(source) as f:
            return int(f.attrs.get("next_scan", 0) or 0)
    except (StoreError, OSError, TypeError, ValueError):
        return 0


def journal_frames(parts: Path) -> int | None:
    """Frames scored (``done``) in the journals ``parts/rank-*.h5`` of a stopped run; None when one cannot be read.

    Read only: a journal whose writer was killed (HDF5 flags still set) is not opened for writing,
    as merging one does (:class:`~ferroscreen.score.shard.ShardReader`), so its count is unknown.
    """
    import h5py
    import numpy as np

    from ferroscreen.score.store import DONE

    frames: set[int] = set()
    for path in sorted(Path(parts).glob("rank-*.h5")):
        try:
            with h5py.File(path, "r", locking=False) as f:
                if "results" not in f:
                    continue
                status, frame = f["results"]["status"][()], f["results"]["frame"][()]
        except (OSError, KeyError, ValueError, RuntimeError):
            return None
        m = min(len(status), len(frame))
        frames.update(np.asarray(frame[:m])[np.asarray(status[:m]) == DONE].tolist())
    return len(frames)


def select_fractions(
    wells: pd.DataFrame, classes: list[str], estimate: str = DEFAULT_FRACTIONS, source=None,
    attrs: dict | None = None, frames: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``wells`` with ``frac_<class>`` replaced by the ``estimate`` columns (see the module doc).

    A column ``fraction_estimate`` names the estimate. When the store was scored in tile mode (its
    attributes' ``detector`` ``mode``), a column ``detector_mode`` says ``tiles`` on every row: its
    ``n_cells`` counts tiles, and ``fit`` makes no count readouts of it. A column ``provisional``
    after ``qc_ok`` marks the rows read short at the end of the data (see the module doc); it is
    left out only when the model reads later scans and no frame table tells which.

    Args:
        wells: The store's ``/wells`` aggregates.
        classes: The store's classes.
        estimate: One of :data:`FRACTION_ESTIMATES`.
        source: The store (its path), named by errors.
        attrs: The store's attributes; when None and ``source`` is a store file, its ``detector``
            and ``next_scan`` attributes are read from it.
        frames: The store's frame table (of the version ``wells`` was read from); when None, read
            from ``source`` if the model reads later scans.

    Raises:
        StoreError: ``estimate`` is unknown or its columns are missing, or no frame of the store is
            scored (:func:`refuse_unscored`).
    """
    refuse_unscored(wells, source)
    if estimate not in FRACTION_ESTIMATES:
        raise StoreError(f"{source or 'wells'}: fraction estimate must be one of {', '.join(FRACTION_ESTIMATES)}, "
                         f"not '{estimate}'")
    wells = wells.copy()
    if estimate != "frac":
        missing = [f"{estimate}_{c}" for c in classes if f"{estimate}_{c}" not in wells.columns]
        if missing:
            raise StoreError(f"{source or 'wells'}: no {', '.join(missing)} column(s) to use as fractions")
        for c in classes:
            wells[f"pmean_{c}"] = wells[f"frac_{c}"]
            wells[f"frac_{c}"] = wells[f"{estimate}_{c}"]
    wells["fraction_estimate"] = estimate
    attrs = attrs if attrs is not None else _stored_attrs(source)
    if detector_mode(attrs) == TILE_MODE:
        wells["detector_mode"] = TILE_MODE
    provisional = _provisional_column(wells, attrs, frames, source)
    if provisional is not None:
        at = wells.columns.get_loc("qc_ok") + 1 if "qc_ok" in wells.columns else len(wells.columns)
        wells.insert(at, "provisional", provisional)
    return wells


def scored_live(attrs: dict) -> bool:
    """Whether a store was scored as its plate was imaged: by a ``--watch`` run, or a later run on a watch's store.

    ``attrs``: the store's attributes (``config`` as a dict or its JSON text). A store never written by a
    ``--watch`` run (one run, or resumed after failed frames or a stop) is taken as a plate imaged in
    full: its newest scans are final, read without later scans.
    """
    config = _json_attr(attrs, "config")
    return bool(config.get("live", config.get("watch", False)))


def _provisional_column(wells: pd.DataFrame, attrs: dict, frames: pd.DataFrame | None, source) -> np.ndarray | None:
    """The ``provisional`` 0/1 of each row of ``wells`` (see the module doc); None when it cannot be told."""
    from ferroscreen.score.aggregate import provisional_rows

    k = int(attrs.get("next_scan", 0) or 0) if scored_live(attrs) else 0
    if k and frames is None and source is not None and Path(source).is_file():
        frames = read_store(source).frames
    if not k or wells.empty:
        return np.zeros(len(wells), np.int64)
    keys = ["plate", "well", "time_h"]
    if frames is None or not set(keys) <= set(wells.columns):
        return None
    marked = wells[keys].merge(provisional_rows(frames, k), on=keys, how="left")["provisional"]
    return marked.fillna(0).to_numpy(np.int64)


def wells_table(store_path: str | Path, fractions: str = DEFAULT_FRACTIONS, store=None) -> pd.DataFrame:
    """The store's well aggregates joined with its layout, in ``wells.csv`` column order.

    ``fractions`` picks the estimate written to ``frac_<class>`` (:func:`select_fractions`);
    ``store``: the store as read already (else it is read).
    """
    store = store if store is not None else read_store(store_path)
    classes = store.classes
    wells = select_fractions(store.wells, classes, fractions, store_path, store.attrs, getattr(store, "frames", None))
    head = ["plate", "well", "time_h", "n_cells", *[f"frac_{c}" for c in classes]]
    rest = [c for c in wells.columns if c not in head]
    wells = wells[head + rest]
    if store.layout is not None and len(store.layout):
        lay = store.layout.drop_duplicates("well").set_index("well")
        if "concentration" in lay.columns:  # the stored unit is the one written (uM); the dose is molar
            molar = pd.to_numeric(lay["concentration"], errors="coerce").notna()
            lay = lay.assign(unit=molar.map({True: "M", False: ""}))
        for col in WELLS_LAYOUT_COLUMNS:  # every one, blank where the layout has none (no condition, no exclusion)
            wells[col] = wells["well"].map(lay[col]) if col in lay.columns else ""
    return wells


def store_notes(store_path: str | Path, store=None) -> list[str]:
    """Notes a reader of a store's wells needs first.

    A live score run writing it; what ``score`` warned of it (:func:`scoring_notes`); its provisional scans
    (:func:`provisional_note`); frames that failed (:func:`failed_note`); frames not scored yet, and results of
    a stopped run still in its journals (``score --resume`` merges and finishes both). ``store``: the store as
    read already (else it is read).
    """
    from ferroscreen.score.store import PENDING

    store_path = Path(store_path)
    store = store if store is not None else read_store(store_path)
    frames = store.frames
    pending = int((frames["status"] == PENDING).sum())
    from ferroscreen.score.store_lock import store_writer

    notes = []
    writer = store_writer(store_path)
    if writer is not None:  # a live run: what it scores reaches the store as it goes (each --watch pass) or at its end
        who = f" (pid {writer})" if writer else ""
        notes.append(f"{store_path}: a score run{who} is writing it; {pending} of its {len(frames)} frames are not "
                     f"in the store yet (their wells' counts and fractions leave them out)")
    notes += scoring_notes(store)
    notes += [n for n in (provisional_note(store_path, store), failed_note(store_path, store)) if n]
    if writer is not None:
        return notes
    if pending:
        notes.append(f"{store_path}: {pending} of its {len(frames)} frames are not scored yet (their wells' counts "
                     f"and fractions leave them out); `ferroscreen score ... --out {store_path} --resume` scores them")
    parts = store_path.with_name(store_path.name + ".parts")
    if parts.is_dir() and any(parts.glob("rank-*.h5")):
        n = journal_frames(parts)
        held = f"{n} scored frame(s)" if n is not None else "results"
        notes.append(f"{store_path}: a stopped run left {held} in {parts} that the store does not hold yet; "
                     f"`ferroscreen score ... --out {store_path} --resume` merges them")
    return notes


def provisional_note(store_path: str | Path, store) -> str:
    """The note on a store's provisional scans ("" when it has none; see the module doc)."""
    from ferroscreen.score.aggregate import provisional_frames

    k = int(store.attrs.get("next_scan", 0) or 0) if scored_live(store.attrs) else 0
    marked = provisional_frames(store.frames, k)
    if not marked.any():
        return ""
    times = ", ".join(f"{t:g}" for t in sorted(set(store.frames.loc[marked, "time_h"])))
    return (f"{store_path}: its newest scan(s) ({times} h) are provisional: {int(marked.sum())} frame(s) were "
            f"classified without all the {k} later scan(s) the model reads, as the plate has none yet; while it "
            f"is being imaged, their wells' rows (wells.csv provisional 1) change when `ferroscreen score ... --out "
            f"{store_path} --resume` scores the later scans; once imaging has ended they stay as they are")


def other_size_frames(frames: pd.DataFrame, frame_shape) -> dict:
    """Failed frames of another size than the plate's (``frame_shape``, height x width): ``--resume`` never scores them.

    Returns:
        ``{"n", "sizes": ["997x777", ...], "expected": "1022x1024", "mask"}`` (``n`` 0 when none; ``mask``
        marks them among ``frames``).
    """
    from ferroscreen.score.store import FAILED

    failed = frames["status"].to_numpy() == FAILED
    shape = tuple(int(v) for v in (frame_shape or ()))
    if len(shape) != 2 or not failed.any():
        return {"n": 0, "sizes": [], "expected": "", "mask": np.zeros(len(frames), bool)}
    h, w = frames["height"].to_numpy(np.int64), frames["width"].to_numpy(np.int64)
    mask = failed & (h > 0) & (w > 0) & ((h != shape[0]) | (w != shape[1]))
    sizes = sorted({(int(a), int(b)) for a, b in zip(h[mask], w[mask], strict=True)}, key=lambda s: (-s[0] * s[1], s))
    return {"n": int(mask.sum()), "sizes": [f"{a}x{b}" for a, b in sizes], "expected": f"{shape[0]}x{shape[1]}",
            "mask": mask}


def other_size_text(other: dict) -> str:
    """``N frame(s) of another size (997x777; the plate's frames are 1022x1024): score them as a plate ...``."""
    return (f"{other['n']} frame(s) of another size ({', '.join(other['sizes'])}; the plate's frames are "
            f"{other['expected']}): score them as a plate of their own (their files in a folder of their own)")


def failed_note(store_path: str | Path, store) -> str:
    """The note on a store's failed frames ("" when none failed).

    Frames of another size than the plate's (:func:`other_size_frames`) are said apart: no fixed file
    lets ``--resume`` score them; the others are unreadable or missing image files.
    """
    from ferroscreen.score.aggregate import missing_files
    from ferroscreen.score.store import FAILED

    frames = store.frames
    failed = frames["status"].to_numpy() == FAILED
    if not failed.any():
        return ""
    other = other_size_frames(frames, store.attrs.get("frame_shape"))
    rest = failed & ~other["mask"]
    missing = int((missing_files(frames) & rest).sum())
    first = frames[rest if rest.any() else other["mask"]].iloc[0]
    reason = str(first.get("reason", "") or "").strip()
    example = f"e.g. {first['well']} f{first['field']} at {first['time_h']:g} h" + (f" ({reason})" if reason else "")
    without = f", {missing} of them without an image file" if missing else ""
    scaled = ("their wells' counts are scaled from the fields read, and a well x time none of whose frames was read "
              "is blank (wells.csv n_failed)")
    if not rest.any():
        return f"{store_path}: {other_size_text(other)}; {example}: {scaled}"
    sized = f"; {other_size_text(other)}" if other["n"] else ""
    return (f"{store_path}: {int(rest.sum())} of its {len(frames)} frames failed{without}, {example}: {scaled}; "
            f"once their image files are fixed or in place, `ferroscreen score ... --out {store_path} --resume` "
            f"scores them again{sized}")


def scoring_notes(store) -> list[str]:
    """What ``score`` warned of the plate, without the ``warning:`` prefix.

    Files and wells it passed over, a model that does not suit the images (:mod:`ferroscreen.score.domain_check`).
    """
    from ferroscreen.score.domain_check import PASSED_OVER_ATTR, WARNINGS_ATTR

    lines = [*(store.attrs.get(PASSED_OVER_ATTR) or []), *(store.attrs.get(WARNINGS_ATTR) or [])]
    return [str(line).removeprefix("warning: ") for line in lines if str(line)]


def export_notes(store_path: str | Path, store) -> list[str]:
    """What ``export`` says of a store on the console and records in ``export.json``'s ``notes``.

    The tile-mode note (:func:`tile_note`), then :func:`store_notes`.
    """
    return [n for n in (tile_note(store.attrs),) if n] + store_notes(store_path, store)


def export_wells(store_path: str | Path, out_dir: str | Path | OutputSet, fractions: str = DEFAULT_FRACTIONS,
                 store=None, options: dict | None = None) -> Path:
    """Write ``out_dir/wells.csv`` and its ``export.json`` from a store; returns where ``wells.csv`` lies.

    ``fractions``: see :func:`wells_table`. ``out_dir``: a folder (both files put in place together,
    or neither), or the :class:`OutputSet` of a caller that commits them with more. ``store``: the
    store as read already (else it is read). ``options``: the export's options as ``export.json``
    records them (default: ``fractions``). Numbers are written in full (the shortest text that reads
    back as the same float), so that a fit of ``wells.csv`` is the fit of the store.

    Raises:
        StoreError: The store is unreadable, or none of its frames is scored (:func:`refuse_unscored`).
    """
    store = store if store is not None else read_store(store_path)  # once, for the table and for export.json
    table = wells_table(store_path, fractions, store)
    with output_set(out_dir) as outputs:  # wells.csv and its record together, or neither (a full disk)
        csv = outputs.path("wells.csv")
        with _failed_write_named(outputs.final("wells.csv")):
            table.to_csv(csv, index=False)  # no float_format: every value reads back exactly
        with _failed_write_named(outputs.final(EXPORT_RECORD)):
            _write_record(outputs.path(EXPORT_RECORD), store_path, store.attrs, csv, fractions,
                          options if options is not None else {"fractions": fractions},
                          export_notes(store_path, store))
    return outputs.final("wells.csv")


def export_plate(store_path: str | Path, out_dir: str | Path, fractions: str = DEFAULT_FRACTIONS, gallery: int = 10,
                 compound_gallery: int = 6, seed: int = 0) -> list[str]:
    """Write a store's ``wells.csv``, ``export.json`` and cell galleries into ``out_dir``, all or none.

    ``gallery``: cells per class in ``gallery.png``/``gallery.csv``; ``compound_gallery``: cells per
    death mode in each treatment's ``galleries/gNNN.png`` (``gallery_compounds.csv``); 0 for none.
    ``seed``: the galleries' tie-breaks (0 or more). An earlier export's galleries this one does not
    write again go (another plate's cells must not pass for this plate's). Nothing is put in place
    before every file is written: on any failure (a damaged store, Ctrl-C) the folder keeps what it
    held. Every file is of one version of a store that a ``score --watch`` is rewriting
    (:func:`~ferroscreen.score.store.one_version`).

    Returns:
        The lines to show, once all is in place: ``-> PATH`` per output and ``note: ...`` (the
        tile-mode note of :func:`tile_note`, the store's :func:`store_notes`, the galleries' notes).

    Raises:
        StoreError: The store is unreadable.
    """
    from ferroscreen.output_set import NestedOutputSet
    from ferroscreen.score.gallery import (
        cell_pool,
        remove_earlier_galleries,
        write_compound_galleries,
        write_gallery,
    )

    lines: list[str] = []
    with one_version(store_path), NestedOutputSet(out_dir) as outputs:
        store = read_store(store_path)
        options = {"fractions": fractions, "gallery": gallery, "compound_gallery": compound_gallery, "seed": seed}
        lines.append(f"-> {export_wells(store_path, outputs, fractions, store, options)}")
        lines += [f"note: {n}" for n in export_notes(store_path, store)]
        removed = remove_earlier_galleries(outputs, overall=True, compounds=True)  # an earlier export's: never ours
        written: set[str] = set()
        pool = cell_pool(store_path, store, seed) if gallery or compound_gallery else None  # read once for both
        if gallery:
            g = write_gallery(store_path, outputs, per_class=gallery, seed=seed, pool=pool)
            lines += [f"note: {n}" for n in g.notes]
            if g.png is not None:
                written |= {"gallery.csv", "gallery.png"}
                counts = g.cells["class"].value_counts()
                lines.append(f"-> {g.png} ({', '.join(f'{c} {counts.get(c, 0)}' for c in g.cells['class'].unique())})")
        if compound_gallery:
            g = write_compound_galleries(store_path, outputs, per_mode=compound_gallery, seed=seed, pool=pool)
            lines += [f"note: {n}" for n in g.notes]
            if g.csv is not None:
                written |= {"gallery_compounds.csv", "galleries/"}
                lines.append(f"-> {g.csv} ({g.cells['image'].nunique()} treatments, {len(g.cells)} cells in {g.png}/)")
        gone = [name for name in removed if name.split(" ")[0] not in written]
        if gone:
            lines.append(f"note: removed an earlier export's {', '.join(gone)} from {out_dir}: not this export's cells")
    return lines


@contextmanager
def _failed_write_named(path: Path) -> Iterator[None]:
    """Within: an ``OSError`` of a failed write that names no file (or its temporary file) names ``path``."""
    try:
        yield
    except OSError as exc:
        if exc.errno is None or (exc.filename is not None and not Path(exc.filename).name.endswith(".tmp")):
            raise
        raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) from None


def _write_record(path: Path, store_path: str | Path, attrs: dict, wells_csv: Path, fractions: str,
                  options: dict, notes: list[str] | None = None) -> None:
    """Write the ``export.json`` record of ``wells_csv`` to ``path``.

    It holds the version, the software it ran on (``environment``, with the git commit when run from
    a checkout) and how it was started (``command``: :mod:`ferroscreen.provenance`), the time (UTC), the
    store, its sha256 (``store_sha256``: the file's bytes) and content digest (``store_content_sha256``:
    :func:`~ferroscreen.score.store.store_content_sha256`, the same for a store written again with the
    same data) and its scoring
    attributes, the export's ``options`` (``fractions``, and from ``export`` ``gallery``,
    ``compound_gallery``, ``seed``), and ``wells.csv``'s sha256, so a later reader knows the record
    is this ``wells.csv``'s; ``detector_mode`` (``cells`` or ``tiles``) and ``notes`` (``export``'s
    notes of the store, :func:`export_notes`; default: the tile-mode note alone).
    """
    from ferroscreen import __version__
    from ferroscreen.hashing import file_sha256
    from ferroscreen.provenance import command_line, created_now, environment
    from ferroscreen.score.store import current_content_digest, scoring_record, store_content_sha256

    record = {
        "ferroscreen_version": __version__,
        "environment": environment(),
        "command": command_line(),
        "created": created_now(),
        "store": str(Path(store_path).resolve()),
        "store_sha256": file_sha256(store_path),
        # as the store recorded it when written (none, or stale: computed now)
        "store_content_sha256": current_content_digest(attrs) or store_content_sha256(store_path),
        "fractions": fractions,
        "options": dict(options),
        "wells_csv_sha256": file_sha256(wells_csv),
        "scoring": scoring_record(attrs),
        "detector_mode": detector_mode(attrs),
        "notes": list(notes) if notes is not None else [note] if (note := tile_note(attrs)) else [],
    }
    write_json(path, record)


def exported_scoring(wells_csv: str | Path) -> dict | None:
    """The ``export.json`` record beside ``wells_csv`` when it is that file's (sha256), else None.

    None too for a ``wells.csv`` edited since export wrote it (its sha256 is not the recorded one):
    ``fit`` says so and records it (:func:`ferroscreen.analysis.fit_inputs.export_record`).
    """
    from ferroscreen.hashing import file_sha256

    wells_csv = Path(wells_csv)
    try:
        record = json.loads((wells_csv.parent / EXPORT_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("wells_csv_sha256") != file_sha256(wells_csv):
        return None
    return record
