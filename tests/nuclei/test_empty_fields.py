"""Fields without cells (camera noise only: a lethal knockdown) count 0 nuclei and are flagged ``empty``.

The percentile stretch before the network makes pure noise look like dim nuclei; the shipped
model found 1-12 "nuclei" in such 512 px fields (hundreds when resampled x2) before objects
were checked against the raw image's background noise.
"""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage as ndi

from ferroscreen.segment.features import field_features, object_table, well_features
from ferroscreen.segment.postprocess import background_noise, drop_faint_objects, object_contrast
from ferroscreen.segment.qc import field_qc_metrics, flag_fields

from .conftest import SHARED

AITS = SHARED / "aits_trainval"


def _noise(kind: str, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    r = np.random.default_rng(seed)
    if kind == "u8 8+poisson(3)":  # Cellomics-like 8-bit field
        return (8 + r.poisson(3, shape)).astype(np.uint8)
    if kind == "u16 100+gauss(5)":  # camera bias 100, read noise
        return np.clip(100 + r.normal(0, 5, shape), 0, None).astype(np.uint16)
    if kind == "u16 100+poisson(30)":  # bias + background shot noise
        return (100 + r.poisson(30, shape)).astype(np.uint16)
    raise ValueError(kind)


@pytest.fixture(scope="module")
def model():
    from ferroscreen.segment.predict import NucleiModel

    return NucleiModel.from_name("nuclei-aits")


def _field_row(image, labels, **extra) -> dict:
    return {**extra, **field_features(object_table(labels, image)), **field_qc_metrics(image, labels)}


@pytest.mark.parametrize(
    ("kind", "size", "scale"),
    [
        ("u8 8+poisson(3)", 320, 1.0),
        ("u8 8+poisson(3)", 320, 2.0),  # small Cellomics nuclei: the network sees the noise upsampled
        ("u16 100+gauss(5)", 384, 1.0),
        ("u16 100+poisson(30)", 384, 1.0),
    ],
)
def test_noise_field_has_no_nuclei_and_is_flagged_empty(model, kind, size, scale):
    img = _noise(kind, (size, size), seed=1)
    labels = model.segment(img, scale=scale)
    assert labels.max() == 0
    flagged = flag_fields(pd.DataFrame([_field_row(img, labels)]))
    assert flagged.loc[0, "qc_flags"] == "empty"


def _disk_field(noise_kind: str, centres, radius=20, amplitude=60.0, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """A noise field with blurred bright disks (nucleus-sized for the shipped model, ~44 px across)."""
    img = _noise(noise_kind, (320, 320), seed).astype(np.float64)
    yy, xx = np.mgrid[:320, :320]
    truth = np.zeros((320, 320), np.uint16)
    for i, (cy, cx) in enumerate(centres, start=1):
        truth[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = i
    img += ndi.gaussian_filter((truth > 0).astype(float), 2.0) * amplitude
    dtype = np.uint8 if noise_kind.startswith("u8") else np.uint16
    return np.clip(img, 0, np.iinfo(dtype).max).astype(dtype), truth


@pytest.mark.parametrize(("noise_kind", "amplitude"), [("u8 8+poisson(3)", 40.0), ("u16 100+poisson(30)", 300.0)])
def test_sparse_field_keeps_its_few_nuclei(model, noise_kind, amplitude):
    img, truth = _disk_field(noise_kind, [(80, 90), (230, 220)], amplitude=amplitude)
    labels = model.segment(img)
    assert labels.max() == 2
    for i in (1, 2):  # each found where it is
        assert np.bincount(labels[truth == i]).argmax() > 0
    flagged = flag_fields(pd.DataFrame([_field_row(img, labels)]))
    assert flagged.loc[0, "qc_flags"] == ""


@pytest.mark.skipif(not (AITS / "split.csv").is_file(), reason="no shared Aits data")
def test_real_aits_crops_keep_their_counts(model):
    """Dim Aits fields (8-bit as imaged, and as 16-bit with a camera bias of 100): same count as unfiltered."""
    from ferroscreen.segment.images import read_image

    raw = replace(model.postprocess, min_contrast=0.0, field_contrast=0.0)
    name = "MFGTMPcx7_170702090001_C16f04d0.png"
    crop = read_image(AITS / "images" / name)[400:784, 400:784]
    crop16 = (100 + crop.astype(np.float64) * 16 + np.random.default_rng(0).normal(0, 5, crop.shape)).astype(np.uint16)
    for img in (crop, crop16):
        before = model.segment(img, params=raw)
        after = model.segment(img)
        assert before.max() >= 4 and after.max() == before.max()


@pytest.mark.skipif(not (AITS / "split.csv").is_file(), reason="no shared Aits data")
def test_one_real_nucleus_in_a_noise_field_stays_and_the_noise_goes(model):
    """One Aits nucleus pasted into 8-bit noise: unfiltered, the stretched noise gave 7 more objects."""
    from ferroscreen.segment.images import read_image

    stem = "MFGTMPcx7_170702090001_C16f04d0"
    im = read_image(AITS / "images" / f"{stem}.png")
    gt = read_image(AITS / "masks" / f"{stem}.tif")
    slices = ndi.find_objects(gt)
    lid = next(i for i, sl in enumerate(slices, 1) if sl is not None and all(s.start > 10 and s.stop < 1094 for s in sl))
    sl = tuple(slice(s.start - 6, s.stop + 6) for s in slices[lid - 1])
    keep = ndi.binary_dilation(gt[sl] == lid, iterations=3)
    field = (8 + np.random.default_rng(0).poisson(3, (512, 512))).astype(np.float64)
    h, w = keep.shape
    region = field[60 : 60 + h, 80 : 80 + w]
    region[keep] = np.maximum(im[sl].astype(np.float64)[keep], region[keep])
    field = field.astype(np.uint8)
    labels = model.segment(field)
    assert labels.max() == 1
    assert labels[60 : 60 + h, 80 : 80 + w][gt[sl] == lid].mean() > 0


def test_background_noise_of_8_and_16_bit_fields_with_offsets_and_shading():
    level, sd = background_noise(_noise("u16 100+gauss(5)", (256, 256)))
    assert level == pytest.approx(100, abs=1) and sd == pytest.approx(5, rel=0.1)
    level, sd = background_noise(_noise("u8 8+poisson(3)", (256, 256)))  # not quantised to 1.48 as a MAD is
    assert level == pytest.approx(11, abs=1) and sd == pytest.approx(np.sqrt(3), rel=0.15)
    shaded = _noise("u16 100+gauss(5)", (256, 256)).astype(np.float64) + np.linspace(0, 60, 256)[None, :]
    assert background_noise(shaded.astype(np.uint16))[1] == pytest.approx(5, rel=0.15)  # shading is not noise
    confluent = np.ones((64, 64), np.uint16)
    confluent[:4, :4] = 0
    assert np.isnan(background_noise(np.ones((64, 64), np.uint8), confluent)[1])  # under 100 background pixels
    assert background_noise(np.full((64, 64), 7, np.uint16))[1] > 0  # a flat field: the rounding floor


def test_drop_faint_objects_by_contrast():
    img = _noise("u16 100+gauss(5)", (128, 128)).astype(np.float64)
    labels = np.zeros((128, 128), np.uint16)
    labels[10:30, 10:30] = 1  # +50 = 10 sd: a nucleus
    labels[60:80, 60:80] = 2  # +5 = 1 sd: noise
    labels[100:120, 10:30] = 3  # +15 = 3 sd: kept beside a real nucleus
    for i, add in ((1, 50), (2, 5), (3, 15)):
        img[labels == i] += add
    img = img.astype(np.uint16)
    c = object_contrast(labels, img)
    assert c[0] == pytest.approx(10, rel=0.2) and c[1] == pytest.approx(1, abs=0.5)
    kept = drop_faint_objects(labels, img)
    assert kept.max() == 2 and (kept[labels == 2] == 0).all() and (kept[labels == 1] > 0).all()
    # without the bright nucleus, nothing is clearly above the noise: the field is empty
    dim = np.where(labels == 1, 0, labels)
    assert drop_faint_objects(dim, img.astype(np.float64) - 50 * (labels == 1)).max() == 0
    # a confluent field leaves no background to compare against: kept as it is
    full = np.ones((30, 30), np.uint16)
    assert drop_faint_objects(full, np.zeros((30, 30), np.uint8)).max() == 1


def test_empty_flag_from_contrast_keeps_the_count_and_wells_count_empty_fields():
    """Labels with objects that are all noise (e.g. read back from an earlier run) are flagged, not dropped;
    a well of empty fields counts 0 nuclei (a lethal knockdown), not a missing value."""
    img = _noise("u8 8+poisson(3)", (128, 128))
    noise_labels = np.zeros((128, 128), np.uint16)
    noise_labels[20:40, 20:40], noise_labels[70:90, 70:90] = 1, 2
    nuclei, _ = _disk_field("u8 8+poisson(3)", [(100, 100)], amplitude=60.0)
    truth = np.zeros((320, 320), np.uint16)
    yy, xx = np.mgrid[:320, :320]
    truth[(yy - 100) ** 2 + (xx - 100) ** 2 <= 400] = 1
    rows = [
        _field_row(img, noise_labels, plate="P1", well="A01", field=1),
        _field_row(img, np.zeros_like(noise_labels), plate="P1", well="A01", field=2),
        _field_row(nuclei, truth, plate="P1", well="A02", field=1),
        _field_row(nuclei, truth, plate="P1", well="A02", field=2),
    ]
    assert rows[0]["contrast_max"] < 1 and rows[2]["contrast_max"] > 20 and np.isnan(rows[1]["contrast_max"])
    flagged = flag_fields(pd.DataFrame(rows))
    assert list(flagged["qc_flags"]) == ["empty", "empty", "", ""]
    assert list(flagged["n_nuclei"]) == [2, 0, 1, 1]  # flagged, never dropped
    wells = well_features(flagged).set_index("well")
    assert wells.loc["A01", "n_nuclei"] == 2 and wells.loc["A01", "qc_flags"] == "empty:2"
    assert wells.loc["A02", "n_nuclei"] == 2 and wells.loc["A02", "n_fields_flagged"] == 0
