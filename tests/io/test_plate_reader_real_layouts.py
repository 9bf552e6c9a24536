"""Plate-reader exports as the instruments write them (structures checked against public example files):
Gen5 text with leading blank lines and stopped kinetic runs, SoftMax Pro kinetic plate blocks, EnVision
barcodes in Excel quoting, Tecan i-control part-of-plate grids and CSV titles, Magellan, SparkControl,
BMG MARS table view and 1536-well matrices, GloMax Discover."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from ferroscreen.cli import main
from ferroscreen.errors import FerroscreenError
from ferroscreen.io.inspection import inspect_path
from ferroscreen.io.plate_reader import read_plate_reader
from ferroscreen.plate.wells import row_label

ROWS96 = "ABCDEFGH"


def _value(row: int, col: int, t: int = 0) -> float:
    return 1000.0 + 100 * t + 13 * row + col


def _check(table: pd.DataFrame, wells=None, t_hours=None):
    """Every well's value (and time) is the one written."""
    for row in table.itertuples(index=False):
        r, c = ROWS96.index(row.well[0]), int(row.well[1:]) - 1
        t = 0 if t_hours is None else t_hours.index(round(row.time_h, 6))
        assert row.value == _value(r, c, t), row
    if wells is not None:
        assert sorted(set(table["well"])) == sorted(wells)


def test_gen5_text_with_leading_blank_lines_and_a_stopped_kinetic_run(tmp_path):
    head = ["", "", "Software Version\t3.12.08", "", "Experiment File Path:\tC:\\run.xpt", "Plate Number\tPlate 1",
            "Date\t1/11/2024", "Reader Type:\tSynergy H1", "", "Procedure Details", "", "Plate Type\t96 WELL PLATE",
            "Read\tFluorescence Endpoint", ""]
    cols = "\t".join(f"{r}{c}" for r in ROWS96 for c in range(1, 13))
    lines = head + ["Read 1:560,590", "", f"Time\tT° Read 1:560,590\t{cols}"]
    times = ["0:00:12", "2:00:12", "4:00:12"]
    for t, stamp in enumerate(times):
        lines.append(f"{stamp}\t37.0\t" + "\t".join(f"{_value(r, c, t):g}" for r in range(8) for c in range(12)))
    lines += ["0:00:00\t"] * 20 + ["", "Results"]  # the cycles a stopped run never read
    path = tmp_path / "gen5.txt"
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")
    (read,) = read_plate_reader(path).reads
    assert read.kind == "kinetic" and read.label == "Read 1:560,590"
    _check(read.table, t_hours=[round((12 + 7200 * t) / 3600, 6) for t in range(3)])
    assert len(read.table) == 3 * 96
    info = inspect_path(path)  # the blank first lines once made it an "empty layout"
    assert info["kind"] == "plate_reader" and info["timepoints_h"][-1] == pytest.approx(4.0033, abs=1e-3)


def test_softmax_pro_kinetic_plate_blocks_with_a_blank_time_header(tmp_path):
    lines = ["##BLOCKS= 1", "Plate:\tPlate1\t1.3\tPlateFormat\tKinetic\tFluorescence\tFALSE\tRaw\tFALSE\t3",
             "\tTemperature(¡C)\t" + "\t".join(str(c) for c in range(1, 13))]
    for t, stamp in enumerate(["00:00:00", "02:00:00", "04:00:00"]):
        for r in range(8):
            first = f"{stamp}\t37.0" if r == 0 else "\t"
            lines.append(first + "\t" + "\t".join(f"{_value(r, c, t):g}" for c in range(12)))
        lines.append("")
    lines += ["~End"]
    path = tmp_path / "smp.txt"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
    (read,) = read_plate_reader(path).reads
    assert read.kind == "kinetic" and read.label == "Plate1"
    _check(read.table, t_hours=[0.0, 2.0, 4.0])


