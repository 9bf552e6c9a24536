"""The report of a ``fit WELLS.csv --layout LAYOUT`` folder shows the wells, groups and counts the fit used.

One 96-well plate in two growth conditions (rows A-D: 10% FBS, E-H: serum-free), written as an older
``export`` wrote ``wells.csv``: compounds and roles, but no ``exclude`` or ``growth_condition`` column.
The layout excludes D04 (a bubble; its readings are an outlier that would show) and the fit adds
``--exclude D05``.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from ferroscreen.report.build import _heatmaps, _provenance, report_context
from ferroscreen.report.compounds import list_compounds, time_courses
from ferroscreen.report.html import render_html
from ferroscreen.report.results import load_results
from ferroscreen.report.tables import plates_summary, qc_verdicts, ranking_tables, top_hits

DOSES = [1e-9 * 10 ** (k / 2) for k in range(6)]  # 1 nM .. 316 nM
CONDITIONS = {"10% FBS": ("ABCD", 3e-8), "serum-free": ("EFGH", 3e-7)}  # rows, EC50 of cpdA (ferroptosis)
TIMES = np.arange(0.0, 49.0, 12.0)
OUTLIER = 0.97  # D04's ferroptosis fraction at every time: no other well of its dose comes near


def _layout() -> pd.DataFrame:
    rows = []
    for condition, (letters, _) in CONDITIONS.items():
        for r in letters:
            rows.append(dict(well=f"{r}01", compound="DMSO", role="vehicle", mode="alive"))
            rows += [dict(well=f"{r}{k + 2:02d}", compound="cpdA", concentration=d, unit="M", role="sample")
                     for k, d in enumerate(DOSES)]
            rows += [dict(well=f"{r}{c}", role="empty") for c in (10, 11, 12)]
        for row in rows:
            row.setdefault("growth_condition", condition)
    rows += [dict(well=f"{r}08", compound="single", concentration=1e-6, unit="M", role="sample",
                  growth_condition="10% FBS") for r in "AB"]
    rows += [dict(well=f"{r}09", compound="staurosporine", concentration=1e-5, unit="M", role="pos_ctrl",
                  growth_condition="10% FBS") for r in "AB"]
    rows += [dict(well=f"{r}09", compound="RSL3", concentration=1e-6, unit="M", role="reference", mode="ferroptosis",
                  growth_condition="10% FBS") for r in "CD"]
    table = pd.DataFrame(rows).assign(plate_id="P1", cell_line="HT-1080", exclude="")
    table.loc[table["well"] == "D04", "exclude"] = "bubble µ"
    return table[["plate_id", "well", "compound", "concentration", "unit", "role", "mode", "cell_line",
                  "growth_condition", "exclude"]]


def _wells(layout: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per well x time: cpdA kills by ferroptosis (EC50 per condition), references and controls at the top."""
    rng = np.random.default_rng(seed)
    records = []
    for spec in layout.itertuples(index=False):
        dose = spec.concentration if spec.role == "sample" and spec.compound == "cpdA" else 0.0
        ec50 = CONDITIONS[spec.growth_condition][1]
        top = 0.85 / (1 + ec50 / dose) if dose > 0 else 0.0
        if spec.role in ("reference", "pos_ctrl"):
            top = 0.8
        for t in TIMES:
            if spec.role == "empty":  # no cells: one debris detection called apoptotic
                records.append(dict(well=spec.well, time_h=t, n_cells=1, frac_alive=0.0, frac_apoptosis=1.0,
                                    frac_ferroptosis=0.0))
                continue
            ferro = float(np.clip(0.04 + top * (1 - np.exp(-0.1 * t)) + rng.normal(0, 0.01), 0, 0.95))
            if spec.well == "D04":
                ferro = OUTLIER
            apo = 0.03
            records.append(dict(well=spec.well, time_h=t, n_cells=int(300 * (1 - ferro)) + 5,
                                frac_alive=1 - ferro - apo, frac_apoptosis=apo, frac_ferroptosis=ferro))
    wells = pd.DataFrame(records).assign(plate="P1")
    info = layout[["well", "compound", "concentration", "unit", "role", "mode", "cell_line"]]
    return wells.merge(info, on="well", how="left")  # as an older export: no exclude, no growth_condition


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, cli):
    """``res/``: wells.csv (older export) and the output of ``fit res/wells.csv --layout ... --exclude D05``."""
    root = tmp_path_factory.mktemp("fit_layout")
    layout = _layout()
    layout.to_csv(root / "layout.csv", index=False)
    res = root / "res"
    res.mkdir()
    _wells(layout).to_csv(res / "wells.csv", index=False)
    proc = cli("fit", res / "wells.csv", "--layout", root / "layout.csv", "--exclude", "D05", "--out", res)
    assert proc.returncode == 0, proc.stderr
    assert "D04" in proc.stdout + proc.stderr  # the fit says it left D04 out
    return res


