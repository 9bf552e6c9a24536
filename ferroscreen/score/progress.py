"""Progress for a log file: plain lines, no carriage returns or terminal codes (``score``; ``segment``).

A SLURM job, ``nohup`` or ``2> log`` has no terminal to redraw a bar on; :class:`ProgressLines`
prints a line such as ``progress: 120/672 frames (18%), 3.20 frames/s, 0:00:37 elapsed, ETA 0:02:52``
every
:data:`EVERY_S` seconds or each :data:`STEP` of the frames, whichever comes first, but never within
:data:`MIN_GAP_S` of the line before (a short run says little).
"""

from __future__ import annotations

import sys
import time

from ferroscreen.clock import clock

__all__ = ["EVERY_S", "MIN_GAP_S", "STEP", "ProgressLines"]

#: Seconds between lines at most, while frames are being scored.
EVERY_S = 60.0
#: A line each time this fraction of the frames more is done.
STEP = 0.1
#: Seconds between lines at least.
MIN_GAP_S = 5.0


class ProgressLines:
    """Counts frames done and writes a progress line to stderr when one is due (see the module docstring).

    Picklable: a spawned rank 0 of a ``--devices N`` run reports its own share of the frames
    (``label`` says so), written to its stderr, which is the run's.

    Args:
        total: Frames to score (this process's share); may be set later (``segment`` learns it with the
            first image).
        label: Said after ``progress`` (e.g. ``rank 0 of 2``); none when empty.
        every_s, step, min_gap_s: Default :data:`EVERY_S`, :data:`STEP`, :data:`MIN_GAP_S` (as they are when made).
        unit: What is counted, plural, as in ``120/672 frames, 3.20 frames/s`` (``segment``: ``images``).
    """

    def __init__(self, total: int, label: str = "", every_s: float | None = None, step: float | None = None,
                 min_gap_s: float | None = None, unit: str = "frames") -> None:
        self.total = max(0, int(total))
        self.label = label
        self.unit = unit
        self.every_s = EVERY_S if every_s is None else float(every_s)
        self.step = STEP if step is None else float(step)
        self.min_gap_s = MIN_GAP_S if min_gap_s is None else float(min_gap_s)
        self.done = 0
        self.start = time.monotonic()
        self.last_line = self.start
        self.last_done = 0

    def update(self, n: int = 1) -> None:
        """Count ``n`` frames more done; write a line when one is due."""
        self.done += int(n)
        now = time.monotonic()
        since = now - self.last_line
        if since < self.min_gap_s:
            return
        stepped = self.total and (self.done - self.last_done) >= self.step * self.total
        if since >= self.every_s or stepped:
            self.last_line, self.last_done = now, self.done
            self._write(self.line(now))

    def line(self, now: float | None = None) -> str:
        """The progress line as of ``now`` (monotonic seconds; default: now)."""
        elapsed = (time.monotonic() if now is None else now) - self.start
        rate = self.done / elapsed if elapsed > 0 else float("nan")
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        label = f" ({self.label})" if self.label else ""
        return (f"progress{label}: {self.done}/{self.total} {self.unit}{share}, {rate:.2f} {self.unit}/s, "
                f"{clock(elapsed)} elapsed, ETA {clock(left)}")

    @staticmethod
    def _write(line: str) -> None:
        print(line, file=sys.stderr, flush=True)
