import math

import pytest

from ferroscreen.errors import LayoutError
from ferroscreen.plate import read_layout, read_layout_csv

HEADER = "plate_id,well,compound,concentration,unit,role,mode,rescue_agent,rescue_concentration,replicate,cell_line\n"


def write(tmp_path, body, header=HEADER, name="layout.csv"):
    p = tmp_path / name
    p.write_text(header + body, encoding="utf-8")
    return p


def test_reads_units_to_molar(tmp_path):
    p = write(
        tmp_path,
        "P1,A1,RSL3,1,uM,reference,ferroptosis,,,1,NALM6\n"
        "P1,A02,RSL3,1,µM,reference,ferroptosis,Fer-1,1,uM,1,NALM6\n".replace(",1,uM,1,NALM6", ",1,1,NALM6")
        + "P1,a3,X,250,nM,sample,,,,2,NALM6\n"
        "P1,A4,X,3,mM,sample,,,,1,\n"
        "P1,A5,X,7,pM,sample,,,,1,\n"
        "P1,A6,X,0.5,M,sample,,,,1,\n"
        "P1,B1,DMSO,,,vehicle,,,,1,NALM6\n"
        "P1,B2,,,,empty,,,,1,\n",
    )
    lay = read_layout_csv(p)
    t = lay.well_table()
    assert t.loc["A01", "concentration"] == 1e-6
    assert t.loc["A02", "concentration"] == 1e-6
    assert t.loc["A02", "rescue_concentration"] == 1e-6
    assert t.loc["A03", "concentration"] == 2.5e-7 and t.loc["A03", "replicate"] == 2
    assert t.loc["A04", "concentration"] == 3e-3
    assert t.loc["A05", "concentration"] == 7e-12
    assert t.loc["A06", "concentration"] == 0.5
    assert math.isnan(t.loc["B01", "concentration"])
    assert t.loc["B01", "mode"] == "alive"
    assert lay.compounds()["RSL3 + Fer-1"] == [1e-6]
    assert lay.wells_with_role("empty") == ["B02"]


def test_round_trip(tmp_path):
    p = write(tmp_path, "P1,C3,Volasertib,30,nM,sample,,,,1,REH\nP1,C4,DMSO,,,vehicle,,,,1,REH\n")
    lay = read_layout(p)
    out = lay.to_csv(tmp_path / "again.csv")
    again = read_layout(out)
    assert again.compounds() == lay.compounds()
    assert list(again.table["role"]) == ["sample", "vehicle"]


def test_minimal_columns_infer_roles(tmp_path):
    p = write(tmp_path, "A1,DMSO,,\nA2,Erastin,10,uM\nA3,,,\n", header="well,compound,concentration,unit\n")
    t = read_layout(p).well_table()
    assert list(t["role"]) == ["vehicle", "sample", "empty"]
    assert t.loc["A02", "plate_id"] == "layout"


def test_semicolon_and_bom(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("\ufeffwell;compound;concentration;unit\nA1;RSL3;1;uM\n", encoding="utf-8")
    assert read_layout(p).well_table().loc["A01", "concentration"] == 1e-6


def test_excel_encodings_and_decimal_commas(tmp_path):
    body = "well;compound;concentration;unit;rescue_agent;rescue_concentration\nA1;RSL3;0,5;µM;Fer-1;1,5\n"
    for enc in ("cp1252", "utf-16"):  # older Excel's "CSV", Excel's "Unicode text" (tab or ; separated)
        p = tmp_path / f"l_{enc}.csv"
        p.write_bytes(body.encode(enc))
        row = read_layout(p).well_table().loc["A01"]
        assert row["concentration"] == pytest.approx(0.5e-6) and row["unit"] == "µM"
        assert row["rescue_concentration"] == pytest.approx(1.5e-6)
    p = tmp_path / "comma.csv"
    p.write_text('well,compound,concentration,unit\nA1,RSL3,"0,5",uM\n', encoding="utf-8")
    with pytest.raises(LayoutError, match="comma.csv:2: column 'concentration': '0,5' is not a number"):
        read_layout(p)
    p = tmp_path / "book.csv"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(LayoutError, match="book.csv: not a readable Excel workbook"):
        read_layout(p)  # a zip, as workbooks are, but a broken one
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["well", "compound", "concentration", "unit"])
    book.active.append(["A1", "RSL3", 1, "uM"])
    book.save(tmp_path / "saved.xlsx")
    (tmp_path / "saved.xlsx").rename(p)  # a workbook saved under a .csv name
    assert read_layout(p).well_table().loc["A01", "concentration"] == 1e-6
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40)
    with pytest.raises(LayoutError, match="book.csv: an Excel workbook or binary file, not a text layout"):
        read_layout(p)  # an old .xls under a .csv name


