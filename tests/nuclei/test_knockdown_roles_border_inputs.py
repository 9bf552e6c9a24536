"""``segment``/``hits`` as an analyst met them: pos_ctrl flags, written roles, border nuclei, folders, Excel dates."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.hits_inputs import read_hits_input
from ferroscreen.analysis.knockdown import control_qc
from ferroscreen.errors import FerroscreenError, LayoutError
from ferroscreen.plate import make_layout

from .test_hits_bscore_null import kd_screen, quiet


def _qc_wells(n_pos: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 16
    return pd.DataFrame({
        "plate": "P1", "well": [f"B{i + 1:02d}" for i in range(n + n_pos)],
        "role": ["neg_ctrl"] * n + ["pos_ctrl"] * n_pos, "is_control": [True] * n + [False] * n_pos,
        "fc_count": np.r_[rng.normal(1, 0.05, n), rng.normal(0.05, 0.02, n_pos)],
    })


def test_one_pos_ctrl_well_is_flagged_so_not_as_none():
    # before: n_pos_ctrl 1 beside flag no_pos_ctrl, which the README says means "the layout marks no pos_ctrl wells"
    flags = {n: control_qc(_qc_wells(n), ["count"]).iloc[0] for n in (0, 1, 2)}
    assert flags[0]["flags"] == "no_pos_ctrl" and flags[0]["n_pos_ctrl"] == 0
    assert flags[1]["flags"] == "one_pos_ctrl" and flags[1]["n_pos_ctrl"] == 1 and np.isnan(flags[1]["z_prime"])
    assert flags[2]["flags"] == "" and flags[2]["z_prime"] > 0.5


def test_a_plate_with_one_pos_ctrl_well_read_is_warned_and_one_without_any_is_not():
    wells, layout = kd_screen(n_libs=1, seed=2)
    table = layout.table.copy()
    plk1 = table.index[table["compound"] == "PLK1"]
    table.loc[plk1[1:], "role"] = "empty"  # of the eight PLK1 wells one is left
    res = quiet(wells, make_layout(table.to_dict("records"), 384))
    row = res.qc.set_index("readout").loc["count"]
    assert row["flags"] == "one_pos_ctrl" and row["n_pos_ctrl"] == 1
    said = [m for m in res.warnings if "pos_ctrl" in m]
    assert len(said) == 1 and said[0].startswith("plate LIB01_rep1, count: one_pos_ctrl (Z′ not computable (one "
                                                 "pos_ctrl well with a reading; it takes two)")
    unread = wells.assign(n_nuclei=wells["n_nuclei"].where(~wells["well"].isin(table.loc[plk1, "well"])))
    res = quiet(unread, layout)  # eight pos_ctrl wells, none read: flagged and warned
    assert res.qc.set_index("readout").loc["count", "flags"] == "no_pos_ctrl"
    said = [m for m in res.warnings if "pos_ctrl" in m]
    assert len(said) == 1 and said[0].startswith("plate LIB01_rep1, count: no_pos_ctrl (Z′ not computable (no "
                                                 "pos_ctrl well with a reading)")
    table.loc[plk1, "role"] = "empty"  # a library without a lethal control: flagged, not warned
    res = quiet(wells, make_layout(table.to_dict("records"), 384))
    assert res.qc.set_index("readout").loc["count", "flags"] == "no_pos_ctrl"
    assert not [m for m in res.warnings if "pos_ctrl" in m]


def _written(layout, path, changes=None, role=True):
    """``layout`` as a library's CSV ``plate_id,well,gene[,role]``, ``changes``: well -> (gene, role)."""
    t = layout.table.rename(columns={"compound": "gene"})[["plate_id", "well", "gene", "role"]].copy()
    for well, (gene, r) in (changes or {}).items():
        t.loc[t["well"] == well, ["gene", "role"]] = [gene, r]
    t[["plate_id", "well", "gene", "role"] if role else ["plate_id", "well", "gene"]].to_csv(path, index=False)
    return path


