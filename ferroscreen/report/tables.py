"""Tables of the report as plain data for the template.

A table is a dict ``{"columns": [...], "rows": [[cell, ...], ...]}``; a cell
is a dict ``{"text", "sort", "cls", "href"}`` where ``text`` is what is shown
(escaped by the template), ``sort`` the key the sortable tables compare
(a number as text, or the text) and ``href`` an in-page link or None.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from ferroscreen.report.compounds import CompoundInfo, group_column
from ferroscreen.report.formatting import fmt, held_ec50, molar, molar_range
from ferroscreen.report.results import Results

_TRUE = {"true", "1", "yes", "y", "pass", "passed", "ok"}
_FALSE = {"false", "0", "no", "n", "fail", "failed", ""}
_PASS_COLUMN = re.compile(r"^(pass|passed|qc_pass|ok|.*_pass|.*_ok|.*_passed)$")
_FAIL_COLUMN = re.compile(r"^(fail|failed|flagged|qc_fail|.*_fail|.*_failed)$")
_REASON_COLUMN = re.compile(r"^(flags|qc_flags|reasons?|failures?)$")


def truthy(value: Any) -> bool | None:
    """Parse a pass/fail or flag cell: True, False or None when empty/unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE or text == "nan":
        return False
    return None


def cell(value: Any, column: str = "", cls: str = "", href: str | None = None) -> dict:
    """A table cell of ``value`` (see the module docstring)."""
    text = fmt(value, column)
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
        sort = "" if math.isnan(float(value)) else repr(float(value))
    else:
        sort = text
    return {"text": text, "sort": sort, "cls": cls, "href": href}


def frame_table(df: pd.DataFrame, columns: list[str] | None = None) -> dict:
    """A template table of a DataFrame (cells without links; callers set a cell's ``href``).

    Args:
        df: The rows.
        columns: Columns to show (default: all).
    """
    columns = list(df.columns) if columns is None else [c for c in columns if c in df.columns]
    rows = [
        [cell(value, col) for col, value in zip(columns, record, strict=True)]
        for record in df[columns].itertuples(index=False)
    ]
    return {"columns": columns, "rows": rows}


#: Columns that state a curve's potency; shown as ``n/a (<call>)`` (EC50) or left empty for a curve
#: whose call is not ``active``: the EC50 of a flat or failed fit is no potency.
POTENCY_COLUMNS = ("ec50", "ec50_ci", "ec50_lo", "ec50_hi", "ec50_se", "pec50", "hill",
                   "ed10", "ed10_lo", "ed10_hi", "ed90", "ed90_lo", "ed90_hi")


def _blank_potency(table: dict, columns: list[str], calls: list[str]) -> None:
    """Write ``n/a (inactive)`` in the EC50 cell and clear the other potency cells of rows not ``active``."""
    for cells, call in zip(table["rows"], calls, strict=True):
        if call == "active":
            continue
        why = call if call in ("inactive", "failed") else "inactive"
        for c, col in zip(cells, columns, strict=True):
            if col in POTENCY_COLUMNS:
                c["text"] = f"n/a ({why})" if col == "ec50" else ""
                c["sort"] = ""


def _calls(rows: pd.DataFrame) -> list[str] | None:
    """Each row's activity ``call`` (None when the table has none)."""
    return rows["call"].fillna("").astype(str).str.strip().tolist() if "call" in rows.columns else None


def ranking_tables(res: Results, anchors: dict[tuple[str, str], str]) -> list[dict]:
    """One sortable table per mode: rank, compound, score and every score component.

    Rows of compounds not active in the mode are greyed (``muted``) past their name: their
    EC50 and potency describe no effect. Rows whose ``call`` is not ``active`` (a flat or
    failed fit) show ``n/a (inactive)`` as EC50 and no pEC50 (:data:`POTENCY_COLUMNS`),
    whatever the ``ranking.csv`` holds (an older one kept the flat fit's EC50).

    ``anchors`` maps (compound, group) to the href of its section; each row's
    compound links to the section of its own group.
    """
    if res.ranking is None:
        return []
    out = []
    modes = list(dict.fromkeys([*res.death_modes, *res.ranking["mode"]]))
    for mode in modes:
        sub = res.ranking[res.ranking["mode"] == mode].sort_values("rank")
        if sub.empty:
            continue
        first = ["rank", "compound", "score"]
        columns = first + [c for c in sub.columns if c not in first and c not in ("mode", "ec50_bound")]
        table = frame_table(sub, columns)
        _mark_held_ec50(table, sub)
        calls = _calls(sub)
        if calls is not None:
            _blank_potency(table, columns, calls)
        at = columns.index("compound")
        keys = zip(sub["compound"].astype(str), group_column(sub), strict=True)
        tier = next((sub[c].astype(str).tolist() for c in ("tier", "call") if c in sub.columns), None)
        for k, (row, key) in enumerate(zip(table["rows"], keys, strict=True)):
            row[at]["href"] = anchors.get(key)
            if tier is not None and tier[k] != "active":  # an inactive curve's EC50 and potency mean nothing
                for c, col in zip(row, columns, strict=True):
                    if col not in ("rank", "compound", "tier", "call"):
                        c["cls"] = "muted"
        table["mode"] = mode
        out.append(table)
    return out


