"""Plate checks of a knockdown screen beyond its control window (used by :mod:`~ferroscreen.analysis.knockdown`).

* **few nuclei**: a well holding fewer than :data:`MIN_NUCLEI_FOR_MORPHOLOGY` nuclei gives no per-nucleus
  reading (its nuclear area), flag ``few_nuclei`` (:func:`few_nuclei`; only where the table gives the well's
  count: a count per field alone is not one);
* **controls off**: the median fold change of a plate's sample wells (to its non-targeting median) beyond
  :data:`CONTROLS_OFF_FACTOR` either way, flag ``controls_off`` (:func:`sample_checks`);
* **edge effect**: an outer row or column of the plate whose sample wells' median fold change lies outside
  :data:`EDGE_RANGE` times the inner sample wells' median, flag ``edge_effect`` (:func:`sample_checks`).

Each check is a flag and a warning; the plate's wells are still called.

And the null of a plate's B-scores (:func:`null_calibrated`): median-polish residuals over their MAD mapped to
normal quantiles by seeded Gaussian grids of the plate's shape (one simulation per shape for plates missing up to
:data:`MAX_GAPS_FOR_SHAPE_NULL` of their wells), so ``--bscore`` is no more liberal than z.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ferroscreen.plate.wells import PlateFormat, row_label, well_to_rowcol

#: Fewest nuclei in a well whose nuclear area is read. A well's mean area over n nuclei scatters by the
#: nuclei's own spread over sqrt(n): with the 20-30 % CV of nuclear size in a culture, 20 nuclei put the mean
#: within about 5-7 % (1 SE), well inside the 1.7-fold area threshold and comparable to the well-to-well noise
#: of a full well; one to a few nuclei (what a lethal knockdown leaves) give a mean off by 30 % or more by
#: chance, which a robust z over a plate of ~5 % scatter reads as a strong "larger nuclei" hit.
MIN_NUCLEI_FOR_MORPHOLOGY = 20

#: Most a plate's median sample fold change may depart from 1 (either way) before its controls are called
#: off: most knockdowns do nothing, so the sample wells' median reads like the non-targeting wells' (within
#: a few per cent); 1.5x is far beyond that and beyond library-wide toxicity of a typical genome-wide plate.
CONTROLS_OFF_FACTOR = 1.5

#: Range of the median fold change of an outer row or column's sample wells over that of the inner sample
#: wells that is taken as no edge effect.
EDGE_RANGE = (0.8, 1.25)

#: Fewest sample wells with a reading on an outer line (and, times four, inside) to judge an edge effect.
MIN_EDGE_WELLS = 5


def nuclei_in_well(df: pd.DataFrame, count_col: str) -> np.ndarray | None:
    """Nuclei counted in each well: ``n_nuclei``; else ``nuclei_per_field`` times ``n_fields``; else None.

    None when the table gives no per-well count: ``count_col`` alone (a count per field, or a column of
    unknown kind) says nothing of how many nuclei a well's mean area is taken over (nine fields of 15 hold 135).
    """
    if "n_nuclei" in df.columns:
        return pd.to_numeric(df["n_nuclei"], errors="coerce").to_numpy(float)
    if "nuclei_per_field" in df.columns and "n_fields" in df.columns:
        per_field = pd.to_numeric(df["nuclei_per_field"], errors="coerce").to_numpy(float)
        return per_field * pd.to_numeric(df["n_fields"], errors="coerce").to_numpy(float)
    return None


def few_nuclei(df: pd.DataFrame, count_col: str) -> np.ndarray | None:
    """Wells counted (a finite count) with fewer than :data:`MIN_NUCLEI_FOR_MORPHOLOGY` nuclei.

    None when the table gives no per-well count (:func:`nuclei_in_well`): the minimum is then not applied.
    """
    n = nuclei_in_well(df, count_col)
    return None if n is None else np.isfinite(n) & (n < MIN_NUCLEI_FOR_MORPHOLOGY)


def few_nuclei_unknown_said(count_col: str) -> str:
    """The note on a table whose wells' nucleus counts are not known (no :func:`few_nuclei` check)."""
    return (f"the table gives no per-well nucleus count (n_nuclei, or nuclei_per_field with n_fields; {count_col} "
            f"alone is not one), so the minimum of {MIN_NUCLEI_FOR_MORPHOLOGY} nuclei for a well's nuclear area "
            f"(flag few_nuclei) was not applied")


