"""``ferroscreen inspect`` on folders that are no acquisition: plain image folders and segment outputs."""

import json

import cv2
import numpy as np
import pytest
import tifffile

from ferroscreen.errors import FerroscreenError
from ferroscreen.io.inspection import inspect_path, render_inspection

from ..conftest import main_in_process


def _inspect(monkeypatch, capfd, *args):
    """Run ``ferroscreen inspect`` in-process; (exit code, stdout, stderr at the file-descriptor level)."""
    return main_in_process(["inspect", *args], monkeypatch, capfd)


def _gray(seed, shape=(32, 32), dtype=np.uint16):
    return np.random.default_rng(seed).integers(0, 4000, shape).astype(dtype)


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", _gray(0))
    cv2.imwrite(str(folder / "b.png"), _gray(1))  # 16-bit PNG
    cv2.imwrite(str(folder / "c.png"), np.dstack([_gray(2, dtype=np.uint8), _gray(3, dtype=np.uint8),
                                                  _gray(4, dtype=np.uint8)]))
    (folder / "readme.txt").write_text("not an image")
    (folder / "._a.tif").write_bytes(b"macOS fork")  # hidden: neither an image nor a file not understood
    return folder


def test_plain_image_folder_is_described(image_folder, monkeypatch, capfd):
    code, out, err = _inspect(monkeypatch, capfd, image_folder)
    assert code == 0, err
    assert "image_folder" in out and "no known acquisition layout" not in out + err
    assert "images: 3 (2 .png, 1 .tif)" in out
    assert "a.tif: uint16 32x32" in out and "b.png: uint16 32x32" in out
    assert "c.png: uint8 32x32x3, 3 channels" in out and "--channel-index" in out
    assert "files not understood: 1 (readme.txt)" in out and "._a.tif" not in out
    info = inspect_path(image_folder)
    assert info["kind"] == "image_folder" and info["n_images"] == 3 and info["suffixes"] == {".png": 2, ".tif": 1}
    assert info["multichannel"] == 1 and info["unreadable"] == [] and info["notes"] == []


def test_folder_without_images_keeps_the_acquisition_error(tmp_path):
    (tmp_path / "only.txt").write_text("x")
    with pytest.raises(FerroscreenError, match="no known acquisition layout"):
        inspect_path(tmp_path)


def test_truncated_png_is_listed_without_the_decoders_own_message(image_folder, monkeypatch, capfd):
    data = (image_folder / "b.png").read_bytes()
    (image_folder / "b.png").write_bytes(data[: len(data) - 40])
    code, out, err = _inspect(monkeypatch, capfd, image_folder)
    assert code == 0
    assert "unreadable files: 1" in out and "b.png: truncated PNG" in out
    assert "libpng" not in out + err


def test_well_names_suggest_a_pattern_that_reads_them(tmp_path):
    folder = tmp_path / "plate"
    folder.mkdir()
    for well in ("A01", "A02", "B01"):
        for site in (1, 2):
            tifffile.imwrite(folder / f"LIB01_rep1_{well}_s{site}.tif", _gray(site))
    info = inspect_path(folder)
    (note,) = info["notes"]
    assert "6 of 6 image names carry a well id" in note and "--pattern" in note
    pattern = note.split("--pattern '", 1)[1].split("'", 1)[0]
    acq = inspect_path(folder, fmt=f"pattern:{pattern}")
    assert acq["kind"] == "acquisition" and acq["plates"] == ["LIB01_rep1"]
    assert acq["wells"] == ["A01", "A02", "B01"] and acq["fields"] == [1, 2]


def test_images_in_sub_folders_are_counted_not_an_acquisition_error(tmp_path, monkeypatch, capfd):
    for day in ("day1", "day2"):
        (tmp_path / "run" / day).mkdir(parents=True)
        for i in range(2):
            tifffile.imwrite(tmp_path / "run" / day / f"img{i}.tif", _gray(i))
    code, out, err = _inspect(monkeypatch, capfd, tmp_path / "run")
    assert code == 0, err
    assert "images: none directly inside" in out
    assert "4 image(s) in sub-folders" in out and "day1/ 2, day2/ 2" in out and "own input" in out