def _mark_held_ec50(table: dict, rows: pd.DataFrame) -> None:
    """Write an EC50 held to the tested doses as ``< 508 pM`` / ``> 10 µM`` (pEC50 ``> 9.29``), without its CI."""
    columns = table["columns"]
    for cells, (_, row) in zip(table["rows"], rows.iterrows(), strict=True):
        bound, ec50 = held_ec50(row)
        if not bound:
            continue
        for c, col in zip(cells, columns, strict=True):
            if col == "ec50":
                c["text"] = f"{bound} {molar(ec50)}"
            elif col == "pec50":
                c["text"] = f"{'>' if bound == '<' else '<'} {-math.log10(ec50):.3g}"
            elif col in ("ec50_ci", "ec50_lo", "ec50_hi", "ec50_se"):
                c["text"] = ""


def top_hits(res: Results, anchors: dict[tuple[str, str], str], n: int = 3) -> list[dict]:
    """Per mode the ``n`` best-ranked *active* compounds: ``{"mode", "hits": [{"compound", "score", "href"}]}``.

    ``compound`` names the group too (``"RSL3 · HT-1080"``) where the ranking has one;
    ``anchors`` maps (compound, group) to the href of its section. Rows whose
    ``tier`` (or, without one, ``call``) is not ``active`` are not hits; a mode
    without active compounds gets one entry ``none active`` (no score, no link).
    """
    if res.ranking is None:
        return []
    out = []
    for mode, sub in res.ranking.groupby("mode", sort=False):
        for col in ("tier", "call"):
            if col in sub.columns:
                sub = sub[sub[col].astype(str) == "active"]
                break
        sub = sub.sort_values("rank").head(n)
        hits = [
            {"compound": f"{c} · {g}" if g else c, "score": fmt(float(score)), "href": anchors.get((c, g))}
            for c, g, score in zip(sub["compound"].astype(str), group_column(sub), sub["score"], strict=True)
        ] or [{"compound": "none active", "score": "", "href": None}]
        out.append({"mode": str(mode), "hits": hits})
    order = {m: i for i, m in enumerate(res.death_modes)}
    out.sort(key=lambda d: order.get(d["mode"], len(order)))
    return out


