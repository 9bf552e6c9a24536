"""--format/--channel/--z-plane given for a single image or a folder of images are refused, not ignored."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from ferroscreen.crops.detection_check import detection_inputs
from ferroscreen.errors import FerroscreenError
from ferroscreen.segment.run import collect_inputs


def _table(result):
    return result[0] if isinstance(result, tuple) else result  # collect_inputs gives (table, kind)


@pytest.fixture
def image(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    path = folder / "field1.tif"
    tifffile.imwrite(path, np.zeros((32, 32), np.uint16))
    return path


@pytest.mark.parametrize("collect", [collect_inputs, detection_inputs])
@pytest.mark.parametrize(("option", "kwargs"), [
    ("--format", {"fmt": "incucyte"}), ("--channel", {"channel": "DAPI"}), ("--z-plane", {"z_plane": 1}),
])
def test_single_image_refuses_acquisition_options(image, collect, option, kwargs):
    with pytest.raises(FerroscreenError, match=f"field1.tif: {option} .*; this is a single image file"):
        collect(image, **kwargs)
    assert len(_table(collect(image))) == 1


@pytest.mark.parametrize("collect", [collect_inputs, detection_inputs])
@pytest.mark.parametrize(("option", "kwargs"), [("--channel", {"channel": "DAPI"}), ("--z-plane", {"z_plane": 0})])
def test_folder_of_images_refuses_acquisition_options(image, collect, option, kwargs):
    with pytest.raises(FerroscreenError, match=f"images: {option} .*; this is a folder of images"):
        collect(image.parent, **kwargs)
    assert len(_table(collect(image.parent))) == 1