@pytest.mark.parametrize(
    "body, fragments",
    [
        ("P1,Z99,X,1,uM,sample,,,,1,\n", [":2:", "'well'", "Z99"]),
        ("P1,A1,X,1,uM,sample,,,,1,\nP1,A01,X,1,uM,sample,,,,1,\n", [":3:", "duplicate well A01", "line 2"]),
        ("P1,A1,X,ten,uM,sample,,,,1,\n", [":2:", "'concentration'", "'ten' is not a number"]),
        ("P1,A1,X,-1,uM,sample,,,,1,\n", [":2:", "'concentration'", "negative"]),
        ("P1,A1,X,1,mg,sample,,,,1,\n", [":2:", "'unit'", "unknown unit 'mg'"]),
        ("P1,A1,X,1,,sample,,,,1,\n", [":2:", "'unit'", "without a unit"]),
        ("P1,A1,X,1,uM,control,,,,1,\n", [":2:", "'role'", "role 'control' does not say which"]),
        ("P1,A1,X,1,uM,reference,pyroptosiss,,,1,\n", [":2:", "'mode'", "unknown mode"]),
        ("P1,A1,X,1,uM,reference,,,,1,\n", [":2:", "'mode'", "needs a mode"]),
        ("P1,A1,X,1,uM,sample,,,,one,\n", [":2:", "'replicate'"]),
    ],
)
def test_validation_errors_name_file_line_column(tmp_path, body, fragments):
    p = write(tmp_path, body)
    with pytest.raises(LayoutError) as exc:
        read_layout_csv(p)
    msg = str(exc.value)
    assert str(p) in msg and "\n" not in msg
    for frag in fragments:
        assert frag in msg


def test_well_outside_given_format(tmp_path):
    p = write(tmp_path, "P1,P24,X,1,uM,sample,,,,1,\n")
    assert read_layout_csv(p).plate_format.n_wells == 384
    with pytest.raises(LayoutError, match="outside a 96-well plate"):
        read_layout_csv(p, plate_format=96)


def test_missing_well_column_and_empty(tmp_path):
    with pytest.raises(LayoutError, match="missing required column 'well'"):
        read_layout_csv(write(tmp_path, "X,1\n", header="compound,concentration\n"))
    with pytest.raises(LayoutError, match="no wells"):
        read_layout_csv(write(tmp_path, "", name="e.csv"))
    with pytest.raises(LayoutError, match="not found"):
        read_layout(tmp_path / "nope.csv")


def test_extra_modes(tmp_path):
    p = write(tmp_path, "P1,A1,Rapamycin,1,uM,reference,mitophagy,,,1,\n")
    with pytest.raises(LayoutError):
        read_layout_csv(p)
    assert read_layout_csv(p, extra_modes=("mitophagy",)).well_table().loc["A01", "mode"] == "mitophagy"


