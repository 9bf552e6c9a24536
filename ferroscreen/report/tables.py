"""Tables of the report as plain data for the template.

A table is a dict ``{"columns": [...], "rows": [[cell, ...], ...]}``; a cell
is a dict ``{"text", "sort", "cls", "href"}`` where ``text`` is what is shown
(escaped by the template), ``sort`` the key the sortable tables compare
(a number as text, or the text) and ``href`` an in-page link or None.
"""

from __future__ import annotations

import inspect
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from ferroscreen.report.compounds import CompoundInfo, active_ranking, group_column, ranked_readouts
from ferroscreen.report.formatting import ec50_bound, ec50_text, fmt, molar_range
from ferroscreen.report.results import Results, readout_mode

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


def with_fit_intervals(rows: pd.DataFrame, fits: pd.DataFrame | None) -> pd.DataFrame:
    """``ranking.csv`` rows with their curve's ``ec50_lo``, ``ec50_hi``, ``dose_min``, ``dose_max`` from ``fits.csv``.

    ``ranking.csv`` holds the EC50 as the ranking held it (``ec50`` the top dose or ``ec50_lo``,
    ``ec50_bound`` ``>``/``<``) but not its interval, which :func:`ec50_bound` reads; the curve is
    found by ``curve``, ``readout`` and ``group``. Rows unchanged without those columns or fits.
    """
    keys = ["curve", "readout"]
    cols = [c for c in ("ec50_lo", "ec50_hi", "dose_min", "dose_max")
            if fits is not None and c in fits.columns and c not in rows.columns]
    if fits is None or not cols or not set(keys) <= set(rows.columns) & set(fits.columns):
        return rows

    def key(t: pd.DataFrame) -> list[tuple[str, str, str]]:
        return list(zip(t["curve"].astype(str), t["readout"].astype(str), group_column(t), strict=True))

    table = fits.assign(_key=key(fits)).drop_duplicates("_key").set_index("_key")[cols]
    found = table.reindex(key(rows))
    return rows.assign(**{c: found[c].to_numpy(float) for c in cols})