def _excluded(res) -> dict[str, str]:
    """Well -> why it is excluded, for the excluded wells of ``res``."""
    wells = res.wells.drop_duplicates(["plate", "well"])
    return {w: e for w, e in zip(wells["well"], wells["exclude"], strict=True) if e}


def _drawn_maps(res, monkeypatch) -> tuple[dict, list[dict]]:
    """What the plate maps of ``res`` are drawn from (the endpoint table, panels, excluded wells), and the maps."""
    import ferroscreen.report.figures as figures

    drawn = {}

    def capture(end, panels, flagged, excluded=()):
        drawn.update(end=end, panels=panels, excluded=list(excluded))
        return "data:image/png;base64,"

    monkeypatch.setattr(figures, "plate_heatmaps", capture)
    return drawn, _heatmaps(res, qc_verdicts(res))


def _copy(res, tmp_path, drop=()):
    out = tmp_path / "res"
    shutil.copytree(res, out)
    for name in drop:
        (out / name).unlink()
    return out


@pytest.mark.parametrize("source", ["readouts.csv", "layout file", "wells.csv column"])
def test_the_fits_layout_exclusions_reach_the_report_whatever_wells_csv_holds(fitted, tmp_path, monkeypatch,
                                                                              source):
    """D04 (layout) and D05 (--exclude) are excluded: noted, struck through, out of the time courses.

    ``readouts.csv`` says it; without it, the fit's layout (provenance.json); with a wells.csv that
    has the exclude column (a newer export), that column too.
    """
    folder = fitted if source == "readouts.csv" else _copy(fitted, tmp_path, drop=["readouts.csv"])
    if source == "wells.csv column":
        wells = pd.read_csv(folder / "wells.csv")
        layout = _layout()
        wells.merge(layout[["well", "exclude", "growth_condition"]], on="well").to_csv(folder / "wells.csv",
                                                                                      index=False)
        prov = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
        prov["layout"]["path"] = str(tmp_path / "gone.csv")  # only wells.csv knows D04 now
        (folder / "provenance.json").write_text(json.dumps(prov), encoding="utf-8")
    res = load_results(folder)
    assert _excluded(res) == {"D04": "bubble µ", "D05": "--exclude"}
    note = next(n for n in res.notes if "excluded well" in n)
    assert note.startswith("2 excluded wells") and "D04 (bubble µ)" in note and "D05 (--exclude)" in note
    info = next(i for i in list_compounds(res)[0] if i.name == "cpdA" and i.group == "10% FBS")
    doses = time_courses(res, "cpdA", "10% FBS")["doses"]
    d04 = doses[np.isclose(doses["concentration"], DOSES[2], rtol=1e-9, atol=0)]
    assert len(d04) == len(TIMES) and (d04["frac_ferroptosis"] < 0.5).all()  # D04's outlier is not averaged in
    assert info.curves  # its curve is there
    drawn, _ = _drawn_maps(res, monkeypatch)
    assert sorted(drawn["excluded"]) == ["D04", "D05"]


def test_each_growth_condition_gets_one_section_with_its_own_time_courses(fitted):
    """wells.csv has no growth_condition: joined as the fit had it, so no group-less section pools both."""
    res = load_results(fitted)
    fits = pd.read_csv(fitted / "fits.csv")
    assert set(fits["group"].dropna()) == set(CONDITIONS)
    infos, _ = list_compounds(res)
    labels = [i.label for i in infos if i.name == "cpdA"]
    assert sorted(labels) == ["cpdA · 10% FBS", "cpdA · serum-free"]
    ends = {}
    for condition, (_, ec50) in CONDITIONS.items():
        doses = time_courses(res, "cpdA", condition)["doses"]
        top = doses[np.isclose(doses["concentration"], DOSES[-1], rtol=1e-9, atol=0)]
        ends[condition] = float(top.loc[top["time_h"].idxmax(), "frac_ferroptosis"])
        expected = 0.04 + 0.85 / (1 + ec50 / DOSES[-1]) * (1 - np.exp(-0.1 * TIMES[-1]))
        assert ends[condition] == pytest.approx(expected, abs=0.03)  # this condition's wells alone


