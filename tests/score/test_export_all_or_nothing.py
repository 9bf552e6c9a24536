"""``export`` puts wells.csv, export.json and the galleries in place together, or leaves the folder as it was.

The reported case: ``export STORE --out X --seed -1`` into a folder holding an earlier export wrote the
new wells.csv and export.json, deleted the earlier galleries, then failed on the seed with a
50-line traceback (exit 1): X held a half-new export. A failure while the galleries are drawn (a
damaged block of the store, Ctrl-C) did the same.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import tifffile

from ferroscreen.plate import read_layout
from ferroscreen.score.merge import merge_journals
from ferroscreen.score.shard import ShardWriter
from ferroscreen.score.store import DONE, new_frame_table

from ..conftest import main_in_process

CLASSES = ["alive", "apoptosis", "ferroptosis"]
SIDE = 64


def _store(tmp_path, name: str, compounds: list[str], mode: str = "cells"):
    """A score store of plate P1: a vehicle well and one well per compound, 2 times, readable 64 px frames.

    Each compound well's cells are called apoptosis or ferroptosis (so each compound has a gallery).
    """
    folder = tmp_path / name
    folder.mkdir()
    rows = ["plate_id,well,compound,concentration,unit,role,mode", "P1,A01,DMSO,0,uM,vehicle,"]
    rows += [f"P1,A{i + 2:02d},{c},1,uM,sample," for i, c in enumerate(compounds)]
    (folder / "layout.csv").write_text("\n".join(rows) + "\n")
    layout = read_layout(folder / "layout.csv").table
    rng = np.random.default_rng(len(compounds))
    frames = []
    for t in (0.0, 24.0):
        for w in layout["well"]:
            path = folder / f"{w}_{t:g}.tif"
            tifffile.imwrite(path, rng.integers(0, 255, (SIDE, SIDE), dtype=np.uint8))
            frames.append({"plate": "P1", "well": w, "field": 1, "channel": "phase", "z": 0, "time_h": t,
                           "path": str(path)})
    frames = new_frame_table(pd.DataFrame(frames))
    writer = ShardWriter(folder / "rank-0.h5", len(CLASSES))
    for i, row in frames.iterrows():
        n = 5
        called = 0 if row["well"] == "A01" else 1 + int(row["well"][1:]) % 2
        prob = np.full((n, len(CLASSES)), 0.1, np.float32)
        prob[:, called] = rng.uniform(0.6, 0.8, n)
        result = {"frame": i, "status": DONE, "reason": "", "n_cells": n, "cell_start": 0, "cell_stop": n,
                  "height": SIDE, "width": SIDE, "focus": 1.0, "empty": 0, "file_size": 10, "file_mtime": 1.0}
        cells = {"frame": np.full(n, i, np.int64), "x": rng.uniform(8, SIDE - 8, n).astype(np.float32),
                 "y": rng.uniform(8, SIDE - 8, n).astype(np.float32), "radius": np.full(n, 4, np.float32),
                 "score": np.ones(n, np.float32), "prob": prob}
        writer.commit([result], cells)
    writer.close()
    attrs = {"classes": CLASSES, "confusion": np.eye(len(CLASSES)).tolist(), "plate": "P1", "crop_size": 16,
             "detector": {"mode": mode, "method": "radial", "tile_size": 32, "tile_stride": None}}
    path = tmp_path / f"{name}.h5"
    merge_journals(path, attrs, frames, layout, [folder / "rank-0.h5"], False)
    return path


def _files(folder):
    """Every file under ``folder`` (hidden ones too), relative path -> bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def earlier(tmp_path, monkeypatch, capsys):
    """A folder holding a complete export of a store with three compounds (three compound galleries)."""
    store = _store(tmp_path, "earlier", ["RSL3", "erastin", "staurosporine"])
    out = tmp_path / "X"
    code, stdout, err = main_in_process(["export", store, "--out", out, "--gallery", "2", "--compound-gallery", "2"],
                                        monkeypatch, capsys)
    assert code == 0, err
    files = _files(out)
    assert {"wells.csv", "export.json", "gallery.png", "gallery.csv", "gallery_compounds.csv",
            "galleries/g001.png", "galleries/g002.png", "galleries/g003.png"} == set(files), set(files)
    return out, files


def test_a_negative_seed_is_refused_before_anything_is_written(tmp_path, earlier, monkeypatch, capsys):
    """Was: exit 1, a traceback (expected non-negative integer), the earlier galleries gone."""
    out, files = earlier
    store = _store(tmp_path, "other", ["RSL3"])
    code, stdout, err = main_in_process(["export", store, "--out", out, "--seed", "-1"], monkeypatch, capsys)
    assert code == 2 and err == "error: --seed -1: a seed is 0 or more\n", (code, err)
    assert stdout == "" and _files(out) == files


@pytest.mark.parametrize("failure", [KeyboardInterrupt(), OSError(5, "Can't read data (wrong B-tree signature)")],
                         ids=["ctrl-c", "damaged-store-block"])
