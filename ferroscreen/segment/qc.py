"""Per-field image quality control: measure, then flag; never drop.

A lethal knockdown leaves few or no nuclei, so an empty or sparse field is a
result, not an error: QC only adds flags that the hit table carries along.

Per-field measurements (:func:`field_qc_metrics`):

``focus``
    Variance of the Laplacian of the normalised image (sharp edges score high).
``saturated_fraction``
    Fraction of pixels at the frame's maximum when that maximum is a ceiling
    (:func:`saturated_fraction`): the dtype's maximum (integer images), a camera's
    (:data:`CAMERA_CEILINGS`: 10-, 12- and 14-bit data in 16-bit files), or a
    plateau, shared by more than :data:`PLATEAU_FRACTION` of the pixels (integers:
    and by more pixels than the value just under it); else 0. A frame of one
    value (black, flat) is not saturated.
``foreground_fraction``
    Fraction of pixels inside nuclei.
``background``, ``noise_sd``, ``contrast_max``
    The raw background level and per-pixel noise sd
    (:func:`~ferroscreen.segment.postprocess.background_noise`), and the
    brightest object's mean intensity above the background in noise sds (NaN
    without objects, or when too little background is left to tell).
``small_object_fraction``
    Fraction of objects smaller than ``debris_area`` pixels (:data:`DEBRIS_AREA`
    at the model's nucleus size; ``segment`` divides it by ``scale**2`` for
    images it resamples, so that small nuclei are not all called debris).
``zero_block_fraction``
    Share of the frame in its largest 4-connected block of exact zeros, when
    that block covers at least :data:`ZERO_BLOCK_MIN` of the frame and lies
    below the floor of the rest of it (:func:`zero_block_fraction`): what a
    file preallocated and then only partly written (half-copied, cut off
    mid-transfer) holds where its pixels never arrived; else 0.

Flags (:func:`flag_fields`, computed across all fields of a run so that
"out of focus" is relative to the plate): ``empty`` (no nuclei, or none
clearly above the camera noise: ``contrast_max`` < ``min_signal``; a field
whose objects are all noise keeps its count, flagged), ``focus``
(focus robust z < ``focus_z`` among the non-empty fields, i.e. far
blurrier than typical fields, *and* focus below ``focus_ratio``
(:data:`FOCUS_RATIO`, 0.25) times their median; needs >= 5 non-empty
fields), ``saturated`` (saturated fraction > ``saturated_max``), ``debris``
(more than ``debris_max`` of the objects are small fragments, with at least
5 objects), ``zero_block`` (``zero_block_fraction`` > 0: a block of at
least :data:`ZERO_BLOCK_MIN` of the frame was never read, so the field's
count misses the nuclei there; tables without the column read as 0).

The focus floor: when the fields of a run barely differ (the Aits images
saved as dim 8-bit PNGs) their MAD is tiny and a robust z of -3 is a field
only 0.85x as sharp as the median, sharp all the same; the robust z alone
flagged it. The variance of the Laplacian is dominated by pixel-scale
detail, so blurring an image lowers it steeply (Aits fields blurred with a
Gaussian of sigma 0.7 px keep about 0.05x of their focus, sigma 6 under
0.001x), while sharp Aits crops holding a single nucleus measure down to
about 0.3x the median of a plate of crowded ones. 0.25x, the score store's
rule for its ``defocus`` column (:data:`ferroscreen.score.qc.DEFOCUS_RATIO`),
keeps both: such blur is flagged, a sparse sharp field is not. The measure
has a limit: where camera noise makes up most of the pixel-scale detail (the
dim Aits fields), a field defocused in the optics, whose noise is added after
the blur, keeps most of its focus score and is not flagged.

The model's own post-processing already removes objects no brighter than the
noise (:func:`~ferroscreen.segment.postprocess.drop_faint_objects`), so a field
of camera noise alone counts 0 nuclei; ``min_signal`` flags a field whose
labels came from elsewhere (read back from an earlier run) just as well.
Flagged fields are never dropped: a well's ``n_nuclei`` sums every field read,
so a lethal knockdown's empty fields count as the 0 nuclei they hold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from ferroscreen.segment.postprocess import PostprocessParams, background_noise, object_contrast
from ferroscreen.segment.targets import normalize_image

__all__ = ["CAMERA_CEILINGS", "DEBRIS_AREA", "FOCUS_RATIO", "PLATEAU_FRACTION", "QC_FLAGS", "ZERO_BLOCK_MIN",
           "ZERO_FLOOR_STEPS", "field_qc_metrics", "flag_fields", "saturated_fraction", "zero_block_fraction"]

#: Flag names, in the order they are written in ``qc_flags``.
QC_FLAGS = ("empty", "focus", "saturated", "debris", "zero_block")
#: A field is flagged ``focus`` only below this share of the median focus (the score store's ``DEFOCUS_RATIO``).
FOCUS_RATIO = 0.25
#: Share of the frame a block of exact zeros must cover to be flagged ``zero_block``.
ZERO_BLOCK_MIN = 0.05
#: Zeros lie below a frame's floor when its other pixels start this many quantisation steps above 0.
ZERO_FLOOR_STEPS = 4
#: Objects under this many pixels are fragments (Aits U2OS nuclei at 20x: median ~1,500 px).
DEBRIS_AREA = 100.0
#: Clipping values of 10-, 12- and 14-bit cameras, whose images are stored in 16-bit files.
CAMERA_CEILINGS = tuple(2**k - 1 for k in (10, 12, 14))
#: Share of pixels at a frame's own maximum above which that maximum is a plateau (clipped), not a bright spot.
PLATEAU_FRACTION = 1e-3


def saturated_fraction(image: np.ndarray) -> float:
    """Fraction of ``image``'s pixels clipped at its maximum (see the module docstring); 0.0 when not clipped.

    The maximum counts as a ceiling when it is the dtype's maximum or a camera's
    (:data:`CAMERA_CEILINGS`, integer images), or a plateau: more than
    :data:`PLATEAU_FRACTION` of the pixels sit exactly at it, and for integer
    images more than at the value just under it (a spike, not the tail of the
    histogram). A frame of one value, or one bright pixel, is not clipped.
    """
    img = np.asarray(image)
    if img.size == 0:
        return 0.0
    top = img.max()
    at_top = img == top
    frac = float(np.mean(at_top))
    if img.dtype.kind in "ui" and (top == np.iinfo(img.dtype).max or int(top) in CAMERA_CEILINGS):
        return frac
    if frac <= PLATEAU_FRACTION or not top > img.min():
        return 0.0
    if img.dtype.kind in "ui" and int(np.count_nonzero(img == top - 1)) >= int(np.count_nonzero(at_top)):
        return 0.0  # the top of a coarse histogram, not a pile-up at a ceiling
    return frac


def zero_block_fraction(image: np.ndarray) -> float:
    """Share of ``image`` in its largest 4-connected block of exact zeros, when that block is a hole; else 0.

    A hole covers at least :data:`ZERO_BLOCK_MIN` of the frame and lies below
    the floor of the frame's other pixels: their 1st percentile is at least
    :data:`ZERO_FLOOR_STEPS` quantisation steps (the spacing of the lowest
    values present: 1 for camera data, 15 for 8-bit data scaled by 15, 257
    for 8-bit data stored in 16 bits) and at least one pixel noise sd (robust
    sd of the differences between neighbouring non-zero pixels over sqrt(2);
    nuclei edges are too few to move it) above 0. A camera's offset (100 and
    more on sCMOS cameras) keeps every pixel it read well above 0, so zeros
    there were never read: a file preallocated and then written only in part,
    or a masked image (what lies outside the mask holds no reading either).
    A background that is truly 0 (a black 8-bit PNG, a background-subtracted
    image) is the low tail of its noise cut off at 0: its other pixels start
    at the lowest steps (1, 2, 3), so its zeros are not flagged; nor are
    those of a frame whose own background reaches down to 1 or 2 steps
    (8-bit Aits PNGs, background ~5 grey levels), even where a block of them
    is a hole. A frame of one value (all black: flagged ``empty``) has no
    floor to compare with: 0.
    """
    img = np.asarray(image)
    zero = img == 0
    if np.count_nonzero(zero) < ZERO_BLOCK_MIN * img.size or zero.all():
        return 0.0
    blocks, n = ndi.label(zero)
    share = float(np.bincount(blocks.ravel())[1:].max() / img.size) if n else 0.0
    if share < ZERO_BLOCK_MIN:
        return 0.0
    rest = img[~zero]
    floor = float(np.percentile(rest, 1))
    lowest = np.unique(rest[rest <= np.percentile(rest, 50)])[:8]
    if lowest.size < 2 or not floor > 0:  # one value: no spacing to measure a gap in
        return 0.0
    step = float(np.median(np.diff(lowest.astype(np.float64))))
    sd = _pixel_noise(img, ~zero)
    return share if floor >= ZERO_FLOOR_STEPS * step and floor >= sd else 0.0


def _pixel_noise(image: np.ndarray, keep: np.ndarray) -> float:
    """Robust sd of pixel noise; 0 when no two neighbours are kept.

    1.4826 MAD of the differences of neighbouring ``keep`` pixels (along rows and columns), over sqrt(2).
    """
    x = np.asarray(image, dtype=np.float64)
    d = np.concatenate([(x[:, 1:] - x[:, :-1])[keep[:, 1:] & keep[:, :-1]],
                        (x[1:] - x[:-1])[keep[1:] & keep[:-1]]])
    if d.size == 0:
        return 0.0
    return 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2)


def field_qc_metrics(image: np.ndarray, labels: np.ndarray, debris_area: float = DEBRIS_AREA) -> dict:
    """QC measurements of one field (see the module docstring)."""
    img = np.asarray(image)
    sat = saturated_fraction(img)
    norm = normalize_image(img)
    focus = float(ndi.laplace(norm).var())
    sizes = np.bincount(np.asarray(labels).ravel().astype(np.int64))[1:]
    sizes = sizes[sizes > 0]
    level, sd = background_noise(img, labels)
    contrast = object_contrast(labels, img, (level, sd))
    contrast = contrast[np.isfinite(contrast)]
    return {
        "focus": focus,
        "saturated_fraction": sat,
        "foreground_fraction": float(np.mean(np.asarray(labels) > 0)),
        "background": level,
        "noise_sd": sd,
        "contrast_max": float(contrast.max()) if contrast.size else float("nan"),
        "small_object_fraction": float(np.mean(sizes < debris_area)) if sizes.size else 0.0,
        "zero_block_fraction": zero_block_fraction(img),
    }


def flag_fields(
    fields: pd.DataFrame,
    focus_z: float = -3.0,
    saturated_max: float = 0.01,
    debris_max: float = 0.3,
    min_signal: float = PostprocessParams.field_contrast,
    focus_ratio: float = FOCUS_RATIO,
) -> pd.DataFrame:
    """Add boolean ``qc_<flag>`` columns and a ``qc_flags`` string (``;``-joined).

    Args:
        fields: One row per field with ``n_nuclei`` and the columns of
            :func:`field_qc_metrics`.
        focus_z: Robust z of log focus below which a field is flagged (with
            ``focus_ratio``).
        saturated_max: Saturated pixel fraction above which a field is flagged.
        debris_max: Small-object fraction above which a field is flagged.
        min_signal: ``contrast_max`` (when the table has it) below which a
            field with objects is flagged ``empty`` all the same.
        focus_ratio: Share of the non-empty fields' median focus a field must
            also fall below to be flagged ``focus`` (see the module docstring).

    Returns:
        A copy of ``fields`` with the flag columns; no row is removed.
    """
    out = fields.copy()
    out["qc_empty"] = out["n_nuclei"].astype(int) == 0
    if "contrast_max" in out.columns:  # objects, but none above the camera noise
        c = pd.to_numeric(out["contrast_max"], errors="coerce")
        out["qc_empty"] |= c.notna() & (c < min_signal)
    focus = out["focus"].astype(float)
    logf = np.log(focus.clip(lower=1e-12))
    ref = logf[~out["qc_empty"]]
    out["qc_focus"] = False
    if len(ref) >= 5:
        med = float(np.median(ref))
        mad = 1.4826 * float(np.median(np.abs(ref - med)))
        if mad > 0:
            floor = focus_ratio * float(np.median(focus[~out["qc_empty"]]))
            out["qc_focus"] = (((logf - med) / mad) < focus_z) & (focus < floor) & ~out["qc_empty"]
    out["qc_saturated"] = out["saturated_fraction"].astype(float) > saturated_max
    out["qc_debris"] = (out["small_object_fraction"].astype(float) > debris_max) & (out["n_nuclei"].astype(int) >= 5)
    zero = out["zero_block_fraction"] if "zero_block_fraction" in out.columns else pd.Series(0.0, index=out.index)
    out["qc_zero_block"] = pd.to_numeric(zero, errors="coerce").fillna(0.0).to_numpy() > 0
    cols = [f"qc_{f}" for f in QC_FLAGS]
    out["qc_flags"] = [
        ";".join(f for f, v in zip(QC_FLAGS, row, strict=True) if v) for row in out[cols].itertuples(index=False)
    ]
    return out
