import json
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.hits_run import run_hits
from ferroscreen.analysis.knockdown import (
    benjamini_hochberg,
    bscore,
    call_hits,
    layout_runs_along_lines,
    robust_z,
)
from ferroscreen.errors import FerroscreenError
from ferroscreen.plate import make_layout, rowcol_to_well

matplotlib.use("Agg")

PLANTED = {  # gene: (count fold change, area fold change)
    "FBXO5": (0.35, 1.9),
    "CCNA2": (0.4, 1.8),
    "UBB": (0.05, 1.0),
    "POLR2A": (0.06, 1.0),
    "BIGNUC": (1.0, 2.0),
}


def make_screen(seed=0, n_plates=2, genes_along_rows=False):
    """Two replicate 384-well plates: columns 1 and 24 non-targeting, planted hits."""
    rng = np.random.default_rng(seed)
    genes = [g for g in PLANTED] + [f"G{i:04d}" for i in range(16 * 22 - len(PLANTED))]
    rows, layout_rows = [], []
    for p in range(n_plates):
        plate = f"REP{p + 1}"
        order = rng.permutation(len(genes))
        k = 0
        for r in range(16):
            for c in range(24):
                well = rowcol_to_well(r, c)
                if c in (0, 23):
                    gene, role = "non-targeting", "neg_ctrl"
                else:
                    gene = genes[r * 22 + (c - 1)] if genes_along_rows else genes[order[k]]
                    role = "sample"
                    k += 1
                fc_c, fc_a = PLANTED.get(gene, (1.0, 1.0))
                count = max(0, rng.normal(200 * fc_c, 12 * max(fc_c, 0.2)))
                area = rng.normal(500 * fc_a, 20)
                flags = "empty:3" if count < 20 else ""
                rows.append({"plate": plate, "well": well, "n_nuclei": count, "area_mean": area, "qc_flags": flags})
                layout_rows.append(
                    {"plate_id": plate, "well": well, "compound": gene, "role": role, "replicate": p + 1}
                )
    return pd.DataFrame(rows), make_layout(layout_rows, 384)


def test_planted_hits_are_called_and_ranked_first():
    wells, layout = make_screen()
    res = call_hits(wells, layout)
    g = res.genes.set_index("gene")
    for gene in PLANTED:
        assert g.loc[gene, "hit"], gene
    assert g.loc["FBXO5", "hit_count_threshold"] and g.loc["FBXO5", "hit_area_threshold"]
    assert g.loc["UBB", "phenotype"] == "lethal"
    assert g.loc["BIGNUC", "phenotype"] == "larger_nuclei"
    assert g.loc["FBXO5", "phenotype"] == "fewer_nuclei+larger_nuclei"
    assert g.loc["FBXO5", "fc_count"] == pytest.approx(0.35, abs=0.05)
    assert "empty" in g.loc["UBB", "qc_flags"]
    top = set(res.genes.head(len(PLANTED))["gene"])
    assert top == set(PLANTED)
    # false positives at FDR 5 % among ~340 null genes stay rare
    assert res.genes["hit"].sum() <= len(PLANTED) + 3
    conc = res.concordance.set_index("readout")
    assert conc.loc["count", "n_genes"] == 16 * 22
    assert conc.loc["count", "pearson"] > 0.5  # driven by the planted hits
    assert res.params["n_control_wells"] == 64


def test_controls_by_name_without_layout():
    wells, layout = make_screen(n_plates=1)
    merged = wells.merge(layout.table[["well", "compound"]], on="well")
    merged = merged.rename(columns={"compound": "gene"})
    merged["gene"] = merged["gene"].replace({"non-targeting": "NT"})
    res = call_hits(merged)
    assert res.params["n_control_wells"] == 32
    assert res.genes.set_index("gene").loc["POLR2A", "hit"]


def test_missing_controls_is_a_user_error():
    wells, layout = make_screen(n_plates=1)
    wells["gene"] = "GENEX"
    with pytest.raises(FerroscreenError, match="control"):
        call_hits(wells)
    with pytest.raises(FerroscreenError, match="no column"):
        call_hits(wells, layout, count_col="nope")


