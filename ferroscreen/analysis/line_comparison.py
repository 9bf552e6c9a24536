"""Cell lines compared: each compound's potency and effect in one line against another.

A plate (or screen) holding several cell lines or growth conditions is fitted
per group (:func:`~ferroscreen.analysis.dose_tables.well_groups`): one curve
``<treatment> | <group>`` per readout. :func:`compare_lines` pairs the curves of
one treatment (no rescue agent) and readout across groups and answers the
question the biologist asks of them: is this line more or less sensitive, or
does the compound act in one line only?

Each pair ``(line_a, line_b)`` is ordered so that ``line_a`` is the more
sensitive one (lower EC50; an active curve before an inactive one), so
``ratio = EC50_b / EC50_a >= 1`` reads "``line_b`` needs ``ratio``-fold more".
The ratio's interval and Wald p-value are those of
:func:`~ferroscreen.analysis.potency.ratio_intervals` (delta method on the log
scale, Welch–Satterthwaite df); ``q_value`` is the Benjamini–Hochberg
adjustment over every row with a p-value. The ``verdict`` is one of

``differs``
    both curves active, ``q_value < alpha`` and the ratio at least ``min_fold``;
``similar``
    both active, no difference shown (the interval says how large one could be);
``selective``
    active in ``line_a`` only: its effect is at least ``min_effect``, the
    other line's curve is called inactive and its effect is under half of ``line_a``'s;
``not_comparable``
    a curve failed, an EC50 lies outside the tested doses
    (``ec50_out_of_range``), is bounded from below only
    (``far_plateau_undetermined``; but where that is the less sensitive line's
    and its lower bound is at least ``min_fold`` times the other's upper one, the
    pair ``differs`` with ``ratio_lo = ec50_lo / other ec50_hi``, ``ratio_hi``
    infinite, no p-value)
    or has no standard error; the ratio's interval spans
    more than :data:`MAX_CI_DECADES` decades (the EC50s are too uncertain to tell
    alike from different); or the inactive line's effect is as large as the active
    one's (called inactive for too few points or too much noise, not for a lack of effect).

Pairs where neither curve is active are left out. A compared pair whose
effects differ by more than :data:`PLATEAU_GAP` says so in ``note``: each EC50
is then the half-way point of another effect, and potency alone does not
describe the difference.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from ferroscreen.analysis.activity import bh_qvalues
from ferroscreen.analysis.potency import fit_df, ratio_intervals

COMPARISON_COLUMNS = [
    "compound", "readout", "line_a", "line_b", "call_a", "call_b", "ec50_a", "ec50_b",
    "ratio", "ratio_lo", "ratio_hi", "p_value", "q_value", "effect_a", "effect_b",
    "verdict", "note",
]

_UNUSABLE_FLAGS = ("failed", "ec50_out_of_range", "far_plateau_undetermined")
#: Effects (fitted plateau minus the vehicle level) further apart than this are noted on a compared pair.
PLATEAU_GAP = 0.25
#: A ratio interval wider than this many decades (hi / lo) compares nothing: ``not_comparable``.
MAX_CI_DECADES = 4.0


def _text(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip()


def _usable(row: pd.Series) -> str:
    """Why the curve's EC50 cannot be compared ("" when it can)."""
    flags = [f for f in str(row.get("flags", "") or "").split(";") if f]
    bad = [f for f in flags if f in _UNUSABLE_FLAGS]
    if row["call"] == "failed" or "failed" in bad:
        return "fit failed"
    if "far_plateau_undetermined" in bad:
        return "EC50 bounded from below only (far plateau undetermined)"
    if bad:
        return "EC50 outside the tested doses"
    ec50, se = float(row.get("ec50", np.nan)), float(row.get("ec50_se", np.nan))
    if not (np.isfinite(ec50) and ec50 > 0 and np.isfinite(se) and se > 0):
        return "no EC50 standard error"
    return ""


def _sort_key(row: pd.Series) -> tuple:
    active = row["call"] == "active"
    ec50 = float(row.get("ec50", np.nan))
    return (not active, ec50 if active and np.isfinite(ec50) else np.inf)


