"""Plate-shaped layouts (grids) in CSV files and layouts in Excel workbooks."""

import math

import openpyxl
import pytest

from ferroscreen.errors import LayoutError
from ferroscreen.io.inspection import inspect_path
from ferroscreen.plate import read_layout
from ferroscreen.plate.layout_records import NotALayout

ROWS = "ABCDEFGH"
DOSES_UM = ["", "0.01", "0.03", "0.1", "0.3", "1", "3", "10", "", "", "", ""]


def grid(name, cell, rows=ROWS, cols=12, sep=","):
    """One grid: ``name,1..cols`` then a row per label with ``cell(row, col)`` (0-based col)."""
    lines = [sep.join([name] + [str(c) for c in range(1, cols + 1)])]
    lines += [sep.join([r] + [cell(r, c) for c in range(cols)]) for r in rows]
    return "\n".join(lines) + "\n"


def compound(r, c):
    if c == 0:
        return "DMSO"
    if c >= 8:
        return "blank" if r in "GH" and c == 11 else ""
    return "RSL3" if r in "ABCD" else "Erastin"


def long_csv(tmp_path):
    """The same plate as the grids, as a layout table."""
    lines = ["well,compound,concentration,unit"]
    for r in ROWS:
        for c in range(12):
            name, dose = compound(r, c), DOSES_UM[c]
            if name:
                lines.append(f"{r}{c + 1},{name},{dose},{'uM' if dose else ''}")
    p = tmp_path / "long.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def grid_text():
    return ("Plate map, NALM6 72 h\n\n" + grid("Compound", compound) + "\n"
            + grid("Concentration (uM)", lambda r, c: DOSES_UM[c]) + "\n"
            + "role\n" + grid("", lambda r, c: "vehicle" if c == 0 else "") + "\n")


def comparable(layout):
    t = layout.table.sort_values("well").reset_index(drop=True)
    return t[["well", "compound", "concentration", "role", "mode", "replicate"]]


def test_grid_csv_reads_as_the_same_layout_as_the_table(tmp_path):
    p = tmp_path / "plate7.csv"
    p.write_text(grid_text())
    lay = read_layout(p)
    assert lay.form == "grid" and lay.plate_format.n_wells == 96 and lay.plate_ids == ["plate7"]
    t = lay.well_table()
    assert t.loc["B03", "compound"] == "RSL3" and t.loc["B03", "concentration"] == pytest.approx(3e-8)
    assert t.loc["E08", "compound"] == "Erastin" and t.loc["E08", "concentration"] == pytest.approx(1e-5)
    assert t.loc["C01", "role"] == "vehicle" and math.isnan(t.loc["C01", "concentration"])
    assert t.loc["H12", "role"] == "empty"  # 'blank' without a role is a well without cells
    assert "A12" not in t.index  # empty in every grid: not in the layout
    assert comparable(lay).equals(comparable(read_layout(long_csv(tmp_path))))


def test_grid_semicolons_decimal_commas_units_in_cells_and_384_wells(tmp_path):
    rows = [chr(ord("A") + i) for i in range(16)]
    text = (grid("drug", lambda r, c: "volasertib" if c else "DMSO", rows, 24, ";") + "\n"
            + grid("dose", lambda r, c: f"{c},5 nM" if c else "", rows, 24, ";")
            + "\n" + grid("Cell line", lambda r, c: "REH" if r < "I" else "NALM6", rows, 24, ";"))
    p = tmp_path / "p384.txt"
    p.write_text(text)
    lay = read_layout(p)
    t = lay.well_table()
    assert lay.plate_format.n_wells == 384 and len(t) == 384
    assert t.loc["P24", "concentration"] == pytest.approx(23.5e-9) and t.loc["P24", "cell_line"] == "NALM6"
    assert t.loc["A01", "role"] == "vehicle" and t.loc["A02", "unit"] == "nM"