def test_bscore_warns_when_genes_run_along_rows():
    wells, layout = make_screen(n_plates=1, genes_along_rows=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = call_hits(wells, layout, use_bscore=True)
    assert res.warnings == []
    assert "b_count" in res.wells.columns
    # a layout where each row holds a single gene triggers the warning
    rows = []
    for r in range(8):
        for c in range(12):
            rows.append(
                {
                    "plate_id": "P",
                    "well": rowcol_to_well(r, c),
                    "compound": "non-targeting" if c == 0 else f"GENE{r}",
                    "role": "neg_ctrl" if c == 0 else "sample",
                }
            )
    lay = make_layout(rows, 96)
    w = pd.DataFrame(
        {
            "plate": "P",
            "well": lay.table["well"],
            "n_nuclei": 100.0 + np.arange(96) % 7,
            "area_mean": 400.0 + np.arange(96),
        }
    )
    with pytest.warns(UserWarning, match="genes run along rows"):
        res = call_hits(w, lay, use_bscore=True)
    assert any("rows" in m for m in res.warnings)


def test_layout_runs_along_lines_doses():
    rows = pd.Series(np.repeat(np.arange(4), 6))
    cols = pd.Series(np.tile(np.arange(6), 4))
    genes = pd.Series([f"g{i}" for i in range(24)])
    doses = pd.Series(np.tile(np.logspace(-9, -5, 6), 4))
    assert layout_runs_along_lines(genes, rows, cols, doses) == ["doses run along rows"]
    assert layout_runs_along_lines(genes, rows, cols) == []


def test_robust_z_bh_and_bscore_basics():
    x = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    z = robust_z(x)
    assert z[2] == 0 and z[-1] > 50
    assert np.isnan(robust_z(np.ones(4))).all()
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan, 0.5]))
    np.testing.assert_allclose(q[[0, 1, 2, 4]], [0.04, 0.16 / 3, 0.16 / 3, 0.5], rtol=1e-4)
    assert np.isnan(q[3])
    # additive row/column effects vanish under median polish
    r, c = np.meshgrid(np.arange(8), np.arange(12), indexing="ij")
    v = pd.Series((r * 0.3 + c * 0.2).ravel() + np.random.default_rng(0).normal(0, 0.01, 96))
    v.iloc[5] += 2
    b = bscore(v, pd.Series(r.ravel()), pd.Series(c.ravel()))
    assert abs(b.iloc[5]) > 10 and np.median(np.abs(b)) < 1


def test_run_hits_writes_outputs(tmp_path):
    wells, layout = make_screen()
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    res = run_hits(tmp_path / "wells.csv", tmp_path / "out", layout_path=tmp_path / "layout.csv")
    for name in (
        "genes.csv",
        "wells_normalized.csv",
        "concordance.csv",
        "hits.json",
        "quadrant.png",
        "volcano_count.png",
        "replicates.png",
        "plate_REP1_fc_count.png",
    ):
        assert (tmp_path / "out" / name).is_file(), name
    genes = pd.read_csv(tmp_path / "out" / "genes.csv")
    assert list(genes["rank"]) == list(range(1, len(genes) + 1))
    assert genes["hit"].sum() == res.genes["hit"].sum()


def test_count_defaults_to_nuclei_per_field_so_failed_fields_make_no_hit():
    wells, layout = make_screen()
    wells["n_fields"] = 16
    wells["nuclei_per_field"] = wells["n_nuclei"] / 16
    genes = ["G0001", "G0002", "G0003"]
    gene_of = layout.table.set_index(["plate_id", "well"])["compound"]
    lost = np.array([gene_of[(p, w)] in genes for p, w in zip(wells["plate"], wells["well"], strict=True)])
    assert lost.sum() == 6
    wells.loc[lost, "n_fields"] = 4  # 12 of 16 images unreadable: the total falls to a quarter
    wells.loc[lost, "n_nuclei"] = wells.loc[lost, "nuclei_per_field"] * 4
    res = call_hits(wells, layout)
    assert res.params["count_col"] == "nuclei_per_field"
    g = res.genes.set_index("gene")
    assert not g.loc[genes, "hit"].any()
    by_total = call_hits(wells, layout, count_col="n_nuclei").genes.set_index("gene")
    assert by_total.loc[genes, "hit_count_threshold"].all()  # what the total would have claimed
    assert call_hits(wells.drop(columns="nuclei_per_field"), layout).params["count_col"] == "n_nuclei"


