"""Every training config runs (fast_dev_run) on tiny generated data and writes a usable bundle."""

import importlib.util
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from ferroscreen.models.bundle import load_bundle

from .conftest import WELLS

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs" / "train").glob("*.yaml"))


def data_override(config: Path, plate: Path, folder: Path, tmp_path: Path) -> list[str]:
    text = config.read_text()
    if "CropFolderDataModule" in text:
        return ["--data.init_args.root", str(folder)]
    if "PointAnnotationDataModule" in text:
        csv = tmp_path / "points.csv"
        img = tmp_path / "frame.png"
        cv2.imwrite(str(img), (np.random.default_rng(1).random((96, 96)) * 255).astype(np.uint8))
        rows = ["image,x,y,class"] + [f"frame.png,{20 + 8 * i},{30 + 5 * i},{c}" for i, c in
                                        enumerate(["alive", "apoptosis", "ferroptosis", "necroptosis"] * 2)]
        csv.write_text("\n".join(rows) + "\n")
        img2 = tmp_path / "frame2.png"
        cv2.imwrite(str(img2), (np.random.default_rng(2).random((96, 96)) * 255).astype(np.uint8))
        csv.write_text(csv.read_text() + "".join(f"frame2.png,{30 + 5 * i},{40},{c}\n" for i, c in
                                                 enumerate(["alive", "apoptosis", "ferroptosis", "necroptosis"])))
        return ["--data.init_args.annotations", str(csv)]
    return ["--data.init_args.root", str(plate), "--data.init_args.onset_h", "0", "--data.init_args.extract_workers", "0"]


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_config_fast_dev_run(config, tiny_plate, crop_folder, tmp_path, monkeypatch):
    from ferroscreen.tasks.training_run import run_training

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "bundle.pt"
    overrides = [
        *data_override(config, tiny_plate, crop_folder, tmp_path),
        "--trainer.fast_dev_run", "true", "--trainer.accelerator", "cpu",
        "--model.weights", "none", "--model.input_size", "32", "--data.init_args.batch_size", "8",
    ]
    if "resnet50" in config.read_text():
        overrides += ["--model.backbone", "resnet18"]  # same recipe, smaller network for the smoke run
    meta = run_training(config, out, overrides)
    bundle = load_bundle(out, expected_classes=["alive", "apoptosis", "ferroptosis", "necroptosis"])
    assert bundle.meta["training_data"]["n_train"] > 0
    if config.stem == "folder":
        assert "readme.txt" in bundle.meta["training_data"]["notes"][0]
    assert set(meta["validation"]) >= {"macro_f1", "per_class", "confusion"}
    json.dumps(bundle.meta)  # metadata is JSON-compatible
    if importlib.util.find_spec("onnxruntime"):  # every bundle carries its int8 graph for CPU scoring
        assert bundle.int8_graph is not None and bundle.meta["int8"]["calibration_source"] == "training crops"
        assert bundle.meta["int8"]["check_crops"] > 0
    norm = bundle.meta["normalization"]
    if config.stem in ("demo", "default"):  # brightfield suspension recipes: contrast to the background
        assert norm["method"] == "background" and norm["dark"] < 0 < norm["bright"]
    else:  # the datamodules' default (any modality); crop folders scale each crop image
        assert norm["method"] == "percentile"
        assert norm["scope"] == ("per crop image" if config.stem == "folder" else "per frame")


def test_percentile_normalisation_override_is_recorded(tiny_plate, tmp_path, monkeypatch):
    from ferroscreen.tasks.training_run import run_training

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "bundle.pt"
    run_training(REPO / "configs" / "train" / "demo.yaml", out, [
        *data_override(REPO / "configs" / "train" / "demo.yaml", tiny_plate, None, tmp_path),
        "--data.init_args.normalization", "percentile", "--trainer.fast_dev_run", "true",
        "--model.weights", "none", "--model.input_size", "32", "--data.init_args.batch_size", "8",
    ])
    norm = load_bundle(out).normalization
    assert norm.method == "percentile" and (norm.low, norm.high) == (0.5, 99.5)


