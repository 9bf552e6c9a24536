"""OME-TIFF acquisitions: tifffile's and Bio-Formats' OME-XML, HCS plates, positions named by well."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import tifffile

from ferroscreen.errors import AcquisitionError, ImageReadError
from ferroscreen.io import detect_format, load_image, open_acquisition
from ferroscreen.io.ometiff import well_from_name

from ..conftest import assert_user_error, run_cli

NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"


def write_pages(path, planes, xml):
    """A TIFF of ``planes`` (one page each) with ``xml`` as the first page's ImageDescription."""
    with tifffile.TiffWriter(path) as tw:
        for i, plane in enumerate(planes):
            tw.write(plane, description=xml if i == 0 else None, metadata=None, contiguous=False)


def pixels(n_planes, order="XYCZT", size=(1, 1, 1), channels=("Phase",), extra=""):
    z, c, t = size
    chans = "".join(f'<Channel ID="Channel:0:{i}" Name="{n}" SamplesPerPixel="1"/>' for i, n in enumerate(channels))
    return (f'<Pixels ID="Pixels:0" DimensionOrder="{order}" Type="uint16" SizeX="8" SizeY="8" SizeZ="{z}" '
            f'SizeC="{c}" SizeT="{t}">{chans}{extra}</Pixels>')


def test_tifffile_series_named_by_micromanager_sites(tmp_path):
    """tifffile's own OME writer: one series per position named ``B2-Site_0``; times from DeltaT."""
    path = tmp_path / "run" / "positions.ome.tif"
    path.parent.mkdir()
    with tifffile.TiffWriter(path, ome=True) as tw:
        for site, name in enumerate(["B2-Site_0", "B2-Site_1", "C10-Site_0"]):
            data = (np.arange(6, dtype=np.uint16).reshape(3, 2, 1, 1) * 10 + 100 * site) * np.ones((1, 1, 8, 8),
                                                                                                   np.uint16)
            tw.write(data, metadata={"axes": "TCYX", "Name": name, "Channel": {"Name": ["Phase", "Green"]},
                                     "Plane": {"DeltaT": [0, 0, 1800, 1800, 3600, 3600]}})
    assert detect_format(path.parent) == "ometiff"
    acq = open_acquisition(path.parent)
    f = acq.frames
    assert acq.format == "ometiff" and set(f["plate"]) == {"run"}
    assert sorted(set(zip(f["well"], f["field"], strict=True))) == [("B02", 1), ("B02", 2), ("C10", 1)]
    assert sorted(set(f["channel"])) == ["Green", "Phase"] and acq.timepoints_h == [0.0, 0.5, 1.0]
    row = f[(f["well"] == "C10") & (f["channel"] == "Green") & (f["time_h"] == 1.0)].iloc[0]
    assert row["path"].endswith("positions.ome.tif#page=17")
    assert load_image(row["path"])[0, 0] == 200 + 50  # site 2, t 2, c 1
    assert any("DeltaT" in n for n in acq.notes)


def test_hcs_plate_in_one_file(tmp_path):
    """Bio-Formats' HCS model: Plate/Well (0-based Row, Column)/WellSample Index; XYCZT planes; start + DeltaT."""
    images, samples, planes = [], {}, []
    for n, (row, col, index) in enumerate([(0, 0, 0), (0, 0, 1), (7, 11, 0)]):
        deltas = "".join(f'<Plane TheZ="0" TheC="{c}" TheT="{t}" DeltaT="{t * 4 + n * 0.01:g}" DeltaTUnit="h"/>'
                         for t in range(2) for c in range(2))
        td = f'<TiffData IFD="{4 * n}" PlaneCount="4"/>'
        images.append(f'<Image ID="Image:{n}" Name="scan {n}"><AcquisitionDate>2024-05-02T09:00:00'
                      f'</AcquisitionDate>{pixels(4, size=(1, 2, 2), channels=("Bright", "DAPI"), extra=td + deltas)}'
                      f'</Image>')
        samples.setdefault((row, col), []).append(f'<WellSample ID="WS:{n}" Index="{index}">'
                                                  f'<ImageRef ID="Image:{n}"/></WellSample>')
        planes += [np.full((8, 8), 1000 * n + 10 * t + c, np.uint16) for t in range(2) for c in range(2)]
    wells = "".join(f'<Well ID="Well:{r}{c}" Row="{r}" Column="{c}">{"".join(s)}</Well>' for (r, c), s in samples.items())
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{NS}" UUID="urn:uuid:{uuid.uuid4()}">'
           f'<Plate ID="Plate:0" Name="0012" Rows="8" Columns="12">{wells}</Plate>{"".join(images)}</OME>')
    write_pages(tmp_path / "plate.ome.tiff", planes, xml)
    acq = open_acquisition(tmp_path / "plate.ome.tiff")  # one file is an acquisition too
    f = acq.frames
    assert set(f["plate"]) == {"0012"} and acq.timepoints_h == [0.0, 4.0]
    assert sorted(set(zip(f["well"], f["field"], strict=True))) == [("A01", 1), ("A01", 2), ("H12", 1)]
    row = f[(f["well"] == "H12") & (f["channel"] == "DAPI") & (f["time_h"] == 4.0)].iloc[0]
    assert load_image(row["path"])[0, 0] == 2011


