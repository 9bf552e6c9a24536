"""Format detection and the single entry point :func:`open_acquisition`."""

from __future__ import annotations

from pathlib import Path

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.cellomics import is_cellomics_name, read_cellomics
from ferroscreen.io.cellvoyager import find_measurements, is_cellvoyager_name, read_cellvoyager
from ferroscreen.io.cytation import is_cytation_name, read_cytation
from ferroscreen.io.czi import read_czi
from ferroscreen.io.harmony import find_harmony_index, read_harmony
from ferroscreen.io.imagexpress import is_imagexpress, is_imagexpress_name, read_imagexpress
from ferroscreen.io.incucyte import (
    ARCHIVE_RE,
    EXPORT_RE,
    PREFIXED_EXPORT_RE,
    read_incucyte_archive,
    read_incucyte_export,
)
from ferroscreen.io.ometiff import is_ome_name, read_ometiff
from ferroscreen.io.omezarr import find_plates, read_omezarr
from ferroscreen.io.pattern import read_pattern
from ferroscreen.io.scanr import is_scanr_name, read_scanr

FORMATS = (
    "incucyte", "incucyte_archive", "harmony", "imagexpress", "cellomics", "cytation", "cellvoyager", "scanr",
    "omezarr", "ometiff", "czi", "pattern",
)


def detect_format(root: Path) -> str:
    """Name the acquisition format of ``root`` (see :data:`FORMATS`).

    Raises:
        AcquisitionError: If nothing recognisable is found.
    """
    if not root.exists():
        raise AcquisitionError(f"{root}: no such file or folder")
    if find_plates(root):
        return "omezarr"
    if find_harmony_index(root) is not None:
        return "harmony"
    if find_measurements(root):
        return "cellvoyager"
    if root.is_file():
        if is_ome_name(root.name):
            return "ometiff"
        if root.suffix.lower() == ".czi":
            return "czi"
        raise AcquisitionError(f"{root}: is a file; expected an acquisition folder")
    if (root / "EssenFiles").is_dir() or "ScanData" in root.parts:
        return "incucyte_archive"
    if is_imagexpress(root):
        return "imagexpress"
    for n, p in enumerate(root.rglob("*")):
        if n > 20000:
            break
        if is_ome_name(p.name):
            return "ometiff"
        if p.suffix.lower() == ".czi":
            return "czi"
        if EXPORT_RE.match(p.name) or PREFIXED_EXPORT_RE.match(p.name):
            return "incucyte"
        if ARCHIVE_RE.search(p.as_posix()):
            return "incucyte_archive"
        if is_cellvoyager_name(p.name):
            return "cellvoyager"
        if is_cellomics_name(p.name):
            return "cellomics"
        if is_cytation_name(p.name):
            return "cytation"
        if is_scanr_name(p.name):
            return "scanr"
        if is_imagexpress_name(p.name) or (p.is_dir() and is_imagexpress(p)):  # direct transfer; a folder above
            return "imagexpress"
    raise AcquisitionError(
        f"{root}: no known acquisition layout found (IncuCyte export or archive, Harmony, "
        "ImageXpress, Cellomics, Cytation, CellVoyager/CQ1, scanR, OME-Zarr HCS, OME-TIFF, Zeiss CZI); "
        "use --format pattern --pattern REGEX for other layouts"
    )


