"""Score stores, ``hits`` and ``segment`` record the software that made them and how the run was started.

Before: a store's attributes held ``ferroscreen_version`` alone (no libraries, no git commit, no
command), ``bundle_content_sha256`` was left out of what export and fit copy of them
(``SCORING_ATTRS``), and a fresh store's ``created`` was the time of its run's last write;
``hits.json`` and ``segment``'s ``segment.json`` and ``run.json`` held no environment or command.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import warnings

import h5py
import pytest
from openpyxl import load_workbook

from ferroscreen import provenance
from ferroscreen.analysis.hits_run import run_hits
from ferroscreen.score import read_store, score_plate
from ferroscreen.score import store as store_module
from ferroscreen.score.export import EXPORT_RECORD, export_wells
from ferroscreen.segment import run as segment_run

from .nuclei.conftest import make_nuclei
from .score.conftest import make_bundle, simulate

OLD = {"ferroscreen": "0.0.1", "git_commit": "a" * 40, "git_dirty": False, "python": "3.10.0", "torch": "1.0"}


@pytest.fixture(scope="module")
def plate(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("plate") / "plate", wells="A01,A02", hours=4)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("bundle") / "tiny.pt")


def _score(plate, bundle, out, monkeypatch, *argv, **kw):
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "score", *argv])
    return score_plate(plate, bundle, out, workers=0, batch_size=8, precision="32", **kw)


def test_a_new_store_records_the_software_and_command_of_its_run(plate, bundle, tmp_path, monkeypatch):
    out = tmp_path / "p.h5"
    _score(plate, bundle, out, monkeypatch, "first")
    attrs = read_store(out).attrs
    now = provenance.environment()
    assert attrs["environment"] == now and attrs["created_environment"] == now
    assert attrs["environment"]["ferroscreen"] == attrs["ferroscreen_version"]
    assert attrs["command"] == {"argv": ["ferroscreen", "score", "first"], "cwd": os.getcwd()}
    assert attrs["created_command"] == attrs["command"]
    with h5py.File(out, "r") as f:  # stored as the config is: JSON text, readable with h5py alone
        assert json.loads(f.attrs["environment"]) == now and json.loads(f.attrs["command"]) == attrs["command"]
    # what export (and fit) copy of how the wells were scored: the bundle's content digest and the software too
    export_wells(out, tmp_path / "e")
    scoring = json.loads((tmp_path / "e" / EXPORT_RECORD).read_text())["scoring"]
    assert scoring["bundle_content_sha256"] == attrs["bundle_content_sha256"]
    assert scoring["environment"] == now and scoring["command"] == attrs["command"]
    assert scoring["created_environment"] == now and scoring["created_command"] == attrs["command"]


def test_a_new_store_is_created_when_its_run_first_writes_it(plate, bundle, tmp_path, monkeypatch):
    """Was: each write of a fresh run set ``created`` again, so it said when the run last wrote the store."""
    clock = itertools.count()
    monkeypatch.setattr(store_module, "now_iso", lambda: f"2030-01-01T00:00:{next(clock):02d}+00:00")
    out = tmp_path / "p.h5"
    _score(plate, bundle, out, monkeypatch)  # writes the store twice: the frame table, then the scored frames
    attrs = read_store(out).attrs
    assert attrs["created"] == "2030-01-01T00:00:00+00:00" < attrs["updated"]


def test_a_resume_under_other_software_keeps_the_first_and_records_the_latest(plate, bundle, tmp_path,
                                                                                 monkeypatch):
    out = tmp_path / "p.h5"
    with monkeypatch.context() as m:
        m.setattr(store_module, "environment", lambda: dict(OLD))
        _score(plate, bundle, out, m, "first")
    created = read_store(out).attrs["created"]
    s = _score(plate, bundle, out, monkeypatch, "again", resume=True)
    assert s["frames_scored"] == 0
    attrs = read_store(out).attrs
    assert attrs["created_environment"] == OLD and attrs["created_command"]["argv"] == ["ferroscreen", "score",
                                                                                        "first"]
    assert attrs["environment"] == provenance.environment() and attrs["command"]["argv"][-1] == "again"
    assert attrs["created"] == created


def test_a_store_from_before_the_software_was_recorded_resumes(plate, bundle, tmp_path, monkeypatch):
    out = tmp_path / "p.h5"
    _score(plate, bundle, out, monkeypatch)
    with h5py.File(out, "r+") as f:  # as stores written before these were recorded
        for key in ("environment", "command", "created_environment", "created_command", "bundle_content_sha256"):
            del f.attrs[key]
        created = f.attrs["created"]
    s = _score(plate, bundle, out, monkeypatch, "again", resume=True)
    assert s["frames_scored"] == 0 and s["pending"] == 0
    attrs = read_store(out).attrs
    assert attrs["environment"] == provenance.environment() and attrs["command"]["argv"][-1] == "again"
    assert "created_environment" not in attrs and "created_command" not in attrs  # unknown: not made up
    assert attrs["created"] == created


def _screen(folder):
    """A one-plate knockdown screen's wells.csv and layout.csv (as ``tests/nuclei/test_knockdown.py`` makes it)."""
    from .nuclei.test_knockdown import make_screen

    wells, layout = make_screen(n_plates=1)
    wells.to_csv(folder / "wells.csv", index=False)
    layout.to_csv(folder / "layout.csv")
    return folder / "wells.csv", folder / "layout.csv"


