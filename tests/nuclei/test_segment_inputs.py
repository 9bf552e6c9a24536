"""What ``segment`` reads of a plain folder of images: well names, sub-folders, broken PNGs."""

import json

import cv2
import pandas as pd
import pytest
import tifffile

from ferroscreen.errors import FerroscreenError, ImageReadError
from ferroscreen.segment.images import read_image
from ferroscreen.segment.run import collect_inputs

from ..conftest import main_in_process
from .conftest import make_nuclei


def _segment(monkeypatch, capfd, *args):
    """Run ``ferroscreen segment`` in-process; (exit code, stdout, stderr at the file-descriptor level)."""
    return main_in_process(["segment", *args], monkeypatch, capfd)


@pytest.fixture
def well_named(tmp_path):
    folder = tmp_path / "plate"
    folder.mkdir()
    for i, well in enumerate(("A01", "B02")):
        for site in (1, 2):
            tifffile.imwrite(folder / f"LIB01_rep1_{well}_s{site}.tif", make_nuclei(shape=(64, 64), seed=i)[0])
    return folder


def test_well_names_get_one_note_with_a_pattern_that_reads_them(well_named):
    table, kind = collect_inputs(well_named)
    assert kind == "images"
    (note,) = table.attrs["notes"]
    assert "4 of 4 image names carry a well id" in note and "no wells.csv" in note
    pattern = note.split("--pattern '", 1)[1].split("'", 1)[0]
    frames, kind = collect_inputs(well_named, fmt=f"pattern:{pattern}")
    assert kind == "acquisition"
    assert set(frames["plate"]) == {"LIB01_rep1"} and list(frames["well"]) == ["A01", "A01", "B02", "B02"]
    assert list(frames["field"]) == [1, 2, 1, 2]


def test_names_without_wells_get_no_note(tmp_path):
    for name in ("a_field.tif", "b_field.tif", "C1_image.tif"):  # one well-like name of three: not most
        tifffile.imwrite(tmp_path / name, make_nuclei(shape=(32, 32))[0])
    table, _ = collect_inputs(tmp_path)
    assert table.attrs["notes"] == []


def test_segment_prints_the_pattern_note(well_named, tiny_model_file, tmp_path, monkeypatch, capfd):
    code, out, err = _segment(monkeypatch, capfd, well_named, "--model", tiny_model_file, "--out", tmp_path / "o",
                              "--diameter", "model")
    assert code == 0, err
    assert err.count("note: ") == 1 and "--pattern '(?P<plate>.+)_(?P<well>" in err
    assert not (tmp_path / "o" / "wells.csv").exists()
    assert json.loads((tmp_path / "o" / "segment.json").read_text())["notes"] == [
        err.split("note: ", 1)[1].strip()]


def test_images_in_sub_folders_are_counted_in_a_note(tmp_path):
    tifffile.imwrite(tmp_path / "top.tif", make_nuclei(shape=(32, 32))[0])
    (tmp_path / "day1" / "deeper").mkdir(parents=True)
    tifffile.imwrite(tmp_path / "day1" / "a.tif", make_nuclei(shape=(32, 32))[0])
    tifffile.imwrite(tmp_path / "day1" / "deeper" / "b.tif", make_nuclei(shape=(32, 32))[0])
    (tmp_path / "seg" / "labels").mkdir(parents=True)  # an earlier run's label images are not passed-over input
    tifffile.imwrite(tmp_path / "seg" / "labels" / "top.tif", make_nuclei(shape=(32, 32))[1])
    (tmp_path / "seg" / "segment.json").write_text(json.dumps({"task": "nuclei-segmentation"}))
    table, kind = collect_inputs(tmp_path)
    assert kind == "images" and list(table["image"]) == ["top"]
    (note,) = table.attrs["notes"]
    assert note.startswith("2 image(s) in sub-folders of") and "(day1/ 2)" in note and "own input" in note


def test_only_sub_folders_is_a_one_line_error_saying_so(tmp_path, tiny_model_file, monkeypatch, capfd):
    for day in ("day1", "day2"):
        (tmp_path / "run" / day).mkdir(parents=True)
        tifffile.imwrite(tmp_path / "run" / day / "a.tif", make_nuclei(shape=(32, 32))[0])
    with pytest.raises(FerroscreenError, match="no images directly inside") as exc:
        collect_inputs(tmp_path / "run")
    assert "no known acquisition layout found (" not in str(exc.value) and "day1/ 1, day2/ 1" in str(exc.value)
    code, _, err = _segment(monkeypatch, capfd, tmp_path / "run", "--model", tiny_model_file, "--out", tmp_path / "o")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "sub-folders" in err and "Traceback" not in err


def test_empty_folder_keeps_the_acquisition_error(tmp_path):
    with pytest.raises(FerroscreenError, match="no known acquisition layout"):
        collect_inputs(tmp_path)


def test_truncated_png_fails_alone_without_the_decoders_message(tmp_path, tiny_model_file, monkeypatch, capfd):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(folder / name), make_nuclei(shape=(64, 64))[0])
    data = (folder / "b.png").read_bytes()
    (folder / "b.png").write_bytes(data[: len(data) - 30])
    with pytest.raises(ImageReadError, match="b.png: cannot decode image \\(truncated PNG"):
        read_image(folder / "b.png")
    capfd.readouterr()
    code, out, err = _segment(monkeypatch, capfd, folder, "--model", tiny_model_file, "--out", tmp_path / "o",
                              "--diameter", "model")
    assert code == 0, err
    assert "libpng" not in out + err
    assert err.count("failed image:") == 1 and "b.png: cannot decode image (truncated PNG" in err
    fields = pd.read_csv(tmp_path / "o" / "fields.csv")
    assert list(fields["status"]) == ["done", "failed"]


def test_corrupt_png_chunk_is_named(tmp_path, capfd):
    cv2.imwrite(str(tmp_path / "a.png"), make_nuclei(shape=(32, 32))[0])
    data = bytearray((tmp_path / "a.png").read_bytes())
    data[60] ^= 0xFF  # inside the image data
    (tmp_path / "a.png").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match="corrupt PNG: the checksum of its IDAT chunk"):
        read_image(tmp_path / "a.png")
    assert "libpng" not in capfd.readouterr().err


def test_inspect_describes_a_real_segment_output(well_named, tiny_model_file, tmp_path):
    from ferroscreen.io.inspection import inspect_path, render_inspection
    from ferroscreen.segment.run import segment_input

    summary = segment_input(well_named, tmp_path / "o", model=str(tiny_model_file), diameter="model")
    info = inspect_path(tmp_path / "o")
    assert info["kind"] == "segment_output" and info["format"] == "images" and info["finished"]
    assert info["n_images"] == summary["n_images"] == 4 and info["n_nuclei"] == summary["n_nuclei"]
    assert info["fields_rows"] == 4 and info["wells_rows"] is None and info["n_label_images"] == 4
    assert info["input"] == str(well_named.resolve()) and info["failed_images"] == []
    assert "images: 4 (0 failed" in render_inspection(info)
    (tmp_path / "o" / "run.json").unlink()  # segment.json alone marks the folder (it records the task)
    assert inspect_path(tmp_path / "o")["kind"] == "segment_output"


def test_one_image_is_said_in_the_singular(tmp_path, tiny_model_file, monkeypatch, capfd):
    folder = tmp_path / "one"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", make_nuclei(shape=(64, 64))[0])
    code, out, err = _segment(monkeypatch, capfd, folder, "--model", tiny_model_file, "--out", tmp_path / "o",
                              "--diameter", "model")
    assert code == 0, err
    assert "1 image, " in out and "1 images" not in out
