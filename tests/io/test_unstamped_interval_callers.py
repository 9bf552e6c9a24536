"""Every caller of an unstamped multi-scan plate asks for the interval (training), or needs none (quantize)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from ferroscreen.errors import FerroscreenError


def _ixm(root):
    """An ImageXpress plate of three unstamped scans (TimePoint_1-3), three wells, with a layout beside it."""
    rng = np.random.default_rng(0)
    for t in (1, 2, 3):
        folder = root / "ixm" / "Plate1" / f"TimePoint_{t}"
        folder.mkdir(parents=True)
        for well in ("A01", "A02", "B01"):
            tifffile.imwrite(folder / f"Plate1_{well}_s1.tif", rng.normal(1000, 30, (64, 64)).astype(np.uint16))
    (root / "ixm" / "layout.csv").write_text("plate,well,role,mode,compound,concentration\n"
                                             "Plate1,A01,vehicle,,DMSO,0 uM\nPlate1,A02,reference,ferroptosis,RSL3,1 uM\n"
                                             "Plate1,B01,reference,apoptosis,STS,1 uM\n")
    return root / "ixm"


def test_training_on_unstamped_scans_needs_the_interval(tmp_path):
    """data.interval_h defaulted to 1 h: a 4-hourly plate's onset_h labelled the wrong scans, silently."""
    from ferroscreen.datamodules.reference_plate import ReferencePlateDataModule

    plate = _ixm(tmp_path)
    with pytest.raises(FerroscreenError, match=r"3 scans without time stamps .*--data\.init_args\.interval_h H"):
        ReferencePlateDataModule(str(plate), onset_h=0)._source(0)
    assert ReferencePlateDataModule(str(plate), onset_h=0, interval_h=4)._source(0).info["scan_interval_h"] == 4.0


def test_a_resumed_store_keeps_its_recorded_interval():
    from ferroscreen.score.runner import _given_interval

    assert _given_interval(4) == 4.0 and _given_interval("1.0") == 1.0
    assert _given_interval(None) is None and _given_interval(float("nan")) is None and _given_interval(0) is None
