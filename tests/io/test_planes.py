"""Which z plane a job reads (io.planes.choose_plane)."""

import pytest

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.planes import choose_plane


def test_asked_for_plane_is_read_without_a_note():
    assert choose_plane([0, 1, 2, 1], 2, "acq") == (2, None)


def test_single_plane_needs_no_choice():
    assert choose_plane([3, 3], None, "acq", trained=0) == (3, None)


def test_trained_plane_before_the_lowest():
    z, note = choose_plane([0, 1, 2], None, "acq", trained=1)
    assert z == 1 and note == "z plane 1 (the model was trained on it) of planes 0, 1, 2"


def test_lowest_when_the_trained_plane_is_not_in_the_stack():
    z, note = choose_plane([4, 2, 3], None, "acq", trained=0)
    assert z == 2 and "(the lowest) of planes 2, 3, 4; --z-plane picks another" in note


def test_absent_plane_is_a_one_line_error_naming_the_source():
    with pytest.raises(AcquisitionError, match=r"^plate7: no z plane 5 \(planes 0, 1, numbered from 0\)$"):
        choose_plane([0, 1], 5, "plate7")
