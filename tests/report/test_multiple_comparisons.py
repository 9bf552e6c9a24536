"""The report discloses its multiple comparisons: the activity rule's BH family, alpha and minimal effect,
the readout each mode is ranked on, and the rescue tests' level with Holm-adjusted p-values."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import markupsafe
import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import fit_curves
from ferroscreen.report import build_report, load_results
from ferroscreen.report.compounds import list_compounds
from ferroscreen.report.rescue import rescue_comparisons

from .conftest import EVIL

DOSES = [1e-9 * 10 ** (k / 2) for k in range(7)]
# curve -> fraction at the top dose (0.02 at dose 0); "C" is flat
TOPS = {"A": 0.8, "B": 0.5, "C": 0.02, "A + Fer-1": 0.1}
READOUTS = ("peak_ferroptosis", "frac_ferroptosis")


def _tidy(readouts=READOUTS) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for readout in readouts:
        for curve, top in TOPS.items():
            for rep in range(2):
                for d in [0.0, *DOSES]:
                    hill = 0.0 if d == 0 else 1 / (1 + (1e-7 / d) ** 1.5)
                    y = 0.02 + (top - 0.02) * hill + rng.normal(0, 0.02)
                    rows.append({"curve": curve, "readout": readout, "dose": d, "response": float(y), "rep": rep})
    return pd.DataFrame(rows).drop(columns="rep")


def _folder(root: Path, fits: pd.DataFrame, provenance: dict | None = None, rescue: pd.DataFrame | None = None,
            ranking: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    fits.to_csv(root / "fits.csv", index=False)
    if ranking:
        own = fits[(fits["readout"] == "peak_ferroptosis") & ~fits["curve"].str.contains(" + ", regex=False)]
        own = own.assign(tier=np.where(own["call"] == "active", "active", "inactive"))
        own = own.sort_values(["tier", "effect"], ascending=[True, False])
        pd.DataFrame({"mode": "ferroptosis", "rank": range(1, len(own) + 1), "compound": own["curve"],
                      "score": own["effect"].clip(0, 1), "tier": own["tier"], "call": own["call"],
                      "q_value": own["q_value"], "readout": own["readout"]}).to_csv(root / "ranking.csv", index=False)
    if provenance is not None:
        (root / "provenance.json").write_text(json.dumps(provenance), encoding="utf-8")
    if rescue is not None:
        rescue.to_csv(root / "rescue.csv", index=False)
    return root


@pytest.fixture(scope="module")
def fits() -> pd.DataFrame:
    return fit_curves(_tidy(), model="ll4", plateau_bounds=(0.0, 1.0))


def _text(path: Path) -> str:
    """The page's visible text, tags dropped and entities read, spaces collapsed."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _report(root: Path) -> str:
    return _text(build_report(root, root / "report.html", max_compounds=2))


def test_summary_states_the_activity_rule_with_the_bh_family_and_thresholds(fits, tmp_path):
    root = _folder(tmp_path / "r", fits, provenance={"fit": {"model": "ll4", "input_kind": "wells", "min_effect": 0.1,
                                                             "min_effect_from": "default"}})
    text = _report(root)
    n_active = {r: int(((fits["readout"] == r) & (fits["call"] == "active")).sum()) for r in READOUTS}
    assert "Benjamini–Hochberg" in text
    assert "q ≤ 0.05 (ferroscreen's fixed level; provenance.json does not record it)" in text
    assert "at least 0.1 (the default)" in text
    # the family: every curve of a readout (rescue curves too), each readout apart, as fit_curves adjusts
    assert "2 readouts, 4 curves each" in text
    assert (f"peak_ferroptosis {n_active['peak_ferroptosis']} of 4, frac_ferroptosis {n_active['frac_ferroptosis']} "
            f"of 4") in text
    assert "called otherwise" not in text and "not a Benjamini–Hochberg adjustment" not in text


def test_the_ranked_readout_is_named_and_the_others_pointed_to(fits, tmp_path):
    text = _report(_folder(tmp_path / "r", fits))
    n = int(((fits["readout"] == "peak_ferroptosis") & (fits["call"] == "active")).sum())
    assert f"ferroptosis on peak_ferroptosis ({n} of 4 curves active)" in text
    assert "The calls on the other readouts (frac_ferroptosis) play no part in the ranking" in text
    assert "Ranked on one readout per mode: ferroptosis peak_ferroptosis" in text