def test_an_export_that_fails_drawing_the_galleries_leaves_the_earlier_export(tmp_path, earlier, monkeypatch,
                                                                               capsys, failure):
    """wells.csv and export.json are written and the earlier galleries dropped before the compound galleries are
    drawn: a failure there (the second treatment's gallery) must leave every earlier file, and no temporaries."""
    import ferroscreen.score.gallery as gallery

    out, files = earlier
    store = _store(tmp_path, "other", ["RSL3", "erastin"])
    draw, calls = gallery._draw, []

    def failing(*args, **kwargs):
        calls.append(args[4])
        if len(calls) == 3:  # gallery.png, galleries/g001.png, then this
            raise failure
        return draw(*args, **kwargs)

    monkeypatch.setattr(gallery, "_draw", failing)
    code, stdout, err = main_in_process(["export", store, "--out", out, "--fractions", "frac"], monkeypatch, capsys)
    assert len(calls) == 3
    assert code == (130 if isinstance(failure, KeyboardInterrupt) else 2), (code, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
    assert stdout == ""  # no "-> wells.csv" for a wells.csv that was not put in place
    assert _files(out) == files  # was: a new wells.csv and export.json, the galleries gone
    assert sorted(os.listdir(out)) == sorted({name.split("/")[0] for name in files})  # no .galleries/, no .tmp


def test_an_export_replaces_the_earlier_galleries_whole(tmp_path, earlier, monkeypatch, capsys):
    """Two compounds after three: the third earlier image goes with the rest of the earlier export; a file of the
    user's in galleries/ stays. No compound gallery at all: galleries/ holds only the user's file."""
    out, files = earlier
    (out / "galleries" / "notes.txt").write_text("mine\n")
    store = _store(tmp_path, "other", ["RSL3", "erastin"])
    code, stdout, err = main_in_process(["export", store, "--out", out, "--gallery", "2", "--compound-gallery", "2"],
                                        monkeypatch, capsys)
    assert code == 0, err
    now = _files(out)
    assert set(now) == set(files) - {"galleries/g003.png"} | {"galleries/notes.txt"}, set(now)
    assert now["wells.csv"] != files["wells.csv"] and now["galleries/g001.png"] != files["galleries/g001.png"]
    assert set(pd.read_csv(out / "gallery_compounds.csv")["image"]) == {"galleries/g001.png", "galleries/g002.png"}
    assert f"-> {out / 'gallery_compounds.csv'} (2 treatments" in stdout
    code, stdout, err = main_in_process(["export", store, "--out", out, "--compound-gallery", "0"], monkeypatch,
                                        capsys)
    assert code == 0, err
    assert set(_files(out)) == {"wells.csv", "export.json", "gallery.png", "gallery.csv", "galleries/notes.txt"}
    assert (f"note: removed an earlier export's gallery_compounds.csv, galleries/ (2 images) from {out}: not this "
            f"export's cells") in stdout
    (out / "galleries" / "notes.txt").unlink()
    code, stdout, err = main_in_process(["export", store, "--out", out, "--compound-gallery", "2"], monkeypatch,
                                        capsys)
    assert code == 0, err
    code, stdout, err = main_in_process(["export", store, "--out", out, "--compound-gallery", "0"], monkeypatch,
                                        capsys)
    assert code == 0 and not (out / "galleries").exists(), err  # nothing of the user's in it: the folder goes


def test_export_of_a_tile_mode_store_says_so_on_the_console(tmp_path, monkeypatch, capsys):
    """export.json said n_cells counts tiles; the console did not."""
    from ferroscreen.score.export import tile_note
    from ferroscreen.score.store import read_store

    tiles = _store(tmp_path, "tiles", ["RSL3"], mode="tiles")
    code, stdout, err = main_in_process(["export", tiles, "--out", tmp_path / "t", "--gallery", "0",
                                         "--compound-gallery", "0"], monkeypatch, capsys)
    assert code == 0, err
    note = tile_note(read_store(tiles).attrs)
    assert note and stdout.splitlines() == [f"-> {tmp_path / 't' / 'wells.csv'}", f"note: {note}"], stdout
    cells = _store(tmp_path, "cells", ["RSL3"])
    code, stdout, err = main_in_process(["export", cells, "--out", tmp_path / "c", "--gallery", "0",
                                         "--compound-gallery", "0"], monkeypatch, capsys)
    assert code == 0 and "tile mode" not in stdout, stdout


def test_a_failed_rename_of_a_gallery_image_puts_everything_back(tmp_path, monkeypatch):
    """The subfolder's images are committed with the folder's files: a rename that fails undoes them all."""
    from ferroscreen.output_set import NestedOutputSet

    out = tmp_path / "X"
    (out / "galleries").mkdir(parents=True)
    for name in ("wells.csv", "galleries/g001.png", "galleries/g002.png"):
        (out / name).write_text(f"earlier {name}\n")
    before = _files(out)
    real = os.replace

    def replace(src, dst):
        if str(src).endswith("g002.png.tmp"):
            raise PermissionError(1, "Operation not permitted", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    outputs = NestedOutputSet(out)
    for name in ("wells.csv", "galleries/g001.png", "galleries/g002.png"):
        outputs.path(name).write_text(f"new {name}\n")
    outputs.drop("galleries/g003.png")
    with pytest.raises(PermissionError):
        outputs.commit()
    assert _files(out) == before and sorted(os.listdir(out)) == ["galleries", "wells.csv"]
    monkeypatch.setattr(os, "replace", real)
    with NestedOutputSet(out) as outputs:
        outputs.path("galleries/g001.png").write_text("new\n")
        outputs.drop("galleries/g002.png")
    assert _files(out) == {"wells.csv": b"earlier wells.csv\n", "galleries/g001.png": b"new\n"}
    assert sorted(os.listdir(out)) == ["galleries", "wells.csv"]