def qc_verdicts(res: Results) -> dict[str, dict]:
    """Plate -> ``{"verdict": "pass"|"fail"|"n/a", "reasons": [...]}`` from ``qc.csv``.

    Where ``qc.csv`` has pass or fail columns (as ``fit`` writes ``pass``), they decide: a row
    fails when a pass column is false or a fail column true. Flags/reasons columns then only
    explain (a ``no_controls`` flag on a passing plate stays a pass, as ``fit`` said); without
    pass or fail columns, a non-empty flag fails the row. A plate fails when any of its rows fails.
    Each reason names its row's ``readout`` (``mode`` in tables without one), then its ``group`` (cell line /
    condition) and ``reference`` compound where given: ``pass false (peak_apoptosis)``,
    ``low_z_prime (peak_ferroptosis, HT1080, RSL3)``.
    """
    out: dict[str, dict] = {}
    if res.qc is None:
        return out
    qc = res.qc
    pass_cols = [c for c in qc.columns if _PASS_COLUMN.match(c.lower())]
    fail_cols = [c for c in qc.columns if _FAIL_COLUMN.match(c.lower())]
    reason_cols = [c for c in qc.columns if _REASON_COLUMN.match(c.lower())]
    for plate, sub in qc.groupby("plate", sort=False):
        reasons: list[str] = []
        failed = known = False
        for _, row in sub.iterrows():
            label = next((row[c] for c in ("readout", "mode") if c in sub.columns and not pd.isna(row[c])
                          and str(row[c]).strip()), "")  # qc.csv names a row's readout; older tables a mode
            parts = [str(v).strip() for v in (label, *(row[c] for c in ("group", "reference") if c in sub.columns))
                     if not pd.isna(v) and str(v).strip()]
            where = f" ({', '.join(parts)})" if parts else ""
            for col in pass_cols:
                v = truthy(row[col])
                known |= v is not None
                if v is False:
                    failed = True
                    reasons.append(f"{col} false{where}")
            for col in fail_cols:
                v = truthy(row[col])
                known |= v is not None
                if v is True:
                    failed = True
                    reasons.append(f"{col}{where}")
            for col in reason_cols:
                text = "" if pd.isna(row[col]) else str(row[col]).strip()
                if not (pass_cols or fail_cols):
                    known = True
                if text and text.lower() not in _FALSE:
                    failed |= not (pass_cols or fail_cols)
                    reasons.append(f"{text}{where}")
        verdict = ("fail" if failed else "pass") if known else "n/a"
        out[str(plate)] = {"verdict": verdict, "reasons": list(dict.fromkeys(reasons))}
    return out


#: qc.csv's columns as the report heads them: the "reference" side of Z′ is the positive control wells
#: (a mode's reference wells for its fraction, the pos_ctrl wells for counts and signals).
_QC_HEADS = {"n_reference": "n_positive", "mean_reference": "mean_positive", "cv_reference": "cv_positive"}


def qc_table(res: Results) -> dict | None:
    """``qc.csv`` as a table, pass/fail cells classed ``ok``/``bad``.

    Columns are headed as :data:`_QC_HEADS` says; the ``n_cells_end`` readout of a plate-reader fit
    (whose "count" is the read's signal) is shown as ``signal_end``. The ``group`` column (cell line /
    condition) is left out where every row's is empty (a screen of one group).
    """
    if res.qc is None:
        return None
    reader = isinstance((res.provenance or {}).get("fit"), dict) and "plate_reader" in res.provenance["fit"]
    qc = res.qc
    if "group" in qc.columns and qc["group"].fillna("").astype(str).str.strip().eq("").all():
        qc = qc.drop(columns="group")
    table = frame_table(qc)
    if reader and "readout" in table["columns"]:
        at = table["columns"].index("readout")
        for row in table["rows"]:
            if row[at]["text"] == "n_cells_end":
                row[at]["text"] = "signal_end"
    table["columns"] = [_QC_HEADS.get(c, c) for c in table["columns"]]
    for raw, row in zip(qc.itertuples(index=False), table["rows"], strict=True):
        for col, value, c in zip(table["columns"], raw, row, strict=True):
            low, v = col.lower(), truthy(value)
            if _PASS_COLUMN.match(low) and v is not None:
                c["cls"] = "ok" if v else "bad"
            elif _FAIL_COLUMN.match(low) and v is not None:
                c["cls"] = "bad" if v else "ok"
            elif _REASON_COLUMN.match(low) and c["text"]:
                c["cls"] = "bad"
    return table


def flagged_wells(res: Results, limit: int = 200) -> tuple[dict | None, int]:
    """Wells with QC flags in ``wells.csv``: flagged frames (time points) and flag names.

    Returns:
        ``(table, n_flagged_wells)``; the table lists at most ``limit`` wells.
    """
    cols = res.flag_columns
    if res.wells is None or not cols:
        return None, 0
    wells = res.wells
    flags = pd.Series([""] * len(wells), index=wells.index, dtype=object)
    for col in cols:
        values = wells[col]
        parsed = values.map(truthy)
        text = values.astype(str).str.strip()
        named = parsed.isna() & values.notna() & (text != "")
        hit = parsed.eq(True)
        flags[hit] = flags[hit] + col + ";"
        flags[named] = flags[named] + text[named] + ";"
    mask = flags != ""
    if not mask.any():
        return {"columns": [], "rows": []}, 0
    sub = wells.loc[mask, ["plate", "well", "time_h"]].assign(flag=flags[mask].str.rstrip(";"))
    totals = wells.groupby(["plate", "well"]).size()
    records = []
    for (plate, well), g in sub.groupby(["plate", "well"], sort=True):
        names = sorted({f for text in g["flag"] for f in text.split(";") if f})
        times = sorted(g["time_h"].unique())
        shown = ", ".join(fmt(float(t)) for t in times[:8]) + (" …" if len(times) > 8 else "")
        compound = ""
        if res.has_layout:
            first = wells[(wells["plate"] == plate) & (wells["well"] == well)].iloc[0]
            compound = first["compound"] + (f" + {first['rescue_agent']}" if first["rescue_agent"] else "")
        records.append(
            {
                "plate": plate,
                "well": well,
                "compound": compound,
                "flagged frames": len(g),
                "of frames": int(totals[(plate, well)]),
                "flags": "; ".join(names),
                "times (h)": shown,
            }
        )
    table = pd.DataFrame(records)
    n = len(table)
    columns = [c for c in table.columns if c != "compound" or res.has_layout]
    return frame_table(table.head(limit), columns), n