@pytest.mark.parametrize("text, fragments", [
    (grid("compound", compound) + "\n" + grid("concentration", lambda r, c: DOSES_UM[c]),
     [":12:", "grid 'concentration', well A02", "without a unit"]),
    (grid("compound", compound) + "\n" + grid("concentration (nM)", lambda r, c: DOSES_UM[c] and DOSES_UM[c] + " uM"),
     [":12:", "well A02", "units disagree (uM vs nM)"]),
    (grid("compound", compound) + "\n" + grid("role", lambda r, c: "control" if c == 3 else ""),
     [":12:", "grid 'role', well A04", "role 'control' does not say which"]),
    (grid("compound", compound, rows="ABCDEFGHI"), [":10:", "row 'I' is beyond a 96-well plate"]),
    (grid("compound", compound, rows="ABCA"), [":5:", "row 'A' given twice", "first at"]),
    (grid("compound", compound) + "\n" + grid("compound", compound), [":11:", "grid 'compound' given twice"]),
    (grid("compound", compound) + "\n" + grid("role", lambda r, c: "", rows="ABCDEFGHIJKLMNOP", cols=24),
     [":11:", "384-well plate", "96-well"]),
    (grid("compound", compound) + "\nC,RSL3,RSL3\n", [":11:", "plate row 'C' outside any grid"]),
    (grid("compound", compound) + "\n" + grid("well", compound), [":11:", "cannot be named 'well'"]),
    (grid("compound", compound) + "\nC,RSL3,RSL3\n", [":11:", "plate row 'C' outside any grid"]),
    (grid("compound", compound, rows="ABDEFGH"), [":1:", "grid 'compound' has no row C"]),
    (grid("compound", compound, rows="ABCDEF"), [":1:", "has no row G", "rows A-H in order"]),
    (grid("compound", compound).replace("\nH,DMSO,", "\nH,DMSO,X,", 1), [":9:", "row 'H'", "beyond its 12 plate"]),
    (grid("compound", compound) + "\n" + grid("conc (mg)", lambda r, c: "1"), [":11:", "unknown unit 'mg'"]),
    (grid("Gene", compound) + "\n" + grid("Drug", compound), [":11:", "'Gene' and 'Drug' could both be 'compound'"]),
    ("Label: Lum\n" + grid("<>", lambda r, c: "100"), [":", "plate grids ('Label: Lum') but none names a layout"]),
    (",1,2,3,4,5,6,7,8,9,10,11,12\nA,DMSO\n", ["plate grids (unnamed) but none names a layout column"]),
    (grid("compound", compound) + "\n\n" + grid("", compound), [":12:", "grid without a name"]),
])
def test_grid_errors_name_line_grid_and_well(tmp_path, text, fragments):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(LayoutError) as exc:
        read_layout(p)
    msg = str(exc.value)
    assert msg.startswith(str(p)) and "\n" not in msg
    for frag in fragments:
        assert frag in msg, msg


def _sheet(book, title, rows):
    ws = book.create_sheet(title)
    for row in rows:
        ws.append(row)
    return ws


def _grid_rows(name, cell):
    return [[name, *range(1, 13)]] + [[r] + [cell(r, c) or None for c in range(12)] for r in ROWS]


def test_workbook_with_one_grid_per_sheet_named_by_the_sheet(tmp_path):
    book = openpyxl.Workbook()
    book.remove(book.active)
    _sheet(book, "Notes", [["Seeded 2026-11-02, 5000 cells/well"]])
    _sheet(book, "compound", _grid_rows(None, compound))
    _sheet(book, "concentration (uM)", _grid_rows(None, lambda r, c: float(DOSES_UM[c]) if DOSES_UM[c] else None))
    p = tmp_path / "plate7.xlsx"
    book.save(p)
    lay = read_layout(p)
    assert lay.form == "xlsx" and lay.plate_ids == ["plate7"]
    assert comparable(lay).equals(comparable(read_layout(long_csv(tmp_path))))
    info = inspect_path(p)
    assert info["kind"] == "layout" and info["format"] == "xlsx" and info["n_wells"] == 66


