"""What ferroscreen's own outputs hold, for ``ferroscreen inspect``.

:func:`describe_output` recognises a score store (``.h5``, by its schema attribute), a fit's
``results.xlsx`` (its ``about`` sheet), and a fit's output folder, its ``provenance.json`` or one of
its result tables (``fits.csv``, ``ranking.csv``... beside a fit's ``provenance.json``); any
other path is not an output (None) and ``inspect`` reads it as an input
(:func:`ferroscreen.io.inspection.inspect_path`). :func:`render_output` turns a description into
the lines ``inspect`` prints.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ferroscreen.errors import FerroscreenError

#: First cell of the ``about`` sheet of a fit's ``results.xlsx``.
RESULTS_TITLE = "ferroscreen fit results"

#: A fit folder's tables, in the order they are described.
FIT_TABLES = ("fits.csv", "ranking.csv", "rescue.csv", "qc.csv", "lines.csv", "ec50_over_time.csv", "wells.csv",
              "readouts.csv", "fitted_points.csv")

#: A fit folder's tables that are inputs of a fit as well (``inspect`` reads them as such).
FIT_INPUTS = ("wells.csv", "fitted_points.csv")


def describe_output(path: Path) -> dict | None:
    """A JSON-ready description of ``path`` when ferroscreen wrote it, else None.

    Keys always present: ``kind`` (``score_store``, ``fit_results`` or ``fit_output``) and ``path``.

    Raises:
        FerroscreenError: An ``.h5`` file that is not a readable score store, or a ``provenance.json``
            that is not JSON, naming the file.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() in (".h5", ".hdf5"):
        return _store_info(path)
    if path.is_file() and path.suffix.lower() in (".xlsx", ".xlsm") and _is_results_workbook(path):
        return _workbook_info(path)
    own_table = path.name in FIT_TABLES and path.name not in FIT_INPUTS  # wells.csv and fitted_points.csv: inputs
    folder = path if path.is_dir() else path.parent if path.name == "provenance.json" or own_table else None
    if folder is not None and (folder / "provenance.json").is_file():
        return _fit_folder_info(folder)
    return None


def _store_info(path: Path) -> dict:
    from ferroscreen.score.store import FAILED, PENDING, read_store
    from ferroscreen.score.store_lock import store_writer

    store = read_store(path)
    a, frames = store.attrs, store.frames
    failed = frames[frames["status"] == FAILED]
    reasons = failed["reason"].astype(str).value_counts()
    times = sorted(float(t) for t in frames["time_h"].unique())
    return {
        "kind": "score_store",
        "path": str(path),
        "plate": a.get("plate"),
        "acquisition": a.get("acquisition"),
        "classes": store.classes,
        "model": a.get("bundle_path"),
        "model_sha256": a.get("bundle_sha256"),
        "precision": a.get("precision"),
        "tta": bool(a.get("tta", False)),
        "channel": a.get("channel"),
        "z_plane": a.get("z_plane"),
        "ferroscreen_version": a.get("ferroscreen_version"),
        "created": a.get("created"),
        "updated": a.get("updated"),
        "n_frames": int(len(frames)),
        "frames_done": int((frames["status"] != PENDING).sum() - len(failed)),
        "frames_failed": int(len(failed)),
        "frames_pending": int((frames["status"] == PENDING).sum()),
        "journals": sorted(str(p) for p in path.with_name(path.name + ".parts").glob("rank-*.h5")),
        "writer_pid": store_writer(path),  # a live score run holds the store's lock (0: its pid not written yet)
        "failure_reasons": {str(k): int(v) for k, v in reasons.items()},
        "n_cells": int(frames["n_cells"].sum()),
        "n_wells": int(frames["well"].nunique()),
        "n_timepoints": len(times),
        "timepoints_h": [times[0], times[-1]] if times else [],
        "wells_aggregated": not store.wells.empty,
        "layout": a.get("layout_source") or (store.layout is not None),
    }


def _is_results_workbook(path: Path) -> bool:
    try:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - not a workbook openpyxl reads: the input readers say why
        return False
    try:
        first = book.worksheets[0] if book.worksheets else None
        cell = next(first.iter_rows(max_row=1, max_col=1, values_only=True), (None,))[0] if first else None
        return first is not None and first.title == "about" and cell == RESULTS_TITLE
    finally:
        book.close()


def _workbook_info(path: Path) -> dict:
    from ferroscreen.workbooks import workbook_rows

    sheets: dict[str, list] = {}
    for title, _, row in workbook_rows(path, FerroscreenError):
        sheets.setdefault(title, []).append(row)
    about = {str(r[0]): r[1] for r in sheets.get("about", []) if len(r) > 1 and r[0] not in ("", None)}
    return {
        "kind": "fit_results",
        "path": str(path),
        "ferroscreen_version": about.get("ferroscreen version"),
        "input": about.get("input"),
        "sheets": {title: max(0, len(rows) - 1) for title, rows in sheets.items() if title != "about"},
    }


