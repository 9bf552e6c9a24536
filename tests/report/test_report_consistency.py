"""The report's text agrees with its tables: rank badges, EC50 bounds, top-dose responses, QC caveats, counts.

The results folder here has the shapes a lab head's walk-through of a demo fit found contradicted:
FSC-106 inactive in every mode yet ranked #2 in two of them (its heading said ``#2 apoptosis``, in an
active hit's badge); FSC-103 the one necroptosis hit, its EC50 above the top dose (10 µM) with an
interval open above from 1.12 µM, on a plate whose necroptosis QC failed (Z′ 0.06, CV 26 %); FSC-101
an open-topped curve whose interval is open both ways.
"""

from __future__ import annotations

import html as html_lib
import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ferroscreen.report import build_report, load_results
from ferroscreen.report.build import _gallery, _rank_badges
from ferroscreen.report.compounds import CompoundInfo, list_compounds
from ferroscreen.report.formatting import ec50_text
from ferroscreen.report.results import Results
from ferroscreen.report.tables import (
    fits_table,
    flagged_wells,
    qc_verdicts,
    ranking_tables,
    top_hits,
)

DOSE_MIN, DOSE_MAX = 3.16e-9, 1e-5
FAR = "at_bound;ec50_out_of_range;incomplete;far_plateau_undetermined"
# curve, readout, ec50, ec50_lo, ec50_hi, e0, emax (at the top dose), effect, call, flags
CURVES = [
    ("FSC-101", "peak_apoptosis", 1.4e-7, 0.0, math.inf, 0.1, 0.9, 0.8, "active", "far_plateau_undetermined"),
    ("FSC-106", "peak_apoptosis", 1e-6, 0.0, math.inf, 0.1, 0.09, -0.01, "inactive", "at_bound"),
    ("volasertib", "peak_ferroptosis", 6.76e-8, 5.1e-8, 9.2e-8, 0.01, 0.70, 0.69, "active", ""),
    ("FSC-106", "peak_ferroptosis", 1e-6, 0.0, math.inf, 0.01, 0.02, 0.01, "inactive", ""),
    ("FSC-103", "peak_necroptosis", 2.4e-5, 1.12e-6, math.inf, 0.02, 0.20, 0.181, "active", FAR),
    ("FSC-106", "peak_necroptosis", 1e-6, 0.0, math.inf, 0.02, 0.05, 0.027, "inactive", ""),
]
# mode, rank, tier, compound, score, efficacy, ec50 (as ranking.csv holds it), ec50_bound
RANKING = [
    ("apoptosis", 1, "active", "FSC-101", 0.68, 0.8, 1.4e-7, ""),
    ("apoptosis", 2, "inactive", "FSC-106", 0.5, 0.0, np.nan, ""),
    ("ferroptosis", 1, "active", "volasertib", 0.74, 0.69, 6.76e-8, ""),
    ("ferroptosis", 2, "inactive", "FSC-106", 0.6, 0.01, np.nan, ""),
    ("necroptosis", 1, "active", "FSC-103", 0.34, 0.181, 1e-5, ">"),  # held at the top dose by the ranking
    ("necroptosis", 2, "inactive", "FSC-106", 0.9, 0.027, np.nan, ""),  # a higher score, still no hit
]
QC = pd.DataFrame({
    "plate": "VID1", "group": np.nan,
    "readout": ["peak_apoptosis", "peak_ferroptosis", "peak_necroptosis", "n_cells_end"],
    "reference": ["staurosporine", "RSL3", "TNF+SMAC+zVAD", np.nan],
    "z_prime": [0.77, 0.79, 0.0586, 0.1551], "cv_vehicle": [0.15, 0.66, 0.70, 0.19],
    "cv_reference": [0.05, 0.07, 0.264, 0.65], "edge_effect": [np.nan, np.nan, np.nan, -0.13],
    "pass": [True, True, False, False], "flags": [np.nan, np.nan, "low_z_prime;high_cv", "low_z_prime"],
})


