"""Role columns under the names plate-map tools give them, and the role words labs write in them."""

from __future__ import annotations

import json

import pytest

from ferroscreen.errors import LayoutError
from ferroscreen.plate import read_layout, read_layout_csv, read_layouts
from ferroscreen.plate.layout_records import NotALayout

from ..cli_process import FERROSCREEN, run_command


def _roles(path) -> dict[str, str]:
    lay = read_layout_csv(path)
    return dict(zip(lay.table["well"], lay.table["role"], strict=True))


@pytest.mark.parametrize("column", ["Type", "Well type", "Well Type", "WellType", "Content", "Control Type"])
def test_role_column_under_a_tools_name_is_the_role(tmp_path, column):
    """``Well Type``, ``Type``, ``Content``... are the role column when the file has no ``role`` column."""
    path = tmp_path / "map.csv"
    path.write_text(f"well,compound,concentration,unit,{column}\n"
                    "A01,DMSO,,,Negative\nA02,RSL3,1,uM,Compound\nA03,Staurosporine,1,uM,Positive\n"
                    "A04,,,,Blank\n")
    lay = read_layout_csv(path)
    assert dict(zip(lay.table["well"], lay.table["role"], strict=True)) == {
        "A01": "vehicle", "A02": "sample", "A03": "pos_ctrl", "A04": "empty"}  # DMSO 'Negative': the vehicle
    assert lay.notes == []


