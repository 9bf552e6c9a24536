"""A score store's own layout sets the plate format, not the few wells that were scored."""

from types import SimpleNamespace

import pandas as pd
import pytest

from ferroscreen.analysis.fit_run import layout_from_table
from ferroscreen.analysis.inputs import AnalysisInputError

from .conftest import run_fit_main, synthetic_screen

#: The scored wells of an 8-well subset of a 96-well plate: all within a 24-well plate's A01-D06.
SCORED = ["A01", "A02", "A03", "A04", "B01", "B02", "C05", "D05"]


def stored_layout() -> pd.DataFrame:
    _, layout = synthetic_screen(seed=2)
    return layout.table.drop(columns=["concentration_raw"], errors="ignore")


def test_stored_layout_wells_set_the_plate_format():
    table = stored_layout()
    assert "A07" in set(table["well"])
    layout = layout_from_table(table, SCORED)
    assert layout.plate_format.n_wells == 96
    assert len(layout.table) == len(table)


def test_a_small_layout_reads_as_a_96_well_plate_like_its_file():
    """``read_layout`` reads a layout of wells A01-B03 as a 96-well plate; the stored one reads the same."""
    table = pd.DataFrame({"plate_id": "P1", "well": ["A01", "B03"], "compound": "X", "concentration": [1e-6, 1e-5]})
    assert layout_from_table(table, ["A01"]).plate_format.n_wells == 96


def test_recorded_plate_format_is_taken():
    table = stored_layout()
    assert layout_from_table(table, SCORED, plate_format=384).plate_format.n_wells == 384


def test_errors_name_the_store():
    table = stored_layout()
    with pytest.raises(AnalysisInputError, match=r"^plate\.h5: stored layout: .*A07.*24-well"):
        layout_from_table(table, SCORED, source="plate.h5", plate_format=24)
    with pytest.raises(AnalysisInputError, match=r"^plate\.h5: well\(s\) A07 lie outside the stored layout's 24-well"):
        layout_from_table(table[table["well"].isin(SCORED)], [*SCORED, "A07"], source="plate.h5", plate_format=24)


def test_fit_of_a_store_with_few_scored_wells_uses_its_layout(tmp_path, monkeypatch, capsys):
    """The reported case: ``fit small.h5`` (no --layout) said A07 lies outside a 24-well plate."""
    import ferroscreen.score.store as store_mod

    wells, _ = synthetic_screen(seed=2)
    box = sorted({f"{r}{c:02d}" for r in "ABCD" for c in range(1, 7)})
    fake = SimpleNamespace(wells=wells[wells["well"].isin(box)].reset_index(drop=True), layout=stored_layout(),
                           classes=["alive", "apoptosis", "ferroptosis"], attrs={"plate": "P1"},
                           frames=pd.DataFrame({"status": [1]}))
    monkeypatch.setattr(store_mod, "read_store", lambda path: fake)
    path = tmp_path / "small.h5"
    path.write_bytes(b"")
    code, out, err = run_fit_main([str(path), "--out", str(tmp_path / "o"), "--readout", "frac_ferroptosis",
                                   "--fractions", "frac"],
                                  monkeypatch, capsys)
    assert code == 0, err
    assert "outside" not in out + err
    fits = pd.read_csv(tmp_path / "o" / "fits.csv")
    assert "erastin" in set(fits["curve"])


def test_layout_wells_never_imaged_are_said_with_their_compounds():
    from ferroscreen.analysis.screen import layout_coverage
    from ferroscreen.plate import make_layout

    wells, layout = synthetic_screen(seed=2)
    inert = set(layout.table.loc[layout.table["compound"] == "inert", "well"])
    data = wells[~wells["well"].isin(inert | {"A01"})]
    notes = layout_coverage(data, layout)
    never = [n for n in notes if "never imaged" in n]
    assert len(never) == 1
    assert never[0].startswith(f"{len(inert) + 1} layout well(s) of a dose-response compound were never imaged (no "
                               "row in the data): A01 erastin, ")
    assert never[0].endswith("; 1 compound(s) with no imaged well get no curve: inert")
    assert not any("never imaged" in n for n in layout_coverage(wells, layout))
    # a layout of two plates: only the data's plate counts
    two = make_layout([*layout.table.assign(plate_id="P1").to_dict("records"),
                       *layout.table.assign(plate_id="P2").to_dict("records")])
    assert not any("never imaged" in n for n in layout_coverage(wells, two))


