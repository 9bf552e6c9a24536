"""SimulationConfig refuses values of the wrong type up front, in one line, and takes a string of wells."""

from __future__ import annotations

import numpy as np
import pytest

from ferroscreen.simulate import SimulationConfig
from ferroscreen.simulate.config import SimulationConfigError


@pytest.mark.parametrize(("kwargs", "said"), [
    ({"fields": 1.5}, "simulate: --fields must be a whole number, got 1.5"),
    ({"seed": 1.5}, "simulate: --seed must be a whole number, got 1.5"),
    ({"image_size": 256}, "simulate: --image-size must be (width, height), two whole numbers of pixels, got 256"),
    ({"image_size": (256,)}, "simulate: --image-size must be (width, height), two whole numbers of pixels, "
                             "got (256,)"),
    ({"hours": "48"}, "simulate: --hours must be a number, got '48'"),
    ({"wells": ("A01", 3)}, "simulate: wells must be well ids (a tuple of strings, or one string 'A01,B02'), "
                            "got ('A01', 3)"),
    ({"wells": " , "}, "simulate: wells names no well (got ' , '); None simulates the whole plate"),
])
def test_values_of_the_wrong_type_are_one_line_errors(kwargs, said):
    with pytest.raises(SimulationConfigError) as err:
        SimulationConfig(**kwargs)
    assert str(err.value) == said


def test_a_string_of_wells_is_one_well_or_a_comma_list():
    assert SimulationConfig(wells="A01").wells == ("A01",)
    assert SimulationConfig(wells="A01, B02").wells == ("A01", "B02")
    assert SimulationConfig(wells=["C05"]).wells == ("C05",)


def test_numpy_numbers_are_taken_as_python_ones():
    config = SimulationConfig(seed=np.int64(3), fields=np.int32(1), hours=np.float32(8.0), image_size=[64, 64])
    assert config.seed == 3 and type(config.seed) is int and type(config.fields) is int
    assert type(config.hours) is float and config.image_size == (64, 64)
    assert config.to_dict()["seed"] == 3
