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
from ferroscreen.report.compounds import CompoundInfo, dose_points
from ferroscreen.report.formatting import fmt, molar
from ferroscreen.report.results import Results
from ferroscreen.report.tables import cell

_COLUMNS = ["compound", "readout", "more sensitive", "EC50", "less sensitive", "EC50 ", "ratio", "ratio 95% CI",
            "q", "verdict"]
_VERDICT_CLASS = {"differs": "bad", "selective": "bad", "similar": "ok", "not_comparable": "muted"}
_NOTABLE = ("differs", "selective")


def _ec50_cell(value: float) -> dict:
    finite = isinstance(value, float) and math.isfinite(value)
    return {"text": molar(value) if finite else "", "sort": repr(value) if finite else "", "cls": "", "href": None}


def _table(lines: pd.DataFrame, anchors: dict[tuple[str, str], str]) -> dict:
    rows = []
    for _, r in lines.iterrows():
        ci = f"{fmt(r['ratio_lo'])}–{fmt(r['ratio_hi'])}" if math.isfinite(r["ratio_lo"]) else ""
        rows.append([
            cell(r["compound"], href=anchors.get((r["compound"], r["line_a"]))),
            cell(r["readout"]),
            cell(r["line_a"], href=anchors.get((r["compound"], r["line_a"]))),
            _ec50_cell(float(r["ec50_a"])),
            cell(r["line_b"], href=anchors.get((r["compound"], r["line_b"]))),
            _ec50_cell(float(r["ec50_b"])) if r["call_b"] == "active" else cell(r["call_b"], cls="muted"),
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
    return {"table": _table(lines, anchors), "compounds": blocks}


__all__ = ["line_comparisons"]
