"""Reader for Molecular Devices ImageXpress (MetaXpress) exports.

Layout::

    <root>/[<plate>.HTD]
    <root>/TimePoint_<t>/[ZStep_<z>/]<plate>_<A01>[_s<site>][_w<wl>][<GUID>].TIF

``_thumb`` files are ignored. Times come from the MetaMorph
``acquisition-time-local`` tag of the first image of each timepoint when
present, otherwise ``(t - 1) × interval_h`` (noted in ``notes``).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.plate.wells import normalize_well

_NAME_RE = re.compile(
    r"^(?P<plate>.+?)_(?P<well>[A-Za-z]{1,2}\d{2})(?:_s(?P<site>\d+))?(?:_w(?P<wl>\d+))?"
    r"(?P<guid>[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}|\{[^}]*\})?"
    r"\.tiff?$",
    re.IGNORECASE,
)
_TP_RE = re.compile(r"^TimePoint_(\d+)$", re.IGNORECASE)
_Z_RE = re.compile(r"^ZStep_(\d+)$", re.IGNORECASE)


def is_imagexpress(root: Path) -> bool:
    """Whether ``root`` holds ``TimePoint_<n>`` folders or an ``.HTD`` file."""
    if not root.is_dir():
        return False
    return any(_TP_RE.match(p.name) for p in root.iterdir() if p.is_dir()) or any(
        root.glob("*.HTD")
    ) or any(root.glob("*.htd"))


def _tiff_time(path: Path) -> datetime | None:
    try:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            meta = tif.metaseries_metadata if tif.is_metaseries else None
        if not meta:
            return None
        stamp = meta.get("PlaneInfo", {}).get("acquisition-time-local")
        return stamp if isinstance(stamp, datetime) else None
    except Exception:  # metadata is optional; any failure falls back to the index
        return None


def read_imagexpress(root: str | Path, interval_h: float = 1.0) -> Acquisition:
    """Read an ImageXpress export folder.

    Args:
        root: The plate folder holding ``TimePoint_<t>`` folders (or the images directly).
        interval_h: Hours between timepoints when the TIFFs carry no acquisition time.

    Raises:
        AcquisitionError: If no ImageXpress image is found.
    """
    root = Path(root)
    records, skipped, notes = [], [], []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in (".tif", ".tiff"):
            continue
        if "_thumb" in p.name.lower():
            continue
        m = _NAME_RE.match(p.name)
        if not m:
            skipped.append((str(p), "name does not follow <plate>_<A01>_s<site>_w<wl>.TIF"))
            continue
        t, z = 1, 0
        for part in p.relative_to(root).parts[:-1]:
            if mt := _TP_RE.match(part):
                t = int(mt.group(1))
            elif mz := _Z_RE.match(part):
                z = int(mz.group(1)) - 1
        try:
            well = normalize_well(m["well"])
        except WellError as exc:
            skipped.append((str(p), str(exc)))
            continue
        records.append(
            {
                "plate": m["plate"],
                "well": well,
                "field": int(m["site"] or 1),
                "channel": f"w{m['wl'] or 1}",
                "z": z,
                "timepoint": t,
                "path": str(p.resolve()),
            }
        )
    if not records:
        raise AcquisitionError(
            f"{root}: no ImageXpress images found (expected TimePoint_<t>/<plate>_<A01>_s1_w1.TIF)"
        )
    firsts: dict[int, str] = {}
    for r in records:
        firsts.setdefault(r["timepoint"], r["path"])
    stamps = {t: _tiff_time(Path(p)) for t, p in firsts.items()}
    if all(stamps.values()):
        t0 = min(stamps.values())
        hours = {t: (s - t0).total_seconds() / 3600 for t, s in stamps.items()}
    else:
        notes.append(f"no acquisition times in the TIFFs: time_h = (TimePoint - 1) × {interval_h} h")
        hours = {t: (t - 1) * interval_h for t in stamps}
    for r in records:
        r["time_h"] = hours[r.pop("timepoint")]
    return Acquisition(root, "imagexpress", make_frame_table(records), skipped, notes)