def normalisers_kept_said(plates: dict[str, int], area_col: str) -> str:
    """The note on plates every one of whose non-targeting wells holds too few nuclei (their area is kept)."""
    said = ", ".join(f"{p} ({n} well{'s' if n > 1 else ''})" for p, n in plates.items())
    return (f"plate(s) {said}: every non-targeting well with a {area_col} reading holds fewer than "
            f"{MIN_NUCLEI_FOR_MORPHOLOGY} nuclei; the control wells are the plate's normaliser, so their {area_col} "
            f"is kept (the median over those wells) and not left out as few_nuclei")


def sample_checks(plate: pd.DataFrame, key: str, plate_format: PlateFormat | None) -> dict:
    """``median_sample_fc``, ``edge_ratio`` and flags of one plate's readout ``key`` (its ``fc_<key>``).

    ``median_sample_fc``: the median fold change of the sample wells (``controls_off`` beyond
    :data:`CONTROLS_OFF_FACTOR` either way). ``edge_ratio``: of the plate's outer rows and columns holding
    :data:`MIN_EDGE_WELLS` or more sample wells with a reading, the median fold change of the one furthest
    from the inner sample wells' median, over that median (``edge_effect`` outside :data:`EDGE_RANGE`);
    ``edge_lines``: each line outside the range and its ratio (``[("row A", 0.55), ...]``). No edge check
    without a ``plate_format`` or a ``well`` column.
    """
    sample = (plate["role"].astype(str) == "sample") & ~plate["is_control"].astype(bool)
    fc = plate.loc[sample, f"fc_{key}"].to_numpy(float)
    wells = plate.loc[sample, "well"].to_numpy() if "well" in plate else np.full(len(fc), None)
    read = np.isfinite(fc)
    fc, wells = fc[read], wells[read]
    out = {"median_sample_fc": float(np.median(fc)) if fc.size else np.nan, "edge_ratio": np.nan,
           "edge_lines": [], "flags": []}
    med = out["median_sample_fc"]
    if np.isfinite(med) and not 1 / CONTROLS_OFF_FACTOR <= med <= CONTROLS_OFF_FACTOR:
        out["flags"].append("controls_off")
    if plate_format is None or "well" not in plate:
        return out
    rc = np.array([well_to_rowcol(str(w)) for w in wells], dtype=int).reshape(-1, 2)
    last_r, last_c = plate_format.rows - 1, plate_format.cols - 1
    inner = (rc[:, 0] > 0) & (rc[:, 0] < last_r) & (rc[:, 1] > 0) & (rc[:, 1] < last_c)
    if inner.sum() < 4 * MIN_EDGE_WELLS:
        return out
    middle = float(np.median(fc[inner]))
    if not middle > 0:
        return out
    lines = [(f"row {row_label(0)}", rc[:, 0] == 0), (f"row {row_label(last_r)}", rc[:, 0] == last_r),
             ("column 1", rc[:, 1] == 0), (f"column {last_c + 1}", rc[:, 1] == last_c)]
    ratios = [(name, float(np.median(fc[on])) / middle) for name, on in lines if on.sum() >= MIN_EDGE_WELLS]
    if not ratios:
        return out
    out["edge_ratio"] = max((r for _, r in ratios), key=lambda r: abs(np.log(r)) if r > 0 else np.inf)
    out["edge_lines"] = [(name, r) for name, r in ratios if not EDGE_RANGE[0] <= r <= EDGE_RANGE[1]]
    if out["edge_lines"]:
        out["flags"].append("edge_effect")
    return out


def plate_formats(read_wells: pd.DataFrame, layout=None) -> dict[str, PlateFormat]:
    """Each data plate's format, for its edge check: a run may mix 96- and 384-well plates.

    The smallest plate (at least 96 wells) holding the plate's wells in the data (``read_wells``: ``plate, well``)
    and, with a ``layout``, the wells its layout plate lists, and no smaller than the format the layout gives that
    plate (its own file's, or a one-plate layout's). One format for all would read a 96-well plate's row H and
    column 12 as inner wells of a 384-well plate.
    """
    out = {}
    for plate, g in read_wells.groupby(read_wells["plate"].astype(str), sort=True):
        wells, least = list(g["well"].astype(str)), None
        if layout is not None and len(layout.plate_ids) <= 1:
            least = layout.plate_format
        elif layout is not None and (pid := layout.plate_id_for(plate)) is not None:
            wells += list(layout.table.loc[layout.table["plate_id"].astype(str) == pid, "well"].astype(str))
            least = layout.plate_formats.get(pid)
        fmt = PlateFormat.of_layout(sorted(set(wells)))
        out[plate] = least if least is not None and least.n_wells > fmt.n_wells else fmt
    return out


