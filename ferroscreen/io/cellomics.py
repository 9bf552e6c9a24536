"""Reader for Thermo Fisher Cellomics / CellInsight (HCS Studio) plates, e.g. the CX7.

File names (one image per well, field and channel; the Aits lab's genome-wide
knockdown screen was imaged this way)::

    <plate>_<well>f<field>d<channel>.C01     MFGTMPcx7_170702000001_B14f07d0.C01
    <plate>_<well>f<field>o<channel>.DIB     (older software: ``o`` instead of ``d``)
    the same names exported as .tif/.png     MFGTMPcx7_170702000001_B14f07d0.png

``<plate>`` is everything before the last ``_``; the well is one or two letters
and two digits; ``f`` is the field and ``d``/``o`` the channel, both 0-based in
the name (fields become 1-based in the frame table; channels keep their name,
``d0``).

Fields, the rule: every table keeps the frame table's ``field`` (1-based, as for
every reader: ``f00`` is field 1, ``f10`` field 11), but a message (note, warning,
error, a name made for an image) that names a Cellomics field names it as the
file names do, ``f10``, never ``field 11``: the user looks for the file.
:func:`name_field` gives a file's field so, :func:`file_field` a field that has
no file (one missing from a well); ``fields.csv``'s ``image`` column is the file's
own name. Cellomics names carry no time: every image is at ``time_h`` 0, unless the plate was
saved one folder per scan with the same names (``Scan1/``, ``Scan2/``): those folders are time points
``interval_h`` apart (:func:`read_cellomics`).

Pixels: a ``.C01`` file is a 4-byte tag (the value 16) followed by a zlib
stream; inflated, and a ``.DIB`` as it is, it holds a little-endian header of
52 bytes (width at byte 4, height at 8, planes as int16 at 12, bits per pixel as
int16 at 14, compression at 16; pixels per metre x/y at 24/28) and then the
planes' pixels, row after row. Only uncompressed 8/16/32-bit pixel data exists
in practice; anything else is an :class:`~ferroscreen.errors.ImageReadError`.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ferroscreen.errors import AcquisitionError, ImageReadError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.naming import named_images, unnamed_note
from ferroscreen.io.scan_interval import unstamped_interval

#: Native Cellomics pixel files (zlib-compressed ``.c01``, raw ``.dib``).
NATIVE_SUFFIXES = (".c01", ".dib")

NAME_RE = re.compile(
    r"^(?P<plate>.+)_(?P<well>[A-Za-z]{1,2}\d{2})f(?P<field>\d{2,3})(?P<kind>[do])(?P<channel>\d+)"
    r"\.(?P<ext>c01|dib|tiff?|png)$",
    re.IGNORECASE,
)

_HEADER_BYTES = 52
_C01_TAG = 16
_DTYPES = {8: np.dtype("u1"), 16: np.dtype("<u2"), 32: np.dtype("<u4")}
#: When one image exists in several files (native and exported), the first kind here is kept.
_PREFERENCE = (".c01", ".dib", ".tif", ".tiff", ".png")


def read_cellomics_image(path: str | Path) -> np.ndarray:
    """The first plane of a ``.C01``/``.DIB`` file as a 2-D uint8/uint16/uint32 array.

    Raises:
        ImageReadError: One line naming the file: missing, not a Cellomics file,
            a broken zlib stream, a truncated or compressed pixel block.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: image file not found") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc})") from None
    if path.suffix.lower() == ".c01":
        _check_c01_tag(path, raw[:4], len(raw))
        try:
            data = zlib.decompressobj().decompress(raw[4:])
        except zlib.error as exc:
            raise ImageReadError(f"{path}: unreadable image (broken zlib stream: {exc})") from None
    else:
        data = raw
    dtype, width, height = _pixel_layout(path, data[:_HEADER_BYTES], len(data))
    plane = np.frombuffer(data, dtype=dtype, count=width * height, offset=_HEADER_BYTES)
    return plane.reshape(height, width).astype(dtype.newbyteorder("="))


