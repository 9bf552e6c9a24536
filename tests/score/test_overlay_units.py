"""Unit tests of overlay's well list."""

from __future__ import annotations

import pytest

from ferroscreen.errors import FerroscreenError
from ferroscreen.score.overlay import _parse_wells


def test_a_well_named_twice_gets_one_figure():
    assert _parse_wells("A1, A01 b2,B02", "s.h5") == ["A01", "B02"]
    with pytest.raises(FerroscreenError, match="names no well"):
        _parse_wells(" , ", "s.h5")
