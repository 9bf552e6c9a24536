"""`ferroscreen simulate`: scan times the file names can carry, seeds, all-or-nothing plates, empty plates.

Each test is a run a user made that gave a plate whose truth disagreed with its files, crashed with a
traceback, or left a folder the next run refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import pandas as pd
import pytest

from ferroscreen.io.incucyte import read_incucyte_export
from ferroscreen.simulate import (
    SimulationConfig,
    SimulationConfigError,
    load_library,
    plate_writer,
    read_truth,
    simulate_plate,
)
from ferroscreen.simulate.contact_sheet import make_contact_sheet
from ferroscreen.simulate.library import LibraryError

# vehicle and RSL3 1 uM of the demo 96-well map
WELLS = ("A01", "E02")


def _config(**kw) -> SimulationConfig:
    base = dict(fields=1, hours=1, interval_h=1 / 3, image_size=(48, 48), seed=3, wells=WELLS, workers=1,
                density_per_mm2=6000)
    base.update(kw)
    return SimulationConfig(**base)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- scan times


@pytest.mark.parametrize("interval_h", [0.333333, 0.3333, 0.333])
def test_twenty_minute_scans_agree_in_names_truth_and_reader(tmp_path, interval_h):
    """With --interval-h 0.333333 truth.json's time courses held 20 of 141 cells (every frame after t=0
    read n_cells 0); with 0.3333 the truth said 0.9999 h where the files and the reader say 1 h."""
    out = tmp_path / "plate"
    simulate_plate(out, load_library("demo"), _config(interval_h=interval_h))
    meta, cells = read_truth(out)
    assert meta["times_h"] == [0.0, 0.3333, 0.6667, 1.0]
    assert sorted(set(read_incucyte_export(out / "images").frames["time_h"])) == meta["times_h"]
    assert sorted(set(cells["time_h"])) == meta["times_h"]
    assert sorted({f["time_h"] for f in meta["frames"]}) == meta["times_h"]
    tc = pd.DataFrame(meta["timecourses"]).set_index(["well", "time_h"])["n_cells"]
    counted = cells.groupby(["well", "time_h"]).size().reindex(tc.index, fill_value=0)
    assert len(cells) > 20 and tc.sum() == len(cells)
    assert (tc == counted).all()


def test_config_times_are_whole_minutes():
    # the frame table's times of the files 00h00m, 00h20m, ... (4 decimals)
    assert SimulationConfig(hours=2, interval_h=0.3333).times_h == [0.0, 0.3333, 0.6667, 1.0, 1.3333, 1.6667, 2.0]
    assert SimulationConfig(hours=48, interval_h=4).times_h == [float(h) for h in range(0, 49, 4)]
    assert SimulationConfig(hours=1, interval_h=0.25).times_h == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert SimulationConfig(hours=0, interval_h=4).times_h == [0.0]


@pytest.mark.parametrize("interval_h, fragment", [
    (0.01, "--interval-h 0.01 is 0.6 min"),
    (0.025, "--interval-h 0.025 is 1.5 min"),
    (0.33, "--interval-h 0.33 is 19.8 min"),
])
def test_intervals_the_file_names_cannot_carry_are_refused(interval_h, fragment):
    """--hours 0.05 --interval-h 0.01 said "wrote 12 images" and left 8 files: scans in one minute overwrote
    each other (the names carry whole minutes)."""
    with pytest.raises(SimulationConfigError) as exc:
        SimulationConfig(hours=0.05, interval_h=interval_h)
    msg = str(exc.value)
    assert fragment in msg and "whole minutes" in msg and "\n" not in msg, msg


def test_cli_refuses_a_sub_minute_interval_in_one_line(cli, user_error, tmp_path):
    out = tmp_path / "out"
    user_error(cli("simulate", out, "--hours", "0.05", "--interval-h", "0.01", "--wells", "A01",
                   "--image-size", "32", "32"), "--interval-h")
    assert not out.exists()


def test_same_seed_gives_identical_files_with_twenty_minute_scans(tmp_path):
    simulate_plate(tmp_path / "a", load_library("demo"), _config())
    simulate_plate(tmp_path / "b", load_library("demo"), _config(workers=2))
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []


def test_evaluation_finds_the_truth_of_every_frame(tmp_path, monkeypatch):
    """The reader's 1.3333333 h was looked up as 1.3333 in a truth that said 1.333333 (or 1.3332): frames
    without truth counted every detection as a false positive."""
    from ferroscreen.tasks import evaluation

    out = tmp_path / "plate"
    simulate_plate(out, load_library("demo"), _config(hours=2))
    truth = pd.read_csv(out / "truth_cells.csv")
    looked_up = []

    def match(det, t):
        looked_up.append(len(t))
        return {"tp": 0, "fp": 0, "fn": len(t), "pairs": []}

    monkeypatch.setattr(evaluation, "detect_cells", lambda img, cfg: pd.DataFrame({"x": [], "y": []}))
    monkeypatch.setattr(evaluation, "match_detections", match)
    bundle = SimpleNamespace(next_scan=0, meta={"detector": None}, normalization=None, path="stub",
                             classes=["alive", "apoptosis", "ferroptosis", "necroptosis"], frame_note=None,
                             interval_mismatch=lambda frames: "")
    r = evaluation.evaluate_simulated_plate(out, bundle, max_frames=None)
    assert r["n_frames"] == 2 * 7 and r["detection"]["fn"] == len(truth) > 0
    # a truth written by an earlier simulator: 4 decimals of k * 0.3333 (0.9999, 1.3332, ...)
    minutes = (truth["time_h"] * 60).round().astype(int)
    truth.assign(time_h=(minutes // 20 * 0.3333).round(4)).to_csv(out / "truth_cells.csv", index=False)
    looked_up.clear()
    r = evaluation.evaluate_simulated_plate(out, bundle, max_frames=None)
    assert r["detection"]["fn"] == len(truth) and len(looked_up) == 14


# ----------------------------------------------------------------------------- seeds, all or nothing


def test_a_negative_seed_is_a_one_line_error(cli, user_error, tmp_path):
    """--seed -1 gave a 51-line numpy traceback and left layout.csv and an empty images/ behind."""
    with pytest.raises(SimulationConfigError, match="--seed must be >= 0, got -1"):
        SimulationConfig(seed=-1)
    out = tmp_path / "out"
    user_error(cli("simulate", out, "--seed", "-1", "--wells", "A01", "--hours", "0", "--image-size", "32", "32"),
               "--seed")
    assert not out.exists()


def _interrupt_after(monkeypatch, n: int) -> None:
    real = plate_writer.simulate_well
    calls = []

    def well(job):
        if len(calls) == n:
            raise KeyboardInterrupt
        calls.append(job)
        return real(job)

    monkeypatch.setattr(plate_writer, "simulate_well", well)


def test_an_interrupted_run_leaves_no_plate_the_next_run_refuses(tmp_path, monkeypatch):
    out = tmp_path / "plate"
    _interrupt_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        simulate_plate(out, load_library("demo"), _config())
    assert not out.exists()
    monkeypatch.undo()
    simulate_plate(out, load_library("demo"), _config())  # not refused
    assert sorted(p.name for p in out.iterdir()) == ["images", "layout.csv", "truth.json", "truth_cells.csv"]


def test_an_interrupted_run_into_a_folder_of_other_files_keeps_them(tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("mine")
    _interrupt_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        simulate_plate(tmp_path, load_library("demo"), _config())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_failed_replace_keeps_the_earlier_plate(tmp_path, monkeypatch):
    out = tmp_path / "plate"
    simulate_plate(out, load_library("demo"), _config())
    before = _files(out)
    _interrupt_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        simulate_plate(out, load_library("demo"), _config(seed=4), replace=True)
    assert _files(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["images", "layout.csv", "truth.json", "truth_cells.csv"]


def test_leftovers_of_a_killed_run_do_not_block_the_next(tmp_path):
    out = tmp_path / "plate"
    (out / ".images.tmp").mkdir(parents=True)
    (out / ".images.tmp" / "VID1_phase_H12_1_00d00h00m.tif").write_bytes(b"half")
    (out / ".layout.csv.tmp").write_text("half")
    simulate_plate(out, load_library("demo"), _config(hours=0))
    assert sorted(p.name for p in out.iterdir()) == ["images", "layout.csv", "truth.json", "truth_cells.csv"]
    assert all("H12" not in p.name for p in (out / "images").iterdir())


def test_cli_replace_writes_over_an_earlier_plate(cli, user_error, tmp_path):
    out = tmp_path / "plate"
    args = ("simulate", out, "--wells", "A01", "--hours", "0", "--image-size", "32", "32", "--fields", "1")
    assert cli(*args).returncode == 0
    user_error(cli(*args, "--seed", "5"), "already holds a plate")
    proc = cli(*args, "--seed", "5", "--replace")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "truth.json").read_text())["config"]["seed"] == 5


# ----------------------------------------------------------------------------- empty plates, truth, library


def test_a_contact_sheet_of_a_plate_without_cells(tmp_path, cli):
    """--density 0 --contact-sheet cs.png: KeyError: 'class' (a traceback, exit 1)."""
    out = tmp_path / "plate"
    simulate_plate(out, load_library("demo"), _config(hours=0, density_per_mm2=0))
    assert len(read_truth(out)[1]) == 0
    png = make_contact_sheet(out, tmp_path / "cs.png")
    assert cv2.imread(str(png)) is not None
    sheet = tmp_path / "cs2.png"
    proc = cli("simulate", tmp_path / "p2", "--wells", "A12", "--hours", "0", "--image-size", "32", "32",
               "--fields", "1", "--contact-sheet", sheet)  # A12: an empty well of the demo map
    assert proc.returncode == 0, proc.stderr
    assert cv2.imread(str(sheet)) is not None


def test_truth_holds_every_parameter_of_the_rescue_agents(tmp_path):
    """truth.json left out a rescue agent's ic50 and hill, which set how much it spares."""
    lib = tmp_path / "lib.yaml"
    lib.write_text(
        "compounds:\n  TSZ: {modes: {necroptosis: 1.0}, ec50: 1.0e-7}\n"
        "rescue_agents:\n  Nec-1: {blocks: necroptosis, efficacy: 0.9, concentration: 30 uM, ic50: 1 uM, hill: 2}\n"
        "  Fer-1: {blocks: ferroptosis}\n"
        'plate_maps:\n  "96":\n    - {compound: TSZ, role: rescue, concentration: 1 uM, rescue_agent: Nec-1}\n')
    out = tmp_path / "plate"
    simulate_plate(out, load_library(lib), _config(wells=("A01",), hours=0, density_per_mm2=0))
    agents = read_truth(out)[0]["rescue_agents"]
    assert agents["Nec-1"] == {"blocks": "necroptosis", "efficacy": 0.9, "concentration": pytest.approx(3e-5),
                               "ic50": pytest.approx(1e-6), "hill": 2.0}
    assert agents["Fer-1"]["ic50"] is None and agents["Fer-1"]["hill"] == 1.0


def test_a_well_count_with_replicates_is_refused(tmp_path):
    """`wells: 4, replicates: 2` on one dose placed 8 wells (replicates 1..8); the docs say `wells: N` is N wells."""
    lib = tmp_path / "lib.yaml"
    lib.write_text("compounds:\n  STS: {modes: {apoptosis: 1.0}}\n"
                   'plate_maps:\n  "96":\n    - {compound: STS, concentration: 1 uM, wells: 4, replicates: 2}\n')
    with pytest.raises(LibraryError) as exc:
        load_library(lib)
    msg = str(exc.value)
    assert msg.startswith(f"{lib}: plate_maps.96[0].wells: ") and "replicates" in msg and "\n" not in msg, msg
