"""Reader for Agilent BioTek Cytation / Lionheart image exports (Gen5 software).

Gen5 writes one TIFF per well, read step, channel, position (field) and
kinetic timepoint, into a folder per plate run (``241128_111010_Plate 1``)::

    <well>_<step>_<channel>_<position>_<channel name>_<timepoint>.tif
        B5_03_1_1_Bright Field_001.tif        C1_04_2_3_DAPI_012.tif
    <well>_<step>_[S]P<position>[Z<z>]_C<channel>_<channel name>_[T]<timepoint>.tif
        B2_02_SP10Z10_C1_Bright Field_T001.tif

Wells are not zero-padded; positions, channels, z steps and timepoints are
1-based (z becomes 0-based in the frame table). The plate is the run folder
the image lies in, without Gen5's ``YYMMDD_HHMMSS_`` prefix, so that a kinetic
run read into one folder per scan (BioSpa) is one plate. A run with several
read steps (objectives) keeps the step in the channel name (``02:Bright Field``) so that steps are never mixed.

Times come from the TIFF ``DateTime`` tag of each scan (folder and timepoint): its
first image's, or, when that image cannot be read (a copy in progress), the first of
its images that can (:func:`~ferroscreen.io.scan_stamps.scan_stamps`). A scan without a readable stamp among
stamped ones is placed by the plate's own interval, or by its run folder's date
stamp when no scan of its folder has a stamp (:func:`~ferroscreen.io.scan_stamps.place_unstamped`; named in
``notes``). A plate without any stamp is timed by its run folders' date stamps
plus ``(timepoint - 1) x interval_h``, else ``(timepoint - 1) x interval_h``
(noted, with the reason); without ``interval_h`` such a plate of several scans is refused where the
interval would place one (:func:`~ferroscreen.io.scan_interval.unstamped_interval`).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.naming import named_images
from ferroscreen.io.scan_interval import unstamped_interval
from ferroscreen.io.scan_stamps import interval_how, place_unstamped, placed_note, scan_stamps, stamped_step

NAME_RE = re.compile(
    r"^(?P<well>[A-Za-z]{1,2}\d{1,2})_(?P<step>\d{2})_"
    r"(?:(?P<channel>\d+)_(?P<position>\d+)|S?P(?P<position2>\d+)(?:Z(?P<z>\d+))?_C(?P<channel2>\d+))"
    r"_(?P<name>.+?)_T?(?P<timepoint>\d{3,})\.tiff?$",
    re.IGNORECASE,
)


#: Gen5 names each run's folder ``YYMMDD_HHMMSS_<plate>``; kinetic runs on a BioSpa write one per read.
_RUN_FOLDER = re.compile(r"^\d{6}_\d{6}_")


def _folder_time(folder: str) -> datetime | None:
    """The start time in a ``YYMMDD_HHMMSS_<plate>`` run folder name, or None."""
    m = re.match(r"^(\d{6}_\d{6})_", Path(folder).name)
    try:
        return datetime.strptime(m.group(1), "%y%m%d_%H%M%S") if m else None
    except ValueError:
        return None


def is_cytation_name(name: str) -> bool:
    """Whether a file name follows Gen5's ``<well>_<step>_<channel>_<position>_<name>_<t>.tif``."""
    return NAME_RE.match(name) is not None


def tiff_datetime(path: Path) -> datetime | None:
    """The TIFF ``DateTime`` tag (``YYYY:MM:DD HH:MM:SS``) of the first page, or None."""
    try:
        import tifffile

        from ferroscreen.io.ometiff import quiet_tifffile

        with quiet_tifffile(), tifffile.TiffFile(path) as tif:  # a file mid-copy: no stray tifffile line
            tag = tif.pages[0].tags.get("DateTime")
            return datetime.strptime(str(tag.value).strip(), "%Y:%m:%d %H:%M:%S") if tag else None
    except Exception:  # the tag is optional; any failure falls back to the index
        return None


