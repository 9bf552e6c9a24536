"""Knockdown hit calling on plates too small to be their own null: calibrated p-values, and warnings that say so.

Null screens (no gene has an effect; 12 % log-normal well noise on a Poisson count) generated here, many library
plates of two replicates each in one call, so the share of p below 0.05 is measured over hundreds of genes.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import knockdown
from ferroscreen.analysis.hits_run import run_hits
from ferroscreen.analysis.knockdown import bscore, call_hits
from ferroscreen.plate import make_layout, rowcol_to_well


def null_screen(n_libraries=1, genes=19, wells_per_gene=1, n_nt=4, n_replicates=2, seed=0, effect=None,
                saturate_nt=None):
    """Wells and layout of ``n_libraries`` 96-well library plates, each read in ``n_replicates`` plates.

    Each library plate holds ``genes`` genes of ``wells_per_gene`` wells, then ``n_nt`` non-targeting and four
    PLK1 (pos_ctrl) wells, filled row by row from A01 (19 genes and 4 NT fill rows A and B). ``effect`` maps a
    gene (``L01G00``) to its count fold change; ``saturate_nt`` reads every non-targeting well as that count.
    """
    rng = np.random.default_rng(seed)
    effect = effect or {}
    layout_rows, rows = [], []
    for lib in range(1, n_libraries + 1):
        pid = f"L{lib:02d}"
        names = [f"{pid}G{g:02d}" for g in range(genes) for _ in range(wells_per_gene)]
        names += ["Non-targeting"] * n_nt + ["PLK1"] * 4
        for i, name in enumerate(names):
            role = {"Non-targeting": "neg_ctrl", "PLK1": "pos_ctrl"}.get(name, "sample")
            layout_rows.append({"plate_id": pid, "well": rowcol_to_well(i // 12, i % 12), "compound": name,
                                "role": role})
    layout = make_layout(layout_rows, 96)
    for rep in range(1, n_replicates + 1):
        for r in layout_rows:
            mu = 6.0 if r["compound"] == "PLK1" else 60.0 * effect.get(r["compound"], 1.0)
            n = rng.poisson(mu * 9 * np.exp(rng.normal(0, 0.12)))
            if saturate_nt is not None and r["role"] == "neg_ctrl":
                n = saturate_nt
            rows.append({"plate": f"{r['plate_id']}_rep{rep}", "well": r["well"], "n_nuclei": float(n),
                         "area_mean": float(np.exp(rng.normal(np.log(180), 0.06)))})
    return pd.DataFrame(rows), layout


def quiet_hits(wells, layout, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call_hits(wells, layout, **kwargs)


@pytest.mark.parametrize(("genes", "wells_per_gene", "n_nt"), [(19, 1, 4), (6, 3, 6)])
def test_small_plates_scored_against_their_controls_give_calibrated_p_values(genes, wells_per_gene, n_nt):
    # before: z over the few control wells (1.4826 MAD of 4 to 6 values) as N(0, 1): 39 % / 44 % of p below 0.05
    wells, layout = null_screen(n_libraries=40, genes=genes, wells_per_gene=wells_per_gene, n_nt=n_nt)
    res = quiet_hits(wells, layout)
    p = res.genes[["p_count", "p_area"]].to_numpy(float).ravel()
    assert np.isfinite(p).all() and len(p) == 2 * 40 * genes
    assert 0.025 < (p < 0.05).mean() < 0.085
    assert (p < 0.001).mean() < 0.006
    assert not res.genes["hit"].any()
    said = [m for m in res.warnings if "non-targeting wells alone" in m]
    assert len(said) == 80  # one per plate
    assert said[0].startswith(f"plate L01_rep1: {genes * wells_per_gene} sample well(s), fewer than the 20")
    assert f"its {n_nt} non-targeting wells alone" in said[0] and f"{n_nt - 1} degrees of freedom" in said[0]


def test_strong_effects_on_small_plates_are_still_called():
    wells, layout = null_screen(n_nt=6, seed=1, effect={"L01G03": 0.1})
    res = quiet_hits(wells, layout)
    g = res.genes.set_index("gene")
    assert g.loc["L01G03", "hit_count_fdr"] and g.loc["L01G03", "z_count"] < -3
    assert g["hit_count_fdr"].sum() == 1
    from ferroscreen.report.knockdown import _score_said

    assert _score_said(res.params).startswith("robust z (2 plate(s) with too few sample wells scored against their")


def test_control_t_z_is_students_t_as_a_normal_quantile():
    ref = np.array([0.1, -0.2, 0.05, 0.3])
    x = np.array([1.0, np.nan])
    t = (1.0 - ref.mean()) / (ref.std(ddof=1) * np.sqrt(1 + 1 / 4))
    from scipy import stats

    z = knockdown.control_t_z(x, ref)
    assert stats.norm.sf(z[0]) == pytest.approx(stats.t.sf(t, 3))
    assert np.isnan(z[1])
    assert np.isnan(knockdown.control_t_z(x, np.array([0.2, 0.2, 0.2]))).all()


def test_too_few_controls_give_no_z_and_say_so():
    wells, layout = null_screen(n_nt=2)
    res = quiet_hits(wells, layout)
    assert res.genes[["z_count", "p_count", "q_count", "p_area"]].isna().all().all()
    said = [m for m in res.warnings if "no z, p or q" in m]
    assert len(said) == 4 and said[0].startswith("plate L01_rep1, count: 19 sample well(s), fewer than the 20")
    assert "only 2 non-targeting well(s) with a n_nuclei reading (z against the controls takes 3 or more)" in said[0]


def test_saturated_controls_are_said_in_the_warnings_of_hits_json(tmp_path):
    # before: every z, p and q empty, exit 0, "warnings": []
    wells, layout = null_screen(n_replicates=1, saturate_nt=540)
    wells_csv, layout_csv = tmp_path / "wells.csv", tmp_path / "layout.csv"
    wells.to_csv(wells_csv, index=False)
    layout.table.to_csv(layout_csv, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = run_hits([wells_csv], tmp_path / "out", layout_path=[layout_csv], plots=False)
    assert res.genes["p_count"].isna().all() and res.genes["p_area"].notna().all()
    said = json.loads((tmp_path / "out" / "hits.json").read_text())["warnings"]
    mad0 = [m for m in said if "spread is 0" in m]
    assert mad0 == [
        "plate L01_rep1, count: 19 sample well(s), fewer than the 20 that make a plate its own null, and its 4 "
        "non-targeting wells all read the same n_nuclei (540; a saturated or capped readout?), so their spread is "
        "0: no z, p or q from this plate; its genes are called here by the fold-change thresholds alone"]
    assert any(m.startswith("plate L01_rep1, area: 19 sample well(s)") for m in said)


def test_sample_wells_of_one_reading_on_a_big_plate_are_said():
    wells, layout = null_screen(genes=80)
    on_top = wells["well"].isin([rowcol_to_well(i // 12, i % 12) for i in range(60)])
    wells.loc[on_top, "n_nuclei"] = 600.0  # a capped count: most sample wells read the cap
    res = quiet_hits(wells, layout)
    said = [m for m in res.warnings if "MAD" in m]
    assert len(said) == 2 and said[0].startswith("plate L01_rep1, count: half or more of its 80 sample wells share "
                                                 "one n_nuclei reading")
    assert res.genes["p_count"].isna().all()


def test_big_plates_keep_robust_z_over_their_sample_wells():
    wells, layout = null_screen(genes=80, n_nt=8)
    res = quiet_hits(wells, layout)
    assert not any("non-targeting wells alone" in m for m in res.warnings)
    w = res.wells[res.wells["plate"] == "L01_rep1"]
    sample = w["role"] == "sample"
    lfc = w["log2fc_count"]
    med = lfc[sample].median()
    mad = 1.4826 * (lfc[sample] - med).abs().median()
    np.testing.assert_allclose(w["z_count"], (lfc - med) / mad)


def test_bscore_on_a_partly_filled_plate_falls_back_to_z():
    # 24 genes fill rows A and B: before, median polish over 2-well columns gave B-scores of about +-10 from
    # null data and called genes at fold change 1.06 with p 1e-39
    wells, layout = null_screen(n_libraries=3, genes=24, seed=3)
    res = quiet_hits(wells, layout, use_bscore=True)
    said = [m for m in res.warnings if "no B-score" in m]
    assert len(said) == 6 and said[0].startswith(
        "plate L01_rep1: no B-score: 12 of the 12 columns holding its sample wells hold fewer than 3 of them")
    assert said[0].endswith("its wells are scored by z instead")
    assert res.wells["b_count"].isna().all()
    assert res.genes["z_count"].abs().max() < 5 and res.genes["p_count"].min() > 1e-4
    assert not res.genes["hit"].any()
    # the report says what the calls rest on: the B-score asked for, every plate fallen back to z
    from ferroscreen.report.knockdown import _score_said

    assert set(res.params["plate_scores"]["L01_rep1"].values()) == {"z"}
    assert _score_said(res.params) == "B-score (6 plate(s) by robust z (no B-score))"


def test_bscore_refuses_sparse_grids_and_leaves_structural_zeros_out_of_its_mad():
    rng = np.random.default_rng(0)
    r, c = np.meshgrid(np.arange(2), np.arange(12), indexing="ij")
    v = pd.Series(rng.normal(0, 1, 24))
    assert bscore(v, pd.Series(r.ravel()), pd.Series(c.ravel())).isna().all()
    assert "fewer than 3" in knockdown.bscore_problem(v, pd.Series(r.ravel()), pd.Series(c.ravel()))
    # 3 rows: the polish sets each column's median to exactly 0, a third of the residuals; with them in the
    # MAD, 26 % of null B-scores passed |b| > 1.96
    r, c = np.meshgrid(np.arange(3), np.arange(12), indexing="ij")
    rows, cols = pd.Series(r.ravel()), pd.Series(c.ravel())
    b = np.concatenate([bscore(pd.Series(rng.normal(0, 1, 36)), rows, cols).to_numpy() for _ in range(100)])
    assert 0.03 < (np.abs(b) > 1.96).mean() < 0.1
    # 3 x 3: most residuals are exactly 0
    r, c = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    v = pd.Series(rng.normal(0, 1, 9))
    assert "exactly 0" in knockdown.bscore_problem(v, pd.Series(r.ravel()), pd.Series(c.ravel()))
