"""Gene hit calling for knockdown screens (pandas/scipy, no torch).

Input is one row per well with, per well, the gene (layout ``compound``) and role, and either

* a nuclei count and a nuclear size readout (the ``wells.csv`` of ``ferroscreen segment``):
  readouts ``count`` (fewer nuclei is the effect) and ``area`` (larger nuclei); or
* one viability signal (``signal_col``: a plate reader's CellTiter-Glo or resazurin read, a cell
  count over time): readout ``viability``, whose effect is a lower signal.

Layout and data: a data well the layout lists no row for (a library map of the filled wells only)
takes no part, as role ``empty``, said in a note; a plate most of whose wells are unlisted is refused.
Notes also name each plate holding fewer wells than its layout lists, and gene names Excel made
dates of (:func:`excel_date_names`; used as written).

Steps, per plate:

1. **Controls**: wells with role ``neg_ctrl``, or whose gene is a
   non-targeting name (:data:`NON_TARGETING_NAMES`, case-insensitive, or a vendor's
   name for one: :func:`is_non_targeting_name`) where no role was written (a library map without
   roles, an empty role cell) or the plate's written roles name no ``neg_ctrl`` well (said in a
   note): a written ``sample`` stays a sample well, said in a note when its name sounds like a control.
2. **Fold change** of each readout to the median of the plate's controls
   (``fc_count``, ``fc_area``) and its log2.
3. **Robust z** of the log2 fold change: ``(x - median) / (1.4826 * MAD)``
   over the plate's sample wells (most knockdowns do nothing, so the plate's
   own distribution is the null). Its tail probability is that of robust z of
   Gaussian noise over as many wells (:func:`robust_z_as_normal`), not a normal's:
   the MAD of 62 wells (a 96-well plate) is too uncertain an SD. The p-values of the nuclei **count** (not of a
   ``from_start`` ratio, the area or a viability signal) are not the log's: the log of counts scattered as negative
   binomial (a few hundred nuclei, gamma well-to-well scatter) is left-skewed, and its robust z put 2-12 times the
   nominal share of null wells below p 0.001 on the low side (2x at p 0.05) and almost none on the high side. A
   count's p is that of the robust z of its fold change to the power :func:`count_power` (from 2/3 for Poisson
   counts to 1/3 for gamma scatter, toward 0 for log-normal scatter), the plate's Poisson excess from its sample
   wells' counts (:func:`count_excess`, on the nuclei per well where the table gives them), the scatter's skew
   fitted once per call over its plates (:func:`fit_count_skew`); ``z_count`` stays the log's robust z. Measured
   on null plates (384 wells with 16 non-targeting, 96 with 8; NB means 50-500, sizes 5-50), share below p 0.001
   over nominal per tail, low/high: log 2-12 / 0.01-0.5; now, 24 plates a call, 0.95-2.2 / 0.5-1.1 (2 plates:
   0.9-2.9 / 0.4-1.1); on log-normal scatter of the same CV 0.7-1.6 / 1.1-2.3 (log: 1-4.6 / 0.2-1). At a
   matched false-positive rate halved counts are called about as often as by the log (within 0.03). A plate with
   fewer than ``min_samples_for_z`` sample wells is scored against its
   non-targeting wells instead, whose few values make a robust z far too
   wide-tailed for a normal p: each well's t against the
   controls' mean and SD (Student's t, their number less one degrees of freedom),
   given as the z of the same tail probability (:func:`control_t_z`). A warning
   names each such plate and its number of control wells; with fewer than
   ``min_controls_for_z`` of them, or when they all read the same, the plate gives
   no z, p or q (said in a warning), as when the sample wells' MAD is 0.
4. Optional **B-score**: Tukey median polish of the sample wells' log2 fold
   change over rows and columns, residuals divided by their MAD (the residuals the
   polish sets to exactly 0 left out), given as the normal quantile of the same tail
   among seeded N(0, 1) grids of the plate's shape (residual over MAD alone has SD 1.13
   to 1.4 and wide tails on pure noise: :func:`bscore`). It removes
   row/column effects, and with them real biology when genes or doses run
   along rows or columns, so a warning is raised when the layout looks like
   that (see :func:`layout_runs_along_lines`). A plate the polish cannot judge
   (fewer than ``min_samples_for_z`` sample wells, a row or column holding one or
   two, most residuals exactly 0: :func:`bscore`) is scored by z instead, said in
   a warning naming the plate and why; a row or column with no value is left out.

Per gene (over its wells, usually replicates on different plates):

* median fold changes; Stouffer-combined z (``sum z / sqrt n`` over its wells; on
  a plate scored against its controls, the gene's wells there count as one, the t of
  their mean; a robust z first given as the normal quantile of its tail,
  :func:`robust_z_as_normal`; a count's, of its power's robust z: step 3), two-sided normal p-value and
  Benjamini-Hochberg q over genes, per readout;
* **published thresholds** (Aits lab): ``fc_count < 0.5`` (fewer nuclei) and
  ``fc_area > 1.7`` (larger nuclei); ``fc_count < 0.1`` is labelled lethal;
* **z/FDR calls**: ``q < fdr`` with the median z at least ``z_threshold`` in the readout's effect direction
  (:data:`READOUT_EFFECTS`: ``z_count <= -z_threshold``, ``z_area >= z_threshold``); ``hit`` is any threshold or
  FDR call of any readout (neither FDR-controlled as a whole: BH runs per readout);
* QC flags carried from the wells (fields flagged by segmentation QC; ``few_nuclei``: a well
  holding fewer than :data:`~ferroscreen.analysis.knockdown_qc.MIN_NUCLEI_FOR_MORPHOLOGY` (20) nuclei, whose
  nuclear area takes no part: the mean size of a nucleus or two is no reading; counted on the nuclei the area
  is measured on where the table gives them (``segment``'s ``n_area_nuclei``: those off the image border), else
  checked only where the table gives a well's count, ``n_nuclei`` or ``nuclei_per_field`` times ``n_fields``,
  else a note says it was not applied; a plate's non-targeting wells, its normaliser, are never all left out so), plus
  ``single_well`` and ``discordant`` (replicates read on opposite sides of the
  count threshold; an unread well takes no side);
* genes ranked: called genes first, then by the strongest combined ``|z|``.

Replicates: a well's replicate is the layout's ``replicate`` column when it says one (any value other
than 1), else the one the plate's name gives (``LIB01_rep2``, ``LIB01-R2``: :func:`replicate_in_name`),
else the data plates of one library plate are numbered in the order of their names (said in a note).
Replicate concordance (:func:`replicate_concordance`): per readout and pair of replicates (1 and 2; every
pair of three or more), over every library plate, Spearman's rank correlation of the genes' log2 fold
changes, Pearson's r without the lethal genes (which alone pull it towards 1), and Pearson's r.

Plate QC (:func:`control_qc`), per plate and readout, on the fold changes: the non-targeting wells against the
layout's ``pos_ctrl`` wells (a lethal siRNA such as PLK1 or KIF11): Z′, robust Z′, SSMD and the CV of the
non-targeting wells. An siRNA screen's window is narrower than a compound screen's, so a plate is flagged
(``no_window``) only when its Z′ is below 0, where the control bands overlap; a CV above 0.2 is flagged ``high_cv``;
a plate with no ``pos_ctrl`` well with a reading is ``no_pos_ctrl`` (warned where the layout marks some), one with
one such well ``one_pos_ctrl`` (Z′ and SSMD take two; warned); a pos_ctrl band clear of the non-targeting wells' on
the wrong side (above them, Z′ >= 0) is ``inverted_window`` (Z′, which takes the gap's size alone, is then NaN); a
pos_ctrl that did nothing, its band over the controls' either way, is ``no_window`` with its Z′. The window is
judged on the count (or viability) alone: a lethal control leaves too few nuclei to measure their area, so the area
row reports its statistics without a window flag. On every readout, the sample wells are checked against the
controls and the plate's edge (:mod:`~ferroscreen.analysis.knockdown_qc`): ``controls_off`` when their median fold
change lies beyond 1.5x either way, ``edge_effect`` when an outer row or column's median lies outside 0.8-1.25x the
inner wells' (on each plate's own format: :func:`~ferroscreen.analysis.knockdown_qc.plate_formats`), each with a
warning.
Flagged plates are reported, never dropped, but for ``no_control_signal``: a plate whose
non-targeting wells read 0 (or nothing) on a readout, or whose data hold no row of the wells its layout
marks non-targeting, has nothing to normalise it by and takes no part in its calls (a warning names it);
every plate so is an error.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from ferroscreen.analysis.count_null import count_excess, count_power, fit_count_skew
from ferroscreen.analysis.dose_tables import exclusion_note
from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.analysis.knockdown_qc import (
    MIN_NUCLEI_FOR_MORPHOLOGY,
    controls_off_said,
    edge_effect_said,
    few_nuclei,
    few_nuclei_unknown_said,
    no_control_signal_said,
    normalisers_kept_said,
    nuclei_in_well,
    null_calibrated,
    plate_formats,
    polished_ratios,
    sample_checks,
)
from ferroscreen.errors import FerroscreenError
from ferroscreen.plate import exclusion_reasons
from ferroscreen.plate.control_names import is_neg_ctrl_name, is_non_targeting_name, is_reporter_control_name
from ferroscreen.plate.layout import UNNAMED_PLATE
from ferroscreen.plate.wells import PlateFormat

__all__ = [
    "NON_TARGETING_NAMES",
    "READOUT_EFFECTS",
    "HitResult",
    "ThresholdError",
    "benjamini_hochberg",
    "bscore",
    "bscore_problem",
    "call_hits",
    "control_qc",
    "control_t_z",
    "count_excess",
    "count_power",
    "fit_count_skew",
    "excel_date_names",
    "is_non_targeting_name",
    "layout_runs_along_lines",
    "replicate_concordance",
    "replicate_in_name",
    "robust_z",
    "robust_z_as_normal",
]

#: Gene/compound names treated as non-targeting controls (lower case).
NON_TARGETING_NAMES = (
    "non-targeting",
    "nontargeting",
    "non targeting",
    "nt",
    "ntc",
    "nt ctrl",
    "scrambled",
    "scramble",
    "sinc",
    "si-nc",
    "negative control",
    "neg ctrl",
)


#: Readout -> (the direction of a knockdown's effect on it, the phenotype it is called).
READOUT_EFFECTS = {
    "count": ("down", "fewer_nuclei"),
    "area": ("up", "larger_nuclei"),
    "viability": ("down", "lower_viability"),
}


@dataclass
class HitResult:
    """Output of :func:`call_hits`.

    Attributes:
        genes: One row per gene, ranked (``rank`` 1 = strongest).
        wells: Input wells with normalised readouts and control flags.
        concordance: Replicate agreement per readout.
        warnings: Messages a user should see (also emitted as warnings).
        params: The thresholds used.
        qc: Plate x readout control statistics (:func:`control_qc`).
        notes: What the layout and data made of each other (:func:`call_hits`), after what reading the input
            said (:func:`~ferroscreen.analysis.hits_run.run_hits`); lines naming their file.
    """

    genes: pd.DataFrame
    wells: pd.DataFrame
    concordance: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    qc: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)


def robust_z(x: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
    """``(x - median(ref)) / (1.4826 * MAD(ref))``; ``ref`` defaults to ``x``; NaN-aware.

    Returns NaN everywhere when the MAD is 0 or ``ref`` has no finite value.
    """
    x = np.asarray(x, dtype=float)
    ref = x if ref is None else np.asarray(ref, dtype=float)
    ref = ref[np.isfinite(ref)]
    if ref.size == 0:
        return np.full_like(x, np.nan)
    med = np.median(ref)
    mad = 1.4826 * np.median(np.abs(ref - med))
    if not mad > 0:
        return np.full_like(x, np.nan)
    return (x - med) / mad


#: Simulated robust z behind the null of :func:`robust_z_as_normal`: tail probabilities down to about 5e-5 (``|z|``
#: 4) are read off the simulation; beyond, from the simulated plates' medians and MADs (see there).
_Z_NULL_CELLS = 1_000_000


def robust_z_as_normal(z: np.ndarray, n: int) -> np.ndarray:
    """A :func:`robust_z` of a well among ``n`` (its plate's sample wells, it one of them) as a z with a normal tail.

    The MAD of ``n`` wells is itself an estimate (about as uncertain as an SD of 0.37 ``n`` wells), so a robust z
    over a plate's sample wells is wider-tailed than normal on pure noise: with the 62 sample wells of a 96-well
    plate ``|z|`` passes 3.29 (two-sided normal p 0.001) 2.8 times as often (3.69 is its 0.001 point), with 300 (a
    384-well plate) 1.26 times (3.36). Each ``z`` is returned as the standard normal quantile of its two-sided tail
    probability among the robust z of seeded N(0, 1) samples of ``n`` values, each against its own sample
    (:func:`_robust_z_null`, simulated once per ``n``: the same ``z`` gives the same answer), so
    ``2 * norm.sf(|z|)`` is its p-value for Gaussian log fold changes. Beyond the simulation's reach (``|z|`` of
    about 4) the tail is ``mean_k [Φ(-(|z| mad_k + med_k)) + Φ(-(|z| mad_k - med_k))]`` over the simulated plates'
    medians and MADs: a well that far out barely moves its plate's median and MAD, and a straight line carried on
    from the table overstated it (robust z 30 of 62 wells: 20.1 for 14.4). NaN where ``z`` is NaN, and everywhere
    for ``n`` under 3.
    """
    z = np.asarray(z, dtype=float)
    if n < 3:
        return np.full_like(z, np.nan)
    q, zn, med, mad = _robust_z_null(int(n))
    a = np.abs(z)
    mapped = np.interp(a, q, zn)
    far = np.flatnonzero(a > q[-1])
    if far.size:
        logs = np.logaddexp(stats.norm.logsf(a[far, None] * mad + med), stats.norm.logsf(a[far, None] * mad - med))
        log_p = special.logsumexp(logs, axis=1) - np.log(mad.size)  # log of the two-sided tail
        mapped[far] = np.maximum(_z_of_log_tail(log_p), zn[-1])
    return np.sign(z) * mapped


def _z_of_log_tail(log_p: np.ndarray) -> np.ndarray:
    """The standard normal ``z`` whose two-sided tail probability is ``exp(log_p)`` (no underflow for huge ``z``)."""
    return -special.ndtri_exp(log_p - np.log(2.0))


@functools.cache  # one per plate size: a screen of 213 plates may hold as many
def _robust_z_null(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The null of :func:`robust_z_as_normal` for ``n`` wells, over seeded N(0, 1) samples of ``n`` values.

    ``|robust z|`` quantiles, the normal z of the same two-sided tail, and each simulated plate's median and MAD.
    """
    sims = np.random.default_rng(0).normal(size=(max(200, -(-_Z_NULL_CELLS // n)), n))
    med = np.median(sims, axis=1, keepdims=True)
    mad = 1.4826 * np.median(np.abs(sims - med), axis=1, keepdims=True)
    a = np.abs((sims - med) / mad).ravel()
    top = float(stats.norm.isf(25 / a.size))  # 50 simulated values beyond the last quantile
    zn = np.linspace(0, top, 401)
    return np.maximum.accumulate(np.quantile(a, 1 - 2 * stats.norm.sf(zn))), zn, med.ravel(), mad.ravel()


def control_t_z(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``x`` against a few control values ``ref``, as a z with a true normal tail: Student's t turned into z.

    ``t = (x - mean(ref)) / (sd(ref) * sqrt(1 + 1/n))`` is Student's t with ``n - 1`` degrees of freedom when
    ``x`` is one more draw of the controls' normal distribution (no effect); it is returned as the standard
    normal quantile of the same tail probability, so ``2 * norm.sf(|z|)`` is its exact p-value. A robust z over
    a handful of wells (1.4826 MAD of 4 to 6 values, biased low and widely scattered) is no such z. NaN where
    ``x`` is NaN, and everywhere for fewer than two finite ``ref`` values or none of their spread.
    """
    x = np.asarray(x, dtype=float)
    ref = np.asarray(ref, dtype=float)
    ref = ref[np.isfinite(ref)]
    sd = _sd(ref)
    if not sd > 0:
        return np.full_like(x, np.nan)
    return _t_as_z((x - ref.mean()) / (sd * np.sqrt(1 + 1 / ref.size)), ref.size - 1)


def _sd(values: np.ndarray) -> float:
    """The sample SD of finite ``values``; 0 for fewer than two, or when they differ by rounding alone."""
    if values.size < 2:
        return 0.0
    sd = float(np.std(values, ddof=1))
    return sd if sd > 1e-12 * max(1.0, float(np.max(np.abs(values)))) else 0.0


def _t_as_z(t: np.ndarray, df: int) -> np.ndarray:
    """The standard normal quantile with the tail probability of Student's ``t`` (``df`` degrees of freedom)."""
    t = np.asarray(t, dtype=float)
    tail = stats.t.sf(np.abs(t), df)
    with np.errstate(invalid="ignore"):
        z = np.where(tail > 0, stats.norm.isf(np.where(tail > 0, tail, 0.5)), np.abs(t))  # |t| >= |z| past underflow
    return np.sign(t) * z


@dataclass(frozen=True)
class _PlateNull:
    """What one plate's scores of one readout are measured against.

    ``score``: ``z`` (robust z over the plate's ``n`` sample wells with a reading), ``b`` (B-score), ``controls``
    (:func:`control_t_z` over its ``n`` non-targeting wells' log2 fold changes, of ``mean`` and ``sd``) or ``none``
    (no control signal to normalise by: the readout of the plate takes no part). ``excess``: on a ``z`` plate of
    the count, its sample wells' :func:`count_excess` (NaN: p-values from the log's robust z, the z itself).
    """

    score: str
    mean: float = np.nan
    sd: float = np.nan
    n: int = 0
    excess: float = np.nan


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q); NaN p stay NaN and are not counted."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    n = int(ok.sum())
    if n == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv)
    ranked = pv[order] * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.clip(ranked, 0, 1)
    q[ok] = out
    return q


#: Fewest sample wells with a reading that every row and column holding any must hold for a B-score.
MIN_BSCORE_LINE_WELLS = 3


def bscore(values: pd.Series, rows: pd.Series, cols: pd.Series, n_iter: int = 10) -> pd.Series:
    """B-score: residuals of a Tukey median polish over plate rows/columns, over their MAD.

    The MAD leaves out the residuals the polish sets to exactly 0 (the median of a row or column with an odd
    number of wells), which would otherwise shrink it. Residual over MAD is then given as the standard-normal
    quantile of its two-sided tail among those of seeded N(0, 1) grids with the same wells
    (:func:`~ferroscreen.analysis.knockdown_qc.null_calibrated`): on Gaussian noise B-scores have SD 1 and
    normal tails, so ``2 * norm.sf(|B|)`` is their p-value. A row or column none of whose wells has a value (a
    lethal gene along a row has no nuclear area; a row not imaged) takes no part: the polish runs over the others.
    A grid the polish cannot judge gets NaN everywhere: a row or column holding some but fewer than
    :data:`MIN_BSCORE_LINE_WELLS` wells with a value (a partly filled plate), or one where half or more of the
    residuals are such zeros (:func:`bscore_problem` says why).

    Args:
        values: One value per well (NaN ignored).
        rows: Plate row index of each well.
        cols: Plate column index of each well.
        n_iter: Median-polish sweeps.
    """
    scores, _ = _bscore(values, rows, cols, n_iter)
    return scores


def bscore_problem(values: pd.Series, rows: pd.Series, cols: pd.Series, n_iter: int = 10) -> str:
    """Why :func:`bscore` gives no B-score for these wells ("" when it does)."""
    return _bscore(values, rows, cols, n_iter)[1]


def _bscore(values: pd.Series, rows: pd.Series, cols: pd.Series, n_iter: int) -> tuple[pd.Series, str]:
    """:func:`bscore` and :func:`bscore_problem` at once."""
    from ferroscreen.plate.wells import row_label

    df = pd.DataFrame({"v": values.to_numpy(float), "r": rows.to_numpy(), "c": cols.to_numpy()})
    nan = pd.Series(np.nan, index=values.index)
    read = df[np.isfinite(df["v"])]
    if read.empty:
        return nan, "no well has a value"
    for axis, name in (("r", "row"), ("c", "column")):
        held = read.groupby(axis).size()
        thin = held[held < MIN_BSCORE_LINE_WELLS]
        if len(thin):
            said = ", ".join(row_label(int(i)) if axis == "r" else str(int(i) + 1) for i in thin.index[:6])
            more = f" and {len(thin) - 6} more" if len(thin) > 6 else ""
            return nan, (f"{len(thin)} of the {len(held)} {name}s holding its sample wells hold fewer than "
                         f"{MIN_BSCORE_LINE_WELLS} of them ({name}{'s' if len(thin) > 1 else ''} {said}{more}: a "
                         f"partly filled plate?), and median polish needs {MIN_BSCORE_LINE_WELLS} or more in every "
                         f"row and column")
    grid = read.pivot_table(index="r", columns="c", values="v", aggfunc="mean")  # no line without a value
    ratio, zero = polished_ratios(grid.to_numpy(float)[None], n_iter)
    ratio, zero = ratio[0], zero[0]
    n_res = int(np.isfinite(grid.to_numpy(float)).sum())
    if zero >= 0.5:
        return nan, (f"{int(round(zero * n_res))} of the {n_res} residuals of its median polish are exactly 0 (the "
                     f"medians of short rows or columns), too few left to scale a B-score by")
    if not np.isfinite(ratio).any():
        return nan, "the residuals of the median polish have no spread (MAD 0)"
    b = null_calibrated(ratio, n_iter)
    at_r, at_c = grid.index.get_indexer(df["r"]), grid.columns.get_indexer(df["c"])
    on = np.isfinite(df["v"].to_numpy()) & (at_r >= 0) & (at_c >= 0)
    return pd.Series(np.where(on, b[np.maximum(at_r, 0), np.maximum(at_c, 0)], np.nan), index=values.index), ""


def layout_runs_along_lines(
    genes: pd.Series, rows: pd.Series, cols: pd.Series, doses: pd.Series | None = None
) -> list[str]:
    """Reasons why row/column correction would remove biology ([] when none).

    Genes "run along" a row (column) when, on average, more than half of the
    sample wells of a row (column) hold the same gene; doses run along a line
    when the concentration changes monotonically along most rows or columns.
    """
    reasons = []
    df = pd.DataFrame({"g": genes.to_numpy(), "r": rows.to_numpy(), "c": cols.to_numpy()})
    for axis, name in (("r", "rows"), ("c", "columns")):
        shares = [g["g"].value_counts().iloc[0] / len(g) for _, g in df.groupby(axis) if len(g) > 1]
        if shares and float(np.mean(shares)) > 0.5:
            reasons.append(f"genes run along {name}")
    if doses is not None and pd.to_numeric(doses, errors="coerce").notna().sum() > 3:
        df["d"] = pd.to_numeric(doses, errors="coerce").to_numpy()
        for axis, other, name in (("r", "c", "rows"), ("c", "r", "columns")):
            mono = []
            for _, g in df.dropna(subset=["d"]).groupby(axis):
                d = g.sort_values(other)["d"].to_numpy()
                if len(d) > 2 and np.ptp(d) > 0:
                    diff = np.diff(d)
                    mono.append(bool(np.all(diff >= 0) or np.all(diff <= 0)))
            if mono and float(np.mean(mono)) > 0.5:
                reasons.append(f"doses run along {name}")
    return reasons


def _merge_layout(wells: pd.DataFrame, layout) -> tuple[pd.DataFrame, str]:
    """``wells`` with each well's gene, role, replicate (and concentration, exclude) from ``layout``, and a note.

    A data well the layout lists no row for (a library map that leaves out the empty wells of a
    plate the imager read whole) gets role ``empty``: it takes no part, said in the note ("" when
    none). A plate most of whose wells are unlisted is refused (the wrong map).

    Raises:
        FerroscreenError: Plates that find no (or two) layout plates; more than half of a plate's wells unlisted.
    """
    from ferroscreen.plate.wells import normalize_well

    out = wells.copy()
    if "plate" not in out.columns:
        out["plate"] = UNNAMED_PLATE
    out["plate"] = out["plate"].astype(str)
    out["well"] = [normalize_well(str(w)) for w in out["well"]]
    if layout is None:
        if "gene" not in out.columns:
            if "compound" in out.columns:
                out["gene"] = out["compound"]
            else:
                raise FerroscreenError(
                    "wells table has no 'gene' or 'compound' column; give --layout with the siRNA gene per well"
                )
        if "role" not in out.columns:
            out["role"] = "sample"
        if "replicate" not in out.columns:
            out["replicate"] = np.nan
        return out, ""
    lt = layout.table.copy()
    lt["plate_id"] = lt["plate_id"].astype(str)
    cols = ["well", "compound", "role", "replicate", "concentration"] + (["exclude"] if "exclude" in lt else [])
    if len(layout.plate_ids) <= 1:
        merged = out.drop(
            columns=[c for c in ("gene", "role", "replicate", "concentration") if c in out.columns]
        ).merge(lt[cols], on="well", how="left")
    else:
        keyed = lt[["plate_id", *cols]].rename(columns={"plate_id": "_plate_id"})
        for plate in out["plate"].unique():
            if len(layout.plate_candidates(plate)) > 1:
                layout.for_plate(plate)  # raises: the name could be either of two layout plates
        found = {p: layout.plate_id_for(p) for p in out["plate"].unique()}
        lost = sorted(str(p) for p, pid in found.items() if pid is None)
        if lost:
            raise FerroscreenError(
                f"plate(s) {', '.join(lost)} of the data find no plate in the layout ({layout.source or 'layout'}: "
                f"plates {', '.join(layout.plate_ids)}); a plate takes the rows of the layout plate it is named after "
                f"(its name, a barcode after '_', or a replicate such as {layout.plate_ids[0]}_rep2)")
        out["_plate_id"] = out["plate"].map(found)
        merged = (
            out.drop(columns=[c for c in ("gene", "role", "replicate", "concentration") if c in out.columns])
            .merge(keyed, on=["_plate_id", "well"], how="left")
            .drop(columns="_plate_id")
        )
    missing = merged["role"].isna()
    note = ""
    if missing.any():
        share = missing.groupby(merged["plate"]).mean()
        wrong = share[share > 0.5]
        if len(wrong):  # most of a plate unlisted: not a map that leaves out its empty wells, but the wrong map
            plate = wrong.index[0]
            on = merged["plate"] == plate
            ex = merged.loc[missing & on, "well"].iloc[0]
            raise FerroscreenError(
                f"{_layout_file(layout, plate) or 'layout'}: no row for plate {plate} well {ex} "
                f"({int((missing & on).sum())} of its {int(on.sum())} wells unmatched); is this the plate's layout?"
            )
        merged.loc[missing, "role"] = "empty"
        if "exclude" in merged.columns:
            merged.loc[missing, "exclude"] = ""
        unlisted = merged[missing]
        files = unlisted["plate"].map(lambda plate: _layout_file(layout, plate) or "the layout")
        note = "; ".join(  # each file that leaves wells out named (one per plate with --layout per plate)
            f"{file}: {len(part)} well(s) of the data have no row in it ({_listed(part)}); they take no part, as "
            "wells of role empty" for file, part in unlisted.groupby(files, sort=False))
    if "compound" in merged.columns and "gene" not in merged.columns:
        merged = merged.rename(columns={"compound": "gene"})
    return merged, note


#: A replicate in a plate's name: ``LIB01_rep2``, ``LIB01-R3``, ``LIB01.replicate1``, ``rep2`` (before the end or
#: a separator: Harmony's ``LIB01_rep3__2017-05-30T15_00_00-Measurement 1``). The part before it names the library
#: plate, as layout matching reads ``LIB01_rep2`` for layout plate ``LIB01`` (:meth:`PlateLayout.plate_id_for`).
_REPLICATE_IN_NAME = re.compile(r"(?:^|[_\-. ])(?:rep(?:licate)?|r)[_\-. ]?(\d{1,3})(?=$|[_\-. ])", re.I)


def replicate_in_name(plate: str) -> tuple[str, int] | None:
    """``(library plate, replicate)`` a plate's name gives (``LIB01_rep2`` -> ``("LIB01", 2)``), else None."""
    found = list(_REPLICATE_IN_NAME.finditer(str(plate)))
    if not found:
        return None
    m = found[-1]
    return str(plate)[:m.start()] + str(plate)[m.end():], int(m.group(1))


def _assign_replicates(df: pd.DataFrame, layout, own_replicates: bool) -> tuple[pd.DataFrame, str]:
    """``df`` with each well's ``replicate`` (1, 2, ...) and a note on where the numbers came from.

    In order: the layout's ``replicate`` column when it says anything (a value other than 1); the wells
    table's own ``replicate`` column (no layout; ``own_replicates``); else per library plate (the layout
    plate a data plate takes; without a layout the name before its replicate, or the plates holding mostly
    the same genes) the replicate each data plate's name gives (``_rep2``, ``-R2``: :func:`replicate_in_name`)
    when every plate of that library plate gives a different one; else its data plates numbered in the order
    of their names.
    """
    df = df.copy()
    plates = sorted(df["plate"].astype(str).unique())
    rep = pd.to_numeric(df["replicate"], errors="coerce") if "replicate" in df.columns else None
    said = layout is not None and "replicate" in layout.table.columns and bool(
        (pd.to_numeric(layout.table["replicate"], errors="coerce").fillna(1) != 1).any())
    if said:
        df["replicate"] = rep.fillna(1).astype(int)
        return df, ""
    if layout is None and own_replicates and rep is not None and rep.notna().all() and rep.nunique() > 1:
        df["replicate"] = rep.astype(int)
        return df, ""
    if len(plates) == 1:
        df["replicate"] = 1
        return df, ""
    named = {p: replicate_in_name(p) for p in plates}
    by_genes = _plates_by_genes(df, [p for p in plates if not named[p]]) if layout is None else {}

    def library(plate: str) -> str:
        if layout is not None and len(layout.plate_ids) > 1:
            return str(layout.plate_id_for(plate))
        if layout is not None:
            return str(layout.plate_ids[0])
        return named[plate][0] if named[plate] else by_genes[plate]

    groups: dict[str, list[str]] = {}
    for p in plates:
        groups.setdefault(library(p), []).append(p)
    number, ordered = {}, []
    for lib, members in groups.items():
        given = [named[p][1] if named[p] else None for p in members]
        if None not in given and len(set(given)) == len(given):
            number.update(zip(members, given, strict=True))
        else:
            number.update({p: i + 1 for i, p in enumerate(members)})
            if len(members) > 1:
                ordered.append(lib)
    df["replicate"] = df["plate"].astype(str).map(number).astype(int)
    if not ordered and max(number.values()) == 1:
        return df, ""
    shown = ", ".join(f"{p} {number[p]}" for p in plates[:6]) + (f" and {len(plates) - 6} more" if len(plates) > 6
                                                                  else "")
    if not ordered:
        return df, f"replicate of each plate from its name: {shown}"
    return df, f"replicate of each plate: {shown}; " + "; ".join(_numbered_said(groups, ordered, named, layout))


def _numbered_said(groups: dict[str, list[str]], ordered: list[str], named: dict, layout) -> list[str]:
    """Why :func:`_assign_replicates` numbered the plates of library plates ``ordered`` in the order of their names.

    Some plates give no replicate in their names; or all do, but two of one library plate give the same (the plates
    of two libraries sharing a one-plate layout: ``LIB01_rep1`` and ``LIB02_rep1`` both replicate 1 of its plate).
    """
    unnamed = [lib for lib in ordered if any(not named[p] for p in groups[lib])]
    said = ["where the plates of a library plate do not name theirs (_rep1, _rep2) they are numbered in the order "
            "of their names"] if unnamed else []
    for lib in [lib for lib in ordered if lib not in unnamed][:3]:
        first: dict[int, list[str]] = {}
        for p in groups[lib]:
            first.setdefault(named[p][1], []).append(p)
        rep, same = next((r, ps) for r, ps in first.items() if len(ps) > 1)
        same_said = " and ".join(same[:3]) + (" and more" if len(same) > 3 else "")
        if layout is not None and len(layout.plate_ids) <= 1:
            said.append(f"the one plate of the layout ({lib}) is every data plate's map, and their names give "
                        f"replicate {rep} more than once ({same_said}), so the {len(groups[lib])} plates are "
                        f"numbered in the order of their names (a layout plate per library plate keeps the names' "
                        f"replicates)")
        else:
            said.append(f"the plates of {'layout' if layout is not None else 'library'} plate {lib} name replicate "
                        f"{rep} more than once ({same_said}), so they are numbered in the order of their names")
    return said


def _plates_by_genes(df: pd.DataFrame, plates: list[str]) -> dict[str, str]:
    """Each of ``plates`` -> the first of them whose sample genes it mostly shares (half or more of the fewer).

    Without a layout or replicate names, plates holding the same genes are replicates of one library plate.
    """
    sample = (df["role"].astype(str) == "sample") & (df["gene"].fillna("").astype(str).str.strip() != "")
    genes = {p: set(df.loc[sample & (df["plate"].astype(str) == p), "gene"].astype(str)) for p in plates}
    first: dict[str, str] = {}
    for p in plates:
        first[p] = next((q for q in dict.fromkeys(first.values())
                         if len(genes[p] & genes[q]) >= 0.5 * max(min(len(genes[p]), len(genes[q])), 1)), p)
    return {p: f"\0{q}" for p, q in first.items()}  # not a plate name a replicate name leaves


def _layout_file(layout, plate: str):
    """The file holding the layout rows of data plate ``plate`` (the layout's own name when one file holds all)."""
    if layout is None:
        return None
    pid = layout.plate_ids[0] if len(layout.plate_ids) == 1 else layout.plate_id_for(str(plate))
    return layout.plate_sources.get(pid, layout.source)


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
#: Gene families Excel reads as dates: month -> (the old symbol's stem, HGNC's current stem).
_DATE_SYMBOLS = {"sep": ("SEPT", "SEPTIN"), "mar": ("MARCH", "MARCHF"), "dec": ("DEC", None)}
_DAY_MONTH = re.compile(r"^(\d{1,2})[-/ .]([a-z]{3,9})\.?(?:[-/ .]\d{2,4})?$")
_MONTH_DAY = re.compile(r"^([a-z]{3,9})\.?[-/ .](\d{1,2})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_SLASH_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}$")


def _month(word: str) -> int | None:
    """1-12 for a month's name or abbreviation (``Sep``, ``Sept``, ``September``), else None."""
    for i, name in enumerate(_MONTH_NAMES):
        if (len(word) >= 3 and name.startswith(word)) or (word == "sept" and i == 8):
            return i + 1
    return None


def excel_date_names(names) -> list[tuple[str, str | None]]:
    """Gene names that are dates Excel made of gene symbols, each with the symbol it likely was (or None).

    Excel reads ``SEPT7`` as 7 September, ``MARCH1`` as 1 March, ``DEC1`` as 1 December, and writes them
    back as ``7-Sep``, ``Sep-7``, ``1-Mar`` or (read by pandas) ``2024-09-07 00:00:00``. A name is taken
    for such a date when it is ``D-Mon``/``Mon-D`` (``-``, ``/``, space or ``.``; a month's name or
    abbreviation), an ISO date or datetime, or a ``D/M/Y`` date. The likely symbol is the month's
    abbreviation (``SEPT`` for September, ``MARCH`` for March) and the day: ``SEPT7``; None for a date
    that cannot say (``D/M/Y``, or a month that is no such gene family). Names are not changed here.
    """
    found = []
    for name in dict.fromkeys(str(n).strip() for n in names if isinstance(n, str) or hasattr(n, "isoformat")):
        low = name.lower()
        month = day = None
        if m := _DAY_MONTH.match(low):
            month, day = _month(m.group(2)), int(m.group(1))
        elif m := _MONTH_DAY.match(low):
            month, day = _month(m.group(1)), int(m.group(2))
        elif m := _ISO_DATE.match(low):
            month, day = int(m.group(2)), int(m.group(3))
            if not 1 <= month <= 12:
                month = None
        elif _SLASH_DATE.match(low):
            found.append((name, None))
            continue
        if month is None or not 1 <= day <= 31:
            continue
        abbr = _MONTHS[month - 1]
        stem = _DATE_SYMBOLS.get(abbr, (abbr.upper(), None))[0]
        found.append((name, f"{stem}{day}"))
    return found


def _date_names_note(genes: pd.Series, layout, source: str | None) -> str:
    """A note on the gene names :func:`excel_date_names` finds ("" when none), naming the file they came from."""
    found = excel_date_names(genes.dropna().unique())
    if not found:
        return ""
    renames = {"SEPT": "SEPTIN", "MARCH": "MARCHF"}
    said, current = [], []
    for name, symbol in found[:8]:
        stem = symbol.rstrip("0123456789") if symbol else ""
        new = (f"{renames[stem]}{symbol[len(stem):]}" if stem in renames
               else "DELEC1" if symbol == "DEC1" else None)
        said.append(f"'{name}'" + (f" ({symbol}: {new} now)" if new else f" ({symbol}?)" if symbol else ""))
        if new and new not in current:
            current.append(new)
    more = f" and {len(found) - 8} more" if len(found) > 8 else ""
    where = (layout.source or "the layout") if layout is not None else source
    example = f" ({', '.join(current[:2])}: Excel leaves them alone)" if current else " (Excel leaves them alone)"
    return _said(where, f"{len(found)} gene name(s) look like dates Excel made of gene symbols: {', '.join(said)}"
                        f"{more}; they are used as written: write HGNC's current symbols in the map{example} or "
                        f"export it again as text")


def _unread_wells_notes(read_wells: pd.DataFrame, layout, data_file) -> list[str]:
    """Notes on layout wells without data.

    Per data plate, one on the wells its layout lists (not empty, not excluded) that the data holds no
    row for; and one on the layout plates (of several) no data plate takes (a library plate not read).
    """
    from ferroscreen.plate.wells import well_to_rowcol

    lt = layout.table
    used = lt["role"].astype(str) != "empty"
    if "exclude" in lt.columns:
        used &= np.array(exclusion_reasons(lt["exclude"])) == ""
    listed = {str(pid): set(g["well"]) for pid, g in lt[used].groupby(lt.loc[used, "plate_id"].astype(str))}
    notes = []
    for plate, g in read_wells.groupby("plate", sort=True):
        pid = layout.plate_ids[0] if len(layout.plate_ids) == 1 else layout.plate_id_for(str(plate))
        want = listed.get(str(pid), set())
        lost = sorted(want - set(g["well"]), key=well_to_rowcol)
        if lost:
            shown = ", ".join(lost[:6]) + (f" and {len(lost) - 6} more" if len(lost) > 6 else "")
            notes.append(_said(data_file(plate), f"plate {plate} holds {len(want) - len(lost)} of the {len(want)} "
                                                 f"wells its layout lists; the other {len(lost)} ({shown}) have no "
                                                 f"row in the data and take no part"))
    if len(layout.plate_ids) > 1:
        taken = {layout.plate_id_for(str(p)) for p in read_wells["plate"].unique()}
        unread = [pid for pid in layout.plate_ids if pid not in taken]
        if unread:
            shown = ", ".join(unread[:6]) + (f" and {len(unread) - 6} more" if len(unread) > 6 else "")
            notes.append(f"{layout.source or 'layout'}: {len(unread)} of its {len(layout.plate_ids)} plates have no "
                         f"data ({shown}); their wells take no part")
    return notes


def _controls_not_read(layout, plate: str, read_wells: pd.DataFrame, control_names: tuple[str, ...],
                       roles_given: bool = False) -> str:
    """Why data plate ``plate`` has no non-targeting well left though its layout lists some ("" when it lists none).

    The layout's control wells (:func:`_is_control`, names counting unless ``roles_given`` and the plate has
    ``neg_ctrl`` wells; not role empty) the data holds no row for, and those it holds but that are excluded.
    ``read_wells``: the data's ``plate, well`` pairs.
    """
    if layout is None:
        return ""
    lt = layout.table
    pid = layout.plate_ids[0] if len(layout.plate_ids) == 1 else layout.plate_id_for(plate)
    mine = lt[(lt["plate_id"].astype(str) == str(pid)) & (lt["role"].astype(str) != "empty")]
    named_ok = not roles_given or not (mine["role"].astype(str) == "neg_ctrl").any()
    listed = mine.loc[_is_control(pd.DataFrame({"gene": mine["compound"], "role": mine["role"]}), control_names,
                                  named_ok).to_numpy(bool), "well"]
    if listed.empty:
        return ""
    held = set(read_wells.loc[read_wells["plate"].astype(str) == plate, "well"])
    absent = [w for w in listed if w not in held]
    excluded = [w for w in listed if w in held]

    def shown(wells: list[str]) -> str:
        return ", ".join(wells[:6]) + (f" and {len(wells) - 6} more" if len(wells) > 6 else "")

    said = f"the layout's {len(listed)} non-targeting well(s) "
    if not excluded:
        return said + f"({shown(absent)}) have no rows in the data"
    if not absent:
        return said + f"({shown(excluded)}) are all excluded"
    return said + f"have no rows in the data ({shown(absent)}) or are excluded ({shown(excluded)})"


def _over_start(ends: pd.DataFrame, starts: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """``ends`` with each readout column divided by the same well's reading in ``starts`` (NaN where not above 0)."""
    keys = [k for k in ("plate", "well") if k in ends.columns]
    start = starts.set_index(keys)[cols].apply(pd.to_numeric, errors="coerce")
    ends = ends.copy()
    index = pd.MultiIndex.from_frame(ends[keys]) if len(keys) > 1 else pd.Index(ends[keys[0]])
    for col in cols:
        base = start[col].reindex(index).to_numpy(float)
        ok = np.isfinite(base) & (base > 0)
        end = pd.to_numeric(ends[col], errors="coerce").to_numpy(float)
        ends[col] = np.where(ok, end / np.where(ok, base, 1), np.nan)
    return ends


def _listed(wells: pd.DataFrame, most: int = 6) -> str:
    """``P1 A01, P1 B02 and 4 more``: the first ``most`` plate-well pairs of ``wells``."""
    shown = ", ".join(f"{p} {w}" for p, w in wells[["plate", "well"]].head(most).itertuples(index=False))
    return shown + (f" and {len(wells) - most} more" if len(wells) > most else "")


def _is_control(df: pd.DataFrame, control_names: tuple[str, ...], named_ok=True) -> pd.Series:
    """Non-targeting wells: role ``neg_ctrl``, or where ``named_ok`` (a bool, or one per row) a non-targeting name.

    A name in ``control_names``, or a library's own: libraries write ``Non-Targeting Pool``, ``ON-TARGETplus
    Non-targeting Pool``, ``siNT``, ``scrambled siRNA``, ``AllStars Negative Control``, ``Silencer Select Negative
    Control No. 1``, ``NT1`` (:func:`is_non_targeting_name`). ``named_ok`` is False where the role a well has was
    written and its plate has ``neg_ctrl`` wells (:func:`_named_controls_ok`): an explicit ``sample`` stays one.
    """
    by_name = _named_non_targeting(df["gene"], control_names)
    return (df["role"].astype(str) == "neg_ctrl") | (by_name & named_ok)


def _named_non_targeting(genes: pd.Series, control_names: tuple[str, ...]) -> pd.Series:
    """Whether each gene name says a non-targeting control (``control_names`` or :func:`is_neg_ctrl_name`)."""
    names = {n.lower() for n in control_names}
    genes = genes.fillna("").astype(str).str.strip()
    known = {g: _says_neg_ctrl(g) for g in genes.unique()}
    return genes.str.lower().isin(names) | genes.map(known).astype(bool)


@functools.lru_cache(maxsize=1 << 17)  # a genome-wide library's names, asked of its map and of its data
def _says_neg_ctrl(name: str) -> bool:
    """:func:`is_neg_ctrl_name` of ``name``, remembered."""
    return is_neg_ctrl_name(name)


def _layout_gives_roles(layout) -> bool:
    """Whether ``layout`` wrote its wells' roles: some well's role is not the one its name and dose alone give.

    The layout readers give a well without a role the one its compound says (``Non-targeting`` undosed:
    ``neg_ctrl``; a gene: ``sample``), so a layout whose every role is that one (a library map ``plate, well,
    gene``) may have had none written; one with a ``pos_ctrl``, a non-targeting name written ``sample``, or a
    dosed control written ``neg_ctrl`` had a role column. Of the wells written ``sample`` only those with a
    control's name or a rescue agent are looked at (a gene's well is a sample either way).
    """
    from ferroscreen.plate.layout_records import LayoutRecord, record_role

    lt = layout.table
    dosed = pd.Series(False, index=lt.index)
    for col in ("concentration", "concentration_raw"):
        if col in lt.columns:
            dosed |= pd.to_numeric(lt[col], errors="coerce").fillna(0) > 0
    agent = lt["rescue_agent"].fillna("").astype(str) if "rescue_agent" in lt.columns else pd.Series("", lt.index)
    keys = pd.DataFrame({"compound": lt["compound"].fillna("").astype(str).str.strip(), "dosed": dosed,
                         "agent": agent, "role": lt["role"].astype(str)}).drop_duplicates()
    sample = keys["role"] == "sample"  # a gene's well: written otherwise only as a control's name or with an agent
    named = keys.loc[sample, "compound"].map(_says_neg_ctrl).astype(bool) | (keys.loc[sample, "agent"] != "")
    keys = pd.concat([keys[~sample], keys[sample][named]])  # vehicle or blank names written sample: not looked at
    record = LayoutRecord({}, lambda _column: "", "", "")
    for compound, is_dosed, rescue, role in keys.itertuples(index=False):
        said = record_role(record, {"role": "", "compound": compound, "concentration": "1" if is_dosed else "",
                                    "rescue_agent": rescue})
        if said != role:
            return True
    return False


def _named_controls_ok(df: pd.DataFrame, layout, table_roles: bool, no_role: pd.Series
                       ) -> tuple[pd.Series, pd.Series]:
    """Per well of ``df`` (data merged with the layout): whether a non-targeting name may make it a control; role given.

    A name may where the role was not written (a library map without roles, :func:`_layout_gives_roles`; a wells
    table without a ``role`` column, ``table_roles`` False, or an empty role cell, ``no_role``), and on a plate
    none of whose wells (in the layout, whether the data holds them or not) has role ``neg_ctrl``: there the
    names are the only controls there are. Elsewhere the written role stands.
    """
    plates = df["plate"].astype(str)
    if layout is not None:
        lt = layout.table
        marked_ids = set(lt.loc[lt["role"].astype(str) == "neg_ctrl", "plate_id"].astype(str))
        pid = {p: str(layout.plate_ids[0] if len(layout.plate_ids) == 1 else layout.plate_id_for(p))
               for p in plates.unique()}
        marked = plates.map(lambda p: pid[p] in marked_ids)
        given = pd.Series(_layout_gives_roles(layout), index=df.index)
    else:
        marked = plates.isin(set(plates[df["role"].astype(str) == "neg_ctrl"]))
        given = ~no_role if table_roles else pd.Series(False, index=df.index)
    return ~given | ~marked, given


def _named_roles_note(df: pd.DataFrame, named_ok: pd.Series, given: pd.Series, control_names: tuple[str, ...],
                      where) -> str:
    """A note on the wells written ``sample`` yet named like non-targeting controls ("" when none).

    Those the role keeps sample wells (their plate has ``neg_ctrl`` wells), and those taken as controls all the
    same on plates whose roles name no ``neg_ctrl`` well (the names are all there is to go by):
    :func:`_named_controls_ok` gives ``named_ok`` and ``given``.
    """
    named = (df["role"].astype(str) == "sample") & _named_non_targeting(df["gene"], control_names)
    kept, taken = named & ~named_ok, named & named_ok & given
    said = []
    if kept.any():
        said.append(f"{int(kept.sum())} well(s) of role sample are named like non-targeting controls "
                    f"({_names_counted(df.loc[kept, 'gene'])}): they are sample wells, as the roles say (give them "
                    f"role neg_ctrl to normalise by them)")
    if taken.any():
        said.append(f"plate(s) {', '.join(sorted(set(df.loc[taken, 'plate'].astype(str))))}: the roles name no "
                    f"neg_ctrl well, so the wells named like non-targeting controls are taken as them, their role "
                    f"sample aside ({_names_counted(df.loc[taken, 'gene'])}); give the control wells role neg_ctrl")
    return _said(where, "; ".join(said)) if said else ""


def _names_counted(genes: pd.Series, most: int = 4) -> str:
    """``Non-targeting (2), LUC (5)``: the names and their wells, the first ``most`` of them."""
    counts = genes.fillna("").astype(str).str.strip().value_counts(sort=False)
    said = ", ".join(f"{n} ({k})" for n, k in counts.head(most).items())
    return said + (f" and {len(counts) - most} more" if len(counts) > most else "")


#: An siRNA against a reporter gene: ``siLuc``, ``siGL2``/``siGL3`` (firefly luciferase), ``GFP siRNA``, ``siEGFP``.
def _reporter_controls_note(df: pd.DataFrame) -> str:
    """A note on the control wells named as siRNAs against luciferase or GFP ("" when none).

    They are read as non-targeting (:func:`~ferroscreen.plate.control_names.is_non_targeting_name`), as labs
    use them in cells without the reporter; in cells that carry it they knock it down, which the data cannot tell.
    """
    names = df["gene"].fillna("").astype(str).str.strip()
    reporter = df["is_control"].to_numpy(bool) & names.map(is_reporter_control_name).to_numpy(bool)
    if not reporter.any():
        return ""
    counts = names[reporter].value_counts(sort=False)
    said = ", ".join(f"{n} ({k})" for n, k in counts.items())
    return (f"wells named {said} are taken as non-targeting controls: an siRNA against luciferase or GFP targets "
            f"nothing in cells without that reporter gene; if the cells carry it, give those wells role empty "
            f"in the layout (they then take no part)")


#: What :func:`call_hits`'s thresholds must be: name -> (whether a value is one, what one is).
_ARGUMENTS = {
    "count_threshold": (lambda v: 0 < v <= 1, "a fold change in (0, 1]: the share of the controls' count (or "
                                              "viability) below which a gene is a hit, 0.5 for half; not a percent"),
    "lethal_threshold": (lambda v: 0 < v <= 1, "a fold change in (0, 1]: the share of the controls' count (or "
                                               "viability) below which a hit is lethal, 0.1 for a tenth"),
    "area_threshold": (lambda v: v >= 1, "a fold change of 1 or more: the nuclear area over the controls' above "
                                         "which a gene is a hit, 1.7 for 70 % larger"),
    "z_threshold": (lambda v: v >= 0, "a |z| of 0 or more"),
    "fdr": (lambda v: 0 < v <= 1, "a false discovery rate in (0, 1], 0.05 for 5 %"),  # 1: every q below 1 passes
}


class ThresholdError(AnalysisInputError):
    """A threshold of :func:`call_hits` that is no number of its kind: about an argument, so naming no file."""


def _check_arguments(**values) -> None:
    """Refuse a threshold of :func:`call_hits` that is no number of its kind (:data:`_ARGUMENTS`).

    Raises:
        ThresholdError: One line naming the argument, its value and what it takes (no file).
    """
    for name, value in values.items():
        ok, said = _ARGUMENTS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ThresholdError(f"{name} {value!r} is not a number; it is {said}")
        if not (np.isfinite(value) and ok(float(value))):
            raise ThresholdError(f"{name} {float(value):g} is not {said}")


def _table_roles(wells: pd.DataFrame, line, source) -> pd.Series:
    """A wells table's own ``role`` column read as a layout file's role cells are read.

    The rules are the layout readers' (:mod:`ferroscreen.plate.layout_records`): any letter case, the spellings
    labs write (``Sample``, ``NC``, ``Negative control``, ``Positive``, ``treatment``, ``blank``), a bare
    ``control`` as ``neg_ctrl`` on a non-targeting gene; an empty cell stays empty (:func:`call_hits` takes such a
    well as a sample well and says so). ``line(i)`` names row ``i``.

    Raises:
        AnalysisInputError: One line naming each role that is none of these (with the first row holding it and
            how many rows do) and the roles there are.
    """
    from ferroscreen.errors import LayoutError
    from ferroscreen.plate.layout_records import ROLES_SAID, LayoutRecord, UnsaidControl, record_role

    gene_col = next((c for c in ("gene", "compound") if c in wells.columns), None)
    genes = wells[gene_col] if gene_col else pd.Series("", index=wells.index)
    record = LayoutRecord({}, lambda _column: "", "", "")
    read: dict[tuple[str, str], str | None] = {}  # (cell, gene) -> role (None: unknown, "?": a control not said)
    out, bad = [], {}
    for i, (value, gene) in enumerate(zip(wells["role"], genes, strict=True)):
        text = "" if pd.isna(value) else str(value).strip()
        if not text:
            out.append(np.nan)
            continue
        key = (text, "" if pd.isna(gene) else str(gene).strip())
        if key not in read:
            try:
                read[key] = record_role(record, {"role": key[0], "compound": key[1]})
            except UnsaidControl:
                read[key] = "?"
            except LayoutError:
                read[key] = None
        if read[key] in (None, "?"):
            rows, unsaid = bad.setdefault(text, ([], {}))
            rows.append(i)
            if read[key] == "?":
                unsaid[key[1]] = None
        out.append(read[key])
    if bad:
        said = []
        for text, (rows, unsaid) in list(bad.items())[:5]:
            where = line(rows[0]) + (f" and {len(rows) - 1} more row(s)" if len(rows) > 1 else "")
            if unsaid:  # a bare 'control': neg_ctrl on a non-targeting gene, else not said which
                names = list(unsaid)
                shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
                where += f"; on gene(s) {shown}, no non-targeting name: give neg_ctrl or pos_ctrl"
            said.append(f"'{text}' ({where})")
        more = f"; and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise AnalysisInputError(f"{source or 'wells table'}: column 'role': unknown role(s) {'; '.join(said)}{more}; "
                                 f"a role is {ROLES_SAID}")
    return pd.Series(out, index=wells.index, dtype=object)


def call_hits(
    wells: pd.DataFrame,
    layout=None,
    count_col: str | None = None,
    area_col: str | None = None,
    count_threshold: float = 0.5,
    area_threshold: float = 1.7,
    lethal_threshold: float = 0.1,
    z_threshold: float = 3.0,
    fdr: float = 0.05,
    use_bscore: bool = False,
    control_names: tuple[str, ...] = NON_TARGETING_NAMES,
    min_samples_for_z: int = 20,
    min_controls_for_z: int = 3,
    signal_col: str | None = None,
    from_start: bool = False,
    source: str | None = None,
) -> HitResult:
    """Normalise wells per plate and call gene hits (see the module docstring).

    Args:
        wells: One row per well (``plate``, ``well``, readout columns; ``gene``
            and ``role`` unless a layout gives them (a role read as a layout's: any case, the spellings labs
            write, :func:`_table_roles`; a well whose ``role`` is empty is a sample well,
            said in the warnings); ``qc_flags`` optional; wells
            whose ``exclude`` (table or layout, :func:`~ferroscreen.plate.exclusion_reasons`)
            gives a reason take no part).
        layout: :class:`~ferroscreen.plate.PlateLayout` with the gene per well
            in ``compound``, ``role`` and ``replicate``.
        count_col: Nuclei count column; default ``nuclei_per_field`` when the
            table has it (``ferroscreen segment``'s wells: unbiased when a field
            failed; the same fold changes as the total otherwise), else ``n_nuclei``.
        area_col: Nuclear area column; default ``area_mean``, and without one the count is the
            only readout (said in the warnings).
        count_threshold: Count (or viability) fold change below which a gene is a hit.
        area_threshold: Area fold change above which a gene is a hit.
        lethal_threshold: Count (or viability) fold change below which a hit is labelled lethal.
        z_threshold: Minimum ``|median z|`` of an FDR call.
        fdr: BH q-value cut-off.
        use_bscore: Use B-scores instead of robust z for the z/FDR calls.
        control_names: Gene names treated as non-targeting controls.
        min_samples_for_z: Fewer sample wells on a plate -> z against its controls (:func:`control_t_z`), and
            no B-score for it (robust z instead).
        min_controls_for_z: Fewer non-targeting wells with a reading on a plate scored against its controls ->
            no z, p or q from that plate (a warning says so; the threshold calls stand).
        signal_col: A viability signal column; when given it is the one readout (``viability``)
            and ``count_col``/``area_col`` are not used.
        from_start: For a time course, each well's readouts at the last time over its own at the
            first (IncuCyte's "normalize to time 0"), so differences in seeding cancel; a well
            without a positive first reading gets none.
        source: The input's name, for notes and errors on the data (a ``_where`` column, ``<file> line <n>``,
            names each row's own file instead).

    Returns:
        The result; its ``notes`` say what the layout and data made of each other: data wells the layout
        has no row for (role empty), gene names Excel turned into dates (:func:`excel_date_names`),
        per plate the wells its layout lists that the data does not hold, each plate's replicate when the
        plates' names or order gave it, controls named as siRNAs against luciferase or GFP, and the wells
        holding too few nuclei for their area (``few_nuclei``), or that the table gives no per-well count to
        judge that by.

    Raises:
        ThresholdError: A threshold that is no number of its kind (``count_threshold``, ``lethal_threshold``
            and ``fdr`` in (0, 1], ``area_threshold`` 1 or more, ``z_threshold`` 0 or more), naming the argument
            and no file (an :class:`~ferroscreen.analysis.inputs.AnalysisInputError`).
        AnalysisInputError: Without a layout, a ``role`` the layout readers would refuse.
        FerroscreenError: Missing columns; a row without a plate (an ``AnalysisInputError`` naming the rows);
            a well with two rows (tables without a ``plate`` column are one plate: said, with the fix);
            a plate most of whose wells the layout does not list; a plate without control wells in the layout
            or table (naming that file and the plate's most frequent names); a readout no plate's controls read
            (median 0, or every plate's control rows missing from the data).
    """
    from ferroscreen.plate.wells import well_to_rowcol

    _check_arguments(count_threshold=count_threshold, lethal_threshold=lethal_threshold,
                     area_threshold=area_threshold, z_threshold=z_threshold, fdr=fdr)
    wells = wells.reset_index(drop=True)  # rows are matched by index below: two plates' tables concatenated repeat it
    area_note = ""
    if signal_col is not None:
        readouts = {"viability": signal_col}
    else:
        if count_col is None:
            count_col = "nuclei_per_field" if "nuclei_per_field" in wells.columns else "n_nuclei"
        readouts = {"count": count_col, "area": area_col or "area_mean"}
        if area_col is None and "area_mean" not in wells.columns:
            readouts.pop("area")
            area_note = "no nuclear area column (area_mean): genes are called on the nuclei count alone"

    def line(i: int) -> str:  # where row i of the table came from
        return str(wells["_where"].iloc[i]) if "_where" in wells.columns else f"row {i + 2}"

    for col in ("well", *readouts.values()):
        if col not in wells.columns:
            hint = ("; for a viability signal name its column with --signal-col"
                    if signal_col is None and col == count_col and count_col == "n_nuclei" else "")
            shown = [c for c in map(str, wells.columns) if c != "_where"]
            raise FerroscreenError(f"wells table has no column '{col}' (have {', '.join(shown)}){hint}")
    for col in readouts.values():
        values = pd.to_numeric(wells[col], errors="coerce")
        bad = (values.isna() & wells[col].notna()) | np.isinf(values)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise FerroscreenError(f"column '{col}' {line(i)}: {wells[col].iloc[i]!r} is not a number")
        if (values < 0).any() and signal_col is None:  # a blank-subtracted signal reads below 0 in dead wells
            i = int(np.flatnonzero((values < 0).to_numpy())[0])
            raise FerroscreenError(f"column '{col}' {line(i)}: {values.iloc[i]:g} is negative")
    from ferroscreen.analysis.inputs import canonical_wells, refuse_empty

    if layout is None and "role" in wells.columns:  # a layout's roles are read already; the table's, here
        wells = wells.assign(role=_table_roles(wells, line, source))
    if "plate" in wells.columns:
        refuse_empty(wells, "plate", source or "wells table", named="well", hint=": give every well its plate",
                     line=line)
    wells = wells.assign(well=canonical_wells(wells["well"]).to_numpy())  # A1 = A01 from here on
    keys = [k for k in ("plate", "well", "time_h") if k in wells.columns]
    dup = wells.duplicated(keys, keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        where = " ".join(str(wells[k].iloc[i]) for k in keys if k != "time_h")
        at = f" at {wells['time_h'].iloc[i]} h" if "time_h" in keys else ""
        group = wells.groupby(keys, dropna=False, sort=False).ngroup()
        n_rows = int((group == group.iloc[i]).sum())  # the rows of this one well (at this time)
        hint = ("; this table has a row per field (a 'field' column: segment's fields.csv): give the wells.csv "
                "beside it, one row per well" if "field" in wells.columns else "")
        if not hint and "plate" not in wells.columns:
            files = (list(dict.fromkeys(str(w).rsplit(" line ", 1)[0] for w in wells["_where"]))
                     if "_where" in wells.columns else [])
            tables = f"these {len(files)} tables have" if len(files) > 1 else "the table has"
            hint = (f"; {tables} no 'plate' column, so all their rows are read as one plate: add a 'plate' column "
                    f"naming each row's plate (each replicate plate its own name, such as LIB01_rep1, LIB01_rep2)")
        raise FerroscreenError(f"well {where}{at} has {n_rows} rows (one expected; {line(i)}){hint}")
    plate_of = wells["plate"].astype(str) if "plate" in wells.columns else pd.Series(UNNAMED_PLATE, index=wells.index)
    read_wells = pd.DataFrame({"plate": plate_of, "well": wells["well"]}).drop_duplicates()  # at any time point
    plate_files: dict[str, str] = {}
    if "_where" in wells.columns:
        firsts = wells["_where"].astype(str).groupby(plate_of).first()
        plate_files = {p: w.rsplit(" line ", 1)[0] for p, w in firsts.items()}

    def data_file(plate) -> str | None:  # the file holding a data plate
        return plate_files.get(str(plate), source)
    time_note = ""
    if "time_h" in wells.columns and wells["time_h"].notna().any():  # an all-empty column: endpoint reads
        t = pd.to_numeric(wells["time_h"], errors="coerce")
        bad = ~np.isfinite(t.to_numpy(float))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            value = wells["time_h"].iloc[i]
            said = "empty" if pd.isna(value) else repr(str(value))
            raise FerroscreenError(f"column 'time_h' {line(i)}: {said}, not a time in hours")
    else:
        t = pd.Series(0.0, index=wells.index)
    if t.nunique() > 1:
        plates = wells["plate"] if "plate" in wells.columns else pd.Series(0, index=wells.index)
        by_plate = t.groupby(plates)
        last, first = by_plate.transform("max"), by_plate.transform("min")
        n_times = int(t.nunique())
        if from_start and (flat := sorted(set(plates[last == first].astype(str)))):
            raise FerroscreenError(f"plate(s) {', '.join(flat)} hold one time point; --from-start needs a time "
                                   f"course on every plate")
        starts = wells[t == first]
        keyed = [k for k in ("plate", "well") if k in wells.columns]
        ended = wells[t == last]
        missing = wells.drop_duplicates(keyed).merge(ended[keyed], on=keyed, how="left", indicator=True)
        missing = missing[missing["_merge"] == "left_only"]
        wells = ended.copy()
        time_note = (f"the wells table holds {n_times} time points; each plate's last "
                     f"({', '.join(f'{v:g} h' for v in sorted(set(last)))}) is used")
        if len(missing):
            shown = ", ".join(" ".join(str(v) for v in r) for r in missing[keyed].head(6).itertuples(index=False))
            time_note += (f"; {len(missing)} well(s) not read at it ({shown}{' ...' if len(missing) > 6 else ''}) "
                          f"take no part")
        if from_start:
            wells = _over_start(wells, starts, list(dict.fromkeys(readouts.values())))
            time_note += (f"; each well over its first reading ({', '.join(f'{v:g} h' for v in sorted(set(first)))}; "
                          f"a well without a positive first reading has none)")
    elif from_start:
        raise FerroscreenError("from the start (--from-start) needs a time course; the input holds one time point")
    df, unlisted_note = _merge_layout(wells.drop(columns="_where", errors="ignore"), layout)
    no_role = df["role"].isna()  # only a wells table's own role column leaves one empty (the layout's: role empty)
    role_note = ""
    if no_role.any():
        role_note = (f"{int(no_role.sum())} well(s) have no role ({_listed(df[no_role])}) and are taken as sample "
                     f"wells (non-targeting by their gene's name); give their role in column 'role'")
        df["role"] = df["role"].astype(object).where(~no_role, "sample")
    named_ok, given = _named_controls_ok(df, layout, "role" in wells.columns, no_role)
    df, replicate_note = _assign_replicates(df, layout, "replicate" in wells.columns)
    pos_marked = set(df.loc[df["role"].astype(str) == "pos_ctrl", "plate"].astype(str))
    name_note = layout.other_name_note(df["plate"]) if layout is not None else None
    notes = [n for n in (unlisted_note, _date_names_note(df["gene"], layout, source), replicate_note) if n]
    if layout is not None:
        notes += _unread_wells_notes(read_wells, layout, data_file)
    df["exclude"] = exclusion_reasons(df["exclude"]) if "exclude" in df.columns else ""
    left_out = exclusion_note(df[df["exclude"] != ""])
    df = df[(df["role"].astype(str) != "empty") & (df["exclude"] == "")].copy()
    if df.empty:
        raise FerroscreenError("no well left to call: every well is empty (role empty) or excluded")
    named_ok, given = named_ok.loc[df.index], given.loc[df.index]
    df["is_control"] = _is_control(df, control_names, named_ok)
    roles_note = _named_roles_note(df, named_ok, given, control_names,
                                   (layout.source or "the layout") if layout is not None else source)
    reporter_note = _reporter_controls_note(df)
    unnamed = (df["role"].astype(str) == "sample") & ~df["is_control"] & (
        df["gene"].isna() | (df["gene"].astype(str).str.strip() == ""))
    unnamed_note = ""
    if unnamed.any() and not ((df["role"].astype(str) == "sample") & ~df["is_control"] & ~unnamed).any():
        where = layout.source if layout is not None and layout.source is not None else source or "wells table"
        raise FerroscreenError(f"{where}: no sample well names a gene ({int(unnamed.sum())} sample well(s), e.g. "
                               f"{_listed(df[unnamed])}): give a 'gene' (or compound) column with each well's gene")
    if unnamed.any():
        unnamed_note = (f"{int(unnamed.sum())} sample well(s) name no gene ({_listed(df[unnamed])}) and take no "
                        f"part; give their gene in the layout, or role empty")
        df = df[~unnamed].copy()
    rc = [well_to_rowcol(w) for w in df["well"]]
    df["row"] = [r for r, _ in rc]
    df["col"] = [c for _, c in rc]
    if "qc_flags" not in df.columns:
        df["qc_flags"] = ""
    df["qc_flags"] = df["qc_flags"].fillna("").astype(str)
    notes += [n for n in (roles_note, reporter_note) if n]
    msgs: list[str] = [m for m in (name_note, area_note, time_note, role_note, unnamed_note) if m]
    for col in dict.fromkeys(readouts.values()):
        unread = ~np.isfinite(pd.to_numeric(df[col], errors="coerce").to_numpy(float))
        if unread.any():
            msgs.append(f"{int(unread.sum())} well(s) hold no {col} reading ({_listed(df[unread])}) and take no part "
                        f"in its calls")
    thin = pd.Series(False, index=df.index)
    if "area" in readouts:  # a mean over a few nuclei is no reading of their size
        measured = "n_area_nuclei" in df.columns  # segment's: the nuclei its area is over (those off the border)
        few = _few_measured(df) if measured else few_nuclei(df, readouts["count"])
        if few is None:
            notes.append(_said(source, few_nuclei_unknown_said(readouts["count"])))
        else:
            thin[:] = few
            thin, kept = _normalisers_kept(df, thin, readouts["area"])
            if kept:
                notes.append(_said(source, normalisers_kept_said(kept, readouts["area"])))
        if thin.any():
            df.loc[thin, "qc_flags"] = [f"{f};few_nuclei" if f else "few_nuclei" for f in df.loc[thin, "qc_flags"]]
            which = " measured (n_area_nuclei: those off the image border)" if measured else ""
            notes.append(_said(source, f"{int(thin.sum())} well(s) hold fewer than {MIN_NUCLEI_FOR_MORPHOLOGY} "
                                       f"nuclei{which} ({_listed(df[thin])}): too few to measure their size, their "
                                       f"{readouts['area']} takes no part in the calls (flag few_nuclei)"))
    parts = []
    nulls: dict[tuple[str, str], _PlateNull] = {}  # (plate, readout) -> what its wells' scores are measured against
    silent: dict[str, list[tuple[str, str]]] = {}  # readout -> (plate, why) whose controls give nothing to normalise by
    for plate, g in df.groupby("plate", sort=True):
        g = g.copy()
        ctrl = g["is_control"]
        unread = "" if ctrl.any() else _controls_not_read(layout, str(plate), read_wells, control_names,
                                                          bool(given.any()))
        if not ctrl.any() and not unread:  # the layout lists none: a wrong map (its lost controls: no signal below)
            where = _layout_file(layout, plate) if layout is not None else data_file(plate)
            raise FerroscreenError(_said(
                where, f"plate {plate}: no non-targeting control wells (role neg_ctrl or a gene named like "
                       f"'non-targeting', 'NT', 'negative control', 'scrambled'); {_frequent_names(g['gene'])}; give "
                       f"the control wells role neg_ctrl in the layout"))
        sample = ~ctrl & (g["role"].astype(str) == "sample")
        n_sample = int(sample.sum())
        on_controls = n_sample < min_samples_for_z  # too few for the plate's own null: the controls are it
        n_read_ctrl, no_z, no_b, no_signal = {}, {}, {}, {}
        for key, col in readouts.items():
            x = g[col].astype(float)
            if key == "area":
                x = x.where(~thin[g.index])
            ref = float(np.nanmedian(x[ctrl])) if np.isfinite(x[ctrl]).any() else np.nan
            if not ref > 0:  # nothing to normalise by: the readout of this plate takes no part
                why = unread or (f"median {col} of control wells is {ref:g} (not above 0)" if np.isfinite(ref)
                                 else f"no non-targeting control well has a reading of {col}")
                silent.setdefault(key, []).append((str(plate), why))
                no_signal.setdefault(why, []).append(key)
                for name in ("fc", "log2fc", "z") + (("b",) if use_bscore else ()):
                    g[f"{name}_{key}"] = np.nan
                nulls[(str(plate), key)] = _PlateNull("none")
                continue
            g[f"fc_{key}"] = x / ref
            with np.errstate(divide="ignore"):
                lfc = np.log2(np.clip(x / ref, 1e-3, None))
            g[f"log2fc_{key}"] = lfc
            if on_controls:
                c = lfc[ctrl].to_numpy(float)
                c = c[np.isfinite(c)]
                n_read_ctrl[key] = c.size
                null = _PlateNull("controls", float(np.mean(c)) if c.size else np.nan, _sd(c), c.size)
                if c.size < min_controls_for_z:
                    no_z[key] = (f"only {c.size} non-targeting well(s) with a {col} reading (z against the "
                                 f"controls takes {min_controls_for_z} or more)")
                elif not null.sd > 0:
                    no_z[key] = (f"its {c.size} non-targeting wells all read the same {col} "
                                 f"({float(np.nanmedian(x[ctrl])):g}; a saturated or capped readout?), so their "
                                 f"spread is 0")
                z = control_t_z(lfc.to_numpy(float), c) if key not in no_z else np.full(len(g), np.nan)
            else:
                excess = np.nan
                if key == "count" and not from_start:  # counts: p-values on their symmetrising power
                    counts = nuclei_in_well(g, col)
                    excess = count_excess((x if counts is None else pd.Series(counts, index=g.index))[sample])
                null = _PlateNull("z", n=int(np.isfinite(lfc[sample]).sum()), excess=excess)
                z = robust_z(lfc.to_numpy(float), lfc[sample].to_numpy(float))
                if np.isfinite(lfc[sample]).any() and not np.isfinite(z).any():
                    no_z[key] = (f"half or more of its {n_sample} sample wells share one {col} reading (the "
                                 f"MAD of their log2 fold changes is 0; a saturated or capped readout?)")
            g[f"z_{key}"] = z
            if use_bscore:
                b = pd.Series(np.nan, index=g.index)
                n_read = int(np.isfinite(lfc[sample]).sum())
                if n_read < min_samples_for_z:
                    no_b[key] = (f"{n_read} sample well(s) with a {col} reading, fewer than the {min_samples_for_z} "
                                 f"that make a plate its own null")
                else:
                    b[sample], no_b[key] = _bscore(lfc[sample], g.loc[sample, "row"], g.loc[sample, "col"], 10)
                g[f"b_{key}"] = b
                if not no_b[key]:
                    null = _PlateNull("b")
            nulls[(str(plate), key)] = null
        for why, keys_ in no_signal.items():
            msgs.append(no_control_signal_said(plate, _readouts_said(keys_, readouts), why))
        no_b = {k: v for k, v in no_b.items() if v}
        for why, keys_ in _grouped(no_b).items():
            msgs.append(f"plate {plate}{_readouts_said(keys_, readouts)}: no B-score: {why}; its wells are scored "
                        f"by z instead")
        few = f"{n_sample} sample well(s), fewer than the {min_samples_for_z} that make a plate its own null"
        scored = {k: n for k, n in n_read_ctrl.items() if k not in no_z}
        if scored:
            counts = sorted(set(scored.values()))
            if len(counts) == 1:
                said = f"its {counts[0]} non-targeting wells alone"
                df_said = f"{counts[0] - 1} degree{'s' if counts[0] != 2 else ''} of freedom"
            else:
                said = "its non-targeting wells alone (" + ", ".join(
                    f"{n} with a {readouts[k]} reading" for k, n in scored.items()) + ")"
                df_said = "their number less one degrees of freedom"
            msgs.append(f"plate {plate}{_readouts_said(list(scored), readouts)}: {few}: z against {said} (Student's "
                        f"t on their mean and SD, {df_said}); with so few controls only strong effects reach the "
                        f"FDR cut")
        for why, keys_ in _grouped(no_z).items():
            why = f"{few}, and {why}" if on_controls else why
            msgs.append(f"plate {plate}{_readouts_said(keys_, readouts)}: {why}: no z, p or q from this plate; its "
                        f"genes are called here by the fold-change thresholds alone")
        if use_bscore and len(no_b) < len(readouts):
            reasons = layout_runs_along_lines(
                g.loc[sample, "gene"],
                g.loc[sample, "row"],
                g.loc[sample, "col"],
                g.loc[sample, "concentration"] if "concentration" in g.columns else None,
            )
            if reasons:
                msgs.append(
                    f"plate {plate}: B-score removes row/column effects but "
                    f"{' and '.join(reasons)}; B-scores will erase real effects there"
                )
        parts.append(g)
    out = pd.concat(parts).sort_index()
    for key, plates in silent.items():  # a plate without control signal is left out; every plate: nothing to call
        if len(plates) == out["plate"].nunique():
            first, why = plates[0]
            raise FerroscreenError(_said(data_file(first), f"plate {first}: {why}" if len(plates) == 1 else (
                f"no plate's non-targeting wells give a reading of {readouts[key]} to normalise by (plate {first}: "
                f"{why}; the same on the other {len(plates) - 1})")))
    for m in msgs:
        warnings.warn(m, stacklevel=2)
    if left_out:  # said, not warned: the user asked for it
        msgs.insert(0, left_out + " (no part in normalisation or calls)")
    thresholds = {"down": count_threshold, "up": area_threshold}
    genes = _gene_table(out, nulls, list(readouts), thresholds, lethal_threshold, z_threshold, fdr)
    params = {
        "readouts": list(readouts),
        **{f"{key}_col": col for key, col in readouts.items()},
        "count_threshold": count_threshold,
        "area_threshold": area_threshold,
        "lethal_threshold": lethal_threshold,
        "z_threshold": z_threshold,
        "fdr": fdr,
        "score": "bscore" if use_bscore else "robust_z",
        "from_start": from_start,
        "n_plates": int(out["plate"].nunique()),
        "n_control_wells": int(out["is_control"].sum()),
        "min_samples_for_z": min_samples_for_z,
        "min_controls_for_z": min_controls_for_z,
        # what each plate's scores of each readout were measured against: z, b (B-score) or controls (Student's t)
        "plate_scores": {p: {k: null.score for (q, k), null in nulls.items() if q == p}
                         for p in sorted({q for q, _ in nulls})},
    }
    formats = plate_formats(read_wells, layout)  # each plate's own: a run may mix 96- and 384-well plates
    qc = control_qc(out, list(readouts), plate_format=formats)
    own = ("no_pos_ctrl", "no_control_signal", "controls_off", "edge_effect")  # no_pos_ctrl: a plate may have none
    for row in qc.itertuples(index=False):
        flags = row.flags.split(";")
        marked = str(row.plate) in pos_marked  # no_pos_ctrl where pos_ctrl wells are marked: none read, warned
        window = [f for f in flags if f and (f not in own or (f == "no_pos_ctrl" and marked))]
        if window:
            said = _z_prime_said(row, marked, layout is not None)
            msgs.append(f"plate {row.plate}, {row.readout}: {', '.join(window)} ({said}, CV of the "
                        f"non-targeting wells {row.cv_control:.2f})")
        if "controls_off" in flags:
            msgs.append(controls_off_said(row.plate, row.readout, row.median_sample_fc))
        if "edge_effect" in flags:
            on = out[out["plate"] == row.plate]
            lines = sample_checks(on, row.readout, formats.get(str(row.plate)))
            msgs.append(edge_effect_said(row.plate, row.readout, lines["edge_lines"], use_bscore))
    return HitResult(genes, out, replicate_concordance(out, lethal_threshold), msgs, params, qc, notes)


def _few_measured(df: pd.DataFrame) -> np.ndarray:
    """Wells whose area is over fewer than :data:`MIN_NUCLEI_FOR_MORPHOLOGY` nuclei (segment's ``n_area_nuclei``).

    ``segment`` measures a field's nuclear area on the nuclei off the image border (all of them where each touches
    it), so of 22 nuclei of which 8 touch it the area is over 14: the minimum counts those.
    """
    n = pd.to_numeric(df["n_area_nuclei"], errors="coerce").to_numpy(float)
    return np.isfinite(n) & (n < MIN_NUCLEI_FOR_MORPHOLOGY)


def _normalisers_kept(df: pd.DataFrame, thin: pd.Series, area_col: str) -> tuple[pd.Series, dict[str, int]]:
    """``thin`` less the control wells of each plate all of whose control wells with an area reading are thin.

    The controls are the plate's normaliser: the few-nuclei rule never takes all of them. Returns the new mask and
    ``{plate: number of control wells kept}``.
    """
    read = df["is_control"].astype(bool) & np.isfinite(pd.to_numeric(df[area_col], errors="coerce"))
    kept: dict[str, int] = {}
    thin = thin.copy()
    for plate, on in read.groupby(df["plate"].astype(str), sort=True):
        ctrl = on[on].index
        if len(ctrl) and thin[ctrl].all():
            thin[ctrl] = False
            kept[plate] = len(ctrl)
    return thin, kept


def _frequent_names(genes: pd.Series, most: int = 8) -> str:
    """``names on more than one well: NT (32), PLK1 (8); 340 others on one well each``: what a plate's wells hold."""
    names = genes.dropna().astype(str).str.strip()
    counts = names[names != ""].value_counts(sort=False).sort_values(ascending=False, kind="stable")
    if counts.empty:
        return "its wells name no gene"
    repeated = counts[counts > 1]
    if repeated.empty:
        shown = ", ".join(counts.index[:most])
        return f"its names, each on one well: {shown}" + (f" and {len(counts) - most} more" if len(counts) > most
                                                          else "")
    said = ", ".join(f"{n} ({k})" for n, k in repeated.head(most).items())
    more = f" and {len(repeated) - most} more" if len(repeated) > most else ""
    single = len(counts) - len(repeated)
    return f"names on more than one well: {said}{more}" + (f"; {single} others on one well each" if single else "")


def _z_prime_said(row, marked: bool = True, by_layout: bool = True) -> str:
    """``Z′ 0.45 against the pos_ctrl wells``, or why a :func:`control_qc` row has no Z′.

    ``marked``: whether any well of the plate has role ``pos_ctrl`` (in the layout, ``by_layout``, or the table).
    """
    if np.isfinite(row.z_prime):
        return f"Z′ {row.z_prime:.2f} against the pos_ctrl wells"
    if "inverted_window" in str(row.flags).split(";"):
        return ("Z′ not reported: the pos_ctrl wells read above the non-targeting wells, the two bands apart (SSMD "
                f"{row.ssmd:+.2f}), the wrong way for a lethal control: failed non-targeting wells or swapped roles?")
    if not marked:
        why = "the layout marks no pos_ctrl wells" if by_layout else "no well has role pos_ctrl"
    elif row.n_pos_ctrl < 2:
        why = ("no pos_ctrl well with a reading" if row.n_pos_ctrl == 0
               else "one pos_ctrl well with a reading; it takes two")
    elif row.n_control < 2:
        why = "fewer than two non-targeting wells with a reading"
    else:
        why = "the pos_ctrl and non-targeting wells have the same mean"
    return f"Z′ not computable ({why})"


def _said(where, text: str) -> str:
    """``text`` after the file it is about (as it is without one)."""
    return f"{where}: {text}" if where else text


def _grouped(reasons: dict[str, str]) -> dict[str, list[str]]:
    """``{readout: reason}`` -> ``{reason: [readouts]}``, in the readouts' order."""
    out: dict[str, list[str]] = {}
    for key, why in reasons.items():
        out.setdefault(why, []).append(key)
    return out


def _readouts_said(keys: list[str], readouts: dict[str, str]) -> str:
    """``, count`` naming the readouts a plate's message is about ("" when it is about all of them)."""
    return "" if len(keys) == len(readouts) else ", " + " and ".join(keys)


def _gene_table(w, nulls, keys, thresholds, lethal_thr, z_thr, fdr) -> pd.DataFrame:
    """Genes ranked; ``thresholds`` maps a readout's effect direction (``down``/``up``) to its fold-change cut.

    ``n_wells`` and ``plates`` count and name the wells and plates that gave the gene a reading (a fold change of
    some readout); a well with no field read is in neither ("" for a gene with no reading: flag ``no_reading``).

    ``nulls`` maps (plate, readout) to its :class:`_PlateNull`. A gene's ``z_<readout>`` is the median of its
    wells' scores (B-score or z as the plate's null says); its combined z is Stouffer's over independent units:
    each well of a plate scored against its own sample wells (a robust z as :func:`robust_z_as_normal` of its
    plate's number of sample wells; for the count, the robust z of its fold change to the plate's :func:`count_power`,
    the skew from :func:`fit_count_skew` over the plates), and on a plate scored against its controls one unit per
    gene, the t of the mean of its wells there against the controls (the wells share their reference, so they are
    not independent of each other).
    """
    s = w[(~w["is_control"]) & (w["role"].astype(str) == "sample")].copy()
    plates = s["plate"].astype(str)
    for key in keys:
        kind = plates.map(lambda p, key=key: nulls[(p, key)].score).to_numpy()
        score = s[f"z_{key}"].to_numpy(float)
        if f"b_{key}" in s.columns:
            score = np.where(kind == "b", s[f"b_{key}"].to_numpy(float), score)
        s[f"_score_{key}"] = score
        unit = np.where(kind == "controls", np.nan, score)
        n_ref = plates.map(lambda p, key=key: nulls[(p, key)].n).to_numpy()
        excess = plates.map(lambda p, key=key: nulls[(p, key)].excess).to_numpy(float)
        powered = (kind == "z") & np.isfinite(excess)
        if powered.any():  # counts: robust z of fc ** λ, λ per plate, the scatter's skew per screen
            on = list(dict.fromkeys(plates[powered]))
            fcs = [s.loc[(plates == p).to_numpy(), f"fc_{key}"].to_numpy(float) for p in on]
            skew = fit_count_skew(fcs, [nulls[(p, key)].excess for p in on])
            for p, fc in zip(on, fcs, strict=True):
                at = (plates == p).to_numpy()
                z_p = robust_z(fc ** count_power(nulls[(p, key)].excess, skew))
                unit[at] = robust_z_as_normal(np.where(np.isfinite(score[at]), z_p, np.nan), nulls[(p, key)].n)
        for n in np.unique(n_ref[(kind == "z") & ~powered]):  # a robust z's null: its plate's sample wells
            at = (kind == "z") & ~powered & (n_ref == n)
            unit[at] = robust_z_as_normal(score[at], int(n))
        on = (kind == "controls") & np.isfinite(score)
        if on.any():
            part = s[on]
            lfc = part.groupby([part["plate"].astype(str), "gene"], sort=False)[f"log2fc_{key}"]
            mean, k = lfc.transform("mean").to_numpy(float), lfc.transform("size").to_numpy(float)
            ref = [nulls[(p, key)] for p in part["plate"].astype(str)]
            c_mean, c_sd, c_n = (np.array([getattr(r, a) for r in ref], dtype=float) for a in ("mean", "sd", "n"))
            t = (mean - c_mean) / (c_sd * np.sqrt(1 / k + 1 / c_n))
            first = ~part.duplicated(["plate", "gene"]).to_numpy()
            z_unit = np.full(len(part), np.nan)
            for n_c in np.unique(c_n[first]):  # one t distribution per number of controls
                at = first & (c_n == n_c)
                z_unit[at] = _t_as_z(t[at], int(n_c) - 1)
            unit[np.flatnonzero(on)] = z_unit
        s[f"_unit_{key}"] = unit
    lethal_key = next((k for k in keys if READOUT_EFFECTS[k][0] == "down"), None)
    rows = []
    for gene, g in s.groupby("gene", sort=True):
        read = np.isfinite(g[[f"fc_{k}" for k in keys]].to_numpy(float)).any(axis=1)
        n = int(read.sum())  # wells with a reading
        row = {"gene": gene, "n_wells": n, "plates": ";".join(sorted(set(g.loc[read, "plate"].astype(str))))}
        for key in keys:
            fc = g[f"fc_{key}"].to_numpy(float)
            row[f"fc_{key}"] = float(np.median(fc[np.isfinite(fc)])) if np.isfinite(fc).any() else np.nan
            zs = g[f"_score_{key}"].to_numpy(float)
            zs = zs[np.isfinite(zs)]
            row[f"z_{key}"] = float(np.median(zs)) if zs.size else np.nan
            units = g[f"_unit_{key}"].to_numpy(float)
            units = units[np.isfinite(units)]
            zc = float(units.sum() / np.sqrt(units.size)) if units.size else np.nan
            row[f"zcomb_{key}"] = zc
            row[f"p_{key}"] = float(2 * stats.norm.sf(abs(zc))) if np.isfinite(zc) else np.nan
        flags = sorted({f.split(":")[0] for s_ in g["qc_flags"] for f in s_.split(";") if f})
        if n == 0:
            flags.append("no_reading")
        elif n == 1:
            flags.append("single_well")
        if lethal_key is not None:
            fc = g[f"fc_{lethal_key}"].to_numpy(float)
            below = fc[np.isfinite(fc)] < thresholds["down"]  # over the wells read: an unread well takes no side
            if below.size > 1 and below.any() and not below.all():
                flags.append("discordant")
        row["qc_flags"] = ";".join(flags)
        rows.append(row)
    genes = pd.DataFrame(rows)
    if genes.empty:
        return genes
    calls = []
    for key in keys:
        genes[f"q_{key}"] = benjamini_hochberg(genes[f"p_{key}"].to_numpy())
    for key in keys:
        down = READOUT_EFFECTS[key][0] == "down"
        fc, z = genes[f"fc_{key}"], genes[f"z_{key}"]
        genes[f"hit_{key}_threshold"] = fc < thresholds["down"] if down else fc > thresholds["up"]
        genes[f"hit_{key}_fdr"] = (genes[f"q_{key}"] < fdr) & ((z <= -z_thr) if down else (z >= z_thr))
        calls += [f"hit_{key}_threshold", f"hit_{key}_fdr"]
    genes["hit"] = genes[calls].any(axis=1)
    genes["phenotype"] = [_phenotype(r, keys, lethal_key, lethal_thr) for _, r in genes.iterrows()]
    strength = np.abs(genes[[f"zcomb_{k}" for k in keys]].to_numpy(float))
    genes["_s"] = np.where(np.isfinite(strength), strength, -1.0).max(axis=1)
    genes = genes.sort_values(["hit", "_s", "gene"], ascending=[False, False, True])
    genes = genes.drop(columns="_s").reset_index(drop=True)
    genes.insert(0, "rank", np.arange(1, len(genes) + 1))
    return genes


def _phenotype(r, keys, lethal_key, lethal_thr: float) -> str:
    parts = []
    for key in keys:
        called = r[f"hit_{key}_threshold"] or r[f"hit_{key}_fdr"]
        if key == lethal_key and r[f"fc_{key}"] < lethal_thr:
            parts.append("lethal")
        elif called:
            parts.append(READOUT_EFFECTS[key][1])
    return "+".join(parts)


def control_qc(wells: pd.DataFrame, keys: list[str], cv_max: float = 0.2, plate_format=None) -> pd.DataFrame:
    """Plate x readout control statistics on the fold changes (see the module docstring).

    Columns: ``plate, readout, n_control, n_pos_ctrl, z_prime, robust_z_prime, ssmd, cv_control,
    median_sample_fc, edge_ratio, flags`` (``no_control_signal``; ``no_pos_ctrl``: no ``pos_ctrl`` well with a
    reading; ``one_pos_ctrl``: one, and Z′ and SSMD take two; ``no_window``, ``inverted_window``, ``high_cv``,
    ``controls_off``, ``edge_effect``; ``;``-joined; the ``pos_ctrl`` and window flags on the count or viability
    alone). On an inverted window
    (the count's or viability's pos_ctrl band clear of the non-targeting wells' and above it, Z′ >= 0:
    :func:`~ferroscreen.analysis.qc.inverted_window`) Z′ and robust Z′ are NaN: their formula takes the gap's
    size alone. Bands that overlap either way round are ``no_window``, Z′ shown. ``median_sample_fc`` and
    ``edge_ratio``: :func:`~ferroscreen.analysis.knockdown_qc.sample_checks`, on the plate's format:
    ``plate_format``, one :class:`~ferroscreen.plate.wells.PlateFormat` for every plate or a dict of each plate's
    (:func:`~ferroscreen.analysis.knockdown_qc.plate_formats`); a plate it does not give takes the smallest
    holding its own wells; without a ``well`` column, no edge check.
    """
    from ferroscreen.analysis.qc import control_stats, inverted_window

    rows = []
    for plate, g in wells.groupby("plate", sort=True):
        fmt = plate_format.get(str(plate)) if isinstance(plate_format, dict) else plate_format
        if fmt is None and "well" in g:
            fmt = PlateFormat.of_layout(list(g["well"].astype(str).unique()))
        pos = g["role"].astype(str) == "pos_ctrl"
        for key in keys:
            values = g[f"fc_{key}"].to_numpy(float)
            neg, posv = values[g["is_control"].to_numpy(bool)], values[pos.to_numpy()]
            st = control_stats(neg[np.isfinite(neg)], posv[np.isfinite(posv)])
            checks = sample_checks(g, key, fmt)
            flags = []
            judged = key != "area"  # the lethal pos_ctrl moves the count, not the area of its few nuclei
            if st["n_vehicle"] == 0:  # call_hits left the readout of this plate out: no control signal
                flags.append("no_control_signal")
            elif st["n_reference"] == 0 and judged:
                flags.append("no_pos_ctrl")
            elif st["n_reference"] == 1 and judged:  # Z′ and SSMD take the spread of two or more
                flags.append("one_pos_ctrl")
            elif judged:
                if st["z_prime"] < 0:  # the bands overlap (either way round)
                    flags.append("no_window")
                elif inverted_window(st["mean_vehicle"], st["mean_reference"], "down", st["z_prime"]):
                    flags.append("inverted_window")  # the bands apart, the wrong way round
                    st["z_prime"] = st["robust_z_prime"] = np.nan
            if st["cv_vehicle"] > cv_max:
                flags.append("high_cv")
            flags += checks["flags"]
            rows.append({"plate": plate, "readout": key, "n_control": st["n_vehicle"],
                         "n_pos_ctrl": st["n_reference"], "z_prime": st["z_prime"],
                         "robust_z_prime": st["robust_z_prime"], "ssmd": st["ssmd"],
                         "cv_control": st["cv_vehicle"], "median_sample_fc": checks["median_sample_fc"],
                         "edge_ratio": checks["edge_ratio"], "flags": ";".join(flags)})
    return pd.DataFrame(rows, columns=["plate", "readout", "n_control", "n_pos_ctrl", "z_prime", "robust_z_prime",
                                       "ssmd", "cv_control", "median_sample_fc", "edge_ratio", "flags"])


def replicate_concordance(wells: pd.DataFrame, lethal_threshold: float = 0.1) -> pd.DataFrame:
    """Agreement of the genes' log2 fold changes between replicates, one row per readout and replicate pair.

    Each gene's median log2 fold change over its sample wells of replicate ``a`` (on every library plate)
    against the same over replicate ``b``, for replicates 1 and 2 and, with three or more, every pair.
    Controls (non-targeting and ``pos_ctrl``) take no part. Columns: ``readout, replicate_a, replicate_b,
    n_genes`` (measured in both), ``spearman`` (rank correlation: what the figure means for a screen),
    ``pearson_without_lethal`` and ``n_lethal`` (Pearson over the genes that are not lethal: a count or
    viability fold change below ``lethal_threshold`` in either replicate), ``pearson`` (over all genes). A
    few lethal genes at log2 fold change near -10 against a cloud of genes near 0 make Pearson's r close to 1
    whatever the rest do; the rank correlation and Pearson without them say whether the replicates agree on
    the genes that matter. One replicate: one row per readout with no pair and no values.

    ``replicate`` (:func:`call_hits` sets it from the layout, the plates' names or their order) groups the
    wells; without it every plate is its own replicate, in the order of their names.
    """
    s = wells[~wells["is_control"].astype(bool) & (wells["role"].astype(str) == "sample")].copy()
    if "replicate" not in s.columns or s["replicate"].isna().any():
        plates = sorted(s["plate"].astype(str).unique())
        s["replicate"] = s["plate"].astype(str).map({p: i + 1 for i, p in enumerate(plates)})
    reps = sorted(s["replicate"].unique())
    keys = [k for k in READOUT_EFFECTS if f"log2fc_{k}" in wells.columns]
    lethal_key = next((k for k in keys if READOUT_EFFECTS[k][0] == "down"), None)
    cut = float(np.log2(lethal_threshold))
    pairs = [(a, b) for i, a in enumerate(reps) for b in reps[i + 1:]] or [(None, None)]
    by_rep = {r: s[s["replicate"] == r].groupby("gene") for r in reps}
    rows = []
    for key in keys:
        for a, b in pairs:
            row = {"readout": key, "replicate_a": a, "replicate_b": b, "n_genes": 0, "spearman": np.nan,
                   "pearson_without_lethal": np.nan, "n_lethal": 0, "pearson": np.nan}
            if a is not None:
                cols = [f"log2fc_{key}"] + ([f"log2fc_{lethal_key}"] if lethal_key and lethal_key != key else [])
                ja, jb = by_rep[a][cols].median(), by_rep[b][cols].median()
                j = ja.add_suffix("_a").join(jb.add_suffix("_b"), how="inner").dropna(
                    subset=[f"log2fc_{key}_a", f"log2fc_{key}_b"])
                x, y = j[f"log2fc_{key}_a"].to_numpy(float), j[f"log2fc_{key}_b"].to_numpy(float)
                row.update(n_genes=int(len(j)))
                if lethal_key is not None:
                    la, lb = j[f"log2fc_{lethal_key}_a"].to_numpy(float), j[f"log2fc_{lethal_key}_b"].to_numpy(float)
                    lethal = (la < cut) | (lb < cut)
                else:
                    lethal = np.zeros(len(j), bool)
                row["n_lethal"] = int(lethal.sum())
                row["spearman"] = _correlation(x, y, rank=True)
                row["pearson"] = _correlation(x, y)
                row["pearson_without_lethal"] = _correlation(x[~lethal], y[~lethal])
            rows.append(row)
    return pd.DataFrame(rows, columns=["readout", "replicate_a", "replicate_b", "n_genes", "spearman",
                                       "pearson_without_lethal", "n_lethal", "pearson"])


def _correlation(x: np.ndarray, y: np.ndarray, rank: bool = False) -> float:
    """Pearson's (or with ``rank`` Spearman's) r of ``x`` and ``y``; NaN for fewer than three pairs or no spread."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    return float(stats.spearmanr(x, y)[0] if rank else np.corrcoef(x, y)[0, 1])
