"""Crop folders, point tables and QuPath exports as lab users hand them over (a bad-input sweep's findings)."""

import json
import unicodedata

import cv2
import numpy as np
import pytest
import tifffile

from ferroscreen.datamodules.crop_folders import CropFolderDataModule, load_crop
from ferroscreen.datamodules.point_annotations import PointAnnotationDataModule, read_point_annotations
from ferroscreen.errors import FerroscreenError, ImageReadError
from ferroscreen.io import load_image

CLASSES = ["alive", "apoptosis", "ferroptosis", "necroptosis"]


def _crops(folder, n, seed=0, ext=".png"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i}{ext}"), (rng.random((30, 30)) * 255).astype(np.uint8))


def _tree(root, n=4, classes=CLASSES):
    for k, c in enumerate(classes):
        _crops(root / c, n, seed=k)


# --- crop folders ---------------------------------------------------------------------------------------------

def test_train_folder_without_val_is_split_by_file(tmp_path):
    _tree(tmp_path / "train", n=5)
    dm = CropFolderDataModule(str(tmp_path), crop_size=16)
    sets = dm.build_sets()
    assert len(sets.val_y) > 0 and len(sets.train_y) + len(sets.val_y) == 20
    assert set(sets.val_y.tolist()) == {0, 1, 2, 3}
    assert sets.summary["presplit"] is False


def test_val_folders_are_checked_like_train_folders(tmp_path):
    _tree(tmp_path / "train")
    _tree(tmp_path / "val", n=2, classes=["alive", "apoptosis", "ferroptosis", "necrosis"])
    with pytest.raises(FerroscreenError, match=r"val: folders \['necrosis'\] are not among the classes"):
        CropFolderDataModule(str(tmp_path), crop_size=16)


def test_too_few_images_for_validation_is_one_line(tmp_path):
    _tree(tmp_path, n=1)
    dm = CropFolderDataModule(str(tmp_path), crop_size=16)
    with pytest.raises(FerroscreenError, match="no validation crops: .*no class has 2 images"):
        dm.build_sets()


def test_class_subfolders_are_read_and_other_files_said(tmp_path):
    _tree(tmp_path, n=3)
    _crops(tmp_path / "alive" / "plate1", 2, seed=9)
    _crops(tmp_path / "apoptosis", 1, seed=8, ext=".webp")
    (tmp_path / "alive" / "readme.txt").write_text("notes")
    (tmp_path / "alive" / "Thumbs.db").write_bytes(b"\0")
    sets = CropFolderDataModule(str(tmp_path), crop_size=16).build_sets()
    counts = np.bincount(np.concatenate([sets.train_y, sets.val_y]))
    assert counts.tolist() == [5, 4, 3, 3]  # alive's sub-folder and apoptosis's .webp crop read
    assert len(sets.summary["notes"]) == 1 and "1 file(s)" in sets.summary["notes"][0]
    assert "readme.txt" in sets.summary["notes"][0] and "Thumbs" not in sets.summary["notes"][0]


def test_folder_names_written_in_nfd_match_classes_typed_in_nfc(tmp_path):
    nfd = unicodedata.normalize("NFD", "nécrose")
    _tree(tmp_path, n=3, classes=["alive", nfd])
    dm = CropFolderDataModule(str(tmp_path), classes=["alive", "nécrose"], crop_size=16)
    sets = dm.build_sets()
    assert dm.classes == ["alive", "nécrose"] and set(sets.train_y.tolist()) == {0, 1}


def test_a_single_class_is_refused(tmp_path):
    _tree(tmp_path, n=3, classes=["alive"])
    with pytest.raises(FerroscreenError, match="two or more different classes"):
        CropFolderDataModule(str(tmp_path), crop_size=16)


# --- crop image files -----------------------------------------------------------------------------------------

def test_planar_rgb_tiff_is_averaged_like_a_contiguous_one(tmp_path):
    g = np.random.default_rng(0).integers(0, 4000, (24, 24)).astype(np.uint16)
    z = np.zeros_like(g)
    tifffile.imwrite(tmp_path / "planar.tif", np.stack([z, g, z]), photometric="rgb", planarconfig="separate")
    tifffile.imwrite(tmp_path / "contig.tif", np.dstack([z, g, z]), photometric="rgb")
    planar, contig = load_image(tmp_path / "planar.tif"), load_image(tmp_path / "contig.tif")
    assert planar.shape == (24, 24) and planar.max() > 0
    np.testing.assert_array_equal(planar, contig)


