import pytest

from ferroscreen.errors import AcquisitionError
from ferroscreen.io import read_metric_export


def test_shared_confluence_export(shared_data):
    exp = read_metric_export(shared_data / "incucyte" / "example_data.txt")
    assert exp.metric == "Phase Object Confluence (Percent)"
    assert len(exp.wells) == 60 and exp.wells[0] == "B02"
    assert exp.timepoints_h[:3] == [0, 4, 8] and exp.timepoints_h[-1] == 280
    wide = exp.wide()
    assert wide.loc[0, "B02"] == pytest.approx(15.75452)
    assert exp.table["datetime"].iloc[0].day == 30


def test_shared_thunor_mixed_dates(shared_data):
    exp = read_metric_export(shared_data / "incucyte" / "thunor_incucyte_minimal.txt")
    assert exp.wells == [f"{r}01" for r in "ABCDEFGH"]
    assert len(exp.timepoints_h) == 18 and exp.timepoints_h[-1] == 136
    dts = exp.table[exp.table["well"] == "A01"]["datetime"].tolist()
    deltas = {(b - a).total_seconds() / 3600 for a, b in zip(dts, dts[1:], strict=False)}
    assert deltas == {8.0}  # both date styles parse onto one consistent clock


def test_errors_name_file_and_line(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("Label: x\nDate Time\tElapsed\tA1\n1/1/2020 10:00:00 AM\t0\tabc\n")
    with pytest.raises(AcquisitionError, match=r"bad.txt:3: well A01: value 'abc' is not a number"):
        read_metric_export(p)
    p.write_text("Label: x\nDate Time\tElapsed\tQQ9\n")
    with pytest.raises(AcquisitionError, match="bad.txt:2"):
        read_metric_export(p)
    p.write_text("hello\n")
    with pytest.raises(AcquisitionError, match="not an IncuCyte metric export"):
        read_metric_export(p)
