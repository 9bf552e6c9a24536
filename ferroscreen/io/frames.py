"""The frame table contract and lazy pixel loading.

A frame table is a :class:`pandas.DataFrame` with one row per image file and
the columns of :data:`FRAME_COLUMNS`: ``plate`` (str), ``well`` (canonical
``A01``), ``field`` (int, 1-based), ``channel`` (str), ``time_h`` (float hours
since the plate's first scan), ``z`` (int, 0 when not a stack) and ``path``
(absolute path string). Rows are sorted by plate, time, well, field, channel, z.

A path is an image file, or for stores holding many planes per file a virtual
path: ``<field group>#t=<t>,c=<c>,z=<z>`` for OME-Zarr, ``<file>#page=<ifd>``
for one page of a multi-page TIFF (OME-TIFF), ``<file>#scene=<s>,t=<t>,c=<c>,z=<z>``
for a plane of a Zeiss CZI file. :func:`load_image` reads all of
them, and :func:`frame_file` names the file to watch for a frame's changes.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import AcquisitionError, ImageReadError

FRAME_COLUMNS = ["plate", "well", "field", "channel", "time_h", "z", "path"]
_SORT = ["plate", "time_h", "well", "field", "channel", "z"]


def make_frame_table(records: list[dict]) -> pd.DataFrame:
    """Build a sorted, typed frame table from dicts with the frame columns.

    ``time_h`` is rounded to 1/3600 h (one second) so that timestamps written
    with minute precision compare equal across wells.
    """
    if not records:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _DTYPES.items()})
    df = pd.DataFrame(records)
    df["z"] = df.get("z", 0)
    df["z"] = df["z"].fillna(0).astype(int)
    df["field"] = df["field"].astype(int)
    df["time_h"] = df["time_h"].astype(float).round(4)
    df["channel"] = df["channel"].astype(str)
    df["plate"] = df["plate"].astype(str)
    df["path"] = df["path"].astype(str)
    key = ["plate", "well", "field", "channel", "time_h", "z"]
    dup = df.duplicated(key, keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        same = df[dup & (df[key] == first[key]).all(axis=1)]["path"].tolist()
        raise AcquisitionError(
            f"{same[0]}: the same frame (well {first['well']}, field {first['field']}, {first['time_h']:g} h"
            f"{', channel ' + first['channel'] if first['channel'] else ''}) is also {same[1]}; "
            f"remove one ({len(df[dup].groupby(key))} frame(s) have more than one file)")
    extra = [c for c in df.columns if c not in FRAME_COLUMNS]
    return df[FRAME_COLUMNS + extra].sort_values(_SORT, kind="stable").reset_index(drop=True)


_DTYPES = {
    "plate": "object",
    "well": "object",
    "field": "int64",
    "channel": "object",
    "time_h": "float64",
    "z": "int64",
    "path": "object",
}


_STORE_FRAME_RE = re.compile(r"#(?:t=\d+,c=\d+,z=\d+|page=\d+|scene=\d+,t=\d+,c=\d+,z=\d+)$")
_CZI_RE = re.compile(r"^(?P<file>.+)#scene=\d+,t=\d+,c=\d+,z=\d+$")
_PAGE_RE = re.compile(r"^(?P<file>.+)#page=(?P<page>\d+)$")


def is_store_frame(path: str | Path) -> bool:
    """Whether ``path`` names a plane inside an OME-Zarr field or a page of a TIFF rather than an image file."""
    return bool(_STORE_FRAME_RE.search(str(path))) and not Path(path).exists()


def page_frame_path(file: str | Path, page: int) -> str:
    """The frame-table path of page ``page`` (0-based IFD) of a multi-page TIFF."""
    return f"{Path(file)}#page={int(page)}"


def _page_frame(path: str | Path) -> tuple[Path, int] | None:
    m = _PAGE_RE.match(str(path))
    return (Path(m["file"]), int(m["page"])) if m and not Path(path).exists() else None


def frame_file(path: str | Path) -> str:
    """The file whose size and time stamp stand for a frame: the image file itself, or the OME-Zarr chunk.

    An OME-Zarr frame whose field metadata cannot be read gives its own
    (non-existent) path, so that ``os.stat`` on the result fails as for a
    missing file.
    """
    page = _page_frame(path)
    if page is not None:
        return str(page[0])
    czi = _CZI_RE.match(str(path))
    if czi and is_store_frame(path):
        return czi["file"]
    if is_store_frame(path):
        from ferroscreen.io.omezarr import frame_chunk_file

        try:
            return frame_chunk_file(str(path))
        except AcquisitionError:
            return str(path)
    return str(path)


def load_image(path: str | Path) -> np.ndarray:
    """Read one 2-D frame, preserving uint8/uint16 (and float) pixel types.

    TIFFs are read with tifffile (first page of a multi-page file), Cellomics
    ``.C01``/``.DIB`` files by :mod:`ferroscreen.io.cellomics`; PNG/JPEG
    and other formats with OpenCV ``IMREAD_UNCHANGED`` (16-bit PNGs stay
    16-bit; :func:`decode_image_file`). RGB(A) images (TIFF samples stored contiguously
    or by plane) are converted to grey by averaging the colour channels, keeping the
    input dtype; grey + alpha keeps the grey. A JPEG or PNG cut short is refused
    before decoding, so the decoder prints nothing.

    OME-Zarr frame paths (see the module docstring) are read by
    :func:`ferroscreen.io.omezarr.read_frame`, TIFF page paths by tifffile, CZI planes by
    :func:`ferroscreen.io.czi.read_czi_plane`.

    Raises:
        ImageReadError: One line naming the file when it is missing,
            truncated, corrupt or not an image.
    """
    page = _page_frame(path)
    if page is not None:
        return _to_2d(_read_page(*page), path)
    if _CZI_RE.match(str(path)) and is_store_frame(path):
        from ferroscreen.io.czi import read_czi_plane

        return _to_2d(read_czi_plane(str(path)), path)
    if is_store_frame(path):
        from ferroscreen.io.omezarr import read_frame

        return _to_2d(read_frame(str(path)), path)
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: image file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            import tifffile

            from ferroscreen.io.ometiff import quiet_tifffile

            with quiet_tifffile(), tifffile.TiffFile(path) as tif:
                first = tif.pages[0]
                img = first.asarray()
                if "S" in first.axes and img.ndim == len(first.axes):  # samples last, planar RGB too
                    img = np.moveaxis(img, first.axes.index("S"), -1)
        elif suffix in (".c01", ".dib"):
            from ferroscreen.io.cellomics import read_cellomics_image

            img = read_cellomics_image(path)
        else:
            img = decode_image_file(path)
    except ImageReadError:
        raise
    except Exception as exc:  # tifffile/OpenCV raise many types for broken files
        reason = unreadable_tiff(path, exc) if suffix in TIFF_SUFFIXES else first_line(exc)
        raise ImageReadError(f"{path}: unreadable image ({reason})") from None
    return _to_2d(img, path)


@functools.lru_cache(maxsize=8)
def _open_tiff(file: str, stamp: tuple, pid: int):
    """An open TiffFile that remembers the pages it has walked (a late page of a long file is one seek away)."""
    import tifffile

    tif = tifffile.TiffFile(file)
    tif.pages.cache = True
    tif.pages.useframes = False
    return tif, threading.Lock()


def _read_page(file: Path, page: int) -> np.ndarray:
    """Pixels of one page of a TIFF.

    The file stays open (per process, a few files, reopened when it changes), so reading every page
    of a file of thousands does not walk its page chain from the start each time.

    Raises:
        ImageReadError: The file is missing, unreadable, or has no such page.
    """
    try:
        st = os.stat(file)
    except OSError:
        raise ImageReadError(f"{file}: image file not found") from None
    from ferroscreen.io.ometiff import quiet_tifffile

    try:
        with quiet_tifffile():
            tif, lock = _open_tiff(str(file), (st.st_mtime_ns, st.st_size), os.getpid())
            with lock:
                try:
                    target = tif.pages[page]
                except IndexError:
                    raise ImageReadError(f"{file}: has no page {page} (it has {len(tif.pages)})") from None
                return target.asarray()
    except ImageReadError:
        raise
    except Exception as exc:  # tifffile raises many types for broken files
        raise ImageReadError(f"{file}: unreadable page {page} ({unreadable_tiff(file, exc, page)})") from None


#: TIFF suffixes whose unreadable files :func:`tiff_problem` explains.
TIFF_SUFFIXES = (".tif", ".tiff")


def tiff_problem(path: str | Path, page: int = 0) -> str | None:
    """Why a TIFF file is cut short or corrupt, from its header and image directories, or ``None``.

    Nothing is decoded: the header (byte order, version, first directory offset), the directory
    chain up to page ``page`` (each directory within the file) and that page's strips or tiles
    (each ending within the file) are checked. The reason names no path and reads the same
    wherever the file is met (``inspect``, ``score``, ``segment``): ``truncated TIFF: the file
    ends after 5932 bytes, but its pixel data runs to byte 6592``.
    """
    import struct

    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        return f"cannot read ({exc.strerror})"
    if size == 0:
        return "empty file"
    if head[:2] not in (b"II", b"MM"):
        shown = " ".join(f"{b:02x}" for b in head[:4])
        zero = "zeros" if not any(head[:8]) else shown
        return f"not a TIFF: the file does not start with a TIFF header (its first bytes are {zero})"
    if size < 8:
        return f"truncated TIFF: the file ends after {size} bytes, inside its header"
    order = "<" if head[:2] == b"II" else ">"
    version = struct.unpack(order + "H", head[2:4])[0]
    if version == 42:
        offset, count_fmt, entry, next_fmt = struct.unpack(order + "I", head[4:8])[0], "H", 12, "I"
    elif version == 43:
        if size < 16:
            return f"truncated TIFF: the file ends after {size} bytes, inside its header"
        offset, count_fmt, entry, next_fmt = struct.unpack(order + "Q", head[8:16])[0], "Q", 20, "Q"
    else:
        return f"corrupt TIFF: its header gives version {version}, not 42 (TIFF) or 43 (BigTIFF)"
    count_size, next_size = struct.calcsize(count_fmt), struct.calcsize(next_fmt)
    try:
        with open(path, "rb") as fh:
            for k in range(page + 1):
                which = "first image directory" if k == 0 else f"image directory {k}"
                if offset == 0:
                    return ("corrupt TIFF: its header points to no image directory" if k == 0
                            else f"holds only {k} page(s), no page {page}")
                if offset + count_size > size:
                    return (f"truncated TIFF: the file ends after {size} bytes, before its {which} "
                            f"(at byte {offset})")
                fh.seek(offset)
                count = struct.unpack(order + count_fmt, fh.read(count_size))[0]
                end = offset + count_size + count * entry + next_size
                if end > size:
                    return f"truncated TIFF: the file ends after {size} bytes, inside its {which} (needs {end})"
                fh.seek(offset + count_size + count * entry)
                offset = struct.unpack(order + next_fmt, fh.read(next_size))[0]
    except OSError as exc:
        return f"cannot read ({exc.strerror})"
    import tifffile

    from ferroscreen.io.ometiff import quiet_tifffile

    last = 0  # a later page to check as well (the last plane of a compressed ImageJ stack)
    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            target = tif.pages[page]
            ends = [o + c for o, c in zip(target.dataoffsets, target.databytecounts, strict=False)]
            if ends and max(ends) > size:
                return f"truncated TIFF: the file ends after {size} bytes, but its pixel data runs to byte {max(ends)}"
            if 0 in target.shape:
                return f"TIFF with empty shape {target.shape}"
            images = int((tif.imagej_metadata or {}).get("images", 1)) if page == 0 and tif.is_imagej else 1
            if images > 1 and target.is_contiguous and ends:  # an ImageJ stack: its planes follow the first
                end = target.dataoffsets[0] + images * target.nbytes
                if end > size:
                    return (f"truncated TIFF: the file ends after {size} bytes, but the pixel data of its {images} "
                            f"planes runs to byte {end}")
            elif images > 1:  # compressed: a directory per plane
                last = images - 1
    except Exception as exc:  # tifffile raises many types for broken files
        return f"corrupt TIFF ({first_line(exc)})"
    if page == 0 and last:
        return tiff_problem(path, last)
    return None


def first_line(exc: BaseException | str) -> str:
    """An exception's message (or a text) as one line: its first non-blank line, trimmed (the type when it has none).

    Libraries' messages span lines (OpenCV's ends in a newline and names its source file); a
    one-line error or a CSV cell takes this.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if lines:
        return lines[0]
    return type(exc).__name__ if isinstance(exc, BaseException) else ""




