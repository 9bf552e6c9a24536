"""Running the training CLI from ``ferroscreen train`` with clear errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ferroscreen.errors import FerroscreenError


def run_training(config: Path, out: Path, overrides: list[str]) -> dict:
    """Train with ``config`` (+ LightningCLI ``overrides``) and write the bundle to ``out``.

    Returns the bundle metadata.

    Raises:
        FerroscreenError: Missing config, or LightningCLI rejecting the arguments.
    """
    config = Path(config)
    if not config.is_file():
        raise FerroscreenError(f"{config}: training config not found")
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
