"""``gr`` and ``dip_rel`` are left out, with a note, where the vehicle barely grew (``MIN_VEHICLE_FOLD``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis import analyse_screen
from ferroscreen.analysis.readouts import MIN_VEHICLE_FOLD, normalise_to_vehicle, summarise_wells

TIMES = (0.0, 12.0, 24.0, 48.0, 72.0)
DOSES_UM = (0.01, 0.1, 1.0, 10.0, 100.0)


def _course(start: float, fold: float, wobble: tuple[float, ...] = (1.0,) * 5) -> list[float]:
    """Counts growing ``fold``-fold from ``start`` over ``TIMES`` (exponentially), times ``wobble``."""
    return [start * fold ** (t / TIMES[-1]) * w for t, w in zip(TIMES, wobble, strict=True)]


def _plate(plate: str, vehicle_fold: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A kinetic viability read (no fractions): 3 vehicle wells and a compound that kills 98 % at its top dose.

    The vehicle wells read within a few per cent of their course (a plate reader's noise); the compound's
    wells grow as the vehicle at the lowest dose and lose cells at the higher ones.
    """
    wobbles = [(1.0, 0.97, 1.02, 0.99, 1.03), (1.0, 1.03, 0.98, 1.02, 0.96), (1.0, 1.0, 1.01, 0.98, 1.01)]
    courses = {f"A0{i + 1}": _course(1000.0, vehicle_fold, w) for i, w in enumerate(wobbles)}
    for i, end_fold in enumerate((vehicle_fold, vehicle_fold * 0.9, 0.5, 0.1, 0.02)):
        courses[f"B0{i + 1}"] = _course(1000.0, end_fold, (1.0, 1.02, 0.99, 1.01, 1.02))
    wells = pd.DataFrame([{"plate": plate, "well": w, "time_h": t, "n_cells": n}
                          for w, counts in courses.items() for t, n in zip(TIMES, counts, strict=True)])
    layout = pd.DataFrame(
        [{"plate_id": plate, "well": w, "compound": "DMSO", "concentration": np.nan, "unit": "", "role": "vehicle"}
         for w in ("A01", "A02", "A03")]
        + [{"plate_id": plate, "well": f"B0{i + 1}", "compound": "killer", "concentration": d, "unit": "uM",
            "role": "sample"} for i, d in enumerate(DOSES_UM)])
    return wells, layout


def _normalised(plates: dict[str, float], notes: list[str] | None = None) -> pd.DataFrame:
    parts = [_plate(p, fold) for p, fold in plates.items()]
    wells = pd.concat([w for w, _ in parts], ignore_index=True)
    roles = pd.concat([lay for _, lay in parts], ignore_index=True).rename(columns={"plate_id": "plate"})
    summary = summarise_wells(wells).merge(roles[["plate", "well", "role"]], on=["plate", "well"])
    return normalise_to_vehicle(summary, notes=notes).set_index(["plate", "well"])


def test_a_vehicle_that_barely_grew_gives_no_gr_or_dip_rel_and_says_so():
    # before: the vehicle's 1.02-fold growth (log2 0.03) divided every well's log2 fold change: the three
    # vehicle wells, 3 % apart, had GR 4.6, -0.52 and 1.8, a well that lost 10 % GR -0.90 (as low as one that
    # lost 98 %), and dip_rel, over a DIP rate of almost 0, ran to -269; nothing said why
    notes: list[str] = []
    s = _normalised({"flat": 1.02, "grows": 8.0}, notes)
    assert s.loc["flat", ["gr", "dip_rel"]].isna().all().all()
    assert s.loc["flat", "viability"].notna().all()  # the endpoint's viability needs no growth
    lines = [n for n in notes if "flat" in n]
    assert len(lines) == 1 and not any("grows" in n for n in notes), notes
    assert lines[0].startswith("plate flat: the vehicle grew 1.02-fold from time zero to 72 h, less than the "
                               f"{MIN_VEHICLE_FOLD:g}-fold that gr and dip_rel need")
    # the growing plate's GR as Hafner et al. (2016) define it
    grows = s.loc["grows"]
    vehicle = grows.loc[["A01", "A02", "A03"]]
    vfold = vehicle["n_cells_end"].mean() / vehicle["n_cells_t0"].mean()
    expected = 2 ** (np.log2(grows["n_cells_end"] / grows["n_cells_t0"]) / np.log2(vfold)) - 1
    assert np.array_equal(grows["gr"].to_numpy(), expected.to_numpy())
    assert grows.loc["B05", "gr"] < -0.7 and grows["dip_rel"].notna().all()


