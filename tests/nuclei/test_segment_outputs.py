"""segment's own outputs: never read as input, never overwritten, no stub left by a failed run; label names unique;
provenance; resume settings."""

import json
from datetime import datetime

import cv2
import numpy as np
import pandas as pd
import pytest
import tifffile

from ferroscreen import __version__
from ferroscreen.cli import main

from .conftest import make_nuclei

CX = "MFGTMPcx7_170702000001"


def _segment_error(monkeypatch, capsys, *args) -> str:
    """Run ``ferroscreen segment ARGS`` expecting exit 2 with a one-line error; return the line."""
    monkeypatch.setattr("sys.argv", ["ferroscreen", "segment", *map(str, args)])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def _segment(monkeypatch, capsys, *args) -> str:
    """Run ``ferroscreen segment ARGS`` expecting success; return stderr."""
    monkeypatch.setattr("sys.argv", ["ferroscreen", "segment", *map(str, args)])
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr().err
    return capsys.readouterr().err


def test_earlier_output_inside_a_plate_is_not_input(tmp_path, tiny_model_file, monkeypatch, capsys):
    """segment P1 --out P1/seg, then segment P1 again: the raw PNGs are read (not P1/seg/labels/*.tif), said so."""
    plate = tmp_path / "acq2" / "P1"
    plate.mkdir(parents=True)
    for i, field in enumerate((0, 1)):
        cv2.imwrite(str(plate / f"{CX}_B14f{field:02d}d0.png"), make_nuclei(seed=i)[0])
    common = ["--model", tiny_model_file, "--diameter", "model"]
    _segment(monkeypatch, capsys, plate, "--out", plate / "seg", *common)
    err = _segment(monkeypatch, capsys, plate, "--out", tmp_path / "acq2" / "again", *common)
    assert f"note: passed over {plate / 'seg'}: the output of an earlier segment run" in err
    fields = pd.read_csv(tmp_path / "acq2" / "again" / "fields.csv")
    assert [p.endswith(".png") and "/seg/" not in p for p in fields["path"]] == [True, True]
    first = pd.read_csv(plate / "seg" / "fields.csv")
    assert list(fields["n_nuclei"]) == list(first["n_nuclei"])
    for given in (plate / "seg", plate / "seg" / "labels", next((plate / "seg" / "labels").glob("*.tif"))):
        err = _segment_error(monkeypatch, capsys, given, "--out", tmp_path / "x", *common)
        assert "belongs to the output of an earlier segment run" in err and str(plate / "seg") in err
    assert not (tmp_path / "x").exists()


def test_earlier_output_inside_an_incucyte_plate_is_passed_over(tmp_path, tiny_model_file, monkeypatch, capsys):
    """The IncuCyte reader passes over the output (its label images are named like the plate's images), with a note,
    as the other readers do (was: a one-line error asking to move the output out of the plate folder)."""
    from ferroscreen.io.incucyte import incucyte_export_name

    plate = tmp_path / "P1"
    plate.mkdir()
    for i, well in enumerate(("A1", "B2")):
        cv2.imwrite(str(plate / incucyte_export_name(7, well, 1, 0.0, channel="nuc").replace(".tif", ".png")),
                    make_nuclei(seed=i)[0])
    common = ["--model", tiny_model_file, "--diameter", "model"]
    _segment(monkeypatch, capsys, plate, "--out", plate / "seg", *common)
    err = _segment(monkeypatch, capsys, plate, "--out", tmp_path / "again", *common)
    assert err.count(f"note: passed over {plate / 'seg'}: the output of an earlier segment run (") == 1
    again, first = (pd.read_csv(d / "wells.csv") for d in (tmp_path / "again", plate / "seg"))
    assert list(again["well"]) == ["A01", "B02"] and list(again["n_nuclei"]) == list(first["n_nuclei"])
    assert not pd.read_csv(tmp_path / "again" / "fields.csv")["path"].str.contains("/seg/").any()


