"""Per-well summaries of time courses (the ``wells.csv`` contract).

Input: one row per plate × well × time point with ``plate, well, time_h``,
``n_cells`` (a cell count, or any size metric such as confluence) and
``frac_<class>`` columns (the fraction of cells in each class, ``alive`` and
death modes). Output of :func:`summarise_wells`: one row per plate × well
with, for every death mode ``m`` (every ``frac_`` class except ``alive``) and
for ``dead`` (their sum, unless ``dead`` is itself the table's mode):

``frac_<m>``
    fraction at the endpoint: the plate's last scan at or before ``endpoint_h``
    (default its last scan); a well without a reading at that scan has none
    (NaN, named in the notes), never an earlier scan's (a fraction of a handful of cells, as the last
    scans of a lethal dose hold, is kept: least-squares fits of ``frac_`` readouts weigh each well by
    its cell count, :func:`~ferroscreen.analysis.dose_response.fraction_weights`);
``auc_<m>``
    area under the fraction-vs-time curve up to the endpoint divided by the
    duration (a time-averaged fraction, 0–1), linear between the scans the well
    has; NaN (named in the notes) without a reading at the plate's first scan,
    as the area from time zero is then unknown, or at the endpoint scan;
``peak_<m>``
    highest fraction over running windows of ``peak_window_h`` (8 h), each window's fraction pooling
    its scans' cells, windows averaging fewer than :data:`MIN_PEAK_CELLS` cells per scan (a sparse
    well's: a quarter of its busiest window's) left out (:func:`peak_fraction`; without a classifier's
    cell counts, the plain running mean);
``t50_<m>``
    first time (linear interpolation) at which the fraction's rise above its
    first value reaches half of its maximal rise; NaN when the maximal rise
    is below ``min_rise``;
``onset_<m>``
    first time the fraction exceeds its first value by ``min_rise``;

where a well's *first value* is its reading at its first read scan: a well with no reading at
the plate's first scan (a failed frame, no cell found) is measured from its next read scan, and
named in a note.

and from ``n_cells``:

``n_cells_end`` / ``n_cells_t0``
    count at the endpoint and at time zero (the first time point when it is
    at most ``t0_max_h`` and before the endpoint; else NaN: a plate read once has
    no time zero apart from its endpoint); NaN where that count is a *suspect count*
    (below), never an earlier or later scan's count;
``dip_rate``
    drug-induced proliferation rate: least-squares slope of ``log2 n_cells``
    against time (per hour) over the points after ``dip_lag_h`` (if fewer
    than three remain, the later half of the time course), suspect counts
    left out.

Counts of the fields read. A wells table written by ``score``/``export`` counts each well × time's
frames (fields): ``n_frames``, of which ``n_done`` were scored. Where none was (its image files
missing or unlisted, every frame failed, or not scored yet), the well has no count there
(``n_cells`` NaN): not read, never "no cell left", so it gives no ``n_cells_end``/``n_cells_t0``
and takes no part in the vehicle means. Where only some were, ``n_cells`` is the cells of the
fields read scaled to all the well's fields (``n_cells_read * n_frames / n_done``, as ``export``
writes it; a table with ``n_frames`` and ``n_done`` but no ``n_cells_read`` column, written before
the scaling, is scaled here), so a failed field does not read as cells lost; the fractions are
as measured. ``fit`` names the wells so scaled in a note (:func:`counts_of_fields_read`).

Suspect counts. A wells table written by ``score``/``export`` counts the frames of each well × time
that frame QC (:mod:`ferroscreen.score.qc`) flagged: ``qc_defocus`` and ``qc_count_outlier`` (a
count far from the median of the same site's scans up to two before and two after). A count is
suspect when its scan has a defocused frame, or a count-outlier frame *and* the count jumps
(:func:`count_jumps`: a factor above 3 and at least 10 cells) against each adjacent read scan of
the well, before and after, where there is one: a frame that failed, not cells that died. The
second test is needed because the flag's median lags behind a steady decline: the last scans of
a lethal compound (30, 5, 4 cells) are flagged although each is near the one before, and keep
their counts. An empty frame (``qc_empty``) that is not suspect keeps its 0: the cells are gone.
(Two failed scans in a row are not told apart from a step in the count.) A suspect count is
missing, not replaced by a neighbouring scan's: another time's count would compare a well with
its vehicle wells at different times (``viability``) or shift its time zero (``gr``). ``fit`` names
the wells so affected in a note.

Vehicle normalisation (:func:`normalise_to_vehicle`) then adds, using the
vehicle wells of the same plate and group (e.g. the same seeding density) and vehicle set (a
compound + agent's are the vehicle wells with that agent alone, where the plate has them:
:func:`~ferroscreen.analysis.dose_tables.vehicle_sets`):

``viability``
    ``n_cells_end`` over the mean vehicle ``n_cells_end``;
``dip_rel``
    ``dip_rate`` over the mean vehicle ``dip_rate``; NaN where that rate is not above 0, or the
    vehicle's fold change (below) is below :data:`MIN_VEHICLE_FOLD`;
``gr``
    the GR value (Hafner et al. 2016) at the endpoint,
    ``2 ** (log2(x/x0) / log2(xv/xv0)) - 1``, with ``x0`` the well's own
    time-zero count and ``xv/xv0`` the vehicle wells' mean fold change (over the
    vehicle wells with both counts); NaN without a time-zero count, and NaN (named in a note)
    where the vehicle grew less than :data:`MIN_VEHICLE_FOLD`-fold from time zero to the endpoint:
    both divide by the vehicle's growth, and a vehicle that barely grew turns the noise of every
    count into GR values of hundreds and inactive calls for compounds that kill.

Death fractions are left as measured (the vehicle level is the fitted
zero-dose plateau of a dose-response curve).

A wells table may mark the plates scored in tile mode (a model bundle whose
detector classifies a fixed grid of tiles, e.g. 224 px, instead of detected
cells) with a ``detector_mode`` column: ``tiles`` on every row of such a plate
(blank, ``cells`` or no column otherwise). ``export`` and ``fit`` of a score
store write it. A tile-mode plate's ``n_cells`` counts tiles, the same number
in every well at every time, so no readout of :data:`COUNT_READOUTS` is made
for it (its fraction readouts stand) and ``fit`` says so in one note
(:data:`TILE_MODE_NOTE`).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from ferroscreen.analysis.inputs import validate_wells

#: Readouts that the dose-response step can fit, by family.
FRACTION_PREFIXES = ("frac_", "auc_", "peak_")
VIABILITY_READOUTS = ("viability", "dip_rel", "gr", "dip_rate")
#: Readouts made from ``n_cells``: none is made for a tile-mode plate (see the module docstring).
COUNT_READOUTS = ("n_cells_end", "n_cells_t0", "dip_rate", "viability", "dip_rel", "gr")
#: ``detector_mode`` of a plate scored on fixed tiles.
TILE_MODE = "tiles"
#: Frame-QC columns (frames per well x time, ``score.aggregate``) whose count is suspect (module docstring).
QC_DEFOCUS, QC_COUNT_OUTLIER = "qc_defocus", "qc_count_outlier"
#: A count jumps against another when they differ by more than this factor (of ``1 + count``) and
#: by at least :data:`JUMP_MIN_CELLS`: the count-outlier criterion of ``ferroscreen.score.qc``
#: (``COUNT_FACTOR``, ``COUNT_MIN_DIFF``), repeated because importing ``ferroscreen.score`` loads torch.
JUMP_FACTOR = 3.0
JUMP_MIN_CELLS = 10.0
#: Least fold change of the vehicle wells' mean count from time zero to the endpoint for ``gr`` and
#: ``dip_rel`` (module docstring): GR divides each well's log2 fold change by the vehicle's, so the noise
#: of one well's counts is amplified by ``1 / log2(fold)``. In simulation (numpy; scans at 0, 12, 24,
#: 48, 72 h; multiplicative noise of CV 5, 10, 15 % on each reading; 3, 8 or 16 vehicle wells; 20000
#: plates each) the median error of a single well's GR at a dose without effect (true GR 1) was, at a
#: vehicle fold change of 1.5, 0.17-0.19 (CV 5 %), 0.34-0.37 (10 %) and 0.50-0.55 (15 %): at 15 % as large
#: as the drop a GI50 dose makes (1 -> 0.5), and larger below (1.3-fold: 0.51-0.56 at 10 %, 0.75-0.81
#: at 15 %; 1.1-fold: 0.69-1.70, with the vehicle's measured fold at or below 1, and GR undefined, in up
#: to 21 % of plates). At a GI50-like dose the error was 0.25-0.38 at 1.5-fold (10-15 %); at killing
#: doses (half or 90 % of the cells die) the median stays below 0.12 at any fold, as GR saturates at -1,
#: but a measured vehicle fold just above 1 sends a well whose count rose a little to GR in the thousands
#: (9049 on a plate-reader plate whose vehicle grew 1.016-fold). One doubling (2-fold) brings the median
#: to 0.19-0.32 (CV 10-15 %), but a plate grown for one doubling can measure just below it (1.98-fold at
#: 24 h on a plate that grew 8-fold in 72 h). The error of ``dip_rel`` at a dose without effect was within
#: 0.1 of GR's from 1.5-fold up. More vehicle wells hardly help: the treated well's own noise dominates.
MIN_VEHICLE_FOLD = 1.5
#: The note ``fit`` gives for tile-mode plates.
TILE_MODE_NOTE = ("tile mode: n_cells counts tiles, not cells; count readouts left out (" + ", ".join(COUNT_READOUTS)
                  + ")")


def tile_mode_plates(wells: pd.DataFrame) -> list[str]:
    """Plates of a wells table whose ``detector_mode`` column says ``tiles`` (on any row), in table order."""
    if "detector_mode" not in wells.columns or "plate" not in wells.columns:
        return []
    tiles = wells["detector_mode"].fillna("").astype(str).str.strip().str.lower() == TILE_MODE
    return list(dict.fromkeys(wells.loc[tiles, "plate"].astype(str)))


def death_modes(wells: pd.DataFrame) -> list[str]:
    """Death modes present in a wells table: ``frac_<m>`` columns other than ``alive``."""
    return [
        c[5:] for c in wells.columns if str(c).startswith("frac_") and c not in ("frac_alive",)
    ]


def count_jumps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where counts ``a`` and ``b`` differ by the count-outlier criterion (False where either is NaN)."""
    with np.errstate(invalid="ignore"):
        far = np.abs(np.log1p(a) - np.log1p(b)) > np.log(JUMP_FACTOR)
        return far & (np.abs(a - b) >= JUMP_MIN_CELLS)


