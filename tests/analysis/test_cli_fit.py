"""``ferroscreen fit`` end to end: real IncuCyte exports, tidy tables, wells tables, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.cli import app, main
from ferroscreen.errors import FerroscreenError
from ferroscreen.hashing import file_sha256

from ..cli_process import run_command
from .conftest import shared_path, synthetic_screen

FITS_COLUMNS = ("curve, readout, model, n_points, bottom, bottom_se, top, top_se, hill, hill_se, "
                "ec50, ec50_se, ec50_lo, ec50_hi, emax, auc, rse, p_value, q_value, call, "
                "flags").split(", ")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return run_command([sys.executable, "-m", "ferroscreen.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_incucyte_example_export_with_platemap(tmp_path):
    data = shared_path("incucyte", "example_data.txt")
    platemap = shared_path("incucyte", "example.PlateMap")
    out = tmp_path / "out"
    proc = run_cli("fit", str(data), "--layout", str(platemap), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    fits = pd.read_csv(out / "fits.csv")
    assert set(FITS_COLUMNS) <= set(fits.columns)
    # PDD00017273 at four seeding densities, each against its own DMSO wells
    assert fits["curve"].str.startswith("PDD00017273 | ").all()
    assert set(fits["readout"]) == {"viability", "gr"}
    assert len(fits) == 8 and (fits["call"] != "failed").all()
    ranking = pd.read_csv(out / "ranking.csv")
    assert {"mode", "rank", "compound", "score"} <= set(ranking.columns)
    assert (ranking["mode"] == "viability").all()
    assert (out / "qc.csv").exists() and (out / "readouts.csv").exists()
    from ferroscreen.report import load_results

    assert json.loads((out / "provenance.json").read_text())["fit"]["metric"] == "Phase Object Confluence (Percent)"
    assert load_results(out).count_label == "confluence"  # the report's plate maps say what was measured


def test_thunor_minimal_export_with_layout_csv(tmp_path):
    data = shared_path("incucyte", "thunor_incucyte_minimal.txt")
    layout = tmp_path / "layout.csv"
    rows = ["plate_id,well,compound,concentration,unit,role",
            "p,A1,,,,empty", "p,B1,DMSO,,,vehicle"]
    rows += [f"p,{w}1,drugX,{c},nM,sample" for w, c in zip("CDEFGH", (1, 3, 10, 30, 100, 300),
                                                            strict=True)]
    layout.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    proc = run_cli("fit", str(data), "--layout", str(layout), "--out", str(out),
                   "--readout", "viability,gr", "--over-time")
    assert proc.returncode == 0, proc.stderr
    fits = pd.read_csv(out / "fits.csv")
    assert list(fits["readout"]) == ["viability", "gr"] and (fits["curve"] == "drugX").all()
    assert (out / "ec50_over_time.csv").exists()


def test_metric_export_without_layout_is_a_clear_error():
    data = shared_path("incucyte", "thunor_incucyte_minimal.txt")
    proc = run_cli("fit", str(data), "--out", "/tmp/never-written")
    assert proc.returncode == 2
    assert "pass --layout" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout


def test_tidy_table_and_wells_table(tmp_path):
    wells, layout = synthetic_screen(seed=3)
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    runner = CliRunner()
    res = runner.invoke(app, ["fit", str(tmp_path / "wells.csv"), "--layout",
                              str(tmp_path / "layout.csv"), "--out", str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    assert "rescue confirms ferroptosis" in res.output
    ranking = pd.read_csv(tmp_path / "w" / "ranking.csv")
    assert set(ranking["mode"]) == {"apoptosis", "ferroptosis"}
    assert set(ranking["readout"]) == {"peak_apoptosis", "peak_ferroptosis"}  # --rank-on peak by default
    prov = json.loads((tmp_path / "w" / "provenance.json").read_text())
    assert prov["input"] == {"path": str((tmp_path / "wells.csv").resolve()),
                             "sha256": file_sha256(tmp_path / "wells.csv")}
    assert prov["layout"]["sha256"] == file_sha256(tmp_path / "layout.csv")
    assert prov["fit"]["rank_on"] == "peak" and prov["fit"]["model"] == "ll4" and "scoring" not in prov
    res = runner.invoke(app, ["fit", str(tmp_path / "wells.csv"), "--layout", str(tmp_path / "layout.csv"),
                              "--rank-on", "endpoint", "--out", str(tmp_path / "e")])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(tmp_path / "e" / "ranking.csv")["readout"]) == {"frac_apoptosis", "frac_ferroptosis"}
    tidy = pd.read_csv(tmp_path / "w" / "fits.csv")
    table = pd.DataFrame({"curve": ["a"] * 8, "dose": [0, 0, 1e-8, 1e-8, 1e-7, 1e-7, 1e-6, 1e-6],
                          "response": [0.1, 0.12, 0.2, 0.22, 0.6, 0.58, 0.9, 0.88]})
    table.to_csv(tmp_path / "tidy.csv", index=False)
    res = runner.invoke(app, ["fit", str(tmp_path / "tidy.csv"), "--model", "ll3",
                              "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / "t" / "fits.csv")["model"].tolist() == ["ll3"]
    assert len(tidy) > 0


def test_provenance_of_a_score_store_says_how_it_was_scored(tmp_path):
    from ferroscreen.analysis.fit_run import write_provenance

    src = tmp_path / "plate.h5"
    src.write_bytes(b"not really a store")
    attrs = {"bundle_sha256": "ab" * 32, "precision": "int8", "detector": {"preset": "suspension"},
             "classes": ["alive", "apoptosis"], "schema": "ferroscreen-score-store"}
    from ferroscreen.score.store import SCORING_ATTRS

    scoring = {k: v for k, v in attrs.items() if k in SCORING_ATTRS}  # as fit passes a store's attributes
    prov = json.loads(write_provenance(tmp_path / "out", src, {"model": "ll4"}, scoring).read_text())
    assert prov["scoring"] == {"bundle_sha256": "ab" * 32, "precision": "int8", "detector": {"preset": "suspension"}}
    assert prov["input"]["sha256"] == file_sha256(src) and prov["fit"] == {"model": "ll4"}


@pytest.mark.parametrize(
    ("content", "suffix", "args", "message"),
    [
        ("curve,dose\na,1\n", ".csv", [], "missing column(s) response"),
        ("curve,dose,response\na,x,1\n", ".csv", [], "'x' is not a number"),
        ("foo,bar\n1,2\n", ".csv", [], "not a dose-response table"),
        ("not hdf5", ".h5", [], ".h5"),
    ],
)
def test_user_errors_are_one_line_ferroscreen_errors(tmp_path, content, suffix, args, message):
    path = tmp_path / f"input{suffix}"
    path.write_text(content)
    res = CliRunner().invoke(app, ["fit", str(path), "--out", str(tmp_path / "o"), *args])
    assert isinstance(res.exception, FerroscreenError), res.output
    text = str(res.exception)
    assert message in text and path.name in text and "\n" not in text


def test_an_unknown_curve_model_is_refused_before_the_input_is_read(tmp_path):
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "not_there.csv"), "--out", str(tmp_path / "o"),
                                   "--model", "ll9"])
    assert isinstance(res.exception, FerroscreenError), res.output
    assert str(res.exception).startswith("--model: unknown model 'll9'; expected one of ll4")  # not the input's fault
    assert not (tmp_path / "o").exists()


def test_dead_over_without_dead_is_refused(tmp_path):
    """--dead-over alone did nothing, silently (--read, --signal, --dead-read are refused alike)."""
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "x.csv"), "--out", str(tmp_path / "o"), "--dead-over", "live"])
    assert isinstance(res.exception, FerroscreenError), res.output
    assert "--dead-over says what INPUT counts when --dead gives the dead cells" in str(res.exception)


def test_main_maps_errors_to_exit_2(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("curve,dose\na,1\n")
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "fit", str(path), "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.csv" in err and "Traceback" not in err


def test_score_store_wells_and_layout_are_used(tmp_path, monkeypatch):
    """The .h5 branch reads /wells (and the stored layout) through ferroscreen.score."""
    from types import SimpleNamespace

    import ferroscreen.score.store as store_mod

    wells, layout = synthetic_screen(seed=4)
    fake = SimpleNamespace(wells=wells, layout=layout.table.drop(columns=["concentration_raw"], errors="ignore"),
                           classes=[c.removeprefix("frac_") for c in wells.columns if c.startswith("frac_")],
                           attrs={"bundle_sha256": "cd" * 32, "precision": "bf16", "plate": "P1"},
                           frames=pd.DataFrame({"status": [1]}))  # every frame scored
    monkeypatch.setattr(store_mod, "read_store", lambda path: fake)
    path = tmp_path / "plate.h5"
    path.write_bytes(b"")
    res = CliRunner().invoke(app, ["fit", str(path), "--out", str(tmp_path / "o"),
                                   "--readout", "frac_ferroptosis", "--fractions", "frac"])
    assert res.exit_code == 0, res.output
    fits = pd.read_csv(tmp_path / "o" / "fits.csv")
    assert set(fits["readout"]) == {"frac_ferroptosis"}
    assert "erastin" in set(fits["curve"])
    prov = json.loads((tmp_path / "o" / "provenance.json").read_text())
    assert prov["scoring"] == {"bundle_sha256": "cd" * 32, "precision": "bf16", "plate": "P1"}
    assert prov["fit"]["fractions"] == "frac" and prov["fit"]["readouts"] == ["frac_ferroptosis"]
    # the store's wells are written beside the fits, so the report shows their time courses
    assert len(pd.read_csv(tmp_path / "o" / "wells.csv")) == len(wells)
    from ferroscreen.report import load_results

    assert load_results(tmp_path / "o").wells is not None


def test_tidy_table_with_users_column_names(tmp_path):
    """compound / conc_uM / viability read as curve / dose (converted to molar) / response."""
    runner = CliRunner()
    doses = [0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10]
    resp = [1.0, 0.99, 0.97, 0.9, 0.7, 0.4, 0.15, 0.05]
    canonical = pd.DataFrame({"curve": "X", "dose": [d * 1e-6 for d in doses], "response": resp})
    canonical.to_csv(tmp_path / "canonical.csv", index=False)
    users = pd.DataFrame({"Compound": "X", "concentration (µM)": doses, "viability": resp})
    users.to_csv(tmp_path / "users.csv", index=False)
    res = runner.invoke(app, ["fit", str(tmp_path / "users.csv"), "--out", str(tmp_path / "u")])
    assert res.exit_code == 0, res.output
    assert "column 'concentration (µM)' used as 'dose' (in µM, converted to molar)" in res.output
    assert "column 'Compound' used as 'curve'" in res.output
    canonical_run = runner.invoke(app, ["fit", str(tmp_path / "canonical.csv"), "--out", str(tmp_path / "c")])
    assert canonical_run.exit_code == 0 and "read as molar" not in canonical_run.output
    # the same µM numbers in a plain 'dose' column: fitted as molar, with a note that 10 M is no drug dose
    users.rename(columns={"concentration (µM)": "dose"}).to_csv(tmp_path / "plain.csv", index=False)
    res = runner.invoke(app, ["fit", str(tmp_path / "plain.csv"), "--out", str(tmp_path / "p")])
    assert res.exit_code == 0 and "doses are read as molar and the largest is 10 M" in res.output
    assert "--columns dose=COL:uM" in res.output
    u, c = (pd.read_csv(tmp_path / d / "fits.csv").iloc[0] for d in ("u", "c"))
    assert u["ec50"] == pytest.approx(c["ec50"], rel=1e-9) and 1e-7 < u["ec50"] < 1e-6
    # two candidates for one column: nothing is guessed
    users.assign(signal=resp).to_csv(tmp_path / "two.csv", index=False)
    res = runner.invoke(app, ["fit", str(tmp_path / "two.csv"), "--out", str(tmp_path / "t")])
    assert isinstance(res.exception, FerroscreenError) and "missing column(s) response" in str(res.exception)


def test_drc_style_table_fits_as_it_is_and_with_named_columns(tmp_path):
    """drcData's ryegrass (rootl, conc; no curve column) fits as one curve matching drc's ED50."""
    data = shared_path("doseresponse", "ryegrass.csv")
    ref = pd.read_csv(shared_path("doseresponse", "ryegrass_drc_reference.csv"))
    ed50 = float(ref.query("model == 'LL.4' and quantity == 'e (ED50)'")["published_estimate"].iloc[0])
    runner = CliRunner()
    res = runner.invoke(app, ["fit", str(data), "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "column 'rootl' used as 'response' (the only other numeric column)" in res.output
    assert "no curve column: every row is one curve, named 'ryegrass'" in res.output
    a = pd.read_csv(tmp_path / "a" / "fits.csv")
    assert list(a["curve"]) == ["ryegrass"] and a["ec50"].iloc[0] == pytest.approx(ed50, rel=1e-4)
    res = runner.invoke(app, ["fit", str(data), "--columns", "dose=conc:mM", "--columns", "response=rootl",
                              "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert "column 'conc' used as 'dose' (in mM, converted to molar) (--columns)" in res.output
    b = pd.read_csv(tmp_path / "b" / "fits.csv")
    assert b["ec50"].iloc[0] == pytest.approx(ed50 * 1e-3, rel=1e-4)
    prov = json.loads((tmp_path / "b" / "provenance.json").read_text())
    assert prov["fit"]["columns"] == {"dose": "conc:mM", "response": "rootl"}


def test_columns_are_inferred_only_where_one_reading_remains(tmp_path):
    """A text column beside dose and response is the curve; --columns settles the rest."""
    doses = [0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10]
    a = [1.0, 0.99, 0.97, 0.9, 0.7, 0.4, 0.15, 0.05]
    b = [1.0, 1.0, 0.99, 0.98, 0.9, 0.7, 0.4, 0.15]
    table = pd.DataFrame({"DryMatter": a + b, "Dose": doses * 2, "Herbicide": ["A"] * 8 + ["B"] * 8})
    table.to_csv(tmp_path / "salba.csv", index=False)
    runner = CliRunner()
    res = runner.invoke(app, ["fit", str(tmp_path / "salba.csv"), "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "column 'Herbicide' used as 'curve' (the only text column)" in res.output
    fits = pd.read_csv(tmp_path / "s" / "fits.csv").set_index("curve")
    assert fits.loc["A", "ec50"] < fits.loc["B", "ec50"]
    # a second numeric column: neither is guessed to be the response, --columns picks one
    table.assign(Replicate=1).to_csv(tmp_path / "two.csv", index=False)
    res = runner.invoke(app, ["fit", str(tmp_path / "two.csv"), "--out", str(tmp_path / "t")])
    assert isinstance(res.exception, FerroscreenError) and "name its columns with --columns" in str(res.exception)
    res = runner.invoke(app, ["fit", str(tmp_path / "two.csv"), "--columns", "response=DryMatter,curve=Herbicide",
                              "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / "t" / "fits.csv").set_index("curve")["ec50"].equals(fits["ec50"])
    # a column already called 'response' steps aside for the one --columns names
    table.assign(response=0.5).to_csv(tmp_path / "clash.csv", index=False)
    res = runner.invoke(app, ["fit", str(tmp_path / "clash.csv"), "--columns", "response=DryMatter,curve=Herbicide",
                              "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    assert "column 'response' renamed 'response_unmapped'" in res.output


@pytest.mark.parametrize(("spec", "message"), [
    ("dose=nope", "--columns names 'nope', which is not a column (columns: DryMatter, Dose, Herbicide)"),
    ("size=Dose", "--columns: unknown role 'size'"),
    ("Dose", "--columns: 'Dose' is not ROLE=COLUMN"),
    ("dose=Dose,response=Dose", "--columns names 'Dose' for two roles"),
    ("dose=Dose:furlong", "'furlong' is not a molar unit (M, mM, uM, nM, pM)"),
])
def test_bad_column_map_is_a_one_line_error(tmp_path, monkeypatch, capsys, spec, message):
    pd.DataFrame({"DryMatter": [1.0, 0.5], "Dose": [0, 1], "Herbicide": "A"}).to_csv(tmp_path / "t.csv", index=False)
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "fit", str(tmp_path / "t.csv"), "--columns", spec,
                                      "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_platemap_rescue_wells_are_paired_with_the_compound_alone(tmp_path):
    """An IncuCyte plate map listing RSL3 + Fer-1 in one well feeds the rescue analysis."""
    import numpy as np

    doses_nm = [1, 3, 10, 30, 100, 300, 1000, 3000]
    wells, items = {}, []

    def item(name, conc):
        return (f'<wellItem type="Compound" concentration="{conc}" concentrationUnits="nM">'
                f'<referenceItem type="Compound" description="{name}" /></wellItem>')

    times = np.arange(0, 49, 4.0)
    rng = np.random.default_rng(0)
    for rep in range(2):
        for j, d in enumerate(doses_nm):
            for row, rescued in ((rep, False), (2 + rep, True)):
                well, col = f"{'ABCD'[row]}{j + 1}", j
                kill = 1 / (1 + (30 / d) ** 2) if not rescued else 0.0
                wells[well] = 100 * np.exp(0.02 * times) * (1 - kill * np.minimum(times / 24, 1)) + rng.normal(0, 2, len(times))
                body = item("RSL3", d) + (item("Ferrostatin-1", 1000) if rescued else "")
                items.append(f'<well row="{row}" col="{col}"><items>{body}</items></well>')
        for k in range(4):
            well = f"E{1 + k + 4 * rep}"
            wells[well] = 100 * np.exp(0.02 * times) + rng.normal(0, 2, len(times))
            items.append(f'<well row="4" col="{k + 4 * rep}"><items><wellItem type="Compound" concentration="0.1" '
                         f'concentrationUnits="%"><referenceItem type="Compound" description="DMSO" />'
                         f'</wellItem></items></well>')
    (tmp_path / "plate.PlateMap").write_text(f"<plateMap><wellStore><wells>{''.join(items)}</wells></wellStore></plateMap>")
    names = list(wells)
    lines = ["Label: rescue", "Metric: Phase Object Count (1/Image)", "", "Date Time\tElapsed\t" + "\t".join(names)]
    lines += [f"x\t{t:g}\t" + "\t".join(f"{wells[w][i]:.3f}" for w in names) for i, t in enumerate(times)]
    (tmp_path / "export.txt").write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "export.txt"), "--layout", str(tmp_path / "plate.PlateMap"),
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    rescue = pd.read_csv(tmp_path / "o" / "rescue.csv")
    assert set(rescue["compound"]) == {"RSL3"} and set(rescue["rescue_agent"]) == {"Ferrostatin-1"}
    assert set(rescue["mode"]) == {"ferroptosis"} and rescue["confirms"].any()


def test_wells_table_names_duplicates_bad_wells_and_wells_without_layout(tmp_path):
    wells, layout = synthetic_screen(seed=4)
    layout.to_csv(tmp_path / "layout.csv")
    runner = CliRunner()

    def fit(table, name):
        table.to_csv(tmp_path / f"{name}.csv", index=False)
        return runner.invoke(app, ["fit", str(tmp_path / f"{name}.csv"), "--layout", str(tmp_path / "layout.csv"),
                                   "--out", str(tmp_path / name)])

    res = fit(pd.concat([wells, wells.iloc[[3]]]), "dup")
    assert isinstance(res.exception, FerroscreenError)
    assert "plate P1 well A01 at 12 h has more than one row (row 5;" in str(res.exception)
    res = fit(wells.assign(well=wells["well"].where(wells.index != 7, "Z99")), "bad")
    assert "column 'well' row 9: 'Z99' is not a well name" in str(res.exception)
    res = fit(wells.assign(frac_apoptosis=wells["frac_apoptosis"].where(wells.index != 2, 1.5)), "over")
    assert "column 'frac_apoptosis' row 4: 1.5 (must be a fraction in [0, 1])" in str(res.exception)
    unpadded = wells.assign(well=wells["well"].str.replace(r"^([A-P])0", r"\1", regex=True))
    res = fit(pd.concat([unpadded, wells[wells["well"] == "A01"].assign(well="P24")]), "short")
    assert res.exit_code == 0, res.output
    assert "1 well(s) of the data are not in the layout and join no curve: P24" in res.output
    base = fit(wells, "base")
    assert base.exit_code == 0 and "not in the layout" not in base.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "short" / "fits.csv"),
                                  pd.read_csv(tmp_path / "base" / "fits.csv"))


def test_ci_scale_linear_gives_drcs_intervals_from_the_command_line(tmp_path):
    data = shared_path("doseresponse", "ryegrass.csv")
    reference = pd.read_csv(shared_path("doseresponse", "ryegrass_drc_reference.csv"))
    res = CliRunner().invoke(app, ["fit", str(data), "--ci-scale", "linear", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    fit = pd.read_csv(tmp_path / "o" / "fits.csv").iloc[0]
    for ed in (10, 50, 90):
        ref = reference[(reference["model"] == "LL.4") & (reference["quantity"] == f"ED{ed} delta")].iloc[0]
        name = "ec50" if ed == 50 else f"ed{ed}"
        assert fit[f"{name}_lo"] == pytest.approx(ref["published_ci_low"], rel=2e-5)
        assert fit[f"{name}_hi"] == pytest.approx(ref["published_ci_high"], rel=2e-5)
    assert json.loads((tmp_path / "o" / "provenance.json").read_text())["fit"]["ci_scale"] == "linear"
    log = CliRunner().invoke(app, ["fit", str(data), "--out", str(tmp_path / "l")])
    assert log.exit_code == 0 and pd.read_csv(tmp_path / "l" / "fits.csv").iloc[0]["ec50_lo"] > fit["ec50_lo"]


def test_a_wells_table_carrying_its_layout_fits_as_with_the_layout(tmp_path):
    """export joins the layout to wells.csv (compound, concentration in M, role...): fit takes it from there."""
    wells, layout = synthetic_screen(seed=5)
    lt = layout.table[["well", "compound", "concentration", "unit", "role", "mode", "rescue_agent",
                       "rescue_concentration", "replicate"]]
    joined = wells.merge(lt, on="well", how="left")  # one plate
    joined.to_csv(tmp_path / "wells.csv", index=False)
    wells.to_csv(tmp_path / "bare.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    runner = CliRunner()
    res = runner.invoke(app, ["fit", str(tmp_path / "wells.csv"), "--out", str(tmp_path / "own")])
    assert res.exit_code == 0, res.output
    assert "its own layout columns (compound, concentration, role...) are the layout" in res.output
    res = runner.invoke(app, ["fit", str(tmp_path / "bare.csv"), "--layout", str(tmp_path / "layout.csv"), "--out",
                              str(tmp_path / "given")])
    assert res.exit_code == 0, res.output
    own, given = (pd.read_csv(tmp_path / d / "fits.csv").set_index(["curve", "readout"]) for d in ("own", "given"))
    pd.testing.assert_series_equal(own["ec50"].sort_index(), given["ec50"].sort_index(), rtol=1e-9)
    res = runner.invoke(app, ["fit", str(tmp_path / "bare.csv"), "--out", str(tmp_path / "none")])
    assert "holds no doses; pass --layout" in str(res.exception)


def test_exclude_on_a_wells_table_carrying_its_layout(tmp_path):
    """Was: ``fit wells.csv --exclude D05`` on export's table said "pass --layout"; its columns are the layout."""
    wells, layout = synthetic_screen(seed=5)
    lt = layout.table[["well", "compound", "concentration", "unit", "role", "mode", "rescue_agent",
                       "rescue_concentration", "replicate"]]
    erastin = list(lt.loc[(lt["compound"] == "erastin") & (lt["role"] == "sample"), "well"])
    marked, given = erastin[3], erastin[5]
    # an exclude column of 1s and blanks reads as numbers: 1 excludes, 0 keeps (not the reasons '1.0', '0.0')
    lt = lt.assign(exclude=lt["well"].map(lambda w: 1 if w == marked else 0))
    wells.merge(lt, on="well", how="left").to_csv(tmp_path / "wells.csv", index=False)
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "wells.csv"), "--exclude", given, "--out",
                                   str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "its own layout columns (compound, concentration, role...) are the layout" in res.output
    assert f"2 wells excluded: P1 {marked} (excluded), P1 {given} (--exclude)" in res.output
    readouts = pd.read_csv(tmp_path / "o" / "readouts.csv", keep_default_na=False).drop_duplicates("well")
    assert dict(zip(readouts["well"], readouts["exclude"], strict=True)) == {
        w: ("excluded" if w == marked else "--exclude" if w == given else "") for w in readouts["well"]}
    assert json.loads((tmp_path / "o" / "provenance.json").read_text())["fit"]["exclude"] == [given]


