"""Recovery of known truth on simulated dose-response curves, with a figure.

Usage::

    .venv/bin/python benchmarks/simulated_validation.py [--seeds 0 1 2] [--out sim_validation.png]

Per seed: 600 LL.4 curves (rising death fractions, triplicates, Gaussian noise
0.05, zero-dose controls) and 500 flat curves
(:func:`ferroscreen.analysis.validation.simulate_curves`), fitted together
with ``fit_curves`` (LL.4, BH FDR over all 1100). Prints the median
|log10 EC50 error|, the 95 % EC50 interval coverage and the false / true
active-call rates; the figure shows estimated vs true EC50 with intervals and
the coverage by seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ferroscreen.analysis import fit_curves  # noqa: E402
from ferroscreen.analysis.validation import recovery_summary, simulate_curves  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("sim_validation.png"))
    args = ap.parse_args()
    summaries = []
    first = None
    for seed in args.seeds:
        table, truth = simulate_curves(seed=seed)
        fits = fit_curves(table)
        s = recovery_summary(fits, truth)
        summaries.append(s)
        print(f"seed {seed}: " + ", ".join(f"{k}={v:.4g}" for k, v in s.items()))
        if first is None:
            first = truth.merge(fits, on="curve", suffixes=("_true", ""))
    keys = ("median_abs_log10_ec50_error", "ec50_ci_coverage", "false_active_rate",
            "true_active_rate")
    for k in keys:
        vals = [s[k] for s in summaries]
        print(f"{k}: mean {np.mean(vals):.4f} (range {min(vals):.4f}-{max(vals):.4f})")

    act = first[first["active"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    x = np.log10(act["ec50_true"])
    y = np.log10(act["ec50"])
    covered = (act["ec50_lo"] <= act["ec50_true"]) & (act["ec50_true"] <= act["ec50_hi"])
    err = np.vstack([y - np.log10(act["ec50_lo"]), np.log10(act["ec50_hi"]) - y])
    for mask, color, label in ((covered, "tab:blue", "CI covers truth"),
                               (~covered, "tab:red", "CI misses truth")):
        axes[0].errorbar(x[mask], y[mask], yerr=err[:, mask.to_numpy()], fmt="o", ms=2,
                         lw=0.5, color=color, alpha=0.6, label=f"{label} ({int(mask.sum())})")
    lims = [x.min() - 0.3, x.max() + 0.3]
    axes[0].plot(lims, lims, "k--", lw=1)
    axes[0].set(xlabel="true log10 EC50 (M)", ylabel="fitted log10 EC50 (M)",
                title=f"600 simulated LL.4 curves (seed {args.seeds[0]})")
    axes[0].legend(fontsize=8)
    cov = [s["ec50_ci_coverage"] for s in summaries]
    fal = [s["false_active_rate"] for s in summaries]
    pos = np.arange(len(args.seeds))
    axes[1].bar(pos - 0.2, cov, 0.4, label="95% CI coverage")
    axes[1].bar(pos + 0.2, fal, 0.4, label="false active rate (flat)")
    axes[1].axhspan(0.90, 0.98, color="tab:green", alpha=0.15, label="coverage target")
    axes[1].axhline(0.05, color="tab:red", lw=1, ls=":", label="false-call limit")
    axes[1].set(xticks=pos, xticklabels=[f"seed {s}" for s in args.seeds], ylim=(0, 1.05),
                title="coverage and false calls")
    axes[1].legend(fontsize=8, loc="center right")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