def test_user_files_in_out_are_not_overwritten(tmp_path, tiny_model_file, monkeypatch, capsys):
    """--out holding a user's wells.csv/fields.csv (no earlier run) is refused naming the file; nothing changes."""
    plate = tmp_path / "P1"
    plate.mkdir()
    cv2.imwrite(str(plate / f"{CX}_B14f00d0.png"), make_nuclei(seed=1)[0])
    out = tmp_path / "userdir"
    out.mkdir()
    (out / "wells.csv").write_text("mine\n")
    err = _segment_error(monkeypatch, capsys, plate, "--out", out, "--model", tiny_model_file)
    assert f"{out / 'wells.csv'}: already there" in err
    (out / "fields.csv").write_text("mine too\n")
    err = _segment_error(monkeypatch, capsys, plate, "--out", out, "--model", tiny_model_file, "--resume")
    assert f"{out / 'fields.csv'}: already there" in err
    assert sorted(p.name for p in out.iterdir()) == ["fields.csv", "wells.csv"]
    assert (out / "wells.csv").read_text() == "mine\n" and (out / "fields.csv").read_text() == "mine too\n"


def test_failed_input_check_leaves_no_stub(tmp_path, tiny_model_file, monkeypatch, capsys):
    """A run refused at its images (ImageJ ZCYX stack, channels differ) writes nothing, so the corrected retry
    runs; resume messages never say None."""
    folder = tmp_path / "zc"
    folder.mkdir()
    stack = np.stack([make_nuclei(seed=s)[0] for s in (1, 2, 3)])[None]  # (Z=1, C=3, Y, X)
    tifffile.imwrite(folder / "s.tif", stack, imagej=True, metadata={"axes": "ZCYX"})
    out, kept = tmp_path / "o", tmp_path / "kept"
    common = ["--model", tiny_model_file, "--diameter", "model"]
    err = _segment_error(monkeypatch, capsys, folder, "--out", out, *common)
    assert "3 channels that differ" in err and not out.exists()
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    _segment_error(monkeypatch, capsys, folder, "--out", kept, *common)
    assert [p.name for p in kept.iterdir()] == ["notes.txt"]  # a folder that was there stays, with its files
    _segment(monkeypatch, capsys, folder, "--out", out, "--channel-index", "1", *common)
    assert (out / "labels" / "s.tif").is_file()
    plain = tmp_path / "plain"
    plain.mkdir()
    tifffile.imwrite(plain / "f.tif", make_nuclei(seed=4)[0])
    _segment(monkeypatch, capsys, plain, "--out", tmp_path / "p", *common)
    err = _segment_error(monkeypatch, capsys, plain, "--out", tmp_path / "p", "--resume", "--channel-index", "0",
                         *common)
    assert "was segmented without --channel-index; resume it without" in err and "None" not in err
    err = _segment_error(monkeypatch, capsys, plain, "--out", tmp_path / "p", "--resume", "--tta", *common)
    assert "was segmented without --tta" in err