def test_the_least_vehicle_growth_keeps_gr_and_less_leaves_it_out():
    at_least = _normalised({"p": MIN_VEHICLE_FOLD})
    assert at_least["gr"].notna().all() and at_least["dip_rel"].notna().all()
    below = _normalised({"p": MIN_VEHICLE_FOLD * 0.97})
    assert below["gr"].isna().all() and below["dip_rel"].isna().all()


def test_a_vehicle_with_no_time_zero_and_a_falling_dip_rate_gives_no_dip_rel():
    # first scan at 12 h: no time zero, so no fold change and no GR; the vehicle's DIP rate is below 0,
    # and dip_rel (a well's rate over it) would turn every sign: before, the falling compound read above 0
    wells, layout = _plate("late", 0.8)
    wells = wells[wells["time_h"] > 0]
    summary = summarise_wells(wells).merge(layout.rename(columns={"plate_id": "plate"})[["plate", "well", "role"]],
                                           on=["plate", "well"])
    notes: list[str] = []
    s = normalise_to_vehicle(summary, notes=notes)
    assert s["n_cells_t0"].isna().all() and s["gr"].isna().all() and s["dip_rel"].isna().all()
    assert len(notes) == 1 and notes[0].startswith("plate late: the vehicle's DIP rate up to 72 h is -"), notes
    assert "so dip_rel (relative to it) is left out there" in notes[0]


def test_a_screen_whose_vehicle_barely_grew_fits_no_gr_curve():
    # before: a gr curve of the compound that kills 98 % (its viability curve active), called inactive with
    # the flag at_bound: GR 3 at the lowest dose, -0.90 where 10 % of the cells were lost, -1 above
    wells, layout = _plate("flat", 1.02)
    result = analyse_screen(wells, layout)
    assert "gr" not in set(result.fits["readout"])
    assert result.wells["gr"].isna().all()
    assert set(result.fits["readout"]) == {"viability"}
    grows = analyse_screen(*_plate("grows", 8.0))
    assert set(grows.fits["readout"]) == {"viability", "gr"}


def test_a_screen_whose_vehicle_barely_grew_says_so_in_its_notes():
    result = analyse_screen(*_plate("flat", 1.02))
    assert [n for n in result.notes if "the vehicle grew" in n] == [
        "plate flat: the vehicle grew 1.02-fold from time zero to 72 h, less than the 1.5-fold that gr and dip_rel "
        "need (they divide by its growth, and noise in the counts would dominate them): both left out there"]
    assert not any("the vehicle grew" in n for n in analyse_screen(*_plate("grows", 8.0)).notes)


def test_a_plate_read_once_has_no_time_zero_and_no_growth_note():
    """One read (an endpoint plate read): no time zero apart from the endpoint, so no GR and nothing to say of growth."""
    wells, layout = _plate("once", 8.0)
    wells = wells[wells["time_h"] == 72.0].assign(time_h=0.0)  # an endpoint read without --endpoint-h sits at 0 h
    result = analyse_screen(wells, layout)
    assert not any("the vehicle grew" in n for n in result.notes), result.notes
    assert result.wells["n_cells_t0"].isna().all() and result.wells["gr"].isna().all()
    assert result.wells["viability"].notna().all()
