"""One plate, two cell lines: each compound gets a section per line, fitted and drawn from that line's wells only."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from ..cli_process import run_command

# cell line -> (rows, EC50 of volasertib for ferroptosis in M)
LINES = {"Nalm6": ("ABCD", 3e-8), "REH": ("EFGH", 1e-6)}
DOSES = [1e-9 * 10 ** (k / 2) for k in range(8)]  # 1 nM .. ~3.2 uM
TIMES = np.arange(0.0, 49.0, 8.0)


def _plate(root):
    """wells.csv + layout.csv of one 96-well plate holding both lines (vehicle in column 1)."""
    rng = np.random.default_rng(0)
    layout, wells = [], []
    for line, (rows, _) in LINES.items():
        for r in rows:
            layout.append(dict(plate_id="P1", well=f"{r}01", compound="DMSO", concentration=np.nan, unit="",
                               role="vehicle", mode="alive", cell_line=line))
            for k, dose in enumerate(DOSES):
                layout.append(dict(plate_id="P1", well=f"{r}{k + 2:02d}", compound="volasertib", concentration=dose,
                                   unit="M", role="sample", mode="", cell_line=line))
    for spec in layout:
        dose = spec["concentration"] if spec["role"] == "sample" else 0.0
        ec50 = LINES[spec["cell_line"]][1]
        top = 0.85 / (1 + ec50 / dose) if dose > 0 else 0.0
        for t in TIMES:
            ferro = 0.04 + top * (1 - np.exp(-0.1 * t)) + rng.normal(0, 0.01)
            wells.append(dict(plate="P1", well=spec["well"], time_h=t, n_cells=int(200 * (1 - ferro)),
                              frac_alive=1 - ferro - 0.06, frac_apoptosis=0.03, frac_ferroptosis=ferro,
                              frac_necroptosis=0.03))
    pd.DataFrame(layout).to_csv(root / "layout.csv", index=False)
    pd.DataFrame(wells).to_csv(root / "wells_in.csv", index=False)


@pytest.fixture(scope="module")
def two_lines(tmp_path_factory):
    """The plate's files and ``res/``: `fit` output plus the wells and layout, as `report` reads them."""
    import shutil
    import sys

    root = tmp_path_factory.mktemp("lines")
    _plate(root)
    res = root / "res"
    proc = run_command([sys.executable, "-m", "ferroscreen.cli", "fit", str(root / "wells_in.csv"), "--layout",
                           str(root / "layout.csv"), "--out", str(res)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    shutil.copy(root / "wells_in.csv", res / "wells.csv")
    shutil.copy(root / "layout.csv", res / "layout.csv")
    return root


def _section(html: str, heading: str) -> str:
    start = html.index(f"<h3>{heading}", html.index('<section id="compounds"'))
    nxt = html.find("<h3>", start + 4)
    return html[start: nxt if nxt > 0 else len(html)]


def test_each_line_has_its_own_section_and_curves(two_lines, cli):
    res = two_lines / "res"
    fits = pd.read_csv(res / "fits.csv")
    assert set(fits["group"]) == set(LINES)
    proc = cli("report", res, "--out", two_lines / "report.html")
    assert proc.returncode == 0, proc.stderr
    html = (two_lines / "report.html").read_text(encoding="utf-8")
    sections = re.findall(r'<article class="compound" id="compound-\d+">\s*<h3>(volasertib[^<]*)', html)
    assert sorted(s.strip() for s in sections) == ["volasertib · Nalm6", "volasertib · REH"]
    ranking = pd.read_csv(res / "ranking.csv")
    for line, (_, ec50) in LINES.items():
        sec = _section(html, f"volasertib · {line}")
        other = next(x for x in LINES if x != line)
        assert f"volasertib | {line}" in sec and f"volasertib | {other}" not in sec  # its fits rows only
        # the ranking links each line's rows to that line's section
        anchor = re.search(rf'<article class="compound" id="(compound-\d+)">\s*<h3>volasertib · {line}', html)[1]
        assert len(ranking[(ranking["compound"] == "volasertib") & (ranking["group"] == line)])
        row = rf'<tr>(?:(?!</tr>).)*href="#{anchor}">volasertib</a>(?:(?!</tr>).)*>{line}</td>'
        assert re.search(row, html, re.S)
        fitted = fits[(fits["group"] == line) & (fits["readout"] == "frac_ferroptosis")].iloc[0]
        assert abs(np.log10(fitted["ec50"] / ec50)) < 0.3  # fitted from this line's wells alone


def test_points_and_time_courses_come_from_the_lines_own_wells(two_lines):
    """The points behind each line's curve are its wells (its vehicle at dose 0); the cell line is joined
    from the layout beside a wells.csv that lacks it."""
    from ferroscreen.report.compounds import dose_points, list_compounds, time_courses
    from ferroscreen.report.results import load_results

    res = load_results(two_lines / "res")
    assert "Layout columns joined from layout.csv." in res.notes
    infos, _ = list_compounds(res)
    by_label = {i.label: i for i in infos}
    assert {"volasertib · Nalm6", "volasertib · REH"} <= set(by_label)
    for line in LINES:
        info = by_label[f"volasertib · {line}"]
        row = info.curves["ferroptosis"]
        pts = dose_points(res, info.name, "", row, "ferroptosis", info.group)
        assert len(pts) == 4 * len(DOSES) + 4  # 4 replicate rows per dose, 4 vehicle wells
        courses = time_courses(res, info.name, info.group)
        top = courses["doses"][np.isclose(courses["doses"]["concentration"], max(DOSES), rtol=1e-9)]
        end = float(top.loc[top["time_h"].idxmax(), "frac_ferroptosis"])
        expected = 0.04 + 0.85 / (1 + LINES[line][1] / max(DOSES)) * (1 - np.exp(-0.1 * TIMES[-1]))
        assert end == pytest.approx(expected, abs=0.03)


def test_lines_are_compared_in_fit_and_report(two_lines, cli):
    """`fit` writes lines.csv (REH ~33x less sensitive than Nalm6) and the report shows it, linked to both lines."""
    res = two_lines / "res"
    lines = pd.read_csv(res / "lines.csv")
    ferro = lines[lines["readout"] == "frac_ferroptosis"].iloc[0]
    true_ratio = LINES["REH"][1] / LINES["Nalm6"][1]
    assert (ferro["line_a"], ferro["line_b"], ferro["verdict"]) == ("Nalm6", "REH", "differs")
    # REH's EC50 (1 uM) lies half a decade below the top dose, its far plateau open: bounded from below only
    assert "far plateau undetermined" in ferro["note"] and ferro["ratio_hi"] == np.inf
    assert 5 < ferro["ratio_lo"] < true_ratio
    assert set(lines["verdict"]) == {"differs"}  # every active readout tells the same story
    proc = cli("report", res, "--out", two_lines / "lines.html")
    assert proc.returncode == 0, proc.stderr
    html = (two_lines / "lines.html").read_text(encoding="utf-8")
    start = html.index('<section id="cell-lines"')
    sec = html[start: html.index("</section>", start)]
    assert re.search(r"peak_ferroptosis: REH at least \d+\.?\d*x less sensitive than Nalm6", sec)
    anchors = dict(re.findall(r'<article class="compound" id="(compound-\d+)">\s*<h3>volasertib · (\w+)', html))
    for anchor in anchors:
        assert f'href="#{anchor}"' in sec  # the table's line names link to each line's section
    assert sec.count("<tr>") == len(lines) + 1 and sec.count("<img") == 1
    assert "adjusted over every comparison in lines.csv" in sec  # the q-values' family is named
