"""A potency-ratio rescue.csv (potency_ratio rows) in the report's rescue section, or a note saying why not."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import fit_curves
from ferroscreen.report import build_report
from ferroscreen.report.compounds import list_compounds
from ferroscreen.report.rescue import rescue_comparisons
from ferroscreen.report.results import load_results

DRUG = "<b>RSL3</b> & co"
RESCUED = f"{DRUG} + Fer-1"


@pytest.fixture(scope="module")
def fits():
    rng = np.random.default_rng(0)
    dose = np.repeat([0, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5], 3)
    frac = lambda e: 0.05 + 0.85 / (1 + (e / np.maximum(dose, 1e-30)) ** 1.2)  # noqa: E731
    return fit_curves(pd.concat([
        pd.DataFrame({"curve": name, "dose": dose, "response": frac(e) + rng.normal(0, 0.03, dose.size)})
        for name, e in [(DRUG, 1e-7), (RESCUED, 1e-6), ("erastin", 3e-7)]
    ]))


def _folder(tmp_path, fits, rows):
    root = tmp_path / "results"
    root.mkdir()
    fits.to_csv(root / "fits.csv", index=False)
    pd.DataFrame(rows).to_csv(root / "rescue.csv", index=False)
    return root


def _ratio_row(numerator=RESCUED, denominator=DRUG, **values):
    row = {"numerator": numerator, "denominator": denominator, "readout": "response", "ratio": 9.9,
           "ratio_lo": 7.0, "ratio_hi": 14.0, "ratio_level": 0.95, "ci_method": "wald", "fieller_lo": 7.1,
           "fieller_hi": 13.8, "log_lo": 7.0, "log_hi": 14.0, "p_value": 2e-6, "note": ""}
    return {**row, **values}


def test_a_potency_ratio_table_is_shown_with_its_interval_and_p_escaped(tmp_path, fits):
    root = _folder(tmp_path, fits, [_ratio_row()])
    res = load_results(root)
    drug = next(i for i in list_compounds(res)[0] if i.name == DRUG)
    (comp,) = rescue_comparisons(res, drug)
    assert (comp.agent, comp.readout, comp.verdict) == ("Fer-1", "response", "confirms")
    assert comp.sentence == f"{RESCUED} shifts the response EC50 9.9-fold (95% CI 7.1–14, p 2e-06): rescue shown"
    page = build_report(root, tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.escape(comp.sentence, quote=False) in page  # once in the summary, once in the section
    assert page.count("9.9-fold (95% CI 7.1–14, p 2e-06)") == 2
    assert "<b>RSL3</b>" not in page


def test_an_interval_ratio_reads_at_its_level_and_an_open_one_as_at_least(tmp_path, fits):
    rows = [
        _ratio_row(ci_method="intervals", fieller_lo=np.nan, fieller_hi=np.nan, log_lo=np.nan, log_hi=np.nan,
                   p_value=np.nan, ratio=18.0, ratio_lo=9.8, ratio_hi=157.0, ratio_level=0.9),
        _ratio_row(numerator="erastin", ci_method="intervals", fieller_lo=np.nan, fieller_hi=np.nan,
                   log_lo=np.nan, log_hi=np.nan, p_value=np.nan, ratio=3.0, ratio_lo=1.5, ratio_hi=np.inf),
    ]
    res = load_results(_folder(tmp_path, fits, rows))
    drug = next(i for i in list_compounds(res)[0] if i.name == DRUG)
    sentences = sorted(c.sentence for c in rescue_comparisons(res, drug))
    assert sentences == [
        f"{RESCUED} shifts the response EC50 18-fold (90% CI 9.8–157): rescue shown",
        f"{DRUG} + erastin shifts the response EC50 3-fold (95% CI ≥ 1.5): rescue shown",
    ]


def test_a_row_whose_denominator_is_no_fitted_curve_is_named_in_the_notes(tmp_path, fits):
    root = _folder(tmp_path, fits, [_ratio_row(), _ratio_row(numerator="X + Fer-1", denominator="X")])
    res = load_results(root)
    assert any("1 row(s) whose denominator is no curve of fits.csv, not shown: X (response)" in n for n in res.notes)
    page = build_report(root, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "whose denominator is no curve of fits.csv" in page


def test_a_rescue_table_of_neither_schema_is_named_in_the_notes(tmp_path, fits):
    res = load_results(_folder(tmp_path, fits, [{"drug": DRUG, "fold": 3.0}]))
    assert any("rescue.csv holds neither potency ratios" in n for n in res.notes)


def test_a_ratio_with_no_potency_says_why(tmp_path, fits):
    note = "no ratio: 'erastin' is called inactive: its EC50 is no potency"
    row = _ratio_row(numerator="erastin", ratio=np.nan, ratio_lo=np.nan, ratio_hi=np.nan, fieller_lo=np.nan,
                     fieller_hi=np.nan, log_lo=np.nan, log_hi=np.nan, p_value=np.nan, ci_method="", note=note)
    res = load_results(_folder(tmp_path, fits, [row]))
    drug = next(i for i in list_compounds(res)[0] if i.name == DRUG)
    (comp,) = rescue_comparisons(res, drug)
    assert comp.sentence == f"{DRUG} + erastin: the response EC50 ratio could not be estimated ({note})"
