"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from .cli_process import FERROSCREEN, run_command

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _share_cores_between_workers() -> None:
    """Under pytest-xdist, give each worker (and the CLI runs it starts) its share of the cores.

    torch's OpenMP threads spin while they wait: two workers each running as many threads as there
    are cores slow each other's training and scoring several-fold.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers > 1:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        os.environ.setdefault("OMP_NUM_THREADS", threads)
        os.environ.setdefault("MKL_NUM_THREADS", threads)


_share_cores_between_workers()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests using it skip when it is absent (a user's fresh clone)."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not present")
    return path


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``ferroscreen ARGS`` in a process of its own as a user would (text output captured).

    Served by :func:`tests.cli_process.run_command`: a fork of a process that has imported torch and
    Lightning already, unless the run needs a fresh interpreter.
    """
    return run_command(
        [*FERROSCREEN, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """A one-line user error: exit 2, message on stderr naming the fragments, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    err = proc.stderr.strip()
    assert err.startswith("error: "), err
    assert len(err.splitlines()) == 1, err
    for frag in fragments:
        assert frag in err, (frag, err)


@pytest.fixture(scope="session")
def cli():
    """The :func:`run_cli` function (``cli("inspect", path)``)."""
    return run_cli


def main_in_process(args, monkeypatch, capsys) -> tuple[int, str, str]:
    """``ferroscreen ARGS`` in this process, through ``main()`` as the console runs it: exit code, stdout, stderr."""
    from ferroscreen.cli import main

    monkeypatch.setattr(sys, "argv", ["ferroscreen", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def run_main(monkeypatch, capsys):
    """:func:`main_in_process` as ``run_main(*args)``."""
    return lambda *args: main_in_process(args, monkeypatch, capsys)


@pytest.fixture(scope="session")
def user_error():
    """The :func:`assert_user_error` check."""
    return assert_user_error


BTS = "http://www.yokogawa.co.jp/BTS/BTSSchema/1.0"
CV_PLATE_TYPE = "AssayPlate_Greiner_#655090"


def write_cellvoyager(frames, out: Path, targets: dict[str, str] | None = None,
                      start: str = "2026-03-02T09:00:00.000+01:00", ext: str = ".tif") -> Path:
    """Lay a frame table's images out as a CellVoyager measurement folder ``out``.

    One ``<plate type>_<well>_T####F###L01A01Z##C##`` copy per frame, ``MeasurementData.mlf``
    (record ``Time`` = ``start`` + ``time_h``), ``MeasurementDetail.mrf`` and a ``.mes``
    whose channels carry ``targets`` (frame-table channel -> target name; default: its name).
    """
    out.mkdir(parents=True, exist_ok=True)
    t0 = datetime.fromisoformat(start)
    channels = sorted(frames["channel"].unique())
    ch_of = {c: i + 1 for i, c in enumerate(channels)}
    tp_of = {t: i + 1 for i, t in enumerate(sorted(frames["time_h"].unique()))}
    recs = []
    for r in frames.itertuples(index=False):
        row, col = "ABCDEFGHIJKLMNOP".index(r.well[0]) + 1, int(r.well[1:])
        tp, ch = tp_of[r.time_h], ch_of[r.channel]
        name = f"{CV_PLATE_TYPE}_{r.well}_T{tp:04d}F{r.field:03d}L01A01Z{r.z + 1:02d}C{ch:02d}"
        shutil.copy(r.path, out / (name + ext))
        when = (t0 + timedelta(hours=float(r.time_h))).isoformat(timespec="milliseconds")
        recs.append(f'  <bts:MeasurementRecord bts:Time="{when}" bts:Column="{col}" bts:Row="{row}" '
                    f'bts:FieldIndex="{r.field}" bts:TimePoint="{tp}" bts:TimelineIndex="1" bts:X="0" bts:Y="0" '
                    f'bts:Type="IMG" bts:ZIndex="{r.z + 1}" bts:ActionIndex="1" bts:Action="2D" bts:Z="0" '
                    f'bts:Ch="{ch}">{name}.tif</bts:MeasurementRecord>')
    (out / "MeasurementData.mlf").write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<bts:MeasurementData xmlns:bts="{BTS}" bts:Version="1.0">\n'
        + "\n".join(recs) + "\n</bts:MeasurementData>\n", encoding="utf-8")
    (out / "MeasurementDetail.mrf").write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<bts:MeasurementDetail xmlns:bts="{BTS}" bts:Version="1.0" '
        f'bts:Title="{out.name}" bts:MeasurementSettingFileName="protocol.mes">\n'
        f'  <bts:MeasurementSamplePlate bts:Name="{CV_PLATE_TYPE}"/>\n</bts:MeasurementDetail>\n', encoding="utf-8")
    chans = "\n".join(
        f'    <bts:Channel bts:Ch="{i}" bts:Target="{(targets or {}).get(c, c)}" bts:Method="Confocal"/>'
        for c, i in ch_of.items())
    (out / "protocol.mes").write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<bts:MeasurementSetting xmlns:bts="{BTS}" bts:Version="1.0">\n'
        f"  <bts:ChannelList>\n{chans}\n  </bts:ChannelList>\n</bts:MeasurementSetting>\n", encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def cellvoyager_writer():
    """The :func:`write_cellvoyager` function."""
    return write_cellvoyager


def write_zstack_cellvoyager(frames, out: Path) -> Path:
    """A CellVoyager folder of ``frames`` imaged as a two-plane z-stack: plane 1 the image, plane 0 out of focus.

    Plane 0 (``Z01``) is each image blurred (Gaussian, sigma 4 px), as a plane below the focus looks.
    """
    import cv2
    import pandas as pd
    import tifffile

    from ferroscreen.io import load_image

    blurred = out.parent / (out.name + "_defocus")
    blurred.mkdir(parents=True, exist_ok=True)
    below = []
    for i, r in enumerate(frames.itertuples(index=False)):
        img = load_image(r.path)
        path = blurred / f"{i:05d}.tif"
        tifffile.imwrite(path, cv2.GaussianBlur(img.astype("float32"), (0, 0), 4).round().astype(img.dtype))
        below.append(path)
    stack = pd.concat([frames.assign(z=1), frames.assign(z=0, path=[str(p) for p in below])], ignore_index=True)
    write_cellvoyager(stack, out)
    shutil.rmtree(blurred)
    return out


def write_mmstack(frames, out: Path, prefix: str | None = None, start: str = "2024-05-01T10:00:00+02:00") -> Path:
    """Lay a frame table's images out as a Micro-Manager 2 multi-position OME-TIFF dataset in ``out``.

    As Micro-Manager writes it: one ``<prefix>_MMStack_<well>-Site_<field - 1>.ome.tif`` per position
    (HCS site labels: wells not zero-padded, sites from 0), pages in acquisition order, each with a
    ``MicroManagerMetadata`` JSON tag; the first position's file holds the whole OME-XML (one Image per
    position named by its file, ``StageLabel`` the position label, no Plate, one ``TiffData`` per plane
    with its file's UUID, ``Plane`` ``DeltaT`` in ms from the start, each position 2 s after the last),
    the others a ``BinaryOnly`` block naming it.
    """
    import json
    import uuid

    import tifffile

    from ferroscreen.io import load_image

    out.mkdir(parents=True, exist_ok=True)
    prefix = prefix or out.name
    channels = sorted(frames["channel"].unique())
    times = sorted(frames["time_h"].unique())
    positions = sorted({(r.well, r.field) for r in frames.itertuples()})
    label = {p: f"{p[0][0]}{int(p[0][1:])}-Site_{p[1] - 1}" for p in positions}
    name = {p: f"{prefix}_MMStack_{label[p]}.ome.tif" for p in positions}
    ids = {p: f"urn:uuid:{uuid.UUID(int=i + 1)}" for i, p in enumerate(positions)}
    images, pages = [], {}
    for i, pos in enumerate(positions):
        mine = frames[(frames["well"] == pos[0]) & (frames["field"] == pos[1])].sort_values(["time_h", "channel", "z"])
        tds, planes, data = [], [], []
        for ifd, r in enumerate(mine.itertuples()):
            t, c = times.index(r.time_h), channels.index(r.channel)
            ms = r.time_h * 3.6e6 + 2000.0 * i
            tds.append(f'<TiffData FirstZ="{r.z}" FirstC="{c}" FirstT="{t}" IFD="{ifd}" PlaneCount="1">'
                       f'<UUID FileName="{name[pos]}">{ids[pos]}</UUID></TiffData>')
            planes.append(f'<Plane TheZ="{r.z}" TheC="{c}" TheT="{t}" DeltaT="{ms:.1f}" DeltaTUnit="ms" '
                          f'ExposureTime="20.0" ExposureTimeUnit="ms"/>')
            data.append((load_image(r.path), {"PositionName": label[pos], "ElapsedTime-ms": ms, "FrameIndex": t,
                                              "ChannelIndex": c, "SliceIndex": int(r.z), "PositionIndex": i}))
        pages[pos] = data
        chans = "".join(f'<Channel ID="Channel:{i}:{k}" Name="{ch}" SamplesPerPixel="1"/>'
                        for k, ch in enumerate(channels))
        h, w = data[0][0].shape
        images.append(
            f'<Image ID="Image:{i}" Name="{name[pos][:-8]}"><AcquisitionDate>{start}</AcquisitionDate>'
            f'<StageLabel Name="{label[pos]}" X="{1000.0 * i}" XUnit="µm" Y="0.0" YUnit="µm"/>'
            f'<Pixels ID="Pixels:{i}" DimensionOrder="XYCZT" Type="{data[0][0].dtype}" SizeX="{w}" SizeY="{h}" '
            f'SizeZ="{frames["z"].nunique()}" SizeC="{len(channels)}" SizeT="{len(times)}">{chans}{"".join(tds)}'
            f'{"".join(planes)}</Pixels></Image>')
    ns = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
    for i, pos in enumerate(positions):
        if i == 0:
            xml = f'<OME xmlns="{ns}" UUID="{ids[pos]}" Creator="Micro-Manager">{"".join(images)}</OME> '
        else:
            xml = (f'<OME xmlns="{ns}" UUID="{ids[pos]}"><BinaryOnly MetadataFile="{name[positions[0]]}" '
                   f'UUID="{ids[positions[0]]}"/></OME> ')
        with tifffile.TiffWriter(out / name[pos]) as tw:
            for k, (img, meta) in enumerate(pages[pos]):
                tw.write(img, description=xml.encode("utf-8") if k == 0 else None, metadata=None, contiguous=False,
                         extratags=[(51123, "s", 0, json.dumps(meta), True)])
    return out


@pytest.fixture(scope="session")
def mmstack_writer():
    """The :func:`write_mmstack` function."""
    return write_mmstack


def _czi_segment(kind: bytes, data: bytes) -> bytes:
    import struct

    pad = (-len(data)) % 32
    return kind.ljust(16, b"\0") + struct.pack("<qq", len(data) + pad, len(data)) + data + b"\0" * pad


def add_czi_time_stamps(path: Path, seconds) -> None:
    """Append a ZEN ``TimeStamps`` attachment (``CZTIMS``: size, count, float64 seconds) to a CZI file.

    The attachment segment and a new attachment directory (the old entries plus this one) go at
    the end; the file header's attachment-directory position (byte 104) points at the new one.
    (pylibCZIrw writes no attachments; czifile reads this one back as ``TimeStamps``.)
    """
    import struct
    import uuid

    blob = bytearray(path.read_bytes())
    old = struct.unpack_from("<q", blob, 104)[0]
    entries = b""
    if old > 0:
        n = struct.unpack_from("<i", blob, old + 32)[0]
        entries = bytes(blob[old + 288: old + 288 + 128 * n])
    blob += b"\0" * ((-len(blob)) % 32)
    payload = struct.pack("<ii", 8 + 8 * len(seconds), len(seconds)) + struct.pack(f"<{len(seconds)}d", *seconds)
    entry = (b"A1" + b"\0" * 10 + struct.pack("<qi", len(blob), 0) + uuid.UUID(int=7).bytes
             + b"CZTIMS".ljust(8, b"\0") + b"TimeStamps".ljust(80, b"\0"))
    blob += _czi_segment(b"ZISRAWATTACH", struct.pack("<i", len(payload)) + b"\0" * 12 + entry + b"\0" * 112 + payload)
    directory = len(blob)
    entries += entry
    blob += _czi_segment(b"ZISRAWATTDIR", struct.pack("<i", len(entries) // 128) + b"\0" * 252 + entries)
    struct.pack_into("<q", blob, 104, directory)
    path.write_bytes(bytes(blob))


def write_czi(frames, path: Path, stamps: bool = True, interval_s: float | None = None,
              scene_names: dict | None = None) -> Path:
    """Write a frame table's images as one Zeiss CZI file, as a Celldiscoverer 7 multi-well time-lapse.

    One scene per (well, field), pixels through pylibCZIrw; ZEN's scene list is put into the metadata
    (``Scene`` ``Index``/``Name`` ``P<n>``, ``ArrayName`` and ``Shape`` with 1-based row and column);
    with ``stamps`` a ``TimeStamps`` attachment holds each time point's seconds, with ``interval_s``
    the experiment's ``TimeSeriesSetup`` interval. ``scene_names`` replaces a scene's well names
    (index -> text, ``""`` for none).
    """
    import xml.etree.ElementTree as ET

    from pylibCZIrw import czi

    from ferroscreen.io import load_image

    channels = sorted(frames["channel"].unique())
    times = sorted(frames["time_h"].unique())
    sites = sorted({(r.well, r.field) for r in frames.itertuples()})
    with czi.create_czi(str(path), exist_ok=True) as w:
        for r in frames.itertuples():
            s = sites.index((r.well, r.field))
            w.write(load_image(r.path), plane={"T": times.index(r.time_h), "C": channels.index(r.channel),
                                                "Z": int(r.z)}, scene=s, location=(s * 5000, 0))
        w.write_metadata(document_name=path.stem, channel_names=dict(enumerate(channels)), scale_x=0.65e-6,
                         scale_y=0.65e-6)
    with czi.edit_czi(str(path)) as editor:
        root = ET.fromstring(editor.read_metadata_xml())
        dims = root.find("./Metadata/Information/Image/Dimensions")
        scenes = ET.SubElement(ET.SubElement(dims, "S"), "Scenes")
        for s, (well, _) in enumerate(sites):
            name = (scene_names or {}).get(s, well)
            scene = ET.SubElement(scenes, "Scene", Index=str(s), Name=f"P{s + 1}")
            ET.SubElement(scene, "CenterPosition").text = f"{9000.0 * int(well[1:])},{9000.0 * (ord(well[0]) - 64)}"
            if name:
                ET.SubElement(scene, "ArrayName").text = name
                shape = ET.SubElement(scene, "Shape", Name=name)
                ET.SubElement(shape, "ColumnIndex").text = str(int(well[1:]))
                ET.SubElement(shape, "RowIndex").text = str(ord(well[0]) - 64)
        ET.SubElement(ET.SubElement(dims, "T"), "StartTime").text = "2024-05-01T10:00:00.0000000Z"
        if interval_s is not None:
            setup = ET.SubElement(ET.SubElement(ET.SubElement(ET.SubElement(
                ET.SubElement(root.find("./Metadata"), "Experiment", Version="1.2"), "ExperimentBlocks"),
                "AcquisitionBlock"), "SubDimensionSetups"), "TimeSeriesSetup", IsActivated="true")
            span = ET.SubElement(ET.SubElement(setup, "Interval"), "TimeSpan")
            ET.SubElement(span, "Value").text = f"{interval_s:g}"
            ET.SubElement(span, "DefaultUnitFormat").text = "s"
        with editor.edit_session() as builder:
            builder.set_xml(ET.tostring(root, encoding="unicode"))
    if stamps:
        add_czi_time_stamps(path, [63_800_000_000.25 + 3600.0 * t for t in times])
    return path


@pytest.fixture(scope="session")
def czi_writer():
    """The :func:`write_czi` function (skips the test when pylibCZIrw is not installed)."""
    pytest.importorskip("pylibCZIrw")
    return write_czi


@pytest.fixture(scope="session")
def zstack_writer():
    """The :func:`write_zstack_cellvoyager` function."""
    return write_zstack_cellvoyager


@pytest.fixture()
def sigterm_fails_the_test():
    """SIGTERM outside a command's own handling fails the test (by default it would end pytest); restored after.

    SIGINT's handler is restored too: Lightning ignores SIGINT once it has handled a KeyboardInterrupt.
    """
    import signal

    def unhandled(signum, frame):
        raise AssertionError("SIGTERM reached the default handler: the command did not handle it")

    before = signal.signal(signal.SIGTERM, unhandled), signal.getsignal(signal.SIGINT)
    try:
        yield unhandled
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])
