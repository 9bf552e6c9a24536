"""Figures for knockdown screens (matplotlib; each function returns a Figure).

All functions take the tables of :func:`ferroscreen.analysis.knockdown.call_hits`
(``HitResult.wells`` / ``HitResult.genes``) and never call ``plt.show``; the
caller saves or embeds the figure and closes it. Each figure is a
:class:`~ferroscreen.plate.quiet_figure.QuietFigure` (no warning on stderr
for a glyph the font lacks) and gene names are cut to
:data:`~ferroscreen.plate.quiet_figure.LABEL_CHARS` characters.

No gene vanishes from a log axis: a fold change of 0 (the most lethal
knockdowns) is drawn at a floor, half the smallest positive value (volcano:
clipped at 1e-3), and one without a reading on a shaded strip below it; the
legend says where and counts them.

Hits are never told apart by colour alone: drawn larger, in :data:`HIT_COLOR`
with a black edge (the volcano: as diamonds, legended), the other genes as
small grey dots without an edge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["count_area_quadrant", "plate_heatmap", "replicate_scatter", "volcano"]

#: Colour of hits (Okabe–Ito vermillion) and of the other genes on the gene plots.
HIT_COLOR, OTHER_COLOR = "#D55E00", "#8c8c8c"


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
    """Plate map of one plate's ``value`` (rows x columns), controls outlined.

    The map shows the whole plate: its format is the smallest holding every well of ``wells``
    (all plates of the screen, so a plate whose last column is empty is still drawn as 384
    wells), at least 96 wells (:meth:`~ferroscreen.plate.wells.PlateFormat.of_layout`). A well
    of the plate's table without a ``value`` (no field read, or no reading of that readout) is
    drawn grey and crossed, legended with its number; wells the table does not hold (outside the
    layout, not imaged) are blank. The non-targeting controls are white rings outlined in black,
    seen on the colour map and in the legend alike.
    """
    from matplotlib import patheffects
    from matplotlib.patches import Patch, Rectangle

    if plate is None:
        plate = sorted(wells["plate"].unique())[0]
    g = wells[wells["plate"] == plate]
    n_rows, n_cols = _plate_shape(wells)
    grid = np.full((n_rows, n_cols), np.nan)
    grid[g["row"].to_numpy(int), g["col"].to_numpy(int)] = g[value].to_numpy(float)
    fig = _figure((0.35 * n_cols + 2, 0.35 * n_rows + 1))
    ax = fig.add_subplot()
    im = ax.imshow(grid, cmap="viridis", interpolation="nearest")
    fig.colorbar(im, ax=ax, label=value, shrink=0.8)
    unread = g[~np.isfinite(pd.to_numeric(g[value], errors="coerce").to_numpy(float))]
    unread = unread[["row", "col"]].dropna().astype(int).drop_duplicates()
    for r, c in unread.itertuples(index=False):
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, **_UNREAD))
    ctrl = g[g["is_control"]]
    outline = [patheffects.withStroke(linewidth=2.0, foreground="black")]
    ax.scatter(ctrl["col"], ctrl["row"], s=30, facecolors="none", edgecolors="white", lw=0.8, label="non-targeting",
               path_effects=outline)
    handles, _ = ax.get_legend_handles_labels()
    if len(unread):
        n = len(unread)
        handles.append(Patch(**_UNREAD, label=f"no reading ({n} well{'' if n == 1 else 's'})"))
    ax.set_xticks(range(n_cols), [str(c + 1) for c in range(n_cols)], fontsize=6)
    ax.set_yticks(range(n_rows), [_row_name(r) for r in range(n_rows)], fontsize=6)
    ax.set_title(f"plate {_label(plate)}: {value}", parse_math=False)
    ax.legend(handles=handles, loc="upper right", fontsize=6, bbox_to_anchor=(1, -0.02), ncols=len(handles))
    return fig


#: How a well without a reading is drawn on a plate map: grey, crossed.
_UNREAD = {"facecolor": "0.85", "edgecolor": "0.35", "hatch": "xx", "lw": 0.5}


def _plate_shape(wells: pd.DataFrame) -> tuple[int, int]:
    """Rows and columns of the plate format holding every ``row``/``col`` of ``wells`` (at least 96 wells)."""
    from ferroscreen.plate.wells import PlateFormat, rowcol_to_well

    places = wells[["row", "col"]].dropna().astype(int).drop_duplicates()
    fmt = PlateFormat.of_layout([rowcol_to_well(r, c) for r, c in places.itertuples(index=False)])
    return fmt.rows, fmt.cols


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
    """Nuclei-count vs nuclear-area fold change per gene (log axes), thresholds drawn, top hits named.

    Every gene is drawn: a fold change of 0 at the axis floor (:func:`_log_positions`; a
    left-pointing marker for a count of 0, a down-pointing one for an area of 0) and one
    without a reading on a grey strip beyond it; the legend gives the floor and how many.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig = _figure((5, 4))
    ax = fig.add_subplot()
    hit = genes["hit"].to_numpy(bool)
    x, x_zero, x_none, x_floor, x_strip = _log_positions(genes["fc_count"])
    y, y_zero, y_none, y_floor, y_strip = _log_positions(genes["fc_area"])
    colour = np.where(hit, HIT_COLOR, OTHER_COLOR)
    markers = (("o", ~x_zero & ~y_zero), ("<", x_zero), ("v", y_zero & ~x_zero))
    for marker, mask in markers:
        if mask.any():  # a hit: larger, black-edged (the marker stays the floor's sign)
            size = np.where(hit[mask], 18, 6 if marker == "o" else 14)
            ax.scatter(x[mask], y[mask], s=size, c=colour[mask], marker=marker, alpha=0.8,
                       edgecolors=np.where(hit[mask], "black", "none"), linewidths=np.where(hit[mask], 0.5, 0.0))
    handles = []
    for none, strip, span, what in ((x_none, x_strip, ax.axvspan, "count"), (y_none, y_strip, ax.axhspan, "area")):
        if none.any():
            span(strip / 2**0.5, strip * 2**0.5, color="0.9", zorder=0)
            handles.append(Patch(color="0.9", label=f"no {what} reading: on the grey strip ({_genes(none.sum())})"))
    for zero, floor, marker, what in ((x_zero, x_floor, "<", "counts"), (y_zero, y_floor, "v", "area")):
        if zero.any():
            handles.append(Line2D([], [], ls="", marker=marker, color=OTHER_COLOR,
                                  label=f"0 {what} drawn at {floor:.2g} ({_genes(zero.sum())})"))
    ax.axvline(count_threshold, color="k", lw=0.7, ls="--")
    ax.axhline(area_threshold, color="k", lw=0.7, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    for i, r in enumerate(genes.head(label_top).itertuples(index=False)):
        if r.hit:
            _name_point(ax, r.gene, x[i], y[i])
    ax.set_xlabel("nuclei count / non-targeting")
    ax.set_ylabel("nuclear area / non-targeting")
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=6, frameon=False)
    return fig


