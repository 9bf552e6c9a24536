"""Reader for OME-TIFF acquisitions: HCS plates and multi-position time-lapses.

OME-TIFF is what Bio-Formats (``bfconvert``, Fiji's exporter), Micro-Manager
(``<name>_MMStack_<position>.ome.tif``) and most instrument software's "export
OME-TIFF" write. ``root`` is a folder (searched recursively for ``*.ome.tif``,
``*.ome.tiff``, ``*.ome.tf2``, ``*.ome.tf8``, ``*.ome.btf`` and
``*.companion.ome``) or one such file. Each file's OME-XML (the first page's
ImageDescription, or the companion file its ``BinaryOnly`` block names) says
which IFD of which file holds each plane; a plane missing from its file is
skipped with the reason, as a missing image file would be.

Wells and fields:

* HCS (a ``Plate`` in the OME-XML): ``Well`` ``Row``/``Column`` (0-based) give
  the well, the plate is the ``Plate`` ``Name`` (else its ID); fields are the
  well's ``WellSample`` s in ``Index`` order, counted from 1 in each
  ``PlateAcquisition``.
* Otherwise the well is read from the image's name, else its ``StageLabel``
  name, else the file name: Micro-Manager's HCS site names ``B2-Site_0``
  (site 0 = field 1), ``B02``, ``Well B2``, ``B2_s2`` / ``B2-2`` / ``B2 Field #2``,
  ``Well B02, Field 1``. Field numbers that start at 0 on a plate are shifted
  to start at 1. The plate is the folder holding the files. An image whose
  name holds no well (``Pos0``) is skipped with the reason.

Times: a plane's time is its image's start (``WellSample`` ``Timepoint``, else
``Image`` ``AcquisitionDate``) plus its ``DeltaT`` (else ``t`` x ``TimeIncrement``);
all frames of one scan (an acquisition's time index) take the scan's first
time, hours from the plate's first scan. Without start times scans are timed
by ``DeltaT`` / ``TimeIncrement`` alone, and without those ``interval_h`` apart
(said in ``notes``). Several images of one well and field without a
``PlateAcquisition`` (one image per scan) are scans in the order of their start.

Frame paths are virtual, ``<file>#page=<ifd>`` (see :mod:`ferroscreen.io.frames`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections import defaultdict
from pathlib import Path

from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table, page_frame_path, tiff_problem
from ferroscreen.io.ome_xml import OmeDocument, OmeImage, OmePlane, parse_ome_xml
from ferroscreen.io.scan_interval import unstamped_interval
from ferroscreen.plate.wells import normalize_well, rowcol_to_well

__all__ = ["OME_SUFFIXES", "find_ome_files", "is_ome_acquisition", "is_ome_name", "read_ometiff", "well_from_name"]

#: File name endings of OME-TIFF data and metadata files.
OME_SUFFIXES = (".ome.tif", ".ome.tiff", ".ome.tf2", ".ome.tf8", ".ome.btf", ".companion.ome")

_WELL = r"(?P<well>[A-Za-z]{1,2}\d{1,3})"
_NAME_RES = [
    re.compile(rf"^{_WELL}-Site_(?P<site>\d+)$", re.IGNORECASE),  # Micro-Manager HCS site generator
    re.compile(
        rf"^(?:.*?\bwell\s*[:#]?\s*)?{_WELL}(?:\s*[,;]?\s*(?:[-_ ]?(?:field|site|fld|pos(?:ition)?|[fsp])\s*#?\s*)"
        rf"(?P<field>\d+)|[-_](?P<index>\d+))?(?:\s*\(.*\))?$",
        re.IGNORECASE,
    ),
]


def is_ome_name(name: str) -> bool:
    """Whether a file name ends like an OME-TIFF data or companion file."""
    return name.lower().endswith(OME_SUFFIXES)


def well_from_name(name: str) -> tuple[str, int | None, bool] | None:
    """The well, field number and whether it is 0-based, read from an image/position name; None if none.

    ``B2-Site_0`` -> (``B02``, 0, True); ``Well B02, Field 3`` -> (``B02``, 3, False); ``C5`` -> (``C05``, None, False).
    """
    text = name.strip()
    if re.fullmatch(r"[Pp]\d+", text):  # a position (ZEN, NIS-Elements: P1, P2 ...), not well P1
        return None
    for k, rx in enumerate(_NAME_RES):
        m = rx.match(text)
        if not m:
            continue
        try:
            well = normalize_well(m["well"])
        except WellError:
            return None
        if k == 0:
            return well, int(m["site"]), True
        number = m["field"] or m["index"]
        return well, int(number) if number else None, False
    return None


def is_ome_acquisition(path: Path) -> bool:
    """Whether the file ``path`` is an OME-TIFF (or companion file) whose images lie in wells.

    A lone OME-TIFF image without a well (``cells.ome.tif``) is an image file, not an acquisition.
    """
    if not path.is_file() or not is_ome_name(path.name):
        return False
    try:
        read_ometiff(path)
    except AcquisitionError:
        return False
    return True


def find_ome_files(root: Path, notes: list[str] | None = None) -> list[Path]:
    """OME-TIFF data and companion files: ``root`` itself when it is one, else those under it.

    Earlier segment outputs under ``root`` (a label image of ``x.ome.tif`` is ``x.ome.tif`` too) and
    temporary files are passed over, said in ``notes`` (:func:`~ferroscreen.io.segment_outputs.input_paths`).
    """
    if root.is_file():
        return [root] if is_ome_name(root.name) else []
    from ferroscreen.io.segment_outputs import input_paths

    walk = input_paths(root)
    if walk.note and notes is not None:
        notes.append(walk.note)
    return [p for p in walk.paths if is_ome_name(p.name) and p.is_file()]


_TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")


@contextlib.contextmanager
def quiet_tifffile():
    """Keep tifffile's log lines (about broken files, said in our own words) off the terminal."""
    log = logging.getLogger("tifffile")
    level = log.level
    log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        log.setLevel(level)