def test_envision_barcodes_lose_their_excel_quoting(tmp_path):
    lines = ["Plate,Repeat,Barcode,Type,Well,Result"]
    for p, barcode in enumerate(["PLT0042", "PLT0043"], start=1):
        lines += [f'{p},1,"=""{barcode}""",M,{r}{c:02d},{_value(ROWS96.index(r), c - 1):g}'
                  for r in ROWS96 for c in range(1, 13)]
    path = tmp_path / "envision.csv"
    path.write_text("\n".join(lines) + "\n")
    reads = read_plate_reader(path).reads
    assert [r.plate for r in reads] == ["PLT0042", "PLT0043"]
    _check(reads[0].table)


def test_tecan_part_of_plate_reads(tmp_path):
    lines = ["Application: Tecan i-control", "", "Label: CTG", "Mode\t\t\t\tLuminescence",
             "Part of Plate\t\t\t\tA1-H12", "", "<>\t" + "\t".join(str(c) for c in range(1, 13))]
    lines += [f"{ROWS96[r]}\t" + "\t".join(f"{_value(r, c):g}" for c in range(12)) for r in range(8)]
    lines += ["", "Label: Resazurin", "Mode\t\t\t\tFluorescence Top Reading", "Part of Plate\t\t\t\tB2-G11", "",
              "<>\t" + "\t".join(str(c) for c in range(2, 12))]
    lines += [f"{ROWS96[r]}\t" + "\t".join(f"{_value(r, c):g}" for c in range(1, 11)) for r in range(1, 7)]
    lines += ["", "End Time:\t1/11/2024 4:14:40 PM"]
    path = tmp_path / "icontrol.txt"
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")
    full, part = read_plate_reader(path).reads
    assert (full.label, part.label) == ("CTG", "Resazurin")
    _check(part.table, wells=[f"{ROWS96[r]}{c:02d}" for r in range(1, 7) for c in range(2, 12)])
    assert part.n_cols == 0  # a part of a plate does not say the plate's format


def test_tecan_csv_kinetic_reads_are_named_by_their_titles(tmp_path):
    wells = ",".join(f"{r}{c}" for r in ROWS96 for c in range(1, 13))
    lines = ["Application: Tecan i-control,,,,Tecan i-control 1.11", "", "Mode,,,,Absorbance",
             "Wavelength,,,,600,nm", "Mode,,,,Luminescence", "Integration Time,,,,1000,ms", ""]
    for title, t0 in (("OD600:600", 0), ("LUMI:Lum", 5)):
        lines += [title, f"Cycle Nr.,Time [s],Temp. [°C],{wells}"]
        lines += [f"{k + 1},{3600 * k},37.0," + ",".join(f"{_value(r, c, t0 + k):g}" for r in range(8)
                                                          for c in range(12)) for k in range(2)]
        lines.append("")
    path = tmp_path / "icontrol.csv"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    assert [r.label for r in read_plate_reader(path).reads] == ["OD600:600", "LUMI:Lum"]


def test_magellan_lists_with_and_without_a_header(tmp_path):
    body = [(f"SM{k + 1}", f"{ROWS96[r]}{c + 1}", _value(r, c)) for k, (c, r) in
            enumerate((c, r) for c in range(12) for r in range(8))]  # column by column, as Magellan lists
    asc = tmp_path / "ctg.asc"
    asc.write_text("\r\n".join(f"{s}\t{w}\t{v:g}" for s, w, v in body)
                   + "\r\n  Range: A1:H12\r\n    Luminescence\r\nMeas. temperature: Raw data: 22.5 °C\r\n",
                   encoding="cp1252")
    (read,) = read_plate_reader(asc).reads
    _check(read.table, wells=[f"{r}{c:02d}" for r in ROWS96 for c in range(1, 13)])
    assert inspect_path(asc)["kind"] == "plate_reader"
    listed = tmp_path / "ctg.csv"
    listed.write_text("Well positions\tLayout\tRaw data\n"
                      + "\n".join(f"{w}\t{s}\t{v:g}" for s, w, v in body) + "\n")
    (read,) = read_plate_reader(listed).reads
    assert read.label == "Raw data"
    _check(read.table)