def test_plate_id_for_matches_instrument_and_replicate_names(tmp_path):
    p = write(tmp_path, "".join(f"{plate},A1,X,1,uM,sample,,,,1,\n" for plate in ("LIB1", "LIB10", "170702000001")))
    lay = read_layout_csv(p)
    assert lay.plate_id_for("LIB1") == "LIB1" and lay.plate_id_for("LIB10_rep2") == "LIB10"
    assert lay.plate_id_for("LIB1-R3") == "LIB1" and lay.plate_id_for("LIB1 scan 2") == "LIB1"
    assert lay.plate_id_for("MFGTMPcx7_170702000001") == "170702000001"
    assert lay.plate_id_for("LIB100") is None and lay.plate_id_for("OTHER") is None
    single = read_layout_csv(write(tmp_path, "P1,A1,X,1,uM,sample,,,,1,\n", name="one.csv"))
    assert single.plate_id_for("anything") == "P1"


def test_a_column_named_twice_is_refused(tmp_path):
    with pytest.raises(LayoutError, match="twice.csv:1: column 'compound' appears twice in the header"):
        read_layout_csv(write(tmp_path, "A1,X,Y\n", header="well,compound,compound\n", name="twice.csv"))


def test_a_header_cell_merged_over_two_columns_is_said_to_be_one(tmp_path):
    """Excel's merged 'Concentration' over a value column and a unit column reads as the name twice."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Well", "Compound", "Concentration", None])
    sheet.merge_cells("C1:D1")
    sheet.append(["A1", "RSL3", 1, "uM"])
    book.save(tmp_path / "merged.xlsx")
    with pytest.raises(LayoutError) as exc:
        read_layout(tmp_path / "merged.xlsx")
    assert str(exc.value).endswith("column 'Concentration' appears twice in the header (a header cell merged over "
                                   "two columns, as over a value and its unit? give each column its own name)")


def test_layouts_as_labs_write_them(tmp_path):
    """Compound columns under other names, vehicle and control names, empty-well markers, R's NA, untreated
    controls written as dose 0 without a compound, molar units written out."""
    def table(name, text):
        path = tmp_path / name
        path.write_text(text)
        return read_layout(path).table.set_index("well")

    for header in ("Treatment Name", "Sample", "Compound ID", "Agent", "Perturbation", "drug1"):
        t = table("names.csv", f"Well,{header},Concentration (uM)\nA1,DMSO,0\nA2,RSL3,0.1\n")
        assert t.loc["A02", "compound"] == "RSL3" and t.loc["A02", "role"] == "sample", header
        assert t.loc["A01", "role"] == "vehicle", header
    # an identifier beside a name: the name is the compound
    t = table("both.csv", "Well,Compound ID,Compound Name,conc (uM)\nA1,CPD-7,RSL3,1\n")
    assert t.loc["A01", "compound"] == "RSL3"
    # thunor's Vanderbilt HTS columns: upid, drug1, drug1.conc, drug1.units
    t = table("hts.tsv", "upid\twell\tcell.line\tdrug1\tdrug1.conc\tdrug1.units\nP7\tA1\tMCF7\tuntreated\t0\tM\n"
                         "P7\tA2\tMCF7\tStaurosporine\t1e-8\tM\n")
    assert t.loc["A02", "concentration"] == pytest.approx(1e-8) and t.loc["A02", "plate_id"] == "P7"
    assert t.loc["A01", "role"] == "vehicle" and t.loc["A01", "cell_line"] == "MCF7"
    # older aliases win over the new ones: Sample Name beside Drug, Agent beside Treatment
    t = table("tiers.csv", "Well,Sample Name,Drug,Agent,conc (uM)\nA1,S-1,RSL3,x,1\n")
    assert t.loc["A01", "compound"] == "RSL3"

    rows = {"DMSO 0.1%": "vehicle", "0.1% DMSO": "vehicle", "DMSO (0.1 %)": "vehicle", "untreated": "vehicle",
            "Mock": "vehicle", "cells only": "vehicle", "control": "vehicle", "-": "empty", "NA": "empty",
            "N/A": "empty", "x": "empty", "Empty well": "empty", "Non-Targeting Pool": "neg_ctrl",
            "ON-TARGETplus Non-targeting Pool": "neg_ctrl", "siNT": "neg_ctrl", "Scrambled siRNA": "neg_ctrl",
            "NT": "neg_ctrl", "PLK1": "sample", "ML-162": "sample",
            # vendors' names (were samples in a layout, controls in hits only); gene symbols stay samples
            "AllStars Negative Control": "neg_ctrl", "Silencer Select Negative Control No. 1": "neg_ctrl",
            "MISSION Universal Negative Control #1": "neg_ctrl", "NT1": "neg_ctrl", "NTN1": "sample",
            "NT5E": "sample", "SCRN1": "sample"}
    wells = [f"{'ABCDEFGH'[k // 12]}{k % 12 + 1}" for k in range(len(rows))]
    t = table("roles.csv", "well,compound,role\n" + "".join(f"{w},{n},NA\n" for w, n in zip(wells, rows, strict=True)))
    assert {n: t.loc[f"{w[0]}{int(w[1:]):02d}", "role"] for w, n in zip(wells, rows, strict=True)} == rows

    # a name that says a control gives way to a dose written beside it (NA: noradrenaline); no compound at 0: empty
    t = table("dosed.csv", "well,compound,concentration (uM)\nA1,NA,1\nA2,NT,1\nA3,Mock,1\nA4,x,1\nA5,DMSO,0.1\n"
                           "A6,,0\n")
    assert t["role"].tolist() == ["sample"] * 4 + ["vehicle", "empty"]
    t = table("units.csv", "well,compound,concentration\nA1,RSL3,10 µmol/L\nA2,RSL3,5 nanomolar\nA3,RSL3,NA\n")
    assert t["concentration"].tolist()[:2] == pytest.approx([1e-5, 5e-9]) and math.isnan(t.loc["A03", "concentration"])

    with pytest.raises(LayoutError, match=r"wells have concentrations but no column names their compound"):
        table("nocompound.csv", "Well,Gnumber,Concentration (uM)\nA1,G0001,1\n")
    with pytest.raises(LayoutError, match=r"'1,5' is not a number \(a decimal comma"):
        table("comma.csv", 'well,compound,concentration\nA1,RSL3,"1,5 uM"\n')


def test_what_the_recheck_of_layout_roles_found(tmp_path):
    def table(name, text):
        path = tmp_path / name
        path.write_text(text)
        return read_layout(path).table.set_index("well")

    # a template's unused wells at dose 0 stay no-cell wells; R's NA without a dose is nothing written
    t = table("zero.csv", "well,compound,concentration (uM)\nA1,DMSO,0\nA2,RSL3,1\nA3,,0\nA4,NA,0\n")
    assert t["role"].tolist() == ["vehicle", "sample", "empty", "empty"] and t.loc["A04", "compound"] == ""
    # files that loaded before keep their compound column
    for header in ("Sample Name,Treatment", "Gene Symbol,Product Name", "Treatment,Agent"):
        t = table("tiers.csv", f"Well,{header}\nA1,first,second\n")
        assert t.loc["A01", "compound"] == ("second" if header.startswith("Sample") else "first"), header
    # the gene CTRL stays a gene
    assert table("kd.csv", "well,gene\nA1,CTRL\nA2,Non-Targeting Pool\n")["role"].tolist() == ["sample", "neg_ctrl"]
    # thunor's two-drug wells: the first drug's curve at the second's dose, a known inhibitor a rescue agent
    t = table("thunor.tsv", "upid\twell\tdrug1\tdrug1.conc\tdrug1.units\tdrug2\tdrug2.conc\tdrug2.units\n"
                            "P1\tA1\t\t0\tM\t\t\t\nP1\tA2\tRSL3\t1e-8\tM\tErastin\t1e-6\tM\n"
                            "P1\tA3\tRSL3\t1e-8\tM\tFerrostatin-1\t1e-6\tM\n")
    assert t.loc["A01", "role"] == "vehicle"
    assert t.loc["A02", "compound"] == "RSL3+Erastin (1 µM)" and t.loc["A02", "concentration"] == pytest.approx(1e-8)
    assert (t.loc["A03", "role"], t.loc["A03", "rescue_agent"]) == ("rescue", "Ferrostatin-1")
    assert t.loc["A03", "rescue_concentration"] == pytest.approx(1e-6)


def test_a_one_plate_layout_says_when_the_data_plate_has_another_name(tmp_path):
    """A one-plate layout fits any plate; applied to a plate its file names otherwise it says so."""
    named = read_layout_csv(write(tmp_path, "LIB02,A1,X,1,uM,sample,,,,1,\n", name="library.csv"))
    assert named.own_plate_name() == "LIB02" and named.plate_id_for("LIB01") == "LIB02"
    assert named.plates_named_otherwise(["LIB01", "LIB02", "lib02", "LIB02_rep2", "CX7_LIB02", "LIB02-R3"]) == ["LIB01"]
    # another plate of the series, also inside an instrument's name; names of other schemes say nothing
    assert named.plates_named_otherwise(["CX7_LIB11_scan2", "export", "VID1", "Plate 2", "plate1"]) == [
        "CX7_LIB11_scan2"]
    note = named.other_name_note(["LIB01", "LIB03"])
    assert note.startswith(f"{tmp_path / 'library.csv'}: its one plate is named 'LIB02'") and "LIB01, LIB03" in note
    assert named.other_name_note(["LIB02_rep1"]) is None
    # a plate named after its file (no plate_id in it): a library's LIB05.csv names plate LIB05
    (tmp_path / "LIB05.csv").write_text("well,compound,concentration,unit\nA1,X,1,uM\n")
    by_stem = read_layout_csv(tmp_path / "LIB05.csv")
    assert by_stem.plate_ids == ["LIB05"] and by_stem.own_plate_name() == "LIB05"
    assert by_stem.plates_named_otherwise(["LIB01", "LIB05_rep1", "VID1"]) == ["LIB01"]
    # a file named for what it is, not for a plate, shares no plate's numbering: nothing to say
    (tmp_path / "layout.csv").write_text("well,compound,concentration,unit\nA1,X,1,uM\n")
    assert read_layout_csv(tmp_path / "layout.csv").plates_named_otherwise(["LIB01", "VID1", "plate1"]) == []
    # a layout of several plates matches each plate by name (or refuses), it never applies one to another
    several = read_layout_csv(write(tmp_path, "P1,A1,X,1,uM,sample,,,,1,\nP2,A1,X,1,uM,sample,,,,1,\n", name="two.csv"))
    assert several.own_plate_name() is None and several.other_name_note(["LIB01"]) is None


def test_one_dose_written_in_two_units_is_one_dose(tmp_path):
    """3.33333 uM and 3333.33 nM (plates laid out by two people) are one dose, not two a float's last bit apart."""
    lay = read_layout_csv(write(tmp_path, "P1,A1,X,3.33333,uM,sample,,,,1,\nP1,A2,X,3333.33,nM,sample,,,,1,\n"
                                          "P1,A3,X,3.33333e-6,M,sample,,,,1,\nP1,A4,X,1.11111,uM,sample,,,,1,\n"
                                          "P1,A5,X,1111.11,nM,sample,,,,1,\n"))
    assert lay.table["concentration"].nunique() == 2
    assert sorted(lay.table["concentration"].unique()) == [1.11111e-6, 3.33333e-6]


