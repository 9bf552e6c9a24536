"""Reader for Molecular Devices ImageXpress (MetaXpress) exports.

Layout::

    <root>/[<plate>.HTD]
    <root>/TimePoint_<t>/[ZStep_<z>/]<plate>_<A01>[_s<site>][_w<wl>][<GUID>].TIF

or, as MetaXpress's direct transfer writes a plate, the images in one folder without ``TimePoint_``
folders (``<plate name>/<date>/<acquisition id>/<plate>_C05_s1_w1<GUID>.tif``); a folder above the
plate's is read as the plate's.

With one site per well MetaXpress leaves ``_s<site>`` out (``<plate>_B03_w1.TIF``): field 1. A folder
of such names is recognised without ``TimePoint_`` folders or ``.HTD`` when they share one plate prefix
and name several wells (:func:`is_single_site_folder`).

``_thumb`` files are ignored. Channels take the ``WaveName<n>`` names of the plate's own ``.HTD`` when
it gives them (``DAPI``, ``Transmitted Light``), else ``w<n>``: the ``.HTD`` in the plate's folder (the
folder holding its ``TimePoint_`` folders, or its images), else one named after the plate anywhere
under ``root`` (:func:`_plate_wave_names`). Plates of one input folder each keep their own names; a
plate without an ``.HTD`` keeps ``w<n>``. A z-stack saved with its projection has the
projection beside the ``ZStep_<z>`` folders; it is a channel of its own (``DAPI projection``).
Times are hours since the plate's own first timepoint (each plate of a folder has its own), from the
MetaMorph ``acquisition-time-local`` tag of each timepoint's first image, or, when that image cannot be
read (a copy in progress), the first of its images that can (:func:`~ferroscreen.io.scan_stamps.scan_stamps`).
A timepoint without a readable stamp among stamped ones is placed by the plate's own interval (named in
``notes``); a plate without any stamp is timed ``(t - 1) × interval_h`` (noted, with the reason), and
refused when ``interval_h`` is not given and it has more than one timepoint
(:func:`~ferroscreen.io.scan_interval.unstamped_interval`).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.scan_interval import unstamped_interval
from ferroscreen.io.scan_stamps import scan_stamps, timepoint_hours
from ferroscreen.io.segment_outputs import input_paths
from ferroscreen.io.temporary_files import is_input_name
from ferroscreen.plate.wells import normalize_well

_NAME_RE = re.compile(
    r"^(?P<plate>.+?)_(?P<well>[A-Za-z]{1,2}\d{2})(?:_s(?P<site>\d+))?(?:_w(?P<wl>\d+))?"
    r"(?P<guid>[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}|\{[^}]*\})?"
    r"\.tiff?$",
    re.IGNORECASE,
)
_TP_RE = re.compile(r"^TimePoint_(\d+)$", re.IGNORECASE)
_Z_RE = re.compile(r"^ZStep_(\d+)$", re.IGNORECASE)


_WAVE_RE = re.compile(r'^"WaveName(\d+)"\s*,\s*"(.*)"\s*$')


def is_imagexpress_name(name: str) -> bool:
    """Whether a file name is an ImageXpress image's (``<plate>_<A01>_s<site>_w<wl>[<GUID>].TIF``).

    A single-site name (``<plate>_<A01>_w<wl>.TIF``) alone is not enough (other layouts' names can look
    like it); :func:`is_single_site_folder` recognises a folder of them.
    """
    m = _NAME_RE.match(name)
    return bool(m and m["site"] and m["wl"])


def is_single_site_name(name: str) -> bool:
    """Whether a file name is an ImageXpress single-site image's: ``<plate>_<A01>_w<wl>[<GUID>].TIF`` (no ``_s``)."""
    m = _NAME_RE.match(name)
    return bool(m and not m["site"] and m["wl"] and "_thumb" not in name.lower())


def is_single_site_folder(folder: Path) -> bool:
    """Whether ``folder`` holds an ImageXpress plate imaged at one site per well (MetaXpress leaves ``_s1`` out).

    More than half of its TIFFs (``_thumb`` files aside) are named ``<plate>_<A01>_w<wl>.TIF``, all
    those with one plate prefix, over at least two wells.
    """
    plates, wells = set(), set()
    tiffs = matched = 0
    try:
        for p in folder.iterdir():
            if p.suffix.lower() not in (".tif", ".tiff") or "_thumb" in p.name.lower() or not is_input_name(p.name):
                continue
            tiffs += 1
            if is_single_site_name(p.name):
                m = _NAME_RE.match(p.name)
                plates.add(m["plate"])
                wells.add(m["well"].upper())
                matched += 1
            if len(plates) > 1 or (tiffs >= 100 and not matched):  # another layout's images: no need to look on
                return False
    except OSError:
        return False
    return len(plates) == 1 and len(wells) >= 2 and matched * 2 > tiffs


