"""The report's rescue sentences name the readout the EC50 shift was measured on, invert a lowering fold's
interval with the fold, and call a ratio whose interval holds 1 "not significantly changed".

Was (a postdoc's two-line screen): ``REH: staurosporine + Ferrostatin-1 lowers the ferroptosis EC50 1.4-fold
(95% CI 0.52–0.96): no rescue`` - a viability EC50 (rescue.csv's ``readout``), the fold 1/0.708 beside the
interval of the ratio; and ``leaves the ferroptosis EC50 unchanged (ratio 0.28, 95% CI 0.077–1)`` for a
3.6-fold point estimate whose interval merely reaches 1.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import fit_curves
from ferroscreen.report import build_report
from ferroscreen.report.compounds import CompoundInfo, list_compounds
from ferroscreen.report.rescue import rescue_comparisons
from ferroscreen.report.results import Results, load_results

WHO = "staurosporine + Ferrostatin-1"


def _analysis_row(readout: str, shift: float, lo: float, hi: float, **values) -> dict:
    """One ``rescue.csv`` row as ``fit`` with a layout writes it (a curve design: both curves active)."""
    row = {"compound": "staurosporine", "rescue_agent": "Ferrostatin-1", "mode": "ferroptosis", "group": "REH",
           "readout": readout, "call_alone": "active", "call_rescued": "active", "shift": shift,
           "shift_lo": lo, "shift_hi": hi, "effect_reduction": 0.06, "confirms": False,
           "design": "curve", "p_value": 0.73}
    return {**row, **values}


def _sentences(rows: list[dict], tmp_path) -> list[str]:
    res = Results(root=tmp_path, rescue=pd.DataFrame(rows))
    info = CompoundInfo(name="staurosporine", anchor="compound-1", group="REH")
    return [c.sentence for c in rescue_comparisons(res, info)]


def test_a_lowered_viability_ec50_names_the_readout_and_inverts_the_interval_with_the_fold(tmp_path):
    (sentence,) = _sentences([_analysis_row("viability", 0.708, 0.52, 0.96)], tmp_path)
    # 1/0.708 = 1.41; the interval 1/0.96-1/0.52 = 1.04-1.92 (was "ferroptosis EC50 1.4-fold (95% CI 0.52–0.96)");
    # its limits in 3 digits: a lower limit of 1.04 written "1" would read as no shift
    assert sentence == f"{WHO} lowers the viability EC50 1.4-fold (95% CI 1.04–1.92): no rescue"


def test_a_ratio_whose_interval_holds_one_is_not_significantly_changed_not_unchanged(tmp_path):
    (sentence,) = _sentences([_analysis_row("viability", 0.28, 0.077, 1.0)], tmp_path)
    assert "unchanged" not in sentence
    assert sentence == (f"{WHO}: the viability EC50 is not significantly changed (ratio 0.28, 95% CI 0.077–1): "
                        f"no rescue of ferroptosis")


def test_a_readout_of_the_rescued_mode_is_named_by_its_mode(tmp_path):
    row = _analysis_row("frac_ferroptosis", 12.0, 6.0, 24.0, confirms=True)
    (sentence,) = _sentences([row], tmp_path)
    assert sentence == f"{WHO} shifts the ferroptosis EC50 12-fold (95% CI 6–24): rescue confirms ferroptosis"


@pytest.fixture(scope="module")
def fits():
    rng = np.random.default_rng(1)
    dose = np.repeat([0, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5], 3)
    frac = lambda e: 0.05 + 0.85 / (1 + (e / np.maximum(dose, 1e-30)) ** 1.2)  # noqa: E731
    return fit_curves(pd.concat([
        pd.DataFrame({"curve": name, "dose": dose, "response": frac(e) + rng.normal(0, 0.03, dose.size)})
        for name, e in [(DRUG, 1e-7), (f"{DRUG} + Fer-1", 5e-8)]
    ]))


DRUG = "<b>RSL3</b> & co"


def _ratio_folder(tmp_path, fits, **values):
    row = {"numerator": f"{DRUG} + Fer-1", "denominator": DRUG, "readout": "response", "ratio": 0.5,
           "ratio_lo": 0.3, "ratio_hi": 0.8, "ratio_level": 0.95, "fieller_lo": np.nan, "fieller_hi": np.nan,
           "log_lo": np.nan, "log_hi": np.nan, "p_value": 0.004, "note": ""}
    root = tmp_path / "results"
    root.mkdir()
    fits.to_csv(root / "fits.csv", index=False)
    pd.DataFrame([{**row, **values}]).to_csv(root / "rescue.csv", index=False)
    return root


def test_a_potency_ratio_below_one_inverts_its_interval_escaped_in_the_page(tmp_path, fits):
    root = _ratio_folder(tmp_path, fits)
    res = load_results(root)
    drug = next(i for i in list_compounds(res)[0] if i.name == DRUG)
    (comp,) = rescue_comparisons(res, drug)
    assert comp.verdict == "sensitises"
    assert comp.sentence == f"{DRUG} + Fer-1 lowers the response EC50 2-fold (95% CI 1.25–3.33, p 0.004): no rescue"
    page = build_report(root, tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.escape(comp.sentence, quote=False) in page and "<b>RSL3</b>" not in page


def test_an_open_lower_ratio_limit_leaves_the_inverted_interval_open_above(tmp_path, fits):
    res = load_results(_ratio_folder(tmp_path, fits, ratio_lo=np.nan, ratio_hi=0.8, p_value=np.nan))
    drug = next(i for i in list_compounds(res)[0] if i.name == DRUG)
    (comp,) = rescue_comparisons(res, drug)
    assert math.isnan(comp.lo) and comp.hi == 0.8
    assert comp.sentence == f"{DRUG} + Fer-1 lowers the response EC50 2-fold (95% CI ≥ 1.25): no rescue"


def test_a_ratio_without_an_interval_is_neither_confirmed_nor_ruled_out(tmp_path, fits):
    res = load_results(_ratio_folder(tmp_path, fits, ratio=3.6, ratio_lo=np.nan, ratio_hi=np.nan, p_value=np.nan))
    drug = next(i for i in list_compounds(res)[0] if i.name == DRUG)
    (comp,) = rescue_comparisons(res, drug)
    assert comp.sentence == (f"{DRUG} + Fer-1: the response EC50 ratio is 3.6 with no confidence interval: "
                             f"rescue neither confirmed nor ruled out")


def test_a_significant_partial_rescue_is_said_as_the_analysis_says_it(tmp_path):
    """Was: 'the ferroptosis EC50 is not significantly changed (ratio 1 ...): no rescue' beside p 4.7e-09 for a
    curve whose top fell 39 %: the EC50 sentence overrode the analysis's 'partial rescue' verdict."""
    said = ("staurosporine + Ferrostatin-1: partial rescue (frac_ferroptosis at 3.16 µM +0.90 alone, +0.55 with "
            "Ferrostatin-1 over vehicle: reduced by 39% (95% CI 36% to 41%, p = 4.7e-09)), below the 50% that "
            "confirms ferroptosis; EC50 shift 1.02x (95% CI 0.924-1.12)")
    row = _analysis_row("frac_ferroptosis", 1.02, 0.924, 1.12, p_value=4.7e-09, effect_reduction=0.39, verdict=said)
    (sentence,) = _sentences([row], tmp_path)
    assert sentence == said
    quiet = _analysis_row("frac_ferroptosis", 1.02, 0.924, 1.12, verdict="rescue does not confirm ferroptosis")
    (sentence,) = _sentences([quiet], tmp_path)  # p 0.73: the EC50 sentence stands
    assert "not significantly changed" in sentence
