"""The LightningCLI entry that trains the death-mode classifier and writes a bundle.

``training/train.py`` and ``ferroscreen train`` both call :func:`cli_main`.
The model is :class:`DeathModeClassifier`; the datamodule is chosen by class
path in the YAML (``ReferencePlateDataModule``, ``CropFolderDataModule``,
``PointAnnotationDataModule``). ``model.classes`` is linked to the data's
``classes`` (data classes given that differ are refused: the classes are given as
``--model.classes``). ``--out PATH`` names the bundle written after ``fit``. The
logger's ``save_dir`` follows ``trainer.default_root_dir``, so
``--trainer.default_root_dir DIR`` moves the logs and checkpoints. Without a
terminal, one plain line per epoch (:mod:`ferroscreen.tasks.epoch_lines`)
replaces Lightning's progress bar. When every configured ``ModelCheckpoint`` keeps
the best epochs by a metric (the recipes'), the run also keeps its latest epoch
(``checkpoints/last-epoch=N.ckpt``, saved at the end of every training epoch): the
checkpoint a stopped run resumes from.

A run that ends without finishing (an error, a bad setting found once the
trainer exists, Ctrl+C) removes the folders it created for its logs
(``runs/<name>/lightning_logs/version_N/`` with its ``config.yaml``,
``hparams.yaml``, ``metrics.csv``, and any parents it created), unless they
hold a checkpoint; folders that existed before it are never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import unicodedata
from pathlib import Path

from pytorch_lightning.cli import LightningCLI

from ferroscreen.errors import FerroscreenError
from ferroscreen.tasks.bundle_export import finalize_and_export
from ferroscreen.tasks.death_mode import DeathModeClassifier
from ferroscreen.tasks.epoch_lines import EpochLines, plain_progress_wanted
from ferroscreen.tasks.lightning_notices import quiet_lightning_notices
from ferroscreen.tasks.training_run import check_bundle_out


class DeathModeCLI(LightningCLI):
    """LightningCLI with a ``--out`` bundle path and a bundle export after ``fit``.

    ``keep_existing_out``: an existing ``--out`` bundle is refused before ``fit`` (the command line's,
    ``training/train.py``); without it one is replaced (the demo's own; ``ferroscreen train`` refuses it itself).
    """

    def __init__(self, *args, keep_existing_out: bool = False, **kwargs) -> None:
        self.keep_existing_out = keep_existing_out
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser) -> None:
        """``--out``; ``model.classes`` feeds the data's; a logger's ``save_dir`` follows ``trainer.default_root_dir``.

        So ``--trainer.default_root_dir DIR`` moves the logs and checkpoints (``DIR/lightning_logs/version_N``)
        and a config need not name the folder twice (a ``save_dir`` given is replaced).
        """
        parser.add_argument("--out", default=None, help="Write the model bundle here after fit.")
        self._data_classes_given: tuple[list, list] | None = None

        def model_classes(classes: list, data) -> list:
            """The data's classes: the model's (data classes given that differ are noted, refused when built).

            Applied again on a parsed subcommand, it then sees the data's classes linked already: a note stays.
            """
            given = _given_data_classes(data)
            if given is not None and given != _nfc(classes):
                self._data_classes_given = (given, classes)
            return classes

        # the data namespace as given too: the link alone would silently override data classes given
        parser.link_arguments(("model.classes", "data"), "data.init_args.classes", compute_fn=model_classes)
        parser.link_arguments("trainer.default_root_dir", "trainer.logger.init_args.save_dir", compute_fn=_root_dir)

    def instantiate_classes(self) -> None:
        """Build model, data and trainer; a bad setting is a one-line :class:`FerroscreenError`.

        Also notes the folders the run's logs will create (:attr:`new_folders`), before any exists.

        Raises:
            FerroscreenError: Data classes given that differ from ``model.classes``, or a setting the classes reject.
        """
        if getattr(self, "_data_classes_given", None):
            given, classes = self._data_classes_given
            raise FerroscreenError(
                f"invalid training configuration: data.init_args.classes [{', '.join(given)}] differ from "
                f"model.classes [{', '.join(map(str, classes))}]; the data's classes are the model's: give them as "
                f"--model.classes '[{', '.join(given)}]'")
        try:
            super().instantiate_classes()
        except (ValueError, TypeError) as exc:
            raise FerroscreenError(f"invalid training configuration: {_reason(exc)}") from None
        self.new_folders = folders_to_create(self.trainer)

    def _instantiate_trainer(self, config: dict, callbacks: list):
        """The Trainer; without a terminal, :class:`EpochLines` in place of Lightning's progress bar.

        See :func:`ferroscreen.tasks.epoch_lines.plain_progress_wanted`; the model summary is then Lightning's
        plain one (on stderr), not its Rich table. A checkpoint of the latest epoch is added when the configured
        ones keep only the best epochs (:func:`latest_checkpoint_callback`).
        """
        latest = latest_checkpoint_callback([*(config.get("callbacks") or []), *callbacks])
        if latest is not None:
            callbacks = [*callbacks, latest]
        if plain_progress_wanted(config):
            from pytorch_lightning.callbacks import ModelSummary

            callbacks = [*callbacks, EpochLines()]
            if config.get("enable_model_summary") is not False and not any(
                    isinstance(cb, ModelSummary) for cb in [*(config.get("callbacks") or []), *callbacks]):
                callbacks.append(ModelSummary())  # given, so Lightning adds no Rich one
                config = {**config, "enable_model_summary": False}
            config = {**config, "enable_progress_bar": False}
        return super()._instantiate_trainer(config, callbacks)

    def before_fit(self) -> None:
        """Refuse a configuration without data (Lightning would fail deep inside ``fit`` with a traceback)."""
        if self.datamodule is None:
            raise FerroscreenError(
                "invalid training configuration: no data section (data: class_path: "
                "ferroscreen.datamodules.ReferencePlateDataModule, CropFolderDataModule or PointAnnotationDataModule, "
                "with its init_args; see configs/train/*.yaml)")
        cfg = self.config[self.subcommand] if self.subcommand else self.config
        if cfg.get("out"):  # training/train.py too: a bad --out fails now, not after training
            out = Path(cfg["out"])
            check_bundle_out(out)
            if self.keep_existing_out and (out.is_symlink() or out.exists()):
                raise FerroscreenError(f"{out}: already exists; a bundle is not overwritten: remove it or choose "
                                       f"another --out")

    def _run_subcommand(self, subcommand: str) -> None:
        """Run ``fit``; Ctrl+C (Lightning shuts down and exits with status 1) is an interruption, not a bad option.

        A run that raises (Ctrl+C included) removes the log folders it created
        (:func:`remove_unfinished_run`) before the error goes on.
        """
        try:
            try:
                super()._run_subcommand(subcommand)
            except SystemExit:
                if getattr(self, "trainer", None) is not None and self.trainer.interrupted:
                    raise KeyboardInterrupt from None
                raise
        except BaseException as exc:
            if isinstance(exc, SystemExit) and exc.code in (0, None):
                raise
            trainer = getattr(self, "trainer", None)
            if trainer is None or trainer.is_global_zero:
                remove_unfinished_run(getattr(self, "new_folders", []))
            raise

    def after_fit(self) -> None:
        """Export the bundle (rank 0 only); refuse to write one of a network that never trained."""
        if not self.trainer.is_global_zero:
            return
        if self.trainer.global_step == 0:
            raise FerroscreenError(
                f"no training step ran (trainer.max_epochs {self.trainer.max_epochs}, "
                f"limit_train_batches {self.trainer.limit_train_batches}): the network is untrained, so no "
                "bundle was written")
        cfg = self.config[self.subcommand] if self.subcommand else self.config
        out = cfg.get("out")
        try:
            text = self.parser.dump(self.config, skip_none=False)
        except Exception:  # the config text is informative only
            text = str(cfg)
        self.meta = finalize_and_export(self.model, self.datamodule, out, text)


def latest_checkpoint_callback(callbacks: list):
    """A ``ModelCheckpoint`` keeping the latest epoch (``last-epoch=N.ckpt``), or None when one is kept already.

    Added when ``callbacks`` hold ``ModelCheckpoint`` s and each keeps the best epochs by a ``monitor``:
    Lightning's ``save_last`` then copies the newest *best* checkpoint, not the latest epoch, and a run
    resumed from it would train the epochs after it again. With no ``ModelCheckpoint`` at all Lightning's
    default one keeps the latest epoch. It saves at the end of every training epoch, in the folder of the
    first one.
    """
    from pytorch_lightning.callbacks import ModelCheckpoint

    given = [cb for cb in callbacks if isinstance(cb, ModelCheckpoint)]
    if not given or any(cb.monitor is None for cb in given):
        return None
    return ModelCheckpoint(dirpath=given[0].dirpath, filename="last-{epoch}", save_top_k=1,
                           save_on_train_epoch_end=True)


def _nfc(names) -> list[str]:
    return [unicodedata.normalize("NFC", str(n)) for n in names]


def _given_data_classes(data) -> list[str] | None:
    """The classes given to the data (``data.init_args.classes``, NFC), or None where none were or the default was.

    ``data`` is the parsed ``data`` section (``class_path`` + ``init_args``); the datamodule's own default
    (its signature's) counts as not given.
    """
    import importlib
    import inspect

    init = getattr(data, "init_args", None)
    given = getattr(init, "classes", None) if init is not None else None
    if given is None:
        return None
    default = None
    try:
        module, name = str(data.class_path).rsplit(".", 1)
        param = inspect.signature(getattr(importlib.import_module(module), name)).parameters.get("classes")
        default = None if param is None or param.default is inspect.Parameter.empty else param.default
    except (AttributeError, ImportError, ValueError, TypeError):
        pass
    if default is not None and _nfc(default) == _nfc(given):
        return None
    return _nfc(given)


def folders_to_create(trainer) -> list[tuple[Path, Path]]:
    """The folders the run's logs will create: ``(folder, top)`` for each that does not exist yet.

    The folders are the trainer's ``log_dir`` (where ``config.yaml`` goes), each file logger's
    ``log_dir`` (``save_dir/name/version_N``), explicit checkpoint folders (``dirpath``) and
    ``default_root_dir``; ``top`` is the topmost folder on the way to it that does not exist yet
    (``runs`` when there is no ``runs/`` at all). Paths that cannot be read are left out.
    """
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    paths = []
    for get in ([lambda: trainer.log_dir, lambda: trainer.default_root_dir]
                + [lambda lg=lg: lg.log_dir for lg in trainer.loggers if isinstance(lg, (CSVLogger, TensorBoardLogger))]
                + [lambda cb=cb: cb.dirpath for cb in trainer.callbacks if isinstance(cb, ModelCheckpoint)]):
        try:
            path = get()
        except Exception:  # noqa: BLE001 - a logger that cannot say where it writes is left alone
            continue
        if path and "://" not in str(path):
            paths.append(Path(path).absolute())
    made: list[tuple[Path, Path]] = []
    for path in paths:
        if path.exists():
            continue
        top = path
        while not top.parent.exists() and top.parent != top:
            top = top.parent
        if (path, top) not in made:
            made.append((path, top))
    return made


def remove_unfinished_run(folders: list[tuple[Path, Path]]) -> list[Path]:
    """Remove the run's folders (from :func:`folders_to_create`) unless they hold a checkpoint.

    Each folder goes with what it holds; the folders above it up to its ``top`` go only when
    that leaves them empty (another run started at the same moment may write beside it). A
    folder holding a ``.ckpt`` file is kept (trained weights to resume from) and its checkpoints are said
    on stderr, each once (a logger's ``version_N`` and its ``checkpoints`` folder hold the same ones): one
    line naming the newest, with how many more the folder holds.

    Returns:
        The folders removed.
    """
    removed: list[Path] = []
    named: set[Path] = set()
    for folder, top in folders:
        if not folder.is_dir():
            continue
        kept = sorted(folder.rglob("*.ckpt"))
        if kept:
            new = [c for c in kept if c not in named]
            if new:
                newest = max(new, key=lambda c: (c.stat().st_mtime_ns, str(c)))
                more = f" (and {len(new) - 1} more in {folder})" if len(new) > 1 else ""
                print(f"note: training ended without a bundle; its checkpoint is kept: {newest}{more}",
                      file=sys.stderr)
            named.update(kept)
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
        above = folder
        while above != top and top in above.parents:
            above = above.parent
            try:
                above.rmdir()  # only when empty
            except OSError:
                break
            removed.append(above)
    return removed


def _root_dir(default_root_dir: str | None) -> str:
    """The logs' folder for ``trainer.default_root_dir`` (none: the working folder, as Lightning's default)."""
    return str(default_root_dir) if default_root_dir is not None else os.getcwd()


def _reason(exc: Exception) -> str:
    """The most specific line of a (jsonargparse) error: the first listed cause, else the first line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    causes = [ln.lstrip("- ").strip() for ln in lines if ln.startswith("- ") and not ln.startswith("- Expected a")]
    return (causes or lines or [type(exc).__name__])[0]


def argument_reason(exc: Exception) -> str:
    """One line of a jsonargparse argument error: the (nested) key and its most specific cause.

    ``Parser key "data": ... Problem with given class_path ...: Option 'onset_hh' is not accepted``
    becomes ``data: Option 'onset_hh' is not accepted``; a value of the wrong type under
    ``data`` > ``onset_h`` becomes ``data.onset_h: 'x' is not a float or dict``.
    """
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    keys = [ln.split('"')[1] for ln in lines if ln.startswith('Parser key "') and ln.count('"') >= 2]
    key = ".".join(keys)
    noise = ("Parser key ", "Does not validate", "- Problem with", "- Expected a", "Given value", "Subtypes",
             "Errors:")
    causes = [ln.lstrip("- ") for ln in lines if not ln.startswith(noise)]
    if causes:
        cause = causes[0]
    else:
        expected = [re.sub(r"<class '([\w.]+)'>", r"\1", ln.split("Expected a", 1)[1]).strip(" .")
                    for ln in lines if ln.startswith("- Expected a") and "NoneType" not in ln]
        given = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("Given value:")), None)
        cause = (f"'{given}' is not a {' or '.join(dict.fromkeys(expected))}" if given and expected
                 else (lines or [type(exc).__name__])[0])
    cause = re.sub(r"<class '([\w.]+)'>", r"\1", cause)
    return f"{key}: {cause}" if key else cause


