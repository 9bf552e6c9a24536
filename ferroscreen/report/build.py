"""``build_report``: a results folder in, one self-contained HTML file out."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from ferroscreen import __version__
from ferroscreen.report import figures, tables
from ferroscreen.report.compounds import (
    CompoundInfo,
    active_ranking,
    compound_counts,
    course_summaries,
    dose_points,
    endpoint_wells,
    left_out_counts,
    list_compounds,
    no_curve_reason,
    of_group,
    ranked_readouts,
    time_courses,
)
from ferroscreen.report.formatting import fmt
from ferroscreen.report.html import check_page_path, render_html, write_page
from ferroscreen.report.knockdown import build_hits_report, is_hits_folder
from ferroscreen.report.lines import line_comparisons
from ferroscreen.report.multiplicity import (
    active_counts,
    activity_rule,
    ranked_on_note,
    ranked_on_short,
    rescue_note,
)
from ferroscreen.report.rescue import rescue_comparisons
from ferroscreen.report.results import RESULT_FILES, ReportInputError, Results, compound_gallery_png, load_results

#: What each tidy table holds (shown next to its link).
FILE_DESCRIPTIONS = {
    "wells": "per well × time point: cell count and class fractions",
    "fits": "one row per curve × readout: parameters, EC50 with CI, call, flags",
    "ranking": "per mode: rank, score and score components",
    "qc": "per plate × mode: Z′, SSMD, CVs, pass/fail",
    "ec50_time": "EC50 per time point",
    "rescue": "rescue potency ratios",
    "lines": "cell lines compared: EC50 ratio per compound and readout, with its CI and q-value",
    "points": "tidy dose-response points",
    "layout": "plate layout",
    "provenance": "versions, model bundle, configs, inputs",
    "gallery": "the cells shown in the gallery: class, well, time, position, probability",
    "compound_gallery": "the cells shown in each compound's gallery: class, well, time, position, probability",
}

DEFAULT_MAX_COMPOUNDS = 60


def _relative_href(path: Path, out: Path) -> str:
    rel = os.path.relpath(path.resolve(), out.resolve().parent)
    return quote(Path(rel).as_posix())


def _ec50_series(res: Results, info: CompoundInfo) -> dict[str, pd.DataFrame]:
    if res.ec50_time is None:
        return {}
    table = of_group(res.ec50_time, info.group)
    table = table[table["name"] == info.name]
    out = {}
    for mode, row in info.curves.items():
        if str(row.get("call", "active")) != "active":
            continue
        sub = table
        if "readout" in table.columns:
            sub = table[table["readout"] == row["readout"]]
            if sub.empty:
                sub = table[[m == mode for m in _modes_of(table["readout"], res)]]
        if len(sub):
            out[mode] = sub
    return out


def _modes_of(readouts: pd.Series, res: Results) -> list[str | None]:
    from ferroscreen.report.results import readout_mode

    modes = set(res.death_modes)
    return [readout_mode(r, modes) for r in readouts]


def _rank_badges(res: Results, info: CompoundInfo) -> tuple[list[str], str]:
    """``(badges, note)`` of a compound's heading: ``#2 apoptosis`` per mode it is ranked active in, best first.

    A rank among compounds that do not induce a mode is no hit: a compound that ``ranking.csv`` ranks
    in no mode as active gets no badge but the ``note`` ``not active in any ranked mode`` (``""``
    otherwise, and for a compound the ranking does not hold).
    """
    if res.ranking is None:
        return [], ""
    sub = of_group(res.ranking, info.group)
    sub = sub[sub["compound"] == info.name]
    active = active_ranking(sub).sort_values(["rank", "mode"])
    badges = [f"#{int(row['rank'])} {row['mode']}" for _, row in active.iterrows()]
    return badges, "not active in any ranked mode" if len(sub) and not badges else ""


def _compound_context(res: Results, info: CompoundInfo) -> dict:
    order = res.death_modes
    curves = {m: (row, dose_points(res, info.name, "", row, m, info.group)) for m, row in info.curves.items()}
    rescue = {
        agent: {m: (row, dose_points(res, info.name, agent, row, m, info.group)) for m, row in per_mode.items()}
        for agent, per_mode in info.rescue.items()
    }
    readouts = {r: (row, dose_points(res, info.name, "", row, "", info.group)) for r, row in info.readouts.items()}
    readouts_rescue = {
        agent: {r: (row, dose_points(res, info.name, agent, row, "", info.group)) for r, row in per_readout.items()}
        for agent, per_readout in info.rescue_readouts.items()
    }
    single = {  # rescue arms without a curve (one dose): their wells, read as the curve's points are
        agent: {m: dose_points(res, info.name, agent, row.drop("curve", errors="ignore"), m, info.group)
                for m, row in info.curves.items()}
        for agent in info.single_rescue
    }
    single_readouts = {
        agent: {r: dose_points(res, info.name, agent, row.drop("curve", errors="ignore"), "", info.group)
                for r, row in info.readouts.items()}
        for agent in info.single_rescue
    }
    courses = time_courses(res, info.name, info.group)
    panels = [(res.frac_column(m), m, m) for m in order if res.frac_column(m)]
    if res.wells is not None and "n_cells" in res.wells.columns:
        panels.append(("n_cells", res.count_label, ""))
    comparisons = [
        {"sentence": f"{info.group}: {c.sentence}" if info.group else c.sentence, "verdict": c.verdict,
         "adjusted": c.adjusted_text()}
        for c in rescue_comparisons(res, info)
    ]
    cells = compound_gallery_png(res, info.name, info.group)
    no_curve = no_curve_reason(res, info)
    ranks, rank_note = _rank_badges(res, info)
    return {
        "cells": None if cells is None else "data:image/png;base64," + base64.b64encode(cells).decode("ascii"),
        "name": info.label,
        "anchor": info.anchor,
        "role": info.role if info.role not in ("", "sample") else "",
        "mode": info.mode if info.role == "reference" else "",
        "ranks": ranks,
        "rank_note": rank_note,
        "tc": figures.time_course_figure(courses, panels) if courses else None,
        "dr": figures.dose_response_figure(curves, rescue, order, single=single),
        "dr_readouts": (figures.dose_response_figure(readouts, readouts_rescue, list(readouts), single=single_readouts)
                        if readouts else None),
        "readout_names": ", ".join(readouts),
        "single_rescue": ", ".join(a for a, per in single.items() if any(len(p) for p in per.values())),
        "has_readout_points": any(len(pts) for _, pts in readouts.values()),
        "has_readout_rescue": bool(readouts_rescue),
        "ec50t": figures.ec50_time_figure(_ec50_series(res, info), order),
        "fits": tables.fits_table(info),
        "rescue": comparisons,
        "no_curve": no_curve,
        "has_rescue": bool(rescue),
    }


def _heatmaps(res: Results, verdicts: dict[str, dict]) -> list[dict]:
    """Per plate its maps' image and caption data.

    Wells the layout calls ``empty`` (no cells) have no values on the maps (NaN, drawn grey as
    no data): their few debris detections would read as a fully dead well.
    """
    end = endpoint_wells(res)
    if end is None:
        return []
    panels = []
    if "n_cells" in end.columns:
        panels.append(("n_cells", res.count_label, "count"))
    columns = {m: res.frac_column(m) for m in res.death_modes if res.frac_column(m)}
    # death modes ranked on their peak fraction are mapped at their peak, not at the endpoint
    peak = [m for m, r in ranked_readouts(res).items() if m in columns and r == f"peak_{m}"]
    if peak:
        summary = course_summaries(res.wells, {m: columns[m] for m in peak})
        end = end.merge(summary[["plate", "well", *(f"peak_{m}" for m in peak)]], on=["plate", "well"], how="left")
    for m, col in columns.items():
        col, label = (f"peak_{m}", f"{m} peak fraction") if m in peak else (col, f"{m} fraction")
        panels.append((col, label, figures.mode_color(m, res.death_modes)))
    no_cells = (end["role"] == "empty").to_numpy() if "role" in end.columns else np.zeros(len(end), bool)
    shown = [p[0] for p in panels if p[0] in end.columns]
    end = end.assign(**{c: end[c].to_numpy(float) for c in shown})
    end.loc[no_cells, shown] = np.nan
    empty_by_plate = end.loc[no_cells].groupby("plate")["well"].nunique().to_dict()
    flagged_by_plate: dict[str, list[str]] = {}
    flag_cols = res.flag_columns
    if flag_cols and res.wells is not None:
        any_flag = pd.Series(False, index=res.wells.index)
        for col in flag_cols:
            parsed = res.wells[col].map(tables.truthy)
            named = parsed.isna() & res.wells[col].notna() & (res.wells[col].astype(str).str.strip() != "")
            any_flag |= parsed.eq(True) | named
        for (plate, well), _ in res.wells[any_flag].groupby(["plate", "well"]):
            flagged_by_plate.setdefault(str(plate), []).append(str(well))
    excluded_by_plate: dict[str, list[str]] = {}
    if res.wells is not None and "exclude" in res.wells.columns:
        for (plate, well), _ in res.wells[res.wells["exclude"] != ""].groupby(["plate", "well"]):
            excluded_by_plate.setdefault(str(plate), []).append(str(well))
    out = []
    for plate, sub in end.groupby("plate", sort=True):
        times = sorted(sub["time_h"].unique())
        when = (
            f"{fmt(float(times[-1]))} h" if len(times) == 1 else (f"{fmt(float(times[0]))}–{fmt(float(times[-1]))} h")
        )
        verdict = verdicts.get(str(plate), {"verdict": "n/a", "reasons": []})
        out.append(
            {
                "plate": str(plate),
                "time": when,
                "uri": figures.plate_heatmaps(sub, panels, flagged_by_plate.get(str(plate), []),
                                              excluded=excluded_by_plate.get(str(plate), [])),
                "excluded": len(excluded_by_plate.get(str(plate), [])),
                "verdict": verdict["verdict"],
                "reasons": verdict["reasons"],
                "corrected": res.frac_prefix == "frac_corr_",
                "peak": bool(peak),
                "shows": " and ".join(([res.count_label] if "n_cells" in end.columns else [])
                                      + (["death-mode fractions"] if columns else []))
                + ((f" (the layout's {n} empty, no-cell well{'s' if n != 1 else ''} left blank)")
                   if (n := int(empty_by_plate.get(plate, 0))) else ""),
            }
        )
    return [h for h in out if h["uri"]]


def _floor_2(p: float) -> str:
    """``p`` rounded down to 2 decimals (0.967 -> ``0.96``), so that the caption's ``p >= 0.96`` holds."""
    return f"{math.floor(p * 100 + 1e-9) / 100:.2f}"  # 1e-9: 0.29 * 100 is 28.999...