def unreadable_tiff(path: str | Path, exc: BaseException, page: int = 0) -> str:
    """Why a TIFF that failed to decode with ``exc`` is unreadable (no path).

    :func:`tiff_problem`'s reason when its header or directories explain it, else the decoder's own line.
    """
    problem = tiff_problem(path, page)
    if problem is not None:
        return problem
    return f"corrupt TIFF: its pixel data cannot be decoded ({first_line(exc)})"


def decode_image_file(path: str | Path) -> np.ndarray:
    """Pixels of a PNG, JPEG, BMP or other OpenCV-readable file as stored (``IMREAD_UNCHANGED``; BGR(A) order).

    The file is checked before OpenCV sees it (:func:`encoded_image_problem`): libpng and libjpeg
    report a file cut short or corrupt on stderr themselves (``libpng error: Read Error``), beside
    the caller's own one-line error.

    Raises:
        ValueError: Why the bytes are no image (truncated, a chunk's checksum wrong, undecodable),
            without the path; :class:`OSError` when the file cannot be read.
    """
    import cv2

    data = np.fromfile(path, np.uint8)
    problem = encoded_image_problem(data, Path(path).suffix)
    if problem is not None:
        raise ValueError(problem)
    try:
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # OpenCV's message spans lines and names its own source file
        raise ValueError(f"OpenCV could not decode it ({first_line(exc)})") from None
    if img is None:
        raise ValueError("OpenCV could not decode it")
    return img