def plates_summary(res: Results) -> list[dict]:
    """Per plate: wells, time points, duration, compounds and references.

    ``compounds`` counts the samples, as the summary's compounds do (positive controls and mode
    references are counted apart there; ``references`` here).
    """
    if res.wells is None:
        return []
    out = []
    for plate, g in res.wells.groupby("plate", sort=True):
        compounds = references = ""
        if res.has_layout:
            named = g[(g["compound"] != "") & (g["rescue_agent"] == "")]
            compounds = str(named.loc[named["role"] == "sample", "compound"].nunique())
            references = str(named.loc[named["role"] == "reference", "compound"].nunique())
        out.append(
            {
                "plate": str(plate),
                "wells": str(g["well"].nunique()),
                "timepoints": str(g["time_h"].nunique()),
                "span": f"{fmt(float(g['time_h'].min()))}–{fmt(float(g['time_h'].max()))} h",
                "compounds": compounds,
                "references": references,
            }
        )
    return out


_FIT_COLUMNS = [
    ("curve", "curve"),
    ("readout", "readout"),
    ("model", "model"),
    ("ec50", "EC50"),
    ("ec50_ci", "95% CI"),
    ("pec50", "pEC50"),
    ("hill", "hill"),
    ("emax", "Emax"),
    ("auc", "AUC"),
    ("q_value", "q"),
    ("call", "call"),
    ("flags", "flags"),
]


def fits_table(info: CompoundInfo) -> dict | None:
    """The fits rows of a compound (and its rescue curves) with EC50 and its interval.

    A curve whose ``call`` is not ``active`` shows ``n/a (inactive)`` (or ``n/a (failed)``)
    as EC50 and no interval, pEC50 or hill: ``fits.csv`` keeps a flat fit's parameters
    (``ec50_reportable`` False), but they are no potency.
    """
    if info.fits is None or info.fits.empty:
        return None
    fits = info.fits.copy()
    if "ec50_lo" in fits.columns and "ec50_hi" in fits.columns:
        nan = pd.Series(np.nan, index=fits.index)
        fits["ec50_ci"] = [molar_range(lo, hi, d0, d1) for lo, hi, d0, d1 in zip(
            fits["ec50_lo"], fits["ec50_hi"], fits.get("dose_min", nan), fits.get("dose_max", nan), strict=True)]
    if "pec50" not in fits.columns:
        with np.errstate(divide="ignore", invalid="ignore"):
            fits["pec50"] = -np.log10(fits["ec50"].to_numpy(float))
    keep = [(c, label) for c, label in _FIT_COLUMNS if c in fits.columns]
    table = frame_table(fits, [c for c, _ in keep])
    _mark_held_ec50(table, fits)
    calls = _calls(fits)
    if calls is not None:
        _blank_potency(table, [c for c, _ in keep], calls)
    table["columns"] = [label for _, label in keep]
    for row in table["rows"]:
        calls = [c["text"] for c, (col, _) in zip(row, keep, strict=True) if col == "call"]
        inactive = bool(calls) and calls[0] != "active"
        for c, (col, _) in zip(row, keep, strict=True):
            if col == "call":
                c["cls"] = {"active": "ok", "failed": "bad"}.get(c["text"], "muted")
            elif col == "flags" and c["text"]:
                c["cls"] = "warn"
            elif inactive and col not in ("curve", "readout"):
                c["cls"] = "muted"
    return table
