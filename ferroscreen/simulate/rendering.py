"""Vectorised stamping of one cell's appearance onto a contrast canvas.

A cell is drawn as a signed-distance shape: its outline ``R(θ)`` (radius with
ellipticity and outline harmonics), united with bleb circles, or replaced by
apoptotic-body circles. From the signed distance ``d`` (negative inside) the
stamp adds, relative to the background (0):

* interior: ``body + shade (1 - (ρ/R)²) + tex · T + gran · G`` inside the shape,
  where ``T`` (smooth texture) and ``G`` (granules) are windows of fixed texture
  banks at a per-cell offset;
* a membrane line ``rim · exp(-(d + 0.3)² / 2w²)`` and an optional inner line
  ``rim2`` 1.6 px further in;
* a phase halo ``halo · exp(-(d - off)² / 2 hw²)`` outside the edge;
* optional debris specks (Gaussian spots) and angular rupture gaps that remove
  rim and halo.

Everything is multiplied by ``contrast`` (fading). Cost: a handful of numpy
operations on a ~(2R+12)² patch per cell; no per-pixel Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

BANK_SIZE = 256
_BANK_SEED = 20240611


def _make_banks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed texture banks (the same in every process, independent of the plate seed)."""
    rng = np.random.default_rng(_BANK_SEED)
    noise = rng.standard_normal((BANK_SIZE, BANK_SIZE)).astype(np.float32)
    fine = cv2.GaussianBlur(noise, (0, 0), 1.1)
    coarse = cv2.GaussianBlur(rng.standard_normal((BANK_SIZE, BANK_SIZE)).astype(np.float32),
                              (0, 0), 2.6)
    smooth = 0.55 * fine / fine.std() + 0.45 * coarse / coarse.std()
    smooth /= smooth.std()
    spots = (rng.random((BANK_SIZE, BANK_SIZE)) < 0.045).astype(np.float32)
    sign = np.where(rng.random((BANK_SIZE, BANK_SIZE)) < 0.8, -1.0, 0.6).astype(np.float32)
    gran = cv2.GaussianBlur(spots * sign, (0, 0), 0.75)
    gran /= np.abs(gran).max()
    gran = np.clip(gran * 2.2, -1, 1)
    return smooth.astype(np.float32), gran.astype(np.float32), coarse / coarse.std()


SMOOTH_BANK, GRANULE_BANK, COARSE_BANK = _make_banks()
_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _grid(h: int) -> tuple[np.ndarray, np.ndarray]:
    g = _GRIDS.get(h)
    if g is None:
        r = np.arange(-h, h + 1, dtype=np.float32)
        g = (r[:, None].repeat(2 * h + 1, 1), r[None, :].repeat(2 * h + 1, 0))
        _GRIDS[h] = g
    return g


@dataclass
class CellSpec:
    """Everything needed to draw one cell (all lengths in pixels).

    Attributes:
        radius: Mean outline radius of the main body (0: no main body).
        ellipticity: Amplitude of the ``cos 2(θ - angle)`` outline term.
        angle: Orientation of the ellipse (rad).
        harmonics: ``(k, amplitude, phase)`` outline terms (irregular outline).
        blebs: ``(dx, dy, r)`` circles united with the body.
        bodies: ``(dx, dy, r)`` detached circles (apoptotic bodies, fragments).
        body: Interior level (contrast units; background is 0).
        shade: Dome term added at the centre, falling to 0 at the edge.
        tex: Amplitude of the smooth texture.
        gran: Amplitude of the granule texture.
        rim: Membrane line amplitude (negative: dark line).
        rim_width: Membrane line width.
        rim2: Inner line amplitude (1.6 px inside the edge).
        halo: Halo amplitude (positive: bright).
        halo_offset: Halo distance outside the edge.
        halo_width: Halo width.
        gaps: ``(angle, half_width)`` rupture gaps in rim and halo (rad).
        specks: ``(dx, dy, sigma, level)`` debris spots.
        contrast: Global multiplier (fading).
        tex_offset: Offset of the texture window in the banks.
    """

    radius: float
    ellipticity: float = 0.0
    angle: float = 0.0
    harmonics: list[tuple[int, float, float]] = field(default_factory=list)
    blebs: list[tuple[float, float, float]] = field(default_factory=list)
    bodies: list[tuple[float, float, float]] = field(default_factory=list)
    body: float = 0.0
    shade: float = 0.0
    tex: float = 0.0
    gran: float = 0.0
    rim: float = 0.0
    rim_width: float = 0.9
    rim2: float = 0.0
    halo: float = 0.0
    halo_offset: float = 1.4
    halo_width: float = 1.6
    gaps: list[tuple[float, float]] = field(default_factory=list)
    specks: list[tuple[float, float, float, float]] = field(default_factory=list)
    contrast: float = 1.0
    tex_offset: tuple[int, int] = (0, 0)

    def body_extent(self) -> float:
        """Radius (px) of the centred circle holding the body, blebs and apoptotic bodies."""
        e = self.radius * (1 + abs(self.ellipticity) + sum(abs(a) for _, a, _ in self.harmonics))
        for dx, dy, r in self.blebs + self.bodies:
            e = max(e, math.hypot(dx, dy) + r)
        return e

    def extent(self) -> float:
        """Half-size (px) of the square that holds the whole stamp."""
        e = self.body_extent()
        for dx, dy, s, _ in self.specks:
            e = max(e, math.hypot(dx, dy) + 2.5 * s)
        return e + self.halo_offset + 2.5 * self.halo_width + 1.0


