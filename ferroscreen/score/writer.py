"""The prediction writer: streams each rank's finished frames into its journal."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from pytorch_lightning.callbacks import BasePredictionWriter

from ferroscreen.score.orphans import end_with_parent
from ferroscreen.score.shard import ShardWriter
from ferroscreen.score.store import CELL_SCHEMA, concat_cells
from ferroscreen.score.terminate import uninterrupted


def shard_path(parts_dir: str | Path, rank: int) -> Path:
    """Journal file of a global rank."""
    return Path(parts_dir) / f"rank-{rank:05d}.h5"


class JournalWriter(BasePredictionWriter):
    """Writes predictions per batch into ``parts_dir/rank-<r>.h5`` (:class:`ShardWriter`).

    Cells of a frame are held until the batch carrying the frame's record
    arrives (crops of one frame may span batches), then the frame's cells and
    record are committed together; a frame is never half-written. Finished
    frames are committed in groups, at most ``commit_every_s`` apart (each
    commit costs two flushes), and all at the end: a killed run loses at most
    that much work. A deferred prediction (anything with ``result()``, e.g.
    :class:`~ferroscreen.score.module.PendingProbs`) is written when the next
    batch arrives, or at the end. A batch's ``release`` (see
    :func:`~ferroscreen.score.dataset.batch_tensors`) is called once its
    prediction is resolved.

    Args:
        parts_dir: Folder of the per-rank journals.
        n_classes: Number of classes.
        progress: Called with the number of frames committed after each commit (rank 0 only).
        commit_every_s: Seconds between commits (0: after every batch with a finished frame).
    """

    def __init__(self, parts_dir: str | Path, n_classes: int, progress=None, commit_every_s: float = 1.0) -> None:
        super().__init__(write_interval="batch")
        self.parts_dir = Path(parts_dir)
        self.n_classes = n_classes
        self.progress = progress
        self.commit_every_s = float(commit_every_s)
        self.journal: ShardWriter | None = None
        self.pending: dict[int, list[dict]] = {}
        self.finished: list[tuple[dict, dict]] = []  # (record, cells) of frames not yet committed
        self.last_commit = time.monotonic()
        self.frames_committed = 0
        self.cells_committed = 0
        self.deferred: tuple | None = None  # (prediction, frame, xyrs, records, release) not yet written

    def on_predict_start(self, trainer, pl_module) -> None:  # noqa: D102
        if trainer.world_size > 1:  # a spawned rank: it must not outlive the run (kill -9 of the main process)
            end_with_parent()
        self.journal = ShardWriter(shard_path(self.parts_dir, trainer.global_rank), self.n_classes)
        self.pending = {}
        self.finished = []
        self.deferred = None
        self.last_commit = time.monotonic()

    def write_on_batch_end(  # noqa: D102
        self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx=0
    ) -> None:
        current = (prediction, batch["frame"], batch["xyrs"], batch["records"], batch.get("release"))
        if hasattr(prediction, "result"):
            current, self.deferred = self.deferred, current
        elif self.deferred is not None:  # an immediate batch (e.g. one without crops) after a deferred one
            earlier, self.deferred = self.deferred, None
            self._write(trainer, *earlier)
        if current is not None:
            self._write(trainer, *current)

    def _write(self, trainer, prediction, frame, xyrs, records, release=None) -> None:
        """Hold a batch's cells by frame; move frames whose record arrived to ``finished``; commit when due."""
        if hasattr(prediction, "result"):
            prediction = prediction.result()
        if release is not None:
            release()
        probs = prediction.detach().cpu().numpy().astype(np.float32) if isinstance(prediction, torch.Tensor) else \
            np.asarray(prediction, np.float32)
        frame = frame.cpu().numpy()
        xyrs = xyrs.cpu().numpy()
        if len(frame):
            # frames are contiguous within a batch; split at changes
            cuts = np.flatnonzero(np.diff(frame)) + 1
            for sl in np.split(np.arange(len(frame)), cuts):
                fid = int(frame[sl[0]])
                self.pending.setdefault(fid, []).append({
                    "frame": frame[sl], "x": xyrs[sl, 0], "y": xyrs[sl, 1], "radius": xyrs[sl, 2],
                    "score": xyrs[sl, 3], "prob": probs[sl],
                })
        for rec in records:
            rec = {k: (v.item() if isinstance(v, torch.Tensor) else v) for k, v in rec.items()}
            cells = concat_cells(self.pending.pop(int(rec["frame"]), []), self.n_classes)
            if len(cells["frame"]) != rec["n_cells"]:
                raise RuntimeError(f"frame {rec['frame']}: {len(cells['frame'])} crops scored for "
                                   f"{rec['n_cells']} detections")
            self.finished.append((rec, cells))
        if self.finished and time.monotonic() - self.last_commit >= self.commit_every_s:
            self._commit(trainer)

    def _commit(self, trainer) -> None:
        """Write every finished frame to the journal (cells, then records)."""
        parts, results, offset = [], [], 0
        for rec, cells in self.finished:
            n = len(cells["frame"])
            parts.append(cells)
            results.append({**rec, "cell_start": offset, "cell_stop": offset + n})
            offset += n
        cells = concat_cells(parts, self.n_classes)
        cells = {k: cells[k].astype(dt) for k, dt in CELL_SCHEMA.items()} | {"prob": cells["prob"]}
        with uninterrupted():  # a SIGTERM lets the commit finish, then ends the run
            self.journal.commit(results, cells)
        self.finished = []
        self.last_commit = time.monotonic()
        self.frames_committed += len(results)
        self.cells_committed += offset
        if self.progress is not None and trainer.global_rank == 0:
            self.progress(len(results))

    def on_exception(self, trainer, pl_module, exception) -> None:
        """Close the journal when the run fails or is interrupted (a failed write lets go of it safely)."""
        journal, self.journal = self.journal, None
        if journal is not None:
            try:
                journal.close()
            except Exception:  # noqa: BLE001 - the run's own error is the one to report
                pass

    def on_predict_end(self, trainer, pl_module) -> None:  # noqa: D102
        if self.deferred is not None:
            current, self.deferred = self.deferred, None
            self._write(trainer, *current)
        if self.pending:
            raise RuntimeError(f"frames {sorted(self.pending)[:5]} got crops but no completion record")
        if self.finished:
            self._commit(trainer)
        if self.journal is not None:
            self.journal.close()
            self.journal = None