def cellomics_problem(path: str | Path) -> str | None:
    """Why a ``.C01``/``.DIB`` file is unreadable, or ``None``: :func:`read_cellomics_image`'s reason, without the path.

    Cheaper than reading it: a ``.DIB``'s header is checked against the file's size; a ``.C01`` is
    inflated in pieces that are counted, not kept, so no pixel array is built.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            if path.suffix.lower() != ".c01":
                header, size = fh.read(_HEADER_BYTES), os.fstat(fh.fileno()).st_size
            else:
                _check_c01_tag(path, fh.read(4), os.fstat(fh.fileno()).st_size)
                header, size = _inflated_size(path, fh)
        _pixel_layout(path, header, size)
    except ImageReadError as exc:
        return str(exc).removeprefix(f"{path}: ")
    except OSError as exc:
        return f"cannot read ({exc.strerror})"
    return None


def _check_c01_tag(path: Path, tag: bytes, size: int) -> None:
    """Refuse a ``.C01`` file of ``size`` bytes whose first 4 bytes (``tag``) are not the C01 tag."""
    if size < 8 or _C01_TAG not in (struct.unpack(">i", tag)[0], struct.unpack("<i", tag)[0]):
        raise ImageReadError(f"{path}: not a Cellomics C01 file (no C01 tag)")


def _inflated_size(path: Path, fh: BinaryIO, piece: int = 1 << 20) -> tuple[bytes, int]:
    """The first :data:`_HEADER_BYTES` bytes and the length of the zlib stream read from ``fh``, inflated."""
    inflate = zlib.decompressobj()
    header, size = b"", 0
    try:
        while chunk := fh.read(piece):
            while chunk:
                out = inflate.decompress(chunk, piece)
                header += out[: _HEADER_BYTES - len(header)]
                size += len(out)
                chunk = inflate.unconsumed_tail
        rest = inflate.flush()
    except zlib.error as exc:
        raise ImageReadError(f"{path}: unreadable image (broken zlib stream: {exc})") from None
    return (header + rest)[:_HEADER_BYTES], size + len(rest)


def _pixel_layout(path: Path, header: bytes, size: int) -> tuple[np.dtype, int, int]:
    """Pixel dtype, width and height of an (inflated) image of ``size`` bytes that starts with ``header``.

    Raises:
        ImageReadError: The header is short, the pixels compressed or of no known depth, or the pixel
            block shorter than the header says.
    """
    if len(header) < _HEADER_BYTES:
        raise ImageReadError(f"{path}: unreadable image (header of {size} bytes, expected {_HEADER_BYTES})")
    width, height = struct.unpack_from("<ii", header, 4)
    planes, bits = struct.unpack_from("<hh", header, 12)
    (compression,) = struct.unpack_from("<i", header, 16)
    width, height = abs(width), abs(height)
    if compression != 0:
        raise ImageReadError(f"{path}: compressed Cellomics pixel data (compression {compression}) is not supported")
    if bits not in _DTYPES or width == 0 or height == 0 or planes < 1:
        raise ImageReadError(f"{path}: unreadable image ({width}x{height}, {planes} plane(s), {bits} bits per pixel)")
    dtype = _DTYPES[bits]
    need = width * height * dtype.itemsize
    if size < _HEADER_BYTES + need:
        raise ImageReadError(
            f"{path}: truncated image ({size - _HEADER_BYTES} pixel bytes, {width}x{height} needs {need})"
        )
    return dtype, width, height


def write_cellomics_image(path: str | Path, image: np.ndarray, pixels_per_metre: int = 0) -> Path:
    """Write a 2-D uint8/uint16 array as ``.C01`` (zlib) or ``.DIB`` (raw), by the suffix of ``path``.

    The counterpart of :func:`read_cellomics_image`, for tests and for converting
    images into the layout a Cellomics-reading tool expects.
    """
    path = Path(path)
    img = np.asarray(image)
    if img.ndim != 2 or img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected a 2-D uint8/uint16 image, got {img.dtype} {img.shape}")
    bits = img.dtype.itemsize * 8
    header = struct.pack(
        "<iiihhiiiiii", 40, img.shape[1], img.shape[0], 1, bits, 0, img.nbytes,
        pixels_per_metre, pixels_per_metre, 0, 0,
    )  # fmt: skip
    body = header.ljust(_HEADER_BYTES, b"\0") + img.astype(img.dtype.newbyteorder("<")).tobytes()
    if path.suffix.lower() == ".c01":
        body = struct.pack(">i", _C01_TAG) + zlib.compress(body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


def file_field(field: int) -> str:
    """The frame table's ``field`` (1-based) as a Cellomics file name writes it: field 1 is ``f00``, 11 ``f10``."""
    return f"f{int(field) - 1:02d}"


def name_field(path: str | Path) -> str | None:
    """The field of a Cellomics-named file as its name writes it (``..._B14f07d0.C01``: ``f07``), else ``None``."""
    m = NAME_RE.match(Path(path).name)
    return f"f{m['field']}" if m else None


