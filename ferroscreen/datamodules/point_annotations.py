"""Crops around annotated points in whole frames: :class:`PointAnnotationDataModule`.

Annotations are a CSV ``image,x,y,class`` (image paths relative to the CSV) or QuPath
GeoJSON exports (``<image>.geojson`` or ``<image>.png.geojson`` beside the images;
Point and MultiPoint geometries or the centroid of (Multi)Polygons; class from
``properties.classification.name``). Crops are cut around each point; images are
split between train and validation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.crops import extract_crops
from ferroscreen.crops.truth_files import NotGeoJSONError, read_geojson_features
from ferroscreen.csv_tables import decode_table_text, header_delimiter, read_csv_table
from ferroscreen.datamodules.crop_base import (
    CropDataModule,
    CropSets,
    frame_sample,
    resolve_normalization,
    split_groups,
)
from ferroscreen.datamodules.crop_folders import IMAGE_SUFFIXES, nfc
from ferroscreen.errors import FerroscreenError
from ferroscreen.io import load_image
from ferroscreen.plate.units import decimal_point

POINT_COLUMNS = ("image", "x", "y", "class")


def read_point_annotations(path: Path, notes: list[str] | None = None) -> pd.DataFrame:
    """Point annotations as a table ``image, x, y, class, source``.

    ``path`` is a CSV (or tab/semicolon-separated) table with columns ``image,x,y,class`` in any
    order and case (image paths relative to the CSV; other columns ignored), or a folder of QuPath
    GeoJSON exports (``.geojson``/``.json``), each named after its image (``img.geojson`` or
    ``img.png.geojson`` beside ``img.png``). GeoJSON objects give their Point, each point of a
    MultiPoint (QuPath's point tool), or the centroid of a (Multi)Polygon; the class is
    ``properties.classification.name`` (or ``names`` joined by ``": "``, or a plain string);
    unclassified objects are left out and counted in ``notes``. ``image`` is an absolute path and
    ``source`` says where each point was read (``file:line`` or ``file``) for later messages.

    Raises:
        FerroscreenError: Missing columns, coordinates that are not finite numbers, an empty
            class, unknown geometry types, malformed GeoJSON, or images that cannot be found.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() not in (".geojson", ".json"):
        return _csv_points(path)
    if path.is_file():
        return _geojson_points(path, notes)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".geojson", ".json") and p.is_file()
                       and not p.name.startswith("."))
        if not files:
            raise FerroscreenError(f"{path}: no QuPath .geojson files in this folder")
        tables = []
        for gj in files:
            try:
                tables.append(_geojson_points(gj, notes))
            except NotGeoJSONError:  # a .json file beside the exports (a project file) is left out
                if gj.suffix.lower() != ".json":
                    raise
                if notes is not None:
                    notes.append(f"{gj}: not GeoJSON, left out")
        return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=[*POINT_COLUMNS, "source"])
    raise FerroscreenError(f"{path}: not found (expected a CSV image,x,y,class or a folder of QuPath .geojson files)")


def _csv_points(path: Path) -> pd.DataFrame:
    """The points of a delimited table; in a tab or semicolon table ``7,28`` is 7.28 (decimal comma)."""
    df = read_csv_table(path, "a points table (image,x,y,class)", names=("image", "class"))
    decimal_comma = _table_delimiter(path) != ","
    cols = {c.lower(): c for c in df.columns}
    missing = [c for c in POINT_COLUMNS if c not in cols]
    if missing:
        raise FerroscreenError(f"{path}: missing column(s) {missing} (need image,x,y,class; found "
                               f"{list(df.columns)})")
    rows = []
    for i, (img, x, y, cls) in enumerate(df[[cols[c] for c in POINT_COLUMNS]].itertuples(index=False), start=2):
        where = f"{path}:{i}"
        try:
            xy = tuple(float(decimal_point(v.strip()) if decimal_comma and isinstance(v, str) else v) for v in (x, y))
        except (TypeError, ValueError):
            raise FerroscreenError(f"{where}: x/y '{x}', '{y}' are not numbers") from None
        if not np.isfinite(xy).all():
            shown = ["" if pd.isna(v) else f"{v:g}" if isinstance(v, float) else str(v) for v in (x, y)]
            raise FerroscreenError(f"{where}: x/y '{shown[0]}', '{shown[1]}' are not finite numbers")
        if pd.isna(img) or not str(img).strip():
            raise FerroscreenError(f"{where}: no image named")
        if pd.isna(cls) or not str(cls).strip():
            raise FerroscreenError(f"{where}: no class named")
        image = (path.parent / str(img).strip()).resolve()
        rows.append((str(image), *xy, nfc(str(cls).strip()), where))
    return pd.DataFrame(rows, columns=[*POINT_COLUMNS, "source"])


