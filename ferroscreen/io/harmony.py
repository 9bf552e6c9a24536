"""Reader for Harmony exports (PerkinElmer/Revvity Operetta, Opera Phenix).

``Images/Index.idx.xml`` (``Images/Index.xml`` from Harmony 5 on) is authoritative: each ``<Image>`` element gives
``Row``, ``Col`` (1-based), ``FieldID``, ``PlaneID``, ``TimepointID``,
``ChannelID``/``ChannelName``, ``URL`` (relative to the XML) and optionally
``AbsTime`` and ``MeasurementTimeOffset`` (seconds). File names look like
``r01c01f01p01-ch1sk1fk1fl1.tiff`` (sk = timepoint). Times are hours since the
plate's first image, each timepoint at its earliest image: from ``AbsTime`` when
every timepoint has an image with one, else from ``MeasurementTimeOffset`` when
every timepoint has an image with one (images without the time chosen are noted;
their timepoint's other images time it); else ``(TimepointID - 1) x interval_h``
(the plate's first timepoint at 0 h; noted, saying why; refused without ``interval_h`` for more than one
timepoint: :func:`~ferroscreen.io.scan_interval.unstamped_interval`). An ``<Image>`` without
a ``URL`` is listed as skipped. The plate is named as :func:`_plate_name` says.
Channels are told apart by ``ChannelID``: a channel renamed during the measurement keeps the name
of its first timepoint (noted). A folder of export folders is read one level down
(:func:`find_harmony_indexes`), each measurement a plate.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.scan_interval import unstamped_interval
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


def _seconds(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _timepoint_seconds(records: list[dict], interval_h: float | None, notes: list[str], plate: str = ""
                       ) -> dict[int, float]:
    """Seconds from the plate's first image to each timepoint's earliest (the module docstring's rule); notes appended.

    Raises:
        NoScanInterval: Several timepoints without image times and no ``interval_h``
            (:func:`~ferroscreen.io.scan_interval.unstamped_interval`).

    ``records`` hold ``timepoint``, ``abs`` (a datetime or ``None``), ``offset_s`` (or ``None``) and ``path``.
    """
    tps = {r["timepoint"] for r in records}
    with_abs = [r for r in records if r["abs"] is not None]
    mixed = len({r["abs"].tzinfo is None for r in with_abs}) > 1  # some with a time zone, some without: no one clock
    kinds = (("abs", "AbsTime", [] if mixed else with_abs),
             ("offset_s", "MeasurementTimeOffset", [r for r in records if r["offset_s"] is not None]))
    gaps = []
    for key, name, timed in kinds:
        lacking = sorted(tps - {r["timepoint"] for r in timed})
        if lacking:
            shown = ", ".join(map(str, lacking[:3])) + (", …" if len(lacking) > 3 else "")
            gaps.append(f"{name} with time zones and without" if mixed and key == "abs" and with_abs
                        else f"no {name} for timepoint(s) {shown}")
            continue
        first = min(r[key] for r in timed)
        by_tp: dict[int, float] = {}
        for r in timed:
            s = r[key] - first
            s = s.total_seconds() if key == "abs" else s
            by_tp[r["timepoint"]] = min(by_tp.get(r["timepoint"], s), s)
        if len(timed) < len(records):
            untimed = next(r for r in records if r[key] is None)
            notes.append(f"{len(records) - len(timed)} of {len(records)} images without a usable {name} "
                         f"(first: {Path(untimed['path']).name}); each timepoint timed by its earliest other image")
        return by_tp
    base = min(tps)
    if all(r["abs"] is None and r["offset_s"] is None for r in records):
        why = "no image times in the index"
    else:
        why = f"image times do not cover every timepoint ({'; '.join(gaps)})"
    step = unstamped_interval(interval_h, len(tps), plate, f"{why}; TimepointID {min(tps)}-{max(tps)}")
    if len(tps) > 1:
        notes.append(f"{why}: time_h = (TimepointID - {base}) x {step:g} h (--interval-h)")
    return {t: (t - base) * step * 3600 for t in tps}


def _name_channels_by_id(records: list[dict], notes: list[str]) -> None:
    """Give the images of one ``ChannelID`` one channel name: the name of its earliest timepoint; notes appended.

    A channel renamed during a measurement (``Brightfield`` -> ``Brightfield 2`` from timepoint 10,
    its ``ChannelID`` the same) is one channel, not two each covering part of the time points.
    ``records`` hold ``channel``, ``channel_id`` (``None`` when the index gives none) and ``timepoint``.
    """
    names: dict[str, dict[str, int]] = {}  # ChannelID -> name -> its first timepoint
    for r in records:
        if r["channel_id"] is not None:
            seen = names.setdefault(r["channel_id"], {})
            seen[r["channel"]] = min(seen.get(r["channel"], r["timepoint"]), r["timepoint"])
    chosen = {}
    for cid, seen in names.items():
        if len(seen) < 2:
            continue
        order = sorted(seen, key=lambda n: (seen[n], n))
        chosen[cid] = order[0]
        named = ", ".join(f"'{n}' from timepoint {seen[n]}" for n in order)
        notes.append(f"ChannelID {cid} is named {named}: read as one channel '{order[0]}'")
    for r in records:
        if r["channel_id"] in chosen:
            r["channel"] = chosen[r["channel_id"]]


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
    folder = export_folder(index).name
    return folder.split("__")[0].strip() if "__" in folder and folder.split("__")[0].strip() else UNNAMED_PLATE


def find_harmony_indexes(root: Path) -> list[Path]:
    """The Harmony indexes of ``root``: its own (:func:`find_harmony_index`), else one per measurement folder in it.

    A folder holding export folders (``SPH01__2024-03-29T22_00_00-Measurement 1/``) gives the index of
    each, one level down (hidden folders passed over), in name order.
    """
    index = find_harmony_index(root)
    if index is not None:
        return [index]
    if not root.is_dir():
        return []
    subs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [i for i in map(find_harmony_index, subs) if i is not None]


def export_folder(index: Path) -> Path:
    """The export folder of an index (the folder above ``Images/``)."""
    return index.parent.parent if index.parent.name.lower() == "images" else index.parent


def read_harmony(root: str | Path, interval_h: float | None = None) -> Acquisition:
    """Read a Harmony export from its folder or its ``Index.idx.xml``, or the exports in a folder of them.

    Each export (measurement) is one plate; measurements one level down (:func:`find_harmony_indexes`)
    are read together when each is of another plate.

    Args:
        root: The export folder, its ``Images/`` folder, the index file, or a folder of export folders.
        interval_h: Hours between timepoints when the index gives no image times (``None``: not given;
            several such timepoints are then refused, :func:`~ferroscreen.io.scan_interval.unstamped_interval`).

    Raises:
        AcquisitionError: If the index is missing or malformed, or two measurements one level down
            are of one plate (naming both: give one).
    """
    root = Path(root)
    indexes = find_harmony_indexes(root)
    if not indexes:
        raise AcquisitionError(f"{root}: no Harmony Index.idx.xml / Index.xml found (looked in ./, Images/ and "
                               "the folders one level down)")
    if len(indexes) == 1:
        records, skipped, notes = _read_index(indexes[0], interval_h)
        return Acquisition(indexes[0].parent, "harmony", make_frame_table(records), skipped, notes)
    records, skipped, notes, plates = [], [], [], {}
    for index in indexes:
        got, missed, said = _read_index(index, interval_h)
        plate = got[0]["plate"]
        if plate in plates:
            raise AcquisitionError(f"{root}: two Harmony measurements of plate {plate}: "
                                   f"'{export_folder(plates[plate]).name}' and '{export_folder(index).name}'; "
                                   "give the folder of one of them")
        plates[plate] = index
        records += got
        skipped += missed
        notes += [f"plate {plate}: {n}" for n in said]
    return Acquisition(root, "harmony", make_frame_table(records), skipped, notes)


def _read_index(index: Path, interval_h: float | None) -> tuple[list[dict], list[tuple[str, str]], list[str]]:
    """Frame records (with ``time_h``), skipped entries and notes of one Harmony index.

    Raises:
        AcquisitionError: If the index is malformed or lists no usable image.
    """
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
                "channel_id": d.get("ChannelID") or None,
                "path": str((index.parent / d["URL"]).resolve()),
            }
        except (KeyError, ValueError) as exc:
            skipped.append((d.get("URL", "?"), f"incomplete <Image> entry ({exc})"))
            continue
        rec["abs"] = _abs_time(d["AbsTime"]) if d.get("AbsTime") else None
        rec["offset_s"] = _seconds(d.get("MeasurementTimeOffset") or "")
        records.append(rec)
    if not records:
        raise AcquisitionError(f"{index}: no usable <Image> entries")
    _name_channels_by_id(records, notes)
    by_tp = _timepoint_seconds(records, interval_h, notes, plate_id)
    for r in records:
        del r["abs"], r["offset_s"], r["channel_id"]
        r["time_h"] = by_tp[r.pop("timepoint")] / 3600
    return records, skipped, notes
