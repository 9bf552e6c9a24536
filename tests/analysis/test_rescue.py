"""Single-dose rescue confirmation, fitted-curve predictions, and the tiered ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttest_ind

from ferroscreen.analysis import confirm_rescues, fit_curves, rank_compounds
from ferroscreen.analysis.dose_response import fit_curves_with_params
from ferroscreen.analysis.rescue import RESCUE_COLUMNS
from ferroscreen.analysis.screen import analyse_screen
from ferroscreen.plate import make_layout

DOSES = [1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5]


def _single_dose_layout():
    """Planted single-dose rescues next to one dose-response curve.

    * RSL3: reference wells at 1 µM and RSL3 + Fer-1 at 1 µM (Fer-1 abolishes the death);
    * FIN56: sample wells at 1 µM and FIN56 + Fer-1 at 1 µM (Fer-1 does nothing);
    * ferrokill: a 9-dose curve and ferrokill + Fer-1 at 0.2 µM, a dose without
      alone wells (compared with the fitted curve).
    """
    rows = []
    wells = iter(f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13))
    for rep in range(8):
        rows.append(dict(well=next(wells), compound="DMSO", role="vehicle", replicate=rep + 1))
    for rep in (1, 2):
        for dose in DOSES:
            rows.append(dict(well=next(wells), compound="ferrokill", concentration=dose, replicate=rep))
    for rep in range(3):
        rows.append(dict(well=next(wells), compound="RSL3", concentration=1e-6, role="reference",
                         mode="ferroptosis", replicate=rep + 1))
        rows.append(dict(well=next(wells), compound="RSL3", concentration=1e-6, role="rescue",
                         mode="ferroptosis", rescue_agent="Fer-1", rescue_concentration=1e-6,
                         replicate=rep + 1))
        rows.append(dict(well=next(wells), compound="FIN56", concentration=1e-6, replicate=rep + 1))
        rows.append(dict(well=next(wells), compound="FIN56", concentration=1e-6, role="rescue",
                         rescue_agent="Fer-1", rescue_concentration=1e-6, replicate=rep + 1))
        rows.append(dict(well=next(wells), compound="ferrokill", concentration=2e-7, role="rescue",
                         rescue_agent="Fer-1", rescue_concentration=1e-6, replicate=rep + 1))
    return rows


def single_dose_screen(seed: int = 3):
    rng = np.random.default_rng(seed)
    layout = make_layout(_single_dose_layout(), 96)
    times = np.arange(0, 49, 4.0)
    records = []
    for row in layout.table.itertuples(index=False):
        ferro = 0.0
        rescued = row.rescue_agent == "Fer-1"
        if row.compound == "ferrokill":
            ferro = 0.8 / (1 + (3e-7 / row.concentration) ** 1.5)
        elif row.compound == "RSL3":
            ferro = 0.0 if rescued else 0.75
        elif row.compound == "FIN56":
            ferro = 0.6  # Fer-1 fails to rescue
        if rescued and row.compound == "ferrokill":
            ferro = 0.0
        for t in times:
            kin = 1 / (1 + np.exp(-(t - 12.0) / 3.0)) - 1 / (1 + np.exp(12.0 / 3.0))
            f_ferro = np.clip(0.03 + ferro * kin + rng.normal(0, 0.015), 0, 1)
            f_apo = np.clip(0.02 + rng.normal(0, 0.01), 0, 1)
            n = 1000 * 2 ** (t / 30.0) * (1 - 0.9 * f_ferro)
            records.append(dict(plate="P1", well=row.well, time_h=t, n_cells=round(n),
                                frac_alive=1 - f_ferro - f_apo, frac_apoptosis=f_apo,
                                frac_ferroptosis=f_ferro))
    return pd.DataFrame(records), layout


@pytest.fixture(scope="module")
def single_dose_result():
    wells, layout = single_dose_screen()
    return analyse_screen(wells, layout)


def _row(rescue: pd.DataFrame, compound: str) -> pd.Series:
    sub = rescue[rescue["compound"] == compound]
    assert len(sub) == 1, rescue[["compound", "verdict"]]
    return sub.iloc[0]


def test_single_dose_rescue_confirms_against_reference_wells(single_dose_result):
    rescue = single_dose_result.rescue
    assert list(rescue.columns) == RESCUE_COLUMNS
    row = _row(rescue, "RSL3")
    assert row["design"] == "single_dose" and row["alone_source"] == "wells"
    assert row["readout"] == "auc_ferroptosis" and row["mode"] == "ferroptosis"
    assert (row["n_alone"], row["n_rescued"], row["n_vehicle"]) == (3, 3, 8)
    assert row["concentration"] == pytest.approx(1e-6)
    assert row["rescue_concentration"] == pytest.approx(1e-6)
    assert row["call_alone"] == "active" and row["call_rescued"] == "inactive"
    assert 0.85 < row["effect_reduction"] < 1.15
    assert row["effect_reduction_lo"] < row["effect_reduction"] < row["effect_reduction_hi"]
    assert row["effect_reduction_lo"] > 0.5 and row["p_value"] < 0.01
    assert row["frac_reduction"] > 0.85 and row["frac_p_value"] < 0.01
    assert row["auc_reduction"] == pytest.approx(row["effect_reduction"])
    assert row["confirms"]
    assert row["verdict"].startswith("RSL3 (1 µM) + Fer-1 reduces the ferroptosis effect by ")
    assert row["verdict"].endswith("rescue confirms ferroptosis")
    assert np.isnan(row["shift"])


def test_single_dose_rescue_that_fails_does_not_confirm(single_dose_result):
    row = _row(single_dose_result.rescue, "FIN56")
    assert row["design"] == "single_dose" and row["alone_source"] == "wells"
    assert row["call_alone"] == "active"  # FIN56 alone does cause ferroptosis
    assert abs(row["effect_reduction"]) < 0.3
    assert row["effect_reduction_lo"] < 0 < row["effect_reduction_hi"]
    assert not row["confirms"]
    assert "rescue does not confirm ferroptosis" in row["verdict"]


def test_single_dose_rescue_against_the_fitted_alone_curve(single_dose_result):
    row = _row(single_dose_result.rescue, "ferrokill")
    assert row["design"] == "single_dose"
    assert row["alone_source"] == "curve" and row["n_alone"] == 0
    assert row["concentration"] == pytest.approx(2e-7)
    assert row["effect_alone"] > 0.1 and row["confirms"], row["verdict"]
    assert row["effect_reduction_lo"] > 0.5
    assert "(200 nM) + Fer-1 reduces the ferroptosis effect" in row["verdict"]
    assert "curve of ferrokill alone" in row["verdict"]


def test_single_dose_needs_an_effect_and_a_comparator():
    def wells(compound, role, values, agent="", conc=1e-6):
        return pd.DataFrame({"plate": "P1", "compound": compound, "concentration": conc, "role": role,
                             "mode": "", "rescue_agent": agent, "group": "", "frac_ferroptosis": values})

    tab = pd.concat([
        wells("DMSO", "vehicle", [0.05, 0.06, 0.04, 0.05], conc=np.nan),
        wells("weak", "sample", [0.08, 0.09, 0.07]),  # +0.03 over vehicle: nothing to rescue
        wells("weak", "rescue", [0.05, 0.06], agent="Fer-1"),
        wells("lonely", "rescue", [0.05, 0.06], agent="Fer-1"),  # no alone wells, no curve
    ], ignore_index=True)
    out = confirm_rescues(pd.DataFrame(), tab).set_index("compound")
    assert not out["confirms"].any()
    assert out.loc["weak", "call_alone"] == "inactive"
    assert "rescue not assessable" in out.loc["weak", "verdict"]
    assert out.loc["lonely", "readout"] == ""
    assert "no wells or fitted curve of lonely alone" in out.loc["lonely", "verdict"]


def test_single_dose_statistics_match_the_pooled_t_test():
    alone = np.array([0.60, 0.71, 0.65])
    rescued = np.array([0.20, 0.26, 0.10, 0.15])
    vehicle = np.array([0.05, 0.07, 0.06, 0.04, 0.05])
    tab = pd.DataFrame({
        "plate": "P1",
        "compound": ["X"] * 7 + ["DMSO"] * 5,
        "concentration": [1e-6] * 7 + [np.nan] * 5,
        "role": ["reference"] * 3 + ["rescue"] * 4 + ["vehicle"] * 5,
        "mode": ["ferroptosis"] * 7 + [""] * 5,
        "rescue_agent": [""] * 3 + ["ferrostatin-1"] * 4 + [""] * 5,
        "group": "",
        "frac_ferroptosis": np.concatenate([alone, rescued, vehicle]),
    })
    row = confirm_rescues(pd.DataFrame(), tab).iloc[0]
    t, p, df = ttest_ind(alone, rescued, usevar="pooled")  # both arms vary: one variance from both (5 df)
    assert row["p_value"] == pytest.approx(p, rel=1e-9)
    assert row["df"] == pytest.approx(df, rel=1e-9)
    a, r, v = alone.mean(), rescued.mean(), vehicle.mean()
    assert row["effect_alone"] == pytest.approx(a - v)
    assert row["effect_rescued"] == pytest.approx(r - v)
    assert row["effect_reduction"] == pytest.approx((a - r) / (a - v))
    assert row["mode"] == "ferroptosis" and row["readout"] == "frac_ferroptosis"
    assert row["confirms"]
    # one alone well: it borrows the rescued wells' variance (pooled t with n_r - 1 df)
    one = confirm_rescues(pd.DataFrame(), tab.drop(index=[1, 2])).iloc[0]
    assert one["alone_source"] == "well" and one["df"] == pytest.approx(3.0)
    s = rescued.std(ddof=1)
    t_one = (alone[0] - r) / (s * np.sqrt(1 + 1 / 4))
    from scipy import stats

    assert one["p_value"] == pytest.approx(2 * stats.t.sf(t_one, 3), rel=1e-9)


def test_curve_rescue_rows_keep_their_design(screen):
    wells, layout = screen
    rescue = analyse_screen(wells, layout).rescue
    assert list(rescue["design"]) == ["curve"]
    assert 0 < rescue["p_value"].iloc[0] < 0.05


def test_predict_matches_the_delta_method_by_hand():
    rng = np.random.default_rng(5)
    dose = np.repeat([0.0, *DOSES], 3)
    truth = 0.05 + 0.8 / (1 + (3e-7 / np.maximum(dose, 1e-30)) ** 1.3)
    tab = pd.DataFrame({"curve": "c", "dose": dose, "response": truth + rng.normal(0, 0.03, dose.size)})
    fitted = fit_curves_with_params(tab, plateau_bounds=(0.0, 1.0))
    fit = fitted.table.iloc[0]
    pd.testing.assert_frame_equal(fitted.table, fit_curves(tab, plateau_bounds=(0.0, 1.0)))
    pred = fitted.predict(0, [0.0, 2e-7, fit["dose_max"]])
    assert pred["value"].iloc[0] == pytest.approx(fit["e0"])
    assert pred["value"].iloc[2] == pytest.approx(fit["emax"])
    b, c, d, e, _ = fitted.params[0]
    x = 2e-7
    u = np.exp(b * (np.log(x) - np.log(e)))
    grad = np.array([
        -(d - c) * u * np.log(x / e) / (1 + u) ** 2,  # d/db
        1 - 1 / (1 + u),  # d/dc
        1 / (1 + u),  # d/dd
        (d - c) * u * b / e / (1 + u) ** 2,  # d/de
        0.0,
    ])
    se = np.sqrt(grad @ fitted.cov[0] @ grad)
    assert pred["value"].iloc[1] == pytest.approx(c + (d - c) / (1 + u))
    assert pred["se"].iloc[1] == pytest.approx(se, rel=1e-4)
    assert pred["lo"].iloc[1] < 0.05 + 0.8 / (1 + 1.5**1.3) < pred["hi"].iloc[1]


def _rank_inputs():
    def fit(curve, readout, call, effect, pec50):
        return dict(curve=curve, treatment=curve, readout=readout, call=call, effect=effect, pec50=pec50,
                    ec50=10**-pec50, q_value=0.01 if call == "active" else 0.5, flags="", role="sample",
                    group="", rescue_agent="")

    fits = pd.DataFrame([
        fit("slow_active", "frac_ferroptosis", "active", 0.12, 5.0),
        fit("slow_active", "frac_apoptosis", "inactive", 0.0, 5.0),
        fit("fast_inactive", "frac_ferroptosis", "inactive", 0.3, 7.0),
        fit("fast_inactive", "frac_apoptosis", "inactive", 0.0, 5.0),
        # kills by apoptosis: its ferroptosis fraction *falls*, significantly
        fit("falling", "frac_ferroptosis", "active", -0.2, 7.0),
        fit("falling", "frac_apoptosis", "active", 0.7, 7.0),
    ])
    wells = pd.DataFrame({
        "treatment": ["slow_active", "fast_inactive", "falling"], "group": "",
        "concentration": 1e-5, "time_end_h": 48.0,
        "t50_ferroptosis": [44.0, 2.0, 3.0], "t50_apoptosis": [np.nan, np.nan, 10.0],
    })
    return fits, wells


def test_ranking_puts_inducing_curves_first_and_says_so():
    fits, wells = _rank_inputs()
    rk = rank_compounds(fits, wells, ["ferroptosis", "apoptosis"])
    ferro = rk[rk["mode"] == "ferroptosis"].set_index("compound")
    assert ferro.loc["slow_active", "tier"] == "active" and ferro.loc["slow_active", "rank"] == 1
    # an inactive curve gets no speed (nor potency, nor selectivity), however early its T50
    assert ferro.loc["fast_inactive", ["speed", "potency", "selectivity"]].tolist() == [0, 0, 0]
    # a significant but falling fraction does not induce the mode: tier "opposite" (its call is active)
    assert ferro.loc["falling", "tier"] == "opposite" and ferro.loc["falling", "potency"] == 0
    assert ferro.loc["falling", "speed"] == 0
    for _, sub in rk.groupby("mode"):
        sub = sub.sort_values("rank")
        tiers = sub["tier"].tolist()
        assert tiers == sorted(tiers)  # "active" < "inactive" < "opposite": every active row first
        for _, tier in sub.groupby("tier"):
            assert tier["score"].is_monotonic_decreasing
    apo = rk[rk["mode"] == "apoptosis"].set_index("compound")
    assert apo.loc["falling", "tier"] == "active" and apo.loc["falling", "rank"] == 1
    assert apo.loc["falling", "selectivity"] == pytest.approx(1.0)


def test_ranking_tier_can_override_score():
    fits, wells = _rank_inputs()
    fits.loc[fits["curve"] == "fast_inactive", "effect"] = 0.9  # large, but not significant
    # slow_active also kills by apoptosis, so little of its death is ferroptosis
    both = (fits["curve"] == "slow_active") & (fits["readout"] == "frac_apoptosis")
    fits.loc[both, ["call", "effect"]] = ["active", 0.5]
    rk = rank_compounds(fits, wells, ["ferroptosis", "apoptosis"])
    rk = rk[rk["mode"] == "ferroptosis"].set_index("compound")
    assert rk.loc["slow_active", "tier"] == "active"
    assert rk.loc["fast_inactive", "score"] > rk.loc["slow_active", "score"]
    assert rk.loc["fast_inactive", "rank"] > rk.loc["slow_active", "rank"]


def test_reduction_interval_is_fieller_and_agrees_with_the_test():
    """Two variable alone wells against two tight rescued wells: the pooled test has 2 df (Welch's
    had ~1, p = 0.07, CI unbounded); the reduction's interval excludes 0 exactly when p < 0.05."""
    def table(alone):
        rescued, vehicle = [0.070, 0.073], [0.06, 0.07, 0.065, 0.07, 0.06, 0.075]
        return pd.DataFrame({
            "plate": "P1",
            "compound": ["RSL3"] * 4 + ["DMSO"] * 6,
            "concentration": [1e-6] * 4 + [np.nan] * 6,
            "role": ["reference"] * 2 + ["rescue"] * 2 + ["vehicle"] * 6,
            "mode": ["ferroptosis"] * 4 + [""] * 6,
            "rescue_agent": [""] * 2 + ["Fer-1"] * 2 + [""] * 6,
            "group": "",
            "frac_ferroptosis": np.array([*alone, *rescued, *vehicle], float),
        })

    row = confirm_rescues(pd.DataFrame(), table([0.352, 0.410])).iloc[0]
    assert row["df"] == pytest.approx(2.0) and row["p_value"] < 0.01
    assert row["p_value"] == pytest.approx(stats.ttest_ind([0.352, 0.410], [0.070, 0.073]).pvalue, rel=1e-9)
    assert 0.95 < row["effect_reduction"] < 1.0
    assert 0 < row["effect_reduction_lo"] < row["effect_reduction"] < row["effect_reduction_hi"]
    assert row["confirms"] and "CI unbounded" not in row["verdict"]
    # with replicate wells that agree the interval is finite, holds the estimate and excludes 0
    row = confirm_rescues(pd.DataFrame(), table([0.352, 0.355])).iloc[0]
    assert row["p_value"] < 0.05
    assert 0 < row["effect_reduction_lo"] < row["effect_reduction"] < row["effect_reduction_hi"] < 1.1
    # test inversion: at the interval's ends the t of (1 - ρ)A - R + ρV = 0 (the arms' pooled variance,
    # the vehicle's own, Welch-Satterthwaite df over the two estimates) sits on the critical value
    groups = [np.array([0.352, 0.355]), np.array([0.070, 0.073]), np.array([0.06, 0.07, 0.065, 0.07, 0.06, 0.075])]
    (a, _), (r, _), (v, vv) = [(g.mean(), g.var(ddof=1) / g.size) for g in groups]
    s2 = (groups[0].var(ddof=1) + groups[1].var(ddof=1)) / 2
    assert row["effect_reduction"] == pytest.approx((a - r) / (a - v))
    for rho in (row["effect_reduction_lo"], row["effect_reduction_hi"]):
        terms = np.array([s2 * ((1 - rho) ** 2 / 2 + 1 / 2), rho**2 * vv])
        df = terms.sum() ** 2 / np.sum(terms**2 / np.array([2, groups[2].size - 1]))
        t_stat = abs((1 - rho) * a - r + rho * v) / np.sqrt(terms.sum())
        assert t_stat == pytest.approx(stats.t.ppf(0.975, df), rel=0.02)


