"""The curve design's kill shift (the killing curve's EC50 ratio) and the single-dose verdict of a sensitisation.

A Fer-1 that abolishes a compound's ferroptosis leaves a flat ``frac_ferroptosis`` curve (no ``shift``), while
the compound still kills through another mode at higher doses: its viability curve moves right. ``rescue.csv``
gives that shift (``kill_readout``, ``kill_shift``, ``kill_shift_lo``, ``kill_shift_hi``) as
:func:`~ferroscreen.analysis.potency.potency_ratio` computes it, and the verdict states it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import confirm_rescues, potency_ratio
from ferroscreen.analysis.screen import analyse_screen
from ferroscreen.plate import make_layout

DOSES = [1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5]


def _fit(readout: str, call: str, ec50: float, effect: float, agent: str = "", **extra) -> dict:
    """One fits row of volasertib (alone, or with ``agent``), a Wald EC50 interval inside the doses."""
    treatment = "volasertib" + (f" + {agent}" if agent else "")
    se = 0.1 * ec50
    return dict(curve=treatment, readout=readout, compound="volasertib", treatment=treatment, rescue_agent=agent,
                group="", mode="", role="rescue" if agent else "sample", call=call, ec50=ec50, ec50_se=se,
                ec50_lo=ec50 - 2.05 * se, ec50_hi=ec50 + 2.05 * se, ec50_ci_method="wald", df=28.0,
                effect=effect, dose_min=1e-9, dose_max=1e-5, flags="", ec50_reportable=call == "active",
                model="ll4", rse=0.05, **extra)


def _fits(kill: str = "viability", rescued_call: str = "active") -> pd.DataFrame:
    """Ferroptosis abolished by Fer-1 (flat rescued curve); the killing curve (``kill``) 10-fold right."""
    sign = -1.0 if kill == "viability" else 1.0
    return pd.DataFrame([
        _fit("frac_ferroptosis", "active", 1e-7, 0.75),
        _fit("frac_ferroptosis", "inactive", 3e-9, 0.004, agent="Fer-1"),
        _fit(kill, "active", 1e-7, 0.85 * sign),
        _fit(kill, rescued_call, 1e-6, 0.85 * sign, agent="Fer-1"),
    ])


def test_the_killing_curve_shift_is_potency_ratios_and_the_verdict_says_it():
    fits = _fits()
    row = confirm_rescues(fits).iloc[0]
    assert row["readout"] == "frac_ferroptosis" and np.isnan(row["shift"])
    expected = potency_ratio(fits[fits["readout"] == "viability"], "volasertib + Fer-1", "volasertib")
    assert row["kill_readout"] == "viability"
    assert row["kill_shift"] == pytest.approx(10.0)
    assert row["kill_shift"] == pytest.approx(expected["ratio"])
    assert row["kill_shift_lo"] == pytest.approx(expected["ratio_lo"])
    assert row["kill_shift_hi"] == pytest.approx(expected["ratio_hi"])
    assert 1 < row["kill_shift_lo"] < 10 < row["kill_shift_hi"]
    assert (f"; viability EC50 shifted 10-fold (95% CI {row['kill_shift_lo']:.3g}-{row['kill_shift_hi']:.3g})"
            in row["verdict"])
    # it decides nothing: without wells the flat curve is no evidence, as before
    assert not row["confirms"] and "neither confirmed nor ruled out" in row["verdict"]


def test_without_counts_the_dead_fraction_is_the_killing_curve():
    row = confirm_rescues(_fits(kill="frac_dead")).iloc[0]
    assert row["kill_readout"] == "frac_dead" and row["kill_shift"] == pytest.approx(10.0)
    assert "frac_dead EC50 shifted 10-fold" in row["verdict"]


def test_a_killing_curve_not_active_gives_no_kill_shift():
    row = confirm_rescues(_fits(rescued_call="inactive")).iloc[0]
    assert row["kill_readout"] == "viability"
    assert np.isnan(row[["kill_shift", "kill_shift_lo", "kill_shift_hi"]].astype(float)).all()
    assert "EC50 shifted" not in row["verdict"]


def _screen(seed: int = 2):
    """volasertib alone (85 % of its death ferroptosis, EC50 30 nM) and with Fer-1 at every dose (apoptosis only,
    EC50 300 nM: the killing curve 10-fold right), three replicates; counts give viability."""
    rows = []
    wells = iter(f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13))
    for rep in range(8):
        rows.append(dict(well=next(wells), compound="DMSO", role="vehicle", replicate=rep + 1))
    for rep in (1, 2, 3):
        for dose in DOSES:
            rows.append(dict(well=next(wells), compound="volasertib", concentration=dose, replicate=rep))
            rows.append(dict(well=next(wells), compound="volasertib", concentration=dose, role="rescue",
                             rescue_agent="Ferrostatin-1", rescue_concentration=1e-6, replicate=rep))
    layout = make_layout(rows, 96)
    rng = np.random.default_rng(seed)
    records = []
    for row in layout.table.itertuples(index=False):
        rescued = row.rescue_agent == "Ferrostatin-1"
        kill, ferro_share = 0.0, 0.0
        if row.compound == "volasertib":
            kill = 0.9 / (1 + ((3e-7 if rescued else 3e-8) / row.concentration) ** 1.5)
            ferro_share = 0.0 if rescued else 0.85
        for t in np.arange(0, 49, 8.0):
            kin = 1 / (1 + np.exp(-(t - 12.0) / 3.0)) - 1 / (1 + np.exp(12.0 / 3.0))
            dead = kill * kin
            f_ferro = float(np.clip(0.02 + ferro_share * dead + rng.normal(0, 0.01), 0, 1))
            f_apo = float(np.clip(0.02 + (1 - ferro_share) * dead + rng.normal(0, 0.01), 0, 1))
            n = 1000 * (1 - kill * t / 48) * np.exp(rng.normal(0, 0.04))
            records.append(dict(plate="P1", well=row.well, time_h=t, n_cells=round(n),
                                frac_alive=1 - f_ferro - f_apo, frac_apoptosis=f_apo, frac_ferroptosis=f_ferro))
    return pd.DataFrame(records), layout


def test_a_whole_curve_rescue_reports_the_viability_shift_of_its_own_fits():
    res = analyse_screen(*_screen())
    row = res.rescue[res.rescue["compound"] == "volasertib"].iloc[0]
    assert row["design"] == "curve" and row["readout"] == "frac_ferroptosis" and row["confirms"]
    assert row["call_rescued"] == "inactive" and np.isnan(row["shift"])
    viab = res.fits[res.fits["readout"] == "viability"]
    num, den = (viab[viab["rescue_agent"].fillna("") == a]["curve"].iloc[0] for a in ("Ferrostatin-1", ""))
    expected = potency_ratio(viab, num, den)
    assert row["kill_readout"] == "viability"
    assert row["kill_shift"] == pytest.approx(expected["ratio"])
    assert (row["kill_shift_lo"], row["kill_shift_hi"]) == pytest.approx((expected["ratio_lo"], expected["ratio_hi"]))
    assert row["kill_shift_lo"] < 10 < row["kill_shift_hi"] and row["kill_shift_lo"] > 3
    assert "; viability EC50 shifted" in row["verdict"]


def test_a_significant_sensitisation_is_not_called_not_significant():
    alone = [0.40, 0.45, 0.42]
    rescued = [0.55, 0.58, 0.60, 0.56]
    vehicle = [0.05, 0.07, 0.06, 0.04, 0.05]
    tab = pd.DataFrame({
        "plate": "P1",
        "compound": ["X"] * 7 + ["DMSO"] * 5,
        "concentration": [1e-6] * 7 + [np.nan] * 5,
        "role": ["reference"] * 3 + ["rescue"] * 4 + ["vehicle"] * 5,
        "mode": ["ferroptosis"] * 7 + [""] * 5,
        "rescue_agent": [""] * 3 + ["ferrostatin-1"] * 4 + [""] * 5,
        "group": "",
        "frac_ferroptosis": alone + rescued + vehicle,
    })
    row = confirm_rescues(pd.DataFrame(), tab).iloc[0]
    assert row["p_value"] < 0.05 and row["effect_reduction"] < 0 and not row["confirms"]
    assert "not significant" not in row["verdict"]
    assert "increases the ferroptosis effect" in row["verdict"]
    assert "no rescue, sensitisation" in row["verdict"]


def test_the_kill_clause_never_prints_an_infinite_interval():
    """Was '(95% CI inf-inf)' for a ratio without an interval and '(100% CI 0-inf)' for an open one."""
    from ferroscreen.analysis.rescue import _kill_text

    base = {"kill_readout": "viability", "kill_level": 0.95, "kill_shift": 10.0}
    assert _kill_text({**base, "kill_shift_lo": np.nan, "kill_shift_hi": np.nan}).endswith("10-fold (no interval)")
    assert _kill_text({**base, "kill_level": 1.0, "kill_shift_lo": 0.0, "kill_shift_hi": np.inf}).endswith(
        "(no interval)")
    assert "from 3, no upper limit" in _kill_text({**base, "kill_shift_lo": 3.0, "kill_shift_hi": np.inf})
    open_ = _kill_text({**base, "kill_shift": 5.85, "kill_shift_lo": 0.279, "kill_shift_hi": np.inf})
    assert "not significantly shifted (ratio 5.85, 95% CI from 0.279, no upper limit)" in open_, open_
    holds = _kill_text({**base, "kill_shift": 1.31, "kill_shift_lo": 0.735, "kill_shift_hi": 2.33})
    assert "not significantly shifted (ratio 1.31, 95% CI 0.735-2.33)" in holds, holds
    text = _kill_text({**base, "kill_shift": 0.25, "kill_shift_lo": 0.1, "kill_shift_hi": 0.5})
    assert "lowered 4-fold (95% CI 2-10)" in text, text