def _fits() -> pd.DataFrame:
    return pd.DataFrame([
        {"curve": c, "readout": r, "model": "ll4", "n_points": 20, "n_doses": 9, "dose_min": DOSE_MIN,
         "dose_max": DOSE_MAX, "bottom": e0, "top": e0 + 1.2 * eff, "hill": 1.2, "ec50": ec50, "ec50_lo": lo,
         "ec50_hi": hi, "pec50": -math.log10(ec50), "e0": e0, "emax": emax, "effect": eff, "p_value": 1e-4,
         "q_value": 1e-3 if call == "active" else 0.6, "call": call, "flags": flags, "compound": c, "treatment": c,
         "rescue_agent": "", "group": "", "role": "sample", "mode": ""}
        for c, r, ec50, lo, hi, e0, emax, eff, call, flags in CURVES
    ])


def _ranking() -> pd.DataFrame:
    fits = _fits()
    rows = []
    for mode, rank, tier, compound, score, efficacy, ec50, bound in RANKING:
        fit = fits[(fits["curve"] == compound) & (fits["readout"] == f"peak_{mode}")].iloc[0]
        rows.append({"mode": mode, "rank": rank, "tier": tier, "compound": compound, "score": score,
                     "efficacy": efficacy, "pec50": -math.log10(ec50) if ec50 == ec50 else np.nan, "ec50": ec50,
                     "ec50_bound": bound, "effect": fit["effect"], "call": fit["call"], "flags": fit["flags"],
                     "role": "sample", "group": "", "curve": compound, "readout": f"peak_{mode}"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("consistency") / "res"
    root.mkdir()
    _fits().to_csv(root / "fits.csv", index=False)
    _ranking().to_csv(root / "ranking.csv", index=False)
    QC.to_csv(root / "qc.csv", index=False)
    return root


@pytest.fixture(scope="module")
def html(folder):
    return build_report(folder, folder.parent / "report.html").read_text(encoding="utf-8")


def _text(fragment: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip())


def _heading(html: str, name: str) -> str:
    return next(h for h in re.findall(r'<article class="compound"[^>]*>\s*<h3>(.*?)</h3>', html, re.S)
                if _text(h).startswith(name))


def test_rank_badges_only_where_the_compound_is_active(folder, html):
    """FSC-106 is inactive in every mode: its heading said '#2 apoptosis' in an active hit's badge."""
    res = load_results(folder)
    infos, _ = list_compounds(res)
    by_name = {i.name: i for i in infos}
    assert _rank_badges(res, by_name["FSC-106"]) == ([], "not active in any ranked mode")
    assert _rank_badges(res, by_name["FSC-103"]) == (["#1 necroptosis"], "")
    heading = _heading(html, "FSC-106")
    assert 'class="badge rank"' not in heading and "not active in any ranked mode" in _text(heading)
    assert 'class="badge rank">#1 necroptosis<' in _heading(html, "FSC-103")
    # sections follow the active ranks: the inactive compound last, though it outranked none of them
    assert [i.name for i in infos] == ["volasertib", "FSC-101", "FSC-103", "FSC-106"]
    assert math.isinf(by_name["FSC-106"].best_rank) and by_name["FSC-103"].best_rank == 1


def test_a_mode_without_hits_gives_no_badge_nor_a_first_section(tmp_path):
    """demo_auc: no necroptosis curve active, yet FSC-103's heading said '#2 necroptosis'; a compound ranked
    first among the inactive of such a mode (with a higher score) came before the active hit of another."""
    ranking = pd.DataFrame({"mode": ["apoptosis", "apoptosis", "necroptosis", "necroptosis"], "rank": [1, 2, 1, 2],
                            "tier": ["active", "inactive", "inactive", "inactive"], "compound": ["A", "B", "B", "A"],
                            "score": [0.3, 0.01, 0.9, 0.05]})
    res = Results(root=tmp_path, ranking=ranking)
    info = CompoundInfo(name="B", anchor="compound-2")
    assert _rank_badges(res, info) == ([], "not active in any ranked mode")
    assert [i.name for i in list_compounds(res)[0]] == ["A", "B"]
    # an older ranking without tier or call ranks only active compounds
    older = Results(root=tmp_path, ranking=ranking.drop(columns="tier"))
    assert _rank_badges(older, info) == (["#1 necroptosis", "#2 apoptosis"], "")


def test_one_ec50_rule_for_bounds():
    row = {"ec50": 2.4e-5, "ec50_lo": 1.12e-6, "ec50_hi": math.inf, "dose_min": DOSE_MIN, "dose_max": DOSE_MAX,
           "flags": FAR}
    assert ec50_text(row) == "> 1.12 µM"  # was "> 10 µM", the top dose, though the data allow 1.12 µM
    assert ec50_text({**row, "ec50_lo": 2e-5}) == "> 10 µM"  # a lower limit above the top dose: held to it
    assert ec50_text({**row, "ec50_lo": 0.0}) == "not determined"
    far = {"ec50": 3.04e-7, "ec50_lo": 0.0, "ec50_hi": math.inf, "dose_min": DOSE_MIN, "dose_max": DOSE_MAX,
           "flags": "non_monotone;far_plateau_undetermined"}
    assert ec50_text(far) == "not determined"  # was the bare point estimate "304 nM" beside "unbounded"
    assert ec50_text({**far, "ec50_lo": 1.4e-7}) == "> 140 nM"
    assert ec50_text({**far, "ec50_lo": 1e-20}) == "not determined"  # a limit no dose speaks to is open
    assert ec50_text({**far, "flags": "", "ec50_lo": 2e-7, "ec50_hi": 5e-7}) == "304 nM"  # a potency estimate
    below = {"ec50": 1e-9, "ec50_lo": 0.0, "ec50_hi": 8e-9, "dose_min": DOSE_MIN, "dose_max": DOSE_MAX, "flags": ""}
    assert ec50_text(below) == "< 8 nM"
    # a ranking row whose curve is not in fits.csv keeps the ranking's bound
    assert ec50_text({"ec50": 1e-5, "ec50_bound": ">", "flags": FAR}) == "> 10 µM"


def test_ranking_fits_table_and_top_hits_state_the_same_ec50(folder, html):
    res = load_results(folder)
    necro = next(t for t in ranking_tables(res, {}) if t["mode"] == "necroptosis")
    at = necro["columns"].index("ec50")
    assert necro["rows"][0][at]["text"] == "> 1.12 µM"  # ranking.csv holds 1e-05 with ">"
    assert necro["rows"][0][necro["columns"].index("pec50")]["text"] == "< 5.95"
    hits = {h["mode"]: h for h in top_hits(res, {})}
    assert hits["necroptosis"]["hits"][0]["ec50"] == "EC50 > 1.12 µM"
    assert hits["apoptosis"]["hits"][0]["ec50"] == "EC50 not determined"
    info = next(i for i in list_compounds(res)[0] if i.name == "FSC-103")
    table = fits_table(info)
    assert table["rows"][0][table["columns"].index("EC50")]["text"] == "> 1.12 µM"
    assert "&gt; 10 µM" not in html and html.count("&gt; 1.12 µM") >= 3


def test_fits_table_names_the_top_dose_response_and_shows_the_effect():
    """fits.csv's emax is the response at the top dose: for viability what is left (0.019), headed 'Emax'."""
    fits = pd.DataFrame({"curve": ["CPD-A"], "readout": ["viability"], "ec50": [4.83e-9], "ec50_lo": [4.3e-9],
                         "ec50_hi": [5.4e-9], "dose_min": [1.5e-9], "dose_max": [3e-5], "e0": [1.0],
                         "emax": [0.019], "effect": [-0.981], "call": ["active"], "flags": [""]})
    table = fits_table(CompoundInfo(name="CPD-A", anchor="compound-1", fits=fits))
    assert "Emax" not in table["columns"]
    row = dict(zip(table["columns"], (c["text"] for c in table["rows"][0]), strict=True))
    assert row["at top dose"] == "0.019" and row["effect"] == "-0.981"


def test_gallery_caption_rounds_the_lowest_p_down(tmp_path):
    """The lowest p 0.967 read 'p >= 0.97'."""
    gallery = pd.DataFrame({"class": ["necroptosis", "necroptosis", "alive", "apoptosis"],
                            "well": ["A01", "B01", "C01", "D01"], "time_h": 24.0, "p": [0.99, 0.967172, 0.97, 0.29]})
    got = _gallery(Results(root=tmp_path, gallery=gallery, gallery_png=b"png"))
    assert {c["cls"]: c["p_min"] for c in got["classes"]} == {"necroptosis": "0.96", "alive": "0.97",
                                                             "apoptosis": "0.29"}


def test_failed_qc_and_curve_flags_stand_beside_the_hits(folder, html):
    """The one necroptosis hit sat on a plate whose necroptosis QC failed, with nothing said beside it."""
    res = load_results(folder)
    hits = {h["mode"]: h for h in top_hits(res, {})}
    qc = "VID1, peak_necroptosis, TNF+SMAC+zVAD: Z′ 0.06 below 0.5 and CV of the positive wells 26 % above 20 %"
    assert hits["necroptosis"]["qc"] == [qc]
    assert hits["ferroptosis"]["qc"] == [] and hits["apoptosis"]["qc"] == []
    hit = hits["necroptosis"]["hits"][0]
    assert hit["efficacy"] == "efficacy 0.181"
    assert hit["caveats"] == ["parameter at its fit limit", "EC50 outside the tested doses",
                              "incomplete (< 80 % of the effect at the top dose)", "top plateau not reached"]
    assert hits["ferroptosis"]["hits"][0]["caveats"] == []
    assert {t["mode"]: t["qc"] for t in ranking_tables(res, {})}["necroptosis"] == [qc]
    top = _text(re.search(r'<table class="data compact" id="top-hits">(.*?)</table>', html, re.S).group(1))
    assert f"necroptosis QC fail {qc}" in top
    assert "FSC-103 0.34 EC50 > 1.12 µM · efficacy 0.181 ⚠ caveats: parameter at its fit limit;" in top
    ranking = html[html.index('id="ranking"'):html.index('id="compounds"')]
    assert _text(ranking).count(f"QC fail {qc}") == 1


def test_qc_reasons_are_written_in_words():
    """The plates table read 'fail pass false (peak_necroptosis, TNF+SMAC+zVAD); low_z_prime;high_cv (...)'."""
    reasons = qc_verdicts(SimpleNamespace(qc=QC))["VID1"]["reasons"]
    assert reasons == [
        "peak_necroptosis, TNF+SMAC+zVAD: Z′ 0.06 below 0.5 and CV of the positive wells 26 % above 20 %",
        "n_cells_end: Z′ 0.16 below 0.5",
    ]
    edge = QC.assign(flags=[np.nan, np.nan, "inverted_window", "high_cv;edge_effect"])
    assert qc_verdicts(SimpleNamespace(qc=edge))["VID1"]["reasons"] == [
        "peak_necroptosis, TNF+SMAC+zVAD: positive wells on the wrong side of the vehicle",
        "n_cells_end: CV of the vehicle wells 19 % above 20 % and vehicle counts of the edge wells -13 % against "
        "the inner wells (beyond ±20 %)",
    ]
    silent = QC.assign(flags=np.nan)
    assert qc_verdicts(SimpleNamespace(qc=silent))["VID1"]["reasons"] == [
        "peak_necroptosis, TNF+SMAC+zVAD: failed QC (no reason given)", "n_cells_end: failed QC (no reason given)"]


def test_flagged_wells_count_scans_not_frames(tmp_path):
    """wells.csv has one row per well and time point (a scan of two fields): the table said 'flagged frames'."""
    wells = pd.DataFrame({"plate": "P1", "well": ["A01"] * 3 + ["A02"] * 3, "time_h": [0.0, 4.0, 8.0] * 2,
                          "n_frames": 2, "qc_empty": [False, True, False, False, False, False]})
    res = Results(root=tmp_path, wells=wells)
    table, n = flagged_wells(res)
    assert n == 1 and table["columns"][2:4] == ["flagged scans", "of scans"]
    assert [c["text"] for c in table["rows"][0][2:4]] == ["1", "3"]
