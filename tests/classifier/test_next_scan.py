"""Next-scan crops: each cell with the same box one scan later, from training to scoring."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ferroscreen.crops import with_next_scan
from ferroscreen.io.scans import later_scan_paths, later_scans, next_scan_paths
from ferroscreen.models.death_mode_net import DeathModeNet
from ferroscreen.tasks.augment import AugmentConfig, augment_batch

REPO = Path(__file__).resolve().parents[2]


def test_next_scan_paths_follow_each_site_in_time():
    frames = pd.DataFrame({
        "plate": "P", "channel": "phase", "z": 0,
        "well": ["A01", "A01", "A01", "A02", "A02", "A01"],
        "field": [1, 1, 1, 1, 1, 2],
        "time_h": [8.0, 0.0, 4.0, 0.0, 12.0, 0.0],
        "path": ["a8", "a0", "a4", "b0", "b12", "c0"],
    }, index=[10, 11, 12, 13, 14, 15])
    got = next_scan_paths(frames)
    assert got.to_dict() == {10: None, 11: "a4", 12: "a8", 13: "b12", 14: None, 15: None}
    gapped = next_scan_paths(frames, max_gap_h=4)
    assert gapped[13] is None and gapped[11] == "a4"  # a 12 h gap is not "the next scan"
    assert next_scan_paths(frames.iloc[:0]).empty
    assert later_scan_paths(frames, 2).to_dict() == {10: (None, None), 11: ("a4", "a8"), 12: ("a8", None),
                                                     13: ("b12", None), 14: (None, None), 15: (None, None)}
    assert next_scan_paths(frames, max_gap_h=4, step=2)[11] == "a8"  # 8 h over two steps of <= 4 h
    assert later_scans(frames, 0) is None and later_scans(frames, 1).equals(got)
    assert later_scans(frames, 2).equals(later_scan_paths(frames, 2))


def test_with_next_scan_stacks_the_same_boxes_and_repeats_without_one():
    rng = np.random.default_rng(0)
    now, later = rng.random((40, 40), dtype=np.float32), rng.random((40, 40), dtype=np.float32)
    det = pd.DataFrame({"x": [10.0, 25.0], "y": [12.0, 30.0], "radius": [4.0, 5.0]})
    from ferroscreen.crops import DetectorConfig, crops_for_detections

    cfg = DetectorConfig()
    crops = crops_for_detections(now, det, cfg, 16)
    two = with_next_scan(crops, det, cfg, 16, later)
    assert two.shape == (2, 2, 16, 16) and two.dtype == np.float32
    np.testing.assert_array_equal(two[:, 0], crops)
    np.testing.assert_array_equal(two[:, 1], crops_for_detections(later, det, cfg, 16))
    alone = with_next_scan(crops, det, cfg, 16, None)
    np.testing.assert_array_equal(alone[:, 1], alone[:, 0])
    three = with_next_scan(crops, det, cfg, 16, [later, now[::-1].copy()])
    assert three.shape == (2, 3, 16, 16)
    np.testing.assert_array_equal(three[:, :2], two)
    np.testing.assert_array_equal(three[:, 2], crops_for_detections(now[::-1].copy(), det, cfg, 16))
    last_missing = with_next_scan(crops, det, cfg, 16, [later, None])
    np.testing.assert_array_equal(last_missing[:, 2], last_missing[:, 1])
    gap = with_next_scan(crops, det, cfg, 16, [None, later])  # nothing after a missing scan is read
    for c in (1, 2):
        np.testing.assert_array_equal(gap[:, c], crops)


def test_network_reads_an_unchanged_next_scan_as_the_single_scan_input():
    torch.manual_seed(0)
    net = DeathModeNet("resnet18", 4, "none", input_size=32).eval()
    x = torch.rand(3, 1, 24, 24)
    with torch.no_grad():
        single = net(x)
        same = net(torch.cat([x, x], 1))
        moved = net(torch.cat([x, x.flip(-1)], 1))
    torch.testing.assert_close(single, same)
    assert not torch.allclose(single, moved)
    with torch.no_grad():
        torch.testing.assert_close(net(torch.cat([x, x, x], 1)), single)  # two unchanged later scans
        assert not torch.allclose(net(torch.cat([x, x, x.flip(-1)], 1)), single)


def test_augment_moves_both_scans_together_and_drops_the_next_scan():
    x = torch.rand(16, 2, 20, 20)
    cfg = AugmentConfig(brightness=0, contrast=0, gamma=0, blur_prob=0, noise_std=0, next_scan_dropout=0)
    y = augment_batch(x, cfg, torch.Generator().manual_seed(0))
    for i in range(16):  # the same flip/rotation on both channels: their difference is transformed alike
        d0, d1 = x[i, 1] - x[i, 0], y[i, 1] - y[i, 0]
        assert any(torch.allclose(t, d1) for t in _symmetries(d0))
    dropped = augment_batch(x, AugmentConfig(next_scan_dropout=1.0, blur_prob=1.0), torch.Generator().manual_seed(0))
    torch.testing.assert_close(dropped[:, 1], dropped[:, 0])
    assert augment_batch(x[:, :1], AugmentConfig(), torch.Generator().manual_seed(0)).shape == (16, 1, 20, 20)


def test_augment_drops_the_later_of_two_scans_or_both():
    x = torch.rand(400, 3, 12, 12)
    cfg = AugmentConfig(brightness=0, contrast=0, gamma=0, blur_prob=0, noise_std=0, next_scan_dropout=0.25)
    y = augment_batch(x, cfg, torch.Generator().manual_seed(0))
    same = lambda a, b: (y[:, a] == y[:, b]).flatten(1).all(1)  # noqa: E731
    none_left, one_left = same(1, 0) & same(2, 0), same(2, 1) & ~same(1, 0)
    assert 0.15 < none_left.float().mean() < 0.35 and 0.15 < one_left.float().mean() < 0.35
    assert (~(none_left | one_left)).float().mean() > 0.4  # the rest keep both later scans


def _symmetries(img):
    for k in range(4):
        r = torch.rot90(img, k, dims=(-2, -1))
        yield r
        yield torch.rot90(img.flip(-1), k, dims=(-2, -1))


def test_reference_plate_next_scan_crops(tiny_plate):
    from ferroscreen.datamodules import ReferencePlateDataModule

    dm = ReferencePlateDataModule(str(tiny_plate), onset_h=0, next_scan=True, crop_size=24, seed=0)
    dm.setup()
    x = dm.train_set.tensors[0]
    assert x.shape[1:] == (2, 24, 24) and dm.summary()["next_scan"] == 1
    moved = (x[:, 1] != x[:, 0]).flatten(1).any(1)
    assert 0 < int(moved.sum()) < len(x)  # the 24 h scans have no next scan: second channel = first


@pytest.mark.parametrize("k", [1, 2])
def test_train_score_evaluate_with_next_scan(tiny_plate, tmp_path, monkeypatch, k):
    from ferroscreen.errors import FerroscreenError
    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.score.runner import score_plate
    from ferroscreen.score.store import read_store
    from ferroscreen.tasks.evaluation import evaluate_crop_folder, evaluate_path
    from ferroscreen.tasks.training_run import run_training

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "bundle.pt"
    run_training(REPO / "configs" / "train" / "demo.yaml", out, [
        "--data.init_args.root", str(tiny_plate), "--data.init_args.onset_h", "0",
        "--data.init_args.extract_workers", "0", "--data.init_args.next_scan", "true" if k == 1 else str(k),
        "--trainer.fast_dev_run", "true", "--model.weights", "none", "--model.input_size", "32",
        "--data.init_args.batch_size", "8",
    ])
    bundle = load_bundle(out)
    assert bundle.next_scan == k and bundle.channels == 1 + k
    store_path = tmp_path / "plate.h5"
    score_plate(tiny_plate / "images", out, store_path, precision="32", workers=0, progress=False)
    store = read_store(store_path)
    fr = store.frames
    assert store.attrs["next_scan"] == k
    rank_from_end = fr["time_h"].map({t: i for i, t in enumerate(sorted(fr["time_h"].unique(), reverse=True))})
    assert (fr["next_scan"] == np.minimum(rank_from_end, k)).all()  # later scans used: fewer near the end
    result = evaluate_path(tiny_plate, out, precision="32")
    assert result["n"] > 0 and result["next_scan"] == k
    with pytest.raises(FerroscreenError, match="next scan"):
        evaluate_crop_folder(tmp_path, bundle)


def test_reference_plate_trains_on_the_phase_channel_beside_a_dye(tiny_plate, tmp_path):
    """Phase + a red dye channel ('phase' sorts after 'nir'): crops come from phase, as from the plate alone."""
    import shutil

    import tifffile

    from ferroscreen.datamodules import ReferencePlateDataModule

    two = tmp_path / "two"
    shutil.copytree(tiny_plate, two)
    for p in sorted((two / "images").glob("*_phase_*.tif")):
        tifffile.imwrite(p.with_name(p.name.replace("_phase_", "_nir_")), ~tifffile.imread(p))
    kw = {"onset_h": 0, "crop_size": 24, "seed": 0}
    one, both = ReferencePlateDataModule(str(tiny_plate), **kw), ReferencePlateDataModule(str(two), **kw)
    one.setup()
    both.setup()
    assert both.summary()["channel"] == "phase"
    assert torch.equal(one.train_set.tensors[0], both.train_set.tensors[0])


def test_reference_plates_are_labelled_by_their_own_layout_rows(tiny_plate, tmp_path):
    """Two plates in one folder, a layout with rows per plate: VID2's wells take VID2's roles, not VID1's."""
    import shutil

    import pandas as pd

    from ferroscreen.datamodules import ReferencePlateDataModule

    two = tmp_path / "two"
    shutil.copytree(tiny_plate, two)
    for p in sorted((two / "images").glob("VID1_*.tif")):
        shutil.copy(p, p.with_name("VID2" + p.name[4:]))
    layout = pd.read_csv(tiny_plate / "layout.csv")
    second = layout.assign(plate_id="VID2")
    second.loc[second["mode"] == "apoptosis", ["role", "mode"]] = ["sample", ""]  # not a reference there
    pd.concat([layout, second]).to_csv(two / "layout.csv", index=False)
    dm = ReferencePlateDataModule(str(two), onset_h=0, crop_size=24, seed=0, val_fraction=0.25)
    dm.setup()
    s = dm.summary()
    groups = set(s["train_wells"]) | set(s["val_wells"])
    assert s["plates"] == ["VID1", "VID2"] and set(s["train_wells"]).isdisjoint(s["val_wells"])
    assert {"VID1/A02", "VID1/B02"} <= groups and not {"VID2/A02", "VID2/B02"} & groups
    assert len(groups) == 14  # 8 wells of VID1, 6 of VID2