def test_a_written_role_sample_wins_over_a_control_sounding_name(tmp_path):
    # before: LUC,sample and Non-targeting,sample wells were taken as non-targeting controls (the latter unsaid)
    from ferroscreen.plate import read_layouts

    wells, layout = kd_screen(n_libs=1, seed=5)
    changes = {"C03": ("Non-targeting", "sample"), "D03": ("Non-targeting", "sample"), "E03": ("LUC", "sample")}
    lay = read_layouts([_written(layout, tmp_path / "library.csv", changes)])
    res = quiet(wells, lay)
    w = res.wells.set_index("well")
    assert not w.loc[["C03", "D03", "E03"], "is_control"].any()
    assert res.params["n_control_wells"] == 32  # columns 2 and 23, as before the rename
    assert {"Non-targeting", "LUC"} <= set(res.genes["gene"])
    said = [n for n in res.notes if "named like non-targeting controls" in n]
    assert said == [f"{tmp_path / 'library.csv'}: 3 well(s) of role sample are named like non-targeting controls "
                    "(Non-targeting (2), LUC (1)): they are sample wells, as the roles say (give them role neg_ctrl "
                    "to normalise by them)"]
    assert not any("taken as non-targeting controls" in n for n in res.notes)  # no reporter note: LUC is a sample


def test_without_written_roles_or_without_neg_ctrl_the_names_still_make_controls(tmp_path):
    from ferroscreen.plate import read_layouts

    wells, layout = kd_screen(n_libs=1, seed=5)
    # a library map without roles: non-targeting names are the controls, as before
    res = quiet(wells, read_layouts([_written(layout, tmp_path / "map.csv", role=False)]))
    assert res.params["n_control_wells"] == 32
    assert not any("named like non-targeting controls" in n for n in res.notes)
    # roles written, but none neg_ctrl (the controls written sample): names decide, said in one line
    t = layout.table.rename(columns={"compound": "gene"})
    nt = t.index[t["role"] == "neg_ctrl"]
    t.loc[nt, "gene"], t.loc[nt, "role"] = "LUC", "sample"
    t[["plate_id", "well", "gene", "role"]].to_csv(tmp_path / "noneg.csv", index=False)
    res = quiet(wells, read_layouts([tmp_path / "noneg.csv"]))
    assert res.params["n_control_wells"] == 32
    said = [n for n in res.notes if "the roles name no neg_ctrl well" in n]
    assert said == [f"{tmp_path / 'noneg.csv'}: plate(s) LIB01_rep1: the roles name no neg_ctrl well, so the wells "
                    "named like non-targeting controls are taken as them, their role sample aside (LUC (32)); give "
                    "the control wells role neg_ctrl"]


def test_a_wells_table_role_column_is_written_roles_and_empty_cells_go_by_name():
    wells, layout = kd_screen(n_libs=1, seed=5)
    table = wells.merge(layout.table[["well", "compound", "role"]], on="well").rename(columns={"compound": "gene"})
    table.loc[table["well"] == "C03", ["gene", "role"]] = ["NT", "sample"]
    table.loc[table["well"] == "D03", ["gene", "role"]] = ["NT", None]
    res = quiet(table, None)
    w = res.wells.set_index("well")
    assert not w.loc["C03", "is_control"] and w.loc["D03", "is_control"]


def _label_field(n_inner: int, n_border: int) -> np.ndarray:
    """A 400 x 400 label image: ``n_inner`` 10 x 10 nuclei inside, ``n_border`` cut by its top edge."""
    labels = np.zeros((400, 400), np.int32)
    k = 1
    for i in range(n_inner):
        r, c = divmod(i, 8)
        labels[40 + 40 * r:50 + 40 * r, 40 + 40 * c:50 + 40 * c] = k
        k += 1
    for i in range(n_border):
        labels[0:6, 20 + 40 * i:30 + 40 * i] = k
        k += 1
    return labels


