"""A block of exact zeros under a camera offset (a file only partly written) is flagged ``zero_block``, never dropped.

A background that is truly 0 (black 8-bit PNGs, background-subtracted images) is not.
"""

import numpy as np
import pandas as pd
import pytest
import tifffile
from typer.testing import CliRunner

from ferroscreen.cli import app
from ferroscreen.segment import qc
from ferroscreen.segment.features import well_features
from ferroscreen.segment.qc import field_qc_metrics, flag_fields

from .conftest import make_nuclei

runner = CliRunner()


def _table(n) -> pd.DataFrame:
    return pd.DataFrame({"plate": "P1", "well": ["A01"] * n, "n_nuclei": 30, "n_border": 2, "area_mean": 500.0,
                         "area_median": 490.0, "eccentricity_mean": 0.5, "solidity_mean": 0.95,
                         "intensity_mean": 1000.0, "focus": 1.0, "saturated_fraction": 0.0,
                         "foreground_fraction": 0.2, "small_object_fraction": 0.05})


def _offset_frame(seed=0, coarse=False):
    """A 16-bit frame with a camera offset: nuclei over a background of 200 + noise (sd 20), never near 0.

    ``coarse``: as 8-bit data (background 8, noise sd ~4) scaled by 15 onto an offset of 100, in steps of 15.
    """
    img, labels = make_nuclei(shape=(128, 128), n=8, seed=seed)
    if coarse:
        noise = np.random.default_rng(seed).normal(0, 3.7, img.shape)
        a8 = np.clip(((img.astype(float) - 200) / 15 + 8 + noise).round(), 0, 255)
        img = (100 + 15 * a8).astype(np.uint16)
    return img, labels


def test_half_zero_filled_frame_is_flagged_and_keeps_its_count():
    """A preallocated file half copied: bottom half exact 0 under a camera offset of 100; flagged, never dropped."""
    img, labels = _offset_frame()
    cut = img.copy()
    cut[64:] = 0
    assert qc.zero_block_fraction(img) == 0.0
    assert qc.zero_block_fraction(cut) == pytest.approx(0.5)
    kept = labels.copy()
    kept[64:] = 0  # what the model finds: the nuclei of the top half only
    rows = [{"n_nuclei": int(labels.max()), **field_qc_metrics(img, labels)} for _ in range(5)]
    rows.append({"n_nuclei": int(len(np.unique(kept)) - 1), **field_qc_metrics(cut, kept)})
    f = pd.DataFrame(rows).assign(plate="P1", well=["A01"] * 3 + ["A02"] * 3, n_border=0, area_mean=100.0,
                                  area_median=100.0, eccentricity_mean=0.5, solidity_mean=0.9, intensity_mean=500.0)
    out = flag_fields(f)
    assert len(out) == 6 and out["qc_zero_block"].tolist() == [False] * 5 + [True]
    assert out.loc[5, "qc_flags"] == "zero_block" and out.loc[5, "n_nuclei"] == f.loc[5, "n_nuclei"]
    wells = well_features(out).set_index("well")
    assert wells.loc["A02", "n_fields"] == 3 and wells.loc["A02", "n_fields_flagged"] == 1
    assert wells.loc["A02", "qc_flags"] == "zero_block:1" and wells.loc["A01", "qc_flags"] == ""
    assert wells.loc["A02", "n_nuclei"] == f.loc[3:, "n_nuclei"].sum()  # counted, not dropped


def test_zero_block_under_a_coarse_noisy_offset_and_in_any_place():
    """8-bit data scaled by 15 onto an offset of 100 (steps of 15, noise sd ~55, as the tester's frame): flagged;
    a block in the middle (a tiled file's missing tile) too; a few dead pixels are no block."""
    img, _ = _offset_frame(seed=1, coarse=True)
    cut = img.copy()
    cut[90:] = 0
    assert qc.zero_block_fraction(cut) == pytest.approx(38 / 128)
    tile = img.copy()
    tile[32:64, 32:96] = 0
    assert qc.zero_block_fraction(tile) == pytest.approx(32 * 64 / 128**2)
    dead = img.copy()
    dead[np.random.default_rng(0).random(img.shape) < 0.03] = 0
    assert qc.zero_block_fraction(dead) == 0.0
    small = img.copy()
    small[:5] = 0  # 4 % of the frame: under ZERO_BLOCK_MIN
    assert qc.zero_block_fraction(small) == 0.0


def _black_background_8_bit(seed=2, shape=(128, 128)):
    """An 8-bit frame whose background is truly 0: noise around 0 cut off at 0, nuclei above it."""
    img, _ = make_nuclei(shape=shape, n=6, seed=seed)
    rng = np.random.default_rng(seed)
    x = (img.astype(float) - 200) / 20 + rng.normal(0.5, 2.0, shape)
    return np.clip(x.round(), 0, 255).astype(np.uint8)


def test_a_background_that_is_truly_zero_is_not_a_zero_block():
    """Black 8-bit PNG backgrounds (zeros from noise cut at 0, whole empty rows of 0), also stored as 16-bit."""
    img = _black_background_8_bit()
    img[96:] = 0  # no cells down there: the black background alone
    assert (img == 0).mean() > 0.3
    assert qc.zero_block_fraction(img) == 0.0
    assert qc.zero_block_fraction(img.astype(np.uint16) * 257) == 0.0  # 8-bit data in a 16-bit file
    assert qc.zero_block_fraction(img.astype(np.float32) / 255) == 0.0
    nuclei, _ = make_nuclei(shape=(128, 128), n=6, seed=3)  # continuous values, background subtracted and cut at 0
    jitter = np.random.default_rng(3).uniform(0, 1, nuclei.shape)
    subtracted = np.clip(nuclei + jitter - 220, 0, None).astype(np.float32)
    subtracted[96:] = 0
    assert (subtracted == 0).mean() > 0.3 and qc.zero_block_fraction(subtracted) == 0.0
    assert qc.zero_block_fraction(np.zeros((64, 64), np.uint16)) == 0.0  # all black: flagged empty, not this


def test_fully_black_frame_is_empty_not_zero_block():
    black = np.zeros((64, 64), np.uint16)
    metrics = field_qc_metrics(black, np.zeros((64, 64), np.uint16))
    out = flag_fields(pd.DataFrame([{"n_nuclei": 0, **metrics}] * 6))
    assert set(out["qc_flags"]) == {"empty"}


def test_tables_without_the_zero_block_column_read_as_unflagged():
    """fields.csv written before the column existed (labels read back by an old run) still flags."""
    out = flag_fields(_table(6))
    assert not out["qc_zero_block"].any() and (out["qc_flags"] == "").all()


def test_segment_writes_the_zero_block_flag(tmp_path, tiny_model_file):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        img, _ = _offset_frame(seed=i)
        if i == 0:
            img[64:] = 0
        tifffile.imwrite(folder / f"f{i}.tif", img)
    out = tmp_path / "out"
    res = runner.invoke(app, ["segment", str(folder), "--model", str(tiny_model_file), "--out", str(out),
                              "--diameter", "model"])
    assert res.exit_code == 0, res.output
    fields = pd.read_csv(out / "fields.csv", keep_default_na=False).set_index("image")
    assert fields.loc["f0", "zero_block_fraction"] == pytest.approx(0.5)
    assert "zero_block" in fields.loc["f0", "qc_flags"].split(";") and bool(fields.loc["f0", "qc_zero_block"])
    assert not fields.loc[["f1", "f2"], "qc_zero_block"].astype(bool).any()
