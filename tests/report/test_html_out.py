"""``report --out`` writes an HTML file and nothing else: never a results folder's own inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from ferroscreen.report.html import write_page
from ferroscreen.report.results import ReportInputError

FITS = "curve,readout,ec50,dose_min,dose_max,call\nA,viability,1e-6,1e-8,1e-5,active\n"


@pytest.fixture()
def res1(tmp_path):
    root = tmp_path / "res1"
    root.mkdir()
    (root / "fits.csv").write_text(FITS, encoding="utf-8")
    (root / "provenance.json").write_text('{"ferroscreen_version": "0"}', encoding="utf-8")
    return root


@pytest.mark.parametrize("name", ["fits.csv", "provenance.json"])
def test_out_naming_an_input_of_the_results_folder_is_refused(res1, run_main, name):
    before = (res1 / name).read_bytes()
    code, out, err = run_main("report", res1, "--out", res1 / name)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{res1 / name}: --out takes the report's file name ending .html or .htm" in err
    assert (res1 / name).read_bytes() == before  # was: the CSV became HTML, exit 0


def test_hits_folder_genes_csv_is_not_overwritten(tmp_path, run_main):
    hits = tmp_path / "hits"
    hits.mkdir()
    pd.DataFrame({"rank": [1], "gene": ["UBB"], "hit": [True], "fc_count": [0.1]}).to_csv(hits / "genes.csv",
                                                                                          index=False)
    before = (hits / "genes.csv").read_bytes()
    code, _, err = run_main("report", hits, "--out", hits / "genes.csv")
    assert code == 2 and "ending .html or .htm" in err and (hits / "genes.csv").read_bytes() == before


def test_trailing_slash_out_is_a_folder_and_is_refused(res1, tmp_path, run_main, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main("report", res1, "--out", "newdir/")
    assert code == 2 and f"e.g. {tmp_path.joinpath('newdir', 'report.html').relative_to(tmp_path)}" in err
    assert not (tmp_path / "newdir").exists()  # was: a file named newdir holding the report


def test_html_and_htm_names_are_written_and_an_existing_report_replaced(res1, tmp_path, run_main):
    for name in ("r.html", "R.HTM"):
        code, out, err = run_main("report", res1, "--out", tmp_path / name)
        assert code == 0, err
        assert (tmp_path / name).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    code, _, err = run_main("report", res1, "--out", tmp_path / "r.html")  # a report of the same name: replaced
    assert code == 0, err


def test_write_page_refuses_before_writing(tmp_path):
    with pytest.raises(ReportInputError, match="ending .html or .htm"):
        write_page(tmp_path / "sub" / "page.csv", "<html></html>")
    assert not (tmp_path / "sub").exists()
    with pytest.raises(ReportInputError, match="is a folder"):
        write_page(tmp_path, "<html></html>")
