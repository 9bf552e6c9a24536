"""A layout's slips that ``ferroscreen fit`` read without a word.

Was: one replicate's rescue agent written ``Fer1`` (or ``Fer-1``) beside ``Ferrostatin-1`` made a second
rescue series, though :mod:`ferroscreen.plate.agents` reads both as ferrostatin-1; a cell line's vehicle rows
written ``Nalm6`` beside ``NALM6`` made a group of vehicle wells only, said only as "no vehicle wells"; and one
well's dose in the wrong unit (``100 uM`` in a series up to 3 µM, ``0.1 nM`` for ``0.1 uM``) got no note.
"""

from __future__ import annotations

import pandas as pd

from ferroscreen.analysis.layout_notes import groups_apart_by_case, lone_far_doses, same_agent_spellings
from ferroscreen.plate import make_layout
from ferroscreen.plate.agents import RESCUE_AGENT_MODES, SAME_AGENT, agent_identity

from .conftest import _layout_rows, run_fit_main, synthetic_screen

HALF_LOG_UM = [0.001, 0.003162, 0.01, 0.031623, 0.1, 0.316228, 1.0, 3.162278]


def _series(compound="volasertib", doses=HALF_LOG_UM, unit="uM", reps=2, cell_line="NALM6", first=1, **extra):
    wells = (f"{r}{c:02d}" for r in "ABCDEFGHIJKLMNOP" for c in range(1, 25))
    for _ in range(first - 1):
        next(wells)
    return [dict(well=next(wells), compound=compound, concentration=d, unit=unit, replicate=rep,
                 cell_line=cell_line, **extra) for rep in range(1, reps + 1) for d in doses]


def test_every_known_agent_has_one_identity_of_one_mode():
    spelled = [key for group in SAME_AGENT for key in group]
    assert sorted(spelled) == sorted(RESCUE_AGENT_MODES)  # each key in exactly one group
    assert all(len({RESCUE_AGENT_MODES[k] for k in group}) == 1 for group in SAME_AGENT)
    assert agent_identity("Fer1") == agent_identity("Fer\u20111") == agent_identity("Ferrostatin-1") != ""
    assert agent_identity("Nec-1s") != agent_identity("Nec-1")
    assert agent_identity("MyInhibitor") == ""


def test_spellings_of_one_known_agent_are_one_agent_with_a_note():
    rows = _series(role="rescue", rescue_agent="Ferrostatin-1", rescue_concentration=1, rescue_unit="uM")
    for row in rows[8:11]:
        row["rescue_agent"] = "Fer1"
    rows[11]["rescue_agent"] = "Fer-1"
    rows += [dict(well="P24", compound="Fer1", concentration=1, unit="uM", role="sample")]
    layout = make_layout(rows, 384, source="layout.csv")
    merged, notes = same_agent_spellings(layout)
    assert notes == ["layout.csv: rescue agents 'Fer1' (3 wells) and 'Fer-1' (1 well) read as 'Ferrostatin-1' "
                     "(12 wells): the same inhibitor"]
    assert set(merged.table["rescue_agent"]) == {"Ferrostatin-1", ""}
    assert list(merged.table["compound"]) == list(layout.table["compound"])  # compounds stay as written
    assert set(layout.table["rescue_agent"]) == {"Ferrostatin-1", "Fer1", "Fer-1", ""}  # the input is not changed


def test_agents_the_alias_table_does_not_know_are_never_merged():
    rows = _series(role="rescue", rescue_agent="XJB-5", rescue_concentration=1, rescue_unit="uM")
    rows[0]["rescue_agent"] = "xjb-5"
    rows[1]["rescue_agent"] = "Trolox"
    layout = make_layout(rows, 384, source="layout.csv")
    merged, notes = same_agent_spellings(layout)
    assert merged is layout
    assert notes == ["layout.csv: rescue agents 'xjb-5' and 'XJB-5' differ in letter case or spacing only and are "
                     "analysed apart; write them alike if they are one agent"]


def test_a_fit_reads_a_replicate_written_fer1_as_the_same_rescue_series(tmp_path, monkeypatch, capsys):
    wells, _ = synthetic_screen()
    rows = _layout_rows()
    renamed = [r for r in rows if r.get("rescue_agent")][-3:]  # three wells of the second replicate
    for row in renamed:
        row["rescue_agent"] = "Ferrostatin-1"
    wells.to_csv(tmp_path / "wells.csv", index=False)
    make_layout(rows, 96).to_csv(tmp_path / "layout.csv")
    code, out, err = run_fit_main([str(tmp_path / "wells.csv"), "--layout", str(tmp_path / "layout.csv"),
                                   "--out", str(tmp_path / "o")], monkeypatch, capsys)
    assert code == 0, err
    assert (f"note: {tmp_path / 'layout.csv'}: rescue agent 'Ferrostatin-1' (3 wells) read as 'Fer-1' (15 wells): "
            f"the same inhibitor") in out.splitlines()
    curves = set(pd.read_csv(tmp_path / "o" / "fits.csv")["curve"])
    assert "erastin + Fer-1" in curves and not any("Ferrostatin" in c for c in curves)


