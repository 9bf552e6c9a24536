"""One EC50 rule: the report states a fits row's EC50 by ``analysis.potency.ec50_bounds`` (the rule
``fits.csv``'s ``ec50_bound`` is written by), and keeps a ranking row's own stated bound.

Was: ``report.formatting`` had its own copy of the rule (and of ``molar_limits``, ``CI_DECADES``,
``PLAUSIBLE_MOLAR``), which took any row's stated ``ec50_bound`` as the ranking's, its ``ec50`` as already
held: a ``fits.csv`` row (now with ``ec50_bound``) whose EC50 lies beyond the doses without an interval
read ``< 100 pM``, the extrapolated EC50, where fits.csv's rule holds it to the lowest dose, ``< 3 nM``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ferroscreen.analysis import potency
from ferroscreen.analysis.potency import ec50_bounds
from ferroscreen.report import formatting
from ferroscreen.report.formatting import ec50_bound, ec50_text

D0, D1 = 3e-9, 1e-5
FAR = "far_plateau_undetermined"


def _rows() -> pd.DataFrame:
    """Fits rows of every case of the rule, each with ``ec50_bound`` as fits.csv writes it."""
    cases = [
        (1e-7, 5e-8, 2e-7, ""), (2e-5, 4e-6, np.inf, ""), (2e-5, 3e-5, np.inf, ""), (1e-10, 0.0, 5e-10, ""),
        (1e-10, 0.0, 3e-9, ""), (3e-6, 1e-6, np.inf, FAR), (3e-6, 1e-20, np.inf, FAR), (2e-5, 0.0, np.inf, ""),
        (2e-5, np.nan, np.nan, ""), (1e-10, np.nan, np.nan, ""), (3e-6, np.nan, np.nan, FAR),
        (np.nan, np.nan, np.nan, ""), (1e-10, 1e-12, np.nan, ""), (5e-5, np.nan, np.inf, ""),
    ]
    table = pd.DataFrame([{"curve": f"c{i}", "ec50": e, "ec50_lo": lo, "ec50_hi": hi, "flags": f, "dose_min": D0,
                           "dose_max": D1} for i, (e, lo, hi, f) in enumerate(cases)])
    return table.assign(ec50_bound=ec50_bounds(table)[0])


def test_a_fits_row_is_stated_by_the_analysis_rule_whatever_its_own_column():
    table = _rows()
    bounds, values = ec50_bounds(table)
    for (_, row), bound, value in zip(table.iterrows(), bounds, values, strict=True):
        for given in (row, row.drop("ec50_bound"), row.to_dict()):
            got = ec50_bound(given)
            assert got[0] == bound and (got[1] == value or (math.isnan(got[1]) and math.isnan(value))), row


def test_an_ec50_below_the_doses_without_an_interval_is_held_to_the_lowest_dose():
    row = {"ec50": 1e-10, "ec50_lo": np.nan, "ec50_hi": np.nan, "flags": "", "dose_min": D0, "dose_max": D1,
           "ec50_bound": "<"}
    assert ec50_text(row) == "< 3 nM"  # was "< 100 pM": the fitted EC50 beyond every dose
    assert ec50_text({**row, "ec50": 5e-5, "ec50_bound": ">"}) == "> 10 µM"


def test_a_ranking_row_keeps_its_stated_bound():
    # ranking.csv holds an EC50 above the doses at the top dose and says ">": the fits rule reads no bound in it
    held = {"ec50": D1, "ec50_bound": ">", "flags": "", "dose_min": D0, "dose_max": D1}
    assert ec50_bound({**held, "ec50_lo": 2.7e-6, "ec50_hi": np.inf}) == (">", 2.7e-6)  # by the curve's interval
    assert ec50_bound({**held, "ec50_lo": 0.0, "ec50_hi": np.inf})[0] == "?"  # that limit open too
    assert ec50_bound({"ec50": 1e-5, "ec50_bound": ">", "flags": FAR}) == (">", 1e-5)  # no curve in fits.csv
    below = {"ec50": D0, "ec50_bound": "<", "flags": "", "dose_min": D0, "dose_max": D1, "ec50_lo": 0.0}
    assert ec50_bound({**below, "ec50_hi": 8e-9}) == ("<", 8e-9)
    assert ec50_bound({**below, "ec50_hi": np.inf})[0] == "?"


def test_the_report_reads_the_analysis_limits():
    assert formatting.molar_limits is potency.molar_limits
    assert (formatting.CI_DECADES, formatting.PLAUSIBLE_MOLAR) == (potency.CI_DECADES, potency.PLAUSIBLE_MOLAR)
    assert formatting.molar_range(1e-20, 2e-6, D0, D1) == "unbounded–2 µM"
