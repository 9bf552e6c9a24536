"""A full disk while scoring: one line naming the file, no crash, and ``--resume`` continues.

A failed write is made portably with a file size limit (``RLIMIT_FSIZE``: writes past it fail with
EFBIG, as HDF5 sees a full disk); where the tests run as root, a tiny tmpfs gives a real ENOSPC.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from . import test_score_cli
from .test_score_cli import cells_by_frame_key, comparable_wells, run, score_cmd

reference = test_score_cli.reference  # the module's scored store, as a fixture here

LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
{patch}
sys.argv = ["ferroscreen", *sys.argv[2:]]
from ferroscreen.cli import main
main()
"""
#: Skip the free-space check before a commit, so that the write itself fails (quota, a size limit).
NO_CHECK = "import ferroscreen.score.shard as s; s.require_space = lambda path, n: None"


def _limited(limit: int, *args, patch: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LIMITED.format(patch=patch), str(limit), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_a_failed_journal_write_is_one_line_and_resume_continues(reference, plate_dir, bundle_path, tmp_path):
    out = tmp_path / "p.h5"
    size = reference.stat().st_size
    proc = _limited(size + 60_000, *score_cmd(plate_dir, bundle_path, out)[3:], patch=NO_CHECK)
    assert proc.returncode == 2, proc.stderr[-2000:]  # not a segfault (-11 / 139)
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: {out}.parts/rank-00000.h5: file too large while scoring {out}; "), lines
    assert "--resume` continues" in lines[-1]
    assert "Traceback" not in proc.stderr and "dealloc" not in proc.stderr
    run(score_cmd(plate_dir, bundle_path, out, "--resume"), timeout=240)
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))
    pd.testing.assert_frame_equal(cells_by_frame_key(out), cells_by_frame_key(reference))


def _tiny_disk(path: Path, kib: int) -> Path:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(path)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    return path


@pytest.fixture()
def tiny_disk(tmp_path):
    disk = _tiny_disk(tmp_path / "tiny", 200)
    yield disk
    subprocess.run(["umount", str(disk)], check=False)


def test_no_space_left_names_the_file(reference, plate_dir, bundle_path, tiny_disk, tmp_path):
    free = os.statvfs(tiny_disk).f_bavail * os.statvfs(tiny_disk).f_frsize
    (tiny_disk / "filler").write_bytes(b"\0" * max(0, free - 20_000))
    out = tiny_disk / "p.h5"
    proc = subprocess.run(score_cmd(plate_dir, bundle_path, out), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {out}") and "no space left on device" in last, last
    assert "Traceback" not in proc.stderr
    free = os.statvfs(tiny_disk).f_bavail * os.statvfs(tiny_disk).f_frsize
    (tiny_disk / "filler2").write_bytes(b"\0" * free)  # full
    exported = subprocess.run([sys.executable, "-m", "ferroscreen.cli", "export", str(reference), "--out",
                               str(tiny_disk / "exp"), "--gallery", "0", "--compound-gallery", "0"],
                              capture_output=True, text=True, timeout=120)
    assert exported.returncode == 2
    assert exported.stderr.strip() == f"error: {tiny_disk / 'exp' / 'wells.csv'}: No space left on device"
    assert "->" not in exported.stdout
    assert not [p.name for p in (tiny_disk / "exp").iterdir()]  # no temporary file left behind


def test_no_space_for_the_store_copy_on_resume(reference, plate_dir, bundle_path, tiny_disk):
    """--resume rewrites the store beside it (a copy renamed over it): no room for the copy is one line."""
    out = tiny_disk / "p.h5"
    shutil.copy(reference, out)
    free = os.statvfs(tiny_disk).f_bavail * os.statvfs(tiny_disk).f_frsize
    (tiny_disk / "filler").write_bytes(b"\0" * max(0, free - 30_000))
    proc = subprocess.run(score_cmd(plate_dir, bundle_path, out, "--resume"), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {out}: no space left on device; free some space")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not list(tiny_disk.glob(".p.h5.tmp-*"))


@pytest.mark.parametrize("fraction", [0.3, pytest.param(0.7, marks=pytest.mark.slow)])  # 0.7: the same path later
def test_a_store_copy_failing_partway_is_one_line_and_leaves_the_store(reference, plate_dir, bundle_path, tmp_path,
                                                                      fraction):
    """A quota or size limit the free-space check cannot see: the copy fails mid-write, without a crash."""
    out = tmp_path / "p.h5"
    shutil.copy(reference, out)
    before = out.read_bytes()
    patch = "import ferroscreen.score.store as st; st.require_space = lambda path, n: None"
    proc = _limited(int(len(before) * fraction), *score_cmd(plate_dir, bundle_path, out, "--resume")[3:], patch=patch)
    assert proc.returncode == 2, proc.stderr[-2000:]  # not a segfault (-11 / 139)
    assert "dealloc" not in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {out}: file too large"), proc.stderr[-500:]
    assert out.read_bytes() == before and not list(tmp_path.glob(".p.h5.tmp-*"))


def test_export_writes_wells_csv_and_its_record_together_or_neither(reference, tmp_path, monkeypatch):
    import errno

    import ferroscreen.score.export as export

    out = tmp_path / "exp"
    export.export_wells(reference, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"wells.csv", "export.json"}

    def full(path, value):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export, "write_json", full)
    with pytest.raises(OSError, match="export.json"):
        export.export_wells(reference, out, fractions="frac")  # another wells.csv, then its record fails
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # was: the new wells.csv beside the old record
