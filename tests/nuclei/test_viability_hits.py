"""``ferroscreen hits`` on a viability assay: CellTiter-Glo siRNA plates from a plate reader."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from ferroscreen.cli import main
from ferroscreen.plate import rowcol_to_well

#: Planted knockdowns: viability relative to non-targeting.
PLANTED = {"UBB": 0.04, "POLR2A": 0.06, "FBXO5": 0.3, "CCNA2": 0.35}
VEHICLE, BLANK = 80000.0, 2000.0


def write_ctg_screen(root, n_plates=3, seed=7):
    """Replicate 384-well CellTiter-Glo plates (Tecan grid exports) and their one-plate layout.

    Columns 1 and 24 hold the controls: 16 non-targeting, 8 siPLK1 (pos_ctrl), 8 medium only
    (empty); 352 sample wells hold 348 neutral genes and the :data:`PLANTED` ones.
    """
    rng = np.random.default_rng(seed)
    genes = [f"GENE{i:03d}" for i in range(352 - len(PLANTED))] + list(PLANTED)
    effect = {g: PLANTED.get(g, float(np.exp(rng.normal(0, 0.08)))) for g in genes}
    order = rng.permutation(genes)
    rows = ["plate_id,well,compound,concentration,unit,role"]
    truth = {}
    k = 0
    for r in range(16):
        for c in range(24):
            well = rowcol_to_well(r, c)
            if c in (0, 23):
                role, gene = (("neg_ctrl", "Non-targeting") if r < 8 else ("pos_ctrl", "PLK1") if c == 0
                              else ("empty", ""))
                truth[well] = {"neg_ctrl": 1.0, "pos_ctrl": 0.03, "empty": None}[role]
            else:
                role, gene = "sample", order[k]
                truth[well] = effect[gene]
                k += 1
            rows.append(f"LIB1,{well},{gene},,,{role}")
    (root / "layout.csv").write_text("\n".join(rows) + "\n")
    paths = []
    for p in range(n_plates):
        lines = ["Label: Lum", "<>," + ",".join(str(c) for c in range(1, 25))]
        for r in range(16):
            vals = []
            for c in range(24):
                rel = truth[rowcol_to_well(r, c)]
                cells = 0.0 if rel is None else VEHICLE * rel * rng.normal(1, 0.07)
                vals.append(f"{BLANK * rng.normal(1, 0.05) + max(cells, 0):.0f}")
            lines.append(chr(65 + r) + "," + ",".join(vals))
        path = root / f"rep{p + 1}.csv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths, root / "layout.csv"


def _run(monkeypatch, capsys, *argv):
    monkeypatch.setattr(sys, "argv", ["ferroscreen", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_plate_reader_sirna_screen_calls_the_planted_genes(tmp_path, monkeypatch, capsys):
    paths, layout = write_ctg_screen(tmp_path)
    out = tmp_path / "hits"
    code, stdout, err = _run(monkeypatch, capsys, "hits", *map(str, paths), "--layout", str(layout),
                             "--out", str(out))
    assert code in (0, None), err
    assert "background subtracted" in stdout and "rep1.csv" in stdout
    genes = pd.read_csv(out / "genes.csv")
    assert set(genes.loc[genes["hit"], "gene"]) == set(PLANTED)
    called = genes.set_index("gene")
    assert called.loc["UBB", "phenotype"] == "lethal" and called.loc["POLR2A", "phenotype"] == "lethal"
    assert called.loc["FBXO5", "phenotype"] == "lower_viability"
    assert abs(called.loc["FBXO5", "fc_viability"] - 0.3) < 0.05  # the blank is gone: fold changes are true
    assert (called["n_wells"] == 3).all() and "fc_area" not in genes.columns
    qc = pd.read_csv(out / "plate_qc.csv")
    assert len(qc) == 3 and (qc["readout"] == "viability").all()
    assert (qc["z_prime"] > 0.5).all() and (qc["flags"].fillna("") == "").all()
    assert (qc["n_control"] == 16).all() and (qc["n_pos_ctrl"] == 8).all()
    summary = json.loads((out / "hits.json").read_text())
    assert summary["params"]["readouts"] == ["viability"] and summary["plate_reader"]["signal"] == "viability"
    assert [i["path"] for i in summary["inputs"]] == [str(p.resolve()) for p in [*paths, layout]]  # layout too
    assert {"volcano_viability.png", "replicates.png", "plate_rep1_fc_viability.png"} <= set(summary["plots"])
    assert "quadrant.png" not in summary["plots"]
    conc = pd.read_csv(out / "concordance.csv")
    assert list(conc["readout"]) == ["viability"] * 3  # replicates 1-2, 1-3, 2-3
    assert list(zip(conc["replicate_a"], conc["replicate_b"], strict=True)) == [(1, 2), (1, 3), (2, 3)]
    assert (conc["n_genes"] == 352).all() and (conc["n_lethal"] == 2).all()
    assert (conc["pearson"] > 0.9).all() and (conc["pearson_without_lethal"] < 0.8).all()  # 2 lethal genes pull r up

    from ferroscreen.report.knockdown import build_hits_report

    html = build_hits_report(out, tmp_path / "report.html").read_text()
    assert "viability signal below 0.5" in html and "plate-qc-table" in html and "nuclei count" not in html


def test_a_wells_table_with_a_viability_column(tmp_path, monkeypatch, capsys):
    paths, layout = write_ctg_screen(tmp_path, n_plates=1)
    from ferroscreen.io.plate_reader import read_plate_reader

    table = read_plate_reader(paths[0]).reads[0].table
    table.assign(plate="LIB1").rename(columns={"value": "ctg"}).to_csv(tmp_path / "lims.csv", index=False)
    code, _, err = _run(monkeypatch, capsys, "hits", str(tmp_path / "lims.csv"), "--layout", str(layout),
                        "--signal-col", "ctg", "--out", str(tmp_path / "h"))
    assert code in (0, None), err
    genes = pd.read_csv(tmp_path / "h" / "genes.csv")
    assert {"UBB", "POLR2A"} <= set(genes.loc[genes["hit"], "gene"])


def test_viability_input_errors_are_one_line(tmp_path, monkeypatch, capsys):
    paths, layout = write_ctg_screen(tmp_path, n_plates=1)
    out = str(tmp_path / "never")
    cases = [
        ((str(paths[0]), "--out", out), "pass --layout"),
        ((str(paths[0]), "--layout", str(layout), "--signal-col", "ctg", "--out", out), "--signal-col"),
        ((str(paths[0]), "--layout", str(layout), "--read", "3", "--out", out), "read"),
    ]
    pd.DataFrame({"plate": ["LIB1"], "well": ["B02"], "n_nuclei": [10], "area_mean": [100.0]}).to_csv(
        tmp_path / "wells.csv", index=False)
    cases.append(((str(tmp_path / "wells.csv"), str(paths[0]), "--layout", str(layout), "--out", out),
                  "not both"))
    for args, expected in cases:
        code, _, err = _run(monkeypatch, capsys, "hits", *args)
        assert code == 2, args
        assert expected in err and "\n" not in err.strip() and "Traceback" not in err, err
    assert not (tmp_path / "never").exists()


def test_what_the_bad_input_sweep_found(tmp_path, monkeypatch, capsys):
    """Regressions from the bad-input sweep of the viability path (each once silently wrong or a traceback)."""
    paths, layout = write_ctg_screen(tmp_path)
    out = str(tmp_path / "o")
    # integer readings in a LIMS table, blank subtracted like an export's (was a pandas TypeError)
    from ferroscreen.io.plate_reader import read_plate_reader

    for i, path in enumerate(paths):
        t = read_plate_reader(path).reads[0].table
        t.assign(plate=f"rep{i + 1}", ctg=t["value"].round().astype(int)).drop(columns=["value", "time_h"]).to_csv(
            tmp_path / f"lims{i + 1}.csv", index=False)
    lims = [str(tmp_path / f"lims{i + 1}.csv") for i in range(3)]
    code, stdout, err = _run(monkeypatch, capsys, "hits", *lims, "--layout", str(layout), "--signal-col", "ctg",
                             "--out", out)
    assert code in (0, None), err
    assert "background subtracted" in stdout
    # a non-number names its own file and line
    bad = tmp_path / "lims2.csv"
    bad.write_text(bad.read_text().replace("\nA02,rep2,", "\nA02,rep2,oops", 1))
    code, _, err = _run(monkeypatch, capsys, "hits", *lims, "--layout", str(layout), "--signal-col", "ctg",
                        "--out", out)
    assert code == 2 and f"{bad} line 3:" in err and "oops" in err, err
    # unread wells and unnamed sample wells are said and left out; n_wells counts wells with a reading
    grid = paths[1].read_text().splitlines()
    row_c = grid[4].split(",")
    row_c[5] = "OVER"
    grid[4] = ",".join(row_c)
    paths[1].write_text("\n".join(grid) + "\n")
    lay = layout.read_text()
    gene_c05 = next(r.split(",")[2] for r in lay.splitlines() if ",C05," in r)
    unnamed = next(r for r in lay.splitlines() if r.endswith(",sample") and ",D16," in r)
    layout.write_text(lay.replace(unnamed, "LIB1,D16,,,,sample"))
    code, _, err = _run(monkeypatch, capsys, "hits", *map(str, paths), "--layout", str(layout), "--out", out)
    assert code in (0, None), err
    assert "1 well(s) hold no viability reading (rep2 C05)" in err
    assert "3 sample well(s) name no gene (rep1 D16, rep2 D16, rep3 D16) and take no part" in err
    genes = pd.read_csv(tmp_path / "o" / "genes.csv").set_index("gene")
    assert genes.loc[gene_c05, "n_wells"] == 2 and genes.index.notna().all()
    # a 96-well read among 384-well plates, a dead-cell read, and a layout without a well to call
    small = tmp_path / "small.csv"
    small.write_text("Label: Lum\n<>," + ",".join(map(str, range(1, 13))) + "\n"
                     + "\n".join(f"{r}," + ",".join(["5000"] * 12) for r in "ABCDEFGH") + "\n")
    code, _, err = _run(monkeypatch, capsys, "hits", str(paths[0]), str(small), "--layout", str(layout), "--out", out)
    assert code == 2 and "small.csv: a 96-well plate read, but the layout is a 384-well plate" in err
    sytox = tmp_path / "sytox.csv"
    sytox.write_text(paths[0].read_text().replace("Label: Lum", "Label: SYTOX Green"))
    code, _, err = _run(monkeypatch, capsys, "hits", str(sytox), "--layout", str(layout), "--out", out)
    assert code == 2 and "looks like a dead-cell signal" in err
    empty = tmp_path / "empty_layout.csv"
    empty.write_text("\n".join(r.rsplit(",", 1)[0] + ",empty" if i else r
                               for i, r in enumerate(layout.read_text().splitlines())) + "\n")
    code, _, err = _run(monkeypatch, capsys, "hits", str(paths[0]), "--layout", str(empty), "--out", out)
    assert code == 2 and "no well left to call" in err and "Traceback" not in err
    # a layout whose sample wells name no gene at all is refused (was exit 0 with "0 genes, 0 hits")
    nogene = tmp_path / "nogene_layout.csv"
    rows = [r.split(",") for r in layout.read_text().splitlines()]
    at = rows[0].index("gene") if "gene" in rows[0] else 2
    nogene.write_text("\n".join(",".join(c if k != at or i == 0 or r[-1] != "sample" else "" for k, c in enumerate(r))
                                for i, r in enumerate(rows)) + "\n")
    code, _, err = _run(monkeypatch, capsys, "hits", str(paths[0]), "--layout", str(nogene), "--out", out)
    assert code == 2 and f"{nogene}: no sample well names a gene" in err and "Traceback" not in err


def test_hits_with_a_library_workbook(tmp_path, monkeypatch, capsys):
    """An siRNA library's plate map as vendors send it (title row, Plate / Well / Gene Symbol) is the CSV's layout."""
    import openpyxl

    reads, layout = write_ctg_screen(tmp_path)
    table = pd.read_csv(layout, dtype=str, keep_default_na=False)
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "LIB1"
    ws.append(["Human siRNA library, plate 1 of 1"])
    ws.append(["Plate", "Well", "Gene Symbol", "Role"])
    for row in table.itertuples(index=False):
        ws.append([row.plate_id, row.well.replace("0", "", 1) if row.well[1] == "0" else row.well,
                   row.compound or None, {"neg_ctrl": "Negative control", "empty": "blank"}.get(row.role, row.role)])
    book.save(tmp_path / "library.xlsx")
    for name, lay in (("table", layout), ("book", tmp_path / "library.xlsx")):
        code, _, err = _run(monkeypatch, capsys, "hits", *map(str, reads), "--layout", str(lay),
                            "--out", str(tmp_path / name), "--no-plots")
        assert code in (0, None), err
    a, b = (pd.read_csv(tmp_path / name / "genes.csv") for name in ("table", "book"))
    assert a.equals(b) and set(a.loc[a["hit"].astype(bool), "gene"]) >= {"UBB", "POLR2A"}



def write_confluence_screen(root, n_plates=3, seed=11, seeding_cv=0.3):
    """IncuCyte confluence time courses (0-72 h) of the CellTiter-Glo screen's layout, wells seeded unevenly.

    Each well starts at 4 % confluence times a log-normal seeding factor (``seeding_cv``) and grows
    6-fold over 72 h in non-targeting wells, its gene's effect by 72 h (planted genes as
    :data:`PLANTED`), with 4 % reading noise.
    """
    _, layout = write_ctg_screen(root, n_plates=1, seed=seed)
    table = pd.read_csv(layout, dtype=str, keep_default_na=False)
    genes = sorted(set(table.loc[table["role"] == "sample", "compound"]))
    rng = np.random.default_rng(seed)
    effect = {g: PLANTED.get(g, float(np.exp(rng.normal(0, 0.08)))) for g in genes}
    effect.update({"Non-targeting": 1.0, "PLK1": 0.03, "": 0.0})
    times = [0, 24, 48, 72]
    paths = []
    for p in range(n_plates):
        columns = {}
        for row in table.itertuples(index=False):
            seeded = 4.0 * np.exp(rng.normal(0, seeding_cv)) if row.role != "empty" else 0.0
            final = 6.0 * effect[row.compound]
            columns[row.well[0] + str(int(row.well[1:]))] = [
                seeded * final ** (t / 72) * rng.normal(1, 0.04) for t in times]
        names = list(columns)
        lines = [f"Vessel Name: rep{p + 1}", "Metric: Phase Object Confluence (Percent)", "",
                 "Date Time\tElapsed\t" + "\t".join(names)]
        lines += [f"x\t{t}\t" + "\t".join(f"{columns[n][k]:.3f}" for n in names) for k, t in enumerate(times)]
        path = root / f"conf{p + 1}.txt"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths, layout


def test_confluence_time_courses_from_their_start(tmp_path, monkeypatch, capsys):
    """--from-start divides out uneven seeding: the planted genes alone are called, plates' Z′ rises."""
    paths, layout = write_confluence_screen(tmp_path)
    results = {}
    for name, extra in (("last", ()), ("start", ("--from-start",))):
        out = tmp_path / name
        code, stdout, err = _run(monkeypatch, capsys, "hits", *map(str, paths), "--layout", str(layout),
                                 "--out", str(out), "--no-plots", *extra)
        assert code in (0, None), err
        results[name] = (pd.read_csv(out / "genes.csv"), pd.read_csv(out / "plate_qc.csv"), stdout + err)
    genes, qc, said = results["start"]
    assert set(genes.loc[genes["hit"], "gene"]) == set(PLANTED)
    assert "each well over its first reading (0 h;" in said
    assert genes.set_index("gene").loc["FBXO5", "fc_viability"] == pytest.approx(0.3, abs=0.05)
    assert json.loads((tmp_path / "start" / "hits.json").read_text())["params"]["from_start"] is True
    assert qc["z_prime"].min() > results["last"][1]["z_prime"].max()
    (tmp_path / "endpoint").mkdir()
    endpoint_reads, _ = write_ctg_screen(tmp_path / "endpoint", n_plates=1)
    code, _, err = _run(monkeypatch, capsys, "hits", str(endpoint_reads[0]), "--layout", str(layout),
                        "--out", str(tmp_path / "never"), "--from-start")
    assert code == 2 and "needs a time course" in err and not (tmp_path / "never").exists()


