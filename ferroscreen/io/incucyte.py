"""IncuCyte readers: the image export and the raw ``EssenFiles`` archive.

Image export file names (wells are not zero-padded, fields 1-based)::

    VID119_B2_1_2024y01m15d_10h30m.tif          absolute scan time
    VID1957_phase_E11_5_06d12h05m.tif           elapsed time since the first scan
    VID1957_phase_E11_5_plane2_06d12h05m.tif    optional z plane

Absolute times are converted to hours since the first scan of that VID.
The raw archive is ``EssenFiles/ScanData/YYMM/DD/HHMM/<plateID>/<Well>-<Field>-<Channel>.tif``.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.segment_outputs import input_paths
from ferroscreen.plate.layout import UNNAMED_PLATE
from ferroscreen.plate.wells import normalize_well, short_well

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")

EXPORT_RE = re.compile(
    r"^VID(?P<vid>\d+)_(?:(?P<channel>[A-Za-z][A-Za-z0-9]*)_)??"
    r"(?P<well>[A-Za-z]{1,2}\d{1,2})_(?P<field>\d+)(?:_plane(?P<z>\d+))?_"
    r"(?:(?P<Y>\d{4})y(?P<mo>\d{2})m(?P<d>\d{2})d_(?P<H>\d{2})h(?P<Mi>\d{2})m"
    r"|(?P<ed>\d+)d(?P<eh>\d{2})h(?P<em>\d{2})m)"
    r"\.(?:tiff?|png|jpe?g)$",
    re.IGNORECASE,
)

#: Export names with another prefix than ``VID<n>`` (renamed in the export dialog): ``DE_A549_B10_6_00d00h00m.tif``,
#: ``R2_MDF_green_B2_1_00d04h00m.tif``; the well, image and time tail is IncuCyte's own.
PREFIXED_EXPORT_RE = re.compile(
    r"^(?P<prefix>.+)_(?P<well>[A-Za-z]{1,2}\d{1,2})_(?P<field>\d+)(?:_plane(?P<z>\d+))?_"
    r"(?:(?P<Y>\d{4})y(?P<mo>\d{2})m(?P<d>\d{2})d_(?P<H>\d{2})h(?P<Mi>\d{2})m"
    r"|(?P<ed>\d+)d(?P<eh>\d{2})h(?P<em>\d{2})m)"
    r"\.(?:tiff?|png|jpe?g)$",
    re.IGNORECASE,
)
#: IncuCyte channel names, as a prefix's last part or the export's folder names them.
CHANNEL_WORDS = ("phase", "green", "red", "nir", "orange", "blue", "brightfield")

ARCHIVE_RE = re.compile(
    r"(?:^|/)ScanData/(?P<yymm>\d{4})/(?P<dd>\d{2})/(?P<hhmm>\d{4})/(?P<plate>[^/]+)/"
    r"(?P<well>[A-Za-z]{1,2}\d{1,2})-(?P<field>\d+)-(?P<channel>[A-Za-z0-9]+)\.(?:tiff?|png)$",
    re.IGNORECASE,
)


def incucyte_export_name(
    vid: int, well: str, field: int, elapsed_h: float, channel: str = "phase", z: int | None = None
) -> str:
    """File name of one frame in the IncuCyte elapsed-time export style."""
    minutes = int(round(elapsed_h * 60))
    d, rem = divmod(minutes, 24 * 60)
    h, m = divmod(rem, 60)
    plane = f"_plane{z}" if z is not None else ""
    return f"VID{vid}_{channel}_{short_well(well)}_{field}{plane}_{d:02d}d{h:02d}h{m:02d}m.tif"


def parse_export_name(name: str, folder: str = "") -> dict | None:
    """Parse an export file name into frame fields (``None`` if it does not match).

    ``VID<n>_[<channel>_]<well>_<image>_<time>`` is plate ``VID<n>``; another prefix is the plate,
    without a channel word in it (``R2_MDF_green``: plate ``R2_MDF``, channel ``green``), the
    channel else the file's ``folder`` when that names one (``Phase/``), else ``phase``.

    Returns a dict with ``plate``, ``well``, ``field``, ``channel``, ``z`` and
    either ``time_h`` (elapsed style) or ``abs_time`` (absolute style).

    Raises:
        WellError: The well is not a well id.
        ValueError: An absolute time that is no date and time (month 13, 30 February, hour 25),
            said in one line without the path.
    """
    m = EXPORT_RE.match(name)
    if m:
        plate, channel = f"VID{m['vid']}", (m["channel"] or "phase").lower()
    elif (m := PREFIXED_EXPORT_RE.match(name)) is not None:
        parts = m["prefix"].split("_")
        said = next((p.lower() for p in reversed(parts) if p.lower() in CHANNEL_WORDS), None)
        channel = said or (folder.lower() if folder and folder.lower() in CHANNEL_WORDS else "phase")
        plate = "_".join(p for p in parts if p.lower() != said) or UNNAMED_PLATE
    else:
        return None
    rec = {
        "plate": plate,
        "well": normalize_well(m["well"]),
        "field": int(m["field"]),
        "channel": channel,
        "z": int(m["z"]) if m["z"] else 0,
    }
    if m["ed"] is not None:
        rec["time_h"] = int(m["ed"]) * 24 + int(m["eh"]) + int(m["em"]) / 60
    else:
        try:
            rec["abs_time"] = datetime(int(m["Y"]), int(m["mo"]), int(m["d"]), int(m["H"]), int(m["Mi"]))
        except ValueError as exc:  # 2024y13m15d, 30 February, 25h, 61m
            raise ValueError(f"no such date and time in its name: {m['Y']}y{m['mo']}m{m['d']}d_{m['H']}h{m['Mi']}m "
                             f"({exc})") from None
    return rec


def _iter_images(root: Path, notes: list[str]):
    """Image files under ``root`` in path order; segment outputs and temporary files passed over, said in ``notes``."""
    walk = input_paths(root)
    if walk.note:
        notes.append(walk.note)
    for p in walk.paths:
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."):
            yield p


def _relative_hours(records: list[dict], key: str = "abs_time") -> None:
    firsts: dict[str, datetime] = {}
    for r in records:
        if key in r:
            firsts[r["plate"]] = min(firsts.get(r["plate"], r[key]), r[key])
    for r in records:
        if key in r:
            r["time_h"] = (r.pop(key) - firsts[r["plate"]]).total_seconds() / 3600


def read_incucyte_export(root: str | Path) -> Acquisition:
    """Read an IncuCyte image export folder (searched recursively).

    Raises:
        AcquisitionError: If no file under ``root`` follows the export naming.
    """
    root = Path(root)
    records, skipped, notes = [], [], []
    for p in _iter_images(root, notes):
        try:
            rec = parse_export_name(p.name, p.parent.name)
        except ValueError as exc:  # a WellError too
            skipped.append((str(p), str(exc)))
            continue
        if rec is None:
            skipped.append((str(p), "name does not follow the IncuCyte export pattern"))
            continue
        rec["path"] = str(p.resolve())
        records.append(rec)
    if not records:
        first = f"; {len(skipped)} file(s) skipped, the first {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise AcquisitionError(
            f"{root}: no IncuCyte export images found (expected names like "
            f"VID1_phase_B2_1_00d04h00m.tif){first}"
        )
    _relative_hours(records)
    return Acquisition(root, "incucyte", make_frame_table(records), skipped, notes)


def read_incucyte_archive(root: str | Path) -> Acquisition:
    """Read a raw IncuCyte archive (``EssenFiles/ScanData/...``).

    Times are hours since the first scan of each plate id.

    Raises:
        AcquisitionError: If no archive image is found under ``root``.
    """
    root = Path(root)
    records, skipped, notes = [], [], []
    for p in _iter_images(root, notes):
        m = ARCHIVE_RE.search(p.as_posix())
        if not m:
            skipped.append((str(p), "not an EssenFiles/ScanData/YYMM/DD/HHMM/<plate>/<well>-<field>-<channel> path"))
            continue
        yymm, dd, hhmm = m["yymm"], m["dd"], m["hhmm"]
        try:
            when = datetime(2000 + int(yymm[:2]), int(yymm[2:]), int(dd), int(hhmm[:2]), int(hhmm[2:]))
        except ValueError as exc:  # ScanData/2413/..., a 30th of February, hour 25
            skipped.append((str(p), f"no such date and time in its path: ScanData/{yymm}/{dd}/{hhmm} ({exc})"))
            continue
        try:
            well = normalize_well(m["well"])
        except WellError as exc:
            skipped.append((str(p), str(exc)))
            continue
        records.append(
            {
                "plate": m["plate"],
                "well": well,
                "field": int(m["field"]),
                "channel": m["channel"],
                "z": 0,
                "abs_time": when,
                "path": str(p.resolve()),
            }
        )
    if not records:
        raise AcquisitionError(f"{root}: no IncuCyte archive images under EssenFiles/ScanData")
    _relative_hours(records)
    return Acquisition(root, "incucyte_archive", make_frame_table(records), skipped, notes)
