"""Reader for Molecular Devices ImageXpress (MetaXpress) exports.

Layout::

    <root>/[<plate>.HTD]
    <root>/TimePoint_<t>/[ZStep_<z>/]<plate>_<A01>[_s<site>][_w<wl>][<GUID>].TIF

or, as MetaXpress's direct transfer writes a plate, the images in one folder without ``TimePoint_``
folders (``<plate name>/<date>/<acquisition id>/<plate>_C05_s1_w1<GUID>.tif``); a folder above the
plate's is read as the plate's.

``_thumb`` files are ignored. Channels take the ``WaveName<n>`` names of the ``.HTD`` when it gives
them (``DAPI``, ``Transmitted Light``), else ``w<n>``. A z-stack saved with its projection has the
projection beside the ``ZStep_<z>`` folders; it is a channel of its own (``DAPI projection``).
Times come from the MetaMorph ``acquisition-time-local`` tag of the first image of each timepoint
when present, otherwise ``(t - 1) × interval_h`` (noted in ``notes``).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.segment_outputs import input_paths
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
    """Whether a file name is an ImageXpress image's (``<plate>_<A01>_s<site>_w<wl>[<GUID>].TIF``)."""
    m = _NAME_RE.match(name)
    return bool(m and m["site"] and m["wl"])


def _wave_names(paths: list[Path]) -> dict[str, str]:
    """``{wl: name}`` from the ``WaveName<n>`` lines of the ``.HTD`` files among ``paths``; {} when they disagree."""
    names: dict[str, str] = {}
    for htd in sorted(p for p in paths if p.suffix.lower() == ".htd" and p.is_file()):
        try:
            lines = htd.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if (m := _WAVE_RE.match(line.strip())) and m[2].strip():
                if names.get(m[1], m[2].strip()) != m[2].strip():
                    return {}
                names[m[1]] = m[2].strip()
    return names if len(set(names.values())) == len(names) else {}


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
                "stepped": stepped,
            }
        )
    if not records:
        raise AcquisitionError(
            f"{root}: no ImageXpress images found (expected TimePoint_<t>/<plate>_<A01>_s1_w1.TIF)"
        )
    waves = _wave_names(walk.paths)
    stacks = {(r["plate"], r["well"], r["field"], r["channel"], r["timepoint"]) for r in records if r["stepped"]}
    projections = 0
    for r in records:
        name = waves.get(r["channel"], f"w{r['channel']}")
        key = (r["plate"], r["well"], r["field"], r["channel"], r["timepoint"])
        if not r.pop("stepped") and key in stacks:  # saved beside its z-stack's ZStep folders
            name, projections = f"{name} projection", projections + 1
        r["channel"] = name
    if projections:
        notes.append(f"{projections} projection(s) saved beside their z-stacks: channel(s) of their own "
                     f"('<channel> projection')")
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
