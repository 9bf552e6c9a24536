"""rank_compounds and call_hits driven from the Python API: misspelt weights and modes, empty roles and plates."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import analyse_screen, rank_compounds
from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.analysis.knockdown import call_hits
from ferroscreen.plate import rowcol_to_well

MODES = ["apoptosis", "ferroptosis"]


@pytest.fixture(scope="module")
def result(screen):
    wells, layout = screen
    return analyse_screen(wells, layout)


@pytest.mark.parametrize(("weights", "said"), [
    ({"potancy": 5.0}, r"^weights: unknown component\(s\) 'potancy'; the components are potency, efficacy, "
                       r"selectivity, speed$"),
    ({"potency": -1.0}, r"^weights: potency=-1.0; a weight is a finite number >= 0$"),
    ({"potency": float("inf")}, r"^weights: potency=inf; a weight is a finite number >= 0$"),
    ({"potency": 0.0, "speed": 0}, r"^weights: every weight is 0"),
])
def test_weights_that_would_leave_every_score_nan_are_refused(result, weights, said):
    with pytest.raises(AnalysisInputError, match=said):
        rank_compounds(result.fits, result.wells, MODES, weights=weights)


def test_weights_of_some_components_rank_on_those(result):
    rk = rank_compounds(result.fits, result.wells, MODES, weights={"potency": 1.0})
    assert rk["score"].notna().all()
    assert np.allclose(rk["score"], rk["potency"])


def test_weights_none_of_whose_components_a_score_has_are_refused(result):
    with pytest.raises(AnalysisInputError, match=r"every component of this score \(potency, efficacy\) weighs 0"):
        rank_compounds(result.fits, result.wells, [], weights={"speed": 1.0})  # viability has no speed


def test_a_misspelt_mode_is_refused_naming_those_present(result):
    with pytest.raises(AnalysisInputError, match=r"^modes: 'ferroptsis' is no death mode of these fits \(present: "
                                                 r"apoptosis, ferroptosis; modes=\[\] ranks viability\)$"):
        rank_compounds(result.fits, result.wells, ["ferroptsis"])
    assert set(rank_compounds(result.fits, None, ["ferroptosis"])["mode"]) == {"ferroptosis"}


def _kd_wells() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for rep in (1, 2):
        for i in range(96):
            well = rowcol_to_well(i // 12, i % 12)
            if i % 12 == 0:
                gene, role, f = "non-targeting", "neg_ctrl", 1.0
            elif i % 12 == 11:
                gene, role, f = "PLK1", "pos_ctrl", 0.05
            else:
                gene, role, f = f"G{i:02d}", "sample", 0.2 if i in (13, 14) else 1.0
            rows.append(dict(plate=f"LIB_rep{rep}", well=well, gene=gene, role=role,
                             n_nuclei=abs(rng.normal(1000 * f, 50 * f)), area_mean=rng.normal(200, 8)))
    return pd.DataFrame(rows)


def test_a_well_without_a_role_is_a_sample_well_and_said():
    wells = _kd_wells().astype({"role": object})
    wells.loc[5, "role"] = np.nan  # LIB_rep1 A06, gene G05
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        res = call_hits(wells)
    assert res.genes.set_index("gene").loc["G05", "n_wells"] == 2
    assert ("1 well(s) have no role (LIB_rep1 A06) and are taken as sample wells (non-targeting by their gene's "
            "name); give their role in column 'role'") in res.warnings


def test_a_well_without_a_plate_is_refused_naming_it():
    wells = _kd_wells().astype({"plate": object})
    wells.loc[5, "plate"] = np.nan
    with pytest.raises(AnalysisInputError, match=r"^kd\.csv: 1 row\(s\) have no plate \(row 7; well A06\): give "
                                                 r"every well its plate$"):
        call_hits(wells, source="kd.csv")
