"""A watch whose first scan's fluorescence images land before its phase ones waits for the phase channel.

Was: the one channel present at the first look (green) was taken, and the whole plate was scored on it
(141 cells where a one-shot run, picking phase, found 212), with no word.
"""

from __future__ import annotations

import shutil

import pytest

from ferroscreen.score.runner import score_plate
from ferroscreen.score.store import read_store

from .conftest import copy_later

pytestmark = pytest.mark.timeout(240)


def test_phase_landing_after_green_is_still_the_channel_scored(plate_dir, bundle_path, tmp_path):
    src = tmp_path / "plate"
    (src / "images").mkdir(parents=True)
    shutil.copy(plate_dir / "layout.csv", src / "layout.csv")
    phase = sorted((plate_dir / "images").glob("VID1_phase_*_00d00h00m.tif"))
    for p in phase:  # the first scan's green images land first
        shutil.copy(p, src / "images" / p.name.replace("_phase_", "_green_"))

    thread = copy_later([(p, src / "images" / p.name) for p in sorted((plate_dir / "images").glob("VID1_phase_*.tif"))])
    lines: list[str] = []
    out = tmp_path / "p.h5"
    s = score_plate(src, bundle_path, out, watch=True, poll_s=0.3, idle_exit_s=5.0, settle_s=0.0, workers=0,
                    batch_size=8, precision="32", log=lines.append)
    thread.join()
    assert any("only channel green has landed, no brightfield/phase one" in line for line in lines), lines
    assert read_store(out).attrs["channel"] == "phase" and s["done"] == 12
