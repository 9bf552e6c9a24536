"""``score`` says when a bundle does not suit the images (detections unlike its training frames', vehicle wells
called dead), tells frames of another size apart from unreadable ones, and names what it passed over."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import tifffile

from ferroscreen.score import read_store
from ferroscreen.score.domain_check import (
    AT_LIMITS_MARGIN,
    DENSITY_FACTOR,
    PASSED_OVER_ATTR,
    RADIUS_FACTOR,
    WARNINGS_ATTR,
    domain_warning,
    preset_name,
    vehicle_dead_warning,
)

from .conftest import make_bundle, simulate


def detections_of(plate) -> dict:
    """What a bundle trained on ``plate``'s frames with the suspension preset records of its detections."""
    from ferroscreen.crops import detector_config
    from ferroscreen.datamodules.reference_plate import crops_from_frame, detection_stats

    cfg = detector_config({"preset": "suspension"})
    found = [crops_from_frame(str(p), cfg, 24, None, 0, detections=True)[1]
             for p in sorted((plate / "images").glob("*.tif"))]
    return detection_stats([n for n, _, _ in found], [px for _, px, _ in found],
                           np.concatenate([r for _, _, r in found]), "suspension", (cfg.min_radius, cfg.max_radius))


@pytest.fixture(scope="module")
def simulated_bundle(tmp_path_factory):
    """A tiny bundle whose training data record the detections of a simulated plate of another seed (2) than
    ``plate_dir``'s (1), as a bundle trained on the demo plate does."""
    root = tmp_path_factory.mktemp("train")
    trained = detections_of(simulate(root / "plate", seed=2))
    return make_bundle(root / "sim.pt", training_data={"detections": trained})


def test_the_reference_plate_datamodule_records_its_detections(plate_dir):
    from ferroscreen.datamodules import ReferencePlateDataModule

    dm = ReferencePlateDataModule(str(plate_dir), classes=["alive", "apoptosis"], onset_h=0, max_crops_per_frame=4,
                                  crop_size=24, detector={"preset": "suspension", "crop_mask": 1.5})
    dm.setup()
    d = dm.summary()["detections"]
    assert d["frames"] == 12 and d["preset"] == "suspension"  # 4 wells x 3 scans
    assert 0 < d["per_mpx"]["p5"] <= d["per_mpx"]["median"] <= d["per_mpx"]["p95"]
    assert d["per_mpx"]["median"] == pytest.approx(d["per_frame"]["median"] / 128 ** 2 * 1e6)
    assert 4 <= d["radius_px"] <= 16 and d["radius_limits"] == [4.0, 16.0]  # the suspension preset's radii
    assert 0 <= d["at_radius_limits"] < 0.3


def test_a_plate_like_the_training_frames_gets_no_warning(plate_dir, simulated_bundle, tmp_path, run_main):
    out = tmp_path / "p.h5"
    code, _, err = run_main("score", plate_dir, "--model", simulated_bundle, "--out", out, "--workers", "0")
    assert code == 0, err
    assert "the model's detector" not in err, err  # (an untrained bundle may well call the vehicle wells dead)
    assert not [w for w in read_store(out).attrs.get(WARNINGS_ATTR) or [] if "the model's detector" in w]


def real_plate(root, shared_data, sets=(1, 2, 3)):
    """An IncuCyte export of real adherent phase-contrast frames (Usiigaci), DMSO in its wells."""
    import cv2

    from ferroscreen.io import incucyte_export_name

    (root / "images").mkdir(parents=True)
    wells = []
    for k, s in enumerate(sets):
        raw = cv2.imread(str(shared_data / "phase_cells" / "usiigaci" / f"set{s}" / "raw.png"), -1)
        if raw is None:
            pytest.skip("usiigaci data absent")
        well = f"B{k + 2}"
        tifffile.imwrite(root / "images" / incucyte_export_name(7, well, 1, 0.0), raw)
        wells.append(well)
    pd.DataFrame({"plate_id": "VID7", "well": wells, "compound": "DMSO", "role": "vehicle"}).to_csv(
        root / "layout.csv", index=False)
    return root


def test_real_adherent_frames_warn_a_bundle_trained_on_simulated_round_cells(
        shared_data, simulated_bundle, tmp_path, run_main):
    plate = real_plate(tmp_path / "real", shared_data)
    out = tmp_path / "real.h5"
    code, _, err = run_main("score", plate, "--model", simulated_bundle, "--out", out, "--workers", "0")
    assert code == 0, err
    line = next(x for x in err.splitlines() if x.startswith("warning: plate VID7: the model's detector"))
    assert "(preset suspension) finds" in line and "of its detections at the preset's smallest or largest radius" \
        in line
    assert "its training frames:" in line and "ferroscreen detect FRAME --detector" in line
    assert "train a model on your own cells" in line
    store = read_store(out)
    assert line in store.attrs[WARNINGS_ATTR]
    code, _, err = run_main("export", out, "--out", tmp_path / "ex")
    assert code == 0, err
    notes = json.loads((tmp_path / "ex" / "export.json").read_text())["notes"]
    assert any(n.startswith("plate VID7: the model's detector (preset suspension)") for n in notes), notes


