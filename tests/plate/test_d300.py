"""Tecan D300/D300e protocols (``.tdd``/``.hpdd``) read as layouts, and fitted against a plate read."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest

from ferroscreen.cli import main
from ferroscreen.errors import LayoutError
from ferroscreen.plate import read_layout, read_layouts

#: Fluids as the D300e writes them: stock <Concentration> in the protocol's unit (µM) whatever the
#: fluid's display unit, a dilution naming its root, a mass-concentration fluid.
FLUIDS = [
    ("0", "RSL3 10mM", 10000, "mM", None),
    ("3", "RSL3 10mM - 1:100", 100, "mM", ("0", 100)),
    ("1", "Erastin_5 mM", 5000, "mM", None),
    ("2", "Ferrostatin-1", 2000, "mM", None),
    ("5", "TNF", 100, "mg/mL", None),
    ("4", "ML-162", 10000, "mM", None),
]


def protocol_xml(plates, backfill=(), fluids=FLUIDS, randomize=None) -> str:
    """A D300e protocol: ``plates`` = [(name, rows, cols, {(r, c): [(fluid id, conc)]})], 0-based wells."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', "<Protocol>",
           "  <!--Protocol files are intended for programmatic access.  File format may change without notice.-->",
           "  <Version>3.1</Version>", "  <VolumeUnit>nL</VolumeUnit>", "  <ConcentrationUnit>µM</ConcentrationUnit>",
           "  <MolarityConcentrationUnit>µM</MolarityConcentrationUnit>",
           "  <MassConcentrationUnit>ng_mL</MassConcentrationUnit>", "  <Fluids>"]
    for fid, name, conc, unit, root in fluids:
        out += [f'    <Fluid ID="{fid}">', f"      <Name>{name}</Name>"]
        if root:
            out += [f"      <RootFluidID>{root[0]}</RootFluidID>", f"      <DilutionFactor>{root[1]}</DilutionFactor>"]
        out += ["      <ByVol>False</ByVol>", f"      <Concentration>{conc}</Concentration>",
                f"      <ConcentrationUnit>{unit}</ConcentrationUnit>", "      <ClassID>0</ClassID>", "    </Fluid>"]
    out += ["  </Fluids>", "  <ShakePerFluid>False</ShakePerFluid>", "  <BackfillOrder>Mixed</BackfillOrder>",
            "  <Plates>"]
    for p, (name, rows, cols, wells) in enumerate(plates):
        out += ["    <Plate>", f"      <PlateType>Default{rows * cols}</PlateType>", f"      <Rows>{rows}</Rows>",
                f"      <Cols>{cols}</Cols>", f"      <Name>{name}</Name>" if name else "      <Name />",
                "      <AssayVolume>40000</AssayVolume>", "      <DMSOLimit>0.01</DMSOLimit>", "      <Wells>"]
        for (r, c), items in wells.items():
            out.append(f'        <Well Row="{r}" Col="{c}">')
            out += [f'          <Fluid ID="{fid}">{conc}</Fluid>' for fid, conc in items]
            out.append("        </Well>")
        out.append("      </Wells>")
        moves = (randomize or {}).get(p)
        if moves:
            out.append("      <Randomize>")
            out += [f'        <Well C="{c}" R="{r}" ToC="{tc}" ToR="{tr}" />' for (r, c), (tr, tc) in moves.items()]
            out.append("      </Randomize>")
        else:
            out.append("      <Randomize />")
        out.append("    </Plate>")
    out.append("  </Plates>")
    if backfill:
        out += ["  <Backfills>", '    <Backfill Type="ToMaxVolume" ClassID="0">', "      <Wells>"]
        out += [f'        <Well P="{p}" R="{r}" C="{c}" />' for p, r, c in backfill]
        out += ["      </Wells>", "    </Backfill>", "  </Backfills>"]
    else:
        out.append("  <Backfills />")
    return "\n".join(out + ["</Protocol>"]) + "\n"


