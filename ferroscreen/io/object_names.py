"""Which of the objects an image-analysis export counts are the nuclei (CellProfiler objects, Harmony populations)."""

from __future__ import annotations

import re

from ferroscreen.errors import AcquisitionError

__all__ = ["pick_nuclei"]

_NUCLEAR = re.compile(r"nucle|dna|hoechst|dapi|draq", re.I)


def pick_nuclei(counted: list[str], wanted: str | None, source, what: str = "objects") -> str:
    """The name among ``counted`` that holds the nuclei.

    ``wanted`` (case-insensitive) when given; else ``Nuclei``, else the only name, else the one
    name that reads like a nuclear stain (``DNA``, ``Hoechst``, ``DAPI``...).

    Raises:
        AcquisitionError: ``wanted`` is not counted, or no single name can be chosen (the message
            lists the names and asks for ``--objects``).
    """
    if wanted is not None:
        match = [o for o in counted if o.lower() == wanted.lower()]
        if not match:
            raise AcquisitionError(f"{source}: no {what} named '{wanted}' are counted ({what}: {', '.join(counted)})")
        return match[0]
    for pick in ([o for o in counted if o.lower() == "nuclei"], counted if len(counted) == 1 else [],
                 [o for o in counted if _NUCLEAR.search(o)]):
        if len(pick) == 1:
            return pick[0]
    raise AcquisitionError(f"{source}: several {what} are counted ({', '.join(counted)}); name the nuclei with "
                           f"--objects")