def _open_topped(row: pd.Series) -> bool:
    """An active curve flagged ``far_plateau_undetermined`` alone among the unusable flags, with a lower EC50 bound."""
    flags = {f for f in str(row.get("flags", "") or "").split(";") if f}
    lo = float(row.get("ec50_lo", np.nan))
    return ("far_plateau_undetermined" in flags and not flags & {"failed", "ec50_out_of_range"}
            and row["call"] == "active" and np.isfinite(lo) and lo > 0)


def _at_least_row(row: dict, a: pd.Series, b: pd.Series, min_fold: float) -> dict:
    """``b`` is bounded from below only: ``differs`` when its lower EC50 bound is ``min_fold`` times ``a``'s upper one.

    The ratio's lower limit is ``b.ec50_lo / a.ec50_hi`` (each a two-sided interval of the fits' level, so the
    ratio lies below it with probability at most ``1 - level``); its upper limit is unbounded and no p-value is
    given. As a compared pair's ``differs`` asks for a ratio of at least ``min_fold``, this one asks that of the
    ratio's lower limit: a lower limit above 1 alone (1.01x) says the lines differ, not that they differ by as
    much as a difference is called for; such a pair is ``not_comparable``, its ``note`` giving the limit.
    """
    lo_b, hi_a = float(b["ec50_lo"]), float(a.get("ec50_hi", np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_lo = lo_b / hi_a
    row.update(ratio_lo=ratio_lo, ratio_hi=np.inf)
    open_said = f"{b['group']}'s EC50 is bounded from below only (far plateau undetermined)"
    if np.isfinite(ratio_lo) and ratio_lo >= min_fold:
        row["verdict"] = "differs"
        row["note"] = f"{open_said}: at least {ratio_lo:.3g}x"
    elif np.isfinite(ratio_lo) and ratio_lo > 1:
        row["verdict"] = "not_comparable"
        row["note"] = (f"{open_said}: at least {ratio_lo:.3g}x, which does not show the {min_fold:g}-fold a "
                       f"difference is called at")
    else:
        row["verdict"] = "not_comparable"
        row["note"] = f"{b['group']}: EC50 bounded from below only (far plateau undetermined)"
    return row


def _pair_row(compound: str, readout: str, a: pd.Series, b: pd.Series, level: float, min_fold: float) -> dict:
    row = {
        "compound": compound, "readout": readout, "line_a": a["group"], "line_b": b["group"],
        "call_a": a["call"], "call_b": b["call"], "ec50_a": float(a.get("ec50", np.nan)),
        "ec50_b": float(b.get("ec50", np.nan)), "ratio": np.nan, "ratio_lo": np.nan, "ratio_hi": np.nan,
        "p_value": np.nan, "effect_a": float(a.get("effect", np.nan)), "effect_b": float(b.get("effect", np.nan)),
        "verdict": "", "note": "",
    }
    if b["call"] != "active":
        row["ec50_b"] = np.nan
        why = _usable(b) if b["call"] == "failed" else ""
        if not why and abs(row["effect_b"]) >= 0.5 * abs(row["effect_a"]):
            why = (f"called inactive, but its effect ({row['effect_b']:.2f}) is as large as {a['group']}'s "
                   f"({row['effect_a']:.2f}): too few points or too noisy to call")
        row["verdict"], row["note"] = ("not_comparable", f"{b['group']}: {why}") if why else ("selective", "")
        return row
    why = "; ".join(f"{r['group']}: {w}" for r in (a, b) if (w := _usable(r)))
    if why and not _usable(a) and _open_topped(b):
        return _at_least_row(row, a, b, min_fold)
    if why:
        row["verdict"], row["note"] = "not_comparable", why
        return row
    out = ratio_intervals(b["ec50"], b["ec50_se"], fit_df(b), a["ec50"], a["ec50_se"], fit_df(a), level)
    row.update(ratio=float(out["ratio"]), ratio_lo=float(out["log_lo"]), ratio_hi=float(out["log_hi"]),
               p_value=float(out["p_value"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        decades = np.log10(row["ratio_hi"] / row["ratio_lo"])
    if not np.isfinite(decades) or decades > MAX_CI_DECADES:
        row["verdict"] = "not_comparable"
        row["note"] = (f"the EC50s are too uncertain to compare (ratio {row['ratio']:.3g}x, CI "
                       f"{row['ratio_lo']:.3g}–{row['ratio_hi']:.3g}x)")
        return row
    if abs(row["effect_a"] - row["effect_b"]) > PLATEAU_GAP:
        row["note"] = (f"plateaus differ (effect {row['effect_a']:.2f} vs {row['effect_b']:.2f}): the EC50s are "
                       "half-way points of unequal effects")
    return row


def compare_lines(
    fits: pd.DataFrame,
    *,
    level: float = 0.95,
    alpha: float = 0.05,
    min_fold: float = 2.0,
    min_effect: float = 0.1,
) -> pd.DataFrame:
    """Every treatment × readout fitted in two or more groups, compared pairwise.

    Args:
        fits: A fits table from :func:`~ferroscreen.analysis.screen.analyse_screen`
            (``curve, readout, call, ec50, ec50_se, df, effect, flags`` and
            the curve info ``treatment`` (or ``compound``), ``rescue_agent``,
            ``group``, ``role``).
        level: Confidence level of the ratio interval.
        alpha: FDR level of the ``differs`` verdict.
        min_fold: Smallest EC50 ratio called ``differs``.
        min_effect: Smallest absolute effect of the active line for ``selective``.

    Returns:
        One row per pair (:data:`COMPARISON_COLUMNS`, module doc), sorted by
        compound, readout and q-value; empty when no treatment has two groups.
    """
    need = {"readout", "call", "group"}
    if fits is None or fits.empty or not need <= set(fits.columns):
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    f = fits.copy()
    f["group"] = _text(f["group"])
    name = _text(f["treatment"] if "treatment" in f.columns else f.get("compound", f["curve"]))
    f["_name"] = name
    agent = _text(f["rescue_agent"]) if "rescue_agent" in f.columns else pd.Series("", index=f.index)
    role = _text(f["role"]) if "role" in f.columns else pd.Series("sample", index=f.index)
    f = f[(f["group"] != "") & (agent == "") & role.isin(["", "sample", "reference"])]
    rows = []
    for (compound, readout), sub in f.groupby(["_name", "readout"], sort=True):
        if sub["group"].nunique() < 2:
            continue
        curves = sorted((r for _, r in sub.drop_duplicates("group").iterrows()), key=_sort_key)
        for a, b in combinations(curves, 2):
            if a["call"] != "active":
                continue
            if b["call"] != "active" and abs(float(a.get("effect", np.nan))) < min_effect:
                continue
            rows.append(_pair_row(str(compound), str(readout), a, b, level, min_fold))
    if not rows:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    out = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    out["q_value"] = bh_qvalues(out["p_value"].to_numpy(float))
    both = out["verdict"] == ""
    differs = both & (out["q_value"] < alpha) & (out["ratio"] >= min_fold)
    out.loc[differs, "verdict"] = "differs"
    out.loc[both & ~differs, "verdict"] = "similar"
    return out.sort_values(["compound", "readout", "q_value"], na_position="last", kind="stable").reset_index(
        drop=True)


def comparison_sentence(row: pd.Series) -> str:
    """One line for a comparison row, e.g. ``REH 33x less sensitive than Nalm6 (95% CI 12-90x, q 1e-05)``."""
    a, b = row["line_a"], row["line_b"]
    verdict = row["verdict"]
    if verdict == "selective":
        return f"active in {a} (effect {row['effect_a']:.2f}), inactive in {b}"
    if verdict == "not_comparable":
        return f"{a} vs {b}: not comparable ({row['note']})"
    ci = f"CI {row['ratio_lo']:.3g}–{row['ratio_hi']:.3g}x, q {row['q_value']:.2g}"
    note = f"; {row['note']}" if isinstance(row.get("note"), str) and row["note"] else ""
    if verdict == "differs" and not np.isfinite(row["ratio_hi"]):
        return f"{b} at least {row['ratio_lo']:.3g}x less sensitive than {a} ({row['note']})"
    if verdict == "differs":
        return f"{b} {row['ratio']:.3g}x less sensitive than {a} ({ci}){note}"
    return f"{a} and {b} alike (EC50 ratio {row['ratio']:.3g}x, {ci}){note}"


__all__ = ["COMPARISON_COLUMNS", "compare_lines", "comparison_sentence"]
