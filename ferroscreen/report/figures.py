"""Matplotlib figures of the report, returned as inline ``data:image/png;base64`` URIs.

Figures are built on :class:`~ferroscreen.plate.quiet_figure.QuietFigure` (a
matplotlib Figure, no pyplot state, that draws user text without warnings on
stderr) under fixed rcParams and saved without a software/date stamp, so the
same results give byte-identical images. User names in legends and titles are
cut to :data:`~ferroscreen.plate.quiet_figure.LABEL_CHARS` characters (an overlay
legend's to :data:`LEGEND_NAME_CHARS`, its EC50 and CI kept whole). Every
function takes plain tables and returns a URI string, or None when there is
nothing to draw.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib
import matplotlib.patches
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.collections import PatchCollection
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from ferroscreen.analysis.models import effective_dose, response
from ferroscreen.plate import PlateFormat, well_to_rowcol
from ferroscreen.plate.mode_colors import RESCUE_COLOR, group_style, mode_color, mode_style
from ferroscreen.plate.quiet_figure import QuietFigure, short_label
from ferroscreen.report.formatting import NOT_DETERMINED, UNBOUNDED, ec50_bound, held_ec50, molar, molar_range

#: Fixed style of every figure (fonts shipped with matplotlib, no grid jitter).
RC_PARAMS = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.4,
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "image.interpolation": "nearest",
    "svg.hashsalt": "ferroscreen",
    "text.parse_math": False,  # compound names are text: "$" is no mathtext (Cpd$1$ crashed the report)
}

#: How a well without data is drawn on a plate map: grey, hatched (told apart from a white 0 without colour).
NO_DATA = {"facecolor": "0.85", "edgecolor": "0.35", "hatch": "////", "lw": 0.0}
#: How a layout's ``empty`` well (no cells, nothing to measure) is drawn on a plate map: left blank, white
#: with a thin grey outline inset in the cell (apart from :data:`NO_DATA` and from a white 0 filling its cell).
EMPTY_WELL = {"facecolor": "white", "edgecolor": "0.45", "lw": 0.6}
#: How a fitted curve is drawn beyond its tested doses (an extrapolation): thinner and fainter than the fit,
#: in sparse dots that no layer's dash (:data:`~ferroscreen.plate.mode_colors.DASHES`) uses.
EXTRAPOLATED = {"lw": 0.8, "ls": (0, (1, 2.5)), "alpha": 0.7}
#: The legend entry of :data:`EXTRAPOLATED`.
EXTRAPOLATED_LABEL = "fit beyond the tested doses"
#: ``(line style, grey)`` of the mode references over a time course, one per reference, in order.
REFERENCE_STYLES = (
    (":", "black"),
    ("-.", "0.45"),
    ((0, (5, 1.5)), "0.25"),
    ((0, (1, 1.2, 1, 1.2, 5, 1.2)), "0.6"),
    ((0, (3, 2, 1, 2, 1, 2)), "black"),
    ((0, (8, 2)), "0.6"),
)


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(RC_PARAMS):
        yield


def encode_png(fig: Figure) -> str:
    """Render ``fig`` to a ``data:image/png;base64,...`` URI (no metadata stamp)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plate_format(wells: Sequence[str]) -> PlateFormat:
    fmt = PlateFormat.smallest_containing(list(wells))
    for n in (96, 384, 1536):
        candidate = PlateFormat.from_n_wells(n)
        if fmt.rows <= candidate.rows and fmt.cols <= candidate.cols:
            return candidate
    return fmt