def test_instrument_plate_names_match_layout_barcodes():
    """Cellomics names plates <prefix>_<barcode>; layouts are keyed by the barcode."""
    wells, layout = make_screen()
    expected = call_hits(wells, layout).genes.set_index("gene")["fc_count"]
    wells["plate"] = "MFGTMPcx7_" + wells["plate"]
    got = call_hits(wells, layout).genes.set_index("gene")["fc_count"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index())
    wells["plate"] = wells["plate"] + "_x"
    with pytest.raises(FerroscreenError, match=r"plate\(s\) MFGTMPcx7_REP1_x, MFGTMPcx7_REP2_x of the data find no"):
        call_hits(wells, layout)


def test_layout_csv_with_a_gene_column(tmp_path):
    """A knockdown layout names its treatment 'gene'; non-targeting wells are the controls."""
    wells, layout = make_screen()
    t = layout.table.rename(columns={"compound": "gene"})[["plate_id", "well", "gene"]]
    t.to_csv(tmp_path / "genes.csv", index=False)
    from ferroscreen.plate import read_layout

    res = call_hits(wells, read_layout(tmp_path / "genes.csv"))
    expected = call_hits(wells, layout)
    assert res.params["n_control_wells"] == expected.params["n_control_wells"] == 64
    assert set(res.genes.loc[res.genes["hit"], "gene"]) == set(expected.genes.loc[expected.genes["hit"], "gene"])


def test_hits_reads_one_wells_file_per_plate(tmp_path):
    from typer.testing import CliRunner

    from ferroscreen.cli import app

    wells, layout = make_screen()
    layout.to_csv(tmp_path / "layout.csv")
    files = []
    for plate, part in wells.groupby("plate"):
        files.append(tmp_path / f"{plate}.csv")
        part.to_csv(files[-1], index=False)
    wells.to_csv(tmp_path / "all.csv", index=False)
    runner = CliRunner()
    for name, inputs in (("split", files), ("one", [tmp_path / "all.csv"])):
        args = ["hits", *map(str, inputs), "--layout", str(tmp_path / "layout.csv"), "--out", str(tmp_path / name)]
        res = runner.invoke(app, [*args, "--no-plots"])
        assert res.exit_code == 0, res.output
    split, one = (pd.read_csv(tmp_path / d / "genes.csv") for d in ("split", "one"))
    pd.testing.assert_frame_equal(split, one)
    res = runner.invoke(app, ["hits", str(files[0]), str(files[0]), "--out", str(tmp_path / "x"), "--no-plots"])
    assert isinstance(res.exception, FerroscreenError) and "in more than one of the wells files" in str(res.exception)


def test_excluded_wells_take_no_part_in_normalisation_or_calls():
    """A layout's 'exclude' column: the excluded control well leaves the plate's controls, and the excluded
    sample well leaves its gene (here the only UBB replicate of REP1), which is still called on REP2."""
    wells, layout = make_screen()
    rep1 = wells["plate"] == "REP1"
    spoiled = "A01"  # a control well that read a tenth of the nuclei
    wells.loc[rep1 & (wells["well"] == spoiled), "n_nuclei"] = 20.0
    plain = call_hits(wells, layout)
    ubb_well = layout.table[(layout.table["plate_id"] == "REP1") & (layout.table["compound"] == "UBB")]["well"].iloc[0]
    table = layout.table.assign(exclude="")
    table.loc[(table["plate_id"] == "REP1") & (table["well"] == spoiled), "exclude"] = "bubble"
    table.loc[(table["plate_id"] == "REP1") & (table["well"] == ubb_well), "exclude"] = "yes"
    marked = make_layout(table.to_dict("records"), 384)
    res = call_hits(wells, marked)
    assert res.warnings[0] == (f"2 wells excluded: REP1 {spoiled} (bubble), REP1 {ubb_well} (excluded) "
                               "(no part in normalisation or calls)")
    assert res.params["n_control_wells"] == plain.params["n_control_wells"] - 1
    assert not ((res.wells["plate"] == "REP1") & res.wells["well"].isin([spoiled, ubb_well])).any()
    ubb = res.wells[res.wells["gene"] == "UBB"]
    assert list(ubb["plate"]) == ["REP2"]
    assert res.genes.set_index("gene").loc["UBB", "hit"]  # still called on its other replicate


