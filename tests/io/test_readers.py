import cv2
import numpy as np
import pytest
import tifffile

from ferroscreen.errors import AcquisitionError, ImageReadError
from ferroscreen.io import (
    FRAME_COLUMNS,
    detect_format,
    incucyte_export_name,
    load_image,
    open_acquisition,
)
from ferroscreen.io.integrity import check_image_file


def tif(path, value=1, dtype=np.uint16, shape=(8, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.full(shape, value, dtype=dtype))
    return path


def test_incucyte_export_elapsed_names(tmp_path):
    for well in ("B2", "E11"):
        for field in (1, 2):
            for t in (0, 4, 8.5, 150.25):
                tif(tmp_path / incucyte_export_name(1957, well, field, t))
    acq = open_acquisition(tmp_path)
    assert acq.format == "incucyte"
    f = acq.frames
    assert list(f.columns[:7]) == FRAME_COLUMNS
    assert acq.wells == ["B02", "E11"]
    assert acq.timepoints_h == [0, 4, 8.5, 150.25]
    assert set(f["field"]) == {1, 2} and set(f["channel"]) == {"phase"} and set(f["plate"]) == {"VID1957"}
    assert acq.load(0).dtype == np.uint16
    assert acq.missing_frames().empty


def test_two_files_for_one_frame_are_refused(tmp_path):
    """A1 and A01 name the same well: scoring both would count its cells twice."""
    tif(tmp_path / "VID1_phase_A1_1_00d00h00m.tif")
    tif(tmp_path / "VID1_phase_A01_1_00d00h00m.tif")
    tif(tmp_path / "VID1_phase_A1_1_00d04h00m.tif")
    with pytest.raises(AcquisitionError, match=r"the same frame \(well A01, field 1, 0 h, channel phase\) is also "
                                               r".*; remove one \(1 frame\(s\) have more than one file\)"):
        open_acquisition(tmp_path)


def test_incucyte_export_absolute_names_and_planes(tmp_path):
    names = [
        "VID119_B2_1_2024y01m15d_10h30m.tif",
        "VID119_B2_1_2024y01m15d_14h30m.tif",
        "VID119_B2_1_2024y01m16d_10h30m.tif",
        "VID119_B12_2_2024y01m15d_10h30m.tif",
        "VID1957_phase_E11_5_plane2_06d12h05m.tif",
    ]
    for n in names:
        tif(tmp_path / n)
    f = open_acquisition(tmp_path, fmt="incucyte").frames
    vid119 = f[f["plate"] == "VID119"]
    assert sorted(vid119["time_h"].unique()) == [0, 4, 24]
    assert set(vid119["well"]) == {"B02", "B12"}
    other = f[f["plate"] == "VID1957"].iloc[0]
    assert other["z"] == 2 and other["field"] == 5 and other["time_h"] == pytest.approx(156 + 5 / 60, abs=1e-4)


def test_missing_timepoint_reported(tmp_path):
    for t in (0, 4, 8):
        tif(tmp_path / incucyte_export_name(1, "A1", 1, t))
    for t in (0, 8):
        tif(tmp_path / incucyte_export_name(1, "A2", 1, t))
    miss = open_acquisition(tmp_path).missing_frames()
    assert miss.to_dict("records") == [
        {"plate": "VID1", "well": "A02", "field": 1, "channel": "phase", "z": 0, "time_h": 4.0}
    ]


def test_incucyte_archive(tmp_path):
    base = tmp_path / "EssenFiles" / "ScanData"
    tif(base / "2401" / "15" / "1030" / "1234" / "B2-1-C1.tif")
    tif(base / "2401" / "15" / "1430" / "1234" / "B2-1-C1.tif")
    tif(base / "2401" / "16" / "1030" / "1234" / "B2-2-P.tif")
    acq = open_acquisition(tmp_path)
    assert acq.format == "incucyte_archive"
    assert acq.timepoints_h == [0, 4, 24]
    assert set(acq.frames["channel"]) == {"C1", "P"} and set(acq.frames["plate"]) == {"1234"}


HARMONY = """<?xml version="1.0" encoding="utf-8"?>
<EvaluationInputData xmlns="http://www.perkinelmer.com/PEHH/HarmonyV5" Version="1">
 <Plates><Plate><PlateID>screen_07</PlateID></Plate></Plates>
 <Images>{images}</Images>
</EvaluationInputData>"""
IMAGE = """<Image Version="1"><id>x</id><URL>{url}</URL><Row>{r}</Row><Col>{c}</Col><FieldID>{f}</FieldID>
<PlaneID>1</PlaneID><TimepointID>{t}</TimepointID><ChannelID>1</ChannelID><ChannelName>Brightfield</ChannelName>
<AbsTime>2024-03-0{d}T10:00:{s:02d}.12+01:00</AbsTime></Image>"""


@pytest.mark.parametrize("index_name", ["Index.idx.xml", "Index.xml"])  # Harmony 4, Harmony 5+
def test_harmony_index(tmp_path, index_name):
    images = []
    for t in (1, 2):
        for r, c in ((1, 1), (3, 12)):
            url = f"r{r:02d}c{c:02d}f01p01-ch1sk{t}fk1fl1.tiff"
            tif(tmp_path / "Images" / url)
            images.append(IMAGE.format(url=url, r=r, c=c, f=1, t=t, d=t, s=r))
    (tmp_path / "Images" / index_name).write_text(HARMONY.format(images="".join(images)))
    acq = open_acquisition(tmp_path)
    assert acq.format == "harmony"
    assert acq.wells == ["A01", "C12"]
    assert acq.timepoints_h == [0, 24]
    assert set(acq.frames["plate"]) == {"screen_07"} and set(acq.frames["channel"]) == {"Brightfield"}
    assert acq.load(acq.frames.iloc[0]).shape == (8, 10)


def test_imagexpress(tmp_path):
    guid = "D5F8B1AE-0C37-4D6A-9E89-4B1D2C3E4F50"
    for t in (1, 2, 3):
        for well in ("A01", "H12"):
            tif(tmp_path / f"TimePoint_{t}" / f"plateX_{well}_s1_w1{guid}.TIF")
            tif(tmp_path / f"TimePoint_{t}" / f"plateX_{well}_s1_w1_thumb{guid}.TIF")
    tif(tmp_path / "TimePoint_1" / "ZStep_2" / f"plateX_A01_s2_w2{guid}.TIF")
    (tmp_path / "plateX.HTD").write_text('"HTSInfoFile", Version 1.0\n"TimePoints", 3\n')
    acq = open_acquisition(tmp_path, interval_h=2.0)
    assert acq.format == "imagexpress"
    f = acq.frames
    assert len(f) == 7
    assert acq.timepoints_h == [0, 2, 4]
    zrow = f[f["z"] == 1].iloc[0]
    assert zrow["field"] == 2 and zrow["channel"] == "w2"
    assert any("TimePoint" in n for n in acq.notes)


def test_pattern_reader(tmp_path):
    for t in (0, 30, 60):
        tif(tmp_path / f"exp_well-C07_site3_t{t:03d}min_ch-bf.tif")
    acq = open_acquisition(
        tmp_path, pattern=r"exp_well-(?P<well>\w\d+)_site(?P<field>\d+)_t(?P<time>\d+)min_ch-(?P<channel>\w+)\.tif",
        time_unit="min",
    )
    assert acq.timepoints_h == [0, 0.5, 1.0]
    assert set(acq.frames["well"]) == {"C07"} and set(acq.frames["field"]) == {3}
    with pytest.raises(AcquisitionError, match="named group"):
        open_acquisition(tmp_path, pattern=r"exp.*")
    with pytest.raises(AcquisitionError, match="invalid regular expression"):
        open_acquisition(tmp_path, pattern=r"(?P<well>")


def test_detection_failure_message(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(AcquisitionError, match="no known acquisition layout"):
        detect_format(tmp_path)
    with pytest.raises(AcquisitionError, match="no such file"):
        open_acquisition(tmp_path / "missing")


def test_load_image_preserves_dtype(tmp_path):
    png16 = tmp_path / "a.png"
    arr = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    cv2.imwrite(str(png16), arr)
    out = load_image(png16)
    assert out.dtype == np.uint16 and out.max() == arr.max()
    t8 = tif(tmp_path / "b.tif", 7, np.uint8)
    assert load_image(t8).dtype == np.uint8


@pytest.mark.parametrize("compression", ["opencv-lzw", "lzw", "zlib", "zstd", "packbits", "jpeg"])
def test_compressed_tiffs_are_read(tmp_path, compression):
    """Instruments, Fiji and OpenCV write compressed TIFFs; LZW and JPEG need tifffile's imagecodecs."""
    from ferroscreen.segment.images import read_image

    rng = np.random.default_rng(0)
    dtype = np.uint8 if compression == "jpeg" else np.uint16
    arr = rng.integers(0, 200 if dtype == np.uint8 else 60000, (48, 64)).astype(dtype)
    path = tmp_path / f"{compression}.tif"
    if compression == "opencv-lzw":
        cv2.imwrite(str(path), arr)  # OpenCV's default TIFF compression is LZW
    else:
        tifffile.imwrite(path, arr, compression=compression)
    assert check_image_file(path) is None
    for out in (load_image(path), read_image(path)):
        assert out.dtype == dtype and out.shape == arr.shape
        if compression == "jpeg":  # lossy
            assert np.abs(out.astype(float) - arr).mean() < 40
        else:
            np.testing.assert_array_equal(out, arr)


def test_corrupt_and_truncated_tiffs(tmp_path):
    good = tif(tmp_path / "good.tif", 5, np.uint16, (64, 64))
    data = good.read_bytes()
    trunc = tmp_path / "trunc.tif"
    trunc.write_bytes(data[: len(data) // 2])
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"not a tiff at all")
    assert check_image_file(good) is None
    assert "truncated" in check_image_file(trunc)
    assert check_image_file(junk).startswith("not a TIFF: the file does not start with a TIFF header")
    for bad in (trunc, junk):
        with pytest.raises(ImageReadError) as exc:
            load_image(bad)
        assert str(bad) in str(exc.value) and "\n" not in str(exc.value)


def test_pattern_timepoints_and_groups_that_are_no_numbers(tmp_path):
    for scan in (1, 2, 3):
        tif(tmp_path / f"B03_t{scan:02d}.tif")
    acq = open_acquisition(tmp_path, fmt=r"pattern:(?P<well>\w\d+)_t(?P<timepoint>\d+)\.tif", interval_h=12)
    assert acq.timepoints_h == [0, 12, 24]
    with pytest.raises(AcquisitionError, match="B03_t01.tif: its time group matched 't01', which is not a number"):
        open_acquisition(tmp_path, pattern=r"(?P<well>\w\d+)_(?P<time>t\d+)\.tif")
    with pytest.raises(AcquisitionError, match="not both"):
        open_acquisition(tmp_path, pattern=r"(?P<well>\w\d+)_t(?P<timepoint>\d)(?P<time>\d)\.tif")


def test_imagexpress_as_metaxpress_writes_it(tmp_path):
    """Wave names from the .HTD, a z-stack saved with its projection, a direct-transfer folder, a folder above."""
    plate = tmp_path / "RSL3_P1" / "2024-01-15" / "3435"
    for z in (1, 2, 3):
        for wl in (1, 2):
            tif(plate / "TimePoint_1" / f"ZStep_{z}" / f"3435_B02_s1_w{wl}.TIF", value=z)
    for wl in (1, 2):
        tif(plate / "TimePoint_1" / f"3435_B02_s1_w{wl}.TIF", value=9)  # the projection MetaXpress saves beside
    (plate / "3435.HTD").write_text('"HTSInfoFile", Version 1.0\n"NWavelengths", 2\n"WaveName1", "DAPI"\n'
                                    '"WaveName2", "Transmitted Light"\n"EndFile"\n')
    for root in (plate, tmp_path / "RSL3_P1"):  # the plate folder, or the plate-name folder above it
        acq = open_acquisition(root)
        assert acq.format == "imagexpress"
        f = acq.frames
        assert sorted(set(f["channel"])) == ["DAPI", "DAPI projection", "Transmitted Light",
                                              "Transmitted Light projection"]
        assert sorted(f[f["channel"] == "DAPI"]["z"]) == [0, 1, 2]
        proj = f[f["channel"] == "DAPI projection"].iloc[0]
        assert proj["z"] == 0 and int(acq.load(proj).max()) == 9
        assert any("projection" in n for n in acq.notes)

    guid = "7F0C9A1E-2B3D-4C5E-8F90-A1B2C3D4E5F6"
    direct = tmp_path / "MIP-2P-2sub" / "2022-07-05" / "1075"
    for well in ("C05", "D06"):
        for site in (1, 2):
            tif(direct / f"MIP-2P-2sub_{well}_s{site}_w1{guid}.tif")
            tif(direct / f"MIP-2P-2sub_{well}_s{site}_w1_thumb{guid}.tif")
    acq = open_acquisition(tmp_path / "MIP-2P-2sub")
    assert acq.format == "imagexpress" and acq.wells == ["C05", "D06"] and len(acq.frames) == 4
    assert set(acq.frames["channel"]) == {"w1"}


def test_incucyte_exports_with_another_prefix(tmp_path):
    for well in ("B10", "C3"):
        for h in (0, 4):
            tif(tmp_path / "Phase" / f"DE_A549_{well}_6_00d{h:02d}h00m.tif")
            tif(tmp_path / "green" / f"R2_MDF_green_{well}_1_00d{h:02d}h00m.tif")
    acq = open_acquisition(tmp_path)
    assert acq.format == "incucyte"
    f = acq.frames
    assert set(zip(f["plate"], f["channel"], strict=True)) == {("DE_A549", "phase"), ("R2_MDF", "green")}
    assert acq.wells == ["B10", "C03"] and acq.timepoints_h == [0, 4]


def test_harmony_plate_names_and_images_without_a_file(tmp_path):
    root = tmp_path / "RSL3_screen_P1__2023-09-14T14_50_58-Measurement 1"
    images = []
    for t in (1, 2):
        url = f"r01c01f01p01-ch1sk{t}fk1fl1.tiff"
        tif(root / "Images" / url)
        images.append(IMAGE.format(url=url, r=1, c=1, f=1, t=t, d=t, s=1))
    images.append(IMAGE.format(url="", r=2, c=2, f=1, t=1, d=1, s=1))
    guid = "5f0a7d1e-2c9b-4f7a-9b1e-3d2c1b0a9f8e"
    for plate_part, expected in ((f"<PlateID>{guid}</PlateID><Name>P1_barcode</Name>", "P1_barcode"),
                                 ("<PlateID /><Name />", "RSL3_screen_P1")):
        text = HARMONY.format(images="".join(images)).replace("<PlateID>screen_07</PlateID>", plate_part)
        (root / "Images" / "Index.idx.xml").write_text(text)
        acq = open_acquisition(root)
        assert set(acq.frames["plate"]) == {expected}
        assert acq.wells == ["A01"]
        assert [reason for _, reason in acq.skipped] == ["listed without a file name"]