def test_summary_counts_do_not_depend_on_max_compounds(fitted, tmp_path):
    """Two compounds (cpdA, single), one mode reference (RSL3), one positive control, whatever is shown."""
    res = load_results(fitted)
    context = report_context(res, tmp_path / "r.html", max_compounds=1)
    cut = context["summary"]
    assert len(context["compounds"]) == 1 and context["n_left_out"] > 0
    assert (cut["n_compounds"], cut["n_references"], cut["n_pos_ctrls"]) == (2, 1, 1)


def test_the_plates_table_counts_compounds_as_the_summary_does(fitted):
    """The positive control is counted apart in the summary, so not among the plate's compounds."""
    assert [p["compounds"] for p in plates_summary(load_results(fitted))] == ["2"]


def test_sections_without_a_curve_say_why(fitted, tmp_path):
    res = load_results(fitted)
    compounds = {c["name"]: c for c in report_context(res, tmp_path / "r.html", max_compounds=None)["compounds"]}
    assert compounds["single · 10% FBS"]["no_curve"] == (
        "Tested at one dose (1 µM, 2 wells), so it has no dose-response curve; its wells are in readouts.csv.")
    control = compounds["staurosporine · 10% FBS"]["no_curve"]
    assert control.startswith("Positive control (role pos_ctrl), tested at one dose (10 µM, 2 wells): a control, "
                              "not fitted")
    assert compounds["staurosporine · 10% FBS"]["rescue"] == []  # no rescue sentence made of it
    assert compounds["cpdA · 10% FBS"]["no_curve"] == ""
    html = render_html(report_context(res, tmp_path / "r.html", max_compounds=None))
    assert "Tested at one dose (1 µM, 2 wells), so it has no dose-response curve" in html
    assert html.count("Positive control (role pos_ctrl)") == 1  # under its heading, once


def test_empty_wells_are_blank_on_the_plate_maps(fitted, monkeypatch):
    """A debris detection in a no-cell well (apoptosis 1.0) is not drawn as a dead well."""
    drawn, maps = _drawn_maps(load_results(fitted), monkeypatch)
    end = drawn["end"].set_index("well")
    empty = [f"{r}{c}" for r in "ABCDEFGH" for c in (10, 11, 12)]
    for column, _, _ in drawn["panels"]:
        assert end.loc[empty, column].isna().all(), column
        assert end.drop(index=empty)[column].notna().all(), column
    assert "the layout's 24 empty, no-cell wells left blank" in maps[0]["shows"]


def test_ranking_tables_show_ranking_csv_columns(fitted):
    res = load_results(fitted)
    ranking = pd.read_csv(fitted / "ranking.csv")
    assert "curve" in ranking.columns
    tables = ranking_tables(res, {})
    assert tables
    for table in tables:
        assert set(table["columns"]) <= set(ranking.columns)  # no made-up `name` column


def test_a_mode_without_active_compounds_says_none_active(fitted):
    res = load_results(fitted)
    hits = {h["mode"]: h["hits"] for h in top_hits(res, {})}
    assert hits["apoptosis"] == [{"compound": "none active", "score": "", "href": None, "ec50": "", "efficacy": "",
                                  "caveats": []}]
    assert hits["ferroptosis"][0]["compound"].startswith("cpdA")


def test_provenance_keeps_non_ascii_text_and_escapes_html(fitted, tmp_path):
    folder = _copy(fitted, tmp_path)
    prov = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    prov["scoring"] = {"plate": "HT1080&µ<b>", "channel": "phase", "z": 0, "t": 1, "u": 2}
    (folder / "provenance.json").write_text(json.dumps(prov), encoding="utf-8")
    res = load_results(folder)
    row = next(r for r in _provenance(res, "now") if r["key"] == "scoring")
    assert '"plate": "HT1080&µ<b>"' in row["text"]
    html = render_html(report_context(res, tmp_path / "r.html"))
    assert re.search(r"&#34;plate&#34;: &#34;HT1080&amp;µ&lt;b&gt;&#34;|&quot;plate&quot;: &quot;HT1080&amp;µ&lt;b&gt;",
                     html)
    assert "HT1080&µ<b>" not in html
