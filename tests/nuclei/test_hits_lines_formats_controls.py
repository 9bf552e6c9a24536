"""hits on plates that lack a line of values, mix plate formats, lack their control rows, or repeat replicate names.

Was: ``--bscore`` died with a KeyError when no sample well of a row or column had a value; a run of 96- and 384-well
plates judged every plate's edge as a 384-well plate's; a plate whose non-targeting rows were missing from the data
refused the run, telling the user to fix a right layout; ``fdr`` 1 was refused though the CLI takes it; the note on a
one-plate layout over two libraries said the plates do not name their replicates, though they do.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.knockdown import ThresholdError, bscore, call_hits
from ferroscreen.errors import FerroscreenError
from ferroscreen.plate import make_layout, rowcol_to_well


def _plate(name, rng, shape=(8, 12), lethal=(), along_rows=False, edge=1.0):
    """One plate's wells and layout rows: column 1 non-targeting, one gene per other well (or per row)."""
    wells, layout = [], []
    lib = name.split("_")[0]
    for r in range(shape[0]):
        for c in range(shape[1]):
            if c == 0:
                gene, role = "non-targeting", "neg_ctrl"
            else:
                gene, role = (f"{lib}_G{r:02d}" if along_rows else f"{lib}_G{r * shape[1] + c:03d}"), "sample"
            outer = r in (0, shape[0] - 1) or c == shape[1] - 1
            mu = 300 * (0.0 if gene in lethal else 1.0) * (edge if outer and c > 0 else 1.0)
            n = int(rng.poisson(rng.gamma(20, mu / 20))) if mu > 0 else 0
            well = rowcol_to_well(r, c)
            wells.append({"plate": name, "well": well, "n_nuclei": n,
                          "area_mean": 150 * np.exp(rng.normal(0, 0.04)) if n else np.nan})
            layout.append({"plate_id": lib, "well": well, "compound": gene, "role": role})
    return wells, layout