def test_thresholds_recorded_in_provenance_are_the_ones_stated(fits, tmp_path):
    prov = {"fit": {"input_kind": "tidy", "alpha": 0.01, "min_effect": {"peak_ferroptosis": 0.6,
                                                                        "frac_ferroptosis": 0.2},
                    "min_effect_from": {"peak_ferroptosis": "upper", "frac_ferroptosis": "upper"}}}
    text = _report(_folder(tmp_path / "r", fits, provenance=prov))
    assert "q ≤ 0.01 (provenance.json)" in text
    assert "per readout (peak_ferroptosis 0.6, frac_ferroptosis 0.2; provenance.json)" in text
    # B (effect ~0.49 on peak_ferroptosis) is active in fits.csv (fitted at 0.05 and 0.1), not by this record: said
    assert "called otherwise than this rule gives with q ≤ 0.01" in text


def test_q_values_that_are_no_per_readout_bh_adjustment_are_said(fits, tmp_path):
    edited = fits.copy()
    edited["q_value"] = edited["p_value"]  # unadjusted
    text = _report(_folder(tmp_path / "r", edited))
    assert "not a Benjamini–Hochberg adjustment of its p-values within each readout" in text
    assert "curves each" not in text  # no family claimed


def test_a_readout_name_is_escaped(fits, tmp_path):
    evil = fits.assign(readout=fits["readout"].replace({"frac_ferroptosis": EVIL}))
    root = _folder(tmp_path / "r", evil, ranking=False)
    page = build_report(root, root / "report.html", max_compounds=1).read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page
    escaped = str(markupsafe.escape(EVIL))  # as the page's autoescape writes it
    assert f"peak_ferroptosis 2 of 4, {escaped} 2 of 4" in page  # in the per-readout counts


def _analysis_rescue(p_values: list[float]) -> pd.DataFrame:
    rows = []
    for name, p in zip(("A", "B", "C"), p_values, strict=False):
        rows.append({"compound": name, "rescue_agent": "Fer-1", "mode": "ferroptosis", "group": "",
                     "readout": "auc_ferroptosis", "call_alone": "active", "call_rescued": "inactive",
                     "shift": np.nan, "effect_reduction": 0.9, "confirms": True, "design": "single_dose",
                     "verdict": f"{name} (1 µM) + Fer-1 reduces the ferroptosis effect by 90% (p = {p:.2g}): "
                                f"rescue confirms ferroptosis", "p_value": p})
    return pd.DataFrame(rows)


def test_rescues_are_said_unadjusted_with_holm_p_beside_each(fits, tmp_path):
    root = _folder(tmp_path / "r", fits, rescue=_analysis_rescue([0.01, 0.04, 0.02]))
    res = load_results(root)
    comps = {c.compound: c for info in list_compounds(res)[0] for c in rescue_comparisons(res, info)}
    # Holm over the 3 tests: 0.01 x 3, 0.02 x 2, then max(0.04 x 1, 0.04)
    assert {k: round(c.holm_p, 6) for k, c in comps.items()} == {"A": 0.03, "B": 0.04, "C": 0.04}
    assert all(c.verdict == "confirms" for c in comps.values())  # the analysis's verdicts stand
    text = _text(build_report(root, root / "report.html"))
    assert "Each rescue is tested on its own at the 5% level: the verdicts are not adjusted for the 3 rescue tests" \
           in text
    assert "about 3 × 0.05 = 0.15 false confirmations" in text
    assert "(effect test p 0.01; Holm-adjusted over the 3 rescue tests of rescue.csv: 0.03)" in text
    assert text.count("Holm-adjusted over the 3 rescue tests of rescue.csv") >= 6  # summary and each section


def test_potency_ratio_rows_get_holm_p_too(fits, tmp_path):
    table = pd.DataFrame([{"numerator": "A + Fer-1", "denominator": "A", "readout": "peak_ferroptosis",
                           "ratio": 20.0, "log_lo": 5.0, "log_hi": 80.0, "p_value": 0.004},
                          {"numerator": "A + Fer-1", "denominator": "A", "readout": "frac_ferroptosis",
                           "ratio": 1.2, "log_lo": 0.5, "log_hi": 3.0, "p_value": 0.6}])
    root = _folder(tmp_path / "r", fits, rescue=table)
    res = load_results(root)
    info = next(i for i in list_compounds(res)[0] if i.name == "A")
    holm = sorted(round(c.holm_p, 6) for c in rescue_comparisons(res, info))
    assert holm == [0.008, 0.6]


def test_a_rescue_not_assessable_is_no_test_of_the_holm_family():
    """A compound alone without an effect can confirm nothing: its row's p-value no longer counts as a test."""
    from ferroscreen.report.multiplicity import holm_adjusted

    table = pd.DataFrame({"p_value": [0.01, 0.04, 0.3], "call_alone": ["active", "active", "inactive"]})
    held = holm_adjusted(table)
    assert held.round(6).tolist()[:2] == [0.02, 0.04] and np.isnan(held.iloc[2])
