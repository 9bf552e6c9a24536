"""ImageXpress plates of one input folder: each plate's own .HTD names, single-site names, channel choice per plate."""

from pathlib import Path

import numpy as np
import pytest
import tifffile

from ferroscreen.errors import AcquisitionError
from ferroscreen.io import detect_format, open_acquisition
from ferroscreen.io.channels import choose_channel
from ferroscreen.io.detect import well_pattern_hint


def tif(path: Path, value: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.full((6, 8), value, np.uint16))
    return path


def htd(path: Path, *names: str) -> None:
    waves = "".join(f'"WaveName{i}", "{n}"\n' for i, n in enumerate(names, start=1))
    path.write_text(f'"HTSInfoFile", Version 1.0\n"NWavelengths", {len(names)}\n{waves}"EndFile"\n')


def plate(folder: Path, name: str, wells=("B03", "B04"), sites=(1, 2), waves=(1, 2)) -> None:
    for well in wells:
        for s in sites:
            for w in waves:
                tif(folder / "TimePoint_1" / f"{name}_{well}_s{s}_w{w}.TIF", value=w)


def channels_by_plate(acq) -> dict[str, set[str]]:
    f = acq.frames
    return {p: set(f[f["plate"] == p]["channel"]) for p in f["plate"].unique()}


def test_htd_names_only_its_own_plate(tmp_path):
    plate(tmp_path / "PA", "PA")
    htd(tmp_path / "PA" / "PA.HTD", "FITC", "DAPI")
    plate(tmp_path / "PB", "LIB01_rep2")  # no .HTD: Hoechst is w1 here
    acq = open_acquisition(tmp_path)
    assert acq.format == "imagexpress"
    assert channels_by_plate(acq) == {"PA": {"FITC", "DAPI"}, "LIB01_rep2": {"w1", "w2"}}
    f = acq.frames
    dapi = f[(f["plate"] == "PA") & (f["channel"] == "DAPI")]
    assert all(p.endswith("_w2.TIF") for p in dapi["path"])


def test_htds_in_other_orders_each_name_their_plate(tmp_path):
    plate(tmp_path / "P1", "P1")
    htd(tmp_path / "P1" / "P1.HTD", "DAPI", "FITC")
    plate(tmp_path / "P2", "P2")
    htd(tmp_path / "P2" / "P2.HTD", "FITC", "DAPI")
    acq = open_acquisition(tmp_path)
    f = acq.frames
    assert channels_by_plate(acq) == {"P1": {"DAPI", "FITC"}, "P2": {"DAPI", "FITC"}}
    for name, wl in (("P1", "_w1.TIF"), ("P2", "_w2.TIF")):
        dapi = f[(f["plate"] == name) & (f["channel"] == "DAPI")]
        assert len(dapi) == 4 and all(p.endswith(wl) for p in dapi["path"])


def test_htd_named_after_its_plate_among_several(tmp_path):
    plate(tmp_path, "P1")
    htd(tmp_path / "P1.HTD", "Hoechst", "Phase")
    htd(tmp_path / "other.HTD", "Cy5", "GFP")  # another plate's, in the same folder
    assert channels_by_plate(open_acquisition(tmp_path)) == {"P1": {"Hoechst", "Phase"}}


def test_nuclear_channel_must_hold_for_every_plate(tmp_path):
    plate(tmp_path / "PA", "PA")
    htd(tmp_path / "PA" / "PA.HTD", "FITC", "DAPI")
    plate(tmp_path / "PB", "LIB01_rep2")
    f = open_acquisition(tmp_path).frames
    with pytest.raises(AcquisitionError) as err:
        choose_channel(f["channel"], None, "nuclear", "screen", plates=f["plate"])
    message = str(err.value)
    assert "\n" not in message and "plate LIB01_rep2 has no channel 'DAPI'" in message
    assert "w1, w2" in message and "own input" in message
    with pytest.raises(AcquisitionError, match="plate PA has no channel 'w1'"):
        choose_channel(f["channel"], "w1", "nuclear", "screen", plates=f["plate"])
    pa = f[f["plate"] == "PA"]  # one plate: as before
    assert choose_channel(pa["channel"], None, "nuclear", "PA", plates=pa["plate"])[0] == "DAPI"


def test_plates_with_the_same_channels_pass():
    channels = ["DAPI", "FITC", "DAPI", "FITC", "DAPI"]
    plates = ["P1", "P1", "P2", "P2", "P3"]  # P3 lacks FITC: not the channel read
    assert choose_channel(channels, None, "nuclear", "s", plates=plates)[0] == "DAPI"


def test_single_site_names_read_as_imagexpress(tmp_path):
    folder = tmp_path / "P5"  # a plate folder named like a well
    for well in ("B03", "B04", "C03"):
        for w in (1, 2):
            tif(folder / f"P5_{well}_w{w}.TIF", value=w)
    assert detect_format(folder) == "imagexpress"
    acq = open_acquisition(folder)
    assert acq.wells == ["B03", "B04", "C03"] and set(acq.frames["field"]) == {1}
    assert set(acq.frames["channel"]) == {"w1", "w2"} and len(acq.frames) == 6
    assert detect_format(tmp_path) == "imagexpress"  # a folder above


@pytest.mark.parametrize(
    "names",
    [
        ["P5_B03_w1.TIF", "P5_B03_w2.TIF"],  # one well
        ["P5_B03_w1.TIF", "Q7_B04_w1.TIF"],  # no one plate prefix
    ],
)
def test_single_site_names_need_one_plate_and_several_wells(tmp_path, names):
    for name in names:
        tif(tmp_path / name)
    with pytest.raises(AcquisitionError, match="no known acquisition layout"):
        detect_format(tmp_path)


def test_pattern_hint_skips_a_plate_named_like_a_well():
    files = [Path(f"P5_{w}_ch{c}.png") for w in ("B03", "B04", "C03") for c in (1, 2)]
    hint = well_pattern_hint(files)
    assert hint is not None and "well B03" in hint and "(?P<plate>.+)_(?P<well>" in hint
    assert "it matches 6 of the 6" in hint
