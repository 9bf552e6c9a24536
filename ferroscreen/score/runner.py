"""``ferroscreen score``: orchestration of a scoring run (fresh, resumed, watching, multi-process).

A run:

1. checks everything before writing anything: the bundle loads, the
   acquisition opens, the layout describes this plate and suits the model's
   classes, an existing store was scored with the same bundle;
2. recovers: journals left by a killed run are merged into the store
   (:func:`ferroscreen.score.merge.merge_journals`);
3. adds newly found frames to the frame table (missing ones as failed);
4. scores the frames still to do with ``Trainer.predict``: each rank streams
   finished frames into its journal (:class:`ferroscreen.score.writer.JournalWriter`);
5. merges the journals into the store (atomic rename) and deletes them;
6. with ``watch``: polls the acquisition and repeats 3-5 until nothing new
   arrived for ``idle_exit_s`` seconds (by default a few of the plate's scan intervals:
   :mod:`ferroscreen.score.idle`); the frames a next-scan bundle holds for their later scans are
   said in one line whenever they change (:func:`_held_line`).

A watch started before the imager's first scan (a folder with no image data yet) waits for it
between 1 and 2, as long as it would wait for a next scan (:func:`open_first_scan`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen import __version__
from ferroscreen.errors import AcquisitionError, ModelBundleError
from ferroscreen.hashing import bundle_content_sha256
from ferroscreen.io.frames import frame_file, is_store_frame
from ferroscreen.io.scan_interval import NoScanInterval, interval_given
from ferroscreen.io.scans import later_scans, next_scan_paths
from ferroscreen.score.correction import load_confusion, read_confusion_file
from ferroscreen.score.domain_check import PASSED_OVER_ATTR, WARNINGS_ATTR, passed_over_lines, scored_warnings
from ferroscreen.score.export import detector_mode, other_size_frames, tile_note
from ferroscreen.score.first_scan import MIN_FIRST_SCAN_POLL_S, open_first_scan, wait_for_label_free_channel
from ferroscreen.score.idle import describe_wait, idle_limit_s
from ferroscreen.score.merge import merge_journals
from ferroscreen.score.plan import (
    SeenFiles,
    check_layout,
    file_settled,
    frames_to_score,
    probe_frame_shape,
    select_frames,
    single_scan_note,
    update_frame_table,
)
from ferroscreen.score.store import DONE, FAILED, PENDING, StoreError, read_store, remove_stale_temporaries, stamp_run
from ferroscreen.score.store_lock import holding_store_lock
from ferroscreen.score.terminate import Terminated, ending_on_sigterm, received

#: Exit status of ``ferroscreen score`` when frames failed (unreadable or missing image files: ``--resume`` scores
#: them once their files are fixed or land; or of another size than the plate's: a plate of their own): the store
#: holds every other frame.
FAILED_FRAMES_EXIT = 3


def default_workers(precision: str = "32", processes: int = 1) -> int:
    """DataLoader workers per process when none are asked for: one per core, at most 8; a third for int8.

    With ``processes`` ranks (``--devices``) each counts its share of the cores.

    With a float forward pass, decoding and detection limit CPU scoring: on 2
    cores, 2 workers give 85 % of the model's raw crops/s where 1 worker gives
    65 %. The int8 forward is ~2.5x cheaper, so preparation is 30-40 % of the
    CPU time: its workers get a third of the cores (at least one) and the
    forward pass the rest (``benchmarks/score_throughput.py``).
    """
    from ferroscreen.models.int8 import usable_cores

    cores = max(1, usable_cores() // max(1, processes))
    if precision == "int8":
        return max(1, min(8, cores // 3))
    return max(1, min(8, cores))


def parts_dir(out: Path) -> Path:
    """Folder of the per-rank journals of store ``out``."""
    return out.with_name(out.name + ".parts")


def _ended_by_sigterm(func):
    """``func`` run within :func:`ferroscreen.score.terminate.ending_on_sigterm` (SIGTERM ends it as Ctrl-C does)."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        with ending_on_sigterm():
            return func(*args, **kwargs)

    return run


