"""call_hits reads a wells table's own roles as a layout's, and refuses thresholds that are no such numbers."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.analysis.knockdown import call_hits
from ferroscreen.plate import rowcol_to_well


def _wells(seed=1):
    """Two replicate 96-well plates, column 1 non-targeting, G005 planted at a third of the nuclei."""
    rng = np.random.default_rng(seed)
    rows = []
    for rep in (1, 2):
        for r in range(8):
            for c in range(12):
                gene, role = ("non-targeting", "neg_ctrl") if c == 0 else (f"G{r * 12 + c:03d}", "sample")
                n = 400 * np.exp(rng.normal(0, 0.1)) * (0.3 if gene == "G005" else 1)
                rows.append({"plate": f"LIB01_rep{rep}", "well": rowcol_to_well(r, c), "gene": gene, "role": role,
                             "n_nuclei": round(n), "area_mean": 200.0 * np.exp(rng.normal(0, 0.05))})
    return pd.DataFrame(rows)


def _calls(wells, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call_hits(wells, **kwargs)


@pytest.mark.parametrize("spelling", [str.title, str.upper])
def test_roles_in_any_case_call_the_same_genes(spelling):
    w = _wells()
    base = _calls(w)
    other = _calls(w.assign(role=w["role"].map(spelling)))  # Sample, Neg_Ctrl / SAMPLE, NEG_CTRL
    assert len(base.genes) == 88
    pd.testing.assert_frame_equal(other.genes, base.genes)
    assert set(other.wells["role"]) == {"sample", "neg_ctrl"}


def test_role_spellings_of_layout_files_are_read():
    w = _wells()
    aliased = w.assign(role=np.where(w["role"] == "neg_ctrl", "Negative control", "Treatment"))
    pd.testing.assert_frame_equal(_calls(aliased).genes, _calls(w).genes)
    bare = w.assign(role=np.where(w["role"] == "neg_ctrl", "Control", "sample"))  # 'control' on non-targeting
    pd.testing.assert_frame_equal(_calls(bare).genes, _calls(w).genes)


@pytest.mark.parametrize("role", ["siRNA", "test"])
def test_unknown_roles_are_refused_naming_them(role):
    w = _wells()
    w.loc[w["role"] == "sample", "role"] = role
    with pytest.raises(AnalysisInputError) as err:
        _calls(w, source="screen.csv")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("screen.csv: column 'role': unknown role(s)")
    assert f"'{role}' (row 3 and 175 more row(s))" in msg and "neg_ctrl" in msg


def test_a_bare_control_on_a_gene_is_refused():
    w = _wells()
    w.loc[w["gene"] == "G005", "role"] = "control"
    with pytest.raises(AnalysisInputError, match=r"'control' \(row 7 and 1 more row\(s\); on gene\(s\) G005"):
        _calls(w)


def test_empty_role_cells_stay_sample_wells_said():
    w = _wells()
    w.loc[w["gene"] == "G005", "role"] = "  "
    result = _calls(w)
    assert "G005" in set(result.genes["gene"])
    assert any("have no role" in m for m in result.warnings)


def test_a_layout_gives_the_roles_not_the_table():
    from ferroscreen.plate import make_layout

    w = _wells()
    layout = make_layout([{"plate_id": "LIB01", "well": r.well, "compound": r.gene, "role": r.role}
                          for r in w[w["plate"] == "LIB01_rep1"].itertuples()], 96)
    result = _calls(w.assign(role="siRNA").drop(columns="gene"), layout=layout)  # the table's roles are unused
    assert len(result.genes) == 88


@pytest.mark.parametrize(("name", "value", "said"), [
    ("count_threshold", 50, "count_threshold 50 is not a fold change in (0, 1]"),
    ("count_threshold", 0, "count_threshold 0 is not a fold change in (0, 1]"),
    ("lethal_threshold", 10, "lethal_threshold 10 is not a fold change in (0, 1]"),
    ("area_threshold", 0.5, "area_threshold 0.5 is not a fold change of 1 or more"),
    ("fdr", 5, "fdr 5 is not a false discovery rate in (0, 1]"),
    ("fdr", -1, "fdr -1 is not a false discovery rate in (0, 1]"),
    ("fdr", 0, "fdr 0 is not a false discovery rate in (0, 1]"),
    ("fdr", math.nan, "fdr nan is not a false discovery rate in (0, 1]"),
    ("z_threshold", -3, "z_threshold -3 is not a |z| of 0 or more"),
    ("z_threshold", math.inf, "z_threshold inf is not a |z| of 0 or more"),
    ("count_threshold", "0.5", "count_threshold '0.5' is not a number"),
])
def test_bad_thresholds_are_refused_naming_the_argument(name, value, said):
    with pytest.raises(AnalysisInputError) as err:
        _calls(_wells(), **{name: value})
    assert str(err.value).startswith(said) and "\n" not in str(err.value)


def test_a_percent_count_threshold_is_one_line_from_the_cli(tmp_path, run_main):
    """``hits --count-threshold 50`` (a percent): one line naming the argument, no traceback, no output folder."""
    _wells().to_csv(tmp_path / "wells.csv", index=False)
    out = tmp_path / "hits"
    code, _, err = run_main("hits", tmp_path / "wells.csv", "--out", out, "--no-plots", "--count-threshold", "50")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "count_threshold 50 is not a fold change in (0, 1]" in err
    assert not out.exists()
