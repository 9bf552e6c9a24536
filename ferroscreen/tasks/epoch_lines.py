"""Training progress for a log file: one plain line per epoch instead of Lightning's progress bar.

Without a terminal (a SLURM job, ``nohup``, ``> train.log 2>&1``) the Rich bar cannot redraw: the
log shows only its last state once training has ended. :class:`EpochLines` prints, to stderr,

    epoch 3/30: train loss 0.4853, val macro-F1 0.5630, 0:01:42 elapsed

after each training epoch (``val macro-F1`` only for an epoch that validated); the training CLI uses
it in place of the bar when :func:`plain_progress_wanted`.
"""

from __future__ import annotations

import sys
import time

from pytorch_lightning.callbacks import Callback, ProgressBar

from ferroscreen.clock import clock

__all__ = ["EpochLines", "plain_progress_wanted"]


def plain_progress_wanted(trainer_config: dict) -> bool:
    """Whether a run with these Trainer arguments should print :class:`EpochLines` instead of a progress bar.

    When stdout (where the bar draws) or stderr is not a terminal, and the configuration leaves the
    bar to Lightning's default: ``enable_progress_bar`` not given, no progress-bar callback of its own.
    """
    if sys.stdout.isatty() and sys.stderr.isatty():
        return False
    if trainer_config.get("enable_progress_bar") is not None:
        return False
    callbacks = trainer_config.get("callbacks") or []
    callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
    return not any(isinstance(cb, ProgressBar) for cb in callbacks)


class EpochLines(Callback):
    """One line to stderr per training epoch: its number of all, mean training loss, validation macro-F1, time.

    The loss is the mean of the epoch's batch losses (batches whose step returned none left out);
    the macro-F1 is ``val_macro_f1`` as logged by the epoch's validation.
    """

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.loss_sum = 0.0
        self.batches = 0
        self.val: float | None = None

    def on_fit_start(self, trainer, pl_module) -> None:  # noqa: D102
        self.start = time.monotonic()

    def on_train_epoch_start(self, trainer, pl_module) -> None:  # noqa: D102
        self.loss_sum, self.batches, self.val = 0.0, 0, None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: D102
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is not None:
            self.loss_sum += float(loss.detach() if hasattr(loss, "detach") else loss)
            self.batches += 1

    def on_validation_end(self, trainer, pl_module) -> None:  # noqa: D102
        value = trainer.callback_metrics.get("val_macro_f1")
        if not trainer.sanity_checking and value is not None:
            self.val = float(value)

    def on_train_epoch_end(self, trainer, pl_module) -> None:  # noqa: D102
        if not trainer.is_global_zero:
            return
        print(self.line(trainer.current_epoch, trainer.max_epochs), file=sys.stderr, flush=True)

    def line(self, epoch: int, max_epochs: int | None) -> str:
        """The line of (0-based) ``epoch`` of ``max_epochs`` (none or < 1: no limit)."""
        of = f"/{max_epochs}" if max_epochs is not None and max_epochs > 0 else ""
        parts = [f"train loss {self.loss_sum / self.batches:.4f}" if self.batches else "no training batch"]
        if self.val is not None:
            parts.append(f"val macro-F1 {self.val:.4f}")
        parts.append(f"{clock(time.monotonic() - self.start)} elapsed")
        return f"epoch {epoch + 1}{of}: {', '.join(parts)}"