def test_workbook_grid_sheets_are_plates_and_cells_are_named(tmp_path):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for plate in ("P1", "P2"):
        _sheet(book, plate, _grid_rows("Compound", compound) + [[]]
               + _grid_rows("Concentration (uM)", lambda r, c: float(DOSES_UM[c]) if DOSES_UM[c] else None))
    p = tmp_path / "two.xlsx"
    book.save(p)
    lay = read_layout(p)
    assert lay.plate_ids == ["P1", "P2"] and len(lay.for_plate("P2").table) == 66
    book["P2"]["D14"] = "ten"
    book.save(p)
    with pytest.raises(LayoutError, match=r"two.xlsx: sheet 'P2' cell D14: grid 'Concentration \(uM\)', "
                                          r"well C03: 'ten' is not a number"):
        read_layout(p)


def test_workbook_library_table_below_title_rows(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Plate Map"
    ws.append(["siGENOME SMARTpool library, 2 plates"])
    ws.append([])
    ws.append(["Plate", "Well Position", "Gene Symbol", "Gene ID", "Role"])
    for plate in ("LIB01", "LIB02"):
        ws.append([plate, "A1", "PLK1", 5347, "pos_ctrl"])
        ws.append([plate, "A2", "Non-targeting pool", None, "negative control"])
        ws.append([plate, "B3", "CCNA2", 890, None])
    _sheet(book, "Read me", [["Store at -80 C"]])
    p = tmp_path / "library.xlsx"
    book.save(p)
    lay = read_layout(p)
    t = lay.table.set_index(["plate_id", "well"])
    assert lay.plate_ids == ["LIB01", "LIB02"]
    assert t.loc[("LIB02", "A01"), "role"] == "pos_ctrl" and t.loc[("LIB02", "A02"), "role"] == "neg_ctrl"
    assert t.loc[("LIB01", "B03"), "compound"] == "CCNA2" and t.loc[("LIB01", "B03"), "gene_id"] == "890"
    ws.append(["LIB01", "A01", "UBB", 7314, None])
    book.save(p)
    with pytest.raises(LayoutError, match="sheet 'Plate Map' cell B10 \\(column 'Well Position'\\): duplicate well A01 "
                                          "\\(first on sheet 'Plate Map' row 4\\)"):
        read_layout(p)


def test_workbook_without_a_layout_is_said_and_inspect_reads_it_as_a_plate_read(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["<>", *range(1, 13)])
    for i, r in enumerate(ROWS):
        ws.append([r] + [1000.0 + 10 * i + c for c in range(12)])
    p = tmp_path / "read.xlsx"
    book.save(p)
    with pytest.raises(NotALayout, match="read.xlsx: no sheet holds a layout"):
        read_layout(p)
    assert inspect_path(p)["kind"] == "plate_reader"
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    with pytest.raises(LayoutError, match="old.xls: an old-style Excel .xls file"):
        read_layout(tmp_path / "old.xls")


def test_table_columns_as_users_name_them(tmp_path):
    p = tmp_path / "named.csv"
    p.write_text("Plate Barcode,Well,Drug,Dose [nM],Cell Line,Replicate\nX1,B2,Volasertib,30,REH,2\n"
                 "X1,B3,Volasertib,100 nM,REH,1\n")
    t = read_layout(p).table.set_index("well")
    assert t.loc["B02", "plate_id"] == "X1" and t.loc["B02", "concentration"] == pytest.approx(3e-8)
    assert t.loc["B03", "concentration"] == pytest.approx(1e-7) and t.loc["B02", "cell_line"] == "REH"
    p.write_text("plate,barcode,well,compound\nA,B,A1,X\n")  # two candidates: neither is guessed
    with pytest.raises(LayoutError, match="named.csv:1: columns 'plate' and 'barcode' could both be 'plate_id'"):
        read_layout(p)
    for header in ("conc (mg)", "Dose [furlongs]"):
        p.write_text(f"well,compound,{header}\nA1,X,1\n")
        with pytest.raises(LayoutError, match=r"named.csv:1: column '.*': unknown unit '.*' \(molar: M, mM"):
            read_layout(p)
    p.write_text("well,compound,dose_group,Plate_M\nA1,X,low,3\n")  # no unit after a concentration's name
    t = read_layout(p).table
    assert t.loc[0, "dose_group"] == "low" and t.loc[0, "plate_m"] == "3" and t.loc[0, "plate_id"] == "named"
    p.write_text("well,compound,drug\nA1,X,Y\n")
    assert read_layout(p).table.loc[0, "compound"] == "X"
    p.write_text("well,Compound,compound\nA1,X,Y\n")
    with pytest.raises(LayoutError, match="named.csv:1: columns 'Compound' and 'compound' are both 'compound'"):
        read_layout(p)



def test_workbook_sheets_are_validated_apart_and_merged_cells_cover_their_wells(tmp_path):
    book = openpyxl.Workbook()
    book.remove(book.active)
    _sheet(book, "PA", [["well", "compound", "concentration", "unit"], ["A1", "RSL3", 100, "nM"]])
    _sheet(book, "PB", [["Well", "Compound", "Concentration (uM)"], ["A1", "RSL3", 0.1], ["A2", "RSL3", 1]])
    grid = _sheet(book, "PC", _grid_rows("compound", lambda r, c: "DMSO" if c == 0 else None)
                  + [[]] + _grid_rows("concentration (nM)", lambda r, c: None))
    grid["C2"] = "Erastin"  # A02..A10 as one merged cell, as people draw a dose series
    grid.merge_cells("C2:K2")
    for col, dose in zip("CDEFGHIJK", [1, 3, 10, 30, 100, 300, 1000, 3000, 10000], strict=True):
        grid[f"{col}12"] = dose
    p = tmp_path / "three.xlsx"
    book.save(p)
    lay = read_layout(p)
    t = lay.table.set_index(["plate_id", "well"])
    assert lay.plate_ids == ["PA", "PB", "PC"]
    assert t.loc[("PA", "A01"), "concentration"] == pytest.approx(1e-7) == t.loc[("PB", "A01"), "concentration"]
    assert (t.loc["PC"].loc["A02":"A10", "compound"] == "Erastin").all()
    assert t.loc[("PC", "A10"), "concentration"] == pytest.approx(1e-5)


def test_workbook_formula_without_its_saved_value_is_refused(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["well", "compound", "concentration", "unit"])
    ws.append(["A1", "RSL3", 1, "uM"])
    ws.append(["A2", "RSL3", "=C2*3", "uM"])  # written by a program: no value saved with the formula
    p = tmp_path / "formula.xlsx"
    book.save(p)
    with pytest.raises(LayoutError, match=r"formula.xlsx: sheet 'Sheet' cell C3 holds a formula \(=C2\*3\) "
                                          "without its value"):
        read_layout(p)


def test_inspect_says_what_is_wrong_with_a_layout_and_reads_unicode_text(tmp_path):
    p = tmp_path / "bad_layout.csv"
    p.write_text("plate_id,well,compound,concentration,unit,role\nP1,A01,RSL3,lots,uM,sample\n"
                 "P1,A02,RSL3,0.1,uM,sample\n")
    with pytest.raises(LayoutError, match="bad_layout.csv:2: column 'concentration': 'lots' is not a number"):
        inspect_path(p)  # a layout, not a plate read with one unreadable value
    u = tmp_path / "layout.txt"
    u.write_bytes(grid_text().replace(",", "\t").encode("utf-16"))
    info = inspect_path(u)
    assert info["kind"] == "layout" and info["format"] == "grid" and info["n_wells"] == 66


def test_mass_concentrations_with_a_molecular_weight_and_vehicle_shares(tmp_path):
    """TNF in ng/ml and a library's µg/ml doses are molar with an 'mw' column; DMSO at 0.1 % keeps its share."""
    p = tmp_path / "mass.csv"
    p.write_text("well,compound,concentration,unit,MW (g/mol),role,mode\n"
                 "A1,TNF+SMAC+zVAD,20,ng/mL,17350,reference,necroptosis\n"
                 "A2,Erastin,5 µg/ml,,547.04,sample,\n"
                 "A3,DMSO,0.1,%,,vehicle,\n"
                 "A4,Cytokine X,10,ng/ml,,sample,\n")
    t = read_layout(p).well_table()
    assert t.loc["A01", "concentration"] == pytest.approx(20e-6 / 17350)
    assert t.loc["A02", "concentration"] == pytest.approx(5e-3 / 547.04) and t.loc["A02", "unit"] == "ug/ml"
    assert math.isnan(t.loc["A03", "concentration"]) and t.loc["A03", "concentration_raw"] == 0.1
    assert math.isnan(t.loc["A04", "concentration"]) and t.loc["A04", "unit"] == "ng/ml"  # no weight: no molar dose
    p.write_text("well,compound,concentration,unit,mw\nA1,X,1,ng/ml,heavy\n")
    with pytest.raises(LayoutError, match="mass.csv:2: column 'mw': molecular weight 'heavy' is not a number"):
        read_layout(p)


def test_rescue_agents_weigh_their_own_and_weights_are_one_per_compound(tmp_path):
    p = tmp_path / "rescue.csv"
    p.write_text("well;compound;concentration;unit;MW;rescue_agent;rescue_concentration;Rescue MW\n"
                 "A1;RSL3;88,18;ng/ml;440,9;Ferrostatin-1;262,35;262,35\n"
                 "A2;RSL3;88,18;ng/ml;440,9;Liproxstatin-1;340;\n")
    t = read_layout(p).well_table()
    assert t.loc["A01", "concentration"] == pytest.approx(2e-7) and t.loc["A01", "rescue_concentration"] == \
        pytest.approx(1e-6)
    assert math.isnan(t.loc["A02", "rescue_concentration"])  # no weight of its own: not RSL3's
    lay = read_layout(p)
    assert any("doses" in line for line in lay.describe_compound_series())
    p.write_text("well,compound,concentration,unit,mw\nA1,RSL3,88,ng/ml,440.9\nA2,RSL3,100,ng/ml,441\n")
    with pytest.raises(LayoutError, match="compound 'RSL3' has 2 molecular weights \\(440.9, 441\\)"):
        read_layout(p)
    p.write_text("well,compound,concentration,unit\nA1,TNF,10,ng/ml\nA2,TNF,30,ng/ml\nA3,DMSO,0.1,%\n")
    series = read_layout(p).describe_compound_series()
    assert "TNF [sample]: 2 doses in ng/ml, not molar (10, 30)" in series


def test_a_plate_name_two_layout_plates_could_take_is_said(tmp_path):
    p = tmp_path / "two.csv"
    p.write_text("plate_id,well,compound\nLIB01,A1,X\nLIB01_A,A1,Y\n")
    lay = read_layout(p)
    assert lay.plate_candidates("LIB01_A_rep1") == ["LIB01", "LIB01_A"] and lay.plate_id_for("LIB01_A_rep1") is None
    assert lay.plate_id_for("LIB01_A") == "LIB01_A"
    with pytest.raises(LayoutError, match="plate 'LIB01_A_rep1' could take the rows of LIB01 or LIB01_A"):
        lay.for_plate("LIB01_A_rep1")


def test_a_layout_written_back_reads_the_same(tmp_path):
    """to_csv keeps doses that are not molar as written and rescue doses in M, so a round trip changes nothing."""
    p = tmp_path / "mixed.csv"
    p.write_text("well,compound,concentration,unit,mw,rescue_agent,rescue_concentration\n"
                 "A1,RSL3,88.18,ng/ml,440.9,Ferrostatin-1,1\n"
                 "A2,TNF,20,ng/ml,,,\n"
                 "A3,DMSO,0.1,%,,,\n"
                 "A4,Erastin,3,uM,,,\n")
    lay = read_layout(p)
    again = read_layout(lay.to_csv(tmp_path / "again.csv"))
    cols = ["well", "compound", "concentration", "rescue_concentration", "role"]
    assert again.table[cols].equals(lay.table[cols])
    assert list(again.table["unit"]) == ["M", "ng/ml", "%", "M"]
    assert again.table.loc[1, "concentration_raw"] == 20


def test_an_acquisition_finds_a_layout_workbook_beside_it(tmp_path):
    from ferroscreen.io.detect import find_layout_beside

    (tmp_path / "images").mkdir()
    book = openpyxl.Workbook()
    book.active.append(["well", "compound"])
    book.save(tmp_path / "layout.xlsx")
    assert find_layout_beside(tmp_path / "images") == tmp_path / "layout.xlsx"
    (tmp_path / "layout.csv").write_text("well,compound\nA1,X\n")
    assert find_layout_beside(tmp_path / "images") == tmp_path / "layout.csv"  # the CSV first, as before
