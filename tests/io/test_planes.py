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


def test_notes_name_the_setting_that_picks_another():
    """Training has no --z-plane/--channel: its notes name data.init_args.z_plane/channel (helper-46)."""
    from ferroscreen.io.channels import choose_channel

    _, note = choose_plane([0, 1], None, "acq", option="--data.init_args.z_plane")
    assert note.endswith("; --data.init_args.z_plane picks another")
    _, note = choose_channel(["phase", "green"], None, "label-free", "acq", option="--data.init_args.channel")
    assert note.endswith("; --data.init_args.channel picks another")


def test_absent_plane_is_a_one_line_error_naming_the_source():
    with pytest.raises(AcquisitionError, match=r"^plate7: no z plane 5 \(planes 0, 1, numbered from 0\)$"):
        choose_plane([0, 1], 5, "plate7")


def test_z_plane_values_parse_to_a_plane_or_a_projection():
    from ferroscreen.io.planes import parse_z_plane

    assert [parse_z_plane(v) for v in (None, 2, "3", " MAX ", "best")] == [None, 2, 3, "max", "best"]
    for bad in ("sharpest", "-1", "1.5", -2):
        with pytest.raises(ValueError, match="--z-plane"):
            parse_z_plane(bad)


def _sharp_and_blurred():
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    sharp = np.zeros((96, 96), np.uint16)
    for y, x in rng.integers(10, 86, (25, 2)):
        cv2.circle(sharp, (int(x), int(y)), 4, 3000, -1)
    blurred = cv2.GaussianBlur(sharp.astype(np.float32), (0, 0), 4).round().astype(np.uint16)
    return sharp, blurred


def test_focus_score_ranks_the_focused_plane_first_and_best_takes_it():
    from ferroscreen.io.planes import focus_score, project_planes

    sharp, blurred = _sharp_and_blurred()
    assert focus_score(sharp) > 10 * focus_score(blurred)
    image, k = project_planes([blurred, sharp, blurred], "best")
    assert k == 1 and image is sharp


def test_max_projection_keeps_the_dtype_and_takes_every_pixels_maximum():
    import numpy as np

    from ferroscreen.io.planes import project_planes

    sharp, blurred = _sharp_and_blurred()
    image, k = project_planes([blurred, sharp], "max")
    assert k is None and image.dtype == np.uint16
    assert np.array_equal(image, np.maximum(sharp, blurred))


def test_planes_of_other_sizes_or_an_unknown_projection_are_errors():
    import numpy as np

    from ferroscreen.io.planes import project_planes

    with pytest.raises(ValueError, match="different sizes"):
        project_planes([np.zeros((4, 4)), np.zeros((4, 5))], "max")
    with pytest.raises(ValueError, match="unknown projection"):
        project_planes([np.zeros((4, 4))], "mean")
    with pytest.raises(ValueError, match="no planes"):
        project_planes([], "best")
