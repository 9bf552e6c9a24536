"""`ferroscreen detect`: detections, overlays and accuracy against masks, points, COCO and QuPath truth."""

import json
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest
import tifffile
from typer.testing import CliRunner

from ferroscreen.cli import app
from ferroscreen.crops.synthetic import draw_cells, random_cells
from ferroscreen.crops.truth_files import _rle_counts

runner = CliRunner()
SHAPE = (160, 200)


def _rle_string(counts: list[int]) -> str:
    """COCO's compressed RLE of ``counts`` (the encoder pycocotools writes), to test the decoder against."""
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = not ((x == 0 and not ch & 0x10) or (x == -1 and ch & 0x10))
            out.append(chr(ch + (0x20 if more else 0) + 48))
    return "".join(out)


def _rle(mask: np.ndarray) -> dict:
    flat = mask.T.reshape(-1)  # column-major
    changes = np.flatnonzero(np.diff(np.r_[0, flat.astype(np.int8), 0])) if flat.any() else np.array([], int)
    bounds = np.r_[0, changes, flat.size]
    counts = np.diff(bounds).tolist()
    counts = [c for c in counts if c] if counts else [flat.size]
    if flat[0]:
        counts = [0, *counts]
    return {"size": list(mask.shape), "counts": _rle_string(counts)}


@pytest.fixture
def images(tmp_path):
    """Three synthetic phase frames (16-bit TIFF) with instance masks, and their cells."""
    folder, masks = tmp_path / "imgs", tmp_path / "masks"
    folder.mkdir()
    masks.mkdir()
    cells = {}
    for i in range(3):
        c = random_cells(SHAPE, 14, seed=i, margin=1.5)
        img = draw_cells(c, SHAPE, seed=i)
        tifffile.imwrite(folder / f"field{i}.tif", (img * 40000).astype(np.uint16))
        labels = np.zeros(SHAPE, np.uint16)
        yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
        for k, r in enumerate(c.itertuples(index=False), start=1):
            labels[(xx - r.x) ** 2 + (yy - r.y) ** 2 <= r.radius**2] = k
        cv2.imwrite(str(masks / f"field{i}_masks.png"), labels)
        cells[f"field{i}"] = (c, labels)
    return folder, masks, cells


def test_rle_decoder_reads_what_coco_writes():
    counts = [0, 5, 1030, 3, 7, 0 + 2, 400, 1, 65000]
    assert _rle_counts(_rle_string(counts)) == counts


