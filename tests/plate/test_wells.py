import pytest

from ferroscreen.errors import WellError
from ferroscreen.plate import (
    PLATE_FORMATS,
    PlateFormat,
    normalize_well,
    rowcol_to_well,
    short_well,
    well_to_rowcol,
)


@pytest.mark.parametrize("spelling", ["A1", "A01", "a01", "a1", " A001 "])
def test_spellings_normalise(spelling):
    assert normalize_well(spelling) == "A01"
    assert well_to_rowcol(spelling) == (0, 0)


def test_rowcol_round_trip_every_format():
    for n, (rows, cols) in PLATE_FORMATS.items():
        fmt = PlateFormat.from_n_wells(n)
        wells = fmt.wells()
        assert len(wells) == n == rows * cols
        assert len(set(wells)) == n
        for w in wells:
            assert rowcol_to_well(*well_to_rowcol(w, fmt), fmt) == w


def test_1536_rows_past_z():
    fmt = PlateFormat.from_n_wells(1536)
    assert rowcol_to_well(26, 0) == "AA01"
    assert well_to_rowcol("AF48", fmt) == (31, 47)
    assert fmt.wells()[-1] == "AF48"


def test_short_well():
    assert short_well("B02") == "B2" and short_well("p24") == "P24"


@pytest.mark.parametrize(
    "well, n, msg",
    [("I01", 96, "outside a 96-well plate"), ("A13", 96, "outside"), ("Q1", 384, "outside"),
     ("A0", 96, "column 0"), ("1A", 96, "not a well id"), ("", 96, "not a well id")],
)
def test_bad_wells(well, n, msg):
    with pytest.raises(WellError, match=msg):
        well_to_rowcol(well, PlateFormat.from_n_wells(n))


def test_unknown_format():
    with pytest.raises(WellError, match="unknown plate format"):
        PlateFormat.from_n_wells(100)


def test_edges_and_smallest_format():
    fmt = PlateFormat.from_n_wells(96)
    assert fmt.is_edge("A05") and fmt.is_edge("H12") and fmt.is_edge("D01")
    assert not fmt.is_edge("B02")
    assert PlateFormat.smallest_containing(["A01", "H12"]).n_wells == 96
    assert PlateFormat.smallest_containing(["P24"]).n_wells == 384
