"""Count readouts from frames that frame QC flagged, and fraction readouts of wells missing their first scan."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis.readouts import normalise_to_vehicle, summarise_wells, suspect_counts

TIMES = (0.0, 8.0, 16.0, 24.0, 32.0, 40.0, 48.0)


def plate(counts: dict[str, list[float]], outlier: dict[str, list[float]] | None = None,
          roles: dict[str, str] | None = None) -> pd.DataFrame:
    """A one-plate wells table with ``qc_empty`` / ``qc_count_outlier`` as ``score`` writes them."""
    rows = []
    for well, series in counts.items():
        for i, (t, n) in enumerate(zip(TIMES, series, strict=True)):
            flagged = i in (outlier or {}).get(well, [])
            rows.append({"plate": "P", "well": well, "time_h": t, "n_cells": float(n),
                         "frac_ferroptosis": np.nan if n == 0 else 0.1, "qc_empty": int(n == 0),
                         "qc_defocus": 0, "qc_count_outlier": int(flagged), "qc_ok": int(not flagged and n > 0),
                         "role": (roles or {}).get(well, "sample")})
    return pd.DataFrame(rows)


def test_a_defocused_endpoint_frame_is_no_count_of_zero():
    """B12 of the walk-through: 86 cells at 40 h, a defocused 48 h frame with none found (flagged empty and
    count outlier). Its n_cells_end was 0 (viability 0, read as a kill); now missing, and said why."""
    wells = plate({"B12": [41, 57, 66, 66, 72, 86, 0]}, outlier={"B12": [6]})
    notes: list[str] = []
    s = summarise_wells(wells, notes=notes).set_index("well")
    assert np.isnan(s.loc["B12", "n_cells_end"])
    assert s.loc["B12", "n_cells_t0"] == 41
    assert len(notes) == 1 and "suspect count at the endpoint scan (48 h)" in notes[0] and "(B12)" in notes[0]
    assert "no cell left" not in notes[0] and "not cells lost" in notes[0]


def test_a_kill_keeps_its_low_or_zero_endpoint():
    """A02 of the walk-through (staurosporine: 30, 5, 4 cells) has a flagged endpoint because the flag's median
    lags a steep fall, but 4 is near the 5 before it: it stands. C05 (18, 0, 0; the last not flagged) keeps 0."""
    wells = plate({"A02": [62, 74, 79, 60, 30, 5, 4], "C05": [53, 54, 51, 41, 18, 0, 0]},
                  outlier={"A02": [5, 6], "C05": [5]})
    notes: list[str] = []
    s = summarise_wells(wells, notes=notes).set_index("well")
    assert s.loc["A02", "n_cells_end"] == 4 and s.loc["C05", "n_cells_end"] == 0
    assert not any("suspect" in n for n in notes)
    assert any("no cell left at the endpoint scan (48 h)" in n and "(C05)" in n for n in notes)


def test_a_vehicle_well_with_a_failed_time_zero_frame_leaves_the_vehicle_fold_change():
    """B01 of the walk-through: a vehicle well with 2 cells found at 0 h (then 55, 65, ...). Its n_cells_t0 of 2
    lowered the vehicle mean x0, inflating every GR's vehicle fold change; its own GR was 70."""
    wells = plate({"B01": [2, 55, 65, 56, 71, 75, 80], "B02": [50, 55, 60, 65, 70, 75, 100],
                   "C01": [50, 50, 50, 50, 50, 50, 50]},
                  outlier={"B01": [0]}, roles={"B01": "vehicle", "B02": "vehicle"})
    notes: list[str] = []
    s = summarise_wells(wells, notes=notes)
    assert np.isnan(s.set_index("well").loc["B01", "n_cells_t0"])
    assert any("suspect count at time zero (0 h)" in n and "(B01)" in n for n in notes)
    s = normalise_to_vehicle(s.assign(role=s["well"].map({"B01": "vehicle", "B02": "vehicle"}).fillna("sample")))
    gr = s.set_index("well")["gr"]
    assert np.isnan(gr["B01"])
    # B02 alone gives the vehicle fold change (100 / 50 = 2): C01, flat, has GR 2**(0/1) - 1 = 0
    assert gr["C01"] == 0.0
    assert gr["B02"] == 1.0


