"""Training on a lab's own reference plate: the layout as a lab writes it labels the right wells, or says why not.

Every test uses the session's tiny simulated plate (``tiny_plate``: vehicle A01/B01, apoptosis A02/B02,
necroptosis A03/B03, ferroptosis E02/F02; scans at 0, 12 and 24 h) with a layout rewritten as a lab
would write it.
"""

import csv
import shutil

import pytest

from ferroscreen.errors import FerroscreenError

TRUTH = {"A01": ("DMSO", "vehicle", ""), "B01": ("DMSO", "vehicle", ""),
         "A02": ("staurosporine", "reference", "apoptosis"), "B02": ("staurosporine", "reference", "apoptosis"),
         "A03": ("TNF+SMAC+zVAD", "reference", "necroptosis"), "B03": ("TNF+SMAC+zVAD", "reference", "necroptosis"),
         "E02": ("RSL3", "reference", "ferroptosis"), "F02": ("RSL3", "reference", "ferroptosis")}


def lab_layout(path, changes=None, extra=(), header=("Well Position", "Treatment", "Role", "Mode"), plate=None):
    """The tiny plate's layout in a lab's own columns; ``changes[well] = (compound, role, mode)``, ``extra`` rows."""
    rows = {**TRUTH, **(changes or {})}
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow((["Plate"] if plate else []) + list(header))
        for well, values in [*rows.items(), *extra]:
            if values is None:
                continue
            w.writerow(([plate] if plate else []) + [well, *values])
    return path


def summary(plate, layout, **kw):
    from ferroscreen.datamodules import ReferencePlateDataModule

    args = dict(onset_h=12, val_fraction=0.25, seed=0, max_crops_per_frame=6, crop_size=32)
    args.update(kw)
    dm = ReferencePlateDataModule(str(plate), layout=str(layout), **args)
    dm.setup()
    return dm.summary()


def wells_of(s, cls):
    w = s["wells_per_class"][cls]
    return set(w["train"]) | set(w["val"])


def test_mode_spellings_of_a_lab_read_as_the_classes(tmp_path):
    from ferroscreen.plate import read_layout

    path = lab_layout(tmp_path / "map.csv", {
        "A02": ("Staurosporine", "reference", "Apoptotic cell death"), "B02": ("Staurosporine", "Reference", "APOPTOSIS"),
        "A03": ("TNF+SMAC+zVAD", "reference", "Necroptotic"), "E02": ("RSL3", "reference", "Ferroptotic"),
        "F02": ("RSL3", "reference", "FERROPTOSIS"), "B01": ("DMSO 0.1%", "", "n/a")})
    t = read_layout(path).table.set_index("well")
    assert t.loc[["A02", "B02"], "mode"].tolist() == ["apoptosis", "apoptosis"]
    assert t.loc["A03", "mode"] == "necroptosis"
    assert t.loc[["E02", "F02"], "mode"].tolist() == ["ferroptosis", "ferroptosis"]
    assert (t.loc["B01", "role"], t.loc["B01", "mode"]) == ("vehicle", "alive")


def test_a_death_mode_column_is_the_mode(tmp_path):
    from ferroscreen.plate import read_layout

    path = lab_layout(tmp_path / "map.csv", header=("Well", "Compound", "Role", "Death Mode"))
    assert read_layout(path).table.set_index("well").loc["E02", "mode"] == "ferroptosis"


def test_a_layout_without_a_mode_column_says_so(tmp_path):
    from ferroscreen.errors import LayoutError
    from ferroscreen.plate import read_layout

    path = lab_layout(tmp_path / "map.csv", header=("Well", "Compound", "Role", "Cell death type"))
    with pytest.raises(LayoutError, match="no 'mode' column"):
        read_layout(path)


@pytest.mark.parametrize("written", ["RSL3 + Fer-1 1uM", "RSL3 + Ferrostatin 1", "RSL3 / Fer-1", "RSL3 & Lip-1"])
def test_a_rescue_combination_marked_reference_is_not_trained_as_its_mode(tiny_plate, tmp_path, written):
    path = lab_layout(tmp_path / "map.csv", {"E02": (written, "reference", "ferroptosis")})
    s = summary(tiny_plate, path)
    assert wells_of(s, "ferroptosis") == {"F02"}
    assert "E02" not in s["train_wells"] + s["val_wells"]
    assert any("E02" in n and "rescue" in n for n in s["notes"])


