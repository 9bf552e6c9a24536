"""Yokogawa CellVoyager / CQ1 measurement folders."""

import re

import numpy as np
import pandas as pd
import pytest
import tifffile

from ferroscreen.errors import AcquisitionError
from ferroscreen.io import detect_format, open_acquisition


def _frames(src, wells=("B03", "C12"), fields=(1, 2), channels=("BF", "Hoechst"), times=(0.0, 2.0, 4.0), z=(0,)):
    """Tiny TIFFs (value encodes well, field, channel, time) and their frame table."""
    src.mkdir(parents=True, exist_ok=True)
    rows = []
    for w in wells:
        for f in fields:
            for c in channels:
                for t in times:
                    for zz in z:
                        value = 1000 * wells.index(w) + 100 * f + 10 * channels.index(c) + int(t) + zz
                        p = src / f"{w}_{f}_{c}_{t}_{zz}.tif"
                        tifffile.imwrite(p, np.full((6, 8), value, np.uint16))
                        rows.append({"well": w, "field": f, "channel": c, "time_h": t, "z": zz, "path": str(p),
                                     "value": value})
    return pd.DataFrame(rows)


def _mlf(folder):
    return (folder / "MeasurementData.mlf").read_text(encoding="utf-8")


def test_timelapse_measurement(tmp_path, cellvoyager_writer):
    truth = _frames(tmp_path / "src")
    meas = cellvoyager_writer(truth, tmp_path / "CQ1_20260302_plateA", targets={"BF": "Brightfield", "Hoechst": "DAPI"})
    assert detect_format(meas) == "cellvoyager" and detect_format(tmp_path) == "cellvoyager"
    acq = open_acquisition(meas)
    f = acq.frames
    assert acq.format == "cellvoyager" and not acq.skipped and not acq.notes
    assert acq.wells == ["B03", "C12"] and set(f["plate"]) == {"CQ1_20260302_plateA"}
    assert set(f["channel"]) == {"Brightfield", "DAPI"} and set(f["field"]) == {1, 2} and set(f["z"]) == {0}
    assert acq.timepoints_h == [0.0, 2.0, 4.0] and len(f) == len(truth)
    for r in truth.itertuples(index=False):
        ch = {"BF": "Brightfield", "Hoechst": "DAPI"}[r.channel]
        row = f[(f["well"] == r.well) & (f["field"] == r.field) & (f["channel"] == ch) & (f["time_h"] == r.time_h)]
        assert len(row) == 1 and acq.load(row.iloc[0]).max() == r.value
    assert list(f.columns[:7]) == ["plate", "well", "field", "channel", "time_h", "z", "path"]


def test_scan_time_is_each_time_points_first_image_across_zones(tmp_path, cellvoyager_writer):
    """Records of one time point spread over the scan (minutes) share its start; zones are honoured."""
    truth = _frames(tmp_path / "src", channels=("BF",), fields=(1,))
    meas = cellvoyager_writer(truth, tmp_path / "m")
    text = _mlf(meas)
    # well C12 of each time point imaged 7 min after B03; the instrument wrote UTC for time point 3
    text, n = re.subn(r'bts:Time="([^"]+)T(\d\d):00:00\.000\+01:00"( bts:Column="12")',
                      lambda m: f'bts:Time="{m[1]}T{m[2]}:07:00.000+01:00"{m[3]}', text)
    assert n == 3 and 'bts:Time="2026-03-02T13:00:00.000+01:00"' in text
    text = text.replace('bts:Time="2026-03-02T13:00:00.000+01:00"', 'bts:Time="2026-03-02T12:00:00.000Z"')
    (meas / "MeasurementData.mlf").write_text(text, encoding="utf-8")
    acq = open_acquisition(meas)
    assert acq.timepoints_h == [0.0, 2.0, 4.0]


