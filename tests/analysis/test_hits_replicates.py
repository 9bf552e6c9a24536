"""Replicates of a knockdown screen: which plate is which replicate, and how far replicates agree.

Small generated 96-well screens: column 1 non-targeting, 88 genes per library plate, replicate plates
named as labs name them (``LIB01_rep2``) or not at all.
"""

from __future__ import annotations

import json
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.hits_run import run_hits
from ferroscreen.analysis.knockdown import call_hits, replicate_concordance, replicate_in_name
from ferroscreen.errors import FerroscreenError
from ferroscreen.plate import make_layout, rowcol_to_well

matplotlib.use("Agg")

LETHAL = ("UBB", "POLR2A", "PSMA1", "RPL3")


def screen(libraries=("LIB01", "LIB02"), plates=None, null_spread=0.0, seed=0, layout_replicates=None):
    """Wells of replicate plates and the layout of their library plates.

    ``plates`` maps each data plate to its library plate (default: ``<lib>_rep1`` and ``<lib>_rep2`` of each).
    Library plate ``i`` holds genes ``L{i}G00`` ..., the first library plate also the :data:`LETHAL` genes (0.1 %
    of the nuclei) and ``FBXO5`` (half, larger nuclei). Genes differ by ``null_spread`` (log2 SD, the same in
    every replicate) on top of 10 % noise per well; without it the null genes agree between replicates only by
    chance. ``layout_replicates`` maps a layout plate to its ``replicate`` column (the layout then names data
    plates itself: one layout plate per data plate).
    """
    rng = np.random.default_rng(seed)
    plates = plates or {f"{lib}_rep{r}": lib for lib in libraries for r in (1, 2)}
    genes_of, effect = {}, {}
    for i, lib in enumerate(libraries):
        names = [f"L{i}G{k:02d}" for k in range(88)]
        if i == 0:
            names[:5] = [*LETHAL, "FBXO5"]
        genes_of[lib] = names
        for g in names:
            effect[g] = (0.001, 1.0) if g in LETHAL else (0.5, 1.9) if g == "FBXO5" else (
                2 ** rng.normal(0, null_spread), 1.0)
    layout_rows, rows = [], []
    layout_plates = layout_replicates or {lib: None for lib in libraries}
    for lp, rep in layout_plates.items():
        lib = plates.get(lp, lp)
        for r in range(8):
            for c in range(12):
                well = rowcol_to_well(r, c)
                gene, role = ("non-targeting", "neg_ctrl") if c == 0 else (genes_of[lib][r * 11 + c - 1], "sample")
                row = {"plate_id": lp, "well": well, "compound": gene, "role": role}
                if rep is not None:
                    row["replicate"] = rep
                layout_rows.append(row)
    for plate, lib in plates.items():
        for r in range(8):
            for c in range(12):
                gene = "non-targeting" if c == 0 else genes_of[lib][r * 11 + c - 1]
                fc_c, fc_a = effect.get(gene, (1.0, 1.0))
                rows.append({"plate": plate, "well": rowcol_to_well(r, c),
                             "n_nuclei": 200 * fc_c * rng.lognormal(0, 0.1),
                             "area_mean": 500 * fc_a * rng.lognormal(0, 0.05) if fc_c > 0.01 else np.nan})
    return pd.DataFrame(rows), make_layout(layout_rows, 96)


