"""A resume takes a bundle retrained alike (another file, the same content digest); quantize keeps the digest true.

Two bundles of one training setup and seeds differ only in when and on what software they were
written (``meta["created"]``, ``meta["environment"]``): their files' sha256 differ and a resume with
the retrained one was refused. A store records the content digest and compares by it; an older
store, without one, by the file's sha256.
"""

from __future__ import annotations

import h5py
import pytest

from ferroscreen.errors import ModelBundleError
from ferroscreen.hashing import bundle_content_sha256, file_sha256
from ferroscreen.models.bundle import load_bundle, save_bundle
from ferroscreen.score import read_store, score_plate

from .conftest import make_bundle


def _score(plate, bundle, out, lines=None, **kw):
    return score_plate(plate, bundle, out, workers=0, batch_size=8, precision="32",
                       log=(lines.append if lines is not None else None), **kw)


def _written_again(src, dst, created: str):
    """``src`` as a retraining with the same seeds writes it: another time and software, the same content."""
    b = load_bundle(src)
    meta = {**b.meta, "created": created, "environment": {"torch": created}}
    meta["content_sha256"] = bundle_content_sha256(src)
    return save_bundle(dst, b.net, meta)


def test_a_resume_takes_the_same_bundle_written_again(plate_dir, bundle_path, tmp_path):
    a = _written_again(bundle_path, tmp_path / "a.pt", "2025-01-01T00:00:00Z")
    b = _written_again(bundle_path, tmp_path / "b.pt", "2025-02-02T00:00:00Z")
    assert file_sha256(a) != file_sha256(b) and bundle_content_sha256(a) == bundle_content_sha256(b)
    out = tmp_path / "p.h5"
    _score(plate_dir, a, out)
    assert read_store(out).attrs["bundle_content_sha256"] == bundle_content_sha256(a)
    lines: list[str] = []
    s = _score(plate_dir, b, out, lines, resume=True)
    assert s["frames_scored"] == 0
    assert any(f"{b}: another file of the model bundle {out} was scored with" in m for m in lines), lines
    other = make_bundle(tmp_path / "other.pt", seed=5)  # other weights: refused
    with pytest.raises(ModelBundleError, match=r"other\.pt: .*p\.h5 was scored with another model bundle "
                                               r"\(content sha256 [0-9a-f]{12}, this one [0-9a-f]{12}\)"):
        _score(plate_dir, other, out, resume=True)


def test_a_store_without_a_content_digest_compares_bundle_files(plate_dir, bundle_path, tmp_path):
    a = _written_again(bundle_path, tmp_path / "a.pt", "2025-01-01T00:00:00Z")
    b = _written_again(bundle_path, tmp_path / "b.pt", "2025-02-02T00:00:00Z")
    out = tmp_path / "p.h5"
    _score(plate_dir, a, out)
    with h5py.File(out, "r+") as f:  # as stores written before the digest was recorded
        del f.attrs["bundle_content_sha256"]
    with pytest.raises(ModelBundleError, match=r"b\.pt: .*scored with another model bundle \(sha256 "):
        _score(plate_dir, b, out, resume=True)
    assert _score(plate_dir, a, out, resume=True)["frames_scored"] == 0


def test_quantize_records_the_content_digest_of_what_it_writes(plate_dir, bundle_path, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from ferroscreen.score.quantize import quantize_bundle

    src = _written_again(bundle_path, tmp_path / "a.pt", "2025-01-01T00:00:00Z")
    out = tmp_path / "a_int8.pt"
    quantize_bundle(src, plate_dir, out, n_frames=2)
    meta = load_bundle(out).meta
    assert meta["content_sha256"] == bundle_content_sha256(out) != bundle_content_sha256(src)
