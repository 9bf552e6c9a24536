import numpy as np
import pytest

from ferroscreen.errors import AcquisitionError
from ferroscreen.io import looks_like_metric_export, read_metric_export


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


def _write(tmp_path, name, lines, encoding="utf-8"):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding=encoding)
    return p


def test_std_err_columns_left_out_and_vessel_name_is_the_plate(tmp_path):
    p = _write(tmp_path, "s3.txt", [
        "Vessel Name: HeLa RSL3", "Metric: Phase Object Confluence (Percent)", "Cell Type: HeLa", "",
        "Date Time\tElapsed\tB2\tB2 (Std Err Img)\tB3\tB3 (Std Err Well)\tB4 (Std Dev Well)\tB4",
        "01/03/2024 10:00:00\t0\t5.1\t0.2\t4.8\t0.3\t0.1\t6.0",
        "01/03/2024 12:00:00\t2\t7.9\t0.2\t7.2\t0.3\t0.1\t9.5",
    ])  # fmt: skip
    exp = read_metric_export(p)
    assert exp.wells == ["B02", "B03", "B04"]
    assert exp.table["plate"].unique().tolist() == ["HeLa RSL3"]
    assert exp.wide().loc[2.0].tolist() == [7.9, 7.2, 9.5]
    assert any("3 standard-error/deviation column(s) left out" in n for n in exp.notes)


def test_decimal_commas_dotted_dates_and_utf16(tmp_path):
    lines = [
        "Label: Platte 1", "Metric: Phase Object Count (1/Image)",
        "Date Time\tElapsed\tA1\tA2",
        "30.01.2014 17:00:00\t0\t15,75\t12,5",
        "30.01.2014 21:30:00\t4,5\t16,25\t",
    ]  # fmt: skip
    for enc in ("utf-8-sig", "utf-16", "latin-1"):
        exp = read_metric_export(_write(tmp_path, f"eu_{enc}.txt", lines, enc))
        assert exp.timepoints_h == [0.0, 4.5]
        wide = exp.wide()
        assert wide.loc[4.5, "A01"] == pytest.approx(16.25) and np.isnan(wide.loc[4.5, "A02"])
        assert exp.table["datetime"].iloc[1].hour == 21 and not exp.notes


def test_per_image_columns_average_per_well(tmp_path):
    p = _write(tmp_path, "images.txt", [
        "Date Time\tElapsed\tB2, Image 1\tB2, Image 2\tB3, Image 1\tB3, Image 2",
        "01/03/2024 10:00:00\t0\t4\t6\t1\t",
        "01/03/2024 12:00:00\t2\t8\t10\t3\t5",
    ])  # fmt: skip
    exp = read_metric_export(p)
    assert exp.wide().to_dict() == {"B02": {0.0: 5.0, 2.0: 9.0}, "B03": {0.0: 1.0, 2.0: 4.0}}
    assert any("4 per-image columns averaged into 2 wells" in n for n in exp.notes)


def test_elapsed_as_day_hour_minute_or_clock_and_semicolons(tmp_path):
    p = _write(tmp_path, "dhm.csv", [
        "Metric: Confluence (Percent)",
        "Date Time;Elapsed;A1",
        "x;0d00h00m;1,5",
        "x;1d02h30m;2,5",
        "x;28:45;3",
    ])  # fmt: skip
    assert looks_like_metric_export(p)
    exp = read_metric_export(p)
    assert exp.timepoints_h == [0.0, 26.5, 28.75]
    assert exp.wide()["A01"].tolist() == [1.5, 2.5, 3.0]


def test_comma_separated_export_keeps_dots(tmp_path):
    p = _write(
        tmp_path,
        "plain.csv",
        ["Date Time,Elapsed,A1,A2", "1/1/2020 10:00:00 AM,0,1.5,2", "1/1/2020 2:00:00 PM,4,3,4.25"],
    )
    exp = read_metric_export(p)
    assert exp.wide().loc[4.0].tolist() == [3.0, 4.25]
    assert exp.table["datetime"].iloc[1].hour == 14


def test_group_label_and_repeated_well_columns_are_one_line_errors(tmp_path):
    p = _write(tmp_path, "groups.txt", ["Date Time\tElapsed\tHeLa 1K\tHeLa 1K (Std Err Well)", "x\t0\t1\t0.1"])
    with pytest.raises(AcquisitionError, match=r"groups.txt:1: column 3 'HeLa 1K' is not a well .*per well"):
        read_metric_export(p)
    p = _write(tmp_path, "twice.txt", ["Date Time\tElapsed\tA1\tA01", "x\t0\t1\t2"])
    with pytest.raises(AcquisitionError, match="twice.txt:1: well A01 has more than one column"):
        read_metric_export(p)
    p = _write(tmp_path, "elapsed.txt", ["Date Time\tElapsed\tA1", "x\tsoon\t1"])
    with pytest.raises(AcquisitionError, match=r"elapsed.txt:2: Elapsed 'soon' is not a time in hours"):
        read_metric_export(p)