def test_same_stem_images_get_their_own_label_files(tmp_path, tiny_model_file, monkeypatch, capsys):
    """a.png, a.PNG and a.tif are three images: three label files and three names (was: one labels/a.tif)."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    images = {"a.png": make_nuclei(seed=1)[0], "a.PNG": make_nuclei(seed=2)[0], "a.tif": make_nuclei(seed=3)[0],
              "b.tif": make_nuclei(seed=4)[0]}
    for name, img in images.items():
        (tifffile.imwrite if name.endswith(".tif") else cv2.imwrite)(str(folder / name), img)
    out = tmp_path / "o"
    _segment(monkeypatch, capsys, folder, "--out", out, "--model", tiny_model_file, "--diameter", "model")
    fields = pd.read_csv(out / "fields.csv")
    assert list(fields["image"]) == ["a.PNG", "a.png-2", "a.tif", "b"]  # a.png/a.PNG: one name on a case-blind disk
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["a.PNG.tif", "a.png-2.tif", "a.tif.tif", "b.tif"]
    single = tmp_path / "single"
    for name, label in (("a.png", "a.png-2"), ("a.PNG", "a.PNG"), ("a.tif", "a.tif")):
        _segment(monkeypatch, capsys, folder / name, "--out", single / name, "--model", tiny_model_file,
                 "--diameter", "model")
        alone = tifffile.imread(next((single / name / "labels").glob("*.tif")))
        np.testing.assert_array_equal(tifffile.imread(out / "labels" / f"{label}.tif"), alone)


def test_image_names_stay_unique():
    from ferroscreen.io.segment_outputs import image_names

    assert image_names(["x/a.png", "x/b.tif"]) == ["a", "b"]
    assert image_names(["a.png", "A.tif"]) == ["a.png", "A.tif"]  # case aside
    assert image_names(["a.tif", "a.png", "a.tif.png"]) == ["a.tif", "a.png", "a.tif-2"]


def test_segment_json_records_version_and_creation(tmp_path, tiny_model_file, monkeypatch, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    tifffile.imwrite(folder / "f.tif", make_nuclei(seed=1)[0])
    _segment(monkeypatch, capsys, folder, "--out", tmp_path / "o", "--model", tiny_model_file, "--diameter", "model")
    meta = json.loads((tmp_path / "o" / "segment.json").read_text())
    assert meta["ferroscreen_version"] == __version__
    created = datetime.fromisoformat(meta["created"])
    assert created.utcoffset().total_seconds() == 0 and meta["created"].endswith("+00:00")


def test_resume_with_another_diameter_is_refused(tmp_path, monkeypatch, capsys):
    """As --min-size: --diameter other than the run's is refused on --resume; the run's own or none resumes."""
    import torch

    from ferroscreen.models.unet import UNet
    from ferroscreen.segment.model_file import save_model_file

    torch.manual_seed(0)
    sized = save_model_file(tmp_path / "sized.pt", UNet(1, 3, (4, 8)), postprocess={"min_size": 4},
                            meta={"nucleus_diameter_px": 16.0})  # a model that knows its nucleus size
    folder = tmp_path / "imgs"
    folder.mkdir()
    tifffile.imwrite(folder / "f.tif", make_nuclei(seed=1)[0])
    out = tmp_path / "o"
    common = ["--model", sized]
    _segment(monkeypatch, capsys, folder, "--out", out, "--diameter", "model", *common)
    err = _segment_error(monkeypatch, capsys, folder, "--out", out, "--resume", "--diameter", "20", *common)
    assert "was segmented with --diameter model" in err and "resume it with the same, or without --diameter" in err
    for same in (["--diameter", "model"], []):
        _segment(monkeypatch, capsys, folder, "--out", out, "--resume", *same, *common)
    given = tmp_path / "given"
    _segment(monkeypatch, capsys, folder, "--out", given, "--diameter", "20", *common)
    err = _segment_error(monkeypatch, capsys, folder, "--out", given, "--resume", "--diameter", "each", *common)
    assert "was segmented with --diameter 20" in err
    err = _segment_error(monkeypatch, capsys, folder, "--out", given, "--resume", "--diameter", "auto", *common)
    assert "was segmented with --diameter 20" in err  # auto given is a setting too; only leaving it out resumes
    _segment(monkeypatch, capsys, folder, "--out", given, "--resume", "--diameter", "20.0", *common)
    run = json.loads((given / "run.json").read_text())
    assert run["diameter_setting"] == 20.0
    del run["diameter_setting"]  # a run from before the setting was recorded: told by its scale
    (given / "run.json").write_text(json.dumps(run))
    err = _segment_error(monkeypatch, capsys, folder, "--out", given, "--resume", "--diameter", "30", *common)
    assert "was segmented with --diameter 20" in err
