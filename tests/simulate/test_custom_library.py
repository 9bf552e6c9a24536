"""Custom libraries for `ferroscreen simulate --library FILE`: the plate holds what the file says, or the file is refused.

Each test is a library an analyst could write that used to give a plate (layout, truth) other than the one the
file describes, crash, or leave a half-written plate behind.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from ferroscreen.plate import read_layout_csv
from ferroscreen.simulate import SimulationConfig, load_library, plate_writer, read_truth, simulate_plate
from ferroscreen.simulate.library import LibraryError
from ferroscreen.simulate.pharmacology import occupancy, well_pharmacology
from ferroscreen.simulate.plate_map import plan_plate

KILLER = "compounds:\n  RSL3: {modes: {ferroptosis: 1.0}, emax: 0.95, ec50: 5.0e-8}\n"
AGENT = "rescue_agents:\n  Fer-1: {blocks: ferroptosis, efficacy: 0.95}\n"


def _write(tmp_path, text: str, name: str = "lib.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path, text: str, name: str = "lib.yaml") -> str:
    path = _write(tmp_path, text, name)
    with pytest.raises(LibraryError) as exc:
        load_library(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg, msg
    return msg


def _map(*entries: str) -> str:
    return 'plate_maps:\n  "96":\n' + "".join(f"    - {e}\n" for e in entries)


def _plans(lib, fmt: int = 96) -> dict:
    return {p.well: p for p in plan_plate(lib, fmt) if p.role != "empty"}


# ----------------------------------------------------------------------------- reading the file


def test_exponents_without_a_dot_are_numbers(tmp_path):
    """YAML 1.1 reads `5e-8` as text: `ec50: 5e-8` was refused as "'5e-8' is not a number"."""
    lib = load_library(_write(tmp_path, "compounds:\n  RSL3: {modes: {ferroptosis: 1}, ec50: 5e-8}\n"
                                        + _map("{compound: RSL3, concentration: 1e-6}")))
    assert lib.compounds["RSL3"].ec50 == 5e-8
    assert _plans(lib)["A01"].concentration == 1e-6


def test_a_json_library_as_json_dump_writes_it(tmp_path):
    """json.dumps writes 5e-08 (refused, see above) and may indent with tabs (a YAML syntax error); BOMs too."""
    data = {"compounds": {"RSL3": {"modes": {"ferroptosis": 1.0}, "ec50": 5e-8}},
            "rescue_agents": {"Fer-1": {"blocks": "ferroptosis", "concentration": 2e-6}},
            "plate_maps": {"96": [{"compound": "RSL3", "role": "rescue", "concentration": 1e-6,
                                   "rescue_agent": "Fer-1"}]}}
    lib = load_library(_write(tmp_path, "\ufeff" + json.dumps(data, indent="\t"), "lib.json"))
    assert lib.compounds["RSL3"].ec50 == 5e-8 and lib.rescue_agents["Fer-1"].concentration == 2e-6
    assert _plans(lib)["A01"].rescue_concentration == 2e-6
    text = json.dumps(data).replace('"RSL3": {"modes"', '"RSL3": {"ec50": 1, "ec50"')
    assert "given twice" in _error(tmp_path, text, "dup.json")
    assert "JSON syntax error at line 1" in _error(tmp_path, "{'compounds': 1}", "bad.json")


def test_names_stay_as_written(tmp_path):
    """YAML 1.1 read compound `NO` as False, `0123` as 83, `on` as True and `1.50` as 1.5."""
    text = ("compounds:\n  NO: {}\n  0123: {}\n  on: {}\n  1.50: {}\n"
            + _map(*(f"{{compound: {n}, concentration: 1.0e-6}}" for n in ("NO", "0123", "on", "1.50"))))
    lib = load_library(_write(tmp_path, text))
    assert list(lib.compounds) == ["NO", "0123", "on", "1.50"]
    assert [p.compound for p in _plans(lib).values()] == ["NO", "0123", "on", "1.50"]


def test_a_key_given_twice_is_refused(tmp_path):
    """The second `RSL3:` (or `96:` beside `"96":`) silently replaced the first."""
    msg = _error(tmp_path, KILLER + "  RSL3: {modes: {apoptosis: 1.0}}\n"
                 + _map("{compound: RSL3, concentration: 1.0e-6}"))
    assert "line 3" in msg and "'RSL3' is given twice" in msg
    msg = _error(tmp_path, KILLER + "plate_maps:\n  96: []\n  '96': [{compound: RSL3, concentration: 1.0e-7}]\n")
    assert "'96' is given twice" in msg


def test_yaml_merge_keys_still_work(tmp_path):
    text = ("compounds:\n  A: &base {modes: {ferroptosis: 1.0}, emax: 0.5, ec50: 5e-8}\n"
            "  B: {<<: *base, ec50: 1e-6}\n" + _map("{compound: B, concentration: 1e-6}"))
    lib = load_library(_write(tmp_path, text))
    assert (lib.compounds["B"].emax, lib.compounds["B"].ec50) == (0.5, 1e-6)


def test_bad_explicit_tags_are_one_line_errors(tmp_path):
    assert "'x' is not a number" in _error(tmp_path, "compounds:\n  A: {ec50: !!float x}\n")
    assert "cannot be read" in _error(tmp_path, "compounds:\n  A: {ec50: !!bool maybe}\n")


def test_tabs_get_a_hint(tmp_path):
    assert "not tabs" in _error(tmp_path, "compounds:\n\tRSL3: {}\n")


# ----------------------------------------------------------------------------- doses


def test_concentrations_with_units(tmp_path):
    text = ("compounds:\n  RSL3: {modes: {ferroptosis: 1}, ec50: 30 nM}\n"
            + AGENT.replace("0.95}", "0.95, concentration: '1 µM'}")
            + _map("{compound: RSL3, doses: ['10 uM', 1μM, 100nM, 1.0e-8]}",
                   "{compound: RSL3, role: rescue, concentration: 10 uM, rescue_agent: Fer-1,"
                   " rescue_concentration: 5 uM}"))
    lib = load_library(_write(tmp_path, text))
    assert lib.compounds["RSL3"].ec50 == 3e-8 and lib.rescue_agents["Fer-1"].concentration == 1e-6
    plans = _plans(lib)
    assert [plans[w].concentration for w in ("A01", "B01", "C01", "D01", "E01")] == [1e-5, 1e-6, 1e-7, 1e-8, 1e-5]
    assert plans["E01"].rescue_concentration == 5e-6
    msg = _error(tmp_path, KILLER + _map("{compound: RSL3, concentration: 10 uL}"))
    assert "'10 uL' is not a number (molar" in msg
    assert "'0.5 uM' is not a number" in _error(tmp_path, "compounds:\n  A: {modes: {apoptosis: 1}, emax: 0.5 uM}\n")


@pytest.mark.parametrize("entry", ["{compound: RSL3, concentration: 10}",
                                   "{compound: RSL3, doses: {top: 10, dilution: 3, n: 4}}"])
def test_molar_values_of_one_molar_or_more_are_refused(tmp_path, entry):
    """`concentration: 10` (meaning 10 µM) made a 10 M well that killed everything, silently."""
    assert "concentrations are molar" in _error(tmp_path, KILLER + _map(entry))
    assert "compounds.X.ec50" in _error(tmp_path, "compounds:\n  X: {modes: {apoptosis: 1}, ec50: 3}\n")


def test_a_dilution_series_hits_the_listed_doses_exactly(tmp_path):
    """1e-5 / 10 is 1.0000000000000002e-06: the series' 1 µM well was another dose than the 1 µM reference."""
    lib = load_library(_write(tmp_path, KILLER + _map(
        "{compound: RSL3, role: reference, concentration: 1.0e-6, wells: 2}",
        "{compound: RSL3, doses: {top: 1.0e-5, dilution: 10, n: 4}}")))
    concs = [p.concentration for p in _plans(lib).values()]
    assert concs == [1e-6, 1e-6, 1e-5, 1e-6, 1e-7, 1e-8]


