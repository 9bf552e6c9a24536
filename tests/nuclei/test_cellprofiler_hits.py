"""``ferroscreen hits`` on CellProfiler exports: per-image CSVs, object tables and SQLite databases."""

from __future__ import annotations

import sqlite3
import sys

import numpy as np
import pandas as pd
import pytest

from ferroscreen.cli import main
from ferroscreen.io.cellprofiler import looks_like_cellprofiler, read_cellprofiler, wells_from_fields

from .test_knockdown import PLANTED, make_screen

FIELDS = 4


def cellprofiler_tables(seed=0):
    """A two-plate screen as CellProfiler measured it: the per-image and Nuclei tables, and its layout."""
    wells, layout = make_screen(seed=seed)
    rng = np.random.default_rng(seed)
    images, nuclei = [], []
    number = 0
    for w in wells.itertuples(index=False):
        counts = rng.multinomial(int(round(w.n_nuclei)), [1 / FIELDS] * FIELDS)
        for site, n in enumerate(counts, start=1):
            number += 1
            areas = rng.normal(w.area_mean, 30, size=n)
            images.append({"ImageNumber": number, "Metadata_Plate": w.plate, "Metadata_Well": w.well,
                           "Metadata_Site": site, "Count_Nuclei": n, "Count_Cells": n,
                           "FileName_DNA": f"{w.plate}_{w.well}_s{site}_w1.tif",
                           "Mean_Nuclei_AreaShape_Area": areas.mean() if n else np.nan})
            nuclei += [{"ImageNumber": number, "ObjectNumber": k + 1, "AreaShape_Area": a}
                       for k, a in enumerate(areas)]
    return pd.DataFrame(images), pd.DataFrame(nuclei), wells, layout


@pytest.fixture(scope="module")
def screen(tmp_path_factory):
    root = tmp_path_factory.mktemp("cp")
    images, nuclei, wells, layout = cellprofiler_tables()
    layout.to_csv(root / "layout.csv")
    return root, images, nuclei, wells


def _hits(monkeypatch, capsys, *argv):
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "hits", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_image_table_gives_the_wells_segment_would(screen, tmp_path, monkeypatch, capsys):
    root, images, nuclei, wells = screen
    images.to_csv(tmp_path / "MyExpt_Image.csv", index=False)
    assert looks_like_cellprofiler(tmp_path / "MyExpt_Image.csv")
    fields = read_cellprofiler(tmp_path / "MyExpt_Image.csv")
    assert fields.objects == "Nuclei" and fields.area_source == "Mean_Nuclei_AreaShape_Area"
    got = wells_from_fields(fields.table).set_index(["plate", "well"])
    truth = wells.set_index(["plate", "well"])
    assert (got["n_fields"] == FIELDS).all() and len(got) == len(truth)
    assert (got["n_nuclei"] == truth["n_nuclei"].round().astype(int)).all()
    assert np.allclose(got["nuclei_per_field"], got["n_nuclei"] / FIELDS)
    code, out, err = _hits(monkeypatch, capsys, str(tmp_path / "MyExpt_Image.csv"), "--layout",
                           str(root / "layout.csv"), "--out", str(tmp_path / "h"), "--no-plots")
    assert code in (0, None), err
    assert "CellProfiler export: 3072 fields in 768 wells on 2 plate(s); counting Nuclei" in out
    genes = pd.read_csv(tmp_path / "h" / "genes.csv").set_index("gene")
    assert set(PLANTED) <= set(genes.index[genes["hit"]])
    assert genes.loc["FBXO5", "phenotype"] == "fewer_nuclei+larger_nuclei"