def controls_off_said(plate: str, key: str, median_fc: float) -> str:
    """The warning on a plate flagged ``controls_off``."""
    return (f"plate {plate}, {key}: controls_off: its sample wells' median reads {median_fc:.2f}x its non-targeting "
            f"wells' median (more than {CONTROLS_OFF_FACTOR:g}x either way; most knockdowns do nothing, so the two "
            f"should agree): the non-targeting wells failed or are not what the layout says, and this plate's fold "
            f"changes and calls are off by that factor")


def edge_effect_said(plate: str, key: str, lines: list[tuple[str, float]], use_bscore: bool) -> str:
    """The warning on a plate flagged ``edge_effect``."""
    said = ", ".join(f"on {name} {ratio:.2f}x" for name, ratio in lines)
    fix = ("its B-scores remove row and column effects; the fold-change threshold calls do not" if use_bscore
           else "hits on those lines may be false; --bscore removes row and column effects")
    return (f"plate {plate}, {key}: edge_effect: the median of its sample wells {said} that of its inner sample "
            f"wells (outside {EDGE_RANGE[0]:g}-{EDGE_RANGE[1]:g}x): {fix}")


def no_control_signal_said(plate: str, readouts_said: str, why: str) -> str:
    """The warning on a plate whose non-targeting wells give nothing to normalise by (flag ``no_control_signal``)."""
    return (f"plate {plate}{readouts_said}: no_control_signal: {why} (a failed transfection or imaging of the "
            f"controls?): this plate takes no part in the calls{' of that readout' if readouts_said else ''}; the "
            f"other plates are called")