def _segment_output(folder, finished=True):
    """A segment run's files as ``segment`` writes them (labels named like Cellomics images)."""
    (folder / "labels").mkdir(parents=True)
    for name in ("MFGTMPcx7_170702000001_B14f07d0", "MFGTMPcx7_170702000001_B15f07d0"):
        tifffile.imwrite(folder / "labels" / f"{name}.tif", np.zeros((8, 8), np.uint16))
    run = {"input": "/data/plate1", "model": "nuclei-aits", "model_sha256": "7f85bb783e97" + "0" * 52,
           "tta": False, "scale": {"scale": 1.0, "image_diameter_px": 43.0, "model_diameter_px": 44.0}}
    (folder / "run.json").write_text(json.dumps(run))
    if not finished:
        return folder
    (folder / "fields.csv").write_text(
        "image,plate,well,field,channel,time_h,status,error,n_nuclei\n"
        "MFGTMPcx7_170702000001_B14f07d0,P1,B14,7,d0,0,done,,12\n"
        "MFGTMPcx7_170702000001_B15f07d0,P1,B15,7,d0,0,done,,9\n"
        "MFGTMPcx7_170702000001_B16f07d0,P1,B16,7,d0,0,failed,/data/plate1/x.png: truncated PNG,\n")
    (folder / "wells.csv").write_text("plate,well,n_fields,n_nuclei\nP1,B14,1,12\nP1,B15,1,9\nP1,B16,0,\n")
    summary = {"task": "nuclei-segmentation", "input": "/data/plate1", "kind": "acquisition",
               "model": "nuclei-aits", "model_sha256": run["model_sha256"], "scale": run["scale"],
               "ferroscreen_version": "0.1.0", "created": "2026-01-01T00:00:00+00:00", "n_images": 3,
               "n_nuclei": 21, "n_flagged_fields": 1, "n_failed": 1, "failures": ["/data/plate1/x.png: truncated PNG"],
               "notes": []}
    (folder / "segment.json").write_text(json.dumps(summary))
    return folder


def test_segment_output_is_described_not_read_as_an_acquisition(tmp_path, monkeypatch, capfd):
    (tmp_path / "layout.csv").write_text("well,compound,concentration,unit\nA1,X,1,uM\n")  # beside: not its layout
    out_dir = _segment_output(tmp_path / "seg")
    code, out, err = _inspect(monkeypatch, capfd, out_dir)
    assert code == 0, err
    assert "segment_output (acquisition)" in out and "cellomics" not in out and "layout" not in out
    assert "input: /data/plate1" in out and "model: nuclei-aits (sha256 7f85bb783e97); scale 1" in out
    assert "images: 3 (1 failed, 1 flagged by QC); nuclei: 21; label images: 2" in out
    assert "fields.csv 3 rows; wells.csv 3 rows (plates P1)" in out and "wells (3): B14, B15, B16" in out
    assert "MFGTMPcx7_170702000001_B16f07d0: /data/plate1/x.png: truncated PNG" in out
    info = inspect_path(out_dir / "labels")  # its label folder: the output, described whole
    assert info["kind"] == "segment_output" and info["path"] == str(out_dir)
    assert "part of this segment output" in info["notes"][0]
    assert inspect_path(out_dir / "segment.json")["kind"] == "segment_output"


def test_stopped_segment_run_is_described(tmp_path):
    out_dir = _segment_output(tmp_path / "seg", finished=False)
    info = inspect_path(out_dir)
    assert info["kind"] == "segment_output" and not info["finished"] and info["n_label_images"] == 2
    text = render_inspection(info)
    assert "stopped run" in text and "--resume" in text and "label images: 2" in text


def test_the_integrity_check_names_a_truncated_png_without_libpng_speaking(tmp_path, capfd):
    import cv2

    from ferroscreen.io.integrity import check_image_file

    cv2.imwrite(str(tmp_path / "whole.png"), _gray(3, dtype=np.uint8))
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    assert check_image_file(tmp_path / "whole.png") is None
    assert check_image_file(tmp_path / "cut.png").startswith("truncated PNG")
    assert "libpng" not in capfd.readouterr().err


def test_plates_of_one_folder_get_their_own_timepoints(tmp_path):
    """Two IncuCyte plates on other schedules: one timepoint line per plate, not a merged 0-24 h span."""
    for vid, stamps in (("VID7", ("00d00h00m", "00d04h00m", "00d08h00m", "01d00h00m")),
                        ("VID9", ("00d00h00m", "00d06h00m", "00d12h00m"))):
        for stamp in stamps:
            tifffile.imwrite(tmp_path / f"{vid}_phase_A1_1_{stamp}.tif", _gray(0, dtype=np.uint8))
    info = inspect_path(tmp_path)
    assert info["plate_timepoints"]["VID7"]["timepoints_h"] == [0, 4, 8, 24]
    assert info["plate_timepoints"]["VID9"]["timepoints_h"] == [0, 6, 12]
    text = render_inspection(info)
    assert "timepoints of VID7: 4 from 0 h to 24 h, every 4-16 h (median 4 h); longer gap 8-24 h" in text
    assert "timepoints of VID9: 3 from 0 h to 12 h, every 6 h" in text
    assert "timepoints: " not in text
    json.dumps(info, allow_nan=False)
