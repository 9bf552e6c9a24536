"""Which z plane of a z-stack acquisition a job reads.

Instruments number planes from the bottom of the stack; the frame table holds
them 0-based (Harmony ``PlaneID`` 1 and CellVoyager ``Z01`` are plane 0, as
``ferroscreen inspect`` lists them). Scoring, training and segmentation read
one plane of a site, never every plane as if each were another frame.

:func:`choose_plane` picks, in this order: the plane asked for; the only
plane; the plane the model was trained on (when the stack has it); the lowest.
When it picks one of several without being asked, it says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from ferroscreen.errors import AcquisitionError


def choose_plane(
    planes: Iterable[int],
    requested: int | None,
    source: str,
    trained: int | None = None,
) -> tuple[int, str | None]:
    """The z plane to read and, when it was chosen from several unasked, a note saying which and why.

    Args:
        planes: The z indices of the frames of the chosen channel.
        requested: ``--z-plane`` (0-based), or ``None``.
        source: What to name in messages (the acquisition folder).
        trained: The plane the model was trained on, when recorded.

    Raises:
        AcquisitionError: The requested plane is not in the stack.
    """
    zs = sorted({int(z) for z in planes})
    if not zs:
        raise AcquisitionError(f"{source}: no image frames found")
    listed = ", ".join(str(z) for z in zs)
    if requested is not None:
        if int(requested) in zs:
            return int(requested), None
        raise AcquisitionError(f"{source}: no z plane {int(requested)} (planes {listed}, numbered from 0)")
    if len(zs) == 1:
        return zs[0], None
    if trained is not None and int(trained) in zs:
        return int(trained), f"z plane {int(trained)} (the model was trained on it) of planes {listed}"
    return zs[0], f"z plane {zs[0]} (the lowest) of planes {listed}; --z-plane picks another"
