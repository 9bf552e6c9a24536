"""Layout text files as European and US Excel save them: number notation, µ spellings, title lines, encodings."""

import math

import openpyxl
import pytest

from ferroscreen.errors import LayoutError
from ferroscreen.plate import read_layout
from ferroscreen.plate.layout_records import is_layout_column

SEMICOLON = "Well;Compound;Concentration;Unit\r\nA01;DMSO;;\r\n"


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def conc(path):
    return read_layout(path).table.set_index("well")["concentration"]


def one_line_error(path, match):
    with pytest.raises(LayoutError, match=match) as info:
        read_layout(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    return str(info.value)


def test_a_point_between_thousands_beside_decimal_commas_is_a_thousand(tmp_path):
    p = write(tmp_path, "de.csv", SEMICOLON + "A02;RSL3;1.000;nM\r\nA03;RSL3;62,5;nM\r\nA04;RSL3;2.500,5;nM\r\n")
    assert conc(p)[["A02", "A03", "A04"]].tolist() == pytest.approx([1e-6, 62.5e-9, 2500.5e-9])


def test_a_molecular_weight_with_a_thousands_point_in_a_decimal_comma_file(tmp_path):
    p = write(tmp_path, "mw.csv", "Well;Compound;Concentration;Unit;MW\r\nA01;DMSO;;;\r\n"
                                  "A02;TNFa;12,5;ng/ml;17.350\r\nA03;TNFa;10;ng/ml;17.350\r\n")
    t = read_layout(p).table.set_index("well")
    assert float(t.loc["A02", "mw"]) == 17350
    assert t.loc["A02", "concentration"] == pytest.approx(12.5e-6 / 17350)
    assert t.loc["A03", "concentration"] == pytest.approx(10e-6 / 17350)


def test_a_thousands_separator_nothing_in_the_file_explains_is_refused(tmp_path):
    p = write(tmp_path, "de.csv", SEMICOLON + "A02;RSL3;1.000;nM\r\nA03;RSL3;500;nM\r\n")
    one_line_error(p, r"de\.csv:3: column 'Concentration': '1\.000' could be 1000 or 1 ")
    p = write(tmp_path, "mw.csv", "Well;Compound;Concentration;Unit;MW\r\nA02;TNFa;10;ng/ml;17.350\r\n")
    one_line_error(p, r"mw\.csv:2: column 'MW': '17\.350' could be 17350 or 17\.35 ")
    p = write(tmp_path, "us.txt", "Well\tCompound\tConcentration\tUnit\nA02\tRSL3\t1,000\tnM\nA03\tRSL3\t500\tnM\n")
    one_line_error(p, r"us\.txt:2: column 'Concentration': '1,000' could be 1000 or 1 ")


def test_a_us_tab_file_reads_a_comma_between_thousands(tmp_path):
    p = write(tmp_path, "us.txt", "Well\tCompound\tConcentration\tUnit\nA02\tRSL3\t1,000\tnM\nA03\tRSL3\t2.5\tnM\n"
                                  "A04\tRSL3\t12,500,000\tpM\n")
    assert conc(p)[["A02", "A03", "A04"]].tolist() == pytest.approx([1e-6, 2.5e-9, 12.5e-6])
    p = write(tmp_path, "de.txt", "Well\tCompound\tConcentration\tUnit\nA02\tRSL3\t62,5\tnM\nA03\tRSL3\t1\tµM\n")
    assert conc(p)[["A02", "A03"]].tolist() == pytest.approx([62.5e-9, 1e-6])  # a tab file of decimal commas


def test_a_column_mixing_decimal_points_and_commas_is_refused(tmp_path):
    p = write(tmp_path, "mixed.csv", SEMICOLON + "A02;RSL3;2,5;µM\r\nA03;RSL3;62.5;nM\r\n")
    message = one_line_error(p, r"mixed\.csv:4: column 'Concentration': '62\.5' writes a decimal point where")
    assert "'2,5'" in message
    p = write(tmp_path, "cells.csv", "Well;Compound;Concentration\r\nA02;RSL3;0,5 µM\r\nA03;RSL3;1.5 µM\r\n")
    one_line_error(p, r"cells\.csv:3: column 'Concentration': '1\.5' writes a decimal point")


def test_micro_sign_greek_mu_and_u_are_one_unit(tmp_path):
    p = write(tmp_path, "mu.csv", "Well;Compound;Concentration (µM);Unit\r\nA01;DMSO;;\r\nA02;RSL3;0,5;μM\r\n"
                                  "A03;RSL3;1;uM\r\n")
    assert conc(p)[["A02", "A03"]].tolist() == pytest.approx([0.5e-6, 1e-6])
    p = write(tmp_path, "cell.csv", "Well;Compound;Concentration;Unit\r\nA02;RSL3;0,5 μM;µM\r\n")
    assert conc(p)["A02"] == pytest.approx(0.5e-6)
    p = write(tmp_path, "other.csv", "Well;Compound;Concentration (µM);Unit\r\nA02;RSL3;0,5;nM\r\n")
    one_line_error(p, r"other\.csv:2: column 'Concentration \(µM\)': units disagree \(µM vs nM\)")


def test_a_title_with_commas_above_a_semicolon_table(tmp_path):
    p = write(tmp_path, "title.csv", "HT1080, 5000 Zellen/Well, 72 h;;;\r\n" + SEMICOLON + "A02;RSL3;0,5;uM\r\n")
    assert conc(p)["A02"] == pytest.approx(0.5e-6)
    def grid(name, a1, a2):
        return "\n".join([";".join([name, *map(str, range(1, 13))]), f"A;{a1};{a2}" + ";" * 10, *"BCDEFGH"]) + "\n"

    p = write(tmp_path, "grid.csv", "Plate 1, HT1080, 72 h\n" + grid("compound", "DMSO", "RSL3") + "\n"
              + grid("concentration (uM)", "", "0,5"))
    assert conc(p)["A02"] == pytest.approx(0.5e-6)


def test_a_dose_column_not_read_as_one_is_named(tmp_path):
    p = write(tmp_path, "menge.csv", "Well;Compound;Menge (µM)\r\nA01;DMSO;\r\nA02;RSL3;0,5\r\n")
    lay = read_layout(p)
    assert math.isnan(lay.table.set_index("well").loc["A02", "concentration"])
    said = [n for n in lay.notes if "Menge (µM)" in n]
    assert len(said) == 1 and "menge.csv" in said[0] and "'concentration (µM)'" in said[0]
    p = write(tmp_path, "applied.csv", "Well;Compound;Applied\r\nA02;RSL3;0,5 µM\r\nA03;RSL3;1 µM\r\n")
    assert any("column 'Applied'" in n for n in read_layout(p).notes)
    p = write(tmp_path, "fine.csv", "Well;Compound;Concentration (µM);Stock (mM)\r\nA02;RSL3;0,5;10\r\n")
    assert not read_layout(p).notes  # with a dose column, another column in mM is no dose left unread


def test_molecular_weight_grids_are_layout_columns(tmp_path):
    assert is_layout_column("mw") and is_layout_column("MW (g/mol)") and is_layout_column("rescue_mw")
    book = openpyxl.Workbook()
    sheets = {"compound": ["TNFa", "DMSO"], "concentration": [10, None], "unit": ["ng/ml", None],
              "mw": [17350, None]}
    for k, (title, cells) in enumerate(sheets.items()):
        sheet = book.active if k == 0 else book.create_sheet()
        sheet.title = title
        sheet.append([None, *range(1, 13)])
        for row in "ABCDEFGH":
            sheet.append([row, *(cells if row == "A" else [])])
    book.save(tmp_path / "grids.xlsx")
    t = read_layout(tmp_path / "grids.xlsx").table.set_index("well")
    assert t.loc["A01", "concentration"] == pytest.approx(10e-6 / 17350)


def test_a_micro_sign_another_encoding_mangled_gets_a_hint(tmp_path):
    p = write(tmp_path, "msdos.csv", SEMICOLON + "A02;RSL3;0,5;µM\r\n", encoding="cp850")
    message = one_line_error(p, r"msdos\.csv:3: column 'Unit': unknown unit 'æM'")
    assert "UTF-8" in message
    p = write(tmp_path, "header.csv", "Well;Compound;Concentration (µM)\r\nA02;RSL3;0,5\r\n", encoding="cp850")
    assert "UTF-8" in one_line_error(p, r"header\.csv:1: column 'Concentration \(æM\)': unknown unit 'æM'")


def test_a_german_plate_map_reads_as_its_english_twin(tmp_path):
    """Konzentration, Substanz, Rolle... gave 'not a layout' (no well and layout column recognised)."""
    from ferroscreen.plate import read_layout

    path = tmp_path / "de.csv"
    path.write_bytes("Well;Substanz;Konzentration (µM);Einheit;Rolle;Replikat;Zelllinie;Mode\r\n"
                     "A01;DMSO;;;Vehikel;1;HT1080;\r\nA02;RSL3;0,5;;Probe;1;HT1080;\r\n"
                     "A03;RSL3;1.000;;;2;HT1080;\r\nA04;Staurosporin;1;;Referenz;1;HT1080;apoptosis\r\n"
                     "A05;;;;Leer;1;HT1080;\r\nA06;Erastin;10;;Positivkontrolle;1;HT1080;\r\n"
                     "A07;DMSO;;;Kontrolle;1;HT1080;\r\n".encode("cp1252"))
    table = read_layout(path).table.set_index("well")
    assert table["role"].to_dict() == {"A01": "vehicle", "A02": "sample", "A03": "sample", "A04": "reference",
                                       "A05": "empty", "A06": "pos_ctrl", "A07": "vehicle"}
    assert table.loc["A02", "concentration"] == pytest.approx(5e-7) and table.loc["A03", "concentration"] == 1e-3
    assert table.loc["A03", "replicate"] == 2 and table.loc["A01", "cell_line"] == "HT1080"


def test_a_concentration_with_thousands_commas_and_a_unit(tmp_path):
    """'10,000.00 nM': its decimal point says what the column's '1,000' is; beside '62,5' it is refused."""
    p = write(tmp_path, "us.txt", "Well\tCompound\tConcentration\nA02\tRSL3\t10,000.00 nM\nA03\tRSL3\t1,000 nM\n")
    assert conc(p)[["A02", "A03"]].tolist() == pytest.approx([10e-6, 1e-6])
    p = write(tmp_path, "mixed.csv", "Well;Compound;Concentration\r\nA02;RSL3;62,5 nM\r\nA03;RSL3;10,000.00 nM\r\n")
    message = one_line_error(p, r"mixed\.csv:3: column 'Concentration': '10,000\.00' writes a decimal point where")
    assert "'62,5'" in message  # once read as 10 nM