def _htd_wave_names(htd: Path) -> dict[str, str] | None:
    """``{wl: name}`` from the ``WaveName<n>`` lines of one ``.HTD``; ``None`` when unreadable or two share a name."""
    try:
        lines = htd.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    names: dict[str, str] = {}
    for line in lines:
        if (m := _WAVE_RE.match(line.strip())) and m[2].strip():
            names[m[1]] = m[2].strip()
    return names if len(set(names.values())) == len(names) else None


def _plate_folder(root: Path, path: Path) -> Path:
    """An image's plate folder: the one holding its ``TimePoint_``/``ZStep_`` folders, or its own."""
    parts = path.relative_to(root).parts[:-1]
    at = next((i for i, part in enumerate(parts) if _TP_RE.match(part) or _Z_RE.match(part)), None)
    return root.joinpath(*parts[:at]) if at is not None else path.parent


def _plate_wave_names(root: Path, paths: list[Path], records: list[dict]) -> tuple[dict[str, dict[str, str]], list]:
    """``{plate: {wl: name}}`` from each plate's own ``.HTD``, and notes on plates whose names could not be told.

    A plate's ``.HTD`` is the one in its folder (:func:`_plate_folder`; of several there, the one
    named after the plate), else the one named after the plate elsewhere among ``paths``. A plate
    without one, or whose folders' ``.HTD`` files disagree, gets no names (``w<n>``).
    """
    htds = sorted(p for p in paths if p.suffix.lower() == ".htd" and p.is_file())
    by_folder: dict[Path, list[Path]] = {}
    for htd in htds:
        by_folder.setdefault(htd.parent, []).append(htd)
    folders: dict[str, set[Path]] = {}
    for r in records:
        folders.setdefault(r["plate"], set()).add(_plate_folder(root, Path(r["path_in"])))
    out: dict[str, dict[str, str]] = {}
    notes = []
    for plate, where in folders.items():
        own = []
        for folder in sorted(where):
            here = by_folder.get(folder, [])
            named = [h for h in here if h.stem.casefold() == plate.casefold()]
            own += named or (here if len(here) == 1 else [])
        if not own:
            own = [h for h in htds if h.stem.casefold() == plate.casefold()]
        found = [n for n in (_htd_wave_names(h) for h in dict.fromkeys(own)) if n is not None]
        if not found:
            continue
        if any(n != found[0] for n in found[1:]):
            notes.append(f"plate {plate}: its .HTD files name its wavelengths differently; channels are w<n>")
            continue
        out[plate] = found[0]
    return out, notes


def is_imagexpress(root: Path) -> bool:
    """Whether ``root`` holds ``TimePoint_<n>`` folders, an ``.HTD`` file or a single-site plate's images.

    The last: :func:`is_single_site_folder`.
    """
    if not root.is_dir():
        return False
    return any(_TP_RE.match(p.name) for p in root.iterdir() if p.is_dir()) or any(
        is_input_name(p.name) for p in root.glob("*.[Hh][Tt][Dd]")
    ) or is_single_site_folder(root)


def _tiff_time(path: Path) -> datetime | None:
    try:
        import tifffile

        from ferroscreen.io.ometiff import quiet_tifffile

        with quiet_tifffile(), tifffile.TiffFile(path) as tif:  # a file mid-copy: no stray tifffile line
            meta = tif.metaseries_metadata if tif.is_metaseries else None
        if not meta:
            return None
        stamp = meta.get("PlaneInfo", {}).get("acquisition-time-local")
        return stamp if isinstance(stamp, datetime) else None
    except Exception:  # metadata is optional; any failure falls back to the index
        return None


