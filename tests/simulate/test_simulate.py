"""Simulator: determinism, truth consistency, dose-response, export round-trip, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile

from ferroscreen.io.incucyte import read_incucyte_export
from ferroscreen.plate import read_layout_csv
from ferroscreen.simulate import (
    CLASSES,
    SimulationConfig,
    SimulationConfigError,
    load_library,
    read_truth,
    simulate_plate,
)
from ferroscreen.simulate.library import LibraryError, library_from_dict
from ferroscreen.simulate.morphology import STAGES
from ferroscreen.simulate.pharmacology import occupancy, well_pharmacology
from ferroscreen.simulate.plate_map import plan_plate

# vehicle, STS, RSL3, TSZ, RSL3+Fer-1, volasertib top dose (demo 96-well map)
TINY_WELLS = ("A01", "A02", "E02", "A03", "E03", "A05")


def tiny_config(**kw) -> SimulationConfig:
    base = dict(fields=2, hours=12, interval_h=4, image_size=(128, 112), seed=7,
                wells=TINY_WELLS, workers=1, density_per_mm2=1500)
    base.update(kw)
    return SimulationConfig(**base)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    simulate_plate(out, load_library("demo"), tiny_config())
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_same_seed_gives_identical_files_whatever_the_worker_count(tiny, tmp_path):
    again = tmp_path / "again"
    simulate_plate(again, load_library("demo"), tiny_config(workers=2))
    a, b = _files(tiny), _files(again)
    assert a.keys() == b.keys()
    differing = [k for k in a if a[k] != b[k]]
    assert differing == []


def test_other_seed_gives_other_images(tiny, tmp_path):
    other = tmp_path / "other"
    simulate_plate(other, load_library("demo"), tiny_config(seed=8))
    name = sorted((tiny / "images").iterdir())[0].name
    assert (tiny / "images" / name).read_bytes() != (other / "images" / name).read_bytes()


def test_reader_round_trips_the_export(tiny):
    acq = read_incucyte_export(tiny / "images")
    f = acq.frames
    assert len(f) == len(TINY_WELLS) * 2 * 4
    assert set(f["plate"]) == {"VID1"}
    assert acq.wells == sorted(TINY_WELLS)
    assert acq.timepoints_h == [0.0, 4.0, 8.0, 12.0]
    assert set(f["field"]) == {1, 2} and set(f["channel"]) == {"phase"}
    assert acq.missing_frames().empty and not acq.skipped
    img = acq.load(0)
    assert img.dtype == np.uint8 and img.shape == (112, 128)
    np.testing.assert_array_equal(img, tifffile.imread(f.iloc[0]["path"]))
    assert 40 < img.mean() < 220 and img.std() > 2


def test_layout_follows_the_schema(tiny):
    layout = read_layout_csv(tiny / "layout.csv")
    t = layout.table.set_index("well")
    assert list(t.index) == sorted(TINY_WELLS)
    assert set(layout.plate_ids) == {"VID1"}
    assert t.loc["A01", "role"] == "vehicle" and t.loc["A01", "mode"] == "alive"
    assert t.loc["A02", "role"] == "reference" and t.loc["A02", "mode"] == "apoptosis"
    assert math.isclose(t.loc["A02", "concentration"], 1e-6)
    assert t.loc["E03", "role"] == "rescue" and t.loc["E03", "rescue_agent"] == "Fer-1"
    assert math.isclose(t.loc["E03", "rescue_concentration"], 1e-6)
    assert t.loc["A05", "role"] == "sample" and t.loc["A05", "compound"] == "volasertib"


def test_truth_cells_match_truth_json(tiny):
    meta, cells = read_truth(tiny)
    tc = pd.DataFrame(meta["timecourses"])
    assert len(tc) == len(TINY_WELLS) * 4
    counted = cells.groupby(["well", "time_h"]).size()
    for row in tc.itertuples(index=False):
        n = int(counted.get((row.well, row.time_h), 0))
        assert row.n_cells == n
        sub = cells[(cells.well == row.well) & (cells.time_h == row.time_h)]
        for c in CLASSES:
            assert getattr(row, f"n_{c}") == int((sub["class"] == c).sum())
            if n:
                assert math.isclose(getattr(row, f"frac_{c}"), (sub["class"] == c).mean(),
                                    abs_tol=1e-6)
    assert set(cells["class"]) <= set(CLASSES)
    for c, stages in STAGES.items():
        assert set(cells.loc[cells["class"] == c, "stage"]) <= set(stages)
    assert cells["x"].between(0, 128).all() and cells["y"].between(0, 112).all()
    assert (cells["radius"] > 1).all() and cells["contrast"].between(0.15, 1.0).all()
    assert not cells.duplicated(["well", "field", "time_h", "cell_id"]).any()
    assert meta["compounds"]["volasertib"]["ec50"] == pytest.approx(3e-8)
    assert len(meta["frames"]) == len(TINY_WELLS) * 2 * 4
    assert meta["wells"]["E03"]["pharmacology"]["rescue"]["ferroptosis"] == 0.95


def test_reference_wells_die_by_their_mode(tiny):
    meta, _ = read_truth(tiny)
    tc = pd.DataFrame(meta["timecourses"]).set_index(["well", "time_h"])
    end = tc.xs(12.0, level="time_h")
    assert end.loc["A02", "frac_apoptosis"] > 0.4
    assert end.loc["E02", "frac_ferroptosis"] > 0.25
    assert end.loc["A03", "frac_necroptosis"] > 0.25
    assert end.loc["A01", "frac_alive"] > 0.8
    assert end.loc["E03", "frac_ferroptosis"] < end.loc["E02", "frac_ferroptosis"] / 2


DOSE_LIBRARY = {
    "name": "dose-test",
    "compounds": {
        "killer": {"modes": {"ferroptosis": 1.0}, "emax": 0.95, "ec50": 1e-7, "hill": 1.5,
                   "onset_h": 2, "rate_per_h": 0.3},
        "blocker-target": {"modes": {"apoptosis": 1.0}, "emax": 0.9, "ec50": 1e-8,
                           "onset_h": 2, "rate_per_h": 0.3},
    },
    "rescue_agents": {"Fer-1": {"blocks": "ferroptosis", "efficacy": 0.95}},
    "plate_maps": {
        "96": [
            {"compound": "DMSO", "role": "vehicle", "wells": 1},
            {"compound": "killer", "doses": [1e-9, 1e-8, 1e-7, 1e-6, 1e-5]},
            {"compound": "killer", "role": "rescue", "concentration": 1e-5,
             "rescue_agent": "Fer-1"},
        ]
    },
}


def test_true_fractions_follow_dose_and_rescue(tmp_path):
    lib = library_from_dict(DOSE_LIBRARY)
    cfg = SimulationConfig(fields=1, hours=16, interval_h=8, image_size=(128, 128), seed=3,
                           density_per_mm2=2500, edge_effects=False, workers=1,
                           wells=tuple(f"{r}01" for r in "ABCDEFG"))
    simulate_plate(tmp_path, lib, cfg)
    meta, _ = read_truth(tmp_path)
    tc = pd.DataFrame(meta["timecourses"])
    end = tc[tc.time_h == 16.0].set_index("well")["frac_ferroptosis"]
    doses = [end[w] for w in ("B01", "C01", "D01", "E01", "F01")]
    assert all(b >= a - 0.08 for a, b in zip(doses, doses[1:], strict=False)), doses
    assert doses[0] < 0.15 and doses[-1] > 0.6, doses
    assert end["G01"] < doses[-1] / 3  # Fer-1 rescue
    assert end["A01"] < 0.1  # vehicle
    expected = [meta["wells"][w]["pharmacology"]["expected_kill_fraction"]
                for w in ("B01", "C01", "D01", "E01", "F01")]
    assert expected == sorted(expected)


def test_occupancy_and_rescue_pharmacology():
    assert occupancy(math.nan, 1e-6, 1) == 0.0
    assert occupancy(1e-6, 1e-6, 2) == pytest.approx(0.5)
    lib = load_library("demo")
    plans = {p.well: p for p in plan_plate(lib, 96)}
    rsl3 = well_pharmacology(plans["E02"], lib)
    rescued = well_pharmacology(plans["E03"], lib)
    assert rescued.expected_kill_fraction() < 0.1 * rsl3.expected_kill_fraction()
    assert not well_pharmacology(plans["A01"], lib).kill_probability


@pytest.mark.parametrize("fmt", [96, 384])
def test_demo_plate_maps_hold_training_references(fmt):
    lib = load_library("demo")
    plans = plan_plate(lib, fmt)
    assert len(plans) == fmt
    roles = pd.DataFrame([p.__dict__ for p in plans])
    refs = roles[roles.role == "reference"]
    for mode in ("apoptosis", "ferroptosis", "necroptosis"):
        assert (refs["mode"] == mode).sum() >= 4
    assert (roles.role == "vehicle").sum() >= 8
    pairs = set(zip(roles.loc[roles.role == "rescue", "compound"],
                    roles.loc[roles.role == "rescue", "rescue_agent"], strict=True))
    assert pairs == {("RSL3", "Fer-1"), ("staurosporine", "zVAD"),
                     ("TNF+SMAC+zVAD", "Nec-1"), ("volasertib", "Fer-1")}
    samples = roles[roles.role == "sample"]
    per = samples.groupby("compound")["concentration"].nunique()
    assert (per == 8).all() and 8 <= len(per) <= 12
    ferro = [c for c in lib.compounds.values()
             if c.name in set(samples.compound) and c.modes.get("ferroptosis", 0) > 0.4]
    assert min(ferro, key=lambda c: c.ec50).name == "volasertib"


BAD_LIBRARIES = {
    "syntax": ("compounds: [\n", "YAML syntax error"),
    "mode": ("compounds:\n  x: {modes: {autophagy: 1}}\nplate_maps: {'96': []}\n",
             "compounds.x.modes.autophagy"),
    "ec50": ("compounds:\n  x: {modes: {apoptosis: 1}, ec50: -1}\nplate_maps: {'96': []}\n",
             "compounds.x.ec50"),
    "unknown": ("compounds: {}\nplate_maps:\n  '96':\n    - {compound: nope}\n",
                "unknown compound 'nope'"),
    "no-map": ("compounds: {}\n", "plate_maps"),
}


@pytest.mark.parametrize("case", sorted(BAD_LIBRARIES))
def test_bad_library_is_a_one_line_error(case, tmp_path):
    text, fragment = BAD_LIBRARIES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(LibraryError) as exc:
        load_library(path)
    assert str(path) in str(exc.value) and fragment in str(exc.value)
    assert "\n" not in str(exc.value)


def test_cli_bad_library_exits_2_without_traceback(cli, user_error, tmp_path):
    path = tmp_path / "lib.yaml"
    path.write_text("compounds:\n  x: {emax: 2}\nplate_maps: {'96': []}\n")
    proc = cli("simulate", tmp_path / "out", "--library", path)
    user_error(proc, str(path), "compounds.x.emax")
    assert not (tmp_path / "out").exists()


def test_cli_bad_arguments_exit_2(cli, user_error, tmp_path):
    user_error(cli("simulate", tmp_path / "o", "--wells", "Z99"), "Z99")
    user_error(cli("simulate", tmp_path / "o", "--interval-h", "0"), "--interval-h")
    with pytest.raises(SimulationConfigError):
        SimulationConfig(fields=0)


def test_cli_writes_a_tiny_plate_and_contact_sheet(cli, tmp_path):
    out = tmp_path / "plate"
    sheet = tmp_path / "sheet.png"
    proc = cli("simulate", out, "--wells", "A01,A02", "--fields", "1", "--hours", "8",
               "--interval-h", "4", "--image-size", "64", "64", "--seed", "1",
               "--contact-sheet", sheet)
    assert proc.returncode == 0, proc.stderr
    assert len(list((out / "images").glob("*.tif"))) == 2 * 3
    assert sheet.stat().st_size > 0
    meta = json.loads((out / "truth.json").read_text())
    assert meta["config"]["seed"] == 1 and meta["times_h"] == [0.0, 4.0, 8.0]


def test_a_folder_holding_a_plate_is_refused_unless_replaced(tmp_path):
    from ferroscreen.simulate import SimulationConfigError

    one = tiny_config(fields=1, hours=4, image_size=(48, 48), wells=("A01", "A02"))
    simulate_plate(tmp_path, load_library("demo"), one)
    before = sorted(p.name for p in (tmp_path / "images").iterdir())
    with pytest.raises(SimulationConfigError, match=r"already holds a plate \(images/, layout.csv, truth.json"):
        simulate_plate(tmp_path, load_library("demo"), tiny_config(fields=1, hours=4, image_size=(48, 48),
                                                                   wells=("B01",)))
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == before  # nothing touched
    simulate_plate(tmp_path, load_library("demo"), tiny_config(fields=1, hours=4, image_size=(48, 48),
                                                               wells=("B01",)), replace=True)
    assert {p.name.split("_")[2] for p in (tmp_path / "images").iterdir()} == {"B1"}