def test_detections_far_from_the_training_frames_warn_and_near_ones_do_not():
    trained = {"per_mpx": {"median": 300.0, "p5": 200.0, "p95": 400.0}, "radius_px": 8.0, "preset": "suspension"}
    like = {"frames": 10, "per_mpx": 390.0 * DENSITY_FACTOR, "radius_px": 8.0 * RADIUS_FACTOR * 0.99}
    assert domain_warning("P1", like, trained, None, "m.pt") == ""
    assert domain_warning("P1", {**like, "per_mpx": 210.0 / DENSITY_FACTOR}, trained, None, "m.pt") == ""
    dense = domain_warning("P1", {**like, "per_mpx": 410.0 * DENSITY_FACTOR}, trained, None, "m.pt")
    assert dense.startswith(f"warning: plate P1: the model's detector (preset suspension) finds "
                            f"{410.0 * DENSITY_FACTOR:.0f} detections")
    assert "5-95 % 200-400" in dense and "radius" not in dense
    small = domain_warning("P1", {**like, "radius_px": 8.0 / RADIUS_FACTOR / 1.01}, trained, None, "m.pt")
    assert "median detection radius 5.7 px (its training frames: 8.0 px)" in small
    assert domain_warning("P1", like, {}, None, "m.pt") == ""  # a bundle without the record: no check
    limits = {**trained, "radius_limits": [4.0, 16.0], "at_radius_limits": 0.1}
    assert domain_warning("P1", {**like, "at_radius_limits": 0.1 + AT_LIMITS_MARGIN * 0.99}, limits, None, "m") == ""
    piled = domain_warning("P1", {**like, "at_radius_limits": 0.6}, limits, None, "m.pt")
    assert "60 % of its detections at the preset's smallest or largest radius (4 or 16 px; its training frames: " \
           "10 %)" in piled


def test_the_preset_is_named_from_the_bundle_settings():
    assert preset_name({"preset": "adherent_10x"}) == "adherent_10x"
    assert preset_name({"preset": "suspension", "threshold": 3.0}) == "suspension, 1 setting changed"


def test_vehicle_wells_called_dead_at_the_first_scan_warn():
    layout = pd.DataFrame({"well": ["A01", "A02", "B01"], "role": ["vehicle", "vehicle", "sample"]})

    def wells(alive_first):
        return pd.DataFrame({"well": ["A01", "A02", "B01"] * 2, "time_h": [0.0] * 3 + [4.0] * 3,
                             "n_cells": [50, 40, 30] * 2, "share_alive": [*alive_first, 0.9, 0.1, 0.1, 0.0]})

    line = vehicle_dead_warning("P1", wells([0.2, 0.4]), layout, "m.pt")
    assert line.startswith("warning: plate P1: the model calls the vehicle wells dead: at the first scan (0 h)")
    assert "0.30 (2 well(s))" in line
    assert vehicle_dead_warning("P1", wells([0.8, 0.7]), layout, "m.pt") == ""  # dead later (a sample): no warning
    assert vehicle_dead_warning("P1", wells([0.3, 0.35]), layout.assign(role="sample"), "m.pt") == ""


def test_frames_of_another_size_are_told_apart_from_unreadable_ones(plate_copy, bundle_path, tmp_path, run_main):
    imgs = sorted((plate_copy / "images").glob("*.tif"))
    for p in imgs[4:6]:
        tifffile.imwrite(p, np.full((77, 99), 100, np.uint16))
    out = tmp_path / "p.h5"
    code, _, err = run_main("score", plate_copy, "--model", bundle_path, "--out", out, "--workers", "0")
    assert code == 3, err
    closing = err.strip().splitlines()[-1]
    assert closing == (f"exit status 3: 2 frame(s) of another size (77x99; the plate's frames are 128x128): score "
                       f"them as a plate of their own (their files in a folder of their own); {out} holds every "
                       f"other frame")
    code, _, err = run_main("export", out, "--out", tmp_path / "ex")
    note = next(n for n in json.loads((tmp_path / "ex" / "export.json").read_text())["notes"] if "failed" in n
                or "another size" in n)
    assert "2 frame(s) of another size (77x99; the plate's frames are 128x128)" in note
    assert "once their image files are fixed" not in note


def test_files_and_wells_passed_over_are_said_and_recorded(plate_copy, bundle_path, tmp_path, run_main):
    images = plate_copy / "images"
    for p in images.glob("VID1_phase_B2_*"):
        p.rename(p.with_name(p.name.replace("_phase_B2_", "_phase_B2x_")))  # a name the reader does not place
    out = tmp_path / "p.h5"
    code, _, err = run_main("score", plate_copy, "--model", bundle_path, "--out", out, "--workers", "0")
    assert code == 0, err
    skipped = next(x for x in err.splitlines() if "passed over" in x)
    assert skipped.startswith("warning: plate VID1: 3 file(s) in the acquisition were passed over, not scored")
    assert "VID1_phase_B2x_1_00d00h00m.tif" in skipped and f"see `ferroscreen inspect {plate_copy}`" in skipped
    wells = next(x for x in err.splitlines() if "have no image" in x)
    assert wells.startswith("warning: plate VID1: 1 well(s) of the layout") and wells.endswith(": B02")
    assert read_store(out).attrs[PASSED_OVER_ATTR] == [skipped, wells]
    code, _, err = run_main("export", out, "--out", tmp_path / "ex")
    notes = json.loads((tmp_path / "ex" / "export.json").read_text())["notes"]
    assert skipped.removeprefix("warning: ") in notes and wells.removeprefix("warning: ") in notes
    shutil.rmtree(tmp_path / "ex")