def test_error_records_missing_files_png_copies_projections_and_z(tmp_path, cellvoyager_writer):
    truth = _frames(tmp_path / "src", wells=("B03",), fields=(1,), channels=("Hoechst",), times=(0.0, 1.0), z=(0, 1))
    meas = cellvoyager_writer(truth, tmp_path / "m")
    name = "AssayPlate_Greiner_#655090_B03_T0002F001L01A01Z02C01"
    (meas / f"{name}.tif").rename(meas / f"{name}.png")  # exported as PNG: the .mlf still says .tif
    (meas / "AssayPlate_Greiner_#655090_B03_T0001F001L01A01Z01C01.tif").unlink()
    text = _mlf(meas).replace(
        "</bts:MeasurementData>",
        '  <bts:MeasurementRecord bts:Time="2026-03-02T10:00:05.000+01:00" bts:Column="3" bts:Row="2" '
        'bts:TimePoint="2" bts:TimelineIndex="1" bts:X="0" bts:Y="0" bts:Type="ERR">AF failed</bts:MeasurementRecord>\n'
        '  <bts:MeasurementRecord bts:Time="2026-03-02T10:00:09.000+01:00" bts:Column="3" bts:Row="2" '
        'bts:FieldIndex="1" bts:TimePoint="2" bts:TimelineIndex="1" bts:X="0" bts:Y="0" bts:Type="IMG" '
        'bts:ZIndex="0" bts:ZImageProcessing="MIP" bts:ActionIndex="1" bts:Action="3D" bts:Z="0" bts:Ch="1">'
        f"{name}.tif</bts:MeasurementRecord>\n</bts:MeasurementData>")
    (meas / "MeasurementData.mlf").write_text(text, encoding="utf-8")
    acq = open_acquisition(meas)
    f = acq.frames
    assert set(f["channel"]) == {"Hoechst", "Hoechst MIP"}
    planes = f[f["channel"] == "Hoechst"]
    assert sorted(zip(planes["time_h"], planes["z"], strict=True)) == [(0.0, 1), (1.0, 0), (1.0, 1)]
    assert f.loc[(f["time_h"] == 1.0) & (f["z"] == 1), "path"].iloc[0].endswith(".png")
    reasons = dict(acq.skipped)
    assert any("not on disk" in r for r in reasons.values())
    assert reasons["AF failed"].startswith("instrument error record (ERR: AF failed")
    assert any("not on disk" in n for n in acq.notes)


def test_folder_of_measurements_is_one_plate_each(tmp_path, cellvoyager_writer):
    truth = _frames(tmp_path / "src", wells=("B03",), fields=(1,), channels=("BF",), times=(0.0, 4.0))
    for name in ("run1", "run2"):
        cellvoyager_writer(truth, tmp_path / "screen" / name)
    acq = open_acquisition(tmp_path / "screen")
    assert sorted(acq.frames["plate"].unique()) == ["run1", "run2"] and len(acq.frames) == 4


def test_names_without_mlf_use_interval(tmp_path, cellvoyager_writer):
    truth = _frames(tmp_path / "src", wells=("P24",), fields=(1,), channels=("BF", "Hoechst"), times=(0.0, 3.0))
    meas = cellvoyager_writer(truth, tmp_path / "copied")
    for p in meas.glob("Measurement*"):
        p.unlink()
    assert detect_format(meas) == "cellvoyager"
    acq = open_acquisition(meas, interval_h=4.0)
    assert acq.timepoints_h == [0.0, 4.0] and set(acq.frames["channel"]) == {"C01", "C02"}
    assert any("--interval-h" in n for n in acq.notes) and set(acq.frames["plate"]) == {"copied"}


def test_duplicate_targets_keep_channels_apart(tmp_path, cellvoyager_writer):
    truth = _frames(tmp_path / "src", wells=("B03",), fields=(1,), channels=("a", "b"), times=(0.0,))
    meas = cellvoyager_writer(truth, tmp_path / "m", targets={"a": "GFP", "b": "GFP"})
    assert set(open_acquisition(meas).frames["channel"]) == {"GFP C01", "GFP C02"}


def test_malformed_mlf_is_a_one_line_error(tmp_path, cellvoyager_writer, cli, user_error):
    truth = _frames(tmp_path / "src", wells=("B03",), fields=(1,), channels=("BF",), times=(0.0,))
    meas = cellvoyager_writer(truth, tmp_path / "m")
    (meas / "MeasurementData.mlf").write_text(_mlf(meas)[:200], encoding="utf-8")  # cut off mid-write
    with pytest.raises(AcquisitionError, match="MeasurementData.mlf: malformed CellVoyager XML"):
        open_acquisition(meas)
    user_error(cli("inspect", meas), "MeasurementData.mlf", "malformed CellVoyager XML")