def test_cell_lines_apart_by_case_are_named_with_where_the_vehicle_wells_went():
    rows = _series() + _series(cell_line="REH", first=17)
    rows += [dict(well=f"P{c:02d}", compound="DMSO", role="vehicle", cell_line="Nalm6") for c in range(1, 4)]
    rows += [dict(well=f"O{c:02d}", compound="DMSO", role="vehicle", cell_line="REH") for c in range(1, 4)]
    notes = groups_apart_by_case(make_layout(rows, 384, source="layout.csv"))
    assert notes == ["layout.csv: cell lines 'NALM6' (16 wells, 0 vehicle) and 'Nalm6' (3 wells, 3 vehicle) differ "
                     "in letter case or spacing only and are analysed apart: 'NALM6' has no vehicle wells (its "
                     "vehicle-relative readouts are empty); 'Nalm6' holds them; write them alike if they are one "
                     "cell line"]
    alike = [dict(r, cell_line="NALM6") if r["cell_line"] == "Nalm6" else r for r in rows]
    assert groups_apart_by_case(make_layout(alike, 384)) == []


def test_a_fit_names_cell_lines_apart_by_case_and_a_dose_in_the_wrong_unit(tmp_path, monkeypatch, capsys):
    wells, _ = synthetic_screen()
    rows = _layout_rows()
    for row in rows:
        row["cell_line"] = "Nalm6" if row["role"] == "vehicle" else "NALM6"
    slip = next(r for r in rows if r["compound"] == "staurosporine" and r["concentration"] == 1e-5)
    slip.update(concentration=10, unit="mM")  # 10 mM for 10 uM
    wells.to_csv(tmp_path / "wells.csv", index=False)
    make_layout(rows, 96).to_csv(tmp_path / "layout.csv")
    code, out, err = run_fit_main([str(tmp_path / "wells.csv"), "--layout", str(tmp_path / "layout.csv"),
                                   "--out", str(tmp_path / "o")], monkeypatch, capsys)
    assert code == 0, err
    notes = [ln for ln in out.splitlines() if ln.startswith("note: ")]
    assert any("cell lines 'NALM6'" in n and "'Nalm6' holds them" in n for n in notes), out
    assert f"note: {tmp_path / 'layout.csv'}: {slip['well']} staurosporine (NALM6): 10 mM is the only well at its " \
           f"dose, 3 decades above the series' other doses (1 nM to 10 µM); possibly a unit slip" in notes, out


def test_a_lone_dose_far_beyond_its_series_is_named_once():
    rows = _series()
    rows[12].update(concentration=100)  # replicate 2's 0.1 uM written 100 (nM steps in a uM column)
    rows += _series(compound="RSL3", first=17) + _series(cell_line="REH", first=33)  # groups: cell lines
    notes = lone_far_doses(make_layout(rows, 384, source="layout.csv"))
    assert notes == ["layout.csv: A13 volasertib (NALM6): 100 uM is the only well at its dose, 1.5 decades above "
                     "the series' other doses (1 nM to 3.162 µM); possibly a unit slip"]


def test_a_lone_dose_one_decade_below_a_half_log_series_is_named():
    rows = _series()
    rows[12].update(concentration=0.1, unit="nM")  # 0.1 uM written under the nM unit
    assert lone_far_doses(make_layout(rows, 384, source="layout.csv")) == [
        "layout.csv: A13 volasertib: 0.1 nM is the only well at its dose, 1 decade below the series' other "
        "doses (1 nM to 3.162 µM); possibly a unit slip"]


def test_doses_that_continue_their_series_are_not_named():
    ten_fold = _series(doses=[0.001, 0.01, 0.1, 1, 10], reps=1)  # one replicate: every dose in one well
    extra = _series(reps=1)  # half-log, one replicate, then one more half-log step on top in another well
    extra.append(dict(extra[0], well="P24", concentration=10))
    twice = _series()  # a dose beyond the series in two wells is the series' own
    twice[7]["concentration"] = twice[15]["concentration"] = 100
    for rows in (ten_fold, extra, twice):
        assert lone_far_doses(make_layout(rows, 384)) == []


def test_a_control_well_of_the_compound_at_its_own_dose_is_no_unit_slip():
    """Was: a pos_ctrl well of X at 10 uM beside X's 3.16-fold sample series up to 1 uM was 'possibly a unit slip'."""
    doses = [1e-6 / 3.16**k for k in range(8)]
    rows = [dict(well=f"{'ABC'[rep]}{i + 1:02d}", compound="X", concentration=d, role="sample")
            for rep in range(3) for i, d in enumerate(doses)]
    rows.append(dict(well="D01", compound="X", concentration=1e-5, role="pos_ctrl"))
    rows.append(dict(well="D02", compound="DMSO", role="vehicle"))
    assert lone_far_doses(make_layout(rows, 96)) == []