def _table_delimiter(path: Path) -> str:
    """The delimiter :func:`~ferroscreen.csv_tables.read_csv_table` reads ``path`` with (a readable table)."""
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    return header_delimiter(decode_table_text(path.read_bytes()).lstrip().splitlines()[0])


#: Image suffixes QuPath strips whole from an export's name (``img.ome.tif`` -> ``img.geojson``), then the single ones.
GEOJSON_IMAGE_SUFFIXES = (".ome.tif", ".ome.tiff", *IMAGE_SUFFIXES)


def _geojson_image(gj: Path) -> Path:
    """The image a GeoJSON file annotates: ``img.png.geojson`` or ``img.geojson`` beside ``img.<png|tif|...>``.

    ``img.geojson`` also finds ``img.ome.tif``/``img.ome.tiff`` (QuPath takes ``.ome.tif`` as one
    suffix when it names an export). Suffixes match in lower or upper case.

    Raises:
        FerroscreenError: No such image, or several.
    """
    stem = Path(gj.stem)
    if stem.suffix.lower() in IMAGE_SUFFIXES and (gj.parent / stem).is_file():
        return gj.parent / stem
    found = [gj.parent / (gj.stem + sfx) for sfx in GEOJSON_IMAGE_SUFFIXES]
    found += [gj.parent / (gj.stem + sfx.upper()) for sfx in GEOJSON_IMAGE_SUFFIXES]
    found = [p for p in found if p.is_file()]
    if not found:
        raise FerroscreenError(f"{gj}: no image named "
                               f"{gj.stem}.<{'|'.join(s[1:] for s in GEOJSON_IMAGE_SUFFIXES)}> beside it")
    if len({p.resolve() for p in found}) > 1:
        raise FerroscreenError(f"{gj}: several images could be its image ({', '.join(p.name for p in found)}); "
                               f"name the file after one of them ({found[0].name}.geojson)")
    return found[0]


def _polygon_centroid(rings: list) -> tuple[float, float, float]:
    """Area-weighted centroid and area of a polygon's outer ring (vertex mean for a degenerate ring)."""
    ring = np.asarray(rings[0], float)[:, :2]
    x, y = ring[:, 0], ring[:, 1]
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    area = cross.sum() / 2
    if abs(area) < 1e-9:
        return float(x.mean()), float(y.mean()), 0.0
    cx = ((x + np.roll(x, -1)) * cross).sum() / (6 * area)
    cy = ((y + np.roll(y, -1)) * cross).sum() / (6 * area)
    return float(cx), float(cy), abs(float(area))


def _feature_points(geom: dict, gj: Path) -> list[tuple[float, float]]:
    kind, coords = geom.get("type"), geom.get("coordinates")
    if kind == "Point":
        return [tuple(coords[:2])]
    if kind == "MultiPoint":
        return [tuple(c[:2]) for c in coords]
    if kind == "Polygon":
        return [_polygon_centroid(coords)[:2]]
    if kind == "MultiPolygon":  # one object in several parts: the area-weighted centroid of the parts
        parts = np.array([_polygon_centroid(poly) for poly in coords])
        w = parts[:, 2] if parts[:, 2].sum() > 0 else np.ones(len(parts))
        return [(float(np.average(parts[:, 0], weights=w)), float(np.average(parts[:, 1], weights=w)))]
    raise FerroscreenError(f"{gj}: geometry type {kind!r} is not Point, MultiPoint, Polygon or MultiPolygon")