@pytest.mark.parametrize("entry, fragment", [
    ("{compound: RSL3, doses: {top: 1.0e-5, dillution: 10, n: 4}}", "doses.dillution: unknown key"),
    ("{compound: RSL3, doses: []}", "doses: empty list"),
    ("{compound: RSL3, doses: [1.0e-6, 1.0e-7, 1.0e-6]}", "doses[2]: dose 1e-06 M listed twice"),
    ("{compound: RSL3, doses: [1.0e-6, 1.0e-7], replicates: 2.6}", "replicates: must be a whole number"),
    ("{compound: RSL3, doses: {top: 1.0e-5, n: 8.5}}", "doses.n: must be a whole number"),
    ("{compound: RSL3, concentration: 1.0e-6, wells: 2.5}", "wells: must be a whole number"),
    ("{compound: RSL3, concentration: 1.0e-6, replicates: 3, wells: [A01]}", "1 wells for 3 replicates"),
    ("{compound: RSL3, concentration: 1.0e-6, rescue_concentration: 1.0e-6}", "no rescue_agent"),
    ("{compound: RSL3, role: empty, concentration: 1.0e-6, wells: 4}", "empty wells hold medium only"),
    ("{compound: RSL3}", "'RSL3' needs a 'concentration' or 'doses'"),
    ("{compound: RSL3, role: reference, wells: 4}", "'RSL3' needs a 'concentration' or 'doses'"),
])
def test_entries_the_plate_would_silently_differ_from_are_refused(tmp_path, entry, fragment):
    """A typo'd dilution fell back to 3; an empty dose list, fractional counts and a lone rescue
    concentration vanished or were rounded down; an active compound without a dose killed nothing."""
    assert fragment in _error(tmp_path, KILLER + AGENT + _map(entry))


