"""DeathModeNet.predict_proba refuses crops it would misread: raw integer pixels, another channel count."""

from __future__ import annotations

import pytest
import torch

from ferroscreen.models.death_mode_net import DeathModeNet

S = 24


@pytest.fixture(scope="module")
def next_scan_net() -> DeathModeNet:
    """A network trained for the cell and its next two scans (3 channels)."""
    torch.manual_seed(0)
    return DeathModeNet("resnet18", 4, "none", input_size=32, channels=3).eval()


@pytest.mark.parametrize("shape", [(2, 1, S, S), (2, S, S), (2, 2, S, S)])
def test_a_next_scan_network_refuses_fewer_channels_saying_expected_and_given(next_scan_net, shape):
    given = 1 if len(shape) == 3 else shape[1]
    with pytest.raises(ValueError, match=rf"reads 3 crop channel\(s\).*got {given} "):
        next_scan_net.predict_proba(torch.rand(shape))
    with pytest.raises(ValueError, match="reads 3 crop channel"):
        next_scan_net.for_inference().predict_proba(torch.rand(shape))  # the folded copy score runs


def test_the_channels_it_was_trained_for_are_read(next_scan_net):
    p = next_scan_net.predict_proba(torch.rand(2, 3, S, S))
    assert p.shape == (2, 4)
    torch.testing.assert_close(p.sum(1), torch.ones(2))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int16, torch.int64, torch.bool])
def test_integer_crops_are_refused_as_not_normalised(next_scan_net, dtype):
    crops = (torch.rand(2, 3, S, S) * 255).to(dtype)
    with pytest.raises(ValueError, match=r"crops must be float in \[0, 1\].*normalis"):
        next_scan_net.predict_proba(crops)


def test_without_a_recorded_channel_count_one_to_three_are_read_and_others_refused():
    net = DeathModeNet("resnet18", 4, "none", input_size=32).eval()
    for c in (1, 2, 3):
        assert net.predict_proba(torch.rand(2, c, S, S)).shape == (2, 4)
    with pytest.raises(ValueError, match=r"reads 1-3 crop channel\(s\).*got 5"):
        net.predict_proba(torch.rand(2, 5, S, S))
    with pytest.raises(ValueError, match="must be float"):
        net.predict_proba(torch.zeros(2, S, S, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(B, S, S\) or \(B, C, S, S\)"):
        net.predict_proba(torch.rand(S, S))
    with pytest.raises(TypeError, match=r"torch.Tensor, got ndarray \(torch.from_numpy"):
        net.predict_proba(torch.rand(2, S, S).numpy())
    with pytest.raises(ValueError, match="1-3 crop channels, got channels=4"):
        DeathModeNet("resnet18", 4, "none", input_size=32, channels=4)