@_ended_by_sigterm
@holding_store_lock
def score_plate(
    acquisition: str | Path,
    model: str | Path,
    out: str | Path,
    layout: str | Path | None = None,
    resume: bool = False,
    watch: bool = False,
    poll_s: float = 60.0,
    idle_exit_s: float | None = None,
    settle_s: float = 2.0,
    devices: int = 1,
    batch_size: int = 256,
    workers: int | None = None,
    channel: str | None = None,
    plate: str | None = None,
    z_plane: int | None = None,
    fmt: str | None = None,
    accelerator: str = "cpu",
    confusion_file: str | Path | None = None,
    precision: str = "auto",
    progress: bool | str = False,
    log=None,
    interval_h: float | None = None,
    tta: bool = False,
) -> dict:
    """Score a plate into the HDF5 store ``out`` (see the module docstring).

    Args:
        acquisition: Acquisition folder (any reader of :func:`ferroscreen.io.open_acquisition`).
        model: Model bundle file.
        out: Store file to create (or continue with ``resume``/``watch``); its attributes record the
            software and command of this run, and a new store's of its first
            (:func:`~ferroscreen.score.store.stamp_run`).
        layout: Layout file; default: ``layout.csv``/``*.PlateMap`` in or beside the acquisition.
        resume: Continue an existing store (score only frames not done).
        watch: Keep polling for new frames; implies ``resume``. A folder with no image data yet is
            waited for (:func:`open_first_scan`: the bundle and an explicit ``layout`` are checked first).
        poll_s: Seconds between polls in watch mode.
        idle_exit_s: Watch mode ends after this many seconds with nothing new; None: a few of the plate's
            scan intervals (:func:`ferroscreen.score.idle.idle_limit_s`), at least 600 s (or, before the first
            scan, raises the folder's error after this many seconds with no image data; or, while the
            folder cannot be read again, raises :class:`~ferroscreen.errors.AcquisitionError`: files that
            landed since were not seen).
        settle_s: Watch mode leaves a file for a later poll until it is settled: last modified at least this
            many seconds ago, or seen unchanged (size and time stamp) on a poll at least this long ago (a time
            stamp ahead of this machine's clock); see :func:`ferroscreen.score.plan.file_settled`.
        interval_h: Hours between timepoints for readers whose files carry no
            acquisition time (ImageXpress, Cytation or scanR without time tags, CellVoyager
            without ``MeasurementData.mlf``); None: not given (a plate of several such scans is
            refused; a resumed store keeps the one it recorded).
        devices: Processes (CPU) or GPUs; more than one uses DDP (spawned
            ranks, gloo on CPU, NCCL on GPUs).
        batch_size: Crops per forward pass.
        workers: DataLoader workers per process (decode + detect + crop); default: one per core, at most 8.
        channel: Channel to score (default: the only one, the store's, the
            one the bundle was trained on, else the only brightfield/phase-named one).
        plate: The plate to score of an acquisition holding several (default:
            the only one, or the store's when resuming).
        z_plane: z plane of a z-stack, 0-based from the bottom (default: the
            only one, the store's, the one the bundle was trained on, else the lowest).
        fmt: Acquisition format (default: detected).
        accelerator: Lightning accelerator (``cpu``, ``gpu``, ``auto``).
        confusion_file: ``ferroscreen evaluate --json`` output whose confusion
            matrix (e.g. measured on hand-annotated crops, so not biased by the
            reference wells' label noise) corrects the well fractions instead of
            the bundle's validation confusion. Kept by later resumes.
        precision: ``32``, ``bf16`` (bfloat16 autocast), ``int8`` (the bundle's
            int8 graph, CPU) or ``auto`` (int8 on CPU when the bundle has a graph,
            else bf16 where the hardware runs it natively, see
            :mod:`ferroscreen.models.precision`); a resumed store keeps the
            precision it was started with.
        progress: ``True``: a progress bar (for a terminal); ``"lines"``: a plain progress line to stderr every
            minute or 10 % of the frames (for a log file: :mod:`ferroscreen.score.progress`); ``False``: none.
        log: Callable receiving one-line messages (default: silent).
        tta: Average each crop's 8 dihedral views (:mod:`ferroscreen.models.tta`);
            a store keeps its choice (a resume asking for the other is refused).

    Returns:
        A summary dict (frames done/failed/pending, cells, seconds, crops/s; ``counted``: ``tiles``
        when the bundle's detector is in tile mode, whose ``cells`` are tiles, else ``cells``).

    Raises:
        FerroscreenError: Any problem found before writing (one line naming the file); another
            run writing ``out`` (:mod:`ferroscreen.score.store_lock`).
        Terminated: SIGTERM arrived (a ``KeyboardInterrupt``, as Ctrl-C): the store and its journals
            keep the frames scored so far; ``resume`` continues.
        OSError: A write failed (a full disk: ``errno`` ENOSPC, the file named); the journals keep the
            frames committed before it.
    """
    from ferroscreen.allocator import keep_freed_memory
    from ferroscreen.io import find_layout_beside, open_acquisition
    from ferroscreen.io.detect import layout_beside
    from ferroscreen.models.load_errors import require_bundle_file
    from ferroscreen.plate import read_layout

    keep_freed_memory()  # before the workers fork: they inherit it
    log = log or (lambda msg: None)
    t0 = time.perf_counter()
    out = Path(out)
    acquisition = Path(acquisition)
    resume = resume or watch
    # -- checks that need no model come first: a mistyped path fails in a second, not after torch loads
    if out.is_dir():
        raise StoreError(f"{out}: is a folder; --out names the store file to write, e.g. {out / 'plate.h5'}")
    if out.exists() and not resume:
        raise StoreError(f"{out}: already exists; pass --resume to continue it, or choose another --out")
    require_bundle_file(model)
    confusion_data = read_confusion_file(confusion_file) if confusion_file is not None else None
    bundle = layout_read = None
    asked_plate = plate  # --plate as given: a watch says once of each other plate that lands (see the loop)

    def before_waiting() -> None:  # what can be checked before the first scan lands is checked now, not hours later
        nonlocal bundle, layout_read
        from ferroscreen.models.bundle import load_bundle

        if layout:
            layout_read = read_layout(Path(layout))
        bundle = load_bundle(model)

    existing = read_store(out) if out.exists() else None
    stored_live = False
    if existing is not None:  # a resumed store keeps how its acquisition was read: the times must not move
        stored = existing.attrs.get("config") if isinstance(existing.attrs.get("config"), dict) else {}
        stored_live = bool(stored.get("live", stored.get("watch", False)))
        fmt = fmt if fmt is not None else stored.get("format")
        recorded = _given_interval(stored.get("interval_h"))
        if interval_h is None:  # a resume without --interval-h reads the plate as it was read
            interval_h = recorded
        elif recorded is not None and abs(recorded - float(interval_h)) > 1e-9:
            raise StoreError(f"{out}: was scored with --interval-h {recorded:g}; resume it with "
                             f"the same (this run's {float(interval_h):g} would move its time points)")
    acq = open_first_scan(acquisition, fmt, interval_h, watch, poll_s, idle_limit_s(idle_exit_s)[0], log,
                          before_waiting)
    for note in acq.notes:
        log(f"{acquisition}: {note}")
    keep_layout = existing is not None and not layout and existing.layout is not None and len(existing.layout) > 0
    layout_kept = ""  # said once the run's checks have passed
    if keep_layout:  # the store's own layout stands; a layout.csv beside the images is not read in its place
        source = str(existing.attrs.get("layout_source") or "")
        layout_path = Path(source) if source else None
        beside = find_layout_beside(acquisition)
        if beside is not None and (layout_path is None or beside.resolve() != layout_path.resolve()):
            layout_kept = (f"{out}: keeps the layout it was scored with ({source or 'stored'}), not {beside}; "
                           f"pass --layout to replace it")
    else:
        layout_path, beside_note = (Path(layout), "") if layout else layout_beside(acquisition)
        if beside_note:
            log(f"note: {beside_note}")
        if layout_read is None and layout_path is not None:  # read already when the watch waited for the first scan
            layout_read = read_layout(layout_path)
    for note in layout_read.notes if layout_read is not None else []:
        log(f"note: {note}")

    from ferroscreen.crops import detector_config
    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.models.precision import emulated_bf16_note, on_cpu

    bundle = bundle if bundle is not None else load_bundle(model)
    training_data = bundle.meta.get("training_data") or {}
    trained, trained_z = training_data.get("channel"), training_data.get("z_plane")
    if existing is not None:  # a resumed store keeps its channel, plate and z plane
        stored_channel = existing.attrs.get("channel")
        if channel is not None and stored_channel not in (None, "") and str(channel).casefold() != str(
                stored_channel).casefold():
            raise StoreError(f"{out}: was scored on channel '{stored_channel}'; resume it with the same --channel "
                             f"(or without one), or score channel '{channel}' into another store")
        channel = channel if channel is not None else stored_channel
        n_plates = acq.frames["plate"].nunique()
        plate = plate if plate is not None or n_plates < 2 else str(existing.attrs.get("plate"))
        stored_z = existing.attrs.get("z_plane")
        if z_plane is not None and stored_z is not None and int(z_plane) != int(stored_z):
            raise StoreError(f"{out}: was scored on z plane {int(stored_z)}; resume it with the same --z-plane")
        z_plane = z_plane if z_plane is not None or stored_z is None else int(stored_z)
    if watch and channel is None:  # fluorescence landing first must not pick the plate's channel
        acq = wait_for_label_free_channel(acq, acquisition, fmt, interval_h, trained, poll_s,
                                          idle_limit_s(idle_exit_s, acq.frames)[0], log)
    found, channel, channel_note = select_frames(
        acq.frames, acquisition, channel, trained, plate, z_plane=z_plane, trained_z=trained_z)
    z_plane = int(found["z"].iloc[0])
    if channel_note:
        log(f"{acquisition}: scoring {channel_note}")
    plate = str(found["plate"].iloc[0])
    if existing is not None and str(existing.attrs.get("plate")) != plate:
        raise StoreError(f"{out}: holds plate '{existing.attrs.get('plate')}', the acquisition is plate '{plate}'")
    moved = repaired = ""
    if existing is not None:
        recorded = str(existing.attrs.get("acquisition") or "")
        left = _paths_left_behind(existing, recorded, acquisition, found)  # moved and resumed by an earlier version
        if left and Path(recorded) == acquisition.resolve():  # that resume checked the move
            existing.frames = _relocated(existing.frames, left, acquisition, found, new_mtimes=False)
            repaired = (f"{out}: its scored frames still named files in {left}, where the plate was before it "
                        f"was moved to {acquisition}; they name the files there now")
        else:
            moved = _same_acquisition(out, existing, left or recorded, acquisition, found)
        if moved:  # its frames are these files from now on: later runs check them (replaced, gone) there
            existing.frames = _relocated(existing.frames, left or recorded, acquisition, found)
    classes = bundle.classes
    try:
        detector = detector_config(bundle.meta["detector"])
    except (TypeError, ValueError) as exc:
        raise ModelBundleError(f"{model}: bad detector settings in the bundle ({exc})") from None
    layout_table = None
    if layout_read is not None:
        checked, layout_notes = check_layout(layout_read, found, classes, model)
        layout_table = checked.table.copy()
        for note in layout_notes:
            log(f"note: {note}")
        if name_note := layout_read.other_name_note([plate]):
            log(f"note: {name_note}")
    content_sha256 = bundle_content_sha256(bundle.path)
    bundle_note = ""
    if existing is not None:
        bundle_note = _same_bundle(out, model, existing.attrs, bundle.sha256, content_sha256)
        if layout_table is None:
            layout_table = existing.layout
    if precision == "int8":
        bundle.int8_forward()  # a bundle without a graph, or no onnxruntime: one line naming the bundle
    hint_int8 = precision == "auto" and bundle.int8_graph is None and on_cpu(accelerator)
    requested_precision = precision
    precision = _store_precision(precision, accelerator, existing, out, bundle.int8_runnable)
    if existing is not None and bool(existing.attrs.get("tta", False)) != bool(tta):
        started = bool(existing.attrs.get("tta", False))
        raise StoreError(f"{out}: was scored {'with' if started else 'without'} --tta; resume it "
                         f"{'with' if started else 'without'} --tta")
    confusion = (bundle.meta.get("validation") or {}).get("confusion")
    confusion_source = "bundle validation (well labels)"
    if confusion is not None and np.asarray(confusion).shape != (len(classes), len(classes)):
        raise ModelBundleError(f"{model}: validation confusion matrix is not {len(classes)}x{len(classes)}")
    if confusion_file is not None:
        confusion = load_confusion(confusion_file, classes, confusion_data,
                                   model_digests=(bundle.sha256, content_sha256)).tolist()
        confusion_source = str(Path(confusion_file).resolve())
    elif existing is not None and existing.attrs.get("confusion_source", confusion_source) != confusion_source:
        confusion, confusion_source = existing.attrs.get("confusion"), existing.attrs["confusion_source"]
    from ferroscreen.hashing import file_sha256
    from ferroscreen.provenance import bundle_training_record

    attrs = dict(existing.attrs) if existing else {}
    attrs.update(
        plate=plate,
        acquisition=str(acquisition.resolve()),
        acquisition_format=acq.format,
        channel=channel,
        z_plane=z_plane,
        classes=classes,
        bundle_path=str(Path(model).resolve()),
        bundle_sha256=bundle.sha256,
        bundle_content_sha256=content_sha256,
        bundle_backbone=bundle.meta.get("backbone", ""),
        bundle_training=bundle_training_record(bundle.meta),
        crop_size=bundle.crop_size,
        temperature=float(bundle.meta.get("temperature", 1.0)),
        confusion=confusion,
        confusion_source=confusion_source,
        precision=precision,
        tta=bool(tta),
        detector=asdict(detector),
        normalization=bundle.normalization.to_meta(),
        next_scan=int(bundle.next_scan),
        layout_source=str(layout_path.resolve()) if layout_path else "",
        # the layout file's sha256 as read now; a store that keeps its layout keeps the digest it recorded
        layout_sha256=(str(attrs.get("layout_sha256") or "") if keep_layout else
                       file_sha256(layout_path) if layout_path is not None and layout_path.is_file() else ""),
        ferroscreen_version=__version__,
        config={
            "devices": devices, "batch_size": batch_size, "workers": workers, "channel": channel, "format": fmt,
            "interval_h": _given_interval(interval_h),
            "plate": plate, "z_plane": z_plane,
            "watch": watch, "poll_s": poll_s, "idle_exit_s": idle_exit_s, "settle_s": settle_s,
            # scored as imaged: a --watch run or a store one wrote (not a --resume after failed frames)
            "live": bool(watch) or bool(stored_live),
            "accelerator": accelerator,
        },
    )
    attrs[PASSED_OVER_ATTR] = passed_over_lines(plate, acq.skipped, acquisition, layout_table, found, layout_path)
    attrs = stamp_run(attrs)  # this run's software and command; a new store's creation, once for all its writes
    # -- recovery: merge what a killed run left behind, then add the frames found now
    remove_stale_temporaries(out)
    parts = parts_dir(out)
    journals = sorted(parts.glob("rank-*.h5")) if parts.is_dir() else []
    n_journals = len(journals)
    before = existing.frames if existing else None
    frames = update_frame_table(before, found)
    if not attrs.get("frame_shape"):
        shape = probe_frame_shape(list(frames["path"]))
        attrs["frame_shape"] = list(shape) if shape else []
    damaged: list[str] = []

    def journal_damaged(path: Path, reason: str) -> None:
        damaged.append(path.name)
        log(f"note: {path}: journal of the interrupted run is damaged ({reason}); its frames are scored again")

    settle = settle_s if watch else 0.0
    seen: SeenFiles = {}  # files found still settling, with when each was first seen so (see file_settled)
    tried: dict[int, tuple] = {}  # frame id -> its later scans' (size, mtime) when this run scored it
    applied = 0
    if journals and existing is not None:  # the killed run's results first, then what changed since
        store, applied = merge_journals(out, attrs, existing.frames, layout_table, journals, True,
                                        on_damaged=journal_damaged)
        before, journals = store.frames, []
        frames = update_frame_table(before, found)
    frames = _rescore_stale(before, frames, bundle.next_scan, settle, tried, log, sizes_only=bool(moved),
                            seen=seen)
    store, applied_now = merge_journals(out, attrs, frames, layout_table, journals, existing is not None,
                                        on_damaged=journal_damaged)
    applied += applied_now
    if n_journals > len(damaged):
        log(f"recovered {applied} frame result(s) from {n_journals - len(damaged)} journal(s) of an "
            f"interrupted run")
    shutil.rmtree(parts, ignore_errors=True)

    interval_known = _interval_checked(bundle, found, model, log)  # a watch begun on one scan: once the next lands
    if bundle.frame_note:
        log(f"note: {model}: {bundle.frame_note}")
    if tiles := tile_note(attrs):  # its records and counts are tiles: said before any count is
        log(f"note: {out}: {tiles}")
    if layout_kept:
        log(f"note: {layout_kept}")
    if moved or repaired:  # after every input check: an input error stays one line
        log(f"note: {moved or repaired}")
    if bundle_note:
        log(f"note: {bundle_note}")
    for line in attrs[PASSED_OVER_ATTR]:  # image files the reader passed over, layout wells with no image
        log(line)
    if existing is not None and confusion_file is not None:
        was = existing.attrs.get("confusion_source", "")
        log(f"note: {out}: corrected fractions (corr_*) of every well recomputed with the confusion of "
            f"{confusion_source}" + (f" (were {was}'s)" if was and was != confusion_source else ""))
    if bf16_note := emulated_bf16_note(requested_precision, accelerator):
        log(f"note: {bf16_note}")
    if hint_int8:  # after every input check: an input error stays one line
        log(f"{model}: no int8 graph in this bundle; `ferroscreen quantize` adds one (~2x faster CPU scoring)")
    stats = {"crops": 0, "frames_scored": 0, "predict_s": 0.0}
    watch_start = time.monotonic()
    # when files last landed as this watch knows it: from now, as the watch scores what it found; with the
    # default wait (scan intervals), None for a plate whose newest file is older than the wait (_quiet_s): its
    # imaging ended, and the watch stops after this pass (an explicit --idle-exit-s counts from now)
    last_activity: float | None = watch_start
    if watch and idle_exit_s is None and _quiet_s(store.frames, None, watch_start) >= idle_limit_s(
            None, store.frames)[0]:
        last_activity = None
    final = not watch  # watch: a next-scan bundle holds each site's newest frame until the last pass
    gap_logged = held_logged = ""
    rescan_error: tuple[str, str] | None = None  # (clock time of the first failure, the latest error) while it stands
    others_said: set[str] = set()  # other plates the folder holds, said once each
    warned: list[str] = []  # warnings on the scored plate said so far (_warn_scored)
    while True:
        ids, following = _due(store.frames, 0.0 if final else settle_s, bundle.next_scan, hold=not final,
                              seen=seen)
        held = "" if final or not bundle.next_scan else _held_line(store.frames, ids, settle_s, bundle.next_scan,
                                                                   plate, seen)
        if len(ids):
            frames = store.frames.copy()
            frames.loc[ids, "status"] = PENDING
            jobs = [(int(i), str(frames.at[i, "path"]), *((following.at[i],) if bundle.next_scan else ()))
                    for i in ids]
            if (note := gap_note(frames, bundle.next_scan)) and note != gap_logged:
                log(note)
                gap_logged = note
            log(_scoring_line(len(jobs), plate, frames.loc[ids, "time_h"], watch))
            shape = tuple(attrs["frame_shape"]) or None
            tp = time.perf_counter()
            n_crops = _predict(jobs, bundle, detector, parts, devices, batch_size, workers, shape, accelerator,
                               precision, progress, tta)
            stats["predict_s"] += time.perf_counter() - tp
            stats["crops"] += n_crops
            stats["frames_scored"] += len(jobs)
            if bundle.next_scan:  # what each frame's later scans were when scored (see _rescore_stale)
                tried.update((int(i), _signature(following.at[i], bundle.next_scan)) for i in ids)
            journals = sorted(parts.glob("rank-*.h5"))
            store, _ = merge_journals(out, attrs, frames, layout_table, journals, True, on_damaged=lambda p, why: log(
                f"note: {p}: journal of this pass is damaged ({why}); its frames are scored again"))
            shutil.rmtree(parts, ignore_errors=True)
            if last_activity is not None:  # frames that landed while watching: quiet from their scoring on
                last_activity = time.monotonic()
            if not final:  # a watch says it after each pass, not hours later
                _warn_scored(out, store, attrs, bundle, layout_table, model, warned, log)
        if final:
            break
        if len(_due(store.frames, 0.0, bundle.next_scan, hold=True)[0]):
            last_activity = time.monotonic()  # files still settling
        idle_s, idle_why = idle_limit_s(idle_exit_s, store.frames)
        if _quiet_s(store.frames, last_activity, watch_start) >= idle_s:
            if rescan_error:  # not "no new frames": what landed since the folder became unreadable is unknown
                raise AcquisitionError(
                    f"{acquisition}: stopped watching: the folder could not be read since {rescan_error[0]} "
                    f"({rescan_error[1]}), so files that landed since were not seen; {out} keeps the frames scored "
                    f"so far: fix the folder, then score it again with --resume --watch")
            held = len(_due(store.frames, 0.0, bundle.next_scan, hold=False)[0])
            log(f"no new frames for {describe_wait(idle_s)}" + (f" ({idle_why})" if idle_why else "") + "; stopping"
                + (f" after scoring {held} newest frame(s) without "
                   + ("a next scan" if bundle.next_scan == 1 else "all their later scans") if held else ""))
            final = True
            continue
        if held != held_logged:  # what the watch waits for, said when it changes (not every poll)
            if held:
                log(time.strftime("%H:%M:%S ") + held)
            held_logged = held
        time.sleep(max(poll_s, MIN_FIRST_SCAN_POLL_S))  # --poll-s 0: no busy rescans of the folder
        try:
            acq = open_acquisition(acquisition, fmt, interval_h=interval_h)
            found, _, _ = select_frames(acq.frames, acquisition, channel, plate=plate, z_plane=z_plane)
        except NoScanInterval:  # a second unstamped scan: no later poll can time it
            raise
        except Exception as exc:  # noqa: BLE001 - a folder mid-copy can look odd; try again next poll
            log(f"rescan failed ({exc}); retrying")
            rescan_error = (rescan_error or (time.strftime("%H:%M:%S"), ""))[0], str(exc)  # stands until a rescan works
            continue
        rescan_error = None
        if not interval_known:
            interval_known = _interval_checked(bundle, found, model, log)
        others = sorted(set(acq.frames["plate"].astype(str)) - {plate} - others_said) if asked_plate is None else []
        if others:  # a one-shot run of the folder now would refuse it: this store keeps to its plate
            others_said.update(others)
            log(f"note: {acquisition} now also holds plate(s) {', '.join(others)}; {out} follows plate {plate}, "
                f"the one found first: score the others into stores of their own with --plate")
        updated = update_frame_table(store.frames, found)
        if tried:  # frame ids: rows of a time the plate lost may be dropped (see update_frame_table)
            old_paths = store.frames["path"].astype(str).to_numpy()
            at = {p: i for i, p in enumerate(updated["path"].astype(str)) if p}
            tried = {at[old_paths[i]]: sig for i, sig in tried.items() if old_paths[i] in at}
        frames = _rescore_stale(store.frames, updated, bundle.next_scan, settle_s, tried, log, sizes_only=bool(moved),
                                seen=seen)
        if (len(frames) != len(store.frames) or not frames["path"].equals(store.frames["path"])
                or not frames["time_h"].equals(store.frames["time_h"])
                or not frames["status"].equals(store.frames["status"])):
            last_activity = time.monotonic()
            store, _ = merge_journals(out, attrs, frames, layout_table, [], True)
    _warn_scored(out, store, attrs, bundle, layout_table, model, warned, log)
    if list(store.attrs.get(WARNINGS_ATTR) or []) != attrs[WARNINGS_ATTR]:  # recorded for export and report
        store, _ = merge_journals(out, attrs, store.frames, layout_table, [], True)
    return summarize(store, stats, time.perf_counter() - t0)


