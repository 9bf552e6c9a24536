"""A plate folder moved and resumed once: its frames are the moved files from then on.

The first resume from the moved folder recorded the new folder but kept the scored frames' old
paths, so a later resume skipped the move check and looked for replaced images at the old paths:
an image replaced after the move kept its old cells (0 frames scored), and export found no images.
"""

from __future__ import annotations

import os
import shutil

import h5py

from ferroscreen.score import DONE, read_store, score_plate


def _score(plate, bundle, out, lines, **kw):
    return score_plate(plate / "images", bundle, out, workers=0, batch_size=8, precision="32", log=lines.append,
                       **kw)


def _replace(images, victim: str, source: str) -> None:
    """Another image under ``victim``'s name, time-stamped later (a re-export)."""
    shutil.copy(images / source, images / victim)
    st = (images / victim).stat()
    os.utime(images / victim, (st.st_atime, st.st_mtime + 30))


def _moved_and_resumed(plate_dir, bundle_path, tmp_path):
    first, second = tmp_path / "C2", tmp_path / "C3"
    first.mkdir()
    shutil.copytree(plate_dir, first / "plate")
    out = tmp_path / "plate.h5"
    _score(first / "plate", bundle_path, out, [])
    first.rename(second)
    lines: list[str] = []
    s = _score(second / "plate", bundle_path, out, lines, resume=True)
    assert s["frames_scored"] == 0 and any("(moved)" in m for m in lines), lines
    return second / "plate", out


def test_an_image_replaced_after_a_move_is_scored_again(plate_dir, bundle_path, tmp_path):
    plate, out = _moved_and_resumed(plate_dir, bundle_path, tmp_path)
    frames = read_store(out).frames
    done = frames[frames["status"] == DONE]
    assert all(p.startswith(str(plate.resolve())) for p in done["path"]), done["path"].tolist()
    images = plate / "images"
    names = sorted(p.name for p in images.glob("*.tif"))
    victim, source = names[0], names[-1]
    assert (images / victim).read_bytes() != (images / source).read_bytes()
    _replace(images, victim, source)
    lines: list[str] = []
    s = _score(plate, bundle_path, out, lines, resume=True)
    assert s["frames_scored"] == 1, lines
    assert any("1 image file(s) replaced since scored" in m for m in lines), lines
    lines.clear()
    assert _score(plate, bundle_path, out, lines, resume=True)["frames_scored"] == 0, lines


def test_a_store_resumed_after_a_move_by_an_earlier_version_finds_its_frames(plate_dir, bundle_path, tmp_path):
    """Such a store records the new folder and the old paths: the old folder is told from the paths."""
    plate, out = _moved_and_resumed(plate_dir, bundle_path, tmp_path)
    old = str((tmp_path / "C2" / "plate").resolve())
    with h5py.File(out, "r+") as f:  # as the earlier version left it
        paths = [p.decode() if isinstance(p, bytes) else p for p in f["frames/path"][()]]
        f["frames/path"][...] = [p.replace(str(plate.resolve()), old) for p in paths]
    images = plate / "images"
    names = sorted(p.name for p in images.glob("*.tif"))
    _replace(images, names[1], names[-2])
    lines: list[str] = []
    s = _score(plate, bundle_path, out, lines, resume=True)
    assert any(f"its scored frames still named files in {old}/images, where the plate was before it was moved "
               f"to {images}; they name the files there now" in m for m in lines), lines
    assert s["frames_scored"] == 1, lines
    frames = read_store(out).frames
    assert not any(p.startswith(old) for p in frames["path"]), frames["path"].tolist()


def test_such_a_store_moved_once_more_resumes_from_its_frames_folder(plate_dir, bundle_path, tmp_path):
    plate, out = _moved_and_resumed(plate_dir, bundle_path, tmp_path)
    old = str((tmp_path / "C2" / "plate").resolve())
    with h5py.File(out, "r+") as f:  # as the earlier version left it: the store records C3, its frames C2
        paths = [p.decode() if isinstance(p, bytes) else p for p in f["frames/path"][()]]
        f["frames/path"][...] = [p.replace(str(plate.resolve()), old) for p in paths]
    (tmp_path / "C3").rename(tmp_path / "C4")
    plate = tmp_path / "C4" / "plate"
    lines: list[str] = []
    assert _score(plate, bundle_path, out, lines, resume=True)["frames_scored"] == 0
    assert any(f"was scored from {old}/images; its frames are in {plate / 'images'} (moved)" in m for m in lines), \
        lines
    frames = read_store(out).frames
    assert all(p.startswith(str(plate.resolve())) for p in frames["path"] if p), frames["path"].tolist()
