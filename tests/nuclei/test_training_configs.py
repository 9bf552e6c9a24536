import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from ferroscreen.datamodules.nuclei import NucleiDataModule, find_pairs

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs" / "segment").glob("*.yaml"))


def _train_module():
    spec = importlib.util.spec_from_file_location("train_nuclei", REPO / "training" / "train_nuclei.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_there_are_configs():
    assert any(c.name == "aits.yaml" for c in CONFIGS)


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_config_fast_dev_run(config, nuclei_folder, tmp_path):
    cli = _train_module().cli_main(
        args=[
            "fit",
            "--config",
            str(config),
            "--data.init_args.root",
            str(nuclei_folder),
            "--data.init_args.extra_train_roots",
            "[]",
            "--data.init_args.crop_size",
            "64",
            "--data.init_args.batch_size",
            "2",
            "--trainer.fast_dev_run",
            "true",
            "--trainer.default_root_dir",
            str(tmp_path),
            "--trainer.accelerator",
            "cpu",
        ],
        run=True,
    )
    assert cli.trainer.state.finished
    assert "val_f1_90" in cli.trainer.callback_metrics


def test_datamodule_crops_are_seeded_and_augmented(nuclei_folder):
    dm = NucleiDataModule(str(nuclei_folder), crop_size=48, batch_size=3, samples_per_epoch=6)
    dm.setup("fit")
    assert len(dm.train_ds.names) == 4 and len(dm.val_ds.names) == 2
    b1 = next(iter(dm.train_dataloader()))
    b2 = next(iter(dm.train_dataloader()))
    assert b1["image"].shape == (3, 1, 48, 48) and b1["target"].shape == (3, 3, 48, 48)
    assert torch.equal(b1["image"], b2["image"])  # same epoch, same seed -> same crops
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(1)
    assert not torch.equal(next(iter(loader))["image"], b1["image"])
    v = next(iter(dm.val_dataloader()))
    assert v["labels"].shape == (1, 96, 96) and v["labels"].max() > 0


def test_datamodule_without_split_and_small_images(tmp_path, nuclei_folder):
    (nuclei_folder / "split.csv").unlink()
    dm = NucleiDataModule(str(nuclei_folder), crop_size=128, val_fraction=0.34, samples_per_epoch=2, batch_size=2)
    dm.setup()
    assert len(dm.val_ds.names) == 2 and len(dm.train_ds.names) == 4
    batch = next(iter(dm.train_dataloader()))  # 96 px images padded to 128 px crops
    assert batch["image"].shape[-1] == 128
    assert np.isfinite(batch["image"].numpy()).all()
    assert len(find_pairs(nuclei_folder)) == 6


def test_small_object_weights_travel_with_the_crops(nuclei_folder):
    from scipy import ndimage as ndi

    dm = NucleiDataModule(str(nuclei_folder), crop_size=48, batch_size=8, samples_per_epoch=16,
                          small_object_area=400, small_object_max_weight=6)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    target = batch["target"].numpy()
    assert target.shape == (8, 4, 48, 48)
    weights, fg = target[:, 3], target[:, 0] > 0.5
    assert weights.min() == 1.0 and 1.0 < weights.max() <= 6.0
    for w, f in zip(weights, fg, strict=True):  # flipped/rotated with the image: heavy pixels hug the nuclei
        off = (w > 1) & ~ndi.binary_dilation(f, iterations=2)
        assert not off[2:-2, 2:-2].any()  # the outer 2 px may hold rings of nuclei beyond the crop
    assert next(iter(dm.val_dataloader()))["target"].shape[1] == 4


def test_exported_model_records_the_training_nucleus_diameter(nuclei_folder, tmp_path):
    import numpy as np
    import tifffile

    from ferroscreen.segment.model_file import export_checkpoint, load_model_file
    from ferroscreen.segment.scale import median_diameter

    cli = _train_module().cli_main(
        args=[
            "fit", "--config", str(REPO / "configs" / "segment" / "aits.yaml"),
            "--data.init_args.root", str(nuclei_folder), "--data.init_args.crop_size", "64",
            "--data.init_args.batch_size", "2", "--data.init_args.samples_per_epoch", "4",
            "--trainer.max_steps", "2", "--trainer.check_val_every_n_epoch", "1",
            "--trainer.default_root_dir", str(tmp_path), "--trainer.accelerator", "cpu",
        ],
        run=True,
    )
    assert cli.trainer.state.finished
    ckpt = next(tmp_path.rglob("last.ckpt"))
    _, info = load_model_file(export_checkpoint(ckpt, tmp_path / "m.pt"))
    train = sorted((nuclei_folder / "masks").glob("*.tif"))[:4]  # split.csv: fields 0-3 train
    expected, _ = median_diameter([tifffile.imread(p).astype(np.int64) for p in train])
    assert info["meta"]["nucleus_diameter_px"] == pytest.approx(expected, abs=0.01)


def test_export_averages_several_checkpoints(tmp_path):
    """``train_nuclei.py export CKPT1 CKPT2 OUT`` writes their tensor-wise mean (a weight soup)."""
    import torch

    from ferroscreen.errors import ModelBundleError
    from ferroscreen.models.unet import UNet
    from ferroscreen.segment.model_file import export_checkpoint, load_model_file

    paths, states = [], []
    for seed in (0, 1):
        torch.manual_seed(seed)
        net = UNet(1, 3, (4, 8))
        states.append(net.state_dict())
        paths.append(tmp_path / f"s{seed}" / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt")
        paths[-1].parent.mkdir(parents=True)
        torch.save({"state_dict": {f"net.{k}": v for k, v in net.state_dict().items()},
                    "hyper_parameters": {"widths": [4, 8]}, "nucleus_diameter_px": 20.0}, paths[-1])
    net, info = load_model_file(export_checkpoint(paths, tmp_path / "soup.pt"))
    w = "enc.0.block.0.weight" if "enc.0.block.0.weight" in states[0] else next(iter(states[0]))
    assert torch.allclose(net.state_dict()[w], (states[0][w] + states[1][w]) / 2, atol=1e-7)
    assert info["meta"]["averaged_checkpoints"] == ["s0/last.ckpt", "s1/last.ckpt"]
    assert info["meta"]["nucleus_diameter_px"] == 20.0
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {f"net.{k}": v for k, v in UNet(1, 3, (4, 16)).state_dict().items()},
                "hyper_parameters": {"widths": [4, 16]}}, other)
    with pytest.raises(ModelBundleError, match="only like checkpoints average"):
        export_checkpoint([paths[0], other], tmp_path / "bad.pt")