def _warn_scored(out: Path, store, attrs: dict, bundle, layout_table, model, warned: list[str], log) -> None:
    """Say the warnings on the scored plate not said yet (:func:`~ferroscreen.score.domain_check.scored_warnings`).

    Then the note on a plate of one scan per site scored with a next-scan bundle
    (:func:`~ferroscreen.score.plan.single_scan_note`, said as ``note: ...``). They are set in ``attrs``
    (:data:`~ferroscreen.score.domain_check.WARNINGS_ATTR`), which the next write of the store records.
    """
    lines = scored_warnings(out, store, bundle.meta, layout_table, model)
    note = single_scan_note(store.frames, bundle.next_scan, model)
    for line in [*lines, *([note] if note else [])]:
        if line not in warned:
            log(f"note: {line}" if line == note else line)
            warned.append(line)
    attrs[WARNINGS_ATTR] = [*lines, *([note] if note else [])]


#: Files of the newest scan whose modification times date it (they land within minutes of each other).
QUIET_SAMPLE = 64


def _quiet_s(frames: pd.DataFrame, last_activity: float | None, watch_start: float) -> float:
    """Seconds the plate has been quiet: since a file last landed, as far as this watch can tell.

    The newest scan's image files (up to :data:`QUIET_SAMPLE` of them) say by their modification time when
    the plate's last file landed (a watch started, or requeued, on a plate whose imaging ended days ago
    stops after its first pass, not after a further wait); a file this watch saw land (``last_activity``,
    monotonic) counts too, whichever is more recent. A modification time ahead of this machine's clock is
    no evidence: then the time since the watch started stands in until a file lands.
    """
    now = time.monotonic()
    newest = float("nan")
    times = pd.to_numeric(frames["time_h"], errors="coerce") if len(frames) else pd.Series(dtype=float)
    if times.notna().any():
        paths = frames.loc[times == times.max(), "path"].astype(str).head(QUIET_SAMPLE)
        stamps = [sig[1] for sig in map(_file_signature, paths) if sig is not None]
        newest = max(stamps) if stamps else newest
    age = time.time() - newest
    file_age = age if np.isfinite(age) and age >= 0 else None
    if last_activity is not None:
        since = now - last_activity
    else:
        since = float("inf") if file_age is not None else now - watch_start
    return min(since, float("inf") if file_age is None else file_age)


