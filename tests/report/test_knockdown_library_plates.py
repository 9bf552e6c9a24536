"""A hits folder of library plates that hold different genes: no replicates to compare, and a report."""

from __future__ import annotations

import numpy as np
import pandas as pd


def test_a_report_of_two_library_plates_without_replicates(tmp_path, cli):
    """Two plates, different genes, no replicate column: `report` crashed (IndexError in the replicate figure)."""
    rng = np.random.default_rng(0)
    wells, layout = [], []
    for p, plate in enumerate(("LIB01", "LIB02")):
        for k in range(1, 4):
            layout.append((plate, f"A0{k}", "Non-Targeting", "neg_ctrl"))
            layout.append((plate, f"B0{k}", f"G{3 * p + k}", "sample"))
        for row in "AB":
            for k in range(1, 4):
                n = int(rng.integers(95, 115))
                wells.append((plate, f"{row}0{k}", 1, 0, n, n, float(rng.normal(450, 30))))
    pd.DataFrame(wells, columns=["plate", "well", "n_fields", "n_fields_failed", "n_nuclei", "nuclei_per_field",
                                 "area_mean"]).to_csv(tmp_path / "wells.csv", index=False)
    pd.DataFrame(layout, columns=["plate_id", "well", "gene", "role"]).to_csv(tmp_path / "lib.csv", index=False)
    proc = cli("hits", tmp_path / "wells.csv", "--layout", tmp_path / "lib.csv", "--out", tmp_path / "hits")
    assert proc.returncode == 0, proc.stderr
    proc = cli("report", tmp_path / "hits", "--out", tmp_path / "hits.html")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    html = (tmp_path / "hits.html").read_text(encoding="utf-8")
    assert "replicates 1 vs 2" not in html and "<html" in html.lower()
