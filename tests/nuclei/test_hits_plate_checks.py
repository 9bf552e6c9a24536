"""``ferroscreen hits`` plate checks: inverted or failed controls, edge effects, few nuclei, unread wells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.knockdown import call_hits
from ferroscreen.analysis.qc import plate_qc
from ferroscreen.errors import FerroscreenError

from .test_hits_bscore_null import kd_screen, quiet


def count_row(res, plate):
    return res.qc[(res.qc["plate"] == plate) & (res.qc["readout"] == "count")].iloc[0]


def test_pos_ctrl_above_the_non_targeting_wells_is_an_inverted_window():
    # before: NT wells of 1-3 nuclei against PLK1 at ~150 passed with Z' 0.6 and SSMD +8 (|gap| alone)
    wells, layout = kd_screen(n_libs=1, n_reps=3, seed=3, nt_factor={"LIB01_rep3": 0.001})
    res = quiet(wells, layout)
    row = count_row(res, "LIB01_rep3")
    assert "inverted_window" in row["flags"].split(";")
    assert np.isnan(row["z_prime"]) and np.isnan(row["robust_z_prime"]) and row["ssmd"] > 0
    said = [m for m in res.warnings if m.startswith("plate LIB01_rep3, count: inverted_window")]
    assert len(said) == 1 and "pos_ctrl wells read above the non-targeting wells, the two bands apart" in said[0]
    good = count_row(res, "LIB01_rep1")
    assert good["flags"] == "" and good["z_prime"] > 0.5


def test_compound_plate_qc_flags_an_inverted_window_and_keeps_its_statistics():
    rng = np.random.default_rng(0)
    rows = []
    for plate, swapped in (("P1", False), ("P2", True)):
        for i in range(16):
            ref = i >= 8
            dead_ref = ref != swapped  # P2: the "reference" wells read like vehicle and the vehicle dies
            rows.append({"plate": plate, "well": f"B{i + 2:02d}", "role": "reference" if ref else "vehicle",
                         "mode": "ferroptosis" if ref else "",
                         "frac_dead": (0.8 if dead_ref else 0.05) * (1 + rng.normal(0, 0.05)),
                         "n_cells_end": (100 if dead_ref else 1000) * (1 + rng.normal(0, 0.03))})
    qc = plate_qc(pd.DataFrame(rows), ["dead"], (16, 24)).set_index(["plate", "readout"])
    assert qc.loc[("P1", "frac_dead"), "flags"] == "" and qc.loc[("P1", "n_cells_end"), "flags"] == ""
    assert qc.loc[("P1", "frac_dead"), "pass"] and qc.loc[("P1", "n_cells_end"), "pass"]
    for readout in ("frac_dead", "n_cells_end"):
        assert qc.loc[("P2", readout), "flags"] == "inverted_window" and not qc.loc[("P2", readout), "pass"]
        # the statistics themselves as before: the same window size on both plates
        assert qc.loc[("P2", readout), "z_prime"] == pytest.approx(qc.loc[("P1", readout), "z_prime"], abs=0.2)


def test_controls_far_off_the_plates_own_wells_are_flagged():
    # before: LIB01_rep3's NT wells at 0.35x gave its samples a median fold change of 2.8, said nowhere
    wells, layout = kd_screen(n_libs=1, n_reps=3, seed=4, nt_factor={"LIB01_rep3": 0.35})
    res = quiet(wells, layout)
    row = count_row(res, "LIB01_rep3")
    assert row["flags"] == "controls_off" and row["median_sample_fc"] == pytest.approx(2.86, rel=0.1)
    said = [m for m in res.warnings if "controls_off" in m]
    assert len(said) == 1 and said[0].startswith("plate LIB01_rep3, count: controls_off: its sample wells' median "
                                                 f"reads {row['median_sample_fc']:.2f}x its non-targeting")
    assert "1.5x either way" in said[0]
    assert count_row(res, "LIB01_rep1")["flags"] == "" and count_row(res, "LIB01_rep2")["flags"] == ""


def test_a_plate_whose_controls_read_nothing_is_left_out_not_fatal():
    # before: "plate LIB01_rep3: median n_nuclei of control wells is 0 (not above 0)" stopped the whole run
    planted = {"L1G010": (0.3, 1.0)}
    wells, layout = kd_screen(n_libs=1, n_reps=3, seed=5, effects=planted, nt_factor={"LIB01_rep3": 0.0})
    res = quiet(wells, layout)
    qc = res.qc[res.qc["plate"] == "LIB01_rep3"]
    assert (qc["flags"] == "no_control_signal").all()
    said = [m for m in res.warnings if "no_control_signal" in m]
    assert said[0].startswith("plate LIB01_rep3, count: no_control_signal: median n_nuclei of control wells is 0")
    assert "takes no part in the calls" in said[0]
    assert res.wells.loc[res.wells["plate"] == "LIB01_rep3", "fc_count"].isna().all()
    genes = res.genes.set_index("gene")
    assert genes.loc["L1G010", "hit"] and genes.loc["L1G010", "n_wells"] == 2
    assert set(genes.index[genes["hit"]]) == set(planted)
    # every plate so: nothing to call, an error naming the first
    silent = wells.assign(n_nuclei=np.where(layout.table.set_index("well").loc[wells["well"], "role"].to_numpy()
                                            == "neg_ctrl", 0, wells["n_nuclei"]))
    with pytest.raises(FerroscreenError, match=r"^no plate's non-targeting wells give a reading of n_nuclei to normalise by "
                                               r"\(plate LIB01_rep1: median n_nuclei of control wells is 0"):
        quiet(silent, layout)
    one = silent[silent["plate"] == "LIB01_rep1"]
    with pytest.raises(FerroscreenError, match=r"^plate LIB01_rep1: median n_nuclei of control wells is 0 "):
        quiet(one, layout)


def test_a_lethal_gene_has_no_nuclear_size_from_a_nucleus_or_two():
    # before: wells of 0, 1 and 1 nuclei, the one nucleus large, called lethal+larger_nuclei (fc_area 1.75)
    wells, layout = kd_screen(n_libs=1, n_reps=3, seed=6, effects={"L1G020": (0.3, 1.0)})
    well = layout.table.set_index("compound").loc["L1G030", "well"]
    at = wells["well"] == well
    wells.loc[at, "n_nuclei"] = [0, 1, 1]
    wells.loc[at, "area_mean"] = [np.nan, 700.0, 700.0]
    res = quiet(wells, layout)
    g = res.genes.set_index("gene").loc["L1G030"]
    assert g["phenotype"] == "lethal" and np.isnan(g["fc_area"]) and not g["hit_area_fdr"]
    assert "few_nuclei" in g["qc_flags"].split(";")
    w = res.wells[res.wells["well"] == well]
    assert w["fc_area"].isna().all() and (w["area_mean"].dropna() == 700.0).all()  # the reading itself is kept
    assert any("fewer than 20 nuclei" in n and "flag few_nuclei" in n for n in res.notes)
    assert res.genes.set_index("gene").loc["L1G020", "phenotype"] == "fewer_nuclei"  # full wells keep their area


def test_one_unread_well_does_not_make_a_consistent_hit_discordant():
    # before: the NaN well compared as "not below 0.5" and the gene read failed;discordant
    wells, layout = kd_screen(n_libs=1, n_reps=3, seed=7, effects={"L1G040": (0.3, 1.0), "L1G041": (0.3, 1.0)})
    well = layout.table.set_index("compound").loc["L1G040", "well"]
    at = (wells["well"] == well) & (wells["plate"] == "LIB01_rep2")
    wells["qc_flags"] = np.where(at, "failed:16", "")
    wells.loc[at, ["n_nuclei", "area_mean"]] = np.nan
    genes = quiet(wells, layout).genes.set_index("gene")
    assert genes.loc["L1G040", "qc_flags"] == "failed" and genes.loc["L1G040", "n_wells"] == 2
    assert genes.loc["L1G040", "hit"]
    # a real disagreement between read wells still is one
    well = layout.table.set_index("compound").loc["L1G041", "well"]
    wells.loc[(wells["well"] == well) & (wells["plate"] == "LIB01_rep2"), "n_nuclei"] = 1900
    assert quiet(wells, layout).genes.set_index("gene").loc["L1G041", "qc_flags"] == "discordant"


def test_edge_effects_are_flagged_per_plate_and_suggest_bscore():
    # before: rows A and P at 0.55x gave a screen of false count hits there, said nowhere
    wells, layout = kd_screen(n_libs=1, n_reps=3, seed=8, edge={"LIB01_rep2": 0.55})
    res = quiet(wells, layout)
    row = count_row(res, "LIB01_rep2")
    assert "edge_effect" in row["flags"].split(";") and row["edge_ratio"] == pytest.approx(0.55, abs=0.08)
    said = [m for m in res.warnings if "edge_effect" in m]
    assert len(said) == 1 and said[0].startswith("plate LIB01_rep2, count: edge_effect: the median of its sample "
                                                 "wells on row A 0.")
    assert "on row P" in said[0] and "--bscore removes row and column effects" in said[0]
    for plate in ("LIB01_rep1", "LIB01_rep3"):
        assert "edge_effect" not in count_row(res, plate)["flags"]
        assert 0.9 < count_row(res, plate)["edge_ratio"] < 1.1
    # the one plate alone, and with --bscore: said the B-scores correct it
    alone = wells[wells["plate"] == "LIB01_rep2"]
    assert "edge_effect" in count_row(quiet(alone, layout), "LIB01_rep2")["flags"]
    said = [m for m in quiet(alone, layout, use_bscore=True).warnings if "edge_effect" in m]
    assert "its B-scores remove row and column effects" in said[0]


def test_replicate_tables_without_a_plate_column_say_how_to_fix(tmp_path, run_main):
    wells, layout = kd_screen(n_libs=1, n_reps=3, seed=9)
    files = []
    for plate, g in wells.groupby("plate"):
        files.append(tmp_path / f"{plate}.csv")
        g.drop(columns="plate").to_csv(files[-1], index=False)
    layout.to_csv(tmp_path / "layout.csv")
    code, _, err = run_main("hits", *files, "--layout", tmp_path / "layout.csv", "--out", tmp_path / "o",
                            "--no-plots")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: well A01 has 3 rows (one expected; {files[0]} line 2); these 3 tables have no "
                          f"'plate' column, so all their rows are read as one plate: add a 'plate' column naming "
                          f"each row's plate")
    with pytest.raises(FerroscreenError, match="the table has no 'plate' column"):
        call_hits(wells.drop(columns="plate"), layout)
