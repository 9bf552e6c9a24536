"""Reader for OME-Zarr (OME-NGFF) high-content screening plates, versions 0.1-0.5.

A plate is a Zarr group whose OME attributes hold ``plate`` (``.zattrs`` in
Zarr v2 stores, NGFF <= 0.4; ``zarr.json`` ``attributes.ome`` in Zarr v3
stores, NGFF 0.5). Its ``wells`` name well groups (``A/1``), each well's
``images`` name field groups (``0``, ``1``, ...) and each field is a
multiscale image whose first (full-resolution) dataset is read. ``root`` may
be one plate or a folder of plates (``*.zarr`` side by side, each a plate).

Frame table rows are one plane of a field: every ``t``, ``c`` and ``z`` index
of the array (any other non-spatial axis is read at index 0). Their ``path``
is virtual, ``<field group>#t=<t>,c=<c>,z=<z>``; :func:`ferroscreen.io.frames.load_image`
decodes it and :func:`ferroscreen.io.frames.frame_file` names the chunk file
that holds it (what ``score`` checks for changes). A plane without any chunk
file (a time-lapse whose ``t`` axis is sized ahead of the scans) is not a frame
yet, as a file not yet written would not be; Zarr writers that skip chunks
equal to the fill value (zarr-python 3's default) must not be used for planes
that are entirely the fill value.

Time: ``time_h`` = the field's acquisition start (``plate.acquisitions[].starttime``,
milliseconds since the epoch, relative to the plate's first) + ``t`` x the
``t`` axis' scale in its unit (UDUNITS-2 names and symbols: ``hour``/``h``/``hr``,
``minute``/``min``, ``second``/``s``/``sec``, ``millisecond``/``ms``, ``day``/``d``, ...,
:data:`_TIME_UNITS_H`). A ``t`` axis without a unit or with a unit not among those, and
acquisitions without start times, are spaced ``interval_h`` apart (said in the notes, naming
the unit).
Fields are numbered from 1 in each well's ``images`` order, per acquisition.
Channels are the ``omero.channels[].label`` names, else ``ch1``, ``ch2``, ...
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferroscreen.errors import AcquisitionError, ImageReadError, WellError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.scan_interval import unstamped_interval
from ferroscreen.plate.wells import normalize_well, rowcol_to_well

#: A frame path of this reader: the field group, then the plane's indices.
FRAME_RE = re.compile(r"^(?P<image>.+)#t=(?P<t>\d+),c=(?P<c>\d+),z=(?P<z>\d+)$")

#: Hours per unit of an NGFF time axis: the UDUNITS-2 names the spec allows, their plurals and common symbols
#: (matched in lower case).
_TIME_UNITS_H = {
    **dict.fromkeys(("week", "weeks", "wk"), 168.0),
    **dict.fromkeys(("day", "days", "d"), 24.0),
    **dict.fromkeys(("hour", "hours", "h", "hr", "hrs"), 1.0),
    **dict.fromkeys(("minute", "minutes", "min", "mins"), 1 / 60),
    **dict.fromkeys(("second", "seconds", "s", "sec", "secs"), 1 / 3600),
    **dict.fromkeys(("millisecond", "milliseconds", "ms", "msec"), 1 / 3.6e6),
    **dict.fromkeys(("microsecond", "microseconds", "us", "µs", "μs"), 1 / 3.6e9),
}


def frame_path(image: str | Path, t: int, c: int, z: int) -> str:
    """The frame-table path of one plane of the field group ``image``."""
    return f"{Path(image)}#t={int(t)},c={int(c)},z={int(z)}"


def _read_json(path: Path) -> dict | None:
    """A JSON object from ``path``; ``None`` when absent. Broken JSON is an AcquisitionError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AcquisitionError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AcquisitionError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise AcquisitionError(f"{path}: expected a JSON object")
    return data


def ome_attributes(group: Path) -> dict:
    """A Zarr group's OME attributes (v2 ``.zattrs``, or v3 ``zarr.json`` attributes, ``ome`` unwrapped)."""
    v3 = _read_json(group / "zarr.json")
    if v3 is not None:
        attrs = v3.get("attributes") or {}
    else:
        attrs = _read_json(group / ".zattrs") or {}
    ome = attrs.get("ome")
    return ome if isinstance(ome, dict) else attrs


