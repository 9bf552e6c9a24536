"""Point annotations as QuPath versions and spreadsheet programs write them."""

import json

import cv2
import numpy as np
import pytest
import tifffile

from ferroscreen.datamodules.point_annotations import PointAnnotationDataModule, read_point_annotations
from ferroscreen.errors import FerroscreenError


def _image(path, size=64):
    cv2.imwrite(str(path), (np.random.default_rng(0).random((size, size)) * 255).astype(np.uint8))


def _feature(xy, **props):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(xy)},
            "properties": {"objectType": "annotation", **props}}


def test_a_named_object_without_a_class_is_left_out_not_read_as_a_class(tmp_path):
    _image(tmp_path / "img0.png")
    region = {"type": "Feature", "properties": {"objectType": "annotation", "name": "Annotated region",
                                                "isLocked": True},
              "geometry": {"type": "Polygon", "coordinates": [[[2, 2], [60, 2], [60, 60], [2, 60], [2, 2]]]}}
    (tmp_path / "img0.png.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        region, _feature((10, 10), classification={"name": "alive", "color": [0, 200, 0]}),
        _feature((20, 20), name="cell 7", classification={"name": "apoptosis", "color": [200, 0, 0]})]}))
    notes = []
    ann = read_point_annotations(tmp_path, notes)
    assert ann["class"].tolist() == ["alive", "apoptosis"]  # a named object's class is its classification
    assert notes == [f"{tmp_path / 'img0.png.geojson'}: 1 object(s) without a class left out "
                     "(named 'Annotated region': a name is not a class)"]


@pytest.mark.parametrize(("classification", "expected"), [
    ({"name": "alive", "colorRGB": -16711936}, "alive"),  # QuPath 0.1.x / 0.2
    ({"names": ["Tumor", "Positive"], "color": [1, 2, 3]}, "Tumor: Positive"),  # 0.4 on, a derived class
    ({"names": "alive"}, "alive"),
    (["Tumor", "Positive"], "Tumor: Positive"),
    (" alive ", "alive"),
    ({"color": [1, 2, 3]}, None),
    ({"name": "", "names": []}, None),
])
def test_qupath_classification_forms(tmp_path, classification, expected):
    _image(tmp_path / "img0.png")
    (tmp_path / "img0.geojson").write_text(json.dumps([_feature((5, 6), name="x", classification=classification)]))
    ann = read_point_annotations(tmp_path / "img0.geojson", notes := [])
    assert ann["class"].tolist() == ([expected] if expected else [])
    assert bool(notes) == (expected is None)


@pytest.mark.parametrize("suffix", [".ome.tif", ".ome.tiff", ".OME.TIF"])
def test_an_export_of_an_ome_tiff_finds_its_image(tmp_path, suffix):
    tifffile.imwrite(tmp_path / f"well A1{suffix}", np.zeros((32, 32), np.uint16))
    (tmp_path / "well A1.geojson").write_text(json.dumps([_feature((3, 4), classification={"name": "alive"})]))
    ann = read_point_annotations(tmp_path)
    assert ann["image"].tolist() == [str((tmp_path / f"well A1{suffix}").resolve())]


def test_an_export_without_its_image_names_the_ome_suffixes_too(tmp_path):
    (tmp_path / "img.geojson").write_text(json.dumps([_feature((3, 4), classification={"name": "alive"})]))
    with pytest.raises(FerroscreenError, match=r"img.geojson: no image named img.<ome.tif\|ome.tiff\|png"):
        read_point_annotations(tmp_path)


def test_a_european_excel_table_reads_decimal_commas(tmp_path):
    for i in range(2):
        _image(tmp_path / f"img{i}.png")
    rows = ["image;x;y;class", "img0.png;7,28;40,5;alive", "img1.png;10;12,75;apoptosis", "img0.png;30,1;20;apoptosis",
            "img1.png;33;44;alive"]
    (tmp_path / "p.csv").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")  # BOM, CRLF
    ann = read_point_annotations(tmp_path / "p.csv")
    assert ann[["x", "y"]].to_numpy().tolist() == [[7.28, 40.5], [10, 12.75], [30.1, 20], [33, 44]]
    sets = PointAnnotationDataModule(str(tmp_path / "p.csv"), classes=["alive", "apoptosis"], crop_size=16).build_sets()
    assert len(sets.train_y) + len(sets.val_y) == 4


def test_a_comma_in_a_comma_separated_table_is_no_decimal_comma(tmp_path):
    _image(tmp_path / "img0.png")
    (tmp_path / "p.csv").write_text('image,x,y,class\nimg0.png,"1,234",5,alive\n')  # a thousands separator?
    with pytest.raises(FerroscreenError, match=r"p.csv:2: x/y '1,234', '5' are not numbers"):
        read_point_annotations(tmp_path / "p.csv")