def _xml_of(path: Path) -> str:
    """The OME-XML text of a data file (its first page's ImageDescription) or a metadata file.

    A file that is no TIFF (a ``.companion.ome``, Micro-Manager's ``OMEXMLMetadata.ome``, a
    ``.ome.xml``) is read as the XML itself.
    """
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ValueError(f"cannot read it ({exc.strerror})") from None
    if magic not in _TIFF_MAGIC:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read it ({exc.strerror})") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        if "<OME" not in text:
            raise ValueError("neither a TIFF nor OME-XML")
        return text
    import tifffile

    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            text = tif.pages.first.description
    except Exception as exc:  # tifffile raises many types for broken files
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(tiff_problem(path) or f"not a readable TIFF ({why})") from None
    if "<OME" not in (text or ""):
        raise ValueError("no OME-XML in its first page's ImageDescription (or the file is cut short)")
    return text


_ROOT_UUID_RE = re.compile(r'(<(?:\w+:)?OME\b[^>]*?)\sUUID="([^"]*)"')


def _documents(files: list[Path], skipped: list, uuids: dict[str, Path]) -> list[tuple[Path, OmeDocument]]:
    """Each OME-XML document to read, with the file it came from (a companion, a master or the data file).

    Files whose XML differs only in the root ``UUID`` (Bio-Formats writes the whole document into
    every file of a set) are one document when all its planes name their file; a ``BinaryOnly``
    block's metadata file (a ``.companion.ome``, Micro-Manager's master ``.ome.tif`` or its
    ``OMEXMLMetadata.ome``) is read once, however many files point to it. Files that a document
    read already names for all its planes are not opened again. ``uuids`` gets each file's root
    UUID (what a ``TiffData`` without a file name names its file by).
    """
    parsed: dict[str, OmeDocument] = {}
    docs, sources, covered = [], set(), set()
    for path in files:
        if path.resolve() in covered:
            continue
        try:
            text = _xml_of(path)
            found = _ROOT_UUID_RE.search(text)
            if found:
                uuids.setdefault(found.group(2), path.resolve())
            key = _ROOT_UUID_RE.sub(r"\1", text, count=1).strip()
            doc = parsed.get(key)
            new = doc is None
            if new:
                doc = parsed[key] = parse_ome_xml(text)
        except ValueError as exc:
            skipped.append((str(path), str(exc)))
            continue
        source = (path.parent / doc.binary_only).resolve() if doc.binary_only else path.resolve()
        if source in sources:
            continue
        if doc.binary_only:
            if not source.is_file():
                skipped.append((str(path), f"its metadata is in {doc.binary_only}, which is missing"))
                continue
            try:
                doc = parse_ome_xml(_xml_of(source))
            except ValueError as exc:
                skipped.append((str(source), str(exc)))
                continue
            if doc.binary_only:
                skipped.append((str(source), "its metadata points to yet another file"))
                continue
        elif not new and all(p.file is not None or p.uuid is not None for im in doc.images.values()
                             for p in im.planes):
            continue
        sources.add(source)
        docs.append((source, doc))
        if all(p.file is not None for im in doc.images.values() for p in im.planes):
            covered.update(_resolve(source.parent, p.file) for im in doc.images.values() for p in im.planes)
    return docs


