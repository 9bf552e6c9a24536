"""Running the training CLI from ``ferroscreen train`` with clear errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ferroscreen.errors import FerroscreenError, missing_file


def run_training(config: Path, out: Path, overrides: list[str]) -> dict:
    """Train with ``config`` (+ LightningCLI ``overrides``) and write the bundle to ``out``.

    Returns the bundle metadata.

    Raises:
        FerroscreenError: Missing config, or LightningCLI rejecting the arguments.
    """
    config = Path(config)
    if not config.is_file():
        raise FerroscreenError(missing_file(config, "training config"))
    check_bundle_out(Path(out))
    from ferroscreen.tasks.lightning_cli import argument_reason, cli_main

    args = ["fit", "--config", str(config), *overrides, "--out", str(out)]
    argv, sys.argv = sys.argv, sys.argv[:1]  # the arguments come from ``args`` only (no LightningCLI warning)
    try:
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