def _import_lightning() -> None:
    """Import Lightning, a SIGTERM during the import raised as :class:`Terminated`.

    A signal that lands inside a C extension's import (matplotlib's, via torchmetrics) surfaces as
    ``ImportError: initialization failed``.
    """
    try:
        import pytorch_lightning  # noqa: F401
    except ImportError:
        if received():
            raise Terminated() from None
        raise


def _scoring_line(n: int, plate: str, times: pd.Series, watch: bool) -> str:
    """``scoring N frame(s) of plate P at 16 h`` (the timepoints; with ``watch`` the time of day first)."""
    clock = time.strftime("%H:%M:%S ") if watch else ""
    return f"{clock}scoring {n} frame(s) of plate {plate}{_at_hours(times)}"


def _at_hours(times: pd.Series) -> str:
    """`` at 0, 4 h`` or `` at 0-48 h (13 timepoints)`` for frames at ``times`` ('' when none is known)."""
    hours = sorted({round(float(t), 3) for t in times if pd.notna(t)})
    if not hours:
        return ""
    if len(hours) <= 3:
        return f" at {', '.join(f'{h:g}' for h in hours)} h"
    return f" at {hours[0]:g}-{hours[-1]:g} h ({len(hours)} timepoints)"


def _held_line(frames: pd.DataFrame, ids: np.ndarray, settle_s: float, next_scan: int, plate: str,
               seen: SeenFiles | None = None) -> str:
    """What a watch with a next-scan bundle holds back: ``N frame(s) of plate P at T h wait for ...`` ('' if none).

    ``ids`` are the frames due now (:func:`_due` with ``hold``); the others whose own file is ready
    (:func:`~ferroscreen.score.plan.frames_to_score` with ``settle_s`` and ``seen``) wait for later scans
    of their site, which the model reads with them.
    """
    held = np.setdiff1d(frames_to_score(frames, settle_s, seen), ids)
    if not len(held):
        return ""
    scans = "their next scan" if next_scan == 1 else f"the next {next_scan} scans of their site"
    return (f"{len(held)} frame(s) of plate {plate}{_at_hours(frames['time_h'].iloc[held])} wait for {scans}, "
            f"which the model reads with each frame; they are scored as the scans land (or when the watch stops)")


