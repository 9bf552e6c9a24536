"""What a stopped `score --watch` tells the lab: why it stopped, and how to continue.

A duplicate copy of a scan landing in ``images/backup/`` makes every rescan fail ("... remove one"): the
watch cannot see what lands after it (a real new scan here), so stopping with "no new frames" and exit 0
would leave that scan unscored without a word. A watch stopped by Ctrl-C or SIGTERM names the command that
continues it, with the watch options it was given.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from ferroscreen.score import DONE, read_store

from .test_score_cli import score_cmd

pytestmark = pytest.mark.timeout(240)


def test_a_watch_that_cannot_reread_its_folder_stops_with_an_error(plate_dir, bundle_path, tmp_path):
    src = tmp_path / "plate"
    shutil.copytree(plate_dir, src, ignore=shutil.ignore_patterns("*_00d08h00m.tif"))  # the 8 h scan lands later
    out = tmp_path / "w.h5"
    proc = subprocess.Popen(score_cmd(src, bundle_path, out, "--watch", "--poll-s", "0.5", "--idle-exit-s", "4"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (out.exists() and (read_store(out).frames["status"] == DONE).all()):
            time.sleep(0.3)
        assert out.exists() and (read_store(out).frames["status"] == DONE).all()
        (src / "images" / "backup").mkdir()
        for p in (src / "images").glob("*_00d00h00m.tif"):  # a copy of scan 0: the folder cannot be read
            shutil.copy(p, src / "images" / "backup" / p.name)
        for p in (plate_dir / "images").glob("*_00d08h00m.tif"):  # the scan that is never seen
            shutil.copy(p, src / "images" / p.name)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert "rescan failed" in stderr and "remove one" in stderr
    assert proc.returncode == 2, stderr
    assert "no new frames" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {src}: stopped watching: the folder could not be read since "), last
    assert "remove one" in last and "--resume --watch" in last
    assert len(read_store(out).frames) == 8  # the stopped watch left the store readable, as it was


@pytest.mark.parametrize(("given", "hint"), [
    ((), "--resume --watch`"),
    (("--poll-s", "300", "--idle-exit-s", "14400", "--settle-s", "30"),
     "--resume --watch --poll-s 300 --idle-exit-s 14400 --settle-s 30`"),
    (("--idle-exit-s", "7200.5"), "--resume --watch --idle-exit-s 7200.5`"),
])
def test_a_stopped_watch_repeats_its_watch_options_in_the_resume_hint(run_main, monkeypatch, tmp_path, given, hint):
    import ferroscreen.score.runner as runner

    monkeypatch.chdir(tmp_path)

    def stopped(*args, **kwargs):
        (tmp_path / "p.h5").write_bytes(b"")
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "score_plate", stopped)
    got, _, err = run_main("score", "plate", "--model", "m.pt", "--out", "p.h5", "--watch", *given)
    assert got == 130
    assert err.strip() == ("interrupted: p.h5 and its journals keep the frames scored so far; `ferroscreen score "
                           f"plate --model m.pt --out p.h5 {hint} continues")