def test_bad_wells_values_are_user_errors_and_time_courses_take_the_last_scan():
    wells, layout = make_screen(n_plates=1)
    text = wells.astype({"n_nuclei": object})
    text.loc[5, "n_nuclei"] = "abc"
    with pytest.raises(FerroscreenError, match=r"column 'n_nuclei' row 7: 'abc' is not a number"):
        call_hits(text, layout)
    with pytest.raises(FerroscreenError, match=r"column 'area_mean' row 2: .* is negative"):
        call_hits(wells.assign(area_mean=np.r_[-1.0, wells["area_mean"].to_numpy()[1:]]), layout)
    with pytest.raises(FerroscreenError, match="well REP1 A01 has 2 rows"):
        call_hits(pd.concat([wells, wells.iloc[:1]]), layout)
    with pytest.raises(FerroscreenError, match="column 'well' row 4: 'Z99' is not a well name"):
        call_hits(wells.assign(well=wells["well"].where(wells.index != 2, "Z99")), layout)
    timed = pd.concat([wells.assign(time_h=0.0), wells.assign(time_h=48.0)])
    with pytest.raises(FerroscreenError, match="well REP1 A01 at 0.0 h has 2 rows"):  # before the last scan is taken
        call_hits(pd.concat([timed, timed.iloc[:1]]), layout)
    early = wells.assign(time_h=0.0, n_nuclei=wells["n_nuclei"] * 0 + 200.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = call_hits(pd.concat([early, wells.assign(time_h=48.0)]), layout)
    assert "the wells table holds 2 time points; each plate's last (48 h) is used" in res.warnings
    assert any("2 time points" in str(w.message) for w in caught)
    assert res.genes.set_index("gene").loc["POLR2A", "hit"]  # called from the 48 h scan, not the flat 0 h one


def test_plate_qc_judges_the_window_on_the_count_not_the_area():
    """A lethal pos_ctrl (PLK1) moves the count, not nuclear area: the count row gets the window, the area row none."""
    from ferroscreen.analysis.knockdown import control_qc

    rng = np.random.default_rng(0)
    n = 16
    wells = pd.DataFrame({
        "plate": "P1", "role": ["neg_ctrl"] * n + ["pos_ctrl"] * n, "is_control": [True] * n + [False] * n,
        "fc_count": np.r_[rng.normal(1, 0.05, n), rng.normal(0.05, 0.02, n)],
        "fc_area": np.r_[rng.normal(1, 0.05, n), rng.normal(1, 0.05, n)],  # same area: no window to see
    })
    qc = control_qc(wells, ["count", "area"]).set_index("readout")
    assert qc.loc["count", "z_prime"] > 0.5 and qc.loc["count", "flags"] == ""
    assert qc.loc["area", "z_prime"] < 0 and qc.loc["area", "flags"] == ""
    wells["fc_count"] = 1.0 + rng.normal(0, 0.05, 2 * n)  # a control that kills nothing: flagged
    assert "no_window" in control_qc(wells, ["count", "area"]).set_index("readout").loc["count", "flags"]


def test_library_names_of_non_targeting_controls():
    from ferroscreen.analysis.knockdown import NON_TARGETING_NAMES, _is_control

    genes = ["Non-Targeting Pool", "ON-TARGETplus Non-targeting Pool", "Non-Targeting Control", "siNT", "siControl",
             "Scrambled siRNA", "NC", "PLK1", "KIF11", "NTRK1", "SCRN1"]
    df = pd.DataFrame({"gene": genes, "role": ["sample"] * len(genes)})
    assert _is_control(df, NON_TARGETING_NAMES).tolist() == [True] * 7 + [False] * 4


def test_a_library_plate_map_of_another_plate_is_said_by_hits_and_inspect(tmp_path, run_main):
    """LIB02's map given with LIB01's wells: a one-plate layout applies, but hits and inspect say the names differ."""
    from ferroscreen.io.inspection import inspect_path, render_inspection

    wells, layout = make_screen(n_plates=1)
    wells["plate"] = "LIB01"
    layout.table["plate_id"] = "LIB02"
    layout.to_csv(tmp_path / "library.csv")
    wells.to_csv(tmp_path / "wells.csv", index=False)
    args = ["hits", tmp_path / "wells.csv", "--layout", tmp_path / "library.csv", "--no-plots"]
    code, _, err = run_main(*args, "--out", tmp_path / "o")
    assert code == 0
    assert "its one plate is named 'LIB02', yet it is applied to data plate(s) LIB01" in " ".join(err.split())
    text = render_inspection(inspect_path(tmp_path / "wells.csv", layout=tmp_path / "library.csv"))
    assert "its one plate is 'LIB02'; plates of another name it is applied to: LIB01" in text

    wells["plate"] = "LIB02_rep1"  # a replicate of the map's plate: nothing to say
    wells.to_csv(tmp_path / "wells.csv", index=False)
    code, _, err = run_main(*args, "--out", tmp_path / "o2")
    assert code == 0 and "its one plate is named" not in err


def _gene_map(layout, path, rename=None, keep=None):
    """``layout`` written as a library's map, ``plate_id,well,gene`` (no role column): controls are known by name."""
    t = layout.table.rename(columns={"compound": "gene"})[["plate_id", "well", "gene"]]
    if rename:
        t = t.assign(gene=t["gene"].replace(rename))
    if keep is not None:
        t = t[keep(t)]
    t.to_csv(path, index=False)
    return path


VENDOR_CONTROLS = ["AllStars Negative Control", "Silencer Select Negative Control No. 1", "Negative Control No. 2",
                   "siNeg", "NT1", "NT2", "NTC1", "Non-Targeting Control #1", "ON-TARGETplus Non-targeting Pool",
                   "siGENOME Non-Targeting siRNA #2", "MISSION siRNA Universal Negative Control #1", "scr",
                   "allstars negative control", "NEGATIVE CONTROL no.2", "si-NEG", "non_targeting_control_1"]
GENE_SYMBOLS = ["NTN1", "NTRK1", "SCRN1", "NEGR1", "NT5E", "NT5C", "NT5C2", "NTS", "CTRL", "SCRIB", "NCL", "NEK1",
                "PLK1", "KIF11", "AllStars Hs Cell Death Control", "Control", "GC"]


def test_vendor_names_of_non_targeting_controls_are_recognised_and_gene_symbols_are_not():
    from ferroscreen.analysis.knockdown import NON_TARGETING_NAMES, _is_control, is_non_targeting_name

    assert [n for n in VENDOR_CONTROLS if not is_non_targeting_name(n)] == []
    assert [n for n in GENE_SYMBOLS if is_non_targeting_name(n)] == []
    names = VENDOR_CONTROLS + GENE_SYMBOLS
    df = pd.DataFrame({"gene": names, "role": ["sample"] * len(names)})
    assert _is_control(df, NON_TARGETING_NAMES).tolist() == [True] * len(VENDOR_CONTROLS) + [False] * len(GENE_SYMBOLS)


def test_more_names_of_non_targeting_controls_and_reporter_sirnas():
    """Names users met: Santa Cruz's Control siRNA-A, NegCtrl1; siRNAs against luciferase or GFP (used as
    non-targeting in cells without the reporter; call_hits says so in a note)."""
    from ferroscreen.plate.control_names import is_neg_ctrl_name, is_non_targeting_name

    controls = ["NegCtrl1", "Control siRNA-A", "Control siRNA-B", "control siRNA", "siNT", "Scrambled",
                "Silencer Select Negative Control #1", "ON-TARGETplus Non-targeting Pool", "AllStars Negative Control",
                "siLuc", "siGL2", "siGL3", "GFP siRNA", "siEGFP", "Luciferase GL2 siRNA"]
    genes = ["Control", "siRNA", "HLA-A", "LUC7L", "LUC7L2", "GLA", "GLB1", "NT5E", "siPLK1", "PLK1",
             "Control siRNA (Fluorescein Conjugate)-A"]
    assert [n for n in controls if not (is_non_targeting_name(n) and is_neg_ctrl_name(n))] == []
    assert [n for n in genes if is_non_targeting_name(n) or is_neg_ctrl_name(n)] == []


@pytest.mark.parametrize("name", ["AllStars Negative Control", "NT1", "siGENOME Non-Targeting siRNA #2"])
def test_a_library_map_naming_its_controls_the_vendors_way_calls_hits(tmp_path, name, run_main):
    wells, layout = make_screen()
    wells.to_csv(tmp_path / "wells.csv", index=False)
    lay = _gene_map(layout, tmp_path / "library.csv", {"non-targeting": name})
    code, _, err = run_main("hits", tmp_path / "wells.csv", "--layout", lay, "--out",
                        tmp_path / "o", "--no-plots")
    assert code == 0, err
    summary = json.loads((tmp_path / "o" / "hits.json").read_text())
    assert summary["params"]["n_control_wells"] == 64
    assert set(pd.read_csv(tmp_path / "o" / "genes.csv").query("hit")["gene"]) >= set(PLANTED)


def test_no_controls_error_names_the_layout_and_the_names_on_the_plate(tmp_path, run_main):
    """The genes come from the layout, so the error names it (not the wells file), with the plate's frequent names."""
    wells, layout = make_screen(n_plates=1)
    wells.to_csv(tmp_path / "wells_rep1.csv", index=False)
    lay = _gene_map(layout, tmp_path / "library.csv", {"non-targeting": "Kontrolle AS"})
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "genes.csv").write_text("earlier run\n")
    code, _, err = run_main("hits", tmp_path / "wells_rep1.csv", "--layout", lay, "--out",
                        tmp_path / "o")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {lay}: plate REP1: no non-targeting control wells")
    assert "wells_rep1.csv" not in err
    assert "names on more than one well: Kontrolle AS (32); 352 others on one well each; give the control wells " \
           "role neg_ctrl in the layout" in err
    assert (tmp_path / "o" / "genes.csv").read_text() == "earlier run\n"  # nothing already written lost
    wells.assign(gene=layout.table["compound"].replace({"non-targeting": "Kontrolle"})).to_csv(
        tmp_path / "genes_in_wells.csv", index=False)
    code, _, err = run_main("hits", tmp_path / "genes_in_wells.csv", "--out", tmp_path / "o")
    assert code == 2 and err.startswith(f"error: {tmp_path / 'genes_in_wells.csv'}: plate REP1: no non-targeting")