def test_rescue_agent_typos_are_refused(tmp_path):
    """`eficacy: 0.1` kept the default 0.9, silently."""
    text = KILLER + "rescue_agents:\n  Fer-1: {blocks: ferroptosis, eficacy: 0.1}\n"
    assert "rescue_agents.Fer-1.eficacy: unknown parameter" in _error(tmp_path, text)


# ----------------------------------------------------------------------------- modes and roles


@pytest.mark.parametrize("entry, fragment", [
    ("{compound: RSL3, role: reference, mode: apoptosis, concentration: 1.0e-6}", "kills by ferroptosis"),
    ("{compound: RSL3, role: pos_ctrl, mode: alive, concentration: 1.0e-6}", "not 'alive'"),
    ("{compound: RSL3, role: vehicle, concentration: 1.0e-6}", "'RSL3' is active"),
    ("{compound: DMSO, role: vehicle, mode: apoptosis}", "vehicle wells are 'alive'"),
    ("{compound: inert, mode: necroptosis, concentration: 1.0e-6}", "'inert' kills no cell"),
])
def test_a_mode_the_truth_contradicts_is_refused(tmp_path, entry, fragment):
    """The layout said `reference, apoptosis` (the label a classifier trains on) while every cell died by
    ferroptosis; a killer in `vehicle` wells was the plate's "alive" baseline."""
    assert fragment in _error(tmp_path, KILLER + "  inert: {}\n" + _map(entry))


def test_unknown_names_get_a_hint(tmp_path):
    text = "compounds:\n  Erastin: {}\n  Ωmega-\u00b5: {}\n"
    assert "did you mean 'Erastin'?" in _error(tmp_path, text + _map("{compound: erastin, concentration: 1.0e-6}"))
    msg = _error(tmp_path, text + _map("{compound: Ωmega-\u03bc, concentration: 1.0e-6}"))
    assert "another Unicode form" in msg


def test_wells_as_a_string(tmp_path):
    lib = load_library(_write(tmp_path, KILLER + _map("{compound: RSL3, concentration: 1.0e-6, wells: 'B02, C03'}")))
    assert sorted(_plans(lib)) == ["B02", "C03"]


# ----------------------------------------------------------------------------- plate and pharmacology


def test_unknown_plate_format_is_refused_when_loading(tmp_path):
    """A `"95"` map loaded, then `simulate --format 95` died with a WellError from the plate map."""
    assert "plate_maps.95: unknown plate format 95" in _error(tmp_path, KILLER + 'plate_maps:\n  "95": []\n')


def test_a_too_short_doubling_time_is_refused(tmp_path):
    """`doubling_time_h: 0.01` doubled the cells 1200 times in 12 h: simulate never finished."""
    assert "doubling_time_h: must be >= 6" in _error(tmp_path, KILLER + "doubling_time_h: 0.01\n"
                                                       + _map("{compound: RSL3, concentration: 1.0e-6}"))