def test_rescue_doses_kept_as_written_are_compared_each_on_its_own(tmp_path):
    """Fer-1 given in µg/ml without a rescue_mw: the two doses stay apart (they were pooled as one missing dose)."""
    from typer.testing import CliRunner

    from ferroscreen.cli import app

    wells, layout = single_dose_screen()
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    table = pd.read_csv(tmp_path / "layout.csv", dtype=str, keep_default_na=False)
    fer = (table["compound"] == "RSL3") & (table["rescue_agent"] == "Fer-1")
    table.loc[fer, "rescue_unit"] = "ug/ml"
    table.loc[fer, "rescue_concentration"] = ["1", "1", "5"]
    table.to_csv(tmp_path / "layout.csv", index=False)
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "wells.csv"), "--layout", str(tmp_path / "layout.csv"),
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "Fer-1: rescue doses kept as written (1 ug/ml, 5 ug/ml;" in res.output
    rescue = pd.read_csv(tmp_path / "o" / "rescue.csv", keep_default_na=False)
    rsl3 = rescue[rescue["compound"] == "RSL3"].set_index("rescue_as_written")
    assert sorted(rsl3.index) == ["1 ug/ml", "5 ug/ml"]
    assert (rsl3.loc["1 ug/ml", "n_rescued"], rsl3.loc["5 ug/ml", "n_rescued"]) == (2, 1)
    assert rsl3.loc["1 ug/ml", "verdict"].startswith("RSL3 (1 µM) + Fer-1 (1 ug/ml) ")
    again = pd.read_csv(tmp_path / "layout.csv", dtype=str, keep_default_na=False)  # written back as it was read
    from ferroscreen.plate import read_layout

    read_layout(tmp_path / "layout.csv").to_csv(tmp_path / "back.csv")
    back = pd.read_csv(tmp_path / "back.csv", dtype=str, keep_default_na=False)
    assert back.loc[fer, "rescue_concentration"].tolist() == again.loc[fer, "rescue_concentration"].tolist()
    assert set(back.loc[fer, "rescue_unit"]) == {"ug/ml"}