def test_a_protocol_reads_as_the_plates_it_printed(tmp_path):
    wells = {
        (0, 1): [("0", 10)],             # RSL3 from the 10 mM stock: 10 µM
        (0, 2): [("3", 0.01)],           # RSL3 from its 1:100 dilution: 10 nM
        (0, 3): [("0", 1), ("3", 0.5)],  # both stocks in one well add up: 1.5 µM
        (1, 1): [("1", 3.162277660168)],
        (1, 2): [("0", 1), ("2", 2)],    # RSL3 + ferrostatin-1: a rescue well
        (1, 3): [("0", 1), ("1", 1)],    # a combination
        (2, 1): [("5", 20)],             # TNF at 20 ng/ml: kept as written
        (2, 2): [("4", 3E-05)],          # ML-162: a name that only looks like one with a stock
    }
    path = tmp_path / "print.tdd"
    path.write_text(protocol_xml([("", 8, 12, wells), ("BC-0002", 8, 12, {(0, 1): [("0", 2)]})],
                                 backfill=[(0, 7, 0), (0, 0, 1), (1, 7, 11)]), encoding="utf-8")
    lay = read_layout(path)
    assert lay.form == "d300" and lay.plate_format.n_wells == 96 and lay.plate_ids == ["print_1", "BC-0002"]
    t = lay.table.set_index(["plate_id", "well"])
    one = t.loc["print_1"]
    assert one.loc["A02", "compound"] == "RSL3" and one.loc["A02", "concentration"] == pytest.approx(1e-5)
    assert one.loc["A03", "compound"] == "RSL3" and one.loc["A03", "concentration"] == pytest.approx(1e-8)
    assert one.loc["A04", "concentration"] == pytest.approx(1.5e-6)
    assert one.loc["B02", "compound"] == "Erastin" and one.loc["B02", "concentration"] == pytest.approx(3.162e-6,
                                                                                                        rel=1e-3)
    rescue = one.loc["B03"]
    assert (rescue["role"], rescue["compound"], rescue["rescue_agent"]) == ("rescue", "RSL3", "Ferrostatin-1")
    assert rescue["rescue_concentration"] == pytest.approx(2e-6) and rescue["concentration"] == pytest.approx(1e-6)
    assert one.loc["B04", "compound"] == "Erastin+RSL3 (1 µM)" and one.loc["B04", "role"] == "sample"
    tnf = one.loc["C02"]
    assert tnf["unit"] == "ng/ml" and math.isnan(tnf["concentration"]) and tnf["concentration_raw"] == 20
    assert one.loc["C03", "compound"] == "ML-162" and one.loc["C03", "concentration"] == pytest.approx(3e-11)
    assert one.loc["H01", "role"] == "vehicle" and one.loc["H01", "compound"] == "DMSO"
    assert one.loc["H01", "mode"] == "alive"
    assert one.loc["A02", "role"] == "sample"  # a backfilled well with a fluid is that fluid's well
    assert t.loc[("BC-0002", "H12"), "role"] == "vehicle" and len(t.loc["BC-0002"]) == 2
    assert len(one) == 9  # every well printed or backfilled, none other

    # one plate: named by the file; randomised: read at the wells printed
    single = tmp_path / "single.hpdd"
    single.write_text(protocol_xml([("", 8, 12, {(0, 0): [("0", 1)], (0, 1): [("0", 2)]})],
                                   randomize={0: {(0, 0): (5, 6), (0, 1): (0, 0)}}), encoding="utf-8")
    lay = read_layout(single)
    assert lay.plate_ids == ["single"]
    assert lay.table.set_index("well")["concentration"].to_dict() == pytest.approx({"F07": 1e-6, "A01": 2e-6})
    # no backfill: the vehicle wells come from a second file naming the plate
    (tmp_path / "controls.csv").write_text("plate_id,well,compound,role\nsingle,H01,DMSO,vehicle\n")
    both = read_layouts([single, tmp_path / "controls.csv"]).table.set_index("well")
    assert both["role"].to_dict() == {"F07": "sample", "A01": "sample", "H01": "vehicle"}


def test_combinations_are_curves_of_the_varying_drug_at_each_partner_dose(tmp_path):
    """A dose series of erastin at two fixed RSL3 doses: two curves, whichever fluid the protocol lists first."""
    doses = [10, 3, 1, 0.3, 0.1]
    wells = {}
    for c, dose in enumerate(doses):
        wells[(0, c)] = [("0", 0.01), ("1", dose)]  # RSL3 10 nM listed first
        wells[(1, c)] = [("1", dose), ("0", 1)]     # erastin first, RSL3 1 µM
    path = tmp_path / "combo.tdd"
    path.write_text(protocol_xml([("C1", 8, 12, wells)]), encoding="utf-8")
    t = read_layout(path).table
    assert set(t["compound"]) == {"Erastin+RSL3 (10 nM)", "Erastin+RSL3 (1 µM)"}
    for name in set(t["compound"]):
        assert sorted(t[t["compound"] == name]["concentration"]) == pytest.approx(sorted(d * 1e-6 for d in doses))


def test_protocol_errors_are_one_line(tmp_path, monkeypatch, capsys):
    cases = {
        "unknown.tdd": (protocol_xml([("P", 8, 12, {(0, 0): [("9", 1)]})]),
                        "plate P well A01: fluid ID 9 is not among the protocol's <Fluids>"),
        "outside.tdd": (protocol_xml([("P", 8, 12, {(8, 0): [("0", 1)]})]),
                        "plate P: Row 8, Col 0 is outside its 8 x 12 wells"),
        "text.tdd": (protocol_xml([("P", 8, 12, {(0, 0): [("0", "ten")]})]),
                     "plate P well A01: concentration of RSL3 10mM 'ten' is not a number"),
        "twice.tdd": (protocol_xml([("P", 8, 12, {(0, 0): [("0", 1)]}), ("P", 8, 12, {(0, 0): [("0", 1)]})]),
                      "several plates are named 'P'"),
        "broken.tdd": ("<Protocol><Fluids>", "not a valid D300 protocol XML"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(LayoutError, match=rf"{name}: .*{message.replace('(', '.').replace(')', '.')}"):
            read_layout(path)
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "inspect", str(tmp_path / "unknown.tdd")])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and "fluid ID 9" in err