def test_title_lines_above_the_table_are_passed_over(tmp_path):
    """As in a workbook: 'Plate map for CTG 72h' and an operator line above the header; lines keep their numbers."""
    p = tmp_path / "titled.csv"
    p.write_text("Plate map for CTG 72h\noperator: X\n\nplate_id,well,compound,concentration,unit,role\n"
                 "P1,A1,DMSO,,,vehicle\nP1,A2,RSL3,1,uM,sample\n")
    lay = read_layout(p)
    assert lay.plate_ids == ["P1"] and list(lay.table["compound"]) == ["DMSO", "RSL3"]
    p.write_text(p.read_text() + "P1,A3,RSL3,lots,uM,sample\n")
    with pytest.raises(LayoutError, match=r"titled\.csv:7: column 'concentration'"):
        read_layout(p)


def test_a_rescue_written_into_the_compound_name_is_read_as_one(tmp_path):
    p = tmp_path / "combo.csv"
    p.write_text("well,compound,concentration,unit\nA1,RSL3 + Fer-1 (1 uM),100,nM\nA2,RSL3+ferrostatin-1,100,nM\n"
                 "A3,TNF + zVAD (20 uM),10,ng/ml\nA4,Drug A + Drug B,1,uM\nA5,erastin + DFO (5 ug/ml),1,uM\n"
                 "A6,RSL3/Fer1,100,nM\nA7,RSL3 & Lip-1 (200 nM),100,nM\nA8,Lopinavir/Ritonavir,1,uM\n")
    t = read_layout(p).table.set_index("well")
    assert t.loc["A01", ["compound", "rescue_agent", "role"]].tolist() == ["RSL3", "Fer-1", "rescue"]
    assert t.loc["A01", "rescue_concentration"] == pytest.approx(1e-6) and t.loc["A01", "concentration"] == 1e-7
    assert t.loc["A02", ["compound", "rescue_agent"]].tolist() == ["RSL3", "ferrostatin-1"]
    assert math.isnan(t.loc["A02", "rescue_concentration"])
    assert t.loc["A03", ["compound", "rescue_agent"]].tolist() == ["TNF + zVAD (20 uM)", ""]  # the cocktail
    assert t.loc["A04", ["compound", "rescue_agent"]].tolist() == ["Drug A + Drug B", ""]
    assert t.loc["A05", ["compound", "rescue_agent", "rescue_as_written"]].tolist() == ["erastin", "DFO", "5 ug/ml"]
    # other ways labs join a combination in one cell (were samples named 'RSL3/Fer1' in fit; training left them out
    # by its own reading)
    assert t.loc["A06", ["compound", "rescue_agent", "role"]].tolist() == ["RSL3", "Fer1", "rescue"]
    assert t.loc["A07", ["compound", "rescue_agent"]].tolist() == ["RSL3", "Lip-1"]
    assert t.loc["A07", "rescue_concentration"] == pytest.approx(2e-7)
    assert t.loc["A08", ["compound", "rescue_agent"]].tolist() == ["Lopinavir/Ritonavir", ""]