def read_imagexpress(root: str | Path, interval_h: float | None = None) -> Acquisition:
    """Read an ImageXpress export folder.

    Args:
        root: The plate folder holding ``TimePoint_<t>`` folders (or the images directly).
        interval_h: Hours between timepoints when the TIFFs carry no acquisition time (``None``: not
            given; :func:`~ferroscreen.io.scan_interval.unstamped_interval`).

    Raises:
        AcquisitionError: If no ImageXpress image is found, or a plate of several timepoints has no
            time stamps and ``interval_h`` is not given.
    """
    root = Path(root)
    records, skipped, notes = [], [], []
    walk = input_paths(root)
    notes += [walk.note] if walk.note else []
    for p in walk.paths:
        if not p.is_file() or p.suffix.lower() not in (".tif", ".tiff"):
            continue
        if "_thumb" in p.name.lower():
            continue
        m = _NAME_RE.match(p.name)
        if not m:
            skipped.append((str(p), "name does not follow <plate>_<A01>_s<site>_w<wl>.TIF"))
            continue
        t, z, stepped = 1, 0, False
        for part in p.relative_to(root).parts[:-1]:
            if mt := _TP_RE.match(part):
                t = int(mt.group(1))
            elif mz := _Z_RE.match(part):
                z, stepped = max(int(mz.group(1)) - 1, 0), True
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
                "channel": m["wl"] or "1",
                "z": z,
                "timepoint": t,
                "path": str(p.resolve()),
                "path_in": p,
                "stepped": stepped,
            }
        )
    if not records:
        raise AcquisitionError(
            f"{root}: no ImageXpress images found (expected TimePoint_<t>/<plate>_<A01>_s1_w1.TIF); "
            "use --format pattern --pattern REGEX for other layouts (a '/' in it matches the path under the folder, "
            "e.g. 'TimePoint_(?P<timepoint>\\d+)/(?P<well>[A-P]\\d{1,2})_.*\\.tif' with --interval-h)"
        )
    waves, wave_notes = _plate_wave_names(root, walk.paths, records)
    notes += wave_notes
    stacks = {(r["plate"], r["well"], r["field"], r["channel"], r["timepoint"]) for r in records if r["stepped"]}
    projections = 0
    for r in records:
        del r["path_in"]
        name = waves.get(r["plate"], {}).get(r["channel"], f"w{r['channel']}")
        key = (r["plate"], r["well"], r["field"], r["channel"], r["timepoint"])
        if not r.pop("stepped") and key in stacks:  # saved beside its z-stack's ZStep folders
            name, projections = f"{name} projection", projections + 1
        r["channel"] = name
    if projections:
        notes.append(f"{projections} projection(s) saved beside their z-stacks: channel(s) of their own "
                     f"('<channel> projection')")
    scans: dict[str, dict[int, list[str]]] = {}
    for r in records:
        scans.setdefault(r["plate"], {}).setdefault(r["timepoint"], []).append(r["path"])
    hours = {plate: _scan_hours(plate, mine, interval_h, notes) for plate, mine in scans.items()}
    for r in records:
        r["time_h"] = hours[r["plate"]][r.pop("timepoint")]
    return Acquisition(root, "imagexpress", make_frame_table(records), skipped, notes)


def _scan_hours(plate: str, scans: dict[int, list[str]], interval_h: float | None, notes: list[str]
                ) -> dict[int, float]:
    """Hours of each ``TimePoint_<t>`` of ``plate`` from its own first (the module docstring's rule); notes appended."""
    stamps, why = scan_stamps(scans, _tiff_time, "MetaSeries acquisition-time-local")
    if not stamps:
        t = min(why)
        step = unstamped_interval(interval_h, len(scans), plate, _timepoints(scans))
        if len(scans) > 1:
            notes.append(f"{plate}: no acquisition time read from the TIFFs (TimePoint_{t}: {why[t]}): "
                         f"time_h = (TimePoint - 1) × {step} h")
        return {s: (s - 1) * step for s in scans}
    return timepoint_hours(plate, stamps, why, interval_h, notes, lambda t: f"TimePoint_{t}", "TimePoint")


def _timepoints(scans: dict[int, list[str]]) -> str:
    """The ``TimePoint_`` folders of ``scans`` in a few words (``TimePoint_1-3``, ``TimePoint_1, 4``)."""
    ts = sorted(scans)
    if ts == list(range(ts[0], ts[-1] + 1)):
        return f"TimePoint_{ts[0]}-{ts[-1]}"
    return "TimePoint_" + ", ".join(map(str, ts[:3])) + (", …" if len(ts) > 3 else "")
