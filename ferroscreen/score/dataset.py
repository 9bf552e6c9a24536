"""The scoring input stream: frames decoded, cells detected and cropped in DataLoader workers.

:class:`FrameCropStream` is an :class:`~torch.utils.data.IterableDataset`
that yields ready-made batches (use it with ``batch_size=None``). Each batch
holds up to ``batch_size`` crops drawn from consecutive frames of one worker,
their frame ids and positions, and the *records* of the frames whose last
crop is in that batch (or that produced no crop), so the consumer knows when a
frame is complete. Memory is bounded by one frame plus one batch per worker.

Batches hold numpy arrays; with :class:`~ferroscreen.score.slots.BatchSlots`
a worker's crops travel in a shared slot instead (``slot``, ``n``), and
:func:`batch_tensors` turns either form into tensors in the consuming process.

Work is split deterministically: rank ``r`` of ``w`` processes takes frames
``jobs[r::w]``, and DataLoader worker ``i`` of ``n`` takes every ``n``-th of those.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ferroscreen.allocator import keep_freed_memory
from ferroscreen.crops import (
    CropNormalization,
    DetectorConfig,
    crops_for_detections,
    detect_cells,
    normalize_frame,
    with_next_scan,
)
from ferroscreen.crops.crop_extraction import crops_scaled_each
from ferroscreen.crops.frames import frame_crops, later_crop_frames
from ferroscreen.errors import FerroscreenError
from ferroscreen.hashing import file_sha256
from ferroscreen.io.frames import frame_file, load_image
from ferroscreen.score.qc import focus_score, is_flat
from ferroscreen.score.slots import BatchSlots
from ferroscreen.score.store import DONE, FAILED


@dataclass
class FrameResult:
    """One processed frame: its record and its crops/detections (empty when failed)."""

    record: dict
    crops: np.ndarray
    xyrs: np.ndarray  # (n, 4) float32: x, y, radius, detection score


def _record(frame: int, status: int, reason: str = "", **kw) -> dict:
    rec = {"frame": frame, "status": status, "reason": reason, "n_cells": 0, "height": 0, "width": 0,
           "focus": np.nan, "empty": 0, "file_size": -1, "file_mtime": np.nan, "next_scan": -1, "file_sha256": ""}
    rec.update(kw)
    return rec


#: Container files (multi-page TIFF, CZI) whose digest a worker keeps: (file, size, mtime_ns) -> sha256.
_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGESTS_KEPT = 64


def frame_sha256(file: str, st: os.stat_result) -> str:
    """Hex sha256 of the file holding a frame (:func:`~ferroscreen.io.frames.frame_file`), "" when unreadable.

    The image file itself, the OME-Zarr chunk, or the container (multi-page TIFF, CZI) holding the
    plane: a container's digest is kept per (file, size, mtime) so that its planes do not read it
    again. ``st`` is the file's ``os.stat``.
    """
    key = (file, int(st.st_size), int(st.st_mtime_ns))
    if key in _DIGESTS:
        return _DIGESTS[key]
    try:
        digest = file_sha256(file)
    except OSError:
        return ""
    if len(_DIGESTS) >= _DIGESTS_KEPT:
        _DIGESTS.pop(next(iter(_DIGESTS)))
    _DIGESTS[key] = digest
    return digest


class _AsDecoded:
    """A stand-in normalisation whose ``apply`` hands the frame back as decoded (later scans' raw frames)."""

    @staticmethod
    def apply(raw: np.ndarray, normalized: np.ndarray | None = None) -> np.ndarray:
        return raw


def cut_crops(raw: np.ndarray, normalized: np.ndarray, config: DetectorConfig, crop_size: int,
              normalization: CropNormalization | None = None, next_scan: str | None | bool | tuple = False,
              detections: pd.DataFrame | None = None):
    """Detections and crops of one decoded frame as ``score``, ``quantize`` and ``evaluate`` cut them for a bundle.

    A per-frame normalisation (plate-trained bundles; ``None``: percentile) is
    :func:`ferroscreen.crops.frames.frame_crops`, exactly as training cuts.
    A ``crop``-scoped one (a bundle trained on crop images, each scaled by its own
    levels) detects on ``normalized`` as well, then cuts each cell's box from the raw
    frame at the normalisation's ``source_px`` (the bundle's ``source_crop_px``: the side
    its training crop images had; ``None``: ``crop_size``), scales it by its own levels and
    resizes it to ``crop_size`` with the interpolation training used
    (:func:`ferroscreen.crops.crop_extraction.crops_scaled_each`), so the network sees
    cells at the scale and contrast of its training crops; later scans (next-scan bundles)
    are cut the same way from their raw frames.

    Args:
        raw: The frame as decoded.
        normalized: ``normalize_frame(raw)`` (what the detector sees).
        config: Detector settings.
        crop_size: Crop side (px) the network reads.
        normalization: The bundle's crop normalisation (``None``: percentile per frame), as
            :attr:`ferroscreen.models.bundle.Bundle.normalization` gives it (with ``source_px``).
        next_scan: As for ``frame_crops``: ``False``, a later scan's path, or a tuple of k.
        detections: Cut these cells instead of detecting (``evaluate`` cuts the matched ones).

    Returns:
        ``(detections, crops, used)`` as from ``frame_crops``.
    """
    norm = normalization or CropNormalization.percentile()
    if not norm.per_crop:
        if detections is None:
            return frame_crops(raw, normalized, config, crop_size, normalization, next_scan)
        crops = crops_for_detections(norm.apply(raw, normalized), detections, config, crop_size)
        if next_scan is False:
            return detections, crops, -1
        later = later_crop_frames(next_scan, raw.shape, norm)
        cut = None
    else:
        detections = detect_cells(normalized, config) if detections is None else detections
        crops = crops_scaled_each(raw, detections, config, crop_size, norm)
        if next_scan is False:
            return detections, crops, -1
        later = later_crop_frames(next_scan, raw.shape, _AsDecoded())
        def cut(frame, det):
            return crops_scaled_each(frame, det, config, crop_size, norm)
    used = next((i for i, f in enumerate(later) if f is None), len(later))
    return detections, with_next_scan(crops, detections, config, crop_size, later, cut=cut), used


def process_frame(
    frame: int, path: str, config: DetectorConfig, crop_size: int, expected_shape: tuple[int, int] | None,
    normalization: CropNormalization | None = None, next_scan: str | None | bool | tuple = False,
) -> FrameResult:
    """Decode, check, normalise, detect and crop one frame (training's call order).

    Detection and the focus score use :func:`normalize_frame`; crops use
    ``normalization`` (the bundle's; default: the same percentile scaling),
    per frame or, for a bundle trained on crop images, per crop (:func:`cut_crops`).
    ``next_scan`` as in :func:`ferroscreen.datamodules.reference_plate.crops_from_frame`:
    ``False`` for single-scan bundles, else the site's next scan (``None``:
    none yet), whose crops become the second channel, or a tuple of its next
    k scans; the record's ``next_scan`` says how many were used (-1: not asked for).
    The record's ``file_sha256`` is the sha256 of the file read (:func:`frame_sha256`; "" when
    it was not found). Failures (missing, unreadable or wrong-sized file, detector or
    normalisation error) give a ``failed`` record with a one-line reason
    instead of raising.
    """
    none = np.zeros((0, crop_size, crop_size), np.float32), np.zeros((0, 4), np.float32)
    file = frame_file(path)
    try:
        st = os.stat(file)
    except OSError:
        return FrameResult(_record(frame, FAILED, f"image file not found: {path}"), *none)
    sig = {"file_size": int(st.st_size), "file_mtime": float(st.st_mtime), "file_sha256": frame_sha256(file, st)}
    try:
        raw = load_image(path)
    except FerroscreenError as exc:
        return FrameResult(_record(frame, FAILED, str(exc), **sig), *none)
    h, w = raw.shape
    sig.update(height=h, width=w)
    if expected_shape is not None and (h, w) != tuple(expected_shape):
        reason = f"{path}: wrong frame size {h}x{w}, expected {expected_shape[0]}x{expected_shape[1]}"
        return FrameResult(_record(frame, FAILED, reason, **sig), *none)
    try:
        img = normalize_frame(raw)
        focus = focus_score(img)
        if is_flat(raw):
            return FrameResult(_record(frame, DONE, focus=focus, empty=1, **sig), *none)
        det, crops, used = cut_crops(raw, img, config, crop_size, normalization, next_scan)
    except Exception as exc:  # noqa: BLE001 - one bad frame must not stop a plate
        msg = str(exc).splitlines()[0][:150] if str(exc) else ""
        reason = f"{path}: detection failed ({type(exc).__name__}: {msg})"
        return FrameResult(_record(frame, FAILED, reason, **sig), *none)
    xyrs = np.stack([det[c].to_numpy(np.float32) for c in ("x", "y", "radius", "score")], axis=1)
    rec = _record(frame, DONE, n_cells=len(crops), focus=focus, empty=int(len(crops) == 0), next_scan=used, **sig)
    return FrameResult(rec, crops, xyrs.reshape(-1, 4))


#: The first batches of a worker end with the frame that gives them crops (the consumer idles until they come).
EARLY_BATCHES = 2


class FrameCropStream(IterableDataset):
    """Batches of crops across frames, with frame-completion records (see the module docstring).

    Each worker's first :data:`EARLY_BATCHES` batches hold one frame's crops
    (at most ``batch_size``), so scoring starts after one frame, not after
    a full batch; later batches hold ``batch_size`` crops (fewer at the end).

    Args:
        jobs: ``(frame_id, path)`` pairs, in frame-id order, or ``(frame_id,
            path, next_path)`` for a next-scan bundle (``next_path`` ``None``
            when the site has no later scan yet).
        detector: Detector settings (as in the bundle).
        crop_size: Crop side (px), as trained.
        batch_size: Crops per batch (a worker's first and last batches may hold fewer).
        expected_shape: Frame (height, width); other sizes fail. ``None``: any.
        rank, world_size: This process's share of ``jobs`` (set by the data module).
        normalization: Crop normalisation (as in the bundle; ``None``: percentile per frame;
            ``crop`` scope: each cell's crop scaled by its own levels).
        slots: Shared crop buffers (made before the workers fork); used in
            DataLoader workers only, for batches with crops.
    """

    def __init__(
        self,
        jobs: list[tuple],
        detector: DetectorConfig,
        crop_size: int,
        batch_size: int = 256,
        expected_shape: tuple[int, int] | None = None,
        rank: int = 0,
        world_size: int = 1,
        normalization: CropNormalization | None = None,
        slots: BatchSlots | None = None,
    ) -> None:
        super().__init__()
        self.slots = slots
        self.jobs = list(jobs)
        self.normalization = normalization
        self.detector = detector
        self.crop_size = int(crop_size)
        self.batch_size = max(1, int(batch_size))
        self.expected_shape = tuple(expected_shape) if expected_shape else None
        self.rank = rank
        self.world_size = world_size

    def my_jobs(self) -> list[tuple]:
        """The jobs of this rank and DataLoader worker."""
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        return self.jobs[self.rank :: self.world_size][wid::nw]

    def __iter__(self):
        """Yield batch dicts: crops (or slot and n), frame, xyrs, and the ``records`` of frames completed in it."""
        keep_freed_memory()  # frame-sized temporaries come from the heap, not fresh pages (see ferroscreen.allocator)
        crops: list[np.ndarray] = []
        meta: list[tuple[np.ndarray, np.ndarray]] = []
        held = yielded = 0
        records: list[dict] = []  # completed frames whose crops are all in the buffer
        for frame, path, *following in self.my_jobs():
            res = process_frame(frame, path, self.detector, self.crop_size, self.expected_shape, self.normalization,
                                following[0] if following else False)
            n = len(res.crops)
            start = 0
            while n - start > 0:
                take = min(self.batch_size - held, n - start)
                crops.append(res.crops[start : start + take])
                meta.append((np.full(take, frame, np.int64), res.xyrs[start : start + take]))
                held += take
                start += take
                if start == n:
                    records.append(res.record)
                if held == self.batch_size:
                    yield self._batch(crops, meta, records)
                    crops, meta, records, held, yielded = [], [], [], 0, yielded + 1
            if n == 0:
                records.append(res.record)
            if held and yielded < EARLY_BATCHES:  # the consumer starts after one frame, not a full batch
                yield self._batch(crops, meta, records)
                crops, meta, records, held, yielded = [], [], [], 0, yielded + 1
        if held or records:
            yield self._batch(crops, meta, records)

    def _batch(self, crops, meta, records) -> dict:
        s = self.crop_size
        batch = {
            "frame": np.concatenate([m[0] for m in meta]) if meta else np.zeros(0, np.int64),
            "xyrs": np.concatenate([m[1] for m in meta]) if meta else np.zeros((0, 4), np.float32),
            "records": list(records),
        }
        slot = self.slots.acquire() if crops and self.slots is not None and get_worker_info() is not None else None
        if slot is None:
            return {"crops": np.concatenate(crops) if crops else np.zeros((0, s, s), np.float32)} | batch
        return {"slot": slot, "n": self.slots.fill(slot, crops)} | batch


def as_is(batch):
    """DataLoader ``collate_fn`` that leaves a :class:`FrameCropStream` batch as numpy (converted by the consumer)."""
    return batch


def batch_tensors(batch: dict, slots: BatchSlots | None = None) -> dict:
    """A :class:`FrameCropStream` batch with ``crops``, ``frame`` and ``xyrs`` as CPU tensors.

    A batch in a slot of ``slots`` gets its crops as a view of the slot and a
    ``release`` callable that gives the slot back: call it once the crops
    are no longer read (the predictions are resolved).
    """
    out = {k: v for k, v in batch.items() if k not in ("slot", "n")}
    if "slot" in batch:
        out["crops"] = torch.from_numpy(slots.view(batch["slot"], batch["n"]))
        out["release"] = partial(slots.release, batch["slot"])
    for key in ("crops", "frame", "xyrs"):
        if isinstance(out[key], np.ndarray):
            out[key] = torch.from_numpy(out[key])
    return out


def worker_init(_: int) -> None:
    """DataLoader worker setup: one thread each for OpenCV and torch (the workers are the parallelism).

    OpenCV is left alone when it already runs one thread: in a child forked
    from a process whose OpenCV thread pool was running, ``cv2.setNumThreads``
    waits forever for the pool's threads, which the child does not have. The
    scoring process therefore sets OpenCV to one thread before its workers
    fork (:meth:`~ferroscreen.score.module.ScoringDataModule.predict_dataloader`).
    """
    import cv2

    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)
    torch.set_num_threads(1)
