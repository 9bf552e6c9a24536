"""Plate-reader exports: grids, Gen5 multi-read grids, kinetic tables, well lists, Excel; errors."""

from __future__ import annotations

import math
from datetime import time, timedelta

import numpy as np
import pandas as pd
import pytest

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.plate_reader import NoPlateRead, plate_reads_table, read_plate_reader

ROWS96 = "ABCDEFGH"


def _value(row: int, col: int, read: int = 0) -> float:
    """A distinct, checkable value for each well of each read."""
    return 1000.0 * (read + 1) + 13 * row + col + 0.5


def tecan_text(path, decimal_comma=True, saturated="C04"):
    lines = ["Application: Tecan i-control", "Device: infinite 200Pro", "", "Label: Lum", "Mode\tLuminescence",
             "Start Time:\t12/5/2026 10:01:02 AM", "", "Temperature: 25 °C",
             "<>\t" + "\t".join(str(c) for c in range(1, 13))]
    for r, letter in enumerate(ROWS96):
        cells = []
        for c in range(12):
            text = f"{_value(r, c):.1f}"
            cells.append(text.replace(".", ",") if decimal_comma else text)
            if f"{letter}{c + 1:02d}" == saturated:
                cells[-1] = "OVER"
        lines.append(letter + "\t" + "\t".join(cells) + "\t")
    lines += ["", "End Time:\t12/5/2026 10:02:00 AM"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_tecan_grid_with_decimal_commas_and_a_saturated_well(tmp_path):
    exp = read_plate_reader(tecan_text(tmp_path / "tecan.txt"))
    assert len(exp.reads) == 1
    read = exp.reads[0]
    assert read.label == "Lum" and read.kind == "endpoint" and read.n_cols == 12
    values = read.table.set_index("well")["value"]
    assert len(values) == 96 and values["A01"] == _value(0, 0) and values["H12"] == _value(7, 11)
    assert math.isnan(values["C04"]) and read.table["time_h"].isna().all()
    assert exp.notes == ["1 saturated reading(s) (OVER/overflow) read as missing"]


def test_gen5_grid_holds_one_read_per_line_of_a_plate_row(tmp_path):
    lines = ["Results", "", ",1,2,3,4,5,6,7,8,9,10,11,12,"]
    for r, letter in enumerate(ROWS96):
        lines.append(letter + "," + ",".join(str(_value(r, c, 0)) for c in range(12)) + ",Read 1:560/590")
        lines.append("," + ",".join(str(_value(r, c, 1)) for c in range(12)) + ",Read 2:485/528")
    path = tmp_path / "gen5.csv"
    path.write_text("\n".join(lines) + "\n")
    reads = read_plate_reader(path).reads
    assert [r.label for r in reads] == ["Read 1:560/590", "Read 2:485/528"]
    assert reads[1].table.set_index("well").loc["B03", "value"] == _value(1, 2, 1)
    assert reads[0].table.set_index("well").loc["B03", "value"] == _value(1, 2, 0)


def test_384_grid_and_two_grids_of_one_assay(tmp_path):
    letters = "ABCDEFGHIJKLMNOP"
    lines = []
    for k in range(2):
        lines += [f"Raw Data (Luminescence) plate {k + 1}", "<>," + ",".join(str(c) for c in range(1, 25))]
        lines += [letters[r] + "," + ",".join(str(_value(r, c, k)) for c in range(24)) for r in range(16)]
        lines.append("")
    path = tmp_path / "bmg.csv"
    path.write_text("\n".join(lines) + "\n")
    reads = read_plate_reader(path).reads
    assert len(reads) == 2 and all(r.table["well"].nunique() == 384 for r in reads)
    assert reads[1].table.set_index("well").loc["P24", "value"] == _value(15, 23, 1)


def test_kinetic_table_times_and_units(tmp_path):
    wells = ["A1", "A2", "B1"]
    rows = [f"{h}:{m:02d}:00\t37.1\t" + "\t".join(str(10 * i + k) for k in range(3))
            for i, (h, m) in enumerate([(0, 0), (0, 30), (25, 30)])]
    path = tmp_path / "kin.txt"
    path.write_text("Read 1:485,528\nTime\tT° 485,528\t" + "\t".join(wells) + "\n" + "\n".join(rows) + "\n")
    read = read_plate_reader(path).reads[0]
    assert read.kind == "kinetic" and read.label == "Read 1:485,528"
    assert sorted(read.table["time_h"].unique()) == [0.0, 0.5, 25.5]
    assert set(read.table["well"]) == {"A01", "A02", "B01"}  # the temperature column is no well
    assert read.table.set_index(["well", "time_h"]).loc[("B01", 25.5), "value"] == 22
    path.write_text("Time [min],A1,A2\n0,1,2\n90,3,4\n")
    assert sorted(read_plate_reader(path).reads[0].table["time_h"].unique()) == [0.0, 1.5]
    path.write_text("Time,A1,A2\n0,1,2\n90,3,4\n")
    with pytest.raises(AcquisitionError, match=r"kin.txt: line 2: time '0' has no unit"):
        read_plate_reader(path)


def test_well_list_with_plates_and_bookkeeping_columns(tmp_path):
    lines = ["Plate information", "Plate,Barcode,Measured height", "1,ABC123,11.5", "",
             "Plate,Repeat,Well,Type,Result"]
    for plate in ("1", "2"):
        lines += [f"{plate},1,{w},M,{100 * int(plate) + k}" for k, w in enumerate(["A01", "A02", "B01"])]
    path = tmp_path / "envision.csv"
    path.write_text("\n".join(lines) + "\n")
    reads = read_plate_reader(path).reads
    assert [(r.label, r.plate) for r in reads] == [("Result", "1"), ("Result", "2")]
    table, notes = plate_reads_table(read_plate_reader(path), endpoint_h=48)
    assert set(table["plate"]) == {"1", "2"} and (table["time_h"] == 48).all()
    assert table.set_index(["plate", "well"]).loc[("2", "B01"), "value"] == 202
    path.write_text("Well,Result\nA01,1\nA1,2\n")
    with pytest.raises(AcquisitionError, match="lists well A01 twice"):
        read_plate_reader(path)


def test_excel_workbook_grids_and_kinetic_time_cells(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Magellan"
    sheet.append(["Label: CTG"])
    sheet.append(["<>", *range(1, 13)])
    for r, letter in enumerate(ROWS96):
        sheet.append([letter, *[_value(r, c) for c in range(12)]])
    kin = book.create_sheet("kinetic")
    kin.append(["Time", "A1", "A2"])
    kin.append([time(0, 0), 1.0, 2.0])
    kin.append([time(12, 30), 3.0, 4.0])
    kin.append([timedelta(hours=30), 5.0, 6.0])
    path = tmp_path / "reader.xlsx"
    book.save(path)
    reads = read_plate_reader(path).reads
    assert [r.label for r in reads] == ["CTG", ""]
    assert reads[0].where == "sheet 'Magellan' row 2"
    assert reads[0].table.set_index("well").loc["E07", "value"] == _value(4, 6)
    assert sorted(reads[1].table["time_h"].unique()) == [0.0, 12.5, 30.0]


def test_files_that_are_not_plate_reads(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("curve,dose,response\na,1,0.5\n")
    with pytest.raises(NoPlateRead, match="table.csv: no plate read found"):
        read_plate_reader(path)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(AcquisitionError, match="old.xls: an old-style Excel .xls file"):
        read_plate_reader(old)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(AcquisitionError, match="broken.xlsx: not a readable Excel workbook") as exc:
        read_plate_reader(broken)
    assert "\n" not in str(exc.value)


def test_reads_become_plates_or_need_a_choice(tmp_path):
    gen5 = tmp_path / "two.csv"
    lines = [",1,2,3"]
    lines += [f"{letter},1,2,3,Lum" for letter in "AB"]
    lines += ["", "Fluor", ",1,2,3"] + [f"{letter},4,5,6" for letter in "AB"]
    gen5.write_text("\n".join(lines) + "\n")
    exp = read_plate_reader(gen5)
    assert [r.label for r in exp.reads] == ["Lum", "Fluor"] and exp.reads[0].n_cols == 3
    with pytest.raises(AcquisitionError, match=r"holds 2 reads; pick one with --read N .* 2: 'Fluor'"):
        plate_reads_table(exp)
    table, _ = plate_reads_table(exp, read="fluor", plate_ids=["P7"])
    assert set(table["plate"]) == {"P7"} and table["value"].tolist() == [4, 5, 6, 4, 5, 6]
    with pytest.raises(AcquisitionError, match="--read 3: there are 2 reads"):
        plate_reads_table(exp, read="3")

    same = tmp_path / "plates.csv"
    block = [",1,2,3"] + [f"{letter},{np.random.default_rng(0).integers(9)},2,3" for letter in "AB"]
    same.write_text("\n".join(["Lum", *block, "", "Lum", *block]) + "\n")
    exp = read_plate_reader(same)
    table, notes = plate_reads_table(exp, plate_ids=["X", "Y"])
    assert list(pd.unique(table["plate"])) == ["X", "Y"] and "layout's plates in order" in notes[1]
    table, notes = plate_reads_table(exp, plate_ids=["X"])
    assert list(pd.unique(table["plate"])) == ["plates_1", "plates_2"]
    with pytest.raises(AcquisitionError, match="2 plate reads but the layout lists 3 plates"):
        plate_reads_table(exp, plate_ids=["X", "Y", "Z"])


def _softmax_block(kinetic: bool) -> list[str]:
    head = "Plate:\tPlate1\t1.3\tPlateFormat\t" + ("Kinetic" if kinetic else "Endpoint") + "\tFluorescence\tRaw"
    lines = ["##BLOCKS= 1", head, ("Time" if kinetic else "") + "\tTemperature(¡C)\t" + "\t".join(map(str, range(1, 13)))]
    for t, stamp in enumerate(["00:00", "30:00", "1:30:00"] if kinetic else [""]):
        for r in range(8):
            first = (stamp, "37.0") if r == 0 else ("", "")
            lines.append("\t".join([*first, *(str(_value(r, c, t)) for c in range(12))]) + "\t")
        if kinetic:
            lines.append("\t\t\t")
    return [*lines, "~End", "Original Filename: run; Date Last Saved: 12/5/2026 10:00:00 AM"]


def test_softmax_pro_plate_format_endpoint_and_kinetic(tmp_path):
    path = tmp_path / "smp.txt"
    path.write_text("\n".join(_softmax_block(kinetic=False)) + "\n", encoding="latin-1")
    read = read_plate_reader(path).reads[0]
    assert read.label == "Plate1" and read.kind == "endpoint" and read.table["well"].nunique() == 96
    assert read.table.set_index("well").loc["H12", "value"] == _value(7, 11)
    path.write_text("\n".join(_softmax_block(kinetic=True)) + "\n", encoding="latin-1")
    read = read_plate_reader(path).reads[0]
    assert read.kind == "kinetic" and sorted(read.table["time_h"].unique()) == [0.0, 0.5, 1.5]  # m:ss, h:mm:ss
    assert read.table.set_index(["well", "time_h"]).loc[("C05", 1.5), "value"] == _value(2, 4, 2)
    cut = _softmax_block(kinetic=False)[:-6]
    path.write_text("\n".join(cut) + "\n")
    with pytest.raises(AcquisitionError, match="a plate block ends after 4 of its 8 rows"):
        read_plate_reader(path)


def test_semicolon_grid_with_decimal_commas_and_comma_laden_notes(tmp_path):
    """More lines hold a comma than a semicolon, yet the grid is ';'-separated: the delimiter that reads wins."""
    notes = [f"Note {k}: reader BMG, user A, gain 1200, focal height 8.5" for k in range(12)]
    grid = ["Raw Data (Lum);" , ";" + ";".join(str(c) for c in range(1, 13))]
    grid += [f"{letter};" + ";".join(f"{_value(r, c):.1f}".replace(".", ",") for c in range(12))
             for r, letter in enumerate(ROWS96)]
    path = tmp_path / "bmg_de.csv"
    path.write_text("\n".join([*notes, *grid]) + "\n")
    read = read_plate_reader(path).reads[0]
    assert read.label == "Raw Data (Lum)" and read.table.set_index("well").loc["D07", "value"] == _value(3, 6)


def test_tecan_kinetic_with_wells_down(tmp_path):
    lines = ["Label: Label1", "Kinetic Measurement", "Cycle Nr.\t1\t2\t3", "Time [s]\t0\t1800\t3600.5",
             "Temp. [°C]\t37.1\t37.0\t37.0", "A1\t10\t11\tOVER", "A2\t20\t21\t22", "B1\t30\t31\t32", "",
             "End Time:\t12/5/2026 11:00:00"]
    path = tmp_path / "tecan_kinetic.txt"
    path.write_text("\n".join(lines) + "\n")
    exp = read_plate_reader(path)
    assert len(exp.reads) == 1 and exp.notes == ["1 saturated reading(s) (OVER/overflow) read as missing"]
    read = exp.reads[0]
    assert read.kind == "kinetic" and read.label == "Label1"
    assert sorted(read.table["time_h"].round(6).unique()) == [0.0, 0.5, round(3600.5 / 3600, 6)]
    assert read.table.set_index(["well", "time_h"]).loc[("B01", 0.5), "value"] == 31
    assert read.table["time_h"].is_monotonic_increasing


def test_softmax_pro_endpoint_with_decimal_commas(tmp_path):
    """A European-locale SoftMax Pro export: tab-separated, decimal commas, '1,3' in the Plate: line."""
    lines = ["##BLOCKS= 1", "Plate:\tOD600\t1,3\tPlateFormat\tEndpoint\tAbsorbance\tRaw\tTRUE\t1\t\t\t\t\t\t1\t600",
             "\tTemperature(¡C)\t" + "\t".join(map(str, range(1, 13)))]
    for r in range(8):
        cells = [str(_value(r, c) / 1000).replace(".", ",") for c in range(12)]
        lines.append("\t".join(["", "24,10" if r == 0 else "", *cells]))
    path = tmp_path / "od600.txt"
    path.write_bytes(("\n".join([*lines, "~End"]) + "\n").encode("utf-16"))
    read = read_plate_reader(path).reads[0]
    assert read.label == "OD600" and read.kind == "endpoint"
    assert read.table.set_index("well").loc["F09", "value"] == pytest.approx(_value(5, 8) / 1000)


def test_gen5_layout_grid_is_no_read(tmp_path):
    """Gen5 exports the plate layout (SPL1, BLK...) as a grid before the results: it is passed over."""
    layout = ["Layout", "\t1\t2\t3"] + [f"{letter}\tSPL1\tSPL2\tBLK" for letter in "AB"]
    results = ["", "Read 1:560,590", "\t1\t2\t3"] + [f"{letter}\t1.5\t2.5\tOVRFLW" for letter in "AB"]
    path = tmp_path / "gen5_layout.txt"
    path.write_text("\n".join(["Software Version\t3.11", "", *layout, *results]) + "\n")
    exp = read_plate_reader(path)
    assert [r.label for r in exp.reads] == ["Read 1:560,590"]
    assert exp.notes == ["2 saturated reading(s) (OVER/overflow) read as missing"]  # no 'SPL1' counted


def test_softmax_pro_two_wavelengths_side_by_side(tmp_path):
    """An endpoint block read at 570 and 600 nm: two plates side by side in one block, two reads."""
    numbers = "\t".join(map(str, range(1, 13)))
    lines = ["##BLOCKS= 1", "Plate:\tAlamar\t1.3\tPlateFormat\tEndpoint\tAbsorbance\tRaw\tFALSE\t1\t\t\t\t\t\t2\t570 600",
             f"\tTemperature(¡C)\t{numbers}\t\t{numbers}"]
    for r in range(8):
        first = "\t".join(str(_value(r, c, 0)) for c in range(12))
        second = "\t".join(str(_value(r, c, 1)) for c in range(12))
        lines.append(f"\t{'25.0' if r == 0 else ''}\t{first}\t\t{second}")
    path = tmp_path / "alamar.txt"
    path.write_text("\n".join([*lines, "~End"]) + "\n")
    reads = read_plate_reader(path).reads
    assert [r.label for r in reads] == ["Alamar 570 nm", "Alamar 600 nm"]  # named by the Plate: line's wavelengths
    assert [r.wavelength for r in reads] == ["570", "600"]
    assert reads[1].table.set_index("well").loc["H12", "value"] == _value(7, 11, 1)
    assert reads[0].table.set_index("well").loc["H12", "value"] == _value(7, 11, 0)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda lines: lines[:-2], "ends after 6 of its 8 rows"),                       # rows G, H missing
    (lambda lines: [*lines[:6], "", *lines[6:]], "ends after 5 of its 8 rows"),     # a blank line inside
    (lambda lines: [*lines[:3], "A" + lines[3][1:], *lines[4:]], "ends after 2 of its 8 rows"),  # C relabelled A
])
def test_grid_cut_short_or_broken_is_refused(tmp_path, edit, message):
    lines = ["<>\t" + "\t".join(map(str, range(1, 13)))]
    lines += [f"{letter}\t" + "\t".join(str(_value(r, c)) for c in range(12)) for r, letter in enumerate(ROWS96)]
    path = tmp_path / "grid.txt"
    path.write_text("\n".join(["Label: Lum", *edit(lines)]) + "\n")
    with pytest.raises(AcquisitionError, match=message):
        read_plate_reader(path)


