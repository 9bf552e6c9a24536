"""Per-nucleus and per-field morphology from a label image (numpy/scikit-image).

Counting includes every object; size, shape and intensity summaries use only
nuclei that do not touch the image border (their area is truncated) unless a
field has none, in which case all are used. ``n_border`` says how many touch it,
``n_area_nuclei`` how many the summaries are over (per field and, summed, per well:
what the minimum of nuclei for a well's area counts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.errors import FerroscreenError

__all__ = ["OBJECT_COLUMNS", "LabelImageError", "field_features", "object_table", "well_features"]


class LabelImageError(FerroscreenError, ValueError):
    """A label image (or its intensity image) that :func:`object_table` cannot measure."""

#: Columns of :func:`object_table`.
OBJECT_COLUMNS = [
    "label",
    "area",
    "centroid_y",
    "centroid_x",
    "eccentricity",
    "solidity",
    "mean_intensity",
    "touches_border",
]


def object_table(labels: np.ndarray, image: np.ndarray | None = None) -> pd.DataFrame:
    """One row per nucleus with :data:`OBJECT_COLUMNS` (``mean_intensity`` NaN without image).

    Args:
        labels: A 2-D label image: 0 is background, each nucleus one positive whole number.
        image: The intensity image of the nuclear stain, 2-D and of the labels' shape (one
            channel: pass ``image[..., k]`` of a colour image).

    Raises:
        LabelImageError: Labels that are not 2-D, negative or not whole numbers, or an image
            of another shape than the labels' (a colour image among them), in one line.
    """
    from skimage.measure import regionprops_table

    labels = _checked_labels(labels)
    if image is not None:
        image = np.asarray(image)
        if image.shape != labels.shape:
            colour = (" (a colour image: pass one channel, e.g. image[..., 0])"
                      if image.ndim == 3 and image.shape[:2] == labels.shape else "")
            raise LabelImageError(f"object_table: the intensity image has shape {image.shape}, the labels "
                                  f"{labels.shape}; one channel of the labels' shape is needed{colour}")
    if labels.max(initial=0) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in OBJECT_COLUMNS})
    props = ["label", "area", "centroid", "eccentricity", "solidity", "bbox"]
    kwargs = {}
    if image is not None:
        props.append("intensity_mean")
        kwargs["intensity_image"] = np.asarray(image, dtype=np.float32)
    t = regionprops_table(labels.astype(np.int32), properties=props, **kwargs)
    h, w = labels.shape
    touches = (t["bbox-0"] == 0) | (t["bbox-1"] == 0) | (t["bbox-2"] == h) | (t["bbox-3"] == w)
    return pd.DataFrame(
        {
            "label": t["label"].astype(int),
            "area": t["area"].astype(float),
            "centroid_y": t["centroid-0"],
            "centroid_x": t["centroid-1"],
            "eccentricity": t["eccentricity"],
            "solidity": t["solidity"],
            "mean_intensity": t["intensity_mean"] if image is not None else np.nan,
            "touches_border": touches.astype(bool),
        }
    )


def _checked_labels(labels) -> np.ndarray:
    """``labels`` as an array, refused (:class:`LabelImageError`) unless 2-D with whole numbers >= 0."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise LabelImageError(f"object_table: labels must be a 2-D label image, got shape {labels.shape}")
    if labels.dtype.kind not in "biuf":
        raise LabelImageError(f"object_table: labels must be whole numbers, got dtype {labels.dtype}")
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels) & (labels == np.round(labels))):
        raise LabelImageError("object_table: labels must be whole numbers (a float label image holds fractions "
                              "or NaN)")
    if labels.dtype.kind in "if" and labels.size and labels.min() < 0:
        raise LabelImageError(f"object_table: labels must be >= 0 (0: background), got {labels.min():g}; a "
                              "negative label would be counted as no nucleus")
    if labels.size and labels.max() > np.iinfo(np.int32).max:
        raise LabelImageError(f"object_table: label {labels.max():g} is above {np.iinfo(np.int32).max}")
    return labels