def test_a_library_map_without_its_empty_wells_leaves_them_out_and_says_so(tmp_path, run_main):
    """The imager read the whole plate; the map lists only the filled wells: unlisted wells are empty, said once."""
    wells, layout = make_screen(n_plates=1)
    wells.to_csv(tmp_path / "wells_rep1.csv", index=False)
    unlisted = [f"A{c:02d}" for c in range(2, 18)]
    lay = _gene_map(layout, tmp_path / "layout_noempty.csv", keep=lambda t: ~t["well"].isin(unlisted))
    code, out, err = run_main("hits", tmp_path / "wells_rep1.csv", "--layout", lay, "--out",
                          tmp_path / "o", "--no-plots")
    assert code == 0, err
    note = (f"{lay}: 16 well(s) of the data have no row in it (REP1 A02, REP1 A03, REP1 A04, REP1 A05, REP1 A06, "
            f"REP1 A07 and 10 more); they take no part, as wells of role empty")
    assert out.splitlines().count(note) == 1
    assert "have no row in the data" not in out  # the data holds every listed well
    called = pd.read_csv(tmp_path / "o" / "wells_normalized.csv")
    assert len(called) == 384 - 16 and not called["well"].isin(unlisted).any()
    assert note in json.loads((tmp_path / "o" / "hits.json").read_text())["input_notes"]
    # a layout file per plate: the note names the file that leaves the wells out (named all files joined)
    wells2, layout2 = make_screen(n_plates=2)
    wells2.to_csv(tmp_path / "wells_2.csv", index=False)
    per_plate = []
    for plate in ("REP1", "REP2"):
        drop = (lambda t: ~t["well"].isin(unlisted)) if plate == "REP2" else None
        path = _gene_map(layout2, tmp_path / f"{plate}.csv", keep=lambda t, d=drop, pl=plate: (
            (t["plate_id"] == pl) & (d(t) if d else True)))
        per_plate += ["--layout", path]
    code, out, err = run_main("hits", tmp_path / "wells_2.csv", *per_plate, "--out", tmp_path / "o3", "--no-plots")
    assert code == 0, err
    assert (f"{tmp_path / 'REP2.csv'}: 16 well(s) of the data have no row in it (REP2 A02, REP2 A03, REP2 A04, "
            "REP2 A05, REP2 A06, REP2 A07 and 10 more); they take no part, as wells of role empty") in out.splitlines()
    # a map listing fewer than half of the plate's wells is the wrong map: refused, as before
    few = _gene_map(layout, tmp_path / "few.csv", keep=lambda t: t["well"].str[0].isin(list("ABCDEF")))
    code, _, err = run_main("hits", tmp_path / "wells_rep1.csv", "--layout", few, "--out",
                        tmp_path / "o2", "--no-plots")
    assert code == 2 and err.count("\n") == 1
    assert err == (f"error: {few}: no row for plate REP1 well G01 (240 of its 384 wells unmatched); is this the "
                   f"plate's layout?\n")
    assert not (tmp_path / "o2").exists()