def test_spark_list_and_glomax_wells(tmp_path):
    spark = tmp_path / "spark.csv"
    spark.write_text("Method name: CTG_96.mth,,,\nMode,Luminescence,,\nCTG,,,\n<>,Value,Time [ms],\n"
                     + "\n".join(f"{r}{c},{_value(ROWS96.index(r), c - 1):g},{10 * c}," for r in ROWS96
                                 for c in range(1, 13)) + "\n")
    (read,) = read_plate_reader(spark).reads
    assert read.label == "Value"
    _check(read.table)
    glomax = tmp_path / "glomax.csv"
    glomax.write_text("Name,ID,WellPosition,Sample,Group,RLU,Timestamp(ms)\n"
                      + "\n".join(f"CTG,{k},{r}:{c},,,{_value(ROWS96.index(r), c - 1):g},{k * 1030}"
                                  for k, (r, c) in enumerate(((r, c) for c in range(1, 13) for r in ROWS96), 1))
                      + "\n")
    (read,) = read_plate_reader(glomax).reads  # ID is no read
    assert read.label == "RLU"
    _check(read.table)


def test_bmg_mars_table_view_and_1536_rows(tmp_path):
    head = ["User: USER,Path: C:\\Program Files (x86)\\BMG\\CLARIOstar\\User\\Data,Test run no.: 412", "",
            "Test name: CTG,Date: 16/10/2024,Time: 15:09:52", "", "Luminescence", ""]
    endpoint = head + ["Well Row,Well Col,Content,Raw Data (No filter)"]
    endpoint += [f"{ROWS96[r]},{c + 1},Sample X{k},{_value(r, c):g}" for k, (c, r) in
                 enumerate(((c, r) for c in range(12) for r in range(8)), 1)]
    path = tmp_path / "table.csv"
    path.write_text("\n\n".join(endpoint) + "\n")  # MARS leaves a blank line after each line
    (read,) = read_plate_reader(path).reads
    assert read.kind == "endpoint" and read.label == "Raw Data (No filter)"
    _check(read.table)
    stamps = ["0 h ", "0 h 30 min", "0 h 60 min", "1 h 30 min"]
    kinetic = head + ["Well Row,Well Col,Content," + ",".join(["Raw Data (544-15/590-20)"] * 4),
                      ",,Time," + ",".join(stamps)]
    kinetic += [f"{ROWS96[r]},{c + 1},Sample," + ",".join(f"{_value(r, c, t):g}" for t in range(4))
                for c in range(12) for r in range(8)]
    path.write_text("\n".join(kinetic) + "\n")
    (read,) = read_plate_reader(path).reads
    assert read.kind == "kinetic"
    _check(read.table, t_hours=[0.0, 0.5, 1.0, 1.5])

    lines = ["Raw Data (No filter)", "," + ",".join(str(c) for c in range(1, 49))]
    names = [row_label(r) if r < 26 else "abcdef"[r - 26] for r in range(32)]
    lines += [f"{names[r]}," + ",".join(str(100 * r + c) for c in range(48)) for r in range(32)]
    path.write_text("\r\n".join(lines) + "\r\n")
    table = read_plate_reader(path).reads[0].table.set_index("well")["value"]
    assert len(table) == 1536 and table["AA01"] == 2600 and table["AF48"] == 3147


def test_a_file_that_is_neither_says_so(tmp_path, monkeypatch, capsys):
    path = tmp_path / "notes.csv"
    path.write_text("Instrument,Spark\nOperator,me\nComment,plate 1 only\n")
    with pytest.raises(FerroscreenError, match="missing required column 'well'.*; nor a plate read"):
        inspect_path(path)
    bad = tmp_path / "bad.asc"
    bad.write_bytes("Gerät\tA\n".encode("cp1252") + b"\x81\x8d junk\n")
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "fit", str(bad), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "nor a plate read" in err and len(err.strip().splitlines()) == 1


