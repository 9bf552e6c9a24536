"""`inspect LAYOUT` role listing of compounds whose own name holds " + " (TNF, SMAC + zVAD).

The listing took the text before the first " + " of a series name as the compound (assuming " + "
only ever joined a compound and its rescue agent), so a compound named with " + " matched no row
and was listed with no roles: ``TNF, SMAC + zVAD []``.
"""

from __future__ import annotations

from ferroscreen.plate import read_layout_csv

LAYOUT = """\
plate_id,well,compound,concentration,unit,role,mode,rescue_agent,rescue_concentration,replicate
P1,A01,DMSO,,,vehicle,alive,,,1
P1,B01,"TNF, SMAC + zVAD",1,uM,reference,necroptosis,,,1
P1,C01,"TNF, SMAC + zVAD",1,uM,rescue,necroptosis,"Nec-1s",30,1
P1,D01,RSL3,1,uM,reference,ferroptosis,,,1
P1,E01,RSL3,1,uM,rescue,ferroptosis,Fer-1,1,1
P1,F01,A + B,10,nM,sample,,,,1
"""


def _series(tmp_path) -> dict[str, str]:
    path = tmp_path / "layout.csv"
    path.write_text(LAYOUT, encoding="utf-8")
    lines = read_layout_csv(path, 96).describe_compound_series()
    return {line.split(" [")[0]: line for line in lines}


def test_a_compound_named_with_a_plus_lists_its_roles(tmp_path):
    series = _series(tmp_path)
    assert series["TNF, SMAC + zVAD"].startswith("TNF, SMAC + zVAD [reference/rescue]: 1 doses"), series
    assert series["A + B"].startswith("A + B [sample]: 1 doses"), series


def test_a_rescue_series_lists_the_roles_of_its_compound(tmp_path):
    series = _series(tmp_path)
    assert series["TNF, SMAC + zVAD + Nec-1s"].startswith("TNF, SMAC + zVAD + Nec-1s [reference/rescue]: "), series
    assert series["RSL3 + Fer-1"].startswith("RSL3 + Fer-1 [reference/rescue]: 1 doses"), series
    assert series["RSL3"].startswith("RSL3 [reference/rescue]: 1 doses"), series


def test_inspect_shows_the_roles(cli, tmp_path):
    path = tmp_path / "layout.csv"
    path.write_text(LAYOUT, encoding="utf-8")
    proc = cli("inspect", path)
    assert proc.returncode == 0, proc.stderr
    assert "[]" not in proc.stdout, proc.stdout
    assert "TNF, SMAC + zVAD [reference/rescue]" in proc.stdout, proc.stdout