def _feature_class(props: dict) -> str | None:
    """The class of a QuPath object, or ``None`` when it has none.

    Only ``properties.classification`` is read, as QuPath writes it: ``{"name": ...}``
    (0.1.x to 0.5), ``{"names": [...]}`` for a derived class (0.4 on: ``["Tumor",
    "Positive"]`` -> ``"Tumor: Positive"``), or a plain string or list of names. An
    object's ``name`` (``properties.name``, e.g. ``"Annotated region"``) labels the
    object, not its class, and is never read as one.
    """
    cls = props.get("classification")
    if isinstance(cls, dict):
        cls = cls.get("name") or cls.get("names")
    if isinstance(cls, (list, tuple)):
        cls = ": ".join(str(c).strip() for c in cls if c is not None and str(c).strip())
    if cls is None or isinstance(cls, dict):
        return None
    return nfc(str(cls).strip()) or None


def _geojson_points(gj: Path, notes: list[str] | None) -> pd.DataFrame:
    feats = read_geojson_features(gj)
    image = str(_geojson_image(gj).resolve())
    rows, unclassified, named = [], 0, []
    try:
        for k, f in enumerate(feats):
            if not isinstance(f, dict) or not isinstance(f.get("geometry"), dict):
                raise FerroscreenError(f"{gj}: object {k} has no geometry")
            props = f.get("properties") or {}
            cls = _feature_class(props)
            pts = _feature_points(f["geometry"], gj)
            if cls is None:
                unclassified += 1
                if isinstance(props, dict) and str(props.get("name") or "").strip():
                    named.append(str(props["name"]).strip())
                continue
            for x, y in pts:
                xy = float(x), float(y)
                if not np.isfinite(xy).all():
                    raise FerroscreenError(f"{gj}: object {k} has coordinates {xy} that are not finite")
                rows.append((image, *xy, cls, f"{gj} (object {k})"))
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise FerroscreenError(f"{gj}: malformed geometry ({type(exc).__name__}: {exc})") from None
    if unclassified and notes is not None:
        shown = ", ".join(f"'{n}'" for n in dict.fromkeys(named[:3]))
        names = f" (named {shown}{', ...' if len(set(named)) > 3 else ''}: a name is not a class)" if named else ""
        notes.append(f"{gj}: {unclassified} object(s) without a class left out{names}")
    return pd.DataFrame(rows, columns=[*POINT_COLUMNS, "source"])


def _drop_repeated_points(ann: pd.DataFrame, source: Path, notes: list[str]) -> pd.DataFrame:
    """``ann`` with a point given twice (same image, x, y and class) kept once; said in ``notes``.

    Raises:
        FerroscreenError: One point given two classes (naming both places).
    """
    key = ["image", "x", "y"]
    clash = ann[ann.duplicated(key, keep=False)].groupby(key, sort=False)
    for _, grp in clash:
        if grp["class"].nunique() > 1:
            first, other = grp.iloc[0], grp[grp["class"] != grp["class"].iloc[0]].iloc[0]
            raise FerroscreenError(f"{other['source']}: point ({other['x']:g}, {other['y']:g}) is also annotated "
                                   f"at {first['source']} with another class ('{other['class']}' and "
                                   f"'{first['class']}'); give each cell one class")
    repeated = ann.duplicated([*key, "class"])
    if repeated.any():
        notes.append(f"{source}: {int(repeated.sum())} point(s) given twice (same image, position and class) "
                     f"counted once, e.g. {ann.loc[repeated, 'source'].iloc[0]}")
    return ann[~repeated].reset_index(drop=True)


