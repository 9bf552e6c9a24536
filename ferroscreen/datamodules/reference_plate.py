"""Labelled crops from a plate's reference and vehicle wells.

The label of every crop is the well's ``mode`` in the layout (vehicle wells:
``alive``). Reference wells contribute only frames at or after the onset
window (``onset_h``, a number or a per-mode mapping), when most cells show
their mode; vehicle wells contribute every frame. Optionally a reference
well's first scans (``alive_until_h``, before any death onset) give *alive*
crops too, so that both classes come from the same wells (a well's look,
e.g. an edge well's meniscus, then names no class). Wells are split between
training and validation per class (no well feeds both).

The bundle's ``training_data`` records, per acquisition, the layout's sha256 and one
``images_sha256`` over the names (relative to the acquisition folder) and contents of the
``image_files`` the crops came from (next scans included), so a model can be traced to the
exact images it learned from, wherever the folder was copied. Its ``detections``
(:func:`detection_stats`) say what the detector found on the training frames, which ``score``
compares a plate's detections with (:mod:`ferroscreen.score.domain_check`).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pytorch_lightning.utilities import rank_zero_info

from ferroscreen.allocator import keep_freed_memory
from ferroscreen.crops import CropNormalization, DetectorConfig, detector_config, normalize_frame
from ferroscreen.crops.frames import frame_crops
from ferroscreen.datamodules.crop_base import (
    CropDataModule,
    CropSets,
    frame_sample,
    resolve_normalization,
    split_groups,
)
from ferroscreen.datamodules.reference_labels import WellLabeller, check_class_names, well_order, wells_text
from ferroscreen.errors import FerroscreenError
from ferroscreen.hashing import file_sha256, files_digest
from ferroscreen.io import load_image, open_acquisition
from ferroscreen.io.channels import choose_channel
from ferroscreen.io.detect import LAYOUT_BESIDE, layout_beside
from ferroscreen.io.frames import frame_file
from ferroscreen.io.planes import choose_plane
from ferroscreen.io.scan_interval import NoScanInterval
from ferroscreen.io.scans import later_scans, scan_interval_h
from ferroscreen.plate import KNOWN_MODES, read_layout, read_layout_csv
from ferroscreen.plate.layout_records import normalize_mode
from ferroscreen.plate.layout_xlsx import read_layout_xlsx
from ferroscreen.workbooks import is_workbook


def crops_from_frame(path: str, config: DetectorConfig, crop_size: int, max_crops: int | None, seed: int,
                     normalization: CropNormalization | None = None,
                     next_scan: str | None | bool | tuple[str | None, ...] = False, detections: bool = False):
    """Detect cells in one frame and cut normalised crops (float16), subsampled to ``max_crops``.

    ``normalization`` defaults to the percentile scaling the detector uses.
    ``next_scan``: ``False`` gives crops ``(N, S, S)``; a path (or ``None`` for
    a site's last scan) gives ``(N, 2, S, S)`` with the same boxes cut from
    that scan, a tuple of k paths ``(N, 1 + k, S, S)`` (see
    :func:`ferroscreen.crops.with_next_scan`). With ``detections``:
    ``(crops, (n_detections, frame_pixels, radii))``, all the frame's detections counted.
    """
    raw = load_image(path)
    try:
        det, crops, _ = frame_crops(raw, normalize_frame(raw), config, crop_size, normalization, next_scan)
    except ValueError as exc:
        raise FerroscreenError(f"{path}: {exc}") from None
    if max_crops is not None and len(crops) > max_crops:
        crops = crops[np.sort(np.random.default_rng(seed).choice(len(crops), max_crops, replace=False))]
    if detections:
        return crops.astype(np.float16), (len(det), int(raw.shape[0] * raw.shape[1]),
                                          det["radius"].to_numpy(np.float32))
    return crops.astype(np.float16)


def detection_stats(counts, pixels, radii, preset: str = "", radius_limits: tuple[float, float] | None = None) -> dict:
    """What a detector found on a set of frames, as a bundle's training data records it.

    Args:
        counts: Detections per frame.
        pixels: Pixels per frame (height x width).
        radii: The radii (px) of all detections of those frames.
        preset: The detector preset named in the training config ('' when none).
        radius_limits: The detector's smallest and largest radius (``min_radius``, ``max_radius``).

    Returns:
        ``{"frames", "per_frame": {"median", "p5", "p95"}, "per_mpx": {...}, "radius_px", "preset"}``
        (``radius_px`` None when nothing was detected) and, given ``radius_limits``, ``radius_limits`` and
        ``at_radius_limits`` (the share of detections at either: cells the preset's radii do not fit pile
        up there); ``{}`` for no frames.
    """
    counts = np.asarray(counts, float)
    pixels = np.asarray(pixels, float)
    if not len(counts):
        return {}
    radii = np.asarray(radii, float)
    per_mpx = counts / np.maximum(pixels, 1.0) * 1e6

    def spread(v: np.ndarray) -> dict:
        p5, p50, p95 = np.percentile(v, [5, 50, 95])
        return {"median": round(float(p50), 3), "p5": round(float(p5), 3), "p95": round(float(p95), 3)}

    out = {"frames": int(len(counts)), "per_frame": spread(counts), "per_mpx": spread(per_mpx),
           "radius_px": round(float(np.median(radii)), 3) if len(radii) else None, "preset": str(preset or "")}
    if radius_limits is not None:
        lo, hi = (float(v) for v in radius_limits)
        out["radius_limits"] = [lo, hi]
        out["at_radius_limits"] = round(at_limits_share(radii, lo, hi), 4) if len(radii) else None
    return out


def at_limits_share(radii, low: float, high: float) -> float:
    """The share of ``radii`` at a detector's smallest (``low``) or largest (``high``) radius (within 2 %)."""
    radii = np.asarray(radii, float)
    return float(((radii <= low * 1.02) | (radii >= high * 0.98)).mean()) if len(radii) else 0.0


#: Most later scans a network can read (the crop channels feed an RGB backbone: this scan + 2).
MAX_NEXT_SCANS = 2


def check_next_scan(value) -> int:
    """``next_scan`` as a number of later scans (``true`` -> 1, ``false`` -> 0).

    Raises:
        FerroscreenError: Not 0..:data:`MAX_NEXT_SCANS`.
    """
    if isinstance(value, bool) or value is None:
        return int(bool(value))
    try:
        k = int(value)
    except (TypeError, ValueError):
        k = -1
    if k < 0 or k > MAX_NEXT_SCANS or k != value:
        raise FerroscreenError(f"next_scan: expected true/false or 0..{MAX_NEXT_SCANS} later scans, not {value!r}")
    return k


def read_class_layout(path: Path, classes: list[str]):
    """The layout at ``path``, its modes read as :func:`~ferroscreen.plate.read_layout` reads them and as ``classes``.

    A class that is no :data:`~ferroscreen.plate.KNOWN_MODES` (``entosis``) is a mode a CSV table or
    workbook may name; a PlateMap or D300 protocol names no modes, and is read as it is.
    """
    extra = tuple(dict.fromkeys(m for c in classes if (m := normalize_mode(c)) and m not in KNOWN_MODES))
    if not extra or not path.is_file() or path.suffix.lower() in (".platemap", ".tdd", ".hpdd"):
        return read_layout(path)
    with path.open("rb") as fh:
        zipped = fh.read(4) == b"PK\x03\x04"  # an .xlsx workbook is a zip, whatever its name
    if is_workbook(path) or zipped:
        return read_layout_xlsx(path, extra_modes=extra)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return read_layout_csv(path, extra_modes=extra)
    return read_layout(path)


def _job(args):
    keep_freed_memory()
    return crops_from_frame(*args, detections=True)


@dataclass
class _Labelled:
    """One acquisition's labelled frames (rows of its frame table) and what the bundle records of it."""

    frames: list
    labels: list[int]
    nexts: list
    well_class: dict[tuple[int, str, str], int]
    skipped_modes: set[str]
    plates: list[str]
    info: dict
    notes: list[str]
    dropped: dict[int, list[str]]


def _source_names(roots: list[Path]) -> list[str]:
    """Short unique names of the acquisitions: the folder names, else their paths."""
    names = [r.name or str(r) for r in roots]
    return names if len(set(names)) == len(names) else [str(r) for r in roots]


def _combined_info(infos: list[dict]) -> dict:
    """What the bundle records of the training acquisitions: source, layout, format, channel, z plane, interval.

    One acquisition's values as they are. Of several: lists of sources and layouts; the format,
    channel and z plane when all share them, else None; the median scan interval; and each
    acquisition's own values under ``acquisitions``.
    """
    if len(infos) == 1:
        return dict(infos[0])
    out: dict = {"source": [i["source"] for i in infos], "layout": [i["layout"] for i in infos]}
    for key in ("format", "channel", "z_plane"):
        values = {i[key] for i in infos}
        out[key] = values.pop() if len(values) == 1 else None
    intervals = [i["scan_interval_h"] for i in infos if i["scan_interval_h"]]
    out["scan_interval_h"] = float(np.median(intervals)) if intervals else None
    out["acquisitions"] = infos
    return out


class ReferencePlateDataModule(CropDataModule):
    """Crops from reference/vehicle wells of an acquisition, labelled by the layout.

    Args:
        root: Acquisition folder (a ``ferroscreen simulate`` output works as is), or a list of them
            (reference wells of several plates or experiments trained together; wells are split
            per folder, plate and well, so no well feeds both training and validation).
        layout: Layout file; default: ``layout.csv``/``*.PlateMap`` in or beside ``root``. With
            several folders: one layout for all (the same plate map reused), or a list, one per
            folder (``null`` entries: the one beside that folder).
        classes: Class names (modes), spelled as a layout's modes are read (``alive``, not ``Alive``:
            evaluate and score match a bundle's classes by name); wells whose mode is not among them
            are skipped. A class that is no known mode (``entosis``) is a mode the layout may name.
        onset_h: First hour a reference well's frames are used (number or {mode: hours}; a mapping's
            ``default`` for the classes it does not name, its ``alive`` for vehicle wells under
            ``vehicle_window``, said in a note without it).
        until_h: Last hour used for reference wells (None: the end).
        roles: Layout roles that provide labelled wells.
        vehicle_window: Restrict vehicle wells to the same onset/until window
            (keeps the classes balanced when the plate was imaged long).
        alive_until_h: Frames of reference wells at or before this hour are
            labelled ``alive`` (cells not dying yet, e.g. ``0``: the scan right
            after dosing). ``None``: reference wells give only their mode.
        channel: Channel to use (default: the only one, else the one named
            brightfield/phase; see :func:`ferroscreen.io.channels.choose_channel`).
        z_plane: z plane of a z-stack, 0-based from the bottom (default: the
            only one, else the lowest; recorded in the bundle, and ``score``
            reads the same plane unless told otherwise).
        pattern: Images named some other way: a regular expression over their file names with named
            groups (``well`` required; as ``--pattern`` of ``score``; see :mod:`ferroscreen.io.pattern`).
        interval_h: Hours between scans for acquisitions that number them (a pattern's
            ``timepoint`` group, ImageXpress ``TimePoint_N``), as ``score --interval-h``.
        max_crops_per_frame: Subsample crops per frame (None: all).
        detector: Detector preset name or settings dict (``preset`` key allowed).
        normalization: How crops are normalised (see
            :func:`~ferroscreen.datamodules.crop_base.resolve_normalization`):
            ``percentile`` (default) scales each frame by its own
            percentiles, which stretches frames with few cells — a cue that
            makes a classifier call survivors in lethal wells dead;
            ``background`` maps contrast to the frame's median, its levels set
            from up to 64 of the labelled frames (seeded).
        next_scan: Give the model each cell's later scans too (``true`` or 1:
            the next scan; 2: the next two): crops become ``(N, 1 + k, S, S)``,
            each later channel the same box cut from the site's next scans (the
            cell's look one and two intervals later: a cell that has just
            started dying often still looks alive now and clearly dead then).
            Past a site's last scan a channel repeats the one before it.
        extract_workers: Processes for decoding/detection (0: in this process).
        crop_size, batch_size, num_workers, balanced_sampler, val_fraction, seed:
            see :class:`CropDataModule`.
    """

    def __init__(
        self,
        root: str | list[str],
        layout: str | list[str | None] | None = None,
        classes: list[str] = ("alive", "apoptosis", "ferroptosis", "necroptosis"),
        onset_h: float | dict = 24.0,
        until_h: float | None = None,
        roles: list[str] = ("reference", "vehicle"),
        vehicle_window: bool = False,
        alive_until_h: float | None = None,
        channel: str | None = None,
        z_plane: int | None = None,
        pattern: str | None = None,
        interval_h: float | None = None,
        max_crops_per_frame: int | None = None,
        detector: str | dict | None = None,
        normalization: str | dict | None = "percentile",
        next_scan: bool | int = False,
        extract_workers: int = 0,
        crop_size: int = 48,
        batch_size: int = 128,
        num_workers: int = 0,
        balanced_sampler: bool = False,
        val_fraction: float = 0.25,
        seed: int = 0,
    ) -> None:
        super().__init__(list(classes), crop_size, batch_size, num_workers, balanced_sampler, val_fraction, seed)
        check_class_names(self.classes)
        roots = [root] if isinstance(root, (str, Path)) else list(root)
        if not roots:
            raise FerroscreenError("data.root: no acquisition folder given")
        self.roots = [Path(r) for r in roots]
        layouts = [layout] * len(self.roots) if layout is None or isinstance(layout, (str, Path)) else list(layout)
        if len(layouts) != len(self.roots):
            raise FerroscreenError(f"data.layout: {len(layouts)} layout(s) for {len(self.roots)} acquisition "
                                   f"folders; give one layout for all, or one per folder (null: the one beside it)")
        self.layout_paths = [Path(p) if p else None for p in layouts]
        resolved = [r.resolve() for r in self.roots]
        twice = next((r for i, r in enumerate(self.roots) if resolved[i] in resolved[:i]), None)
        if twice is not None:
            raise FerroscreenError(f"data.root: {twice} is given twice (its wells would count twice)")
        self.onset_h = onset_h
        self.until_h = until_h
        self.roles = tuple(roles)
        self.vehicle_window = bool(vehicle_window)
        self.alive_until_h = None if alive_until_h is None else float(alive_until_h)
        self.channel = channel
        self.z_plane = None if z_plane is None else int(z_plane)
        self.pattern = pattern
        if interval_h is not None and not float(interval_h) > 0:
            raise FerroscreenError(f"data.interval_h: {interval_h} is not a positive number of hours")
        # None: the files' time stamps (a plate of several unstamped scans is refused, naming data.interval_h)
        self.interval_h = None if interval_h is None else float(interval_h)
        self.max_crops_per_frame = max_crops_per_frame
        self.detector_cfg = detector_config(detector)
        named = detector.get("preset") if isinstance(detector, dict) else detector
        self.detector_preset = str(named) if isinstance(named, str) else "suspension" if detector is None else ""
        self.normalization_spec = normalization
        self.next_scan = check_next_scan(next_scan)
        self.extract_workers = int(extract_workers)

    @property
    def _labels(self) -> WellLabeller:
        return WellLabeller(self.classes, self.roles)

    def _onset(self, mode: str) -> float:
        if isinstance(self.onset_h, dict):  # keys as the classes, or as a layout writes modes (Ferroptosis)
            keyed = {normalize_mode(key): value for key, value in self.onset_h.items()}
            return float(self.onset_h.get(mode, keyed.get(normalize_mode(mode), self.onset_h.get("default", 0.0))))
        return float(self.onset_h)

    def _source(self, k: int) -> _Labelled:
        """The labelled frames of the ``k``-th acquisition (its wells keyed ``(k, plate, well)``)."""
        root = self.roots[k]
        try:
            acq = open_acquisition(root, pattern=self.pattern, interval_h=self.interval_h)
        except NoScanInterval as exc:  # the training option, not score's --interval-h
            raise FerroscreenError(f"{exc} (in training: --data.init_args.interval_h H)") from None
        layout_path, beside_note = (self.layout_paths[k], "") if self.layout_paths[k] else layout_beside(root)
        if layout_path is None:
            raise FerroscreenError(f"{root}: no {LAYOUT_BESIDE} in or beside the images; pass data.layout")
        if beside_note:
            rank_zero_info(f"note: {beside_note}")
        layout = read_class_layout(Path(layout_path), self.classes)
        frames = acq.frames
        channel, note = choose_channel(frames["channel"].astype(str), self.channel, "label-free", str(root),
                                     option="--data.init_args.channel")
        if note:
            rank_zero_info(f"{root}: training on {note}")
        frames = frames[frames["channel"].astype(str) == channel]
        z_plane, z_note = choose_plane(frames["z"], self.z_plane, str(root), option="--data.init_args.z_plane")
        if z_note:
            rank_zero_info(f"{root}: training on {z_note}")
        frames = frames[frames["z"] == z_plane]
        plates = sorted(frames["plate"].astype(str).unique())
        if name_note := layout.other_name_note(plates):
            rank_zero_info(f"note: {name_note}")
        notes: list[str] = list(layout.notes)
        self._labels.check_plate_format(layout, layout_path, frames, notes)
        dropped: dict[int, list[str]] = {}
        well_class, skipped_modes = self._labels.well_classes(k, layout, layout_path, plates, notes, dropped)
        following = later_scans(frames, self.next_scan)
        if following is None:
            following = pd.Series(False, index=frames.index)
        sel, labels, nexts = [], [], []
        alive = self._labels.class_of("alive")
        imaged: dict[tuple[int, str, str], list[float]] = {}
        for row, nxt in zip(frames.itertuples(index=False), following.tolist(), strict=True):
            cls = well_class.get((k, str(row.plate), row.well))
            if cls is None:
                continue
            imaged.setdefault((k, str(row.plate), row.well), []).append(float(row.time_h))
            mode = self.classes[cls]
            is_alive = cls == alive
            before_onset = self.alive_until_h is not None and row.time_h <= self.alive_until_h
            if not is_alive and alive is not None and before_onset:
                sel.append(row)
                labels.append(alive)
                nexts.append(nxt)
                continue
            windowed = not is_alive or self.vehicle_window
            if windowed and row.time_h < self._onset(mode):  # vehicle wells: onset_h's alive, else its default
                continue
            if windowed and self.until_h is not None and row.time_h > self.until_h:
                continue
            sel.append(row)
            labels.append(cls)
            nexts.append(nxt)
        used_wells = {(k, str(r.plate), r.well) for r in sel}
        name = (lambda key: key[2] if len(plates) == 1 else f"{key[1]}/{key[2]}")  # noqa: E731
        not_imaged = [key for key in well_class if key not in imaged]
        outside = [key for key in well_class if key in imaged and key not in used_wells]
        for what, keys in (("not imaged (no frames of them in the acquisition)", not_imaged),
                           ("imaged, but no frame of theirs falls inside the onset window", outside)):
            for c in sorted({well_class[key] for key in keys}):
                in_class = [key for key in keys if well_class[key] == c]
                wells = sorted((name(key) for key in in_class), key=well_order)
                times = [t for key in in_class for t in imaged.get(key, [])]
                when = f" (imaged {min(times):g} h to {max(times):g} h)" if times else ""
                dropped.setdefault(c, []).append(f"{layout_path}: {len(wells)} {self.classes[c]} well(s) "
                                                 f"{what}{when}: {wells_text(wells)}")
                notes.append(f"{layout_path}: {self.classes[c]} well(s) {wells_text(wells)} {what}{when}; "
                             f"left out of training and validation")
        if not sel:
            if not imaged:
                shown = sorted({r.well for r in frames.itertuples(index=False)}, key=well_order)
                raise FerroscreenError(
                    f"{layout_path}: none of its {len(well_class)} labelled wells "
                    f"({wells_text(sorted((name(key) for key in well_class), key=well_order))}) is imaged in "
                    f"{root} (imaged wells: {wells_text(shown)}); is it this plate's layout?")
            times = [t for ts in imaged.values() for t in ts]
            raise FerroscreenError(
                f"{root}: no frames of labelled wells fall inside the onset window (onset_h {self.onset_h}, "
                f"until_h {self.until_h}): the labelled wells were imaged from {min(times):g} h to "
                f"{max(times):g} h")
        well_class = {key: c for key, c in well_class.items() if key in used_wells}
        read = [r.path for r in sel] + [p for nxt in nexts if nxt for p in ((nxt,) if isinstance(nxt, str) else nxt)
                                        if p]
        images_sha256, n_files = files_digest((frame_file(p) for p in read), root if root.is_dir() else root.parent)
        return _Labelled(sel, labels, nexts, well_class, skipped_modes, plates, {
            "source": str(root), "layout": str(layout_path), "format": acq.format, "channel": channel,
            "z_plane": z_plane, "scan_interval_h": scan_interval_h(frames),
            "layout_sha256": file_sha256(layout_path), "images_sha256": images_sha256, "image_files": n_files},
            notes, dropped)

    def build_sets(self) -> CropSets:  # noqa: D102
        parts = [self._source(k) for k in range(len(self.roots))]
        owner: dict[str, int] = {}
        for k, part in enumerate(parts):  # P1 and P1/images are one acquisition: its wells would count twice
            for row in part.frames:
                first = owner.setdefault(str(Path(row.path).resolve()), k)
                if first != k:
                    raise FerroscreenError(f"data.root: {self.roots[k]} and {self.roots[first]} hold the same images "
                                           f"({Path(row.path).name}); give each acquisition once")
        sel = [(k, r) for k, p in enumerate(parts) for r in p.frames]
        labels = [c for p in parts for c in p.labels]
        nexts = [n for p in parts for n in p.nexts]
        well_class = {key: c for p in parts for key, c in p.well_class.items()}
        skipped_modes = set().union(*(p.skipped_modes for p in parts))
        plates = [plate for p in parts for plate in p.plates]
        several = len(parts) > 1
        intervals = {p.info["scan_interval_h"] for p in parts} - {None}
        if self.next_scan and len(intervals) > 1 and max(intervals) / min(intervals) > 1.5:
            shown = ", ".join(f"{p.info['source']} every {p.info['scan_interval_h']:g} h" for p in parts)
            raise FerroscreenError(f"data.root: a next-scan model learns how much a cell changes in one scan "
                                   f"interval, and these acquisitions are imaged at different ones ({shown}); train "
                                   f"on acquisitions imaged alike")
        dropped: dict[int, list[str]] = {}  # why a class lost wells
        for p in parts:
            for c, why in p.dropped.items():
                dropped.setdefault(c, []).extend(why)
        absent = [c for i, c in enumerate(self.classes) if i not in set(labels)]
        if absent:  # before minutes of cell detection, not after
            self._labels.no_class(absent, dropped, self.onset_h, self.until_h)
        norm = resolve_normalization(self.normalization_spec, frame_sample([r.path for _, r in sel], self.seed))
        jobs = [
            (r.path, self.detector_cfg, self.crop_size, self.max_crops_per_frame, self.seed * 100003 + i, norm, nxt)
            for i, ((_, r), nxt) in enumerate(zip(sel, nexts, strict=True))
        ]
        if self.extract_workers > 0:
            with ProcessPoolExecutor(self.extract_workers) as ex:
                found = list(ex.map(_job, jobs, chunksize=4))
        else:
            found = [_job(j) for j in jobs]
        crops = [cr for cr, _ in found]
        detections = detection_stats([d[0] for _, d in found], [d[1] for _, d in found],
                                     np.concatenate([d[2] for _, d in found]) if found else [], self.detector_preset,
                                     (self.detector_cfg.min_radius, self.detector_cfg.max_radius))
        names = _source_names(self.roots)

        def group(k: int, plate: str, well: str) -> str:
            """The split's unit: a well ("A01"; "VID2/A01" of several plates; "exp2/VID2/A01" of several roots)."""
            if several:
                return f"{names[k]}/{plate}/{well}"
            return well if len(plates) == 1 else f"{plate}/{well}"

        notes = [n for p in parts for n in p.notes]
        n_crops: dict[str, int] = {}
        for (k, r), cr in zip(sel, crops, strict=True):
            g = group(k, str(r.plate), r.well)
            n_crops[g] = n_crops.get(g, 0) + len(cr)
        groups_by_class: dict[int, list[str]] = {}
        no_cells: dict[int, list[str]] = {}
        for key, c in well_class.items():
            g = group(*key)
            if n_crops.get(g, 0):  # a well without a detected cell would hold a class's place in validation
                groups_by_class.setdefault(c, []).append(g)
            else:
                no_cells.setdefault(c, []).append(g)
        for c, wells in sorted(no_cells.items()):
            why = f"{self.classes[c]} well(s) {wells_text(sorted(wells, key=well_order))}: no cell detected in " \
                  f"their frames inside the onset window"
            dropped.setdefault(c, []).append(why)
            notes.append(f"{why}; left out of training and validation")
        val_wells = split_groups(groups_by_class, self.val_fraction, self.seed)
        if isinstance(self.onset_h, dict):
            unknown = [key for key in self.onset_h if key != "default" and self._labels.class_of(str(key)) is None]
            if unknown:
                notes.append(f"onset_h names {', '.join(map(str, unknown))}, which is no class (classes: "
                             f"{', '.join(self.classes)}), so it is not used; the classes it does not name start "
                             f"at its default ({self.onset_h.get('default', 0.0)} h)")
            alive_keys = [key for key in self.onset_h if normalize_mode(str(key)) == "alive"]
            if alive_keys and not self.vehicle_window:
                notes.append(f"onset_h names {alive_keys[0]}, which is not used: vehicle wells give every frame "
                             f"(vehicle_window: true applies onset_h's {alive_keys[0]} and until_h to them)")
        if self.val_fraction > 0:
            for c in sorted(groups_by_class):
                wells = sorted(set(groups_by_class[c]), key=well_order)
                if not val_wells.intersection(wells):
                    one = len(wells) == 1
                    notes.append(f"class {self.classes[c]} has {len(wells)} well{'' if one else 's'} "
                                 f"({wells_text(wells)}): it trains on {'it' if one else 'them'}, and validation "
                                 f"(macro-F1, calibration) has no {self.classes[c]} crops; give each class two or "
                                 f"more wells")
        xs = {True: [], False: []}
        ys = {True: [], False: []}
        for (k, r), label, cr in zip(sel, labels, crops, strict=True):
            is_val = group(k, str(r.plate), r.well) in val_wells
            xs[is_val].append(cr)
            ys[is_val].append(np.full(len(cr), label, dtype=np.int64))
        seen = {int(c) for y in ys[False] for c in np.unique(y)}
        unseen = [c for i, c in enumerate(self.classes) if i not in seen]
        if unseen and seen:
            self._labels.no_class(unseen, dropped, self.onset_h, self.until_h)
        labelled: dict[int, set[str]] = {}  # the wells giving each class crops (alive_until_h: reference wells too)
        for (k, r), label, cr in zip(sel, labels, crops, strict=True):
            if len(cr):
                labelled.setdefault(label, set()).add(group(k, str(r.plate), r.well))
        wells_per_class = {c: {"train": sorted((g for g in labelled.get(i, ()) if g not in val_wells), key=well_order),
                               "val": sorted((g for g in labelled.get(i, ()) if g in val_wells), key=well_order)}
                           for i, c in enumerate(self.classes)}
        n_train = np.bincount(np.concatenate(ys[False]) if ys[False] else np.zeros(0, np.int64),
                              minlength=len(self.classes))
        n_val = np.bincount(np.concatenate(ys[True]) if ys[True] else np.zeros(0, np.int64),
                            minlength=len(self.classes))
        for note in dict.fromkeys(notes):  # before training, not only in the summary after it
            rank_zero_info(f"note: {note}")
        rank_zero_info("training data: " + "; ".join(
            f"{c} {len(w['train'])}+{len(w['val'])} wells, {n_train[i]}+{n_val[i]} crops"
            for i, (c, w) in enumerate(wells_per_class.items())) + " (training+validation)")
        channels = (1 + self.next_scan,) if self.next_scan else ()
        empty = np.zeros((0, *channels, self.crop_size, self.crop_size), np.float16)

        def cat(parts, fallback):
            return np.concatenate(parts) if parts else fallback

        summary = {
            **_combined_info([p.info for p in parts]),
            "onset_h": self.onset_h,
            "until_h": self.until_h,
            "alive_until_h": self.alive_until_h,
            "plates": plates if not several else [f"{names[k]}/{plate}" for k, p in enumerate(parts)
                                                  for plate in p.plates],
            "train_wells": sorted(g for gs in groups_by_class.values() for g in set(gs) if g not in val_wells),
            "val_wells": sorted(val_wells),
            "n_frames": len(sel),
            "next_scan": self.next_scan,
            "skipped_modes": sorted(skipped_modes),
            "wells_per_class": wells_per_class,
            "detections": detections,  # what the detector found on these frames (score checks plates against it)
        }
        if notes:
            summary["notes"] = list(dict.fromkeys(notes))
        return CropSets(
            cat(xs[False], empty),
            cat(ys[False], np.zeros(0, np.int64)),
            cat(xs[True], empty),
            cat(ys[True], np.zeros(0, np.int64)),
            summary,
            asdict(self.detector_cfg),
            norm.to_meta(),
        )