def test_wells_missing_from_a_replicate_are_said_per_plate(tmp_path, run_main):
    """50 wells lost from replicate 2's read: one note for that plate (its file, the count, the first few)."""
    wells, layout = make_screen()
    rep2 = wells[wells["plate"] == "REP2"]
    lost = rep2["well"].iloc[100:150].tolist()
    wells[wells["plate"] == "REP1"].to_csv(tmp_path / "wells_rep1.csv", index=False)
    rep2[~rep2["well"].isin(lost)].to_csv(tmp_path / "wells_rep2.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    code, out, err = run_main("hits", tmp_path / "wells_rep1.csv", tmp_path / "wells_rep2.csv",
                          "--layout", tmp_path / "layout.csv", "--out", tmp_path / "o", "--no-plots")
    assert code == 0, err
    notes = [line for line in out.splitlines() if "wells its layout lists" in line]
    assert notes == [f"{tmp_path / 'wells_rep2.csv'}: plate REP2 holds 334 of the 384 wells its layout lists; the "
                     f"other 50 ({', '.join(sorted(lost)[:6])} and 44 more) have no row in the data and take no part"]
    genes = pd.read_csv(tmp_path / "o" / "genes.csv")
    roles = layout.table[layout.table["plate_id"] == "REP2"].set_index("well").loc[lost, "role"]
    assert (genes["n_wells"] == 1).sum() == (roles == "sample").sum() > 40