def test_what_the_sweep_of_the_new_shapes_found(tmp_path, monkeypatch, capsys):
    from ferroscreen.errors import AcquisitionError

    # a part-of-plate grid with a row missing is refused, not cut short
    lines = ["Label: Resazurin", "<>\t" + "\t".join(str(c) for c in range(2, 12))]
    lines += [f"{ROWS96[r]}\t" + "\t".join(f"{_value(r, c):g}" for c in range(1, 11)) for r in (1, 2, 4, 5)]
    (tmp_path / "gap.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(AcquisitionError, match=r"gap.txt: line 5: row 'E' of a part-of-plate grid does not follow "
                                               r"its row C"):
        read_plate_reader(tmp_path / "gap.txt")
    # a well name that is no well, last in a list; a BMG cycle time that is no time; readings after Gen5's padding
    (tmp_path / "z99.csv").write_text("<>,Value\n" + "".join(f"A{c},{c}\n" for c in range(1, 13)) + "Z99,5\n")
    with pytest.raises(AcquisitionError, match=r"z99.csv: line 14: 'Z99' is not a well of a plate of up to 1536"):
        read_plate_reader(tmp_path / "z99.csv")
    (tmp_path / "bmg.csv").write_text("Well Row,Well Col,Content,Raw Data (544),Raw Data (544)\n,,Time,0 h ,0 h 30 mn\n"
                                      + "".join(f"A,{c},Sample,1,2\n" for c in range(1, 13)))
    with pytest.raises(AcquisitionError, match=r"bmg.csv: line 2: cycle time '0 h 30 mn' is not a time"):
        read_plate_reader(tmp_path / "bmg.csv")
    cols = "\t".join(f"A{c}" for c in range(1, 13))
    (tmp_path / "gen5.txt").write_text(f"Time\tT° 590\t{cols}\n0:10:00\t37\t" + "\t".join("1" * 12)
                                       + "\n0:00:00\t\n2:10:00\t37\t" + "\t".join("2" * 12) + "\n")
    with pytest.raises(AcquisitionError, match=r"gen5.txt: line 3: a read time without readings inside the kinetic "
                                               r"table \(readings follow on line 4\)"):
        read_plate_reader(tmp_path / "gen5.txt")
    (tmp_path / "twice.csv").write_text("<>,Value,Value\n" + "".join(f"A{c},{c},{c}\n" for c in range(1, 13)))
    with pytest.raises(AcquisitionError, match="lists well A01 twice .reads of one name side by side"):
        read_plate_reader(tmp_path / "twice.csv")
    # lines of sample, well, number are a Magellan list only in a Magellan file
    body = "".join(f"Cmpd{c},{r}{c},{c * 10}\n" for r in ROWS96 for c in range(1, 13))
    (tmp_path / "map.csv").write_text(body)
    with pytest.raises(FerroscreenError, match="nor a plate read"):
        inspect_path(tmp_path / "map.csv")
    (tmp_path / "map.txt").write_text(body + "Meas. temperature: Raw data: 22.5 °C\n")
    assert len(read_plate_reader(tmp_path / "map.txt").reads[0].table) == 96

    # a GloMax list (its 'Sample' column is no dose-response curve) is fitted as a plate read
    glomax = tmp_path / "glomax.csv"
    glomax.write_text("Name,ID,WellPosition,Sample,Group,RLU\n" + "".join(
        f"CTG,{k},{r}:{c},,,{40000 if c in (1, 12) else 40000 / (1 + 10 ** (c - 6)):.0f}\n"
        for k, (r, c) in enumerate(((r, c) for c in range(1, 13) for r in ROWS96), 1)))
    layout = tmp_path / "layout.csv"
    layout.write_text("well,compound,concentration,unit\n" + "".join(
        f"{r}{c},{'DMSO' if c in (1, 12) else 'RSL3'},{'' if c in (1, 12) else 10 ** (c - 6)},uM\n"
        for r in ROWS96 for c in range(1, 13)))
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "fit", str(glomax), "--layout", str(layout), "--out",
                                      str(tmp_path / "fit")])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr().err
    fits = pd.read_csv(tmp_path / "fit" / "fits.csv").set_index("curve")
    assert fits.loc["RSL3", "ec50"] == pytest.approx(1e-6, rel=0.1)
