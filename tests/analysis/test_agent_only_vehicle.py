"""Vehicle wells with a rescue agent alone are the vehicle of that agent's curves only.

A layout beside its plain DMSO wells holds DMSO + Ferrostatin-1 wells (role ``vehicle``: inhibitor-only
controls). Fer-1 alone slows growth by 20 % at 48 h and does not interact with staurosporine, so
staurosporine + Fer-1 over its own vehicle reads as staurosporine over plain vehicle: no rescue, and no
"sensitisation" either. Pooled with the plain wells (before), its viability was 0.8 times that of the
compound alone: "reduced by -23% (95% CI -36% to -11%, p = 0.00036); EC50 shift 0.446x".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.dose_tables import annotate_wells, dose_response_table, vehicle_sets
from ferroscreen.analysis.screen import analyse_screen
from ferroscreen.plate import make_layout

DOSES = [1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6]
FER = "Ferrostatin-1"


def _layout(agent_vehicles: bool = True):
    rows = []
    wells = iter(f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13))
    for rep in (1, 2, 3):
        for dose in DOSES:
            rows.append(dict(well=next(wells), compound="staurosporine", concentration=dose, role="sample",
                             replicate=rep))
            rows.append(dict(well=next(wells), compound="staurosporine", concentration=dose, role="rescue",
                             rescue_agent=FER, rescue_concentration=1e-6, replicate=rep))
    for rep in range(12):
        rows.append(dict(well=next(wells), compound="DMSO", role="vehicle", replicate=rep + 1))
    for rep in range(6):
        extra = dict(rescue_agent=FER, rescue_concentration=1e-6) if agent_vehicles else {}
        rows.append(dict(well=next(wells), compound="DMSO", role="vehicle", replicate=rep + 13, **extra))
    return make_layout(rows, 96)


def _wells(layout, seed: int = 3) -> pd.DataFrame:
    """Counts: growth, a staurosporine kill (to half, EC50 30 nM) and, with Fer-1, 20 % less growth by 48 h."""
    rng = np.random.default_rng(seed)
    times = np.arange(0, 49, 8.0)
    records = []
    for row in layout.table.itertuples(index=False):
        dose = row.concentration if row.compound == "staurosporine" else 0.0
        kill = 0.5 / (1 + (3e-8 / dose) ** 1.2) if dose > 0 else 0.0
        fer = isinstance(row.rescue_agent, str) and row.rescue_agent != ""
        n0 = 1000 * rng.uniform(0.95, 1.05)
        for t in times:
            slow = 1 - 0.2 * t / 48 if fer else 1.0
            n = n0 * 2 ** (t / 24) * slow * (1 - kill * t / 48) * rng.normal(1, 0.03)
            apo = 0.02 + 0.5 * kill * t / 48
            records.append(dict(plate="P1", well=row.well, time_h=t, n_cells=round(n), frac_alive=1 - apo - 0.02,
                                frac_apoptosis=apo, frac_ferroptosis=0.02))
    return pd.DataFrame(records)


@pytest.fixture(scope="module")
def fer_tox():
    layout = _layout()
    return layout, analyse_screen(_wells(layout), layout, readouts=["viability"])


def test_agent_alone_is_no_sensitisation(fer_tox):
    _, res = fer_tox
    row = res.rescue.set_index("compound").loc["staurosporine"]
    assert row["readout"] == "viability"
    assert row["p_value"] > 0.05, row["verdict"]  # before: reduced by -23 %, p = 0.00036
    assert abs(row["effect_reduction"]) < 0.1
    assert row["shift_lo"] < 1 < row["shift_hi"], row["verdict"]  # before: 0.446x
    assert row["n_vehicle"] == 18
    assert not row["confirms"]


def test_each_curve_takes_its_own_vehicle_and_says_so(fer_tox):
    layout, res = fer_tox
    t = layout.table
    plain = set(t.loc[(t["role"] == "vehicle") & (t["rescue_agent"].fillna("") == ""), "well"])
    fer = set(t.loc[(t["role"] == "vehicle") & (t["rescue_agent"].fillna("") == FER), "well"])
    zero = res.doses[res.doses["dose"] == 0].groupby("curve")["well"].apply(set)
    assert zero["staurosporine"] == plain
    assert zero[f"staurosporine + {FER}"] == fer
    assert (f"6 vehicle wells with {FER} 1 µM are the zero dose and the viability, gr and dip_rel reference of "
            f"the + {FER} curves; the plain vehicle wells of the others (and of plate QC)") in res.notes
    veh = res.wells[res.wells["role"] == "vehicle"]
    by_set = veh.groupby(veh["vehicle_set"].fillna(""))["viability"].mean()
    assert by_set[""] == pytest.approx(1.0) and by_set[f"{FER} 1 µM"] == pytest.approx(1.0)
    assert set(res.qc["n_vehicle"]) == {12}  # plate QC: the plain vehicle wells only


def test_agent_vehicle_matches_within_the_dose_tolerance():
    a = pd.DataFrame({"plate": "P1", "group": "", "role": ["vehicle", "vehicle", "rescue", "rescue", "rescue"],
                      "compound": ["DMSO", "DMSO", "RSL3", "RSL3", "RSL3"],
                      "rescue_agent": ["", FER, "Ferrostatin‑1", FER, "Liproxstatin-1"],
                      "rescue_concentration": [np.nan, 1e-6, 1.05e-6, 2e-6, 1e-6]})
    assert vehicle_sets(a).tolist() == ["", f"{FER} 1 µM", f"{FER} 1 µM", "", ""]


def test_layout_without_agent_vehicles_is_as_before():
    layout = _layout(agent_vehicles=False)
    wells = _wells(layout)
    res = analyse_screen(wells, layout, readouts=["viability"])
    assert "vehicle_set" not in res.wells.columns
    assert not any("vehicle wells with" in n for n in res.notes)
    veh = res.wells[res.wells["role"] == "vehicle"]
    every = set(veh["well"])
    zero = res.doses[res.doses["dose"] == 0].groupby("curve")["well"].apply(set)
    assert all(z == every for z in zero)  # every curve's dose 0: all 18 vehicle wells, as before
    expected = res.wells["n_cells_end"] / veh["n_cells_end"].mean()
    assert np.allclose(res.wells["viability"], expected, rtol=1e-12)
    assert set(res.qc["n_vehicle"]) == {18}
    annotated = annotate_wells(res.wells[["plate", "well", "n_cells_end"]], layout)
    annotated["viability"] = expected
    again = dose_response_table(annotated, ["viability"]).sort_values(["curve", "well"]).reset_index(drop=True)
    doses = res.doses.sort_values(["curve", "well"]).reset_index(drop=True)
    pd.testing.assert_series_equal(again["response"], doses["response"])
    row = res.rescue.set_index("compound").loc["staurosporine"]
    # Fer-1 slows growth in the rescued wells and no vehicle has it: over the pooled vehicle, a false
    # "sensitisation" remains (what the layout's inhibitor-only wells are there to prevent)
    assert row["effect_reduction"] < 0


def test_single_dose_rescue_takes_the_agents_vehicle():
    layout = _layout()
    t = layout.table
    kept = set(t.loc[~((t["role"] == "rescue") & ~t["concentration"].isin([3e-7, 1e-6])), "well"])
    wells = _wells(layout)
    wells = wells[wells["well"].isin(kept)][["plate", "well", "time_h", "n_cells"]]
    rescue = analyse_screen(wells, layout, readouts=["viability"]).rescue
    assert set(rescue["design"]) == {"single_dose"} and set(rescue["readout"]) == {"viability"}
    assert (rescue["p_value"] > 0.05).all(), rescue["verdict"].tolist()  # before: -33 %, p = 0.0016 at 300 nM
    assert (rescue["n_vehicle"] == 18).all()


def _agent_only_layout():
    """The layout less its plain DMSO wells: every vehicle well holds Fer-1."""
    rows = _layout().table
    keep = ~((rows["role"] == "vehicle") & (rows["rescue_agent"].fillna("") == ""))
    return make_layout(rows[keep].to_dict("records"), 96)


def test_a_plate_whose_vehicle_wells_all_hold_the_agent_keeps_them_as_every_curves_vehicle():
    """Was: the staurosporine-alone curves lost their zero dose and viability, and the note named plain wells."""
    layout = _agent_only_layout()
    res = analyse_screen(_wells(layout), layout, readouts=["viability"])
    curves = set(res.fits["curve"])
    assert {"staurosporine", "staurosporine + Ferrostatin-1"} <= curves, curves
    w = res.wells
    alone = w[(w["compound"] == "staurosporine") & (w["rescue_agent"].fillna("") == "")]
    assert alone["viability"].notna().all()
    assert res.qc["n_vehicle"].max() == 6
    note = [n for n in res.notes if "every vehicle well holds an inhibitor alone" in n]
    assert len(note) == 1 and "plain vehicle wells of the others" not in note[0], res.notes


def test_a_vehicle_written_with_another_spelling_of_the_agent_is_its_vehicle():
    """Was: 'Fer-1' vehicle wells beside '+ Ferrostatin-1' wells made a set no curve used."""
    rows = _layout().table
    agent = (rows["role"] == "vehicle") & (rows["rescue_agent"].fillna("") != "")
    rows.loc[agent, "rescue_agent"] = "Fer-1"
    layout = make_layout(rows.to_dict("records"), 96)
    sets = vehicle_sets(annotate_wells(_wells(layout), layout))
    a = annotate_wells(_wells(layout), layout)
    rescued = a["rescue_agent"].astype(str) == FER
    assert set(sets[rescued]) == {"Fer-1 1 µM"} and set(sets[a["rescue_agent"].astype(str) == "Fer-1"]) == {"Fer-1 1 µM"}


def test_a_vehicle_relative_readouts_vehicle_error_is_weighted_by_the_arms_level():
    """Viability is each well over its own vehicle set's mean (both 1): a vehicle mean's error moves an arm at 0.5
    by half its relative error, and counted whole it made a null rescue reach p < 0.05 in 1 of 300 plates."""
    from ferroscreen.analysis.rescue import _compare, _satterthwaite, _Side

    def sides():
        return (_Side(0.5, 3, 0.004, 2.0, "alone"), _Side(0.55, 3, 0.004, 2.0, "rescued"),
                _Side(1.0, 12, 0.01, 11.0, "vehicle"), _Side(1.0, 6, 0.01, 5.0, "vehicle_agent"))

    alone, rescued, vehicle, own = sides()
    out = _compare(alone, rescued, vehicle, 0.95, vehicle_rescued=own, relative=True)
    alone, rescued, vehicle, own = sides()
    se, df = _satterthwaite(alone.parts() + rescued.parts() + vehicle.parts(0.5) + own.parts(0.55))
    t = (-0.5 + 0.45) / se
    assert out["p_value"] == pytest.approx(2 * __import__("scipy.stats").stats.t.sf(abs(t), df))
    whole = _compare(*sides()[:3], 0.95, vehicle_rescued=sides()[3])  # a fraction: the vehicle's error whole
    assert whole["p_value"] > out["p_value"]


def test_the_note_names_the_cell_line_whose_vehicle_wells_hold_the_agent():
    """Was: '6 vehicle wells with Ferrostatin-1 1 µM are ... of the + Ferrostatin-1 curves' on a plate of two lines,
    only one of which had such wells (the other's + Fer-1 curves took its plain vehicle, unsaid)."""
    rows = []
    for line, letters in (("NALM6", "ABCDEFGH"), ("REH", "IJKLMNOP")):
        wells = iter(f"{r}{c:02d}" for r in letters for c in range(1, 25))
        for rep in (1, 2):
            for dose in DOSES:
                rows.append(dict(well=next(wells), compound="staurosporine", concentration=dose, role="sample",
                                 replicate=rep, cell_line=line))
                rows.append(dict(well=next(wells), compound="staurosporine", concentration=dose, role="rescue",
                                 rescue_agent=FER, rescue_concentration=1e-6, replicate=rep, cell_line=line))
        for rep in range(8):
            rows.append(dict(well=next(wells), compound="DMSO", role="vehicle", replicate=rep + 1, cell_line=line))
        if line == "NALM6":
            for rep in range(4):
                rows.append(dict(well=next(wells), compound="DMSO", role="vehicle", replicate=rep + 9,
                                 rescue_agent=FER, rescue_concentration=1e-6, cell_line=line))
    layout = make_layout(rows, 384)
    res = analyse_screen(_wells(layout), layout, readouts=["viability"])
    note = next(n for n in res.notes if "vehicle wells with Ferrostatin-1" in n)
    assert "4 vehicle wells with Ferrostatin-1 1 µM (of NALM6 only) are" in note, note