def encoded_image_problem(data: np.ndarray | bytes, suffix: str) -> str | None:
    """Why the bytes of a ``suffix`` file (``.png``, ``.jpg``) are cut short or corrupt, or ``None``.

    A file that starts with the PNG signature is walked chunk by chunk (each chunk
    whole, its CRC right, ``IEND`` reached; data after ``IEND`` is allowed), whatever
    its suffix; a ``.jpg``/``.jpeg`` file must hold its end-of-image marker. Other
    formats give ``None``. Nothing is decoded. An empty file (no bytes) is said so, whatever its suffix.
    """
    raw = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
    if not raw:
        return "empty file (0 bytes)"
    if raw.startswith(_PNG_SIGNATURE):
        return _png_problem(raw)
    if suffix.lower() in (".jpg", ".jpeg") and not _jpeg_complete(np.frombuffer(raw, np.uint8)):
        return "truncated JPEG: the file ends before its end-of-image marker"
    return None


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_problem(raw: bytes) -> str | None:
    """Why PNG bytes (signature first) are cut short or corrupt; ``None`` when every chunk is whole up to ``IEND``."""
    import zlib

    view = memoryview(raw)
    pos, size = len(_PNG_SIGNATURE), len(raw)
    while True:
        if pos + 8 > size:
            return f"truncated PNG: the file ends after {size} bytes, before its IEND chunk"
        length = int.from_bytes(raw[pos:pos + 4], "big")
        kind = raw[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > size:
            name = kind.decode("latin-1") if kind.isalpha() else "a"
            return f"truncated PNG: the file ends after {size} bytes, inside its {name} chunk (needs {end})"
        crc = int.from_bytes(raw[end - 4:end], "big")
        if zlib.crc32(view[pos + 4:end - 4]) != crc:
            name = kind.decode("latin-1") if kind.isalpha() else "a"
            return f"corrupt PNG: the checksum of its {name} chunk at byte {pos} is wrong"
        if kind == b"IEND":
            return None
        pos = end


def _jpeg_complete(data: np.ndarray) -> bool:
    """Whether JPEG bytes hold an end-of-image marker (FF D9) near their end (data appended after it is allowed).

    libjpeg decodes a file cut short with its missing rows grey and only a warning on stderr. In the
    compressed data a 0xFF byte is always followed by 0x00, so FF D9 there is the real marker.
    """
    return b"\xff\xd9" in data[2:][-65536:].tobytes()


def _to_2d(img: np.ndarray, path: str | Path) -> np.ndarray:
    """Grey 2-D pixels: RGB(A) averaged in the input dtype, grey + alpha's grey, the first plane of a stack."""
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] in (3, 4):
        img = img[..., :3].mean(axis=-1).astype(img.dtype)
    elif img.ndim == 3 and img.shape[-1] == 2:
        img = img[..., 0]
    elif img.ndim == 3:
        img = img[0]
    if img.ndim != 2 or img.size == 0:
        raise ImageReadError(f"{path}: expected a 2-D image, got shape {img.shape}")
    return img
