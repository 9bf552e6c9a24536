"""Harmony exports as they are handed over: a channel renamed mid-run, the export folder one level down."""

import pytest
from typer.testing import CliRunner

from ferroscreen.errors import AcquisitionError
from ferroscreen.io import open_acquisition
from ferroscreen.io.detect import detect_format

from .test_readers import tif

INDEX = """<?xml version="1.0" encoding="utf-8"?>
<EvaluationInputData xmlns="http://www.perkinelmer.com/PEHH/HarmonyV5" Version="1">
 <Plates><Plate><PlateID>{plate}</PlateID></Plate></Plates>
 <Images>{images}</Images>
</EvaluationInputData>"""


def export(folder, plate="SPH01", renamed_from=None):
    """Wells B02, C02 at timepoints 1-3 (4 h apart), channels 1 Brightfield and 2 Alexa 568.

    From timepoint ``renamed_from`` on channel 1 is named ``Brightfield 2`` (its ChannelID the same).
    """
    images = []
    for t in (1, 2, 3):
        for r in (2, 3):
            for cid, name in ((1, "Brightfield"), (2, "Alexa 568")):
                if cid == 1 and renamed_from is not None and t >= renamed_from:
                    name = "Brightfield 2"
                url = f"r{r:02d}c02f01p01-ch{cid}sk{t}fk1fl1.tiff"
                tif(folder / "Images" / url)
                images.append(f"<Image Version=\"1\"><id>x</id><URL>{url}</URL><Row>{r}</Row><Col>2</Col>"
                              f"<FieldID>1</FieldID><PlaneID>1</PlaneID><TimepointID>{t}</TimepointID>"
                              f"<ChannelID>{cid}</ChannelID><ChannelName>{name}</ChannelName>"
                              f"<MeasurementTimeOffset>{(t - 1) * 4 * 3600 + 30 * r}</MeasurementTimeOffset></Image>")
    (folder / "Images" / "Index.idx.xml").write_text(INDEX.format(plate=plate, images="".join(images)))
    return folder


def test_a_channel_renamed_mid_run_stays_one_channel(tmp_path):
    acq = open_acquisition(export(tmp_path, renamed_from=3))
    assert sorted(set(acq.frames["channel"])) == ["Alexa 568", "Brightfield"]  # was 3 channels, each part of the run
    bright = acq.frames[acq.frames["channel"] == "Brightfield"]
    assert sorted(set(bright["time_h"])) == [0, 4, 8] and len(bright) == 6
    assert acq.notes == ["ChannelID 1 is named 'Brightfield' from timepoint 1, 'Brightfield 2' from timepoint 3: "
                         "read as one channel 'Brightfield'"]


def test_an_export_one_level_down_is_found(tmp_path):
    export(tmp_path / "SPH01__2026-01-12T10_00_00-Measurement 1")
    assert detect_format(tmp_path) == "harmony"  # was: no known acquisition layout found
    acq = open_acquisition(tmp_path)
    assert acq.format == "harmony" and set(acq.frames["plate"]) == {"SPH01"}
    assert acq.timepoints_h == [0, 4, 8] and len(acq.frames) == 12


def test_two_measurements_of_one_plate_one_level_down_are_named(tmp_path):
    export(tmp_path / "SPH01__2026-01-12T10_00_00-Measurement 1")
    export(tmp_path / "SPH01__2026-01-14T10_00_00-Measurement 2")
    with pytest.raises(AcquisitionError) as err:
        open_acquisition(tmp_path)
    assert str(err.value) == (f"{tmp_path}: two Harmony measurements of plate SPH01: "
                              "'SPH01__2026-01-12T10_00_00-Measurement 1' and 'SPH01__2026-01-14T10_00_00-Measurement "
                              "2'; give the folder of one of them")


def test_measurements_of_two_plates_one_level_down_are_read_as_two_plates(tmp_path):
    export(tmp_path / "SPH01__2026-01-12T10_00_00-Measurement 1")
    export(tmp_path / "SPH02__2026-01-12T12_00_00-Measurement 1", plate="SPH02", renamed_from=2)
    acq = open_acquisition(tmp_path)
    assert sorted(set(acq.frames["plate"])) == ["SPH01", "SPH02"] and len(acq.frames) == 24
    assert sorted(set(acq.frames["channel"])) == ["Alexa 568", "Brightfield"]
    assert acq.notes == ["plate SPH02: ChannelID 1 is named 'Brightfield' from timepoint 1, 'Brightfield 2' from "
                         "timepoint 2: read as one channel 'Brightfield'"]


def test_inspect_finds_the_export_one_level_down(tmp_path):
    from ferroscreen.cli import app

    export(tmp_path / "SPH01__2026-01-12T10_00_00-Measurement 1")
    result = CliRunner().invoke(app, ["inspect", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "acquisition (harmony)" in result.output and "plates: SPH01" in result.output