def suspect_counts(counts: np.ndarray, defocus: np.ndarray, outlier: np.ndarray) -> np.ndarray:
    """Suspect counts of a wells x scans count matrix (module docstring).

    Args:
        counts: Counts, NaN where a well has no reading at a scan.
        defocus: True where the scan has a frame QC flagged defocused.
        outlier: True where the scan has a frame QC flagged a count outlier.

    Returns:
        True where ``defocus``, or ``outlier`` and the count jumps against each adjacent read scan
        (the nearest finite count before and the nearest after, where there is one).
    """
    frame = pd.DataFrame(counts)
    before = frame.ffill(axis=1).shift(1, axis=1).to_numpy(float)
    after = frame.bfill(axis=1).shift(-1, axis=1).to_numpy(float)
    has_b, has_a = np.isfinite(before), np.isfinite(after)
    jumps = ((count_jumps(counts, before) | ~has_b) & (count_jumps(counts, after) | ~has_a)
             & (has_b | has_a) & np.isfinite(counts))
    return defocus | (outlier & jumps)


def counts_of_fields_read(wells: pd.DataFrame) -> pd.DataFrame:
    """``wells`` with each ``n_cells`` of a well × time counted over all its fields (module docstring).

    Without ``n_cells``, ``n_frames`` or ``n_done`` columns the table is returned as it is. A row
    with ``n_done`` 0 gets ``n_cells`` NaN; a row with ``0 < n_done < n_frames`` and no ``n_cells_read``
    value (a table written before ``export`` scaled the counts, alone or beside a newer one) gets
    ``n_cells * n_frames / n_done``.
    """
    if not {"n_cells", "n_frames", "n_done"} <= set(wells.columns):
        return wells
    done, total = _fields(wells)
    counts = wells["n_cells"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where((done > 0) & (done < total), counts * total / done, counts)
    if "n_cells_read" in wells.columns:  # rows export scaled already; rows of an older table beside them not
        scaled = np.where(pd.to_numeric(wells["n_cells_read"], errors="coerce").notna().to_numpy(), counts, scaled)
    return wells.assign(n_cells=np.where(done == 0, np.nan, scaled))


def _fields(wells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's frames scored (``n_done``) and frames (``n_frames``), as floats."""
    return tuple(pd.to_numeric(wells[c], errors="coerce").to_numpy(float) for c in ("n_done", "n_frames"))


def _partial_note(plate: str, sub: pd.DataFrame, empty: frozenset[str]) -> str | None:
    """The note naming a plate's non-empty well-times counted from only some of their fields, or None."""
    if not {"n_cells", "n_frames", "n_done"} <= set(sub.columns):
        return None
    done, total = _fields(sub)
    some = sub[(done > 0) & (done < total) & ~sub["well"].astype(str).isin(empty).to_numpy()]
    if some.empty:
        return None
    shown = [f"{w} at {t:g} h" for w, t in zip(some["well"], some["time_h"], strict=True)]
    return (f"plate {plate}: {len(shown)} well-time(s) have only some of their fields read (a frame missing or "
            f"failed: {_few(shown)}); their counts are the fields read scaled to all the well's fields, not cells "
            "lost")


def _flag_matrix(sub: pd.DataFrame, col: str, wells: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Wells x ``times``: True where ``col`` (a frame-QC count) is above 0 (all False without the column)."""
    if col not in sub.columns:
        return np.zeros((len(wells), times.size), bool)
    flagged = pd.to_numeric(sub[col], errors="coerce").fillna(0).gt(0)
    per = flagged.groupby([sub["well"], sub["time_h"]]).any().unstack("time_h")
    return per.reindex(index=wells, columns=times).fillna(False).to_numpy(bool)


def _first_crossing(times: np.ndarray, values: np.ndarray, level: np.ndarray) -> np.ndarray:
    """First time each row of ``values`` reaches ``level`` (linear interpolation; NaN if never)."""
    reach = values >= level[:, None]
    reach &= np.isfinite(values)
    any_reach = reach.any(axis=1)
    j = np.argmax(reach, axis=1)
    out = np.full(values.shape[0], np.nan)
    rows = np.flatnonzero(any_reach)
    jj = j[rows]
    at_first = jj == 0
    out[rows[at_first]] = times[0]
    r = rows[~at_first]
    j1 = jj[~at_first]
    v0, v1 = values[r, j1 - 1], values[r, j1]
    t0, t1 = times[j1 - 1], times[j1]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(v1 > v0, (level[r] - v0) / (v1 - v0), 1.0)
    out[r] = t0 + np.clip(frac, 0, 1) * (t1 - t0)
    return out


def _plate_summary(
    sub: pd.DataFrame,
    modes: list[str],
    endpoint_h: float | None,
    dip_lag_h: float,
    t0_max_h: float,
    min_rise: float,
    peak_window_h: float,
    notes: list[str],
    counts_are_cells: bool = True,
    empty: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    cols = [f"frac_{m}" for m in modes]
    has_counts = counts_are_cells and "n_cells" in sub.columns
    value_cols = cols + (["n_cells"] if has_counts else [])
    wide = sub.pivot_table(index="well", columns="time_h", values=value_cols, aggfunc="mean")
    times_all = np.array(sorted(sub["time_h"].unique()), dtype=float)
    # the pivot drops a column blank at every well and time (a mode none of this plate's cells read): blank, kept
    wide = wide.reindex(columns=pd.MultiIndex.from_product([value_cols, times_all]))
    plate = str(sub["plate"].iloc[0])
    if endpoint_h is not None:
        times = times_all[times_all <= endpoint_h + 1e-9]
        if times.size == 0:
            times = times_all[:1]
            notes.append(f"plate {plate}: no scan at or before the endpoint {endpoint_h:g} h; its first, "
                         f"{times[0]:g} h, is the endpoint")
        elif abs(times[-1] - endpoint_h) > 1e-6:
            later = times_all[times_all > endpoint_h + 1e-9]
            where = (f"between scans ({times[-1]:g} h and {later[0]:g} h)" if later.size
                     else f"after the last scan ({times[-1]:g} h)")
            notes.append(f"plate {plate}: the endpoint {endpoint_h:g} h falls {where}; the scan at "
                         f"{times[-1]:g} h is the endpoint")
    else:
        times = times_all
    wells = wide.index.to_numpy()
    noted = ~np.isin(wells.astype(str), list(empty))  # an empty well (no cells seeded) is named in no note
    out = pd.DataFrame({"well": wells})
    out["time_end_h"] = times[-1]
    duration = times[-1] - times[0]

    def matrix(col: str) -> np.ndarray:
        return wide[col].reindex(columns=times).to_numpy(dtype=float)

    unread: set[str] = set()

    def at_end(mat: np.ndarray) -> np.ndarray:  # the endpoint scan's reading; an earlier one is no stand-in
        end = mat[:, -1]
        unread.update(wells[~np.isfinite(end) & np.isfinite(mat).any(axis=1)].astype(str))
        return end

    # the peak pools each window's cells (peak_fraction) where n_cells counts the objects a classifier's
    # fractions are of (frac_alive), not a plate reader's viability signal beside its frac_dead
    pool = matrix("n_cells") if has_counts and "frac_alive" in sub.columns else None
    if cols:
        dead = np.zeros((len(wells), times.size))
        read = np.zeros(dead.shape, bool)
        for m, col in zip(modes, cols, strict=True):
            mat = matrix(col)
            dead = dead + np.nan_to_num(mat)
            read |= np.isfinite(mat)
            _mode_summaries(out, m, mat, times, duration, min_rise, at_end, peak_window_h, pool)
        dead = np.where(read, dead, np.nan)  # no mode read at a scan: no dead fraction there, not 0
        late = wells[~read[:, 0] & read.any(axis=1) & noted].astype(str)
        if times.size > 1 and late.size:
            shown = sorted(late)
            notes.append(f"plate {plate}: {len(shown)} well(s) have no fraction read at the first scan "
                         f"({times[0]:g} h) ({_few(shown)}): their onsets and T50s rise from their first read scan, "
                         "and they have no AUCs (the area from the first scan is unknown)")
        if "dead" not in modes:  # a dead-stain count's own fraction (analysis.dead_fraction) is the sum
            _mode_summaries(out, "dead", dead, times, duration, min_rise, at_end, peak_window_h, pool)
    suspect_end: set[str] = set()
    if has_counts:
        counts = matrix("n_cells")
        every = wide["n_cells"].reindex(columns=times_all).to_numpy(dtype=float)  # the scans after the endpoint too
        suspect = suspect_counts(every, _flag_matrix(sub, QC_DEFOCUS, wells, times_all),
                                 _flag_matrix(sub, QC_COUNT_OUTLIER, wells, times_all))[:, :times.size]
        trusted = np.where(suspect, np.nan, counts)
        out["n_cells_end"] = np.where(suspect[:, -1], np.nan, at_end(counts))
        out["n_cells_t0"] = trusted[:, 0] if times[0] <= t0_max_h and duration > 0 else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            logc = np.where(trusted > 0, np.log2(trusted), np.nan)
        after = times >= times[0] + dip_lag_h
        if after.sum() < 3:
            after = times >= times[0] + duration / 2
        out["dip_rate"] = _slopes(times[after], logc[:, after])
        suspect_end = set(wells[suspect[:, -1]].astype(str))
        if times[0] <= t0_max_h and times.size > 1:
            no_t0 = sorted(wells[~np.isfinite(counts[:, 0]) & np.isfinite(counts).any(axis=1) & noted].astype(str))
            if no_t0:
                notes.append(f"plate {plate}: {len(no_t0)} well(s) have no count at time zero ({times[0]:g} h) "
                             f"({_few(no_t0)}): no n_cells_t0, so no GR (a later scan's count is no time zero)")
        _suspect_notes(plate, wells, times, suspect & noted[:, None], (suspect_end & unread) - empty,
                       times[0] <= t0_max_h, notes)
    emptied = set(wells[counts[:, -1] == 0].astype(str)) & (unread - suspect_end) if has_counts else set()
    if emptied - empty:  # read, but no cell was left to classify
        shown = sorted(emptied - empty, key=str)
        notes.append(f"plate {plate}: {len(shown)} well(s) have no cell left at the endpoint scan ({times[-1]:g} h), "
                     f"so no endpoint fractions ({_few(shown)}); their counts, peaks and AUCs stand")
    if unread - emptied - suspect_end - empty:
        shown = sorted(unread - emptied - suspect_end - empty, key=str)
        notes.append(f"plate {plate}: {len(shown)} well(s) have no reading at the endpoint scan ({times[-1]:g} h) "
                     f"and no endpoint readouts ({_few(shown)}); an earlier scan does not stand in for it")
    return out


def _suspect_notes(plate: str, wells: np.ndarray, times: np.ndarray, suspect: np.ndarray, unread_end: set[str],
                   has_t0: bool, notes: list[str]) -> None:
    """Notes naming the wells whose endpoint, time-zero or other counts are suspect (module docstring)."""
    why = "frame QC flagged the frame defocused, or a count outlier that jumps from the scans on each side"
    end = sorted(wells[suspect[:, -1]].astype(str))
    if end:
        line = (f"plate {plate}: {len(end)} well(s) have a suspect count at the endpoint scan ({times[-1]:g} h): "
                f"{why} ({_few(end)}); their n_cells_end is missing, so no viability or GR, not cells lost")
        if unread_end:
            line += f"; {_few(sorted(unread_end))} had no cell read there, so no endpoint fractions either"
        notes.append(line)
    start = sorted(wells[suspect[:, 0]].astype(str)) if has_t0 and times.size > 1 else []  # one scan: said once
    if start:
        notes.append(f"plate {plate}: {len(start)} well(s) have a suspect count at time zero ({times[0]:g} h): {why} "
                     f"({_few(start)}); their n_cells_t0 is missing, so no GR (a vehicle well's leaves the plate's "
                     "vehicle fold change)")
    inner = sorted(wells[suspect[:, int(has_t0):-1].any(axis=1)].astype(str))
    if inner:
        notes.append(f"plate {plate}: {len(inner)} well(s) have suspect counts at scans before the endpoint "
                     f"{'other than time zero ' if has_t0 else ''}({_few(inner)}): {why}; their dip_rate is fitted "
                     "without them")


def _few(names: list[str], n: int = 8) -> str:
    """The first ``n`` names, comma-separated, with `` ...`` when there are more."""
    return ", ".join(names[:n]) + (" ..." if len(names) > n else "")


def running_mean(times: np.ndarray, values: np.ndarray, window_h: float) -> np.ndarray:
    """Mean of each row's finite values within ``window_h / 2`` hours of every time point.

    NaN where no finite value lies in the window; ``window_h <= 0`` returns the values.
    """
    if window_h <= 0 or times.size < 2:
        return values.astype(float, copy=True)
    near = np.abs(times[:, None] - times[None, :]) <= window_h / 2 + 1e-9  # (t, t')
    ok = np.isfinite(values)
    total = np.where(ok, values, 0.0) @ near.T
    count = ok.astype(float) @ near.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


#: Fewest cells per scan, on average over a peak's window, for the window to hold a well's peak
#: (:func:`peak_fraction`), unless the well never held :data:`MIN_PEAK_CELLS` / :data:`MIN_PEAK_SHARE`
#: cells a scan: then a window needs :data:`MIN_PEAK_SHARE` of its busiest window's count.
MIN_PEAK_CELLS = 20
#: Share of a well's busiest window's mean count a window needs to hold the peak of a sparse well.
MIN_PEAK_SHARE = 0.25


def pooled_running_fraction(times: np.ndarray, fractions: np.ndarray, counts: np.ndarray,
                            window_h: float) -> tuple[np.ndarray, np.ndarray]:
    """The fraction of the cells within ``window_h / 2`` hours of every time point, and their mean count per scan.

    Each scan counts as many times as it has cells (``sum(frac * n) / sum(n)`` over the scans in the
    window that have both a fraction and a count), so a late scan of a few cells moves the fraction as
    little as its cells say. Returns ``(fraction, cells)``, both NaN where the window holds no cell.
    """
    near = (np.abs(times[:, None] - times[None, :]) <= window_h / 2 + 1e-9 if window_h > 0 and times.size > 1
            else np.eye(times.size, dtype=bool))
    ok = np.isfinite(fractions) & np.isfinite(counts) & (counts > 0)
    cells = np.where(ok, counts, 0.0)
    total = np.where(ok, fractions * counts, 0.0) @ near.T
    pooled = cells @ near.T
    scans = ok.astype(float) @ near.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pooled > 0, total / pooled, np.nan), np.where(pooled > 0, pooled / scans, np.nan)


def peak_fraction(times: np.ndarray, fractions: np.ndarray, counts: np.ndarray | None, window_h: float,
                  min_cells: float = MIN_PEAK_CELLS, min_share: float = MIN_PEAK_SHARE) -> np.ndarray:
    """Each row's highest fraction over running windows of ``window_h`` hours (NaN for a row never read).

    With cell ``counts`` (same shape), a window's fraction pools its cells
    (:func:`pooled_running_fraction`), and only windows averaging at least ``min(min_cells, min_share *``
    the row's busiest window's mean count``)`` cells per scan may hold the peak: the maximum over a time
    course is pulled up by its noisiest points, and the last scans of a lethal compound hold a handful of
    objects (in the demo, 9 cells at 48 h, 3 of them read apoptotic, made a pure ferroptosis inducer's
    peak apoptosis 0.33). A sparse well (40 cells falling to 5 as they die) keeps its late windows down
    to a quarter of its busiest one's count, so the mode its cells die by still shows. Without counts
    (a size metric such as confluence, a plate reader's signal), the plain running mean
    (:func:`running_mean`).
    """
    if counts is None:
        smooth = running_mean(times, fractions, window_h)
        finite = np.isfinite(smooth)
    else:
        smooth, cells = pooled_running_fraction(times, fractions, counts, window_h)
        finite = np.isfinite(smooth)
        busiest = np.max(np.where(finite, cells, 0.0), axis=1, initial=0.0)
        need = np.minimum(min_cells, min_share * busiest)[:, None]
        finite = finite & (cells >= need)
    highest = np.max(np.where(finite, smooth, -np.inf), axis=1)
    return np.where(finite.any(axis=1), highest, np.nan)


def _mode_summaries(out, m, mat, times, duration, min_rise, at_end, peak_window_h, counts=None) -> None:
    out[f"frac_{m}"] = at_end(mat)
    out[f"peak_{m}"] = peak_fraction(times, mat, counts, peak_window_h)
    filled = np.where(np.isfinite(mat), mat, np.nan)
    read = np.isfinite(filled)
    if times.size > 1 and duration > 0:
        auc = np.trapezoid(np.nan_to_num(filled), times, axis=1) / duration
        auc[~read.all(axis=1)] = np.nan
        for i in np.flatnonzero(read[:, 0] & read[:, -1] & ~read.all(axis=1)):  # linear across a gap
            auc[i] = np.trapezoid(filled[i, read[i]], times[read[i]]) / duration
        out[f"auc_{m}"] = auc
    else:
        out[f"auc_{m}"] = filled[:, 0]
    first = np.argmax(read, axis=1)  # the well's first read scan (0 when none: all NaN anyway)
    base = filled[np.arange(len(filled)), first]
    rise = filled - base[:, None]
    max_rise = np.nanmax(np.where(np.isfinite(rise), rise, -np.inf), axis=1)
    has_effect = max_rise >= min_rise
    t50 = _first_crossing(times, rise, np.where(has_effect, 0.5 * max_rise, np.inf))
    onset = _first_crossing(times, rise, np.full(rise.shape[0], min_rise))
    out[f"t50_{m}"] = np.where(has_effect, t50, np.nan)
    out[f"onset_{m}"] = onset


def _slopes(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row-wise least-squares slope of ``values`` against ``times``, ignoring NaN."""
    ok = np.isfinite(values)
    n = ok.sum(axis=1)
    t = np.where(ok, times[None, :], 0.0)
    v = np.where(ok, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tm = t.sum(axis=1) / n
        vm = v.sum(axis=1) / n
        num = np.sum(np.where(ok, (t - tm[:, None]) * (v - vm[:, None]), 0.0), axis=1)
        den = np.sum(np.where(ok, (t - tm[:, None]) ** 2, 0.0), axis=1)
        slope = num / den
    return np.where(n >= 2, slope, np.nan)


def summarise_wells(
    wells: pd.DataFrame,
    endpoint_h: float | None = None,
    dip_lag_h: float = 24.0,
    t0_max_h: float = 2.0,
    min_rise: float = 0.05,
    peak_window_h: float = 8.0,
    source=None,
    notes: list[str] | None = None,
    empty_wells: Collection[tuple[str | None, str]] = (),
) -> pd.DataFrame:
    """One row per plate × well of time-course summaries (see the module docstring).

    Args:
        wells: A ``wells.csv`` table.
        endpoint_h: Endpoint time in hours (default: each plate's last time point).
        dip_lag_h: Lag before the DIP-rate fit window starts.
        t0_max_h: Latest first time point that still counts as time zero (for GR).
        min_rise: Minimal rise of a fraction for onset and T50.
        peak_window_h: Width of the running windows the peak of a fraction is taken over
            (8 h: three scans at a 4 h interval, nine at 1 h; :func:`peak_fraction`).
        source: Name used in error messages.
        notes: Receives a line per plate whose endpoint is not a scan's time, per plate with counts
            scaled from some of a well's fields (:func:`counts_of_fields_read`), per plate with
            wells that have no reading at the endpoint scan (those get no endpoint readouts), per
            plate with suspect counts (at the endpoint, at time zero, at other scans: the wells),
            with wells lacking a fraction or a count at the first scan (no AUC; no GR), and
            :data:`TILE_MODE_NOTE` once when plates are tile-mode (prefixed by their names when
            others are not). No note names a well seeded without cells: one whose ``role`` (a
            column of ``wells``, as an export with its layout has) is ``empty``, or one of
            ``empty_wells``.
        empty_wells: ``(plate, well)`` of the layout's ``empty`` wells, wells as the table writes
            them (``A01``); plate None for every plate.

    Returns:
        Columns ``plate, well, time_end_h`` and the summaries; no :data:`COUNT_READOUTS` for
        tile-mode plates (see the module docstring).
    """
    wells = validate_wells(wells, source=source)
    modes = death_modes(wells)
    notes = [] if notes is None else notes
    wells = counts_of_fields_read(wells)
    tiles = tile_mode_plates(wells)
    if tiles and "n_cells" in wells.columns:
        some = set(tiles) != set(wells["plate"])
        notes.append((f"plate(s) {_few(tiles)}: " if some else "") + TILE_MODE_NOTE)
    parts = []
    for plate, sub in wells.groupby("plate", sort=False):
        empty = {w for p, w in empty_wells if p is None or str(p) == str(plate)}
        if "role" in sub.columns:
            empty |= set(sub.loc[sub["role"].astype(str).str.strip().str.lower() == "empty", "well"].astype(str))
        if str(plate) not in tiles and (line := _partial_note(str(plate), sub, frozenset(empty))):
            notes.append(line)
        part = _plate_summary(sub, modes, endpoint_h, dip_lag_h, t0_max_h, min_rise, peak_window_h, notes,
                              counts_are_cells=str(plate) not in tiles, empty=frozenset(empty))
        part.insert(0, "plate", plate)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def normalise_to_vehicle(summary: pd.DataFrame, group_columns=("plate", "group", "vehicle_set"),
                         notes: list[str] | None = None) -> pd.DataFrame:
    """Add ``viability``, ``dip_rel`` and ``gr`` relative to the vehicle wells of each group.

    Args:
        summary: Output of :func:`summarise_wells` joined with a layout, so
            that it has a ``role`` column (``vehicle`` marks the controls)
            and the ``group_columns``.
        group_columns: Columns that define which vehicle wells a well is compared with (those
            ``summary`` lacks are left out; ``vehicle_set``, as
            :func:`~ferroscreen.analysis.dose_tables.with_vehicle_sets` adds it, keeps a compound +
            agent's wells with the vehicle wells of that agent alone, and the others with the plain ones).
        notes: Receives a line per group (plate and group, at its endpoint) whose ``gr`` and
            ``dip_rel`` are left out because its vehicle grew less than :data:`MIN_VEHICLE_FOLD`-fold,
            saying how much it grew, or whose ``dip_rel`` is left out because the vehicle's DIP rate is
            not above 0.

    Returns:
        A copy with the new columns (NaN where a group has no vehicle wells
        or no counts; ``gr`` and ``dip_rel`` also where its vehicle barely grew, see the module
        docstring).
    """
    out = summary.copy()
    if "n_cells_end" not in out.columns or "role" not in out.columns:
        return out
    keys = [c for c in group_columns if c in out.columns] or ["plate"]
    veh = out[out["role"].eq("vehicle") & out["n_cells_end"].notna()]
    agg = {"v_end": ("n_cells_end", "mean"), "v_dip": ("dip_rate", "mean")}
    if "n_cells_t0" in out.columns:  # the fold change over the vehicle wells with both counts
        veh = veh.assign(_v_end_t0=veh["n_cells_end"].where(veh["n_cells_t0"].notna()))
        agg["v_t0"] = ("n_cells_t0", "mean")
        agg["v_end_t0"] = ("_v_end_t0", "mean")
    if "time_end_h" in veh.columns:
        agg["v_time"] = ("time_end_h", "max")
    ref = veh.groupby(keys, dropna=False).agg(**agg).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        ref["v_fold"] = ref["v_end_t0"] / ref["v_t0"] if "v_t0" in ref.columns else np.nan
    slow = ref["v_fold"].notna() & ~(ref["v_fold"] >= MIN_VEHICLE_FOLD)  # NaN fold: unknown, not slow
    if notes is not None:
        notes.extend(_slow_vehicle_notes(ref, keys, slow))
    merged = out[keys + [c for c in ("n_cells_end", "n_cells_t0", "dip_rate") if c in out]]
    merged = merged.merge(ref.assign(_slow=slow), on=keys, how="left")
    grows = ~merged["_slow"].eq(True).to_numpy(bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["viability"] = (merged["n_cells_end"] / merged["v_end"]).to_numpy()
        dip_rel = (merged["dip_rate"] / merged["v_dip"]).to_numpy()
        out["dip_rel"] = np.where(grows & (merged["v_dip"] > 0).to_numpy(), dip_rel, np.nan)
        if "v_t0" in merged.columns:
            x0 = merged["n_cells_t0"].to_numpy(float)
            fold = merged["n_cells_end"].to_numpy(float) / x0
            vfold = merged["v_fold"].to_numpy(float)
            ratio = np.log2(fold) / np.log2(vfold)
            gr = 2.0**ratio - 1.0
            gr = np.where((x0 > 0) & (fold > 0) & (vfold > 1) & grows, gr, np.nan)
            out["gr"] = gr
        else:
            out["gr"] = np.nan
    return out


def _slow_vehicle_notes(ref: pd.DataFrame, keys: list[str], slow: pd.Series) -> list[str]:
    """Notes of :func:`normalise_to_vehicle` on the groups whose vehicle barely grew (its ``ref``: one row a group)."""
    lines = []
    for i, row in ref.iterrows():
        what = "plate " + " ".join(str(row[k]) for k in keys if pd.notna(row[k]) and str(row[k]))
        when = f" to {row['v_time']:g} h" if "v_time" in ref.columns and pd.notna(row["v_time"]) else ""
        if slow[i]:
            lines.append(f"{what}: the vehicle grew {row['v_fold']:.3g}-fold from time zero{when}, less than the "
                         f"{MIN_VEHICLE_FOLD:g}-fold that gr and dip_rel need (they divide by its growth, and "
                         "noise in the counts would dominate them): both left out there")
        elif pd.notna(row["v_dip"]) and row["v_dip"] <= 0:
            lines.append(f"{what}: the vehicle's DIP rate{when and ' up' + when} is {row['v_dip']:.3g} per hour, "
                         "not above 0 (it stopped growing), so dip_rel (relative to it) is left out there")
    return lines
