"""``segment`` as a batch job runs it: stderr a pipe or a log file, no terminal.

Was: the tqdm bar was drawn only on a terminal, so a 3-hour plate under SLURM or ``nohup`` wrote
nothing between its start and its summary. Now it writes ``score``'s plain progress lines
(:mod:`ferroscreen.score.progress`), counting images.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import tifffile

from .conftest import make_nuclei

#: ``ferroscreen`` with a progress line after every image (the minute and 10 % of a real run, shortened).
QUICK_LINES = ("import sys, ferroscreen.score.progress as p; p.EVERY_S, p.STEP, p.MIN_GAP_S = 1e9, 1e-6, 0.0; "
               "from ferroscreen.cli import main; sys.argv[0] = 'ferroscreen'; main()")

LINE = re.compile(r"^progress: (\d+)/(\d+) images \(\d+%\), [\d.]+ images/s, \d+:\d\d:\d\d elapsed, "
                  r"ETA (\d+:\d\d:\d\d|\?)$")


def test_segment_without_a_terminal_prints_plain_progress_lines(tiny_model_file, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(4):
        tifffile.imwrite(folder / f"f{i}.tif", make_nuclei(seed=i)[0])
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", QUICK_LINES, "segment", str(folder), "--model", str(tiny_model_file),
           "--out", str(out), "--diameter", "model"]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [m for m in map(LINE.match, proc.stderr.splitlines()) if m]
    assert [m.group(1) for m in lines] == ["1", "2", "3", "4"], proc.stderr
    assert {m.group(2) for m in lines} == {"4"}
    assert lines[-1].group(3) == "0:00:00"
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr
    assert "4 images, " in proc.stdout


def test_lines_follow_score_cadence_and_count_images(monkeypatch, capsys):
    """The callback gets ``(done, total)`` as the run counts them; lines come as ``score``'s do (not within the gap)."""
    from ferroscreen import cli
    from ferroscreen.score import progress as lines_module

    now = [100.0]
    monkeypatch.setattr(lines_module.time, "monotonic", lambda: now[0])
    with cli._image_progress("segmenting", lines=True) as progress:
        for done in range(1, 4):  # three images in 3 s, each a third of the run: within the 5 s gap
            now[0] += 1
            progress(done, 10)
        assert capsys.readouterr().err == ""
        now[0] += 3  # 6 s after the start, 40 % done
        progress(4, 10)
        assert capsys.readouterr().err == ("progress: 4/10 images (40%), 0.67 images/s, 0:00:06 elapsed, "
                                           "ETA 0:00:09\n")
    with cli._image_progress("detecting") as progress:  # detect: no lines (not asked for)
        now[0] += 100
        progress(5, 10)
    assert capsys.readouterr().err == ""


def test_segment_benchmark_prints_rounds_cpu_time_and_both_projections(tiny_model_file, tmp_path):
    """``benchmarks/segment_throughput.py``: a line per round as it ends; CPU-s beside wall; the 1.31 M Hoechst fields
    ``segment`` reads and the 4.2 M frames of the screen's count, each labelled (was: 4.2 M alone, wall time alone,
    nothing printed before the end)."""
    import json
    from pathlib import Path

    image = tmp_path / "field.tif"
    tifffile.imwrite(image, make_nuclei(shape=(128, 128), seed=3)[0])
    bench = Path(__file__).resolve().parents[2] / "benchmarks" / "segment_throughput.py"
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(bench), "--model", str(tiny_model_file), "--image", str(image),
                           "--frames", "2", "--threads", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rounds = [line for line in proc.stderr.splitlines() if line.startswith("round ")]
    assert [line.split(":")[0] for line in rounds] == ["round 1/2", "round 2/2"]
    assert all(re.search(r"total [\d.]+ s wall / [\d.]+ s CPU$", line) for line in rounds), rounds
    res = json.loads(out.read_text())
    cpu, wall = res["cpu_seconds_per_field"]["total"], res["seconds_per_field_wall"]["total"]
    assert 0 < cpu and 0 < wall
    fields, frames = res["projection"]["hoechst_fields"], res["projection"]["issue_frames"]
    assert (fields["n"], frames["n"]) == (213 * 384 * 16, 4_200_000)
    assert fields["cpu_core_days"] == pytest.approx(1_308_672 * cpu / 86400)
    assert fields["days_wall_one_process"] == pytest.approx(1_308_672 * wall / 86400)
    assert "Hoechst" in fields["what"] and "4.2 M" in frames["what"]
    assert re.search(r"^hoechst_fields \(1,308,672\): [\d.]+ days wall in one process, [\d.]+ CPU core-days; ",
                     proc.stdout, re.M)
    assert re.search(r"^issue_frames \(4,200,000\): ", proc.stdout, re.M)
    assert re.search(r"^per field: [\d.]+ s wall, [\d.]+ CPU-s ", proc.stdout, re.M)
