"""Running the training CLI from ``ferroscreen train`` with clear errors, and ending it on SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ferroscreen.errors import FerroscreenError, missing_file
from ferroscreen.score.terminate import ending_on_sigterm, received


class TrainingInterrupted(KeyboardInterrupt):
    """Training ended by SIGTERM (``kill``, ``timeout``, SLURM) or Ctrl-C before it finished.

    Attributes:
        signal_name: ``SIGTERM`` or ``SIGINT``.
        exit_code: 143 or 130 (128 + the signal's number).
        out: The bundle path asked for (None: none was).
        written: Whether ``out`` was written by this run all the same (the signal came as it finished).
        checkpoint: The run's newest Lightning checkpoint (``--ckpt_path`` resumes from it), or None.
        latest: Whether ``checkpoint`` holds the last epoch that ended (the run had a checkpoint callback
            without a ``monitor``, saving every epoch; the newest file may then be the same epoch's best);
            else it is the best epoch's so far, and a resume trains the epochs after it again.
    """

    def __init__(self, sigterm: bool, out: Path | None, written: bool, checkpoint: Path | None,
                 latest: bool = True) -> None:
        super().__init__()
        self.signal_name = "SIGTERM" if sigterm else "SIGINT"
        self.exit_code = 128 + int(signal.SIGTERM if sigterm else signal.SIGINT)
        self.out, self.written, self.checkpoint, self.latest = out, written, checkpoint, latest

    def line(self) -> str:
        """One line for stderr: what ended the run, whether the bundle was written, where to resume from."""
        what = f"terminated ({self.signal_name})" if self.signal_name == "SIGTERM" else "interrupted"
        if self.written:
            return f"{what} after writing {self.out}"
        no_bundle = f"no bundle written to {self.out}" if self.out is not None else ""
        if self.checkpoint is None:
            return f"{what} before the first checkpoint" + (f": {no_bundle}" if no_bundle else "")
        where = ("its last checkpoint" if self.latest else
                 "the checkpoint of its best epoch so far (the epochs after it are trained again)")
        return (f"{what}: {no_bundle + '; ' if no_bundle else ''}the same command with --ckpt_path {self.checkpoint} "
                f"resumes from {where}")


class _DropSigtermNotices(logging.Filter):
    """Drops Lightning's notices of a SIGTERM: the run's own line says how it ended.

    They are "[rank: 0] Received SIGTERM: 15" and, the SIGTERM being ended as a Ctrl-C is, "Detected
    KeyboardInterrupt, attempting graceful shutdown ..." (kept after a real Ctrl-C).
    """

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102 - logging.Filter's contract
        message = str(record.getMessage())
        if message.endswith(f"Received SIGTERM: {int(signal.SIGTERM)}"):
            return False
        return not (received() and "Detected KeyboardInterrupt" in message)


def run_training(config: Path, out: Path, overrides: list[str]) -> dict:
    """Train with ``config`` (+ LightningCLI ``overrides``) and write the bundle to ``out``.

    SIGTERM ends the run as Ctrl-C does (:func:`ending_training_on_interrupt`); the bundle is written whole or
    not at all, and Lightning's checkpoints stay.

    Returns the bundle metadata.

    Raises:
        FerroscreenError: Missing config, or LightningCLI rejecting the arguments.
        TrainingInterrupted: SIGTERM or Ctrl-C ended the run (naming its last checkpoint, if any).
    """
    config = Path(config)
    if not config.is_file():
        raise FerroscreenError(missing_file(config, "training config"))
    out = Path(out)
    check_bundle_out(out)
    from ferroscreen.tasks.lightning_cli import argument_reason, cli_main

    args = ["fit", "--config", str(config), *overrides, "--out", str(out)]
    argv, sys.argv = sys.argv, sys.argv[:1]  # the arguments come from ``args`` only (no LightningCLI warning)
    try:
        with ending_training_on_interrupt(out):
            cli = cli_main(args)
    except argparse.ArgumentError as exc:
        raise FerroscreenError(f"{config}: invalid training option: {argument_reason(exc)}") from None
    except SystemExit as exc:  # jsonargparse exits on bad arguments after printing usage
        if exc.code not in (0, None):
            raise FerroscreenError(
                f"{config}: invalid training configuration or overrides (see the message above)"
            ) from None
        raise
    finally:
        sys.argv = argv
    return cli.meta


@contextmanager
def ending_training_on_interrupt(out: Path | None = None) -> Iterator[None]:
    """Within (a run of the training CLI): SIGTERM ends it as Ctrl-C does; either raises :class:`TrainingInterrupted`.

    Lightning's own SIGTERM handler would only stop the run at its next batch (and nothing before or after
    ``fit``). ``out`` is the bundle path (None: the one the CLI was given, if any).
    """
    _quiet_sigterm_notices()
    before, started_ns = (_identity(out) if out is not None else None), time.time_ns()
    with ending_on_sigterm():
        try:
            yield
        except (KeyboardInterrupt, Exception) as exc:  # after a SIGTERM, e.g. a DataLoader worker it ended
            if not (isinstance(exc, KeyboardInterrupt) or received()) or isinstance(exc, TrainingInterrupted):
                raise
            cli = _cli_of(exc)
            if out is None and cli is not None:
                given = cli.config.get(cli.subcommand) if cli.subcommand else cli.config
                out = Path(given["out"]) if given and given.get("out") else None
            after = _identity(out) if out is not None else None
            written = after is not None and after != before and after[2] >= started_ns
            trainer = getattr(cli, "trainer", None)
            checkpoint = last_checkpoint(trainer)
            latest = any(cb.monitor is None for cb in getattr(trainer, "checkpoint_callbacks", None) or [])
            raise TrainingInterrupted(received(), out, written, checkpoint, latest) from None


def last_checkpoint(trainer) -> Path | None:
    """The newest checkpoint file that ``trainer``'s checkpoint callbacks saved and that still exists (or None).

    Of files equally new, one holding the latest epoch (:func:`_latest_epoch_checkpoints`) comes first.
    """
    paths = []
    for cb in getattr(trainer, "checkpoint_callbacks", None) or []:
        paths += [cb.last_model_path, cb.best_model_path, *getattr(cb, "best_k_models", {})]
    found = {Path(p).absolute() for p in paths if p and "://" not in str(p) and os.path.isfile(p)}
    latest = _latest_epoch_checkpoints(trainer)
    return max(found, key=lambda p: (p.stat().st_mtime_ns, p in latest, str(p))) if found else None


def _latest_epoch_checkpoints(trainer) -> set[Path]:
    """The checkpoints of callbacks without a ``monitor``: each keeps the latest epochs it saved.

    (With a ``monitor``, even Lightning's ``last_model_path`` is the newest *best* checkpoint.)
    """
    return {Path(cb.best_model_path).absolute() for cb in getattr(trainer, "checkpoint_callbacks", None) or []
            if cb.monitor is None and cb.best_model_path}


def _cli_of(exc: BaseException):
    """The training CLI that ``exc`` came out of (its frames are in the traceback), or None."""
    from pytorch_lightning.cli import LightningCLI

    tb = exc.__traceback__
    while tb is not None:
        cli = tb.tb_frame.f_locals.get("self")
        if isinstance(cli, LightningCLI):
            return cli
        tb = tb.tb_next
    return None


def _identity(path: Path) -> tuple[int, int, int] | None:
    """``(inode, size, mtime_ns)`` of ``path``, None when there is none: a bundle written since differs."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _quiet_sigterm_notices() -> None:
    """Add :class:`_DropSigtermNotices` to the Lightning loggers that log them (idempotent; process-wide)."""
    for name in ("pytorch_lightning.trainer.connectors.signal_connector", "pytorch_lightning.utilities.rank_zero"):
        log = logging.getLogger(name)
        if not any(isinstance(f, _DropSigtermNotices) for f in log.filters):
            log.addFilter(_DropSigtermNotices())


def check_bundle_out(out: Path) -> None:
    """Refuse an ``--out`` the bundle cannot be written to, before hours of training rather than after.

    Raises:
        FerroscreenError: ``out`` is a folder, or a file stands where one of its folders goes, or the
            nearest existing folder cannot be written to.
    """
    import os

    if out.is_dir():
        raise FerroscreenError(f"{out}: is a folder; --out is the bundle file to write, e.g. {out / 'model.pt'}")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise FerroscreenError(f"{out}: {parent} is a file, not a folder; choose another --out")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FerroscreenError(f"{out}: no permission to write in {parent}; choose another --out")
