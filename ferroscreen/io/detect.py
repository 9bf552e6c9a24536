"""Format detection and the single entry point :func:`open_acquisition`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.acquisition import Acquisition, missing_sites_note
from ferroscreen.io.cellomics import file_field, is_cellomics_name, read_cellomics
from ferroscreen.io.cellvoyager import find_measurements, is_cellvoyager_name, read_cellvoyager
from ferroscreen.io.cytation import is_cytation_name, read_cytation
from ferroscreen.io.czi import read_czi
from ferroscreen.io.harmony import find_harmony_indexes, read_harmony
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
from ferroscreen.io.scan_interval import NoScanInterval
from ferroscreen.io.scanr import is_scanr_name, read_scanr
from ferroscreen.io.segment_outputs import walk_tree
from ferroscreen.io.temporary_files import is_input_name

FORMATS = (
    "incucyte", "incucyte_archive", "harmony", "imagexpress", "cellomics", "cytation", "cellvoyager", "scanr",
    "omezarr", "ometiff", "czi", "pattern",
)


def format_or_unknown(root: str | Path, fmt: str | None) -> tuple[str | None, AcquisitionError | None]:
    """The acquisition format of ``root`` and, when it is in no known layout, why.

    ``(fmt, None)`` when a format is given, else :func:`detect_format`'s ``(format, None)``, or
    ``(None, its error)`` for a folder in no known layout (a folder of images, maybe).
    """
    if fmt is not None:
        return fmt, None
    try:
        return detect_format(root), None
    except AcquisitionError as exc:
        return None, exc


def detect_format(root: Path) -> str:
    """Name the acquisition format of ``root`` (see :data:`FORMATS`).

    Raises:
        AcquisitionError: If nothing recognisable is found.
    """
    if not root.exists():
        raise AcquisitionError(f"{root}: no such file or folder")
    if find_plates(root):
        return "omezarr"
    if find_harmony_indexes(root):
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
    for n, p in enumerate(_tree_entries(root)):
        if n > 20000:
            break
        if not is_input_name(p.name):  # a copy in progress, a hidden macOS ._ fork: no layout's
            continue
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


def _tree_entries(root: Path) -> Iterator[Path]:
    """Every folder and file under the folder ``root``, folder by folder, each folder's in name order.

    As ``root.rglob("*")`` lists them, but symbolic links to folders are followed (a plate's ``images``
    linked from another plate or disk), each folder once (:func:`~ferroscreen.io.segment_outputs.walk_tree`).
    """
    for dirpath, dirnames, filenames in walk_tree(root):
        here = Path(dirpath)
        yield from (here / name for name in sorted([*dirnames, *filenames]))


#: The time unit of a ``pattern:REGEX`` format other than hours, as a regex comment before the regex
#: (:func:`pattern_format`): every caller that compiles the regex still can.
_TIME_UNIT_COMMENT = re.compile(r"\(\?#time-unit=(\w+)\)")


def pattern_format(pattern: str, time_unit: str = "h") -> str:
    """The format :func:`open_acquisition` takes for ``--pattern REGEX`` (and ``--time-unit``): ``pattern:REGEX``.

    A ``time_unit`` other than ``h`` (of the pattern's ``time`` group) travels as a regex comment
    before the regex (``pattern:(?#time-unit=min)REGEX``), so that the format alone (a score store
    records it) reads the plate again as it was read.
    """
    return f"pattern:{'' if time_unit == 'h' else f'(?#time-unit={time_unit})'}{pattern}"


def open_acquisition(
    root: str | Path,
    fmt: str | None = None,
    pattern: str | None = None,
    time_unit: str = "h",
    interval_h: float | None = None,
) -> Acquisition:
    """Open an acquisition, detecting its format unless ``fmt`` is given.

    ``fmt`` ``pattern:REGEX`` is the generic reader with that pattern (as ``pattern`` gives it), its
    time unit in a leading ``(?#time-unit=min)`` when not hours (:func:`pattern_format`).

    ``interval_h`` is the hours between scans that carry no time stamp (``None`` or NaN: not given);
    a plate of several such scans is refused without it
    (:func:`~ferroscreen.io.scan_interval.unstamped_interval`).

    A folder written by ``ferroscreen simulate`` (images under ``images/``) is
    opened as its IncuCyte export.

    Frame files that are z-stack TIFFs give a frame per plane, said in a note
    (:func:`ferroscreen.io.tiff_stacks.expand_tiff_stacks`); OME-TIFF, CZI and OME-Zarr readers
    give their planes themselves. Wells missing fields other wells of their plate have, and fields
    missing a channel, are counted in a note (:func:`~ferroscreen.io.acquisition.missing_sites_note`; a
    Cellomics field named as its files name it, ``f00`` for field 1).

    Raises:
        AcquisitionError: Unknown format name, nothing recognisable, the
            chosen reader finds no frames, or a plate of several scans without time stamps and no
            ``interval_h`` (one line: the folder, the plate, the count, ``give --interval-h H, ...``).
    """
    root = Path(root)
    if fmt is not None and fmt.startswith("pattern:"):  # the CLI's --pattern travels inside the format
        fmt, pattern = "pattern", fmt[len("pattern:"):]
        if unit := _TIME_UNIT_COMMENT.match(pattern):
            time_unit, pattern = unit[1], pattern[unit.end():]
    if fmt is None and pattern is not None:
        fmt = "pattern"
    if fmt is None:
        fmt = detect_format(root)
    if fmt not in FORMATS:
        raise AcquisitionError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    if not root.exists():
        raise AcquisitionError(f"{root}: no such file or folder")
    try:
        acq = _read(root, fmt, pattern, time_unit, interval_h)
    except NoScanInterval as exc:
        raise NoScanInterval(f"{root}: {exc}") from None
    if fmt not in ("ometiff", "czi", "omezarr"):
        from ferroscreen.io.tiff_stacks import expand_tiff_stacks

        acq.frames, notes = expand_tiff_stacks(acq.frames)
        acq.notes = [*acq.notes, *notes]
    missing = missing_sites_note(acq.frames, file_field if acq.format == "cellomics" else None)
    if missing is not None:
        acq.notes = [*acq.notes, missing]
    return acq


def _read(root: Path, fmt: str, pattern: str | None, time_unit: str, interval_h: float | None) -> Acquisition:
    """The acquisition at ``root`` as the reader of ``fmt`` (one of :data:`FORMATS`) reads it."""
    if fmt == "incucyte":
        return read_incucyte_export(root)
    if fmt == "incucyte_archive":
        return read_incucyte_archive(root)
    if fmt == "harmony":
        return read_harmony(root, interval_h=interval_h)
    if fmt == "imagexpress":
        return read_imagexpress(root, interval_h=interval_h)
    if fmt == "cellomics":
        return read_cellomics(root, interval_h=interval_h)
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


#: Names of the layout files taken beside an acquisition (:func:`layout_beside`), in any letter case; the first first.
LAYOUT_NAMES = ("layout.csv", "layout.xlsx")
#: What :func:`layout_beside` looks for, for messages that it found none (``no {LAYOUT_BESIDE} beside ...``).
LAYOUT_BESIDE = "layout.csv, layout.xlsx (any letter case) or single .PlateMap"


def layout_beside(root: Path) -> tuple[Path | None, str]:
    """The layout file in an acquisition folder, else in its parent (None when neither holds one); and a note.

    A folder's layout file is its ``layout.csv``, else its ``layout.xlsx`` (any letter case: ``Layout.xlsx``),
    else its one ``*.PlateMap`` (several plate maps name none); see :data:`LAYOUT_BESIDE`. Where the folder
    holds more than one of these names (``layout.csv`` and ``layout.xlsx``, ``layout.csv`` and ``Layout.csv``),
    the note names the one used and those not read (else it is ``""``): a caller that reads the layout says it.

    A folder of Harmony measurement folders (``root`` above ``<plate>__<date>-Measurement 1/``) with none
    takes its measurement's own, as giving the measurement folder would; of several measurements each
    with its own, none is taken and the note says so (one line: pass ``--layout``).
    """
    for folder in (root, root.parent):
        found, note = _folder_layout(folder, root)
        if found is not None:
            return found, note
    measurements = _measurement_folders(root)
    own = [(m, *_folder_layout(m, m)) for m in measurements]
    own = [(m, found, note) for m, found, note in own if found is not None]
    if len(own) == 1 and len(measurements) == 1:
        return own[0][1], own[0][2]
    if own:
        named = ", ".join(found.relative_to(root).as_posix() for _, found, _ in own[:3])
        return None, (f"{root}: no layout found beside it; its {len(measurements)} measurements' own layouts "
                      f"({named}{', …' if len(own) > 3 else ''}) are not read: pass --layout")
    return None, ""


def _folder_layout(folder: Path, root: Path) -> tuple[Path | None, str]:
    """The layout file of one folder (:func:`layout_beside`'s rule) and its note; ``(None, "")`` for none."""
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:  # no folder (an acquisition that is one file names its folder as the parent)
        return None, ""
    found = sorted((folder / n for n in names if n.lower() in LAYOUT_NAMES and (folder / n).is_file()),
                   key=lambda p: (LAYOUT_NAMES.index(p.name.lower()), p.name != p.name.lower(), p.name))
    if found:
        others = ", ".join(p.name for p in found[1:])
        note = (f"{folder}: {found[0].name} is the layout of {root.name}; {others} beside it is not read (pass "
                f"--layout to use another)") if others else ""
        return found[0], note
    maps = [folder / n for n in sorted(names) if n.lower().endswith(".platemap") and (folder / n).is_file()]
    return (maps[0], "") if len(maps) == 1 else (None, "")


def _measurement_folders(root: Path) -> list[Path]:
    """The Harmony export folders one level down in the folder ``root`` (none when ``root`` is one itself)."""
    from ferroscreen.io.harmony import export_folder, find_harmony_index

    if not root.is_dir() or find_harmony_index(root) is not None:
        return []
    return [export_folder(i) for i in find_harmony_indexes(root)]


def find_layout_beside(root: Path) -> Path | None:
    """The layout file :func:`layout_beside` finds for an acquisition (its note aside), else None."""
    return layout_beside(root)[0]


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


#: Suffixes of the image files that a folder without an acquisition layout is read as (``segment``, ``inspect``).
PLAIN_IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".c01", ".dib")

#: Entries :func:`images_in_subfolders` looks at before it stops counting.
SUBFOLDER_SCAN_LIMIT = 50000


def plain_images(folder: str | Path) -> list[Path]:
    """Image files (:data:`PLAIN_IMAGE_SUFFIXES`) directly inside ``folder``, sorted by name.

    Hidden files (macOS ``._x.png`` forks) and temporary files (a ``~x.tif`` copy in progress,
    :func:`~ferroscreen.io.temporary_files.is_temporary_name`) are not images; sub-folders are not
    read (:func:`images_in_subfolders` counts what they hold).
    """
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.suffix.lower() in PLAIN_IMAGE_SUFFIXES and is_input_name(p.name))


def images_in_subfolders(folder: str | Path, skip=None) -> tuple[dict[str, int], bool]:
    """Image files in the sub-folders of ``folder`` (at any depth), counted per top-level sub-folder.

    Hidden folders, OME-Zarr stores (``*.zarr``) and folders for which ``skip(path)`` is true
    (an earlier segment output) are not counted, nor are hidden and temporary files. Counting stops after
    :data:`SUBFOLDER_SCAN_LIMIT` entries.

    Returns:
        ``({sub-folder name: images}, complete)``: only sub-folders holding images, in name
        order; ``complete`` is false when counting stopped early (the counts are then lower bounds).
        Symbolic links to folders are followed, each folder once (as the readers walk, :func:`walk_tree`).
    """
    folder = Path(folder)
    counts: dict[str, int] = {}
    seen = 0
    for top in sorted(p for p in folder.iterdir() if p.is_dir()):
        if _passed_over(top, skip):
            continue
        for dirpath, dirnames, filenames in walk_tree(top):
            dirnames[:] = sorted(d for d in dirnames if not _passed_over(Path(dirpath) / d, skip))
            seen += len(filenames) + len(dirnames)
            n = sum(1 for f in filenames if Path(f).suffix.lower() in PLAIN_IMAGE_SUFFIXES and is_input_name(f))
            if n:
                counts[top.name] = counts.get(top.name, 0) + n
            if seen > SUBFOLDER_SCAN_LIMIT:
                return counts, False
    return counts, True


def _passed_over(folder: Path, skip) -> bool:
    """Whether a sub-folder holds no input images: hidden, an OME-Zarr store, or ``skip`` says so."""
    return folder.name.startswith(".") or folder.name.lower().endswith(".zarr") or bool(skip and skip(folder))


def subfolder_note(folder: str | Path, counts: dict[str, int], complete: bool = True) -> str | None:
    """One line saying how many images in sub-folders of a plain image folder are not read, and how to read them.

    ``counts`` and ``complete`` are :func:`images_in_subfolders`'s; ``None`` when it found none.
    """
    if not counts:
        return None
    total = sum(counts.values())
    names = ", ".join(f"{k}/ {v}" for k, v in list(counts.items())[:4])
    more = f", {len(counts) - 4} more sub-folders" if len(counts) > 4 else ""
    return (f"{'at least ' if not complete else ''}{total} image(s) in sub-folders of {folder} are not read "
            f"({names}{more}): a folder of images is read without its sub-folders; give each sub-folder as its "
            "own input, or, when the names carry wells, --pattern with a '/' (matched against the path under the "
            "folder)")


_WELL_TOKEN = re.compile(r"(?:A[A-F]|[A-P])(?:0?[1-9]|[1-4][0-9])")
_SEPARATORS = re.compile(r"([_\- .]+)")
_NUMBERED_TOKENS = (  # (regex over a token after the well, the pattern group its number is)
    (re.compile(r"(?i)(s|f|fld|field|site|p|pos)(\d+)"), "field"),
    (re.compile(r"(?i)(t|tp|time)(\d+)"), "timepoint"),
    (re.compile(r"(?i)(z)(\d+)"), "z"),
    (re.compile(r"(?i)()(\d+)(min|h|s)"), "time"),  # a time and its unit after it (0240min, 4h): --time-unit
    (re.compile(r"()(\d+)"), "field"),  # a bare number after the well (B2-3.tif): its field
)


def well_pattern_hint(files: list[Path]) -> str | None:
    """A note when most names of a plain image folder's ``files`` carry a well id, with a ``--pattern`` that reads them.

    A name carries a well when one of its ``_``/``-``/``.``/space separated parts is a well id (``A01``,
    ``B2``, ``P24``, upper case); of several such parts, the well is at the place that names the most
    wells over the names (a plate ``P5`` before the well names one). It takes more than half the names,
    and at least two wells, for the note; the example pattern is built from the first such name (the
    part before the well as the plate unless each name has its own; ``s1``/``f1``/``site1`` or a bare
    number a field, ``t1`` a time point, ``0240min``/``4h``/``30s`` a time in that unit (the note adds
    ``--time-unit``), ``z1`` a plane, a part after the well that differs between names a channel) and the
    note says how many of the names it matches.

    Returns:
        The note, or ``None``.
    """
    from ferroscreen.io.incucyte import IMAGE_SUFFIXES as pattern_suffixes
    from ferroscreen.plate.wells import normalize_well

    named = []
    for f in files:
        parts = _SEPARATORS.split(Path(f).name[: -len(Path(f).suffix) or None])
        places = [i for i in range(0, len(parts), 2) if _WELL_TOKEN.fullmatch(parts[i])]
        if places:
            named.append((Path(f), parts, places))
    seen: dict[int, set[str]] = {}  # the wells each place names over the names
    for _, parts, places in named:
        for i in places:
            seen.setdefault(i, set()).add(normalize_well(parts[i]))
    # the place naming the most wells is the well (a plate named like a well, P5_B04_w1, names one), the first on a tie
    best = max(seen, key=lambda i: (len(seen[i]), -i)) if seen else None
    split = [(f, parts, best if best in places else places[0]) for f, parts, places in named]
    if len(split) * 2 <= len(files) or len({normalize_well(p[a]) for _, p, a in split}) < 2:
        return None
    example, parts, at = split[0]
    prefixes = {"".join(p[:a]) for _, p, a in split}
    rx = ""
    if at > 0:
        own = len(prefixes) == len(split) and len(split) > 1  # a running number per image, not a plate
        rx = (".*?" if own else "(?P<plate>.+)") + re.escape(parts[at - 1])
    two_letters = any(len(p[a].rstrip("0123456789")) == 2 for _, p, a in split)  # 1536-well rows AA-AF
    rx += r"(?P<well>A?[A-P]\d{1,2})" if two_letters else r"(?P<well>[A-P]\d{1,2})"
    used = {"well", "plate"}
    unit = "h"  # of a time group
    for i in range(at + 1, len(parts)):
        part = parts[i]
        if i % 2:  # a separator
            rx += re.escape(part)
            continue
        values = {p[i - at + a] for _, p, a in split if i - at + a < len(p)}
        for token, group in _NUMBERED_TOKENS:
            m = token.fullmatch(part)
            if m and group not in used and not {group, *used} >= {"time", "timepoint"}:
                rx += re.escape(m[1]) + rf"(?P<{group}>\d+)"
                if group == "time":
                    rx += re.escape(m[3])
                    unit = m[3].lower()
                used.add(group)
                break
        else:
            if len(values) == 1:
                rx += re.escape(part)
            elif all(v.isdigit() for v in values):
                rx += r"\d+"
            elif "channel" not in used:
                rx += r"(?P<channel>[^_.]+)"
                used.add("channel")
            else:
                rx += r"[^_.]+"
    suffixes = sorted({f.suffix[1:] for f, _, _ in split if f.suffix.lower() in pattern_suffixes})
    if not suffixes:
        return None
    rx += r"\." + (re.escape(suffixes[0]) if len(suffixes) == 1 else f"(?:{'|'.join(map(re.escape, suffixes))})")
    compiled = re.compile(rx)
    fits = sum(1 for f in files if f.suffix.lower() in pattern_suffixes and compiled.fullmatch(Path(f).name))
    if not fits:
        return None
    time_unit = f" --time-unit {unit}" if unit != "h" else ""
    return (f"{len(split)} of {len(files)} image names carry a well id ({example.name}: well "
            f"{normalize_well(parts[at])}), but a folder of images is read without plates or wells (no wells.csv); "
            f"to read it as a plate give --pattern '{rx}'{time_unit} (it matches {fits} of the {len(files)})")
