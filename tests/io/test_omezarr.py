"""OME-Zarr HCS plates: NGFF 0.4 (Zarr v2) and 0.5 (Zarr v3), written by zarr itself."""

import json
import os
import shutil

import numpy as np
import pytest
import tifffile

zarr = pytest.importorskip("zarr")

from ferroscreen.errors import AcquisitionError, ImageReadError  # noqa: E402
from ferroscreen.io import detect_format, incucyte_export_name, load_image, open_acquisition  # noqa: E402
from ferroscreen.io.frames import frame_file, is_store_frame  # noqa: E402
from ferroscreen.io.integrity import check_image_file  # noqa: E402
from ferroscreen.io.omezarr_write import write_omezarr  # noqa: E402


def _export(folder, wells=("B2", "C11"), fields=(1, 2), times=(0, 2, 4, 6)):
    """An IncuCyte export whose every pixel value encodes well, field and time."""
    folder.mkdir(parents=True, exist_ok=True)
    for wi, well in enumerate(wells):
        for field in fields:
            for ti, t in enumerate(times):
                img = np.arange(12 * 16, dtype=np.uint16).reshape(12, 16) + 1000 * wi + 100 * field + ti
                tifffile.imwrite(folder / incucyte_export_name(42, well, field, t), img)
    return open_acquisition(folder)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_roundtrip_frames_and_pixels(tmp_path, version):
    src = _export(tmp_path / "tiffs")
    plates = write_omezarr(src, tmp_path / "zarr", version=version)
    assert [p.name for p in plates] == ["VID42.zarr"]
    meta = "zarr.json" if version == "0.5" else ".zattrs"
    assert (plates[0] / meta).is_file()
    for root in (plates[0], tmp_path / "zarr"):  # one plate, or the folder holding it
        assert detect_format(root) == "omezarr"
        acq = open_acquisition(root)
        assert acq.format == "omezarr" and acq.notes == [] and acq.skipped == []
        cols = ["plate", "well", "field", "channel", "time_h", "z"]
        got = acq.frames[cols].assign(channel="phase").reset_index(drop=True)
        assert got.equals(src.frames[cols].reset_index(drop=True))
        for a, b in zip(acq.frames["path"], src.frames["path"], strict=True):
            assert is_store_frame(a) and not is_store_frame(b)
            img = load_image(a)
            assert img.dtype == np.uint16 and np.array_equal(img, load_image(b))
            assert os.path.isfile(frame_file(a)) and check_image_file(a) is None


def test_uneven_scans_become_acquisitions_with_start_times(tmp_path):
    src = _export(tmp_path / "tiffs", wells=("A1",), fields=(1,), times=(0, 1.5, 4, 10))
    acq = open_acquisition(write_omezarr(src, tmp_path / "zarr")[0])
    attrs = json.loads((tmp_path / "zarr" / "VID42.zarr" / ".zattrs").read_text())
    assert len(attrs["plate"]["acquisitions"]) == 4
    assert acq.timepoints_h == [0, 1.5, 4, 10] and set(acq.frames["field"]) == {1}
    assert np.array_equal(load_image(acq.frames["path"].iloc[3]), load_image(src.frames["path"].iloc[3]))


