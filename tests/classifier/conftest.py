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