def plate_heatmaps(
    endpoint: pd.DataFrame,
    panels: Sequence[tuple[str, str, str]],
    flagged: Sequence[str] = (),
    title: str = "",
    excluded: Sequence[str] = (),
) -> str | None:
    """Plate maps of one plate's endpoint values.

    Args:
        endpoint: One row per well (``well`` plus the panel columns; ``role``
            optional: a well whose role is ``empty`` is left blank, :data:`EMPTY_WELL`,
            whatever its values).
        panels: ``(column, title, colour)`` per map; a colour ``"count"``
            gives a viridis map from 0, any other colour a 0–1 map from white.
        flagged: Wells marked with a cross (QC flags): white, outlined in black, seen on
            dark and light wells alike.
        title: Figure title.
        excluded: Wells left out of the analysis, framed and struck through in black.

    A well without a value (not in ``endpoint``, or NaN) is drawn grey and
    hatched (:data:`NO_DATA`), apart from a white 0 on a fraction map; an
    ``empty`` well is neither (nor in a colour scale).
    """
    panels = [p for p in panels if p[0] in endpoint.columns]
    if endpoint.empty or not panels:
        return None
    fmt = _plate_format(endpoint["well"])
    rc = np.array([well_to_rowcol(w) for w in endpoint["well"]])
    no_cells = (endpoint["role"].astype(str).str.strip() == "empty").to_numpy() if "role" in endpoint.columns \
        else np.zeros(len(endpoint), bool)
    blank = np.zeros((fmt.rows, fmt.cols), bool)
    blank[rc[no_cells, 0], rc[no_cells, 1]] = True
    flag_rc = np.array([well_to_rowcol(w) for w in flagged]).reshape(-1, 2)
    excl_rc = np.array([well_to_rowcol(w) for w in excluded]).reshape(-1, 2)
    ncols = min(len(panels), 2)
    nrows = math.ceil(len(panels) / ncols)
    cell = 0.3 if fmt.n_wells <= 96 else 0.17 if fmt.n_wells <= 384 else 0.1
    with _style():
        fig = QuietFigure(
            figsize=(ncols * (fmt.cols * cell + 1.3), nrows * (fmt.rows * cell + 0.7) + 0.3), layout="constrained"
        )
        for k, (column, label, colour) in enumerate(panels):
            ax = fig.add_subplot(nrows, ncols, k + 1)
            grid = np.full((fmt.rows, fmt.cols), np.nan)
            grid[rc[:, 0], rc[:, 1]] = endpoint[column].to_numpy(float)
            grid[blank] = np.nan
            if colour == "count":
                cmap = matplotlib.colormaps["viridis"]
                vmax = np.nanmax(grid) if np.isfinite(grid).any() else 1.0
                vmin = 0.0
            else:
                cmap = LinearSegmentedColormap.from_list(column, ["#ffffff", colour])
                vmin, vmax = 0.0, 1.0
            cmap = cmap.with_extremes(bad=NO_DATA["facecolor"])
            im = ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, aspect="equal")
            fig.colorbar(im, ax=ax, shrink=0.85, pad=0.02)
            missing = np.argwhere(~np.isfinite(grid) & ~blank)
            if len(missing):
                ax.add_collection(PatchCollection(
                    [matplotlib.patches.Rectangle((c - 0.5, r - 0.5), 1, 1) for r, c in missing], **NO_DATA))
            if blank.any():  # white over the whole cell, outlined inside it
                cells = np.argwhere(blank)
                ax.add_collection(PatchCollection(
                    [matplotlib.patches.Rectangle((c - 0.5, r - 0.5), 1, 1) for r, c in cells],
                    facecolor=EMPTY_WELL["facecolor"], lw=0.0))
                ax.add_collection(PatchCollection(
                    [matplotlib.patches.Rectangle((c - 0.4, r - 0.4), 0.8, 0.8) for r, c in cells], **EMPTY_WELL))
            if len(flag_rc):
                ax.scatter(
                    flag_rc[:, 1],
                    flag_rc[:, 0],
                    marker="x",
                    s=18 if fmt.n_wells <= 96 else 8,
                    c="white",
                    linewidths=0.9,
                    path_effects=[patheffects.withStroke(linewidth=2.4, foreground="black")],
                    zorder=3,
                )
            for r, c in excl_rc:
                ax.add_patch(matplotlib.patches.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="black",
                                                          lw=0.9))
                ax.plot([c - 0.45, c + 0.45], [r + 0.45, r - 0.45], color="black", lw=0.9)
            step = 1 if fmt.n_wells <= 96 else 2 if fmt.n_wells <= 384 else 4
            ax.set_xticks(range(0, fmt.cols, step), [str(c + 1) for c in range(0, fmt.cols, step)])
            ax.set_yticks(range(0, fmt.rows, step), [_row_name(r) for r in range(0, fmt.rows, step)])
            ax.tick_params(length=0)
            ax.grid(False)
            for side in ("top", "right", "left", "bottom"):
                ax.spines[side].set_visible(False)
            ax.set_title(label)
        if title:
            fig.suptitle(short_label(title, 80), fontsize=9)
        return encode_png(fig)


