"""``fit --signal dead`` on a kinetic read whose pos_ctrl kills over hours (staurosporine, not a lysis).

Scaled scan by scan, the early scans were divided by a control that had not killed yet: the
vehicle read 50-100 % dead at 0 h, the peak curves' floor sat at 0.36 and every compound looked
fast. The scans before the control's full kill now take its reference at that kill.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.analysis.reader_signal import dead_signal_fraction
from ferroscreen.cli import app
from ferroscreen.plate import make_layout

TIMES = [0, 2, 4, 6, 9, 12, 18, 24, 36, 48, 60, 72]
DOSES_UM = [10 / 3**i for i in range(9)]  # columns 2..10
EMAX = {"RSL3": 0.90, "FSC-7": 0.60}
T50_TRUE = 15 * np.log(2)  # the dead fraction rises as 1 - exp(-t / 15 h): half-way at 10.4 h


def _kill(t: float) -> float:
    return 1 - np.exp(-t / 15.0)


def _write_plate(tmp_path, seed: int = 7):
    """An IncuCyte dead-cell count export (Cytotox objects per image) and its layout.

    Column 1 and 11 DMSO, column 12 A-D staurosporine (pos_ctrl, kills over hours), E-H medium;
    rows A-B RSL3 (EC50 100 nM, 90 % dead), C-D FSC-7 (EC50 30 nM, 60 %), E-H an inactive compound.
    Every well's cells double in 30 h; 3 % of them die spontaneously.
    """
    rng = np.random.default_rng(seed)
    layout = ["plate_id,well,compound,concentration,unit,role"]
    effect = {}
    for r in "ABCDEFGH":
        name = "RSL3" if r in "AB" else "FSC-7" if r in "CD" else "inert"
        ec50 = {"RSL3": 0.1, "FSC-7": 0.03}.get(name, 1.0)
        for c in range(1, 13):
            well = f"{r}{c}"
            if c in (1, 11):
                layout.append(f"P1,{well},DMSO,0.1,%,vehicle")
                effect[well] = 0.0
            elif c == 12:
                layout.append(f"P1,{well},Staurosporine,1,uM,pos_ctrl" if r in "ABCD" else f"P1,{well},,,,empty")
                effect[well] = 0.95 if r in "ABCD" else None
            else:
                d = DOSES_UM[c - 2]
                layout.append(f"P1,{well},{name},{d:.6g},uM,sample")
                effect[well] = EMAX.get(name, 0.0) / (1 + (ec50 / d) ** 1.5)
    (tmp_path / "layout.csv").write_text("\n".join(layout) + "\n")
    n0 = {w: rng.normal(400, 25) for w in effect}
    lines = ["Vessel Name: P1", "Metric: Green Object Count (per Image)", "",
             "Date Time\tElapsed\t" + "\t".join(effect)]
    for t in TIMES:
        counts = []
        for well, eff in effect.items():
            if eff is None:
                counts.append(rng.poisson(0.5))
                continue
            cells = rng.poisson(n0[well] * 2 ** (t / 30))
            counts.append(rng.binomial(cells, 0.03 + eff * _kill(t)))
        lines.append(f"x\t{t}\t" + "\t".join(map(str, counts)))
    (tmp_path / "sytox.txt").write_text("\n".join(lines) + "\n")
    return tmp_path / "sytox.txt", tmp_path / "layout.csv"


def test_a_control_that_kills_over_hours_does_not_scale_the_scans_before_its_kill(tmp_path):
    data, layout = _write_plate(tmp_path)
    out = tmp_path / "res"
    res = CliRunner().invoke(app, ["fit", str(data), "--signal", "dead", "--layout", str(layout), "--out", str(out)])
    assert res.exit_code == 0, res.output

    wells = pd.read_csv(out / "wells.csv")
    vehicle = wells[wells["well"].str[1:].isin(["01", "11"])].groupby("time_h")["frac_dead"].median()
    assert vehicle[0] < 0.05  # was 0.90: the vehicle's dead count over the un-killed control's at 0 h
    assert vehicle.max() < 0.06
    fits = pd.read_csv(out / "fits.csv").set_index(["curve", "readout"])
    assert fits.loc[("RSL3", "peak_dead"), "bottom"] == pytest.approx(0.03, abs=0.02)  # was 0.36
    assert fits.loc[("RSL3", "peak_dead"), "ec50"] == pytest.approx(1e-7, rel=0.2)
    ranking = pd.read_csv(out / "ranking.csv").set_index("compound")
    # the control reaches 0.97 dead; RSL3 0.90 + 0.03: 0.93 of it at the top dose, over a 0.03-0.04 floor
    assert ranking.loc["RSL3", "efficacy"] == pytest.approx(0.87, abs=0.04)  # was 0.58
    assert ranking.loc["FSC-7", "efficacy"] == pytest.approx(0.60, abs=0.05)
    for name in ("RSL3", "FSC-7"):
        assert ranking.loc[name, "t50_h"] == pytest.approx(T50_TRUE, rel=0.3), name  # was 1-3 h
    said = [line for line in res.output.splitlines() if "the pos_ctrl wells reach their full kill at" in line]
    said = said[0] if said else res.output
    assert "earlier scan(s) (0-" in said and "x the vehicle's at 0 h), before it had killed" in said, said
    assert "times the vehicle's signal then over its signal at" in said  # the cells were fewer then


def _table(pos, vehicle, sample, times):
    """A plate's blank-subtracted readings: wells A1-A4 pos_ctrl, B1-B4 vehicle, C1 a sample, per time."""
    rows = []
    for k, t in enumerate(times):
        for role, wells, value in (("pos", "A", pos[k]), ("veh", "B", vehicle[k]), ("smp", "C", sample[k])):
            n = 1 if role == "smp" else 4
            rows += [dict(plate="P1", well=f"{wells}{i + 1:02d}", time_h=t, value=value * (1 + 0.01 * (i - 1.5) * (n > 1)))
                     for i in range(n)]
    return pd.DataFrame(rows)


