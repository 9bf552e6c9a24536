"""Lightning's notices that say nothing to a ferroscreen user, kept out of the output of `train` and `demo`.

Notices that come with every Trainer of these versions and are about Lightning, not the run: the
adverts for Lightning's cloud logger and model registry ("💡 Tip: ... litlogger", "... litmodels"),
the note that the default logger is a CSV logger because tensorboard is not installed (train writes
``metrics.csv`` on purpose), and a deprecation inside Lightning's own tree utilities
(``isinstance(treespec, LeafSpec)``). Everything else Lightning logs or warns is kept.
"""

from __future__ import annotations

import logging
import warnings

__all__ = ["quiet_lightning_notices"]

_ADVERT_LOGGER = "pytorch_lightning.utilities.rank_zero"


class _DropAdverts(logging.Filter):
    """Drops the records of Lightning's logger that advertise other packages."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102 - logging.Filter's contract
        message = str(record.getMessage())
        return "litlogger" not in message and "litmodels" not in message


def quiet_lightning_notices() -> None:
    """Filter the notices listed in the module docstring (idempotent; process-wide)."""
    log = logging.getLogger(_ADVERT_LOGGER)
    if not any(isinstance(f, _DropAdverts) for f in log.filters):
        log.addFilter(_DropAdverts())
    warnings.filterwarnings("ignore", message=r"Starting from v1\.9\.0, `tensorboardX` has been removed")
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
