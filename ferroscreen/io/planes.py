"""Which z plane of a z-stack acquisition a job reads.

Instruments number planes from the bottom of the stack; the frame table holds
them 0-based (Harmony ``PlaneID`` 1 and CellVoyager ``Z01`` are plane 0, as
``ferroscreen inspect`` lists them). Scoring, training and segmentation read
one plane of a site, never every plane as if each were another frame.

:func:`choose_plane` picks, in this order: the plane asked for; the only
plane; the plane the model was trained on (when the stack has it); the lowest.
When it picks one of several without being asked, it says so.

Segmentation can also combine a site's planes (:data:`PROJECTIONS`):
``max``, the maximum-intensity projection, as fluorescence stacks are usually
reduced; ``best``, the plane in best focus, by :func:`focus_score`
(:func:`project_planes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ferroscreen.errors import AcquisitionError

#: ``--z-plane`` values that combine the planes of a site instead of naming one.
PROJECTIONS = ("max", "best")


def parse_z_plane(value: str | int | None) -> int | str | None:
    """``--z-plane`` as given -> a 0-based plane index, ``"max"``, ``"best"`` or None.

    Raises:
        ValueError: Neither a non-negative integer nor one of :data:`PROJECTIONS`.
    """
    if value is None or isinstance(value, int):
        if isinstance(value, int) and value < 0:
            raise ValueError(f"--z-plane {value}: planes are numbered from 0")
        return value
    text = str(value).strip().lower()
    if text in PROJECTIONS:
        return text
    if text.isdecimal():
        return int(text)
    raise ValueError(f"--z-plane '{value}': give a plane number (0-based) or one of {', '.join(PROJECTIONS)}")


def focus_score(image: np.ndarray) -> float:
    """Sharpness of one plane: the variance of the Laplacian after a Gaussian of 1 px (noise is not focus).

    Scores compare the planes of one site (same exposure and scale); they are
    in the image's own units squared.
    """
    import cv2

    img = cv2.GaussianBlur(np.asarray(image, np.float32), (0, 0), 1.0)
    return float(cv2.Laplacian(img, cv2.CV_32F).var())


def project_planes(planes: Sequence[np.ndarray], how: str) -> tuple[np.ndarray, int | None]:
    """One image of a site's planes (ordered by z) and, for ``best``, the position of the plane taken.

    Args:
        planes: 2-D images of equal shape, lowest plane first.
        how: ``max`` (elementwise maximum, dtype kept) or ``best`` (the plane
            with the highest :func:`focus_score`; ties take the lower plane).

    Raises:
        ValueError: Planes of different shapes, none, or an unknown ``how``.
    """
    if not planes:
        raise ValueError("no planes to project")
    shapes = {np.shape(p) for p in planes}
    if len(shapes) > 1:
        raise ValueError(f"planes of different sizes ({', '.join(map(str, sorted(shapes)))}) cannot be combined")
    if how == "max":
        return np.max(np.stack(planes), axis=0), None
    if how == "best":
        k = int(np.argmax([focus_score(p) for p in planes]))
        return planes[k], k
    raise ValueError(f"unknown projection '{how}' (one of {', '.join(PROJECTIONS)})")


def choose_plane(
    planes: Iterable[int],
    requested: int | None,
    source: str,
    trained: int | None = None,
    option: str = "--z-plane",
) -> tuple[int, str | None]:
    """The z plane to read and, when it was chosen from several unasked, a note saying which and why.

    Args:
        planes: The z indices of the frames of the chosen channel.
        requested: ``--z-plane`` (0-based), or ``None``.
        source: What to name in messages (the acquisition folder).
        trained: The plane the model was trained on, when recorded.
        option: The setting that picks the plane, as the note names it (training: ``data.z_plane``).

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
    return zs[0], f"z plane {zs[0]} (the lowest) of planes {listed}; {option} picks another"
