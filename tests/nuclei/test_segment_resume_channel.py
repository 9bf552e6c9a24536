"""``segment --resume`` keeps the acquisition channel the run segmented (``run.json``'s ``channel``)."""

import json

import pandas as pd
import pytest

from ferroscreen.cli import main
from ferroscreen.errors import FerroscreenError
from ferroscreen.segment.run import segment_input

from .conftest import make_nuclei

PLATE = "MFGTMPcx7_170702000001"


@pytest.fixture
def two_channel_plate(tmp_path):
    """A Cellomics plate of two fields imaged in ``d0`` (nuclei) and ``d1`` (another stain, no nuclei)."""
    from ferroscreen.io.cellomics import write_cellomics_image

    acq = tmp_path / "acq"
    for i, well in enumerate(("B14", "B15")):
        write_cellomics_image(acq / f"{PLATE}_{well}f00d0.C01", make_nuclei(seed=i)[0])
        write_cellomics_image(acq / f"{PLATE}_{well}f00d1.C01", make_nuclei(seed=i, n=0)[0])
    return acq


def _run(acq, out, model, **kw):
    return segment_input(acq, out, model=str(model), diameter="model", **kw)


def test_resume_with_another_channel_is_refused(two_channel_plate, tiny_model_file, tmp_path, monkeypatch, capsys):
    """The channel is recorded; a resume reading another is refused in one line and the tables stay."""
    out = tmp_path / "seg"
    first = _run(two_channel_plate, out, tiny_model_file, channel="d0")
    assert json.loads((out / "run.json").read_text())["channel"] == "d0"
    assert first["channel"] == "d0"
    fields, wells = (out / "fields.csv").read_bytes(), (out / "wells.csv").read_bytes()
    with pytest.raises(FerroscreenError, match="was segmented on channel d0, this run reads d1; .*--channel d0"):
        _run(two_channel_plate, out, tiny_model_file, channel="d1", resume=True)
    assert (out / "fields.csv").read_bytes() == fields and (out / "wells.csv").read_bytes() == wells
    assert sorted(p.name for p in (out / "labels").iterdir()) == [f"{PLATE}_B14f00d0.tif", f"{PLATE}_B15f00d0.tif"]

    monkeypatch.setattr("sys.argv", ["ferroscreen", "segment", str(two_channel_plate), "--model",
                                     str(tiny_model_file), "--out", str(out), "--channel", "d1", "--resume"])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--channel d0" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_resume_keeps_the_recorded_channel(two_channel_plate, tiny_model_file, tmp_path):
    """Without --channel a resume reads the run's own (d0/d1 name no stain, so a fresh run would ask)."""
    out = tmp_path / "seg"
    _run(two_channel_plate, out, tiny_model_file, channel="d0")
    with pytest.raises(FerroscreenError, match="--channel"):  # a fresh run cannot tell d0 from d1
        _run(two_channel_plate, tmp_path / "fresh", tiny_model_file)
    resumed = _run(two_channel_plate, out, tiny_model_file, resume=True)
    assert resumed["n_reused"] == 2 and resumed["channel"] == "d0"
    assert set(pd.read_csv(out / "fields.csv")["channel"].astype(str)) == {"d0"}
    resumed = _run(two_channel_plate, out, tiny_model_file, channel="D0", resume=True)  # matched as a fresh run does
    assert resumed["n_reused"] == 2


def test_run_json_without_channel_resumes_as_before(two_channel_plate, tiny_model_file, tmp_path):
    """A run.json of a version that did not record the channel: resumed with the channel given, no refusal."""
    out = tmp_path / "seg"
    _run(two_channel_plate, out, tiny_model_file, channel="d0")
    run = json.loads((out / "run.json").read_text())
    del run["channel"]
    (out / "run.json").write_text(json.dumps(run))
    resumed = _run(two_channel_plate, out, tiny_model_file, channel="d0", resume=True)
    assert resumed["n_reused"] == 2
    assert json.loads((out / "run.json").read_text())["channel"] == "d0"  # recorded from now on


def test_image_folder_records_no_channel(tiny_model_file, tmp_path):
    """Image files have no acquisition channel: ``channel`` is null and resuming them is unchanged."""
    import tifffile

    folder = tmp_path / "imgs"
    folder.mkdir()
    tifffile.imwrite(folder / "f0.tif", make_nuclei(seed=0)[0])
    out = tmp_path / "seg"
    _run(folder, out, tiny_model_file)
    assert json.loads((out / "run.json").read_text())["channel"] is None
    assert _run(folder, out, tiny_model_file, resume=True)["n_reused"] == 1


def test_acquisition_resumed_into_an_image_files_run_is_refused(two_channel_plate, tiny_model_file, tmp_path):
    """A run that read the input as image files (``channel`` null) is not resumed as an acquisition."""
    out = tmp_path / "seg"
    _run(two_channel_plate, out, tiny_model_file, channel="d0")
    run = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps({**run, "channel": None}))
    with pytest.raises(FerroscreenError, match="was segmented as image files, this run reads channel d0"):
        _run(two_channel_plate, out, tiny_model_file, channel="d0", resume=True)
