"""One run at a time writes into an output folder (:mod:`ferroscreen.output_set`).

The reported case: SLURM array tasks running ``export`` (or ``fit``) with one ``--out`` renamed the same
``.NAME.tmp`` files over each other: one run said it succeeded while the folder held one plate's
wells.csv and the other's galleries; the other failed on ``.galleries/g016.png.tmp: No such file or
directory``. A second run into a folder being written now stops at once, naming the folder and the pid.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys

import pytest

from ferroscreen.output_set import LOCK_NAME, NestedOutputSet, OutputFolderBusy, OutputSet

from .conftest import main_in_process

#: A process writing a set into ``argv[1]`` (``galleries/g001.png`` too); it commits when told on stdin.
HOLDER = """
import sys
from ferroscreen.output_set import NestedOutputSet
with NestedOutputSet(sys.argv[1]) as outputs:
    outputs.path("a.csv").write_text("holder a\\n")
    outputs.path("galleries/g001.png").write_bytes(b"holder png")
    print("writing", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""


@contextlib.contextmanager
def holder(folder):
    """A process writing into ``folder`` (its outputs staged, not committed) for the length of the block."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "writing\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def _finish(proc) -> None:
    out, _ = proc.communicate("go\n", timeout=30)
    assert proc.returncode == 0 and out == "committed\n"


def _staged(folder):
    """Every file under ``folder`` (hidden ones too): relative path -> bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _busy(folder, pid) -> str:
    return (f"{folder}: another ferroscreen run is writing into this folder (pid {pid}); wait for it to end, or "
            f"choose another --out")


def test_a_second_set_into_a_folder_being_written_stops_and_leaves_the_first_alone(tmp_path):
    folder = tmp_path / "out"
    late = NestedOutputSet(folder)
    late.__enter__()  # started before the folder was made: stopped at its first output
    with holder(folder) as proc:
        staged = _staged(folder)
        assert staged[LOCK_NAME] == str(proc.pid).encode()
        with pytest.raises(OutputFolderBusy) as refused:
            late.path("galleries/g001.png")
        assert str(refused.value) == _busy(folder, proc.pid)
        late.__exit__(OutputFolderBusy, refused.value, None)
        with pytest.raises(OutputFolderBusy, match=re.escape(_busy(folder, proc.pid))):
            with NestedOutputSet(folder):  # the folder there: stopped at once, before its work
                pass
        assert _staged(folder) == staged  # the first run's staged outputs untouched
        _finish(proc)
    assert _staged(folder) == {"a.csv": b"holder a\n", "galleries/g001.png": b"holder png"}


def test_a_killed_run_leaves_no_lock_that_blocks_the_next(tmp_path):
    folder = tmp_path / "out"
    with holder(folder) as proc:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert (folder / LOCK_NAME).read_text() == str(proc.pid)  # its file stays; its flock went with it
    with OutputSet(folder) as outputs:
        outputs.path("b.csv").write_text("next b\n")
        assert (folder / LOCK_NAME).read_text() == str(os.getpid())
    assert (folder / "b.csv").read_text() == "next b\n" and not (folder / LOCK_NAME).exists()


def _tidy_table(path):
    rows = ["curve,dose,response"]
    rows += [f"{c},{d:g},{1 / (1 + d / 1e-7):.4f}" for c in "AB" for d in (1e-9, 1e-8, 1e-7, 1e-6, 1e-5)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_fit_and_export_into_a_folder_another_run_writes_stop_in_one_line(tmp_path, monkeypatch, capsys):
    """fit and export (a NestedOutputSet) both go through the set: both refused, the other run's outputs intact."""
    from .score.test_export_all_or_nothing import _store

    table = _tidy_table(tmp_path / "tidy.csv")
    store = _store(tmp_path, "plate", ["RSL3"])
    folder = tmp_path / "shared"
    with holder(folder) as proc:
        staged = _staged(folder)
        for args in (["fit", table, "--out", folder], ["export", store, "--out", folder, "--compound-gallery", "2"]):
            code, stdout, err = main_in_process(args, monkeypatch, capsys)
            assert (code, err) == (2, f"error: {_busy(folder, proc.pid)}\n"), (args[0], code, err)
            assert _staged(folder) == staged
        _finish(proc)
    code, stdout, err = main_in_process(["fit", table, "--out", folder], monkeypatch, capsys)
    assert code == 0, err
    assert {"fits.csv", "a.csv"} <= set(_staged(folder)) and LOCK_NAME not in _staged(folder)


def test_a_set_whose_commit_fails_lets_the_folder_go(tmp_path):
    folder = tmp_path / "out"
    with pytest.raises(FileNotFoundError), OutputSet(folder) as outputs:
        outputs.path("a.csv")  # never written: the commit refuses
        outputs.path("b.csv").write_text("half a run\n")
    assert _staged(folder) == {}  # its temporaries and its lock gone: the next run goes ahead
    with OutputSet(folder) as outputs:
        outputs.path("b.csv").write_text("next b\n")
    assert _staged(folder) == {"b.csv": b"next b\n"}


def test_simulate_into_a_folder_another_run_writes_stops_before_touching_its_images(tmp_path, monkeypatch, capsys):
    """A second simulate deleted the first's staged images (.images.tmp) before its lock was asked for."""
    folder = tmp_path / "plate"
    with holder(folder) as proc:
        staging = folder / ".images.tmp"
        staging.mkdir()
        (staging / "VID1_phase_A1_1_00d00h00m.tif").write_bytes(b"the first run's image")
        staged = _staged(folder)
        code, _, err = main_in_process(["simulate", folder, "--wells", "A01", "--fields", "1", "--hours", "4",
                                        "--image-size", "64", "64", "--workers", "1"], monkeypatch, capsys)
        assert (code, err) == (2, f"error: {_busy(folder, proc.pid)}\n")
        assert _staged(folder) == staged
        _finish(proc)