def test_a_dilution_scheme_in_a_concentration_cell_is_not_read_as_a_unit(tmp_path):
    p = tmp_path / "serial.csv"
    p.write_text("well,compound,concentration,unit\nA1,X,1:3 serial dilution,uM\n")
    with pytest.raises(LayoutError, match=r"serial\.csv:2: column 'concentration': '1:3 serial dilution' is not a "
                                          r"concentration \(a number, with a unit such as uM\)"):
        read_layout(p)


def test_a_zero_dose_needs_no_unit_where_units_are_written_in_the_cells(tmp_path):
    """``DMSO,0`` beside ``RSL3,1 nM``: 0 is 0 in any unit (was 'concentration given without a unit')."""
    p = write(tmp_path, "P1,A1,RSL3,1 nM,sample,,1\nP1,A2,DMSO,0,vehicle,,1\nP1,A3,RSL3,0,sample,Fer-1,1\n",
              header="plate_id,well,compound,concentration,role,rescue_agent,replicate\n")
    t = read_layout_csv(p).well_table()
    assert t.loc["A01", "concentration"] == 1e-9
    assert t.loc["A02", "concentration"] == 0 and t.loc["A03", "concentration"] == 0
    with pytest.raises(LayoutError, match="without a unit"):  # any other number still needs one
        read_layout_csv(write(tmp_path, "P1,A1,RSL3,1,sample,,1\n",
                              header="plate_id,well,compound,concentration,role,rescue_agent,replicate\n"))


