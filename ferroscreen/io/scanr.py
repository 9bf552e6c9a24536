"""Reader for Olympus / Evident scanR screening acquisitions.

scanR writes one TIFF per well, position (field), z slice, time point and
channel into the acquisition's ``data/`` folder (beside ``experiment_descriptor.xml``
and, in newer versions, ``metadata.ome.xml``)::

    <well>--W<well index>--P<position>--Z<z>--T<time>--<channel>.tif
        B2--W00014--P00001--Z00000--T00000--DAPI.tif
    --W<well index>--P<position>--Z<z>--T<time>--<channel>.tif      (older versions: no well name)
        --W00001--P00001--Z00000--T00003--Brightfield.tif

The well index counts wells row by row from 1 (A1 = 1, A2 = 2, ... B2 = 14 on
a 96-well plate). Without the well name the well comes from that index, on the
smallest of 96/384/1536 formats holding the largest index (said in ``notes``).
Positions are 1-based fields; z and time indices are 0-based. The plate is the
acquisition folder (the parent of ``data/``).

Times: from the TIFF ``DateTime`` tag of each time index: its first image's, or, when
that image cannot be read (a copy in progress), the first of its images that can
(:func:`~ferroscreen.io.scan_stamps.scan_stamps`). A time index without a readable stamp among
stamped ones is placed by the plate's own interval (named in ``notes``); a plate without
any stamp is timed ``T x interval_h`` (noted, with the reason).
"""

from __future__ import annotations

import re
from pathlib import Path

from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.cytation import tiff_datetime
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.scan_interval import unstamped_interval
from ferroscreen.io.scan_stamps import scan_stamps, timepoint_hours
from ferroscreen.io.segment_outputs import input_paths
from ferroscreen.plate.wells import PlateFormat, normalize_well, rowcol_to_well

NAME_RE = re.compile(
    r"^(?P<well>[A-Za-z]{1,2}\d{1,2})?--W(?P<index>\d{4,})--P(?P<position>\d{4,})(?:--Z(?P<z>\d{4,}))?"
    r"(?:--T(?P<t>\d{4,}))?--(?P<channel>[^/]+?)\.tiff?$",
    re.IGNORECASE,
)


def is_scanr_name(name: str) -> bool:
    """Whether a file name follows scanR's ``[<well>]--W#####--P#####[--Z#####][--T#####]--<channel>.tif``."""
    return NAME_RE.match(name) is not None


def _plate_name(path: Path) -> str:
    folder = path.parent
    return folder.parent.name if folder.name.lower() == "data" and folder.parent.name else folder.name


def read_scanr(root: str | Path, interval_h: float | None = None) -> Acquisition:
    """Read a scanR acquisition folder (its ``data/`` folder, or a folder holding several acquisitions).

    Args:
        root: The acquisition folder, its ``data/`` folder, or a folder of acquisitions.
        interval_h: Hours between time points when the TIFFs carry no ``DateTime``.
            ``None``: not given (several such scans are refused,
            :func:`~ferroscreen.io.scan_interval.unstamped_interval`).

    Raises:
        AcquisitionError: No file follows the scanR naming.
    """
    root = Path(root)
    records, skipped, notes = [], [], []
    walk = input_paths(root)
    notes += [walk.note] if walk.note else []
    for p in walk.paths:
        m = NAME_RE.match(p.name)
        if not m or not p.is_file():
            continue
        records.append({
            "plate": _plate_name(p), "named": m["well"], "index": int(m["index"]),
            "field": int(m["position"]), "z": int(m["z"] or 0), "t": int(m["t"] or 0),
            "channel": m["channel"].strip(), "path": str(p.resolve()),
        })
    if not records:
        raise AcquisitionError(
            f"{root}: no scanR images found (expected [<well>]--W00001--P00001--Z00000--T00000--<channel>.tif)"
        )
    unnamed = [r for r in records if not r["named"]]
    fmt = None
    if unnamed:
        largest = max(r["index"] for r in unnamed)
        fmt = PlateFormat.from_n_wells(next((n for n in (96, 384, 1536) if largest <= n), 1536))
        notes.append(f"wells from the scanR well index, row by row on a {fmt.n_wells}-well plate")
    kept = []
    for r in records:
        try:
            if r["named"]:
                r["well"] = normalize_well(r["named"])
            else:
                i = r["index"] - 1
                if i >= fmt.n_wells:
                    raise WellError(f"well index {r['index']} is beyond a {fmt.n_wells}-well plate")
                r["well"] = rowcol_to_well(i // fmt.cols, i % fmt.cols)
        except WellError as exc:
            skipped.append((r["path"], str(exc)))
            continue
        kept.append(r)
    if not kept:
        raise AcquisitionError(f"{root}: no scanR image names a well ({skipped[0][1]})")
    for plate in sorted({r["plate"] for r in kept}):
        mine = [r for r in kept if r["plate"] == plate]
        scans: dict[int, list[str]] = {}
        for r in mine:
            scans.setdefault(r["t"], []).append(r["path"])
        hours = _scan_hours(plate, scans, interval_h, notes)
        for r in mine:
            r["time_h"] = hours[r["t"]]
    frames = [{k: r[k] for k in ("plate", "well", "field", "channel", "z", "time_h", "path")} for r in kept]
    return Acquisition(root, "scanr", make_frame_table(frames), skipped, notes)


def _scan_hours(plate: str, scans: dict[int, list[str]], interval_h: float | None, notes: list[str]
                ) -> dict[int, float]:
    """Hours of each time index of ``plate`` (the module docstring's rule); notes appended."""
    stamps, why = scan_stamps(scans, tiff_datetime, "DateTime tag")
    if not stamps:
        step = unstamped_interval(interval_h, len(scans), plate, f"T{min(scans):05d}-T{max(scans):05d}")
        if len(scans) > 1:
            notes.append(f"{plate}: no DateTime read from the TIFFs (T{min(why):05d}: {why[min(why)]}): "
                         f"time_h = T x {step} h")
        return {t: t * step for t in scans}
    return timepoint_hours(plate, stamps, why, interval_h, notes, lambda t: f"T{t:05d}", "T")


__all__ = ["NAME_RE", "is_scanr_name", "read_scanr"]