def draw_cell(canvas: np.ndarray, x: float, y: float, spec: CellSpec) -> None:
    """Add one cell's contrast stamp to ``canvas`` (float32, modified in place).

    ``(x, y)`` is the cell centre in canvas pixel coordinates (column, row).
    Parts of the stamp outside the canvas are dropped.
    """
    h = int(math.ceil(spec.extent()))
    ix, iy = int(math.floor(x)), int(math.floor(y))
    y0, y1, x0, x1 = iy - h, iy + h + 1, ix - h, ix + h + 1
    H, W = canvas.shape
    if y1 <= 0 or x1 <= 0 or y0 >= H or x0 >= W:
        return
    gy, gx = _grid(h)
    Y = gy - np.float32(y - iy)
    X = gx - np.float32(x - ix)
    rho = np.sqrt(X * X + Y * Y)
    need_angle = (spec.radius > 0 and (spec.ellipticity or spec.harmonics)) or spec.gaps
    z = None
    if need_angle:  # unit complex e^{iθ}; cos(kθ + p) = Re(e^{ip} z^k), no trig per pixel
        z = np.empty(rho.shape, np.complex64)
        inv = 1.0 / np.maximum(rho, np.float32(1e-3))
        z.real = X * inv
        z.imag = Y * inv
    big = np.float32(1e4)
    if spec.radius > 0:
        rad = np.float32(spec.radius)
        if spec.ellipticity or spec.harmonics:
            coef = {2: spec.ellipticity * complex(math.cos(-2 * spec.angle),
                                                  math.sin(-2 * spec.angle))}
            for k, a, p in spec.harmonics:
                coef[k] = coef.get(k, 0) + a * complex(math.cos(p), math.sin(p))
            kmax = max(coef)
            acc = np.full(rho.shape, coef.get(kmax, 0), np.complex64)
            for k in range(kmax - 1, 1, -1):
                acc = acc * z + np.complex64(coef.get(k, 0))
            mod = (acc * (z * z)).real
            d = rho - rad * (1 + mod)
        else:
            d = rho - rad
    else:
        d = np.full_like(rho, big)
        rad = np.float32(1.0)
    for dx, dy, r in spec.blebs + spec.bodies:
        d = np.minimum(d, np.sqrt((X - dx) ** 2 + (Y - dy) ** 2) - r)
    inside = np.clip(0.5 - d * 0.8, 0.0, 1.0)
    oy, ox = spec.tex_offset
    n = 2 * h + 1
    oy = oy % (BANK_SIZE - n) if n < BANK_SIZE else 0
    ox = ox % (BANK_SIZE - n) if n < BANK_SIZE else 0
    interior = np.float32(spec.body)
    if spec.shade and spec.radius > 0:
        interior = interior + spec.shade * np.clip(1 - (rho / rad) ** 2, 0, 1)
    if spec.tex:
        interior = interior + spec.tex * SMOOTH_BANK[oy : oy + n, ox : ox + n]
    if spec.gran:
        interior = interior + spec.gran * GRANULE_BANK[oy : oy + n, ox : ox + n]
    out = inside * interior
    edge = 0.0
    if spec.rim:
        edge = spec.rim * np.exp(-((d + 0.3) ** 2) / (2 * spec.rim_width**2))
    if spec.rim2:
        edge = edge + spec.rim2 * np.exp(-((d + 1.9) ** 2) / 1.2)
    if spec.halo:
        edge = edge + spec.halo * np.exp(
            -((d - spec.halo_offset) ** 2) / (2 * spec.halo_width**2)
        )
    if spec.gaps and spec.rim + spec.halo != 0:
        keep = 1.0
        for a, w in spec.gaps:  # von Mises bump: 1 - cos(θ - a) ≈ (θ - a)² / 2
            one_minus_cos = 1 - (z * np.complex64(complex(math.cos(-a), math.sin(-a)))).real
            keep = keep * (1 - np.exp(-one_minus_cos / max(w, 1e-3) ** 2))
        edge = edge * keep
    out = out + edge
    for dx, dy, s, lev in spec.specks:
        out = out + lev * np.exp(-((X - dx) ** 2 + (Y - dy) ** 2) / (2 * s * s))
    if spec.contrast != 1.0:
        out = out * np.float32(spec.contrast)
    cy0, cx0 = max(y0, 0), max(x0, 0)
    cy1, cx1 = min(y1, H), min(x1, W)
    canvas[cy0:cy1, cx0:cx1] += out[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
