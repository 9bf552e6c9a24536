"""Nucleus diameter and resampling: images whose nuclei differ in size from the model's training nuclei."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pandas as pd
import pytest
import tifffile
from typer.testing import CliRunner

from ferroscreen.analysis.matching import evaluate_instances
from ferroscreen.cli import app
from ferroscreen.segment.scale import MAX_SCALE, choose_scale, median_diameter, parse_diameter

from .conftest import make_nuclei


def test_median_diameter_is_the_equivalent_diameter_of_the_median_area():
    lab = np.zeros((40, 40), np.uint16)
    lab[0:2, 0:2] = 1  # 4 px
    lab[10:13, 10:13] = 2  # 9 px
    lab[20:30, 20:30] = 3  # 100 px
    assert median_diameter([lab]) == (pytest.approx(math.sqrt(4 * 9 / math.pi)), 3)
    assert median_diameter([lab, lab], min_area=5) == (pytest.approx(math.sqrt(4 * 54.5 / math.pi)), 4)
    assert median_diameter([np.zeros((5, 5), np.uint16)]) == (None, 0)


def test_parse_diameter():
    assert parse_diameter("auto") == "auto" and parse_diameter(" Model ") == "model" and parse_diameter(None) == "auto"
    assert parse_diameter("EACH") == "each"
    assert parse_diameter("12.5") == 12.5 and parse_diameter(30) == 30.0
    for bad in ("big", "0", "-3", "nan", "inf"):
        with pytest.raises(ValueError, match="positive number of pixels"):
            parse_diameter(bad)


def test_choose_scale_rules():
    assert choose_scale("model", 44.0).scale == 1.0
    assert choose_scale(22.0, 44.0).scale == pytest.approx(2.0)
    assert choose_scale(88.0, 44.0).scale == pytest.approx(0.5)
    assert choose_scale(1.0, 44.0).scale == MAX_SCALE  # clipped
    assert choose_scale(1000.0, 44.0).scale == 1 / MAX_SCALE
    near = choose_scale("auto", 44.0, (40.0, 50))  # within 25 %: left as it is
    assert near.scale == 1.0 and near.source == "estimated" and near.image_diameter_px == 40.0
    far = choose_scale("auto", 44.0, (11.0, 50))
    assert far.scale == pytest.approx(4.0) and far.n_nuclei == 50
    few = choose_scale("auto", 44.0, (11.0, 3))
    assert few.scale == 1.0 and "too few nuclei (3)" in few.source
    unknown = choose_scale(22.0, None)
    assert unknown.scale == 1.0 and "records no nucleus diameter" in unknown.source
    assert json.dumps(far.to_dict())


@pytest.fixture(scope="module")
def shipped():
    from ferroscreen.segment.predict import NucleiModel

    return NucleiModel.from_name("nuclei-aits")


def _shrunk(img, lab, factor):
    h, w = img.shape
    size = (w // factor, h // factor)
    small = cv2.resize(img.astype(np.float32), size, interpolation=cv2.INTER_AREA).astype(np.uint16)
    return small, cv2.resize(lab, size, interpolation=cv2.INTER_NEAREST).astype(np.int64)


def test_shipped_model_records_its_training_diameter(shipped):
    assert 40 < shipped.diameter_px < 48  # Aits U2OS nuclei at 20x, ~44 px across


def test_auto_scale_finds_small_nuclei_and_labels_stay_in_image_pixels(shipped):
    img, lab = make_nuclei(shape=(384, 384), n=12, seed=3, radius=(18, 26))
    true_d, _ = median_diameter([lab])
    same = shipped.choose_scale([img])
    assert same.scale == 1.0 and abs(same.image_diameter_px / true_d - 1) < 0.15

    small, small_lab = _shrunk(img, lab, 3)  # as if imaged at a third of the magnification
    choice = shipped.choose_scale([small])
    assert abs(choice.image_diameter_px / (true_d / 3) - 1) < 0.15, choice
    assert 2.4 < choice.scale < 3.4 and choice.source == "estimated"
    labels = shipped.segment(small, scale=choice.scale)
    assert labels.shape == small.shape and labels.dtype == np.uint16
    pooled, _ = evaluate_instances([small_lab], [labels.astype(np.int64)])
    q = pooled.set_index("thresh")
    assert q.loc[0.5, "tp"] == 12 and q.loc[0.5, "fp"] == 0 and q.loc[0.75, "f1"] == 1.0


def test_segment_cli_records_the_scale_and_scales_the_debris_size(tmp_path, shipped):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for seed in (3, 4):
        img, lab = make_nuclei(shape=(384, 384), n=12, seed=seed, radius=(18, 26))
        tifffile.imwrite(folder / f"f{seed}.tif", _shrunk(img, lab, 4)[0])  # nuclei ~12 px across, ~110 px
    runner = CliRunner()
    res = runner.invoke(app, ["segment", str(folder), "--out", str(tmp_path / "auto")])
    assert res.exit_code == 0, res.output
    scale = json.loads((tmp_path / "auto" / "segment.json").read_text())["scale"]
    assert scale["source"] == "estimated" and 3.2 < scale["scale"] <= 4 and scale["n_nuclei"] >= 20
    assert json.loads((tmp_path / "auto" / "run.json").read_text())["scale"] == scale  # what --resume reuses
    before = pd.read_csv(tmp_path / "auto" / "fields.csv")
    (tmp_path / "auto" / "labels" / "f4.tif").unlink()  # as if stopped before the last image
    res = runner.invoke(app, ["segment", str(folder), "--out", str(tmp_path / "auto"), "--resume"])
    assert res.exit_code == 0 and "1 label images kept" in res.output, res.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "auto" / "fields.csv"), before)
    assert "segmented at scale" in res.output
    fields = pd.read_csv(tmp_path / "auto" / "fields.csv")
    assert (fields["n_nuclei"] == 12).all()
    assert (fields["small_object_fraction"] == 0).all() and not fields["qc_flags"].fillna("").str.contains("debris").any()
    res = runner.invoke(app, ["segment", str(folder), "--out", str(tmp_path / "given"), "--diameter", "16"])
    assert res.exit_code == 0, res.output
    given = json.loads((tmp_path / "given" / "segment.json").read_text())["scale"]
    assert given["source"] == "given" and given["scale"] == pytest.approx(shipped.diameter_px / 16, abs=1e-3)


def test_each_image_gets_its_own_scale_and_resume_keeps_the_mode(tmp_path, shipped):
    folder = tmp_path / "mixed"
    folder.mkdir()
    img, lab = make_nuclei(shape=(384, 384), n=12, seed=3, radius=(18, 26))
    tifffile.imwrite(folder / "a_native.tif", img)
    tifffile.imwrite(folder / "b_third.tif", _shrunk(img, lab, 3)[0])
    runner = CliRunner()
    out = tmp_path / "out"
    res = runner.invoke(app, ["segment", str(folder), "--out", str(out), "--diameter", "each"])
    assert res.exit_code == 0, res.output
    fields = pd.read_csv(out / "fields.csv")
    assert fields["scale"].iloc[0] == 1.0 and 2.4 < fields["scale"].iloc[1] < 3.4
    assert list(fields["n_nuclei"]) == [12, 12]
    (out / "labels" / "b_third.tif").unlink()
    res = runner.invoke(app, ["segment", str(folder), "--out", str(out), "--resume"])  # mode comes from run.json
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_csv(out / "fields.csv"), fields)