def is_plate(folder: Path) -> bool:
    """Whether ``folder`` is an OME-Zarr plate group."""
    if not ((folder / "zarr.json").is_file() or (folder / ".zattrs").is_file()):
        return False
    try:
        return isinstance(ome_attributes(folder).get("plate"), dict)
    except AcquisitionError:
        return True  # a plate whose metadata is broken: the reader says what is wrong


def find_plates(root: Path) -> list[Path]:
    """``root`` when it is a plate, else the plates directly inside it, sorted by name."""
    if not root.is_dir():
        return []
    if is_plate(root):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_plate(p))


@dataclass(frozen=True)
class _ArrayLayout:
    """Where a Zarr array's chunks lie: enough to name the file holding a plane."""

    folder: Path
    shape: tuple[int, ...]
    chunks: tuple[int, ...]  # the chunk grid (shards in a sharded v3 array)
    prefix: str
    separator: str

    def chunk_key(self, coords: tuple[int, ...]) -> str:
        """The store key of the chunk at grid position ``coords``."""
        return self.prefix + self.separator.join(str(i) for i in coords)

    def plane_chunks(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """Grid position, on the non-spatial axes, of the chunks holding element ``index``."""
        return tuple(i // c for i, c in zip(index[:-2], self.chunks[:-2], strict=True))

    def plane_files(self, index: tuple[int, ...]) -> list[Path]:
        """Files of every chunk (tile) of the y-x plane through ``index``, row by row."""
        lead = self.plane_chunks(index)
        ny, nx = (-(-s // c) for s, c in zip(self.shape[-2:], self.chunks[-2:], strict=True))
        keys = (self.chunk_key((*lead, y, x)) for y in range(ny) for x in range(nx))
        return [self.folder.joinpath(*k.split("/")) for k in keys]

    def written_planes(self) -> set[tuple[int, ...]]:
        """Non-spatial grid positions with at least one chunk file (a plane never written has none)."""
        out = set()
        for dirpath, _, files in os.walk(self.folder):
            rel = Path(dirpath).relative_to(self.folder).as_posix()
            for f in files:
                key = f if rel == "." else f"{rel}/{f}"
                if not key.startswith(self.prefix):
                    continue
                parts = key[len(self.prefix):].split(self.separator)
                if len(parts) == len(self.shape) and all(p.isdecimal() for p in parts):
                    out.add(tuple(int(p) for p in parts[:-2]))
        return out


def _array_layout(folder: Path) -> _ArrayLayout:
    """Chunk layout of the Zarr array at ``folder`` (v2 ``.zarray`` or v3 ``zarr.json``)."""
    meta = _read_json(folder / "zarr.json")
    if meta is not None:
        if meta.get("node_type") != "array":
            raise AcquisitionError(f"{folder / 'zarr.json'}: not a Zarr array")
        grid = (meta.get("chunk_grid") or {}).get("configuration", {}).get("chunk_shape")
        enc = meta.get("chunk_key_encoding") or {"name": "default"}
        sep = (enc.get("configuration") or {}).get("separator")
        if enc.get("name") == "v2":
            prefix, sep = "", sep or "."
        else:
            prefix, sep = "c" + (sep or "/"), sep or "/"
    else:
        meta = _read_json(folder / ".zarray")
        if meta is None:
            raise AcquisitionError(f"{folder}: no Zarr array here (no .zarray or zarr.json)")
        grid, prefix, sep = meta.get("chunks"), "", meta.get("dimension_separator") or "."
    shape = meta.get("shape")
    if not isinstance(shape, list) or not isinstance(grid, list) or len(shape) != len(grid) or len(shape) < 2:
        raise AcquisitionError(f"{folder}: Zarr array metadata without a usable shape and chunk grid")
    return _ArrayLayout(folder, tuple(int(s) for s in shape), tuple(int(c) for c in grid), prefix, sep)


@dataclass(frozen=True)
class _Field:
    """One multiscale image (a field of view): its full-resolution array and axes."""

    array: _ArrayLayout
    axes: tuple[str, ...]
    time_scale: float | None  # the t axis' step in hours; None: no usable unit
    channels: tuple[str, ...]
    time_unit: str | None = None  # the t axis' unit as given (lower case); None: none given


def _axis_names(ms: dict, ndim: int) -> tuple[list[str], dict[str, str]]:
    """Axis names (lower case) and the units given, for NGFF 0.1-0.5 multiscales."""
    axes = ms.get("axes")
    if axes is None:  # 0.1 / 0.2: always 5-D t, c, z, y, x
        names = ["t", "c", "z", "y", "x"][-ndim:]
        return names, {}
    names, units = [], {}
    for a in axes:
        if isinstance(a, str):
            names.append(a.lower())
        else:
            name = str(a.get("name", "")).lower()
            if a.get("type") == "time" and name != "t":
                name = "t"
            elif a.get("type") == "channel" and name != "c":
                name = "c"
            names.append(name)
            if a.get("unit"):
                units[name] = str(a["unit"]).strip().lower()
    return names, units


def _scale(ms: dict, dataset: dict, ndim: int) -> list[float]:
    """The first dataset's scale, times the multiscale-wide one (NGFF 0.4+), else ones."""
    out = [1.0] * ndim
    for transforms in (dataset.get("coordinateTransformations"), ms.get("coordinateTransformations")):
        for tr in transforms or []:
            if tr.get("type") == "scale" and len(tr.get("scale") or []) == ndim:
                out = [a * float(b) for a, b in zip(out, tr["scale"], strict=True)]
    return out


def _read_field(group: Path) -> _Field:
    attrs = ome_attributes(group)
    multiscales = attrs.get("multiscales")
    if not multiscales or not isinstance(multiscales, list):
        raise AcquisitionError(f"{group}: field group without 'multiscales' metadata")
    ms = multiscales[0]
    datasets = ms.get("datasets") or []
    if not datasets or "path" not in datasets[0]:
        raise AcquisitionError(f"{group}: multiscales without datasets")
    layout = _array_layout(group / str(datasets[0]["path"]))
    ndim = len(layout.shape)
    names, units = _axis_names(ms, ndim)
    if len(names) != ndim or names[-2:] != ["y", "x"]:
        raise AcquisitionError(f"{group}: axes {names} do not fit a {ndim}-D array ending in y, x")
    time_scale = None
    if "t" in names and units.get("t") in _TIME_UNITS_H:
        time_scale = _scale(ms, datasets[0], ndim)[names.index("t")] * _TIME_UNITS_H[units["t"]]
    n_c = layout.shape[names.index("c")] if "c" in names else 1
    labels = [str(ch.get("label") or "") for ch in ((attrs.get("omero") or {}).get("channels") or [])]
    if len(labels) != n_c or len(set(labels)) != n_c or "" in labels:
        labels = [f"ch{i + 1}" for i in range(n_c)]
    return _Field(layout, tuple(names), time_scale, tuple(labels), units.get("t"))


def _well_name(plate: dict, well: dict, plate_dir: Path) -> str:
    """Canonical well id (``B03``) of a plate ``wells`` entry."""
    path = str(well.get("path", ""))
    parts = path.split("/")
    rows, cols = plate.get("rows") or [], plate.get("columns") or []
    candidates = []
    if len(parts) == 2:
        candidates.append(parts[0] + parts[1])
    ri, ci = well.get("rowIndex"), well.get("columnIndex")
    if isinstance(ri, int) and isinstance(ci, int) and ri < len(rows) and ci < len(cols):
        candidates.insert(0, f"{rows[ri].get('name', '')}{cols[ci].get('name', '')}")
    for name in candidates:
        try:
            return normalize_well(name)
        except WellError:
            continue
    if isinstance(ri, int) and isinstance(ci, int):
        return rowcol_to_well(ri, ci)
    raise AcquisitionError(f"{plate_dir}: well '{path}' has no row letter and column number")


def _id_order(a) -> tuple:
    """Sort key of acquisition ids: numbers in numeric order (9 before 10), then other ids by text."""
    return (0, a, "") if isinstance(a, int) else (1, 0, str(a))


def _acquisition_offsets(plate: dict, used: list, interval_h: float | None, plate_dir: Path, notes: list[str]) -> dict:
    """Hours from the plate's first acquisition to each acquisition id in ``used``."""
    ids = sorted({a for a in used if a is not None}, key=_id_order)
    if len(ids) <= 1:
        return {a: 0.0 for a in used}
    starts = {a.get("id"): a.get("starttime") for a in plate.get("acquisitions") or []}
    if all(isinstance(starts.get(a), (int, float)) for a in ids):
        first = min(starts[a] for a in ids)
        return {a: (starts[a] - first) / 3.6e6 if a is not None else 0.0 for a in used}
    step = unstamped_interval(interval_h, len(ids), plate_dir.name, "acquisitions without start times")
    notes.append(
        f"{plate_dir.name}: {len(ids)} acquisitions without start times; taken as scans {step:g} h apart "
        "in id order (set --interval-h)"
    )
    return {a: ids.index(a) * step if a is not None else 0.0 for a in used}


def _folder_name(plate_dir: Path) -> str:
    return re.sub(r"(\.ome)?\.zarr$", "", plate_dir.name, flags=re.I)


def _plate_name(plate_dir: Path) -> str:
    """The plate's ``name`` attribute, else its folder name without ``.ome.zarr``/``.zarr``."""
    return str(ome_attributes(plate_dir)["plate"].get("name") or "").strip() or _folder_name(plate_dir)


def _plate_frames(plate_dir: Path, name: str, interval_h: float | None, notes: list[str], skipped: list) -> list[dict]:
    plate = ome_attributes(plate_dir)["plate"]
    wells = plate.get("wells") or []
    if not wells:
        raise AcquisitionError(f"{plate_dir}: plate metadata lists no wells")
    entries = []
    for w in wells:
        well_dir = plate_dir / str(w.get("path", ""))
        images = (ome_attributes(well_dir).get("well") or {}).get("images") if well_dir.is_dir() else None
        if not images:
            skipped.append((str(well_dir), "well group missing or without 'well.images' metadata"))
            continue
        entries.append((_well_name(plate, w, plate_dir), well_dir, images))
    used = [img.get("acquisition") for _, _, images in entries for img in images]
    offsets = _acquisition_offsets(plate, used, interval_h, plate_dir, notes)
    records: list[dict] = []
    untimed = False
    unknown: set[str] = set()
    for well, well_dir, images in entries:
        counts: dict = {}
        for img in images:
            acq = img.get("acquisition")
            counts[acq] = counts.get(acq, 0) + 1
            group = well_dir / str(img.get("path", ""))
            try:
                fld = _read_field(group)
            except AcquisitionError as exc:
                skipped.append((str(group), str(exc).removeprefix(f"{group}: ")))
                continue
            written = fld.array.written_planes()
            names, shape = fld.axes, fld.array.shape
            n = {a: shape[names.index(a)] if a in names else 1 for a in "tcz"}
            if n["t"] > 1 and fld.time_scale is None:
                if fld.time_unit:
                    unknown.add(fld.time_unit)
                else:
                    untimed = True
            step = fld.time_scale if fld.time_scale is not None else unstamped_interval(
                interval_h, n["t"], plate_dir.name,
                f"a time axis {'in unknown unit ' + repr(fld.time_unit) if fld.time_unit else 'without a unit'}")
            for t in range(n["t"]):
                for c in range(n["c"]):
                    for z in range(n["z"]):
                        at = {"t": t, "c": c, "z": z}
                        index = tuple(at.get(a, 0) for a in names)
                        if fld.array.plane_chunks(index) not in written:
                            continue
                        records.append({
                            "plate": name, "well": well, "field": counts[acq], "channel": fld.channels[c],
                            "time_h": offsets.get(acq, 0.0) + t * step, "z": z, "path": frame_path(group, t, c, z),
                        })
    if untimed:
        notes.append(f"{plate_dir.name}: time axis without a unit; scans taken {float(interval_h):g} h apart "
                     "(set --interval-h)")
    if unknown:
        said = ", ".join(f"'{u}'" for u in sorted(unknown))
        notes.append(f"{plate_dir.name}: unknown time unit {said} on the time axis; scans taken "
                     f"{float(interval_h):g} h apart (set --interval-h)")
    return records


def read_omezarr(root: str | Path, interval_h: float | None = None) -> Acquisition:
    """Read an OME-Zarr HCS plate, or a folder of them, as an :class:`Acquisition`.

    Raises:
        AcquisitionError: ``root`` holds no plate, plate metadata is broken
            (one line naming the file), or no plane has pixel data.
    """
    root = Path(root)
    plates = find_plates(root.resolve())
    if not plates:
        raise AcquisitionError(f"{root}: no OME-Zarr plate here (a Zarr group with 'plate' metadata)")
    notes: list[str] = []
    skipped: list[tuple[str, str]] = []
    records: list[dict] = []
    names = [_plate_name(p) for p in plates]
    if len(set(names)) < len(names):
        names = [_folder_name(p) for p in plates]
        notes.append("plates share a 'name' attribute; each is named by its folder instead")
    for p, name in zip(plates, names, strict=True):
        records += _plate_frames(p, name, interval_h, notes, skipped)
    if not records and skipped:
        raise AcquisitionError(f"{skipped[0][0]}: {skipped[0][1]}")
    if not records:
        raise AcquisitionError(f"{root}: OME-Zarr plate without any written image planes")
    frames = make_frame_table(records)
    dup = frames.duplicated(["plate", "well", "field", "channel", "z", "time_h"])
    if dup.any():
        r = frames[dup].iloc[0]
        raise AcquisitionError(
            f"{root}: plate '{r['plate']}' well {r['well']} field {r['field']} has two images at {r['time_h']:g} h"
        )
    return Acquisition(root=root, format="omezarr", frames=frames, skipped=skipped, notes=notes)


def _split(path: str) -> tuple[Path, int, int, int]:
    m = FRAME_RE.match(str(path))
    if not m:
        raise ImageReadError(f"{path}: not an OME-Zarr frame path")
    return Path(m["image"]), int(m["t"]), int(m["c"]), int(m["z"])


def _plane_index(path: str) -> tuple[_Field, tuple]:
    group, t, c, z = _split(path)
    try:
        fld = _read_field(group)
    except AcquisitionError as exc:
        raise ImageReadError(str(exc)) from None
    at = {"t": t, "c": c, "z": z}
    index = tuple(at.get(a, 0) if a not in ("y", "x") else 0 for a in fld.axes)
    for a, i, n in zip(fld.axes, index, fld.array.shape, strict=True):
        if i >= n:
            raise ImageReadError(f"{path}: {a} index {i} is past the array's {n}")
    return fld, index


def frame_chunk_file(path: str) -> str:
    """The first written chunk (or shard) file of an OME-Zarr frame's plane (its first tile if none is)."""
    fld, index = _plane_index(path)
    files = fld.array.plane_files(index)
    return str(next((f for f in files if f.is_file()), files[0]))


@functools.lru_cache(maxsize=64)
def _open_array(folder: str, shape: tuple[int, ...]):
    """The Zarr array at ``folder``; ``shape`` keys the cache so that a grown array is opened afresh."""
    import zarr

    return zarr.open_array(folder, mode="r")


def read_frame(path: str) -> np.ndarray:
    """Pixels of one OME-Zarr frame (full resolution, native dtype).

    Raises:
        ImageReadError: One line naming the frame: metadata broken, the plane's
            chunk never written, or the chunk cannot be decoded.
    """
    fld, index = _plane_index(path)
    if not any(f.is_file() for f in fld.array.plane_files(index)):
        raise ImageReadError(f"{path}: no pixel data written for this plane (no chunk file)")
    sel = tuple(slice(None) if a in ("y", "x") else i for a, i in zip(fld.axes, index, strict=True))
    try:
        img = np.asarray(_open_array(str(fld.array.folder), fld.array.shape)[sel])
    except ImportError:
        raise ImageReadError(f"{path}: reading OME-Zarr needs the 'zarr' package (pip install zarr)") from None
    except Exception as exc:  # codec and store errors vary
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageReadError(f"{path}: unreadable Zarr chunk ({reason})") from None
    return img