def test_reference_plate_split_is_by_well(tiny_plate):
    from ferroscreen.datamodules import ReferencePlateDataModule

    dm = ReferencePlateDataModule(str(tiny_plate), onset_h=0, val_fraction=0.25, seed=0)
    dm.setup()
    s = dm.summary()
    assert set(s["train_wells"]).isdisjoint(s["val_wells"])
    assert s["val_wells"] and s["n_val"] > 0 and s["n_train"] > 0
    assert set(s["train_wells"]) | set(s["val_wells"]) == set(f"{w[0]}0{w[2]}" for w in WELLS.split(","))


def test_reference_wells_first_scans_can_teach_alive(tiny_plate):
    from ferroscreen.datamodules import ReferencePlateDataModule

    plain = ReferencePlateDataModule(str(tiny_plate), onset_h=12, val_fraction=0.25, seed=0).summary()
    both = ReferencePlateDataModule(str(tiny_plate), onset_h=12, alive_until_h=0, val_fraction=0.25, seed=0).summary()
    assert both["train_wells"] == plain["train_wells"] and both["alive_until_h"] == 0.0
    total = {k: both["train_per_class"][k] + both["val_per_class"][k] for k in both["train_per_class"]}
    before = {k: plain["train_per_class"][k] + plain["val_per_class"][k] for k in plain["train_per_class"]}
    assert total["alive"] > before["alive"]
    assert {k: v for k, v in total.items() if k != "alive"} == {k: v for k, v in before.items() if k != "alive"}
    assert both["n_frames"] > plain["n_frames"]


def test_reference_plate_reads_one_z_plane(tiny_plate, tmp_path, zstack_writer):
    """A two-plane stack trains on one plane (asked for, else the lowest), recorded for score; never on both."""
    from ferroscreen.datamodules import ReferencePlateDataModule
    from ferroscreen.errors import AcquisitionError
    from ferroscreen.io import open_acquisition

    frames = open_acquisition(tiny_plate).frames
    stack = zstack_writer(frames, tmp_path / str(frames["plate"].iloc[0]))
    shutil.copy(tiny_plate / "layout.csv", stack / "layout.csv")
    kw = {"onset_h": 0, "val_fraction": 0.25, "seed": 0, "crop_size": 24}
    plain = ReferencePlateDataModule(str(tiny_plate), **kw)
    focused = ReferencePlateDataModule(str(stack), z_plane=1, **kw)
    lowest = ReferencePlateDataModule(str(stack), **kw)
    assert focused.summary()["z_plane"] == 1 and lowest.summary()["z_plane"] == 0
    assert focused.summary()["n_frames"] == plain.summary()["n_frames"] == lowest.summary()["n_frames"]
    assert np.array_equal(focused.sets.train_x, plain.sets.train_x)
    assert len(lowest.sets.train_x) != len(plain.sets.train_x) or not np.array_equal(lowest.sets.train_x,
                                                                                     plain.sets.train_x)
    with pytest.raises(AcquisitionError, match="no z plane 3 \\(planes 0, 1"):
        ReferencePlateDataModule(str(stack), z_plane=3, **kw).summary()


def test_train_cli_bad_config(tmp_path, cli, user_error):
    user_error(cli("train", "--config", tmp_path / "missing.yaml"), "missing.yaml", "not found")