def read_cytation(root: str | Path, interval_h: float | None = None) -> Acquisition:
    """Read a folder (searched recursively) of Gen5 image exports.

    Args:
        root: A plate run folder, or a folder holding several.
        interval_h: Hours between kinetic timepoints when the TIFFs carry no ``DateTime`` (``None``: not
            given; :func:`~ferroscreen.io.scan_interval.unstamped_interval`).

    Raises:
        AcquisitionError: No file follows the Gen5 naming, or scans without a stamp need ``interval_h``
            and it is not given.
    """
    root = Path(root)
    records, skipped, notes = [], [], []
    for p, m, well in named_images(root, NAME_RE, skipped, notes):
        records.append(
            {
                "plate": _RUN_FOLDER.sub("", p.parent.name) or p.parent.name,
                "folder": str(p.parent),
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
    for plate in sorted({r["plate"] for r in records}):
        mine = [r for r in records if r["plate"] == plate]
        scans: dict[tuple[str, int], list[str]] = {}
        for r in mine:
            scans.setdefault((r["folder"], r["timepoint"]), []).append(r["path"])
        hours = _scan_hours(plate, scans, interval_h, notes)
        for r in mine:
            r["time_h"] = hours[(r.pop("folder"), r.pop("timepoint"))]
            del r["step"]
    return Acquisition(root, "cytation", make_frame_table(records), skipped, notes)


def _scan_hours(plate: str, scans: dict[tuple[str, int], list[str]], interval_h: float | None, notes: list[str]
                ) -> dict:
    """Hours of each ``(run folder, timepoint)`` scan of ``plate`` (the module docstring's rule); notes appended."""
    stamps, why = scan_stamps(scans, tiff_datetime, "DateTime tag")
    folder_times = {f: _folder_time(f) for f, _ in scans}
    first = why[min(why)] if why else ""
    if not stamps and all(folder_times.values()):
        t0 = min(folder_times.values())
        kinetic = any(t != 1 for _, t in scans)  # timepoints within a run folder: placed by the interval
        step = unstamped_interval(interval_h, len(scans), plate, _timepoints(scans), needed=kinetic and len(scans) > 1)
        plus = f" (+ (timepoint - 1) x {step} h)" if kinetic else ""
        notes.append(f"{plate}: times from the run folders' date stamps{plus}: no DateTime read from its TIFFs "
                     f"({first})")
        return {(f, t): (folder_times[f] - t0).total_seconds() / 3600 + (t - 1) * step for f, t in scans}
    if not stamps:
        step = unstamped_interval(interval_h, len(scans), plate, _timepoints(scans))
        if len(scans) > 1:
            notes.append(f"{plate}: no DateTime read from the TIFFs ({first}): time_h = (timepoint - 1) x {step} h")
        return {(f, t): (t - 1) * step for f, t in scans}
    t0 = min(stamps.values())
    hours = {k: (s - t0).total_seconds() / 3600 for k, s in stamps.items()}
    if not why:
        return hours
    own = stamped_step(hours, index=lambda k: k[1], group=lambda k: k[0])
    stamped_folders = {f for f, _ in stamps}
    dated = {k for k in why if k[0] not in stamped_folders and folder_times[k[0]]}  # placed by their folder's date
    step = own if own is not None else unstamped_interval(
        interval_h, len(why), plate, f"{_timepoints(why)}; its stamped scans give no interval",
        needed=any(t != 1 for _, t in dated) or len(dated) < len(why))
    by_folder = {(f, t): (folder_times[f] - t0).total_seconds() / 3600 + (t - 1) * step for f, t in dated}
    out = place_unstamped(hours, [k for k in why if k not in by_folder], step, index=lambda k: k[1],
                          group=lambda k: k[0], fixed=by_folder)
    several = len({f for f, _ in scans}) > 1

    def label(k: tuple[str, int]) -> str:
        return f"{Path(k[0]).name} timepoint {k[1]}" if several else f"timepoint {k[1]}"

    if by_folder:
        notes.append(placed_note(plate, {k: why[k] for k in by_folder}, out, label,
                                 "by their run folders' date stamps (+ (timepoint - 1) x "
                                 f"{step:g} h)"))
    if len(by_folder) < len(why):
        notes.append(placed_note(plate, {k: w for k, w in why.items() if k not in by_folder}, out, label,
                                 interval_how(step, own is not None, "timepoint")))
    return out


def _timepoints(scans) -> str:
    """The kinetic timepoints of ``(run folder, timepoint)`` scans in a few words (``timepoints 1-3``)."""
    ts = sorted({t for _, t in scans})
    if ts == list(range(ts[0], ts[-1] + 1)):
        return f"timepoints {ts[0]}-{ts[-1]}" if len(ts) > 1 else f"timepoint {ts[0]}"
    return "timepoints " + ", ".join(map(str, ts[:3])) + (", …" if len(ts) > 3 else "")