def _interval_checked(bundle, frames: pd.DataFrame, model, log) -> bool:
    """Warn (``log``) when ``bundle`` reads a plate imaged at another interval than it was trained on.

    See :meth:`ferroscreen.models.bundle.Bundle.interval_mismatch`. Returns whether the plate's
    scan interval is known (two timepoints in ``frames`` or more): a watch begun on the first scan
    checks again on its later polls until it is, and so warns once.
    """
    from ferroscreen.io.scans import scan_interval_h

    if scan_interval_h(frames) is None:
        return False
    if note := bundle.interval_mismatch(frames):
        log(f"{model}: warning: {note}")
    return True


def _paths_left_behind(existing, recorded: str, acquisition: Path, found: pd.DataFrame) -> str:
    """The folder a store's scored frames name when it is not the one it records (``recorded``; "" when none).

    A store that an earlier ferroscreen resumed from a moved folder recorded the new folder but
    kept the scored frames' paths under the old one. A scored frame whose file is gone, lying
    outside the recorded folder, names that old folder: its path less the name (relative to
    ``acquisition``) of a file found now.
    """
    if not recorded:
        return ""
    here = acquisition.resolve()
    names = {os.path.relpath(str(p), here) for p in found["path"] if p}
    done = existing.frames[(existing.frames["status"] == DONE) & (existing.frames["path"].astype(str) != "")]
    for path in done["path"].astype(str):
        if _under(path, recorded) or _file_signature(path) is not None:
            continue
        parts = Path(path).parts
        for k in range(1, len(parts)):
            if os.path.join(*parts[k:]) in names:
                return os.path.join(*parts[:k])
    return ""


def _same_acquisition(out: Path, existing, stored: str, acquisition: Path, found: pd.DataFrame) -> str:
    """Check that a resumed store continues its own acquisition; a note when it was moved ("" when not).

    IncuCyte names every vessel ``VID1`` by default, and its files are named by well, field and
    time, so neither the plate nor the file names tell two experiments apart: the store's scored
    frames, as paths under the folder it was scored from (``stored``), must be
    files of ``acquisition`` of the sizes they had when scored (a plate folder moved or mounted
    elsewhere keeps both).

    Raises:
        StoreError: ``acquisition`` is another folder that lacks the store's scored frames or holds
            other files under their names.
    """
    here = acquisition.resolve()
    if not stored or Path(stored) == here:
        return ""
    done = existing.frames[(existing.frames["status"] == DONE) & (existing.frames["path"].astype(str) != "")]
    theirs = {os.path.relpath(str(p), here): str(p) for p in found["path"] if p}
    other = 0
    for path, size in zip(done["path"].astype(str), done["file_size"], strict=True):
        now = theirs.get(os.path.relpath(path, stored))
        if now is None or (size >= 0 and not is_store_frame(now) and _size(now) != size):
            other += 1
    if not other:
        return f"{out}: was scored from {stored}; its frames are in {acquisition} (moved), which it continues"
    raise StoreError(f"{out}: was scored from {stored}, and {acquisition} is another acquisition ({other} of the "
                     f"store's {len(done)} scored frames are not its files); resume it with that folder, or choose "
                     f"another --out")


