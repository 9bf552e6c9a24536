"""The report's "Cell lines compared" section, from ``lines.csv`` and the compounds' sections.

One sortable table of every comparison (compound, readout, the more and the
less sensitive line with their EC50s, the EC50 ratio with its interval, q,
verdict; line names link to that line's section of the compound), and for each
compound with its own sections in two or more lines, the lines' curves drawn
over each other with one sentence per comparison of the readouts shown.
Compounds with a ``differs`` or ``selective`` verdict come first.
"""

from __future__ import annotations

import math

import pandas as pd

from ferroscreen.analysis.line_comparison import comparison_sentence
from ferroscreen.report import figures
from ferroscreen.report.compounds import CompoundInfo, dose_points, group_column
from ferroscreen.report.formatting import NOT_DETERMINED, ec50_bound, molar, ratio_range
from ferroscreen.report.results import Results
from ferroscreen.report.tables import cell

_COLUMNS = ["compound", "readout", "more sensitive", "EC50", "less sensitive", "EC50 ", "ratio", "ratio 95% CI",
            "q", "verdict"]
_VERDICT_CLASS = {"differs": "bad", "selective": "bad", "similar": "ok", "not_comparable": "muted"}
_NOTABLE = ("differs", "selective")


def _curve_rows(fits: pd.DataFrame | None) -> dict[tuple[str, str, str], pd.Series]:
    """(compound, line, readout) -> the compound's own fits row there (not a rescue curve's), as compared."""
    if fits is None or fits.empty or not {"name", "readout"} <= set(fits.columns):
        return {}
    keys = zip(fits["name"].astype(str), group_column(fits), fits["readout"].astype(str), strict=True)
    out: dict[tuple[str, str, str], pd.Series] = {}
    for key, (_, row) in zip(keys, fits.iterrows(), strict=True):
        out.setdefault(key, row)
    return out


def _ec50_cell(value: float, fit: pd.Series | None) -> dict:
    """The EC50 as the fits and ranking tables write it (:func:`~ferroscreen.report.formatting.ec50_bound`)."""
    bound, held = ec50_bound(fit) if fit is not None else ("", value)
    if bound == "?":
        return {"text": NOT_DETERMINED, "sort": "", "cls": "", "href": None}
    value = held if bound else value
    finite = isinstance(value, float) and math.isfinite(value)
    text = f"{bound} {molar(value)}" if bound else molar(value)
    return {"text": text if finite else "", "sort": repr(value) if finite else "", "cls": "", "href": None}


def _dose_span(*fits: pd.Series | None) -> float:
    """Highest tested dose over the lowest of these curves (NaN when unknown)."""
    lo = [float(f.get("dose_min", math.nan)) for f in fits if f is not None]
    hi = [float(f.get("dose_max", math.nan)) for f in fits if f is not None]
    lo, hi = [v for v in lo if math.isfinite(v) and v > 0], [v for v in hi if math.isfinite(v)]
    return max(hi) / min(lo) if lo and hi else math.nan


def _table(lines: pd.DataFrame, anchors: dict[tuple[str, str], str], fits: pd.DataFrame | None = None) -> dict:
    curves = _curve_rows(fits)
    rows = []
    for _, r in lines.iterrows():
        fit_a = curves.get((str(r["compound"]), str(r["line_a"]), str(r["readout"])))
        fit_b = curves.get((str(r["compound"]), str(r["line_b"]), str(r["readout"])))
        ci = ratio_range(r["ratio_lo"], r["ratio_hi"], _dose_span(fit_a, fit_b))
        rows.append([
            cell(r["compound"], href=anchors.get((r["compound"], r["line_a"]))),
            cell(r["readout"]),
            cell(r["line_a"], href=anchors.get((r["compound"], r["line_a"]))),
            _ec50_cell(float(r["ec50_a"]), fit_a),
            cell(r["line_b"], href=anchors.get((r["compound"], r["line_b"]))),
            _ec50_cell(float(r["ec50_b"]), fit_b) if r["call_b"] == "active" else cell(r["call_b"], cls="muted"),
            cell(float(r["ratio"]), "ratio"),
            cell(ci),
            cell(float(r["q_value"]), "q"),
            cell(r["verdict"], cls=_VERDICT_CLASS.get(r["verdict"], "")),
        ])
    return {"columns": _COLUMNS, "rows": rows}


def _per_line(res: Results, infos: list[CompoundInfo]) -> dict[str, dict[str, tuple[pd.Series, pd.DataFrame]]]:
    """Line -> mode -> (row, points), for the modes where some line's curve is active (all when none is)."""
    active = {m for i in infos for m, row in i.curves.items() if str(row.get("call", "")) == "active"}
    return {
        i.group: {m: (row, dose_points(res, i.name, "", row, m, i.group)) for m, row in i.curves.items()
                  if m in active or not active}
        for i in infos
    }


def line_comparisons(res: Results, infos: list[CompoundInfo], anchors: dict[tuple[str, str], str]) -> dict | None:
    """The section's data: ``table`` (every row of ``lines.csv``) and ``compounds`` (figure and sentences).

    An EC50 is written as the fits and ranking tables write it: held to the
    tested doses of its fit (``> 30 µM``); a ratio interval limit the doses
    cannot support is ``unbounded`` (:func:`~ferroscreen.report.formatting.ratio_range`).

    Args:
        res: Loaded results (``res.lines`` from ``lines.csv``).
        infos: The compounds that have sections (one per compound and line).
        anchors: (compound, line) -> href of its section.

    Returns:
        None when the folder has no comparison.
    """
    if res.lines is None or res.lines.empty:
        return None
    lines = res.lines.copy()
    notable = lines.groupby("compound")["verdict"].agg(lambda v: any(x in _NOTABLE for x in v))
    lines["_first"] = ~lines["compound"].map(notable)
    lines = lines.sort_values(["_first", "compound"], kind="stable").drop(columns="_first")
    blocks = []
    for compound, rows in lines.groupby("compound", sort=False):
        mine = [i for i in infos if i.name == compound and i.group]
        if len(mine) < 2:
            continue
        shown = {str(row["readout"]) for i in mine for row in i.curves.values()}
        sentences = [
            {"text": f"{r['readout']}: {comparison_sentence(r)}", "verdict": r["verdict"]}
            for _, r in rows.iterrows() if str(r["readout"]) in shown
        ]
        blocks.append({
            "name": str(compound),
            "uri": figures.lines_figure(_per_line(res, mine), res.death_modes),
            "sentences": sentences,
        })
    return {"table": _table(lines, anchors, res.fits), "compounds": blocks}


__all__ = ["line_comparisons"]
