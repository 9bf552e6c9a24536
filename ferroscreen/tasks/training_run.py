"""Running the training CLI from ``ferroscreen train`` with clear errors."""

from __future__ import annotations

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
    from ferroscreen.tasks.lightning_cli import cli_main

    args = ["fit", "--config", str(config), *overrides, "--out", str(out)]
    try:
        cli = cli_main(args)
    except SystemExit as exc:  # jsonargparse exits on bad arguments after printing usage
        if exc.code not in (0, None):
            raise FerroscreenError(
                f"{config}: invalid training configuration or overrides (see the message above)"
            ) from None
        raise
    return cli.meta