def test_odd_rows_inside_lists_and_kinetic_tables_are_refused(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("Plate,Well,Result\n1,A01,5\n1,Z99,6\n1,A03,7\n")
    with pytest.raises(AcquisitionError, match=r"line 3: 'Z99' is not a well, inside a well list"):
        read_plate_reader(path)
    path.write_text("Plate,Well,Result\n1,A01,5\n\n1,A03,7\n")
    with pytest.raises(AcquisitionError, match=r"line 3: a row without a well, inside a well list"):
        read_plate_reader(path)
    path.write_text("Time,A1,A2\n0:00:00,1,2\n1:2:3:4,3,4\n12:00:00,5,6\n")
    with pytest.raises(AcquisitionError, match=r"line 3: time '1:2:3:4' is not a time"):
        read_plate_reader(path)
    path.write_text("Time [h],A1,A2\n0,1,2\ninf,3,4\n")
    with pytest.raises(AcquisitionError, match=r"time 'inf' is not a time"):
        read_plate_reader(path)
    path.write_text("Time [s]\t0\t60\nA1\t1\t2\n\nA2\t3\t4\n")
    with pytest.raises(AcquisitionError, match=r"line 3: a row without a well, inside a kinetic table"):
        read_plate_reader(path)
    path.write_text("Label: Lum\n<>\t1\t2\t3\t4\t5\t6\t77\t8\nA\t1\t2\t3\t4\t5\t6\t7\t8\n")  # no 24-well plate
    with pytest.raises(AcquisitionError, match="no plate read found"):
        read_plate_reader(path)


def test_gen5_reads_named_by_wavelength_numbers(tmp_path):
    lines = ["Results", "\t1\t2\t3"]
    for r, letter in enumerate("AB"):
        lines.append(f"{letter}\t" + "\t".join(str(_value(r, c, 0)) for c in range(3)) + "\t570")
        lines.append("\t" + "\t".join(str(_value(r, c, 1)) for c in range(3)) + "\t600")
    path = tmp_path / "abs.txt"
    path.write_text("\n".join(lines) + "\n")
    reads = read_plate_reader(path).reads
    assert [r.label for r in reads] == ["570", "600"]
    table, _ = plate_reads_table(read_plate_reader(path), read="600")
    assert table.set_index("well").loc["B02", "value"] == _value(1, 1, 1)


def test_readings_with_thousands_separators_are_read_and_said(tmp_path):
    """Excel's formatted numbers ("2,602" quoted in a comma-separated export) are numbers, not missing readings."""
    lines = ["Label: Lum", "<>," + ",".join(str(c) for c in range(1, 13))]
    lines += [letter + "," + ",".join(f'"{2000 + 100 * r + c:,}"' for c in range(12)) for r, letter in enumerate(ROWS96)]
    (tmp_path / "ctg.csv").write_text("\n".join(lines) + "\n")
    exp = read_plate_reader(tmp_path / "ctg.csv")
    values = exp.reads[0].table.set_index("well")["value"]
    assert values["A01"] == 2000 and values["H12"] == 2711 and values.notna().all()
    assert exp.notes == ["96 reading(s) written with thousands separators ('2,000', ...) read as numbers (2000)"]


def _grid(path, cells, sep=";"):
    """A one-read 96-well grid whose wells A01, A02... hold ``cells`` (written as given), then ``1``."""
    values = list(cells) + ["1"] * (96 - len(cells))
    lines = ["Label: Lum", "<>" + sep + sep.join(str(c) for c in range(1, 13))]
    lines += [letter + sep + sep.join(values[12 * r : 12 * r + 12]) for r, letter in enumerate(ROWS96)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _values(path):
    return read_plate_reader(path).reads[0].table.set_index("well")["value"]


def test_a_thousands_point_nothing_in_a_semicolon_file_explains_is_refused(tmp_path):
    """German Excel writes 10300 as '10.300': read as 10.3 beside '340' it turned killers inactive."""
    path = _grid(tmp_path / "de.csv", ["10.300", "340", "2.020"])
    with pytest.raises(AcquisitionError) as info:
        read_plate_reader(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line 3: '10.300' could be 10300 or 10.3 ") and "\n" not in message
    assert "without thousands separators" in message
    (tmp_path / "list.csv").write_text("Well;Lum\n" + "".join(f"{ROWS96[k // 12]}{k % 12 + 1:02d};"
                                                             f"{'2.020' if k == 5 else 340 + k}\n" for k in range(96)))
    with pytest.raises(AcquisitionError, match=r"list\.csv: line 7: '2\.020' could be 2020 or 2\.02 "):
        read_plate_reader(tmp_path / "list.csv")


def test_thousands_points_in_a_file_of_decimal_commas_are_thousands(tmp_path):
    values = _values(_grid(tmp_path / "dec.csv", ["10.300,0", "339,7", "2.020,5", "10.300"]))
    assert values[["A01", "A02", "A03", "A04", "A05"]].tolist() == [10300.0, 339.7, 2020.5, 10300.0, 1.0]
    exp = read_plate_reader(tmp_path / "dec.csv")
    assert exp.notes == ["3 reading(s) written with thousands separators ('10.300,0', ...) read as numbers (10300)"]
    # a number with two thousands points says so as well as a decimal comma does
    values = _values(_grid(tmp_path / "big.csv", ["10.300", "1.234.567", "340"]))
    assert values[["A01", "A02", "A03"]].tolist() == [10300.0, 1234567.0, 340.0]


def test_decimal_points_in_a_semicolon_or_tab_file_settle_what_1_234_is(tmp_path):
    """Absorbances: a leading '0.', or more than three decimals, makes '1.234' a one (US files unaffected)."""
    for cells in (["0.523", "1.234", "2.500"], ["1.2345", "1.234"], ["1,234.5", "1.234"]):
        assert _values(_grid(tmp_path / "abs.csv", cells))["A02"] == 1.234, cells
    assert _values(_grid(tmp_path / "abs.csv", ["0.523", "1.234"]))[["A01", "A02"]].tolist() == [0.523, 1.234]
    assert _values(_grid(tmp_path / "us.txt", ["1.234", "2.500"], sep="\t"))["A01"] == 1.234  # tab: points
    # a US tab-separated file: its decimal point makes '2,602' a thousand (once read as 2.602)
    exp = read_plate_reader(_grid(tmp_path / "us.txt", ["2,602", "0.5", "12,345.6"], sep="\t"))
    assert exp.reads[0].table.set_index("well")["value"][["A01", "A02", "A03"]].tolist() == [2602.0, 0.5, 12345.6]
    assert exp.notes == ["2 reading(s) written with thousands separators ('2,602', ...) read as numbers (2602)"]
    with pytest.raises(AcquisitionError, match=r"us\.txt: line 3: '2,602' could be 2602 or 2\.602 "):
        read_plate_reader(_grid(tmp_path / "us.txt", ["2,602", "340"], sep="\t"))
    with pytest.raises(AcquisitionError, match=r"mixed\.csv: line 3: '1\.234' could be 1234 or 1\.234 .* both a "
                                               r"decimal point \('0\.5'\) and a decimal comma \('0,5'\)"):
        read_plate_reader(_grid(tmp_path / "mixed.csv", ["1.234", "0.5", "0,5"]))


def test_saturated_readings_are_listed_by_well(tmp_path):
    exp = read_plate_reader(tecan_text(tmp_path / "tecan.txt", saturated="B02"))
    assert exp.reads[0].saturated == [("B02", pytest.approx(math.nan, nan_ok=True))]
    assert math.isnan(exp.reads[0].table.set_index("well").loc["B02", "value"])
    table, _ = plate_reads_table(exp, plate_ids=["P1"])
    assert table.loc[table["saturated"], "well"].tolist() == ["B02"] and table["saturated"].sum() == 1