@functools.lru_cache(maxsize=4096)
def _resolve(folder: Path, name: str) -> Path:
    return (folder / name).resolve()


def _plane_file(source: Path, plane: OmePlane, uuids: dict[str, Path]) -> Path | None:
    """The file holding ``plane``; None when none is known.

    Its ``UUID`` file name beside ``source``, else the file whose root UUID the ``UUID`` element
    gives, else ``source`` itself (when it is a TIFF, not a metadata-only file).
    """
    if plane.file is not None:
        return _resolve(source.parent, plane.file)
    if plane.uuid is not None:
        return uuids.get(plane.uuid)
    return source if source.exists() and _is_tiff(source) else None


@functools.lru_cache(maxsize=256)
def _is_tiff(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in _TIFF_MAGIC
    except OSError:
        return False


def _image_planes(image: OmeImage, n_images: int) -> list[OmePlane]:
    """The image's planes; an image alone in its file without ``TiffData`` fills the IFDs in order."""
    if image.planes or n_images != 1:
        return image.planes
    return [OmePlane(z, c, t, None, z + image.size_z * (c + image.size_c * t))
            for t in range(image.size_t) for c in range(image.size_c) for z in range(image.size_z)]


def _site(source: Path, image: OmeImage, doc: OmeDocument, holder: Path | None = None,
          ) -> tuple[str, str, int | None, bool, int | None]:
    """(plate, well, field number, 0-based, HCS acquisition) of an image.

    The field number of an HCS sample is its ``Index``; of a named image the number in its name. An
    image without a name or stage label is named by ``holder``, the file holding its planes.

    Raises:
        WellError: No well in the image's name, stage label or file name.
    """
    site = doc.sites.get(image.id)
    if site is not None:
        return site.plate, rowcol_to_well(site.row, site.column), site.index, True, site.acquisition
    plate = source.parent.name or "plate"
    own = holder or source
    stem = re.sub(r"\.(ome\.\w+|companion\.ome)$", "", own.name, flags=re.IGNORECASE)
    if "_MMStack_" in stem:
        position = stem.split("_MMStack_", 1)[1]
    else:
        position = stem if len(doc.images) == 1 or (holder is not None and holder != source) else None
    for name in (image.name, image.stage_label, position):
        if name and "_MMStack_" in name:  # Micro-Manager names an image by its file: <prefix>_MMStack_<position>
            name = name.split("_MMStack_", 1)[1]
        found = well_from_name(name) if name else None
        if found:
            return plate, found[0], found[1], found[2], None
    raise WellError(f"no well in the image name {image.name or position or image.id!r}"
                    + (f" or stage label {image.stage_label!r}" if image.stage_label else "")
                    + " and the OME-XML has no HCS plate")


def read_ometiff(root: str | Path, interval_h: float | None = None) -> Acquisition:
    """Read OME-TIFF files (a folder of them, one file, or a companion file) as an acquisition.

    Args:
        root: The folder, a data file or a ``.companion.ome`` file.
        interval_h: Hours between scans when the OME-XML carries no times.
            ``None``: not given (several such scans are refused,
            :func:`~ferroscreen.io.scan_interval.unstamped_interval`).

    Raises:
        AcquisitionError: No OME-TIFF file, or none of their images lies in a well (the first reason).
    """
    root = Path(root)
    notes: list[str] = []
    files = find_ome_files(root, notes)
    if not files:
        raise AcquisitionError(f"{root}: no OME-TIFF files found (*.ome.tif, *.ome.tiff, *.companion.ome)")
    skipped: list[tuple[str, str]] = []
    records: dict[tuple[Path, int], dict] = {}
    stand_ins = 0
    uuids: dict[str, Path] = {}
    for source, doc in _documents(files, skipped, uuids):
        for image in doc.images.values():
            holder = next((_plane_file(source, p, uuids) for p in image.planes[:1]), None)
            try:
                plate, well, number, zero_based, acquisition = _site(source, image, doc, holder)
            except WellError as exc:
                skipped.append((str(source), str(exc)))
                continue
            site = doc.sites.get(image.id)
            start = (site.timepoint if site else None) or image.acquired
            for plane in _image_planes(image, len(doc.images)):
                file = _plane_file(source, plane, uuids)
                if file is None:
                    why = (f"names its file by UUID {plane.uuid}, which no file here has" if plane.uuid
                           else "a TiffData without a file name")
                    if (str(source), f"image {image.id}: {why}") not in skipped:
                        skipped.append((str(source), f"image {image.id}: {why}"))
                    continue
                record = {
                    "plate": plate, "well": well, "number": number, "zero": zero_based, "acq": acquisition,
                    "position": site.position if site else None, "image": (str(source), image.id),
                    "start": start, "t": plane.t, "z": plane.z,
                    "channel": image.channels[plane.c] if plane.c < len(image.channels) else f"ch{plane.c + 1}",
                    "delta": _delta_s(image, plane), "acquired": (plane.z, plane.c, plane.t) in image.delta_t_s,
                    "file": file, "ifd": plane.ifd,
                }
                held = records.get((file, plane.ifd))
                if held is None:
                    records[(file, plane.ifd)] = record
                elif (held["image"][1], held["t"], held["z"], held["channel"]) != (
                        record["image"][1], record["t"], record["z"], record["channel"]):
                    stand_ins += 1  # Micro-Manager maps a plane it did not take onto a neighbour's page
                    if record["acquired"] and not held["acquired"]:
                        records[(file, plane.ifd)] = record
    if stand_ins:
        notes.append(f"{stand_ins} plane(s) the OME-XML maps onto another plane's page (not taken) left out")
    records = list(records.values())
    if not records:
        reason = skipped[0][1] if skipped else "no image planes in the OME-XML"
        raise AcquisitionError(f"{root}: no OME-TIFF image lies in a well ({reason})")
    records = _present(records, skipped)
    if not records:
        raise AcquisitionError(f"{root}: no OME-TIFF plane could be found in its file ({skipped[-1][1]})")
    _number_fields(records)
    _number_scans(records)
    frames = []
    for plate in sorted({r["plate"] for r in records}):
        mine = [r for r in records if r["plate"] == plate]
        hours = _scan_hours(mine, plate, interval_h, notes)
        frames += [{"plate": plate, "well": r["well"], "field": r["field"], "channel": r["channel"],
                    "z": r["z"], "time_h": hours[r["scan"]], "path": page_frame_path(r["file"], r["ifd"])}
                   for r in mine]
    return Acquisition(root, "ometiff", make_frame_table(frames), skipped, notes)


def _delta_s(image: OmeImage, plane: OmePlane) -> float | None:
    """Seconds from the image's start to this plane: its ``DeltaT``, else ``t`` x ``TimeIncrement``."""
    delta = image.delta_t_s.get((plane.z, plane.c, plane.t))
    if delta is None:
        delta = image.delta_t_s.get((0, 0, plane.t))
    if delta is None and image.time_increment_s is not None:
        delta = plane.t * image.time_increment_s
    return delta


def _present(records: list[dict], skipped: list) -> list[dict]:
    """Records whose file exists and has the IFD; the others skipped with the reason (one per file)."""
    import tifffile

    pages: dict[Path, int | str] = {}
    for file in sorted({r["file"] for r in records}):
        if not file.is_file():
            pages[file] = "a file the OME-XML names is missing"
            continue
        try:
            with quiet_tifffile(), tifffile.TiffFile(file) as tif:
                pages[file] = len(tif.pages)
        except Exception as exc:  # broken files are reported, not raised
            pages[file] = tiff_problem(file) or \
                f"not a readable TIFF ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    kept, told = [], set()
    for r in records:
        n = pages[r["file"]]
        if isinstance(n, int) and r["ifd"] < n:
            kept.append(r)
            continue
        reason = n if isinstance(n, str) else f"the OME-XML names page {r['ifd']} but the file has {n}"
        if (r["file"], isinstance(n, str)) not in told:
            told.add((r["file"], isinstance(n, str)))
            skipped.append((str(r["file"]), reason))
    return kept


def _number_fields(records: list[dict]) -> None:
    """Number ``field`` from 1: HCS samples by ``Index`` in their well and acquisition, names' numbers as given.

    Numbers in names that start at 0 on a plate (or are 0-based by their form) are shifted by 1.

    HCS samples of a well that share a stage position and were taken at distinct start times (one
    sample per scan) are one field.
    """
    wells = defaultdict(list)
    for r in records:
        if r["acq"] is not None:
            wells[(r["plate"], r["well"], r["acq"])].append(r)
    for rows in wells.values():
        starts = defaultdict(set)
        for r in rows:
            starts[r["position"]].add((r["number"], r["start"]))
        by_position = None not in starts and all(
            len({n for n, _ in found}) == len({t for _, t in found}) and None not in {t for _, t in found}
            for found in starts.values()
        ) and any(len(found) > 1 for found in starts.values())
        keys: dict = {}
        for r in rows:
            key = r["position"] if by_position else r["number"]
            keys[key] = min(keys.get(key, r["number"]), r["number"])
        rank = {k: i + 1 for i, k in enumerate(sorted(keys, key=lambda k: (keys[k], str(k))))}
        for r in rows:
            r["field"] = rank[r["position"] if by_position else r["number"]]
    zero_plates = {r["plate"] for r in records if r["acq"] is None and r["number"] == 0}
    for r in records:
        if r["acq"] is not None:
            continue
        if r["number"] is None:
            r["field"] = 1
        else:
            r["field"] = r["number"] + (1 if r["zero"] or r["plate"] in zero_plates else 0)


def _number_scans(records: list[dict]) -> None:
    """``scan`` = (acquisition, t): an HCS acquisition, or the rank of the image among its site's images."""
    images = defaultdict(dict)
    for r in records:
        images[(r["plate"], r["well"], r["field"], r["channel"], r["z"], r["t"])].setdefault(r["image"], r["start"])
    rank = {}
    for found in images.values():
        if len(found) > 1:
            order = sorted(found, key=lambda im: (found[im] is None, found[im] or 0, im))
            for i, im in enumerate(order):
                rank[im] = max(rank.get(im, 0), i)
    for r in records:
        r["scan"] = (r["acq"] or 0, rank.get(r["image"], 0), r["t"])


def _experiment_start(records: list[dict]) -> float | None:
    """The first start (epoch s) when the planes' ``DeltaT`` count from the experiment's start, else None.

    The schema defines ``DeltaT`` from the experiment's start, and Micro-Manager writes it so (every
    image then carries the same ``AcquisitionDate``); some exporters count it from each image's own
    start instead. Images that started over a minute after the first tell them apart: their first
    ``DeltaT`` is near their start's offset (from the experiment) or near 0 (from the image).
    """
    starts: dict = {}
    first_delta: dict = {}
    for r in records:
        starts[r["image"]] = r["start"].timestamp()
        if r["delta"] is not None:
            first_delta[r["image"]] = min(first_delta.get(r["image"], r["delta"]), r["delta"])
    t0 = min(starts.values())
    votes = [abs(first_delta[im] - (st - t0)) < abs(first_delta[im])
             for im, st in starts.items() if st - t0 > 60 and im in first_delta]
    return t0 if votes and sum(votes) > len(votes) / 2 else None


def _scan_hours(records: list[dict], plate: str, interval_h: float | None, notes: list[str]) -> dict:
    """Hours from the plate's first scan for each scan key (see the module docstring)."""
    scans = sorted({r["scan"] for r in records})
    if all(r["start"] is not None for r in records):
        common = _experiment_start(records)
        first: dict = {}
        for r in records:
            stamp = (common if common is not None else r["start"].timestamp()) + (r["delta"] or 0.0)
            first[r["scan"]] = min(first.get(r["scan"], stamp), stamp)
        how = "start times" + (" and DeltaT" if any(r["delta"] is not None for r in records) else "")
    elif all(r["delta"] is not None for r in records) and len({s[:2] for s in scans}) == 1:
        first = {}
        for r in records:
            first[r["scan"]] = min(first.get(r["scan"], r["delta"]), r["delta"])
        how = "DeltaT / TimeIncrement (no start times)"
    else:
        step = unstamped_interval(interval_h, len(scans), plate, "no times in the OME-XML")
        if len(scans) > 1:
            notes.append(f"{plate}: no times in the OME-XML: scans are {step:g} h apart")
        return {s: i * step for i, s in enumerate(scans)}
    t0 = min(first.values())
    if len(scans) > 1:
        notes.append(f"{plate}: times from the OME-XML {how}")
    return {s: (v - t0) / 3600.0 for s, v in first.items()}