def test_a_wells_table_without_layout_columns_still_needs_a_layout_for_exclude(tmp_path):
    wells, _ = synthetic_screen(seed=5)
    wells.to_csv(tmp_path / "bare.csv", index=False)
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "bare.csv"), "--exclude", "A01", "--out", str(tmp_path / "o")])
    assert "--exclude leaves wells out of a layout's curves; pass --layout" in str(res.exception)


def _screen_on_scales(seed: int = 5) -> dict[str, pd.DataFrame]:
    """One tidy screen as fractions, % viability, % inhibition and raw luminescence (11 compounds, 3 flat).

    The flat ones move a little but consistently (+3 % over the doses, a rescued curve -4.5 %): their
    F-test passes, so the minimal effect alone calls them inactive.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    doses = np.repeat(np.concatenate([[0.0], np.logspace(-9, -5, 8)]), 3)
    effects = {"A": -0.95, "B": -0.9, "C": -0.8, "D": -0.7, "E": -0.6, "F": -0.45, "G": -0.3, "H": -0.15,
               "flat1": 0.03, "flat2": 0.03, "rescued": -0.045}
    rows = []
    for name, effect in effects.items():
        fraction = 1 + effect / (1 + (1e-7 / np.maximum(doses, 1e-30)) ** 1.2)
        rows.append(pd.DataFrame({"compound": name, "dose_uM": doses * 1e6,
                                  "viability": fraction + rng.normal(0, 0.008, doses.size)}))
    frac = pd.concat(rows, ignore_index=True)
    return {"frac": frac,
            "pct": frac.assign(viability=frac["viability"] * 100).rename(columns={"viability": "viability_pct"}),
            "inh": frac.assign(viability=(1 - frac["viability"]) * 100).rename(columns={"viability": "inhibition"}),
            "rlu": frac.assign(viability=frac["viability"] * 40000).rename(columns={"viability": "signal"})}


def test_the_active_calls_do_not_depend_on_the_responses_units(tmp_path):
    """% viability, % inhibition and raw luminescence call what the fraction table calls; --min-effect sets it."""
    runner = CliRunner()
    calls, said = {}, {}
    for scale, table in _screen_on_scales().items():
        table.to_csv(tmp_path / f"{scale}.csv", index=False)
        res = runner.invoke(app, ["fit", str(tmp_path / f"{scale}.csv"), "--out", str(tmp_path / scale)])
        assert res.exit_code == 0, res.output
        calls[scale] = pd.read_csv(tmp_path / scale / "fits.csv").set_index("curve")["call"]
        said[scale] = [ln for ln in res.output.splitlines() if "activity threshold" in ln]
        prov = json.loads((tmp_path / scale / "provenance.json").read_text())["fit"]
        said[scale + " record"] = (prov.get("min_effect"), prov.get("min_effect_from"))
    flat = {"flat1", "flat2", "rescued"}
    assert set(calls["frac"][calls["frac"] == "inactive"].index) == flat
    for scale in ("pct", "inh", "rlu"):
        assert calls[scale].to_dict() == calls["frac"].to_dict(), scale
    assert said["frac"] == [] and said["frac record"] == (0.1, "fraction")  # fractions: as always
    assert len(said["pct"]) == 1 and "10 % of the vehicle (dose 0) median response" in said["pct"][0]
    assert said["pct record"][0] == pytest.approx(10, rel=0.02) and said["pct record"][1] == "vehicle"
    assert said["rlu record"][0] == pytest.approx(4000, rel=0.02) and said["rlu record"][1] == "vehicle"
    assert "95th percentile of |response|" in said["inh"][0] and said["inh record"][1] == "upper"
    assert 7 < said["inh record"][0] < 10.5
    # the option: in response units, recorded, said when not 0.1; a negative one is refused in one line
    res = runner.invoke(app, ["fit", str(tmp_path / "pct.csv"), "--min-effect", "2", "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert "activity threshold (min effect) 2 in response units (--min-effect)" in res.output
    assert (pd.read_csv(tmp_path / "m" / "fits.csv")["call"] == "active").all()  # 3 % and 4.5 % pass 2
    prov = json.loads((tmp_path / "m" / "provenance.json").read_text())["fit"]
    assert (prov["min_effect"], prov["min_effect_from"]) == (2.0, "--min-effect")
    res = runner.invoke(app, ["fit", str(tmp_path / "frac.csv"), "--min-effect", "0.5", "--out", str(tmp_path / "f")])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(tmp_path / "f" / "fits.csv").query("call == 'active'")["curve"]) == set("ABCDE")
    res = runner.invoke(app, ["fit", str(tmp_path / "frac.csv"), "--min-effect", "-1", "--out", str(tmp_path / "n")])
    assert res.exit_code != 0 and isinstance(res.exception, FerroscreenError)
    assert str(res.exception) == "--min-effect must be a number >= 0, not -1"


def test_a_tidy_curve_with_no_reading_is_named(tmp_path):
    table = _screen_on_scales()["frac"]
    table.loc[table["compound"] == "B", "viability"] = float("nan")
    table.to_csv(tmp_path / "t.csv", index=False)
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "note: B: all 27 readings missing; no curve" in res.output
    assert "B" not in set(pd.read_csv(tmp_path / "o" / "fits.csv")["curve"])