def _gallery(res: Results) -> dict | None:
    """The cell gallery's image (data URI) and per-class counts (``p_min`` rounded down), or None without one."""
    if res.gallery is None or res.gallery_png is None:
        return None
    g = res.gallery
    per_class = [
        {"cls": str(c), "n": int(len(rows)), "wells": int(rows["well"].nunique()),
         "p_min": _floor_2(float(rows["p"].min()))}
        for c, rows in g.groupby("class", sort=False)
    ]
    return {"uri": "data:image/png;base64," + base64.b64encode(res.gallery_png).decode("ascii"),
            "classes": per_class}


def _provenance(res: Results, created: str) -> list[dict]:
    rows: list[dict] = [
        {"key": "report created", "text": created, "block": False},
        {"key": "ferroscreen (report)", "text": __version__, "block": False},
        {"key": "results folder", "text": str(res.root.resolve()), "block": False},
    ]
    for key, value in res.provenance.items():
        if isinstance(value, dict | list):
            text = json.dumps(value, indent=2, sort_keys=False, default=str, ensure_ascii=False)  # escaped on render
            summary = f"{len(value)} {'entries' if isinstance(value, dict) else 'items'}"
            flat = isinstance(value, dict) and not any(isinstance(v, dict | list) for v in value.values())
            if flat and len(value) <= 4 and len(text) < 240:
                rows.append({"key": str(key), "text": ", ".join(f"{k}: {v}" for k, v in value.items()), "block": False})
            else:
                rows.append({"key": str(key), "text": text, "block": True, "summary": summary})
        else:
            rows.append({"key": str(key), "text": "" if value is None else str(value), "block": False})
    if not res.provenance:
        rows.append({"key": "provenance.json", "text": "absent from the results folder", "block": False})
    sums = res.file_sha256()
    rows.append(
        {
            "key": "input files (sha256)",
            "block": True,
            "summary": f"{len(sums)} files",
            "text": "\n".join(f"{digest}  {name}" for name, digest in sums.items()),
        }
    )
    return rows