def cli_main(args: list[str] | None = None, run: bool = True) -> DeathModeCLI:
    """Run the training CLI (``args`` as on the command line, e.g. ``["fit", "--config", f]``).

    Lightning's notices about itself (:mod:`~ferroscreen.tasks.lightning_notices`) and the one on
    modules in eval mode are filtered while it runs, and only then: with ``run=False`` the
    ``fit`` the caller starts afterwards shows them. Arguments from the command line (``args`` None:
    ``training/train.py``) refuse an existing ``--out`` bundle; given ones
    (:func:`~ferroscreen.tasks.training_run.run_training`) replace it.
    """
    # frozen layers keep their batch norms in eval mode on purpose (DeathModeNet.set_frozen)
    with quiet_lightning_notices(r"Found \d+ module\(s\) in eval mode"):
        return DeathModeCLI(
            DeathModeClassifier,
            subclass_mode_data=True,
            args=args,
            run=run,
            keep_existing_out=args is None,
            save_config_kwargs={"overwrite": True},
            seed_everything_default=0,
            # a bad option raises (one line from run_training) instead of printing the whole usage; an option
            # is given whole (argparse would read --trainer.max_epoch as --trainer.max_epochs)
            parser_kwargs={"exit_on_error": False, "allow_abbrev": False,
                           "fit": {"exit_on_error": False, "allow_abbrev": False}},
        )