def test_a_vehicle_well_given_a_death_mode_is_trained_alive(tiny_plate, tmp_path, monkeypatch):
    import ferroscreen.datamodules.reference_plate as rp

    said: list[str] = []  # what the run prints (Lightning's logger need not propagate to pytest's capture)
    monkeypatch.setattr(rp, "rank_zero_info", said.append)
    path = lab_layout(tmp_path / "map.csv", {"A01": ("DMSO 0.1%", "vehicle", "ferroptosis")})
    s = summary(tiny_plate, path)
    assert wells_of(s, "alive") == {"A01", "B01"}
    assert wells_of(s, "ferroptosis") == {"E02", "F02"}
    assert any("A01" in n and "trained as alive" in n for n in s["notes"])
    # before training: train printed them only after it
    assert any(m.startswith("note: ") and "trained as alive" in m for m in said)
    assert said.index(next(m for m in said if "trained as alive" in m)) < said.index(
        next(m for m in said if m.startswith("training data: ")))


def test_wells_the_layout_excludes_are_not_trained(tiny_plate, tmp_path):
    path = tmp_path / "map.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Well", "Compound", "Role", "Mode", "Exclude"])
        for well, (c, r, m) in TRUTH.items():
            w.writerow([well, c, r, m, "contaminated" if well == "E02" else ""])
    s = summary(tiny_plate, path)
    assert wells_of(s, "ferroptosis") == {"F02"}
    assert any("E02 (contaminated)" in n for n in s["notes"])


def test_layout_wells_not_imaged_hold_no_place_in_validation(tiny_plate, tmp_path):
    extra = [(w, ("staurosporine", "reference", "apoptosis")) for w in ("G10", "G11", "G12", "H10", "H11", "H12")]
    s = summary(tiny_plate, lab_layout(tmp_path / "map.csv", extra=extra))
    assert wells_of(s, "apoptosis") == {"A02", "B02"}
    assert s["val_per_class"]["apoptosis"] > 0 and s["train_per_class"]["apoptosis"] > 0
    assert not {"G10", "G11", "G12", "H10", "H11", "H12"} & set(s["train_wells"] + s["val_wells"])
    assert any("not imaged" in n and "H12" in n for n in s["notes"])


def test_a_layout_of_other_plates_does_not_label_this_one(tiny_plate, tmp_path):
    """Two plates in one layout file and the images of a third name: rows of both would overwrite each other."""
    path = tmp_path / "map.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Plate", "Well", "Compound", "Role", "Mode"])
        for plate, swap in (("P1", {}), ("P2", {"apoptosis": "ferroptosis", "ferroptosis": "apoptosis"})):
            for well, (c, r, m) in TRUTH.items():
                w.writerow([plate, well, c, r, swap.get(m, m)])
    with pytest.raises(FerroscreenError, match="none of which is the imaged plate"):
        summary(tiny_plate, path)


def test_a_class_with_one_well_is_said_to_miss_validation(tiny_plate, tmp_path):
    s = summary(tiny_plate, lab_layout(tmp_path / "map.csv", {"F02": None}))
    assert s["wells_per_class"]["ferroptosis"] == {"train": ["E02"], "val": []}
    assert any("ferroptosis has 1 well" in n for n in s["notes"])


def test_a_mode_no_class_names_is_said(tiny_plate, tmp_path):
    s = summary(tiny_plate, lab_layout(tmp_path / "map.csv", {"B03": ("nigericin", "reference", "Pyroptotic")}))
    assert s["skipped_modes"] == ["pyroptosis"]
    assert any("'pyroptosis'" in n and "B03" in n for n in s["notes"])


def test_a_class_the_layout_never_names_is_said(tiny_plate, tmp_path):
    path = lab_layout(tmp_path / "map.csv", {"A03": None, "B03": None})
    with pytest.raises(FerroscreenError, match="names no reference/vehicle wells of necroptosis"):
        summary(tiny_plate, path)


def test_an_onset_after_the_last_scan_says_when_the_plate_was_imaged(tiny_plate, tmp_path):
    with pytest.raises(FerroscreenError, match="imaged from 0 h to 24 h"):
        summary(tiny_plate, lab_layout(tmp_path / "map.csv"), onset_h=36, vehicle_window=True)


def test_a_layout_naming_no_imaged_well_says_so(tiny_plate, tmp_path):
    moved = {f"{w[0]}1{w[2]}": v for w, v in TRUTH.items()}  # A01 -> A11...: another part of the plate
    path = tmp_path / "map.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Well", "Compound", "Role", "Mode"])
        for well, values in moved.items():
            w.writerow([well, *values])
    with pytest.raises(FerroscreenError, match="is imaged in"):
        summary(tiny_plate, path)


