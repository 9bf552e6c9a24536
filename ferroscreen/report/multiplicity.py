"""What the report says of its many tests: how a curve is called active, and how the rescues are tested.

A screen tests many curves and several rescues at once. The report states, with the folder's numbers:

* the **activity rule** (:func:`activity_rule`): a curve is ``active`` when its test against a flat
  line (:mod:`ferroscreen.analysis.activity`), Benjamini–Hochberg adjusted within each readout over
  every curve of that readout with a p-value (``fit_curves`` adjusts per readout: compounds,
  references, controls and rescue curves together), has ``q <= alpha`` *and* its fitted effect is at
  least ``min_effect``. ``alpha`` and ``min_effect`` are read from ``provenance.json``'s ``fit``
  record where it holds them, else the defaults are named as such. The family is checked, not
  assumed: each readout's q-values are recomputed from its p-values, and the calls from the rule;
  a mismatch is said;
* which readout each mode is **ranked on** (:func:`ranked_on_note`), the others being in ``fits.csv``;
* that each **rescue** is tested on its own at 5 % (:func:`rescue_note`), with the Holm-adjusted
  p-value of each test over the ``p_value`` column of ``rescue.csv`` (:func:`holm_adjusted`). The
  verdicts stay the analysis's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from ferroscreen.analysis.activity import FRACTION_MIN_EFFECT, bh_qvalues
from ferroscreen.report.compounds import ranked_readouts
from ferroscreen.report.results import Results

#: The activity test's FDR level: ``fit_curves``'s default (``ferroscreen fit`` has no option for it).
DEFAULT_ALPHA = 0.05
#: The level each rescue is tested at (``confirm_rescues``'s ``alpha``; a potency ratio's 95 % CI).
RESCUE_ALPHA = 0.05
#: How closely recomputed q-values must match ``fits.csv``'s (its numbers are written in full).
_Q_RTOL = 1e-6

_MIN_EFFECT_FROM = {
    "--min-effect": "set with --min-effect",
    "default": "the default",
    "fraction": "the default of a fraction readout",
    "vehicle": "10 % of the readout's vehicle level",
    "upper": "10 % of the readout's upper level",
}


def _fit_record(res: Results) -> dict:
    fit = (res.provenance or {}).get("fit")
    return fit if isinstance(fit, dict) else {}


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _alpha(res: Results) -> tuple[float, str]:
    """The activity calls' ``alpha`` and where it comes from, in words."""
    given = _number(_fit_record(res).get("alpha"))
    if given is not None:
        return given, "provenance.json"
    return DEFAULT_ALPHA, "ferroscreen's fixed level; provenance.json does not record it"


def _min_effect(res: Results, readouts: list[str]) -> tuple[dict[str, float] | None, str]:
    """``readout -> min_effect`` (None when unknown) and the threshold in words."""
    fit = _fit_record(res)
    value, source = fit.get("min_effect"), fit.get("min_effect_from")
    if _number(value) is not None:
        why = _MIN_EFFECT_FROM.get(str(source), "provenance.json")
        return dict.fromkeys(readouts, float(value)), f"{float(value):g} ({why})"
    if isinstance(value, Mapping) and all(_number(v) is not None for v in value.values()):
        per = {str(k): float(v) for k, v in value.items()}
        text = ", ".join(f"{k} {v:.3g}" for k, v in per.items())
        return {r: per.get(r, FRACTION_MIN_EFFECT) for r in readouts}, f"per readout ({text}; provenance.json)"
    if fit.get("input_kind") == "tidy" or (res.ranking is None and fit.get("input_kind") is None):
        return None, ("as fitted: provenance.json does not record it (ferroscreen's default is 0.1 on a "
                      "fraction scale, else 10 % of the readout's reference level)")
    return dict.fromkeys(readouts, FRACTION_MIN_EFFECT), (
        f"{FRACTION_MIN_EFFECT:g} (the default of a fit with a layout; provenance.json does not record it)")


def _test_name(fits: pd.DataFrame) -> str:
    models = set(fits["model"].astype(str).str.lower()) if "model" in fits.columns else set()
    if models == {"ll2"}:
        return "a likelihood-ratio test"
    return "an F-test (a likelihood-ratio test for binomial ll2 fits)" if "ll2" in models else "an F-test"


def _readout_column(fits: pd.DataFrame) -> pd.Series:
    if "readout" in fits.columns:
        return fits["readout"].astype(str)
    return pd.Series("response", index=fits.index)


