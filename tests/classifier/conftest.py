"""Fixtures of the classifier tests."""

import pytest

WELLS = "A01,B01,A02,B02,A03,B03,E02,F02"


@pytest.fixture(scope="session")
def tiny_plate(tmp_path_factory):
    """A simulated 8-well plate, 128 px frames, scans at 0, 12 and 24 h (reference and vehicle wells)."""
    from ferroscreen.simulate import SimulationConfig, load_library, simulate_plate

    out = tmp_path_factory.mktemp("plate")
    simulate_plate(
        out, load_library("demo"),
        SimulationConfig(plate_format=96, fields=1, hours=24, interval_h=12, image_size=(128, 128), seed=3,
                         wells=tuple(WELLS.split(",")), workers=1),
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def crop_folder(tmp_path_factory):
    """An ImageFolder of 40 px noise crops, 6 per class, and a file that is no crop (left out, and said)."""
    import cv2
    import numpy as np

    root = tmp_path_factory.mktemp("crops")
    rng = np.random.default_rng(0)
    for cls in ("alive", "apoptosis", "ferroptosis", "necroptosis"):
        (root / cls).mkdir()
        for i in range(6):
            img = (rng.random((40, 40)) * 255).astype(np.uint8)
            cv2.imwrite(str(root / cls / f"{i}.png"), img)
    (root / "alive" / "readme.txt").write_text("not a crop")  # left out, and said
    return root