def test_a_gene_symbol_excel_made_a_date_is_refused_naming_its_cell(tmp_path):
    """MARCH1 typed into Excel is stored as 1 March: the name is gone, so the layout is refused."""
    import datetime

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Layout"
    sheet.append(["well", "compound", "concentration", "unit", "date"])
    sheet.append(["A01", "TP53", 1, "uM", datetime.datetime(2026, 11, 2)])  # a date column of its own is fine
    sheet.append(["A02", datetime.datetime(2026, 3, 1), 1, "uM", datetime.datetime(2026, 11, 2)])
    book.save(tmp_path / "sirna.xlsx")
    with pytest.raises(LayoutError) as exc:
        read_layout(tmp_path / "sirna.xlsx")
    assert str(exc.value).startswith(f"{tmp_path / 'sirna.xlsx'}: sheet 'Layout' cell B3 (column 'compound'): a date "
                                     "(2026-03-01) where a name belongs (a gene's or compound's); Excel turns names "
                                     "such as MARCH1")
    sheet["B3"] = "MARCH1"
    book.save(tmp_path / "sirna.xlsx")
    assert list(read_layout(tmp_path / "sirna.xlsx").table["compound"]) == ["TP53", "MARCH1"]


def test_a_layout_file_naming_no_plate_leaves_data_plates_their_names(tmp_path):
    """A file without plate ids is every plate's map: unnamed data plates keep their own names, not its stem."""
    from ferroscreen.plate import read_layouts

    body = "well,compound,concentration,unit\nA1,X,1,uM\n"
    for name in ("layout_oneplate.csv", "a.csv", "b.csv"):
        (tmp_path / name).write_text(body)
    by_stem = read_layout_csv(tmp_path / "layout_oneplate.csv")
    assert by_stem.plate_ids == ["layout_oneplate"] and by_stem.file_named_plates == {"layout_oneplate"}
    assert by_stem.names_for_unnamed_plates() == [] and by_stem.for_plate("REP1").names_for_unnamed_plates() == []
    # plate grids name no plate either
    (tmp_path / "grid.csv").write_text("compound," + ",".join(map(str, range(1, 13))) + "\nA,DMSO,X\n"
                                       + "".join(f"{row}\n" for row in "BCDEFGH"))
    assert read_layout_csv(tmp_path / "grid.csv").names_for_unnamed_plates() == []
    # a plate id column names the plate, also when the name is the file's stem or cells of it are blank
    named = read_layout_csv(write(tmp_path, "REP1,A1,X,1,uM,sample,,,,1,\n", name="REP1.csv"))
    assert named.file_named_plates == set() and named.names_for_unnamed_plates() == ["REP1"]
    blank = read_layout_csv(write(tmp_path, "P1,A1,X,1,uM,sample,,,,1,\n,A2,X,1,uM,sample,,,,1,\n", name="mix.csv"))
    assert blank.plate_ids == ["P1", "mix"] and blank.file_named_plates == {"mix"}
    assert blank.only_plates(["mix"]).names_for_unnamed_plates() == []
    assert blank.only_plates(["P1"]).names_for_unnamed_plates() == ["P1"]
    # a file per plate: the plates are named by the stems, unnamed reads taken in order take them
    two = read_layouts([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert two.names_for_unnamed_plates() == ["a", "b"] and two.for_plate("b").names_for_unnamed_plates() == ["b"]
    # a plate one file names and another describes unnamed is named
    (tmp_path / "c.csv").write_text("plate_id,well,compound\na,A2,Y\n")
    assert read_layouts([tmp_path / "a.csv", tmp_path / "c.csv"]).names_for_unnamed_plates() == ["a"]
