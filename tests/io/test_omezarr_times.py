"""OME-Zarr time axes: UDUNITS-2 names and symbols are read; an unknown unit is named in the note."""

import pytest

pytest.importorskip("zarr")

from ferroscreen.io import open_acquisition  # noqa: E402

from .test_omezarr import _plate_v04  # noqa: E402  (t axis scale 20, three scans)


@pytest.mark.parametrize(("unit", "hours"), [
    ("h", 20.0), ("hr", 20.0), ("Hours", 20.0), ("min", 0.3333), ("minutes", 0.3333), ("s", 0.0056),
    ("sec", 0.0056), ("seconds", 0.0056), ("d", 480.0), ("days", 480.0),
])
def test_time_unit_symbols_and_plurals(tmp_path, unit, hours):
    arr = _plate_v04(tmp_path / "p.zarr", {"name": "t", "type": "time", "unit": unit})
    arr[:] = 1
    acq = open_acquisition(tmp_path / "p.zarr", interval_h=4)
    assert acq.timepoints_h == [0, hours, pytest.approx(2 * hours, abs=1e-4)]  # was 0, 4, 8 for all but days
    assert acq.notes == []


def test_an_unknown_time_unit_is_named(tmp_path):
    arr = _plate_v04(tmp_path / "p.zarr", {"name": "t", "type": "time", "unit": "fortnight"})
    arr[:] = 1
    acq = open_acquisition(tmp_path / "p.zarr", interval_h=4)
    assert acq.timepoints_h == [0, 4, 8]
    assert acq.notes == ["p.zarr: unknown time unit 'fortnight' on the time axis; scans taken 4 h apart "
                         "(set --interval-h)"]