def test_a_rescue_curve_pooling_two_rescue_doses_is_said():
    rows = [dict(well=f"A{k + 1:02d}", compound="DMSO", role="vehicle") for k in range(4)]
    for r, fer in (("B", 1e-6), ("C", 5e-6)):
        rows += [dict(well=f"{r}{k + 1:02d}", compound="RSL3", concentration=d, role="rescue", rescue_agent="Fer-1",
                      rescue_concentration=fer) for k, d in enumerate(DOSES)]
    rows += [dict(well=f"D{k + 1:02d}", compound="RSL3", concentration=d) for k, d in enumerate(DOSES)]
    layout = make_layout(rows, 96)
    rng = np.random.default_rng(0)
    wells = pd.DataFrame([dict(plate="P1", well=w, time_h=t, n_cells=1000 * rng.normal(1, 0.03),
                               frac_alive=0.95, frac_ferroptosis=0.05)
                          for w in layout.table["well"] for t in (0.0, 24.0, 48.0)])
    notes = analyse_screen(wells, layout).notes
    assert any(n.startswith("RSL3 + Fer-1: the rescue agent at 2 doses (1 µM, 5 µM) across the dose series") for n
               in notes), notes


def test_a_mode_never_called_is_not_assessable_not_a_crash():
    """Share fractions of a mode the classifier never calls are exactly 0 in every well (no variance)."""
    def wells(compound, role, agent="", conc=1e-6):
        return pd.DataFrame({"plate": "P1", "compound": compound, "concentration": conc, "role": role,
                             "mode": "necroptosis", "rescue_agent": agent, "group": "",
                             "frac_necroptosis": [0.0, 0.0]})

    tab = pd.concat([wells("DMSO", "vehicle", conc=np.nan), wells("TSZ", "reference"),
                     wells("TSZ", "rescue", agent="Nec-1")], ignore_index=True)
    out = confirm_rescues(pd.DataFrame(), tab).set_index("compound")
    assert not out.loc["TSZ", "confirms"] and "rescue not assessable" in out.loc["TSZ", "verdict"]
    assert np.isnan(out.loc["TSZ", "p_value"])


