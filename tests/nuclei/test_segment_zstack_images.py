"""segment on a plain folder (or one file) of z-stack TIFFs (ImageJ hyperstacks ``ZYX``/``ZCYX``) takes
``--z-plane N|max|best`` as acquisitions do (was: refused as "a folder of images"), and without it stops with one
line naming the file (was: each stack failed as "3 channels that differ; pick ... --channel-index", and
``--channel-index`` then silently took a plane for a channel)."""

import json

import numpy as np
import pandas as pd
import pytest
import tifffile
from scipy import ndimage as ndi

from ferroscreen.io.inspection import inspect_path, render_inspection

from ..conftest import main_in_process
from .conftest import make_nuclei


def _blurred(img):
    return ndi.gaussian_filter(img.astype(float), 4).astype(img.dtype)


@pytest.fixture
def stacks(tmp_path):
    """``zyx/`` (3 planes, plane 1 in focus), ``zcyx/`` (the same with another stain as channel 0), ``plain/``
    (the focused planes) and ``maxed/`` (the maximum projections) of two fields."""
    folders = {k: tmp_path / k for k in ("zyx", "zcyx", "plain", "maxed")}
    for f in folders.values():
        f.mkdir()
    for i in range(2):
        nuclei = make_nuclei(seed=i)[0]
        zyx = np.stack([_blurred(nuclei), nuclei, _blurred(nuclei)])
        other = np.stack([make_nuclei(seed=10 + i)[0]] * 3)
        tifffile.imwrite(folders["zyx"] / f"f{i}.tif", zyx, imagej=True, metadata={"axes": "ZYX"})
        tifffile.imwrite(folders["zcyx"] / f"f{i}.tif", np.stack([other, zyx], axis=1), imagej=True,
                         metadata={"axes": "ZCYX"})
        tifffile.imwrite(folders["plain"] / f"f{i}.tif", nuclei)
        tifffile.imwrite(folders["maxed"] / f"f{i}.tif", zyx.max(axis=0))
    return folders


def _segment(monkeypatch, capfd, model, *args):
    return main_in_process(["segment", *args, "--model", model, "--diameter", "model"], monkeypatch, capfd)


def _labels(out):
    return [tifffile.imread(out / "labels" / f"f{i}.tif") for i in range(2)]


def test_z_stack_without_z_plane_is_one_line_naming_the_file(stacks, tiny_model_file, tmp_path, monkeypatch, capfd):
    for folder, axes in ((stacks["zyx"], "ZYX"), (stacks["zcyx"], "ZCYX"), (stacks["zyx"] / "f1.tif", "ZYX")):
        code, _, err = _segment(monkeypatch, capfd, tiny_model_file, folder, "--out", tmp_path / "o")
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        name = folder if folder.is_file() else folder / "f0.tif"
        assert f"{name}: is a z-stack of 3 planes (axes {axes})" in err and "--z-plane N (0-based, 0-2)" in err
        assert not (tmp_path / "o").exists()
    code, _, err = _segment(monkeypatch, capfd, tiny_model_file, stacks["zyx"], "--out", tmp_path / "o",
                            "--z-plane", "3")
    assert code == 2 and f"{stacks['zyx'] / 'f0.tif'}: has no z plane 3 (planes 0-2" in err
    code, _, err = _segment(monkeypatch, capfd, tiny_model_file, stacks["plain"], "--out", tmp_path / "o",
                            "--z-plane", "1")
    assert code == 2 and "--z-plane picks a plane of an acquisition; this is a folder of images, and no z-stack" in err