def is_cellomics_name(name: str) -> bool:
    """Whether a file name follows the Cellomics ``<plate>_<well>f<field>d<channel>`` convention."""
    return NAME_RE.match(name) is not None


def read_cellomics(root: str | Path, interval_h: float | None = None) -> Acquisition:
    """Read a folder (searched recursively) of Cellomics-named images.

    An image present as several files (a ``.C01`` and its exported ``.tif``) is
    read from the native file; the others are listed in ``skipped``. Image files
    that do not follow the naming (a typo, a ``(1)`` copy; thumbnails aside) are
    not read, and one note counts them and names up to 3.

    A time-lapse saved one folder per scan with the same file names (``Scan1/``, ``Scan2/``: a
    plate's file name in more than one folder) is read with each folder a time point, in the
    folders' natural order (``Scan2`` before ``Scan10``), ``interval_h`` apart: the names carry
    no time, so several such folders are refused without it
    (:func:`~ferroscreen.io.scan_interval.unstamped_interval`); said in a note.

    Raises:
        AcquisitionError: No file follows the naming convention, or scan folders without ``interval_h``.
    """
    root = Path(root)
    skipped: list[tuple[str, str]] = []
    passed: list[str] = []  # earlier segment outputs passed over
    unnamed: list[Path] = []
    found = []
    for p, m, well in named_images(root, NAME_RE, skipped, passed, unnamed):
        found.append((p, {
            "plate": m["plate"],
            "well": well,
            "field": int(m["field"]) + 1,
            "channel": f"{m['kind'].lower()}{int(m['channel'])}",
            "z": 0,
            "time_h": 0.0,
            "path": str(p.resolve()),
        }))
    if not found:
        raise AcquisitionError(f"{root}: no Cellomics-named images (<plate>_<well>f<field>d<channel>.C01/.tif)")
    notes = [*passed]
    timed = _time_scan_folders(root, found, interval_h, notes)
    chosen: dict[tuple, dict] = {}
    for p, record in found:
        key = (record["plate"], record["well"], record["field"], record["channel"], record["time_h"])
        other = chosen.get(key)
        if other is None:
            chosen[key] = record
            continue
        rank = _PREFERENCE.index(p.suffix.lower())
        if rank < _PREFERENCE.index(Path(other["path"]).suffix.lower()):
            chosen[key], record = record, other
        skipped.append((record["path"], f"same plate, well, field and channel as {chosen[key]['path']}"))
    if not timed:
        notes.insert(0, "Cellomics names carry no time: every image is at 0 h")
    if unnamed:  # a typo or a "(1)" copy would be dropped unseen
        notes.append(unnamed_note(root, unnamed, "Cellomics <plate>_<well>f<field>d<channel>"))
    if skipped:
        notes.append(f"{len(skipped)} file(s) skipped (duplicates or bad well names; see skipped)")
    return Acquisition(root, "cellomics", make_frame_table(list(chosen.values())), skipped, notes)


def _time_scan_folders(root: Path, found: list[tuple[Path, dict]], interval_h: float | None,
                       notes: list[str]) -> bool:
    """Set ``time_h`` of the records of plates saved one folder per scan (:func:`read_cellomics`); whether any was.

    A plate's folders are scans when one of its file names (case aside) lies in more than one of them.

    Raises:
        NoScanInterval: Several scan folders and no ``interval_h``.
    """
    by_plate: dict[str, dict[Path, set[str]]] = {}
    for p, r in found:
        by_plate.setdefault(r["plate"], {}).setdefault(p.parent, set()).add(p.name.casefold())
    timed = False
    for plate, folders in sorted(by_plate.items()):
        names = [n for held in folders.values() for n in held]
        if len(folders) < 2 or len(set(names)) == len(names):
            continue
        order = sorted(folders, key=lambda f: _natural(f.relative_to(root).as_posix() if f != root else ""))
        shown = ", ".join(f.name or str(f) for f in order[:3]) + (", …" if len(order) > 3 else "")
        step = unstamped_interval(interval_h, len(order), plate, f"one folder per scan: {shown}")
        at = {f: i * step for i, f in enumerate(order)}
        for p, r in found:
            if r["plate"] == plate:
                r["time_h"] = at[p.parent]
        notes.append(f"{plate}: {len(order)} folders with the same image names ({shown}) read as scans "
                     f"{step:g} h apart (--interval-h), in name order")
        timed = True
    return timed


def _natural(text: str) -> tuple:
    """A sort key putting ``Scan2`` before ``Scan10``."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text) if t)