def test_an_ec50_beyond_the_tested_doses_is_held_to_them():
    """Every dose killed: the EC50 is below the lowest dose, not the fit's extrapolation to its window."""
    fits = pd.DataFrame({
        "curve": ["every_dose", "in_range", "top_only"], "treatment": ["every_dose", "in_range", "top_only"],
        "group": "", "role": "sample", "rescue_agent": "", "readout": "viability", "call": "active",
        "effect": [-1.0, -0.9, -0.5], "ec50": [5e-11, 1e-7, 3e-5], "pec50": [10.3, 7.0, 4.52],
        "dose_min": 5e-10, "dose_max": 1e-5, "q_value": 1e-6, "flags": "",
    })
    rk = rank_compounds(fits, None, []).set_index("compound")
    assert rk.loc["every_dose", ["ec50", "ec50_bound"]].tolist() == [5e-10, "<"]
    assert rk.loc["every_dose", "pec50"] == pytest.approx(9.30, abs=0.01)
    assert rk.loc["top_only", ["ec50", "ec50_bound"]].tolist() == [1e-5, ">"]
    assert rk.loc["top_only", "potency"] == pytest.approx(0.2)  # 10 µM, not the 30 µM extrapolated
    assert rk.loc["in_range", ["ec50", "ec50_bound"]].tolist() == [1e-7, ""]

    from ferroscreen.report.figures import _ec50_text

    assert _ec50_text(fits.iloc[0]) == "EC50 < 500 pM" and _ec50_text(fits.iloc[2]) == "EC50 > 10 µM"
    assert _ec50_text(fits.iloc[1]).startswith("EC50 100 nM")


