"""Words labs write in layouts: rescue agents with typographic dashes, exclusion marks in German, no-cell blanks;
workbooks with a margin column or a hidden old template."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.cli import app
from ferroscreen.errors import LayoutError
from ferroscreen.plate import exclusion_reasons, read_layout
from ferroscreen.plate.agents import agent_key, agent_mode, rescue_agent_index, uncertain_combination
from ferroscreen.plate.layout import is_blank_name, is_vehicle_name

# --- rescue agents written with Unicode dashes ---------------------------------------------------------------------

NB_HYPHEN, EN_DASH, MINUS, FULL_WIDTH_HYPHEN = "\u2011", "\u2013", "\u2212", "\uff0d"


@pytest.mark.parametrize("name", [f"Ferrostatin{NB_HYPHEN}1", f"Fer{EN_DASH}1", f"ferrostatin{MINUS}1",
                                  f"Fer{FULL_WIDTH_HYPHEN}1", "\uff26\uff45\uff52-1", "Ferro\u00adstatin-1",
                                  f"Liproxstatin{EN_DASH}1", "FER-1 "])
def test_a_typographic_dash_names_the_known_agent(name):
    assert agent_mode(name) == "ferroptosis"
    assert rescue_agent_index(["RSL3", name]) == 1


def test_agent_keys_fold_dashes_quotes_and_width():
    assert agent_key(f"Necrostatin{EN_DASH}1s") == "necrostatin-1s"
    assert agent_key("GSK\u2019872") == "gsk'872" and agent_mode("GSK\u2019872") == "necroptosis"
    assert agent_mode(f"Z{EN_DASH}VAD{NB_HYPHEN}FMK") == "apoptosis"
    assert agent_mode("RSL3") == "" and agent_mode(f"RSL{EN_DASH}3") == ""
    assert rescue_agent_index(["TNF + SMAC", f"z{EN_DASH}VAD"]) is None  # the necroptosis cocktail still


def _rescue_csv(tmp_path, agent: str, in_cell: bool):
    path = tmp_path / "layout.csv"
    rows = ["Well;Compound;Concentration;Unit;Rescue agent;Rescue concentration", "A01;DMSO;;;;"]
    for k, dose in enumerate((20, 10, 5), start=2):
        rows.append(f"A{k:02d};Erastin;{dose};µM;;")
        rows.append(f"B{k:02d};Erastin + {agent} (1 µM);{dose};µM;;" if in_cell else
                    f"B{k:02d};Erastin;{dose};µM;{agent};1")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("agent", [f"Ferrostatin{NB_HYPHEN}1", f"Fer{EN_DASH}1"])
def test_a_rescue_named_with_a_dash_in_the_compound_cell_is_a_rescue_well(tmp_path, agent):
    table = read_layout(_rescue_csv(tmp_path, agent, in_cell=True)).table.set_index("well")
    assert table.loc["B02", "role"] == "rescue" and table.loc["B02", "compound"] == "Erastin"
    assert table.loc["B02", "rescue_agent"] == agent and table.loc["B02", "rescue_concentration"] == pytest.approx(1e-6)
    assert agent_mode(table.loc["B02", "rescue_agent"]) == "ferroptosis"


@pytest.mark.parametrize(("name", "mode"), [
    ("Q-VD", "apoptosis"), ("QVD", "apoptosis"), ("Q-VD(OPh)", "apoptosis"), ("Z-VAD(OMe)-FMK", "apoptosis"),
    ("IDN-6556", "apoptosis"), ("Liproxstatin", "ferroptosis"), ("Desferrioxamine", "ferroptosis"),
    ("vitamin E", "ferroptosis"), ("alpha-tocopherol", "ferroptosis"), ("\u03b1-Tocopherol", "ferroptosis"),
    ("Trolox", "ferroptosis"), ("GSK\u2019963", "necroptosis"), ("GSK963", "necroptosis"), ("Nec1s", "necroptosis"),
])
def test_common_inhibitors_name_the_mode_they_block(name, mode):
    assert agent_mode(name) == mode
    assert rescue_agent_index(["staurosporine", name]) == 1


def test_a_combination_of_no_known_cocktail_is_uncertain():
    assert uncertain_combination("staurosporine + UAMC-3203") and uncertain_combination("RSL3 & Fer-1 + Lip-1")
    assert uncertain_combination("RSL3 with something")
    assert not uncertain_combination("TNF+SMAC+zVAD") and not uncertain_combination("RSL3")
    assert not uncertain_combination("DMSO 0.1%") and not uncertain_combination("TNFa / CHX")


@pytest.mark.parametrize("placeholder", ["none", "None", "-", "--", "0", "NA", "n/a", "#N/A"])
def test_a_placeholder_rescue_agent_is_no_agent(tmp_path, placeholder):
    path = tmp_path / "layout.csv"
    path.write_text("well,compound,concentration,unit,role,mode,rescue_agent\n"
                    f"A01,DMSO,,,vehicle,,{placeholder}\n"
                    f"A02,staurosporine,1,uM,reference,apoptosis,{placeholder}\n"
                    f"A03,RSL3,1,uM,,,{placeholder}\n"
                    "A04,RSL3,1,uM,,,Fer-1\n", encoding="utf-8")
    lay = read_layout(path)
    table = lay.table.set_index("well")
    assert table.loc[["A01", "A02", "A03"], "rescue_agent"].tolist() == ["", "", ""]
    assert table.loc["A03", "role"] == "sample" and table.loc["A04", "role"] == "rescue"  # no agent: no rescue
    assert not any(f" + {placeholder} " in line for line in lay.describe_compound_series()), lay.describe_compound_series()


# --- exclusion marks -----------------------------------------------------------------------------------------------

KEEP = ["nein", "Nein", "falsch", "FALSCH", "ok", "OK", "i.O.", "i. O.", "in Ordnung", "no", "false", "0", "n", "-"]
EXCLUDE = ["ja", "JA", "wahr", "WAHR", "x", "X", "yes", "true", "1", "y", "excluded", "Excluded"]


def test_german_and_english_marks_keep_or_exclude_a_well():
    assert exclusion_reasons(KEEP) == [""] * len(KEEP)
    assert exclusion_reasons(EXCLUDE) == ["excluded"] * len(EXCLUDE)
    assert exclusion_reasons(["Luftblase", " bubble ", "kontaminiert"]) == ["Luftblase", "bubble", "kontaminiert"]


def _exclude_layout(root, marks: dict[str, str], default: str):
    """A dose series of RSL3 (rows A-B) with vehicle wells, an ``exclude`` column, and wells.csv readings."""
    layout, wells = [], []
    for r in "AB":
        layout.append(dict(well=f"{r}01", compound="DMSO", concentration="", unit="", role="vehicle"))
        for k in range(6):
            layout.append(dict(well=f"{r}{k + 2:02d}", compound="RSL3", concentration=10 ** (k / 2), unit="nM",
                               role="sample"))
    for row in layout:
        row["exclude"] = marks.get(row["well"], default)
        dose = row["concentration"] * 1e-9 if row["role"] == "sample" else 0.0
        for t in (0.0, 12.0, 24.0):
            dead = 0.03 + (0.9 / (1 + 3e-8 / dose) * t / 24 if dose else 0.0)
            wells.append(dict(plate="P1", well=row["well"], time_h=t, n_cells=200, frac_alive=1 - dead,
                              frac_ferroptosis=dead))
    pd.DataFrame(layout).to_csv(root / "layout.csv", index=False, sep=";")
    pd.DataFrame(wells).to_csv(root / "wells.csv", index=False)
    return root / "layout.csv"


def test_an_exclude_column_of_nein_and_ja_excludes_the_ja_wells(tmp_path):
    table = read_layout(_exclude_layout(tmp_path, {"A03": "ja", "B04": "Luftblase"}, "nein")).table
    flagged = table[table["exclude"] != ""].set_index("well")["exclude"].to_dict()
    assert flagged == {"A03": "excluded", "B04": "Luftblase"}


def test_a_german_ausschluss_column_is_the_exclude_column(tmp_path):
    layout = read_layout(_exclude_layout(tmp_path, {"A03": "ja"}, "nein"))
    path = tmp_path / "ausschluss.csv"
    path.write_text(layout.source.read_text(encoding="utf-8").replace(";exclude", ";Ausschluss", 1), encoding="utf-8")
    table = read_layout(path).table
    assert "Ausschluss" not in table.columns and "ausschluss" not in table.columns
    assert table[table["exclude"] != ""]["well"].tolist() == ["A03"]


def test_fit_of_an_all_nein_exclude_column_excludes_nothing(tmp_path):
    layout = _exclude_layout(tmp_path, {}, "nein")
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "wells.csv"), "--layout", str(layout),
                                   "--out", str(tmp_path / "res")])
    assert res.exit_code == 0, res.output
    assert "excluded" not in res.output
    readouts = pd.read_csv(tmp_path / "res" / "readouts.csv", keep_default_na=False)
    assert len(readouts) == 14 and (readouts["exclude"] == "").all()


# --- no-cell blanks named in the compound column -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Medium only", "media only", "MEDIUM ONLY", "Medium alone", "medium blank",
                                  "Medium (no cells)", "no cells", "No-cells", "cell-free", "Cell free medium",
                                  "DMSO without cells", "Blank", "No cells control"])
def test_medium_only_and_no_cells_name_a_blank(name):
    assert is_blank_name(name) and not is_vehicle_name(name)


@pytest.mark.parametrize("name", ["medium", "Media", "untreated", "cells only", "DMSO", "DMSO 0.1%", "mock"])
def test_medium_alone_and_untreated_stay_vehicles(name):
    assert is_vehicle_name(name) and not is_blank_name(name)


@pytest.mark.parametrize("name", ["RSL3", "Cell-free DNA", "Medium change", "Cellfree-X", "No cell death control",
                                  "no cell line", "siRNA no cells knockdown"])
def test_other_names_are_no_blank(name):
    assert not is_blank_name(name)


def test_medium_only_wells_are_empty_and_medium_wells_vehicle(tmp_path):
    path = tmp_path / "layout.csv"
    path.write_text("Well;Compound;Concentration;Unit;Role\nA01;DMSO;;;vehicle\nA02;RSL3;1;µM;\nA03;Medium;;;\n"
                    "A12;Medium only;;;\nB12;media only;;;\nC12;No cells;;;\nD12;Medium only;;;vehicle\n"
                    "E12;Medium only;;;control\n",
                    encoding="utf-8")
    roles = read_layout(path).table.set_index("well")["role"].to_dict()
    assert roles == {"A01": "vehicle", "A02": "sample", "A03": "vehicle", "A12": "empty", "B12": "empty",
                     "C12": "empty", "D12": "vehicle", "E12": "empty"}  # a role written stands: medium-only wells with cells


# --- workbooks -----------------------------------------------------------------------------------------------------

def _layout_sheet(sheet, first_column: int = 1, first_row: int = 1, scale: float = 1.0) -> None:
    rows = [("Well", "Compound", "Concentration", "Unit", "Role"), ("A01", "DMSO", None, None, "vehicle"),
            ("A02", "RSL3", 1 * scale, "uM", None), ("A03", "RSL3", 0.5 * scale, "uM", None)]
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            sheet.cell(first_row + i, first_column + j, value)


def test_a_table_starting_in_column_b_is_read(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Layout"
    _layout_sheet(sheet, first_column=2, first_row=3)
    book.save(tmp_path / "margin.xlsx")
    table = read_layout(tmp_path / "margin.xlsx").table.set_index("well")
    assert list(table.index) == ["A01", "A02", "A03"]
    assert table.loc["A02", "concentration"] == pytest.approx(1e-6) and table.loc["A01", "role"] == "vehicle"


def _table_in_column_b(tmp_path, cell: str, value: str):
    """A workbook whose layout table starts at B3, with ``value`` written into ``cell``."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Layout"
    _layout_sheet(sheet, first_column=2, first_row=3)
    sheet[cell] = value
    book.save(tmp_path / "margin.xlsx")


