"""Outputs of one run are put in place together or not at all (:mod:`ferroscreen.output_set`)."""

from __future__ import annotations

import os
import sys

import pytest

from ferroscreen.output_set import OutputSet, output_set


def earlier_run(folder):
    folder.mkdir()
    for name in ("a.csv", "b.csv", "old_only.csv"):
        (folder / name).write_text(f"earlier {name}\n")


def listing(folder):
    """Each file's text (a workbook's bytes)."""
    return {p.name: p.read_bytes() if p.suffix == ".xlsx" else p.read_text() for p in sorted(folder.iterdir())}


def test_commit_replaces_writes_and_drops(tmp_path):
    folder = tmp_path / "out"
    earlier_run(folder)
    with OutputSet(folder) as outputs:
        outputs.path("a.csv").write_text("new a\n")
        outputs.path("c.csv").write_text("new c\n")
        outputs.drop("old_only.csv")
        assert listing(folder)["a.csv"] == "earlier a.csv\n"  # nothing in place before the commit
        assert outputs.final("a.csv") == folder / "a.csv"
    assert listing(folder) == {"a.csv": "new a\n", "b.csv": "earlier b.csv\n", "c.csv": "new c\n"}


def test_a_run_that_fails_leaves_the_folder_as_it_was(tmp_path):
    folder = tmp_path / "out"
    earlier_run(folder)
    before = listing(folder)
    with pytest.raises(RuntimeError), OutputSet(folder) as outputs:
        outputs.path("a.csv").write_text("new a\n")
        outputs.drop("b.csv")
        raise RuntimeError("fit failed")
    assert listing(folder) == before


def _second_rename_raises(monkeypatch, exc: BaseException) -> None:
    """``os.replace`` raises ``exc`` when the set puts its second output, ``b.csv``, in place."""
    real = os.replace

    def replace(src, dst):
        if str(src).endswith(".b.csv.tmp"):
            raise exc
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_a_failed_rename_is_undone(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    earlier_run(folder)
    before = listing(folder)
    _second_rename_raises(monkeypatch, PermissionError(1, "Operation not permitted", "b.csv"))
    outputs = OutputSet(folder)
    outputs.path("a.csv").write_text("new a\n")
    outputs.path("b.csv").write_text("new b\n")
    outputs.drop("old_only.csv")
    with pytest.raises(PermissionError):
        outputs.commit()
    assert listing(folder) == before


def test_ctrl_c_between_two_renames_is_undone(tmp_path, monkeypatch):
    """Only an OSError rolled back: a KeyboardInterrupt between renames left outputs set aside as .NAME.old."""
    folder = tmp_path / "out"
    earlier_run(folder)
    before = listing(folder)
    _second_rename_raises(monkeypatch, KeyboardInterrupt())
    outputs = OutputSet(folder)
    outputs.path("a.csv").write_text("new a\n")
    outputs.path("b.csv").write_text("new b\n")
    with pytest.raises(KeyboardInterrupt):
        outputs.commit()
    assert listing(folder) == before


def test_a_folder_where_an_output_goes_is_refused_untouched(tmp_path):
    folder = tmp_path / "out"
    earlier_run(folder)
    (folder / "d.csv").mkdir()
    outputs = OutputSet(folder)
    outputs.path("a.csv").write_text("new a\n")
    outputs.path("d.csv").write_text("new d\n")
    with pytest.raises(IsADirectoryError, match="d.csv"):
        outputs.commit()
    assert (folder / "d.csv").is_dir() and (folder / "a.csv").read_text() == "earlier a.csv\n"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_output_set_nests_into_its_owner(tmp_path):
    with OutputSet(tmp_path / "o") as owner:
        with output_set(owner) as inner:
            inner.path("x.csv").write_text("x\n")
        assert not (tmp_path / "o" / "x.csv").exists()  # the owner commits
    assert (tmp_path / "o" / "x.csv").read_text() == "x\n"


def test_fit_that_fails_writing_keeps_the_earlier_results(tmp_path, monkeypatch, capsys):
    from ferroscreen.cli import main

    from .analysis.conftest import synthetic_screen

    wells, layout = synthetic_screen(seed=3)
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    out = tmp_path / "res"

    def fit(*extra):
        argv = ["ferroscreen", "fit", str(tmp_path / "wells.csv"), "--layout", str(tmp_path / "layout.csv"),
                "--out", str(out), *extra]
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as stop:
            main()
        return stop.value.code

    assert fit("--over-time") in (0, None)
    before = listing(out)
    assert "ec50_over_time.csv" in before
    (out / ".provenance.json.tmp").mkdir()  # the last output of the rerun cannot be written
    capsys.readouterr()
    assert fit("--model", "ll3") == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("(writing provenance.json)") and "\n" not in err and str(out) in err
    (out / ".provenance.json.tmp").rmdir()
    assert listing(out) == before  # no ll3 fits beside ll4 provenance: all earlier outputs, unchanged
    assert fit("--model", "ll3") in (0, None)
    assert "ec50_over_time.csv" not in listing(out)  # not asked for this time: the earlier table goes
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