def test_a_steep_hill_far_below_the_ec50_does_not_crash(tmp_path):
    """(ec50 / c) ** hill overflowed: OverflowError from `simulate` for hill 500 at 1 pM."""
    assert occupancy(1e-12, 1e-6, 500) == 0.0
    lib = load_library(_write(tmp_path, "compounds:\n  X: {modes: {ferroptosis: 1}, hill: 500}\n"
                                        + _map("{compound: X, concentration: 1.0e-12}")))
    assert well_pharmacology(_plans(lib)["A01"], lib).kill_probability == 0.0


def test_a_failing_well_setup_writes_no_half_plate(tmp_path, monkeypatch):
    """layout.csv and images/ were written before the wells' pharmacology: a failure there left a plate that
    the next `simulate` into the same folder refused."""
    def boom(*args, **kwargs):
        raise OverflowError("boom")

    monkeypatch.setattr(plate_writer, "well_pharmacology", boom)
    lib = load_library(_write(tmp_path, KILLER + _map("{compound: RSL3, concentration: 1.0e-6}")))
    with pytest.raises(OverflowError):
        simulate_plate(tmp_path / "out", lib, SimulationConfig(fields=1, hours=0, image_size=(32, 32), workers=1,
                                                               wells=("A01",)))
    assert not (tmp_path / "out" / "layout.csv").exists() and not (tmp_path / "out" / "images").exists()


LIBRARY = """\
name: my screen
vehicle: DMSO 0.1%
compounds:
  RSL3: {modes: {ferroptosis: 1}, emax: 0.95, ec50: 50 nM, hill: 2}
  STS: {modes: {apoptosis: 1}, ec50: 3e-8}
  '<b>x</b>, "q"': {modes: {necroptosis: 2, apoptosis: 1}, ec50: 1e-7}
  Ωmega-µ: {growth_inhibition: 0.5, gi50: 1 uM}
rescue_agents:
  Fer-1: {blocks: ferroptosis, efficacy: 0.95, concentration: 1e-6}
plate_maps:
  "96":
    - {compound: DMSO 0.1%, role: vehicle, wells: [H12, G12]}
    - {compound: STS, role: reference, concentration: 1 uM, wells: 2}
    - {compound: RSL3, role: rescue, concentration: 1 uM, rescue_agent: Fer-1, rescue_concentration: 5 uM}
    - {compound: RSL3, doses: {top: 10 uM, dilution: 10, n: 3}}
    - {compound: '<b>x</b>, "q"', doses: [1e-5, 1e-6], replicates: 2}
    - {compound: Ωmega-µ, concentration: 1e-6}
"""

EXPECTED = [  # well, compound, concentration, role, mode, rescue agent, rescue concentration, replicate
    ("A01", "STS", 1e-6, "reference", "apoptosis", "", math.nan, 1),
    ("B01", "STS", 1e-6, "reference", "apoptosis", "", math.nan, 2),
    ("C01", "RSL3", 1e-6, "rescue", "ferroptosis", "Fer-1", 5e-6, 1),
    ("D01", "RSL3", 1e-5, "sample", "", "", math.nan, 1),
    ("E01", "RSL3", 1e-6, "sample", "", "", math.nan, 1),
    ("F01", "RSL3", 1e-7, "sample", "", "", math.nan, 1),
    ("G01", '<b>x</b>, "q"', 1e-5, "sample", "", "", math.nan, 1),
    ("H01", '<b>x</b>, "q"', 1e-6, "sample", "", "", math.nan, 1),
    ("A02", '<b>x</b>, "q"', 1e-5, "sample", "", "", math.nan, 2),
    ("B02", '<b>x</b>, "q"', 1e-6, "sample", "", "", math.nan, 2),
    ("C02", "Ωmega-µ", 1e-6, "sample", "", "", math.nan, 1),
    ("G12", "DMSO 0.1%", math.nan, "vehicle", "alive", "", math.nan, 2),
    ("H12", "DMSO 0.1%", math.nan, "vehicle", "alive", "", math.nan, 1),
]