def test_detect_with_masks_points_coco_and_geojson(images, tmp_path):
    folder, masks, cells = images
    res = runner.invoke(app, ["detect", str(folder), "--out", str(tmp_path / "m"), "--truth", str(masks), "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["n_images"] == 3 and s["n_with_truth"] == 3 and s["tp"] + s["fn"] == 42
    assert s["f1"] > 0.8  # the suspension preset on its own kind of synthetic cells
    per = pd.read_csv(tmp_path / "m" / "images.csv")
    assert list(per["image"]) == ["field0", "field1", "field2"] and (per["n_true"] == 14).all()
    det = pd.read_csv(tmp_path / "m" / "detections.csv")
    assert list(det.columns) == ["image", "x", "y", "radius", "score", "matched"]
    assert int(det["matched"].sum()) == s["tp"] and len(det) == s["n_detected"] == s["tp"] + s["fp"]
    assert sorted(p.name for p in (tmp_path / "m" / "overlays").iterdir()) == [f"field{i}.png" for i in range(3)]

    # the same truth as points (centre and radius), as COCO polygons / compressed RLE, as QuPath polygons
    pts = pd.concat([c.assign(image=f"{n}.tif")[["image", "x", "y", "radius"]] for n, (c, _) in cells.items()])
    pts.to_csv(tmp_path / "points.csv", index=False)
    coco = {"images": [], "annotations": []}
    gj_dir = tmp_path / "qupath"
    gj_dir.mkdir()
    for i, (name, (_, labels)) in enumerate(cells.items()):
        coco["images"].append({"id": i + 7, "file_name": f"some/where/{name}.tif", "height": SHAPE[0],
                               "width": SHAPE[1]})
        feats = []
        for k in range(1, labels.max() + 1):
            m = labels == k
            contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            ring = contours[0][:, 0, :].astype(float)
            seg = _rle(m) if k % 2 else [ring.reshape(-1).tolist()]
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": i + 7, "segmentation": seg,
                                        "iscrowd": 0, "bbox": [0, 0, 1, 1]})
            feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring.tolist()]},
                          "properties": {"objectType": "annotation"}})
        (gj_dir / f"{name}.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    for truth, out in ((tmp_path / "points.csv", "p"), (tmp_path / "coco.json", "c"), (gj_dir, "g")):
        res = runner.invoke(app, ["detect", str(folder), "--out", str(tmp_path / out), "--truth", str(truth),
                                  "--json", "--overlays", "0"])
        assert res.exit_code == 0, res.output
        got = json.loads(res.output)
        assert got["tp"] + got["fn"] == 42, truth
        assert abs(got["f1"] - s["f1"]) <= 0.03, (truth, got["f1"], s["f1"])
    assert not (tmp_path / "p" / "overlays").exists()

    # detect's own detections.csv (images named by stem), kept as points: every image finds its rows
    det[["image", "x", "y", "radius"]].to_csv(tmp_path / "kept.csv", index=False)
    res = runner.invoke(app, ["detect", str(folder), "--out", str(tmp_path / "k"), "--truth",
                              str(tmp_path / "kept.csv"), "--json", "--overlays", "0"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    assert got["n_with_truth"] == 3 and got["fn"] == 0 and got["fp"] == 0 and got["tp"] == s["n_detected"]


def test_detect_one_image_with_its_mask_and_an_acquisitions_phase_channel(images, tmp_path):
    folder, masks, _ = images
    res = runner.invoke(app, ["detect", str(folder / "field1.tif"), "--out", str(tmp_path / "one"),
                              "--truth", str(masks / "field1_masks.png")])
    assert res.exit_code == 0, res.output
    assert "1 image, " in res.output and "precision" in res.output and "(tp " in res.output
    acq = tmp_path / "acq"  # an IncuCyte export with a dye channel: detection runs on phase
    acq.mkdir()
    frame = tifffile.imread(folder / "field1.tif")
    tifffile.imwrite(acq / "VID5_phase_B3_1_00d04h00m.tif", frame)
    tifffile.imwrite(acq / "VID5_green_B3_1_00d04h00m.tif", np.zeros_like(frame))
    res = runner.invoke(app, ["detect", str(acq), "--out", str(tmp_path / "acq_out")])
    assert res.exit_code == 0, res.output
    det = pd.read_csv(tmp_path / "acq_out" / "detections.csv")
    assert list(det.columns[:5]) == ["image", "plate", "well", "field", "time_h"]
    assert set(det["image"]) == {"VID5_B03_f01_t4h"} and len(det) >= 10


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: p.write_text("image,x\nfield0.tif,3\n"), "missing column(s) y"),
        (lambda p: p.write_text("image,x,y\nfield0.tif,3,abc\n"), ":2: column 'y': 'abc' is not a number"),
        (lambda p: p.write_text("image,x,y\nother.tif,3,4\n"), "holds truth for none of the 3 input image(s)"),
    ],
)
def test_bad_truth_is_a_one_line_error(images, tmp_path, make, needle):
    folder, _, _ = images
    truth = tmp_path / "t.csv"
    make(truth)
    res = runner.invoke(app, ["detect", str(folder), "--out", str(tmp_path / "o"), "--truth", str(truth)])
    assert res.exit_code != 0 and needle in str(res.exception) and str(truth) in str(res.exception)