def _row_name(r: int) -> str:
    return chr(65 + r) if r < 26 else "A" + chr(65 + r - 26)


def _dose_palette(n: int) -> list[str]:
    cmap = matplotlib.colormaps["viridis"]
    return [matplotlib.colors.to_hex(cmap(0.9 - 0.8 * i / max(n - 1, 1))) for i in range(n)]


def time_course_figure(courses: dict[str, pd.DataFrame], panels: Sequence[tuple[str, str, str]]) -> str | None:
    """Death-mode fractions (and cell counts) over time, one line per dose; None for fewer than two times.

    Args:
        courses: The dict of :func:`ferroscreen.report.compounds.time_courses`.
        panels: ``(column, title, mode)`` per panel; references whose mode is
            the panel's mode are overlaid (``mode`` ``""`` for none), each in
            its own line style and grey (:data:`REFERENCE_STYLES`) and named in
            a legend under the panel that draws it; the legend at the right
            names the doses and the vehicle.
    """
    doses = courses.get("doses")
    if doses is None or doses["time_h"].nunique() < 2:  # one read (an endpoint) is no time course
        return None
    panels = [p for p in panels if p[0] in doses.columns]
    if not panels:
        return None
    vehicle = courses.get("vehicle", pd.DataFrame())
    refs = courses.get("references", pd.DataFrame())
    concs = sorted(doses["concentration"].dropna().unique())
    colours = _dose_palette(len(concs))
    drawn = {}  # panel -> its reference curves ((name, conc) -> rows)
    for column, _label, mode in panels:
        if mode and not refs.empty and column in refs.columns:
            drawn[column] = dict(list(refs[refs["mode"] == mode].groupby(["compound", "concentration"])))
    styles = {key: REFERENCE_STYLES[k % len(REFERENCE_STYLES)]
              for k, key in enumerate(dict.fromkeys(key for per in drawn.values() for key in per))}
    n_refs = max((len(per) for per in drawn.values()), default=0)
    with _style():
        width = 2.5 * len(panels) + 2.0
        height = 2.45 + 0.13 * n_refs + (0.1 if n_refs else 0.0)
        fig = QuietFigure(figsize=(width, height))
        fig.subplots_adjust(left=0.45 / width, right=1 - 2.05 / width, bottom=(0.47 + height - 2.45) / height,
                            top=1 - 0.25 / height, wspace=0.3)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (column, label, _mode) in zip(axes, panels, strict=True):
            for conc, colour in zip(concs, colours, strict=True):
                sub = doses[doses["concentration"] == conc].sort_values("time_h")
                ax.plot(sub["time_h"], sub[column], color=colour, label=molar(conc))
            if not vehicle.empty and column in vehicle.columns:
                v = vehicle.sort_values("time_h")
                ax.plot(v["time_h"], v[column], color="#555555", ls="--", lw=1.2, label="vehicle")
            ref_lines = []
            for (name, conc), sub in drawn.get(column, {}).items():
                sub = sub.sort_values("time_h")
                ls, grey = styles[(name, conc)]
                ref_lines += ax.plot(sub["time_h"], sub[column], color=grey, ls=ls, lw=1.4,
                                     label=f"ref. {short_label(name)} {molar(conc)}")
            if ref_lines:  # this panel's references only, under it
                ax.legend(handles=ref_lines, loc="upper left", bbox_to_anchor=(-0.02, -0.2), borderaxespad=0.0,
                          handlelength=2.6, fontsize=6)
            ax.set_title(label)
            ax.set_xlabel("time (h)")
            if column.startswith("frac"):
                ax.set_ylim(-0.02, 1.02)
            else:
                ax.set_ylim(bottom=0)
        handles, labels = {}, []
        for ax in axes:  # doses and vehicle, drawn in every panel
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                if lab not in handles and not lab.startswith("ref. "):
                    handles[lab] = h
                    labels.append(lab)
        fig.legend([handles[lab] for lab in labels], labels, loc="upper left",
                   bbox_to_anchor=(1 - 1.95 / width, 1 - 0.2 / height))
        return encode_png(fig)


