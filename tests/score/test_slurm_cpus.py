"""Threads and workers size to a SLURM task's CPUs (``--cpus-per-task``), not the whole node.

Was: only the affinity mask counted; a SLURM without CPU binding leaves it at every core of the node,
so a task given 4 CPUs on a 64-core node ran 8 workers and 64 threads.
"""

from __future__ import annotations

import pytest

from ferroscreen import cores
from ferroscreen.models import int8
from ferroscreen.score import runner


@pytest.fixture()
def node_of_16(monkeypatch):
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)


@pytest.mark.parametrize(("value", "cores"), [(None, 16), ("4", 4), ("16", 16), ("64", 16), ("0", 16), ("x", 16),
                                              ("", 16)])
def test_slurm_cpus_per_task_caps_the_usable_cores(node_of_16, monkeypatch, value, cores):
    if value is not None:
        monkeypatch.setenv("SLURM_CPUS_PER_TASK", value)
    assert int8.usable_cores() == cores


def test_default_workers_follow_the_task_cpus(node_of_16, monkeypatch):
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "4")
    assert runner.default_workers("32") == 4
    assert runner.default_workers("32", 2) == 2
    assert runner.default_workers("int8") == 1
