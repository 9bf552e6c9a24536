"""scanR times: an unreadable image costs no plate its DateTime stamps; a time index without one is placed and named."""

from ferroscreen.io import open_acquisition

from .test_cytation import _tif  # a small uint16 TIFF with an optional DateTime tag


def _acquisition(data, stamps, wells=(("B2", 14), ("H12", 96))):
    paths = {}
    for t, when in stamps.items():
        for well, index in wells:
            paths[t, well] = data / f"{well}--W{index:05d}--P00001--Z00000--T{t:05d}--DAPI.tif"
            _tif(paths[t, well], t, when)
    return paths


def test_an_empty_first_image_leaves_the_stamps(tmp_path):
    paths = _acquisition(tmp_path / "screen" / "data", {0: "2026:03:02 09:00:00", 1: "2026:03:02 13:30:00"})
    paths[1, "B2"].write_bytes(b"")
    acq = open_acquisition(tmp_path / "screen", interval_h=1.0)
    assert acq.timepoints_h == [0.0, 4.5] and not acq.notes  # was 0, 1 with a note "no DateTime in the TIFFs"


def test_a_time_index_without_a_readable_stamp_is_placed_by_the_plate_interval(tmp_path):
    stamps = {0: "2026:03:02 09:00:00", 1: "2026:03:02 11:00:00", 2: "2026:03:02 13:00:00"}
    paths = _acquisition(tmp_path / "screen" / "data", stamps)
    for well in ("B2", "H12"):
        paths[1, well].write_bytes(b"")
    acq = open_acquisition(tmp_path / "screen", interval_h=1.0)
    assert acq.timepoints_h == [0.0, 2.0, 4.0]
    (note,) = acq.notes
    assert note.startswith("screen: no readable time stamp for 1 scan(s), placed at the plate's own interval (2 h per T")
    assert "T00001 at 2 h (none of its 2 images can be read (B2--W00014--P00001--Z00000--T00001--DAPI.tif: " \
           "empty file))" in note


def test_without_stamps_of_its_own_the_interval_given_places_it(tmp_path):
    paths = _acquisition(tmp_path / "screen" / "data", {0: "2026:03:02 09:00:00", 1: None})
    for well in ("B2", "H12"):
        paths[1, well].write_bytes(b"")
    acq = open_acquisition(tmp_path / "screen", interval_h=3.0)
    assert acq.timepoints_h == [0.0, 3.0]
    assert "3 h per T (--interval-h; the plate's stamped scans give no interval)" in acq.notes[0]