def open_acquisition(
    root: str | Path,
    fmt: str | None = None,
    pattern: str | None = None,
    time_unit: str = "h",
    interval_h: float = 1.0,
) -> Acquisition:
    """Open an acquisition, detecting its format unless ``fmt`` is given.

    ``fmt`` ``pattern:REGEX`` is the generic reader with that pattern (as ``pattern`` gives it).

    A folder written by ``ferroscreen simulate`` (images under ``images/``) is
    opened as its IncuCyte export.

    Raises:
        AcquisitionError: Unknown format name, nothing recognisable, or the
            chosen reader finds no frames.
    """
    root = Path(root)
    if fmt is not None and fmt.startswith("pattern:"):  # the CLI's --pattern travels inside the format
        fmt, pattern = "pattern", fmt[len("pattern:"):]
    if fmt is None and pattern is not None:
        fmt = "pattern"
    if fmt is None:
        fmt = detect_format(root)
    if fmt not in FORMATS:
        raise AcquisitionError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    if not root.exists():
        raise AcquisitionError(f"{root}: no such file or folder")
    if fmt == "incucyte":
        return read_incucyte_export(root)
    if fmt == "incucyte_archive":
        return read_incucyte_archive(root)
    if fmt == "harmony":
        return read_harmony(root)
    if fmt == "imagexpress":
        return read_imagexpress(root, interval_h=interval_h)
    if fmt == "cellomics":
        return read_cellomics(root)
    if fmt == "cytation":
        return read_cytation(root, interval_h=interval_h)
    if fmt == "cellvoyager":
        return read_cellvoyager(root, interval_h=interval_h)
    if fmt == "scanr":
        return read_scanr(root, interval_h=interval_h)
    if fmt == "omezarr":
        return read_omezarr(root, interval_h=interval_h)
    if fmt == "ometiff":
        return read_ometiff(root, interval_h=interval_h)
    if fmt == "czi":
        return read_czi(root, interval_h=interval_h)
    if pattern is None:
        raise AcquisitionError("--format pattern needs --pattern REGEX with a (?P<well>...) group")
    return read_pattern(root, pattern, time_unit=time_unit, interval_h=interval_h)


def is_acquisition_file(path: Path) -> bool:
    """Whether the file ``path`` is a whole acquisition: a Zeiss ``.czi``, or an OME-TIFF whose images lie in wells."""
    from ferroscreen.io.ometiff import is_ome_acquisition

    return path.is_file() and (path.suffix.lower() == ".czi" or is_ome_acquisition(path))


def refuse_stacked_ome(paths) -> None:
    """Refuse OME-TIFF files of several planes about to be read as plain images (only the first plane would be).

    Such a file (positions named ``Pos0``/``P1``, no HCS plate) is no acquisition; reading it as one
    image would silently drop the rest.

    Raises:
        AcquisitionError: Naming the first such file, why it is no acquisition and what to do.
    """
    import tifffile

    from ferroscreen.io.ometiff import is_ome_name, quiet_tifffile, read_ometiff

    for path in paths:
        path = Path(path)
        if not is_ome_name(path.name) or path.name.lower().endswith(".companion.ome"):
            continue
        try:
            with quiet_tifffile(), tifffile.TiffFile(path) as tif:
                n = len(tif.pages)
        except Exception:  # an unreadable file fails later, as an image, with its own reason
            continue
        if n < 2:
            continue
        try:
            read_ometiff(path)
        except AcquisitionError as exc:
            raise AcquisitionError(f"{exc}; as an image only the first of its {n} planes would be read: name its "
                                   "positions by well (B2-Site_0, Well B02) or export it as an HCS plate") from None


def find_layout_beside(root: Path) -> Path | None:
    """A ``layout.csv``, ``layout.xlsx`` or single ``*.PlateMap`` in or next to an acquisition folder."""
    for folder in (root, root.parent):
        for name in ("layout.csv", "layout.xlsx"):
            if (folder / name).is_file():
                return folder / name
        maps = sorted(folder.glob("*.PlateMap"))
        if len(maps) == 1:
            return maps[0]
    return None


def refuse_acquisition_options(path: Path, what: str, fmt: str | None = None, channel: str | None = None,
                               z_plane=None, channel_hint: str = "") -> None:
    """Refuse the options that pick within an acquisition when ``path`` is not one.

    ``what`` says what ``path`` is (``a single image file``, ``a folder of images``); ``channel_hint``
    ends the ``--channel`` message (e.g. where a multi-channel file's channel is picked instead).

    Raises:
        AcquisitionError: ``--format``, ``--channel`` or ``--z-plane`` given for ``path``.
    """
    for option, given, picks in (("--format", fmt, "reads an acquisition folder in a named layout"),
                                 ("--channel", channel, "picks a channel of an acquisition"),
                                 ("--z-plane", z_plane, "picks a plane of an acquisition")):
        if given is not None:
            hint = channel_hint if option == "--channel" else ""
            raise AcquisitionError(f"{path}: {option} {picks}; this is {what}{hint}")
