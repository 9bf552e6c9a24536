import numpy as np
import pytest
import torch

from ferroscreen.analysis.classification import classification_report, confusion_matrix
from ferroscreen.errors import FerroscreenError, ModelBundleError
from ferroscreen.models.backbones import BACKBONES, build_backbone, imagenet_filename, stem_layers
from ferroscreen.models.bundle import load_bundle, save_bundle
from ferroscreen.models.death_mode_net import DeathModeNet
from ferroscreen.tasks.augment import AugmentConfig, augment_batch
from ferroscreen.tasks.calibration import fit_temperature
from ferroscreen.tasks.death_mode import DeathModeClassifier

CLASSES = ["alive", "apoptosis", "ferroptosis", "necroptosis"]


def meta(classes=CLASSES):
    return {"classes": classes, "crop_size": 32, "input_size": 32, "backbone": "mobilenet_v3_small",
            "detector": {"min_radius": 3}, "temperature": 1.7, "validation": {"confusion": np.eye(4).tolist()}}


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_every_backbone_builds_and_runs(name):
    torch.manual_seed(0)
    feats, n, init = build_backbone(name, "none")
    assert init == "random"
    with torch.no_grad():
        out = feats.eval()(torch.zeros(1, 3, 64, 64))
    assert out.shape == (1, n)


def test_imagenet_from_local_file(tmp_path):
    net = DeathModeNet("mobilenet_v2", 4, "none")
    path = tmp_path / imagenet_filename("mobilenet_v2")
    full = __import__("torchvision").models.mobilenet_v2(weights=None)
    torch.save(full.state_dict(), path)
    loaded = DeathModeNet("mobilenet_v2", 4, path)
    assert loaded.init.startswith("file:")
    assert torch.equal(loaded.features.features[0][0].weight, full.features[0][0].weight)
    assert net.init == "random"


def test_imagenet_weights_missing_is_clear(monkeypatch, tmp_path):
    monkeypatch.setattr("ferroscreen.models.backbones.imagenet_files", lambda f: [])
    with pytest.raises(ModelBundleError, match="resnet18-f37072fd.pth"):
        build_backbone("resnet18", "imagenet")


def test_shared_imagenet_mobilenet(shared_data):
    weights = shared_data.parent / "weights" / "mobilenet_v2-b0353104.pth"
    if not weights.is_file():
        pytest.skip("no shared MobileNetV2 weights")
    feats, _, init = build_backbone("mobilenet_v2", "imagenet")
    assert init == "imagenet:mobilenet_v2-b0353104.pth"


def test_a_bundle_gets_the_mode_the_umask_gives_any_output(tmp_path):
    """Was owner-only (0600, from mkstemp) whatever the umask: colleagues and jobs of other users could not read it."""
    import os
    import stat

    net = DeathModeNet("mobilenet_v3_small", 4, "none", input_size=32).eval()
    old = os.umask(0o022)
    try:
        path = save_bundle(tmp_path / "m.pt", net, meta())
        os.umask(0o077)
        private = save_bundle(tmp_path / "private.pt", net, meta())
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_bundle_round_trip_and_errors(tmp_path):
    torch.manual_seed(0)
    net = DeathModeNet("mobilenet_v3_small", 4, "none", input_size=32).eval()
    path = save_bundle(tmp_path / "m.pt", net, meta())
    b = load_bundle(path, expected_classes=CLASSES)
    x = torch.rand(3, 32, 32)
    assert float(b.net.temperature) == pytest.approx(1.7)
    with torch.no_grad():
        assert torch.allclose(b.net(x), net(x), atol=1e-6)
    assert b.classes == CLASSES and b.crop_size == 32 and len(b.sha256) == 64
    with pytest.raises(ModelBundleError, match="model is for classes"):
        load_bundle(path, expected_classes=["alive", "dead"])
    bad = tmp_path / "bad.pt"
    bad.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelBundleError, match="bad.pt: not a readable model bundle: cut short or corrupt: the archive.s end"):
        load_bundle(bad)
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ModelBundleError, match="bad.pt: not a readable model bundle: corrupt, truncated or not a PyTorch"):
        load_bundle(bad)
    bad.write_bytes(b"")
    with pytest.raises(ModelBundleError, match="corrupt, truncated or not a PyTorch"):
        load_bundle(bad)
    torch.save({"hook": print}, bad)  # a pickled callable: refused, never executed
    with pytest.raises(ModelBundleError, match=r"safe load refuses \(print\)"):
        load_bundle(bad)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ModelBundleError, match="not a ferroscreen model bundle"):
        load_bundle(other)
    with pytest.raises(ModelBundleError, match="class names for a 4-way head"):
        save_bundle(tmp_path / "x.pt", net, meta(["a", "b"]))


