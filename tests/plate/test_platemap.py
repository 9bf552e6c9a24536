import math

import pytest

from ferroscreen.errors import LayoutError
from ferroscreen.plate import read_layout, read_platemap


def test_shared_platemap_recovers_every_compound(shared_data):
    lay = read_layout(shared_data / "incucyte" / "example.PlateMap")
    comps = lay.compounds()
    assert set(comps) == {"DMSO", "PDD00017273"}
    assert comps["PDD00017273"] == pytest.approx([0.37037037037037041e-6, 1.1111111111111112e-6,
                                                  3.3333333333333335e-6, 10e-6, 30e-6], rel=1e-12)
    t = lay.well_table()
    assert lay.plate_format.n_wells == 96 and len(t) == 96
    assert t.loc["B02", "role"] == "vehicle" and t.loc["B02", "unit"] == "%"
    assert t.loc["B02", "concentration_raw"] == 0.1 and math.isnan(t.loc["B02", "concentration"])
    assert t.loc["A01", "role"] == "empty"
    assert t.loc["B02", "growth_condition"] == "8 x 10e4/mL"
    # each concentration appears in 10 wells, replicates numbered 1..n within growth condition
    sample = t[t["compound"] == "PDD00017273"]
    assert sample.groupby("concentration").size().tolist() == [10] * 5
    assert sample["replicate"].max() >= 2


PLATEMAP = """\ufeff<?xml version="1.0" encoding="utf-8"?>
<plateMap><wellStore><wells>
<well row="0" col="0"><items>
 <wellItem type="Compound" concentration="50" concentrationUnits="nM"><referenceItem type="Compound" description="Volasertib" /></wellItem>
 <wellItem type="Compound" concentration="1" concentrationUnits="µM"><referenceItem type="Compound" description="Ferrostatin-1" /></wellItem>
 <wellItem type="CellType" passage="3" seedingDensity="5000"><referenceItem type="CellType" description="NALM-6" /></wellItem>
</items></well>
<well row="7" col="11" />
</wells></wellStore></plateMap>"""


def test_combination_and_cell_type(tmp_path):
    p = tmp_path / "m.PlateMap"
    p.write_bytes(PLATEMAP.encode("utf-8"))
    t = read_platemap(p).well_table()
    # the reference study's rescue design: volasertib with ferrostatin-1
    assert t.loc["A01", "compound"] == "Volasertib" and t.loc["A01", "role"] == "rescue"
    assert t.loc["A01", "rescue_agent"] == "Ferrostatin-1"
    assert t.loc["A01", "rescue_concentration"] == pytest.approx(1e-6)
    assert t.loc["A01", "concentration"] == pytest.approx(50e-9)
    assert t.loc["A01", "cell_line"] == "NALM-6"
    assert t.loc["H12", "role"] == "empty"


def test_bad_platemap(tmp_path):
    p = tmp_path / "bad.PlateMap"
    p.write_text("<plateMap><wellStore>", encoding="utf-8")
    with pytest.raises(LayoutError, match="bad.PlateMap: not a valid PlateMap XML"):
        read_layout(p)


def test_decimal_comma_namespaces_and_a_non_numeric_dose(tmp_path):
    p = tmp_path / "eu.PlateMap"
    text = PLATEMAP.replace('concentration="50"', 'concentration="0,5"').replace(
        "<plateMap>", '<plateMap xmlns="http://www.essenbio.com/platemap">'
    )
    p.write_bytes(text.encode("utf-8"))
    t = read_platemap(p).well_table()
    assert t.loc["A01", "concentration"] == pytest.approx(0.5e-9)
    assert t.loc["A01", "compound"] == "Volasertib"
    p.write_bytes(PLATEMAP.replace('concentration="50"', 'concentration="fifty"').encode("utf-8"))
    with pytest.raises(LayoutError, match=r"eu.PlateMap: well A01: concentration 'fifty' is not a number"):
        read_platemap(p)


def _well(*compounds):
    items = "".join(
        f'<wellItem type="Compound" concentration="{c}" concentrationUnits="nM">'
        f'<referenceItem type="Compound" description="{n}" /></wellItem>'
        for n, c in compounds
    )
    return f"<well row=\"0\" col=\"{{col}}\"><items>{items}</items></well>"


@pytest.mark.parametrize(
    "compounds, compound, agent",
    [
        ([("RSL3", 100), ("Fer-1", 1000)], "RSL3", "Fer-1"),
        ([("Staurosporine", 200), ("zVAD", 20000)], "Staurosporine", "zVAD"),
        ([("TNF", 10), ("SMAC mimetic", 100), ("zVAD", 20000)], "TNF+SMAC mimetic+zVAD", ""),
        ([("TNF", 10), ("SMAC mimetic", 100), ("zVAD", 20000), ("Nec-1s", 10000)], "TNF+SMAC mimetic+zVAD", "Nec-1s"),
        ([("RSL3", 100), ("Fer-1", 1000), ("zVAD", 20000)], "RSL3+Fer-1+zVAD", ""),
        ([("DMSO", 0.1), ("Fer-1", 1000)], "Fer-1", ""),
    ],
)
def test_rescue_agents_in_combination_wells(tmp_path, compounds, compound, agent):
    body = _well(*compounds).replace("{col}", "0")
    p = tmp_path / "r.PlateMap"
    p.write_text(f"<plateMap><wellStore><wells>{body}</wells></wellStore></plateMap>", encoding="utf-8")
    row = read_platemap(p).well_table().loc["A01"]
    assert row["compound"] == compound and row["rescue_agent"] == agent
    assert row["role"] == ("rescue" if agent else "sample")
    if agent:
        assert row["rescue_concentration"] == pytest.approx(dict(compounds)[agent] * 1e-9)


@pytest.mark.parametrize("rowcol, needle", [('row="-1" col="0"', "negative"), ('row="40" col="60"', "outside")])
def test_a_well_off_every_plate_names_the_file(tmp_path, rowcol, needle):
    p = tmp_path / "off.PlateMap"
    p.write_text(f"<plateMap><wellStore><wells><well {rowcol} /></wells></wellStore></plateMap>", encoding="utf-8")
    with pytest.raises(LayoutError, match=rf"off.PlateMap: <well {rowcol}>: .*{needle}"):
        read_platemap(p)


def test_a_well_listed_twice_is_refused(tmp_path):
    p = tmp_path / "twice.PlateMap"
    p.write_text('<plateMap><wellStore><wells><well row="0" col="2" /><well row="0" col="2" /></wells></wellStore>'
                 "</plateMap>", encoding="utf-8")
    with pytest.raises(LayoutError, match=r'twice.PlateMap: <well row="0" col="2"> \(A03\) is listed twice'):
        read_platemap(p)
