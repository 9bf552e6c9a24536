"""Dose → per-cell fate: commitment to death, death mode, death time, rescue, growth.

Model (every symbol is a library parameter, see ``docs/simulator.md``):

* occupancy ``θ(c) = c^h / (c^h + EC50^h)`` (0 for vehicle);
* a lineage is *committed* to compound-induced death with probability
  ``Emax · θ``; its mode is drawn from the compound's mode mixture;
* a committed lineage dies at ``T = onset · (1 + 0.5 (1 - θ)) · LogN(0, 0.25)
  + Gamma(2, 1 / (2 k))`` hours after dosing, ``k = rate · (0.25 + 0.75 θ)``
  (higher doses start earlier and kill faster); daughters of a committed cell
  inherit ``T`` (± 0.5 h) and the mode, so sister cells die close together;
* a rescue agent that blocks the drawn mode spares the lineage with
  probability ``efficacy`` (with an ``ic50``: ``efficacy · θ_r``, ``θ_r`` its
  occupancy at the well's rescue concentration);
* independently every cell has a background death hazard (1/h) from birth,
  with the library's background mode mixture;
* a cytostatic effect multiplies the cell-cycle time by
  ``1 / (1 - GI · θ_g)`` with ``θ_g`` the occupancy at ``gi50``.

Edge wells (outer ring) optionally see evaporation: concentrations ×1.15 and
background hazard ×2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ferroscreen.simulate.library import DEATH_MODES, Library
from ferroscreen.simulate.plate_map import WellPlan

EDGE_CONCENTRATION_FACTOR = 1.15
EDGE_BACKGROUND_FACTOR = 2.0


def occupancy(conc: float, ec50: float, hill: float) -> float:
    """Hill occupancy in [0, 1]; 0 for a missing (NaN) or zero concentration."""
    if conc is None or not math.isfinite(conc) or conc <= 0:
        return 0.0
    try:
        return float(1.0 / (1.0 + (ec50 / conc) ** hill))
    except OverflowError:  # a steep Hill slope far below the EC50 (hill 50, 1000-fold below)
        return 0.0


@dataclass(frozen=True)
class WellPharmacology:
    """Everything the population model needs to know about one well's treatment.

    Attributes:
        kill_probability: Probability that a lineage commits to compound death.
        mode_weights: Probabilities of (apoptosis, ferroptosis, necroptosis)
            for a committed lineage.
        onset_h: Effective lag (h) before compound deaths.
        rate_per_h: Effective death rate (1/h) after the lag.
        rescue: Per-mode probability that a committed lineage is spared.
        background_per_h: Background death hazard (1/h).
        background_weights: Mode probabilities of background deaths.
        cycle_factor: Multiplier (>= 1) of the cell-cycle time.
        has_cells: False for empty wells.
    """

    kill_probability: float
    mode_weights: tuple[float, float, float]
    onset_h: float
    rate_per_h: float
    rescue: tuple[float, float, float]
    background_per_h: float
    background_weights: tuple[float, float, float]
    cycle_factor: float
    has_cells: bool = True

    def expected_kill_fraction(self) -> float:
        """Expected fraction of lineages killed by the compound (after rescue)."""
        spared = sum(w * r for w, r in zip(self.mode_weights, self.rescue, strict=True))
        return self.kill_probability * (1.0 - spared)

    def to_dict(self) -> dict:
        """JSON-ready summary (written per well to ``truth.json``)."""
        return {
            "kill_probability": round(self.kill_probability, 6),
            "expected_kill_fraction": round(self.expected_kill_fraction(), 6),
            "mode_weights": dict(zip(DEATH_MODES, self.mode_weights, strict=True)),
            "onset_h": round(self.onset_h, 4),
            "rate_per_h": round(self.rate_per_h, 6),
            "rescue": dict(zip(DEATH_MODES, self.rescue, strict=True)),
            "background_per_h": self.background_per_h,
            "cycle_factor": round(self.cycle_factor, 6),
        }


def well_pharmacology(
    plan: WellPlan, library: Library, edge: bool = False, edge_effects: bool = True
) -> WellPharmacology:
    """The treatment of one well, from its plan and the library."""
    bg_w = tuple(library.background_modes.get(m, 0.0) for m in DEATH_MODES)
    if plan.role == "empty":
        return WellPharmacology(0.0, (1.0, 0.0, 0.0), 0.0, 1.0, (0.0,) * 3, 0.0, bg_w, 1.0, False)
    c = library.compound(plan.compound)
    conc = plan.concentration
    bg = library.background_death_per_h
    if edge and edge_effects:
        conc = conc * EDGE_CONCENTRATION_FACTOR if math.isfinite(conc) else conc
        bg *= EDGE_BACKGROUND_FACTOR
    theta = occupancy(conc, c.ec50, c.hill) if c.modes else 0.0
    theta_g = occupancy(conc, c.gi50 or c.ec50, c.hill) if c.growth_inhibition else 0.0
    weights = tuple(c.modes.get(m, 0.0) for m in DEATH_MODES) if c.modes else (1.0, 0.0, 0.0)
    rescue = [0.0, 0.0, 0.0]
    agent = library.rescue_agents.get(plan.rescue_agent) if plan.rescue_agent else None
    if agent is not None:
        spared = agent.efficacy
        if agent.ic50 is not None:
            rc = plan.rescue_concentration if math.isfinite(plan.rescue_concentration) else agent.concentration
            if edge and edge_effects:
                rc *= EDGE_CONCENTRATION_FACTOR
            spared *= occupancy(rc, agent.ic50, agent.hill)
        rescue[DEATH_MODES.index(agent.blocks)] = spared
    return WellPharmacology(
        kill_probability=c.emax * theta,
        mode_weights=weights,
        onset_h=c.onset_h * (1.0 + 0.5 * (1.0 - theta)),
        rate_per_h=c.rate_per_h * (0.25 + 0.75 * theta),
        rescue=tuple(rescue),
        background_per_h=bg,
        background_weights=bg_w,
        cycle_factor=1.0 / (1.0 - c.growth_inhibition * theta_g),
    )


def draw_lineage_fates(
    rng: np.random.Generator, n: int, pharm: WellPharmacology
) -> tuple[np.ndarray, np.ndarray]:
    """Compound fates of ``n`` founder lineages.

    Returns:
        ``(death_time_h, mode_index)``: hours after dosing (``inf`` for lineages
        the compound spares, including rescued ones) and the index into
        :data:`DEATH_MODES` (``-1`` when spared).
    """
    u = rng.random(n)
    mode = rng.choice(3, size=n, p=np.asarray(pharm.mode_weights) / sum(pharm.mode_weights))
    lag = pharm.onset_h * np.exp(0.25 * rng.standard_normal(n))
    wait = rng.gamma(2.0, 1.0 / (2.0 * pharm.rate_per_h), size=n)
    spared = rng.random(n) < np.asarray(pharm.rescue)[mode]
    committed = (u < pharm.kill_probability) & ~spared
    t = np.where(committed, lag + wait, np.inf)
    return t, np.where(committed, mode, -1)


def draw_background_death(
    rng: np.random.Generator, birth_h: float, pharm: WellPharmacology
) -> tuple[float, int]:
    """Background death time (absolute hours) and mode index of one cell born at ``birth_h``."""
    if pharm.background_per_h <= 0:
        return math.inf, -1
    t = birth_h + rng.exponential(1.0 / pharm.background_per_h)
    w = np.asarray(pharm.background_weights)
    return float(t), int(rng.choice(3, p=w / w.sum()))
