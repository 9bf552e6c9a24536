"""``ferroscreen fit`` on other image-analysis software's tables: CellProfiler per-image tables, Harmony results."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.cli import app

EC50 = {"A": ("RSL3", 2e-7), "B": ("RSL3", 2e-7), "C": ("Erastin", 3e-6), "D": ("Erastin", 3e-6),
        "E": ("Staurosporine", 3e-8), "F": ("Staurosporine", 3e-8), "G": ("Volasertib", 1e-8),
        "H": ("Volasertib", 1e-8)}
DOSES = np.logspace(-10, -5, 10)  # M, columns 2..11
HILL, PER_FIELD, FIELDS = 1.5, 200, 4


def _viability(letter: str, col: int) -> float:
    if col == 1:
        return 1.0  # vehicle
    if col == 12:
        return 0.0 if letter in "ABCD" else 0.02  # empty, pos_ctrl
    return 0.02 + 0.98 / (1 + (DOSES[col - 2] / EC50[letter][1]) ** HILL)


def _layout(tmp_path):
    rows = ["plate_id,well,compound,concentration,unit,role"]
    for letter, (name, _) in EC50.items():
        rows.append(f"P1,{letter}1,DMSO,0,uM,vehicle")
        rows += [f"P1,{letter}{col},{name},{DOSES[col - 2] * 1e6:.6g},uM,sample" for col in range(2, 12)]
        rows.append(f"P1,{letter}12,,,,empty" if letter in "ABCD" else f"P1,{letter}12,Staurosporine,10,uM,pos_ctrl")
    (tmp_path / "layout.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "layout.csv"


def _image_table(seed=3, **extra) -> pd.DataFrame:
    """A CellProfiler per-image table of plate P1: four fields a well, Nuclei and (twice as many) Cells counted."""
    rng = np.random.default_rng(seed)
    rows = []
    for letter in EC50:
        for col in range(1, 13):
            for site in range(1, FIELDS + 1):
                n = int(rng.poisson(PER_FIELD * _viability(letter, col)))
                rows.append({"ImageNumber": len(rows) + 1, "Metadata_Plate": "P1", "Metadata_Well": f"{letter}{col}",
                             "Metadata_Site": site, "Count_Nuclei": n, "Count_Cells": 2 * n, **extra,
                             "FileName_DNA": f"P1_{letter}{col}_s{site}.tif"})
    return pd.DataFrame(rows)


def _harmony(path, fields=None, populations=("Nuclei",), timepoints=(1,), seed=4):
    """A Harmony PlateResults.txt of plate P1 (nine fields a well; ``fields`` maps wells to fewer)."""
    rng = np.random.default_rng(seed)
    head = ["Row", "Column", "Plane", "Timepoint", *(f"{p} - Number of Objects" for p in populations),
            "Number of Analyzed Fields"]
    lines = ["[Plate Results]", "Plate Name\tP1", "Measurement\tMeasurement 1", "", "[Data]", "\t".join(head)]
    for t in timepoints:
        for r, letter in enumerate(EC50, start=1):
            for col in range(1, 13):
                n_fields = (fields or {}).get(f"{letter}{col}", 9)
                n = int(rng.poisson(100 * n_fields * _viability(letter, col)))
                counts = [str(n * (k + 1)) for k in range(len(populations))]
                lines.append("\t".join([str(r), str(col), "1", str(t), *counts, str(n_fields)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _fit(*argv):
    return CliRunner().invoke(app, ["fit", *map(str, argv)])


def _refused(run_main, *argv) -> str:
    """The one-line error ``fit ARGV`` ends with (exit 2, no traceback)."""
    code, out, err = run_main("fit", *argv)
    assert code == 2 and "Traceback" not in out + err, (code, out, err)
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    return err


def _fits(out) -> pd.DataFrame:
    return pd.read_csv(out / "fits.csv").set_index("curve")


def test_cellprofiler_image_table_is_fitted_as_its_fields_summed_per_well(tmp_path):
    layout = _layout(tmp_path)
    images = _image_table()
    images.to_csv(tmp_path / "MyExpt_Image.csv", index=False)
    res = _fit(tmp_path / "MyExpt_Image.csv", "--layout", layout, "--endpoint-h", 72, "--out", tmp_path / "cp")
    assert res.exit_code == 0, res.output
    assert "n_cells is Count_Nuclei (also counted: Cells; --columns n=Count_<objects> fits another)" in res.output
    assert "one time point, placed at 72 h (--endpoint-h)" in res.output
    wells = pd.read_csv(tmp_path / "cp" / "wells.csv")
    summed = images.groupby("Metadata_Well")["Count_Nuclei"].sum()
    b05 = wells.set_index("well").loc["B05"]
    assert b05["n_cells"] == summed["B5"] and b05["time_h"] == 72 and b05["n_done"] == FIELDS
    fits = _fits(tmp_path / "cp")
    for name, ec50 in {"RSL3": 2e-7, "Erastin": 3e-6, "Staurosporine": 3e-8, "Volasertib": 1e-8}.items():
        assert fits.loc[name, "call"] == "active"
        assert abs(np.log10(fits.loc[name, "ec50"] / ec50)) < 0.15, (name, fits.loc[name, "ec50"])
    # the same fits as the wells table an analyst would sum by hand
    hand = summed.rename_axis("well").reset_index(name="n_cells").assign(plate="P1", time_h=72.0)
    hand.to_csv(tmp_path / "hand.csv", index=False)
    assert _fit(tmp_path / "hand.csv", "--layout", layout, "--out", tmp_path / "hand").exit_code == 0
    pd.testing.assert_series_equal(fits["ec50"], _fits(tmp_path / "hand")["ec50"])
    record = json.loads((tmp_path / "cp" / "provenance.json").read_text())
    assert record["fit"]["image_analysis"]["count_column"] == "Count_Nuclei"


def test_a_well_short_of_fields_is_scaled_to_the_plates_usual_number(tmp_path):
    layout = _layout(tmp_path)
    images = _image_table()
    images = images[~((images["Metadata_Well"] == "A1") & (images["Metadata_Site"] == 4))]  # a vehicle field lost
    images.to_csv(tmp_path / "Image.csv", index=False)
    res = _fit(tmp_path / "Image.csv", "--layout", layout, "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert "A01 at 0 h" in res.output and "scaled to all the well's fields" in res.output
    a01 = pd.read_csv(tmp_path / "out" / "wells.csv").set_index("well").loc["A01"]
    read = images.loc[images["Metadata_Well"] == "A1", "Count_Nuclei"].sum()
    assert a01["n_cells_read"] == read and a01["n_done"] == 3 and a01["n_frames"] == FIELDS
    assert a01["n_cells"] == pytest.approx(read * FIELDS / 3)


def test_columns_n_picks_the_count_and_other_roles_are_refused(tmp_path, run_main):
    layout = _layout(tmp_path)
    _image_table().to_csv(tmp_path / "Image.csv", index=False)
    res = _fit(tmp_path / "Image.csv", "--layout", layout, "--columns", "n=Count_Cells", "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert "n_cells is Count_Cells (also counted: Nuclei" in res.output
    err = _refused(run_main, tmp_path / "Image.csv", "--layout", layout, "--columns", "dose=conc", "--out",
                   tmp_path / "bad")
    assert "--columns dose=... is for CSV tables" in err


def test_a_cellprofiler_time_course_in_hours_keeps_its_times_and_numbered_scans_give_the_last(tmp_path):
    layout = _layout(tmp_path)
    parts = [_image_table(seed=k, Metadata_Time=f"00d{h:02d}h00m") for k, h in enumerate((0, 24, 48))]
    timed = pd.concat(parts, ignore_index=True).assign(ImageNumber=lambda t: range(1, len(t) + 1))
    timed.to_csv(tmp_path / "timed_Image.csv", index=False)
    res = _fit(tmp_path / "timed_Image.csv", "--layout", layout, "--out", tmp_path / "timed")
    assert res.exit_code == 0, res.output
    assert sorted(pd.read_csv(tmp_path / "timed" / "wells.csv")["time_h"].unique()) == [0, 24, 48]
    scans = timed.drop(columns="Metadata_Time").assign(Metadata_Timepoint=np.repeat([1, 2, 3], len(parts[0])))
    scans.to_csv(tmp_path / "scans_Image.csv", index=False)
    res = _fit(tmp_path / "scans_Image.csv", "--layout", layout, "--out", tmp_path / "scans")
    assert res.exit_code == 0, res.output
    assert "3 scans numbered by its time column, not timed in hours: the last (scan 3) is fitted" in res.output
    wells = pd.read_csv(tmp_path / "scans" / "wells.csv").set_index("well")
    last = parts[2].groupby("Metadata_Well")["Count_Nuclei"].sum()
    assert wells.loc["C07", "n_cells"] == last["C7"] and set(wells["time_h"]) == {0.0}


def test_harmony_results_are_fitted_with_fields_scaled_and_populations_chosen(tmp_path):
    layout = _layout(tmp_path)
    path = _harmony(tmp_path / "PlateResults.txt", fields={"B1": 6}, populations=("Nuclei", "Cells"),
                    timepoints=(1, 2))
    res = _fit(path, "--layout", layout, "--endpoint-h", 48, "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert "n_cells is 'Nuclei - Number of Objects' (also counted: Cells" in res.output
    assert "the last (Timepoint 2) is used" in res.output and "B01 at 48 h" in res.output
    b01 = pd.read_csv(tmp_path / "out" / "wells.csv").set_index("well").loc["B01"]
    assert b01["n_done"] == 6 and b01["n_frames"] == 9 and b01["n_cells"] == pytest.approx(b01["n_cells_read"] * 9 / 6)
    fits = _fits(tmp_path / "out")
    assert abs(np.log10(fits.loc["Erastin", "ec50"] / 3e-6)) < 0.15
    res = _fit(path, "--layout", layout, "--columns", "n=Cells - Number of Objects", "--out", tmp_path / "cells")
    assert res.exit_code == 0 and "n_cells is 'Cells - Number of Objects'" in res.output


def test_what_fit_cannot_read_of_them_is_said_in_one_line(tmp_path, run_main):
    layout = _layout(tmp_path)
    _image_table().to_csv(tmp_path / "MyExpt_Image.csv", index=False)
    pd.DataFrame({"ImageNumber": [1, 1, 2], "ObjectNumber": [1, 2, 1], "AreaShape_Area": [300, 310, 290]}).to_csv(
        tmp_path / "MyExpt_Nuclei.csv", index=False)
    err = _refused(run_main, tmp_path / "MyExpt_Nuclei.csv", "--layout", layout, "--out", tmp_path / "o1")
    assert "a CellProfiler object table (a row per object)" in err and "MyExpt_Image.csv beside it" in err
    err = _refused(run_main, tmp_path / "MyExpt_Image.csv", "--out", tmp_path / "o2")
    assert "holds no doses; pass --layout" in err
    path = _harmony(tmp_path / "two.txt", populations=("Spots", "Blobs"))
    err = _refused(run_main, path, "--layout", layout, "--out", tmp_path / "o3")
    assert "several populations are counted (Spots, Blobs)" in err
    assert "--columns n='<population> - Number of Objects'" in err and "--objects" not in err


def test_a_wells_table_of_fields_is_told_to_sum_them():
    """A per-field table renamed to wells columns: the duplicate-row error says what the extra rows are."""
    from ferroscreen.analysis.inputs import AnalysisInputError, validate_wells

    table = pd.DataFrame({"plate": "P", "well": ["A1", "A1"], "time_h": 72.0, "n_cells": [10, 12],
                          "Metadata_Site": [1, 2]})
    with pytest.raises(AnalysisInputError, match="column 'Metadata_Site' holds fields: sum the fields per well"):
        validate_wells(table, source="fields.csv")
