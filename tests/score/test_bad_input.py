"""Bad input: failed frames with reasons (the run goes on) or a one-line error before writing."""

from __future__ import annotations

import os
import re
import shutil
import sys

import h5py
import numpy as np
import pandas as pd
import pytest
import tifffile

from ferroscreen.score import FAILED, StoreError, read_store

from ..cli_process import run_command
from .conftest import make_bundle

CMD = [sys.executable, "-m", "ferroscreen.cli"]


def score(plate, bundle, out, *extra):
    return run_command(
        [*CMD, "score", str(plate), "--model", str(bundle), "--out", str(out), "--workers", "1", *map(str, extra)],
        capture_output=True, text=True, timeout=300,
    )


def test_bad_frames_fail_with_reason_and_the_run_goes_on(plate_copy, plate_dir, bundle_path, tmp_path):
    imgs = sorted((plate_copy / "images").glob("*.tif"))
    corrupt, truncated, small, missing = imgs[0], imgs[3], imgs[5], imgs[7]
    corrupt.write_bytes(b"II*\x00" + b"\x17" * 500)
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    tifffile.imwrite(small, np.zeros((64, 64), np.uint8) + 100)
    missing.unlink()
    out = tmp_path / "p.h5"
    proc = score(plate_copy, bundle_path, out)
    assert proc.returncode == 3, proc.stderr  # a partial plate: not 0, as a complete one (job arrays tell them apart)
    assert "8 frames done, 4 failed" in proc.stdout
    closing = proc.stderr.strip().splitlines()[-1]  # the frame of another size apart: no fixed file scores it here
    assert closing.startswith("exit status 3: 3 frames failed (unreadable or missing"), closing
    assert "1 frame(s) of another size (64x64; the plate's frames are 128x128): score them as a plate of their own" \
        in closing
    assert proc.stderr.count("failed frame:") == 4
    with h5py.File(out, "r") as f:  # readable
        assert f["frames/status"].shape == (12,)
    frames = read_store(out).frames.set_index("path")
    assert frames.loc[str(corrupt), "status"] == FAILED and "unreadable image" in frames.loc[str(corrupt), "reason"]
    assert frames.loc[str(truncated), "status"] == FAILED
    assert str(truncated) in frames.loc[str(truncated), "reason"]
    assert "wrong frame size 64x64, expected 128x128" in frames.loc[str(small), "reason"]
    miss = frames.loc[""]
    assert miss["status"] == FAILED and miss["reason"].startswith("missing")
    wells = read_store(out).wells
    assert wells["qc_missing"].sum() == 1 and wells["n_failed"].sum() == 4
    assert (wells.loc[wells["n_failed"] > 0, "qc_ok"] == 0).all()
    # resume leaves failed frames alone until their file changes ...
    proc = score(plate_copy, bundle_path, out, "--resume")
    assert "0 frames scored" in proc.stdout, proc.stdout
    assert proc.returncode == 3, proc.stderr
    # ... and scores them once repaired or landed
    for p in (corrupt, missing):
        shutil.copy(plate_dir / "images" / p.name, p)
    proc = score(plate_copy, bundle_path, out, "--resume")
    assert proc.returncode == 3, proc.stderr
    assert "10 frames done, 2 failed" in proc.stdout and "2 frames scored" in proc.stdout
    for p in (truncated, small):  # the last two: the plate is complete, exit status 0
        shutil.copy(plate_dir / "images" / p.name, p)
    proc = score(plate_copy, bundle_path, out, "--resume")
    assert proc.returncode == 0, proc.stderr
    assert "12 frames done, 0 failed" in proc.stdout and "exit status" not in proc.stderr


def test_layout_not_matching_plate_stops_before_writing(plate_dir, bundle_path, tmp_path, user_error):
    layout = pd.read_csv(plate_dir / "layout.csv")
    layout["well"] = ["C01", "C02", "C03", "C04"]
    bad = tmp_path / "other_layout.csv"
    layout.to_csv(bad, index=False)
    out = tmp_path / "p.h5"
    proc = score(plate_dir, bundle_path, out, "--layout", bad)
    user_error(proc, str(bad), "not in the layout", "A01")
    assert not out.exists()


