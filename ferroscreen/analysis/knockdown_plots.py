"""Figures for knockdown screens (matplotlib; each function returns a Figure).

All functions take the tables of :func:`ferroscreen.analysis.knockdown.call_hits`
(``HitResult.wells`` / ``HitResult.genes``) and never call ``plt.show``; the
caller saves or embeds the figure and closes it. Each figure is a
:class:`~ferroscreen.plate.quiet_figure.QuietFigure` (no warning on stderr
for a glyph the font lacks) and gene names are cut to
:data:`~ferroscreen.plate.quiet_figure.LABEL_CHARS` characters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["count_area_quadrant", "plate_heatmap", "replicate_scatter", "volcano"]


def _figure(figsize):
    from ferroscreen.plate.quiet_figure import QuietFigure

    return QuietFigure(figsize=figsize, layout="constrained")


def _label(text) -> str:
    from ferroscreen.plate.quiet_figure import short_label

    return short_label(text)


def _name_point(ax, name, x: float, y: float) -> None:
    """Write ``name`` (cut to a label) beside the point, towards the middle of the axes, out of the layout.

    A point in the right half is named to its left, so a long name stays in the
    figure; the name takes no room from the axes in the constrained layout.
    """
    ax.autoscale_view()
    right = (ax.transScale + ax.transLimits).transform((x, y))[0] > 0.5
    text = ax.annotate(_label(name), (x, y), xytext=(-3 if right else 3, 2), textcoords="offset points",
                       ha="right" if right else "left", fontsize=6, parse_math=False)
    text.set_in_layout(False)


def plate_heatmap(wells: pd.DataFrame, value: str = "fc_count", plate: str | None = None):
    """Plate map of one plate's ``value`` (rows x columns), controls outlined."""
    if plate is None:
        plate = sorted(wells["plate"].unique())[0]
    g = wells[wells["plate"] == plate]
    n_rows = max(int(g["row"].max()) + 1, 8)
    n_cols = max(int(g["col"].max()) + 1, 12)
    grid = np.full((n_rows, n_cols), np.nan)
    grid[g["row"].to_numpy(int), g["col"].to_numpy(int)] = g[value].to_numpy(float)
    fig = _figure((0.35 * n_cols + 2, 0.35 * n_rows + 1))
    ax = fig.add_subplot()
    im = ax.imshow(grid, cmap="viridis", interpolation="nearest")
    fig.colorbar(im, ax=ax, label=value, shrink=0.8)
    ctrl = g[g["is_control"]]
    ax.scatter(ctrl["col"], ctrl["row"], s=30, facecolors="none", edgecolors="white", lw=0.8, label="non-targeting")
    ax.set_xticks(range(n_cols), [str(c + 1) for c in range(n_cols)], fontsize=6)
    ax.set_yticks(range(n_rows), [_row_name(r) for r in range(n_rows)], fontsize=6)
    ax.set_title(f"plate {_label(plate)}: {value}", parse_math=False)
    ax.legend(loc="upper right", fontsize=6, bbox_to_anchor=(1, -0.02))
    return fig


def _row_name(r: int) -> str:
    return chr(65 + r) if r < 26 else "A" + chr(65 + r - 26)


def replicate_scatter(wells: pd.DataFrame, value: str = "log2fc_count"):
    """Per-gene ``value`` in replicate 1 vs replicate 2 (plates when no replicate column)."""
    s = wells[~wells["is_control"].astype(bool)]
    if "role" in s.columns:
        s = s[s["role"].astype(str) == "sample"]
    s = s.copy()
    if "replicate" not in s.columns or s["replicate"].nunique() < 2:
        plates = sorted(s["plate"].unique())
        s["replicate"] = s["plate"].map({p: i + 1 for i, p in enumerate(plates)})
    reps = sorted(s["replicate"].dropna().unique())
    fig = _figure((4, 4))
    ax = fig.add_subplot()
    if len(reps) >= 2:
        a = s[s["replicate"] == reps[0]].groupby("gene")[value].median()
        b = s[s["replicate"] == reps[1]].groupby("gene")[value].median()
        j = pd.concat([a, b], axis=1, join="inner").dropna()
        ax.scatter(j.iloc[:, 0], j.iloc[:, 1], s=6, alpha=0.6)
        lim = [np.nanmin(j.to_numpy()), np.nanmax(j.to_numpy())] if len(j) else [0, 1]
        ax.plot(lim, lim, color="grey", lw=0.8)
        r = np.corrcoef(j.iloc[:, 0], j.iloc[:, 1])[0, 1] if len(j) > 2 else np.nan
        ax.set_title(f"replicates: r = {r:.2f} (n = {len(j)})")
        ax.set_xlabel(f"{value}, replicate {reps[0]}")
        ax.set_ylabel(f"{value}, replicate {reps[1]}")
    else:
        ax.set_title("one replicate only")
    return fig


def count_area_quadrant(
    genes: pd.DataFrame, count_threshold: float = 0.5, area_threshold: float = 1.7, label_top: int = 10
):
    """Nuclei-count vs nuclear-area fold change per gene, thresholds drawn, top hits named."""
    fig = _figure((5, 4))
    ax = fig.add_subplot()
    hit = genes["hit"].to_numpy(bool)
    ax.scatter(genes["fc_count"], genes["fc_area"], s=6, c=np.where(hit, "tab:red", "tab:grey"), alpha=0.7)
    ax.axvline(count_threshold, color="k", lw=0.7, ls="--")
    ax.axhline(area_threshold, color="k", lw=0.7, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    for r in genes.head(label_top).itertuples(index=False):
        if r.hit:
            _name_point(ax, r.gene, r.fc_count, r.fc_area)
    ax.set_xlabel("nuclei count / non-targeting")
    ax.set_ylabel("nuclear area / non-targeting")
    return fig


def volcano(genes: pd.DataFrame, readout: str = "count", label_top: int = 10):
    """log2 fold change vs -log10 q for one readout (``count`` or ``area``)."""
    fig = _figure((5, 4))
    ax = fig.add_subplot()
    x = np.log2(genes[f"fc_{readout}"].clip(lower=1e-3))
    y = -np.log10(genes[f"q_{readout}"].clip(lower=1e-300))
    hit = genes["hit"].to_numpy(bool)
    ax.scatter(x, y, s=6, c=np.where(hit, "tab:red", "tab:grey"), alpha=0.7)
    for r, xi, yi in zip(genes.head(label_top).itertuples(index=False), x, y, strict=False):
        if r.hit:
            _name_point(ax, r.gene, xi, yi)
    ax.set_xlabel(f"log2 {readout} fold change")
    ax.set_ylabel("-log10 q (BH)")
    return fig