def _fit_folder_info(folder: Path) -> dict | None:
    prov_path = folder / "provenance.json"
    try:
        prov = json.loads(prov_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FerroscreenError(f"{prov_path}: not readable JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(prov, dict) or not isinstance(prov.get("fit"), dict):
        return None  # not a fit's record: read as an input
    layouts = prov.get("layout") or []
    layouts = layouts if isinstance(layouts, list) else [layouts]
    tables = {}
    for name in FIT_TABLES:
        if (folder / name).is_file():
            try:
                tables[name] = int(len(pd.read_csv(folder / name, usecols=[0])))
            except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
                tables[name] = None
    out = {
        "kind": "fit_output",
        "path": str(folder),
        "ferroscreen_version": prov.get("ferroscreen_version"),
        "created": prov.get("created"),
        "input": (prov.get("input") or {}).get("path") if isinstance(prov.get("input"), dict) else prov.get("input"),
        "inputs": [i.get("path") for i in prov.get("inputs") or [] if isinstance(i, dict)],
        "layout": [lay.get("path") for lay in layouts if isinstance(lay, dict)],
        "options": prov["fit"],
        "tables": tables,
    }
    fits = folder / "fits.csv"
    if tables.get("fits.csv"):
        try:
            calls = pd.read_csv(fits, usecols=["call"])["call"].astype(str).value_counts()
            out["calls"] = {str(k): int(v) for k, v in calls.items()}
        except (ValueError, pd.errors.ParserError):
            pass
    return out


def render_output(info: dict) -> str:
    """The text ``inspect`` prints for a :func:`describe_output` description."""
    render = {"score_store": _store_lines, "fit_results": _workbook_lines, "fit_output": _fit_folder_lines}
    return "\n".join(render[info["kind"]](info))


def _store_lines(info: dict) -> list[str]:
    times = info["timepoints_h"]
    span = f"{times[0]:g}-{times[-1]:g} h" if times else "none"
    layout = info["layout"] if isinstance(info["layout"], str) else "yes" if info["layout"] else "none"
    lines = [
        f"{info['path']}: score store of plate {info['plate']} ({info['acquisition']})",
        f"  model: {info['model']} (sha256 {str(info['model_sha256'])[:12]}), classes {', '.join(info['classes'])}; "
        f"precision {info['precision']}" + (", --tta" if info["tta"] else ""),
        f"  channel {info['channel']}, z plane {info['z_plane']}; ferroscreen {info['ferroscreen_version']}, "
        f"created {info['created']}, updated {info['updated']}",
        f"  frames: {info['n_frames']} ({info['n_wells']} wells, {info['n_timepoints']} timepoints, {span}): "
        f"{info['frames_done']} done, {info['frames_failed']} failed, {info['frames_pending']} pending; "
        f"{info['n_cells']} cells",
    ]
    reasons = list(info["failure_reasons"].items())
    lines += [f"    failed ({n}): {reason}" for reason, n in reasons[:5]]
    if len(reasons) > 5:
        lines.append(f"    ... and {sum(n for _, n in reasons[5:])} more failed frame(s) ({len(reasons) - 5} more "
                     f"reasons; --json lists them)")
    if info.get("writer_pid") is not None:
        pid = f" (pid {info['writer_pid']})" if info["writer_pid"] else ""
        lines.append(f"  a score run{pid} is writing it: frames it scored are merged into the store when it ends")
    elif info.get("journals"):
        lines.append(f"  a stopped run left frame results in {Path(info['journals'][0]).parent} that the store does "
                     f"not hold yet: `ferroscreen score ... --resume` merges them first")
    if info["frames_pending"] and info.get("writer_pid") is None:
        lines.append("  (`ferroscreen score ... --resume` scores the pending frames)")
    lines.append(f"  layout: {layout}; per-well aggregates: {'yes' if info['wells_aggregated'] else 'not yet'}")
    return lines


def _workbook_lines(info: dict) -> list[str]:
    return [f"{info['path']}: fit results workbook (ferroscreen {info['ferroscreen_version']}) of "
            f"{info['input'] or 'an unnamed input'}",
            *(f"  sheet {title}: {n} rows" for title, n in info["sheets"].items())]


def _fit_folder_lines(info: dict) -> list[str]:
    lines = [f"{info['path']}: fit output (ferroscreen {info['ferroscreen_version']}, {info['created']})",
             f"  input: {info['input']}" if len(info.get("inputs") or []) < 2
             else f"  inputs ({len(info['inputs'])}): {', '.join(map(str, info['inputs']))}"]
    if info["layout"]:
        lines.append(f"  layout: {', '.join(map(str, info['layout']))}")
    opts = info["options"]
    shown = {k: opts[k] for k in ("model", "readouts", "endpoint_h", "rank_on", "input_kind", "exclude")
             if k in opts and opts[k] not in (None, [], "")}
    if shown:
        lines.append("  options: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    lines += [f"  {name}: {'unreadable' if n is None else f'{n} rows'}" for name, n in info["tables"].items()]
    if info.get("calls"):
        lines.append("  curve calls: " + ", ".join(f"{n} {call}" for call, n in info["calls"].items()))
    return lines