def test_bundle_for_other_classes_stops_before_writing(plate_dir, tmp_path, user_error):
    other = make_bundle(tmp_path / "autophagy.pt", classes=["alive", "autophagy"])
    out = tmp_path / "p.h5"
    proc = score(plate_dir, other, out)
    user_error(proc, str(other), "apoptosis", "autophagy")
    assert not out.exists()


def test_bundle_with_unknown_normalisation_stops_before_writing(plate_dir, tmp_path, user_error):
    odd = make_bundle(tmp_path / "odd.pt", normalization={"method": "zscore"})
    out = tmp_path / "p.h5"
    proc = score(plate_dir, odd, out)
    user_error(proc, str(odd), "bad crop normalisation", "zscore")
    assert not out.exists()


def test_resume_with_another_bundle_leaves_store_untouched(plate_dir, bundle_path, tmp_path, user_error):
    out = tmp_path / "p.h5"
    # a store scored from a one-timepoint subset
    sub = tmp_path / "sub"
    shutil.copytree(plate_dir, sub, ignore=shutil.ignore_patterns("*04h00m.tif", "*08h00m.tif"))
    assert score(sub, bundle_path, out).returncode == 0
    before = out.read_bytes()
    other = make_bundle(tmp_path / "other.pt", seed=1)
    proc = score(plate_dir, other, out, "--resume")
    user_error(proc, str(other), "another model bundle")
    assert out.read_bytes() == before


def test_corrupt_bundle_and_bad_store_are_one_line_errors(plate_dir, tmp_path, user_error):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a bundle")
    proc = score(plate_dir, bad, tmp_path / "p.h5")
    user_error(proc, str(bad))
    assert not (tmp_path / "p.h5").exists()
    not_store = tmp_path / "x.h5"
    not_store.write_bytes(b"garbage")
    proc = run_command([*CMD, "export", str(not_store), "--out", str(tmp_path / "e")], capture_output=True,
                          text=True, timeout=120)
    user_error(proc, str(not_store))


