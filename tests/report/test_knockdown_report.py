"""`ferroscreen report` on a `ferroscreen hits` folder: the knockdown report."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from ferroscreen.plate import rowcol_to_well

EVIL = "<script>alert(1)</script>&\"'$\\q$"  # "$": mathtext to matplotlib (crashed the figures)
PLANTED = {"UBB": (0.05, 1.0), "FBXO5": (0.35, 1.9), EVIL: (0.3, 1.0)}  # gene: (count, area fold change)


def _screen(root):
    """Two replicate 96-well plates: column 1 non-targeting, three planted hits among 88 genes."""
    rng = np.random.default_rng(0)
    genes = list(PLANTED) + [f"G{i:03d}" for i in range(88 - len(PLANTED))]
    wells, layout = [], []
    for p in ("REP1", "REP2"):
        order = rng.permutation(len(genes))
        k = 0
        for r in range(8):
            for c in range(12):
                well = rowcol_to_well(r, c)
                if c == 0:
                    gene, role = "non-targeting", "neg_ctrl"
                else:
                    gene, role = genes[order[k]], "sample"
                    k += 1
                fc_c, fc_a = PLANTED.get(gene, (1.0, 1.0))
                wells.append(dict(plate=p, well=well, n_nuclei=max(0.0, rng.normal(200 * fc_c, 10)),
                                  area_mean=rng.normal(500 * fc_a, 15)))
                layout.append(dict(plate_id=p, well=well, gene=gene, role=role))
    pd.DataFrame(wells).to_csv(root / "wells.csv", index=False)
    pd.DataFrame(layout).to_csv(root / "layout.csv", index=False)


@pytest.fixture(scope="module")
def hits_report(tmp_path_factory):
    from ferroscreen.analysis.hits_run import run_hits
    from ferroscreen.report import build_report

    root = tmp_path_factory.mktemp("kd")
    _screen(root)
    run_hits(root / "wells.csv", root / "hits", layout_path=root / "layout.csv")
    return build_report(root / "hits", root / "report.html")


def test_knockdown_report_shows_calls_plots_plates_and_escapes_gene_names(hits_report):
    html = hits_report.read_text(encoding="utf-8")
    genes = pd.read_csv(hits_report.parent / "hits" / "genes.csv")
    hits = genes[genes["hit"]]
    assert set(PLANTED) <= set(hits["gene"])
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    table = html[html.index('id="genes-table"'):]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 1 + min(100, len(genes)) and table.count(">hit</td>") == len(hits)
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) == 4 + 2  # 4 plots, 2 plate maps
    assert "Hits by phenotype:" in html and "n_nuclei" in html and 'id="concordance-table"' in html
    assert "genes.csv" in html and "hits.json" in html  # provenance lists the result files with sha256
    from ferroscreen.hashing import file_sha256

    for name in ("wells.csv", "layout.csv"):  # and the inputs hits read, with theirs
        path = hits_report.parent / name
        assert f"{file_sha256(path)}  {path.resolve()}" in html
    from ferroscreen.report.knockdown import build_hits_report

    short = build_hits_report(hits_report.parent / "hits", hits_report.parent / "short.html", max_rows=8)
    table = short.read_text(encoding="utf-8").split('id="genes-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 8 and table.count(">hit</td>") == len(hits)  # every hit, then the best others


def test_a_hits_folder_without_its_extras_still_reports_and_bad_genes_csv_is_one_line(tmp_path, hits_report):
    from ferroscreen.report import build_report
    from ferroscreen.report.results import ReportInputError

    lean = tmp_path / "lean"
    lean.mkdir()
    (lean / "genes.csv").write_bytes((hits_report.parent / "hits" / "genes.csv").read_bytes())
    html = build_report(lean, tmp_path / "lean.html").read_text(encoding="utf-8")
    assert "No hits.json: thresholds shown are the defaults." in html
    assert "No wells_normalized.csv" in html and 'id="plates"' not in html
    (lean / "genes.csv").write_text("gene,score\nA,1\n")
    with pytest.raises(ReportInputError, match=r"genes.csv: missing column\(s\) rank, hit"):
        build_report(lean, tmp_path / "bad.html")
    (lean / "genes.csv").write_text("rank,gene,hit\n1,A,True\n")
    with pytest.raises(ReportInputError, match=r"genes.csv: no readout columns"):
        build_report(lean, tmp_path / "bad.html")


def test_settings_from_hits_json_are_escaped(hits_report, tmp_path):
    import json
    import shutil

    from ferroscreen.report.knockdown import build_hits_report

    folder = tmp_path / "hits"
    shutil.copytree(hits_report.parent / "hits", folder)
    summary = json.loads((folder / "hits.json").read_text())
    summary["params"].update(count_col="<i>n</i>")
    (folder / "hits.json").write_text(json.dumps(summary))
    html = build_hits_report(folder, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<i>n</i>" not in html and "&lt;i&gt;n&lt;/i&gt;" in html
    summary["params"].update(fdr="<img src=x>")
    (folder / "hits.json").write_text(json.dumps(summary))
    from ferroscreen.report.results import ReportInputError

    with pytest.raises(ReportInputError, match="hits.json: fdr is '<img src=x>', not a number"):
        build_hits_report(folder, tmp_path / "r2.html")
