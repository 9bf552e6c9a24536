"""Plate-reader exports: plate ids in headers name the plates; shifted rows, wavelength reads, wording.

The export files are written as the instruments write them (BMG MARS, Tecan Spark, Gen5, EnVision,
SoftMax Pro), small and synthetic.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.cli import app, main
from ferroscreen.errors import AcquisitionError
from ferroscreen.io.plate_reader import plate_reads_table, read_plate_reader

ROWS96 = "ABCDEFGH"
DOSES = np.logspace(-10, -5, 10)  # M, columns 2..11
VEHICLE, BLANK = 50000.0, 1500.0


def _value(row: int, col: int, read: int = 0) -> float:
    return 1000.0 * (read + 1) + 13 * row + col


def _grid_lines(sep: str, values=lambda r, c: _value(r, c), corner: str = "") -> list[str]:
    lines = [corner + sep + sep.join(str(c) for c in range(1, 13))]
    lines += [letter + sep + sep.join(f"{values(r, c):.0f}" for c in range(12)) for r, letter in enumerate(ROWS96)]
    return lines


def mars_text(path, plate_id: str, values=lambda r, c: _value(r, c), id2: str = "72h"):
    """A BMG MARS (PHERAstar) export: ``ID1: <plate>`` in one cell, then a ``;`` grid under ``Raw Data (LUM)``."""
    head = ["User: USER", r"Path: C:\Program Files (x86)\BMG\PHERAstar FSX\User\Data", "Test ID: 77",
            "Test Name: CTG", "Date: 11.05.2024", "Time: 09:12:01", f"ID1: {plate_id}", f"ID2: {id2}", "ID3: ",
            "Luminescence", "", "Raw Data (LUM)"]
    path.write_text("\n".join([*head, *_grid_lines(";", values)]) + "\n", encoding="utf-8")
    return path


def spark_text(path, plate_id: str = "CTG-R1", rows: list[str] | None = None):
    """A Tecan Spark export: ``Plate-ID (Stacker);<id>``, ``Label: Lum``, a ``<>`` grid with ``;``."""
    head = ["Application: Tecan i-control", "Device: Spark;Serial number: 1711003521", "Date:;10.05.2024",
            "Plate;Greiner 96 Flat Bottom White Polystyrene", f"Plate-ID (Stacker);{plate_id}", "Lid lifter;No", "",
            "Label: Lum", "Mode;Luminescence", "Integration time;1000;ms", "", "Temperature: 24,3 °C", ""]
    grid = rows if rows is not None else _grid_lines(";", corner="<>")
    path.write_text("\n".join([*head, *grid, "", "End Time:;10.05.2024 14:24:40"]) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ plate ids in headers


def test_mars_id1_names_the_plate_and_id2_does_not(tmp_path):
    exp = read_plate_reader(mars_text(tmp_path / "run_0423.csv", "HT1080_R2"))
    read = exp.reads[0]
    assert (read.plate, read.plate_field, read.label) == ("HT1080_R2", "ID1", "Raw Data (LUM)")
    assert "plate HT1080_R2 from 'ID1'" in read.describe()
    table, _ = plate_reads_table(exp, plate_ids=["HT1080_R1", "HT1080_R2"])
    assert set(table["plate"]) == {"HT1080_R2"} and table.attrs["plate_names"] == {"HT1080_R2": "ID1"}
    blank = read_plate_reader(mars_text(tmp_path / "blank.csv", "", id2="HT1080_R1")).reads[0]
    assert blank.plate == "" and blank.plate_field == ""  # ID1 left blank: no plate name (ID2 is no plate id)


def test_tecan_gen5_and_envision_header_fields_name_the_plate(tmp_path):
    spark = read_plate_reader(spark_text(tmp_path / "spark_rep1.csv")).reads[0]
    assert (spark.plate, spark.plate_field, spark.label) == ("CTG-R1", "Plate-ID (Stacker)", "Lum")

    gen5 = tmp_path / "gen5.txt"
    gen5.write_text("\n".join(["Software Version\t3.11.19", "", "Plate Number\tPlate 2", "Date\t5/10/2024",
                               "", "Results", *_grid_lines("\t")]) + "\n")
    read = read_plate_reader(gen5).reads[0]
    assert (read.plate, read.plate_field) == ("Plate 2", "Plate Number")

    envision = tmp_path / "envision.csv"  # a grid export: the barcode only in the plate-information table
    envision.write_text("\n".join(["Plate information", "Plate,Repeat,Barcode,Measured height,Formula",
                                   '1,1,="PLT0042",11.50,Calc 1', "", "Results", *_grid_lines(",")]) + "\n")
    read = read_plate_reader(envision).reads[0]
    assert (read.plate, read.plate_field) == ("PLT0042", "Barcode")


def test_each_plate_of_a_file_takes_the_id_above_it(tmp_path):
    path = tmp_path / "stack.csv"
    one = ["Plate-ID (Stacker);S-01", "Label: Lum", *_grid_lines(";", corner="<>"), ""]
    two = ["Plate-ID (Stacker);S-02", "Label: Lum", *_grid_lines(";", lambda r, c: _value(r, c, 1), "<>"), ""]
    path.write_text("\n".join([*one, *two]) + "\n")
    table, _ = plate_reads_table(read_plate_reader(path), plate_ids=["S-02", "S-01"])
    assert table.groupby("plate")["value"].min().to_dict() == {"S-01": 1000.0, "S-02": 2000.0}

    alike = tmp_path / "alike.csv"  # one header over two grids of one read: it cannot name both
    alike.write_text("\n".join(["ID1: ONE", "Raw Data (LUM)", *_grid_lines(";"), "", "Raw Data (LUM)",
                                *_grid_lines(";", lambda r, c: _value(r, c, 1))]) + "\n")
    table, notes = plate_reads_table(read_plate_reader(alike), plate_ids=["X", "Y"])
    assert list(pd.unique(table["plate"])) == ["X", "Y"] and "its header names each plate ONE" in notes[-1]
    assert table.attrs["plate_names"] == {"X": "layout order", "Y": "layout order"}


# ------------------------------------------------------------------ shifted rows


def test_a_shifted_or_extra_value_row_is_refused(tmp_path):
    grid = _grid_lines(";", corner="<>")
    shifted = [*grid[:5], "E;;" + grid[5][2:], *grid[6:]]  # an empty cell after the letter
    with pytest.raises(AcquisitionError, match=r"shifted\.csv: line \d+: row 'E' has a value beyond the grid's 12 "
                                               r"columns \('1063'\): a cell added or shifted"):
        read_plate_reader(spark_text(tmp_path / "shifted.csv", rows=shifted))
    extra = [*grid[:5], grid[5] + ";512", *grid[6:]]  # a 13th value
    with pytest.raises(AcquisitionError, match=r"extra\.csv: line \d+: row 'E' .*\('512'\)"):
        read_plate_reader(spark_text(tmp_path / "extra.csv", rows=extra))
    gap = [*grid[:5], grid[5] + ";;512", *grid[6:]]  # beyond a blank cell too
    with pytest.raises(AcquisitionError, match=r"row 'E' .*\('512'\)"):
        read_plate_reader(spark_text(tmp_path / "gap.csv", rows=gap))
    part = ["<>;2;3;4", "B;1;2;3", "C;4;5;6;7", "D;7;8;9"]  # a part-of-plate grid (Tecan)
    with pytest.raises(AcquisitionError, match=r"row 'C' has a value beyond the grid's 3 columns \('7'\)"):
        read_plate_reader(spark_text(tmp_path / "part.csv", rows=part))


def test_trailing_blanks_labels_and_wavelength_names_still_read(tmp_path):
    grid = _grid_lines(";", corner="<>")
    blanks = [grid[0], *(line + ";;" for line in grid[1:])]
    values = read_plate_reader(spark_text(tmp_path / "blanks.csv", rows=blanks)).reads[0].table.set_index("well")
    assert values.loc["E05", "value"] == _value(4, 4) and values["value"].notna().all()
    named = [grid[0], *(line + ";Lum" for line in grid[1:])]  # a text label beside each row
    assert read_plate_reader(spark_text(tmp_path / "named.csv", rows=named)).reads[0].label == "Lum"
    gen5 = tmp_path / "gen5.txt"  # a single Gen5 read named by its wavelength on every row
    gen5.write_text("\n".join(["Results", *(line.replace(";", "\t") + ("\t570" if k else "\t")
                                            for k, line in enumerate(grid))]) + "\n")
    values = read_plate_reader(gen5).reads[0].table.set_index("well")["value"]
    assert values["H12"] == _value(7, 11) and len(values) == 96


# ------------------------------------------------------------------ reads by wavelength, wording


def softmax_two_wavelengths(path):
    numbers = "\t".join(map(str, range(1, 13)))
    lines = ["##BLOCKS= 1", "Plate:\tPlate1\t1.3\tPlateFormat\tEndpoint\tAbsorbance\tRaw\tFALSE\t1\t\t\t\t\t\t2\t"
             "490 680\t1\t12\t96\t1\t8\tNone", f"\tTemperature(°C)\t{numbers}\t\t{numbers}"]
    for r in range(8):
        first = "\t".join(f"{_value(r, c, 0) / 1e4:.4f}" for c in range(12))
        second = "\t".join(f"{_value(r, c, 1) / 1e4:.4f}" for c in range(12))
        lines.append(f"\t{'23.60' if r == 0 else ''}\t{first}\t\t{second}\t")
    path.write_text("\n".join([*lines, "", "~End"]) + "\n", encoding="utf-16")
    return path


def test_softmax_reads_are_named_and_taken_by_wavelength(tmp_path):
    exp = read_plate_reader(softmax_two_wavelengths(tmp_path / "ldh.txt"))
    assert [r.label for r in exp.reads] == ["Plate1 490 nm", "Plate1 680 nm"]
    assert {r.plate for r in exp.reads} == {"Plate1"}  # the section name, the file's only one
    for read, run in (("490", 0), ("680", 1), ("2", 1), ("680 nm", 1)):
        table, notes = plate_reads_table(exp, read=read)
        assert table.attrs["read_label"] == exp.reads[run].label, read
        assert table.set_index("well").loc["A01", "value"] == pytest.approx(_value(0, 0, run) / 1e4)
        assert not any("not read number" in n for n in notes)
    with pytest.raises(AcquisitionError, match="--read 5: there are 2 reads"):
        plate_reads_table(exp, read="5")


def test_a_number_that_is_a_read_name_and_another_reads_number_is_said(tmp_path):
    path = tmp_path / "gen5.txt"
    lines = ["Results", "\t1\t2\t3"]
    for r, letter in enumerate("AB"):
        lines.append(f"{letter}\t" + "\t".join(str(_value(r, c, 0)) for c in range(3)) + "\t2")
        lines.append("\t" + "\t".join(str(_value(r, c, 1)) for c in range(3)) + "\t1")
    path.write_text("\n".join(lines) + "\n")
    exp = read_plate_reader(path)
    assert [r.label for r in exp.reads] == ["2", "1"]
    table, notes = plate_reads_table(exp, read="2")
    assert table.attrs["read_label"] == "2"
    assert "--read 2 taken as the read of that name, '2', not read number 2 ('1')" in notes


def test_read_errors_name_the_option_and_count_reads_in_english(tmp_path):
    exp = read_plate_reader(spark_text(tmp_path / "one.csv"))
    with pytest.raises(AcquisitionError, match=r"one\.csv: --read 5: there is 1 read; its reads: 1: 'Lum'"):
        plate_reads_table(exp, read="5")
    with pytest.raises(AcquisitionError, match=r"--dead-read Nope names no read"):
        plate_reads_table(exp, read="Nope", option="--dead-read")


# ------------------------------------------------------------------ fit: plates matched by their ids


def _run(monkeypatch, capsys, *argv):
    monkeypatch.setattr(sys, "argv", ["ferroscreen", *map(str, argv)])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, capsys.readouterr().err


def _two_plate_screen(tmp_path):
    """Layout plates R1 (compound Alpha, EC50 0.1 uM) and R2 (Beta, 1 uM); exports named apart from the plates."""
    layout = ["plate_id,well,compound,concentration,unit,role"]
    signal = {}
    for plate, name, ec50 in (("HT1080_R1", "Alpha", 1e-7), ("HT1080_R2", "Beta", 1e-6)):
        for letter in ROWS96:
            layout.append(f"{plate},{letter}1,DMSO,0,uM,vehicle")
            layout.append(f"{plate},{letter}12,,,,empty")
            layout += [f"{plate},{letter}{c},{name},{DOSES[c - 2] * 1e6:.6g},uM,sample" for c in range(2, 12)]
        signal[plate] = lambda r, c, e=ec50: BLANK + (0 if c == 11 else VEHICLE if c == 0 else
                                                      VEHICLE / (1 + DOSES[c - 1] / e))
    (tmp_path / "layout.csv").write_text("\n".join(layout) + "\n")
    return tmp_path / "layout.csv", signal


def test_fit_matches_plates_by_their_header_ids_not_file_order(tmp_path):
    layout, signal = _two_plate_screen(tmp_path)
    first = mars_text(tmp_path / "run_0423.csv", "HT1080_R2", signal["HT1080_R2"])  # R2 given first
    second = mars_text(tmp_path / "run_0424.csv", "HT1080_R1", signal["HT1080_R1"])
    res = CliRunner().invoke(app, ["fit", str(first), str(second), "--layout", str(layout), "--endpoint-h", "72",
                                   "--out", str(tmp_path / "res")])
    assert res.exit_code == 0, res.output
    assert "plate order" not in res.output
    fits = pd.read_csv(tmp_path / "res" / "fits.csv").set_index("curve")
    assert fits.loc["Alpha", "ec50"] == pytest.approx(1e-7, rel=0.1)
    assert fits.loc["Beta", "ec50"] == pytest.approx(1e-6, rel=0.1)
    plates = json.loads((tmp_path / "res" / "provenance.json").read_text())["fit"]["plates"]
    assert [(p["plate"], p["named_by"], p["layout_plate"], p["matched_by"]) for p in plates] == [
        ("HT1080_R2", "ID1", "HT1080_R2", "name"), ("HT1080_R1", "ID1", "HT1080_R1", "name")]


def test_header_ids_that_are_not_the_layouts_are_refused_not_taken_in_order(tmp_path, monkeypatch, capsys):
    layout, signal = _two_plate_screen(tmp_path)
    files = [spark_text(tmp_path / "a.csv", "XX_9", _grid_lines(";", signal["HT1080_R2"], corner="<>")),
             spark_text(tmp_path / "b.csv", "XX_8", _grid_lines(";", signal["HT1080_R1"], corner="<>"))]
    code, err = _run(monkeypatch, capsys, "fit", *files, "--layout", layout, "--out", tmp_path / "never")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert ("the exports' plate ids (a.csv: XX_9 from Plate-ID (Stacker), b.csv: XX_8 from Plate-ID (Stacker)) are "
            "none of the layout's plates (HT1080_R1, HT1080_R2)") in err  # stacker barcodes: never taken in order
    assert not (tmp_path / "never").exists()


def test_free_text_header_ids_that_are_not_the_layouts_are_taken_in_file_order(tmp_path, monkeypatch, capsys):
    """MARS's ID1 holds whatever the user typed (a date, a name): as a file name, matched in order and said."""
    layout, signal = _two_plate_screen(tmp_path)
    files = [mars_text(tmp_path / "a.csv", "11.05.2024", signal["HT1080_R1"]),
             mars_text(tmp_path / "b.csv", "jsmith", signal["HT1080_R2"])]
    res = CliRunner().invoke(app, ["fit", *map(str, files), "--layout", str(layout), "--endpoint-h", "72",
                                   "--out", str(tmp_path / "res")])
    assert res.exit_code == 0, res.output
    assert "plate 'jsmith' (its ID1 in the export) taken as the layout's plate HT1080_R2" in res.output
    plates = json.loads((tmp_path / "res" / "provenance.json").read_text())["fit"]["plates"]
    assert [(p["named_by"], p["layout_plate"], p["matched_by"]) for p in plates] == [
        ("ID1", "HT1080_R1", "file order"), ("ID1", "HT1080_R2", "file order")]

    twice = [mars_text(tmp_path / "c.csv", "HT1080_R1", signal["HT1080_R1"]),
             mars_text(tmp_path / "d.csv", "HT1080_R1", signal["HT1080_R2"])]
    code, err = _run(monkeypatch, capsys, "fit", *twice, "--layout", layout, "--out", tmp_path / "never")
    assert code == 2 and "d.csv: plate 'HT1080_R1' is also in" in err and "layout's plate HT1080_R1" in err


