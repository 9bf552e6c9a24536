"""What ``ferroscreen fit`` tells of a layout's spellings and doses that look like slips.

A layout is typed by hand, so one thing may be written two ways: a rescue agent (``Fer1`` beside
``Ferrostatin-1``), a cell line (``Nalm6`` beside ``NALM6``), or one dose in the wrong unit. Spellings of
one known inhibitor (:data:`~ferroscreen.plate.agents.SAME_AGENT`) are read as one agent
(:func:`same_agent_spellings`); everything else stays as written, with a note (:func:`groups_apart_by_case`,
:func:`lone_far_doses`), as compound names differing in case only get one
(:func:`~ferroscreen.analysis.fit_run.names_apart_by_case`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ferroscreen.analysis.dose_tables import CURVE_ROLES, well_groups
from ferroscreen.plate import PlateLayout, format_molar
from ferroscreen.plate.agents import agent_identity

#: How far (decades) a dose no other well of its series shares must lie beyond the series' other doses to be
#: named (:func:`lone_far_doses`): a µM value under ``nM`` is 3 decades off, ``0.1 nM`` for ``0.1 uM`` as far.
LONE_DOSE_DECADES = 1.0
#: Doses (log10 M) this close are one dose.
_SAME_DOSE = 1e-3


def _case_key(name: str) -> str:
    return " ".join(name.casefold().split())


def _wells(n: int) -> str:
    return f"{n} well{'' if n == 1 else 's'}"


def same_agent_spellings(layout: PlateLayout) -> tuple[PlateLayout, list[str]]:
    """``layout`` with each known rescue agent written one way, and a note per agent written several ways.

    Spellings :func:`~ferroscreen.plate.agents.agent_identity` reads as one inhibitor (``Fer1``, ``Fer-1``,
    ``Ferrostatin‑1``) become the layout's most common one (the first written, on a tie), so that they form
    one rescue series and not two: ``"layout.csv: rescue agent 'Fer1' (8 wells) read as 'Ferrostatin-1' (148
    wells): the same inhibitor"``. Agents the alias table does not know are never merged; names of them
    differing in letter case or spacing only get a note that they are analysed apart.
    """
    t = layout.table
    if "rescue_agent" not in t.columns:
        return layout, []
    written = t["rescue_agent"].fillna("").astype(str)
    counts = written[written.str.strip() != ""].value_counts(sort=False)  # in order of appearance
    where = layout.source or "layout"
    known: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    for name in counts.index:
        agent = agent_identity(name)
        (known.setdefault(agent, []) if agent else unknown.setdefault(_case_key(name), [])).append(name)
    notes, rename = [], {}
    for spelled in known.values():
        if len(spelled) < 2:
            continue
        kept = max(spelled, key=lambda n: int(counts[n]))  # the first of the most common
        others = [n for n in spelled if n != kept]
        rename.update(dict.fromkeys(others, kept))
        said = " and ".join(f"{n!r} ({_wells(int(counts[n]))})" for n in others)
        notes.append(f"{where}: rescue agent{'s' if len(others) > 1 else ''} {said} read as {kept!r} "
                     f"({_wells(int(counts[kept]))}): the same inhibitor")
    notes += [f"{where}: rescue agents {' and '.join(repr(n) for n in spelled)} differ in letter case or spacing "
              f"only and are analysed apart; write them alike if they are one agent"
              for spelled in unknown.values() if len(spelled) > 1]
    if not rename:
        return layout, notes
    table = t.assign(rescue_agent=written.replace(rename))
    return dataclasses.replace(layout, table=table), notes


def groups_apart_by_case(layout: PlateLayout) -> list[str]:
    """Notes on cell lines (growth conditions) written alike but for letter case or spacing (``Nalm6``, ``NALM6``).

    Such spellings are two groups, analysed apart: the note names them and their wells; where one holds
    vehicle wells and another, dosed, holds none, it says the latter's vehicle-relative readouts are empty
    for that (the analysis's note on it names the spelling alone).
    """
    t = layout.table
    notes = []
    for column, what in (("cell_line", "cell line"), ("growth_condition", "growth condition")):
        if column not in t.columns:
            continue
        names = t[column].fillna("").astype(str)
        by_key: dict[str, list[str]] = {}
        for name in dict.fromkeys(names[names.str.strip() != ""]):
            by_key.setdefault(_case_key(name), []).append(name)
        for spelled in (s for s in by_key.values() if len(s) > 1):
            vehicle = {n: int(((names == n) & (t["role"] == "vehicle")).sum()) for n in spelled}
            dosed = {n: int(((names == n) & t["role"].isin(CURVE_ROLES)).sum()) for n in spelled}
            said = " and ".join(f"{n!r} ({_wells(int((names == n).sum()))}, {vehicle[n]} vehicle)" for n in spelled)
            lacking = [n for n in spelled if dosed[n] and not vehicle[n]]
            holders = [n for n in spelled if vehicle[n]]
            why = (f": {', '.join(repr(n) for n in lacking)} {'has' if len(lacking) == 1 else 'have'} no vehicle "
                   f"wells (its vehicle-relative readouts are empty); {' and '.join(repr(n) for n in holders)} "
                   f"{'holds' if len(holders) == 1 else 'hold'} them" if lacking and holders else "")
            notes.append(f"{layout.source or 'layout'}: {what}s {said} differ in letter case or spacing only and are "
                         f"analysed apart{why}; write them alike if they are one {what}")
    return notes


def lone_far_doses(layout: PlateLayout) -> list[str]:
    """Notes on single wells whose dose lies far outside the rest of their compound's series: a unit slip?

    Within a plate and group (cell line), a compound's curve wells of one role and rescue agent
    (:data:`CURVE_ROLES`, molar dose > 0; a positive-control well at a dose of its own is no slip) form
    its series. A dose that only one of them has, lying :data:`LONE_DOSE_DECADES` or more beyond the
    series' other doses and further from them than any two of its neighbouring doses are apart (so a
    10-fold series' next dose is not named), is named with the well, the dose as written and the range of
    the others. The fit is not changed.
    """
    t = layout.table
    curve = t[t["role"].isin(CURVE_ROLES) & (t["compound"].astype(str) != "") & (t["concentration"] > 0)]
    if curve.empty:
        return []
    group = well_groups(t).loc[curve.index]
    several = t["plate_id"].nunique() > 1
    notes = []
    agent = (curve["rescue_agent"].fillna("").astype(str) if "rescue_agent" in curve.columns
             else pd.Series("", index=curve.index))
    keys = [curve["plate_id"].astype(str), group, "compound", curve["role"].astype(str), agent]
    for (plate, grp, compound, _role, _agent), g in curve.groupby(keys, sort=False):
        log = np.round(np.log10(g["concentration"].to_numpy(float)) / _SAME_DOSE) * _SAME_DOSE
        levels, counts = np.unique(log, return_counts=True)
        for level, count in zip(levels, counts, strict=True):
            others = levels[levels != level]
            if count > 1 or len(others) < 2:
                continue
            gap = max(others.min() - level, level - others.max())
            widest = float(np.diff(others).max())
            if gap < LONE_DOSE_DECADES - _SAME_DOSE or gap <= widest + _SAME_DOSE:
                continue
            row = g[log == level].iloc[0]
            raw = row.get("concentration_raw")
            as_written = pd.notna(raw) and str(row.get("unit") or "") not in ("", "M")
            written = f"{float(raw):g} {row['unit']}" if as_written else format_molar(float(row["concentration"]))
            well = f"{plate} {row['well']}" if several else str(row["well"])
            side = "below" if level < others.min() else "above"
            low, high = (format_molar(float(g["concentration"][log == v].iloc[0])) for v in (others[0], others[-1]))
            decades = f"{gap:.2g} decade{'' if round(gap, 1) == 1 else 's'}"
            notes.append(f"{layout.source or 'layout'}: {well} {compound}{f' ({grp})' if grp else ''}: {written} "
                         f"is the only well at its dose, {decades} {side} the series' other doses ({low} to {high}); "
                         f"possibly a unit slip")
    return notes