def test_a_custom_library_plate_holds_what_the_file_says(tmp_path):
    """Every compound, dose, role, mode and rescue of the file in the well it names: layout.csv and truth.json."""
    lib = load_library(_write(tmp_path, LIBRARY))
    out = tmp_path / "plate"
    wells = tuple(e[0] for e in EXPECTED) + ("D02",)
    simulate_plate(out, lib, SimulationConfig(fields=1, hours=0, image_size=(32, 32), workers=1, wells=wells,
                                              density_per_mm2=50))
    cols = ["well", "compound", "concentration", "role", "mode", "rescue_agent", "rescue_concentration",
            "replicate"]
    expected = pd.DataFrame(EXPECTED + [("D02", "", math.nan, "empty", "", "", math.nan, 1)], columns=cols)
    layout = read_layout_csv(out / "layout.csv", 96).table.set_index("well").loc[expected["well"]].reset_index()
    pd.testing.assert_frame_equal(layout[cols], expected, check_dtype=False)
    meta, _ = read_truth(out)
    truth = pd.DataFrame([{"well": w, **v} for w, v in meta["wells"].items()]).set_index("well")
    truth = truth.loc[expected["well"]].reset_index().fillna({"concentration": math.nan,
                                                             "rescue_concentration": math.nan})
    pd.testing.assert_frame_equal(truth[cols].astype({"concentration": float, "rescue_concentration": float}),
                                  expected, check_dtype=False)
    pharm = meta["wells"]
    assert pharm["C01"]["pharmacology"]["rescue"]["ferroptosis"] == 0.95
    assert pharm["G01"]["pharmacology"]["mode_weights"]["necroptosis"] == pytest.approx(2 / 3)
    assert pharm["C02"]["pharmacology"]["cycle_factor"] > 1 and pharm["C02"]["pharmacology"]["kill_probability"] == 0
    assert set(meta["compounds"]) == {"STS", "RSL3", '<b>x</b>, "q"', "Ωmega-µ"} and meta["library"] == "my screen"


def test_cli_json_syntax_error_is_one_line(cli, user_error, tmp_path):
    path = _write(tmp_path, '{"compounds": {,}}', "lib.json")
    user_error(cli("simulate", tmp_path / "out", "--library", path), str(path), "JSON syntax error")
    assert not (tmp_path / "out").exists()


def test_a_rescue_agent_with_an_ic50_spares_by_its_concentration(tmp_path):
    """A Fer-1 titration: with `ic50` the agent spares efficacy x its occupancy; without, efficacy at any dose."""
    lib = load_library(_write(tmp_path, KILLER + "rescue_agents:\n"
                              "  Fer-1: {blocks: ferroptosis, efficacy: 0.9, ic50: 1 uM, hill: 2}\n"
                              "  Lip-1: {blocks: ferroptosis, efficacy: 0.9}\n"
                              + _map(*(f"{{compound: RSL3, role: rescue, concentration: 1 uM, rescue_agent: Fer-1, "
                                       f"rescue_concentration: {c}, wells: [A{i + 1:02d}]}}"
                                       for i, c in enumerate(("0.1 uM", "1 uM", "10 uM"))),
                                     "{compound: RSL3, role: rescue, concentration: 1 uM, rescue_agent: Lip-1, "
                                     "rescue_concentration: 1 nM, wells: [B01]}")))
    agent = lib.rescue_agents["Fer-1"]
    assert agent.ic50 == 1e-6 and agent.hill == 2 and lib.rescue_agents["Lip-1"].ic50 is None
    plans = _plans(lib)
    spared = [well_pharmacology(plans[w], lib).rescue[1] for w in ("A01", "A02", "A03")]
    assert spared == pytest.approx([0.9 / 101, 0.45, 0.9 * 100 / 101])
    assert well_pharmacology(plans["B01"], lib).rescue[1] == 0.9  # no ic50: as before, whatever the dose
    edge = well_pharmacology(plans["A02"], lib, edge=True).rescue[1]
    assert edge == pytest.approx(0.9 * occupancy(1.15e-6, 1e-6, 2))  # evaporation concentrates it too
    assert "ic50" in _error(tmp_path, KILLER + "rescue_agents:\n  Fer-1: {blocks: ferroptosis, ic50: -1}\n"
                            + _map("{compound: RSL3}"))
