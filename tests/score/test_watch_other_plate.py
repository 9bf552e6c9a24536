"""A watch whose folder comes to hold another plate says so once and keeps to its own.

Was: the plate found first was followed and the other never mentioned (a one-shot run of the same
folder refuses it: 'holds plates ...; score one per store, picked with --plate').
"""

from __future__ import annotations

import pytest

from ferroscreen.score.runner import score_plate
from ferroscreen.score.store import read_store

from .conftest import copy_later

pytestmark = pytest.mark.timeout(240)


def test_another_plate_landing_is_said_once_and_not_scored(plate_copy, bundle_path, tmp_path):
    images = sorted((plate_copy / "images").glob("VID1_*.tif"))
    thread = copy_later([(p, p.with_name(p.name.replace("VID1_", "VID2_", 1))) for p in images])
    lines: list[str] = []
    out = tmp_path / "p.h5"
    s = score_plate(plate_copy, bundle_path, out, watch=True, poll_s=0.3, idle_exit_s=5.0, settle_s=0.0, workers=0,
                    batch_size=8, precision="32", log=lines.append)
    thread.join()
    said = [line for line in lines if "now also holds plate(s)" in line]
    assert said == [f"note: {plate_copy} now also holds plate(s) VID2; {out} follows plate VID1, the one found "
                    "first: score the others into stores of their own with --plate"], lines
    assert s["done"] == 12 and set(read_store(out).frames["plate"].astype(str)) == {"VID1"}
