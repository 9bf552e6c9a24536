"""Lightning wrappers for scoring: the prediction module and the data module."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from ferroscreen.crops import DetectorConfig
from ferroscreen.models.death_mode_net import DeathModeNet
from ferroscreen.models.int8 import softmax, usable_cores
from ferroscreen.models.tta import tta_proba
from ferroscreen.score.dataset import FrameCropStream, as_is, batch_tensors, worker_init
from ferroscreen.score.slots import BatchSlots, slot_count


class PendingProbs:
    """Calibrated probabilities of a batch still running on the int8 session threads."""

    def __init__(self, pending, temperature: float) -> None:
        self.pending = pending
        self.temperature = temperature

    def result(self) -> torch.Tensor:
        """Wait for the batch: probabilities (n, n_classes), float32 on the CPU."""
        return torch.from_numpy(softmax(self.pending.result(), self.temperature))


class ScoringModule(pl.LightningModule):
    """Calibrated class probabilities of a batch of crops (``predict_step`` only).

    Args:
        net: The bundle's network (temperature set); scored through its
            batch-norm-folded copy (:meth:`DeathModeNet.for_inference`).
        int8: The bundle's :class:`ferroscreen.models.int8.Int8Forward`; when
            given it scores instead of ``net`` (``net`` is kept as it is, unfolded:
            DDP wraps a module with parameters).
        defer: With ``int8``, ``predict_step`` only starts the batch on the
            session threads and returns :class:`PendingProbs`, so that the
            main thread writes the previous batch and fetches the next one
            while this one runs (:class:`~ferroscreen.score.writer.JournalWriter`
            resolves it one batch later). Not with ``tta``.
        tta: Average the probabilities of the 8 dihedral views of each crop
            (:mod:`ferroscreen.models.tta`; 8 forward passes per batch).
    """

    def __init__(self, net: DeathModeNet, int8=None, defer: bool = False, tta: bool = False) -> None:
        super().__init__()
        self.net = net if int8 is not None else net.for_inference()  # folding costs ~0.1 s
        self.int8 = int8
        self.defer = defer and not tta
        self.tta = tta

    def on_predict_start(self) -> None:
        """A rank of a multi-process CPU run takes its share of the cores for its forward pass.

        Each of ``N`` ranks would otherwise run as many torch (and int8 session) threads as the
        machine has cores: ``N`` times oversubscribed.
        """
        world = self.trainer.world_size
        if world > 1 and self.device.type == "cpu":
            torch.set_num_threads(max(1, usable_cores() // world))

    def predict_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor | PendingProbs:
        """Probabilities (n, n_classes) as float32 on the CPU (:class:`PendingProbs` when deferred)."""
        crops = batch["crops"]
        if len(crops) == 0:
            return torch.zeros((0, self.net.head[-1].out_features))
        if self.int8 is not None and self.defer:
            return PendingProbs(self.int8.submit(crops.numpy()), self.int8.temperature)
        predict = self.int8.predict_proba if self.int8 is not None else self.net.predict_proba
        probs = tta_proba(predict, crops) if self.tta else predict(crops)
        return probs.float().cpu()


class ScoringDataModule(pl.LightningDataModule):
    """Feeds :class:`FrameCropStream` to ``Trainer.predict``, sharded by the trainer's rank.

    With DataLoader workers the crops come through :class:`~ferroscreen.score.slots.BatchSlots`
    (made per rank, before its workers fork); a batch's ``release`` gives its
    slot back (the prediction writer calls it once the batch is written).

    Args:
        jobs: ``(frame_id, path)`` pairs to score.
        detector: Detector settings.
        crop_size: Crop side (px).
        batch_size: Crops per batch.
        num_workers: DataLoader workers doing decode + detection + cropping.
        expected_shape: Frame (height, width) or ``None``.
        normalization: Crop normalisation (the bundle's).
    """

    def __init__(
        self,
        jobs: list[tuple[int, str]],
        detector: DetectorConfig,
        crop_size: int,
        batch_size: int,
        num_workers: int,
        expected_shape: tuple[int, int] | None,
        normalization=None,
    ) -> None:
        super().__init__()
        self.jobs = jobs
        self.normalization = normalization
        self.detector = detector
        self.crop_size = crop_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.expected_shape = expected_shape
        self.slots: BatchSlots | None = None

    def predict_dataloader(self) -> DataLoader:  # noqa: D102
        import cv2

        cv2.setNumThreads(1)  # before the workers fork: a running OpenCV thread pool hangs them (see worker_init)
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        prefetch = 2
        later = self.jobs[0][2] if self.jobs and len(self.jobs[0]) > 2 else False
        channels = () if later is False else (1 + (len(later) if isinstance(later, tuple) else 1),)
        shape = (self.batch_size, *channels, self.crop_size, self.crop_size)
        n_slots = slot_count(self.num_workers, prefetch)
        self.slots = BatchSlots(n_slots, shape) if self.num_workers > 0 and BatchSlots.usable(n_slots, shape) else None
        stream = FrameCropStream(
            self.jobs, self.detector, self.crop_size, self.batch_size, self.expected_shape, rank, world,
            self.normalization, self.slots,
        )
        kw = {"prefetch_factor": prefetch, "persistent_workers": False} if self.num_workers > 0 else {}
        if self.slots is not None:
            kw["multiprocessing_context"] = "fork"
        return DataLoader(
            stream, batch_size=None, num_workers=self.num_workers, worker_init_fn=worker_init, collate_fn=as_is, **kw
        )

    def on_before_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:  # noqa: D102
        return batch_tensors(batch, self.slots)
