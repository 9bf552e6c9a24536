"""Rescue confirmation: does an inhibitor of a death mode shift the compound's curve?

A rescue pair is a treatment ``"<compound> + <agent>"`` and the compound
alone in the same group. The agent's mode comes from the layout's ``mode``
column of the rescue wells, or else from :data:`RESCUE_AGENT_MODES`
(ferrostatin-1 -> ferroptosis, necrostatin-1 -> necroptosis, zVAD ->
apoptosis, ...). The pair is compared on that mode's endpoint fraction
``frac_<mode>`` (else ``viability``, else the first shared readout).

The rescue **confirms** the mode when the compound alone is ``active`` and
the rescue either abolishes the response (rescued curve not active), or
shifts it right by at least ``min_shift``-fold with the lower confidence
limit of the EC50 ratio above 1 (delta method on the log scale, ``shift_lo``;
Fieller's interval on the linear scale is reported beside it), or halves the
fitted effect at the highest dose.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis.potency import ratio_intervals

#: Known death-mode inhibitors (lower-case names and common spellings) -> mode.
RESCUE_AGENT_MODES = {
    "ferrostatin-1": "ferroptosis",
    "ferrostatin": "ferroptosis",
    "fer-1": "ferroptosis",
    "fer1": "ferroptosis",
    "liproxstatin-1": "ferroptosis",
    "lip-1": "ferroptosis",
    "deferoxamine": "ferroptosis",
    "dfo": "ferroptosis",
    "necrostatin-1": "necroptosis",
    "necrostatin-1s": "necroptosis",
    "nec-1": "necroptosis",
    "nec-1s": "necroptosis",
    "gsk872": "necroptosis",
    "gsk'872": "necroptosis",
    "gsk-872": "necroptosis",
    "necrosulfonamide": "necroptosis",
    "nsa": "necroptosis",
    "z-vad-fmk": "apoptosis",
    "zvad-fmk": "apoptosis",
    "z-vad": "apoptosis",
    "zvad": "apoptosis",
    "q-vd-oph": "apoptosis",
    "qvd-oph": "apoptosis",
    "emricasan": "apoptosis",
}

RESCUE_COLUMNS = [
    "compound", "rescue_agent", "mode", "group", "readout", "call_alone", "call_rescued",
    "ec50_alone", "ec50_rescued", "shift", "shift_lo", "shift_hi", "fieller_lo", "fieller_hi",
    "effect_alone", "effect_rescued", "effect_reduction", "confirms", "verdict",
]  # fmt: skip


def rescue_agent_mode(agent: str, layout_mode: str = "") -> str:
    """Mode an agent rescues: the layout's mode if it names a death mode, else the known table."""
    if layout_mode and layout_mode not in ("alive", ""):
        return layout_mode
    return RESCUE_AGENT_MODES.get(str(agent).strip().lower(), "")


def _fmt(x: float) -> str:
    return "inf" if not np.isfinite(x) else f"{x:.3g}"


def confirm_rescues(
    fits: pd.DataFrame, level: float = 0.95, min_shift: float = 2.0
) -> pd.DataFrame:
    """One row per rescue pair with the EC50 shift and whether it confirms the mode.

    Args:
        fits: Fits with curve metadata (``compound, treatment, rescue_agent, group, mode``).
        level: Confidence level of the shift interval.
        min_shift: Minimal fold shift of the EC50.

    Returns:
        Columns :data:`RESCUE_COLUMNS`; ``shift`` is EC50(rescued) / EC50(alone).
    """
    if "rescue_agent" not in fits.columns:
        return pd.DataFrame(columns=RESCUE_COLUMNS)
    rescued = fits[fits["rescue_agent"].fillna("") != ""]
    rows = []
    for (compound, agent, group), sub in rescued.groupby(
        ["compound", "rescue_agent", "group"], sort=False
    ):
        mode = rescue_agent_mode(agent, next((m for m in sub["mode"] if m), ""))
        alone = fits[
            (fits["treatment"] == compound)
            & (fits["group"] == group)
            & (fits["rescue_agent"].fillna("") == "")
        ]
        shared = [r for r in sub["readout"] if r in set(alone["readout"])]
        if not shared:
            continue
        for pref in (f"frac_{mode}", "viability"):
            if pref in shared:
                readout = pref
                break
        else:
            readout = shared[0]
        a = alone[alone["readout"] == readout].iloc[0]
        r = sub[sub["readout"] == readout].iloc[0]
        ri = ratio_intervals(
            r["ec50"], r["ec50_se"], r["df"] if r["df"] > 0 else np.inf,
            a["ec50"], a["ec50_se"], a["df"] if a["df"] > 0 else np.inf, level,
        )  # fmt: skip
        shift = float(ri["ratio"])
        lo, hi = float(ri["log_lo"]), float(ri["log_hi"])
        f_lo, f_hi = float(ri["fieller_lo"]), float(ri["fieller_hi"])
        eff_a, eff_r = float(a["effect"]), float(r["effect"])
        with np.errstate(invalid="ignore", divide="ignore"):
            reduction = 1.0 - abs(eff_r) / abs(eff_a) if eff_a else np.nan
        base_active = a["call"] == "active"
        abolished = r["call"] != "active"
        shifted = np.isfinite(shift) and shift >= min_shift and np.isfinite(lo) and lo > 1.0
        halved = np.isfinite(reduction) and reduction >= 0.5
        confirms = bool(base_active and (abolished or shifted or halved))
        mode_txt = mode or "its mode"
        if not base_active:
            verdict = f"{compound} alone is not active on {readout}: rescue not assessable"
        elif confirms:
            why = (
                "abolishes the response" if abolished
                else f"EC50 shift {_fmt(shift)}x ({int(level * 100)}% CI {_fmt(lo)}-{_fmt(hi)})"
                if shifted else f"effect reduced by {reduction:.0%}"
            )  # fmt: skip
            verdict = f"{compound} + {agent} rescue confirms {mode_txt} ({why})"
        else:
            verdict = (
                f"{compound} + {agent} rescue does not confirm {mode_txt} "
                f"(EC50 shift {_fmt(shift)}x, effect reduced by {reduction:.0%})"
            )
        rows.append(
            {
                "compound": compound, "rescue_agent": agent, "mode": mode, "group": group,
                "readout": readout, "call_alone": a["call"], "call_rescued": r["call"],
                "ec50_alone": a["ec50"], "ec50_rescued": r["ec50"], "shift": shift,
                "shift_lo": lo, "shift_hi": hi, "fieller_lo": f_lo, "fieller_hi": f_hi,
                "effect_alone": eff_a, "effect_rescued": eff_r, "effect_reduction": reduction,
                "confirms": confirms, "verdict": verdict,
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=RESCUE_COLUMNS)
