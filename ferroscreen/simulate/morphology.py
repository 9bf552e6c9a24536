"""Per-cell appearance traits and the stage-wise morphology of each death mode.

Every cell draws its own traits (:func:`draw_traits`): size, ellipticity,
outline harmonics, interior level and texture, rim and halo strength, stage
durations and the mode-specific amounts (shrinkage, swelling, blebs, apoptotic
bodies, rupture gaps, debris). A dying cell's look at ``τ`` hours after death
onset is a piecewise-linear interpolation between keyframes at the stage
boundaries (:func:`cell_spec`), so stages blend smoothly and no single pixel
statistic separates the classes. Stages (mean durations in hours, each scaled
per cell by ``LogNormal(0, 0.3)``):

* apoptosis: shrinking 2, blebbing 3, condensed 7, fragmented 8, fading 12
* ferroptosis: rounding 1.5, ballooning 3, ghost 8, ruptured 6, fading 10
* necroptosis: swelling 3, granular 5, ruptured 7, fading 10

A cell is *gone* (no longer drawn or listed in the truth) once its last stage
(``fading``, contrast 1 → 0.15) is over. Alive cells are ``alive`` or, in the
last 0.75 h before division, ``mitotic``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ferroscreen.simulate.library import DEATH_MODES
from ferroscreen.simulate.rendering import CellSpec

#: Stage names per class, in order.
STAGES: dict[str, tuple[str, ...]] = {
    "alive": ("alive", "mitotic"),
    "apoptosis": ("shrinking", "blebbing", "condensed", "fragmented", "fading"),
    "ferroptosis": ("rounding", "ballooning", "ghost", "ruptured", "fading"),
    "necroptosis": ("swelling", "granular", "ruptured", "fading"),
}
#: Mean stage durations (h) per death mode.
STAGE_HOURS: dict[str, tuple[float, ...]] = {
    "apoptosis": (2.0, 3.0, 7.0, 8.0, 12.0),
    "ferroptosis": (1.5, 3.0, 8.0, 6.0, 10.0),
    "necroptosis": (3.0, 5.0, 7.0, 10.0),
}
MITOSIS_H = 0.75
N_HARMONICS = 6  # outline harmonics k = 3 .. 8
N_BLEBS = 8
N_BODIES = 6
N_SPECKS = 6
N_GAPS = 3


@dataclass
class CellTraits:
    """Per-cell random appearance parameters (arrays of length n; see module doc)."""

    radius_um: np.ndarray
    ellipticity: np.ndarray
    angle: np.ndarray
    harm_amp: np.ndarray  # (n, N_HARMONICS) weights summing to 1
    harm_phase: np.ndarray
    base_irregularity: np.ndarray
    body: np.ndarray
    shade: np.ndarray
    tex: np.ndarray
    rim: np.ndarray
    rim_width: np.ndarray
    halo: np.ndarray
    halo_offset: np.ndarray
    halo_width: np.ndarray
    tex_offset: np.ndarray  # (n, 2) int
    stage_scale: np.ndarray  # (n, 5)
    shrink: np.ndarray
    apo_body: np.ndarray
    swell_ferro: np.ndarray
    ferro_body: np.ndarray
    ferro_rim: np.ndarray
    swell_necro: np.ndarray
    granularity: np.ndarray
    n_blebs: np.ndarray
    bleb_angle: np.ndarray  # (n, N_BLEBS)
    bleb_size: np.ndarray
    n_bodies: np.ndarray
    body_angle: np.ndarray  # (n, N_BODIES)
    body_dist: np.ndarray
    body_size: np.ndarray
    n_gaps: np.ndarray
    gap_angle: np.ndarray  # (n, N_GAPS)
    gap_width: np.ndarray
    speck_angle: np.ndarray  # (n, N_SPECKS)
    speck_dist: np.ndarray
    speck_sigma: np.ndarray
    speck_level: np.ndarray


def draw_traits(rng: np.random.Generator, n: int) -> CellTraits:
    """Draw the appearance traits of ``n`` cells."""
    u = rng.uniform
    harm = rng.gamma(2.0, 1.0, (n, N_HARMONICS)) + 1e-3
    return CellTraits(
        radius_um=np.clip(np.exp(rng.normal(math.log(5.4), 0.14, n)), 4.0, 7.5),
        ellipticity=u(0.0, 0.07, n),
        angle=u(0, math.pi, n),
        harm_amp=harm / harm.sum(1, keepdims=True),
        harm_phase=u(0, 2 * math.pi, (n, N_HARMONICS)),
        base_irregularity=u(0.005, 0.03, n),
        body=rng.normal(-0.04, 0.035, n),
        shade=rng.normal(0.05, 0.035, n),
        tex=u(0.03, 0.08, n),
        rim=-u(0.06, 0.2, n),
        rim_width=u(0.7, 1.1, n),
        halo=u(0.07, 0.24, n),
        halo_offset=u(0.9, 1.8, n),
        halo_width=u(1.1, 2.1, n),
        tex_offset=rng.integers(0, 10_000, (n, 2)),
        stage_scale=np.exp(rng.normal(0.0, 0.3, (n, 5))),
        shrink=u(0.6, 0.82, n),
        apo_body=rng.normal(-0.19, 0.05, n),
        swell_ferro=u(1.22, 1.55, n),
        ferro_body=rng.normal(0.02, 0.02, n),
        ferro_rim=u(0.05, 0.14, n),
        swell_necro=u(1.1, 1.38, n),
        granularity=u(0.1, 0.22, n),
        n_blebs=rng.integers(3, N_BLEBS + 1, n),
        bleb_angle=u(0, 2 * math.pi, (n, N_BLEBS)),
        bleb_size=u(0.16, 0.32, (n, N_BLEBS)),
        n_bodies=rng.integers(3, N_BODIES + 1, n),
        body_angle=u(0, 2 * math.pi, (n, N_BODIES)),
        body_dist=u(0.45, 1.3, (n, N_BODIES)),
        body_size=u(0.24, 0.42, (n, N_BODIES)),
        n_gaps=rng.integers(1, N_GAPS + 1, n),
        gap_angle=u(0, 2 * math.pi, (n, N_GAPS)),
        gap_width=u(0.25, 0.75, (n, N_GAPS)),
        speck_angle=u(0, 2 * math.pi, (n, N_SPECKS)),
        speck_dist=u(0.2, 1.0, (n, N_SPECKS)),
        speck_sigma=u(0.6, 1.3, (n, N_SPECKS)),
        speck_level=rng.normal(-0.12, 0.07, (n, N_SPECKS)),
    )


def stage_durations(traits: CellTraits, i: int, mode: str) -> np.ndarray:
    """Stage durations (h) of cell ``i`` dying by ``mode``."""
    mean = np.asarray(STAGE_HOURS[mode])
    return mean * traits.stage_scale[i, : len(mean)]


def visible_hours(traits: CellTraits, mode_idx: np.ndarray) -> np.ndarray:
    """Hours from death onset until each cell is gone (``inf`` for mode -1)."""
    out = np.full(len(mode_idx), np.inf)
    for k, mode in enumerate(DEATH_MODES):
        sel = mode_idx == k
        n = len(STAGE_HOURS[mode])
        out[sel] = (np.asarray(STAGE_HOURS[mode]) * traits.stage_scale[sel, :n]).sum(1)
    return out


def stage_at(traits: CellTraits, i: int, mode: str, tau: float) -> tuple[int, float]:
    """Stage index and progress in [0, 1] of cell ``i``, ``tau`` hours after death onset."""
    durs = stage_durations(traits, i, mode)
    ends = np.cumsum(durs)
    k = int(np.searchsorted(ends, tau, side="right"))
    if k >= len(durs):
        return len(durs) - 1, 1.0
    start = ends[k] - durs[k]
    return k, float((tau - start) / durs[k])


def _keyframes(t: CellTraits, i: int, mode: str) -> dict[str, list[float]]:
    b0, s0, t0, r0, h0 = t.body[i], t.shade[i], t.tex[i], t.rim[i], t.halo[i]
    if mode == "apoptosis":
        sa, ab = t.shrink[i], t.apo_body[i]
        return {
            "scale": [1, 0.9, sa, sa * 0.88, sa * 0.85, sa * 0.85],
            "body": [b0, b0 - 0.04, ab * 0.7, ab, ab * 0.9, ab * 0.9],
            "shade": [s0, s0 * 0.5, -0.02, -0.06, -0.04, -0.04],
            "tex": [t0, t0 * 0.8, t0 * 0.6, t0 * 0.35, t0 * 0.3, t0 * 0.3],
            "rim": [r0, r0, r0 * 0.9, r0 * 0.7, r0 * 0.6, r0 * 0.6],
            "halo": [h0, h0 * 1.15, h0 * 1.35, h0 * 1.7, h0 * 1.4, h0 * 1.4],
            "blebs": [0, 0.5, 1, 0.35, 0, 0],
            "frag": [0, 0, 0, 0, 1, 1],
            "contrast": [1, 1, 1, 1, 1, 0.15],
        }
    if mode == "ferroptosis":
        sf, fb, fr = t.swell_ferro[i], t.ferro_body[i], t.ferro_rim[i]
        return {
            "scale": [1, 1.1, sf, sf * 1.04, sf * 0.97, sf * 0.95],
            "ell": [1, 0.3, 0.1, 0.1, 0.3, 0.3],
            "body": [b0, b0 * 0.5 + 0.01, fb, fb - 0.005, fb * 0.3, fb * 0.3],
            "shade": [s0, s0 * 0.5, 0, 0, 0, 0],
            "tex": [t0, t0 * 0.5, t0 * 0.15, t0 * 0.1, t0 * 0.15, t0 * 0.15],
            "rim": [r0, r0 * 0.5, fr, fr * 1.1, fr * 0.6, fr * 0.6],
            "rim_width": [1, 0.85, 0.6, 0.55, 0.55, 0.55],
            "rim2": [0, 0, -0.035, -0.05, -0.03, -0.03],
            "halo": [h0, h0 * 0.8, h0 * 0.45, h0 * 0.35, h0 * 0.2, h0 * 0.2],
            "halo_width": [1, 0.85, 0.55, 0.5, 0.6, 0.6],
            "rupture": [0, 0, 0, 0, 1, 1],
            "debris": [0, 0, 0, 0, 0.6, 1],
            "irregular": [0, 0, 0, 0, 0.05, 0.06],
            "contrast": [1, 1, 1, 1, 1, 0.15],
        }
    sn, g = t.swell_necro[i], t.granularity[i]
    return {
        "scale": [1, sn * 0.92, sn, sn * 0.92, sn * 0.9],
        "body": [b0, b0 - 0.01, b0 - 0.03, -0.01, -0.01],
        "shade": [s0, s0 * 0.5, 0, 0, 0],
        "tex": [t0, t0 * 0.8, t0 * 0.5, t0 * 0.4, t0 * 0.4],
        "gran": [0, g * 0.5, g, g * 0.8, g * 0.7],
        "irregular": [0, 0.035, 0.08, 0.13, 0.13],
        "rim": [r0, r0 * 1.1, r0 * 1.2, r0 * 0.6, r0 * 0.6],
        "halo": [h0, h0 * 0.9, h0 * 0.8, h0 * 0.4, h0 * 0.3],
        "rupture": [0, 0, 0, 1, 1],
        "debris": [0, 0, 0.2, 1, 1],
        "contrast": [1, 1, 1, 1, 0.15],
    }


def cell_spec(
    traits: CellTraits,
    i: int,
    radius_px: float,
    mode: str,
    tau: float | None,
    mitotic: bool = False,
) -> tuple[CellSpec, str]:
    """The drawing of cell ``i`` and its stage name.

    Args:
        traits: Traits of the field's cells.
        i: Cell index into ``traits``.
        radius_px: The cell's current living radius in pixels (grows over the cycle).
        mode: ``alive`` or a death mode.
        tau: Hours since death onset (``None`` for alive cells).
        mitotic: Whether an alive cell is about to divide.
    """
    t = traits
    p = {
        "scale": 1.0, "ell": 1.0, "body": t.body[i], "shade": t.shade[i], "tex": t.tex[i],
        "gran": 0.0, "rim": t.rim[i], "rim_width": 1.0, "rim2": 0.0, "halo": t.halo[i], "halo_width": 1.0,
        "blebs": 0.0, "frag": 0.0, "rupture": 0.0, "debris": 0.0, "irregular": 0.0,
        "contrast": 1.0,
    }
    if mode == "alive":
        stage = "mitotic" if mitotic else "alive"
        if mitotic:
            p.update(ell=0.2, body=t.body[i] + 0.03, shade=t.shade[i] + 0.03,
                     tex=t.tex[i] * 0.7, halo=t.halo[i] * 1.3)
    else:
        k, frac = stage_at(t, i, mode, float(tau))
        stage = STAGES[mode][k]
        for name, vals in _keyframes(t, i, mode).items():
            p[name] = vals[k] + (vals[k + 1] - vals[k]) * frac
    return _spec_from(t, i, radius_px, p), stage


def _spec_from(t: CellTraits, i: int, radius_px: float, p: dict) -> CellSpec:
    R = radius_px * p["scale"]
    irr = t.base_irregularity[i] + p["irregular"]
    harmonics = [
        (k + 3, float(irr * t.harm_amp[i, k]), float(t.harm_phase[i, k]))
        for k in range(N_HARMONICS)
        if irr * t.harm_amp[i, k] > 0.002
    ]
    blebs, bodies, specks, gaps = [], [], [], []
    main_r = R
    if p["blebs"] > 0.02:
        for j in range(int(t.n_blebs[i])):
            rb = t.bleb_size[i, j] * R * p["blebs"]
            a = t.bleb_angle[i, j]
            dist = R * 0.9 + 0.35 * rb
            blebs.append((dist * math.cos(a), dist * math.sin(a), rb))
    if p["frag"] > 0.0:
        f = p["frag"]
        main_r = R * max(0.0, 1.0 - 1.3 * f) ** 0.7
        grow = min(1.0, 3.0 * f)
        for j in range(int(t.n_bodies[i])):
            rb = t.body_size[i, j] * R * grow * (1 - 0.25 * f) + 0.3
            a = t.body_angle[i, j]
            dist = t.body_dist[i, j] * R * (0.25 + 0.95 * f)
            bodies.append((dist * math.cos(a), dist * math.sin(a), rb))
        if main_r < 0.8:
            main_r = 0.0
    if p["rupture"] > 0.02:
        for j in range(int(t.n_gaps[i])):
            gaps.append((float(t.gap_angle[i, j]), float(t.gap_width[i, j] * p["rupture"])))
    if p["debris"] > 0.02:
        for j in range(N_SPECKS):
            a = t.speck_angle[i, j]
            dist = R * (0.4 + 1.3 * p["debris"] * t.speck_dist[i, j])
            specks.append((dist * math.cos(a), dist * math.sin(a), float(t.speck_sigma[i, j]),
                           float(t.speck_level[i, j] * p["debris"])))
    body = p["body"] * (1.0 - 0.6 * p["rupture"])
    return CellSpec(
        radius=float(main_r),
        ellipticity=float(t.ellipticity[i] * p["ell"]),
        angle=float(t.angle[i]),
        harmonics=harmonics,
        blebs=blebs,
        bodies=bodies,
        body=float(body),
        shade=float(p["shade"]),
        tex=float(p["tex"]),
        gran=float(p["gran"]),
        rim=float(p["rim"]),
        rim_width=float(t.rim_width[i] * p["rim_width"]),
        rim2=float(p["rim2"]),
        halo=float(p["halo"]),
        halo_offset=float(t.halo_offset[i]),
        halo_width=float(t.halo_width[i] * p["halo_width"]),
        gaps=gaps,
        specks=specks,
        contrast=float(p["contrast"]),
        tex_offset=(int(t.tex_offset[i, 0]), int(t.tex_offset[i, 1])),
    )