def test_a_96_well_plate_map_on_a_384_well_plate_is_refused(tiny_plate, tmp_path):
    plate = tmp_path / "plate384"
    shutil.copytree(tiny_plate / "images", plate / "images")
    for f in (plate / "images").glob("*_A1_*"):
        shutil.copy(f, f.with_name(f.name.replace("_A1_", "_P24_")))
    grid = tmp_path / "map.csv"
    with open(grid, "w", newline="") as fh:
        w = csv.writer(fh)
        for name, k in (("compound", 0), ("role", 1), ("mode", 2)):
            w.writerow([name, *range(1, 13)])
            for r in "ABCDEFGH":
                w.writerow([r, *(TRUTH.get(f"{r}{c:02d}", ("", "", ""))[k] for c in range(1, 13))])
            w.writerow([])
    with pytest.raises(FerroscreenError, match="96-well plate map.*P24"):
        summary(plate, grid)


def test_onset_keys_written_as_a_lab_writes_them(tiny_plate, tmp_path):
    """``onset_h: {Ferroptosis: 24}`` means the layout's mode (class names in another case: test_reference_rescue_labels)."""
    path = lab_layout(tmp_path / "map.csv")
    s = summary(tiny_plate, path, onset_h={"default": 12, "Ferroptosis": 24, "ferroptosys": 0}, alive_until_h=0)
    assert {"A01", "B01", "A02", "E02"} <= wells_of(s, "alive")  # reference wells' first scans are alive
    assert wells_of(s, "ferroptosis") == {"E02", "F02"}
    fer = s["train_per_class"]["ferroptosis"] + s["val_per_class"]["ferroptosis"]
    apo = s["train_per_class"]["apoptosis"] + s["val_per_class"]["apoptosis"]
    assert 0 < fer < apo  # ferroptosis wells from 24 h only, apoptosis from 12 h
    assert any("ferroptosys" in n for n in s["notes"])


def test_a_type_column_is_the_role_and_wells_whose_role_was_not_read_are_named(tiny_plate, tmp_path):
    """A lab's ``Type`` column holding the roles is the role column; roles in a column of no known name are not."""
    s = summary(tiny_plate, lab_layout(tmp_path / "map.csv", header=("Well", "Compound", "Type", "Mode")))
    assert wells_of(s, "apoptosis") == {"A02", "B02"} and wells_of(s, "alive") == {"A01", "B01"}
    path = lab_layout(tmp_path / "kind.csv", header=("Well", "Compound", "Kind", "Mode"))
    with pytest.raises(FerroscreenError, match=r"apoptosis well\(s\) A02, B02 have role sample"):
        summary(tiny_plate, path)


def test_train_cli_refuses_another_plates_layout_in_one_line(tiny_plate, tmp_path, cli):
    from pathlib import Path

    path = tmp_path / "map.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Plate", "Well", "Compound", "Role", "Mode"])
        for plate in ("P1", "P2"):
            for well, (c, r, m) in TRUTH.items():
                w.writerow([plate, well, c, r, m])
    repo = Path(__file__).resolve().parents[2]
    proc = cli("train", "--config", repo / "configs" / "train" / "demo.yaml", "--out", tmp_path / "m.pt",
               "--data.init_args.root", tiny_plate, "--data.init_args.layout", path, "--model.weights", "none",
               "--trainer.max_epochs", "1", "--data.init_args.max_crops_per_frame", "4", "--data.init_args.next_scan", "0",
               cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "map.csv" in last and "none of which is the imaged plate" in last, last
    assert not (tmp_path / "m.pt").exists()


def test_a_reference_well_at_dose_zero_is_not_trained_as_its_mode(tiny_plate, tmp_path):
    """A lab's dose series of the inducer starts at 0 uM, still marked reference/ferroptosis: no inducer in it."""
    path = lab_layout(tmp_path / "map.csv", {"E02": ("RSL3", "reference", "ferroptosis", "0"),
                                             "F02": ("RSL3", "reference", "ferroptosis", "1")},
                      header=("Well", "Compound", "Role", "Mode", "Conc (uM)"))
    s = summary(tiny_plate, path)
    assert wells_of(s, "ferroptosis") == {"F02"}
    assert any("E02" in n and "dose 0" in n for n in s["notes"])
