"""Plate QC judges a reference run as a dose series at its highest dose.

Was: every dose of the reference was pooled as the positive control, so a good 384-well plate whose
references ran at 4 doses read Z′ -1.23 and failed (its top dose alone: 0.94).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis.qc import plate_qc, top_dose_controls


def _plate(ref_doses_m, ref_fracs, n_rep=2, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"plate": "P", "well": f"A{i + 1:02d}", "role": "vehicle", "mode": "", "compound": "DMSO",
             "concentration": 0.0, "frac_ferroptosis": 0.05 + rng.normal(0, 0.01)} for i in range(8)]
    k = 0
    for dose, frac in zip(ref_doses_m, ref_fracs, strict=True):
        for _ in range(n_rep):
            k += 1
            rows.append({"plate": "P", "well": f"B{k:02d}", "role": "reference", "mode": "ferroptosis",
                         "compound": "RSL3", "concentration": dose, "frac_ferroptosis": frac + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


def test_a_dose_series_reference_is_judged_at_its_top_dose():
    wells = _plate([1e-8, 1e-7, 1e-6, 1e-5], [0.08, 0.3, 0.7, 0.95])
    qc = plate_qc(wells, ["ferroptosis"]).iloc[0]
    assert qc["n_reference"] == 2
    assert qc["mean_reference"] > 0.9 and qc["z_prime"] > 0.8 and bool(qc["pass"]), qc.to_dict()


def test_a_single_dose_reference_and_several_references_keep_every_well():
    wells = _plate([1e-6], [0.9], n_rep=4)
    assert plate_qc(wells, ["ferroptosis"]).iloc[0]["n_reference"] == 4
    two = pd.concat([wells, wells.assign(compound="erastin", concentration=1e-5,
                                         well=[f"C{i:02d}" for i in range(1, len(wells) + 1)])])
    two = two[~((two["compound"] == "erastin") & (two["role"] == "vehicle"))]
    rows = plate_qc(two, ["ferroptosis"]).query("readout == 'frac_ferroptosis'")
    assert rows["n_reference"].tolist() == [4, 4] and rows["reference"].tolist() == ["RSL3", "erastin"]


def test_wells_without_doses_stay():
    wells = _plate([np.nan], [0.9], n_rep=3)
    assert len(top_dose_controls(wells[wells["role"] == "reference"])) == 3


def test_a_series_of_one_well_per_dose_is_judged_on_its_top_two_doses():
    # before: the single top-dose well alone: n_reference 1, Z′ NaN, no_controls, and the plate passed unjudged
    wells = _plate([1e-8, 1e-7, 1e-6, 1e-5, 3e-5], [0.08, 0.3, 0.7, 0.93, 0.95], n_rep=1)
    qc = plate_qc(wells, ["ferroptosis"]).iloc[0]
    assert qc["n_reference"] == 2 and qc["mean_reference"] > 0.9, qc.to_dict()
    assert qc["z_prime"] > 0.5 and qc["flags"] == "" and bool(qc["pass"])
    top = top_dose_controls(wells[wells["role"] == "reference"])
    assert sorted(top["concentration"]) == [1e-5, 3e-5]
    # the same with a failed top dose: judged, and failed
    bad = _plate([1e-8, 1e-7, 1e-6, 1e-5, 3e-5], [0.08, 0.3, 0.7, 0.06, 0.07], n_rep=1)
    qc = plate_qc(bad, ["ferroptosis"]).iloc[0]
    assert qc["n_reference"] == 2 and "low_z_prime" in qc["flags"] and not qc["pass"]


def test_the_top_dose_with_two_wells_stays_alone_and_a_lone_top_takes_the_next_dose_whole():
    wells = _plate([1e-7, 1e-6], [0.5, 0.9], n_rep=3)
    assert sorted(top_dose_controls(wells[wells["role"] == "reference"])["concentration"]) == [1e-6] * 3
    one_top = pd.concat([_plate([1e-7], [0.5], n_rep=3), _plate([1e-6], [0.9], n_rep=1)])
    ref = one_top[one_top["role"] == "reference"]
    assert sorted(top_dose_controls(ref)["concentration"]) == [1e-7] * 3 + [1e-6]