def test_excel_dates_among_the_gene_names_are_said_not_renamed(tmp_path, run_main):
    from ferroscreen.analysis.knockdown import excel_date_names

    assert excel_date_names(["7-Sep", "Sep-7", "1-Mar", "1-Dec", "2024-09-07 00:00:00", "2024-03-01T00:00:00",
                             "PLK1", "SEPTIN7", "MARCHF1", "NKX2-1", "HLA-A", "C1orf112"]) == [
        ("7-Sep", "SEPT7"), ("Sep-7", "SEPT7"), ("1-Mar", "MARCH1"), ("1-Dec", "DEC1"),
        ("2024-09-07 00:00:00", "SEPT7"), ("2024-03-01T00:00:00", "MARCH1")]
    wells, layout = make_screen(n_plates=1)
    wells.to_csv(tmp_path / "wells.csv", index=False)
    dates = {"G0001": "2024-09-07 00:00:00", "G0002": "1-Mar", "G0003": "1-Dec"}
    lay = _gene_map(layout, tmp_path / "library.csv", dates)
    code, out, err = run_main("hits", tmp_path / "wells.csv", "--layout", lay, "--out",
                          tmp_path / "o", "--no-plots")
    assert code == 0, err
    said = [line for line in out.splitlines() if "look like dates" in line]
    assert len(said) == 1 and said[0].startswith(f"{lay}: 3 gene name(s) look like dates Excel made of gene symbols: ")
    for part in ("'2024-09-07 00:00:00' (SEPT7: SEPTIN7 now)", "'1-Mar' (MARCH1: MARCHF1 now)",
                 "'1-Dec' (DEC1: DELEC1 now)", "; they are used as written: write HGNC's current symbols in the map "
                 "(DELEC1, SEPTIN7: Excel leaves them alone) or export it again as text"):
        assert part in said[0]
    genes = pd.read_csv(tmp_path / "o" / "genes.csv", dtype={"gene": str})
    assert set(dates.values()) <= set(genes["gene"])  # kept as written