def _calls(wells, layout, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call_hits(wells, layout, **kw)


def test_replicate_of_a_plate_comes_from_its_name():
    assert replicate_in_name("LIB01_rep2") == ("LIB01", 2)
    assert replicate_in_name("LIB01-R3") == ("LIB01", 3)
    assert replicate_in_name("LIB01.replicate1") == ("LIB01", 1)
    assert replicate_in_name("LIB01_rep3__2017-05-30T15_00_00-Measurement 1") == (
        "LIB01__2017-05-30T15_00_00-Measurement 1", 3)
    assert replicate_in_name("rep2") == ("", 2)
    for name in ("LIB01", "MFGTMPcx7_180101000001", "PLATE_R180101", "LIB01_run2", "REPORTER1"):
        assert replicate_in_name(name) is None, name


def test_concordance_pairs_replicates_across_every_library_plate():
    """Four plates, two library plates x two replicates: every gene of both library plates is compared."""
    wells, layout = screen(null_spread=0.5)
    res = _calls(wells, layout)
    reps = res.wells.groupby("plate")["replicate"].unique().map(list).to_dict()
    assert reps == {"LIB01_rep1": [1], "LIB01_rep2": [2], "LIB02_rep1": [1], "LIB02_rep2": [2]}
    conc = res.concordance.set_index("readout")
    assert conc.loc["count", "n_genes"] == 176  # 88 genes on each library plate (was 88: LIB01 alone)
    assert (conc.loc["count", "replicate_a"], conc.loc["count", "replicate_b"]) == (1, 2)
    assert conc.loc["count", "spearman"] > 0.8  # genes differ by far more than the noise
    assert any(n.startswith("replicate of each plate from its name: LIB01_rep1 1, LIB01_rep2 2, LIB02_rep1 1")
               for n in res.notes)


def test_pearson_over_lethal_genes_says_nothing_spearman_and_pearson_without_them_do():
    """Null genes agree only by chance; four lethal genes alone make Pearson's r look like agreement."""
    wells, layout = screen(libraries=("LIB01",), null_spread=0.0, seed=3)
    conc = _calls(wells, layout).concordance.set_index("readout")
    row = conc.loc["count"]
    assert row["n_genes"] == 88 and row["n_lethal"] == len(LETHAL)
    assert row["pearson"] > 0.95  # the lethal genes at log2 -10
    assert abs(row["pearson_without_lethal"]) < 0.35
    assert abs(row["spearman"]) < 0.4
    assert list(conc.columns[:6]) == ["replicate_a", "replicate_b", "n_genes", "spearman",
                                      "pearson_without_lethal", "n_lethal"]


def test_three_replicates_give_every_pair():
    plates = {f"LIB01_R{r}": "LIB01" for r in (1, 2, 3)}
    wells, layout = screen(libraries=("LIB01",), plates=plates, null_spread=0.5)
    conc = _calls(wells, layout).concordance
    count = conc[conc["readout"] == "count"]
    assert list(zip(count["replicate_a"], count["replicate_b"], strict=True)) == [(1, 2), (1, 3), (2, 3)]
    assert (count["n_genes"] == 88).all()


def test_plates_whose_names_give_no_replicate_are_numbered_per_library_plate():
    plates = {"LIB01_a": "LIB01", "LIB01_b": "LIB01", "LIB02_a": "LIB02", "LIB02_b": "LIB02"}
    wells, layout = screen(plates=plates, null_spread=0.5)
    res = _calls(wells, layout)
    reps = res.wells.groupby("plate")["replicate"].first().to_dict()
    assert reps == {"LIB01_a": 1, "LIB01_b": 2, "LIB02_a": 1, "LIB02_b": 2}  # was 1, 2, 3, 4
    assert res.concordance.set_index("readout").loc["count", "n_genes"] == 176
    said = [n for n in res.notes if n.startswith("replicate of each plate: ")]
    assert len(said) == 1 and "numbered in the order of their names" in said[0]


def test_without_layout_or_names_plates_holding_the_same_genes_are_replicates():
    plates = {"A": "LIB01", "B": "LIB02", "C": "LIB01", "D": "LIB02"}
    wells, layout = screen(plates=plates, null_spread=0.5)
    table = layout.table.rename(columns={"compound": "gene"})
    lib = wells["plate"].map(plates)
    merged = wells.assign(plate_id=lib.to_numpy()).merge(table[["plate_id", "well", "gene", "role"]],
                                                         on=["plate_id", "well"]).drop(columns="plate_id")
    res = _calls(merged, None)
    assert res.wells.groupby("plate")["replicate"].first().to_dict() == {"A": 1, "B": 1, "C": 2, "D": 2}
    conc = res.concordance[res.concordance["readout"] == "count"]
    assert len(conc) == 1 and conc["n_genes"].iloc[0] == 176  # was A against B: no gene in common


def test_the_layout_replicate_column_wins_over_names():
    """One layout plate per data plate, its replicate given: names that say otherwise are not read."""
    plates = {"SCREEN_rep1": "LIB01", "SCREEN_rep2": "LIB01"}
    wells, layout = screen(libraries=("LIB01",), plates=plates, null_spread=0.5,
                           layout_replicates={"SCREEN_rep1": 2, "SCREEN_rep2": 1})
    res = _calls(wells, layout)
    assert res.wells.groupby("plate")["replicate"].first().to_dict() == {"SCREEN_rep1": 2, "SCREEN_rep2": 1}
    assert not any("replicate of each plate" in n for n in res.notes)


def test_concordance_without_replicate_column_falls_back_to_plates():
    wells, layout = screen(libraries=("LIB01",), null_spread=0.5)
    normalised = _calls(wells, layout).wells.drop(columns="replicate")
    conc = replicate_concordance(normalised).set_index("readout")
    assert conc.loc["count", "n_genes"] == 88


def test_one_replicate_draws_no_replicate_plot_and_the_report_no_scatter(tmp_path):
    wells, layout = screen(libraries=("LIB01",), plates={"LIB01_rep1": "LIB01"})
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "replicates.png").write_bytes(b"an earlier run's")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = run_hits(tmp_path / "wells.csv", tmp_path / "out", layout_path=tmp_path / "layout.csv")
    assert not (tmp_path / "out" / "replicates.png").exists()
    assert "replicates.png" not in json.loads((tmp_path / "out" / "hits.json").read_text())["plots"]
    assert (res.concordance["n_genes"] == 0).all() and res.concordance["replicate_a"].isna().all()

    from ferroscreen.report.knockdown import build_hits_report

    html = build_hits_report(tmp_path / "out", tmp_path / "report.html").read_text()
    assert "Replicate agreement" not in html and 'id="concordance-table"' not in html


