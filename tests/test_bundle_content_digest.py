"""A model bundle's content digest: the same for two bundles trained alike, whenever they were written; the
bundle records it and the software it was trained with."""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from ferroscreen.datamodules.crop_base import CropDataModule, CropSets
from ferroscreen.errors import ModelBundleError
from ferroscreen.hashing import bundle_content_sha256, file_sha256
from ferroscreen.models.bundle import load_bundle
from ferroscreen.tasks import bundle_export
from ferroscreen.tasks.death_mode import DeathModeClassifier

CLASSES = ["alive", "apoptosis", "ferroptosis"]


class _Crops(CropDataModule):
    def __init__(self):
        super().__init__(CLASSES, crop_size=16, batch_size=8, val_fraction=0.25)

    def build_sets(self) -> CropSets:
        rng = np.random.default_rng(0)
        ty, vy = np.repeat(np.arange(3), 6), np.repeat(np.arange(3), 2)
        return CropSets(rng.random((len(ty), 16, 16)).astype(np.float16), ty,
                        rng.random((len(vy), 16, 16)).astype(np.float16), vy, {"source": "noise"})


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, request):
    """The same trained model exported twice, a second apart in ``created``: ``a.pt`` and ``b.pt``."""
    tmp = tmp_path_factory.mktemp("bundles")
    pl.seed_everything(0)
    model = DeathModeClassifier(CLASSES, backbone="resnet18", weights="none", input_size=32)
    dm = _Crops()
    pl.Trainer(fast_dev_run=True, accelerator="cpu", logger=False, enable_progress_bar=False,
               enable_model_summary=False, default_root_dir=tmp).fit(model, dm)
    mp = pytest.MonkeyPatch()
    try:
        metas = []
        for name, when in (("a.pt", "2025-01-01T00:00:00+00:00"), ("b.pt", "2025-01-01T00:00:01+00:00")):
            mp.setattr(bundle_export, "created_now", lambda when=when: when)
            metas.append(bundle_export.finalize_and_export(model, dm, tmp / name, "config"))
    finally:
        mp.undo()
    return tmp, metas


def test_bundles_written_apart_differ_as_files_but_not_in_content(bundles):
    # before: A/model.pt and B/model.pt differed only in meta.created, so their sha256 (all `score --resume`
    # compares) differed; there was no digest of what a bundle scores with
    tmp, (meta_a, meta_b) = bundles
    a, b = tmp / "a.pt", tmp / "b.pt"
    assert file_sha256(a) != file_sha256(b)
    assert bundle_content_sha256(a) == bundle_content_sha256(b)
    assert load_bundle(a).meta["content_sha256"] == bundle_content_sha256(a) == meta_a["content_sha256"]


def test_the_bundle_records_the_software_it_was_trained_with(bundles):
    tmp, _ = bundles
    env = load_bundle(tmp / "a.pt").meta["environment"]  # loads with weights_only=True
    assert env["torch"] == torch.__version__ and env["lightning"] == pl.__version__ and env["python"]


def _rewritten(src, dst, change):
    payload = torch.load(src, map_location="cpu", weights_only=True)
    change(payload)
    torch.save(payload, dst)
    return bundle_content_sha256(dst)


def test_what_the_digest_covers(bundles, tmp_path):
    tmp, _ = bundles
    src = tmp / "a.pt"
    base = bundle_content_sha256(src)

    def software(p):
        p["meta"]["environment"] = {"ferroscreen": "9.9", "git_commit": "f" * 40}
        p["meta"]["created"] = "2030-01-01T00:00:00+00:00"

    assert _rewritten(src, tmp_path / "s.pt", software) == base  # when and on what: left out

    def temperature(p):
        p["meta"]["temperature"] = p["meta"]["temperature"] * 2

    def weight(p):
        name = next(k for k, v in p["state_dict"].items() if v.is_floating_point() and v.numel() > 1)
        p["state_dict"][name] = p["state_dict"][name].clone()
        p["state_dict"][name].view(-1)[0] += 1e-6

    def classes(p):
        p["meta"]["classes"] = list(reversed(p["meta"]["classes"]))

    for n, change in enumerate((temperature, weight, classes)):
        assert _rewritten(src, tmp_path / f"{n}.pt", change) != base, change.__name__
    if torch.load(src, map_location="cpu", weights_only=True).get("int8_graph") is not None:
        def graph(p):
            p["int8_graph"] = p["int8_graph"].clone()
            p["int8_graph"][-1] ^= 1

        assert _rewritten(src, tmp_path / "g.pt", graph) != base


def test_a_file_that_is_no_bundle_is_one_line(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"not a bundle")
    torch.save({"a": 1}, tmp_path / "y.pt")
    for path in (tmp_path / "x.pt", tmp_path / "y.pt", tmp_path / "missing.pt"):
        with pytest.raises(ModelBundleError) as err:
            bundle_content_sha256(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)
