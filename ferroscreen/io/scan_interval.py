"""The hours between scans that carry no time stamp: the user's ``--interval-h``, never a guess.

Readers that number their scans (ImageXpress ``TimePoint_3``, a Harmony ``TimepointID``, a Gen5
kinetic read, scanR ``T00002``, CellVoyager ``T0002``, a ``--pattern`` ``timepoint`` group, OME
files and stores without times) place scans without a time stamp ``interval_h`` apart. There is no
default: a plate of more than one such scan is refused without ``--interval-h``
(:func:`unstamped_interval`), since a guessed hour would place every later scan of a 4-hourly plate
wrongly (0, 1, 2 h), silently. A plate of one scan needs none: it is at 0 h.

``interval_h`` is not given when it is ``None`` or NaN (:func:`interval_given`; ``score`` records
``null`` in its store's config, and a store written before that may hold NaN).
"""

from __future__ import annotations

import math

from ferroscreen.errors import AcquisitionError

__all__ = ["INTERVAL_ADVICE", "NoScanInterval", "interval_given", "unstamped_interval"]

#: How :class:`NoScanInterval`'s line ends.
INTERVAL_ADVICE = "give --interval-h H, the hours between scans"


class NoScanInterval(AcquisitionError):
    """A plate of several scans without time stamps, read without ``--interval-h``."""


def interval_given(interval_h: float | None) -> bool:
    """Whether ``interval_h`` was given: a number, not ``None`` or NaN."""
    return interval_h is not None and not math.isnan(float(interval_h))


def unstamped_interval(interval_h: float | None, n_scans: int, plate: str, what: str = "",
                       needed: bool | None = None) -> float:
    """The hours between ``plate``'s ``n_scans`` scans without time stamps: ``interval_h`` when given.

    Without it, a plate of one scan (or none) gets ``0.0`` (its scan is at 0 h whatever its number),
    unless ``needed`` says the step places it (one scan without a stamp beside stamped ones that give
    no interval of their own).

    Args:
        interval_h: The hours the user gave, or ``None``/NaN.
        n_scans: How many scans of the plate ``interval_h`` would place.
        plate: The plate, for the message.
        what: How the scans are numbered (``TimePoint_1-3``), said in brackets after the count.
        needed: Whether the step places a scan; default: more than one scan.

    Raises:
        NoScanInterval: Not given for more than one scan; one line naming the plate and the count and
            ending in :data:`INTERVAL_ADVICE` (:func:`~ferroscreen.io.detect.open_acquisition` puts the
            folder before it).
    """
    if interval_given(interval_h):
        return interval_h
    if not (n_scans > 1 if needed is None else needed):
        return 0.0
    said = f" ({what})" if what else ""
    raise NoScanInterval(f"plate {plate}: {n_scans} scans without time stamps{said}; {INTERVAL_ADVICE}")