def test_plate_acquisitions_one_image_per_scan(tmp_path):
    """Each scan its own PlateAcquisition and Image (SizeT 1): fields counted per scan, times from Timepoint."""
    images, wells, acqs, planes = [], {}, [], []
    n = 0
    for scan, stamp in enumerate(["2024-01-01T12:00:00Z", "2024-01-01T14:00:00Z", "2024-01-01T16:30:00Z"]):
        refs = []
        for well in [(1, 1), (1, 2)]:
            for field in range(2):
                td = f'<TiffData IFD="{n}" PlaneCount="1"/>'
                images.append(f'<Image ID="Image:{n}">{pixels(1, extra=td)}</Image>')
                wells.setdefault(well, []).append(
                    f'<WellSample ID="WS:{n}" Index="{n}" Timepoint="{stamp}"><ImageRef ID="Image:{n}"/></WellSample>')
                refs.append(f'<WellSampleRef ID="WS:{n}"/>')
                planes.append(np.full((8, 8), 100 * scan + 10 * field + well[1], np.uint16))
                n += 1
        acqs.append(f'<PlateAcquisition ID="PlateAcquisition:{scan}" StartTime="{stamp}">{"".join(refs)}'
                    f'</PlateAcquisition>')
    body = "".join(f'<Well ID="W{r}{c}" Row="{r}" Column="{c}">{"".join(s)}</Well>' for (r, c), s in wells.items())
    xml = f'<OME xmlns="{NS}"><Plate ID="Plate:0" Name="P1">{body}{"".join(acqs)}</Plate>{"".join(images)}</OME>'
    write_pages(tmp_path / "p.ome.tif", planes, xml)
    acq = open_acquisition(tmp_path)
    f = acq.frames
    assert acq.timepoints_h == [0.0, 2.0, 4.5] and sorted(set(f["field"])) == [1, 2]
    assert len(f) == 12 and acq.missing_frames().empty
    row = f[(f["well"] == "B03") & (f["field"] == 2) & (f["time_h"] == 4.5)].iloc[0]
    assert load_image(row["path"])[0, 0] == 212


def test_companion_file_and_binary_only_tiffs(tmp_path):
    """bfconvert's multi-file output: TIFFs point (BinaryOnly) to a companion holding the XML with UUID file names;
    a TIFF that is missing leaves its planes out, said once."""
    images, wells = [], []
    for n, well in enumerate(["B2", "B3", "B4"]):
        name = f"plate_s{n}.ome.tif"
        tds = "".join(f'<TiffData FirstT="{t}" IFD="{t}" PlaneCount="1"><UUID FileName="{name}">urn:uuid:{n}'
                      f'</UUID></TiffData>' for t in range(3))
        images.append(f'<Image ID="Image:{n}" Name="{well}"><Pixels ID="Pixels:{n}" DimensionOrder="XYZCT" '
                      f'Type="uint8" SizeX="8" SizeY="8" SizeZ="1" SizeC="1" SizeT="3" TimeIncrement="2" '
                      f'TimeIncrementUnit="h">{tds}</Pixels></Image>')
        wells.append(f'<Well ID="Well:{n}" Row="1" Column="{n + 1}"><WellSample ID="WS:{n}" Index="{n}">'
                     f'<ImageRef ID="Image:{n}"/></WellSample></Well>')
        if n < 2:
            stub = (f'<OME xmlns="{NS}" UUID="urn:uuid:{n}"><BinaryOnly MetadataFile="plate.companion.ome" '
                    f'UUID="urn:uuid:c"/></OME>')
            write_pages(tmp_path / name, [np.full((8, 8), 10 * n + t, np.uint8) for t in range(3)], stub)
    (tmp_path / "plate.companion.ome").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<OME xmlns="{NS}" UUID="urn:uuid:c"><Plate ID="Plate:0" Name="KD-7">'
        f'{"".join(wells)}</Plate>{"".join(images)}</OME>', encoding="utf-8")
    acq = open_acquisition(tmp_path)
    f = acq.frames
    assert set(f["plate"]) == {"KD-7"} and sorted(set(f["well"])) == ["B02", "B03"]
    assert acq.timepoints_h == [0.0, 2.0, 4.0] and any("no start times" in n for n in acq.notes)
    assert [s[1] for s in acq.skipped] == ["a file the OME-XML names is missing"]
    assert load_image(f[(f["well"] == "B03") & (f["time_h"] == 4.0)]["path"].iloc[0])[0, 0] == 12


