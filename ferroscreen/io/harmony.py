"""Reader for Harmony exports (PerkinElmer/Revvity Operetta, Opera Phenix).

``Images/Index.idx.xml`` (``Images/Index.xml`` from Harmony 5 on) is authoritative: each ``<Image>`` element gives
``Row``, ``Col`` (1-based), ``FieldID``, ``PlaneID``, ``TimepointID``,
``ChannelID``/``ChannelName``, ``URL`` (relative to the XML) and optionally
``MeasurementTimeOffset`` (seconds) or ``AbsTime``. File names look like
``r01c01f01p01-ch1sk1fk1fl1.tiff`` (sk = timepoint). Times are seconds since the
plate's first image, per timepoint the earliest image; without any time
element the timepoint index is used as hours (noted in ``notes``). An ``<Image>``
without a ``URL`` is listed as skipped. The plate is named as :func:`_plate_name` says.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.plate.layout import UNNAMED_PLATE
from ferroscreen.plate.wells import rowcol_to_well


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element) -> dict[str, str]:
    return {_local(c.tag): (c.text or "").strip() for c in el}


def find_harmony_index(root: Path) -> Path | None:
    """Return the Harmony index under ``root``, or None.

    ``Index.idx.xml`` (Harmony 4), ``Index.xml`` (Harmony 5 and later, also
    ``images/index.xml`` in archives) or the legacy ``Index.ref.xml``.
    """
    if root.is_file() and root.name.lower().startswith("index."):
        return root
    for rel in (
        "Index.idx.xml", "Images/Index.idx.xml", "Index.xml", "Images/Index.xml",  # Harmony 4 / Harmony 5+
        "images/Index.xml", "images/index.xml", "Index.ref.xml", "Images/Index.ref.xml",
    ):  # fmt: skip
        p = root / rel
        if p.is_file():
            return p
    return None


def _abs_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


_GUID = re.compile(r"^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$", re.I)


def _plate_name(xml_root: ET.Element, index: Path) -> str:
    """The plate's name, as the index or its export folder gives it.

    ``<PlateID>`` (the barcode), else the plate's ``<Name>`` (also over an ID that is a GUID), else
    the export folder's plate part (``<plate>__<date>-Measurement 1``), else ``plate1``.
    """
    plate = next((el for el in xml_root.iter() if _local(el.tag) == "Plate" and len(el)), None)
    fields = _children(plate) if plate is not None else {}
    plate_id, name = (fields.get("PlateID") or "").strip(), (fields.get("Name") or "").strip()
    if plate_id and not (_GUID.match(plate_id) and name):
        return plate_id
    if name:
        return name
    folder = index.parent.parent.name if index.parent.name.lower() == "images" else index.parent.name
    return folder.split("__")[0].strip() if "__" in folder and folder.split("__")[0].strip() else UNNAMED_PLATE


def read_harmony(root: str | Path) -> Acquisition:
    """Read a Harmony export from its folder or its ``Index.idx.xml``.

    Raises:
        AcquisitionError: If the index is missing or malformed.
    """
    root = Path(root)
    index = find_harmony_index(root)
    if index is None:
        raise AcquisitionError(f"{root}: no Harmony Index.idx.xml / Index.xml found (looked in ./ and Images/)")
    try:
        tree = ET.parse(index)
    except ET.ParseError as exc:
        raise AcquisitionError(f"{index}: malformed Harmony index ({exc})") from None
    xml_root = tree.getroot()
    plate_id = _plate_name(xml_root, index)
    images = [el for el in xml_root.iter() if _local(el.tag) == "Image" and len(el)]
    if not images:
        raise AcquisitionError(f"{index}: Harmony index lists no images")
    records, skipped, notes = [], [], []
    for el in images:
        d = _children(el)
        if not (d.get("URL") or "").strip():
            skipped.append((f"{index.name} <Image> {d.get('id') or el.get('id') or '?'}", "listed without a file name"))
            continue
        try:
            row, col = int(d["Row"]) - 1, int(d["Col"]) - 1
            rec = {
                "plate": plate_id,
                "well": rowcol_to_well(row, col),
                "field": int(d.get("FieldID", 1)),
                "z": int(d.get("PlaneID", 1)) - 1,
                "timepoint": int(d.get("TimepointID", 0)),
                "channel": d.get("ChannelName") or f"ch{d.get('ChannelID', '1')}",
                "path": str((index.parent / d["URL"]).resolve()),
            }
        except (KeyError, ValueError) as exc:
            skipped.append((d.get("URL", "?"), f"incomplete <Image> entry ({exc})"))
            continue
        if d.get("MeasurementTimeOffset"):
            rec["offset_s"] = float(d["MeasurementTimeOffset"])
        elif d.get("AbsTime") and (t := _abs_time(d["AbsTime"])):
            rec["abs"] = t
        records.append(rec)
    if not records:
        raise AcquisitionError(f"{index}: no usable <Image> entries")
    by_tp: dict[int, float] = {}
    if all("abs" in r for r in records):
        t0 = min(r["abs"] for r in records)
        for r in records:
            s = (r.pop("abs") - t0).total_seconds()
            by_tp[r["timepoint"]] = min(by_tp.get(r["timepoint"], s), s)
    elif all("offset_s" in r for r in records):  # seconds since the measurement started: from the first image
        first = min(r["offset_s"] for r in records)
        for r in records:
            s = r.pop("offset_s") - first
            by_tp[r["timepoint"]] = min(by_tp.get(r["timepoint"], s), s)
    else:
        notes.append("no image times in the index: time_h is the timepoint index")
        by_tp = {r["timepoint"]: r["timepoint"] * 3600.0 for r in records}
    for r in records:
        r.pop("abs", None)
        r.pop("offset_s", None)
        r["time_h"] = by_tp[r.pop("timepoint")] / 3600
    return Acquisition(index.parent, "harmony", make_frame_table(records), skipped, notes)