class PointAnnotationDataModule(CropDataModule):
    """Crops around annotated points in whole frames, split by image.

    Args:
        annotations: CSV ``image,x,y,class`` or a folder of QuPath GeoJSON files.
        classes: Class names; annotations of other classes are an error.
        normalization: How crops are normalised (see
            :func:`~ferroscreen.datamodules.crop_base.resolve_normalization`;
            ``auto`` levels from up to 64 of the annotated images).
        Other args: see :class:`CropDataModule`.
    """

    def __init__(
        self,
        annotations: str,
        classes: list[str] = ("alive", "apoptosis", "ferroptosis", "necroptosis"),
        crop_size: int = 48,
        batch_size: int = 128,
        num_workers: int = 0,
        balanced_sampler: bool = False,
        val_fraction: float = 0.25,
        seed: int = 0,
        normalization: str | dict | None = "percentile",
    ) -> None:
        super().__init__(list(classes), crop_size, batch_size, num_workers, balanced_sampler, val_fraction, seed)
        self.annotations = Path(annotations)
        self.normalization_spec = normalization

    def build_sets(self) -> CropSets:  # noqa: D102
        notes: list[str] = []
        ann = read_point_annotations(self.annotations, notes)
        if ann.empty:
            raise FerroscreenError(f"{self.annotations}: no classified points found")
        unknown = sorted(set(ann["class"]) - set(self.classes))
        if unknown:
            folded = {c.casefold(): c for c in self.classes}
            hint = [f"{u} -> {folded[u.casefold()]}" for u in unknown if u.casefold() in folded]
            raise FerroscreenError(f"{self.annotations}: classes {unknown} are not among {self.classes}"
                                   + (f" (class names are case-sensitive: {', '.join(hint)})" if hint else ""))
        ann = _drop_repeated_points(ann, self.annotations, notes)
        for img, grp in ann.groupby("image", sort=True):
            if not Path(img).is_file():
                raise FerroscreenError(f"{grp['source'].iloc[0]}: image {img} not found")
        ann["label"] = [self.classes.index(c) for c in ann["class"]]
        by_class: dict[int, list[str]] = {}
        for img, lab in zip(ann["image"], ann["label"], strict=True):
            by_class.setdefault(lab, []).append(img)
        absent = [c for i, c in enumerate(self.classes) if i not in by_class]
        if absent:
            raise FerroscreenError(
                f"{self.annotations}: no points of class(es) {', '.join(absent)}; a classifier cannot learn a class "
                f"it never sees (annotate them, or train on the annotated classes: --model.classes "
                f"'[{', '.join(c for c in self.classes if c not in absent)}]')")
        val_images = split_groups(by_class, self.val_fraction, self.seed)
        if not val_images:
            raise FerroscreenError(f"{self.annotations}: no validation images: the points lie in "
                                   f"{ann['image'].nunique()} image(s) and no class is in two of them "
                                   "(annotate more images)")
        parts = {True: ([], []), False: ([], [])}
        norm = resolve_normalization(self.normalization_spec, frame_sample(sorted(set(ann["image"])), self.seed))
        for img, grp in ann.groupby("image", sort=True):
            raw = load_image(img)
            h, w = raw.shape
            # a pixel's area (QuPath, ImageJ: 0 <= x < w) or its centre (-0.5 <= x <= w - 0.5) both lie on it
            outside = grp[(grp["x"] < -0.5) | (grp["x"] >= w) | (grp["y"] < -0.5) | (grp["y"] >= h)]
            if len(outside):
                r = outside.iloc[0]
                raise FerroscreenError(f"{r['source']}: point ({r['x']:g}, {r['y']:g}) lies outside its image "
                                       f"({w} x {h} px){f' (and {len(outside) - 1} more)' if len(outside) > 1 else ''}")
            frame = norm.apply(raw)
            det = pd.DataFrame({"x": grp["x"].to_numpy(), "y": grp["y"].to_numpy()})
            crops = extract_crops(frame, det, self.crop_size).astype(np.float16)
            xs, ys = parts[img in val_images]
            xs.append(crops)
            ys.append(grp["label"].to_numpy())
        empty = np.zeros((0, self.crop_size, self.crop_size), np.float16)

        def cat(arrs, fallback):
            return np.concatenate(arrs) if arrs else fallback

        return CropSets(
            cat(parts[False][0], empty),
            cat(parts[False][1], np.zeros(0, np.int64)),
            cat(parts[True][0], empty),
            cat(parts[True][1], np.zeros(0, np.int64)),
            {"source": str(self.annotations), "val_images": sorted(val_images), **({"notes": notes} if notes else {})},
            None,
            norm.to_meta(),
        )
