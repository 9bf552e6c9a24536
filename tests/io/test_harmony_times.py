"""Harmony times: AbsTime and MeasurementTimeOffset read apart; without either, (TimepointID - 1) x --interval-h."""

from datetime import datetime, timedelta

from typer.testing import CliRunner

from ferroscreen.io import open_acquisition

from .test_readers import HARMONY, tif

T0 = datetime.fromisoformat("2024-03-12T10:15:22.407+01:00")


def image(url, r, t, offset_s=None, abs_time=None):
    times = (f"<MeasurementTimeOffset Unit=\"s\">{offset_s:.2f}</MeasurementTimeOffset>" if offset_s is not None
             else "") + (f"<AbsTime>{abs_time.isoformat(timespec='milliseconds')}</AbsTime>" if abs_time else "")
    return (f"<Image Version=\"1\"><id>x</id><URL>{url}</URL><Row>{r}</Row><Col>2</Col><FieldID>1</FieldID>"
            f"<PlaneID>1</PlaneID><TimepointID>{t}</TimepointID><ChannelID>1</ChannelID>"
            f"<ChannelName>Brightfield</ChannelName>{times}</Image>")


def export(root, drop_offset=(), drop_abs=(), every_h=4.0):
    """A Phenix export of wells B02, C02 at timepoints 1-3 (sk1-3), each image stamped 35 s after the well before."""
    images = []
    for t in (1, 2, 3):
        for k, r in enumerate((2, 3)):
            url = f"r{r:02d}c02f01p01-ch1sk{t}fk1fl1.tiff"
            tif(root / "Images" / url)
            s = every_h * 3600 * (t - 1) + 35 * k
            images.append(image(url, r, t, None if url in drop_offset else s,
                                None if url in drop_abs else T0 + timedelta(seconds=s)))
    (root / "Images" / "Index.idx.xml").write_text(HARMONY.format(images="".join(images)))


def test_an_image_without_a_time_offset_leaves_the_times(tmp_path):
    export(tmp_path, drop_offset=("r03c02f01p01-ch1sk2fk1fl1.tiff",))
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == [0, 4, 8]  # was 1, 2, 3: the TimepointID as hours
    assert not acq.notes


def test_images_missing_either_time_take_their_timepoints_from_the_others(tmp_path):
    export(tmp_path, drop_offset=("r02c02f01p01-ch1sk2fk1fl1.tiff",), drop_abs=("r03c02f01p01-ch1sk3fk1fl1.tiff",))
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == [0, 4, 8]
    assert acq.notes == ["1 of 6 images without a usable AbsTime (first: r03c02f01p01-ch1sk3fk1fl1.tiff); "
                         "each timepoint timed by its earliest other image"]


def test_an_index_without_times_is_spaced_by_the_interval_from_0_h(tmp_path):
    urls = [f"r{r:02d}c02f01p01-ch1sk{t}fk1fl1.tiff" for t in (1, 2, 3) for r in (2, 3)]
    export(tmp_path, drop_offset=urls, drop_abs=urls)
    acq = open_acquisition(tmp_path, interval_h=6)
    assert acq.timepoints_h == [0, 6, 12]  # was 1, 2, 3 (--interval-h not taken)
    assert acq.notes == ["no image times in the index: time_h = (TimepointID - 1) x 6 h (--interval-h)"]


def test_a_timepoint_without_any_time_falls_back_saying_which(tmp_path):
    sk2 = [f"r{r:02d}c02f01p01-ch1sk2fk1fl1.tiff" for r in (2, 3)]
    export(tmp_path, drop_offset=sk2, drop_abs=sk2)
    acq = open_acquisition(tmp_path, interval_h=4)
    assert acq.timepoints_h == [0, 4, 8]
    assert acq.notes == ["image times do not cover every timepoint (no AbsTime for timepoint(s) 2; "
                         "no MeasurementTimeOffset for timepoint(s) 2): time_h = (TimepointID - 1) x 4 h (--interval-h)"]


def test_inspect_passes_the_interval_to_harmony(tmp_path):
    import json

    from ferroscreen.cli import app

    urls = [f"r{r:02d}c02f01p01-ch1sk{t}fk1fl1.tiff" for t in (1, 2, 3) for r in (2, 3)]
    export(tmp_path, drop_offset=urls, drop_abs=urls)
    res = CliRunner().invoke(app, ["inspect", str(tmp_path), "--interval-h", "6", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["timepoints_h"] == [0.0, 6.0, 12.0]