def _params(row: pd.Series, ec50: float | None = None) -> np.ndarray | None:
    """The five drc parameters ``b, c, d, e, f`` of a fits row (``e`` from the EC50)."""

    def num(key: str, default: float = math.nan) -> float:
        try:
            value = float(row.get(key, default))
        except (TypeError, ValueError):
            return math.nan
        return default if math.isnan(value) and not math.isnan(default) else value

    b, c, d = num("hill"), num("bottom"), num("top")
    f = num("asymmetry", 1.0)
    target = num("ec50") if ec50 is None else ec50
    if not all(math.isfinite(v) for v in (b, c, d, f, target)) or target <= 0 or b == 0:
        return None
    unit = np.array([[b, c, d, 1.0, f]])
    ed50_at_unit_e = float(effective_dose(unit, 50.0)[0])
    if not math.isfinite(ed50_at_unit_e) or ed50_at_unit_e <= 0:
        return None
    unit[0, 3] = target / ed50_at_unit_e
    return unit


def _model(params: np.ndarray, x: np.ndarray) -> np.ndarray:
    return response(params, np.log(x)[None, :], np.zeros((1, x.size), dtype=bool))[0]


def _dose_axis(ax, lo: float, hi: float, zero_x: float) -> None:
    ax.set_xscale("log")
    ax.set_xlim(zero_x / 2.5, hi * 3)
    decades = np.arange(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    ticks = [zero_x] + [10.0**k for k in decades if 10.0**k > zero_x * 3]
    labels = ["0"] + [molar(t).replace(" ", "\u2009") for t in ticks[1:]]
    ax.set_xticks(ticks, labels)
    ax.minorticks_off()
    ax.axvline(zero_x * 1.9, color="#bbbbbb", lw=0.6, ls=(0, (2, 2)))


def _is_active(row: pd.Series) -> bool:
    return str(row.get("call", "active")) == "active"


def _tested_doses(row: pd.Series, pts: pd.DataFrame) -> tuple[float, float] | None:
    """The lowest and highest tested dose of a curve: ``dose_min``/``dose_max`` of its fits row, else its points."""
    doses = pts.loc[pts["dose"] > 0, "dose"].to_numpy(float)
    doses = doses[np.isfinite(doses)]
    lo, hi = float(row.get("dose_min", math.nan)), float(row.get("dose_max", math.nan))
    lo = lo if math.isfinite(lo) and lo > 0 else float(doses.min()) if doses.size else math.nan
    hi = hi if math.isfinite(hi) and hi > 0 else float(doses.max()) if doses.size else math.nan
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) and lo <= hi else None


def _extrapolates(row: pd.Series, pts: pd.DataFrame) -> bool:
    """Whether :func:`_draw_curve` draws this curve's fit past its tested doses (always, when it knows them)."""
    return _params(row) is not None and _is_active(row) and _tested_doses(row, pts) is not None


def _draw_curve(
    ax, row: pd.Series, pts: pd.DataFrame, colour: str, span: tuple[float, float], zero_x: float, label: str,
    band: bool, marker: str = "o", dash: str | tuple = "-", size: float = 12,
) -> Line2D | None:
    """Points (vehicle at ``zero_x``), and for active curves the fit and its EC50 band.

    The fit is drawn in ``dash`` over the curve's tested doses (:func:`_tested_doses`; its
    EC50 band there only) and as :data:`EXTRAPOLATED` from there to the ends of ``span``
    (all of ``span`` in ``dash`` when the tested doses are unknown). A ``dash`` of ``""``
    draws points only. Returns the legend handle (marker and dash) when ``label`` names the layer.
    """
    pos = pts[pts["dose"] > 0]
    zero = pts[pts["dose"] <= 0]
    edge = {"lw": 0.4, "edgecolors": "black"} if size > 12 else {"lw": 0}
    ax.scatter(pos["dose"], pos["response"], s=size, color=colour, alpha=0.75, zorder=3, marker=marker, **edge)
    if len(zero):
        ax.scatter(np.full(len(zero), zero_x), zero["response"], s=size, color=colour, alpha=0.75, zorder=3,
                   marker=marker, **edge)
    handle = Line2D([], [], color=colour, marker=marker, ms=3.5 if size <= 12 else 5, mew=0 if size <= 12 else 0.4,
                    mec="black", ls=dash or "", lw=1.4, label=label) if label else None
    params = _params(row)
    if params is None or not _is_active(row):
        return handle
    tested = _tested_doses(row, pts) or span
    x = np.geomspace(*tested, 160)
    ax.plot(x, _model(params, x), color=colour, lw=1.6, zorder=4, ls=dash)
    for a, b in ((span[0], tested[0]), (tested[1], span[1])):
        if b > a:
            beyond = np.geomspace(a, b, 24)
            ax.plot(beyond, _model(params, beyond), color=colour, zorder=4, **EXTRAPOLATED)
    if band:
        curves = [
            _model(p, x) for p in (_params(row, row.get("ec50_lo")), _params(row, row.get("ec50_hi"))) if p is not None
        ]
        if curves:
            stack = np.vstack([_model(params, x), *curves])
            ax.fill_between(x, stack.min(axis=0), stack.max(axis=0), color=colour, alpha=0.18, lw=0)
    return handle