def _under(path: str, folder: str) -> bool:
    """Whether frame ``path`` lies in ``folder`` (names compared, no file looked at)."""
    if path.startswith(folder.rstrip(os.sep) + os.sep):
        return True
    rel = os.path.relpath(path, folder)
    return rel != os.pardir and not rel.startswith(os.pardir + os.sep)


def _relocated(frames: pd.DataFrame, stored: str, acquisition: Path, found: pd.DataFrame,
               new_mtimes: bool = True) -> pd.DataFrame:
    """``frames`` of a store scored from folder ``stored``, their paths moved to ``acquisition`` (``found``'s paths).

    A path takes the path found now under its name relative to ``stored`` (as :func:`_same_acquisition`
    matches them), else, in ``stored`` (a file deleted since), its name in ``acquisition``; others stay.
    With ``new_mtimes`` (a move checked now), a moved file of the recorded size takes its time stamp
    now as the recorded one (a copy need not keep time stamps; another size is a replaced file, scored
    again by :func:`_rescore_stale`), so that later runs tell a file replaced after the move.
    """
    here = acquisition.resolve()
    theirs = {os.path.relpath(str(p), here): str(p) for p in found["path"] if p}
    frames = frames.copy()
    paths = frames["path"].astype(str).tolist()
    sizes, mtimes = frames["file_size"].to_numpy(), frames["file_mtime"].to_numpy(float).copy()
    for i, path in enumerate(paths):
        rel = os.path.relpath(path, stored) if path else ""
        if not (rel in theirs or (path and _under(path, stored))):
            continue
        paths[i] = theirs.get(rel) or str(here / rel)
        sig = _file_signature(paths[i])
        if new_mtimes and sig is not None and sizes[i] >= 0 and sig[0] == sizes[i]:
            mtimes[i] = sig[1]
    frames["path"] = paths
    frames["file_mtime"] = mtimes
    return frames


def _same_bundle(out: Path, model, attrs: dict, sha256: str, content_sha256: str) -> str:
    """Check that a resumed store continues with its model bundle; a note when it is another file of it ("" when not).

    Two bundles trained alike (same data, seeds and settings) differ only in when and on what software
    they were written: the same content digest (:func:`ferroscreen.hashing.bundle_content_sha256`),
    not the same file sha256. A store that records a content digest (``bundle_content_sha256``) is
    compared by it; an older one by the file's sha256.

    Raises:
        ModelBundleError: The bundle scores otherwise than the one the store was scored with.
    """
    recorded = attrs.get("bundle_content_sha256")
    if recorded:
        if recorded == content_sha256:
            return "" if attrs.get("bundle_sha256") == sha256 else (
                f"{model}: another file of the model bundle {out} was scored with (content sha256 "
                f"{content_sha256[:12]}, written at another time or place), which it continues")
        theirs, ours, what = str(recorded), content_sha256, "content sha256"
    elif attrs.get("bundle_sha256") == sha256:
        return ""
    else:
        theirs, ours, what = str(attrs.get("bundle_sha256")), sha256, "sha256"
    raise ModelBundleError(f"{model}: {out} was scored with another model bundle ({what} {theirs[:12]}, this one "
                           f"{ours[:12]}); use a new --out")


def _size(path: str) -> int:
    """Bytes of frame file ``path`` (-2 when it cannot be read: never a recorded size)."""
    try:
        return os.path.getsize(frame_file(path))
    except OSError:
        return -2


def _file_signature(path: str) -> tuple[int, float] | None:
    """``(size, mtime)`` of frame ``path``'s file (``None``: no path, or it cannot be read)."""
    if not path:
        return None
    try:
        st = os.stat(frame_file(path))
    except OSError:
        return None
    return int(st.st_size), float(st.st_mtime)


def _signature(following, next_scan: int) -> tuple:
    """The files of a frame's later scans (``following`` as :func:`_due` gives it) as ``(size, mtime)`` each."""
    paths = following if next_scan > 1 else (following,)
    return tuple(_file_signature(p) if p else None for p in paths)


#: Time stamps this close are one (FAT/exFAT and some network shares keep 2 s steps).
MTIME_SLACK_S = 2.0


def _rescore_stale(before: pd.DataFrame | None, frames: pd.DataFrame, next_scan: int, settle_s: float,
                   tried: dict[int, tuple], log, sizes_only: bool = False,
                   seen: SeenFiles | None = None) -> pd.DataFrame:
    """``frames`` with the done frames whose result is not what scoring the folder now gives set pending again.

    Such a frame is scored again (its cells are replaced) when its own image file exists and

    * its file was replaced after it was scored (a re-export: another size or time stamp than recorded,
      the time stamp more than :data:`MTIME_SLACK_S` apart, settled: :func:`ferroscreen.score.plan.file_settled`
      with ``settle_s`` and the watch's record ``seen``, updated; an image file of its own, not a plane of a
      container file). With ``sizes_only`` (an acquisition folder moved or
      copied elsewhere: a copy need not keep time stamps) only another size counts;
    * (next-scan bundles) one of its later scans was replaced, or landed only after it was scored (a
      field or scan that came late: it was scored with the scan after, or without), as ``before``
      (the table before the files found now were added) tells;
    * (next-scan bundles) it read fewer later scans than its site has now (scored at the end of an
      earlier ``--watch``, or while a later scan was still being written), unless this run scored it
      already with these very files (``tried``: a later scan that cannot be read stays unread).

    One line is logged when any frame is set pending.
    """
    if frames.empty or before is None or before.empty:
        return frames
    status = frames["status"].to_numpy()
    paths = frames["path"].astype(str).to_numpy()
    now = time.time()
    sizes, mtimes = frames["file_size"].to_numpy(), frames["file_mtime"].to_numpy()
    own: list[int] = []  # done frames whose image is there (a deleted file keeps its cells)
    changed: set[str] = set()
    for i in np.flatnonzero(status == DONE):
        try:
            st = os.stat(paths[i])  # an image file of its own
        except OSError:  # deleted, or a plane of a container file (OME-Zarr, multi-page TIFF, CZI)
            if next_scan and paths[i] and _file_signature(paths[i]) is not None:
                own.append(int(i))
            continue
        own.append(int(i))
        other = st.st_size != sizes[i] or (not sizes_only and abs(st.st_mtime - mtimes[i]) > MTIME_SLACK_S)
        if sizes[i] >= 0 and other and file_settled(paths[i], st.st_size, st.st_mtime, now, settle_s, seen):
            changed.add(paths[i])
    stale = {i for i in own if paths[i] in changed}
    n_changed = len(stale)
    if next_scan and own:
        old_paths = before["path"].astype(str).to_numpy()
        landed = {p for p in paths if p} - set(old_paths)  # by path: rows may have moved or been dropped
        following = _later_scans_within(frames, next_scan).reindex(frames.index)
        used = frames["next_scan"].to_numpy()
        unreadable = set()  # later scans that failed and are unchanged since: they stay unread
        for j in np.flatnonzero(status == FAILED):
            sig = _file_signature(paths[j])
            if sig is not None and sig == (sizes[j], mtimes[j]):
                unreadable.add(paths[j])
        for i in own:
            later = following.iat[i]
            later = (later,) if next_scan == 1 else (later if isinstance(later, tuple) else ())
            later = tuple(p for p in later if p)
            if any(p in changed or p in landed for p in later):
                stale.add(i)
            elif (0 <= used[i] < len(later) and later[used[i]] not in unreadable
                  and tried.get(i) != _signature(following.iat[i], next_scan)):
                stale.add(i)
    if not stale:
        return frames
    ids = np.array(sorted(stale), dtype=np.int64)
    frames = frames.copy()
    frames.loc[ids, "status"] = PENDING
    frames.loc[ids, "reason"] = ""
    first = paths[ids[0]]
    why = []
    if n_changed:
        why.append(f"{n_changed} image file(s) replaced since scored")
    if len(ids) > n_changed:
        why.append(f"{len(ids) - n_changed} whose later scans changed or landed since")
    log(f"note: scoring {len(ids)} scored frame(s) again ({'; '.join(why)}), e.g. {first}")
    return frames


