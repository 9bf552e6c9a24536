"""The HTML report: sections, escaping, graceful absence of tables, user errors, determinism."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from ferroscreen.report import ReportInputError, build_report, figures, load_results
from ferroscreen.report.compounds import list_compounds
from ferroscreen.report.rescue import rescue_comparisons
from ferroscreen.report.tables import qc_verdicts

from .conftest import EVIL

SECTION_IDS = (
    "summary",
    "plate-qc",
    "ranking",
    "cells",
    "compounds",
    "provenance",
    "qc-table",
    "csv-links",
    "ranking-table-1",
    "provenance-table",
    "report-data",
)


@pytest.fixture(scope="module")
def report_html(report_file):
    return report_file.read_text(encoding="utf-8")


def test_report_has_every_section(report_html):
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in report_html, sid
    assert report_html.count('<img src="data:image/png;base64,') >= 9
    assert "alive: 2 cells from 2 wells, p &ge; 0.97; ferroptosis: 1 cell from 1 well, p &ge; 0.91" in report_html
    assert 'href="gallery.csv"' in report_html
    for name in ("volasertib", "FSC-101", "RSL3", "staurosporine"):
        assert name in report_html
    assert "volasertib + Fer-1 shifts the ferroptosis EC50" in report_html
    assert "rescue confirms ferroptosis" in report_html
    assert 'class="badge fail"' in report_html  # qc.csv fails necroptosis on P1
    assert "qc_focus_flag" in report_html  # the flagged well A01 at 72 h
    assert "ab" * 32 in report_html  # model bundle sha256 from provenance.json


def test_report_is_self_contained(report_html):
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", report_html, re.I)
    assert "@import" not in report_html and "url(" not in report_html
    assert "Content-Security-Policy" in report_html
    for name in ("wells.csv", "fits.csv", "ranking.csv", "qc.csv", "ec50_time.csv"):
        assert f'href="{name}"' in report_html


def test_user_strings_are_escaped(report_html):
    assert EVIL not in report_html
    assert "<script>alert" not in report_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#34;&#39;" in report_html
    assert len(re.findall(r"<script\b", report_html)) == 2  # the JSON island and the sort script
    island = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', report_html, re.S)
    data = json.loads(island.group(1))
    assert EVIL in [c["name"] for c in data["compounds"]]
    assert data["modes"][:3] == ["apoptosis", "ferroptosis", "necroptosis"]


@pytest.mark.parametrize("png", [b"GIF89a not a png", None])
def test_gallery_without_its_png_is_left_out_with_a_note(tmp_path, make_results, png):
    root = make_results(tmp_path / "res", compounds=("volasertib",))
    if png is None:
        (root / "gallery.png").unlink()
    else:
        (root / "gallery.png").write_bytes(png)
    html = build_report(root, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="cells"' not in html and 'href="#cells"' not in html
    assert ("gallery.png is missing" if png is None else "gallery.png is not a PNG image") in html


def test_report_from_fits_only_links_relative_to_output(tmp_path, results_dir):
    res_dir = tmp_path / "res"
    res_dir.mkdir()
    fits = pd.read_csv(results_dir / "fits.csv")
    fits[fits["curve"].isin(["volasertib", "volasertib + Fer-1"])].to_csv(res_dir / "fits.csv", index=False)
    out = build_report(res_dir, tmp_path / "site" / "report.html", title="fits only")
    html = out.read_text(encoding="utf-8")
    assert 'href="../res/fits.csv"' in html
    assert "No wells.csv: time courses and plate maps not shown." in html
    assert "No ranking.csv" in html
    assert "rescue confirms ferroptosis" in html  # ratio computed from the fits with potency_ratio
    assert html.count('<img src="data:image/png;base64,') == 1  # the dose-response panel only


def test_layout_is_joined_when_wells_lack_it(tmp_path, make_results):
    root = make_results(tmp_path / "r", compounds=("volasertib",), n_doses=5, times=(0, 36, 72), layout_in_wells=False)
    res = load_results(root)
    assert res.has_layout
    assert set(res.wells["role"]) >= {"sample", "vehicle", "reference", "rescue", "empty"}
    assert any("joined from layout.csv" in n for n in res.notes)
    infos, _ = list_compounds(res)
    vola = next(i for i in infos if i.name == "volasertib")
    assert "Fer-1" in vola.rescue
    comp = rescue_comparisons(res, vola)
    ferro = next(c for c in comp if c.mode == "ferroptosis")
    # five doses up to 100 nM: the 40-fold shifted rescue curve is flat in range; without rescue.csv no test of
    # the wells says the agent changed the response, so a flat fit is no confirmation (it was "abolishes")
    assert ferro.verdict == "not_tested"
    assert ferro.sentence.startswith("volasertib + Fer-1: the ferroptosis response is not called active with Fer-1")
    assert ferro.sentence.endswith("rescue neither confirmed nor ruled out")


def test_rescue_csv_is_preferred(results_dir, tmp_path):
    import shutil

    root = tmp_path / "r"
    shutil.copytree(results_dir, root)
    pd.DataFrame(
        [
            {
                "numerator": "volasertib + Fer-1",
                "denominator": "volasertib",
                "readout": "frac_ferroptosis",
                "ratio": 1.3,
                "fieller_lo": 0.8,
                "fieller_hi": 2.0,
            }
        ]
    ).to_csv(root / "rescue.csv", index=False)
    res = load_results(root)
    vola = next(i for i in list_compounds(res)[0] if i.name == "volasertib")
    ferro = next(c for c in rescue_comparisons(res, vola) if c.mode == "ferroptosis")
    assert ferro.verdict == "no_shift"
    assert "no rescue of ferroptosis" in ferro.sentence


def test_qc_verdicts_and_ranking_order(results_dir):
    res = load_results(results_dir)
    assert qc_verdicts(res)["P1"]["verdict"] == "fail"
    infos, left = list_compounds(res, max_compounds=2)
    assert left > 0 and len(infos) == 2
    assert {i.name for i in infos} == {"volasertib", "FSC-101"}  # both ranked first in their mode


def test_figures_are_deterministic():
    dose = np.repeat([0, 1e-8, 1e-7, 1e-6], 2)
    pts = pd.DataFrame({"dose": dose, "response": 0.05 + 0.8 * dose / (dose + 1e-7)})
    row = pd.Series(
        {
            "curve": "x",
            "readout": "frac_ferroptosis",
            "hill": -1.0,
            "bottom": 0.05,
            "top": 0.85,
            "ec50": 1e-7,
            "ec50_lo": 5e-8,
            "ec50_hi": 2e-7,
            "call": "active",
        }
    )
    a = figures.dose_response_figure({"ferroptosis": (row, pts)}, {}, ["ferroptosis"])
    b = figures.dose_response_figure({"ferroptosis": (row, pts)}, {}, ["ferroptosis"])
    assert a == b and a.startswith("data:image/png;base64,")


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({}, "no wells.csv or fits.csv"),
        ({"fits.csv": "curve,readout\nx,frac_ferroptosis\n"}, "fits.csv: missing column(s) ec50"),
        (
            {"wells.csv": "plate,well,time_h,n_cells\nP1,A01,zero,10\n"},
            "column 'time_h' line 2: 'zero' is not a number",
        ),
        ({"wells.csv": "plate,well,time_h,n_cells\nP1,Z99,0,10\n"}, "wells.csv"),
        ({"wells.csv": ""}, "wells.csv: file is empty"),
        (
            {"wells.csv": "plate,well,time_h,n_cells\nP1,A01,0,10\n", "provenance.json": "{oops"},
            "provenance.json: not valid JSON",
        ),
    ],
)
def test_bad_results_folders_raise_one_line_errors(tmp_path, files, fragment):
    root = tmp_path / "res"
    root.mkdir()
    for name, text in files.items():
        _write(root / name, text)
    with pytest.raises(ReportInputError) as info:
        load_results(root)
    msg = str(info.value)
    assert fragment in msg and len(msg.splitlines()) == 1 and str(root) in msg


def test_cli_user_errors(tmp_path, cli, user_error):
    user_error(cli("report", tmp_path / "nope", "--out", tmp_path / "r.html"), "nope", "results folder not found")
    _write(tmp_path / "res" / "ranking.csv", "mode,rank,compound\n")
    _write(tmp_path / "res" / "wells.csv", "plate,well,time_h,n_cells\nP1,A01,0,10\n")
    user_error(cli("report", tmp_path / "res", "--out", tmp_path / "r.html"), "ranking.csv", "score")
    assert not (tmp_path / "r.html").exists()


def test_segment_outputs_and_hits_folders_without_genes_say_what_to_do(tmp_path):
    seg = tmp_path / "seg"
    _write(seg / "wells.csv", "plate,well,n_fields,n_nuclei\nP1,B03,2,80\n")  # per well, no time_h
    _write(seg / "segment.json", json.dumps({"task": "nuclei-segmentation"}))
    with pytest.raises(ReportInputError, match="a `ferroscreen segment` output .* call hits first"):
        build_report(seg, tmp_path / "a.html")  # was: "wells.csv: missing column(s) time_h"
    hits = tmp_path / "hits"
    _write(hits / "hits.json", "{}")
    with pytest.raises(ReportInputError, match="a `ferroscreen hits` folder without its genes.csv"):
        build_report(hits, tmp_path / "b.html")  # was: "no wells.csv or fits.csv"
    assert not (tmp_path / "a.html").exists() and not (tmp_path / "b.html").exists()


@pytest.mark.parametrize("n_wells", [96, 384, 1536])
def test_plate_heatmaps_of_every_format(n_wells):
    from ferroscreen.plate import PlateFormat

    wells = PlateFormat.from_n_wells(n_wells).wells()
    rng = np.random.default_rng(0)
    end = pd.DataFrame(
        {"well": wells, "n_cells": rng.integers(0, 3000, len(wells)), "frac_ferroptosis": rng.uniform(0, 1, len(wells))}
    )
    uri = figures.plate_heatmaps(
        end, [("n_cells", "cell count", "count"), ("frac_ferroptosis", "ferroptosis", "#c0392b")], flagged=[wells[-1]]
    )
    assert uri.startswith("data:image/png;base64,")


def test_jittered_frame_times_line_up():
    from ferroscreen.report.compounds import frame_times

    wells = pd.DataFrame({"plate": "P1", "well": ["A01", "A02"] * 3, "time_h": [0.0, 0.1, 4.0, 4.1, 8.0, 8.1]})
    assert list(frame_times(wells)) == [0.05, 0.05, 4.05, 4.05, 8.05, 8.05]


def test_layout_that_matches_no_well_is_reported(tmp_path):
    root = tmp_path / "res"
    _write(root / "wells.csv", "plate,well,time_h,n_cells,frac_ferroptosis\nP9,A01,0,10,0.1\nP9,A01,24,12,0.2\n")
    _write(
        root / "layout.csv",
        "plate_id,well,compound,concentration,unit,role,mode\nP1,A01,RSL3,1,uM,reference,ferroptosis\n"
        "P2,A01,RSL3,1,uM,reference,ferroptosis\n",
    )
    res = load_results(root)
    assert any("matches no well" in n for n in res.notes)
    out = build_report(root, root / "r.html")
    assert 'id="plate-qc"' in out.read_text(encoding="utf-8")


def test_analysis_rescue_csv_schema(results_dir, tmp_path):
    import shutil

    root = tmp_path / "r"
    shutil.copytree(results_dir, root)
    pd.DataFrame(
        [
            {
                "compound": "volasertib",
                "rescue_agent": "Fer-1",
                "mode": "ferroptosis",
                "group": "",
                "readout": "frac_ferroptosis",
                "call_alone": "active",
                "call_rescued": "active",
                "shift": 12.0,
                "shift_lo": 6.0,
                "shift_hi": 24.0,
                "effect_reduction": 0.1,
                "confirms": True,
                "verdict": "volasertib + Fer-1 rescue confirms ferroptosis",
            }
        ]
    ).to_csv(root / "rescue.csv", index=False)
    res = load_results(root)
    vola = next(i for i in list_compounds(res)[0] if i.name == "volasertib")
    (comp,) = rescue_comparisons(res, vola)
    assert comp.sentence == (
        "volasertib + Fer-1 shifts the ferroptosis EC50 12-fold (95% CI 6–24): rescue confirms ferroptosis"
    )


def test_pass_columns_are_not_flags(tmp_path, make_results):
    """``export`` writes ``qc_ok`` (1 = the well-time passed every check) beside the flags."""
    from ferroscreen.report.tables import flagged_wells

    root = make_results(tmp_path / "r", compounds=("volasertib",), n_doses=5, times=(0, 36, 72))
    wells = pd.read_csv(root / "wells.csv")
    flagged = wells.filter(like="flag").any(axis=1).to_numpy()
    wells["qc_ok"] = (~flagged).astype(int)
    wells.to_csv(root / "wells.csv", index=False)
    res = load_results(root)
    assert "qc_ok" not in res.flag_columns
    table, n = flagged_wells(res)
    assert n == len(wells.loc[flagged, ["plate", "well"]].drop_duplicates()) > 0
    flags = table["columns"].index("flags")
    assert {row[flags]["text"] for row in table["rows"]} == {"qc_focus_flag"}


def test_compound_gallery_shows_in_its_compounds_section_only(tmp_path, make_results):
    """gallery_compounds.csv: the PNG of a compound's own wells lands in its section; an image path leaving the
    folder is refused with a note."""
    import re

    root = make_results(tmp_path / "res", compounds=("volasertib", "FSC-101"))
    wells = pd.read_csv(root / "wells.csv")
    vol = wells[(wells["compound"] == "volasertib") & wells["rescue_agent"].isna()]["well"].unique()[:2]
    fsc = wells[wells["compound"] == "FSC-101"]["well"].unique()[:1]
    (root / "galleries").mkdir()
    png = (root / "gallery.png").read_bytes()
    (root / "galleries" / "g001.png").write_bytes(png)
    (tmp_path / "outside.png").write_bytes(png)
    rows = [dict(**{"class": "ferroptosis"}, rank=k + 1, plate="P1", well=w, field=1, time_h=24.0, x=10, y=10,
                 radius=5, p=0.9, compound="volasertib", concentration=1e-7, path="x.tif", rescue_agent="",
                 cell_line="", growth_condition="", image="galleries/g001.png") for k, w in enumerate(vol)]
    rows.append(rows[0] | {"well": fsc[0], "compound": "FSC-101", "image": "../outside.png"})
    pd.DataFrame(rows).to_csv(root / "gallery_compounds.csv", index=False)
    html = build_report(root, tmp_path / "r.html").read_text(encoding="utf-8")
    sections = dict(re.findall(r'<article class="compound" id="compound-\d+">\s*<h3>([^<\s]+)(.*?)</article>', html,
                               re.S))
    assert 'alt="cells of volasertib called each death mode"' in sections["volasertib"]
    assert "called each death mode" not in sections["FSC-101"]
    assert "image &#39;../outside.png&#39; lies outside the results folder; not shown" in html


def test_a_fit_folder_without_wells_csv_keeps_its_references_and_rescues(tmp_path, make_results, cli):
    """A fit of a wells table kept elsewhere writes no wells.csv: roles come from readouts.csv, dose points from
    fitted_points.csv, so references and every rescue call still show."""
    src = make_results(tmp_path / "src", compounds=("volasertib", "FSC-101"), n_doses=5, times=(0, 36, 72))
    out = tmp_path / "fit"
    proc = cli("fit", src / "wells.csv", "--layout", src / "layout.csv", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert not (out / "wells.csv").exists() and (out / "fitted_points.csv").is_file()
    res = load_results(out)
    infos, _ = list_compounds(res)
    layout = pd.read_csv(src / "layout.csv")
    references = set(layout.loc[layout["role"] == "reference", "compound"])
    assert references and {i.name for i in infos if i.role == "reference"} == references
    vola = next(i for i in infos if i.name == "volasertib")
    assert "Fer-1" in vola.rescue and vola.curves
    html = (tmp_path / "r.html")
    assert cli("report", out, "--out", html).returncode == 0
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.read_text()))
    assert f"{len(references)} mode references" in text


def test_qc_verdict_follows_the_pass_column_and_flags_explain(tmp_path, make_results):
    """fit's qc.csv passes a plate with a no_controls flag: the report says pass too, with the flag as its reason."""
    root = make_results(tmp_path / "r", compounds=("volasertib",), n_doses=5, times=(0, 36, 72))
    qc = pd.read_csv(root / "qc.csv")
    qc["pass"] = True
    qc["flags"] = "no_controls"
    qc.to_csv(root / "qc.csv", index=False)
    verdict = qc_verdicts(load_results(root))["P1"]
    assert verdict["verdict"] == "pass" and any("fewer than two control wells" in r for r in verdict["reasons"])
    qc.loc[0, "pass"] = False
    qc.to_csv(root / "qc.csv", index=False)
    assert qc_verdicts(load_results(root))["P1"]["verdict"] == "fail"
    qc.drop(columns="pass").to_csv(root / "qc.csv", index=False)  # flags alone: a flag fails the plate
    assert qc_verdicts(load_results(root))["P1"]["verdict"] == "fail"