def test_a_multi_page_tiff_crop_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "two.tif", np.zeros((2, 24, 24), np.uint16))
    with pytest.raises(ImageReadError, match=r"two.tif: a TIFF of 2 pages .* a crop is one image"):
        load_crop(tmp_path / "two.tif", 16)


def test_nan_pixels_do_not_blank_a_float_crop(tmp_path):
    f = np.random.default_rng(0).random((24, 24)).astype(np.float32)
    f[0, 0] = np.nan
    tifffile.imwrite(tmp_path / "f.tif", f)
    crop = load_crop(tmp_path / "f.tif", 24).astype(np.float32)
    assert np.isfinite(crop).all() and crop.max() == 1 and crop[0, 0] == 0
    assert np.corrcoef(crop.ravel()[1:], f.ravel()[1:])[0, 1] > 0.99


def test_a_truncated_jpeg_is_refused_naming_it(tmp_path):
    img = (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "whole.jpg"), img)
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "padded.jpg").write_bytes(data + b"\0\0")
    assert load_image(tmp_path / "padded.jpg").shape == (64, 64)
    with pytest.raises(ImageReadError, match="cut.jpg: unreadable image .truncated JPEG"):
        load_image(tmp_path / "cut.jpg")


# --- point tables ---------------------------------------------------------------------------------------------

def _frames(folder, n=2, size=64):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"img{i}.png"), (np.random.default_rng(i).random((size, size)) * 255).astype(np.uint8))


def test_point_table_columns_are_found_by_name_in_any_order_case_and_separator(tmp_path):
    _frames(tmp_path)
    (tmp_path / "p.csv").write_text("auto class; Class ;X; y ;Image\nalive;ferroptosis;10;12;img0.png\n"
                                     "alive;necroptosis;30.5;40;img1.png\n")
    ann = read_point_annotations(tmp_path / "p.csv")
    assert ann["class"].tolist() == ["ferroptosis", "necroptosis"]
    assert ann[["x", "y"]].to_numpy().tolist() == [[10, 12], [30.5, 40]]
    assert ann["image"].tolist() == [str((tmp_path / f"img{i}.png").resolve()) for i in (0, 1)]


@pytest.mark.parametrize(("row", "message"), [
    ("img0.png,,20,alive", r"p.csv:3: x/y '', '20' are not finite numbers"),
    ("img0.png,nan,inf,alive", r"p.csv:3: x/y '', 'inf' are not finite numbers"),
    ("img0.png,5,20,", r"p.csv:3: no class named"),
    ("img9.png,5,20,alive", r"p.csv:3: image .*img9.png not found"),
    ("img1.png,-500,20,alive", r"p.csv:3: point \(-500, 20\) lies outside its image \(64 x 64 px\)"),
    ("img1.png,1000,1000,alive", r"p.csv:3: point \(1000, 1000\) lies outside"),
])
def test_bad_points_name_their_line(tmp_path, row, message):
    _frames(tmp_path)
    (tmp_path / "p.csv").write_text("image,x,y,class\nimg0.png,10,10,alive\n" + row + "\nimg1.png,9,9,alive\n"
                                    "img0.png,30,30,apoptosis\nimg1.png,20,20,apoptosis\n")
    dm = PointAnnotationDataModule(str(tmp_path / "p.csv"), classes=["alive", "apoptosis"], crop_size=16)
    with pytest.raises(FerroscreenError, match=message):
        dm.build_sets()


def test_points_in_one_image_only_are_one_line(tmp_path):
    _frames(tmp_path, n=1)
    (tmp_path / "p.csv").write_text("image,x,y,class\nimg0.png,10,10,alive\nimg0.png,30,30,apoptosis\n")
    dm = PointAnnotationDataModule(str(tmp_path / "p.csv"), classes=["alive", "apoptosis"], crop_size=16)
    with pytest.raises(FerroscreenError, match="no validation images: the points lie in 1 image"):
        dm.build_sets()


# --- QuPath GeoJSON -------------------------------------------------------------------------------------------

def _feature(geometry, cls):
    props = {"objectType": "annotation"}
    if cls is not None:
        props["classification"] = cls
    return {"type": "Feature", "geometry": geometry, "properties": props}


