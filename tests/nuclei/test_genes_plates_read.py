"""genes.csv: ``plates`` names the plates that gave the gene a reading, as ``n_wells`` counts its wells."""

import numpy as np
import pytest

from ferroscreen.analysis.knockdown import call_hits

from .test_knockdown import make_screen


def _unread(wells, layout, gene, plates):
    """``wells`` with the gene's wells on ``plates`` holding no field read (every image corrupt)."""
    gene_of = layout.table.set_index(["plate_id", "well"])["compound"]
    at = np.array([gene_of[(p, w)] == gene and p in plates for p, w in zip(wells["plate"], wells["well"], strict=True)])
    assert at.sum() == len(plates)
    wells = wells.copy()
    wells.loc[at, ["n_nuclei", "area_mean"]] = np.nan
    wells.loc[at, "qc_flags"] = "failed:4"
    return wells


def test_a_plate_without_a_reading_is_not_named():
    wells, layout = make_screen()
    wells = _unread(wells, layout, "G0007", ["REP1"])
    with pytest.warns(UserWarning) as said:
        genes = call_hits(wells, layout).genes.set_index("gene")
    for readout in ("n_nuclei", "area_mean"):
        assert any(f"hold no {readout} reading (REP1 " in str(w.message) for w in said)
    assert genes.loc["G0007", "n_wells"] == 1
    assert genes.loc["G0007", "plates"] == "REP2"  # was REP1;REP2: REP1 gave it nothing
    assert "single_well" in genes.loc["G0007", "qc_flags"].split(";")
    assert genes.loc["G0008", "plates"] == "REP1;REP2"


def test_a_gene_with_no_reading_names_no_plate():
    wells, layout = make_screen()
    wells = _unread(wells, layout, "G0007", ["REP1", "REP2"])
    with pytest.warns(UserWarning) as said:
        genes = call_hits(wells, layout).genes.set_index("gene")
    said = [str(w.message) for w in said if w.category is UserWarning]
    assert len(said) == 2 and all(m.startswith("2 well(s) hold no ") for m in said)
    assert genes.loc["G0007", "n_wells"] == 0 and genes.loc["G0007", "plates"] == ""
    assert "no_reading" in genes.loc["G0007", "qc_flags"].split(";")
