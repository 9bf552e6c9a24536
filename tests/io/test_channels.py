"""Channel choice: the label-free channel for the classifier, the nuclear stain for the segmenter."""

import pytest

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.channels import choose_channel


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        (["green", "phase"], "phase"),  # IncuCyte phase + Cytotox Green: 'green' sorts first
        (["Alexa 488", "Brightfield", "HOECHST 33342"], "Brightfield"),  # Harmony
        (["Bright Field", "GFP"], "Bright Field"),  # Cytation
        (["DPC", "mCherry"], "DPC"),
        (["TL-Brightfield", "Cy5"], "TL-Brightfield"),
        (["BF", "RFP"], "BF"),
    ],
)
def test_label_free_channel_is_found_by_name(channels, expected):
    got, note = choose_channel(channels, None, "label-free", "plate")
    assert got == expected and expected in note and "--channel" in note


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        (["Alexa 488", "HOECHST 33342"], "HOECHST 33342"),
        (["DAPI", "FITC", "Cy5"], "DAPI"),
        (["DRAQ5", "Brightfield"], "DRAQ5"),
        (["NucView 488", "Hoechst"], "Hoechst"),  # NucView is a caspase dye
    ],
)
def test_nuclear_channel_is_found_by_name(channels, expected):
    assert choose_channel(channels, None, "nuclear", "plate")[0] == expected


def test_asked_only_and_trained_channels_need_no_name():
    assert choose_channel(["w1", "w2"], "w2", "label-free", "p") == ("w2", None)
    assert choose_channel(["Phase", "green"], "phase", "label-free", "p") == ("Phase", None)  # case-insensitive
    assert choose_channel(["d0"], None, "nuclear", "p") == ("d0", None)
    got, note = choose_channel(["w1", "w2"], None, "label-free", "p", trained="w2")
    assert got == "w2" and "trained on" in note
    assert choose_channel(["green", "phase"], None, "label-free", "p", trained="C1")[0] == "phase"


@pytest.mark.parametrize(
    ("channels", "asked", "kind", "message"),
    [
        (["w1", "w2"], None, "label-free", "2 channels (w1, w2) and none is recognisably the brightfield/phase"),
        (["d0", "d1"], None, "nuclear", "none is recognisably the nuclear stain; pick it with --channel"),
        (["phase", "Brightfield", "red"], None, "label-free", "more than one is recognisably"),
        (["phase", "red"], "green", "label-free", "no channel 'green' (found phase, red)"),
    ],
)
def test_ambiguous_or_absent_channel_is_an_error(channels, asked, kind, message):
    with pytest.raises(AcquisitionError, match="^plate: ") as err:
        choose_channel(channels, asked, kind, "plate")
    assert message in str(err.value)
