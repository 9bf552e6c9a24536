"""ImageXpress times: each plate from its own first timepoint; an unreadable image costs no plate its stamps."""

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import tifffile

from ferroscreen.io import open_acquisition

GUID = "5A3B9E2C-0D5E-4E8B-9F3D-6C1B1A2B3C4D"


def metaseries_tif(path: Path, when: datetime | None) -> Path:
    """A MetaXpress image: MetaSeries XML with ``acquisition-time-local`` (none when ``when`` is None)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if when is None:
        tifffile.imwrite(path, np.ones((6, 8), np.uint16))
        return path
    stamp = when.strftime("%Y%m%d %H:%M:%S.%f")[:-3]
    desc = ('<MetaData><prop id="Description" type="string" value=""/><PlaneInfo>'
            f'<prop id="acquisition-time-local" type="time" value="{stamp}"/></PlaneInfo><SetInfo/></MetaData>')
    tifffile.imwrite(path, np.ones((6, 8), np.uint16), software="MetaSeries", description=desc, metadata=None)
    return path


def plate(folder: Path, name: str, t0: datetime, every_h: float, tps=(1, 2, 3), wells=("B02", "B03"),
          stamped=True) -> dict[tuple[int, str], Path]:
    """A MetaXpress plate (TimePoint_<t>/<name>_<well>_s1_w1<GUID>.tif, .HTD); the paths by (t, well)."""
    (folder / f"{name}.HTD").parent.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.HTD").write_text('"HTSInfoFile", Version 1.0\n"NWavelengths", 1\n"WaveName1", "TL"\n')
    out = {}
    for t in tps:
        for k, well in enumerate(wells):
            when = t0 + timedelta(hours=every_h * (t - 1), seconds=30 * k) if stamped else None
            out[t, well] = metaseries_tif(folder / f"TimePoint_{t}" / f"{name}_{well}_s1_w1{GUID}.tif", when)
    return out


def plate_times(acq) -> dict[str, list[float]]:
    f = acq.frames
    return {p: sorted(set(f.loc[f["plate"] == p, "time_h"])) for p in sorted(set(f["plate"]))}


def test_two_plates_each_timed_from_their_own_start(tmp_path):
    plate(tmp_path / "FS07" / "2024-03-12" / "4521", "FS07", datetime(2024, 3, 12, 10, 15, 22), 4)
    plate(tmp_path / "FS08" / "2024-03-14" / "4533", "FS08", datetime(2024, 3, 14, 9, 0, 5), 6)
    acq = open_acquisition(tmp_path)
    assert acq.format == "imagexpress"
    assert plate_times(acq) == {"FS07": [0, 4, 8], "FS08": [0, 6, 12]}  # was FS08 at 0, 4, 8: FS07's times
    assert not acq.notes


def test_an_empty_first_image_leaves_the_stamps(tmp_path):
    paths = plate(tmp_path, "FS07", datetime(2024, 3, 12, 10, 0, 0), 4)
    paths[2, "B02"].write_bytes(b"")  # a copy in progress
    acq = open_acquisition(tmp_path)
    # TimePoint_2 at its next image's stamp, 30 s later (was 0, 1, 2: the whole plate at (TimePoint - 1) x 1 h)
    assert acq.timepoints_h == [0, 4.0083, 8]
    assert not acq.notes


def test_a_timepoint_without_any_readable_image_is_placed_by_the_plate_interval(tmp_path):
    paths = plate(tmp_path, "FS07", datetime(2024, 3, 12, 10, 0, 0), 4, tps=(1, 2, 3, 4))
    for well in ("B02", "B03"):
        paths[3, well].write_bytes(b"")
    acq = open_acquisition(tmp_path, interval_h=1)
    assert acq.timepoints_h == [0, 4, 8, 12]
    (note,) = acq.notes
    assert note.startswith("FS07: no readable time stamp for 1 scan(s)") and "\n" not in note
    assert "TimePoint_3 at 8 h (none of its 2 images can be read" in note and "empty file" in note
    assert "the plate's own interval (4 h per TimePoint" in note


def test_a_plate_without_stamps_says_why(tmp_path):
    plate(tmp_path, "FS07", datetime(2024, 3, 12), 4, stamped=False)
    acq = open_acquisition(tmp_path, interval_h=2)
    assert acq.timepoints_h == [0, 2, 4]
    (note,) = acq.notes
    assert note == (f"FS07: no acquisition time read from the TIFFs (TimePoint_1: FS07_B02_s1_w1{GUID}.tif: "
                    "no MetaSeries acquisition-time-local): time_h = (TimePoint - 1) × 2 h")
