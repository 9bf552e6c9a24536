"""A TIFF cut short or corrupt gets one reason wherever it is met: ``inspect``'s header check (``path: reason``),
``score``'s frame reading (its store's failure reason, ``path: unreadable image (reason)``) and ``segment``'s image
reading (``path: cannot decode image (reason)``). Was: inspect said "truncated TIFF (...)", score and segment the
decoder's own line (libdeflate's ``LIBDEFLATE_BAD_DATA``, tifffile's "failed to read 8192 bytes")."""

import numpy as np
import pytest
import tifffile

from ferroscreen.crops import DetectorConfig
from ferroscreen.errors import ImageReadError
from ferroscreen.io.frames import load_image
from ferroscreen.io.incucyte import incucyte_export_name
from ferroscreen.io.integrity import check_image_file
from ferroscreen.score.dataset import process_frame
from ferroscreen.segment.images import read_image, read_z

from ..conftest import main_in_process


def _pixels(shape=(64, 64)):
    return np.random.default_rng(0).integers(0, 4000, shape).astype(np.uint16)


def _cut(path, keep):
    """Keep the first ``keep`` of the file (a share, or bytes when at least 1)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(keep if keep >= 1 else len(data) * keep)])


def _inner(text, path, wrapper):
    """The reason in ``<path>: <wrapper> (<reason>)``."""
    assert text.startswith(f"{path}: {wrapper} (") and text.endswith(")"), text
    return text[len(f"{path}: {wrapper} ("):-1]


def _reasons(path):
    """The reason of inspect's check, and inside score's and segment's one line that names the file."""
    found = {"inspect": check_image_file(path)}
    with pytest.raises(ImageReadError) as exc:
        load_image(path)
    found["load"] = _inner(str(exc.value), path, "unreadable image")
    rec = process_frame(0, str(path), DetectorConfig(), 24, None).record
    found["score"] = _inner(rec["reason"], path, "unreadable image")
    with pytest.raises(ImageReadError) as exc:
        read_image(path)
    found["segment"] = _inner(str(exc.value), path, "cannot decode image")
    return found


@pytest.mark.parametrize("compression", [None, "zlib", "lzw"])
@pytest.mark.parametrize("keep", [0.9, 0.4, 60])
def test_truncated_tiff_has_one_reason(tmp_path, compression, keep):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, _pixels(), compression=compression)
    size = path.stat().st_size
    _cut(path, keep)
    reasons = _reasons(path)
    assert len(set(reasons.values())) == 1, reasons
    reason = reasons["inspect"]
    kept = int(keep if keep >= 1 else size * keep)
    assert reason.startswith(f"truncated TIFF: the file ends after {kept} bytes"), reason
    assert "LIBDEFLATE" not in reason and "reshape" not in reason and "failed to read" not in reason
    if keep < 1:
        assert reason.endswith(f"but its pixel data runs to byte {size}")
    else:  # cut inside the image directory tifffile writes before the pixels
        assert "inside its first image directory" in reason


def test_zeroed_header_is_not_a_tiff(tmp_path):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, _pixels(), compression="zlib")
    data = bytearray(path.read_bytes())
    data[:8] = bytes(8)
    path.write_bytes(bytes(data))
    reasons = _reasons(path)
    assert set(reasons.values()) == {"not a TIFF: the file does not start with a TIFF header (its first bytes are "
                                     "zeros)"}, reasons


def test_directory_at_the_end_cut_off(tmp_path):
    """libtiff (PIL) writes the pixels first and the image directory last: cut short, the directory is gone."""
    from PIL import Image

    path = tmp_path / "a.tif"
    Image.fromarray(_pixels().astype(np.uint8)).save(path, compression="tiff_deflate")
    _cut(path, 0.7)
    reasons = _reasons(path)
    assert len(set(reasons.values())) == 1, reasons
    assert "before its first image directory (at byte" in reasons["inspect"]


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_truncated_imagej_stack_is_caught_from_its_header(tmp_path, compression):
    """A z-stack whose later planes are cut off: tifffile reads its first plane alone, without an error."""
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, _pixels((3, 64, 64)), imagej=True, metadata={"axes": "ZYX"}, compression=compression)
    assert check_image_file(path) is None
    _cut(path, 0.6)
    reason = check_image_file(path)
    assert reason.startswith("truncated TIFF: the file ends after")
    with pytest.raises(ImageReadError) as exc:  # segment --z-plane max: not the first plane alone
        read_z(path, "max")
    assert _inner(str(exc.value), path, "cannot decode image") == reason


def test_inspect_and_score_name_a_truncated_frame_alike(tmp_path, monkeypatch, capfd):
    """inspect lists the plate's truncated frame with the reason score's store records for it."""
    plate = tmp_path / "P1"
    plate.mkdir()
    for well in ("A1", "B2"):
        tifffile.imwrite(plate / incucyte_export_name(5, well, 1, 0.0), _pixels(), compression="zlib")
    broken = plate / incucyte_export_name(5, "B2", 1, 0.0)
    _cut(broken, 0.5)
    code, out, err = main_in_process(["inspect", plate], monkeypatch, capfd)
    assert code == 0, err
    reason = _inner(process_frame(0, str(broken.resolve()), DetectorConfig(), 24, None).record["reason"],
                    broken.resolve(), "unreadable image")
    assert reason.startswith("truncated TIFF: the file ends after")
    assert "unreadable files: 1" in out and f"    {broken.resolve()}: {reason}" in out.splitlines()