def _ec50_text(row: pd.Series) -> str:
    """A panel title's EC50, as the tables state it (:func:`~ferroscreen.report.formatting.ec50_bound`)."""
    if str(row.get("call", "active")) != "active":
        return str(row.get("call", "inactive"))
    bound, ec50 = ec50_bound(row)
    if bound == "?":
        return f"EC50 {NOT_DETERMINED}"
    if not math.isfinite(ec50):
        return "EC50 n/a"
    if bound:
        return f"EC50 {bound} {molar(ec50)}"
    ci = molar_range(float(row.get("ec50_lo", math.nan)), float(row.get("ec50_hi", math.nan)),
                     float(row.get("dose_min", math.nan)), float(row.get("dose_max", math.nan)))
    if ci == UNBOUNDED:
        ci = "CI unbounded"
    return f"EC50 {molar(ec50)}" + (f" [{ci}]" if ci else "")


@dataclass
class Layer:
    """Curves drawn over each other in an overlay figure.

    ``label`` (with ``label_ec50``, followed by the panel's EC50) names the layer
    in the legend ("" for none); ``colour`` None takes the mode's colour;
    ``band`` draws the EC50 interval band and line; ``titled`` puts this layer's
    EC50 in the panel title; ``marker`` (None: the mode's, :func:`mode_style`)
    and ``dash`` of its points and curve tell layers apart without colour (``""``:
    points only, as of a single-dose arm); ``size`` is its points' (larger ones edged).
    """

    curves: dict[str, tuple[pd.Series, pd.DataFrame]]
    label: str = ""
    colour: str | None = None
    band: bool = False
    titled: bool = False
    label_ec50: bool = True
    marker: str | None = None
    dash: str | tuple = "-"
    size: float = 12