#: Where a fold change of 0 is drawn on a log axis when no value is positive (else half the smallest positive one).
ZERO_FLOOR = 1e-2


def _log_positions(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Where each of ``values`` is drawn on a log axis, so that none vanishes.

    Returns:
        ``(positions, zero, missing, floor, strip)``: positive values stay; 0 (or below) is
        drawn at ``floor``, half the smallest positive value (:data:`ZERO_FLOOR` without
        one); a missing or infinite value at ``strip``, two factors of 2 below the lowest
        point drawn. ``zero`` and ``missing`` mark those values.
    """
    v = pd.to_numeric(values, errors="coerce").to_numpy(float)
    finite = np.isfinite(v)
    positive, zero = finite & (v > 0), finite & (v <= 0)
    floor = 0.5 * float(v[positive].min()) if positive.any() else ZERO_FLOOR
    lowest = floor if zero.any() or not positive.any() else float(v[positive].min())
    strip = lowest / 4
    return np.where(positive, v, np.where(zero, floor, strip)), zero, ~finite, floor, strip


def _genes(n: int) -> str:
    return f"{n} gene" if n == 1 else f"{n} genes"


#: Label font size (points) of the volcano's gene names, and the steps (points) a name moves to clear another.
_NAME_SIZE = 6
_NAME_STEPS = (0, -9, 9, -18, 18, -27, 27, -36, 36)


def _name_points_apart(ax, names, xs, ys) -> int:
    """Name points as :func:`_name_point` does, each moved up or down to clear the names already placed.

    A name that overlaps another, or leaves the axes, wherever it goes within :data:`_NAME_STEPS`
    is left out (the gene table has it); a moved name gets a thin leader to its point. Name sizes are estimated
    (0.6 em a character), so this needs no renderer. Returns how many names were drawn.
    """
    ax.autoscale_view()
    to_axes = ax.transScale + ax.transLimits
    w_in, h_in = ax.figure.get_size_inches()
    pos = ax.get_position()
    width_pt, height_pt = w_in * 72 * pos.width, h_in * 72 * pos.height
    placed: list[tuple[float, float, float, float]] = []
    n = 0
    for name, x, y in zip(names, xs, ys, strict=True):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        fx, fy = to_axes.transform((x, y))
        px, py = fx * width_pt, fy * height_pt
        text = _label(name)
        right = fx > 0.5
        w, h = 0.6 * _NAME_SIZE * len(text), 1.25 * _NAME_SIZE
        for step in _NAME_STEPS:
            dx, dy = (-3 if right else 3), 2 + step
            x0 = px + dx - w if right else px + dx
            box = (x0, py + dy, x0 + w, py + dy + h)
            inside = 0 <= box[1] and box[3] <= height_pt and -30 <= box[0] and box[2] <= width_pt + 30
            if inside and all(box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1] for b in placed):
                break
        else:
            continue
        placed.append(box)
        arrow = {"arrowstyle": "-", "lw": 0.4, "color": "0.5", "shrinkA": 0, "shrinkB": 1} if step else None
        label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha="right" if right else "left",
                            fontsize=_NAME_SIZE, parse_math=False, arrowprops=arrow)
        label.set_in_layout(False)
        n += 1
    return n


def volcano(genes: pd.DataFrame, readout: str = "count", label_top: int = 10):
    """log2 fold change vs -log10 q for one readout (``count`` or ``area``).

    Hits are black-edged diamonds, the other genes grey dots (legended with
    their numbers). The hits among the first ``label_top`` genes are named;
    names that would overprint each other are moved apart, or left out when
    there is no room (:func:`_name_points_apart`).
    """
    fig = _figure((5, 4))
    ax = fig.add_subplot()
    x = np.log2(genes[f"fc_{readout}"].clip(lower=1e-3))
    y = -np.log10(genes[f"q_{readout}"].clip(lower=1e-300))
    hit = genes["hit"].to_numpy(bool)
    ax.scatter(x[~hit], y[~hit], s=6, c=OTHER_COLOR, alpha=0.7, lw=0, label=f"not a hit ({_genes((~hit).sum())})")
    if hit.any():
        ax.scatter(x[hit], y[hit], s=16, c=HIT_COLOR, marker="D", edgecolors="black", linewidths=0.5, alpha=0.85,
                   label=f"hit ({_genes(hit.sum())})")
    top = genes.head(label_top)
    named = top["hit"].to_numpy(bool)
    _name_points_apart(ax, top["gene"].to_numpy()[named], x.to_numpy()[: len(top)][named],
                       y.to_numpy()[: len(top)][named])
    ax.set_xlabel(f"log2 {readout} fold change")
    ax.set_ylabel("-log10 q (BH)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=6, frameon=False, ncols=2)
    return fig
