"""``simulate``'s default worker count follows the CPUs a job may use, not the node's count.

The reported case: ``min(os.cpu_count(), 8)`` workers, whatever the affinity mask (a cgroup or
``taskset`` allotment) or ``SLURM_CPUS_PER_TASK`` said: 8 processes on a 2-CPU SLURM task.
"""

from __future__ import annotations

import os

import pytest

from ferroscreen.simulate import plate_writer
from ferroscreen.simulate.config import SimulationConfig


@pytest.fixture()
def node_of_64(monkeypatch):
    """A 64-core node whose affinity mask gives this process 16 of them (set ``SLURM_CPUS_PER_TASK`` as needed)."""
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    return monkeypatch


def _pools(monkeypatch, config: SimulationConfig, n_jobs: int = 20) -> list[int]:
    """The worker counts of the process pools :func:`plate_writer._simulate_wells` starts (none: [])."""
    made = []

    class Pool:
        def __init__(self, workers, mp_context=None):
            made.append(workers)

        def map(self, fn, jobs, chunksize=1):
            return map(fn, jobs)

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    monkeypatch.setattr(plate_writer, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(plate_writer, "simulate_well", lambda job: {"job": job})
    assert len(plate_writer._simulate_wells(list(range(n_jobs)), config, progress=False)) == n_jobs
    return made


@pytest.mark.parametrize(("slurm", "pools"), [("3", [3]), ("1", []), (None, [8]), ("0", [8]), ("lots", [8])])
def test_default_workers_are_the_cpus_allotted(node_of_64, slurm, pools):
    if slurm is not None:
        node_of_64.setenv("SLURM_CPUS_PER_TASK", slurm)
    assert _pools(node_of_64, SimulationConfig()) == pools


def test_the_affinity_mask_caps_the_default_workers(node_of_64):
    node_of_64.setattr(os, "sched_getaffinity", lambda pid: {0, 5})
    assert _pools(node_of_64, SimulationConfig()) == [2]
    assert _pools(node_of_64, SimulationConfig(workers=6)) == [6]  # --workers as asked


@pytest.mark.parametrize("slurm", [None, "3", "40", "x"])
def test_the_rule_is_scorings(node_of_64, slurm):
    """The same count as ``score`` takes (:func:`ferroscreen.models.int8.usable_cores`, which imports torch)."""
    from ferroscreen.models.int8 import usable_cores

    if slurm is not None:
        node_of_64.setenv("SLURM_CPUS_PER_TASK", slurm)
    assert plate_writer.usable_cores() == usable_cores()