def test_train_cli_reports_label_cleaning(tiny_plate, tmp_path, cli):
    out = tmp_path / "m.pt"
    proc = cli("train", "--config", REPO / "configs" / "train" / "demo.yaml", "--out", out,
               "--data.init_args.root", tiny_plate, "--data.init_args.onset_h", "0", "--data.init_args.until_h", "null",
               "--data.init_args.extract_workers", "0", "--data.init_args.batch_size", "16",
               "--trainer.max_epochs", "2", "--trainer.default_root_dir", tmp_path, "--trainer.logger", "false",
               "--model.weights", "none", "--model.input_size", "32", "--model.cleaning_epoch", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # demo.yaml cleans from running predictions: flags redone at epochs 1..1 (the last of max_epochs 2)
    assert "label cleaning (drop, running, epochs 1-1):" in proc.stdout
    for notice in ("litlogger", "litmodels", "LeafSpec", "tensorboardX"):  # Lightning's notices about itself
        assert notice not in proc.stdout + proc.stderr
    lc = load_bundle(out).meta["training_data"]["label_cleaning"]
    assert lc["source"] == "running" and lc["epoch"] == 1
    assert lc["n_items"] == load_bundle(out).meta["training_data"]["n_train"]


def test_train_cli_bad_setting_is_one_line(tiny_plate, tmp_path, cli):
    def check(proc, *fragments):
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        last = proc.stderr.strip().splitlines()[-1]  # after Lightning's "Seed set to 0" log line
        assert last.startswith("error: ") and all(f in last for f in fragments), last
        assert "LightningCLI's args parameter" not in proc.stderr

    base = ["train", "--config", REPO / "configs" / "train" / "demo.yaml", "--out", tmp_path / "m.pt",
            "--data.init_args.root", tiny_plate]
    check(cli(*base, "--data.init_args.detector", "{preset: suspension, crop_mask: 0}", cwd=tmp_path),
          "invalid training configuration", "crop_mask must be > 0")
    check(cli(*base, "--model.label_cleaning", "bogus", cwd=tmp_path), "label_cleaning", "bogus")
    check(cli(*base, "--model.augment_options", "{blurr_prob: 0}", cwd=tmp_path), "augment_options", "blurr_prob")
    typo = cli(*base, "--data.init_args.onset_hh", "24", cwd=tmp_path)  # was ~85 lines of usage naming `fit --help`
    check(typo, "invalid training option: data: Option 'onset_hh' is not accepted")
    assert len(typo.stderr.strip().splitlines()) == 1, typo.stderr
    # argparse would read a prefix of one option as that option (5 epochs instead of a typo's refusal)
    check(cli(*base, "--trainer.max_epoch", "5", cwd=tmp_path), "invalid training option", "--trainer.max_epoch")
    assert not (tmp_path / "m.pt").exists()


@pytest.fixture(scope="module")
def second_plate(tmp_path_factory):
    """Another simulated 8-well plate (another seed) in a folder of another name: a second experiment."""
    from ferroscreen.simulate import SimulationConfig, load_library, simulate_plate

    out = tmp_path_factory.mktemp("experiment2")
    simulate_plate(out, load_library("demo"),
                   SimulationConfig(plate_format=96, fields=1, hours=24, interval_h=12, image_size=(128, 128), seed=4,
                                    wells=tuple(WELLS.split(",")), workers=1), progress=False)
    return out


def test_reference_wells_of_several_acquisitions_train_together(tiny_plate, second_plate, tmp_path, monkeypatch):
    """Two experiments' reference wells: every well of both, split per folder/plate/well; recorded as two sources."""
    from ferroscreen.datamodules import ReferencePlateDataModule
    from ferroscreen.tasks.training_run import run_training

    kw = {"onset_h": 0, "val_fraction": 0.25, "seed": 0, "crop_size": 24}
    one = ReferencePlateDataModule(str(tiny_plate), **kw).summary()
    two = ReferencePlateDataModule(str(second_plate), **kw).summary()
    both = ReferencePlateDataModule([str(tiny_plate), str(second_plate)], **kw).summary()
    assert both["source"] == [str(tiny_plate), str(second_plate)]
    assert both["layout"] == [str(tiny_plate / "layout.csv"), str(second_plate / "layout.csv")]
    assert both["n_frames"] == one["n_frames"] + two["n_frames"]
    assert both["n_train"] + both["n_val"] == one["n_train"] + one["n_val"] + two["n_train"] + two["n_val"]
    wells = set(both["train_wells"]) | set(both["val_wells"])
    assert set(both["train_wells"]).isdisjoint(both["val_wells"])
    expected = {f"{root.name}/{plate}/{w}" for root, s in ((tiny_plate, one), (second_plate, two))
                for plate in s["plates"] for w in s["train_wells"] + s["val_wells"]}
    assert wells == expected and len(wells) == 2 * len(set(one["train_wells"]) | set(one["val_wells"]))
    assert both["channel"] == one["channel"] and both["scan_interval_h"] == 12.0
    assert [a["source"] for a in both["acquisitions"]] == both["source"]

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "bundle.pt"
    run_training(REPO / "configs" / "train" / "demo.yaml", out, [
        "--data.init_args.root", f"[{tiny_plate}, {second_plate}]", "--data.init_args.onset_h", "0",
        "--data.init_args.extract_workers", "0", "--trainer.fast_dev_run", "true", "--trainer.accelerator", "cpu",
        "--model.weights", "none", "--model.input_size", "32", "--data.init_args.batch_size", "8",
    ])
    assert load_bundle(out).meta["training_data"]["source"] == [str(tiny_plate), str(second_plate)]


@pytest.mark.parametrize("roots, layout, message", [
    ("twice", None, "is given twice"),
    ("pair", ["a.csv"], "1 layout(s) for 2 acquisition folders"),
    ("images", None, "hold the same images"),
])
def test_several_acquisitions_refused_when_they_do_not_pair(tiny_plate, second_plate, roots, layout, message):
    from ferroscreen.datamodules import ReferencePlateDataModule
    from ferroscreen.errors import FerroscreenError

    given = {"twice": [str(tiny_plate), str(tiny_plate / ".")], "pair": [str(tiny_plate), str(second_plate)],
             "images": [str(tiny_plate), str(tiny_plate / "images")]}[roots]  # a simulated plate and its images
    with pytest.raises(FerroscreenError, match=message.replace("(", "\\(").replace(")", "\\)")):
        ReferencePlateDataModule(given, layout=layout, onset_h=0).summary()


def test_next_scan_training_refuses_acquisitions_imaged_at_other_intervals(tiny_plate, tmp_path):
    from ferroscreen.datamodules import ReferencePlateDataModule
    from ferroscreen.errors import FerroscreenError
    from ferroscreen.simulate import SimulationConfig, load_library, simulate_plate

    fast = tmp_path / "every4h"
    simulate_plate(fast, load_library("demo"),
                   SimulationConfig(plate_format=96, fields=1, hours=8, interval_h=4, image_size=(128, 128), seed=5,
                                    wells=tuple(WELLS.split(",")), workers=1), progress=False)
    dm = ReferencePlateDataModule([str(tiny_plate), str(fast)], onset_h=0, next_scan=True, crop_size=24)
    with pytest.raises(FerroscreenError, match="every 12 h, .*every4h every 4 h"):
        dm.summary()
    single = ReferencePlateDataModule([str(tiny_plate), str(fast)], onset_h=0, crop_size=24).summary()
    assert single["scan_interval_h"] == 8.0 and [a["scan_interval_h"] for a in single["acquisitions"]] == [12.0, 4.0]


def test_classes_without_reference_wells_are_refused(tmp_path):
    """A plate with DMSO and staurosporine only trained a 4-class bundle (macro-F1 0.000) without a word."""
    from ferroscreen.datamodules import ReferencePlateDataModule
    from ferroscreen.errors import FerroscreenError
    from ferroscreen.simulate import SimulationConfig, load_library, simulate_plate

    simulate_plate(tmp_path, load_library("demo"),
                   SimulationConfig(plate_format=96, fields=1, hours=24, interval_h=12, image_size=(128, 128), seed=5,
                                    wells=("A01", "B01", "A02", "B02"), workers=1), progress=False)
    dm = ReferencePlateDataModule(str(tmp_path), onset_h=0, crop_size=24, seed=0)
    with pytest.raises(FerroscreenError, match=r"no training crops of class\(es\) ferroptosis, necroptosis"):
        dm.build_sets()
    two = ReferencePlateDataModule(str(tmp_path), classes=["alive", "apoptosis"], onset_h=0, crop_size=24, seed=0)
    assert set(two.build_sets().train_y.tolist()) == {0, 1}
