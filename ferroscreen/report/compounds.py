"""What the report shows per compound: its curves, rescue pairs, dose points and time courses.

Curves are matched to compounds by name: a compound's own curves are named
like the compound; rescue curves ``"<compound> + <rescue agent>"`` (the
naming of :meth:`ferroscreen.plate.PlateLayout.compounds`). Readouts are
matched to death modes by the mode's name appearing as a token of the readout
(``frac_ferroptosis``, ``ferroptosis``, ``auc_ferroptosis``...); a readout naming
no mode (``viability``, a tidy table's ``response``) is kept apart, by its name.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ferroscreen.plate import format_molar
from ferroscreen.report.results import Results, readout_mode

#: Readout tokens that mean "the fraction at the endpoint" (the readout the plots prefer).
_FRACTION_TOKENS = {"frac", "fraction", "corr", "corrected", "endpoint", "end", "final", "at", ""}
_TIME_TOKEN = re.compile(r"^(?:t)?(\d+(?:\.\d+)?)h$")
_SHOWN_ROLES = ("sample", "reference", "pos_ctrl")


@dataclass
class CompoundInfo:
    """One compound's section of the report.

    Attributes:
        name: Compound name as written by the user.
        group: Cell line / growth condition (``fits.csv``'s ``group``) when the
            plates hold several, else ``""``; each group of a compound gets its
            own section, its curves, points and time courses from its own wells.
        anchor: HTML id of its section (``compound-<n>``, never user text).
        role: Its layout role (``sample``, ``reference``...) or ``""``.
        mode: Reference mode from the layout (references only) or ``""``.
        best_rank: Best rank over the modes ``ranking.csv`` ranks it active in (:func:`active_ranking`;
            inf when it is active in none, or unranked).
        curves: Mode -> fits row of its primary readout.
        rescue: Rescue agent -> (mode -> fits row of the rescue curve).
        readouts: Readout -> fits row, for its readouts that name no mode
            (``viability``, a tidy table's ``response``...), drawn apart.
        rescue_readouts: Rescue agent -> (readout -> fits row) of those readouts.
        single_rescue: Rescue agents of the layout given with the compound but with no fitted curve
            (one dose, or too few): their wells are drawn as points at their doses.
        fits: Every fits row of the compound and of its rescue curves.
    """

    name: str
    anchor: str
    group: str = ""
    role: str = ""
    mode: str = ""
    best_rank: float = math.inf
    curves: dict[str, pd.Series] = field(default_factory=dict)
    rescue: dict[str, dict[str, pd.Series]] = field(default_factory=dict)
    readouts: dict[str, pd.Series] = field(default_factory=dict)
    rescue_readouts: dict[str, dict[str, pd.Series]] = field(default_factory=dict)
    single_rescue: list[str] = field(default_factory=list)
    fits: pd.DataFrame | None = None

    @property
    def label(self) -> str:
        """Heading of the section: the compound, and its group when it has one."""
        return f"{self.name} · {self.group}" if self.group else self.name


#: Time-course summaries (``peak_<mode>``, ``auc_<mode>``) whose dose points the wells give.
_SUMMARY_PREFIXES = ("peak_", "auc_")
#: Readouts of a cell measure relative to the vehicle, whose dose points the wells' ``n_cells`` give.
_CELL_READOUTS = ("viability", "gr", "dip_rel")


def active_ranking(ranking: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``ranking.csv`` whose compound is active in the row's mode.

    Rows whose ``tier`` (or, without one, ``call``) is ``active``; a ranking with neither column
    ranks only active compounds, so all its rows. An ``inactive`` or ``opposite`` row's rank orders
    compounds that do not induce the mode: it is no hit.
    """
    for col in ("tier", "call"):
        if col in ranking.columns:
            return ranking[ranking[col].astype(str).str.strip() == "active"]
    return ranking


def ranked_readouts(res: Results) -> dict[str, str]:
    """Mode -> the readout ``ranking.csv`` ranked it on (empty without one)."""
    if res.ranking is None or "readout" not in res.ranking.columns:
        return {}
    ranked = res.ranking.dropna(subset=["readout"])
    return ranked.groupby("mode")["readout"].first().astype(str).to_dict()


def readout_preference(readout: str, mode: str, corrected: bool) -> tuple[int, int, str]:
    """Sort key choosing the readout a mode's plot shows: endpoint fractions first."""
    tokens = [t for t in re.split(r"[^a-z0-9.]+", str(readout).lower()) if t and t != mode.lower()]
    other = [t for t in tokens if t not in _FRACTION_TOKENS and not _TIME_TOKEN.match(t)]
    is_corr = any(t in ("corr", "corrected") for t in tokens)
    return (len(other), int(is_corr != corrected), str(readout))


def is_fraction_readout(readout: str, mode: str) -> bool:
    """Whether a readout is a death-mode fraction at one time point (so wells give its points)."""
    return readout_preference(readout, mode, False)[0] == 0


def readout_time(readout: str) -> float | None:
    """The time a readout names (``frac_ferroptosis_72h`` -> 72.0), or None for the endpoint."""
    for tok in re.split(r"[^a-z0-9.]+", str(readout).lower()):
        m = _TIME_TOKEN.match(tok)
        if m:
            return float(m.group(1))
    return None


def _mode_rows(rows: pd.DataFrame, modes, corrected: bool, ranked: dict[str, str]) -> dict[str, pd.Series]:
    """Mode -> the fits row its plot shows: the readout the ranking used, else an endpoint fraction."""
    out: dict[str, pd.Series] = {}
    by_mode: dict[str, list[pd.Series]] = {}
    for _, row in rows.iterrows():
        mode = readout_mode(row["readout"], modes)
        if mode is not None and mode != "alive":
            by_mode.setdefault(mode, []).append(row)
    for mode, cands in by_mode.items():
        out[mode] = min(
            cands,
            key=lambda r, m=mode: (str(r["readout"]) != ranked.get(m), readout_preference(r["readout"], m, corrected)),
        )
    return out


def _modeless_rows(rows: pd.DataFrame, modes) -> dict[str, pd.Series]:
    """Readout -> its fits row, for the readouts that name no mode (the first row of each, in order)."""
    out: dict[str, pd.Series] = {}
    for _, row in rows.iterrows():
        if readout_mode(row["readout"], modes) is None:
            out.setdefault(str(row["readout"]), row)
    return out


def _readouts_table(res: Results) -> pd.DataFrame | None:
    """``readouts.csv`` of the folder (one row per plate and well with the layout's columns), else None."""
    table = res.readouts
    if table is None or not {"compound", "role"} <= set(table.columns):
        return None
    return table.assign(**{c: table[c] if c in table.columns else "" for c in ("mode", "rescue_agent", "group")},
                        concentration=pd.to_numeric(table.get("concentration", np.nan), errors="coerce"),
                        exclude=table["exclude"] if "exclude" in table.columns else "")


def _layout_wells(res: Results) -> pd.DataFrame | None:
    """One row per plate × well with its layout columns (excluded wells too), or None without a layout.

    From the wells with their layout columns, else from ``readouts.csv`` (a fit folder without
    ``wells.csv``, as when the fit's input was a table kept elsewhere).
    """
    if res.wells is not None and res.has_layout:
        return res.wells.drop_duplicates(["plate", "well"])
    return _readouts_table(res)


def _layout_roles(res: Results) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """Compound -> role, compound -> reference mode, compound -> rescue agents (see :func:`_layout_wells`)."""
    roles: dict[str, str] = {}
    ref_modes: dict[str, str] = {}
    agents: dict[str, list[str]] = {}
    wells = _layout_wells(res)
    if wells is None:
        return roles, ref_modes, agents
    plain = wells[(wells["rescue_agent"] == "") & (wells["compound"] != "")]
    for name, group in plain.groupby("compound", sort=False):
        roles[str(name)] = str(group["role"].mode().iloc[0])
        modes = group.loc[group["mode"] != "", "mode"]
        if len(modes):
            ref_modes[str(name)] = str(modes.mode().iloc[0])
    rescued = wells[(wells["rescue_agent"] != "") & (wells["compound"] != "")]
    for (name, agent), _ in rescued.groupby(["compound", "rescue_agent"], sort=False):
        agents.setdefault(str(name), []).append(str(agent))
    return roles, ref_modes, agents


def list_compounds(res: Results, max_compounds: int | None = None) -> tuple[list[CompoundInfo], int]:
    """The compounds that get a section, best-ranked first.

    Samples, references and positive controls of the layout, and every fitted
    curve that is not a rescue curve, ordered by their best rank among the modes
    ``ranking.csv`` ranks them active in (:func:`active_ranking`; ties: higher score
    first); then those active in no mode, by their best rank in any tier (ties: higher
    score first); then references; then by name.
    Without a ranking (a fit of a tidy table), compounds with an active fit come
    first, by their smallest q-value, then the others, by name.

    Args:
        res: Loaded results.
        max_compounds: Keep at most this many (None: all).

    Returns:
        ``(compounds, n_left_out)``.
    """
    names, roles, ref_modes, agents = _section_names(res)
    fits = res.fits
    best: dict[tuple[str, str], float] = {}
    top_score: dict[tuple[str, str], float] = {}
    any_best: dict[tuple[str, str], float] = {}  # of any tier: orders the compounds active in no mode
    any_score: dict[tuple[str, str], float] = {}
    if res.ranking is not None:
        active = active_ranking(res.ranking)
        keys = [active["compound"], group_column(active)]
        best = active.groupby(keys)["rank"].min().to_dict()
        top_score = active.groupby(keys)["score"].max().to_dict()
        keys = [res.ranking["compound"], group_column(res.ranking)]
        any_best = res.ranking.groupby(keys)["rank"].min().to_dict()
        any_score = res.ranking.groupby(keys)["score"].max().to_dict()
    elif fits is not None and "call" in fits.columns and "q_value" in fits.columns:  # no ranking: significance
        active = fits[fits["call"].astype(str) == "active"]
        q = pd.to_numeric(active["q_value"], errors="coerce").fillna(1.0)
        by_name = q.groupby([active["name"], group_column(active)]).min()
        best = {key: float(v) for key, v in by_name.items()}
    groups = _compound_groups(res)
    entries = [(name, group) for name in names for group in groups.get(name, [""])]
    role_order = {"sample": 0, "pos_ctrl": 1, "reference": 2}
    entries.sort(
        key=lambda e: (best.get(e, math.inf), -top_score.get(e, -math.inf), any_best.get(e, math.inf),
                       -any_score.get(e, -math.inf), role_order.get(roles.get(e[0], ""), 0), e)
    )
    n_left = 0
    if max_compounds is not None and len(entries) > max_compounds:
        n_left = len(entries) - max_compounds
        entries = entries[:max_compounds]
    modes = set(res.death_modes) | set(res.classes)
    corrected = res.frac_prefix == "frac_corr_"
    ranked = ranked_readouts(res)
    out = []
    for i, (name, group) in enumerate(entries):
        info = CompoundInfo(
            name=name,
            anchor=f"compound-{i + 1}",
            group=group,
            role=roles.get(name, ""),
            mode=ref_modes.get(name, ""),
            best_rank=float(best.get((name, group), math.inf)),
        )
        if fits is not None:
            mine = of_group(fits, group)
            own = mine[mine["name"] == name]
            info.curves = _mode_rows(own, modes, corrected, ranked)
            info.readouts = _modeless_rows(own, modes)
            parts = [own]
            for agent in dict.fromkeys(agents.get(name, [])):
                rows = mine[mine["name"] == f"{name} + {agent}"]
                if len(rows):
                    info.rescue[agent] = _mode_rows(rows, modes, corrected, ranked)
                    if other := _modeless_rows(rows, modes):
                        info.rescue_readouts[agent] = other
                    parts.append(rows)
                else:
                    info.single_rescue.append(agent)
            info.fits = pd.concat(parts, ignore_index=True)
        out.append(info)
    return out, n_left


def _section_names(res: Results) -> tuple[list[str], dict[str, str], dict[str, str], dict[str, list[str]]]:
    """The compounds that get sections, with :func:`_layout_roles`' roles, reference modes and rescue agents.

    Samples, references and positive controls of the layout, every fitted curve that is not a
    rescue curve, and every compound ``ranking.csv`` ranks.
    """
    roles, ref_modes, agents = _layout_roles(res)
    names = [n for n, r in roles.items() if r in _SHOWN_ROLES]
    curve_names = list(dict.fromkeys(res.fits["name"])) if res.fits is not None else []
    rescue_curves: dict[str, tuple[str, str]] = {}
    for name, agent_list in agents.items():
        for agent in agent_list:
            rescue_curves[f"{name} + {agent}"] = (name, agent)
    for curve in curve_names:
        if curve in rescue_curves or curve in names or roles.get(curve) in ("vehicle", "empty"):
            continue
        left, sep, right = curve.rpartition(" + ")
        if sep and left in curve_names:
            rescue_curves[curve] = (left, right)
            agents.setdefault(left, []).append(right)
            continue
        names.append(curve)
    if res.ranking is not None:
        for name in res.ranking["compound"]:
            if name not in names and name not in rescue_curves:
                names.append(name)
    return names, roles, ref_modes, agents


def compound_counts(res: Results) -> dict[str, int]:
    """How many compounds the screen holds, whatever ``--max-compounds`` shows.

    Returns:
        ``{"compounds", "references", "pos_ctrls"}``: distinct names of :func:`list_compounds`
        (every group of a compound counts once) by their layout role: mode references,
        positive controls, and the others (samples, and curves or ranked compounds of no
        known role).
    """
    names, roles, _, _ = _section_names(res)
    kinds = [roles.get(name, "") for name in dict.fromkeys(names)]
    return {
        "compounds": sum(r not in ("reference", "pos_ctrl") for r in kinds),
        "references": kinds.count("reference"),
        "pos_ctrls": kinds.count("pos_ctrl"),
    }


def left_out_counts(res: Results, shown: list[CompoundInfo]) -> dict[str, int]:
    """How many of :func:`compound_counts`' compounds, references and positive controls have no section.

    A name counts as shown when one of its groups has a section, so the counts and the sections
    shown add up to the summary's counts.
    """
    names, roles, _, _ = _section_names(res)
    seen = {info.name for info in shown}
    kinds = [roles.get(name, "") for name in dict.fromkeys(names) if name not in seen]
    return {
        "compounds": sum(r not in ("reference", "pos_ctrl") for r in kinds),
        "references": kinds.count("reference"),
        "pos_ctrls": kinds.count("pos_ctrl"),
    }


def no_curve_reason(res: Results, info: CompoundInfo) -> str:
    """Why a compound's section has no dose-response curve (``""`` when it has one, or without ``fits.csv``).

    From its wells in its group (``readouts.csv`` when there is no ``wells.csv``), as the fit
    decides: a treatment needs two or more positive doses to be a curve (the fit's note on a
    sample at one dose reads the same); a positive control or reference at one dose is a control,
    not fitted; wells all excluded take part in nothing.
    """
    if res.fits is None or (info.fits is not None and (info.fits["name"] == info.name).any()):
        return ""
    kind = {"pos_ctrl": "Positive control (role pos_ctrl)", "reference": (
        f"Reference{' for ' + info.mode if info.mode else ''} (role reference)")}.get(info.role, "")
    wells = _layout_wells(res)
    if wells is None:
        return f"{kind or 'It'} has no curve in fits.csv, and no layout here says how it was tested."
    wells = of_group(wells, info.group)
    mine = wells[(wells["compound"] == info.name) & (wells["rescue_agent"] == "")]
    excluded = mine[mine["exclude"] != ""]
    used = mine[mine["exclude"] == ""]
    dosed = used[used["concentration"] > 0]
    doses = sorted(dosed["concentration"].unique())
    n = len(dosed)
    wells_text = f"{n} well{'s' if n != 1 else ''}"
    lead = f"{kind}, tested" if kind else "Tested"
    if len(mine) and used.empty:
        return (f"{kind + ': all' if kind else 'All'} {len(excluded)} of its wells are excluded, so it has no "
                f"dose-response curve.")
    if not doses:
        return (f"{kind + ': its' if kind else 'Its'} wells have no positive concentration, so it has no "
                f"dose-response curve.")
    if len(doses) == 1:
        where = "; its wells are in readouts.csv" if (res.root / "readouts.csv").is_file() else ""
        if kind:
            control = ("; its wells are the positive controls of the plate QC (qc.csv)"
                       if res.qc is not None else "")
            return (f"{lead} at one dose ({format_molar(doses[0])}, {wells_text}): a control, not fitted (a "
                    f"dose-response curve needs two or more doses){control}.")
        return f"{lead} at one dose ({format_molar(doses[0])}, {wells_text}), so it has no dose-response curve{where}."
    return f"{lead} at {len(doses)} doses ({wells_text}), yet fits.csv has no curve of it."


def group_column(table: pd.DataFrame) -> pd.Series:
    """A table's ``group`` column as text (``""`` where empty or when it has none)."""
    if "group" not in table.columns:
        return pd.Series("", index=table.index, dtype=object)
    return table["group"].where(table["group"].notna(), "").astype(str)


def of_group(table: pd.DataFrame, group: str) -> pd.DataFrame:
    """The rows of ``table`` in ``group`` (a table without groups is all in ``""``)."""
    return table[group_column(table) == group]


def _compound_groups(res: Results) -> dict[str, list[str]]:
    """Name -> the groups it has curves (fits ``name``) or plain wells in, in order of appearance."""
    pairs: list[tuple[str, str]] = []
    if res.fits is not None:
        pairs += zip(res.fits["name"], group_column(res.fits), strict=True)
    if res.wells is not None and res.has_layout:
        plain = res.wells[res.wells["rescue_agent"] == ""]
        pairs += zip(plain["compound"], plain["group"], strict=True)
    out: dict[str, list[str]] = {}
    for name, group in dict.fromkeys(pairs):
        out.setdefault(name, []).append(group)
    return out


#: Columns of a wells table that the peaks read besides the fractions: the cells each window pools, whether
#: they are a classifier's (``frac_alive``), how many fields were read, tile-mode plates
#: (:func:`ferroscreen.analysis.readouts.peak_fraction`), so the report's peaks are the fit's.
PEAK_COUNT_COLUMNS = ("n_cells", "n_frames", "n_done", "n_cells_read", "frac_alive", "detector_mode")


def course_summaries(wells: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Per plate × well time-course summaries of fraction columns, as the analysis computes them.

    Args:
        wells: Rows per plate × well × time (``plate, well, time_h`` and ``columns``' values).
        columns: Mode -> the column holding its fraction (``frac_<mode>``, ``frac_corr_<mode>``...).

    Returns:
        :func:`ferroscreen.analysis.readouts.summarise_wells` of those fractions
        (``peak_<mode>``, ``auc_<mode>``, ``frac_<mode>`` at the endpoint...).
    """
    from ferroscreen.analysis.readouts import summarise_wells

    kept = [c for c in ("plate", "well", "time_h", *PEAK_COUNT_COLUMNS) if c in wells.columns]
    course = wells[kept].assign(
        **{f"frac_{mode}": wells[col].to_numpy(float) for mode, col in columns.items()}
    )
    return summarise_wells(course)


def _endpoint_rows(wells: pd.DataFrame, when: float | None) -> pd.DataFrame:
    """One row per plate × well at the endpoint (last time, or the time nearest ``when``)."""
    if when is None:
        idx = wells.groupby(["plate", "well"])["time_h"].idxmax()
    else:
        dist = (wells["time_h"] - when).abs()
        idx = dist.groupby([wells["plate"], wells["well"]]).idxmin()
    return wells.loc[idx.to_numpy()]


def endpoint_wells(res: Results) -> pd.DataFrame | None:
    """``wells.csv`` at each well's last time point (None without wells)."""
    if res.wells is None:
        return None
    return _endpoint_rows(res.wells, None)


def dose_points(
    res: Results, compound: str, agent: str, row: pd.Series, mode: str, group: str = ""
) -> pd.DataFrame:
    """Replicate points ``dose, response`` behind a fitted curve (empty when unknown).

    From the tidy table of the folder when there is one (rows of the fit's
    ``curve``), else from the wells of ``compound`` (with ``agent``) in
    ``group``, vehicle wells of the same group and plates as dose 0: their
    fraction at the readout's time for fraction readouts, their time-course
    summary for ``peak_<mode>`` / ``auc_<mode>`` (as
    :func:`ferroscreen.analysis.readouts.summarise_wells` computes it).
    """
    empty = pd.DataFrame({"dose": [], "response": []})
    curve = str(row.get("curve", "")) or (f"{compound} + {agent}" if agent else compound)
    if res.points is not None:
        pts = res.points[res.points["curve"] == curve]
        if "readout" in pts.columns:
            pts = pts[pts["readout"] == row["readout"]]
        if len(pts):
            return pts[["dose", "response"]].reset_index(drop=True)
    if str(row["readout"]) in _CELL_READOUTS and res.wells is not None and res.has_layout:
        return _cell_readout_points(res, compound, agent, str(row["readout"]), group)
    summary = next((p for p in _SUMMARY_PREFIXES if str(row["readout"]) == f"{p}{mode}"), None)
    if res.wells is None or not res.has_layout or not (summary or is_fraction_readout(row["readout"], mode)):
        return empty
    tokens = set(re.split(r"[^a-z0-9]+", str(row["readout"]).lower()))
    col = None
    if tokens & {"corr", "corrected"} and f"frac_corr_{mode}" in res.wells.columns:
        col = f"frac_corr_{mode}"
    elif f"frac_{mode}" in res.wells.columns and not tokens & {"corr", "corrected"}:
        col = f"frac_{mode}"
    col = col or res.frac_column(mode)
    if col is None:
        return empty
    wells = of_group(res.used_wells, group)
    mine = wells[(wells["compound"] == compound) & (wells["rescue_agent"] == agent)]
    mine = mine[mine["concentration"].notna()]
    if mine.empty:
        return empty
    plates = set(mine["plate"])
    vehicle = wells[(wells["role"] == "vehicle") & wells["plate"].isin(plates)]
    both = pd.concat([mine, vehicle])
    if summary:
        values = course_summaries(both, {mode: col}).set_index(["plate", "well"])[f"{summary}{mode}"]
        pts = _endpoint_rows(both, None)
        response = values.reindex(pd.MultiIndex.from_frame(pts[["plate", "well"]])).to_numpy(float)
    else:
        pts = _endpoint_rows(both, readout_time(row["readout"]))
        response = pts[col].to_numpy(float)
    dose = np.where(pts["role"] == "vehicle", 0.0, pts["concentration"].to_numpy(float))
    return pd.DataFrame({"dose": dose, "response": response}).dropna()


def _cell_readout_points(res: Results, compound: str, agent: str, readout: str, group: str) -> pd.DataFrame:
    """Per-well ``viability``/``gr``/``dip_rel`` points of ``compound`` (vehicle wells at dose 0).

    Computed from ``n_cells`` as the fit computes them (each plate's vehicle wells of ``group``,
    the fit's ``endpoint_h`` from ``provenance.json``).
    """
    from ferroscreen.analysis.readouts import normalise_to_vehicle, summarise_wells

    empty = pd.DataFrame({"dose": [], "response": []})
    wells = of_group(res.used_wells, group)
    if "n_cells" not in wells.columns:
        return empty
    mine = wells[(wells["compound"] == compound) & (wells["rescue_agent"] == agent) & wells["concentration"].notna()]
    if mine.empty:
        return empty
    both = pd.concat([mine, wells[(wells["role"] == "vehicle") & wells["plate"].isin(set(mine["plate"]))]])
    fit = res.provenance.get("fit") if isinstance(res.provenance.get("fit"), dict) else {}
    endpoint = fit.get("endpoint_h") if isinstance(fit.get("endpoint_h"), (int, float)) else None
    summary = summarise_wells(both[["plate", "well", "time_h", "n_cells"]], endpoint_h=endpoint)
    info = both.drop_duplicates(["plate", "well"])[["plate", "well", "role", "concentration"]]
    summary = normalise_to_vehicle(summary.merge(info, on=["plate", "well"]), group_columns=("plate",))
    if readout not in summary.columns:
        return empty
    dose = np.where(summary["role"] == "vehicle", 0.0, summary["concentration"].to_numpy(float))
    return pd.DataFrame({"dose": dose, "response": summary[readout].to_numpy(float)}).dropna()


def frame_times(wells: pd.DataFrame) -> pd.Series:
    """Common time of each row's frame, so that means over wells line up.

    Instruments image wells one after another, so the wells of one frame can
    carry slightly different ``time_h``. When there are more distinct times
    than frames per well, the k-th time point of every well of a plate is
    given the plate's mean time of k-th time points; otherwise times are
    kept (rounded to 0.01 h).
    """
    rounded = wells["time_h"].round(2)
    per_well = wells.groupby(["plate", "well"])["time_h"]
    if rounded.nunique() <= per_well.size().max():
        return rounded
    index = per_well.rank(method="first")
    return wells["time_h"].groupby([wells["plate"], index]).transform("mean").round(2)


def time_courses(res: Results, compound: str, group: str = "") -> dict[str, pd.DataFrame]:
    """Mean time courses of a compound per dose, with vehicle and reference overlays.

    Only wells of ``group`` (cell line / growth condition) are averaged, the
    compound's, the vehicle's and the references' alike; reference overlays
    fall back to every group's when ``group`` has none.

    Returns:
        ``{"doses": ..., "vehicle": ..., "references": ...}``: ``doses`` has
        ``concentration, time_h`` and the mean of ``n_cells`` and of every
        fraction column; ``vehicle`` the same without concentration;
        ``references`` adds ``compound, mode`` (each reference compound at its
        highest concentration). Empty dict without wells or layout.
    """
    if res.wells is None or not res.has_layout:
        return {}
    wells = res.used_wells.copy()
    wells["time_h"] = frame_times(wells)
    values = [c for c in wells.columns if c == "n_cells" or c.startswith("frac_")]
    grouped = of_group(wells, group)
    mine = grouped[(grouped["compound"] == compound) & (grouped["rescue_agent"] == "")]
    if mine.empty:
        return {}
    plates = set(mine["plate"])
    same = grouped[grouped["plate"].isin(plates)]
    doses = mine.groupby(["concentration", "time_h"], dropna=False)[values].mean().reset_index()
    vehicle = same[same["role"] == "vehicle"].groupby("time_h")[values].mean().reset_index()

    def references(pool: pd.DataFrame) -> pd.DataFrame:
        return pool[(pool["role"] == "reference") & (pool["compound"] != compound) & (pool["rescue_agent"] == "")]

    refs = references(same)
    if refs.empty and group:
        refs = references(wells[wells["plate"].isin(plates)])
    ref_tables = []
    for (name, mode), ref_wells in refs.groupby(["compound", "mode"]):
        top = ref_wells[ref_wells["concentration"] == ref_wells["concentration"].max()]
        if top.empty:
            top = ref_wells
        mean = top.groupby("time_h")[values].mean().reset_index()
        mean["compound"], mean["mode"] = name, mode
        mean["concentration"] = ref_wells["concentration"].max()
        ref_tables.append(mean)
    references = pd.concat(ref_tables, ignore_index=True) if ref_tables else pd.DataFrame()
    return {"doses": doses, "vehicle": vehicle, "references": references}
