"""What a fit records of its run: the software (version, git commit), the command, UTC time, the about
sheet's inputs and settings; a refit over another version's folder says so; its CSVs hold every digit."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen import __version__
from ferroscreen.analysis.fit_run import run_fit, write_provenance
from ferroscreen.cli import app
from ferroscreen.hashing import file_sha256

REPO = Path(__file__).resolve().parents[2]
UTC_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")  # as export.json, hits.json, model bundles


def _screen(folder: Path) -> tuple[Path, Path]:
    """A small wells.csv and layout.csv: two compounds over five doses, one rescued, four vehicle wells, three scans."""
    from ferroscreen.plate import make_layout

    rng = np.random.default_rng(0)
    rows, layout = [], []
    for j, d in enumerate([1e-9, 1e-8, 1e-7, 1e-6, 1e-5]):
        for r, compound in enumerate(("RSL3", "erastin")):
            for rep in range(2):
                well = f"{'ABCD'[2 * r + rep]}{j + 1:02d}"
                layout.append({"well": well, "compound": compound, "concentration": d, "replicate": rep + 1})
                alive = 1 / (1 + (d / (3e-8 if r == 0 else 1e-6)))
                rows += [{"plate": "plate1", "well": well, "time_h": t,
                          "n_cells": 200 * (1 - (1 - alive) * t / 48) * rng.normal(1, 0.03)} for t in (0.0, 24.0, 48.0)]
        for rep in range(2):  # RSL3 rescued by ferrostatin-1: a rescue.csv row
            well = f"{'FG'[rep]}{j + 1:02d}"
            layout.append({"well": well, "compound": "RSL3", "concentration": d, "replicate": rep + 1,
                           "role": "rescue", "rescue_agent": "Fer-1", "rescue_concentration": 1e-6})
            rows += [{"plate": "plate1", "well": well, "time_h": t,
                      "n_cells": 200 * (1 - t / 480) * rng.normal(1, 0.03)} for t in (0.0, 24.0, 48.0)]
    for k in range(4):
        layout.append({"well": f"E{k + 1:02d}", "compound": "DMSO", "role": "vehicle"})
        rows += [{"plate": "plate1", "well": f"E{k + 1:02d}", "time_h": t, "n_cells": 200 * rng.normal(1, 0.03)}
                 for t in (0.0, 24.0, 48.0)]
    folder.mkdir(parents=True, exist_ok=True)
    make_layout(layout, 96).to_csv(folder / "layout.csv")
    pd.DataFrame(rows).to_csv(folder / "wells.csv", index=False)
    return folder / "wells.csv", folder / "layout.csv"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> Path:
    """One fit of :func:`_screen` through the CLI, with --over-time (every CSV)."""
    root = tmp_path_factory.mktemp("fit")
    wells, layout = _screen(root)
    res = CliRunner().invoke(app, ["fit", str(wells), "--layout", str(layout), "--over-time", "--out",
                                   str(root / "o")])
    assert res.exit_code == 0, res.output
    return root


def _rows(path, sheet):
    return list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))


def _git_head() -> str | None:
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        return None
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def test_provenance_records_the_software_the_command_and_utc_time(fitted):
    # before: only ferroscreen_version (0.1.0 over hundreds of commits), and created in local %z (+0000)
    prov = json.loads((fitted / "o" / "provenance.json").read_text())
    env = prov["environment"]
    assert env["ferroscreen"] == __version__ == prov["ferroscreen_version"]
    for name in ("python", "numpy", "pandas", "scipy", "statsmodels", "torch", "lightning", "platform"):
        assert isinstance(env.get(name), str) and env[name], name
    head = _git_head()
    if head is not None:  # run from this checkout
        assert env["git_commit"] == head and isinstance(env["git_dirty"], bool)
    assert isinstance(prov["command"]["argv"], list) and prov["command"]["cwd"]
    assert UTC_SECONDS.match(prov["created"]), prov["created"]


def test_the_about_sheet_records_time_files_settings_and_software(fitted):
    # before: the about sheet held the version and the input path only
    about = _rows(fitted / "o" / "results.xlsx", "about")
    assert about[0][0] == "ferroscreen fit results" and about[1] == ("ferroscreen version", __version__, None)
    created = next(r[1] for r in about if r[0] == "created (UTC)")
    assert UTC_SECONDS.match(created)
    files = {r[0]: (r[1], r[2]) for r in about if r[0] in ("input", "layout")}
    assert files["input"] == (str(fitted / "wells.csv"), file_sha256(fitted / "wells.csv"))
    assert files["layout"] == (str(fitted / "layout.csv"), file_sha256(fitted / "layout.csv"))
    head = about.index(("setting", "value", None))
    settings = {r[0]: r[1] for r in about[head + 1:about.index((None, None, None), head)]}
    assert settings["model"] == "ll4" and settings["over_time"] is True and settings["rank_on"] == "peak"
    assert settings["ci_scale"] == "log"
    held = {r[0]: r[1] for r in about if r[0]}
    assert f"numpy {np.__version__}" in held["software"].split(", ") and held["software"].startswith("Python 3.")
    assert held["platform"]
    if _git_head() is not None:
        assert held["git commit"].split()[0] == _git_head()


@pytest.mark.parametrize("name", ["fits", "ranking", "qc", "rescue", "readouts", "ec50_over_time"])
def test_the_csvs_hold_every_digit_the_workbook_holds(fitted, name):
    # before: float_format="%.6g" (an EC50 of 2.91234567e-08 read back as 2.91235e-08); results.xlsx in full
    table = pd.read_csv(fitted / "o" / f"{name}.csv")
    rows = _rows(fitted / "o" / "results.xlsx", name)
    sheet = pd.DataFrame(rows[1:], columns=rows[0])
    numeric = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    assert len(table) and numeric
    for col in numeric:
        a = table[col].to_numpy(dtype=float)
        b = pd.to_numeric(sheet[col], errors="coerce").to_numpy(dtype=float)
        both = np.isfinite(a) & np.isfinite(b)
        assert np.array_equal(a[both], b[both]), col  # exactly: the same doubles
        assert both.sum() == np.isfinite(a).sum(), col
    full = [c for c in numeric if (table[c].dropna().map(lambda v: len(f"{v:.17g}".rstrip("0"))) > 9).any()]
    assert full  # some value has more than six significant digits


def test_a_tidy_fit_writes_fits_csv_in_full(tmp_path):
    table = pd.DataFrame({"curve": ["x"] * 12, "dose": np.repeat([1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3], 2),
                          "response": [1.0, 0.98, 0.97, 0.95, 0.8, 0.82, 0.5, 0.52, 0.2, 0.21, 0.05, 0.06]})
    run_fit(table, "tidy", tmp_path / "o", source=tmp_path / "t.csv")
    fits = pd.read_csv(tmp_path / "o" / "fits.csv")
    rows = _rows(tmp_path / "o" / "results.xlsx", "fits")
    assert fits["ec50"].iloc[0] == rows[1][rows[0].index("ec50")]  # was 6 significant digits only


def test_a_refit_over_another_versions_folder_says_so(tmp_path):
    # before: the older provenance.json (and the results beside it) were replaced without a word
    wells, layout = _screen(tmp_path)
    from ferroscreen.plate import read_layout

    table, lay = pd.read_csv(wells), read_layout(layout)
    out = tmp_path / "old"
    out.mkdir()
    (out / "provenance.json").write_text(json.dumps({"ferroscreen_version": "0.0.9", "fit": {}}))
    lines = run_fit(table, "wells", out, layout=lay, source=wells)
    note = lines[0]
    assert note.startswith(f"note: {out / 'provenance.json'} was written by ferroscreen 0.0.9, no commit recorded")
    assert f"ferroscreen {__version__}" in note and "replaces it" in note
    write_provenance(out, wells, {}, layout=layout)
    again = run_fit(table, "wells", out, layout=lay, source=wells)  # this version's record: nothing to say
    assert not any("was written by" in line for line in again)
    from ferroscreen.provenance import git_state

    record = json.loads((out / "provenance.json").read_text())
    state = git_state()
    record["environment"]["git_commit"] = "0" * 40  # the same version at another commit
    (out / "provenance.json").write_text(json.dumps(record))
    lines = run_fit(table, "wells", out, layout=lay, source=wells)
    if state is not None:
        assert f"commit {'0' * 12}" in lines[0] and f"commit {state[0][:12]}" in lines[0]
    else:
        assert "commit 000000000000" in lines[0] and "no commit recorded" in lines[0]
