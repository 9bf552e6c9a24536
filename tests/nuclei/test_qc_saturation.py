"""The ``saturated`` QC flag sees clipping at a camera's ceiling (12-bit data in 16-bit files) and plateaus."""

import numpy as np
import pandas as pd
import pytest

from ferroscreen.segment.qc import field_qc_metrics, flag_fields, saturated_fraction

from .conftest import make_nuclei


def _flags(image):
    labels = make_nuclei(seed=3)[1]
    m = field_qc_metrics(image, labels)
    row = pd.DataFrame([{**m, "n_nuclei": int(labels.max())}])
    return m["saturated_fraction"], flag_fields(row).loc[0, "qc_flags"]


def _twelve_bit(gain):
    """A 12-bit camera frame in a uint16 array: nuclei at 200 + 3000 * gain, clipped at 4095."""
    img = make_nuclei(seed=3)[0].astype(float)
    return np.clip((img - 200) * gain + 200, 0, 4095).astype(np.uint16)


def test_12_bit_frame_clipped_at_4095_is_flagged():
    img = _twelve_bit(gain=4.0)
    share = float(np.mean(img == 4095))
    assert img.dtype == np.uint16 and 0.02 < share < 0.3
    frac, flags = _flags(img)
    assert frac == pytest.approx(share) and "saturated" in flags


def test_unclipped_12_bit_frame_is_not_flagged():
    img = _twelve_bit(gain=1.0)  # brightest pixel ~3300: well under the ceiling
    assert img.max() < 4095
    frac, flags = _flags(img)
    assert frac == 0.0 and "saturated" not in flags
    img[50, 50] = 4095  # one hot pixel at the ceiling: a tiny share, not flagged
    frac, flags = _flags(img)
    assert frac == pytest.approx(1 / img.size) and "saturated" not in flags


@pytest.mark.parametrize("ceiling", [1023, 16383])
def test_other_camera_ceilings(ceiling):
    img = np.full((50, 50), 100, np.uint16)
    img[:5] = ceiling  # 10 %
    assert saturated_fraction(img) == pytest.approx(0.1)


def test_plateau_below_any_known_ceiling_is_saturated_and_flat_frames_are_not():
    rng = np.random.default_rng(0)
    img = rng.integers(100, 3000, (100, 100)).astype(np.uint16)
    img[:3] = 3000  # a pile-up at the frame's maximum (a ceiling after offset subtraction, say)
    assert saturated_fraction(img) == pytest.approx(0.03)
    assert saturated_fraction(np.full((40, 40), 100, np.uint16)) == 0.0  # flat: not clipped
    assert saturated_fraction(np.zeros((40, 40), np.uint8)) == 0.0  # black
    assert saturated_fraction(np.full((40, 40), 0.5, np.float32)) == 0.0
    dim = np.repeat(np.arange(10, dtype=np.uint8), 100).reshape(40, 25)  # few grey levels, even histogram:
    dim[0, :5] = 10  # its top holds 0.5 %, fewer than the level under it: the tail, not a pile-up
    assert saturated_fraction(dim) == 0.0
    floats = rng.random((100, 100)).astype(np.float32)
    assert saturated_fraction(floats) == 0.0  # one brightest pixel
    floats[:2] = 1.0  # above every random value
    assert saturated_fraction(floats) == pytest.approx(0.02)


def test_dtype_maximum_still_counts():
    img = np.zeros((20, 20), np.uint16)
    img[:4] = 65535
    assert saturated_fraction(img) == pytest.approx(0.2)
