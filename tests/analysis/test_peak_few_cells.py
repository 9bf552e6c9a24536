"""Peaks pool each window's cells and skip windows of a handful of cells (``peak_fraction``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis.readouts import MIN_PEAK_CELLS, peak_fraction, pooled_running_fraction, summarise_wells


def test_pooled_fraction_weights_scans_by_their_cells():
    times = np.array([0.0, 4.0, 8.0])
    fractions = np.array([[0.1, 0.5, np.nan]])
    counts = np.array([[100.0, 10.0, 0.0]])
    frac, cells = pooled_running_fraction(times, fractions, counts, 8.0)  # neighbours within 4 h
    np.testing.assert_allclose(frac[0, :2], [(10 + 5) / 110, (10 + 5) / 110])
    np.testing.assert_allclose(frac[0, 2], 0.5)  # the 8 h scan's window holds the 4 h scan's 10 cells only
    np.testing.assert_allclose(cells[0], [55.0, 55.0, 10.0])
    same, _ = pooled_running_fraction(times, fractions, counts, 0.0)
    np.testing.assert_array_equal(same, [[0.1, 0.5, np.nan]])


def test_peak_skips_late_windows_of_a_few_cells_unless_no_window_has_more():
    times = np.arange(0.0, 52.0, 4.0)
    dying = np.r_[np.full(9, 100.0), [12.0, 9.0, 6.0, 5.0]]  # a lethal compound's last scans
    fractions = np.r_[np.full(9, 0.05), [0.3, 0.33, 0.5, 0.6]]  # a few misread corpses
    sparse = np.full(times.size, MIN_PEAK_CELLS / 2)  # a sparsely seeded well: no window reaches the minimum
    peak = peak_fraction(times, np.vstack([fractions, fractions]), np.vstack([dying, sparse]), 8.0)
    assert peak[0] < 0.1, peak  # the 36 h window: 100 cells at 32 h, 12 at 36 h, 9 at 40 h; the running mean gave 0.54
    assert peak[1] > 0.5  # every window may hold it
    plain = peak_fraction(times, fractions[None, :], None, 8.0)  # no counts (confluence): the running mean
    assert plain[0] > 0.5


def test_summarise_wells_takes_the_peak_from_cells_not_from_corpses():
    times = np.arange(0.0, 52.0, 4.0)
    rows = []
    for well, frac_apo, counts in (
        ("A01", np.r_[np.full(9, 0.05), [0.3, 0.33, 0.5, 0.6]], np.r_[np.full(9, 100), [12, 9, 6, 5]]),
        ("A02", np.linspace(0.05, 0.6, times.size), np.full(times.size, 120)),  # a real apoptosis inducer
    ):
        for t, f, n in zip(times, frac_apo, counts, strict=True):
            rows.append({"plate": "P1", "well": well, "time_h": t, "n_cells": n, "frac_alive": 1 - f,
                         "frac_apoptosis": f})
    out = summarise_wells(pd.DataFrame(rows)).set_index("well")
    assert out.loc["A01", "peak_apoptosis"] < 0.1
    assert out.loc["A02", "peak_apoptosis"] > 0.55


def test_a_sparse_well_whose_cells_die_keeps_its_late_peak():
    """40 cells falling to 5 as the fraction rises to 0.9: a quarter of the busiest window holds the peak."""
    times = np.arange(0.0, 52.0, 4.0)
    counts = np.linspace(40, 5, times.size)
    fractions = np.clip(np.linspace(-0.3, 1.2, times.size), 0, 0.9)
    peak = peak_fraction(times, fractions[None, :], counts[None, :], 8.0)
    assert peak[0] > 0.8, peak  # 0.48 when a window needed 20 cells


def _course(viability_scale: float = 1.0, alive: bool = True) -> pd.DataFrame:
    times = np.arange(0.0, 52.0, 4.0)
    dead = np.clip(np.linspace(-0.3, 1.2, times.size), 0, 0.9)
    rows = [{"plate": "P1", "well": "A01", "time_h": t, "n_cells": (1 - d + 0.05) * 40_000 * viability_scale,
             "frac_dead": d} for t, d in zip(times, dead, strict=True)]
    table = pd.DataFrame(rows)
    return table.assign(frac_alive=1 - table["frac_dead"]) if alive else table


def test_a_plate_readers_signal_is_no_count_to_pool():
    """A viability read in n_cells beside a dead-cell fraction: the peak does not depend on its units."""
    peaks = [summarise_wells(_course(scale, alive=False))["peak_dead"].iloc[0] for scale in (1.0, 1e-3)]
    assert peaks[0] == peaks[1] and peaks[0] > 0.85


def test_old_rows_are_scaled_beside_new_rows_that_say_their_read_count():
    from ferroscreen.analysis.readouts import counts_of_fields_read

    old = pd.DataFrame({"plate": "OLD", "well": "A01", "time_h": [0.0, 24.0], "n_cells": [400.0, 200.0],
                        "n_frames": 4, "n_done": [4, 2]})
    new = old.assign(plate="NEW", n_cells=[400.0, 400.0], n_cells_read=[400.0, 200.0])
    out = counts_of_fields_read(pd.concat([old, new], ignore_index=True))
    assert out.groupby("plate")["n_cells"].apply(list).to_dict() == {"NEW": [400.0, 400.0], "OLD": [400.0, 400.0]}

