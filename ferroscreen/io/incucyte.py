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
#: Sub-folders (any letter case) of an export whose images are previews, not frames.
THUMBNAIL_FOLDERS = ("thumbnails", "thumbs")
#: Suffixes of the previews that may lie beside an export's TIFFs (``.jpg`` of the same frame).
PREVIEW_SUFFIXES = (".jpg", ".jpeg")

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
    without a channel word in it (``R2_MDF_green``: plate ``R2_MDF``, channel ``green``). The
    channel is the one the name says, else the file's ``folder`` when that names one of
    :data:`CHANNEL_WORDS` (``Phase/``, ``Red/``: ``VID123_A1_1_00d04h00m.tif`` in ``Red/`` is
    ``red``), else ``phase``.

    Returns a dict with ``plate``, ``well``, ``field``, ``channel``, ``z`` and
    either ``time_h`` (elapsed style) or ``abs_time`` (absolute style).

    Raises:
        WellError: The well is not a well id.
        ValueError: An absolute time that is no date and time (month 13, 30 February, hour 25),
            said in one line without the path.
    """
    folder_channel = folder.lower() if folder and folder.lower() in CHANNEL_WORDS else "phase"
    m = EXPORT_RE.match(name)
    if m:
        plate, channel = f"VID{m['vid']}", (m["channel"] or folder_channel).lower()
    elif (m := PREFIXED_EXPORT_RE.match(name)) is not None:
        parts = m["prefix"].split("_")
        said = next((p.lower() for p in reversed(parts) if p.lower() in CHANNEL_WORDS), None)
        channel = said or folder_channel
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


def _in_thumbnails(path: Path, root: Path) -> bool:
    """Whether ``path`` lies in a :data:`THUMBNAIL_FOLDERS` sub-folder of ``root`` (``root`` itself not counted)."""
    try:
        parts = path.relative_to(root).parent.parts
    except ValueError:
        return False
    return any(part.lower() in THUMBNAIL_FOLDERS for part in parts)


def _drop_previews(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """``(kept, dropped)``: the JPEGs of a frame that also has a TIFF (or PNG) file are previews, not frames."""
    keys = ("plate", "well", "field", "channel", "z")

    def frame(r: dict) -> tuple:
        return (*(r[k] for k in keys), r.get("time_h", r.get("abs_time")))

    def preview(r: dict) -> bool:
        return Path(r["path"]).suffix.lower() in PREVIEW_SUFFIXES

    full = {frame(r) for r in records if not preview(r)}
    dropped = [r for r in records if preview(r) and frame(r) in full]
    return ([r for r in records if not (preview(r) and frame(r) in full)], dropped) if dropped else (records, [])


#: A site's frame this fraction of the plate's scan interval or less after its previous frame may be a rescan.
RESCAN_FRACTION = 0.5
#: How many rescans a note names.
NAMED_RESCANS = 3


def _fold_rescans(records: list[dict], notes: list[str]) -> list[dict]:
    """The records with each site's rescan read in place of the frame it re-images; said in a note.

    A site (``plate, well, field, channel, z``) imaged again at most :data:`RESCAN_FRACTION` of the
    plate's scan interval (the median gap between a site's consecutive frames) after its previous
    frame is a rescan when only a few sites are (fewer than half of the plate's, over a run of such
    frames each within that fraction of the last): a manual re-scan of a well or field after a regular
    scan, not a time point of the plate. Its file takes the place of the frame it re-images, which keeps
    its time (a site's later rescan wins). Plates whose sites are all imaged closer than that (a denser
    schedule for a while) are left as they are. ``records`` hold ``time_h``.
    """
    keys = ("plate", "well", "field", "channel", "z")
    by_site: dict[tuple, list[dict]] = {}
    for r in records:
        by_site.setdefault(tuple(r[k] for k in keys), []).append(r)
    for frames in by_site.values():
        frames.sort(key=lambda r: r["time_h"])
    rescans: list[tuple[dict, dict]] = []  # (rescan, the frame it replaces)
    for plate in dict.fromkeys(site[0] for site in by_site):
        sites = [f for site, f in by_site.items() if site[0] == plate]
        gaps = [b["time_h"] - a["time_h"] for f in sites for a, b in zip(f, f[1:], strict=False)]
        gaps = sorted(g for g in gaps if g > 0)
        if not gaps:
            continue
        window = RESCAN_FRACTION * gaps[len(gaps) // 2]
        close = sorted(((f[i]["time_h"], k, i) for k, f in enumerate(sites) for i in range(1, len(f))
                        if 0 < f[i]["time_h"] - f[i - 1]["time_h"] <= window), key=lambda c: c[0])
        run: list[tuple] = []
        for c in [*close, None]:
            if c is not None and (not run or c[0] - run[-1][0] <= window):
                run.append(c)
                continue
            if run and 2 * len({k for _, k, _ in run}) < len(sites):
                for _, k, i in sorted(run, key=lambda c: (c[1], c[2])):
                    kept = next(f for f in reversed(sites[k][:i]) if not f.get("_rescan"))
                    sites[k][i]["_rescan"] = True
                    rescans.append((sites[k][i], kept))
            run = [c] if c is not None else []
    if not rescans:
        return records
    said = []
    for rescan, kept in rescans:
        said.append(f"{Path(rescan['path']).name} {round((rescan['time_h'] - kept['time_h']) * 60):g} min after "
                    f"the {kept['time_h']:g} h scan, for {Path(kept['path']).name}")
        kept["path"] = rescan["path"]
    shown = "; ".join(said[:NAMED_RESCANS]) + (" …" if len(said) > NAMED_RESCANS else "")
    notes.append(f"{len(rescans)} site rescan(s) read in place of the scan's frame they re-image, not as time "
                 f"points of their own ({shown})")
    return [r for r in records if not r.pop("_rescan", False)]


def read_incucyte_export(root: str | Path) -> Acquisition:
    """Read an IncuCyte image export folder (searched recursively).

    Previews are passed over, said in a note: the images in a ``thumbnails/`` or ``thumbs/``
    sub-folder (:data:`THUMBNAIL_FOLDERS`), and a ``.jpg`` of a frame that also has a ``.tif``.
    A site rescanned by hand soon after a scan is read in place of that scan's frame
    (:func:`_fold_rescans`), not as a time point of the plate.

    Raises:
        AcquisitionError: If no file under ``root`` follows the export naming.
    """
    root = Path(root)
    records, skipped, notes = [], [], []
    thumbs = []
    for p in _iter_images(root, notes):
        if _in_thumbnails(p, root):
            thumbs.append(p)
            continue
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
    if thumbs:
        notes.append(f"{len(thumbs)} thumbnail image(s) passed over (previews, not frames; the first "
                     f"{thumbs[0].relative_to(root)})")
    records, previews = _drop_previews(records)
    if previews:
        notes.append(f"{len(previews)} JPEG preview(s) of frames that have a TIFF passed over (the first "
                     f"{Path(previews[0]['path']).name})")
    if not records:
        first = f"; {len(skipped)} file(s) skipped, the first {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise AcquisitionError(
            f"{root}: no IncuCyte export images found (expected names like "
            f"VID1_phase_B2_1_00d04h00m.tif){first}"
        )
    _relative_hours(records)
    records = _fold_rescans(records, notes)
    return Acquisition(root, "incucyte", make_frame_table(records), skipped, notes)


def read_incucyte_archive(root: str | Path) -> Acquisition:
    """Read a raw IncuCyte archive (``EssenFiles/ScanData/...``).

    Times are hours since the first scan of each plate id; a site's rescan is read as
    :func:`_fold_rescans` says.

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
    records = _fold_rescans(records, notes)
    return Acquisition(root, "incucyte_archive", make_frame_table(records), skipped, notes)