def test_path_mistakes_fail_before_torch_loads(plate_dir, bundle_path, tmp_path):
    """A missing bundle, confusion file or acquisition is refused before torch is imported (in ~1 s, not ~10)."""
    probe = (
        "import sys\n"
        "from ferroscreen.errors import FerroscreenError\n"
        "from ferroscreen.score.runner import score_plate\n"
        "try:\n"
        "    score_plate(*sys.argv[1:4], confusion_file=sys.argv[4] if len(sys.argv) > 4 else None)\n"
        "except FerroscreenError as exc:\n"
        "    print(exc)\n"
        "print('torch' in sys.modules, 'pytorch_lightning' in sys.modules)\n"
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{oops")
    cases = [
        ((plate_dir, tmp_path / "none.pt", tmp_path / "a.h5"), "model bundle not found"),
        ((plate_dir, bundle_path, tmp_path / "a.h5", tmp_path / "none.json"), "confusion file not found"),
        ((plate_dir, bundle_path, tmp_path / "a.h5", broken), "not a JSON file"),
        ((tmp_path / "no_plate", bundle_path, tmp_path / "a.h5"), "no_plate"),
    ]
    for args, fragment in cases:
        proc = run_command([sys.executable, "-c", probe, *map(str, args)], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        message, imported = proc.stdout.strip().splitlines()
        assert fragment in message, message
        assert imported == "False False", (message, imported)
    assert not (tmp_path / "a.h5").exists()


def test_truncated_or_damaged_store_is_a_one_line_error_not_a_hang(plate_dir, bundle_path, tmp_path, user_error):
    """A store cut short is refused at once (an SWMR read would retry for minutes); a missing group is named."""
    store = tmp_path / "p.h5"
    assert score(plate_dir, bundle_path, store).returncode == 0
    data = store.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    proc = run_command([*CMD, "export", str(cut), "--out", str(tmp_path / "e")], capture_output=True, text=True,
                          timeout=60)
    user_error(proc, str(cut), "truncated HDF5 score store")
    damaged = tmp_path / "damaged.h5"
    shutil.copy(store, damaged)
    with h5py.File(damaged, "a") as f:
        del f["cells"]
    proc = run_command([*CMD, "overlay", str(damaged), "--wells", "A01", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=60)
    user_error(proc, str(damaged), "damaged score store: '/cells' is missing")
    assert not (tmp_path / "e").exists() and not (tmp_path / "o").exists()


@pytest.mark.parametrize(("options", "fragment"), [
    (["--devices", "0"], "--devices must be a number >= 1, not 0"),
    (["--batch-size", "0"], "--batch-size must be a number >= 1, not 0"),
    (["--watch", "--poll-s", "-1"], "--poll-s must be a number >= 0, not -1"),
    (["--accelerator", "tpu"], "--accelerator must be cpu, gpu or auto, not 'tpu'"),
])
def test_run_settings_are_refused_before_a_store_is_written(plate_dir, bundle_path, tmp_path, cli, user_error,
                                                            options, fragment):
    """Refused late, these left a store behind whose rerun then needed --resume."""
    out = tmp_path / "p.h5"
    user_error(cli("score", plate_dir, "--model", bundle_path, "--out", out, *options), fragment)
    assert list(tmp_path.iterdir()) == []


def test_layout_naming_another_plate_is_said(plate_dir, bundle_path, tmp_path):
    """A one-plate layout fits any plate, but one whose plate_id names another plate gets a note."""
    layout = pd.read_csv(plate_dir / "layout.csv")
    plate = str(layout["plate_id"].iloc[0])
    assert plate == "VID1"  # the simulator's IncuCyte vessel
    other = tmp_path / "vessel.csv"
    layout.assign(plate_id="VID7").to_csv(other, index=False)
    proc = score(plate_dir, bundle_path, tmp_path / "p.h5", "--layout", other)
    assert proc.returncode == 0, proc.stderr
    assert "its one plate is named 'VID7', yet it is applied to data plate(s) VID1" in " ".join(proc.stderr.split())


def test_a_second_score_into_one_store_stops_at_once(plate_dir, bundle_path, tmp_path):
    """Two runs into one --out wrote the same journals and hung for good; the second now stops, the first's
    lock goes with it, and a killed run leaves none behind."""
    from ferroscreen.score import score_plate
    from ferroscreen.score.store_lock import lock_path, store_lock

    out = tmp_path / "p.h5"
    with store_lock(out):
        assert lock_path(out).read_text() == str(os.getpid())
        with pytest.raises(StoreError, match=rf"p\.h5: another score is writing it \(pid {os.getpid()}\)"):
            score_plate(plate_dir, bundle_path, out)
    assert not lock_path(out).exists() and not out.exists()
    lock_path(out).write_text("12345")  # left by a killed run: flock is gone with its process
    proc = score(plate_dir, bundle_path, out)
    assert proc.returncode == 0, proc.stderr
    assert not lock_path(out).exists()


def test_resume_with_another_experiment_of_the_same_names_is_refused(plate_dir, bundle_path, tmp_path, user_error):
    """IncuCyte's default VID1 and its well/field/time file names: another experiment looks the same by name,
    and a resume from it mixed two plates in one store; the same plate moved elsewhere still resumes."""
    out = tmp_path / "p.h5"
    sub = tmp_path / "sub"
    shutil.copytree(plate_dir, sub, ignore=shutil.ignore_patterns("*08h00m.tif"))
    assert score(sub, bundle_path, out).returncode == 0
    other = tmp_path / "other"
    shutil.copytree(plate_dir, other)
    first = sorted((other / "images").glob("*00h00m.tif"))[0]
    tifffile.imwrite(first, np.zeros((128, 128), np.uint16))  # another experiment's image under the same name
    before = out.read_bytes()
    user_error(score(other, bundle_path, out, "--resume"), str(out), f"was scored from {sub.resolve()}",
               "is another acquisition (1 of the store's 8 scored frames are not its files)")
    assert out.read_bytes() == before
    moved = tmp_path / "moved"
    shutil.copytree(plate_dir, moved)  # the plate's own files, all times, in another place
    for f in (moved / "images").glob("*.tif"):  # copied without their time stamps (cp -r): not re-exports
        os.utime(f, (f.stat().st_atime, f.stat().st_mtime - 3600))
    proc = score(moved, bundle_path, out, "--resume")
    assert proc.returncode == 0, proc.stderr
    assert f"was scored from {sub.resolve()}; its frames are in {moved} (moved)" in proc.stderr
    assert "4 frames scored" in proc.stdout and "scored frame(s) again" not in proc.stderr


@pytest.mark.parametrize(("raised", "code", "said"), [
    (RuntimeError("DataLoader worker (pid 6480) is killed by signal: Killed. "), 2,
     "error: p.h5: DataLoader worker (pid 6480) is killed by signal: Killed (out of memory? fewer --workers or a "
     "smaller --batch-size need less); `ferroscreen score plate --model m.pt --out p.h5 --resume` continues"),
    (KeyboardInterrupt(), 130, "interrupted: p.h5 and its journals keep the frames scored so far; `ferroscreen "
                               "score plate --model m.pt --out p.h5 --resume` continues"),
    (KeyboardInterrupt(), 130, "interrupted before a frame was saved to p.h5"),
])
def test_a_run_stopped_midway_says_how_to_continue(run_main, monkeypatch, tmp_path, raised, code, said):
    """A worker killed for memory was a 112-line traceback; Ctrl-C said nothing of --resume."""
    import ferroscreen.score.runner as runner

    monkeypatch.chdir(tmp_path)

    def stopped(*args, **kwargs):
        if "journals" in said:
            (tmp_path / "p.h5.parts").mkdir()
            (tmp_path / "p.h5.parts" / "rank-00000.h5").write_bytes(b"")
        raise raised

    monkeypatch.setattr(runner, "score_plate", stopped)
    got, _, err = run_main("score", "plate", "--model", "m.pt", "--out", "p.h5")
    assert got == code and err.strip() == said


def test_imaged_wells_the_layout_leaves_out_are_scored_with_a_note(plate_dir, bundle_path, tmp_path):
    """A plate imaged whole, its layout listing the wells in use: scoring went no further than an error."""
    layout = pd.read_csv(plate_dir / "layout.csv")
    partial = tmp_path / "used_wells.csv"
    layout[layout["well"] != "B02"].to_csv(partial, index=False)
    out = tmp_path / "p.h5"
    proc = score(plate_dir, bundle_path, out, "--layout", partial)
    assert proc.returncode == 0, proc.stderr
    assert f"note: {partial}: 1 imaged well(s) are not in the layout (B02): scored, in no curve" in proc.stderr
    assert (read_store(out).frames["well"] == "B02").sum() == 3


def test_a_folder_that_takes_no_file_is_said_before_any_work(tmp_path, monkeypatch):
    """A read-only --out folder gave HDF5's own message naming a temporary file, after the whole plate was read."""
    import ferroscreen.score.store_lock as store_lock

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store_lock.os, "open", refused)
    with pytest.raises(StoreError, match=rf"p\.h5: cannot write in {re.escape(str(tmp_path.resolve()))} "
                                         rf"\(Permission denied\)"):
        with store_lock.store_lock(tmp_path / "p.h5"):
            pass


def test_a_folder_as_out_is_named_as_such(plate_dir, bundle_path, tmp_path):
    from ferroscreen.score import score_plate

    (tmp_path / "results").mkdir()
    with pytest.raises(StoreError, match=r"results: is a folder; --out names the store file to write, e\.g\. .*"
                                         r"results/plate\.h5"):
        score_plate(plate_dir, bundle_path, tmp_path / "results", resume=True)
