import numpy as np
import pytest
import torch

from ferroscreen.analysis.matching import evaluate_instances
from ferroscreen.models.unet import UNet
from ferroscreen.segment.postprocess import PostprocessParams, instances_from_maps
from ferroscreen.segment.predict import predict_maps, tile_starts
from ferroscreen.segment.targets import instance_distance, make_targets, normalize_image, small_object_weights
from ferroscreen.tasks.nuclei import NucleiSegmenter

from .conftest import make_nuclei


def test_unet_any_size_and_config():
    torch.manual_seed(0)
    net = UNet(1, 3, (4, 8, 8)).eval()
    for shape in [(1, 1, 37, 53), (2, 1, 64, 64)]:
        y = net(torch.zeros(shape))
        assert y.shape == (shape[0], 3, *shape[2:])
    assert UNet(**net.config()).config() == net.config()
    with pytest.raises(ValueError):
        UNet(1, 3, (4,))


def test_folded_batch_norms_give_the_same_logits():
    torch.manual_seed(0)
    net = UNet(1, 3, (4, 8, 16))
    net.train()
    for _ in range(3):  # move the running statistics away from their initial values
        net(torch.rand(2, 1, 32, 32) * 3 + 1)
    net.eval()
    fast = net.for_inference()
    x = torch.rand(1, 1, 45, 37)
    with torch.no_grad():
        assert torch.allclose(fast(x), net(x), atol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # the original is untouched


def test_tiled_prediction_matches_whole_image():
    torch.manual_seed(0)
    net = UNet(1, 3, (4, 8)).eval()
    x = np.random.default_rng(0).random((150, 133)).astype(np.float32)
    whole = predict_maps(net, x, tile=None)
    tiled = predict_maps(net, x, tile=64, overlap=24)
    assert whole.shape == (3, 150, 133)
    assert np.abs(whole - tiled).max() < 1e-3
    assert tile_starts(100, 40, 10)[0] == 0 and tile_starts(100, 40, 10)[-1] == 60
    assert tile_starts(30, 40, 10) == [0]


def test_tta_is_deterministic_and_same_shape():
    torch.manual_seed(0)
    net = UNet(1, 3, (4, 8)).eval()
    x = np.random.default_rng(1).random((40, 48)).astype(np.float32)
    a = predict_maps(net, x, tile=None, tta=True)
    b = predict_maps(net, x, tile=None, tta=True)
    assert a.shape == (3, 40, 48) and np.array_equal(a, b)


def test_normalize_image_range_and_dtypes():
    img, _ = make_nuclei()
    out = normalize_image(img)
    assert out.dtype == np.float32
    assert np.percentile(out, 1) == pytest.approx(0, abs=1e-3)
    assert np.percentile(out, 99.8) == pytest.approx(1, abs=1e-3)
    flat = np.full((20, 20), 7, np.uint8)
    assert np.isfinite(normalize_image(flat)).all()
    with pytest.raises(ValueError):
        normalize_image(np.zeros((2, 3, 4)))


def test_targets_separate_touching_nuclei():
    lab = np.zeros((20, 30), np.uint16)
    lab[5:15, 2:15] = 1
    lab[5:15, 15:28] = 2  # touches object 1
    d = instance_distance(lab)
    assert d[10, 14] == 1 and d[10, 15] == 1  # rim on both sides of the contact
    t = make_targets(lab, boundary_width=2)
    assert t.shape == (3, 20, 30)
    assert t[0].sum() == (lab > 0).sum()
    assert t[1][10, 14] == 1 and t[1][10, 8] == 0
    assert t[2].max() == pytest.approx(1.0) and t[2][lab == 0].max() == 0


def test_small_object_weights_cover_small_nuclei_and_their_ring_only():
    lab = np.zeros((40, 40), np.uint16)
    lab[5:25, 5:25] = 1  # 400 px: above the reference area, weight 1
    lab[30:33, 30:33] = 2  # 9 px: 300 / 9 = 33.3, capped at 20
    lab[30:35, 5:10] = 3  # 25 px: weight 300 / 25 = 12
    w = small_object_weights(lab, reference_area=300, max_weight=20, ring=2)
    assert w.dtype == np.float32 and w.shape == lab.shape
    assert np.all(w[lab == 1] == 1)
    assert np.all(w[lab == 2] == 20)
    assert np.all(w[lab == 3] == pytest.approx(12.0))
    assert w[30, 28] == 20 and w[30, 27] == 1  # ring of 2 px (cross-shaped dilation), not 3
    assert w[28, 31] == 20 and w[27, 31] == 1
    assert np.all(small_object_weights(lab, reference_area=0) == 1)
    assert np.all(small_object_weights(np.zeros((5, 5), np.uint16), reference_area=300) == 1)


def test_weighted_loss_counts_heavy_pixels_more():
    torch.manual_seed(0)
    task = NucleiSegmenter(widths=[4, 8])
    logits = torch.zeros(1, 3, 8, 8)
    target = torch.zeros(1, 3, 8, 8)
    target[:, 0, :2, :2] = 1  # four foreground pixels the zero logits get wrong by log(2)
    uniform = task.compute_loss(logits, target)
    weight = torch.ones(1, 1, 8, 8)
    weight[:, 0, :2, :2] = 5.0
    weighted = task.compute_loss(logits, torch.cat([target, weight], dim=1))
    # BCE at logit 0 is log 2 everywhere, so any weighting leaves the mean at log 2 ...
    assert float(uniform["bce_fg"]) == pytest.approx(np.log(2), rel=1e-6)
    assert float(weighted["bce_fg"]) == pytest.approx(np.log(2), rel=1e-6)
    # ... and a pixel-wise difference shows the weights at work
    logits[:, 0] = 3.0  # right on the four foreground pixels, wrong everywhere else
    u = float(task.compute_loss(logits, target)["bce_fg"])
    wtd = float(task.compute_loss(logits, torch.cat([target, weight], dim=1))["bce_fg"])
    good, bad = np.log1p(np.exp(-3.0)), np.log1p(np.exp(3.0))
    assert u == pytest.approx((4 * good + 60 * bad) / 64, rel=1e-5)
    assert wtd == pytest.approx((20 * good + 60 * bad) / 80, rel=1e-5)


@pytest.mark.parametrize("touching", [False, True])
def test_watershed_on_oracle_maps_recovers_instances(touching):
    _, lab = make_nuclei(shape=(128, 128), n=10, seed=3, touching=touching)
    t = make_targets(lab)
    pred = instances_from_maps(t[0], t[1], t[2], PostprocessParams(min_size=5))
    assert pred.dtype == np.uint16
    pooled, _ = evaluate_instances(lab, pred, thresholds=[0.9])
    assert pooled["f1"].iloc[0] == 1.0


def test_seedless_components_are_kept_and_small_removed():
    fg = np.zeros((30, 30), np.float32)
    fg[2:10, 2:10] = 1  # no seed (distance low everywhere)
    fg[20:22, 20:22] = 1  # 4 px, below min_size
    dist = np.zeros_like(fg)
    out = instances_from_maps(fg, np.zeros_like(fg), dist, PostprocessParams(min_size=10))
    assert out.max() == 1 and (out == 1).sum() == 64


def test_normalize_floor_follows_effective_bit_depth():
    rng = np.random.default_rng(0)
    noise8 = rng.integers(10, 13, (50, 50)).astype(np.uint8)  # empty 8-bit field
    assert normalize_image(noise8).max() < 1.0  # floor 0.02*255 keeps noise dim
    noise12 = rng.integers(1000, 1003, (50, 50)).astype(np.uint16)  # empty 12-bit in uint16
    assert normalize_image(noise12).max() < 0.1  # floor 0.02 * 4095
    bright12 = noise12.copy()
    bright12[10:30, 10:30] = 4000  # 12-bit nuclei are stretched to ~1, not to 3000/65535
    assert normalize_image(bright12).max() == pytest.approx(1.0, abs=0.01)


def test_to_gray_keeps_one_channel_and_never_averages_stains():
    from ferroscreen.segment.images import to_gray

    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 4000, (2, 20, 30)).astype(np.uint16)
    assert to_gray(a) is not None and to_gray(a[None]).shape == (20, 30)
    np.testing.assert_array_equal(to_gray(np.dstack([a, a, a])), a)  # grayscale stored as RGB
    np.testing.assert_array_equal(to_gray(np.dstack([a, a, a, np.full_like(a, 65535)])), a)  # alpha ignored
    for stack in (np.stack([a, b]), np.dstack([a, b, a]), np.stack([a, b, a, b, a])):
        with pytest.raises(ValueError, match="--channel-index"):
            to_gray(stack)
    np.testing.assert_array_equal(to_gray(np.stack([a, b]), channel=1), b)
    np.testing.assert_array_equal(to_gray(np.dstack([a, b, a]), channel=1), b)
    with pytest.raises(ValueError, match="out of range"):
        to_gray(np.stack([a, b]), channel=2)
    with pytest.raises(ValueError, match="at most 16"):
        to_gray(rng.integers(0, 9, (20, 30, 25)))


def test_colour_png_channels_are_read_in_rgb_order(tmp_path):
    import cv2

    from ferroscreen.segment.images import read_image

    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[..., 0], rgb[..., 2] = 200, 7  # red bright, blue dim
    cv2.imwrite(str(tmp_path / "c.png"), rgb[..., ::-1])  # OpenCV writes BGR
    assert read_image(tmp_path / "c.png", channel=0).max() == 200 and read_image(tmp_path / "c.png", channel=2).max() == 7
    rgba = np.dstack([rgb, np.full((10, 12), 255, np.uint8)])
    cv2.imwrite(str(tmp_path / "c4.png"), rgba[..., [2, 1, 0, 3]])
    assert read_image(tmp_path / "c4.png", channel=0).max() == 200
