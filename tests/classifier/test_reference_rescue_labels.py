"""Which reference-plate wells train a class when inhibitors, placeholders, odd class names and modes are about.

The tiny simulated plate (``tiny_plate``: vehicle A01/B01, apoptosis A02/B02, necroptosis A03/B03,
ferroptosis E02/F02; scans at 0, 12 and 24 h) with its layout rewritten as a lab would write it.
"""

import csv

import pytest

from ferroscreen.errors import FerroscreenError

TRUTH = {"A01": ("DMSO", "vehicle", "", ""), "B01": ("DMSO", "vehicle", "", ""),
         "A02": ("staurosporine", "reference", "apoptosis", ""), "B02": ("staurosporine", "reference", "apoptosis", ""),
         "A03": ("TNF+SMAC+zVAD", "reference", "necroptosis", ""),
         "B03": ("TNF+SMAC+zVAD", "reference", "necroptosis", ""),
         "E02": ("RSL3", "reference", "ferroptosis", ""), "F02": ("RSL3", "reference", "ferroptosis", "")}


def layout(path, changes=None, extra=()):
    """The tiny plate's layout with a rescue_agent column; ``changes[well] = (compound, role, mode, agent)``."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["well", "compound", "role", "mode", "rescue_agent"])
        for well, values in [*{**TRUTH, **(changes or {})}.items(), *extra]:
            w.writerow([well, *values])
    return path


def summary(plate, path, **kw):
    from ferroscreen.datamodules import ReferencePlateDataModule

    args = dict(onset_h=12, val_fraction=0.25, seed=0, max_crops_per_frame=6, crop_size=32)
    args.update(kw)
    dm = ReferencePlateDataModule(str(plate), layout=str(path), **args)
    dm.setup()
    return dm.summary()


def wells_of(s, cls):
    w = s["wells_per_class"][cls]
    return set(w["train"]) | set(w["val"])


def note_of(s, well):
    return next(n for n in s.get("notes", []) if f"{well} (" in n)


@pytest.mark.parametrize("written", ["staurosporine + Q-VD", "staurosporine + QVD", "staurosporine & Z-VAD(OMe)-FMK",
                                     "staurosporine with emricasan"])
def test_a_reference_rescued_by_a_caspase_inhibitor_in_its_name_is_not_trained(tiny_plate, tmp_path, written):
    s = summary(tiny_plate, layout(tmp_path / "map.csv", {"B02": (written, "reference", "apoptosis", "")}))
    assert wells_of(s, "apoptosis") == {"A02"}
    assert "rescue combinations" in note_of(s, "B02")


def test_a_combination_of_an_inducer_and_an_unknown_agent_is_left_out_with_a_note(tiny_plate, tmp_path):
    """``+ UAMC-3203`` (an inhibitor the table does not know) could be a rescue: not trained as ferroptosis."""
    s = summary(tiny_plate, layout(tmp_path / "map.csv", {"F02": ("RSL3 + UAMC-3203", "reference", "ferroptosis", "")}))
    assert wells_of(s, "ferroptosis") == {"E02"}
    assert "no known inducer cocktail" in note_of(s, "F02")
    assert wells_of(s, "necroptosis") == {"A03", "B03"}  # TNF+SMAC+zVAD: the necroptosis cocktail still trains


@pytest.mark.parametrize("placeholder", ["none", "-", "0", "NA", "n/a", "None"])
def test_a_placeholder_rescue_agent_is_no_inhibitor(tiny_plate, tmp_path, placeholder):
    s = summary(tiny_plate, layout(tmp_path / "map.csv", {"B02": ("staurosporine", "reference", "apoptosis",
                                                                   placeholder)}))
    assert wells_of(s, "apoptosis") == {"A02", "B02"}
    assert not any("B02" in n for n in s.get("notes", []))


def test_rescue_wells_given_a_mode_are_said(tiny_plate, tmp_path):
    """The simulator writes rescue wells with role rescue and the mode of their inducer: not trained, and said."""
    s = summary(tiny_plate, layout(tmp_path / "map.csv", {"F02": ("RSL3", "rescue", "ferroptosis", "Fer-1")}))
    assert wells_of(s, "ferroptosis") == {"E02"}
    assert "rescue combinations" in note_of(s, "F02") and "RSL3 + Fer-1" in note_of(s, "F02")


def test_a_vehicle_well_with_an_inhibitor_alone_is_said_as_such(tiny_plate, tmp_path):
    s = summary(tiny_plate, layout(tmp_path / "map.csv", {"B01": ("DMSO + Fer-1", "vehicle", "alive", "")}))
    assert wells_of(s, "alive") == {"A01"}
    said = note_of(s, "B01")
    assert "inhibitor alone" in said and "an inducer" not in said


def test_a_vehicle_well_of_an_inhibitor_alone_is_not_trained_alive(tiny_plate, tmp_path):
    s = summary(tiny_plate, layout(tmp_path / "map.csv", {"B01": ("zVAD", "vehicle", "", "")}))
    assert wells_of(s, "alive") == {"A01"}
    assert "inhibitor alone" in note_of(s, "B01")


def test_a_class_whose_wells_all_hold_an_inhibitor_is_refused_saying_so(tiny_plate, tmp_path):
    path = layout(tmp_path / "map.csv", {"E02": ("RSL3 + Q-VD", "reference", "ferroptosis", ""),
                                         "F02": ("RSL3 + UAMC-3203", "reference", "ferroptosis", "")})
    with pytest.raises(FerroscreenError, match=r"ferroptosis well\(s\) E02, F02 hold a death-mode inhibitor") as err:
        summary(tiny_plate, path)
    assert "names no reference/vehicle wells" not in str(err.value)


def test_onset_h_of_alive_sets_the_vehicle_window(tiny_plate, tmp_path):
    path = layout(tmp_path / "map.csv")
    late = summary(tiny_plate, path, onset_h={"default": 12, "alive": 24}, vehicle_window=True)
    early = summary(tiny_plate, path, onset_h={"default": 12}, vehicle_window=True)
    n = {k: s["train_per_class"]["alive"] + s["val_per_class"]["alive"] for k, s in (("late", late), ("early", early))}
    assert 0 < n["late"] < n["early"]  # vehicle wells from 24 h only, not from 12 h
    apo = {k: s["train_per_class"]["apoptosis"] for k, s in (("late", late), ("early", early))}
    assert apo["late"] == apo["early"]


def test_onset_h_of_alive_without_a_vehicle_window_is_said_unused(tiny_plate, tmp_path):
    s = summary(tiny_plate, layout(tmp_path / "map.csv"), onset_h={"default": 12, "alive": 24})
    assert any("onset_h names alive, which is not used" in n and "vehicle_window" in n for n in s["notes"])


def test_class_names_in_another_case_are_refused_in_one_line(tiny_plate, tmp_path):
    from ferroscreen.datamodules import ReferencePlateDataModule

    with pytest.raises(FerroscreenError) as err:
        ReferencePlateDataModule(str(tiny_plate), layout=str(layout(tmp_path / "map.csv")),
                                 classes=["Alive", "Apoptosis", "Ferroptosis", "Necroptosis"])
    said = str(err.value)
    assert "\n" not in said and "'Alive'" in said and "[alive, apoptosis, ferroptosis, necroptosis]" in said


def test_train_refuses_class_names_in_another_case_before_training(tiny_plate, tmp_path, cli):
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    proc = cli("train", "--config", repo / "configs" / "train" / "demo.yaml", "--out", tmp_path / "m.pt",
               "--data.init_args.root", tiny_plate, "--data.init_args.layout", layout(tmp_path / "map.csv"),
               "--model.weights", "none", "--model.classes", "[Alive, Apoptosis, Ferroptosis, Necroptosis]",
               cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "'Alive'" in last and "[alive, apoptosis, ferroptosis, necroptosis]" in last
    assert not (tmp_path / "m.pt").exists()


def test_a_class_that_is_no_known_mode_trains_from_the_layout(tiny_plate, tmp_path):
    path = layout(tmp_path / "map.csv", {"E02": ("erastin", "reference", "entosis", ""),
                                         "F02": ("erastin", "reference", "Entosis", "")})
    s = summary(tiny_plate, path, classes=["alive", "apoptosis", "necroptosis", "entosis"])
    assert wells_of(s, "entosis") == {"E02", "F02"}
