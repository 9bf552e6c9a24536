"""Cytation times: an unreadable image costs no plate its DateTime stamps; a scan without one is placed and named."""

from ferroscreen.io import open_acquisition

from .test_cytation import _tif  # a small uint16 TIFF with an optional DateTime tag


def _kinetic(run, stamps, wells=("B5", "H12")):
    paths = {}
    for t, when in stamps.items():
        for well in wells:
            paths[t, well] = run / f"{well}_03_1_1_Bright Field_{t:03d}.tif"
            _tif(paths[t, well], t, when)
    return paths


def test_an_empty_first_image_leaves_the_stamps(tmp_path):
    run = tmp_path / "241128_111010_Plate 1"
    paths = _kinetic(run, {1: "2024:11:28 11:10:10", 2: "2024:11:28 13:40:10", 3: "2024:11:29 11:10:10"})
    paths[2, "B5"].write_bytes(b"")  # a copy in progress
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == [0.0, 2.5, 24.0] and not acq.notes  # was 0, 1, 2 from the run folder's stamp


def test_a_scan_without_a_readable_stamp_is_placed_by_the_plate_interval(tmp_path):
    run = tmp_path / "241128_111010_Plate 1"
    paths = _kinetic(run, {1: "2024:11:28 11:10:10", 2: "2024:11:28 15:10:10", 3: "2024:11:28 19:10:10",
                           4: "2024:11:28 23:10:10"})
    for well in ("B5", "H12"):
        paths[3, well].write_bytes(b"")
    acq = open_acquisition(tmp_path, interval_h=1.0)
    assert acq.timepoints_h == [0.0, 4.0, 8.0, 12.0]
    (note,) = acq.notes
    assert note.startswith("Plate 1: no readable time stamp for 1 scan(s), placed at the plate's own interval "
                           "(4 h per timepoint") and "\n" not in note
    assert "timepoint 3 at 8 h (none of its 2 images can be read (B5_03_1_1_Bright Field_003.tif: empty file))" in note


def test_a_run_folder_without_a_stamped_scan_is_placed_by_its_date_stamp(tmp_path):
    """A BioSpa kinetic run, one folder per read: the last read's images still empty."""
    for folder, when in (("241128_111010_Plate 1", "2024:11:28 11:10:40"),
                         ("241128_151010_Plate 1", "2024:11:28 15:10:40"),
                         ("241129_111010_Plate 1", None)):
        for well in ("A1", "A2"):
            _tif(tmp_path / folder / f"{well}_02_1_1_Bright Field_001.tif", 1, when)
            if when is None:
                (tmp_path / folder / f"{well}_02_1_1_Bright Field_001.tif").write_bytes(b"")
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == [0.0, 4.0, 23.9917]  # its folder's start, 30 s before its first image would be
    (note,) = acq.notes
    assert "placed by their run folders' date stamps" in note
    assert "241129_111010_Plate 1 timepoint 1 at 23.9917 h" in note


def test_a_plate_without_stamps_says_why(tmp_path):
    _kinetic(tmp_path / "run", {1: None, 2: None, 3: None})
    acq = open_acquisition(tmp_path, interval_h=4.0)
    assert acq.timepoints_h == [0.0, 4.0, 8.0]
    assert acq.notes == ["run: no DateTime read from the TIFFs (B5_03_1_1_Bright Field_001.tif: no DateTime tag): "
                         "time_h = (timepoint - 1) x 4.0 h"]
