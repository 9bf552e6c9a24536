"""Image formation and imaging nuisances of one field.

The cells are drawn as a contrast image ``Δ`` (0 = background). A frame is::

    I = B · (1 + gain · s(δ) · blur(Δ, σ(δ))) + noise

* ``B`` — background: level ``0.52 ± 0.015`` with radial vignetting
  (``1 - v r²``, ``v`` in 0.08–0.14, +0.08 and −0.03 level on edge wells:
  meniscus), a linear illumination gradient (up to 3 %) and a smooth
  low-frequency blotch (1 %); a ±1 % lamp flicker per frame;
* ``δ`` — focus offset, a mean-reverting walk over the frames (autofocus:
  ``δ_k = 0.6 δ_{k-1} + N(0, 0.22)``, clipped to ±1.2); blur
  ``σ = 0.5 + 0.7 |δ|`` px and contrast
  ``s = 1 / (1 + 0.35 δ²)``; with probability ``defocus_rate`` a frame is badly
  out of focus (``|δ|`` 2.5–4);
* with probability ``empty_rate`` a frame is *empty*: background and noise only
  (a missed scan);
* stage drift: the field origin moves by a random walk of 1.2 px per frame;
* debris: ~12 static specks per field (stuck to the plate, they drift with the
  stage) and ~3 floating specks per frame;
* noise: shot noise with 1200 photo-electrons at intensity 1 and Gaussian read
  noise ``σ = 0.006``; the result is quantised to 8 bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

CONTRAST_GAIN = 2.0
PHOTONS_AT_ONE = 1200.0
READ_NOISE = 0.006


@dataclass
class FieldOptics:
    """Per-field imaging state over all frames.

    Attributes:
        background: ``(H, W)`` float32 background ``B``.
        focus: Focus offset ``δ`` per frame.
        artifact: Per frame: ``""``, ``"defocused"`` or ``"empty"``.
        drift: ``(n_frames, 2)`` stage offset (x, y) in pixels.
        flicker: Lamp factor per frame.
        debris: ``(n, 4)`` static specks: canvas x, y, sigma, level.
    """

    background: np.ndarray
    focus: np.ndarray
    artifact: list[str]
    drift: np.ndarray
    flicker: np.ndarray
    debris: np.ndarray


def make_field_optics(
    rng: np.random.Generator,
    n_frames: int,
    image_wh: tuple[int, int],
    canvas_wh: tuple[int, int],
    edge: bool,
    defocus_rate: float,
    empty_rate: float,
) -> FieldOptics:
    """Draw the background, focus path, artefacts, drift and debris of one field."""
    w, h = image_wh
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xn, yn = (xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)
    r2 = (xn * xn + yn * yn) / 2.0
    v = rng.uniform(0.08, 0.14) + (0.08 if edge else 0.0)
    level = 0.52 + rng.normal(0, 0.015) - (0.03 if edge else 0.0)
    phi = rng.uniform(0, 2 * math.pi)
    grad = rng.uniform(0, 0.03) * (xn * math.cos(phi) + yn * math.sin(phi)) / 2
    blotch = cv2.resize(rng.standard_normal((6, 6)).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_CUBIC) * 0.01
    background = (level * (1.0 - v * r2) * (1.0 + grad + blotch)).astype(np.float32)

    focus = np.empty(n_frames)
    d = rng.normal(0, 0.3)
    artifact = []
    for k in range(n_frames):
        d = float(np.clip(0.6 * d + rng.normal(0, 0.22), -1.2, 1.2))
        focus[k] = d
        u = rng.random()
        if u < empty_rate:
            artifact.append("empty")
        elif u < empty_rate + defocus_rate:
            artifact.append("defocused")
            focus[k] = rng.choice([-1.0, 1.0]) * rng.uniform(2.5, 4.0)
        else:
            artifact.append("")
    drift = np.cumsum(rng.normal(0, 1.2, (n_frames, 2)), axis=0)
    drift[0] = 0.0
    flicker = 1.0 + rng.normal(0, 0.01, n_frames)
    nd = rng.poisson(12.0 * canvas_wh[0] * canvas_wh[1] / 512.0**2)
    debris = np.column_stack(
        [
            rng.uniform(0, canvas_wh[0], nd),
            rng.uniform(0, canvas_wh[1], nd),
            rng.uniform(0.6, 2.0, nd),
            rng.normal(-0.1, 0.1, nd),
        ]
    )
    return FieldOptics(background, focus, artifact, drift, flicker, debris)


def add_specks(delta: np.ndarray, specks: np.ndarray) -> None:
    """Add Gaussian specks ``(x, y, sigma, level)`` (delta pixel coordinates) in place."""
    H, W = delta.shape
    for x, y, s, lev in specks:
        h = int(math.ceil(3 * s))
        ix, iy = int(x), int(y)
        if ix + h < 0 or iy + h < 0 or ix - h >= W or iy - h >= H:
            continue
        y0, y1, x0, x1 = max(iy - h, 0), min(iy + h + 1, H), max(ix - h, 0), min(ix + h + 1, W)
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        delta[y0:y1, x0:x1] += lev * np.exp(-((gx - x) ** 2 + (gy - y) ** 2) / (2 * s * s))


def floating_specks(rng: np.random.Generator, delta_wh: tuple[int, int]) -> np.ndarray:
    """Floating debris of one frame as ``(n, 4)`` specks in delta coordinates."""
    n = rng.poisson(3.0 * delta_wh[0] * delta_wh[1] / 512.0**2)
    return np.column_stack(
        [
            rng.uniform(0, delta_wh[0], n),
            rng.uniform(0, delta_wh[1], n),
            rng.uniform(0.5, 1.5, n),
            rng.normal(-0.08, 0.08, n),
        ]
    )


def form_image(
    rng: np.random.Generator, delta: np.ndarray, optics: FieldOptics, k: int
) -> np.ndarray:
    """Turn the contrast image of frame ``k`` into an 8-bit frame (see module doc).

    Args:
        rng: Generator for the noise of this frame.
        delta: ``(H, W)`` float32 contrast image, already cropped to the frame.
        optics: The field's optics.
        k: Frame index.

    Returns:
        ``(H, W)`` uint8 image.
    """
    bg = optics.background * np.float32(optics.flicker[k])
    if optics.artifact[k] == "empty":
        img = bg
    else:
        dfc = float(optics.focus[k])
        sigma = 0.5 + 0.7 * abs(dfc)
        blurred = cv2.GaussianBlur(delta, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        s = np.float32(CONTRAST_GAIN / (1.0 + 0.35 * dfc * dfc))
        img = bg * (1.0 + s * blurred)
    np.clip(img, 0.0, 1.0, out=img)
    noise = rng.standard_normal(img.shape, dtype=np.float32)
    img = img + noise * np.sqrt(img * np.float32(1.0 / PHOTONS_AT_ONE) + READ_NOISE**2)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
