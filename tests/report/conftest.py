"""A synthetic but self-consistent results folder for the report tests.

Wells follow a simple pharmacology (Hill dose response × first-order death
kinetics per mode); fits, EC50 over time and rescue curves come from the real
``ferroscreen.analysis.fit_curves`` so that the report is tested on genuine
fits tables. Ranking and QC tables are made up in the documented shapes.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import fit_curves
from ferroscreen.plate import LAYOUT_COLUMNS

EVIL = "<script>alert(1)</script>&\"'$\\q$"  # "$": mathtext to matplotlib (crashed the figures)
MODES = ("apoptosis", "ferroptosis", "necroptosis")

# name -> (mode, ec50 M, hill, emax, onset h, rate 1/h)
LIBRARY = {
    "volasertib": ("ferroptosis", 3e-8, 1.5, 0.92, 6, 0.12),
    "FSC-101": ("apoptosis", 4e-7, 1.2, 0.85, 4, 0.10),
    "FSC-103": ("necroptosis", 1.5e-6, 1.2, 0.7, 16, 0.06),
    EVIL: ("apoptosis", 2e-6, 1.0, 0.6, 8, 0.08),
    "FSC-104": (None, 1e-6, 1.0, 0.0, 0, 0.0),
}
REFERENCES = {
    "staurosporine": ("apoptosis", 3e-8, 1.5, 0.95, 2, 0.25),
    "RSL3": ("ferroptosis", 5e-8, 2.0, 0.95, 4, 0.2),
    "TNF+SMAC+zVAD": ("necroptosis", 1e-7, 1.5, 0.9, 4, 0.15),
}
DOSES = [1e-9 * 10 ** (k / 2) for k in range(8)]  # 1 nM .. ~3.2 uM, half-log steps
RESCUE_SHIFT = 40.0


def _death(dose, t, spec):
    mode, ec50, hill, emax, onset, rate = spec
    if mode is None or dose <= 0:
        return None, 0.0
    h = 1.0 / (1.0 + (ec50 / dose) ** hill)
    kin = 1.0 - np.exp(-rate * np.clip(t - onset, 0, None))
    return mode, emax * h * kin


def _layout_rows(compounds, replicates, n_doses, plate):
    rows = []
    for name in compounds:
        for r in range(replicates):
            for d in DOSES[:n_doses]:
                rows.append(dict(plate_id=plate, compound=name, concentration=d, role="sample", replicate=r + 1))
    if "volasertib" in compounds:
        for r in range(replicates):
            for d in DOSES[:n_doses]:
                rows.append(
                    dict(
                        plate_id=plate,
                        compound="volasertib",
                        concentration=d,
                        role="rescue",
                        rescue_agent="Fer-1",
                        rescue_concentration=1e-6,
                        replicate=r + 1,
                    )
                )
    for name, spec in REFERENCES.items():
        for r in range(2):
            rows.append(
                dict(plate_id=plate, compound=name, concentration=1e-6, role="reference", mode=spec[0], replicate=r + 1)
            )
    n_vehicle = min(96 - len(rows) - 2, 8)
    for r in range(n_vehicle):
        rows.append(dict(plate_id=plate, compound="DMSO", concentration=np.nan, role="vehicle", replicate=r + 1))
    rows += [dict(plate_id=plate, compound="", role="empty") for _ in range(2)]
    wells = [f"{chr(65 + r)}{c + 1:02d}" for c in range(12) for r in range(8)]  # column-wise fill
    assert len(rows) <= 96, len(rows)
    for row, well in zip(rows, wells, strict=False):
        row["well"] = well
    return rows


def _spec_of(row):
    if row["role"] == "reference":
        return REFERENCES[row["compound"]]
    if row["role"] in ("sample", "rescue"):
        spec = LIBRARY[row["compound"]]
        if row.get("rescue_agent"):
            mode, ec50, *rest = spec
            return (mode, ec50 * RESCUE_SHIFT, *rest)
        return spec
    return (None, 1, 1, 0, 0, 0)


def make_results_dir(
    root: Path,
    compounds=("volasertib", "FSC-101", EVIL),
    replicates: int = 2,
    n_doses: int = 7,
    times=tuple(range(0, 73, 12)),
    plates=("P1",),
    layout_in_wells: bool = True,
    seed: int = 0,
) -> Path:
    """Write wells/fits/ranking/qc/ec50_time/provenance (+ layout.csv) to ``root``; return it."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    layout_rows = [row for p in plates for row in _layout_rows(compounds, replicates, n_doses, p)]
    records = []
    for row in layout_rows:
        spec = _spec_of(row)
        for t in times:
            if row["role"] == "empty":
                records.append(
                    dict(
                        plate=row["plate_id"],
                        well=row["well"],
                        time_h=float(t),
                        n_cells=0,
                        **{f"frac_{m}": np.nan for m in ("alive", *MODES)},
                    )
                )
                continue
            mode, death = _death(row.get("concentration", 0) or 0, t, spec)
            fr = {m: 0.02 + 0.0004 * t for m in MODES}
            fr["apoptosis"] += 0.01
            if mode:
                fr[mode] += death
            if row["compound"] == "FSC-104":
                growth = 1.0
            else:
                growth = 2 ** (t / 36)
            for m in MODES:
                fr[m] = float(np.clip(fr[m] + rng.normal(0, 0.015), 0, 1))
            total = sum(fr.values())
            if total > 0.98:
                fr = {m: v * 0.98 / total for m, v in fr.items()}
            alive = 1 - sum(fr.values())
            n = int(max(5, 1800 * growth * alive * (1 + 0.3 * death) + rng.normal(0, 40)))
            qc_flag = bool(row["well"] == "H12" and t in (24, 36)) or bool(row["well"] == "A01" and t == 72)
            records.append(
                dict(
                    plate=row["plate_id"],
                    well=row["well"],
                    time_h=float(t),
                    n_cells=n,
                    frac_alive=alive,
                    **{f"frac_{m}": fr[m] for m in MODES},
                    qc_focus_flag=qc_flag,
                )
            )
    wells = pd.DataFrame(records)
    layout = pd.DataFrame(layout_rows)
    for col in ("mode", "rescue_agent"):
        if col not in layout.columns:
            layout[col] = ""
        layout[col] = layout[col].fillna("")
    layout["rescue_concentration"] = layout.get("rescue_concentration", np.nan)
    joined = wells.merge(
        layout[["plate_id", "well", "compound", "concentration", "role", "mode", "rescue_agent", "replicate"]],
        left_on=["plate", "well"],
        right_on=["plate_id", "well"],
        how="left",
    ).drop(columns="plate_id")
    (joined if layout_in_wells else wells).to_csv(root / "wells.csv", index=False)
    lay = layout.copy()
    lay["unit"] = np.where(lay["concentration"].notna(), "M", "")
    lay["cell_line"] = "HT-1080"
    lay[LAYOUT_COLUMNS].to_csv(root / "layout.csv", index=False)

    # tidy dose-response tables at every time point (vehicle = dose 0)
    tidy = []
    for t in times[1:]:
        at = joined[joined["time_h"] == t]
        vehicle = at[at["role"] == "vehicle"]
        for (name, agent), g in at[at["role"].isin(["sample", "rescue"])].groupby(["compound", "rescue_agent"]):
            curve = f"{name} + {agent}" if agent else name
            for part, dose in ((g, g["concentration"]), (vehicle, pd.Series(0.0, index=vehicle.index))):
                for m in MODES:
                    tidy.append(
                        pd.DataFrame(
                            {
                                "curve": curve,
                                "readout": f"frac_{m}",
                                "dose": dose.to_numpy(),
                                "response": part[f"frac_{m}"].to_numpy(),
                                "time_h": t,
                            }
                        )
                    )
    tidy = pd.concat(tidy, ignore_index=True)
    end = tidy[tidy["time_h"] == times[-1]]
    fits = fit_curves(end.drop(columns="time_h"), model="ll4", plateau_bounds=(0.0, 1.0))
    fits.to_csv(root / "fits.csv", index=False)
    over_time = []
    for t, g in tidy.groupby("time_h"):
        f = fit_curves(g.drop(columns="time_h"), model="ll4", plateau_bounds=(0.0, 1.0))
        f.insert(2, "time_h", t)
        over_time.append(f[["curve", "readout", "time_h", "ec50", "ec50_lo", "ec50_hi", "call"]])
    pd.concat(over_time).to_csv(root / "ec50_time.csv", index=False)

    # ranking: per mode, active non-rescue curves by a made-up documented score
    rank_rows = []
    own = fits[~fits["curve"].str.contains(" \\+ ")]
    for m in MODES:
        sub = own[(own["readout"] == f"frac_{m}") & (own["call"] == "active")].copy()
        other = own[own["readout"] != f"frac_{m}"].groupby("curve")["effect"].sum()
        sub["selectivity"] = sub["effect"] / (sub["effect"] + sub["curve"].map(other).clip(lower=0) + 1e-9)
        sub["t50_h"] = [30.0 - 3 * i for i in range(len(sub))]
        sub["score"] = sub["pec50"] / 9 + sub["emax"] + sub["selectivity"] - sub["t50_h"] / 72
        sub = sub.sort_values("score", ascending=False)
        for k, r in enumerate(sub.itertuples(index=False)):
            rank_rows.append(
                dict(
                    mode=m,
                    rank=k + 1,
                    compound=r.curve,
                    score=round(r.score, 4),
                    pEC50=r.pec50,
                    Emax=r.emax,
                    selectivity=r.selectivity,
                    T50_h=r.t50_h,
                )
            )
    pd.DataFrame(rank_rows).to_csv(root / "ranking.csv", index=False)

    qc_rows = []
    endpoint = joined[joined["time_h"] == times[-1]]
    for p in plates:
        e = endpoint[endpoint["plate"] == p]
        v = e[e["role"] == "vehicle"]
        for m in MODES:
            ref = e[(e["role"] == "reference") & (e["mode"] == m)]
            mu_v, sd_v = v[f"frac_{m}"].mean(), v[f"frac_{m}"].std()
            mu_r, sd_r = ref[f"frac_{m}"].mean(), ref[f"frac_{m}"].std()
            z = 1 - 3 * (sd_v + sd_r) / abs(mu_r - mu_v)
            qc_rows.append(
                dict(
                    plate=p,
                    mode=m,
                    z_prime=z,
                    robust_z_prime=z - 0.02,
                    ssmd=(mu_r - mu_v) / np.hypot(sd_v, sd_r),
                    cv_vehicle=sd_v / mu_v,
                    edge_effect_p=0.4,
                    pass_=bool(z > 0.5) if m != "necroptosis" else False,
                )
            )
    pd.DataFrame(qc_rows).rename(columns={"pass_": "pass"}).to_csv(root / "qc.csv", index=False)
    (root / "provenance.json").write_text(
        json.dumps(
            {
                "ferroscreen_version": "0.1.0",
                "model_bundle": {"path": "models/deathmode-mnv2.fsbundle", "sha256": "ab" * 32},
                "created": "2024-05-02T10:00:00+00:00",
                "inputs": {"acquisition": "incucyte/P1", "layout": "layout.csv"},
                "config": {"fit": {"model": "ll4", "endpoint_h": times[-1]}, "rank": {"weights": [1, 1, 1, 1]}},
            }
        ),
        encoding="utf-8",
    )
    gallery = pd.DataFrame({"class": ["alive", "alive", "ferroptosis", EVIL], "rank": [1, 2, 1, 1],
                            "well": ["A01", "B01", "C03", "D04"], "time_h": [24.0, 24.0, 48.0, 72.0],
                            "x": 10.0, "y": 12.0, "p": [0.99, 0.97, 0.91, 0.88]})
    gallery.to_csv(root / "gallery.csv", index=False)
    ok, png = cv2.imencode(".png", np.full((20, 40), 128, np.uint8))
    (root / "gallery.png").write_bytes(png.tobytes())
    return root


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory) -> Path:
    """A small results folder (one plate, three compounds incl. a hostile name, a rescue); do not modify."""
    return make_results_dir(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="session")
def report_file(results_dir, cli) -> Path:
    """``ferroscreen report`` of :func:`results_dir`, written by the CLI as a user would."""
    out = results_dir / "report.html"
    proc = cli("report", results_dir, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stdout
    return out


@pytest.fixture(scope="session")
def make_results():
    """The :func:`make_results_dir` builder (for tests that need a variant folder)."""
    return make_results_dir
