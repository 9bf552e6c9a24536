"""Reader for Zeiss CZI acquisitions (Celldiscoverer 7, ZEN multi-well time-lapses), through pylibCZIrw.

``root`` is a ``.czi`` file or a folder of them (searched recursively); each
file is a plate named by its file name (without ``.czi``; ``<folder>_<name>``
when files in several folders share a name). A file's scenes are
its fields of view: ZEN's metadata (``Information/Image/Dimensions/S/Scenes/Scene``)
names each scene's well in ``ArrayName``, else ``Shape`` ``Name`` (else in the
scene's own ``Name`` when that is a well, ``B4``, not a position ``P3``); the fields of a well are its
scenes in scene order. A scene without a well is skipped with the reason.

Frames are the planes the file holds (its sub-blocks' ``S``/``T``/``C``/``Z``
coordinates, full resolution only): a time-lapse stopped early has only the
scans it took. Channels are ``Dimensions/Channels/Channel`` names (else
``ch1``, ...). Times: the ``TimeStamps`` attachment (seconds per ``T``, what
ZEN writes for a time series; time points beyond a short one continue at its
median interval, said), else ``T`` x the experiment's
``TimeSeriesSetup`` interval, else ``T`` x ``interval_h`` (said in ``notes``).

Frame paths are virtual, ``<file>#scene=<s>,t=<t>,c=<c>,z=<z>`` (see :mod:`ferroscreen.io.frames`).
"""

from __future__ import annotations

import functools
import os
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ferroscreen.errors import AcquisitionError, ImageReadError, WellError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.ometiff import well_from_name
from ferroscreen.io.scan_interval import unstamped_interval
from ferroscreen.plate.wells import normalize_well

__all__ = ["FRAME_RE", "czi_frame_path", "find_czi_files", "read_czi", "read_czi_plane", "time_stamps"]

#: A frame path of this reader: the file, then the plane's scene, time, channel and z indices.
FRAME_RE = re.compile(r"^(?P<file>.+\.czi)#scene=(?P<s>\d+),t=(?P<t>\d+),c=(?P<c>\d+),z=(?P<z>\d+)$", re.IGNORECASE)

