"""A spawned scoring rank ends with its parent (``kill -9`` of a ``score --devices N`` main process).

Was: the ``ddp_spawn`` ranks kept scoring and writing journals after the main process, which held
the store lock, had been killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from ferroscreen.score.orphans import end_with_parent

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")]

PARENT = """
import multiprocessing as mp, sys, time

def rank(guard):
    if guard:
        from ferroscreen.score.orphans import end_with_parent
        assert end_with_parent()
    time.sleep(120)

if __name__ == "__main__":
    p = mp.get_context("spawn").Process(target=rank, args=(sys.argv[1] == "1",))
    p.start()
    print(p.pid, flush=True)
    time.sleep(120)
"""


def _orphan_survives(tmp_path, guard: bool) -> bool:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script), "1" if guard else "0"], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    time.sleep(3.0 if guard else 0.5)  # the child has imported ferroscreen and asked for the signal
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    try:
        child.wait(timeout=10)
        return False
    except psutil.TimeoutExpired:
        child.kill()
        return True


def test_a_guarded_rank_dies_with_its_killed_parent_and_an_unguarded_one_would_not(tmp_path):
    assert not _orphan_survives(tmp_path, guard=True)
    assert _orphan_survives(tmp_path, guard=False)  # what the guard changes


def test_the_main_process_is_left_alone():
    assert end_with_parent() is False  # not a spawned child: nothing set
    assert os.getpid() > 0


def test_the_journal_writer_guards_ranks_of_a_multi_process_run(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from ferroscreen.score import writer as writer_module

    calls: list[int] = []
    monkeypatch.setattr(writer_module, "end_with_parent", lambda: calls.append(1) or True)
    w = writer_module.JournalWriter(tmp_path, 2)
    w.on_predict_start(SimpleNamespace(world_size=1, global_rank=0), None)
    w.journal.close()
    assert calls == []
    w.on_predict_start(SimpleNamespace(world_size=2, global_rank=1), None)
    w.journal.close()
    assert calls == [1]