def _bh_matches(fits: pd.DataFrame, readout: pd.Series) -> bool:
    """Whether ``q_value`` is the Benjamini–Hochberg adjustment of ``p_value`` within each readout."""
    for _, sub in fits.groupby(readout, sort=False):
        p, q = sub["p_value"].to_numpy(float), sub["q_value"].to_numpy(float)
        if not np.allclose(bh_qvalues(p), q, rtol=_Q_RTOL, atol=0.0, equal_nan=True):
            return False
    return True


def _off_rule(fits: pd.DataFrame, readout: pd.Series, alpha: float, thresholds: dict[str, float]) -> int:
    """How many fitted curves ``fits.csv`` calls otherwise than ``q <= alpha`` and ``|effect| >= min_effect``."""
    calls = fits["call"].astype(str)
    judged = calls.isin(["active", "inactive"]).to_numpy() & fits["effect"].notna().to_numpy()
    q = fits["q_value"].to_numpy(float)
    need = readout.map(thresholds).to_numpy(float)
    with np.errstate(invalid="ignore"):
        rule = (q <= alpha) & (np.abs(fits["effect"].to_numpy(float)) >= need * (1 - 1e-12))
    return int(np.sum(judged & (rule != (calls == "active").to_numpy())))


def activity_rule(res: Results) -> dict | None:
    """The activity rule with this folder's numbers, or None without a ``fits.csv`` holding calls.

    Returns:
        ``{"rule": str, "per_readout": [{"readout", "tested", "active", "failed"}], "checks": [str]}``:
        the rule in words (test, adjustment and its family, ``alpha``, ``min_effect``), the active
        and tested (BH family) curves of each readout in ``fits.csv``'s order, and sentences saying
        where ``fits.csv`` departs from the rule (q-values that are no per-readout BH adjustment of
        its p-values; calls the rule would not give).
    """
    fits = res.fits
    if fits is None or "call" not in fits.columns or fits.empty:
        return None
    readout = _readout_column(fits)
    order = list(dict.fromkeys(readout))
    alpha, alpha_from = _alpha(res)
    thresholds, effect_text = _min_effect(res, order)
    has_p = {"p_value", "q_value"} <= set(fits.columns)
    per_readout = []
    for r in order:
        sub = fits[readout == r]
        tested = int(sub["p_value"].notna().sum()) if has_p else len(sub)
        per_readout.append({"readout": r, "tested": tested, "active": int((sub["call"] == "active").sum()),
                            "failed": int((sub["call"] == "failed").sum())})
    rule = (f"A curve is called active when both hold: (1) its fitted curve follows the wells significantly "
            f"better than a flat line ({_test_name(fits)}), after the p-values are adjusted for testing many "
            f"curves at once (Benjamini–Hochberg false discovery rate: the q-value), with q ≤ {alpha:g} "
            f"({alpha_from}), so that on average at most about {alpha:.0%} of the curves passing this test are "
            f"false positives; (2) the fitted change from no drug to the highest dose is at least "
            f"{effect_text}, in the readout's units (0.1 of a fraction is 10 percentage points). ")
    checks = []
    if not has_p:
        rule += "fits.csv has no p_value and q_value columns: its calls are shown as it gives them."
    elif _bh_matches(fits, readout):
        rule += (f"The adjustment runs within each readout, over every curve of it with a p-value (compounds, "
                 f"references, controls and rescue curves alike; failed fits take no part): "
                 f"{len(order)} readout{'s' if len(order) != 1 else ''}, {_families(per_readout)}.")
    else:
        rule += "The adjustment runs within each readout, over every curve of it with a p-value."
        checks.append("fits.csv's q-values are not a Benjamini–Hochberg adjustment of its p-values within each "
                      "readout (an edited fits.csv, or fits of several runs joined?): the calls are shown as it "
                      "gives them.")
    if has_p and thresholds is not None and "effect" in fits.columns:
        off = _off_rule(fits, readout, alpha, thresholds)
        if off:
            checks.append(f"{off} curve{'s' if off != 1 else ''} of fits.csv {'are' if off != 1 else 'is'} called "
                          f"otherwise than this rule gives with q ≤ {alpha:g} and that minimal effect (another "
                          f"level or threshold in the fit?): the calls are shown as fits.csv gives them.")
    return {"rule": rule, "per_readout": per_readout, "checks": checks}