def test_role_column_wins_over_well_type_and_one_note_says_so(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("well,compound,concentration,unit,role,Well Type\n"
                    "A01,DMSO,,,vehicle,Negative\nA02,RSL3,1,uM,sample,Positive\nA03,RSL3,2,uM,sample,Positive\n"
                    "A04,Erastin,1,uM,sample,Compound\n")
    lay = read_layout_csv(path)
    assert list(lay.table["role"]) == ["vehicle", "sample", "sample", "sample"]
    assert len(lay.notes) == 1
    note = lay.notes[0]
    assert str(path) in note and "'Well Type'" in note and "2 well(s)" in note and "'role' column is used" in note
    assert "\n" not in note
    assert lay.summary()["notes"] == lay.notes
    agree = tmp_path / "agree.csv"
    agree.write_text("well,compound,role,Well Type\nA01,DMSO,vehicle,DMSO\nA02,RSL3,sample,\n")
    assert read_layout_csv(agree).notes == [] and "notes" not in read_layout_csv(agree).summary()
    assert read_layouts([path, agree]).notes == lay.notes  # kept where layouts are combined


def test_type_that_holds_no_role_is_left_alone(tmp_path):
    """A ``Type`` column none of whose cells is a role (a compound class) stays an extra column, as before."""
    path = tmp_path / "classes.csv"
    path.write_text("well,compound,concentration,unit,Type\nA01,RSL3,1,uM,GPX4 inhibitor\nA02,DMSO,,,solvent x\n")
    lay = read_layout_csv(path)
    assert list(lay.table["role"]) == ["sample", "vehicle"] and list(lay.table["type"]) == ["GPX4 inhibitor",
                                                                                           "solvent x"]
    envision = tmp_path / "envision.csv"  # a plate read's Type (M) makes no layout of it
    envision.write_text("Plate,Repeat,Well,Type,Result\n1,1,A01,M,100\n1,1,A02,M,120\n")
    with pytest.raises(NotALayout):
        read_layout_csv(envision)


def test_two_role_columns_of_one_tier_are_refused(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("well,compound,Type,Content\nA01,DMSO,Negative,Negative\n")
    with pytest.raises(LayoutError, match=r"two\.csv:1: columns 'Type' and 'Content' could both be 'role'"):
        read_layout_csv(path)
    path.write_text("well,compound,Type,Well Type\nA01,NTC,M,Negative\n")  # the well type is named better
    assert _roles(path) == {"A01": "neg_ctrl"}


@pytest.mark.parametrize(("compound", "written", "role"), [
    ("DMSO", "Negative", "vehicle"), ("DMSO 0.1%", "NC", "vehicle"), ("medium", "neg. control", "vehicle"),
    ("DMSO", "neg_ctrl", "neg_ctrl"),  # said in our own word: kept
    ("Non-Targeting Pool", "Negative", "neg_ctrl"), ("RSL3", "Negative", "neg_ctrl"),
])
def test_a_negative_control_of_dmso_is_the_vehicle(tmp_path, compound, written, role):
    """A map marking its DMSO wells 'Negative' has them as the vehicle the curves, viability and QC scale to."""
    path = tmp_path / "neg.csv"
    path.write_text(f"well,compound,Well Type\nA01,{compound},{written}\nA02,RSL3,Compound\n")
    assert _roles(path)["A01"] == role


@pytest.mark.parametrize(("written", "role"), [
    ("Negative", "neg_ctrl"), ("Positive", "pos_ctrl"), ("neg", "neg_ctrl"), ("pos", "pos_ctrl"),
    ("NC", "neg_ctrl"), ("PC", "pos_ctrl"), ("Neg. control", "neg_ctrl"), ("Positive Control", "pos_ctrl"),
    ("Compound", "sample"), ("Sample", "sample"), ("Treatment", "sample"), ("Blank", "empty"), ("Empty", "empty"),
    ("Untreated", "vehicle"), ("Vehicle", "vehicle"), ("DMSO", "vehicle"), ("negcon", "neg_ctrl"),
    ("poscon", "pos_ctrl"),
])
def test_role_words_labs_write(tmp_path, written, role):
    path = tmp_path / "words.csv"
    path.write_text(f"well,compound,concentration,unit,role\nA01,RSL3,1,uM,{written}\n")
    assert _roles(path) == {"A01": role}


def test_reference_and_its_mode(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text("well,compound,concentration,unit,Well Type,mode\nA01,RSL3,1,uM,Reference,ferroptosis\n")
    assert _roles(path) == {"A01": "reference"}


@pytest.mark.parametrize(("compound", "role"), [
    ("DMSO", "vehicle"), ("DMSO 0.1%", "vehicle"), ("water", "vehicle"), ("PBS", "vehicle"), ("medium", "vehicle"),
    ("untreated", "vehicle"), ("mock", "vehicle"), ("Non-Targeting Pool", "neg_ctrl"), ("AllStars Negative Control",
                                                                                        "neg_ctrl"),
    ("NTC", "neg_ctrl"),
])
def test_bare_control_told_apart_by_its_compound(tmp_path, compound, role):
    """``control`` is the vehicle of a vehicle or untreated well, ``neg_ctrl`` of a non-targeting one."""
    path = tmp_path / "ctrl.csv"
    path.write_text(f"well,compound,role\nA01,{compound},control\nA02,RSL3,Compound\n")
    assert _roles(path) == {"A01": role, "A02": "sample"}


def test_bare_control_never_guessed_positive(tmp_path):
    path = tmp_path / "ctrl.csv"
    rows = [f"{w},Staurosporine,1,uM,Control" for w in ("A01", "B01", "C01", "D01", "E01", "F01", "G01")]
    path.write_text("well,compound,concentration,unit,Well Type\n" + "\n".join(rows) + "\nA02,,,,Control\n"
                    "H01,DMSO,,,Control\n")
    with pytest.raises(LayoutError) as info:
        read_layout_csv(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}:2: column 'Well Type': role 'control'")
    assert "8 well(s): A01, B01, C01, D01, E01 and 3 more" in message
    assert "neg_ctrl or pos_ctrl" in message and "H01" not in message


def test_unknown_role_lists_the_accepted_values(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("well,compound,concentration,unit,Well Type\nA01,RSL3,1,uM,Standard\n")
    with pytest.raises(LayoutError) as info:
        read_layout_csv(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: column 'Well Type': unknown role 'Standard'")
    assert all(r in message for r in ("sample", "vehicle", "reference", "rescue", "empty", "pos_ctrl", "neg_ctrl"))
    assert "control" in message and "\n" not in message


def test_inspect_reads_a_well_type_column(tmp_path):
    path = tmp_path / "layout.csv"
    path.write_text("Well,Compound,Concentration,Unit,Well Type\nA01,DMSO,,,Control\nA02,DMSO,,,Control\n"
                    "B01,RSL3,1,uM,Compound\nB02,Staurosporine,1,uM,Positive\n")
    assert read_layout(path).summary()["roles"] == {"vehicle": 2, "sample": 1, "pos_ctrl": 1}
    res = run_command([*FERROSCREEN, "inspect", str(path), "--json"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["roles"] == {"vehicle": 2, "sample": 1, "pos_ctrl": 1}
    path.write_text("Well,Compound,Well Type\nA01,Staurosporine,Control\n")
    res = run_command([*FERROSCREEN, "inspect", str(path)], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert str(path) in res.stderr and "neg_ctrl or pos_ctrl" in res.stderr and "Traceback" not in res.stderr


def test_inspect_and_fit_say_where_role_columns_disagree(tmp_path):
    """The note of a layout whose ``role`` and ``Well Type`` disagree reaches inspect's text and fit's output."""
    path = tmp_path / "both.csv"
    path.write_text("well,compound,concentration,unit,role,Well Type\nA01,DMSO,,,vehicle,Negative\n"
                    "A02,RSL3,1,uM,sample,Positive\n")
    said = "columns 'role' and 'Well Type' disagree in 1 well(s) (A02: sample vs pos_ctrl)"
    res = run_command([*FERROSCREEN, "inspect", str(path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and f"note: {path}: {said}" in res.stdout, res.stdout + res.stderr
    wells = tmp_path / "wells.csv"
    wells.write_text("plate,well,time_h,n_cells\nP1,A01,0,100\nP1,A02,0,40\n")
    res = run_command([*FERROSCREEN, "fit", str(wells), "--layout", str(path), "--out", str(tmp_path / "fit")],
                      capture_output=True, text=True, timeout=120)
    assert f"note: {path}: {said}" in res.stdout + res.stderr, res.stdout + res.stderr
    res = run_command([*FERROSCREEN, "inspect", str(wells), "--layout", str(path)], capture_output=True, text=True,
                      timeout=120)  # data checked against the layout
    assert res.returncode == 0 and f"note: {path}: {said}" in res.stdout, res.stdout + res.stderr


def test_a_reference_marked_positive_agrees_and_a_control_without_compound_says_so(tmp_path):
    """A reference inducer is its mode's positive control: no disagreement note; a bare control with no compound."""
    path = tmp_path / "ref.csv"
    path.write_text("well,compound,concentration,unit,role,mode,Well Type\nA01,DMSO,,,vehicle,,Negative\n"
                    "A02,RSL3,1,uM,reference,ferroptosis,Positive\nA03,RSL3,1,uM,sample,,Positive\n")
    notes = read_layout_csv(path).notes
    assert len(notes) == 1 and "disagree in 1 well(s) (A03: sample vs pos_ctrl)" in notes[0]
    bare = tmp_path / "bare.csv"
    bare.write_text("well,compound,concentration,Well Type\nA01,,,Control\n")
    with pytest.raises(LayoutError, match=r"\(1 well\(s\): A01\) and they name no compound; write neg_ctrl"):
        read_layout_csv(bare)
