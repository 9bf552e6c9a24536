"""OME-XML (the OME data model of OME-TIFF files and companion files) as plain records.

Only what an acquisition needs is parsed: each ``Image`` (name, acquisition
date, stage label, channel names, the ``Pixels`` sizes, dimension order and
time increment), where each of its planes lies (``TiffData``: file name,
IFD, plane count, first z/c/t, following the OME-TIFF rules for omitted
attributes), each plane's ``DeltaT``, and the HCS model (``Plate`` ->
``Well`` (0-based ``Row``/``Column``) -> ``WellSample`` -> ``ImageRef``, and
``PlateAcquisition`` -> ``WellSampleRef``). Namespaces of every schema
version (2008-2016) are ignored; element names are matched locally.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["OmeImage", "OmePlane", "OmeDocument", "WellSite", "parse_ome_xml", "parse_ome_datetime"]

#: Seconds per OME ``UnitsTime`` symbol (the ones instruments write).
TIME_UNITS_S = {
    "s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0, "d": 86400.0,
}


@dataclass(frozen=True)
class OmePlane:
    """One plane of an image: its indices and where its pixels are.

    ``file`` is the ``UUID`` element's ``FileName`` (relative to the XML's
    folder), or ``None``: then ``uuid`` (the UUID element's text) names the
    file by its root UUID, and without it the plane is in the file holding the
    XML. ``ifd`` is 0-based.
    """

    z: int
    c: int
    t: int
    file: str | None
    ifd: int
    uuid: str | None = None  # the UUID naming the file when no FileName does


@dataclass
class OmeImage:
    """One OME ``Image``: a field of view (a stage position) over time, channels and z."""

    id: str
    name: str
    acquired: datetime | None
    stage_label: str
    channels: list[str]
    size_z: int
    size_c: int
    size_t: int
    time_increment_s: float | None
    planes: list[OmePlane] = field(default_factory=list)
    delta_t_s: dict[tuple[int, int, int], float] = field(default_factory=dict)  # (z, c, t) -> seconds


@dataclass(frozen=True)
class WellSite:
    """Where the HCS model puts an image: plate, well (0-based row/column), sample index, acquisition."""

    plate: str
    row: int
    column: int
    index: int
    acquisition: int
    timepoint: datetime | None
    position: tuple[float, float] | None  # PositionX, PositionY: one field's samples share it


@dataclass
class OmeDocument:
    """A parsed OME-XML document: its images by ID, HCS sites by image ID, and ``BinaryOnly``."""

    images: dict[str, OmeImage]
    sites: dict[str, WellSite]
    binary_only: str | None  # the companion file a BinaryOnly block names


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _int(el: ET.Element, attr: str, default: int | None = None) -> int | None:
    value = el.get(attr)
    if value is None or not value.strip():
        return default
    try:
        return int(float(value))
    except ValueError:
        raise ValueError(f"{_local(el.tag)} {attr}={value!r} is not a number") from None


def _seconds(value: str | None, unit: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number * TIME_UNITS_S.get((unit or "s").strip(), 1.0)


_FRACTION_RE = re.compile(r"(\.\d{6})\d+")
_ZONE_RE = re.compile(r"\s+(?=[+-]\d{2}:?\d{2}$)")


def parse_ome_datetime(text: str | None) -> datetime | None:
    """An OME ``dateTime`` (ISO 8601, optional fraction and zone) as an aware UTC datetime, or None."""
    if not text or not text.strip():
        return None
    value = _ZONE_RE.sub("", _FRACTION_RE.sub(r"\1", text.strip().replace("Z", "+00:00")))
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


def _plane_indices(order: str, sizes: dict[str, int], first: tuple[int, int, int], count: int):
    """``count`` (z, c, t) indices from ``first`` on, in ``DimensionOrder`` (``XYZCT``: z fastest)."""
    axes = [a for a in order.upper()[2:] if a in "ZCT"] or list("ZCT")
    dims = [sizes[a] for a in axes]
    start = {"Z": first[0], "C": first[1], "T": first[2]}
    flat = 0
    for a, d in zip(reversed(axes), reversed(dims), strict=True):
        flat = flat * d + start[a]
    total = dims[0] * dims[1] * dims[2]
    for i in range(flat, min(flat + count, total)):
        idx, rest = {}, i
        for a, d in zip(axes, dims, strict=True):
            idx[a], rest = rest % d, rest // d
        yield idx["Z"], idx["C"], idx["T"]


def _image(el: ET.Element) -> OmeImage:
    pixels = _child(el, "Pixels")
    if pixels is None:
        raise ValueError(f"Image {el.get('ID')!r} has no Pixels element")
    size_z, size_t = _int(pixels, "SizeZ", 1) or 1, _int(pixels, "SizeT", 1) or 1
    channel_els = _children(pixels, "Channel")
    size_c = _int(pixels, "SizeC", 1) or 1
    samples = [(_int(c, "SamplesPerPixel", 1) or 1) for c in channel_els]
    if channel_els and sum(samples) == size_c and len(channel_els) < size_c:
        size_c = len(channel_els)  # RGB: one channel of several samples per plane
    names = []
    for i in range(size_c):
        ch = channel_els[i] if i < len(channel_els) else None
        label = (ch.get("Name") or ch.get("Fluor") or "").strip() if ch is not None else ""
        names.append(label or f"ch{i + 1}")
    stage = _child(el, "StageLabel")
    date = _child(el, "AcquisitionDate") if _child(el, "AcquisitionDate") is not None else _child(el, "AcquiredDate")
    image = OmeImage(
        id=el.get("ID", ""), name=(el.get("Name") or "").strip(),
        acquired=parse_ome_datetime(date.text if date is not None else None),
        stage_label=(stage.get("Name") or "").strip() if stage is not None else "",
        channels=names, size_z=size_z, size_c=size_c, size_t=size_t,
        time_increment_s=_seconds(pixels.get("TimeIncrement"), pixels.get("TimeIncrementUnit")),
    )
    sizes = {"Z": size_z, "C": size_c, "T": size_t}
    order = pixels.get("DimensionOrder") or "XYZCT"
    n_planes = size_z * size_c * size_t
    tiff_data = _children(pixels, "TiffData")
    for td in tiff_data:
        ifd = _int(td, "IFD")
        if ifd is not None and ifd < 0:
            raise ValueError(f"Image {image.id!r}: TiffData IFD={ifd} is negative")
        count = _int(td, "PlaneCount")
        if count is None:
            count = 1 if ifd is not None else n_planes
        first = (_int(td, "FirstZ", 0), _int(td, "FirstC", 0), _int(td, "FirstT", 0))
        uuid = _child(td, "UUID")
        file = (uuid.get("FileName") or "").strip() or None if uuid is not None else None
        uid = (uuid.text or "").strip() or None if uuid is not None and file is None else None
        for k, (z, c, t) in enumerate(_plane_indices(order, sizes, first, count)):
            image.planes.append(OmePlane(z, c, t, file, (ifd or 0) + k, uid))
    for plane in _children(pixels, "Plane"):
        seconds = _seconds(plane.get("DeltaT"), plane.get("DeltaTUnit"))
        if seconds is not None:
            key = (_int(plane, "TheZ", 0), _int(plane, "TheC", 0), _int(plane, "TheT", 0))
            image.delta_t_s.setdefault(key, seconds)
    return image


def _position(sample: ET.Element) -> tuple[float, float] | None:
    try:
        return float(sample.get("PositionX")), float(sample.get("PositionY"))
    except (TypeError, ValueError):
        return None


def _plates(root: ET.Element) -> dict[str, WellSite]:
    sites: dict[str, WellSite] = {}
    for p_index, plate in enumerate(_children(root, "Plate")):
        name = (plate.get("Name") or "").strip() or (plate.get("ID") or "").strip() or f"plate{p_index + 1}"
        acquisition_of: dict[str, int] = {}
        acquisitions = _children(plate, "PlateAcquisition")
        starts = [parse_ome_datetime(a.get("StartTime")) for a in acquisitions]
        order = sorted(range(len(acquisitions)), key=lambda i: (starts[i] is None, starts[i] or 0, i)) \
            if all(s is not None for s in starts) else list(range(len(acquisitions)))
        for rank, i in enumerate(order):
            for ref in _children(acquisitions[i], "WellSampleRef"):
                acquisition_of[ref.get("ID", "")] = rank
        for well in _children(plate, "Well"):
            row, column = _int(well, "Row"), _int(well, "Column")
            if row is None or column is None:
                raise ValueError(f"Plate {name!r}: a Well without Row/Column")
            if not (0 <= row < 32 and 0 <= column < 48):  # 1536 wells: 32 rows x 48 columns, 0-based
                raise ValueError(f"Plate {name!r}: Well Row={row} Column={column} lies on no plate (0-based, "
                                 "at most 32 x 48)")
            for s_index, sample in enumerate(_children(well, "WellSample")):
                ref = _child(sample, "ImageRef")
                if ref is None or not ref.get("ID"):
                    continue
                sites[ref.get("ID")] = WellSite(
                    plate=name, row=row, column=column, index=_int(sample, "Index", s_index),
                    acquisition=acquisition_of.get(sample.get("ID", ""), 0),
                    timepoint=parse_ome_datetime(sample.get("Timepoint")),
                    position=_position(sample),
                )
    return sites


def parse_ome_xml(text: str) -> OmeDocument:
    """Parse an OME-XML document.

    Raises:
        ValueError: Not XML, not an ``OME`` root, or an element the model needs is malformed
            (the message says which).
    """
    try:
        root = ET.fromstring(text.lstrip("\ufeff").strip().encode("utf-8"))
    except ET.ParseError as exc:
        raise ValueError(f"OME-XML that is not XML ({exc})") from None
    if _local(root.tag) != "OME":
        raise ValueError(f"XML whose root is <{_local(root.tag)}>, not <OME>")
    images = {}
    for el in _children(root, "Image"):
        image = _image(el)
        images[image.id] = image
    binary = _child(root, "BinaryOnly")
    return OmeDocument(images, _plates(root), binary.get("MetadataFile") if binary is not None else None)