def test_bare_tiffdata_follows_the_dimension_order(tmp_path):
    """A TiffData without attributes maps every IFD in DimensionOrder (XYZCT: z fastest, then c, then t)."""
    planes = [np.full((8, 8), i, np.uint16) for i in range(8)]
    xml = (f'<OME xmlns="{NS}"><Image ID="Image:0" Name="Well D07">'
           f'{pixels(8, order="XYZCT", size=(2, 2, 2), channels=("a", "b"), extra="<TiffData/>")}</Image></OME>')
    write_pages(tmp_path / "d7.ome.tif", planes, xml)
    acq = open_acquisition(tmp_path, interval_h=3)
    f = acq.frames
    value = {(r.channel, r.z, r.time_h): int(load_image(r.path)[0, 0]) for r in f.itertuples()}
    assert value[("a", 1, 0.0)] == 1 and value[("b", 0, 0.0)] == 2 and value[("b", 1, 3.0)] == 7
    assert any("3 h apart" in n for n in acq.notes)


@pytest.mark.parametrize(("name", "expected"), [
    ("B2-Site_0", ("B02", 0, True)), ("A01-Site_11", ("A01", 11, True)), ("Well B02, Field #3", ("B02", 3, False)),
    ("C5", ("C05", None, False)), ("Well C05", ("C05", None, False)), ("B2_s2", ("B02", 2, False)),
    ("B2-2", ("B02", 2, False)), ("AF48 Field 1", ("AF48", 1, False)), ("Pos0", None), ("Default", None),
    ("Scene 3", None), ("P1", None), ("Well P1", ("P01", None, False)), ("P3-Site_2", ("P03", 2, True)),
])
def test_well_from_position_names(name, expected):
    assert well_from_name(name) == expected


def test_positions_without_wells_are_a_one_line_error(tmp_path):
    xml = f'<OME xmlns="{NS}"><Image ID="Image:0" Name="Pos0">{pixels(1, extra="<TiffData/>")}</Image></OME>'
    write_pages(tmp_path / "Exp_MMStack_Pos0.ome.tif", [np.zeros((8, 8), np.uint16)], xml)
    with pytest.raises(AcquisitionError, match=r"no well in the image name 'Pos0'"):
        open_acquisition(tmp_path)
    proc = run_cli("inspect", str(tmp_path))
    assert_user_error(proc, "no well in the image name 'Pos0'", str(tmp_path))


