"""``segment --resume`` checks each label image against the files it was made from (``label_sources.jsonl``)."""

import json
import os

import numpy as np
import pandas as pd
import tifffile

from ferroscreen.segment.run import SOURCES_FILE, segment_input

from .conftest import make_nuclei


def _folder(tmp_path, n=3):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for seed in range(n):
        tifffile.imwrite(folder / f"f{seed}.tif", make_nuclei(seed=seed, n=3)[0])
    return folder


def _run(folder, out, model, **kw):
    return segment_input(folder, out, model=str(model), diameter="model", **kw)


def test_resume_segments_a_replaced_image_again(tmp_path, tiny_model_file):
    """A field re-imaged after its label was written is segmented again on --resume, and a note says how many;
    the others are read back. The journal names each label's files with size and mtime (ns)."""
    folder = _folder(tmp_path)
    out = tmp_path / "out"
    first = _run(folder, out, tiny_model_file)
    assert first["n_redone"] == 0
    journal = [json.loads(line) for line in (out / SOURCES_FILE).read_text().splitlines()]
    st = os.stat(folder / "f1.tif")
    assert {e["image"] for e in journal} == {"f0", "f1", "f2"}
    assert [e["sources"] for e in journal if e["image"] == "f1"] == [[[str(folder / "f1.tif"), st.st_size,
                                                                       st.st_mtime_ns]]]
    assert json.loads((out / "run.json").read_text())["label_sources"] == SOURCES_FILE

    old = np.zeros((96, 96), np.uint16)
    old[10:30, 10:30] = 1  # the stopped run's label of f1, made recognisable (the tiny model's is mostly empty)
    tifffile.imwrite(out / "labels" / "f1.tif", old)
    new = make_nuclei(seed=7, n=12, radius=(4, 6))[0]  # the re-imaged field: more, smaller nuclei, same shape
    tifffile.imwrite(folder / "f1.tif", new)
    os.utime(folder / "f1.tif", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # later, whatever the clock's grain
    resumed = _run(folder, out, tiny_model_file, resume=True)
    assert resumed["n_reused"] == 2 and resumed["n_redone"] == 1
    assert any(n.startswith("1 image(s) changed since the stopped run labelled them") for n in resumed["notes"])

    fresh = tmp_path / "fresh"  # what a run on the new images gives
    _run(folder, fresh, tiny_model_file)
    for stem in ("f0", "f1", "f2"):
        np.testing.assert_array_equal(tifffile.imread(out / "labels" / f"{stem}.tif"),
                                      tifffile.imread(fresh / "labels" / f"{stem}.tif"))
    assert not np.array_equal(old, tifffile.imread(out / "labels" / "f1.tif"))  # the old label is gone
    pd.testing.assert_frame_equal(pd.read_csv(out / "fields.csv"), pd.read_csv(fresh / "fields.csv"))

    again = _run(folder, out, tiny_model_file, resume=True)  # the new label is recorded: read back now
    assert again["n_reused"] == 3 and again["n_redone"] == 0 and not any("changed" in n for n in again["notes"])


def test_label_without_a_journal_line_is_segmented_again(tmp_path, tiny_model_file):
    """A run stopped between a label and its journal line: that label is not trusted (a note says so)."""
    folder = _folder(tmp_path)
    out = tmp_path / "out"
    _run(folder, out, tiny_model_file)
    lines = (out / SOURCES_FILE).read_text().splitlines()
    (out / SOURCES_FILE).write_text("\n".join(lines[:2]) + "\n" + lines[2][:10])  # last line torn
    resumed = _run(folder, out, tiny_model_file, resume=True)
    assert resumed["n_reused"] == 2 and resumed["n_redone"] == 1
    assert any(n.startswith(f"1 label image(s) of the stopped run had no line in {SOURCES_FILE}")
               for n in resumed["notes"])
    images = [json.loads(x)["image"] for x in (out / SOURCES_FILE).read_text().splitlines()[:2] +
              (out / SOURCES_FILE).read_text().splitlines()[3:]]
    assert images == ["f0", "f1", "f2"]  # the torn line was ended, not glued to the new one
    assert _run(folder, out, tiny_model_file, resume=True)["n_reused"] == 3


def test_runs_from_before_the_journal_keep_their_labels_with_a_note(tmp_path, tiny_model_file):
    """A run.json without ``label_sources`` (older ferroscreen): labels are kept as before, and the note says they
    could not be checked; labels written by the resumed run are recorded all the same."""
    folder = _folder(tmp_path)
    out = tmp_path / "out"
    _run(folder, out, tiny_model_file)
    run = json.loads((out / "run.json").read_text())
    del run["label_sources"]
    (out / "run.json").write_text(json.dumps(run))
    (out / SOURCES_FILE).unlink()
    (out / "labels" / "f2.tif").unlink()  # not yet segmented when the old run stopped
    resumed = _run(folder, out, tiny_model_file, resume=True)
    assert resumed["n_reused"] == 2 and resumed["n_redone"] == 0
    assert any(n.startswith("2 label image(s) of the stopped run kept unchecked") for n in resumed["notes"])
    assert "label_sources" not in json.loads((out / "run.json").read_text())  # still an old run's labels
    assert [json.loads(x)["image"] for x in (out / SOURCES_FILE).read_text().splitlines()] == ["f2"]


def test_fresh_run_starts_its_own_journal(tmp_path, tiny_model_file):
    """A leftover journal in a folder with no run is not taken over by a fresh run."""
    folder = _folder(tmp_path, n=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / SOURCES_FILE).write_text(json.dumps({"image": "old", "sources": []}) + "\n")
    _run(folder, out, tiny_model_file)
    assert [json.loads(x)["image"] for x in (out / SOURCES_FILE).read_text().splitlines()] == ["f0"]