def test_rescue_well_without_agent_is_said(tmp_path, monkeypatch, capsys):
    import ferroscreen.score.store as store_mod

    wells, _ = synthetic_screen(seed=2)
    table = stored_layout()
    rescue = table.index[table["role"] == "rescue"][:2]
    table.loc[rescue, "rescue_agent"] = ""
    bare = ", ".join(f"{w} (erastin)" for w in table.loc[rescue, "well"])
    fake = SimpleNamespace(wells=wells, layout=table, classes=["alive", "apoptosis", "ferroptosis"],
                           attrs={"plate": "P1", "content_sha256": "0" * 64}, frames=pd.DataFrame({"status": [1]}))
    monkeypatch.setattr(store_mod, "read_store", lambda path: fake)
    path = tmp_path / "plate.h5"
    path.write_bytes(b"")
    code, out, err = run_fit_main([str(path), "--out", str(tmp_path / "o"), "--readout", "frac_ferroptosis",
                                   "--fractions", "frac"], monkeypatch, capsys)
    assert code == 0, err
    assert (f"note: {path}: 2 well(s) of role rescue name no rescue_agent and join no rescue comparison: {bare}; "
            "give the agent in column rescue_agent (or role sample)") in out


# ---------------------------------------------------------------- the layout through export -> fit -> report

#: The excluded well (erastin at 100 nM, replicate 1) and its reason.
EXCLUDED, REASON = "A05", "bubble"


def _written_layout(tmp_path):
    """The synthetic screen's layout as a user writes it: doses in uM, growth conditions, one excluded well."""
    from ferroscreen.plate import read_layout

    wells, layout = synthetic_screen(seed=2)
    t = layout.table.copy()
    assert t.loc[t["well"] == EXCLUDED, "compound"].item() == "erastin"
    t["concentration"] = (t["concentration"] * 1e6).map(lambda v: "" if pd.isna(v) else f"{v:g}")
    t["unit"] = t["concentration"].map(lambda v: "uM" if v else "")
    t["rescue_concentration"] = t["rescue_concentration"].map(lambda v: "" if pd.isna(v) else f"{v:g}")
    t["growth_condition"] = t["replicate"].map(lambda r: "10% FBS" if r % 2 else "serum-free")
    t["exclude"] = (t["well"] == EXCLUDED).map({True: REASON, False: ""})
    path = tmp_path / "layout.csv"
    t.drop(columns=["concentration_raw"], errors="ignore").to_csv(path, index=False)
    return wells, path, read_layout(path).table  # what score stores: molar doses, units as written


@pytest.fixture()
def scored(tmp_path, monkeypatch):
    """A score store (read_store faked) of the synthetic screen with its layout; the layout file; its wells."""
    import ferroscreen.score.export as export_mod
    import ferroscreen.score.store as store_mod

    wells, layout_csv, stored = _written_layout(tmp_path)
    fake = SimpleNamespace(wells=wells, layout=stored, classes=["alive", "apoptosis", "ferroptosis"],
                           attrs={"plate": "P1", "content_sha256": "0" * 64}, frames=pd.DataFrame({"status": [1]}))
    monkeypatch.setattr(store_mod, "read_store", lambda path: fake)
    monkeypatch.setattr(export_mod, "read_store", lambda path: fake)
    path = tmp_path / "plate.h5"
    path.write_bytes(b"")
    return path, layout_csv, wells


