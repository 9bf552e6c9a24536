"""Reader for Agilent BioTek Cytation / Lionheart image exports (Gen5 software).

Gen5 writes one TIFF per well, read step, channel, position (field) and
kinetic timepoint, into a folder per plate run (``241128_111010_Plate 1``)::

    <well>_<step>_<channel>_<position>_<channel name>_<timepoint>.tif
        B5_03_1_1_Bright Field_001.tif        C1_04_2_3_DAPI_012.tif
    <well>_<step>_[S]P<position>[Z<z>]_C<channel>_<channel name>_[T]<timepoint>.tif
        B2_02_SP10Z10_C1_Bright Field_T001.tif

Wells are not zero-padded; positions, channels, z steps and timepoints are
1-based (z becomes 0-based in the frame table). The plate is the folder the
image lies in. A run with several read steps (objectives) keeps the step in the
channel name (``02:Bright Field``) so that steps are never mixed.

Times come from the TIFF ``DateTime`` tag of the first image of each timepoint
when every timepoint has one, otherwise ``(timepoint - 1) x interval_h``
(noted in ``notes``).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.naming import named_images

NAME_RE = re.compile(
    r"^(?P<well>[A-Za-z]{1,2}\d{1,2})_(?P<step>\d{2})_"
    r"(?:(?P<channel>\d+)_(?P<position>\d+)|S?P(?P<position2>\d+)(?:Z(?P<z>\d+))?_C(?P<channel2>\d+))"
    r"_(?P<name>.+?)_T?(?P<timepoint>\d{3,})\.tiff?$",
    re.IGNORECASE,
)


def is_cytation_name(name: str) -> bool:
    """Whether a file name follows Gen5's ``<well>_<step>_<channel>_<position>_<name>_<t>.tif``."""
    return NAME_RE.match(name) is not None


def _tiff_datetime(path: Path) -> datetime | None:
    """The TIFF ``DateTime`` tag (``YYYY:MM:DD HH:MM:SS``) of the first page, or None."""
    try:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            tag = tif.pages[0].tags.get("DateTime")
            return datetime.strptime(str(tag.value).strip(), "%Y:%m:%d %H:%M:%S") if tag else None
    except Exception:  # the tag is optional; any failure falls back to the index
        return None


def read_cytation(root: str | Path, interval_h: float = 1.0) -> Acquisition:
    """Read a folder (searched recursively) of Gen5 image exports.

    Args:
        root: A plate run folder, or a folder holding several.
        interval_h: Hours between kinetic timepoints when the TIFFs carry no ``DateTime``.

    Raises:
        AcquisitionError: No file follows the Gen5 naming.
    """
    root = Path(root)
    records, skipped, notes = [], [], []
    for p, m, well in named_images(root, NAME_RE, skipped):
        records.append(
            {
                "plate": p.parent.name,
                "well": well,
                "field": int(m["position"] or m["position2"]),
                "channel": m["name"].strip(),
                "step": m["step"],
                "z": int(m["z"]) - 1 if m["z"] else 0,
                "timepoint": int(m["timepoint"]),
                "path": str(p.resolve()),
            }
        )
    if not records:
        raise AcquisitionError(
            f"{root}: no Cytation/Gen5 images found (expected <well>_<step>_<channel>_<position>_<name>_<t>.tif)"
        )
    if len({r["step"] for r in records}) > 1:
        for r in records:
            r["channel"] = f"{r['step']}:{r['channel']}"
    hours: dict[tuple[str, int], float] = {}
    for plate in sorted({r["plate"] for r in records}):
        firsts: dict[int, str] = {}
        for r in records:
            if r["plate"] == plate:
                firsts.setdefault(r["timepoint"], r["path"])
        stamps = {t: _tiff_datetime(Path(p)) for t, p in firsts.items()}
        if all(stamps.values()):
            t0 = min(stamps.values())
            hours.update({(plate, t): (s - t0).total_seconds() / 3600 for t, s in stamps.items()})
        else:
            notes.append(f"{plate}: no DateTime in the TIFFs: time_h = (timepoint - 1) x {interval_h} h")
            hours.update({(plate, t): (t - 1) * interval_h for t in stamps})
    for r in records:
        r["time_h"] = hours[(r["plate"], r.pop("timepoint"))]
        del r["step"]
    return Acquisition(root, "cytation", make_frame_table(records), skipped, notes)