def test_time_courses_the_sweep_found_wanting(tmp_path, monkeypatch, capsys):
    """Times that are no numbers are refused, wells unread at the last time are said, --from-start needs every
    plate to be a time course."""
    paths, layout = write_confluence_screen(tmp_path, n_plates=2)
    from ferroscreen.io.metric_export import read_metric_export

    table = pd.concat([read_metric_export(p).table for p in paths]).rename(columns={"value": "conf"})
    table["well"] = [w[0] + w[1:].zfill(2) for w in table["well"]]
    base = table[["plate", "well", "time_h", "conf"]].reset_index(drop=True)

    def hits(frame, *extra):
        frame.to_csv(tmp_path / "t.csv", index=False)
        return _run(monkeypatch, capsys, "hits", str(tmp_path / "t.csv"), "--layout", str(layout), "--signal-col",
                    "conf", "--out", str(tmp_path / "out"), "--no-plots", *extra)

    code, _, err = hits(base.assign(time_h=base["time_h"].map(lambda t: f"{t:g}h")))
    assert code == 2 and "column 'time_h' row 2: '0h', not a time in hours" in err, err
    gap = base.copy()
    gap.loc[3, "time_h"] = None
    code, _, err = hits(gap)
    assert code == 2 and "row 5: empty, not a time in hours" in err, err
    late = base[~((base["plate"] == "rep1") & (base["well"] == "B03") & (base["time_h"] == 72))]
    code, out, err = hits(late, "--from-start")
    assert code in (0, None) and "1 well(s) not read at it (rep1 B03) take no part" in out + err, err
    flat = base[(base["plate"] == "rep1") | (base["time_h"] == 72)]
    code, _, err = hits(flat, "--from-start")
    assert code == 2 and "plate(s) rep2 hold one time point; --from-start needs a time course" in err, err
