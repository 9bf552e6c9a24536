"""`score --watch` started before the imager's first scan: it waits for the first images, then watches.

A lab starts the watch when the experiment starts, on a plate folder that is still empty (or holds a
layout only). The watch waits for image data (polling every ``--poll-s``, for up to ``--idle-exit-s``)
instead of failing with "no known acquisition layout"; a folder whose images are there but cannot be
read, and every other input mistake, still fails at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from ferroscreen.errors import AcquisitionError, FerroscreenError, ModelBundleError
from ferroscreen.score.first_scan import image_files, open_first_scan
from ferroscreen.score.runner import score_plate
from ferroscreen.score.store_lock import lock_path

from ..cli_process import run_command
from .test_score_cli import score_cmd

pytestmark = pytest.mark.timeout(240)

WAITING = "no images yet; waiting for the first scan"


def land_later(plate_dir: Path, dst: Path, delay_s: float = 1.0) -> threading.Thread:
    """A started thread that, after ``delay_s``, copies ``plate_dir``'s layout.csv and then its images into ``dst``.

    Each image is copied under a temporary name (``~NAME``) and renamed, as transfer tools do.
    """
    def copy() -> None:
        time.sleep(delay_s)
        shutil.copy(plate_dir / "layout.csv", dst / "layout.csv")
        (dst / "images").mkdir()
        for p in sorted((plate_dir / "images").glob("*.tif")):
            shutil.copy(p, dst / "images" / ("~" + p.name))
            os.replace(dst / "images" / ("~" + p.name), dst / "images" / p.name)

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


def test_open_first_scan_waits_for_images_that_land(plate_dir, tmp_path):
    empty = tmp_path / "plate"
    empty.mkdir()
    lines: list[str] = []
    checked: list[bool] = []
    thread = land_later(plate_dir, empty)
    t0 = time.monotonic()
    acq = open_first_scan(empty, None, 1.0, True, 0.2, 30.0, lines.append, lambda: checked.append(True))
    thread.join()
    assert 0.9 < time.monotonic() - t0 < 20
    assert acq.format == "incucyte" and len(acq.frames) >= 1
    assert checked == [True]  # the other inputs are checked before waiting
    assert lines == [f"{empty}: {WAITING} (a poll every 0.2 s, for up to 30 s)"]


def test_score_watch_on_an_empty_folder_scores_the_plate_once_it_lands(plate_dir, bundle_path, tmp_path):
    empty = tmp_path / "plate"
    empty.mkdir()
    out = tmp_path / "p.h5"
    lines: list[str] = []
    thread = land_later(plate_dir, empty)
    s = score_plate(empty, bundle_path, out, watch=True, poll_s=0.3, idle_exit_s=3.0, settle_s=0.0, workers=0,
                    batch_size=8, precision="32", log=lines.append)
    thread.join()
    assert sum(WAITING in line for line in lines) == 1, lines
    assert (s["done"], s["failed"], s["pending"]) == (12, 0, 0), (s, lines)
    assert out.exists() and not lock_path(out).exists()


def test_an_empty_folder_is_given_up_after_idle_exit_s(bundle_path, tmp_path):
    empty = tmp_path / "plate"
    empty.mkdir()
    (empty / "layout.csv").write_text("well,treatment\nA01,DMSO\n")
    (empty / ".DS_Store").write_bytes(b"\0")  # hidden and temporary files are no images
    (empty / "~VID1_phase_A1_1_00d00h00m.tif").write_bytes(b"\0")
    (empty / "VID1_phase_A2_1_00d00h00m.tif.part").write_bytes(b"\0")
    out = tmp_path / "p.h5"
    lines: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(AcquisitionError) as exc:
        score_plate(empty, bundle_path, out, watch=True, poll_s=0.2, idle_exit_s=1.0, log=lines.append)
    assert time.monotonic() - t0 >= 1.0
    message = str(exc.value)
    assert message.startswith(f"{empty}: no known acquisition layout found") and len(message.splitlines()) == 1
    assert message.endswith("no images after waiting 1 s")
    assert sum(WAITING in line for line in lines) == 1, lines
    assert not out.exists() and not lock_path(out).exists()


def test_images_that_cannot_be_read_fail_at_once(bundle_path, tmp_path):
    folder = tmp_path / "plate"
    folder.mkdir()
    (folder / "snapshot.tif").write_bytes(b"\0")  # a name no reader knows: waiting will not fix it
    lines: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(AcquisitionError, match="no known acquisition layout found") as exc:
        score_plate(folder, bundle_path, tmp_path / "p.h5", watch=True, poll_s=5.0, idle_exit_s=30.0,
                    log=lines.append)
    assert time.monotonic() - t0 < 5.0
    assert "waiting" not in str(exc.value) and lines == []


@pytest.mark.parametrize("case", ["missing folder", "mistyped bundle", "unknown format", "bad pattern"])
def test_other_mistakes_fail_before_waiting(case, bundle_path, tmp_path):
    empty = tmp_path / "plate"
    empty.mkdir()
    acquisition, model, fmt = empty, bundle_path, None
    if case == "missing folder":
        acquisition = tmp_path / "none"
    elif case == "mistyped bundle":
        model = tmp_path / "none.pt"
    elif case == "unknown format":
        fmt = "incucite"
    else:
        fmt = "pattern:(?P<wel>\\w+)\\.tif"
    lines: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(FerroscreenError) as exc:
        score_plate(acquisition, model, tmp_path / "p.h5", watch=True, poll_s=5.0, idle_exit_s=30.0, fmt=fmt,
                    log=lines.append)
    assert time.monotonic() - t0 < 5.0
    assert lines == [] and "waiting" not in str(exc.value)
    if case == "mistyped bundle":
        assert isinstance(exc.value, ModelBundleError)


def test_a_broken_bundle_fails_before_waiting(tmp_path):
    empty = tmp_path / "plate"
    empty.mkdir()
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a bundle")
    lines: list[str] = []
    with pytest.raises(ModelBundleError):
        score_plate(empty, broken, tmp_path / "p.h5", watch=True, poll_s=5.0, idle_exit_s=30.0, log=lines.append)
    assert lines == []


def test_images_that_land_unreadable_fail_once_they_stop_changing(tmp_path):
    empty = tmp_path / "plate"
    empty.mkdir()

    def land() -> None:
        time.sleep(0.5)
        (empty / "snapshot.tif").write_bytes(b"\0")

    thread = threading.Thread(target=land, daemon=True)
    thread.start()
    t0 = time.monotonic()
    with pytest.raises(AcquisitionError, match="no known acquisition layout found") as exc:
        open_first_scan(empty, None, 1.0, True, 0.2, 30.0, lambda m: None)
    thread.join()
    assert time.monotonic() - t0 < 10
    assert "waiting" not in str(exc.value)


def test_image_files_counts_image_data_only(tmp_path):
    root = tmp_path / "acq"
    (root / "sub").mkdir(parents=True)
    for name in ("layout.csv", ".DS_Store", "._A1.tif", "~A1.tif", "A1.tif.part", "notes.txt", "Index.idx.xml"):
        (root / name).write_bytes(b"x")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "A1.tif").write_bytes(b"x")
    zarr = root / "plate.zarr"
    (zarr / "A" / "1" / "0" / "0").mkdir(parents=True)
    (zarr / "zarr.json").write_text("{}")
    (zarr / "A" / "1" / "0" / "zarr.json").write_text("{}")
    (zarr / "A" / "1" / "0" / "0" / ".zarray").write_text("{}")
    (zarr / "layout.csv").write_text("well\n")
    assert image_files(root) == ()  # a plate sized ahead of its scans: metadata only
    (zarr / "A" / "1" / "0" / "0" / "0.0.0.0.0").write_bytes(b"xx")
    (zarr / "A" / "1" / "0" / "1" / "c" / "0" / "0").mkdir(parents=True)  # v3, "/"-separated chunk keys
    (zarr / "A" / "1" / "0" / "1" / "c" / "0" / "0" / "0").write_bytes(b"x")
    (root / "sub" / "B2.TIFF").write_bytes(b"xyz")
    (root / "run.czi").write_bytes(b"x")
    found = image_files(root)
    assert [p for p, _, _ in found] == ["plate.zarr/A/1/0/0/0.0.0.0.0", "plate.zarr/A/1/0/1/c/0/0/0", "run.czi",
                                        "sub/B2.TIFF"]
    assert found[3][1] == 3
    assert len(image_files(root, limit=1)) == 1


def test_cli_watch_on_an_empty_folder_exits_with_one_error_line(bundle_path, tmp_path):
    empty = tmp_path / "plate"
    empty.mkdir()
    out = tmp_path / "p.h5"
    proc = run_command(score_cmd(empty, bundle_path, out, "--watch", "--poll-s", "0.5", "--idle-exit-s", "1"),
                       capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and str(empty) in errors[0] and "no images after waiting 1 s" in errors[0], lines
    assert sum(WAITING in line for line in lines) == 1, lines
    assert f"{empty}: {WAITING} (a poll every 0.5 s, for up to 1 s)" in lines
    assert not out.exists() and not lock_path(out).exists()
    assert not out.with_name(out.name + ".parts").exists()


def test_ctrl_c_while_waiting_leaves_nothing_behind(bundle_path, tmp_path):
    empty = tmp_path / "plate"
    empty.mkdir()
    out = tmp_path / "p.h5"
    # a run inherits an ignored SIGINT (an xdist worker's, or Lightning's after an earlier test's interruption)
    proc = subprocess.Popen(score_cmd(empty, bundle_path, out, "--watch", "--poll-s", "0.2", "--idle-exit-s", "120"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stderr.readline()
        assert WAITING in first, first
        assert lock_path(out).exists()  # held while waiting: a second run into this store stops at once
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"interrupted before a frame was saved to {out}" in err
    assert not out.exists() and not lock_path(out).exists()