def test_broken_files_are_skipped_with_reasons(tmp_path):
    """A truncated file, a TIFF without OME-XML and a page the XML names beyond the file are listed, not fatal."""
    good = f'<OME xmlns="{NS}"><Image ID="Image:0" Name="E5">{pixels(2, size=(1, 1, 2), extra="<TiffData/>")}' \
           f'</Image></OME>'
    write_pages(tmp_path / "E5.ome.tif", [np.ones((8, 8), np.uint16)] * 2, good)
    over = f'<OME xmlns="{NS}"><Image ID="Image:0" Name="E6">{pixels(3, size=(1, 1, 3), extra="<TiffData/>")}' \
           f'</Image></OME>'
    write_pages(tmp_path / "E6.ome.tif", [np.ones((8, 8), np.uint16)] * 2, over)
    (tmp_path / "E7.ome.tif").write_bytes(b"II*\x00\x08\x00\x00\x00garbage")
    tifffile.imwrite(tmp_path / "E8.ome.tif", np.zeros((8, 8), np.uint8), ome=False)
    acq = open_acquisition(tmp_path, interval_h=2)
    assert sorted(set(acq.frames["well"])) == ["E05", "E06"] and len(acq.frames) == 4
    reasons = dict((p.rsplit("/", 1)[-1], r) for p, r in acq.skipped)
    assert reasons["E6.ome.tif"] == "the OME-XML names page 2 but the file has 2"
    assert reasons["E7.ome.tif"].startswith("truncated TIFF: the file ends after 15 bytes, inside its first image "
                                            "directory")
    assert reasons["E8.ome.tif"].startswith("no OME-XML in its first page's ImageDescription")
    with pytest.raises(ImageReadError, match=r"E5.ome.tif: has no page 5 \(it has 2\)"):
        load_image(str(tmp_path / "E5.ome.tif") + "#page=5")


def test_micromanager_dataset_master_xml_and_binary_only_files(tmp_path, mmstack_writer):
    """Micro-Manager's layout: position labels in StageLabel, images named by file, DeltaT in ms, BinaryOnly."""
    import pandas as pd

    src = []
    for i, (well, field, t) in enumerate([(w, f, t) for w in ("B02", "C11") for f in (1, 2) for t in (0.0, 1.5)]):
        path = tmp_path / f"src{i}.tif"
        tifffile.imwrite(path, np.full((8, 8), i, np.uint16))
        src.append({"plate": "p", "well": well, "field": field, "channel": "Phase", "time_h": t, "z": 0,
                    "path": str(path)})
    frames = pd.DataFrame(src)
    ds = mmstack_writer(frames, tmp_path / "exp_1")
    assert sorted(p.name for p in ds.glob("*.ome.tif"))[0] == "exp_1_MMStack_B2-Site_0.ome.tif"
    acq = open_acquisition(ds)
    f = acq.frames
    assert set(f["plate"]) == {"exp_1"} and acq.skipped == [] and acq.timepoints_h == [0.0, 1.5]
    got = {(r.well, r.field, r.time_h): int(load_image(r.path)[0, 0]) for r in f.itertuples()}
    assert got == {(r["well"], r["field"], r["time_h"]): i for i, r in enumerate(src)}


def test_stand_in_tiffdata_of_a_plane_not_taken_is_left_out(tmp_path):
    """Micro-Manager maps a plane it did not take onto a neighbour's page; the page stays the plane it holds."""
    name = "run_MMStack_D4-Site_0.ome.tif"
    tds = "".join(f'<TiffData FirstT="{t}" IFD="{ifd}" PlaneCount="1"><UUID FileName="{name}">urn:uuid:a</UUID>'
                  f'</TiffData>' for t, ifd in ((0, 0), (1, 1), (2, 1)))  # t 2 was not taken: t 1's page
    planes = "".join(f'<Plane TheZ="0" TheC="0" TheT="{t}" DeltaT="{t * 3600000}" DeltaTUnit="ms"/>' for t in (0, 1))
    xml = (f'<OME xmlns="{NS}"><Image ID="Image:0" Name="run_MMStack_D4-Site_0"><AcquisitionDate>2024-05-01 '
           f'10:00:00 +0200</AcquisitionDate><StageLabel Name="D4-Site_0"/>'
           f'{pixels(2, size=(1, 1, 3), extra=tds + planes)}</Image></OME>')
    write_pages(tmp_path / name, [np.full((8, 8), t, np.uint16) for t in (0, 1)], xml)
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == [0.0, 1.0] and set(acq.frames["well"]) == {"D04"}
    assert [int(load_image(p)[0, 0]) for p in acq.frames["path"]] == [0, 1]
    assert any("not taken" in n for n in acq.notes)