def _fit(args, monkeypatch, capsys):
    code, out, err = run_fit_main([*map(str, args), "--fractions", "frac"] if str(args[0]).endswith(".h5")
                                  else list(map(str, args)), monkeypatch, capsys)
    assert code == 0, err
    return out


def test_fit_of_exported_wells_takes_their_exclusions_and_groups(scored, tmp_path, monkeypatch, capsys):
    """Was: ``fit wells.csv`` fitted the excluded well and pooled both growth conditions (half the curves)."""
    from ferroscreen.score.export import export_wells

    store, layout_csv, wells = scored
    exported = export_wells(store, tmp_path / "res", fractions="frac")
    own = _fit([exported, "--out", tmp_path / "own"], monkeypatch, capsys)
    assert "its own layout columns (compound, concentration, role...) are the layout" in own
    assert f"1 well excluded: P1 {EXCLUDED} ({REASON})" in own
    wells.to_csv(tmp_path / "bare.csv", index=False)
    given = _fit([tmp_path / "bare.csv", "--layout", layout_csv, "--out", tmp_path / "given"], monkeypatch, capsys)
    assert f"1 well excluded: P1 {EXCLUDED} ({REASON})" in given
    from_store = _fit([store, "--out", tmp_path / "store"], monkeypatch, capsys)
    assert f"1 well excluded: P1 {EXCLUDED} ({REASON})" in from_store
    fits = {d: pd.read_csv(tmp_path / d / "fits.csv").set_index(["curve", "readout"]).sort_index()
            for d in ("own", "given", "store")}
    assert "erastin | 10% FBS" in set(fits["own"].index.get_level_values("curve"))  # one curve per condition
    active = fits["own"]["call"] == "active"
    assert active.sum() >= 4
    for d in ("given", "store"):  # the same curves of the same points (export's 6 digits move flat fits only)
        assert list(fits["own"].index) == list(fits[d].index)
        pd.testing.assert_series_equal(fits["own"]["n_points"], fits[d]["n_points"])
        pd.testing.assert_series_equal(fits["own"]["ec50"][active], fits[d]["ec50"][active], rtol=1e-3)
    assert (tmp_path / "own" / "lines.csv").is_file()
    points = pd.read_csv(tmp_path / "own" / "fitted_points.csv")
    assert EXCLUDED not in set(points.get("well", pd.Series(dtype=str)).astype(str))
    # the excluded well's dose of erastin in 10% FBS: its one other replicate is in serum-free, so no point
    erastin = points[points["curve"] == "erastin | 10% FBS"]
    assert not (erastin["dose"].sub(1e-7).abs() < 1e-12).any()


def test_fit_of_a_store_writes_wells_with_the_stored_layout_for_the_report(scored, tmp_path, monkeypatch, capsys):
    """Was: the derived wells.csv had no layout columns; the report showed no time courses nor excluded wells."""
    from ferroscreen.plate.layout import WELLS_LAYOUT_COLUMNS
    from ferroscreen.report import load_results
    from ferroscreen.score.export import export_wells

    store, _, _ = scored
    _fit([store, "--out", tmp_path / "store"], monkeypatch, capsys)
    written = pd.read_csv(tmp_path / "store" / "wells.csv", keep_default_na=False)
    exported = pd.read_csv(export_wells(store, tmp_path / "res", fractions="frac"), keep_default_na=False)
    assert set(WELLS_LAYOUT_COLUMNS) <= set(written.columns)  # what fit writes of a store is what export writes
    key = ["plate", "well", "time_h"]
    mine, theirs = (t.sort_values(key).reset_index(drop=True)[list(WELLS_LAYOUT_COLUMNS)] for t in (written, exported))
    pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)  # the columns export writes, alike
    res = load_results(tmp_path / "store")
    assert res.has_layout
    assert not any("no layout columns" in n for n in res.notes)
    assert set(res.wells.loc[res.wells["exclude"] != "", "well"]) == {EXCLUDED}
    assert any("1 excluded well" in n and EXCLUDED in n for n in res.notes)
    assert set(res.wells["group"]) == {"10% FBS", "serum-free"}