def test_unknown_preset_and_unreadable_image(images, tmp_path):
    folder, _, _ = images
    res = runner.invoke(app, ["detect", str(folder), "--out", str(tmp_path / "o"), "--detector", "nope"])
    assert res.exit_code != 0 and "unknown detector preset 'nope'" in str(res.exception)
    (folder / "broken.tif").write_bytes(b"II*\0garbage")
    res = runner.invoke(app, ["detect", str(folder), "--out", str(tmp_path / "o"), "--detector",
                              '{"preset": "suspension", "min_radius": 5}'])
    assert res.exit_code == 0 and "(1 unreadable, see images.csv)" in res.output
    per = pd.read_csv(tmp_path / "o" / "images.csv")
    assert per.loc[per["image"] == "broken", "error"].str.contains("broken.tif").all()


def test_malformed_annotations_name_the_file_and_image(tmp_path):
    from ferroscreen.crops.truth_files import TruthSource
    from ferroscreen.errors import FerroscreenError

    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros(SHAPE, np.uint8))
    coco = {"images": [{"id": 1, "file_name": "a.png", "height": SHAPE[0], "width": SHAPE[1]}],
            "annotations": [{"image_id": 1, "bbox": ["x", 2, 3, 4]}]}
    (tmp_path / "c.json").write_text(json.dumps(coco))
    gj = tmp_path / "gj"
    gj.mkdir()
    (gj / "a.geojson").write_text(json.dumps({"features": [{"geometry": {"type": "Point", "coordinates": "oops"}}]}))
    for truth in (tmp_path / "c.json", gj):
        with pytest.raises(FerroscreenError, match=r"malformed annotation for a\.png"):
            TruthSource(truth, [image]).get(image, SHAPE)


@pytest.mark.parametrize(("settings", "message"), [
    ({"preset": "suspension", "min_radius": "abc"}, "detector settings: setting 'min_radius': 'abc' is not a number"),
    ({"bogus": 1}, "detector settings: unknown setting(s) bogus (known: mode, method"),
    ({"min_radius": 9, "max_radius": 3}, "needs 0 < min_radius <= max_radius"),
])
def test_bad_detector_file_names_the_file(tmp_path, settings, message):
    from ferroscreen.errors import FerroscreenError

    (tmp_path / "det.json").write_text(json.dumps(settings))
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros(SHAPE, np.uint8))
    res = runner.invoke(app, ["detect", str(tmp_path / "a.png"), "--detector", str(tmp_path / "det.json"),
                              "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, FerroscreenError) and str(res.exception).startswith(f"{tmp_path / 'det.json'}: ")
    assert message in str(res.exception) and not (tmp_path / "o").exists()


def test_images_of_one_stem_keep_their_own_rows_and_a_folder_of_sub_folders_is_said(images, tmp_path):
    folder, _, _ = images
    same = tmp_path / "same"
    same.mkdir()
    shutil.copy(folder / "field0.tif", same / "a.tif")
    cv2.imwrite(str(same / "a.png"), (tifffile.imread(folder / "field1.tif") // 256).astype(np.uint8))
    res = runner.invoke(app, ["detect", str(same), "--out", str(tmp_path / "o"), "--json"])
    assert res.exit_code == 0, res.output
    per = pd.read_csv(tmp_path / "o" / "images.csv")
    assert sorted(per["image"]) == ["a.png", "a.tif"]
    assert sorted(p.name for p in (tmp_path / "o" / "overlays").iterdir()) == ["a.png.png", "a.tif.png"]
    nested = tmp_path / "nested"
    (nested / "day1").mkdir(parents=True)
    shutil.copy(folder / "field0.tif", nested / "day1" / "f.tif")
    res = runner.invoke(app, ["detect", str(nested), "--out", str(tmp_path / "n")])
    assert res.exit_code != 0 and "1 image(s) in sub-folders of" in str(res.exception)