@pytest.mark.parametrize("delta_from", ["experiment", "image"])
def test_delta_t_from_the_experiment_or_from_each_image(tmp_path, delta_from):
    """One image per scan of one position, started 2 h apart: DeltaT counted from the experiment's start or from
    each image's own start gives the same scan times (adding both would put the scans 0, 4, 8 h)."""
    images = []
    for n in range(3):
        delta = 7200 * n if delta_from == "experiment" else 0
        td = f'<TiffData IFD="{n}" PlaneCount="1"/><Plane TheZ="0" TheC="0" TheT="0" DeltaT="{delta}"/>'
        images.append(f'<Image ID="Image:{n}" Name="Well A1"><AcquisitionDate>2024-02-01T{9 + 2 * n:02d}:00:00'
                      f'</AcquisitionDate>{pixels(1, extra=td)}</Image>')
    write_pages(tmp_path / "x.ome.tif", [np.full((8, 8), n, np.uint16) for n in range(3)],
                f'<OME xmlns="{NS}">{"".join(images)}</OME>')
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == [0.0, 2.0, 4.0]
    assert [int(load_image(p)[0, 0]) for p in acq.frames["path"]] == [0, 1, 2]


def _two_files_by_uuid(tmp_path, metadata_file=None):
    """Two one-well TIFFs whose planes the XML names by file UUID only (no FileName), or whose XML is a
    separate metadata file ``metadata_file`` they point to (BinaryOnly)."""
    images = []
    for n, well in enumerate(["F3", "F4"]):
        td = f'<TiffData IFD="0" PlaneCount="1"><UUID>urn:uuid:f{n}</UUID></TiffData>'
        images.append(f'<Image ID="Image:{n}" Name="{well}">{pixels(1, extra=td)}</Image>')
    full = f'<OME xmlns="{NS}" UUID="urn:uuid:META">{"".join(images)}</OME>'
    for n in range(2):
        own = (f'<OME xmlns="{NS}" UUID="urn:uuid:f{n}"><BinaryOnly MetadataFile="{metadata_file}" '
               f'UUID="urn:uuid:META"/></OME>') if metadata_file else full.replace("urn:uuid:META", f"urn:uuid:f{n}")
        write_pages(tmp_path / f"part{n}.ome.tif", [np.full((8, 8), 50 + n, np.uint16)], own)
    if metadata_file:
        (tmp_path / metadata_file).write_text(full, encoding="utf-8")


@pytest.mark.parametrize("metadata_file", [None, "OMEXMLMetadata.ome"])
def test_files_named_by_uuid_and_metadata_files_of_any_name(tmp_path, metadata_file):
    """A TiffData may name its file by the file's UUID alone; Micro-Manager's OMEXMLMetadata.ome holds the XML
    when no TIFF has room (any non-TIFF file a BinaryOnly block names is read as the XML)."""
    _two_files_by_uuid(tmp_path, metadata_file)
    acq = open_acquisition(tmp_path)
    assert acq.skipped == [] and not acq.notes
    assert {r.well: int(load_image(r.path)[0, 0]) for r in acq.frames.itertuples()} == {"F03": 50, "F04": 51}


def test_malformed_indices_are_one_line_reasons(tmp_path):
    """A Well Row beyond any plate, a negative IFD: the file is skipped with the reason, never a traceback."""
    sample = '<WellSample ID="WS:0" Index="0"><ImageRef ID="Image:0"/></WellSample>'
    image = f'<Image ID="Image:0" Name="x">{pixels(1, extra="<TiffData/>")}</Image>'
    write_pages(tmp_path / "row.ome.tif", [np.zeros((8, 8), np.uint16)],
                f'<OME xmlns="{NS}"><Plate ID="Plate:0"><Well ID="W" Row="800" Column="3">{sample}</Well>'
                f'</Plate>{image}</OME>')
    negative = pixels(1, extra='<TiffData IFD="-1"/>')
    write_pages(tmp_path / "ifd.ome.tif", [np.zeros((8, 8), np.uint16)],
                f'<OME xmlns="{NS}"><Image ID="Image:0" Name="B2">{negative}</Image></OME>')
    with pytest.raises(AcquisitionError) as err:
        open_acquisition(tmp_path)
    assert "no OME-TIFF image lies in a well" in str(err.value)
    proc = run_cli("inspect", str(tmp_path))
    assert_user_error(proc, "no OME-TIFF image lies in a well")
    from ferroscreen.io.ometiff import read_ometiff

    reasons = sorted(r for _, r in _skipped(read_ometiff, tmp_path))
    assert reasons == ["Image 'Image:0': TiffData IFD=-1 is negative",
                       "Plate 'Plate:0': Well Row=800 Column=3 lies on no plate (0-based, at most 32 x 48)"]


