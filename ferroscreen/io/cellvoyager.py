"""Reader for Yokogawa CellVoyager (CV7000, CV7000S, CV8000) and CQ1 measurement folders.

One measurement folder holds one 16-bit TIFF per well, time point, field,
timeline, action, z step and channel::

    <plate type>_<well>_T<tp:4>F<field:3>L<timeline:2>A<action:2>Z<z:2>C<ch:2>.tif
        AssayPlate_Greiner_#655090_B03_T0001F001L01A01Z01C01.tif

and the instrument's XML (namespace ``http://www.yokogawa.co.jp/BTS/BTSSchema/1.0``,
attributes prefixed ``bts:``):

- ``MeasurementData.mlf``: one ``MeasurementRecord`` per image (``Type="IMG"``)
  or failed acquisition (``Type="ERR"``, e.g. autofocus), with ``Time`` (ISO
  8601, usually with its zone), ``Row``/``Column`` (1-based), ``TimePoint``,
  ``FieldIndex``, ``TimelineIndex``, ``ActionIndex``, ``ZIndex``, ``Ch``,
  ``ZImageProcessing`` (a projection such as ``MIP``) and the file name as text.
- ``MeasurementDetail.mrf``: the run (``Title``, ``MeasurementSettingFileName``).
- ``<setting>.mes``: the protocol; its ``ChannelList/Channel`` elements give each
  ``Ch`` a ``Target`` (e.g. ``Hoechst``, ``BF``), ``Fluorophore`` and ``Method``.

Frame table: the plate is the measurement folder's name (the file names carry the
plate *type*, the same for every plate); channels are named by the protocol's
target, else fluorophore, else ``Brightfield`` for a bright-field method, else
``C01``...; a projection is a channel of its own (``Hoechst MIP``); ``z`` is
``ZIndex - 1``. Times: each timeline's time point is at its earliest image's
``Time``, in hours after the measurement's first image. ERR records and listed
images missing on disk (a ``.png`` copy of a listed ``.tif`` is used) go to
``skipped``. A folder of CellVoyager-named images without ``MeasurementData.mlf``
is read from the names alone: time point ``T`` at ``(T - 1) x interval_h`` and
channels ``C01``... (noted in ``notes``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.naming import named_images
from ferroscreen.io.scan_interval import unstamped_interval
from ferroscreen.plate.wells import rowcol_to_well

__all__ = ["NAME_RE", "find_measurements", "is_cellvoyager_name", "read_cellvoyager"]

NAME_RE = re.compile(
    r"^(?P<plate>.+)_(?P<well>[A-Pa-p][0-9]{2})_T(?P<t>\d{4})F(?P<field>\d{3})L(?P<timeline>\d{2})"
    r"A(?P<action>\d{2})Z(?P<z>\d{2})C(?P<ch>\d{2})\.(?:tiff?|png)$"
)
MLF = "MeasurementData.mlf"
_BRIGHTFIELD_METHOD = re.compile(r"bright|\bbf\b|phase|transmi", re.IGNORECASE)


def is_cellvoyager_name(name: str) -> bool:
    """Whether a file name follows CellVoyager's ``<plate>_<well>_T0001F001L01A01Z01C01.tif``."""
    return NAME_RE.match(name) is not None


def find_measurements(root: Path) -> list[Path]:
    """The ``MeasurementData.mlf`` files of ``root`` (a measurement folder or a folder of them, one level down)."""
    if root.is_file():
        return [root] if root.name == MLF else []
    if (root / MLF).is_file():
        return [root / MLF]
    return sorted(p for p in root.glob(f"*/{MLF}") if p.is_file())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attrs(el: ET.Element) -> dict[str, str]:
    return {_local(k): v for k, v in el.attrib.items()}


