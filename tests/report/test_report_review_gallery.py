"""Compound gallery titles write doses as the report's legends, tables and README do: 3 significant digits."""

from __future__ import annotations

from ferroscreen.report.formatting import molar
from ferroscreen.score import gallery


def test_gallery_doses_have_the_reports_three_significant_digits():
    row = {"well": "C05", "time_h": 24.0, "p": 0.91, "compound": "FSC-101", "concentration": 10 ** -7.5}
    assert gallery._label(row).splitlines()[1] == "FSC-101 31.6 nM"  # was "FSC-101 31.62 nM"
    for conc in (10 ** -5.5, 1e-7, 3.3333e-6, 2.5e-3):
        assert gallery._label(row | {"concentration": conc}).splitlines()[1] == f"FSC-101 {molar(conc)}"
    assert gallery._label(row | {"concentration": 9.996e-7}).splitlines()[1] == "FSC-101 1 µM"  # not "1e+03 nM"