def _due(frames: pd.DataFrame, settle_s: float, next_scan: int, hold: bool,
         seen: SeenFiles | None = None) -> tuple[np.ndarray, pd.Series | None]:
    """Frame ids to score now, and (next-scan bundles) each frame's later-scan path(s).

    Frames whose own file is not settled (``settle_s``, ``seen``: see
    :func:`ferroscreen.score.plan.file_settled`; ``seen`` is updated) wait.
    ``next_scan`` k = 1 gives each frame its next scan's path (``None``: none);
    k = 2 a tuple of the next two. With ``hold``, a next-scan bundle's frames
    whose k later scans are not all there yet, or one is not settled, wait
    (``--watch``: the incubator has not taken it, or is still writing it), as
    do the frames before a scan of the site that is missing (a field that
    lands late); the last pass scores them with the scans there are.
    """
    ids = frames_to_score(frames, settle_s, seen)
    if not next_scan:
        return ids, None
    following = _later_scans_within(frames, next_scan).reindex(frames.index)
    if next_scan == 1:
        following = following.astype(object).where(following.notna(), None)
    else:
        following = following.map(lambda t: t if isinstance(t, tuple) else (None,) * next_scan)
    if hold and len(ids):
        now = time.time()
        # a scan of the site not there yet (a field or scan still to land) holds the frames before it too
        whole = later_scans(frames, next_scan).reindex(frames.index)
        later = whole.iloc[ids] if next_scan > 1 else whole.iloc[ids].map(lambda p: (p,))
        ids = ids[[isinstance(ps, tuple) and all(_settled(p, now, settle_s, seen) for p in ps) for ps in later]]
    return ids, following


def _later_scans_within(frames: pd.DataFrame, next_scan: int) -> pd.Series:
    """Each frame's later scans (:func:`ferroscreen.io.scans.later_scans` of the frames with a file), gaps cut.

    A bundle reading k later scans learned cells one scan of the plate apart at each step: a later
    scan of the site that comes after a time point of its plate the site lacks (a missing file) is
    not used, nor any after it (``None`` in its place: the crop repeats the scan before, and the
    frame's ``next_scan`` counts fewer, as for a later scan that cannot be read). The plate's own
    time points are the measure, so irregular schedules (hourly, then every 4 h) cut nothing.
    """
    present = frames[frames["path"].astype(str) != ""]
    if present.empty:
        return later_scans(present, next_scan)
    nxt = _next_without_gaps(frames, present)
    label = {}
    for i, p in zip(present.index, present["path"].astype(str), strict=True):
        label.setdefault(p, i)
    chains = []
    for i in present.index:
        chain, at = [], i
        for _ in range(int(next_scan)):
            p = nxt.at[at] if at is not None else None
            chain.append(p if p else None)
            at = label.get(p) if p else None
        chains.append(tuple(chain))
    if next_scan == 1:
        return pd.Series([c[0] for c in chains], index=present.index, dtype=object)
    return pd.Series(chains, index=present.index, dtype=object)


def _next_without_gaps(frames: pd.DataFrame, present: pd.DataFrame) -> pd.Series:
    """:func:`~ferroscreen.io.scans.next_scan_paths` of ``present``; ``None`` where it skips a plate time point.

    A plate's time points are those of all its ``frames`` (missing files included).
    """
    nxt = next_scan_paths(present)
    time_of = dict(zip(present["path"].astype(str), present["time_h"].astype(float), strict=True))
    out = nxt.copy()
    for plate, rows in present.groupby("plate", sort=False).groups.items():
        times = np.unique(frames.loc[frames["plate"] == plate, "time_h"].to_numpy(float))
        here = present.loc[rows, "time_h"].to_numpy(float)
        later = np.array([time_of.get(p, np.nan) if p else np.nan for p in nxt.loc[rows]], dtype=float)
        known = ~np.isnan(later)
        skips = np.zeros(len(rows), dtype=bool)
        skips[known] = (np.searchsorted(times, later[known]) - np.searchsorted(times, here[known])) > 1
        out.loc[np.asarray(rows)[skips]] = None
    return out


def gap_note(frames: pd.DataFrame, next_scan: int) -> str:
    """A note naming how many frames have a later scan left unread for a gap in imaging ('' when none)."""
    if not next_scan or frames.empty:
        return ""
    present = frames[frames["path"].astype(str) != ""]
    whole = later_scans(present, next_scan)
    cut = _later_scans_within(frames, next_scan)
    as_tuple = (lambda v: (v,)) if next_scan == 1 else (lambda v: v if isinstance(v, tuple) else ())
    short = [i for i in present.index
             if sum(p is not None for p in as_tuple(cut.at[i])) < sum(p is not None for p in as_tuple(whole.at[i]))]
    if not short:
        return ""
    first = present.loc[short[0]]
    return (f"note: {len(short)} frame(s) read fewer later scans than the model takes: their site lacks a time "
            f"point of the plate after them (a missing file), e.g. {first['well']} f{first['field']} at "
            f"{float(first['time_h']):g} h")


def _settled(path: str | None, now: float, settle_s: float, seen: SeenFiles | None = None) -> bool:
    """Whether frame ``path``'s file exists and is settled at ``now`` (:func:`ferroscreen.score.plan.file_settled`).

    With ``settle_s`` 0: whether it exists (a time stamp in the future too). ``seen`` is updated.
    """
    if not path:
        return False
    file = frame_file(path)
    try:
        st = os.stat(file)
    except OSError:
        return False
    return file_settled(file, st.st_size, st.st_mtime, now, settle_s, seen)


def summarize(store, stats: dict, seconds: float) -> dict:
    """Summary of a run: frame counts by status, cells (``counted``: ``tiles`` in tile mode), timings.

    ``other_size``: the failed frames of another size than the plate's
    (:func:`~ferroscreen.score.export.other_size_frames`).
    """
    st = store.frames["status"].to_numpy()
    return {
        "store_frames": int(len(st)),
        "done": int((st == DONE).sum()),
        "failed": int((st == FAILED).sum()),
        "pending": int((st == PENDING).sum()),
        "cells": int(store.attrs.get("n_cells", 0)),
        "counted": detector_mode(store.attrs),
        "wells_rows": int(len(store.wells)),
        "frames_scored": int(stats["frames_scored"]),
        "crops_scored": int(stats["crops"]),
        "predict_s": round(stats["predict_s"], 3),
        "seconds": round(seconds, 3),
        "failures": failure_lines(store.frames),
        # failed for their size: --resume never scores them (``n``, ``sizes``, ``expected``)
        "other_size": {k: v for k, v in other_size_frames(store.frames, store.attrs.get("frame_shape")).items()
                       if k != "mask"},
    }