def test_two_replicates_plot_titled_with_rank_correlation(tmp_path):
    wells, layout = screen(libraries=("LIB01",), null_spread=0.5)
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    from ferroscreen.analysis.hits_run import replicate_figure

    res = _calls(wells, layout)
    fig = replicate_figure(res.wells, res.concordance, "count")
    title = fig.axes[0].get_title()
    spearman = res.concordance.set_index("readout").loc["count", "spearman"]
    assert title.startswith(f"replicates 1 vs 2 (88 genes)\nSpearman {spearman:.2f}, Pearson without the 4 lethal ")


def test_z_prime_warning_says_the_layout_marks_no_pos_ctrl():
    wells, layout = screen(libraries=("LIB01",))
    ctrl = wells["well"].str.endswith("01")
    wells.loc[ctrl, "n_nuclei"] *= np.random.default_rng(1).uniform(0.4, 1.6, int(ctrl.sum()))  # CV above 0.2
    said = [m for m in _calls(wells, layout).warnings if "high_cv" in m]
    assert said and all("Z′ not computable (the layout marks no pos_ctrl wells)" in m for m in said)


def test_duplicate_rows_count_those_of_the_well_and_point_a_fields_table_to_wells_csv():
    wells, layout = screen(libraries=("LIB01",), plates={"P1": "LIB01"})
    fields = pd.concat([wells.assign(field=1), wells.assign(field=2)]).sort_values(["well", "field"])
    with pytest.raises(FerroscreenError) as err:
        call_hits(fields, layout)
    assert "well P1 A01 has 2 rows (one expected; row 2)" in str(err.value)  # was 192: every repeated row
    assert "give the wells.csv beside it" in str(err.value)
    three = pd.concat([wells, wells.iloc[[5, 5]]])
    with pytest.raises(FerroscreenError, match=r"well P1 A06 has 3 rows \(one expected; row 7\)$"):
        call_hits(three, layout)


def test_reporter_sirna_controls_are_taken_and_said():
    wells, layout = screen(libraries=("LIB01",))
    table = layout.table.copy()
    table.loc[table["role"] == "neg_ctrl", ["compound", "role"]] = ["siLuc", "sample"]
    res = _calls(wells, make_layout(table.to_dict("records"), 96))
    assert res.params["n_control_wells"] == 16
    said = [n for n in res.notes if "siLuc (16) are taken as non-targeting controls" in n]
    assert len(said) == 1 and "luciferase or GFP" in said[0]