def test_a_value_in_the_margin_left_of_the_table_is_refused(tmp_path):
    _table_in_column_b(tmp_path, "A5", "note")
    with pytest.raises(LayoutError) as err:
        read_layout(tmp_path / "margin.xlsx")
    assert str(err.value) == (f"{tmp_path / 'margin.xlsx'}: sheet 'Layout' cell A5: a value left of the header's "
                              f"first column B")


def test_a_wrong_cell_of_a_table_in_column_b_is_named_by_its_letter(tmp_path):
    _table_in_column_b(tmp_path, "D5", "lots")
    with pytest.raises(LayoutError, match=r"sheet 'Layout' cell D5 \(column 'Concentration'\)"):
        read_layout(tmp_path / "margin.xlsx")


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_template_sheet_is_not_read_and_said(tmp_path, state):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Layout"
    _layout_sheet(sheet)
    old = book.create_sheet("Vorlage alt")
    _layout_sheet(old, scale=10)
    old.sheet_state = state
    book.create_sheet("Listen").sheet_state = "hidden"  # a hidden sheet of lists holds no layout: not said
    book.save(tmp_path / "plate.xlsx")
    layout = read_layout(tmp_path / "plate.xlsx")
    assert layout.plate_ids == ["plate"]
    assert layout.table.set_index("well").loc["A02", "concentration"] == pytest.approx(1e-6)
    assert layout.notes == [f"{tmp_path / 'plate.xlsx'}: sheet 'Vorlage alt' is hidden: not read"]


def test_a_workbook_whose_layout_is_hidden_is_refused_in_one_line(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active["A1"] = "HT1080, 5000 cells/well"
    old = book.create_sheet("Layout")
    _layout_sheet(old)
    old.sheet_state = "hidden"
    book.save(tmp_path / "plate.xlsx")
    with pytest.raises(LayoutError) as err:
        read_layout(tmp_path / "plate.xlsx")
    assert str(err.value).startswith(f"{tmp_path / 'plate.xlsx'}: its layout is on hidden sheet(s) only ('Layout')")
    assert "\n" not in str(err.value)