def left_out_line(counts: dict[str, int], by: str) -> str:
    """The line under the compound index for :func:`~ferroscreen.report.compounds.left_out_counts` ("" for none).

    ``12 lower-ranked compounds and 2 mode references left out (...)``: compounds as the summary
    counts them, references and positive controls apart.
    """
    kinds = (("compounds", "compound"), ("references", "mode reference"), ("pos_ctrls", "positive control"))
    parts: list[str] = []
    for key, word in kinds:
        if n := counts.get(key, 0):
            parts.append(f"{n} {'' if parts else by + ' '}{word}{'s' if n != 1 else ''}")
    if not parts:
        return ""
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"{listed} left out (see fits.csv, or raise --max-compounds)."


def report_context(
    res: Results, out: Path, max_compounds: int | None = DEFAULT_MAX_COMPOUNDS, title: str | None = None
) -> dict:
    """Everything the template shows, as plain data (strings are escaped at render time).

    Args:
        res: Loaded results.
        out: Where the HTML file will be written (links to the CSVs are relative to it).
        max_compounds: Compounds with their own section, best-ranked first (None: all).
        title: Page title (default: from the results folder name).
    """
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    infos, n_left = list_compounds(res, max_compounds)
    anchors = {(i.name, i.group): i.anchor for i in infos}
    verdicts = tables.qc_verdicts(res)
    compounds = [_compound_context(res, i) for i in infos]
    flagged, n_flagged = tables.flagged_wells(res)
    plates = tables.plates_summary(res)
    for p in plates:
        v = verdicts.get(p["plate"], {"verdict": "n/a", "reasons": []})
        p["verdict"], p["reasons"] = v["verdict"], v["reasons"]
    fits = res.fits
    n_active = int((fits["call"] == "active").sum()) if fits is not None and "call" in fits.columns else 0
    rescues = [r for c in compounds for r in c["rescue"]]
    counts = compound_counts(res)  # of the whole screen, not only the sections shown
    rule = activity_rule(res)
    summary = {
        "n_plates": len(plates) or (res.qc["plate"].nunique() if res.qc is not None else 0),
        "n_compounds": counts["compounds"],
        "n_references": counts["references"],
        "n_pos_ctrls": counts["pos_ctrls"],
        "n_curves": 0 if fits is None else len(fits),
        "n_active": n_active,
        "n_qc_fail": sum(v["verdict"] == "fail" for v in verdicts.values()),
        "plates": plates,
        "top_hits": tables.top_hits(res, anchors),
        "rescues": rescues,
        "activity_rule": rule,
        "active_counts": active_counts(rule),
        "rescue_note": rescue_note(res, len(rescues)),
    }
    csv_links = []
    for name, path in res.files.items():
        csv_links.append(
            {"name": path.name, "href": _relative_href(path, out), "description": FILE_DESCRIPTIONS.get(name, "")}
        )
    order = list(RESULT_FILES)
    csv_links.sort(key=lambda f: next((i for i, k in enumerate(order) if f["name"] in RESULT_FILES[k]), 99))
    modes = res.death_modes
    return {
        "title": title or f"Screen report: {res.root.resolve().name}",
        "created": created,
        "version": __version__,
        "results_dir": str(res.root),
        "notes": res.notes,
        "summary": summary,
        "mode_colors": {m: figures.mode_color(m, modes) for m in modes},
        "heatmaps": _heatmaps(res, verdicts),
        "qc_table": tables.qc_table(res),
        "flagged": flagged,
        "has_wells": res.wells is not None,
        "n_flagged": n_flagged,
        "rankings": tables.ranking_tables(res, {k: f"#{v}" for k, v in anchors.items()}),
        "ranked_on": ranked_on_note(res, rule),
        "ranked_on_short": ranked_on_short(res),
        "no_ranking": ("No ranking.csv in the results folder." if res.ranking is None
                       else "ranking.csv ranks no compound (no curve of a ranked readout was fitted)."),
        "lines": line_comparisons(res, infos, {k: f"#{v}" for k, v in anchors.items()}),
        "csv_links": csv_links,
        "compounds": compounds,
        "gallery": _gallery(res),
        "n_left_out": n_left,
        "left_out": left_out_line(left_out_counts(res, infos), "lower-ranked" if res.ranking is not None
                                  else "less significant (no active fit, or a higher q-value)"),
        "provenance": _provenance(res, created),
        "data": {
            "ferroscreen": __version__,
            "created": created,
            "modes": modes,
            "plates": [p["plate"] for p in plates],
            "compounds": [
                {"name": i.name, "group": i.group, "anchor": i.anchor,
                 "best_rank": None if math.isinf(i.best_rank) else i.best_rank}
                for i in infos
            ],
            "files": {k: p.name for k, p in res.files.items()},
        },
    }