def test_augment_is_seeded_and_shape_preserving():
    x = torch.rand(8, 1, 24, 24)
    a = augment_batch(x, AugmentConfig(), torch.Generator().manual_seed(1))
    b = augment_batch(x, AugmentConfig(), torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)


def test_augment_options_override_the_defaults():
    model = DeathModeClassifier(classes=["a", "b"], backbone="resnet18", weights="none",
                                augment_options={"blur_prob": 0.0, "noise_std": 0.1})
    assert model.augment_cfg.blur_prob == 0.0 and model.augment_cfg.noise_std == 0.1
    assert model.augment_cfg.gamma == AugmentConfig().gamma
    with pytest.raises(FerroscreenError, match="unknown augment_options blurr_prob"):
        DeathModeClassifier(classes=["a", "b"], backbone="resnet18", weights="none", augment_options={"blurr_prob": 0})


# resnet34/50 and mobilenet_v3_large share their siblings' stem definition
@pytest.mark.parametrize("name", ["convnext_tiny", "efficientnet_b0", "mobilenet_v2", "mobilenet_v3_small", "resnet18"])
def test_stem_freeze_fixes_the_low_level_layers_only(name):
    net = DeathModeNet(name, 4, "none", 32, 0.0)
    net.set_frozen("stem")
    net.train()
    frozen = {id(p) for layer in stem_layers(net.features, name) for p in layer.parameters()}
    assert frozen and all(not p.requires_grad for p in net.parameters() if id(p) in frozen)
    assert all(p.requires_grad for p in net.parameters() if id(p) not in frozen)  # the rest and the head train
    norms = [m for layer in stem_layers(net.features, name) for m in layer.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert all(not m.training for m in norms)  # ImageNet statistics kept
    assert net.head.training
    loss = net(torch.rand(2, 1, 32, 32)).sum()
    loss.backward()
    assert all(p.grad is None for p in net.parameters() if id(p) in frozen)
    net.set_frozen("none")
    assert all(p.requires_grad for p in net.parameters())
    with pytest.raises(FerroscreenError, match="unknown freeze 'stems'"):
        DeathModeClassifier(classes=["a", "b"], backbone="resnet18", weights="none", freeze="stems")


def test_temperature_recovers_overconfidence():
    torch.manual_seed(0)
    true_logits = torch.randn(4000, 4) * 1.5
    labels = torch.distributions.Categorical(logits=true_logits).sample()
    t = fit_temperature(true_logits * 3.0, labels)
    assert t == pytest.approx(3.0, rel=0.15)


def test_classification_report_hand_case():
    cm = confusion_matrix(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), 4)
    r = classification_report(cm, CLASSES)
    assert r["per_class"]["alive"]["precision"] == 0.5 and r["per_class"]["apoptosis"]["recall"] == 1.0
    assert r["per_class"]["ferroptosis"]["f1"] == 0.0 and r["per_class"]["necroptosis"]["f1"] is None
    assert r["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18"])
def test_for_inference_folds_batch_norm_without_changing_outputs(name):
    torch.manual_seed(0)
    net = DeathModeNet(name, 4, "none", input_size=32)
    for m in net.modules():  # non-trivial running statistics, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    net.eval()
    fast = net.for_inference()
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    assert n_bn == 0
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # original untouched
    x = torch.rand(8, 1, 28, 28)
    torch.testing.assert_close(fast.predict_proba(x), net.predict_proba(x), atol=1e-5, rtol=1e-4)
