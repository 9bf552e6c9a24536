"""The cells of one field: lineages, divisions, deaths and positions over time.

Model (per field, all times in hours after dosing):

* founders: ``Poisson(density × canvas area)`` cells on a canvas larger than the
  image by a margin (so cells drift in and out); 35 % are seeded as small
  touching clusters of 2–4 cells, the rest uniformly; overlaps are rejected;
* every cell has a birth radius (``LogNormal(ln 4.9 µm, 0.14)``, clipped to
  3.6–6.6 µm; daughters inherit it ×``LogNormal(0, 0.05)``) and grows as
  ``r_birth (1 + age / cycle)^(1/3)`` (doubling its volume over the cycle);
* cycle time ``doubling_time × cycle_factor × LogNormal(0, 0.15)``; founders
  start at a random phase; daughters are placed touching, on opposite sides
  of a random division axis;
* death: the earlier of the lineage's compound death time (inherited by
  daughters ± 0.5 h, see :mod:`~ferroscreen.simulate.pharmacology`) and the
  cell's own background death; 3 % of founders are already dying at t = 0;
* motion: Brownian, 1.2 µm/√h alive, 0.4 µm/√h dead, then two rounds of
  pairwise push-apart of overlapping cells (dead cells with their shrunk or
  swollen size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ferroscreen.simulate.morphology import MITOSIS_H, CellTraits, draw_traits, visible_hours
from ferroscreen.simulate.pharmacology import (
    WellPharmacology,
    draw_background_death,
    draw_lineage_fates,
)

CLUSTER_FRACTION = 0.35
INITIAL_DEAD_FRACTION = 0.03
MOTILITY_UM = 1.2
DEAD_MOTILITY_UM = 0.4
#: Radius multiplier used when pushing cells apart: alive, apoptosis (shrunk),
#: ferroptosis (ballooned), necroptosis (swollen).
_CROWD_SCALE = np.array([1.0, 0.75, 1.35, 1.22])


@dataclass
class FieldCells:
    """All cells that ever exist in one field (arrays indexed by cell id).

    Attributes:
        birth_h: Birth time (negative for founders).
        division_h: Division time (``inf`` if the cell does not divide in time).
        death_h: Death onset (``inf`` if it survives).
        mode: Death-mode index into ``DEATH_MODES`` (-1 if it survives).
        parent: Parent id (-1 for founders).
        r_birth_um: Radius at birth (µm).
        cycle_h: Cell-cycle time (h).
        gone_h: Time the cell stops being drawn (division or end of fading).
        traits: Appearance traits.
    """

    birth_h: np.ndarray
    division_h: np.ndarray
    death_h: np.ndarray
    mode: np.ndarray
    parent: np.ndarray
    r_birth_um: np.ndarray
    cycle_h: np.ndarray
    gone_h: np.ndarray
    traits: CellTraits

    def radius_um(self, idx: np.ndarray, t: float) -> np.ndarray:
        """Living radius at ``t`` (frozen at death onset) of cells ``idx``."""
        tt = np.minimum(t, self.death_h[idx])
        age = np.clip((tt - self.birth_h[idx]) / self.cycle_h[idx], 0.0, 1.0)
        return self.r_birth_um[idx] * (1.0 + age) ** (1.0 / 3.0)


@dataclass
class FieldFrame:
    """The cells present at one time point (canvas coordinates, pixels)."""

    time_h: float
    idx: np.ndarray
    x: np.ndarray
    y: np.ndarray
    radius_px: np.ndarray


def simulate_lineages(
    rng: np.random.Generator,
    n_founders: int,
    pharm: WellPharmacology,
    doubling_time_h: float,
    t_end: float,
) -> FieldCells:
    """Run divisions and deaths of ``n_founders`` lineages up to ``t_end`` hours."""
    comp_t, comp_mode = draw_lineage_fates(rng, n_founders, pharm)
    birth, div, death, mode, parent, rb, cycle, lineage_t, lineage_m = ([] for _ in range(9))
    mean_cycle = doubling_time_h * pharm.cycle_factor

    def add(b, p, r, ct, cm, dying_now=False):
        c = mean_cycle * math.exp(0.15 * rng.standard_normal())
        if p < 0:  # founder at a random phase of its cycle
            b = -rng.random() * c
        bt, bm = draw_background_death(rng, max(b, 0.0), pharm)
        if dying_now:
            bt, bm = -rng.random() * 15.0, int(np.argmax(pharm.background_weights))
        t_die, m_die = (ct, cm) if ct <= bt else (bt, bm)
        birth.append(b)
        cycle.append(c)
        div.append(b + c)
        death.append(t_die)
        mode.append(m_die if math.isfinite(t_die) else -1)
        parent.append(p)
        rb.append(r)
        lineage_t.append(ct)
        lineage_m.append(cm)

    for k in range(n_founders):
        r = float(np.clip(math.exp(rng.normal(math.log(4.9), 0.14)), 3.6, 6.6))
        add(0.0, -1, r, float(comp_t[k]), int(comp_mode[k]),
            dying_now=rng.random() < INITIAL_DEAD_FRACTION)
    i = 0
    while i < len(birth):
        if death[i] < div[i] or div[i] >= t_end:
            div[i] = math.inf
        else:
            for _ in range(2):
                ct = lineage_t[i]
                if math.isfinite(ct):
                    ct = max(ct + 0.5 * rng.standard_normal(), div[i] + 0.25)
                r = rb[i] * math.exp(0.05 * rng.standard_normal())
                add(div[i], i, r, ct, lineage_m[i])
        i += 1
    n = len(birth)
    mode_arr = np.asarray(mode, dtype=np.int64)
    traits = draw_traits(rng, n)
    death_arr = np.asarray(death, dtype=float)
    div_arr = np.asarray(div, dtype=float)
    gone = np.minimum(div_arr, death_arr + visible_hours(traits, mode_arr))
    return FieldCells(
        birth_h=np.asarray(birth, dtype=float),
        division_h=div_arr,
        death_h=death_arr,
        mode=mode_arr,
        parent=np.asarray(parent, dtype=np.int64),
        r_birth_um=np.asarray(rb, dtype=float),
        cycle_h=np.asarray(cycle, dtype=float),
        gone_h=gone,
        traits=traits,
    )


def _seed_positions(rng, n, width, height, radii_px) -> np.ndarray:
    """Initial positions: singles uniform, 35 % as touching clusters; overlaps rejected."""
    pos = np.zeros((n, 2))
    placed = np.zeros(n, dtype=bool)
    k = 0
    while k < n:
        size = int(rng.integers(2, 5)) if rng.random() < CLUSTER_FRACTION else 1
        size = min(size, n - k)
        for attempt in range(30):
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            members = [(cx, cy)]
            ang = rng.uniform(0, 2 * math.pi)
            for m in range(1, size):
                a = ang + m * rng.uniform(1.3, 2.4)
                base = members[int(rng.integers(0, len(members)))]
                d = (radii_px[k + m] + radii_px[k + m - 1]) * 1.02
                members.append((base[0] + d * math.cos(a), base[1] + d * math.sin(a)))
            cand = np.asarray(members)
            ok = True
            if placed.any():
                prev = pos[placed]
                pr = radii_px[placed]
                for j, (mx, my) in enumerate(cand):
                    dist = np.hypot(prev[:, 0] - mx, prev[:, 1] - my)
                    if np.any(dist < (pr + radii_px[k + j]) * 0.95):
                        ok = False
                        break
            if ok or attempt == 29:
                break
        pos[k : k + size] = cand
        placed[k : k + size] = True
        k += size
    return pos


def track_positions(
    rng: np.random.Generator,
    cells: FieldCells,
    times_h: list[float],
    canvas_wh: tuple[int, int],
    pixel_um: float,
) -> list[FieldFrame]:
    """Positions of the cells present at each time point (canvas pixels)."""
    n = len(cells.birth_h)
    founders = np.flatnonzero(cells.parent < 0)
    r0_px = cells.radius_um(founders, 0.0) / pixel_um
    pos = np.full((n, 2), np.nan)
    pos[founders] = _seed_positions(rng, len(founders), canvas_wh[0], canvas_wh[1], r0_px)
    axis = rng.uniform(0, 2 * math.pi, n)
    first_child: dict[int, int] = {}

    def place(c: int) -> None:
        if not np.isnan(pos[c, 0]):
            return
        p = int(cells.parent[c])
        place(p)
        side = 1.0 if first_child.setdefault(p, c) == c else -1.0
        r = cells.r_birth_um[c] / pixel_um * 1.02
        pos[c] = pos[p] + side * r * np.array([math.cos(axis[p]), math.sin(axis[p])])

    frames = []
    prev_t = None
    for t in times_h:
        present = np.flatnonzero((cells.birth_h <= t) & (t < cells.gone_h))
        for c in present:
            place(int(c))
        rad = cells.radius_um(present, t) / pixel_um
        if prev_t is not None and len(present):
            dt = max(t - prev_t, 1e-6)
            dead = cells.death_h[present] <= t
            sigma = np.where(dead, DEAD_MOTILITY_UM, MOTILITY_UM) * math.sqrt(dt) / pixel_um
            pos[present] += rng.standard_normal((len(present), 2)) * sigma[:, None]
        if len(present) > 1:
            dead_mode = np.where(cells.death_h[present] <= t, cells.mode[present], -1)
            _push_apart(pos, present, rad * _CROWD_SCALE[dead_mode + 1])
        frames.append(FieldFrame(t, present, pos[present, 0].copy(), pos[present, 1].copy(), rad))
        prev_t = t
    return frames


def _push_apart(pos: np.ndarray, idx: np.ndarray, rad: np.ndarray, rounds: int = 2) -> None:
    p = pos[idx]
    for _ in range(rounds):
        dx = p[:, None, 0] - p[None, :, 0]
        dy = p[:, None, 1] - p[None, :, 1]
        dist = np.sqrt(dx * dx + dy * dy) + 1e-6
        overlap = (rad[:, None] + rad[None, :]) * 0.97 - dist
        np.fill_diagonal(overlap, 0.0)
        overlap = np.clip(overlap, 0.0, None) * 0.5
        if not overlap.any():
            break
        p[:, 0] += (overlap * dx / dist).sum(1) * 0.5
        p[:, 1] += (overlap * dy / dist).sum(1) * 0.5
    pos[idx] = p


def is_mitotic(cells: FieldCells, idx: np.ndarray, t: float) -> np.ndarray:
    """Whether alive cells ``idx`` are within :data:`MITOSIS_H` of dividing at ``t``."""
    return (cells.division_h[idx] - t <= MITOSIS_H) & (cells.death_h[idx] > t)
