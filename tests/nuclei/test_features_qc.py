import numpy as np
import pandas as pd
import pytest

from ferroscreen.segment.features import field_features, object_table, well_features
from ferroscreen.segment.qc import field_qc_metrics, flag_fields


def test_object_table_and_field_features_known_disks():
    lab = np.zeros((50, 50), np.uint16)
    yy, xx = np.mgrid[:50, :50]
    lab[(yy - 20) ** 2 + (xx - 20) ** 2 <= 25] = 1  # disk, r=5
    lab[0:4, 40:50] = 2  # rectangle touching the border
    img = np.where(lab == 1, 100, 10).astype(np.uint16)
    obj = object_table(lab, img)
    assert list(obj["label"]) == [1, 2]
    assert list(obj["touches_border"]) == [False, True]
    assert obj.loc[0, "mean_intensity"] == pytest.approx(100)
    f = field_features(obj)
    assert f["n_nuclei"] == 2 and f["n_border"] == 1
    assert f["area_mean"] == pytest.approx((lab == 1).sum())  # border object excluded
    assert 0.9 < f["solidity_mean"] <= 1 and f["eccentricity_mean"] < 0.3


def test_empty_field_features():
    obj = object_table(np.zeros((10, 10), np.uint16), np.zeros((10, 10)))
    f = field_features(obj)
    assert f["n_nuclei"] == 0 and np.isnan(f["area_mean"])


def _fields(n=10):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "plate": "P1",
            "well": ["A01"] * 5 + ["A02"] * (n - 5),
            "n_nuclei": rng.integers(30, 40, n),
            "n_border": 2,
            "area_mean": 500.0,
            "area_median": 490.0,
            "eccentricity_mean": 0.5,
            "solidity_mean": 0.95,
            "intensity_mean": 1000.0,
            "focus": rng.uniform(0.9, 1.1, n),
            "saturated_fraction": 0.0,
            "foreground_fraction": 0.2,
            "small_object_fraction": 0.05,
        }
    )


def test_flags_never_drop_rows():
    f = _fields()
    f.loc[0, "n_nuclei"] = 0  # empty (lethal knockdown) -> flagged, kept
    f.loc[1, "focus"] = 1e-4  # blurry
    f.loc[2, "saturated_fraction"] = 0.2
    f.loc[3, "small_object_fraction"] = 0.8
    out = flag_fields(f)
    assert len(out) == len(f)
    assert out.loc[0, "qc_flags"] == "empty"
    assert out.loc[1, "qc_flags"] == "focus"
    assert out.loc[2, "qc_flags"] == "saturated"
    assert out.loc[3, "qc_flags"] == "debris"
    assert (out.loc[4:, "qc_flags"] == "").all()
    wells = well_features(out)
    assert list(wells["well"]) == ["A01", "A02"]
    assert wells.loc[0, "n_fields"] == 5 and wells.loc[0, "n_fields_flagged"] == 4
    assert wells.loc[0, "n_nuclei"] == f.loc[:4, "n_nuclei"].sum()
    assert "empty:1" in wells.loc[0, "qc_flags"]
    assert wells.loc[0, "area_mean"] == pytest.approx(500.0)


def test_field_qc_metrics_saturation_and_debris():
    img = np.zeros((20, 20), np.uint8)
    img[:2] = 255  # 10 % saturated
    lab = np.zeros((20, 20), np.uint16)
    lab[5, 5] = 1  # 1-px debris
    lab[10:20, 10:20] = 2
    m = field_qc_metrics(img, lab, debris_area=50)
    assert m["saturated_fraction"] == pytest.approx(0.1)
    assert m["small_object_fraction"] == pytest.approx(0.5)
    assert m["foreground_fraction"] == pytest.approx(101 / 400)


def test_a_failed_field_counts_as_failed_not_as_flagged():
    """wells.csv: n_fields_flagged counted the fields whose image could not be read (its docstring says it does not)."""
    f = flag_fields(_fields())
    f["status"] = "done"
    f.loc[0, ["status", "qc_flags", "n_nuclei"]] = ["failed", "failed", 0]
    wells = well_features(f).set_index("well")
    assert wells.loc["A01", "n_fields_failed"] == 1 and wells.loc["A01", "n_fields_flagged"] == 0
    assert "failed:1" in wells.loc["A01", "qc_flags"]
