"""How many CPUs this process may use (no heavy imports: ``simulate`` and ``score`` share it)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """CPUs this process may run on (a SLURM or cgroup allotment, not the whole node).

    The CPUs of its affinity mask; ``SLURM_CPUS_PER_TASK`` when that is set and smaller (a SLURM
    without CPU binding leaves the mask at the whole node). A value that is not a positive whole
    number is ignored.
    """
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cores = max(1, os.cpu_count() or 1)
    try:
        allotted = int(os.environ.get("SLURM_CPUS_PER_TASK", ""))
    except ValueError:
        return cores
    return min(cores, allotted) if allotted > 0 else cores