def _overlay_figure(modes: Sequence[str], layers: Sequence[Layer], mode_order: Sequence[str]) -> str | None:
    """One panel per mode, every layer's points and fitted curve of that mode drawn over it."""
    doses = []
    for row, pts in (v for layer in layers for v in layer.curves.values()):
        doses += [float(row.get("dose_min", math.nan)), float(row.get("dose_max", math.nan))]
        doses += list(pts.loc[pts["dose"] > 0, "dose"])
    doses = np.array([d for d in doses if math.isfinite(d) and d > 0])
    if not modes or doses.size == 0:
        return None
    lo, hi = float(doses.min()), float(doses.max())
    zero_x = lo / 10**1.2
    span = (lo / 3, hi * 3)
    labels = {(k, mode): _legend_label(layer, layer.curves[mode][0])
              for k, layer in enumerate(layers) for mode in modes if mode in layer.curves}
    # every drawn fit runs on past its tested doses to the span's ends: the legend says how that part is drawn
    beyond = {mode: any(_extrapolates(*layer.curves[mode]) for layer in layers if mode in layer.curves)
              for mode in modes}
    legend = any(layer.label for layer in layers) or any(beyond.values())
    rows = max((sum(label.count("\n") + 1 for (_, m), label in labels.items() if label and m == mode)
                + beyond[mode] for mode in modes), default=0)
    with _style():
        width = 2.75 * len(modes) + 0.3
        height = 2.7 + 0.14 * rows + 0.05 if legend else 2.7
        fig = QuietFigure(figsize=(width, height))
        fig.subplots_adjust(
            left=0.6 / width,
            right=1 - 0.15 / width,
            bottom=(0.45 + height - 2.7) / height,
            top=1 - 0.43 / height,
            wspace=0.32,
        )
        axes = fig.subplots(1, len(modes), squeeze=False)[0]
        for ax, mode in zip(axes, modes, strict=True):
            title, ylabel = mode, mode
            handles = []
            for k, layer in enumerate(layers):
                if mode not in layer.curves:
                    continue
                row, pts = layer.curves[mode]
                colour = layer.colour or mode_color(mode, mode_order)
                marker = layer.marker or mode_style(mode, mode_order)[0]
                handle = _draw_curve(ax, row, pts, colour, span, zero_x, labels[(k, mode)], band=layer.band,
                                     marker=marker, dash=layer.dash, size=layer.size)
                handles += [handle] if handle is not None else []
                bound, ec50 = ec50_bound(row)
                if layer.band and _is_active(row) and not bound and math.isfinite(ec50):  # a held EC50: no line
                    ax.axvline(ec50, color=colour, lw=0.7, ls=":")
                if layer.titled:
                    title = f"{mode}\n{_ec50_text(row)}"
                ylabel = str(row.get("readout", mode)) if ylabel == mode else ylabel
            _dose_axis(ax, lo, hi, zero_x)
            ax.set_title(title, fontsize=8)
            ax.set_xlabel("concentration")
            ax.set_ylabel(ylabel)
            ymin, ymax = ax.get_ylim()
            if ymin > -0.1 and ymax < 1.1:
                ax.set_ylim(-0.03, 1.03)
            if beyond[mode]:
                handles.append(Line2D([], [], color="0.3", label=EXTRAPOLATED_LABEL, **EXTRAPOLATED))
            if legend:
                ax.legend(
                    handles=handles,
                    handlelength=2.6,
                    loc="upper left", bbox_to_anchor=(-0.05, -0.2), handletextpad=0.1, borderaxespad=0.0, fontsize=6.5
                )
        return encode_png(fig)


#: Most characters of a layer's name in an overlay legend, and of a legend line before its EC50 goes on a second.
LEGEND_NAME_CHARS = 30
LEGEND_LINE_CHARS = 34


def _legend_label(layer: Layer, row: pd.Series) -> str:
    """A layer's legend entry: its name cut to :data:`LEGEND_NAME_CHARS`, then its EC50 and CI, always whole.

    The EC50 goes on a line of its own when both would not fit a panel's width on one.
    """
    name = short_label(layer.label, LEGEND_NAME_CHARS)
    if not name or not layer.label_ec50:
        return name
    ec50 = _ec50_text(row)
    one_line = f"{name}: {ec50}"
    return one_line if len(one_line) <= LEGEND_LINE_CHARS else f"{name}:\n{ec50}"


def _ordered(modes: Sequence[str], mode_order: Sequence[str]) -> list[str]:
    return [m for m in mode_order if m in modes] + [m for m in modes if m not in mode_order]


#: Markers of single-dose rescue arms' points, by position: none a mode's, a group's or a held EC50's.
SINGLE_DOSE_MARKERS = ("*", "d", "8")


