"""Plate QC of multi-cell-line plates: per plate and group, per reference compound.

Was: every cell line of a plate was pooled (a 384-well plate of three good lines, one at 3x the cells
and with 0.16 ferroptosis background, read a vehicle count CV of 0.53 and Z′ -6.0 on every plate);
the top dose of a reference series was taken across lines (HT1080's RSL3 series topping at 1 µM lost
its reference well); and two references of one mode were one pooled positive control (RSL3 at 0.73
and erastin at 0.51 read Z′ 0.39 on perfect data, each alone 0.725 and 0.645).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from ferroscreen.analysis.qc import QC_COLUMNS, plate_qc
from ferroscreen.analysis.screen import analyse_screen
from ferroscreen.report.tables import qc_table, qc_verdicts

_well = iter(f"{r}{c:02d}" for r in "ABCDEFGHIJKLMNOP" for c in range(1, 25))


def _wells(group, role, n, rng, cells, ferro, sd=0.01, compound="", mode="", dose=np.nan):
    return [{"plate": "P1", "well": next(_well), "group": group, "role": role, "compound": compound,
             "mode": mode, "concentration": dose, "n_cells_end": cells * rng.uniform(0.97, 1.03),
             "frac_ferroptosis": ferro + rng.normal(0, sd)} for _ in range(n)]


def _two_lines(ht_top=1e-5, seed=0) -> pd.DataFrame:
    """HT1080 (400 cells, 2 % background) and A549 (1200 cells, 16 %), each with its vehicle and RSL3 series."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, cells, background, top in (("HT1080", 400, 0.02, ht_top), ("A549", 1200, 0.16, 1e-5)):
        rows += _wells(group, "vehicle", 16, rng, cells, background)
        for dose in (top / 100, top / 10, top):
            rows += _wells(group, "reference", 2, rng, cells * 0.2 if dose == top else cells * 0.8,
                           0.9 if dose == top else 0.4, compound="RSL3", mode="ferroptosis", dose=dose)
    return pd.DataFrame(rows)


def test_each_cell_line_of_a_plate_is_judged_against_its_own_controls():
    qc = plate_qc(_two_lines(), ["ferroptosis"])
    assert list(qc.columns) == QC_COLUMNS and {"group", "reference"} <= set(qc.columns)
    assert list(zip(qc["group"], qc["readout"], strict=True)) == [
        ("HT1080", "frac_ferroptosis"), ("HT1080", "n_cells_end"), ("A549", "frac_ferroptosis"), ("A549", "n_cells_end")]
    assert (qc["n_vehicle"] == 16).all() and (qc["n_reference"] == 2).all()
    counts = qc[qc["readout"] == "n_cells_end"]
    assert (counts["cv_vehicle"] < 0.05).all() and (counts["z_prime"] > 0.5).all(), counts.to_dict("records")
    assert qc["pass"].all(), qc[["group", "readout", "z_prime", "flags"]].to_dict("records")


def test_a_reference_series_tops_at_its_own_dose_in_each_line():
    qc = plate_qc(_two_lines(ht_top=1e-6), ["ferroptosis"]).set_index(["group", "readout"])
    assert qc.loc[("HT1080", "frac_ferroptosis"), "n_reference"] == 2  # HT1080's 1 µM wells, not A549's 10 µM
    assert qc.loc[("HT1080", "frac_ferroptosis"), "mean_reference"] > 0.85
    assert qc.loc[("A549", "frac_ferroptosis"), "n_reference"] == 2


def test_two_references_of_one_mode_get_a_row_each():
    rng = np.random.default_rng(1)
    rows = (_wells("", "vehicle", 24, rng, 500, 0.0, sd=0.0)
            + _wells("", "reference", 8, rng, 50, 0.73, sd=0.02, compound="RSL3", mode="ferroptosis", dose=1e-6)
            + _wells("", "reference", 8, rng, 120, 0.51, sd=0.02, compound="erastin", mode="ferroptosis", dose=1e-5))
    qc = plate_qc(pd.DataFrame(rows), ["ferroptosis"])
    frac = qc[qc["readout"] == "frac_ferroptosis"].set_index("reference")
    assert list(frac.index) == ["RSL3", "erastin"] and (frac["n_reference"] == 8).all()
    assert (frac["z_prime"] > 0.5).all() and frac["pass"].all(), frac[["z_prime", "flags"]].to_dict("records")
    count = qc[qc["readout"] == "n_cells_end"].iloc[0]  # the count row pools every positive control
    assert count["reference"] == "" and count["n_reference"] == 16
    assert (qc["group"] == "").all()


def test_a_mode_without_references_keeps_its_no_controls_row():
    wells = _two_lines().query("group == 'A549'").assign(frac_apoptosis=0.02)
    qc = plate_qc(wells, ["ferroptosis", "apoptosis"]).set_index("readout")
    assert qc.loc["frac_apoptosis", "reference"] == "" and qc.loc["frac_apoptosis", "flags"] == "no_controls"
    assert bool(qc.loc["frac_apoptosis", "pass"])


def test_screen_qc_names_its_references_and_a_single_group_stays_empty(screen):
    wells, layout = screen
    qc = analyse_screen(wells, layout).qc
    assert (qc["group"] == "").all()
    modes = qc[qc["readout"] != "n_cells_end"].set_index("readout")["reference"]
    assert modes["peak_ferroptosis"] == "RSL3" and modes["peak_apoptosis"] == "staurosporine"


def test_report_shows_the_group_and_reference_of_a_failing_row():
    qc = plate_qc(_two_lines(), ["ferroptosis"])
    qc.loc[0, ["pass", "flags", "z_prime"]] = [False, "low_z_prime", 0.3]
    reasons = qc_verdicts(SimpleNamespace(qc=qc))["P1"]["reasons"]
    assert reasons == ["frac_ferroptosis, HT1080, RSL3: Z′ 0.30 below 0.5"]
    shown = qc_table(SimpleNamespace(qc=qc, provenance=None))["columns"]
    assert shown[:4] == ["plate", "group", "readout", "reference"]
    one = qc_table(SimpleNamespace(qc=qc.assign(group=np.nan), provenance=None))["columns"]
    assert "group" not in one and "reference" in one  # a one-group screen's table as before


def test_one_well_per_dose_takes_the_top_doses_needed_for_two_wells_in_each_line():
    # before: each line kept its single top-dose well (n_reference 1, Z′ NaN, no_controls, pass unjudged)
    rng = np.random.default_rng(3)
    rows = []
    for group, top in (("HT1080", 1e-6), ("A549", 1e-5)):
        rows += _wells(group, "vehicle", 16, rng, 400, 0.02)
        for dose in (top / 100, top / 10, top / 3, top):
            rows += _wells(group, "reference", 1, rng, 80, 0.9 if dose >= top / 3 else 0.3, compound="RSL3",
                           mode="ferroptosis", dose=dose)
    qc = plate_qc(pd.DataFrame(rows), ["ferroptosis"]).set_index(["group", "readout"])
    for group in ("HT1080", "A549"):
        row = qc.loc[(group, "frac_ferroptosis")]
        assert row["n_reference"] == 2 and row["mean_reference"] > 0.85 and row["z_prime"] > 0.5, row.to_dict()
        assert row["flags"] == "" and row["pass"]
