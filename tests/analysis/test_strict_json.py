"""JSON files users read are strict JSON: a missing value is ``null``, never a bare ``NaN``."""

from __future__ import annotations

import json
import math
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.hits_run import run_hits
from ferroscreen.json_output import dumps_strict, strict_json_value, write_json
from ferroscreen.plate import make_layout, rowcol_to_well


def _strict_load(text: str):
    """``json.loads`` that refuses ``NaN``/``Infinity`` as jq, JavaScript and R do."""
    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_values_become_null_everywhere():
    value = {"a": float("nan"), "b": [1.0, float("inf"), -np.inf], "c": np.float32("nan"), "d": np.int64(3),
             "e": {"f": (np.nan, pd.NA, pd.NaT, None)}, "g": np.array([1.5, np.nan]), "h": np.bool_(True),
             np.int64(4): Path("/x/y"), "t": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "s": pd.Series([np.nan, 2.0]),
             "o": object}
    out = _strict_load(dumps_strict(value))
    assert out["a"] is None and out["b"] == [1.0, None, None] and out["c"] is None and out["d"] == 3
    assert out["e"] == {"f": [None, None, None, None]} and out["g"] == [1.5, None] and out["h"] is True
    assert out["4"] == "/x/y" and out["t"] == "2024-01-02T03:04:05+00:00" and out["s"] == [None, 2.0]
    assert out["o"] == str(object)
    assert strict_json_value(pd.DataFrame({"x": [np.nan]})) == [{"x": None}]
    assert strict_json_value(math.inf) is None and strict_json_value("NaN") == "NaN"  # text stays text


def test_write_json_writes_a_strict_file(tmp_path):
    path = write_json(tmp_path / "x.json", {"z_prime": float("nan")})
    assert path.read_text().endswith("\n") and _strict_load(path.read_text()) == {"z_prime": None}


def test_hits_json_is_strict_json_when_genes_lack_a_reading(tmp_path):
    """A lethal gene has no nuclei to measure, so no area: hits.json's top genes said NaN, which is not JSON."""
    rng = np.random.default_rng(0)
    rows, lay = [], []
    for plate in ("P_rep1", "P_rep2"):
        for r in range(8):
            for c in range(12):
                well = rowcol_to_well(r, c)
                gene = "non-targeting" if c == 0 else "UBB" if (r, c) == (0, 1) else f"G{r}{c:02d}"
                lethal = gene == "UBB"
                rows.append({"plate": plate, "well": well, "n_nuclei": 0.0 if lethal else 200 * rng.lognormal(0, 0.1),
                             "area_mean": np.nan if lethal else 500 * rng.lognormal(0, 0.05)})
                if plate == "P_rep1":
                    lay.append({"plate_id": "P", "well": well, "compound": gene,
                                "role": "neg_ctrl" if c == 0 else "sample"})
    pd.DataFrame(rows).to_csv(tmp_path / "wells.csv", index=False)
    make_layout(lay, 96).to_csv(tmp_path / "layout.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run_hits(tmp_path / "wells.csv", tmp_path / "out", layout_path=tmp_path / "layout.csv", plots=False)
    text = (tmp_path / "out" / "hits.json").read_text()
    assert "NaN" not in text
    summary = _strict_load(text)
    top = {g["gene"]: g for g in summary["top"]}
    assert top["UBB"]["fc_area"] is None and top["UBB"]["phenotype"] == "lethal"


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_dumps_strict_never_writes_a_bare_constant(value):
    assert dumps_strict([value], indent=None) == "[null]"