def dose_response_figure(
    curves: dict[str, tuple[pd.Series, pd.DataFrame]],
    rescue: dict[str, dict[str, tuple[pd.Series, pd.DataFrame]]],
    mode_order: Sequence[str] = (),
    single: dict[str, dict[str, pd.DataFrame]] | None = None,
) -> str | None:
    """Dose-response panels, one per mode: replicate points, fitted curve, EC50 CI band.

    A fit is drawn solid (rescue fits in their dash) over its tested doses only,
    thin and dotted beyond them (:data:`EXTRAPOLATED`, named in the legend).

    Args:
        curves: Mode -> (fits row, points ``dose, response``) of the compound.
        rescue: Rescue agent -> mode -> (fits row, points), overlaid dashed with
            their own markers, the first in :data:`RESCUE_COLOR`, the others in
            the colour-blind-safe group colours.
        mode_order: Order of the panels.
        single: Rescue agent -> mode -> points ``dose, response`` of a rescue arm
            tested at one dose (no fit): its wells drawn at their dose, larger and
            edged, with a marker of :data:`SINGLE_DOSE_MARKERS` and a legend entry
            (``+ agent, one dose``), coloured after the fitted agents; only in
            the panels of ``curves``, and its dose-0 (vehicle) points not again.
    """
    single = {agent: {m: pts[pts["dose"] > 0] for m, pts in per_mode.items() if m in curves and (pts["dose"] > 0).any()}
              for agent, per_mode in (single or {}).items() if agent not in rescue}
    single = {agent: per_mode for agent, per_mode in single.items() if per_mode}
    layers = [Layer(curves, "alone" if rescue or single else "", band=True, titled=True, label_ec50=False)]
    for k, (agent, per_mode) in enumerate(rescue.items()):
        colour, marker, dash = group_style(k + 1)
        layers.append(Layer(per_mode, f"+ {agent}", RESCUE_COLOR if k == 0 else colour, marker=marker, dash=dash))
    for j, (agent, per_mode) in enumerate(single.items()):
        k = len(rescue) + j
        layers.append(Layer({m: (pd.Series(dtype=object), pts) for m, pts in per_mode.items()},
                            f"+ {agent}, one dose", RESCUE_COLOR if k == 0 else group_style(k + 1)[0],
                            label_ec50=False, marker=SINGLE_DOSE_MARKERS[j % len(SINGLE_DOSE_MARKERS)], dash="",
                            size=30))
    return _overlay_figure(_ordered(list(curves), mode_order), layers, mode_order)


def lines_figure(
    per_line: dict[str, dict[str, tuple[pd.Series, pd.DataFrame]]], mode_order: Sequence[str] = ()
) -> str | None:
    """One compound's curves in each cell line overlaid (legend: line and EC50), one panel per mode.

    Each line has its own colour (colour-blind safe), marker and dash (:func:`group_style`).

    Args:
        per_line: Line -> mode -> (fits row, points ``dose, response``).
        mode_order: Order of the panels (modes any line has).
    """
    layers = []
    for k, (line, per_mode) in enumerate(per_line.items()):
        colour, marker, dash = group_style(k)
        layers.append(Layer(per_mode, str(line), colour, marker=marker, dash=dash))
    modes = list(dict.fromkeys(m for d in per_line.values() for m in d))
    return _overlay_figure(_ordered(modes, mode_order), layers, mode_order)


def _upper_open(row: pd.Series) -> bool:
    """Whether ``row``'s EC50 lies inside the tested doses with its upper CI end open (not beyond the doses).

    :func:`~ferroscreen.report.formatting.held_ec50` holds such a curve (flag
    ``far_plateau_undetermined``) at ``> ec50_lo``, as it holds an EC50 above
    the highest dose at ``> dose_max``; only the second lies beyond the doses.
    """
    bound, _ = held_ec50(row)
    if bound != ">" or str(row.get("ec50_bound", "") or "").strip() in ("<", ">"):
        return False
    ec50, top = float(row.get("ec50", math.nan)), float(row.get("dose_max", math.nan))
    return not (math.isfinite(top) and ec50 > top)