def test_ranking_rows_of_inactive_compounds_are_greyed_past_their_name(tmp_path, make_results, cli):
    from ferroscreen.report.tables import ranking_tables

    src = make_results(tmp_path / "src", compounds=("volasertib", "FSC-101"), n_doses=5, times=(0, 36, 72))
    assert cli("fit", src / "wells.csv", "--layout", src / "layout.csv", "--out", tmp_path / "fit").returncode == 0
    res = load_results(tmp_path / "fit")
    ranking = res.ranking
    assert "tier" in ranking.columns and (ranking["tier"] != "active").any()
    for table in ranking_tables(res, {}):
        sub = ranking[ranking["mode"] == table["mode"]].sort_values("rank")
        cols = table["columns"]
        for row, tier in zip(table["rows"], sub["tier"].astype(str), strict=True):
            greyed = {col for c, col in zip(row, cols, strict=True) if c.get("cls") == "muted"}
            expected = set(cols) - {"rank", "compound", "tier", "call"} if tier != "active" else set()
            assert greyed == expected


def test_a_fit_of_a_wells_table_elsewhere_finds_its_wells_through_provenance(tmp_path, make_results):
    from typer.testing import CliRunner

    from ferroscreen.cli import app

    root = make_results(tmp_path / "r", compounds=("volasertib",), n_doses=5, times=(0, 36, 72), layout_in_wells=False)
    out = tmp_path / "fit"
    res = CliRunner().invoke(app, ["fit", str(root / "wells.csv"), "--layout", str(root / "layout.csv"), "--out",
                                   str(out)])
    assert res.exit_code == 0, res.output
    assert not (out / "wells.csv").exists()
    loaded = load_results(out)
    assert loaded.wells is not None and len(loaded.wells) == len(pd.read_csv(root / "wells.csv"))
    assert f"Wells read from the fit's input {root / 'wells.csv'} (provenance.json; unchanged since the fit)." \
        in loaded.notes
    with open(root / "wells.csv", "a") as fh:
        fh.write("\n")
    loaded = load_results(out)
    assert loaded.wells is None and any("changed since the fit (sha256)" in n for n in loaded.notes)