def test_qupath_exports_as_qupath_writes_them(tmp_path):
    _frames(tmp_path, n=4)
    (tmp_path / "img1.png").rename(tmp_path / "well[A01].png")
    square = [[[10, 10], [20, 10], [20, 30], [10, 30], [10, 10]]]
    # the point tool: one annotation holding many points, with a UTF-8 byte-order mark
    (tmp_path / "img0.png.geojson").write_bytes(b"\xef\xbb\xbf" + json.dumps({"type": "FeatureCollection", "features": [
        _feature({"type": "MultiPoint", "coordinates": [[5, 6], [7, 8]]}, {"name": "alive", "color": [0, 0, 0]}),
        _feature({"type": "Point", "coordinates": [9, 9]}, None),
    ]}).encode())
    # a lone Feature; brackets in the image name; a class as a plain string
    (tmp_path / "well[A01].geojson").write_text(json.dumps(
        _feature({"type": "Polygon", "coordinates": square}, "apoptosis")))
    # derived classes as a list of names; a MultiPolygon's parts weighted by area
    (tmp_path / "img2.json").write_text(json.dumps([
        _feature({"type": "MultiPolygon", "coordinates": [square, [[[40, 40], [42, 40], [42, 42], [40, 42], [40, 40]]]]},
                 {"names": ["alive", "dim"]}),
    ]))
    notes = []
    ann = read_point_annotations(tmp_path, notes)
    by_image = {p.split("/")[-1]: g for p, g in ann.groupby("image")}
    assert by_image["img0.png"][["x", "y"]].to_numpy().tolist() == [[5, 6], [7, 8]]
    assert by_image["img0.png"]["class"].tolist() == ["alive", "alive"]
    assert by_image["well[A01].png"][["x", "y", "class"]].to_numpy().tolist() == [[15.0, 20.0, "apoptosis"]]
    x, y, cls = by_image["img2.png"][["x", "y", "class"]].to_numpy()[0]
    assert cls == "alive: dim" and x == pytest.approx((15 * 200 + 41 * 4) / 204)
    assert notes == [f"{tmp_path / 'img0.png.geojson'}: 1 object(s) without a class left out"]


def test_a_geojson_that_could_name_two_images_is_refused(tmp_path):
    _frames(tmp_path, n=1)
    cv2.imwrite(str(tmp_path / "img0.tif"), np.zeros((8, 8), np.uint8))
    (tmp_path / "img0.geojson").write_text(json.dumps([_feature({"type": "Point", "coordinates": [1, 1]}, "alive")]))
    with pytest.raises(FerroscreenError, match=r"img0.geojson: several images could be its image \(img0.png, img0.tif\)"):
        read_point_annotations(tmp_path)


def test_qupath_folder_without_classified_objects_says_so(tmp_path):
    _frames(tmp_path, n=1)
    (tmp_path / "img0.geojson").write_text(json.dumps([_feature({"type": "Point", "coordinates": [1, 1]}, None)]))
    dm = PointAnnotationDataModule(str(tmp_path), classes=["alive", "apoptosis"], crop_size=16)
    with pytest.raises(FerroscreenError, match="no classified points found"):
        dm.build_sets()


def test_a_stray_json_beside_the_exports_is_left_out_and_said(tmp_path):
    _frames(tmp_path, n=2)
    for i, cls in enumerate(["alive", "apoptosis"]):
        (tmp_path / f"img{i}.geojson").write_text(json.dumps([_feature({"type": "Point", "coordinates": [3, 4]}, cls)]))
    (tmp_path / "project.json").write_text(json.dumps({"version": "0.5.1"}))
    notes = []
    ann = read_point_annotations(tmp_path, notes)
    assert ann["class"].tolist() == ["alive", "apoptosis"]
    assert notes == [f"{tmp_path / 'project.json'}: not GeoJSON, left out"]


def test_detect_truth_reads_a_lone_feature_named_after_the_image_with_its_suffix(tmp_path):
    from ferroscreen.crops.truth_files import TruthSource

    _frames(tmp_path / "img", n=1)
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "img0.png.geojson").write_bytes(b"\xef\xbb\xbf" + json.dumps(
        _feature({"type": "MultiPoint", "coordinates": [[5, 6], [20, 30]]}, "cell")).encode())
    image = tmp_path / "img" / "img0.png"
    truth = TruthSource(tmp_path / "truth", [image]).get(image, (64, 64))
    assert truth[["x", "y"]].to_numpy().tolist() == [[5, 6], [20, 30]]