def test_object_table_beside_and_sqlite_give_the_same_areas(screen, tmp_path):
    _, images, nuclei, _ = screen
    images.drop(columns="Mean_Nuclei_AreaShape_Area").to_csv(tmp_path / "Image.csv", index=False)
    nuclei.to_csv(tmp_path / "Nuclei.csv", index=False)
    from_objects = read_cellprofiler(tmp_path / "Image.csv")
    assert from_objects.area_source == "Nuclei.csv: AreaShape_Area"
    images.to_csv(tmp_path / "means_Image.csv", index=False)
    from_means = read_cellprofiler(tmp_path / "means_Image.csv")
    a = wells_from_fields(from_objects.table)["area_mean"].to_numpy()
    b = wells_from_fields(from_means.table)["area_mean"].to_numpy()
    assert np.allclose(a, b, equal_nan=True)

    db = tmp_path / "screen.db"
    with sqlite3.connect(db) as con:
        per_image = images.drop(columns="Mean_Nuclei_AreaShape_Area").rename(
            columns=lambda c: c if c == "ImageNumber" else f"Image_{c}")
        per_image.to_sql("MyExpt_Per_Image", con, index=False)
        nuclei.rename(columns={"AreaShape_Area": "Nuclei_AreaShape_Area"}).to_sql("MyExpt_Per_Object", con,
                                                                                  index=False)
    assert looks_like_cellprofiler(db)
    from_db = read_cellprofiler(db)
    assert from_db.area_source == "MyExpt_Per_Object.Nuclei_AreaShape_Area"
    assert np.allclose(wells_from_fields(from_db.table)["area_mean"].to_numpy(), a, equal_nan=True)


def test_well_spellings_and_objects(screen, tmp_path):
    _, images, _, _ = screen
    few = images.head(8).copy()
    rc = few.assign(Metadata_Well=["r01c02"] * 4 + ["r16c24"] * 4)
    rc.to_csv(tmp_path / "rc_Image.csv", index=False)
    assert sorted(set(read_cellprofiler(tmp_path / "rc_Image.csv").table["well"])) == ["A02", "P24"]
    split = few.drop(columns="Metadata_Well").assign(Metadata_Row=["B"] * 4 + ["3"] * 4, Metadata_Column=[5] * 8)
    split.to_csv(tmp_path / "split_Image.csv", index=False)
    assert sorted(set(read_cellprofiler(tmp_path / "split_Image.csv").table["well"])) == ["B05", "C05"]
    two = few.drop(columns="Count_Nuclei").assign(Count_Cytoplasm=3, Count_HoechstObjects=few["Count_Nuclei"])
    two = two.rename(columns={"Mean_Nuclei_AreaShape_Area": "Mean_HoechstObjects_AreaShape_Area"})
    two.to_csv(tmp_path / "two_Image.csv", index=False)
    assert read_cellprofiler(tmp_path / "two_Image.csv").objects == "HoechstObjects"  # named like a nuclear stain


def test_a_count_only_pipeline_calls_on_the_count_alone(screen, tmp_path, monkeypatch, capsys):
    root, images, _, _ = screen
    images.drop(columns="Mean_Nuclei_AreaShape_Area").to_csv(tmp_path / "Image.csv", index=False)
    assert read_cellprofiler(tmp_path / "Image.csv").area_source is None
    code, out, err = _hits(monkeypatch, capsys, str(tmp_path / "Image.csv"), "--layout", str(root / "layout.csv"),
                           "--out", str(tmp_path / "h"), "--no-plots")
    assert code in (0, None), err
    assert "no nuclear area exported (the count alone)" in out
    assert "no nuclear area column (area_mean): genes are called on the nuclei count alone" in err
    genes = pd.read_csv(tmp_path / "h" / "genes.csv").set_index("gene")
    assert "fc_area" not in genes.columns
    assert {g for g, (fc_count, _) in PLANTED.items() if fc_count < 0.5} <= set(genes.index[genes["hit"]])
    assert genes.loc["UBB", "phenotype"] == "lethal"