def test_z_plane_of_a_folder_of_stacks(stacks, tiny_model_file, tmp_path, monkeypatch, capfd):
    code, _, err = _segment(monkeypatch, capfd, tiny_model_file, stacks["plain"], "--out", tmp_path / "plain")
    assert code == 0, err
    code, _, err = _segment(monkeypatch, capfd, tiny_model_file, stacks["zyx"], "--out", tmp_path / "z1",
                            "--z-plane", "1")
    assert code == 0, err
    assert "note: segmenting z plane 1 of each z-stack" in err
    for got, want in zip(_labels(tmp_path / "z1"), _labels(tmp_path / "plain"), strict=True):
        np.testing.assert_array_equal(got, want)
    fields = pd.read_csv(tmp_path / "z1" / "fields.csv")
    assert list(fields["z"]) == [1, 1] and fields["status"].eq("done").all()
    assert json.loads((tmp_path / "z1" / "segment.json").read_text())["z_plane"] == 1
    code, _, err = _segment(monkeypatch, capfd, tiny_model_file, stacks["zyx"], "--out", tmp_path / "z1",
                            "--z-plane", "2", "--resume")
    assert code == 2 and "was segmented on z plane 1" in err


def test_best_and_max_of_stacks_with_channels(stacks, tiny_model_file, tmp_path, monkeypatch, capfd):
    """ZCYX: --channel-index picks the stain in every plane; best takes the focused plane, max the projection."""
    for folder, out in ((stacks["plain"], "plain"), (stacks["maxed"], "maxed")):
        assert _segment(monkeypatch, capfd, tiny_model_file, folder, "--out", tmp_path / out)[0] == 0
    code, _, err = _segment(monkeypatch, capfd, tiny_model_file, stacks["zcyx"], "--out", tmp_path / "best",
                            "--z-plane", "best", "--channel-index", "1")
    assert code == 0, err
    assert "note: segmenting each z-stack's plane in best focus" in err
    fields = pd.read_csv(tmp_path / "best" / "fields.csv")
    assert list(fields["z"]) == ["best", "best"] and list(fields["z_best"]) == [1, 1]
    for got, want in zip(_labels(tmp_path / "best"), _labels(tmp_path / "plain"), strict=True):
        np.testing.assert_array_equal(got, want)
    code, _, err = _segment(monkeypatch, capfd, tiny_model_file, stacks["zcyx"], "--out", tmp_path / "max",
                            "--z-plane", "max", "--channel-index", "1")
    assert code == 0, err
    for got, want in zip(_labels(tmp_path / "max"), _labels(tmp_path / "maxed"), strict=True):
        np.testing.assert_array_equal(got, want)
    code, _, err = _segment(monkeypatch, capfd, tiny_model_file, stacks["zcyx"], "--out", tmp_path / "x",
                            "--z-plane", "0")
    assert code == 2 and "2 channels that differ" in err and "--channel-index" in err


def test_one_stack_file_takes_z_plane(stacks, tiny_model_file, tmp_path, monkeypatch, capfd):
    code, _, err = _segment(monkeypatch, capfd, tiny_model_file, stacks["zyx"] / "f0.tif", "--out", tmp_path / "one",
                            "--z-plane", "1")
    assert code == 0, err
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "one" / "labels" / "f0.tif"),
                                  _segment_plain_f0(stacks, tiny_model_file, tmp_path, monkeypatch, capfd))


def _segment_plain_f0(stacks, model, tmp_path, monkeypatch, capfd):
    assert _segment(monkeypatch, capfd, model, stacks["plain"] / "f0.tif", "--out", tmp_path / "p0")[0] == 0
    return tifffile.imread(tmp_path / "p0" / "labels" / "f0.tif")


def test_inspect_names_z_stacks(stacks):
    info = inspect_path(stacks["zcyx"])
    assert info["z_stacks"] == 2 and info["multichannel"] == 2
    assert [(x["axes"], x["z_planes"], x["channels"]) for x in info["samples"]] == [("ZCYX", 3, 2)] * 2
    text = render_inspection(info)
    assert "f0.tif: uint16 3x2x96x96 (ZCYX), 3 z planes, 2 channels" in text
    assert "z-stacks: 2 of the 2 read; segment needs --z-plane" in text
    info = inspect_path(stacks["zyx"])
    assert info["multichannel"] == 0 and "f0.tif: uint16 3x96x96 (ZYX), 3 z planes\n" in render_inspection(info)