def failure_lines(frames: pd.DataFrame, limit: int = 10) -> list[str]:
    """Reasons of failed frames (first ``limit``)."""
    failed = frames[frames["status"] == FAILED]
    return [f"{r.well} f{r.field} t={r.time_h:g}h: {r.reason}" for r in failed.head(limit).itertuples()]


#: Loggers whose records below ERROR (device summaries, tips) a scoring pass leaves out.
LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning")


@contextlib.contextmanager
def _quiet_lightning():
    """Inside the block, Lightning logs errors only and its notices about data loaders are not warned.

    The loggers' levels and the warnings filters are the ones of before once the block ends: a
    notebook that calls :func:`score_plate` keeps Lightning's messages for its own work (as
    :class:`warnings.catch_warnings`, not meant for threads that warn meanwhile).
    """
    _import_lightning()  # its import sets its logger's level: imported first, set after

    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [log.level for log in loggers]
    with warnings.catch_warnings():
        for log in loggers:
            log.setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*predict_dataloader.*")
        warnings.filterwarnings("ignore", message=".*num_workers.*")
        warnings.filterwarnings("ignore", message=".*treespec.*")
        warnings.filterwarnings("ignore", category=UserWarning, module="pytorch_lightning")
        try:
            yield
        finally:
            for log, level in zip(loggers, levels, strict=True):
                log.setLevel(level)


def _store_precision(requested: str, accelerator: str, existing, out: Path, int8_available: bool) -> str:
    """The precision to score with: ``requested`` resolved, or the one a resumed store was started with."""
    from ferroscreen.models.precision import resolve_precision

    try:
        resolved = resolve_precision(requested, accelerator, int8_available)
    except ValueError as exc:
        raise StoreError(f"{out}: {exc}") from None
    started = str(existing.attrs.get("precision", "32")) if existing is not None else None
    if started is None or started == resolved:
        return resolved
    if requested == "auto":
        return started
    raise StoreError(f"{out}: was scored at precision {started}; resume it with --precision {started} or auto")


def _one_node():
    """The cluster environment of a scoring run: this machine alone, whatever a scheduler's variables say.

    ``--devices N`` spawns its N ranks itself on this node. Inside a SLURM allocation Lightning would
    otherwise take the ranks, node and port from ``SLURM_*`` (one task: every spawned rank thinks it
    is rank 0 of 1, and they race for one port) and set SLURM's requeue signal handlers (a checkpoint
    and ``scontrol requeue`` on SIGUSR1, SIGTERM "bypassed"); SIGTERM stays with
    :mod:`ferroscreen.score.terminate` (exit 143, ``--resume`` continues), SLURM's requeue with the job script.
    """
    from pytorch_lightning.plugins.environments import LightningEnvironment

    return LightningEnvironment()


def stop_ranks(procs) -> list[int]:
    """Kill the rank processes ``procs`` still running (SIGKILL) and wait for them; returns their pids.

    For a multi-process run that ends early in the main process (SIGTERM sent to it alone, Ctrl-C, an
    error): its ranks are no daemons, so the main process would wait for them at exit while they scored
    their share on. Nothing gentler reaches a rank everywhere: Lightning's SIGTERM handler there only notes
    the signal, a SIGINT is ignored under ``cmd &`` in a script, and a rank joining the process group waits
    outside Python. A journal is written to be killed at any moment (:mod:`ferroscreen.score.shard`): a
    resumed run recovers the frames its rank committed, as after ``kill -9`` of a one-process run.
    """
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
    for p in alive:
        p.join()
    return [p.pid for p in alive]


@_quiet_lightning()
def _predict(jobs, bundle, detector, parts: Path, devices: int, batch_size: int, workers: int | None,
             shape, accelerator: str, precision: str, progress: bool | str, tta: bool = False) -> int:
    """Run ``Trainer.predict`` over ``jobs``; results land in ``parts/rank-*.h5``. Returns crops scored.

    Lightning's notices are left out while it runs (:func:`_quiet_lightning`).
    """
    import pytorch_lightning as pl

    from ferroscreen.models.precision import lightning_precision
    from ferroscreen.score.module import ScoringDataModule, ScoringModule
    from ferroscreen.score.writer import JournalWriter

    parts.mkdir(parents=True, exist_ok=True)
    workers = default_workers(precision, devices) if workers is None else int(workers)
    bar = None
    if progress == "lines":  # rank 0 reports its share of the jobs (jobs[0::devices], see FrameCropStream)
        from ferroscreen.score.progress import ProgressLines

        bar = ProgressLines(len(jobs[::devices]), f"rank 0 of {devices}" if devices > 1 else "")
    elif progress and devices == 1:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="frame", desc="scoring")
    writer = JournalWriter(parts, len(bundle.classes), progress=bar.update if bar else None)
    module = ScoringModule(bundle.net, bundle.int8_forward() if precision == "int8" else None, defer=True, tta=tta)
    data = ScoringDataModule(jobs, detector, bundle.crop_size, batch_size, workers, shape, bundle.normalization)
    strategy = "ddp_spawn" if devices > 1 else "auto"
    trainer = pl.Trainer(
        accelerator=accelerator, devices=devices, strategy=strategy, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[writer], inference_mode=True,
        precision=lightning_precision(precision), plugins=[_one_node()],
    )
    import cv2

    cv_threads = cv2.getNumThreads()
    try:
        trainer.predict(module, datamodule=data, return_predictions=False)
    except SystemExit:  # Lightning ends a Ctrl-C with exit(1) after its teardown: said as the interrupt it was
        raise (Terminated() if received() else KeyboardInterrupt()) from None
    except RuntimeError:  # e.g. DataLoader workers killed by the SIGTERM sent to the whole process group
        if received():
            raise Terminated() from None
        raise
    finally:
        cv2.setNumThreads(cv_threads)  # the data module set one thread for its workers' sake
        if devices > 1:  # ended early (SIGTERM, Ctrl-C, an error): the ranks stop too (after a pass: none is left)
            import multiprocessing

            stop_ranks(multiprocessing.active_children())  # the launcher names none while it is still spawning
    if bar is not None and hasattr(bar, "close"):
        bar.close()
    if devices > 1:
        n = 0
        from ferroscreen.score.shard import ShardReader

        for p in sorted(parts.glob("rank-*.h5")):
            with ShardReader(p, len(bundle.classes)) as r:
                n += int((r.results["cell_stop"] - r.results["cell_start"]).sum())
        return n
    return writer.cells_committed


def _given_interval(value) -> float | None:
    """An ``--interval-h`` as the store records it: a positive number, or None where none was given (NaN, null)."""
    try:
        hours = float(value) if interval_given(value) else 0.0
    except (TypeError, ValueError):
        return None
    return hours if hours > 0 else None
