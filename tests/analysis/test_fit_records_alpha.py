"""``fit`` and the demo's fit record the activity calls' FDR level (``alpha``) in provenance.json's ``fit``,
and the demo its ``min_effect`` too: the report's account of the calls reads them.

Was: ``fit`` recorded ``min_effect`` only and the demo neither, so the report said of alpha "ferroscreen's
fixed level; provenance.json does not record it" (and of the demo's min_effect "provenance.json does not
record it").
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.analysis.dose_response import fit_curves_with_params
from ferroscreen.analysis.fit_run import ACTIVITY_ALPHA
from ferroscreen.cli import app
from ferroscreen.report.multiplicity import activity_rule
from ferroscreen.report.results import load_results


@pytest.fixture(scope="module")
def files(screen, tmp_path_factory):
    wells, layout = screen
    root = tmp_path_factory.mktemp("alpha")
    wells.to_csv(root / "wells.csv", index=False)
    layout.to_csv(root / "layout.csv")
    return root


def _fit_record(folder) -> dict:
    return json.loads((folder / "provenance.json").read_text(encoding="utf-8"))["fit"]


def test_alpha_is_the_fits_own_level():
    assert ACTIVITY_ALPHA == fit_curves_with_params.__kwdefaults__["alpha"] == 0.05


def test_fit_with_a_layout_records_alpha_and_the_report_reads_it(files):
    out = files / "fit"
    res = CliRunner().invoke(app, ["fit", str(files / "wells.csv"), "--layout", str(files / "layout.csv"),
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    fit = _fit_record(out)
    assert fit["alpha"] == ACTIVITY_ALPHA and fit["min_effect"] == 0.1 and fit["min_effect_from"] == "default"
    rule = activity_rule(load_results(out))["rule"]
    assert "q ≤ 0.05 (provenance.json)" in rule and "does not record" not in rule


def test_a_tidy_fit_records_alpha(tmp_path):
    dose = [0, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5] * 3
    table = pd.DataFrame({"curve": "A", "dose": dose, "response": [0.05 + 0.9 * d / (d + 1e-7) for d in dose]})
    table.to_csv(tmp_path / "tidy.csv", index=False)
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "tidy.csv"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert _fit_record(tmp_path / "o")["alpha"] == ACTIVITY_ALPHA


def test_the_demo_fit_records_alpha_and_min_effect(files):
    from ferroscreen.demo import DEMO_FIT, fit_demo_wells

    out = files / "demo_results"
    lines, written = fit_demo_wells(files / "wells.csv", files / "layout.csv", out)
    assert written == out / "provenance.json" and lines
    fit = _fit_record(out)
    assert fit == {**DEMO_FIT, "input_kind": "wells", "alpha": ACTIVITY_ALPHA, "min_effect": 0.1,
                   "min_effect_from": "default"}
    rule = activity_rule(load_results(out))["rule"]
    assert "does not record" not in rule