def ranking_tables(res: Results, anchors: dict[tuple[str, str], str]) -> list[dict]:
    """One sortable table per mode: rank, compound, score and every score component.

    Rows of compounds not active in the mode are greyed (``muted``) past their name: their
    EC50 and potency describe no effect. Rows whose ``call`` is not ``active`` (a flat or
    failed fit) show ``n/a (inactive)`` as EC50 and no pEC50 (:data:`POTENCY_COLUMNS`),
    whatever the ``ranking.csv`` holds (an older one kept the flat fit's EC50). An EC50 that is
    no potency estimate is stated as :func:`ec50_text` says, from the curve's interval in
    ``fits.csv`` (:func:`with_fit_intervals`). Each table's ``qc`` lists :func:`mode_qc_failures`.

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
        _mark_held_ec50(table, with_fit_intervals(sub, res.fits))
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
        table["qc"] = mode_qc_failures(res, mode)
        out.append(table)
    return out


def _mark_held_ec50(table: dict, rows: pd.DataFrame) -> None:
    """Write an EC50 that is no potency estimate as :func:`ec50_text` does, without its CI.

    ``> 1.12 µM`` with pEC50 ``< 5.95``; ``not determined`` with no pEC50.
    """
    columns = table["columns"]
    for cells, (_, row) in zip(table["rows"], rows.iterrows(), strict=True):
        bound, ec50 = ec50_bound(row)
        if not bound:
            continue
        for c, col in zip(cells, columns, strict=True):
            if col == "ec50":
                c["text"] = ec50_text(row)
            elif col == "pec50":
                c["text"] = "" if bound == "?" else f"{'>' if bound == '<' else '<'} {-math.log10(ec50):.3g}"
            elif col in ("ec50_ci", "ec50_lo", "ec50_hi", "ec50_se"):
                c["text"] = ""


#: Curve flags (``fits.csv``/``ranking.csv`` ``flags``) in words, for the caveats beside a hit.
FLAG_WORDS = {
    "too_few_points": "too few doses",
    "failed": "fit failed",
    "poor_fit": "poor fit",
    "at_bound": "parameter at its fit limit",
    "ec50_out_of_range": "EC50 outside the tested doses",
    "incomplete": "incomplete (< 80 % of the effect at the top dose)",
    "non_monotone": "not monotone",
    "far_plateau_undetermined": "top plateau not reached",
    "ll2_misfit": "LL.2 rejected by the data",
}


def flag_words(flags: Any) -> list[str]:
    """A ``;``-joined flags cell in words (:data:`FLAG_WORDS`; an unknown flag as written)."""
    text = "" if flags is None or (isinstance(flags, float) and math.isnan(flags)) else str(flags)
    return [FLAG_WORDS.get(f, f) for f in dict.fromkeys(f.strip() for f in text.split(";")) if f]


def top_hits(res: Results, anchors: dict[tuple[str, str], str], n: int = 3) -> list[dict]:
    """Per mode the ``n`` best-ranked *active* compounds, with what qualifies them.

    ``{"mode", "qc", "hits": [{"compound", "score", "href", "ec50", "efficacy", "caveats"}]}``:
    ``compound`` names the group too (``"RSL3 · HT-1080"``) where the ranking has one;
    ``anchors`` maps (compound, group) to the href of its section; ``ec50`` is
    :func:`ec50_text`'s (``EC50 > 1.12 µM``), ``efficacy`` the ranking's, ``caveats`` the curve's
    flags in words (:func:`flag_words`); ``qc`` the failed QC of the mode's readout
    (:func:`mode_qc_failures`). Rows whose ``tier`` (or, without one, ``call``) is not ``active``
    are not hits (:func:`~ferroscreen.report.compounds.active_ranking`); a mode without active
    compounds gets one entry ``none active`` (no score, no link).
    """
    if res.ranking is None:
        return []
    out = []
    for mode, sub in res.ranking.groupby("mode", sort=False):
        sub = with_fit_intervals(active_ranking(sub).sort_values("rank").head(n), res.fits)
        hits = []
        for g, (_, row) in zip(group_column(sub), sub.iterrows(), strict=True):
            c = str(row["compound"])
            ec50 = ec50_text(row) if "ec50" in row.index else ""
            efficacy = row.get("efficacy", math.nan)
            hits.append({
                "compound": f"{c} · {g}" if g else c, "score": fmt(float(row["score"])), "href": anchors.get((c, g)),
                "ec50": f"EC50 {ec50}" if ec50 else "",
                "efficacy": "" if pd.isna(efficacy) else f"efficacy {fmt(float(efficacy))}",
                "caveats": flag_words(row.get("flags")),
            })
        hits = hits or [{"compound": "none active", "score": "", "href": None, "ec50": "", "efficacy": "",
                         "caveats": []}]
        out.append({"mode": str(mode), "hits": hits, "qc": mode_qc_failures(res, str(mode))})
    order = {m: i for i, m in enumerate(res.death_modes)}
    out.sort(key=lambda d: order.get(d["mode"], len(order)))
    return out


#: Readouts of a cell measure relative to the vehicle: their plate QC is the count's (``n_cells_end``).
_COUNT_READOUTS = ("viability", "gr", "dip_rel")


def mode_qc_failures(res: Results, mode: str) -> list[str]:
    """The failed ``qc.csv`` rows behind a mode's ranking, in words: ``VID1: Z′ 0.06 below 0.5 (peak_necroptosis, …)``.

    The rows of the readout the mode was ranked on (``ranking.csv``'s ``readout``), else of a readout
    naming the mode (``qc.csv`` of an older fit: its ``mode``); the count's row (``n_cells_end``) for a
    mode ranked on ``viability`` or ``gr``. Each names its plate (:func:`qc_reasons`'s words).
    """
    qc = getattr(res, "qc", None)
    if qc is None or "plate" not in qc.columns:
        return []
    ranked = ranked_readouts(res).get(mode, "")
    label = next((c for c in ("readout", "mode") if c in qc.columns), None)
    if label is None:
        return []
    names = qc[label].fillna("").astype(str)
    if ranked in _COUNT_READOUTS or mode == "viability":
        mine = names == "n_cells_end"
    elif ranked and (names == ranked).any():
        mine = names == ranked
    else:
        mine = pd.Series([readout_mode(n, {mode}) == mode for n in names], index=qc.index)
    out = []
    for _, row in qc[mine.to_numpy(bool)].iterrows():
        failed, where, words = qc_row_reasons(row, qc.columns)
        if failed:
            out.append(f"{', '.join([str(row['plate']), *where])}: {' and '.join(words)}")
    return list(dict.fromkeys(out))


def _qc_limits() -> dict[str, float]:
    """The thresholds :func:`~ferroscreen.analysis.qc.plate_qc` judges by (``z_min``, ``cv_max``, ``edge_max``)."""
    from ferroscreen.analysis.qc import plate_qc

    params = inspect.signature(plate_qc).parameters
    return {name: float(params[name].default) for name in ("z_min", "cv_max", "edge_max")}


def _number(row: pd.Series, column: str) -> float:
    """``row[column]`` as a float (NaN when absent or not a number)."""
    value = pd.to_numeric(row.get(column, math.nan), errors="coerce")
    return float(value) if pd.notna(value) else math.nan


def qc_flag_words(flag: str, row: pd.Series) -> str:
    """A ``qc.csv`` flag in words with its row's value and the threshold: ``Z′ 0.06 below 0.5``.

    ``high_cv`` is the vehicle wells' CV for the count (``n_cells_end``), the positive wells' for
    a fraction, as :func:`ferroscreen.analysis.qc.plate_qc` judges them; an unknown flag is kept as written.
    """
    limits = _qc_limits()
    counts = str(row.get("readout", "")) == "n_cells_end"
    if flag == "low_z_prime":
        z = _number(row, "z_prime")
        return f"Z′ {z:.2f} below {limits['z_min']:g}" if math.isfinite(z) else f"Z′ below {limits['z_min']:g}"
    if flag == "high_cv":
        who, cv = ("vehicle", _number(row, "cv_vehicle")) if counts else ("positive", _number(row, "cv_reference"))
        value = f" {100 * cv:.0f} %" if math.isfinite(cv) else ""
        return f"CV of the {who} wells{value} above {100 * limits['cv_max']:.0f} %"
    if flag == "edge_effect":
        edge = _number(row, "edge_effect")
        value = f" {100 * edge:+.0f} %" if math.isfinite(edge) else ""
        return (f"vehicle counts of the edge wells{value} against the inner wells "
                f"(beyond ±{100 * limits['edge_max']:.0f} %)")
    return {
        "inverted_window": "positive wells on the wrong side of the vehicle",
        "no_controls": "fewer than two control wells",
    }.get(flag, flag)


def qc_row_reasons(row: pd.Series, columns) -> tuple[bool | None, list[str], list[str]]:
    """Whether a ``qc.csv`` row fails, where it lies and why: ``(failed, where, reasons)``.

    ``failed`` is None when the row says nothing (no pass, fail or flag value). Where ``qc.csv`` has
    pass or fail columns (as ``fit`` writes ``pass``), they decide: a row fails when a pass column is
    false or a fail column true; flags/reasons columns then only explain (a ``no_controls`` flag on a
    passing plate stays a pass, as ``fit`` said); without pass or fail columns, a non-empty flag fails
    the row. ``where`` is the row's ``readout`` (``mode`` in tables without one), ``group`` (cell line /
    condition) and ``reference`` compound where given; ``reasons`` its flags in words
    (:func:`qc_flag_words`), or ``failed QC (no reason given)``.
    """
    cols = [str(c) for c in columns]
    pass_cols = [c for c in cols if _PASS_COLUMN.match(c.lower())]
    fail_cols = [c for c in cols if _FAIL_COLUMN.match(c.lower())]
    reason_cols = [c for c in cols if _REASON_COLUMN.match(c.lower())]
    label = next((row[c] for c in ("readout", "mode") if c in cols and not pd.isna(row[c])
                  and str(row[c]).strip()), "")  # qc.csv names a row's readout; older tables a mode
    where = [str(v).strip() for v in (label, *(row[c] for c in ("group", "reference") if c in cols))
             if not pd.isna(v) and str(v).strip()]
    failed: bool | None = None
    for col in pass_cols:
        if (v := truthy(row[col])) is not None:
            failed = bool(failed) or not v
    for col in fail_cols:
        if (v := truthy(row[col])) is not None:
            failed = bool(failed) or v
    reasons: list[str] = []
    for col in reason_cols:
        text = "" if pd.isna(row[col]) else str(row[col]).strip()
        if text.lower() not in _FALSE:
            reasons += [qc_flag_words(f.strip(), row) for f in text.split(";") if f.strip()]
    if reason_cols and not (pass_cols or fail_cols):
        failed = bool(reasons)
    if failed and not reasons:
        reasons = ["failed QC (no reason given)"]
    return failed, where, list(dict.fromkeys(reasons))


def qc_verdicts(res: Results) -> dict[str, dict]:
    """Plate -> ``{"verdict": "pass"|"fail"|"n/a", "reasons": [...]}`` from ``qc.csv``.

    Each row fails or passes as :func:`qc_row_reasons` decides; a plate fails when any of its rows
    fails, and is ``n/a`` when none says. Each reason is one row's, naming where it lies, then why
    in words: ``peak_necroptosis, TNF+SMAC+zVAD: Z′ 0.06 below 0.5 and CV of the positive wells
    26 % above 20 %``.
    """
    out: dict[str, dict] = {}
    if res.qc is None:
        return out
    for plate, sub in res.qc.groupby("plate", sort=False):
        reasons: list[str] = []
        states = []
        for _, row in sub.iterrows():
            failed, where, words = qc_row_reasons(row, sub.columns)
            states.append(failed)
            if words:
                reasons.append(f"{', '.join(where)}: {' and '.join(words)}" if where else " and ".join(words))
        verdict = "n/a" if all(s is None for s in states) else ("fail" if any(states) else "pass")
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
    """Wells with QC flags in ``wells.csv``: flagged scans and flag names.

    A flag is set per ``wells.csv`` row, one per well and time point: a scan of the well, which
    may image several fields (frames), so the table counts scans, not frames.

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
                "flagged scans": len(g),
                "of scans": int(totals[(plate, well)]),
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
    ("emax", "at top dose"),
    ("effect", "effect"),
    ("auc", "AUC"),
    ("q_value", "q"),
    ("call", "call"),
    ("flags", "flags"),
]


def fits_table(info: CompoundInfo) -> dict | None:
    """The fits rows of a compound (and its rescue curves) with EC50 and its interval.

    ``fits.csv``'s ``emax`` is the fitted response at the highest tested dose, headed ``at top dose``
    (for viability, what is left, not the effect); ``effect`` is its change from the zero-dose level,
    which the ranking's ``efficacy`` scores (clipped to 0-1, in the mode's direction). An EC50 that is
    no potency estimate is stated as :func:`ec50_text` says.

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