def ec50_time_figure(series: dict[str, pd.DataFrame], mode_order: Sequence[str] = ()) -> str | None:
    """EC50 over time per mode (log scale) with confidence intervals.

    Time points whose curve is not ``active`` (when a ``call`` column says
    so) are left out: their EC50 is not an estimate of potency. An EC50 beyond
    the tested doses (``dose_min``/``dose_max`` or ``ec50_bound``, as
    :func:`~ferroscreen.report.formatting.held_ec50` holds it in the tables) is
    drawn as a bound: an open triangle at the tested limit (up for ``>``, down
    for ``<``), without an interval. An EC50 inside the tested doses whose far
    plateau is undetermined (flag ``far_plateau_undetermined``, held ``>``
    its lower CI limit in the tables) is drawn at the fitted EC50 as an open
    circle, its bar from the lower limit up to an arrow: the upper end is open.
    The legend names each kind it draws. Each mode has its own marker and
    line dash as well as its colour (:func:`mode_style`).

    Args:
        series: Mode -> table ``time_h, ec50`` (``ec50_lo``, ``ec50_hi``,
            ``call``, ``dose_min``, ``dose_max``, ``ec50_bound``, ``flags`` optional).
        mode_order: Order of the legend.
    """

    def keep(s: pd.DataFrame) -> pd.DataFrame:
        ok = np.isfinite(s["ec50"]) & (s["ec50"] > 0)
        if "call" in s.columns:
            ok &= s["call"].astype(str) == "active"
        s = s[ok].sort_values("time_h")
        held = [held_ec50(row) for _, row in s.iterrows()]
        opened = [_upper_open(row) for _, row in s.iterrows()]
        return s.assign(_bound=[("open" if o else b) for (b, _), o in zip(held, opened, strict=True)],
                        _y=[v for _, v in held])

    series = {m: keep(s) for m, s in series.items()}
    series = {m: s for m, s in series.items() if len(s)}
    if not series:
        return None
    values = np.concatenate([s["_y"].to_numpy(float) for s in series.values()]
                            + [s.loc[s["_bound"] == "open", "ec50"].to_numpy(float) * 3 for s in series.values()])
    y_lo, y_hi = values.min() / 30, values.max() * 30
    any_held = any_open = False
    with _style():
        fig = QuietFigure(figsize=(4.4, 2.6))
        fig.subplots_adjust(left=0.16, right=0.97, bottom=0.17, top=0.9)
        ax = fig.add_subplot()
        for mode in [m for m in mode_order if m in series] + [m for m in series if m not in mode_order]:
            s = series[mode]
            colour = mode_color(mode, mode_order)
            marker, dash = mode_style(mode, mode_order)
            est, held = s[s["_bound"] == ""], s[s["_bound"] != ""]
            label: str | None = short_label(mode)
            if len(est):
                y = est["ec50"].to_numpy(float)
                if {"ec50_lo", "ec50_hi"} <= set(est.columns):
                    lo = np.clip(y - est["ec50_lo"].to_numpy(float), 0, None)
                    hi = np.clip(est["ec50_hi"].to_numpy(float) - y, 0, None)
                    err = np.vstack([lo, hi])
                    err = np.where(np.isfinite(err), err, 0.0)  # an unbounded limit draws no bar (not one to 1e308)
                    ax.errorbar(est["time_h"], y, yerr=err, color=colour, lw=1.2, capsize=2, marker=marker, ms=4,
                                ls=dash, label=label)
                else:
                    ax.plot(est["time_h"], y, color=colour, marker=marker, ms=4, ls=dash, label=label)
                label = None
            for bound, marker in ((">", "^"), ("<", "v")):
                at = held[held["_bound"] == bound]
                if len(at):
                    ax.scatter(at["time_h"], at["_y"], marker=marker, s=22, facecolors="none", edgecolors=colour,
                               linewidths=1.0, zorder=3, label=label)
                    label, any_held = None, True
            at = held[held["_bound"] == "open"]
            if len(at):  # the fitted EC50, a bar from its lower limit up to an arrow
                t, ec50 = at["time_h"].to_numpy(float), at["ec50"].to_numpy(float)
                ax.vlines(t, at["_y"].to_numpy(float), ec50 * 2.5, color=colour, lw=1.0, zorder=2)
                ax.scatter(t, ec50 * 2.5, marker=6, s=20, color=colour, lw=0, zorder=3)  # caret up
                ax.scatter(t, ec50, marker="o", s=16, facecolors="white", edgecolors=colour, linewidths=1.0,
                           zorder=4, label=label)
                label, any_open = None, True
        ax.set_yscale("log")
        ax.set_ylim(y_lo, y_hi)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: molar(v)))
        ax.minorticks_off()
        ax.set_xlabel("time (h)")
        ax.set_ylabel("EC50")
        handles, labels = ax.get_legend_handles_labels()
        if any_held:
            handles.append(Line2D([], [], ls="", marker="^", mfc="none", mec="0.35", ms=5))
            labels.append("open ▲ ▼: beyond the tested doses,\ndrawn at the limit (▲ >, ▼ <)")
        if any_open:
            handles.append(Line2D([], [], ls="", marker="o", mfc="white", mec="0.35", ms=4))
            labels.append("open ○ ↑: fitted EC50, upper CI end not\ndetermined (EC50 ≥ the bar's lower end)")
        ax.legend(handles, labels)
        ax.set_title("EC50 over time")
        return encode_png(fig)