def _plate_v04(root, t_axis: dict, shape=(3, 2, 1, 8, 8), labels=("Hoechst", "Phase"), acquisitions=None):
    """A hand-made NGFF 0.4 plate with one well (B/3), one field, axes t c z y x."""
    g = zarr.open_group(str(root), mode="w", zarr_format=2)
    plate = {"name": "P1", "rows": [{"name": "A"}, {"name": "B"}], "columns": [{"name": "3"}],
             "wells": [{"path": "B/3", "rowIndex": 1, "columnIndex": 0}], "version": "0.4"}
    if acquisitions:
        plate["acquisitions"] = acquisitions
    g.attrs["plate"] = plate
    g.require_group("B/3").attrs["well"] = {"images": [{"path": "0"}], "version": "0.4"}
    img = g.require_group("B/3/0")
    img.attrs["multiscales"] = [{
        "axes": [t_axis, {"name": "c", "type": "channel"}, {"name": "z", "type": "space"},
                 {"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [20, 1, 1, 0.5, 0.5]}]}],
        "version": "0.4",
    }]
    img.attrs["omero"] = {"channels": [{"label": lab} for lab in labels]}
    return img.create_array("0", shape=shape, chunks=(1, 1, 1, 8, 8), dtype="uint8", fill_value=0,
                            config={"write_empty_chunks": True})


def test_time_units_channels_and_unwritten_planes(tmp_path):
    arr = _plate_v04(tmp_path / "p.zarr", {"name": "t", "type": "time", "unit": "minute"})
    arr[0] = 5
    arr[1, 0] = 7  # scan 2 only has its first channel so far; scan 3 nothing
    acq = open_acquisition(tmp_path / "p.zarr")
    f = acq.frames
    assert set(f["plate"]) == {"P1"} and set(f["well"]) == {"B03"}
    assert sorted(zip(f["time_h"], f["channel"], strict=True)) == [
        (0.0, "Hoechst"), (0.0, "Phase"), (0.3333, "Hoechst")]  # 20 min, to the frame table's 1e-4 h
    assert len(acq.missing_frames()) == 1  # scan 2's Phase plane
    assert load_image(f["path"].iloc[-1]).max() == 7
    unwritten = f["path"].iloc[0].replace("#t=0", "#t=2")
    with pytest.raises(ImageReadError, match="no pixel data written"):
        load_image(unwritten)
    assert "no pixel data" in check_image_file(unwritten)
    assert not os.path.exists(frame_file(unwritten))


def test_time_axis_without_unit_uses_interval(tmp_path):
    arr = _plate_v04(tmp_path / "p.zarr", {"name": "t"}, labels=("a", "a"))
    arr[:] = 1
    acq = open_acquisition(tmp_path / "p.zarr", interval_h=4)
    assert acq.timepoints_h == [0, 4, 8]
    assert set(acq.frames["channel"]) == {"ch1", "ch2"}  # labels that do not tell channels apart
    assert any("--interval-h" in n for n in acq.notes)


def test_acquisitions_without_start_times_are_ordered_scans(tmp_path):
    g = zarr.open_group(str(tmp_path / "p.zarr"), mode="w", zarr_format=2)
    g.attrs["plate"] = {"rows": [{"name": "C"}], "columns": [{"name": "05"}], "wells": [{"path": "C/05"}],
                        "acquisitions": [{"id": 10}, {"id": 9}], "version": "0.4"}
    g.require_group("C/05").attrs["well"] = {"images": [
        {"path": "0", "acquisition": 9}, {"path": "1", "acquisition": 9},
        {"path": "2", "acquisition": 10}, {"path": "3", "acquisition": 10}]}
    for k in range(4):
        img = g.require_group(f"C/05/{k}")
        img.attrs["multiscales"] = [{"axes": ["y", "x"], "datasets": [{"path": "0"}], "version": "0.3"}]
        img.create_array("0", data=np.full((6, 6), k + 1, np.uint16), chunks=(6, 6))
    acq = open_acquisition(tmp_path / "p.zarr", interval_h=2)
    f = acq.frames
    assert set(f["plate"]) == {"p"} and set(f["well"]) == {"C05"}
    assert sorted(zip(f["time_h"], f["field"], strict=True)) == [(0, 1), (0, 2), (2, 1), (2, 2)]
    assert [int(load_image(p).max()) for p in f.sort_values(["time_h", "field"])["path"]] == [1, 2, 3, 4]
    assert any("without start times" in n for n in acq.notes)


def test_broken_metadata_and_chunks_are_one_line_errors(tmp_path):
    src = _export(tmp_path / "tiffs", wells=("B2",), fields=(1,), times=(0, 2))
    plate = write_omezarr(src, tmp_path / "zarr")[0]
    acq = open_acquisition(plate)
    chunk = frame_file(acq.frames["path"].iloc[1])
    with open(chunk, "r+b") as fh:
        fh.truncate(10)
    with pytest.raises(ImageReadError, match="unreadable Zarr chunk") as err:
        load_image(acq.frames["path"].iloc[1])
    assert "\n" not in str(err.value) and "B/2/0#t=1" in str(err.value)
    assert load_image(acq.frames["path"].iloc[0]).shape == (12, 16)

    field_meta = plate / "B" / "2" / "0" / ".zattrs"
    field_meta.write_text("{not json")
    with pytest.raises(AcquisitionError, match=r"B/2/0/\.zattrs: not valid JSON \(line 1"):
        open_acquisition(plate)  # its only field is broken: nothing to read
    (plate / ".zattrs").write_text("{\"plate\": ")
    with pytest.raises(AcquisitionError, match=r"\.zattrs: not valid JSON"):
        open_acquisition(plate)


def test_plate_without_written_planes_or_arrays(tmp_path):
    _plate_v04(tmp_path / "p.zarr", {"name": "t", "type": "time", "unit": "hour"})
    with pytest.raises(AcquisitionError, match="p.zarr: OME-Zarr plate without any written image planes"):
        open_acquisition(tmp_path / "p.zarr")
    shutil.rmtree(tmp_path / "p.zarr" / "B" / "3" / "0" / "0")
    with pytest.raises(AcquisitionError, match=r"B/3/0/0: no Zarr array here"):
        open_acquisition(tmp_path / "p.zarr")


@pytest.mark.parametrize("layout", ["v2-nested-tiles", "v3-shards", "v3-dot-keys"])
def test_tiled_sharded_and_nested_chunk_layouts(tmp_path, layout):
    """A plane is written when any of its tiles is; chunk keys follow each store's encoding."""
    root = tmp_path / "p.zarr"
    fmt = 2 if layout.startswith("v2") else 3
    g = zarr.open_group(str(root), mode="w", zarr_format=fmt)
    ome = {"plate": {"rows": [{"name": "A"}], "columns": [{"name": "1"}], "wells": [{"path": "A/1"}]}}
    well = {"well": {"images": [{"path": "0"}]}}
    ms = {"multiscales": [{"axes": [{"name": "t", "type": "time", "unit": "hour"}, {"name": "y"}, {"name": "x"}],
                           "datasets": [{"path": "0"}]}]}
    if fmt == 3:
        ome, well, ms = ({"ome": {"version": "0.5", **d}} for d in (ome, well, ms))
    g.attrs.update(ome)
    g.require_group("A/1").attrs.update(well)
    img = g.require_group("A/1/0")
    img.attrs.update(ms)
    kw = {"shape": (3, 16, 16), "dtype": "uint16", "fill_value": 0}
    if layout == "v2-nested-tiles":
        arr = img.create_array("0", chunks=(1, 8, 8), chunk_key_encoding={"name": "v2", "separator": "/"}, **kw)
    elif layout == "v3-shards":
        arr = img.create_array("0", chunks=(1, 8, 8), shards=(1, 16, 16), **kw)
    else:
        arr = img.create_array("0", chunks=(1, 8, 8), chunk_key_encoding={"name": "default", "separator": "."}, **kw)
    arr[0] = 3
    arr[2, 8:, 8:] = 9  # only the last tile of scan 3; scan 2 never written
    acq = open_acquisition(root)
    assert acq.timepoints_h == [0, 2]
    last = load_image(acq.frames["path"].iloc[1])
    assert last.shape == (16, 16) and last[8:, 8:].min() == 9 and last[:8].max() == 0
    assert os.path.isfile(frame_file(acq.frames["path"].iloc[1]))
