"""A next-scan bundle scoring a plate of one scan per site says so in a note, recorded in the store.

Was: nothing was said; every frame was classified from its own look alone (frame column ``next_scan`` 0),
so the bundle's accuracy figures, measured with later scans, did not apply.
"""

from __future__ import annotations

import shutil

import pytest

from ferroscreen.score import read_store
from ferroscreen.score.domain_check import WARNINGS_ATTR

from .conftest import make_bundle
from .test_score_cli import run, score_cmd

NOTE = "one scan per site, but"


@pytest.fixture(scope="module")
def next_bundle(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("nb") / "next.pt", next_scan=True)


def _first_scan_only(plate_dir, dst):
    """A copy of ``plate_dir`` holding its first scan; returns the later scans' files."""
    shutil.copytree(plate_dir, dst, ignore=shutil.ignore_patterns("*.tif"))
    by_time: dict[str, list] = {}
    for p in sorted((plate_dir / "images").glob("*.tif")):
        by_time.setdefault(p.stem.rsplit("_", 1)[1], []).append(p)
    first, *later = sorted(by_time)
    for p in by_time[first]:
        shutil.copy(p, dst / "images" / p.name)
    return [p for t in later for p in by_time[t]]


def test_one_scan_per_site_with_a_next_scan_bundle_is_noted_and_recorded(plate_dir, next_bundle, tmp_path):
    later = _first_scan_only(plate_dir, tmp_path / "plate")
    out = tmp_path / "one.h5"
    proc = run(score_cmd(tmp_path / "plate", next_bundle, out))
    said = [ln for ln in proc.stderr.splitlines() if NOTE in ln]
    assert len(said) == 1, proc.stderr
    assert said[0].startswith("note: plate ") and str(next_bundle) in said[0] and "its own look alone" in said[0]
    assert "accuracy figures" in said[0] and "do not apply" in said[0]
    store = read_store(out)
    assert (store.frames["next_scan"] == 0).all()
    assert [w for w in store.attrs[WARNINGS_ATTR] if NOTE in w] == [said[0].removeprefix("note: ")]

    for p in later:  # the later scans land: --resume reads them with the first scan's frames, and the note goes
        shutil.copy(p, tmp_path / "plate" / "images" / p.name)
    proc = run(score_cmd(tmp_path / "plate", next_bundle, out, "--resume"))
    assert NOTE not in proc.stderr
    store = read_store(out)
    first = store.frames["time_h"] == store.frames["time_h"].min()
    assert (store.frames.loc[first, "next_scan"] == 1).all()
    assert not [w for w in store.attrs[WARNINGS_ATTR] if NOTE in w]


def test_a_single_scan_bundle_or_a_plate_of_several_scans_is_not_noted(plate_dir, bundle_path, next_bundle, tmp_path):
    _first_scan_only(plate_dir, tmp_path / "plate")
    assert NOTE not in run(score_cmd(tmp_path / "plate", bundle_path, tmp_path / "a.h5")).stderr
    assert NOTE not in run(score_cmd(plate_dir, next_bundle, tmp_path / "b.h5")).stderr
