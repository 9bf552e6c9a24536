"""``export`` records what a later reader needs, refuses a store with nothing scored, and SIGTERM leaves nothing.

The reported cases: ``export`` of a store none of whose frames was scored exited 0 with a wells.csv
of blank fractions; ``export.json`` held no sha256 of the store nor the export's options; and
SIGTERM (``kill``, ``timeout``, SLURM) killed ``export`` and ``simulate`` outright, leaving
``.export.json.tmp``, ``.wells.csv.tmp``, ``.galleries/`` (export) or ``.images.tmp/`` and
``.layout.csv.tmp`` (simulate) behind, where Ctrl-C leaves nothing.
"""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pandas as pd

from ferroscreen.hashing import file_sha256
from ferroscreen.plate import read_layout
from ferroscreen.score.merge import merge_journals
from ferroscreen.score.store import new_frame_table

from ..conftest import main_in_process
from .test_export_all_or_nothing import CLASSES, _files, _store, earlier  # noqa: F401 (a fixture)


def _unscored_store(tmp_path):
    """A store of two wells at two times none of whose frames is scored yet (a run stopped before its first)."""
    (tmp_path / "layout_u.csv").write_text("plate_id,well,compound,concentration,unit,role,mode\n"
                                           "P1,A01,DMSO,0,uM,vehicle,\nP1,A02,RSL3,1,uM,sample,\n")
    layout = read_layout(tmp_path / "layout_u.csv").table
    frames = new_frame_table(pd.DataFrame(
        [{"plate": "P1", "well": w, "field": 1, "channel": "phase", "z": 0, "time_h": t, "path": f"/x/{w}_{t:g}.tif"}
         for t in (0.0, 24.0) for w in layout["well"]]))
    path = tmp_path / "unscored.h5"
    merge_journals(path, {"classes": CLASSES, "confusion": np.eye(len(CLASSES)).tolist(), "plate": "P1"}, frames,
                   layout, [], False)
    return path


def test_export_of_a_store_with_no_scored_frame_is_refused(tmp_path, earlier, monkeypatch, capsys):  # noqa: F811
    out, files = earlier
    store = _unscored_store(tmp_path)
    for target in (tmp_path / "new", out):
        code, stdout, err = main_in_process(["export", store, "--out", target], monkeypatch, capsys)
        assert code == 2 and stdout == "", (code, stdout, err)
        assert err.startswith(f"error: {store}: no frame is scored yet (4 of 4 pending)") and "--resume" in err, err
        assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "new").exists() and _files(out) == files


def test_export_json_records_the_store_hash_and_the_options(tmp_path, monkeypatch, capsys):
    store = _store(tmp_path, "plate", ["RSL3"])
    code, _, err = main_in_process(["export", store, "--out", tmp_path / "e", "--fractions", "frac", "--gallery", "2",
                                    "--compound-gallery", "0", "--seed", "3"], monkeypatch, capsys)
    assert code == 0, err
    record = json.loads((tmp_path / "e" / "export.json").read_text())
    assert record["store_sha256"] == file_sha256(store)
    assert record["options"] == {"fractions": "frac", "gallery": 2, "compound_gallery": 0, "seed": 3}
    assert record["wells_csv_sha256"] == file_sha256(tmp_path / "e" / "wells.csv")


def _sigterm_after(module, name: str, monkeypatch) -> list:
    """Make ``module.name`` send this process SIGTERM once it has run (its files written); returns its calls."""
    real, calls = getattr(module, name), []

    def then_sigterm(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(name)
        os.kill(os.getpid(), signal.SIGTERM)
        return result

    monkeypatch.setattr(module, name, then_sigterm)
    return calls


def test_sigterm_ends_export_as_ctrl_c_does(tmp_path, earlier, monkeypatch, capsys,  # noqa: F811
                                            sigterm_fails_the_test):
    """SIGTERM once the new galleries are drawn: the earlier export stays as it was, no temporaries, exit 143."""
    import ferroscreen.score.gallery as gallery

    out, files = earlier
    store = _store(tmp_path, "other", ["RSL3", "erastin"])
    calls = _sigterm_after(gallery, "write_compound_galleries", monkeypatch)
    code, stdout, err = main_in_process(["export", store, "--out", out, "--fractions", "frac"], monkeypatch, capsys)
    assert calls == ["write_compound_galleries"]
    assert (code, stdout, err) == (143, "", "terminated (SIGTERM)\n")
    assert _files(out) == files  # no .wells.csv.tmp, .export.json.tmp, .galleries/
    assert signal.getsignal(signal.SIGTERM) is sigterm_fails_the_test  # the command's handler is gone


def test_sigterm_ends_simulate_as_ctrl_c_does(tmp_path, monkeypatch, capsys, sigterm_fails_the_test):
    """SIGTERM once every image is staged: no plate, no .images.tmp/ nor .layout.csv.tmp, exit 143; a plate
    being replaced is kept as it was."""
    import ferroscreen.simulate.plate_writer as plate_writer

    args = ["--format", "96", "--wells", "A01", "--fields", "1", "--hours", "4", "--image-size", "64", "64",
            "--workers", "1"]
    kept = tmp_path / "kept"
    code, _, err = main_in_process(["simulate", kept, *args], monkeypatch, capsys)
    assert code == 0, err
    files = _files(kept)
    calls = _sigterm_after(plate_writer, "_simulate_wells", monkeypatch)
    for target, extra in ((tmp_path / "new", []), (kept, ["--replace", "--seed", "1"])):
        code, stdout, err = main_in_process(["simulate", target, *args, *extra], monkeypatch, capsys)
        assert (code, stdout, err) == (143, "", "terminated (SIGTERM)\n")
    assert calls == ["_simulate_wells"] * 2
    assert not (tmp_path / "new").exists() and _files(kept) == files
    assert signal.getsignal(signal.SIGTERM) is sigterm_fails_the_test


def test_sigterm_ends_fit_and_report_as_ctrl_c_does(tmp_path, monkeypatch, capsys, sigterm_fails_the_test):
    """fit and report ended silently with 143 (the default handler); now said, their earlier outputs kept."""
    import ferroscreen.analysis.fit_run as fit_run
    import ferroscreen.report.build as build

    doses = np.repeat([0.0, 1e-8, 1e-7, 1e-6, 1e-5], 3)
    pd.DataFrame({"curve": "RSL3", "dose": doses, "response": 1 - doses / (doses + 1e-7)}).to_csv(
        tmp_path / "t.csv", index=False)
    out = tmp_path / "fit"
    code, _, err = main_in_process(["fit", tmp_path / "t.csv", "--out", out], monkeypatch, capsys)
    assert code == 0, err
    code, _, err = main_in_process(["report", out, "--out", out / "r.html"], monkeypatch, capsys)
    assert code == 0, err
    files = _files(out)
    calls = _sigterm_after(fit_run, "write_results_workbook", monkeypatch)
    code, stdout, err = main_in_process(["fit", tmp_path / "t.csv", "--out", out], monkeypatch, capsys)
    assert (code, err) == (143, "terminated (SIGTERM)\n") and calls == ["write_results_workbook"]
    calls = _sigterm_after(build, "render_html", monkeypatch)
    code, stdout, err = main_in_process(["report", out, "--out", out / "r.html"], monkeypatch, capsys)
    assert (code, err) == (143, "terminated (SIGTERM)\n") and calls == ["render_html"]
    assert _files(out) == files  # no temporaries, the earlier fit and report as they were
    assert signal.getsignal(signal.SIGTERM) is sigterm_fails_the_test