def polished_ratios(grids: np.ndarray, n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Median-polish residuals over their MAD, per grid of ``grids`` (grids x rows x columns; NaN: no well).

    Returns the ratios (NaN everywhere for a grid whose MAD is 0) and each grid's share of residuals that the
    polish set to exactly 0 (left out of the MAD).
    """
    resid = grids.copy()
    median = np.median if np.isfinite(grids).all() else np.nanmedian  # the same, much faster on full grids
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(n_iter):
            resid -= np.nan_to_num(median(resid, axis=2, keepdims=True))
            resid -= np.nan_to_num(median(resid, axis=1, keepdims=True))
        flat, values = resid.reshape(len(grids), -1), grids.reshape(len(grids), -1)
        spread = np.nanmax(np.abs(values - np.nanmedian(values, axis=1, keepdims=True)), axis=1, keepdims=True)
        zero = np.abs(flat) <= 1e-9 * np.maximum(spread, 1e-300)  # a line's median, set to 0 by the polish itself
        kept = np.where(zero, np.nan, flat)
        mad = 1.4826 * np.nanmedian(np.abs(kept - np.nanmedian(kept, axis=1, keepdims=True)), axis=1)
    share = zero.sum(axis=1) / np.maximum(np.isfinite(flat).sum(axis=1), 1)
    mad = np.where(mad > 0, mad, np.nan)
    return resid / mad[:, None, None], share


#: Cells of simulated null grids behind one B-score calibration: tail probabilities down to about 5e-5
#: (``|z|`` 4) are read off the simulation, beyond that its last slope is carried on.
_NULL_CELLS = 1_000_000


#: Most of a plate's grid (the rows and columns holding its sample wells) that may be missing for its B-score
#: null to be simulated on its grid shape alone, with that share of wells (to :data:`GAP_STEP`) missing at random
#: in each simulated grid: a screen's plates that lost a few wells each share a handful of simulations instead of
#: one per pattern of missing wells. On Gaussian noise in 16 x 20 grids (normal: SD 1, P(|B| > 3) 0.0027), with
#: 2 / 5 / 7.5 % of wells missing at random, B-scores so calibrated read SD 0.996 / 0.994 / 0.995 and
#: P(|B| > 3) 0.0024 / 0.0023 / 0.0024 (1500 plates each), as the exact pattern's null does (5 % and 10 %: SD
#: 0.997 and 0.990, 0.0024 and 0.0023, 50 plates each) and the full grid of no gaps (0.997, 0.0024); the full
#: grid's null alone, ignoring 5 % gaps, would read SD 0.957 and 0.0015 (too conservative). With 10 % random
#: gaps (about half the plates beyond the limit, simulated per pattern): SD 0.993, 0.0025 (400 plates).
MAX_GAPS_FOR_SHAPE_NULL = 0.1

#: Step to which a grid's share of missing wells is rounded for its null (:data:`MAX_GAPS_FOR_SHAPE_NULL`).
GAP_STEP = 0.025

#: Beyond :data:`MAX_GAPS_FOR_SHAPE_NULL`: share of its row's and its column's wells present for a missing well
#: to count as present in the B-score null.
SPORADIC_GAPS = 0.9


def null_calibrated(ratio: np.ndarray, n_iter: int) -> np.ndarray:
    """``ratio`` (:func:`polished_ratios` of one grid) as a standard-normal z: exact for Gaussian noise.

    The polish leaves many residuals near 0 (each line's median) and the MAD of so few wells is itself
    uncertain, so residual over MAD is neither of SD 1 nor normal-tailed (SD 1.13 on a 16 x 20 grid, 1.38 on
    8 x 10; |ratio| > 3 four to fifteen times as often as a normal's 0.27 %). Each ratio is mapped to the
    normal quantile of its two-sided tail probability among the ratios of seeded N(0, 1) grids of the same
    wells (:func:`_null_table`, simulated once per grid shape and pattern of missing wells, seeded: the same
    ratio gives the same z). A grid missing at most :data:`MAX_GAPS_FOR_SHAPE_NULL` of its wells is calibrated
    on the full grid of its shape (the gaps change the null too little to matter), so one simulation serves every
    such plate of a screen; beyond that a well missing from a row and a column that each hold
    :data:`SPORADIC_GAPS` or more of their wells counts as present, and the rest of the pattern is simulated.
    """
    mask = np.isfinite(ratio)
    gaps = 0.0
    if mask.mean() >= 1 - MAX_GAPS_FOR_SHAPE_NULL:
        gaps = round(round((1 - mask.mean()) / GAP_STEP) * GAP_STEP, 6)
        mask = np.ones_like(mask)
    mask |= (mask.mean(axis=1, keepdims=True) >= SPORADIC_GAPS) & (mask.mean(axis=0, keepdims=True) >= SPORADIC_GAPS)
    q, z = _null_table(mask.shape, np.packbits(mask).tobytes(), n_iter, gaps)
    a = np.abs(ratio)
    slope = (z[-1] - z[-41]) / max(q[-1] - q[-41], 1e-12)
    mapped = np.where(a <= q[-1], np.interp(a, q, z), z[-1] + (a - q[-1]) * slope)
    return np.sign(ratio) * mapped


@functools.lru_cache(maxsize=64)
def _null_table(shape: tuple[int, int], packed: bytes, n_iter: int, gaps: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(|ratio| quantiles, normal z of the same two-sided tail) over seeded N(0, 1) grids with ``packed``'s wells.

    ``gaps``: share of those wells left out at random (a fresh seeded pattern in each grid).
    """
    mask = np.unpackbits(np.frombuffer(packed, np.uint8), count=shape[0] * shape[1]).reshape(shape).astype(bool)
    n_grids = max(200, -(-_NULL_CELLS // max(int(mask.sum() * (1 - gaps)), 1)))
    rng = np.random.default_rng(0)
    sims = rng.normal(size=(n_grids, *shape))
    sims[:, ~mask] = np.nan
    if gaps:
        sims[rng.random(sims.shape) < gaps] = np.nan
    ratio, zero = polished_ratios(sims, n_iter)
    a = np.abs(ratio[zero < 0.5])
    a = a[np.isfinite(a)]
    top = float(stats.norm.isf(25 / a.size))  # 50 simulated ratios beyond the last quantile
    z = np.linspace(0, top, 401)
    q = np.maximum.accumulate(np.quantile(a, 1 - 2 * stats.norm.sf(z)))
    return q, z