def test_plates_named_by_files_in_layout_order_are_recorded(tmp_path):
    layout, signal = _two_plate_screen(tmp_path)
    files = [mars_text(tmp_path / "s1.csv", "", signal["HT1080_R1"]),
             mars_text(tmp_path / "s2.csv", "", signal["HT1080_R2"])]
    res = CliRunner().invoke(app, ["fit", *map(str, files), "--layout", str(layout), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "s1.csv: plate 's1' taken as the layout's plate HT1080_R1 (files in the layout's plate order)" in res.output
    plates = json.loads((tmp_path / "o" / "provenance.json").read_text())["fit"]["plates"]
    assert [(p["plate"], p["named_by"], p["layout_plate"], p["matched_by"]) for p in plates] == [
        ("s1", "file name", "HT1080_R1", "file order"), ("s2", "file name", "HT1080_R2", "file order")]


def test_dead_read_errors_name_dead_read(tmp_path, monkeypatch, capsys):
    layout, signal = _two_plate_screen(tmp_path)
    one_plate = tmp_path / "one_plate.csv"
    one_plate.write_text("".join(line for line in layout.read_text().splitlines(keepends=True) if "_R2," not in line))
    data = mars_text(tmp_path / "one.csv", "HT1080_R1", signal["HT1080_R1"])
    code, err = _run(monkeypatch, capsys, "fit", data, "--layout", one_plate, "--read", "1", "--dead-read", "Nope",
                     "--out", tmp_path / "never")
    assert code == 2 and "one.csv: --dead-read Nope names no read" in err and "--read Nope" not in err
