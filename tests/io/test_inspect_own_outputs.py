"""``ferroscreen inspect`` describes ferroscreen's own outputs as what they are: model files, hits and fit folders."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from ferroscreen.hashing import file_sha256
from ferroscreen.plate import rowcol_to_well

IMAGES_SHA = "a" * 64
LAYOUT_SHA = "b" * 64
CONFIG = """# pytorch_lightning==2.6.6
fit:
  seed_everything: 7
  model:
    init_args:
      seed: 3
  data:
    class_path: ferroscreen.datamodules.ReferencePlateDataModule
    init_args:
      seed: 5
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A tiny untrained bundle with the metadata ``train`` writes."""
    from ferroscreen.models.bundle import save_bundle
    from ferroscreen.models.death_mode_net import DeathModeNet

    torch.manual_seed(0)
    classes = ["alive", "apoptosis", "ferroptosis", "necroptosis"]
    net = DeathModeNet("mobilenet_v3_small", 4, "none", input_size=32).eval()
    meta = {
        "task": "death-mode", "classes": classes, "crop_size": 24, "input_size": 32, "backbone": "mobilenet_v3_small",
        "init": "random", "detector": {"preset": "suspension"}, "temperature": 1.7,
        "normalization": {"method": "percentile", "low": 1, "high": 99},
        "training_data": {"datamodule": "ReferencePlateDataModule", "source": "plate1", "layout": "plate1/layout.csv",
                          "n_train": 120, "n_val": 40, "train_per_class": dict.fromkeys(classes, 30),
                          "images_sha256": IMAGES_SHA, "image_files": 72, "layout_sha256": LAYOUT_SHA},
        "validation": {"macro_f1": 0.8125, "accuracy": 0.85, "n": 40,
                       "per_class": {c: {"f1": 0.8} for c in classes}},
        "hyperparameters": {"seed": 3}, "epochs_trained": 2, "ferroscreen_version": "0.1.0",
        "created": "2026-01-02T03:04:05+00:00", "config": CONFIG,
    }
    return save_bundle(tmp_path_factory.mktemp("model") / "model.pt", net, meta)


def test_a_model_bundle_is_described(bundle, run_main):
    code, out, err = run_main("inspect", bundle)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{bundle}: model bundle (death-mode; ferroscreen 0.1.0, created 2026-01-02T03:04:05+00:00)"
    assert f"  sha256 {file_sha256(bundle)}" in lines
    assert "  classes: alive, apoptosis, ferroptosis, necroptosis" in lines
    assert any("backbone mobilenet_v3_small" in line and "crop 24 px" in line and "temperature 1.7" in line
               for line in lines)
    assert "  seeds: seed_everything 7, data 5, model 3" in lines
    assert f"    images: 72 files, sha256 {IMAGES_SHA}" in lines
    assert f"    layout plate1/layout.csv: sha256 {LAYOUT_SHA}" in lines
    assert any(line.startswith("  validation (40 crops): macro f1 0.812") for line in lines)
    assert len(lines) <= 24  # one screen
    assert run_main("inspect", bundle)[1] == out  # deterministic


def test_a_model_bundle_as_json(bundle, run_main):
    code, out, _ = run_main("inspect", "--json", bundle)
    info = json.loads(out)
    assert code == 0 and info["kind"] == "model_bundle" and info["sha256"] == file_sha256(bundle)
    assert info["training_data"]["images_sha256"] == IMAGES_SHA
    assert info["seeds"] == {"seed_everything": 7, "data": 5, "model": 3}


def test_a_pt_file_that_is_no_bundle_says_so(tmp_path, run_main):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    code, out, err = run_main("inspect", tmp_path / "other.pt")
    assert code == 2 and out == ""
    assert err.strip() == f"error: {tmp_path / 'other.pt'}: not a ferroscreen model bundle (was it written by " \
                          "`ferroscreen train`?)"


def test_a_nuclei_model_is_described(tmp_path, run_main):
    from ferroscreen.models.unet import UNet
    from ferroscreen.segment.model_file import save_model_file

    path = save_model_file(tmp_path / "nuclei.pt", UNet(1, 3, (8, 16)), meta={"nucleus_diameter_px": 12.5})
    code, out, err = run_main("inspect", path)
    assert code == 0, err
    assert out.splitlines()[0] == f"{path}: nuclei model (ferroscreen-nuclei-unet/1; ferroscreen 0.1.0)"
    assert "nucleus diameter 12.5 px" in out and file_sha256(path) in out


@pytest.fixture(scope="module")
def hits_folder(tmp_path_factory):
    """The output of ``hits`` on two replicate 96-well plates with one planted hit."""
    import warnings

    from ferroscreen.analysis.hits_run import run_hits

    root = tmp_path_factory.mktemp("kd")
    rng = np.random.default_rng(0)
    rows = [{"plate": f"LIB01_rep{rep}", "well": rowcol_to_well(r, c),
             "gene": "non-targeting" if c == 0 else f"G{r * 12 + c:03d}", "role": "neg_ctrl" if c == 0 else "sample",
             "n_nuclei": round(400 * np.exp(rng.normal(0, 0.1)) * (0.2 if (r, c) == (0, 5) else 1)),
             "area_mean": 200 * np.exp(rng.normal(0, 0.05))}
            for rep in (1, 2) for r in range(8) for c in range(12)]
    pd.DataFrame(rows).to_csv(root / "wells.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_hits(root / "wells.csv", root / "hits", plots=False)
    return root / "hits"


@pytest.mark.parametrize("name", ["", "hits.json", "genes.csv"])
def test_a_hits_folder_is_described(hits_folder, name, run_main):
    code, out, err = run_main("inspect", hits_folder / name if name else hits_folder)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{hits_folder}: hits output (ferroscreen ")
    sha = file_sha256(hits_folder.parent / "wells.csv")
    assert f"  input {(hits_folder.parent / 'wells.csv').resolve()} (sha256 {sha})" in lines
    assert "  2 plates, 16 non-targeting wells; 88 genes" in out and "  genes.csv: 88 rows" in lines
    assert any(line.startswith("  top: G005 (") for line in lines)


def test_a_hits_workbook_is_no_layout(hits_folder, run_main):
    code, out, err = run_main("inspect", hits_folder / "hits.xlsx")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{hits_folder / 'hits.xlsx'}: hits results workbook (ferroscreen ")
    assert "  sheet genes: 88 rows" in lines and "layout (xlsx)" not in out
    assert any(file_sha256(hits_folder.parent / "wells.csv") in line for line in lines if line.startswith("  input"))


def test_a_fit_folder_shows_the_store_and_model_it_came_from(tmp_path, run_main):
    store_sha, model_sha = "c" * 64, "d" * 64
    prov = {"ferroscreen_version": "0.1.0", "created": "2026-01-02T03:04:05+00:00",
            "input": {"path": str(tmp_path / "wells.csv"), "sha256": "e" * 64},
            "fit": {"model": "ll4", "export_record": {"store": "/data/plate.h5", "store_sha256": store_sha}},
            "scoring": {"bundle_path": "/models/model.pt", "bundle_sha256": model_sha}}
    (tmp_path / "provenance.json").write_text(json.dumps(prov))
    pd.DataFrame({"curve": ["RSL3"], "call": ["active"]}).to_csv(tmp_path / "fits.csv", index=False)
    code, out, err = run_main("inspect", tmp_path)
    assert code == 0, err
    assert f"  score store /data/plate.h5: sha256 {store_sha}" in out.splitlines()
    assert f"  model /models/model.pt: sha256 {model_sha}" in out.splitlines()
    prov["input"] = {"path": "/data/plate.h5", "sha256": store_sha}  # fitted from the store itself
    del prov["fit"]["export_record"]
    (tmp_path / "provenance.json").write_text(json.dumps(prov))
    info = json.loads(run_main("inspect", "--json", tmp_path)[1])
    assert (info["store"], info["store_sha256"], info["model_sha256"]) == ("/data/plate.h5", store_sha, model_sha)


def test_a_bundle_with_only_the_required_metadata_is_described(tmp_path, run_main):
    from ferroscreen.models.bundle import save_bundle
    from ferroscreen.models.death_mode_net import DeathModeNet

    net = DeathModeNet("mobilenet_v3_small", 2, "none", input_size=32).eval()
    path = save_bundle(tmp_path / "old.pt", net, {"classes": ["a", "b"], "crop_size": 24, "input_size": 32,
                                                  "backbone": "mobilenet_v3_small", "detector": {}, "temperature": 1.0})
    code, out, err = run_main("inspect", path)
    assert code == 0, err
    assert "  seeds: not recorded" in out.splitlines() and "  training data: not recorded" in out.splitlines()
    assert "None" not in out