def _families(per_readout: list[dict]) -> str:
    sizes = {d["tested"] for d in per_readout}
    if len(sizes) == 1:
        n = sizes.pop()
        return f"{n} curve{'s' if n != 1 else ''} each"
    return "of " + ", ".join(f"{d['tested']} ({d['readout']})" for d in per_readout) + " curves"


def active_counts(rule: dict | None) -> str:
    """``peak_apoptosis 2 of 8, ...``: active of tested curves per readout (``""`` without a rule)."""
    if not rule:
        return ""
    return ", ".join(f"{d['readout']} {d['active']} of {d['tested']}" for d in rule["per_readout"])


def ranked_on_note(res: Results, rule: dict | None) -> str:
    """Which readout each mode is ranked on, its active curves, and where the other readouts' calls are.

    ``""`` without a ranking; a ranking without a ``readout`` column is said to name none.
    """
    if res.ranking is None:
        return ""
    ranked = ranked_readouts(res)
    if not ranked:
        return ("ranking.csv does not say which readout each mode was ranked on; every readout's calls are in "
                "each compound's fits table and in fits.csv.")
    counts = {d["readout"]: d for d in (rule or {}).get("per_readout", [])}

    def one(mode: str, readout: str) -> str:
        d = counts.get(readout)
        return f"{mode} on {readout}" + (f" ({d['active']} of {d['tested']} curves active)" if d else "")

    others = [d["readout"] for d in (rule or {}).get("per_readout", []) if d["readout"] not in ranked.values()]
    text = ("Each mode is ranked on one readout: " + "; ".join(one(m, r) for m, r in ranked.items())
            + ". A compound is a hit of a mode (tier active) when that curve is called active and moves towards "
            "the mode; the top hits, ranks and each compound's mode plot use that readout only.")
    if others:
        text += (f" The calls on the other readouts ({', '.join(others)}) play no part in the ranking: they are "
                 f"in each compound's fits table and in fits.csv.")
    return text


def ranked_on_short(res: Results) -> str:
    """``Ranked on one readout per mode: apoptosis peak_apoptosis, ... (see Ranking).`` (``""`` if not known)."""
    ranked = ranked_readouts(res)
    if not ranked:
        return ""
    return ("Ranked on one readout per mode: " + ", ".join(f"{m} {r}" for m, r in ranked.items())
            + "; the other readouts' calls are in fits.csv (see Ranking).")


def holm_adjusted(table: pd.DataFrame | None) -> pd.Series:
    """Holm-adjusted ``p_value`` of each row of a rescue table, over its rows with a p-value (NaN elsewhere).

    A row whose compound alone has no effect (``call_alone`` not ``active``: "rescue not assessable")
    can confirm nothing whatever its p-value, so it is no test of the family. Indexed as ``table``
    (empty for None or a table without ``p_value``).
    """
    if table is None or "p_value" not in table.columns:
        return pd.Series(dtype=float)
    p = pd.to_numeric(table["p_value"], errors="coerce").to_numpy(float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if "call_alone" in table.columns:
        ok &= (table["call_alone"].fillna("active").astype(str) == "active").to_numpy()
    if ok.any():
        out[ok] = multipletests(np.clip(p[ok], 0.0, 1.0), method="holm")[1]
    return pd.Series(out, index=table.index)


def rescue_note(res: Results, n_shown: int) -> str:
    """What the rescue verdicts' level means with several tests (``""`` without a rescue shown).

    The tests counted are ``rescue.csv``'s rows with a p-value (the family of :func:`holm_adjusted`),
    else the ``n_shown`` comparisons the report shows.
    """
    if not n_shown:
        return ""
    held = int(holm_adjusted(res.rescue).notna().sum())
    n = held or n_shown
    if n == 1:
        return f"The rescue is tested at the {RESCUE_ALPHA:.0%} level (one rescue test)."
    where = " of rescue.csv" if held else " shown"
    text = (f"Each rescue is tested on its own at the {RESCUE_ALPHA:.0%} level: the verdicts are not adjusted for "
            f"the {n} rescue test{'s' if n != 1 else ''}{where}. If no agent rescued anything, about {n} × "
            f"{RESCUE_ALPHA:g} = {n * RESCUE_ALPHA:.2g} false confirmations would be expected.")
    if held:
        text += (f" Beside each: its p-value, and that p-value adjusted over the {n} tests (Holm); a confirmation "
                 f"that rests on it and whose adjusted p exceeds {RESCUE_ALPHA:g} does not hold up against the "
                 f"number of tests.")
    return text