def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise AcquisitionError(f"{path}: malformed CellVoyager XML ({exc})") from None
    except OSError as exc:
        raise AcquisitionError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _time(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _channel_names(folder: Path, notes: list[str]) -> dict[int, str]:
    """``Ch`` -> name from the protocol (``.mes``) that ``MeasurementDetail.mrf`` names; {} when absent."""
    mes: Path | None = None
    mrf = folder / "MeasurementDetail.mrf"
    if mrf.is_file():
        name = _attrs(_parse(mrf)).get("MeasurementSettingFileName", "")
        if name and (folder / name).is_file():
            mes = folder / name
    if mes is None:
        candidates = sorted(folder.glob("*.mes"))
        mes = candidates[0] if len(candidates) == 1 else None
    if mes is None:
        notes.append(f"{folder.name}: no measurement setting (.mes): channels are named C01, C02, ...")
        return {}
    names: dict[int, str] = {}
    for el in _parse(mes).iter():
        if _local(el.tag) != "Channel":
            continue
        a = _attrs(el)
        try:
            ch = int(a["Ch"])
        except (KeyError, ValueError):
            continue
        name = a.get("Target", "").strip() or a.get("Fluorophore", "").strip()
        if not name and _BRIGHTFIELD_METHOD.search(a.get("Method", "")):
            name = "Brightfield"
        names[ch] = name or f"C{ch:02d}"
    counts: dict[str, int] = {}
    for n in names.values():
        counts[n] = counts.get(n, 0) + 1
    return {ch: (f"{n} C{ch:02d}" if counts[n] > 1 else n) for ch, n in names.items()}


def _image_file(folder: Path, name: str) -> Path | None:
    p = folder / name
    if p.is_file():
        return p
    alt = p.with_suffix(".png")
    return alt if alt.is_file() else None


def _records_from_mlf(mlf: Path, plate: str, skipped: list, notes: list) -> list[dict]:
    folder = mlf.parent
    channels = _channel_names(folder, notes)
    records, missing = [], 0
    for el in _parse(mlf).iter():
        if _local(el.tag) != "MeasurementRecord":
            continue
        a = _attrs(el)
        text = (el.text or "").strip()
        where = f"{mlf}: {a.get('Type', '?')} record at row {a.get('Row', '?')} column {a.get('Column', '?')}"
        if a.get("Type", "IMG") != "IMG":
            skipped.append((text or where, f"instrument error record ({a.get('Type')}{': ' + text if text else ''})"))
            continue
        try:
            ch = int(a["Ch"])
            rec = {
                "plate": plate,
                "well": rowcol_to_well(int(a["Row"]) - 1, int(a["Column"]) - 1),
                "field": int(a.get("FieldIndex", 1)),
                "z": max(int(a.get("ZIndex", 1)) - 1, 0),
                "channel": channels.get(ch, f"C{ch:02d}"),
                "timeline": int(a.get("TimelineIndex", 1)),
                "timepoint": int(a.get("TimePoint", 1)),
            }
        except (KeyError, ValueError) as exc:
            skipped.append((text or where, f"incomplete MeasurementRecord ({exc})"))
            continue
        if a.get("ZImageProcessing", "").strip():
            rec["channel"] = f"{rec['channel']} {a['ZImageProcessing'].strip()}"
        path = _image_file(folder, text) if text else None
        if path is None:
            missing += 1
            skipped.append((str(folder / text), "listed in MeasurementData.mlf but not on disk"))
            continue
        rec["path"] = str(path.resolve())
        rec["when"] = _time(a.get("Time", ""))
        records.append(rec)
    if missing:
        notes.append(f"{folder.name}: {missing} image(s) listed in {MLF} are not on disk (see skipped)")
    return records


def _records_from_names(root: Path, skipped: list, notes: list[str]) -> list[dict]:
    records = []
    for p, m, well in named_images(root, NAME_RE, skipped, notes):
        records.append({
            "plate": p.parent.name,
            "well": well,
            "field": int(m["field"]),
            "z": int(m["z"]) - 1,
            "channel": f"C{int(m['ch']):02d}",
            "timeline": int(m["timeline"]),
            "timepoint": int(m["t"]),
            "path": str(p.resolve()),
            "when": None,
        })
    return records


def _set_times(records: list[dict], interval_h: float | None, notes: list[str]) -> None:
    """``time_h`` per plate, timeline and time point: its earliest image, hours after the plate's first image."""
    by_plate: dict[str, list[dict]] = {}
    for r in records:
        by_plate.setdefault(r["plate"], []).append(r)
    for plate, recs in by_plate.items():
        if all(r["when"] is not None for r in recs):
            t0 = min(r["when"] for r in recs)
            start: dict[tuple[int, int], float] = {}
            for r in recs:
                key = (r["timeline"], r["timepoint"])
                s = (r["when"] - t0).total_seconds()
                start[key] = min(start.get(key, s), s)
            for r in recs:
                r["time_h"] = start[(r["timeline"], r["timepoint"])] / 3600
        else:
            points = {(r["timeline"], r["timepoint"]) for r in recs}
            step = unstamped_interval(interval_h, len(points), plate, "time points T of the file names")
            if len(points) > 1:
                notes.append(f"{plate}: no image times: time point T is at (T - 1) x {step:g} h (--interval-h)")
            for r in recs:
                r["time_h"] = (r["timepoint"] - 1) * step
        for r in recs:
            del r["when"], r["timepoint"], r["timeline"]  # timelines imaging one site interleave in time


def read_cellvoyager(root: str | Path, interval_h: float | None = None) -> Acquisition:
    """Read a CellVoyager/CQ1 measurement folder, a folder of them, or its ``MeasurementData.mlf``.

    Each measurement folder is one plate, named by the folder (folders of the
    same name are told apart by their path under ``root``).

    Raises:
        AcquisitionError: Unreadable or malformed XML, or no usable image.
    """
    root = Path(root)
    skipped: list[tuple[str, str]] = []
    notes: list[str] = []
    mlfs = find_measurements(root)
    base = root.parent if root.is_file() else root
    if mlfs:
        names = [m.parent.name for m in mlfs]
        records = []
        for mlf, name in zip(mlfs, names, strict=True):
            plate = name if names.count(name) == 1 else mlf.parent.relative_to(base.parent).as_posix()
            records += _records_from_mlf(mlf, plate, skipped, notes)
        where = ", ".join(str(m) for m in mlfs)
    else:
        records = _records_from_names(root, skipped, notes)
        where = str(root)
        if records:
            notes.append(f"no {MLF}: plates, wells, fields and channels are read from the file names")
    if not records:
        raise AcquisitionError(
            f"{where}: no usable CellVoyager images (<plate>_<well>_T0001F001L01A01Z01C01.tif listed in {MLF})"
        )
    _set_times(records, interval_h, notes)
    if skipped:
        notes.append(f"{len(skipped)} record(s)/file(s) skipped (see skipped)")
    return Acquisition(base if root.is_file() else root, "cellvoyager", make_frame_table(records), skipped, notes)
