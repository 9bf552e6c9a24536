"""Reading users' ground truth for label-free detection: instance masks, points, COCO, QuPath.

:class:`TruthSource` gives, per image, either a 2-D instance label image
(centre-in-cell matching, as :func:`~ferroscreen.crops.match_detections` does
for masks) or a table of true cells ``x, y, radius`` (matching within the
radius). Accepted ``truth`` paths:

* one mask image (for one input image);
* a folder of masks named after the images: ``<stem>.<ext>`` or
  ``<stem>_mask[s]``, ``_label[s]``, ``_instances``, ``_cp_masks``, ``_seg``
  (Cellpose, StarDist and napari habits); a binary mask (two values) is split
  into connected components; and/or QuPath GeoJSON exports ``<stem>.geojson``
  (Polygon/MultiPolygon objects rasterised as instances, Points as points);
* a CSV ``image,x,y[,radius]`` (``image``: file name, path relative to the CSV, or the stem
  ``detect`` writes in ``detections.csv`` when no other image shares it);
* a COCO instances JSON (``images[].file_name``, ``annotations[].segmentation``
  as polygons or run-length encoding, else ``bbox``), as CVAT, Label Studio and
  LIVECell write it.

Every problem is a one-line :class:`~ferroscreen.errors.FerroscreenError`
naming the file.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ferroscreen.errors import FerroscreenError

MASK_SUFFIXES = ("", "_mask", "_masks", "_label", "_labels", "_instances", "_cp_masks", "_seg")
_IMAGE_EXT = (".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg")

#: One image's truth: an instance label image, or a table ``x, y, radius``.
Truth = np.ndarray | pd.DataFrame


def read_mask(path: Path) -> np.ndarray:
    """An instance label image (0 = background); a two-valued (binary) mask is split into connected components."""
    from scipy import ndimage as ndi

    from ferroscreen.io.frames import load_image

    labels = load_image(path)
    if labels.dtype.kind == "f":
        if not np.all(np.mod(labels, 1) == 0):
            raise FerroscreenError(f"{path}: a mask holds whole-number instance ids, this one fractions")
        labels = labels.astype(np.int64)
    values = np.unique(labels)
    if len(values) == 2 and values[0] == 0:
        labels, _ = ndi.label(labels > 0)
    return labels.astype(np.int64, copy=False)


def _mask_for(image: Path, folder: Path) -> Path | None:
    for suffix in MASK_SUFFIXES:
        for ext in _IMAGE_EXT:
            cand = folder / f"{image.stem}{suffix}{ext}"
            if cand.is_file() and cand.resolve() != image.resolve():
                return cand
    return None


def _polygons_to_labels(polys: list[list[np.ndarray]], shape: tuple[int, int]) -> np.ndarray:
    """Rasterise instances (each a list of (K, 2) x/y rings) into a label image, later instances on top."""
    labels = np.zeros(shape, np.int32)
    for k, rings in enumerate(polys, start=1):
        pts = [np.round(r).astype(np.int32).reshape(-1, 1, 2) for r in rings if len(r) >= 3]
        if pts:
            cv2.fillPoly(labels, pts, k)
    return labels


class NotGeoJSONError(FerroscreenError):
    """Valid JSON that is not GeoJSON (neither a FeatureCollection, a Feature nor a list of them)."""


def read_geojson_features(path: Path) -> list:
    """The features of a GeoJSON file (UTF-8, byte-order mark allowed).

    QuPath and others write a FeatureCollection, one Feature, or a bare list of Features.

    Raises:
        FerroscreenError: Not JSON; :class:`NotGeoJSONError` for JSON that is none of those.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FerroscreenError(f"{path}: invalid GeoJSON ({str(exc).splitlines()[0]})") from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        return [data]
    if isinstance(data, dict) and isinstance(data.get("features"), list):
        return data["features"]
    if isinstance(data, list):
        return data
    raise NotGeoJSONError(f"{path}: not GeoJSON (expected a FeatureCollection, a Feature or a list of Features)")


