"""Scoring hides Lightning's notices while it scores only: a notebook calling score_plate keeps its warnings."""

from __future__ import annotations

import logging
import warnings

import pytorch_lightning  # noqa: F401 - its import sets its logger's level

from ferroscreen.score import score_plate

LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning")


def test_score_plate_leaves_lightning_loggers_and_warnings_filters_as_it_found_them(plate_dir, bundle_path,
                                                                                      tmp_path):
    levels = {name: logging.getLogger(name).level for name in LIGHTNING_LOGGERS}
    filters = list(warnings.filters)
    s = score_plate(plate_dir, bundle_path, tmp_path / "p.h5", workers=0, batch_size=8, precision="32")
    assert s["frames_scored"] > 0
    assert {name: logging.getLogger(name).level for name in LIGHTNING_LOGGERS} == levels
    assert warnings.filters == filters
    with warnings.catch_warnings(record=True) as seen:
        warnings.warn("The 'predict_dataloader' does not have many workers", UserWarning, stacklevel=1)
    assert len(seen) == 1  # outside scoring, it reaches the user
