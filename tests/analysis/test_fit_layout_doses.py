"""``fit --layout`` with wells that name no compound or give no dose.

The reported cases: a layout without its compound column (or with it blank everywhere) crashed in
``unmolar_doses`` with a 51-line IndexError traceback; one well whose dose was left blank was
silently left out of its compound's curve; ``nan`` in that cell did the same, where ``inf`` is refused.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ferroscreen.analysis.fit_run import unmolar_doses
from ferroscreen.errors import FerroscreenError
from ferroscreen.plate import read_layout

from .conftest import run_fit_main, synthetic_screen

COLUMNS = ["plate_id", "well", "compound", "concentration", "unit", "role", "mode", "rescue_agent",
           "rescue_concentration", "rescue_unit", "replicate"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The synthetic screen's wells.csv (no layout columns) and its layout as a layout CSV's rows."""
    folder = tmp_path_factory.mktemp("screen")
    wells, layout = synthetic_screen(seed=5)
    wells.to_csv(folder / "wells.csv", index=False)
    t = layout.table.assign(plate_id="P1", unit="M", rescue_unit="M")
    rows = t[COLUMNS].astype(object).where(t[COLUMNS].notna(), "")
    return folder / "wells.csv", rows


def _layout(path, rows: pd.DataFrame, drop: str | None = None):
    (rows.drop(columns=drop) if drop else rows).to_csv(path, index=False)
    return path


def _first_erastin_sample(rows: pd.DataFrame) -> int:
    return rows.index[(rows["compound"] == "erastin") & (rows["role"] == "sample")][0]


@pytest.mark.parametrize("how", ["no compound column", "every compound blank"])
def test_a_layout_whose_wells_name_no_compound_is_refused_in_one_line(tmp_path, written, monkeypatch, capsys, how):
    """Was: IndexError (arrays used as indices must be of integer or boolean type), a 51-line traceback."""
    wells_csv, rows = written
    if how == "no compound column":
        layout = _layout(tmp_path / "layout.csv", rows, drop="compound")
    else:
        layout = _layout(tmp_path / "layout.csv", rows.assign(compound=""))
    code, out, err = run_fit_main([str(wells_csv), "--layout", str(layout), "--out", str(tmp_path / "o")],
                                  monkeypatch, capsys)
    assert code == 2, (code, err)
    assert err == (f"error: {layout}: no sample, reference, rescue or pos_ctrl well names a compound (is its "
                   f"compound column missing or blank?), so there is no dose-response curve to fit\n"), err
    assert not (tmp_path / "o").exists()


def test_a_curve_well_without_a_dose_is_named(tmp_path, written, monkeypatch, capsys):
    """Was: exit 0 and no word; erastin's curve quietly lost the well."""
    wells_csv, rows = written
    full = _layout(tmp_path / "full.csv", rows)
    blank = rows.copy()
    i = _first_erastin_sample(blank)
    well = blank.loc[i, "well"]
    blank.loc[i, "concentration"] = ""
    layout = _layout(tmp_path / "blank.csv", blank)
    code, out, err = run_fit_main([str(wells_csv), "--layout", str(layout), "--out", str(tmp_path / "b")],
                                  monkeypatch, capsys)
    assert code == 0, err
    note = (f"note: {layout}: {well} erastin: no dose, so it joins no curve (its other wells give the compound's "
            f"doses)")
    assert note in out.splitlines(), out
    assert "no dose" not in run_fit_main([str(wells_csv), "--layout", str(full), "--out", str(tmp_path / "f")],
                                         monkeypatch, capsys)[1]
    points = {name: pd.read_csv(tmp_path / name / "fits.csv").query("compound == 'erastin' and role == 'sample'")
              .groupby("readout")["n_points"].max() for name in ("b", "f")}
    assert ((points["f"] - points["b"]) == 1).all()  # the note tells the truth: one point fewer per curve


def test_the_note_names_every_undosed_well_once_per_compound(tmp_path, written):
    _, rows = written
    blank = rows.copy()
    erastin = blank.index[(blank["compound"] == "erastin") & (blank["role"] == "sample")][:2]
    stauro = blank.index[(blank["compound"] == "staurosporine") & (blank["role"] == "sample")][:1]
    blank.loc[[*erastin, *stauro], "concentration"] = ""
    notes = unmolar_doses(read_layout(_layout(tmp_path / "two.csv", blank)))
    shown = ", ".join(blank.loc[erastin, "well"])
    assert [n.split(": ", 1)[1] for n in notes] == [
        f"{shown} erastin: no dose, so they join no curve (its other wells give the compound's doses)",
        f"{blank.loc[stauro[0], 'well']} staurosporine: no dose, so it joins no curve (its other wells give the "
        f"compound's doses)"]


@pytest.mark.parametrize("text", ["nan", "NaN", "NA", "-"])
def test_nan_as_a_dose_is_no_dose_and_named(tmp_path, written, text):
    """A program's 'nan' stays "nothing written" (a pandas-made layout's vehicle rows); a curve well so written
    is named by the note (was: left out of its curve without a word). 'inf' is refused."""
    _, rows = written
    bad = rows.copy()
    i = _first_erastin_sample(bad)
    bad.loc[i, "concentration"] = text
    layout = read_layout(_layout(tmp_path / "nan.csv", bad))
    assert layout.table["concentration"].isna().sum() == rows["concentration"].replace("", None).isna().sum() + 1
    assert any(f"{bad.loc[i, 'well']} erastin: no dose" in n for n in unmolar_doses(layout))
    bad.loc[i, "concentration"] = "inf"
    with pytest.raises(FerroscreenError, match=f"{i + 2}: column 'concentration': 'inf' is not a finite number$"):
        read_layout(_layout(tmp_path / "inf.csv", bad))
