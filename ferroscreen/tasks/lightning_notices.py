"""Lightning's notices that say nothing to a ferroscreen user, kept out of the output of `train` and `demo`.

Notices that come with every Trainer of these versions and are about Lightning, not the run: the
adverts for Lightning's cloud logger and model registry ("💡 Tip: ... litlogger", "... litmodels"),
the note that the default logger is a CSV logger because tensorboard is not installed (train writes
``metrics.csv`` on purpose), and a deprecation inside Lightning's own tree utilities
(``isinstance(treespec, LeafSpec)``). Everything else Lightning logs or warns is kept.

The filters hold while the ``with`` block runs only: a notebook's later Lightning work keeps them all.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_lightning_notices"]

_ADVERT_LOGGER = "pytorch_lightning.utilities.rank_zero"


class _DropAdverts(logging.Filter):
    """Drops the records of Lightning's logger that advertise other packages."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102 - logging.Filter's contract
        message = str(record.getMessage())
        return "litlogger" not in message and "litmodels" not in message


@contextmanager
def quiet_lightning_notices(*messages: str) -> Iterator[None]:
    """Filter the notices listed in the module docstring, and warnings matching ``messages``, inside the block.

    The warnings filters and the logger's filter are the ones of before once the block ends (nested
    blocks too); as :class:`warnings.catch_warnings`, not meant for threads that warn meanwhile.
    """
    log = logging.getLogger(_ADVERT_LOGGER)
    drop = None if any(isinstance(f, _DropAdverts) for f in log.filters) else _DropAdverts()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Starting from v1\.9\.0, `tensorboardX` has been removed")
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
        for message in messages:
            warnings.filterwarnings("ignore", message=message)
        if drop is not None:
            log.addFilter(drop)
        try:
            yield
        finally:
            if drop is not None:
                log.removeFilter(drop)