def _layout(vehicle_role="vehicle"):
    rows = [dict(well=f"A{i:02d}", compound="Triton X-100", role="pos_ctrl") for i in range(1, 5)]
    rows += [dict(well=f"B{i:02d}", compound="DMSO", role=vehicle_role) for i in range(1, 5)]
    rows.append(dict(well="C01", compound="X", concentration=1e-6, role="sample"))
    return make_layout(rows, 96)


def test_a_lysis_control_still_scales_every_scan_by_its_own():
    """A lysis control is at full kill from the first scan: each scan by its own median (the reader's drift)."""
    times = [0.0, 12.0, 24.0, 48.0]
    drift = np.array([1.0, 0.9, 0.8, 0.7])  # the dye bleaches: every well's signal falls alike
    table = _table(20000 * drift, 1000 * drift * [1.0, 1.2, 1.4, 1.6], 10000 * drift, times)
    wells, notes = dead_signal_fraction(table, _layout())
    sample = wells[wells["well"] == "C01"].set_index("time_h")["frac_dead"]
    assert sample.to_numpy() == pytest.approx([0.5] * 4, rel=1e-9)
    assert not any("full kill" in n or "kill window" in n for n in notes), notes
    # an endpoint read (one scan): its own median, as before
    one, notes = dead_signal_fraction(table[table["time_h"] == 48.0], _layout())
    assert one.loc[one["well"] == "C01", "frac_dead"].item() == pytest.approx(0.5)
    assert not any("full kill" in n for n in notes)


def test_a_control_without_a_window_is_said():
    times = [0.0, 24.0]
    table = _table([1100, 1300], [1000, 1000], [1050, 1200], times)
    _, notes = dead_signal_fraction(table, _layout())
    assert any("plate P1: the pos_ctrl wells are never 2x the vehicle's signal (at most 1.3x, at 24 h): no kill "
               "window" in n for n in notes), notes


def test_without_vehicle_wells_the_control_is_judged_on_its_own_signal():
    """No vehicle (nor neg_ctrl) reading: the scans before the control reaches 80 % of its largest take that scan's."""
    times = [0.0, 6.0, 12.0, 24.0]
    table = _table([100, 1000, 9000, 10000], [np.nan] * 4, [50, 500, 4500, 5000], times)
    table = table[table["well"].str[0] != "B"]
    wells, notes = dead_signal_fraction(table, _layout())
    sample = wells[wells["well"] == "C01"].set_index("time_h")["frac_dead"]
    assert sample.to_numpy() == pytest.approx([50 / 9000, 500 / 9000, 0.5, 0.5], rel=1e-6)
    assert any("full kill at 12 h (9000, 1e+04 at most; no vehicle reading to compare with)" in n for n in notes)


def test_a_first_scan_read_near_the_blank_is_no_kill():
    """At dosing every well reads about the blank: a 10x ratio of two near-blank medians is no kill window."""
    times = [0.0, 12.0, 24.0]
    table = _table([50, 8000, 10000], [5, 400, 500], [30, 4000, 5000], times)
    wells, notes = dead_signal_fraction(table, _layout())
    sample = wells[wells["well"] == "C01"].set_index("time_h")["frac_dead"]
    # 0 h: its 30 over the 12 h level (8000) times the vehicle's growth back (5 / 400, held at 1/4)
    assert sample.to_numpy() == pytest.approx([30 / 2000, 0.5, 0.5], rel=1e-6)
    assert any("full kill at 12 h" in n and "(0 h; 10x the vehicle's at 0 h)" in n for n in notes), notes