def test_a_transient_drop_leaves_the_dip_rate_fit():
    """H04 of the walk-through: a vehicle well with 1 cell found at 40 h between 81 and 98: log2(1) pulled its
    DIP rate below 0."""
    wells = plate({"H04": [50, 57, 64, 72, 81, 1, 102]}, outlier={"H04": [5]})
    notes: list[str] = []
    s = summarise_wells(wells, notes=notes).set_index("well")
    assert s.loc["H04", "dip_rate"] > 0
    assert s.loc["H04", "n_cells_end"] == 102
    assert any("scans before the endpoint" in n and "(H04)" in n for n in notes)


def test_suspect_counts_need_a_jump_against_each_adjacent_read_scan():
    counts = np.array([[80.0, 0.0, 80.0], [30.0, 5.0, 4.0], [2.0, 55.0, np.nan], [80.0, np.nan, 0.0]])
    flagged = np.ones(counts.shape, bool)
    got = suspect_counts(counts, np.zeros(counts.shape, bool), flagged)
    np.testing.assert_array_equal(got, [[True, True, True], [True, False, False], [True, True, False],
                                        [True, False, True]])
    assert suspect_counts(counts, flagged, np.zeros(counts.shape, bool)).all()  # defocus alone is enough


def fractions(first_missing: bool = True) -> pd.DataFrame:
    rows = []
    for well in ("A01", "A02"):
        for t, f in zip(TIMES[:5], (0.05, 0.05, 0.25, 0.45, 0.45), strict=True):
            missing = well == "A02" and (t == 0 if first_missing else t == 16)
            rows.append({"plate": "P", "well": well, "time_h": t, "n_cells": 50.0,
                         "frac_ferroptosis": np.nan if missing else f})
    return pd.DataFrame(rows)


def test_a_well_without_a_first_scan_reading_keeps_onset_and_t50_and_is_named():
    """A partly failed first scan: A02 has no fraction at 0 h. Its onset, T50 were NaN with no note."""
    notes: list[str] = []
    s = summarise_wells(fractions(), notes=notes).set_index("well")
    for col in ("onset_ferroptosis", "t50_ferroptosis"):
        assert s.loc["A02", col] == s.loc["A01", col]
    assert np.isnan(s.loc["A02", "auc_ferroptosis"]) and np.isfinite(s.loc["A01", "auc_ferroptosis"])
    assert notes == ["plate P: 1 well(s) have no fraction read at the first scan (0 h) (A02): their onsets and "
                     "T50s rise from their first read scan, and they have no AUCs (the area from the first scan "
                     "is unknown)"]


def test_a_gap_between_scans_is_bridged_in_the_auc():
    s = summarise_wells(fractions(first_missing=False)).set_index("well")
    # A02 lacks 16 h: linear from 0.05 (8 h) to 0.45 (24 h) gives the same 0.25 at 16 h, so the same AUC
    assert np.isclose(s.loc["A02", "auc_ferroptosis"], s.loc["A01", "auc_ferroptosis"])


def test_a_well_without_a_time_zero_count_is_named_for_its_gr():
    wells = fractions().drop(index=5)  # A02 at 0 h: no row at all
    notes: list[str] = []
    s = summarise_wells(wells, notes=notes).set_index("well")
    assert np.isnan(s.loc["A02", "n_cells_t0"])
    assert any(n.startswith("plate P: 1 well(s) have no count at time zero (0 h) (A02): no n_cells_t0, so no GR")
               for n in notes)


def test_the_jump_rule_is_the_scorers_count_outlier_rule():
    """analysis copies score.qc's thresholds (importing ferroscreen.score would load torch): they must agree."""
    from ferroscreen.analysis import readouts
    from ferroscreen.score import qc

    assert (readouts.JUMP_FACTOR, readouts.JUMP_MIN_CELLS) == (qc.COUNT_FACTOR, qc.COUNT_MIN_DIFF)