def test_a_row_cut_short_or_a_repeated_time_is_refused(tmp_path):
    head = "Label: x\nDate Time\tElapsed\tA1\tB1\tC1\n"
    p = tmp_path / "cut.txt"
    p.write_text(head + "x\t0\t1\t2\t3\nx\t4\t1\t2")
    with pytest.raises(AcquisitionError, match=r"cut.txt:4: 4 of the header's 5 columns \(a truncated or broken row\)"):
        read_metric_export(p)
    p = tmp_path / "twice.txt"
    p.write_text(head + "x\t0\t1\t2\t3\nx\t4\t1\t2\t3\nx\t4\t1\t2\t3\n")
    with pytest.raises(AcquisitionError, match=r"twice.txt:5: elapsed time 4 h repeats line 4"):
        read_metric_export(p)
    p.write_text(head + "x\t0\t1\t\t3\t\nx\t4\t1\t2\t3\n")  # empty cells and a trailing tab are fine
    assert read_metric_export(p).table["value"].isna().sum() == 1


def test_columns_named_after_a_label_and_a_colon(tmp_path):
    """ZOOM/SX5 exports may write ': B2, Image 1' (or '<label>: B2, Image 1'): the well follows the colon."""
    p = tmp_path / "wound.txt"
    p.write_text("Vessel Name: P1\nMetric: Relative Wound Density (Percent)\n\n"
                 "Date Time\tElapsed\t: B2, Image 1\t: B2, Image 2\tRSL3 1 uM: C3, Image 1\n"
                 "2024-01-15 10:28:00\t0\t10\t12\t30\n2024-01-15 14:28:00\t4\t15\t17\t31\n")
    exp = read_metric_export(p)
    assert exp.wells == ["B02", "C03"]
    assert exp.wide().loc[0, "B02"] == pytest.approx(11) and exp.wide().loc[4, "C03"] == pytest.approx(31)
    p.write_text("Vessel Name: P1\nDate Time\tElapsed\tRSL3 1 uM\n2024-01-15 10:28:00\t0\t10\n")
    with pytest.raises(AcquisitionError, match="not grouped by plate-map label"):
        read_metric_export(p)


def test_export_without_elapsed_is_named_as_such_not_as_an_unknown_table(tmp_path):
    from ferroscreen.io.inspection import inspect_path

    p = _write(tmp_path, "noelapsed.txt", [
        "Vessel Name: VID101", "Metric: Phase Object Count (per Image)", "",
        "Date Time\tA1\tB1", "1/15/2024 10:31:00 AM\t393\t413", "1/15/2024 12:30:00 PM\t428\t425",
    ])  # fmt: skip
    assert looks_like_metric_export(p)
    with pytest.raises(AcquisitionError, match=r"noelapsed.txt:4: expected columns 'Date Time, Elapsed, <wells>' "
                                               r"\(the second column is 'A1'"):
        read_metric_export(p)
    with pytest.raises(AcquisitionError, match="second column is 'A1'"):
        inspect_path(p)


def test_uneven_scans_are_described_with_their_range_and_long_gaps(tmp_path):
    from ferroscreen.io.inspection import inspect_path, render_inspection

    times = [0, 2, 4, 6, 8, 12, 14]  # a 2-hourly plan with the 10 h scan missing
    p = _write(tmp_path, "gap.txt", [
        "Vessel Name: VID7", "Metric: Phase Object Count (per Image)", "", "Date Time\tElapsed\tA1",
        *[f"1/15/2024 {10 + t // 12}:00:00 AM\t{t}\t{100 + t}" for t in times],
    ])  # fmt: skip
    info = inspect_path(p)
    assert info["interval_min_h"] == 2 and info["interval_max_h"] == 4
    assert info["long_gaps_h"] == [[8, 12]]
    assert "7 from 0 h to 14 h, every 2-4 h (median 2 h); longer gap 8-12 h" in render_inspection(info)


def test_thousands_points_read_as_the_file_says_or_refused(tmp_path):
    """A European export's object counts: '1.234' is 1234 beside decimal commas, a one beside '0.5'."""
    head = ["Metric: Phase Object Count (per mm²)", "Date Time;Elapsed;A1;A2"]
    p = _write(tmp_path, "de.csv", [*head, "x;0;1.234;12,5", "x;4;2.345,5;1.000.000"])
    assert _wide_values(p) == {"A01": [1234.0, 2345.5], "A02": [12.5, 1e6]}
    p = _write(tmp_path, "pt.csv", [*head, "x;0;1.234;0.5", "x;4;2.345;3"])  # decimal points: '1.234' a one
    assert _wide_values(p) == {"A01": [1.234, 2.345], "A02": [0.5, 3.0]}
    p = _write(tmp_path, "us.txt", ["Date Time\tElapsed\tA1\tA2", "x\t0\t1,234\t0.5", "x\t4\t12,345.5\t3"])
    assert _wide_values(p) == {"A01": [1234.0, 12345.5], "A02": [0.5, 3.0]}
    p = _write(tmp_path, "either.csv", [*head, "x;0;250;12", "x;4;1.234;3"])
    with pytest.raises(AcquisitionError, match=r"either\.csv:4: '1\.234' could be 1234 or 1\.234 \('\.' as a "
                                               r"thousands separator or as the decimal mark\) and no other number"):
        read_metric_export(p)


def _wide_values(path):
    return {well: v.tolist() for well, v in read_metric_export(path).table.groupby("well")["value"]}
