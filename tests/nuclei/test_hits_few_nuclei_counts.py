"""``few_nuclei`` judges a well's own nucleus count, never a count per field; it never takes a plate's normaliser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from .test_hits_bscore_null import kd_screen, quiet


def per_field(wells: pd.DataFrame, n_fields: int) -> pd.DataFrame:
    """``wells`` as segment's per-field mean count without its per-well total (``nuclei_per_field`` only)."""
    return wells.assign(nuclei_per_field=wells["n_nuclei"] / n_fields).drop(columns="n_nuclei")


def test_a_count_per_field_alone_leaves_every_area_in():
    # before: ~12 nuclei per field over 96 fields (~1150 nuclei) read as 12 nuclei: G010's 2x area was dropped
    # (few_nuclei, phenotype fewer_nuclei alone)
    wells, layout = kd_screen(n_libs=1, n_reps=2, seed=11, effects={"L1G010": (0.6, 2.0)})
    res = quiet(per_field(wells, 96), layout)
    g = res.genes.set_index("gene").loc["L1G010"]
    assert g["fc_area"] == pytest.approx(2.0, rel=0.15) and "few_nuclei" not in g["qc_flags"].split(";")
    assert "larger_nuclei" in g["phenotype"].split("+")
    assert not res.wells["qc_flags"].str.contains("few_nuclei").any()
    said = [n for n in res.notes if "no per-well nucleus count" in n]
    assert len(said) == 1 and "minimum of 20 nuclei" in said[0] and "not applied" in said[0]
    # with the number of fields the count is known: ~1150 nuclei is plenty
    known = quiet(per_field(wells, 96).assign(n_fields=96), layout)
    assert "larger_nuclei" in known.genes.set_index("gene").loc["L1G010", "phenotype"].split("+")
    assert not any("no per-well nucleus count" in n for n in known.notes)


def test_fifteen_nuclei_per_field_is_no_error():
    # before: "no plate's non-targeting wells give a reading of area_mean to normalise by" (every area present)
    wells, layout = kd_screen(n_libs=1, n_reps=2, seed=12)
    res = quiet(per_field(wells, 128), layout)
    assert np.isfinite(res.wells["fc_area"]).mean() > 0.95


def test_the_control_wells_of_a_sparse_plate_stay_its_area_normaliser():
    # before: every well of LIB01_rep2 under 20 nuclei took all its controls' area: the plate lost its area
    # readout; on both plates so, the run stopped ("no plate's non-targeting wells give a reading of area_mean")
    wells, layout = kd_screen(n_libs=1, n_reps=2, seed=13)
    sparse = wells["plate"] == "LIB01_rep2"
    wells.loc[sparse, "n_nuclei"] = wells.loc[sparse, "n_nuclei"] // 128  # ~15 a well
    res = quiet(wells, layout)
    on = res.wells[res.wells["plate"] == "LIB01_rep2"]
    ctrl = on[on["is_control"]]
    assert np.isfinite(ctrl["fc_area"]).all() and not ctrl["qc_flags"].str.contains("few_nuclei").any()
    sample = on[on["role"] == "sample"]
    assert sample["qc_flags"].str.contains("few_nuclei").mean() > 0.9  # the rule itself still applies there
    said = [n for n in res.notes if "normaliser" in n]
    assert len(said) == 1 and "LIB01_rep2 (" in said[0] and "LIB01_rep1" not in said[0]
    both = wells.assign(n_nuclei=wells["n_nuclei"] // 128 * 0 + 15)  # every well of both plates: 15 nuclei
    assert np.isfinite(quiet(both, layout).wells.query("is_control")["fc_area"]).all()


def test_a_table_whose_index_repeats_is_called_as_one_with_a_fresh_index():
    # before: two plates' tables concatenated without ignore_index raised pandas' InvalidIndexError
    wells, layout = kd_screen(n_libs=1, n_reps=2, seed=14, effects={"L1G010": (0.3, 1.0)})
    wells.loc[wells["well"] == wells["well"].iloc[30], "n_nuclei"] = 5  # a few_nuclei well on each plate
    lt = layout.table.set_index("well").loc[wells["well"]]
    wells = wells.assign(gene=lt["compound"].to_numpy(), role=lt["role"].to_numpy())  # no layout to merge
    parts = [part for _, part in wells.groupby("plate")]
    repeated = pd.concat([p.reset_index(drop=True) for p in parts])
    assert repeated.index.has_duplicates
    res, ref = quiet(repeated, None), quiet(wells, None)
    pd.testing.assert_frame_equal(res.genes, ref.genes)
    assert res.wells["qc_flags"].str.contains("few_nuclei").sum() == 2