def test_fit_with_a_d300_protocol_gets_the_planted_potencies(tmp_path, monkeypatch, capsys):
    """A CellTiter-Glo grid of a plate printed by the D300: half-log series from two stocks per compound."""
    rng = np.random.default_rng(4)
    planted = {"RSL3": 1e-7, "Erastin": 2e-6}
    doses_um = 10 ** np.arange(1.0, -3.6, -0.5)[:10]  # 10 µM ... 3.16 nM, the D300's half-log series
    wells, grid, vehicle = {}, {}, 40000.0
    for r, name in enumerate(["RSL3", "RSL3", "RSL3", "Erastin", "Erastin", "Erastin"]):
        stock, diluted = ("0", "3") if name == "RSL3" else ("1", None)
        for k, dose in enumerate(doses_um):
            low = diluted is not None and dose < 0.05  # low doses from the 1:100 dilution
            wells[(r, k + 1)] = [(diluted if low else stock, f"{dose:.13g}")]
            grid[r, k + 1] = vehicle * (0.03 + 0.97 / (1 + (dose * 1e-6 / planted[name]) ** 1.3))
    backfill = [(0, r, 0) for r in range(8)] + [(0, r, 11) for r in range(8)]
    for r in range(8):
        grid[r, 0] = grid[r, 11] = vehicle
    (tmp_path / "print.tdd").write_text(protocol_xml([("CTG-01", 8, 12, wells)], backfill=backfill), encoding="utf-8")
    lines = ["Label: Lum", "<>," + ",".join(str(c) for c in range(1, 13))]
    for r, letter in enumerate("ABCDEFGH"):
        lines.append(letter + "," + ",".join(f"{grid.get((r, c), 0.0) * rng.normal(1, 0.02):.0f}"
                                             for c in range(12)))
    (tmp_path / "ctg.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "fit", str(tmp_path / "ctg.csv"), "--layout",
                                      str(tmp_path / "print.tdd"), "--out", str(tmp_path / "fit")])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr().err
    fits = pd.read_csv(tmp_path / "fit" / "fits.csv").set_index("curve")
    assert set(fits.index) == {"RSL3", "Erastin"} and (fits["call"] == "active").all()
    for name, ec50 in planted.items():
        assert fits.loc[name, "ec50"] == pytest.approx(ec50, rel=0.2), name
    assert read_layouts([tmp_path / "print.tdd"]).plate_ids == ["CTG-01"]


def test_what_the_sweep_of_protocols_found(tmp_path, monkeypatch, capsys):
    from ferroscreen.io.inspection import inspect_path

    # a backfill of a plate the protocol does not have
    (tmp_path / "stray.tdd").write_text(protocol_xml([("P", 8, 12, {(0, 0): [("0", 1)]})], backfill=[(3, 0, 1)]),
                                        encoding="utf-8")
    with pytest.raises(LayoutError, match=r"stray.tdd: a backfill lists wells of plate index 3 .P, 0-based., but "
                                          r"the protocol has 1 plate"):
        read_layout(tmp_path / "stray.tdd")
    # a protocol saved as .xml is described by inspect as fit reads it
    xml = tmp_path / "protocol.xml"
    xml.write_text(protocol_xml([("X1", 8, 12, {(0, 0): [("0", 1)]})]), encoding="utf-8")
    assert inspect_path(xml)["kind"] == "layout"

    # a 96- and a 384-well plate in one protocol: a 96-well read takes the 96-well plate
    series = {(0, c): [("0", 10 / 3 ** c)] for c in range(1, 11)}
    mixed = tmp_path / "mixed.tdd"
    mixed.write_text(protocol_xml([("CTG-96", 8, 12, series), ("CTG-384", 16, 24, series)],
                                  backfill=[(0, 7, 0), (0, 7, 11), (1, 15, 23)]), encoding="utf-8")
    lay = read_layout(mixed)
    assert {p: f.n_wells for p, f in lay.plate_formats.items()} == {"CTG-96": 96, "CTG-384": 384}
    from ferroscreen.io.inspection import render_inspection

    assert "plates: CTG-96 (96 wells), CTG-384 (384 wells)" in render_inspection(inspect_path(mixed))
    lines = ["Label: Lum", "<>," + ",".join(str(c) for c in range(1, 13))]
    lines += [f"{r}," + ",".join(str(100 - 9 * c if r == "A" else 100) for c in range(12)) for r in "ABCDEFGH"]
    (tmp_path / "CTG-96.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "fit", str(tmp_path / "CTG-96.csv"), "--layout", str(mixed),
                                      "--out", str(tmp_path / "fit")])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr().err
    assert "plates of other formats are left out (CTG-384 (384 wells))" in capsys.readouterr().out

    # no backfill and no vehicle fluid: the refusal says the layout names no vehicle wells
    bare = tmp_path / "bare.tdd"
    bare.write_text(protocol_xml([("CTG-96", 8, 12, series)]), encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "fit", str(tmp_path / "CTG-96.csv"), "--layout", str(bare),
                                      "--out", str(tmp_path / "fit2")])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "bare.tdd names no vehicle wells" in err and len(err.strip().splitlines()) == 1
