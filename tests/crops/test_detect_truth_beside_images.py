"""`ferroscreen detect` on a folder that holds its masks too (Cellpose's img.png + img_masks.png)."""

import cv2
import numpy as np
import pandas as pd
import tifffile
from typer.testing import CliRunner

from ferroscreen.cli import app
from ferroscreen.crops.synthetic import draw_cells, random_cells

SHAPE = (160, 200)


def _images_with_masks_beside(folder, n=2, mask_name="{stem}_masks.png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        c = random_cells(SHAPE, 14, seed=i, margin=1.5)
        tifffile.imwrite(folder / f"field{i}.tif", (draw_cells(c, SHAPE, seed=i) * 40000).astype(np.uint16))
        labels = np.zeros(SHAPE, np.uint16)
        yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
        for k, r in enumerate(c.itertuples(index=False), start=1):
            labels[(xx - r.x) ** 2 + (yy - r.y) ** 2 <= r.radius**2] = k
        cv2.imwrite(str(folder / mask_name.format(stem=f"field{i}")), labels)


def test_masks_beside_their_images_are_truth_not_inputs(tmp_path):
    """--truth the input folder: the masks were detected in as images too (4 images, bogus detections)."""
    folder = tmp_path / "imgs"
    _images_with_masks_beside(folder)
    res = CliRunner().invoke(app, ["detect", str(folder), "--truth", str(folder), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "2 images, " in res.output and "(2 images with truth)" in res.output
    assert "2 truth file(s) among the input images left out as truth, not images: field0_masks, field1_masks" \
        in res.output
    assert set(pd.read_csv(tmp_path / "out" / "images.csv")["image"]) == {"field0", "field1"}
    assert set(pd.read_csv(tmp_path / "out" / "detections.csv")["image"]) <= {"field0", "field1"}


def test_the_mask_of_a_folders_one_image_is_its_truth(tmp_path):
    """Usiigaci's set folders (raw.png + instances_ids.png): --truth the mask was refused as 'expected a mask'."""
    folder = tmp_path / "set2"
    _images_with_masks_beside(folder, n=1, mask_name="instances_ids.png")
    res = CliRunner().invoke(app, ["detect", str(folder), "--truth", str(folder / "instances_ids.png"),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "1 image, " in res.output and "precision" in res.output
    assert set(pd.read_csv(tmp_path / "out" / "images.csv")["image"]) == {"field0"}


def test_truth_points_outside_their_image_are_said(tmp_path):
    """Points of a truth file for other images (x/y swapped, another size) were counted as misses silently."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    c = random_cells(SHAPE, 10, seed=3, margin=1.5)
    tifffile.imwrite(folder / "field0.tif", (draw_cells(c, SHAPE, seed=3) * 40000).astype(np.uint16))
    points = tmp_path / "points.csv"
    pd.DataFrame({"image": "field0.tif", "x": [*c["x"], -5.0], "y": [*c["y"], 10000.0]}).to_csv(points, index=False)
    res = CliRunner().invoke(app, ["detect", str(folder), "--truth", str(points), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "truth points outside their image in 1 image(s), field0 (1): counted as missed cells" in res.output