def test_the_minimum_of_nuclei_for_an_area_counts_the_nuclei_it_is_measured_on():
    # before: 22 nuclei of which 8 touch the border passed the minimum of 20, the area taken over the other 14
    from ferroscreen.segment.features import field_features, object_table, well_features

    f = field_features(object_table(_label_field(14, 8)))
    assert (f["n_nuclei"], f["n_border"], f["n_area_nuclei"]) == (22, 8, 14)
    assert f["area_mean"] == 100.0  # the 14 whole nuclei, not the cut ones of 60 px
    assert field_features(object_table(_label_field(0, 3)))["n_area_nuclei"] == 3  # none inside: all of them
    fields = pd.DataFrame([{"plate": "P", "well": "A01", **f}, {"plate": "P", "well": "A02", **f},
                           {"plate": "P", "well": "A02", **f}, {"plate": "P", "well": "A03",
                                                                 **field_features(object_table(_label_field(0, 3)))}])
    wells = well_features(fields).set_index("well")
    assert wells["n_area_nuclei"].tolist() == [14, 28, 3] and wells["n_nuclei"].tolist() == [22, 44, 3]

    screen, layout = kd_screen(n_libs=1, seed=6)
    screen["n_area_nuclei"] = screen["n_nuclei"]
    thin = screen["well"] == "C05"
    screen.loc[thin, ["n_nuclei", "n_area_nuclei"]] = [22, 14]
    res = quiet(screen, layout)
    w = res.wells.set_index("well")
    assert "few_nuclei" in w.loc["C05", "qc_flags"] and np.isnan(w.loc["C05", "fc_area"])
    said = [n for n in res.notes if "few_nuclei" in n]
    assert len(said) == 1 and said[0].startswith("1 well(s) hold fewer than 20 nuclei measured (n_area_nuclei: "
                                                 "those off the image border) (LIB01_rep1 C05)")
    res = quiet(screen.drop(columns="n_area_nuclei"), layout)  # a table without it: the well's count, as before
    assert "few_nuclei" not in res.wells.set_index("well").loc["C05", "qc_flags"]


def _segment_folder(path, wells):
    path.mkdir()
    wells.to_csv(path / "wells.csv", index=False)
    (path / "segment.json").write_text(json.dumps({"model": "nuclei-aits"}))
    return path


def test_hits_reads_a_segment_output_folder_as_its_wells_csv(tmp_path, run_main):
    # before: "error: segA: is a folder, not a wells table or plate-reader export"
    wells, layout = kd_screen(n_libs=1, seed=7)
    seg = _segment_folder(tmp_path / "segA", wells)
    layout.to_csv(tmp_path / "library.csv")
    loaded = read_hits_input([seg], None)
    assert loaded.where == str(seg / "wells.csv") and len(loaded.wells) == len(wells)
    assert loaded.notes == [f"{seg}: a segment run's folder: reading its wells.csv"]
    code, out, err = run_main("hits", seg, "--layout", tmp_path / "library.csv", "--out", tmp_path / "o",
                              "--no-plots")
    assert code == 0, err
    assert f"{seg}: a segment run's folder: reading its wells.csv" in out.splitlines()
    assert (tmp_path / "o" / "genes.csv").is_file()


def test_a_folder_that_is_no_segment_run_with_wells_says_what_to_pass(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(FerroscreenError) as exc:
        read_hits_input([tmp_path / "images"], None)
    assert str(exc.value) == (f"{tmp_path / 'images'}: is a folder, not a wells table or plate-reader export; pass "
                              "the wells.csv of a segment run of a plate (or its folder), a CellProfiler or Harmony "
                              "export, or a plate-reader export")
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "segment.json").write_text("{}")
    with pytest.raises(FerroscreenError, match=r"loose: a segment run's folder without a wells.csv \(its images had "
                                               r"no plate and well: loose images\); pass the wells.csv"):
        read_hits_input([loose], None)


def test_an_excel_date_in_a_gene_column_is_refused_naming_the_column_not_a_compound(tmp_path):
    # before: "... cell C3: a date (2026-03-01) where a compound name belongs" for a column 'Gene Symbol'
    import openpyxl

    from ferroscreen.plate import read_layout

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Library"
    sheet.append(["Plate", "Well", "Gene Symbol"])
    sheet.append(["LIB01", "A01", "TP53"])
    sheet.append(["LIB01", "A02", datetime.datetime(2026, 3, 1)])
    book.save(tmp_path / "library.xlsx")
    with pytest.raises(LayoutError) as exc:
        read_layout(tmp_path / "library.xlsx")
    assert str(exc.value).startswith(f"{tmp_path / 'library.xlsx'}: sheet 'Library' cell C3 (column 'Gene Symbol'): "
                                     "a date (2026-03-01) where a name belongs (a gene's or compound's); Excel turns "
                                     "names such as MARCH1")
    assert "compound name" not in str(exc.value)