def test_a_tidy_fit_shows_its_most_significant_compounds_first(tmp_path):
    """Without a ranking the sections left out are the less significant ones, and the report says so."""
    from typer.testing import CliRunner

    from ferroscreen.cli import app

    rng = np.random.default_rng(0)
    doses = np.logspace(-9, -5, 9)
    rows = []
    for name, ec50 in (("aa_flat", None), ("bb_flat", None), ("zz_potent", 3e-8), ("yy_weak", 1e-6)):
        for d in np.repeat(doses, 2):
            y = 1.0 if ec50 is None else 1 / (1 + d / ec50)
            rows.append((name, d, y + rng.normal(0, 0.03)))
    pd.DataFrame(rows, columns=["curve", "dose", "response"]).to_csv(tmp_path / "tidy.csv", index=False)
    runner = CliRunner()
    assert runner.invoke(app, ["fit", str(tmp_path / "tidy.csv"), "--out", str(tmp_path / "o")]).exit_code == 0
    res = runner.invoke(app, ["report", str(tmp_path / "o"), "--out", str(tmp_path / "r.html"), "--max-compounds", "2"])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "r.html").read_text()
    index = re.search(r'<nav class="compound-index"[^>]*>(.*?)</nav>', text, re.S).group(1)
    assert re.findall(r">([a-z_]+)</a>", index) == ["zz_potent", "yy_weak"]
    assert "2 less significant (no active fit, or a higher q-value) compounds left out" in text


def test_names_with_dollar_signs_are_drawn_as_text():
    """matplotlib read "$...$" in a reference's name as mathtext: R$\\q$ crashed the report (ParseFatalException)."""
    times = [0.0, 4.0, 8.0]
    doses = pd.DataFrame({"time_h": times * 2, "concentration": [1e-7] * 3 + [1e-6] * 3,
                          "frac_ferroptosis": [0.0, 0.1, 0.2, 0.0, 0.3, 0.6]})
    refs = pd.DataFrame({"compound": ["R$\\q$"] * 3, "concentration": [1e-6] * 3, "mode": ["ferroptosis"] * 3,
                         "time_h": times, "frac_ferroptosis": [0.0, 0.5, 0.9]})
    uri = figures.time_course_figure({"doses": doses, "references": refs},
                                     [("frac_ferroptosis", "ferroptosis $x$", "ferroptosis")])
    assert uri.startswith("data:image/png;base64,")
