"""Well overlays: a well's frames over time with every scored cell circled in its class colour.

``ferroscreen overlay PLATE.h5 --wells C05,D05 --out DIR`` answers "what did the
classifier see in this well?": for each well (one field, by default its first)
it picks scored frames across the time course (``max_times`` evenly spaced, first
and last included, or the frames nearest to the asked ``times``), draws each
cell's detected circle in the colour of its top class (the report's colours,
colour-blind safe) and that class's dash (solid, dashed, dotted...: the legend
shows each; :func:`~ferroscreen.plate.mode_colors.mode_style`), titles each
panel with the time, the cell count and the argmax share of each class, and
writes ``<plate>_<well>_f<field>.png``. Only the asked frames' cells are read
from the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import FerroscreenError, WellError
from ferroscreen.plate import normalize_well
from ferroscreen.plate.mode_colors import mode_bgr, mode_color, mode_style
from ferroscreen.plate.units import format_molar
from ferroscreen.score.store import DONE, STATUS_NAMES, one_version, read_frame_cells, read_store

__all__ = ["WellOverlays", "pick_times", "write_well_overlays"]

#: Longest side of a panel in the figure, in pixels (circles are drawn at full resolution first).
PANEL_PX = 640


@dataclass
class WellOverlays:
    """What :func:`write_well_overlays` wrote, and anything a user should hear about."""

    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


#: Width of one legend entry (patch and a class name at 7 pt), inches.
_LEGEND_ENTRY_IN = 1.05


def pick_times(times: np.ndarray, wanted: list[float] | None, max_times: int) -> list[int]:
    """Positions in the sorted ``times`` to show: nearest to each ``wanted`` time, else evenly spaced.

    ``max_times`` evenly spaced positions include the first and last; duplicates are dropped.
    """
    if len(times) == 0:
        return []
    if wanted:
        idx = [int(np.abs(times - t).argmin()) for t in wanted]
    else:
        idx = np.linspace(0, len(times) - 1, min(max_times, len(times))).round().astype(int).tolist()
    return sorted(set(idx))


def _stand_ins(well: str, field_no: int, wanted: list[float], shown: np.ndarray, frames: pd.DataFrame) -> list[str]:
    """Notes on asked times whose frame of ``well``/``field_no`` is not scored, naming what stands in and why."""
    notes = []
    mine = frames[(frames["well"] == well) & (frames["field"] == field_no)]
    for t in wanted:
        near = float(shown[int(np.abs(shown - t).argmin())])
        if abs(near - t) < 1e-6:
            continue
        at = mine[np.isclose(mine["time_h"].to_numpy(float), t)]
        why = ("not imaged" if at.empty else
               f"its frame {STATUS_NAMES.get(int(at['status'].iloc[0]), 'not scored')}"
               + (f" ({at['reason'].iloc[0]})" if str(at["reason"].iloc[0]) else ""))
        notes.append(f"{well} f{field_no} at {t:g} h: {why}; showing {near:g} h")
    return notes


def _parse_wells(wells: str, source) -> list[str]:
    out = []
    for w in re.split(r"[,\s]+", wells.strip()):
        if not w:
            continue
        try:
            out.append(normalize_well(w))
        except WellError as exc:
            raise FerroscreenError(f"--wells: {exc}") from None
    if not out:
        raise FerroscreenError(f"{source}: --wells names no well (e.g. --wells C05,D05)")
    return list(dict.fromkeys(out))  # A1,A01: one figure


def _ring(rgb: np.ndarray, centre: tuple[int, int], r: int, colour, thick: int, dash) -> None:
    """Draw a circle in ``dash`` (``"-"`` or matplotlib's ``(offset, (on, off, ...))``, in units of ``thick``)."""
    import cv2

    if dash == "-":
        cv2.circle(rgb, centre, r, colour, thick, cv2.LINE_AA)
        return
    pattern = dash[1]
    degrees_per_px = 360.0 / (2 * np.pi * r)
    angle, i = 0.0, 0
    while angle < 360.0:
        step = max(pattern[i % len(pattern)] * 2 * thick, 1.0) * degrees_per_px
        if i % 2 == 0:
            cv2.ellipse(rgb, centre, (r, r), 0, angle, min(angle + step, 360.0), colour, thick, cv2.LINE_AA)
        angle, i = angle + step, i + 1


def _panel(img: np.ndarray, cells: pd.DataFrame, classes: list[str]) -> np.ndarray:
    import cv2

    from ferroscreen.crops.normalization import normalize_frame

    grey = np.clip(normalize_frame(img) * 255, 0, 255).astype(np.uint8)
    rgb = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    thick = max(1, int(round(max(img.shape) / PANEL_PX)))
    if len(cells):
        top = cells[[f"p_{c}" for c in classes]].to_numpy().argmax(1)
        dashes = [mode_style(c, classes)[1] for c in classes]
        for (x, y, r), k in zip(cells[["x", "y", "radius"]].to_numpy(), top, strict=True):
            _ring(rgb, (int(round(x)), int(round(y))), max(int(round(r)), 2), mode_bgr(classes[k], classes), thick,
                  dashes[k])
    scale = PANEL_PX / max(rgb.shape[:2])
    if scale < 1:
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return rgb[:, :, ::-1]  # BGR -> RGB for matplotlib


def _title(time_h: float, cells: pd.DataFrame, classes: list[str]) -> str:
    head = f"{time_h:g} h · {len(cells)} cells"
    if not len(cells):
        return head
    top = cells[[f"p_{c}" for c in classes]].to_numpy().argmax(1)
    share = np.bincount(top, minlength=len(classes)) / len(top)
    parts = [f"{c} {s:.0%}" for c, s in zip(classes, share, strict=True) if s > 0]
    return "\n".join([head] + [" · ".join(parts[i:i + 2]) for i in range(0, len(parts), 2)])  # two per line


def write_well_overlays(store_path: str | Path, wells: str, out_dir: str | Path, field_no: int | None = None,
                        times: list[float] | None = None, max_times: int = 6) -> WellOverlays:
    """Write one overlay figure per asked well (see the module doc).

    Args:
        store_path: Score store.
        wells: Comma-separated wells (``C05,D5``).
        out_dir: Folder for the PNGs (created).
        field_no: Field to show (default: each well's lowest scored field).
        times: Hours to show (nearest scored frames); default ``max_times`` spread over the run.
        max_times: Panels per well without ``times``.

    Raises:
        FerroscreenError: A well is not a well or not in the store, the field
            is not imaged in a well, or ``max_times`` < 1.
    """
    if max_times < 1:
        raise FerroscreenError(f"--max-times must be at least 1, not {max_times}")
    with one_version(store_path):  # the cells of the frames read, were a --watch to rewrite the store meanwhile
        return _write_overlays(store_path, wells, out_dir, field_no, times, max_times)


def _write_overlays(store_path, wells: str, out_dir, field_no: int | None, times: list[float] | None,
                    max_times: int) -> WellOverlays:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from ferroscreen.io.frames import load_image

    store = read_store(store_path)
    classes, frames = store.classes, store.frames
    asked = _parse_wells(wells, store_path)
    present = set(frames["well"])
    unknown = [w for w in asked if w not in present]
    if unknown:
        raise FerroscreenError(f"{store_path}: well(s) {', '.join(unknown)} not in this store "
                               f"({len(present)} wells scored, e.g. {', '.join(sorted(present)[:4])})")
    out_dir = Path(out_dir)
    result = WellOverlays()
    for well in asked:
        fw = frames[(frames["well"] == well) & (frames["status"] == DONE)]
        if fw.empty:
            result.notes.append(f"{well}: no scored frame")
            continue
        fno = int(fw["field"].min()) if field_no is None else int(field_no)
        fw = fw[fw["field"] == fno]
        if fw.empty:
            fields = sorted(int(x) for x in frames.loc[frames["well"] == well, "field"].unique())
            raise FerroscreenError(f"{store_path}: well {well} has no scored frame of field {fno} "
                                   f"(fields {', '.join(map(str, fields))})")
        fw = fw.sort_values("time_h", kind="stable")
        chosen = fw.iloc[pick_times(fw["time_h"].to_numpy(float), times, max_times)]
        if times is not None:
            result.notes += _stand_ins(well, fno, times, chosen["time_h"].to_numpy(float), frames)
        cells = read_frame_cells(store_path, chosen.index)
        n = len(chosen)
        cols = min(n, 3)
        rows = -(-n // cols)
        legend_cols = min(len(classes), max(1, int(3.4 * cols / _LEGEND_ENTRY_IN)))  # as many as the width takes
        legend_rows = -(-len(classes) // legend_cols)
        height = 3.8 * rows + 0.8 + 0.2 * legend_rows
        fig = Figure(figsize=(3.4 * cols, height), dpi=110)
        grid = fig.add_gridspec(rows, cols, left=0.01, right=0.99, top=1 - 0.8 / height,
                                bottom=(0.25 + 0.2 * legend_rows) / height,
                                wspace=0.04, hspace=0.16 * 3.8 / 3.4)
        for k, (i, fr) in enumerate(chosen.iterrows()):
            ax = fig.add_subplot(grid[k // cols, k % cols])
            ax.set_xticks([])
            ax.set_yticks([])
            try:
                img = np.asarray(load_image(fr["path"]))
                if img.ndim != 2:
                    raise ValueError("not a single-plane image")
            except (FerroscreenError, OSError, ValueError) as exc:
                result.notes.append(f"{well} at {fr['time_h']:g} h: {fr['path']}: not readable ({exc})")
                ax.text(0.5, 0.5, "image not readable", ha="center", va="center", transform=ax.transAxes)
                continue
            ax.imshow(_panel(img, cells[i], classes), interpolation="antialiased")
            ax.set_title(_title(float(fr["time_h"]), cells[i], classes), fontsize=7, parse_math=False)
        plate = str(chosen["plate"].iloc[0])
        label = f"{plate} {well} field {fno}"
        if store.layout is not None and "compound" in store.layout.columns:
            row = store.layout[store.layout["well"] == well]
            if len(row) and isinstance(row["compound"].iloc[0], str) and row["compound"].iloc[0]:
                conc = row["concentration"].iloc[0] if "concentration" in row.columns else None
                label += f" · {row['compound'].iloc[0]}" + (f" {format_molar(conc)}" if isinstance(conc, float)
                                                             and np.isfinite(conc) and conc > 0 else "")
        fig.suptitle(label, fontsize=9, y=1 - 0.12 / height, va="top", parse_math=False)  # "$" is no mathtext
        legend = fig.legend(handles=[Line2D([], [], color=mode_color(c, classes), ls=mode_style(c, classes)[1], lw=2,
                                            label=c) for c in classes],
                            loc="lower center", ncol=legend_cols, fontsize=7, frameon=False, handlelength=2.6)
        for text in legend.get_texts():
            text.set_parse_math(False)
        out_dir.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", plate)
        path = out_dir / f"{safe}_{well}_f{fno}.png"
        tmp = path.with_name("." + path.name + ".tmp.png")
        fig.savefig(tmp, format="png")
        tmp.replace(path)
        result.paths.append(path)
    return result