def test_plate_qc_warning_says_why_z_prime_is_not_computable():
    wells, layout = make_screen(n_plates=1)
    ctrl = layout.table.set_index("well").loc[wells["well"], "role"].to_numpy() == "neg_ctrl"
    wells.loc[ctrl, "n_nuclei"] *= np.random.default_rng(1).uniform(0.4, 1.6, ctrl.sum())  # CV well above 0.2
    res = call_hits(wells, layout)
    flagged = [m for m in res.warnings if "high_cv" in m]
    assert flagged and flagged[0].startswith("plate REP1, count: high_cv (Z′ not computable (the layout marks no "
                                             "pos_ctrl wells), CV of the non-targeting wells ")
    assert not any("nan" in m for m in res.warnings)
    table = layout.table.copy()
    table.loc[table["compound"] == "UBB", "role"] = "pos_ctrl"  # one lethal control well
    res = call_hits(wells, make_layout(table.to_dict("records"), 384))
    assert any("Z′ not computable (one pos_ctrl well with a reading; it takes two)" in m for m in res.warnings)


def test_hits_records_its_version_time_settings_and_files(tmp_path):
    from datetime import datetime, timedelta

    from openpyxl import load_workbook

    from ferroscreen import __version__
    from ferroscreen.hashing import file_sha256

    wells, layout = make_screen(n_plates=1)
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    run_hits(tmp_path / "wells.csv", tmp_path / "o", layout_path=tmp_path / "layout.csv", plots=False,
             count_threshold=0.4, fdr=0.1)
    summary = json.loads((tmp_path / "o" / "hits.json").read_text())
    assert summary["ferroscreen_version"] == __version__
    created = datetime.fromisoformat(summary["created"])
    assert created.utcoffset() == timedelta(0) and summary["created"].endswith("+00:00")
    assert summary["settings"]["count_threshold"] == 0.4 and summary["settings"]["fdr"] == 0.1
    assert summary["settings"]["plots"] is False and summary["settings"]["read"] is None
    lay_sha = file_sha256(tmp_path / "layout.csv")
    assert summary["layout_sha256"] == lay_sha
    about = [tuple(r) for r in load_workbook(tmp_path / "o" / "hits.xlsx", read_only=True)["about"].iter_rows(
        values_only=True)]
    rows = {r[0]: r[1:] for r in about if r and r[0]}
    assert rows["ferroscreen version"][0] == __version__ and rows["created (UTC)"][0] == summary["created"]
    assert rows["input"][:2] == (str(tmp_path / "wells.csv"), file_sha256(tmp_path / "wells.csv"))
    assert rows["layout"][:2] == (str(tmp_path / "layout.csv"), lay_sha)
    assert rows["count_threshold"][0] == 0.4 and rows["fdr"][0] == 0.1 and rows["area_threshold"][0] == 1.7


def test_a_layout_plate_without_data_is_said(tmp_path, run_main):
    wells, layout = make_screen()
    wells[wells["plate"] == "REP1"].to_csv(tmp_path / "wells_rep1.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    code, out, err = run_main("hits", tmp_path / "wells_rep1.csv", "--layout", tmp_path / "layout.csv", "--out",
                              tmp_path / "o", "--no-plots")
    assert code == 0, err
    assert f"{tmp_path / 'layout.csv'}: 1 of its 2 plates have no data (REP2); their wells take no part" in out


def test_date_names_note_gives_the_symbols_it_found_as_its_example():
    from ferroscreen.analysis.knockdown import _date_names_note

    note = _date_names_note(pd.Series(["PLK1", "2024-09-07 00:00:00"]), None, "lib.csv")
    assert "(SEPTIN7: Excel leaves them alone)" in note and "MARCHF1" not in note


def test_run_hits_draws_every_plate(tmp_path):
    """A heat map per plate, past eight (a genome-wide screen has 213), as the report draws them."""
    wells, layout = make_screen(n_plates=9)
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    run_hits(tmp_path / "wells.csv", tmp_path / "out", layout_path=tmp_path / "layout.csv")
    maps = sorted(p.name for p in (tmp_path / "out").glob("plate_*_fc_count.png"))
    assert maps == [f"plate_REP{i}_fc_count.png" for i in range(1, 10)]
    assert set(maps) <= set(json.loads((tmp_path / "out" / "hits.json").read_text())["plots"])