def _screen(names=("LIB01_rep1", "LIB01_rep2"), seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    wells, rows = [], {}
    for name in names:
        w, lay = _plate(name, rng, **kwargs)
        wells += w
        rows.update({(r["plate_id"], r["well"]): r for r in lay})
    return pd.DataFrame(wells), make_layout(list(rows.values()), 384)


def _calls(wells, layout, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call_hits(wells, layout, **kwargs)


def test_bscore_of_a_grid_leaves_out_a_row_without_values():
    rng = np.random.default_rng(3)
    r, c = (a.ravel() for a in np.meshgrid(np.arange(8), np.arange(11), indexing="ij"))
    values = pd.Series(rng.normal(size=r.size))
    values[r == 7] = np.nan
    full = bscore(values, pd.Series(r), pd.Series(c))
    kept = r < 7
    alone = bscore(values[kept].reset_index(drop=True), pd.Series(r[kept]), pd.Series(c[kept]))
    assert full[r == 7].isna().all()
    np.testing.assert_allclose(full[kept].to_numpy(), alone.to_numpy())


@pytest.mark.parametrize("gap", ["row H area", "column 7 count", "lethal gene along row D"])
def test_bscore_calls_a_plate_with_a_line_of_no_values_without_it(gap):
    if gap == "lethal gene along row D":  # no nuclei, so no area, along a row
        wells, layout = _screen(along_rows=True, lethal=("LIB01_G03",))
        empty, key = wells["well"].str.startswith("D") & (wells["well"] != "D01"), "area"
    else:
        wells, layout = _screen()
        col, key = ("area_mean", "area") if gap.startswith("row") else ("n_nuclei", "count")
        line = wells["well"].str.startswith("H") if key == "area" else wells["well"].str.endswith("07")
        empty = (wells["plate"] == "LIB01_rep1") & line & (wells["well"] != "H01")
        wells.loc[empty, col] = np.nan
    result = _calls(wells, layout, use_bscore=True)
    assert result.params["plate_scores"]["LIB01_rep1"][key] == "b"  # B-scored without the line, not by z
    b = result.wells.set_index(["plate", "well"])[f"b_{key}"]
    on = pd.MultiIndex.from_frame(wells.loc[empty, ["plate", "well"]])
    assert b[on].isna().all()
    sample = result.wells[(result.wells["role"] == "sample") & (result.wells["plate"] == "LIB01_rep1")]
    others = sample[~pd.MultiIndex.from_frame(sample[["plate", "well"]]).isin(on)]
    assert np.isfinite(others[f"b_{key}"]).all()


def test_mixed_96_and_384_well_plates_have_their_own_edges():
    rng = np.random.default_rng(5)
    small, small_layout = _plate("SMALL_rep1", rng, edge=0.6)  # rows A and H and column 12 at 0.6x
    big, big_layout = _plate("BIG_rep1", rng, shape=(16, 24))
    mixed = _calls(pd.DataFrame(small + big), make_layout(small_layout + big_layout, 384))
    alone = _calls(pd.DataFrame(small), make_layout(small_layout, 96))
    qc = mixed.qc.set_index(["plate", "readout"])
    assert qc.loc[("SMALL_rep1", "count"), "edge_ratio"] == pytest.approx(
        alone.qc.set_index("readout").loc["count", "edge_ratio"])
    assert "edge_effect" in qc.loc[("SMALL_rep1", "count"), "flags"]
    said = next(m for m in mixed.warnings if m.startswith("plate SMALL_rep1, count: edge_effect"))
    assert "row H" in said and "column 12" in said


def test_a_plate_missing_its_control_rows_is_left_out_as_one_with_unread_controls():
    wells, layout = _screen(names=("LIB01_rep1", "LIB01_rep2", "LIB01_rep3"))
    lost = (wells["plate"] == "LIB01_rep3") & wells["well"].str.endswith("01")
    dropped = _calls(wells[~lost], layout)
    unread = _calls(wells.assign(n_nuclei=wells["n_nuclei"].where(~lost), area_mean=wells["area_mean"].where(~lost)),
                    layout)
    pd.testing.assert_frame_equal(dropped.genes, unread.genes)
    assert dropped.params["plate_scores"]["LIB01_rep3"] == {"count": "none", "area": "none"}
    flags = dropped.qc.set_index(["plate", "readout"])["flags"]
    assert flags[("LIB01_rep3", "count")] == flags[("LIB01_rep3", "area")] == "no_control_signal"
    assert any(m.startswith("plate LIB01_rep3: no_control_signal: the layout's 8 non-targeting well(s) (A01, B01, "
                            "C01, D01, E01, F01 and 2 more) have no rows in the data") for m in dropped.warnings)
    with pytest.raises(FerroscreenError, match="plate LIB01_rep1: the layout's 8 non-targeting well"):
        _calls(wells[~wells["well"].str.endswith("01") | (wells["well"] == "A10")], layout)  # every plate so


def test_a_layout_without_control_wells_is_still_refused():
    wells, layout = _screen()
    layout.table["role"] = "sample"
    layout.table["compound"] = layout.table["compound"].replace({"non-targeting": "GENEX"})
    with pytest.raises(FerroscreenError, match="no non-targeting control wells .* role neg_ctrl in the layout"):
        _calls(wells, layout)


def test_fdr_1_is_a_bh_level():
    wells, layout = _screen()
    result = _calls(wells, layout, fdr=1)
    g = result.genes
    np.testing.assert_array_equal(g["hit_count_fdr"], (g["q_count"] < 1) & (g["z_count"] <= -3))
    with pytest.raises(ThresholdError, match=r"^fdr 1.5 is not a false discovery rate in \(0, 1\]"):
        _calls(wells, layout, fdr=1.5)


def test_threshold_errors_from_the_cli_name_no_file(tmp_path, run_main):
    wells, layout = _screen()
    wells.to_csv(tmp_path / "wells.csv", index=False)
    code, _, _ = run_main("hits", tmp_path / "wells.csv", "--out", tmp_path / "o", "--no-plots", "--fdr", "1",
                          "--layout", _layout_csv(layout, tmp_path))
    assert code == 0
    code, _, err = run_main("hits", tmp_path / "wells.csv", "--out", tmp_path / "o2", "--no-plots",
                            "--count-threshold", "50", "--layout", tmp_path / "layout.csv")
    assert code == 2 and err.strip() == ("error: count_threshold 50 is not a fold change in (0, 1]: the share of the "
                                         "controls' count (or viability) below which a gene is a hit, 0.5 for half; "
                                         "not a percent")


def _layout_csv(layout, tmp_path):
    path = tmp_path / "layout.csv"
    layout.table[["plate_id", "well", "compound", "role"]].to_csv(path, index=False)
    return path


def test_a_one_plate_layout_over_two_libraries_says_why_it_numbers_the_plates():
    wells, _ = _screen(names=("LIB01_rep1", "LIB01_rep2", "LIB02_rep1", "LIB02_rep2"))
    _, one = _screen(names=("LIB01_rep1",))
    result = _calls(wells, one)
    note = next(n for n in result.notes if n.startswith("replicate of each plate"))
    assert "do not name theirs" not in note
    assert note == ("replicate of each plate: LIB01_rep1 1, LIB01_rep2 2, LIB02_rep1 3, LIB02_rep2 4; the one plate "
                    "of the layout (LIB01) is every data plate's map, and their names give replicate 1 more than once "
                    "(LIB01_rep1 and LIB02_rep1), so the 4 plates are numbered in the order of their names (a layout "
                    "plate per library plate keeps the names' replicates)")
    unnamed = _calls(wells.assign(plate=wells["plate"].map({"LIB01_rep1": "A", "LIB01_rep2": "B",
                                                            "LIB02_rep1": "C", "LIB02_rep2": "D"})), one)
    note = next(n for n in unnamed.notes if n.startswith("replicate of each plate"))
    assert note.endswith("where the plates of a library plate do not name theirs (_rep1, _rep2) they are numbered in "
                         "the order of their names")
