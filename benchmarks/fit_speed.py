"""Dose-response fitting speed and agreement: ferroscreen vs thunor vs scipy curve_fit.

Usage (from the repository root)::

    .venv/bin/python benchmarks/fit_speed.py \
        [--data ../shared/data/doseresponse/sarcoma1000_long.csv] \
        [--thunor-python /tmp/thunor-venv/bin/python] [--repeats 3] [--subset 200]

thunor (GPL) is never a ferroscreen dependency: install it in its own
environment (``python3 -m venv /tmp/thunor-venv && /tmp/thunor-venv/bin/pip
install thunor``); this script runs it through ``benchmarks/thunor_worker.py``
in that interpreter, interleaved with the ferroscreen runs so both see the same
machine load. Reported:

* seconds per curve for ferroscreen's ``fit_curves`` (whole call: validation,
  batched LM, Hessian SEs, delta-method EDs, F-test, FDR, flags) and for
  thunor's ``fit_drc`` loop (LL.4), best of ``--repeats``, and their ratio;
* that every curve gets a row with an EC50 or an explicit ``failed`` call/flag;
* EC50 agreement with drc-style fits by ``scipy.optimize.curve_fit`` (same
  LL.4 parameterisation, zero dose as the control limit, same bounds, best of
  a start grid) on a random subset, and with thunor where both call the curve
  active.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from ferroscreen.analysis import fit_curves

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "doseresponse" / "sarcoma1000_long.csv"


def time_ferroscreen(table: pd.DataFrame, repeats: int) -> tuple[list[float], pd.DataFrame]:
    fit_curves(table.head(200))  # warm-up (imports, caches)
    times = []
    fits = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        fits = fit_curves(table)
        times.append(time.perf_counter() - t0)
    return times, fits


def time_thunor(python: str, data: Path, repeats: int) -> dict:
    worker = Path(__file__).with_name("thunor_worker.py")
    out = subprocess.run(
        [python, str(worker), str(data), str(repeats)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def _ll4(x, b, c, d, log_e):
    z = np.clip(b * (np.log(np.where(x > 0, x, 1.0)) - log_e), -60, 60)
    return np.where(x > 0, c + (d - c) / (1 + np.exp(z)), np.where(b > 0, d, c))


def scipy_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """drc-style LL.4 by bounded ``curve_fit`` (TRF), best RSS over a start grid and both slope signs.

    Bounds match ferroscreen's documented window: plateaus within one data
    span beyond the dose means, EC50 within one decade beyond the tested
    doses, ``|b|`` in [0.05, 20] (sign fixed per start). Returns (EC50, RSS).
    """
    pos = x > 0
    means = pd.Series(y).groupby(x).mean()
    lo_y, hi_y = means.min(), means.max()
    span = max(hi_y - lo_y, 1e-6)
    lmin, lmax = np.log(x[pos].min()), np.log(x[pos].max())
    best = (np.nan, np.inf)
    for sign in (1.0, -1.0):
        b_lo, b_hi = (0.05, 20.0) if sign > 0 else (-20.0, -0.05)
        bounds = (
            [b_lo, lo_y - span, lo_y - span, lmin - np.log(10)],
            [b_hi, hi_y + span, hi_y + span, lmax + np.log(10)],
        )
        for u in (0.2, 0.5, 0.8):
            for slope in (1.0, 3.0):
                p0 = [sign * slope, lo_y, hi_y, lmin + u * (lmax - lmin)]
                try:
                    popt, _ = curve_fit(_ll4, x, y, p0=p0, bounds=bounds, maxfev=4000)
                except (RuntimeError, ValueError):
                    continue
                rss = float(np.sum((y - _ll4(x, *popt)) ** 2))
                if rss < best[1]:
                    best = (float(np.exp(popt[3])), rss)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--thunor-python", default="/tmp/thunor-venv/bin/python")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--subset", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not args.data.exists():
        sys.exit(f"{args.data}: benchmark data not found")
    table = pd.read_csv(args.data).rename(columns={"dose_M": "dose"})
    n_curves = table["curve"].nunique()
    warnings.simplefilter("ignore")

    # interleave: ferroscreen, thunor, ferroscreen (same machine load for both)
    fs_times, fits = time_ferroscreen(table, args.repeats)
    thunor = None
    if Path(args.thunor_python).exists():
        thunor = time_thunor(args.thunor_python, args.data, max(1, args.repeats - 1))
    else:
        print(f"thunor interpreter {args.thunor_python} not found: skipping thunor")
    fs_times2, _ = time_ferroscreen(table, args.repeats)
    fs_best = min(fs_times + fs_times2)

    print(f"data: {args.data} ({n_curves} curves, {len(table)} observations)")
    print(
        f"ferroscreen fit_curves: {fs_best * 1e3:.1f} ms total, "
        f"{fs_best / n_curves * 1e6:.1f} us/curve (best of {2 * args.repeats})"
    )
    if thunor is not None:
        th_best = min(thunor["seconds"])
        print(
            f"thunor fit_drc loop:    {th_best * 1e3:.1f} ms total, "
            f"{th_best / thunor['n_curves'] * 1e6:.1f} us/curve "
            f"(best of {len(thunor['seconds'])})"
        )
        ratio = (th_best / thunor["n_curves"]) / (fs_best / n_curves)
        verdict = "meets" if ratio >= 50 else "misses"
        print(f"speed ratio (thunor / ferroscreen per curve): {ratio:.0f}x ({verdict} the 50x target)")

    # every curve: a result or an explicit flag
    has_row = fits["curve"].nunique() == n_curves
    explained = np.isfinite(fits["ec50"]) | (fits["call"] == "failed") | (fits["flags"] != "")
    print(
        f"curves with a row: {fits['curve'].nunique()}/{n_curves}; with an EC50 or an explicit "
        f"flag: {int(explained.sum())}/{len(fits)} -> {'OK' if has_row and explained.all() else 'FAIL'}"
    )
    print(f"calls: {fits['call'].value_counts().to_dict()}")
    flags = fits["flags"].str.split(";").explode()
    print(f"flags: {flags[flags != ''].value_counts().to_dict()}")

    # agreement with scipy curve_fit (drc-style) on a random subset
    rng = np.random.default_rng(args.seed)
    names = rng.choice(fits["curve"].to_numpy(), size=min(args.subset, n_curves), replace=False)
    groups = dict(tuple(table.groupby("curve")))
    rows = []
    t0 = time.perf_counter()
    for name in names:
        g = groups[name]
        ec50, rss = scipy_fit(g["dose"].to_numpy(float), g["response"].to_numpy(float))
        rows.append((name, ec50, rss))
    sp_time = (time.perf_counter() - t0) / len(names)
    sp = pd.DataFrame(rows, columns=["curve", "ec50_scipy", "rss_scipy"])
    m = sp.merge(fits, on="curve")
    rss_fs = m["rse"] ** 2 * m["df"]
    clean = (m["call"] == "active") & ~m["flags"].str.contains("at_bound|poor_fit")
    d = np.abs(np.log10(m["ec50"]) - np.log10(m["ec50_scipy"]))
    print(
        f"scipy curve_fit (drc-style, 12 starts): {sp_time * 1e3:.1f} ms/curve on {len(m)} curves"
    )
    print(
        f"  RSS ferroscreen <= scipy (+1e-9 rel) on {(rss_fs <= m['rss_scipy'] * (1 + 1e-9)).mean():.1%}"
        f" of curves; median rel RSS diff {np.median((rss_fs - m['rss_scipy']) / m['rss_scipy']):.2e}"
    )
    print(
        f"  |log10 EC50 diff|, active curves without at_bound/poor_fit ({int(clean.sum())}): "
        f"median {np.median(d[clean]):.2e}, 95th pct {np.percentile(d[clean], 95):.2e}, "
        f"within 0.01: {(d[clean] < 0.01).mean():.1%}"
    )
    if thunor is not None:
        th = pd.Series(thunor["ec50"], name="ec50_thunor").rename_axis("curve").reset_index()
        mt = th.merge(fits, on="curve")
        ok = (mt["call"] == "active") & mt["ec50_thunor"].notna()
        ok &= ~mt["flags"].str.contains("at_bound|poor_fit|ec50_out_of_range")
        dt = np.abs(np.log10(mt.loc[ok, "ec50"]) - np.log10(mt.loc[ok, "ec50_thunor"].astype(float)))
        print(
            f"thunor vs ferroscreen |log10 EC50 diff| ({int(ok.sum())} clean active curves; thunor "
            f"fits drug doses only, ferroscreen includes the DMSO controls): median "
            f"{np.median(dt):.3f}, within 0.1: {(dt < 0.1).mean():.1%}"
        )


if __name__ == "__main__":
    main()