def _skipped(reader, root):
    """The skipped list of a reader run that ends in an AcquisitionError (read through a good extra file)."""
    extra = root / "zz_good.ome.tif"
    write_pages(extra, [np.zeros((8, 8), np.uint16)],
                f'<OME xmlns="{NS}"><Image ID="Image:0" Name="H12">{pixels(1, extra="<TiffData/>")}</Image></OME>')
    try:
        return reader(root).skipped
    finally:
        extra.unlink()


def test_micromanager_images_without_names_take_their_files_position(tmp_path):
    """Images with neither a name nor a stage label are named by the file holding their planes
    (``<prefix>_MMStack_<position>``), not by the master file that holds the XML."""
    images = []
    names = [f"run_MMStack_{p}.ome.tif" for p in ("A1-Site_0", "A1-Site_1", "B2-Site_0")]
    for n, name in enumerate(names):
        tds = "".join(f'<TiffData FirstT="{t}" IFD="{t}" PlaneCount="1"><UUID FileName="{name}">urn:uuid:{n}</UUID>'
                      f'</TiffData>' for t in range(2))
        images.append(f'<Image ID="Image:{n}">{pixels(2, size=(1, 1, 2), extra=tds)}</Image>')
    for n, name in enumerate(names):
        xml = (f'<OME xmlns="{NS}" UUID="urn:uuid:{n}">{"".join(images)}</OME>' if n == 0 else
               f'<OME xmlns="{NS}" UUID="urn:uuid:{n}"><BinaryOnly MetadataFile="{names[0]}" UUID="urn:uuid:0"/></OME>')
        write_pages(tmp_path / name, [np.full((8, 8), 10 * n + t, np.uint16) for t in range(2)], xml)
    acq = open_acquisition(tmp_path, interval_h=2)
    got = {(r.well, r.field, r.time_h): int(load_image(r.path)[0, 0]) for r in acq.frames.itertuples()}
    assert got == {("A01", 1, 0.0): 0, ("A01", 1, 2.0): 1, ("A01", 2, 0.0): 10, ("A01", 2, 2.0): 11,
                   ("B02", 1, 0.0): 20, ("B02", 1, 2.0): 21}


def test_late_pages_of_a_long_file_are_read_without_rewalking(tmp_path):
    """Every page of a 3,000-page file read in order: each is the plane the OME-XML says it is."""
    n = 3000
    xml = f'<OME xmlns="{NS}"><Image ID="Image:0" Name="C3">{pixels(n, size=(1, 1, n), extra="<TiffData/>")}' \
          f'</Image></OME>'
    write_pages(tmp_path / "long.ome.tif", [np.full((4, 4), i, np.uint16) for i in range(n)], xml)
    acq = open_acquisition(tmp_path, interval_h=1.0)  # 3,000 scans without times
    assert [int(load_image(p)[0, 0]) for p in acq.frames["path"]] == list(range(n))


def test_stacked_ome_tiff_without_wells_is_not_read_as_one_image(tmp_path):
    """segment/detect refuse a several-plane OME-TIFF whose positions lie in no well (only its first plane would be
    read as an image), writing nothing; a one-plane OME-TIFF image without a well is an image as before."""
    stack = f'<OME xmlns="{NS}"><Image ID="Image:0" Name="Pos0">{pixels(3, size=(1, 1, 3), extra="<TiffData/>")}' \
            f'</Image></OME>'
    folder = tmp_path / "stack"
    folder.mkdir()
    write_pages(folder / "run.ome.tif", [np.zeros((8, 8), np.uint16)] * 3, stack)
    for command in ("segment", "detect"):
        for target in (folder, folder / "run.ome.tif"):
            out = tmp_path / f"{command}_{target.name}"
            proc = run_cli(command, str(target), "--out", str(out))
            assert_user_error(proc, "run.ome.tif", "only the first of its 3 planes", "no well in the image name 'Pos0'")
            assert not out.exists()
    single = tmp_path / "cells.ome.tif"
    write_pages(single, [np.zeros((8, 8), np.uint16)],
                f'<OME xmlns="{NS}"><Image ID="Image:0" Name="cells">{pixels(1, extra="<TiffData/>")}</Image></OME>')
    proc = run_cli("segment", str(single), "--out", str(tmp_path / "one"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "one" / "labels" / "cells.ome.tif").exists()