_UNIT_S = {"ms": 1e-3, "s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def czi_frame_path(file: str | Path, s: int, t: int, c: int, z: int) -> str:
    """The frame-table path of one plane of a CZI file."""
    return f"{Path(file)}#scene={int(s)},t={int(t)},c={int(c)},z={int(z)}"


def find_czi_files(root: Path, notes: list[str] | None = None) -> list[Path]:
    """``root`` when it is a ``.czi`` file, else the ``.czi`` files under it.

    Earlier segment outputs and temporary files under ``root`` are passed over, said in ``notes``
    (:func:`~ferroscreen.io.segment_outputs.input_paths`).
    """
    if root.is_file():
        return [root] if root.suffix.lower() == ".czi" else []
    from ferroscreen.io.segment_outputs import input_paths

    walk = input_paths(root)
    if walk.note and notes is not None:
        notes.append(walk.note)
    return [p for p in walk.paths if p.suffix.lower() == ".czi" and p.is_file()]


def _pyczi():
    try:
        from pylibCZIrw import czi
    except ImportError:
        raise AcquisitionError("reading Zeiss .czi files needs pylibCZIrw (pip install pylibCZIrw)") from None
    return czi


def time_stamps(path: Path) -> list[float] | None:
    """Seconds of each ``T`` index from the file's ``TimeStamps`` attachment (``CZTIMS``), or None.

    Read from the CZI segment layout: the file header's attachment-directory position, the
    directory's 128-byte entries (content type ``CZTIMS``), the attachment's data (size, count,
    float64 stamps).
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(32 + 80)
            if len(head) < 112 or head[:10] != b"ZISRAWFILE":
                return None
            att_dir = struct.unpack_from("<q", head, 32 + 72)[0]
            if att_dir <= 0:
                return None
            fh.seek(att_dir)
            seg = fh.read(32 + 256)
            if seg[:12] != b"ZISRAWATTDIR":
                return None
            n = struct.unpack_from("<i", seg, 32)[0]
            entries = fh.read(128 * max(0, min(n, 100000)))
            for k in range(len(entries) // 128):
                e = entries[128 * k:128 * (k + 1)]
                if e[:2] != b"A1" or e[40:48].rstrip(b"\0") != b"CZTIMS":
                    continue
                fh.seek(struct.unpack_from("<q", e, 12)[0])
                att = fh.read(32 + 256)
                if att[:12] != b"ZISRAWATTACH":
                    return None
                data = fh.read(8)
                count = struct.unpack_from("<i", data, 4)[0]
                if count <= 0 or count > 10_000_000:
                    return None
                raw = fh.read(8 * count)
                if len(raw) < 8 * count:
                    return None
                return list(np.frombuffer(raw, "<f8").astype(float))
    except (OSError, struct.error):
        return None
    return None


def _interval_s(root: ET.Element) -> float | None:
    """The experiment's time-series interval in seconds (``TimeSeriesSetup/Interval/TimeSpan``), or None."""
    for setup in root.iter("TimeSeriesSetup"):
        if setup.get("IsActivated", "true").lower() == "false":
            continue
        span = setup.find("Interval/TimeSpan")
        if span is None:
            continue
        try:
            value = float(span.findtext("Value", ""))
        except ValueError:
            continue
        unit = (span.findtext("DefaultUnitFormat") or "s").strip().lower()
        if value > 0 and unit in _UNIT_S:
            return value * _UNIT_S[unit]
    return None


def _scene_wells(root: ET.Element) -> dict[int, str | WellError]:
    """Each scene index's well (canonical), or why it has none."""
    out: dict[int, str | WellError] = {}
    for scene in root.iterfind(".//Information/Image/Dimensions/S/Scenes/Scene"):
        try:
            index = int(scene.get("Index", ""))
        except ValueError:
            continue
        shape = scene.find("Shape")
        names = [(scene.findtext("ArrayName") or "").strip(), (shape.get("Name") or "").strip() if shape is not None
                 else "", (scene.get("Name") or "").strip()]
        well: str | WellError = WellError(f"scene {index} ({names[2] or 'unnamed'}) names no well")
        for k, name in enumerate(names):
            if not name or (k == 2 and re.fullmatch(r"P\d+", name)):  # ZEN's position names P1, P2 ... are no wells
                continue
            try:
                well = normalize_well(name) if k < 2 else well_from_name(name)[0]
                break
            except (WellError, TypeError):
                continue
        out[index] = well
    return out


def _planes(reader) -> set[tuple[int, int, int, int]]:
    """(scene, t, c, z) of every full-resolution sub-block."""
    found: set[tuple[int, int, int, int]] = set()

    def visit(_, info) -> bool:
        if abs(info.get_zoom() - 1.0) < 1e-6:
            d = info.coordinate.to_dict()
            found.add((d.get("S", 0), d.get("T", 0), d.get("C", 0), d.get("Z", 0)))
        return True

    reader.enumerate_subblocks(visit)
    return found


def read_czi(root: str | Path, interval_h: float | None = None) -> Acquisition:
    """Read Zeiss CZI files (one, or a folder of them) as an acquisition.

    Args:
        root: A ``.czi`` file or a folder holding some.
        interval_h: Hours between time points when the file says nothing of time.
            ``None``: not given (several such scans are refused,
            :func:`~ferroscreen.io.scan_interval.unstamped_interval`).

    Raises:
        AcquisitionError: No ``.czi`` file, pylibCZIrw missing, or no scene in a well (the first reason).
    """
    root = Path(root)
    notes: list[str] = []
    files = find_czi_files(root, notes)
    if not files:
        raise AcquisitionError(f"{root}: no .czi files found")
    czi = _pyczi()
    frames, skipped = [], []
    stems = [p.stem for p in files]
    for path in files:
        try:
            reader = czi.CziReader(str(path))
        except Exception as exc:  # pylibCZIrw raises RuntimeError and others for broken files
            skipped.append((str(path), f"not a readable CZI file ({str(exc).splitlines()[0] if str(exc) else exc!r})"))
            continue
        try:
            meta = ET.fromstring(reader.raw_metadata)
            planes = _planes(reader)
        except (ET.ParseError, RuntimeError) as exc:
            skipped.append((str(path), f"CZI metadata that cannot be read ({exc})"))
            continue
        finally:
            reader.close()
        plate = path.stem
        if stems.count(path.stem) > 1:  # day1/Run.czi and day2/Run.czi are two plates
            plate = f"{path.parent.name}_{path.stem}"
            notes.append(f"{path}: plate {plate} (another file is also named {path.name})")
        wells = _scene_wells(meta)
        channels = [(c.get("Name") or "").strip() for c in meta.iterfind(".//Information/Image/Dimensions/Channels/"
                                                                          "Channel")]
        fields: dict[str, list[int]] = {}
        for s in sorted({p[0] for p in planes}):
            well = wells.get(s, WellError(f"scene {s} is not in the file's scene list (no well)" if wells else
                                          "the file lists no scenes: its positions lie in no well"))
            if isinstance(well, WellError):
                skipped.append((str(path), str(well)))
                continue
            fields.setdefault(well, []).append(s)
        field_of = {s: (w, i + 1) for w, scenes in fields.items() for i, s in enumerate(scenes)}
        stamps = time_stamps(path)
        n_t = max((p[1] for p in planes), default=0) + 1
        if stamps and len(stamps) >= n_t:
            hours = {t: (stamps[t] - stamps[0]) / 3600 for t in range(n_t)}
        elif stamps and len(stamps) >= 2:
            step = float(np.median(np.diff(stamps)))
            hours = {t: ((stamps[t] if t < len(stamps) else stamps[-1] + (t - len(stamps) + 1) * step)
                         - stamps[0]) / 3600 for t in range(n_t)}
            notes.append(f"{plate}: the TimeStamps attachment has {len(stamps)} of {n_t} time points; the later "
                         f"ones are {step / 3600:g} h apart (its median interval)")
        else:
            step = _interval_s(meta)
            if step is not None:
                hours = {t: t * step / 3600 for t in range(n_t)}
                if n_t > 1:
                    notes.append(f"{plate}: no time stamps in the file: time_h = T x the experiment's interval "
                                 f"({step / 3600:g} h)")
            else:
                step = unstamped_interval(interval_h, n_t, plate, "no times in the file")
                hours = {t: t * step for t in range(n_t)}
                if n_t > 1:
                    notes.append(f"{plate}: no times in the file: time_h = T x {step:g} h")
        for s, t, c, z in sorted(planes):
            if s not in field_of:
                continue
            well, field = field_of[s]
            channel = channels[c] if c < len(channels) and channels[c] else f"ch{c + 1}"
            frames.append({"plate": plate, "well": well, "field": field, "channel": channel, "z": z,
                           "time_h": hours[t], "path": czi_frame_path(path.resolve(), s, t, c, z)})
    if not frames:
        reason = skipped[0][1] if skipped else "no image planes"
        raise AcquisitionError(f"{root}: no CZI scene lies in a well ({reason})")
    return Acquisition(root, "czi", make_frame_table(frames), skipped, notes)


@functools.lru_cache(maxsize=2)
def _open(path: str, stamp: tuple, pid: int):
    return _pyczi().CziReader(path)


def read_czi_plane(path: str) -> np.ndarray:
    """Pixels of the plane a CZI frame path names (``H x W``, or ``H x W x 3`` for colour).

    Raises:
        ImageReadError: The file is missing or unreadable, or lacks the plane.
    """
    m = FRAME_RE.match(str(path))
    if m is None:
        raise ImageReadError(f"{path}: not a CZI frame path")
    file = m["file"]
    try:
        st = os.stat(file)
    except OSError:
        raise ImageReadError(f"{file}: image file not found") from None
    try:
        reader = _open(file, (st.st_mtime_ns, st.st_size), os.getpid())
        img = reader.read(plane={"T": int(m["t"]), "C": int(m["c"]), "Z": int(m["z"])}, scene=int(m["s"]))
    except AcquisitionError as exc:
        raise ImageReadError(f"{file}: {exc}") from None
    except Exception as exc:  # pylibCZIrw raises RuntimeError and others for broken files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageReadError(f"{file}: unreadable scene {m['s']} plane t={m['t']} c={m['c']} z={m['z']} ({reason})") \
            from None
    img = np.asarray(img)
    return img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img
