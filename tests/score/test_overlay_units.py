"""Unit tests of overlay's well list."""

from __future__ import annotations

import pytest

from ferroscreen.errors import FerroscreenError
from ferroscreen.score.overlay import _parse_wells


def test_a_well_named_twice_gets_one_figure():
    assert _parse_wells("A1, A01 b2,B02", "s.h5") == ["A01", "B02"]
    with pytest.raises(FerroscreenError, match="names no well"):
        _parse_wells(" , ", "s.h5")


def test_panel_titles_name_each_class_in_full():
    import pandas as pd

    from ferroscreen.score.overlay import _title

    classes = ["alive", "apoptosis", "ferroptosis", "necroptosis"]
    cells = pd.DataFrame({"p_alive": [0.9, 0.1, 0.2], "p_apoptosis": [0.05, 0.8, 0.1],
                          "p_ferroptosis": [0.03, 0.05, 0.6], "p_necroptosis": [0.02, 0.05, 0.1]})
    assert _title(8, cells, classes) == "8 h · 3 cells\nalive 33% · apoptosis 33%\nferroptosis 33%"  # was "aliv 33%"