def test_hits_records_the_software_and_command(tmp_path, monkeypatch):
    wells, layout = _screen(tmp_path)
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "hits", str(wells)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run_hits(wells, tmp_path / "o", layout_path=layout, plots=False)
    summary = json.loads((tmp_path / "o" / "hits.json").read_text())
    env = provenance.environment()
    assert summary["environment"] == env and summary["environment"]["ferroscreen"] == summary["ferroscreen_version"]
    assert summary["command"] == {"argv": ["ferroscreen", "hits", str(wells)], "cwd": os.getcwd()}
    about = [r for r in load_workbook(tmp_path / "o" / "hits.xlsx", read_only=True)["about"].iter_rows(
        values_only=True)]
    rows = {r[0]: r[1] for r in about if r and r[0]}
    assert rows["platform"] == env["platform"] and f"Python {env['python']}" in rows["software"]
    if "git_commit" in env:
        assert rows["git commit"].split()[0] == env["git_commit"]


@pytest.fixture
def nuclei_plate(tmp_path):
    """A Cellomics plate of two fields of nuclei."""
    from ferroscreen.io.cellomics import write_cellomics_image

    acq = tmp_path / "acq"
    for i, well in enumerate(("B14", "B15")):
        write_cellomics_image(acq / f"MFGTMPcx7_170702000001_{well}f00d0.C01", make_nuclei(seed=i)[0])
    return acq


@pytest.fixture
def nuclei_model(tmp_path):
    import torch

    from ferroscreen.models.unet import UNet
    from ferroscreen.segment.model_file import save_model_file

    torch.manual_seed(0)
    return save_model_file(tmp_path / "tiny.pt", UNet(1, 3, (4, 8)), postprocess={"min_size": 4})


def _segment(acq, out, model, monkeypatch, *argv, **kw):
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "segment", *argv])
    return segment_run.segment_input(acq, out, model=str(model), diameter="model", **kw)


def test_segment_records_the_software_and_command(nuclei_plate, nuclei_model, tmp_path, monkeypatch):
    out = tmp_path / "seg"
    summary = _segment(nuclei_plate, out, nuclei_model, monkeypatch, "first")
    env, command = provenance.environment(), {"argv": ["ferroscreen", "segment", "first"], "cwd": os.getcwd()}
    assert json.loads((out / "segment.json").read_text()) == summary
    assert summary["environment"] == env and summary["command"] == command
    run = json.loads((out / "run.json").read_text())
    assert run["environment"] == run["created_environment"] == env
    assert run["command"] == run["created_command"] == command
    (store,) = (out / "store").glob("*.h5")
    attrs = read_store(store).attrs
    assert attrs["environment"] == attrs["created_environment"] == env
    assert attrs["command"] == attrs["created_command"] == command


def test_a_segment_resume_under_other_software_keeps_the_first_in_run_json(nuclei_plate, nuclei_model, tmp_path,
                                                                             monkeypatch):
    out = tmp_path / "seg"
    with monkeypatch.context() as m:
        m.setattr(segment_run, "environment", lambda: dict(OLD))
        _segment(nuclei_plate, out, nuclei_model, m, "first")
    assert json.loads((out / "run.json").read_text())["environment"] == OLD
    summary = _segment(nuclei_plate, out, nuclei_model, monkeypatch, "again", resume=True)
    assert summary["n_reused"] == 2 and summary["environment"] == provenance.environment()
    run = json.loads((out / "run.json").read_text())
    assert run["created_environment"] == OLD and run["created_command"]["argv"][-1] == "first"
    assert run["environment"] == provenance.environment() and run["command"]["argv"][-1] == "again"

    old_run = {k: v for k, v in run.items() if not k.startswith(("created_", "environment", "command"))}
    (out / "run.json").write_text(json.dumps(old_run))  # a run.json from before the software was recorded
    _segment(nuclei_plate, out, nuclei_model, monkeypatch, "third", resume=True)
    run = json.loads((out / "run.json").read_text())
    assert "created_environment" not in run and "created_command" not in run  # unknown: not made up
    assert run["environment"] == provenance.environment() and run["command"]["argv"][-1] == "third"
