"""`segment` over several plates: the nuclear channel must be the same one on each; missing sites get a note."""

import numpy as np
import pytest
import tifffile

from ferroscreen.errors import FerroscreenError
from ferroscreen.segment.run import collect_inputs

from .conftest import make_nuclei


def ixm_plate(folder, name, wells=("B03", "B04"), sites=(1, 2), skip=()):
    for i, well in enumerate(wells):
        for s in sites:
            if (well, s) in skip:
                continue
            for w in (1, 2):
                img = make_nuclei(shape=(48, 48), seed=i)[0] if w == 1 else np.zeros((48, 48), np.uint16)
                path = folder / "TimePoint_1" / f"{name}_{well}_s{s}_w{w}.TIF"
                path.parent.mkdir(parents=True, exist_ok=True)
                tifffile.imwrite(path, img)


def htd(path, *names):
    waves = "".join(f'"WaveName{i}", "{n}"\n' for i, n in enumerate(names, start=1))
    path.write_text(f'"HTSInfoFile", Version 1.0\n"NWavelengths", {len(names)}\n{waves}"EndFile"\n')


def test_plates_whose_nuclear_channel_is_named_differently_are_refused(tmp_path):
    ixm_plate(tmp_path / "PA", "PA")
    htd(tmp_path / "PA" / "PA.HTD", "DAPI", "FITC")
    ixm_plate(tmp_path / "PB", "LIB01_rep2")  # no .HTD: w1/w2, no stain named
    with pytest.raises(FerroscreenError, match="plate LIB01_rep2 has no channel 'DAPI'.*give each plate's folder"):
        collect_inputs(tmp_path)  # was: LIB01_rep2 segmented in its w2 channel, read as DAPI from PA's .HTD
    table, kind = collect_inputs(tmp_path / "PB", channel="w1")
    assert kind == "acquisition" and set(table["plate"]) == {"LIB01_rep2"}


def test_a_well_missing_a_field_is_said_by_segment(tmp_path):
    ixm_plate(tmp_path / "P", "P", skip={("B04", 2)})
    table, _ = collect_inputs(tmp_path / "P", channel="w1")
    assert len(table) == 3
    notes = [n for n in table.attrs.get("notes", []) if n.startswith("missing from the grid")]
    assert len(notes) == 1 and "B04: field 2" in notes[0]