def _refuse_other_outputs(folder: Path) -> None:
    """Refuse, in one line saying what to do, a ``segment`` output or a ``hits`` folder that lost its genes.csv.

    Raises:
        ReportInputError: ``folder`` is one of those (its wells.csv is per well, not per well x time).
    """
    from ferroscreen.io.segment_outputs import is_segment_output

    if folder.is_dir() and is_segment_output(folder):
        raise ReportInputError(f"{folder}: a `ferroscreen segment` output (nuclei per well), which `report` does not "
                               f"draw: call hits first (`ferroscreen hits {folder / 'wells.csv'} --layout LIBRARY "
                               f"--out HITS`) and give `report` the HITS folder")
    if (folder / "hits.json").is_file() and not (folder / "genes.csv").is_file():
        raise ReportInputError(f"{folder}: a `ferroscreen hits` folder without its genes.csv (the gene table the "
                               f"report draws): run hits again into this folder")


def build_report(
    results_dir: str | Path,
    out: str | Path,
    *,
    max_compounds: int | None = DEFAULT_MAX_COMPOUNDS,
    title: str | None = None,
) -> Path:
    """Write the HTML report of a results folder (a ``ferroscreen hits`` folder gets the knockdown report).

    Args:
        results_dir: Folder with ``wells.csv`` and/or ``fits.csv`` and the
            optional tables of :mod:`ferroscreen.report.results`, or a hits
            folder (:func:`ferroscreen.report.knockdown.build_hits_report`).
        out: The HTML file to write (its folder is created).
        max_compounds: Compounds that get their own section, best-ranked
            first (None: all).
        title: Page title.

    Returns:
        The path written.

    Raises:
        ReportInputError: If the results folder or one of its tables is unusable.
    """
    out = Path(out)
    if is_hits_folder(results_dir):
        return build_hits_report(results_dir, out, title=title)
    _refuse_other_outputs(Path(results_dir))
    check_page_path(Path(out))  # before the render, which takes a while
    res = load_results(results_dir)
    return write_page(out, render_html(report_context(res, out, max_compounds=max_compounds, title=title)))