def test_cellprofiler_errors_are_one_line(screen, tmp_path, monkeypatch, capsys):
    root, images, _, _ = screen
    few = images.head(8)
    cases = {
        "nowell": (few.drop(columns="Metadata_Well"), "no well in the metadata"),
        "several": (few.drop(columns="Count_Nuclei").assign(Count_Blobs=1, Count_Spots=2), "--objects"),
        "badwell": (few.assign(Metadata_Well="Z99"), "column Metadata_Well"),
        "timelapse": (few.assign(Metadata_Timepoint=[1, 2] * 4), "time-lapse"),
        "badcount": (few.assign(Count_Nuclei=["x"] + [1] * 7), "not a count"),
    }
    for name, (table, expected) in cases.items():
        table.to_csv(tmp_path / f"{name}_Image.csv", index=False)
        code, _, err = _hits(monkeypatch, capsys, str(tmp_path / f"{name}_Image.csv"), "--layout",
                             str(root / "layout.csv"), "--out", str(tmp_path / "never"))
        assert code == 2 and expected in err and f"{name}_Image.csv" in err, (name, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, _, err = _hits(monkeypatch, capsys, str(tmp_path / "nowell_Image.csv"), "--objects", "Cells",
                         "--signal-col", "x", "--out", str(tmp_path / "never"))
    assert code == 2 and "--signal-col does not go with a CellProfiler image table" in err
    assert not (tmp_path / "never").exists()


def test_inspect_describes_a_cellprofiler_table(screen, tmp_path):
    from ferroscreen.io.inspection import inspect_path, render_inspection

    root, images, _, _ = screen
    images.to_csv(tmp_path / "Image.csv", index=False)
    info = inspect_path(tmp_path / "Image.csv", layout=root / "layout.csv")
    assert info["kind"] == "cellprofiler" and info["objects"] == "Nuclei" and info["n_wells"] == 384
    assert info["fields_per_well"] == [FIELDS, FIELDS] and info["layout_check"]["imaged_not_in_layout"] == []
    assert "counting Nuclei; nuclear area from Mean_Nuclei_AreaShape_Area" in render_inspection(info)


def harmony_text(wells, plate, extra_population=False, timepoints=1):
    """A Harmony PlateResults.txt of ``wells`` (one plate): header block, [Data], one row per well."""
    head = ["[General]", "Version\t1", "Date\t2026-03-02", f"Plate Name\t{plate}", "Measurement\tMeasurement 1",
            "Evaluation\tEvaluation1", "Evaluation Signature\t", "[Data]"]
    cols = ["Row", "Column", "Plane", "Timepoint", "Number of Analyzed Fields", "Nuclei - Number of Objects",
            "Nuclei - Nucleus Area [µm²] - Mean per Well", "Nuclei - Nucleus Roundness - Mean per Well"]
    if extra_population:
        cols.insert(6, "Dead Nuclei - Number of Objects")
    rows = ["\t".join(cols)]
    from ferroscreen.plate.wells import well_to_rowcol

    for t in range(1, timepoints + 1):
        for w in wells.itertuples(index=False):
            r, c = well_to_rowcol(w.well)
            n = int(round(w.n_nuclei)) if t == timepoints else 999
            values = [r + 1, c + 1, 1, t, 9, n, f"{w.area_mean:.3f}" if n else "NaN", "0.9"]
            if extra_population:
                values.insert(6, 3)
            rows.append("\t".join(map(str, values)))
    return "\n".join(head + rows) + "\n"


def test_harmony_plate_results(screen, tmp_path, monkeypatch, capsys):
    from ferroscreen.io.harmony_results import looks_like_harmony_results, read_harmony_results

    root, _, _, wells = screen
    paths = []
    for plate in ("REP1", "REP2"):
        path = tmp_path / plate / "PlateResults.txt"
        path.parent.mkdir()
        path.write_text(harmony_text(wells[wells["plate"] == plate], plate, timepoints=2 if plate == "REP2" else 1),
                        encoding="utf-8")
        paths.append(path)
    assert looks_like_harmony_results(paths[0]) and not looks_like_harmony_results(root / "layout.csv")
    read = read_harmony_results(paths[1])
    assert read.population == "Nuclei" and read.area_source == "Nuclei - Nucleus Area [µm²] - Mean per Well"
    assert read.notes == ["2 time points; the last (Timepoint 2) is used"] and len(read.table) == 384
    assert np.allclose(read.table["nuclei_per_field"], read.table["n_nuclei"] / 9)
    code, out, err = _hits(monkeypatch, capsys, *map(str, paths), "--layout", str(root / "layout.csv"),
                           "--out", str(tmp_path / "h"), "--no-plots")
    assert code in (0, None), err
    assert "Harmony results: 384 wells on 1 plate(s); counting Nuclei" in out
    genes = pd.read_csv(tmp_path / "h" / "genes.csv").set_index("gene")
    assert set(PLANTED) <= set(genes.index[genes["hit"]])

    two = tmp_path / "two.txt"
    two.write_text(harmony_text(wells[wells["plate"] == "REP1"].head(4), "REP1", extra_population=True))
    assert read_harmony_results(two).population == "Nuclei"
    noarea = tmp_path / "noarea.txt"
    noarea.write_text(two.read_text().replace("Nucleus Area [µm²]", "Nucleus Size"))
    counted = read_harmony_results(noarea)
    assert counted.area_source is None and "area_mean" not in counted.table
    code, _, err = _hits(monkeypatch, capsys, str(two), "--objects", "Cells", "--out", str(tmp_path / "never"))
    assert code == 2 and "no populations named 'Cells' are counted" in err and len(err.strip().splitlines()) == 1


def test_what_the_second_sweep_found(screen, tmp_path, monkeypatch, capsys):
    """Exports that were read wrong, or crashed, before the bad-input sweep of these readers."""
    root, images, nuclei, wells = screen
    few = images.head(12).copy()
    cases = {
        "inf": (few.assign(Count_Nuclei=[np.inf] + [3] * 11), "Count_Nuclei of ImageNumber 1 is 'inf', not a count"),
        "frac": (few.assign(Count_Nuclei=[49.7] + [3] * 11), "'49.7', not a count of objects"),
        "nowell": (few.assign(Metadata_Well=[None] + ["A01"] * 11), "Metadata_Well is empty for ImageNumber 1"),
        "noplate": (few.assign(Metadata_Plate=[None] * 4 + ["REP1"] * 8), "Metadata_Plate is empty for ImageNumber 1"),
        "pasted": (pd.concat([few, few]), "ImageNumber 1 appears 2 times"),
        "site": (few.assign(Metadata_Site=1), "Metadata_Site 1 is in 4 images"),
    }
    for name, (table, expected) in cases.items():
        table.to_csv(tmp_path / f"{name}_Image.csv", index=False)
        code, _, err = _hits(monkeypatch, capsys, str(tmp_path / f"{name}_Image.csv"), "--layout",
                             str(root / "layout.csv"), "--out", str(tmp_path / "never"))
        assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, (name, err)
    # an object table of another run: its objects do not match the image table's counts
    few.drop(columns="Mean_Nuclei_AreaShape_Area").to_csv(tmp_path / "other_Image.csv", index=False)
    nuclei[nuclei["ImageNumber"] > 12].assign(ImageNumber=lambda t: t["ImageNumber"] - 12).to_csv(
        tmp_path / "other_Nuclei.csv", index=False)
    with pytest.raises(Exception, match="the object table .other_Nuclei.csv. does not match the image table"):
        read_cellprofiler(tmp_path / "other_Image.csv")
    # databases: not SQLite, or two runs' Per_Image tables
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 10)
    with pytest.raises(Exception, match="not a readable SQLite database"):
        read_cellprofiler(tmp_path / "junk.db")
    with sqlite3.connect(tmp_path / "two.db") as con:
        few.to_sql("A_Per_Image", con, index=False)
        few.to_sql("B_Per_Image", con, index=False)
    with pytest.raises(Exception, match="2 .A_Per_Image, B_Per_Image."):
        read_cellprofiler(tmp_path / "two.db")
    # Harmony: a count that is no count names its line; a results table without [Data] is still read
    from ferroscreen.io.harmony_results import read_harmony_results

    text = harmony_text(wells[wells["plate"] == "REP1"].head(4), "REP1")
    lines = text.splitlines()
    lines[9] = "\t".join(["1", "1", "1", "1", "9", "-5", *lines[9].split("\t")[6:]])
    (tmp_path / "neg.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(Exception, match="neg.txt: line 10: 'Nuclei - Number of Objects' is '-5'"):
        read_harmony_results(tmp_path / "neg.txt")
    (tmp_path / "nodata.txt").write_text(text.replace("[Data]\n", ""))
    assert len(read_harmony_results(tmp_path / "nodata.txt").table) == 4


def test_inspect_checks_each_plate_against_its_layout_plate(screen, tmp_path):
    from ferroscreen.io.inspection import inspect_path, render_inspection

    root, images, _, _ = screen
    plates = sorted(images["Metadata_Plate"].unique())
    assert len(plates) == 2
    renamed = images.assign(Metadata_Plate=images["Metadata_Plate"].map({plates[0]: f"{plates[0]}-scan2",
                                                                         plates[1]: "OTHER"}))
    renamed = renamed[~((renamed["Metadata_Plate"] != "OTHER") & (renamed["Metadata_Well"] == "B02"))]
    renamed.to_csv(tmp_path / "Image.csv", index=False)
    check = inspect_path(tmp_path / "Image.csv", layout=root / "layout.csv")["layout_check"]
    assert check["plates"] == {f"{plates[0]}-scan2": plates[0]} and check["plates_not_in_layout"] == ["OTHER"]
    assert check["layout_plates_not_found"] == [plates[1]]
    assert check["in_layout_not_imaged"] == [f"{plates[0]}-scan2 B02"] and check["imaged_not_in_layout"] == []
    text = render_inspection(inspect_path(tmp_path / "Image.csv", layout=root / "layout.csv"))
    assert "plates the layout does not name (1): OTHER" in text and f"not in the data (1): {plates[1]}" in text


def test_an_image_table_saved_as_unicode_text_reads_alike(screen, tmp_path):
    """Excel's "Unicode text" (UTF-16, tab-separated) of the image table gives the same fields."""
    from ferroscreen.io.cellprofiler import looks_like_cellprofiler, read_cellprofiler

    _, images, _, _ = screen
    images.to_csv(tmp_path / "Image.csv", index=False)
    (tmp_path / "Image16.txt").write_bytes(images.to_csv(sep="\t", index=False).encode("utf-16"))
    assert looks_like_cellprofiler(tmp_path / "Image16.txt")
    a, b = (read_cellprofiler(tmp_path / n).table for n in ("Image.csv", "Image16.txt"))
    assert a.equals(b)


def test_a_columbus_batch_export_names_each_rows_plate(screen, tmp_path):
    """Columbus exports several plates in one table, each row's plate in 'Result' (plate > analysis time)."""
    from ferroscreen.io.harmony_results import read_harmony_results

    _, _, _, wells = screen
    parts = []
    for plate in ("REP1", "REP2"):
        text = harmony_text(wells[wells["plate"] == plate], plate).split("[Data]\n")[1].splitlines()
        parts.append([f"Result\tWell\t{text[0]}"] if not parts else [])
        for line in text[1:]:
            parts[-1].append(f"{plate} > 2026-03-02 10:00:00\tX\t{line}")
    path = tmp_path / "columbus.txt"
    path.write_text("\n".join(line for part in parts for line in part) + "\n")
    read = read_harmony_results(path).table
    assert sorted(read["plate"].unique()) == ["REP1", "REP2"] and len(read) == len(wells)
    mine = read.set_index(["plate", "well"])["n_nuclei"]
    truth = wells.set_index(["plate", "well"])["n_nuclei"].round()
    assert (mine.sort_index() == truth.sort_index()).all()


def test_columbus_spellings_read_as_harmony(screen, tmp_path):
    """Columbus tables name the well 'Well' (A1), capitalise 'Number Of Objects', run 'NumberOfAnalyzedFields'
    together and repeat a selected population after its count; they read as Harmony's."""
    from ferroscreen.errors import AcquisitionError
    from ferroscreen.io.harmony_results import looks_like_harmony_results, read_harmony_results
    from ferroscreen.plate.wells import short_well

    _, _, _, wells = screen
    rep = wells[wells["plate"] == "REP1"]
    lines = ["Result\tWell\tNumberOfAnalyzedFields\tNuclei - Number Of Objects\t"
             "Nuclei Selected - Number of Objects Nuclei Selected\tNuclei - Nucleus Area [µm²] - Mean Per Well"]
    for w in rep.itertuples(index=False):
        lines.append(f"REP1 > 2026-03-02 10:00:00\t{short_well(w.well)}\t9\t{int(round(w.n_nuclei))}\t"
                     f"{int(round(w.n_nuclei)) // 2}\t{w.area_mean:.3f}")
    path = tmp_path / "columbus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert looks_like_harmony_results(path)
    read = read_harmony_results(path)
    assert read.population == "Nuclei" and read.area_source == "Nuclei - Nucleus Area [µm²] - Mean Per Well"
    table = read.table.set_index("well")
    truth = rep.set_index("well")
    assert (table["plate"] == "REP1").all() and len(table) == len(rep)
    assert (table["n_nuclei"] == truth["n_nuclei"].round().reindex(table.index)).all()
    assert np.allclose(table["area_mean"], truth["area_mean"].reindex(table.index), atol=1e-3)
    assert np.allclose(table["nuclei_per_field"], table["n_nuclei"] / 9)
    selected = read_harmony_results(path, population="nuclei selected")
    assert selected.population == "Nuclei Selected" and selected.area_source is None
    assert (selected.table.set_index("well")["n_nuclei"] == table["n_nuclei"] // 2).all()

    bad = tmp_path / "badwell.txt"
    bad.write_text(path.read_text(encoding="utf-8").replace("\tA1\t", "\tZ99\t", 1), encoding="utf-8")
    with pytest.raises(AcquisitionError, match=r"badwell.txt: line \d+: Well 'Z99' is not a well"):
        read_harmony_results(bad)