def test_a_rescue_series_without_its_compound_alone_is_said_once():
    from ferroscreen.analysis.rescue import verdict_lines

    rows = [{"compound": "RSL3", "rescue_agent": "Fer-1", "group": "", "concentration": c, "alone_source": "none",
             "verdict": f"RSL3 ({c}) + Fer-1: no wells or fitted curve of RSL3 alone at {c}: rescue not assessable"}
            for c in (1e-9, 1e-8, 1e-7)]
    rows.append({"compound": "erastin", "rescue_agent": "Fer-1", "group": "", "concentration": 1e-6,
                 "alone_source": "wells", "verdict": "erastin (1 µM) + Fer-1 reduces ..."})
    assert verdict_lines(pd.DataFrame(rows)) == [
        "RSL3 + Fer-1: no wells or fitted curve of RSL3 alone at any of its 3 doses (1 nM to 100 nM): rescue not "
        "assessable", "erastin (1 µM) + Fer-1 reduces ..."]
    assert verdict_lines(pd.DataFrame(rows[:1])) == [rows[0]["verdict"]]


def test_terminal_rescue_lines_name_their_cell_line():
    """Three 'rescue: RSL3 + Ferrostatin-1 ...' lines of three cell lines did not say which line each was."""
    from ferroscreen.analysis.rescue import verdict_lines

    rows = [{"compound": "RSL3", "rescue_agent": "Fer-1", "group": g, "concentration": 1e-6, "alone_source": "curve",
             "verdict": "RSL3 (1 µM) + Fer-1 reduces the ferroptosis effect by 90%"} for g in ("HT1080", "A549", "")]
    assert verdict_lines(pd.DataFrame(rows)) == [
        "HT1080: RSL3 (1 µM) + Fer-1 reduces the ferroptosis effect by 90%",
        "A549: RSL3 (1 µM) + Fer-1 reduces the ferroptosis effect by 90%",
        "RSL3 (1 µM) + Fer-1 reduces the ferroptosis effect by 90%"]


def test_the_fits_least_effect_is_the_single_dose_rescues_too():
    """``analyse_screen(min_effect=...)`` (``fit --min-effect``) also sets what the compound alone must do."""
    wells, layout = single_dose_screen()
    row = _row(analyse_screen(wells, layout, min_effect=0.95).rescue, "RSL3")
    assert not row["confirms"] and "at least 0.95 needed" in row["verdict"]
