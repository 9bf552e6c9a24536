"""ferroscreen.allocator: glibc keeps frame-sized blocks on the heap after keep_freed_memory()."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = r"""
import resource, sys
import numpy as np
from ferroscreen.allocator import keep_freed_memory
if sys.argv[1] == "1":
    assert keep_freed_memory() and keep_freed_memory()  # idempotent
def churn():
    for _ in range(50):
        a = np.ones(1 << 18, np.float32)  # 1 MiB: above glibc's default mmap threshold
        a += 1
churn()  # warm-up: the first round maps the heap in either case
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_frame_sized_blocks_stop_faulting_in_fresh_pages():
    def faults(apply: str) -> int:
        out = subprocess.run([sys.executable, "-c", CODE, apply], capture_output=True, text=True, check=True)
        return int(out.stdout.strip())

    default, kept = faults("0"), faults("1")
    assert kept < 50 < default  # by default glibc gives the freed pages back and faults them in again (~480 here)