def field_features(objects: pd.DataFrame) -> dict:
    """Summary of one field's :func:`object_table`.

    Returns:
        Dict with ``n_nuclei, n_border, n_area_nuclei, area_mean, area_median, area_sd,
        eccentricity_mean, solidity_mean, intensity_mean`` (NaN when empty); ``n_area_nuclei``: the
        nuclei the summaries are over (those off the border, all where every one touches it).
    """
    n = int(len(objects))
    inner = objects[~objects["touches_border"].astype(bool)] if n else objects
    if n and inner.empty:
        inner = objects
    out = {"n_nuclei": n, "n_border": int(objects["touches_border"].sum()) if n else 0, "n_area_nuclei": len(inner)}
    area = inner["area"].to_numpy(dtype=float)
    out["area_mean"] = float(area.mean()) if area.size else np.nan
    out["area_median"] = float(np.median(area)) if area.size else np.nan
    out["area_sd"] = float(area.std(ddof=1)) if area.size > 1 else np.nan
    for col, key in (
        ("eccentricity", "eccentricity_mean"),
        ("solidity", "solidity_mean"),
        ("mean_intensity", "intensity_mean"),
    ):
        v = inner[col].to_numpy(dtype=float)
        out[key] = float(np.nanmean(v)) if v.size and np.isfinite(v).any() else np.nan
    return out


#: Per-field columns averaged into wells, weighted by the nuclei they summarise.
_WEIGHTED = ("area_mean", "eccentricity_mean", "solidity_mean", "intensity_mean")


def well_features(fields: pd.DataFrame, keys: tuple[str, ...] = ("plate", "well")) -> pd.DataFrame:
    """Aggregate a per-field table (with QC flags) into one row per well.

    ``n_nuclei`` is the total over fields and ``nuclei_per_field`` its mean;
    the weighted columns are means of the field values weighted by the
    non-border nuclei behind them (all of a field's where each touches the border),
    ``n_area_nuclei`` the number of those behind ``area_mean`` (what a well's
    minimum of nuclei for its area counts); ``area_median`` is the median of the field
    medians. ``n_fields_flagged`` counts fields with any QC flag and
    ``qc_flags`` lists ``flag:count`` pairs. Every field read counts, flagged
    or not; fields whose image could not be read (``status`` ``failed``) count
    only in ``n_fields_failed`` (and as ``failed`` flags), so a well with a
    failed field has a lower ``n_nuclei`` but an unbiased ``nuclei_per_field``;
    a well with no field read has empty features, never a count of zero.

    Args:
        fields: Output rows of ``ferroscreen segment`` (``n_nuclei``,
            ``n_border``, the summaries of :func:`field_features`, ``qc_flags``,
            optionally ``status``).
        keys: Grouping columns (add ``time_h`` for time-lapse plates).
    """
    keys = tuple(k for k in keys if k in fields.columns)
    rows = []
    for key, g_all in fields.groupby(list(keys), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key, strict=True))
        g = g_all[g_all["status"] != "failed"] if "status" in g_all.columns else g_all
        n = g["n_nuclei"].astype(int)
        row["n_fields"] = int(len(g))
        row["n_fields_failed"] = int(len(g_all) - len(g))
        row["n_nuclei"] = int(n.sum()) if len(g) else np.nan
        row["nuclei_per_field"] = float(n.mean()) if len(g) else np.nan
        w = (n - g["n_border"].astype(int)).clip(lower=0).astype(float)
        w = w.where(w > 0, n.astype(float))
        for col in _WEIGHTED:
            v = g[col].astype(float)
            ok = np.isfinite(v) & (w > 0)
            row[col] = float(np.average(v[ok], weights=w[ok])) if ok.any() else np.nan
            if col == "area_mean":
                row["n_area_nuclei"] = int(w[ok].sum()) if len(g) else np.nan
        med = g["area_median"].astype(float)
        row["area_median"] = float(np.nanmedian(med)) if np.isfinite(med).any() else np.nan
        qc = g_all.get("qc_flags", pd.Series("", index=g_all.index)).fillna("")
        flags = [f for s in qc for f in str(s).split(";") if f]
        row["n_fields_flagged"] = int((qc.loc[g.index] != "").sum())  # fields read and flagged; failed ones apart
        row["qc_flags"] = ";".join(f"{f}:{flags.count(f)}" for f in dict.fromkeys(sorted(set(flags))))
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("n_nuclei", "n_area_nuclei"):
        if col in out.columns:
            out[col] = out[col].astype("Int64")  # empty, not 0, for a well with no field read
    return out