def _geojson_truth(path: Path, shape: tuple[int, int]) -> Truth:
    polys, points = [], []
    for f in read_geojson_features(path):
        geom = (f or {}).get("geometry") or {}
        kind, coords = geom.get("type"), geom.get("coordinates")
        if kind == "Point":
            points.append(coords[:2])
        elif kind == "MultiPoint":
            points.extend(c[:2] for c in coords)
        elif kind == "Polygon":
            polys.append([np.asarray(coords[0], float)[:, :2]])
        elif kind == "MultiPolygon":
            polys.append([np.asarray(p[0], float)[:, :2] for p in coords])
        else:
            raise FerroscreenError(f"{path}: geometry type {kind!r} is not a Point or Polygon")
    if polys and points:
        raise FerroscreenError(f"{path}: mixes points and polygons; export one kind of object")
    if points:
        xy = np.asarray(points, float).reshape(-1, 2)
        return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "radius": np.nan})
    return _polygons_to_labels(polys, shape)


def _rle_counts(counts) -> list[int]:
    """COCO run lengths from a list, or from the compressed string (6-bit chunks, deltas from two runs back)."""
    if isinstance(counts, list):
        return [int(c) for c in counts]
    s, out, p = counts.encode("ascii"), [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = s[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return out


def _rle_mask(rle: dict) -> np.ndarray:
    h, w = (int(v) for v in rle["size"])
    flat = np.zeros(h * w, bool)
    pos, val = 0, False
    for run in _rle_counts(rle["counts"]):
        if val:
            flat[pos:pos + run] = True
        pos += run
        val = not val
    return flat.reshape(w, h).T  # column-major, as COCO stores it


def _coco_index(path: Path, images: list[Path]) -> dict[Path, list[dict]]:
    """Each input image's COCO annotations (crowd regions left out), matched by file name."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries, anns = data["images"], data.get("annotations", [])
        by_id: dict = {}
        for a in anns:
            if not a.get("iscrowd"):
                by_id.setdefault(a["image_id"], []).append(a)
        by_name = {Path(str(e["file_name"])).name: by_id.get(e["id"], []) for e in entries}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise FerroscreenError(f"{path}: not a COCO instances file ({type(exc).__name__}: {exc})") from None
    return {img: by_name[img.name] for img in images if img.name in by_name}


@contextmanager
def _malformed(path: Path, image: Path):
    """Turn a malformed annotation's parsing error (a text coordinate, a short list) into one line."""
    try:
        yield
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FerroscreenError(f"{path}: malformed annotation for {image.name} ({detail})") from None


def _coco_labels(anns: list[dict], shape: tuple[int, int]) -> np.ndarray:
    labels = np.zeros(shape, np.int32)
    for k, a in enumerate(anns, start=1):
        seg = a.get("segmentation")
        if isinstance(seg, dict):
            labels[_rle_mask(seg)[: shape[0], : shape[1]]] = k
        elif isinstance(seg, list) and seg:
            one = _polygons_to_labels([[np.asarray(r, float).reshape(-1, 2) for r in seg]], shape)
            labels[one > 0] = k
        elif a.get("bbox"):
            x, y, w, h = (int(round(v)) for v in a["bbox"])
            labels[max(y, 0): y + h, max(x, 0): x + w] = k
    return labels


def _points_csv(path: Path, images: list[Path]) -> dict[Path, Truth]:
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise FerroscreenError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    missing = {"image", "x", "y"} - set(df.columns)
    if missing:
        raise FerroscreenError(f"{path}: missing column(s) {', '.join(sorted(missing))} (need image,x,y[,radius])")
    for col in ("x", "y", *(("radius",) if "radius" in df.columns else ())):
        bad = pd.to_numeric(df[col], errors="coerce").isna() & df[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FerroscreenError(f"{path}:{i + 2}: column '{col}': '{df[col].iloc[i]}' is not a number")
    df["radius"] = pd.to_numeric(df["radius"], errors="coerce") if "radius" in df.columns else np.nan
    keys = {}
    for img in images:
        keys.setdefault(img.name, img)
        keys.setdefault(str(img.resolve()), img)
    stems = pd.Series([img.stem for img in images]).value_counts()
    for img in images:  # detections.csv names images by stem: edited into truth it matches (a stem two share: no)
        if stems[img.stem] == 1:
            keys.setdefault(img.stem, img)
    out: dict[Path, Truth] = {}  # an image the CSV does not name is not annotated (not "no cells")
    for name, rows in df.groupby(df["image"].astype(str), sort=False):
        img = keys.get(str((path.parent / name).resolve())) or keys.get(Path(name).name)
        if img is not None:
            out[img] = rows[["x", "y", "radius"]].astype(float).reset_index(drop=True)
    return out


class TruthSource:
    """Ground truth for input images, read when asked for (see the module docstring).

    Args:
        truth: Mask image, folder of masks/GeoJSON, points CSV or COCO JSON.
        images: The input images (truth is matched to them by name).

    Raises:
        FerroscreenError: Unreadable or malformed truth, or truth for none of the images.
    """

    def __init__(self, truth: str | Path, images: list[Path]) -> None:
        self.path = truth = Path(truth)
        if not truth.exists():
            raise FerroscreenError(f"{truth}: no such file or folder")
        suffix = truth.suffix.lower()
        self._points: dict[Path, pd.DataFrame] = {}
        self._coco: dict[Path, list[dict]] = {}
        self._files: dict[Path, Path] = {}  # image -> mask or GeoJSON file
        if truth.is_dir():
            for img in images:
                gj = [truth / f"{img.stem}.geojson", truth / f"{img.name}.geojson"]  # QuPath scripts write both
                found = next((g for g in gj if g.is_file()), None) or _mask_for(img, truth)
                if found is not None:
                    self._files[img] = found
        elif suffix == ".csv":
            self._points = _points_csv(truth, images)
        elif suffix == ".json":
            self._coco = _coco_index(truth, images)
        elif suffix in (".geojson", *_IMAGE_EXT) and len(images) == 1:
            self._files[images[0]] = truth
        else:
            raise FerroscreenError(
                f"{truth}: expected a mask image (one input image), a folder of masks or .geojson files, "
                "a CSV image,x,y[,radius] or a COCO .json"
            )
        self.images = set(self._points) | set(self._coco) | set(self._files)
        if not self.images:
            raise FerroscreenError(
                f"{truth}: holds truth for none of the {len(images)} input image(s) (matched by name)"
            )

    def truth_files(self) -> set[Path]:
        """The mask and GeoJSON files matched to images (resolved paths)."""
        return {f.resolve() for f in self._files.values()}

    def forget(self, images: list[Path]) -> None:
        """Drop ``images`` from the inputs (e.g. masks that were among them)."""
        for img in images:
            self._files.pop(img, None)
            self._points.pop(img, None)
            self._coco.pop(img, None)
        self.images = set(self._points) | set(self._coco) | set(self._files)

    def get(self, image: Path, shape: tuple[int, int]) -> Truth | None:
        """The truth of ``image`` (of ``shape``), or ``None`` when it has none."""
        if image in self._points:
            return self._points[image]
        if image in self._coco:
            with _malformed(self.path, image):
                return _coco_labels(self._coco[image], shape)
        src = self._files.get(image)
        if src is None:
            return None
        if src.suffix.lower() == ".geojson":
            with _malformed(src, image):
                t = _geojson_truth(src, shape)
        else:
            t = read_mask(src)
        if isinstance(t, np.ndarray) and t.shape != tuple(shape):
            raise FerroscreenError(f"{src}: the mask is {t.shape[0]}x{t.shape[1]}, its image {image.name} "
                                   f"{shape[0]}x{shape[1]}")
        return t
