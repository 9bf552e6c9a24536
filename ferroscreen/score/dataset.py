"""The scoring input stream: frames decoded, cells detected and cropped in DataLoader workers.

:class:`FrameCropStream` is an :class:`~torch.utils.data.IterableDataset`
that yields ready-made batches (use it with ``batch_size=None``). Each batch
holds up to ``batch_size`` crops drawn from consecutive frames of one worker,
their frame ids and positions, and the *records* of the frames whose last
crop is in that batch (or that produced no crop), so the consumer knows when a
frame is complete. Memory is bounded by one frame plus one batch per worker.

Work is split deterministically: rank ``r`` of ``w`` processes takes frames
``jobs[r::w]``, and DataLoader worker ``i`` of ``n`` takes every ``n``-th of those.
Jobs with a next scan are split by *site* instead (the chains of frames each
followed by the next), and a worker scores a site's frames in time order, so
the next scan it decodes for one frame is the next frame it scores and every
scan is decoded once. The store does not depend on the split (cells are laid
out by frame id when the journals are merged).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ferroscreen.crops import CropNormalization, DetectorConfig, normalize_frame
from ferroscreen.datamodules.reference_plate import frame_crops, read_next_scan
from ferroscreen.errors import FerroscreenError
from ferroscreen.io.frames import load_image
from ferroscreen.score.qc import focus_score, is_flat
from ferroscreen.score.store import DONE, FAILED


@dataclass
class FrameResult:
    """One processed frame: its record and its crops/detections (empty when failed)."""

    record: dict
    crops: np.ndarray
    xyrs: np.ndarray  # (n, 4) float32: x, y, radius, detection score


def _record(frame: int, status: int, reason: str = "", **kw) -> dict:
    rec = {"frame": frame, "status": status, "reason": reason, "n_cells": 0, "height": 0, "width": 0,
           "focus": np.nan, "empty": 0, "file_size": -1, "file_mtime": np.nan, "next_scan": -1}
    rec.update(kw)
    return rec


def process_frame(
    frame: int, path: str, config: DetectorConfig, crop_size: int, expected_shape: tuple[int, int] | None,
    normalization: CropNormalization | None = None, next_scan: str | None | bool = False,
    decoded: dict | None = None,
) -> FrameResult:
    """Decode, check, normalise, detect and crop one frame (training's call order).

    Detection and the focus score use :func:`normalize_frame`; crops use
    ``normalization`` (the bundle's; default: the same percentile scaling).
    ``next_scan`` as in :func:`ferroscreen.datamodules.reference_plate.crops_from_frame`:
    ``False`` for single-scan bundles, else the site's next scan (``None``:
    none yet), whose crops become the second channel; the record's
    ``next_scan`` says whether one was used (-1: not asked for).
    Failures (missing, unreadable or wrong-sized file, detector or
    normalisation error) give a ``failed`` record with a one-line reason
    instead of raising. ``decoded``: a one-entry ``{path: image}`` cache
    shared by consecutive calls: a frame found there is not read again, and
    the next scan read for this frame is left there for the site's next frame.
    """
    none = np.zeros((0, crop_size, crop_size), np.float32), np.zeros((0, 4), np.float32)
    try:
        st = os.stat(path)
    except OSError:
        return FrameResult(_record(frame, FAILED, f"image file not found: {path}"), *none)
    sig = {"file_size": int(st.st_size), "file_mtime": float(st.st_mtime)}
    raw = decoded.pop(path, None) if decoded is not None else None
    if decoded is not None:
        decoded.clear()
    try:
        raw = load_image(path) if raw is None else raw
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
        next_raw = None if next_scan is False else read_next_scan(next_scan)
        if decoded is not None and next_raw is not None:
            decoded[next_scan] = next_raw
        det, crops, used = frame_crops(raw, img, config, crop_size, normalization, next_scan, next_raw)
    except Exception as exc:  # noqa: BLE001 - one bad frame must not stop a plate
        msg = str(exc).splitlines()[0][:150] if str(exc) else ""
        reason = f"{path}: detection failed ({type(exc).__name__}: {msg})"
        return FrameResult(_record(frame, FAILED, reason, **sig), *none)
    xyrs = np.stack([det[c].to_numpy(np.float32) for c in ("x", "y", "radius", "score")], axis=1)
    rec = _record(frame, DONE, n_cells=len(crops), focus=focus, empty=int(len(crops) == 0), next_scan=used, **sig)
    return FrameResult(rec, crops, xyrs.reshape(-1, 4))


class FrameCropStream(IterableDataset):
    """Batches of crops across frames, with frame-completion records (see the module docstring).

    Args:
        jobs: ``(frame_id, path)`` pairs, in frame-id order, or ``(frame_id,
            path, next_path)`` for a next-scan bundle (``next_path`` ``None``
            when the site has no later scan yet).
        detector: Detector settings (as in the bundle).
        crop_size: Crop side (px), as trained.
        batch_size: Crops per batch (the last batch of a worker may be smaller).
        expected_shape: Frame (height, width); other sizes fail. ``None``: any.
        rank, world_size: This process's share of ``jobs`` (set by the data module).
        normalization: Crop normalisation (as in the bundle; ``None``: percentile).
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
    ) -> None:
        super().__init__()
        self.jobs = list(jobs)
        self.normalization = normalization
        self.detector = detector
        self.crop_size = int(crop_size)
        self.batch_size = max(1, int(batch_size))
        self.expected_shape = tuple(expected_shape) if expected_shape else None
        self.rank = rank
        self.world_size = world_size

    def my_jobs(self) -> list[tuple]:
        """The jobs of this rank and DataLoader worker (next-scan jobs: whole sites, in time order)."""
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        if not self.jobs or len(self.jobs[0]) < 3:
            return self.jobs[self.rank :: self.world_size][wid::nw]
        sites = site_chains(self.jobs)[self.rank :: self.world_size][wid::nw]
        return [job for site in sites for job in site]

    def __iter__(self):
        """Yield batch dicts: crops, frame, xyrs, and the ``records`` of frames completed in the batch."""
        crops: list[np.ndarray] = []
        meta: list[tuple[np.ndarray, np.ndarray]] = []
        held = 0
        records: list[dict] = []  # completed frames whose crops are all in the buffer
        decoded: dict = {}
        for frame, path, *following in self.my_jobs():
            res = process_frame(frame, path, self.detector, self.crop_size, self.expected_shape, self.normalization,
                                following[0] if following else False, decoded)
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
                    crops, meta, records, held = [], [], [], 0
            if n == 0:
                records.append(res.record)
        if held or records:
            yield self._batch(crops, meta, records)

    def _batch(self, crops, meta, records) -> dict:
        s = self.crop_size
        return {
            "crops": torch.from_numpy(np.concatenate(crops) if crops else np.zeros((0, s, s), np.float32)),
            "frame": torch.from_numpy(np.concatenate([m[0] for m in meta]) if meta else np.zeros(0, np.int64)),
            "xyrs": torch.from_numpy(np.concatenate([m[1] for m in meta]) if meta else np.zeros((0, 4), np.float32)),
            "records": list(records),
        }


def site_chains(jobs: list[tuple]) -> list[list[tuple]]:
    """``(frame, path, next_path)`` jobs grouped into chains of a frame followed by its next scan's frame.

    Chains start at jobs that no other job names as its next scan and are
    listed in the order of their first job; every job is in exactly one chain.
    """
    by_path = {job[1]: i for i, job in enumerate(jobs)}
    successor = {i: by_path.get(job[2]) for i, job in enumerate(jobs) if job[2]}
    has_predecessor = {j for j in successor.values() if j is not None}
    chains, seen = [], set()
    for i in range(len(jobs)):
        if i in has_predecessor or i in seen:
            continue
        chain = []
        while i is not None and i not in seen:
            seen.add(i)
            chain.append(jobs[i])
            i = successor.get(i)
        chains.append(chain)
    chains.extend([jobs[i]] for i in range(len(jobs)) if i not in seen)  # cycles cannot occur; kept total anyway
    return chains


def worker_init(_: int) -> None:
    """DataLoader worker setup: one thread each for OpenCV and torch (the workers are the parallelism)."""
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
