"""The training CLI hides Lightning's notices about itself while it runs only: a notebook keeps its warnings."""

from __future__ import annotations

import argparse
import logging
import warnings

import pytest

from ferroscreen.tasks.lightning_notices import quiet_lightning_notices


def test_the_filters_hold_inside_the_block_only():
    before = list(warnings.filters)
    log = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    log_before = list(log.filters)
    eval_mode = "Found 3 module(s) in eval mode at the start of training"
    tensorboard = "Starting from v1.9.0, `tensorboardX` has been removed as a dependency"
    with quiet_lightning_notices(r"Found \d+ module\(s\) in eval mode"):
        assert len(log.filters) == len(log_before) + 1
        with quiet_lightning_notices():  # nested: the outer block's filters stay
            with warnings.catch_warnings(record=True) as seen:
                warnings.warn(eval_mode, UserWarning, stacklevel=1)
                warnings.warn(tensorboard, UserWarning, stacklevel=1)
            assert seen == []
        assert len(log.filters) == len(log_before) + 1
    assert warnings.filters == before and log.filters == log_before
    with warnings.catch_warnings(record=True) as seen:
        warnings.warn(tensorboard, UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == [tensorboard]  # outside the block, it reaches the user again


def test_cli_main_leaves_the_warnings_filters_as_it_found_them(tmp_path, monkeypatch):
    from ferroscreen.tasks.lightning_cli import cli_main

    monkeypatch.setattr("sys.argv", ["train.py"])
    before = list(warnings.filters)
    with pytest.raises((argparse.ArgumentError, SystemExit)):  # a missing config: refused before any training
        cli_main(["fit", "--config", str(tmp_path / "missing.yaml")])
    assert warnings.filters == before
